// SPDX-License-Identifier: MIT
/*
 * End-to-end UpdateTA on a real otrp-tamd and a mock TEE: a newer version
 * uploaded for a TA that follows the latest replaces the installed one; a
 * device already in sync gets nothing; an older pinned version replaces a
 * newer one only when the operator allowed the downgrade; withdrawing the
 * latest never drags a device back on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "e2e.h"

static struct e2e_env env;
static struct mock_tee *mt;

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0 || e2e_start(&env, NULL) != 0)
		return -1;
	return e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt);
}

static int
group_teardown(void **state)
{
	(void)state;
	mock_tee_close(mt);
	return e2e_group_end(&env);
}

/* One session; the requests the TAM sent must read want ("A B C"), every answer a pass. */
static void
session(const char *want)
{
	char why[1200];

	if (e2e_session_expect(&env, mt, want, NULL, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

/* The installed TA holds exactly the bytes of file bin. */
static void
ta_is(const char *bin)
{
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	char path[512];

	assert_int_equal(mock_tee_ta_path(mt, E2E_TAID, path, sizeof(path)), 0);
	assert_int_equal(tam_file_read(path, 1 << 24, &a, &al, NULL), 0);
	assert_int_equal(tam_file_read(bin, 1 << 24, &b, &bl, NULL), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
}

/* The version the TAM records as installed on tee1. */
static void
recorded_version_is(const char *version)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM device_tas d JOIN ta_versions v"
	    " ON v.id = d.ta_version_id WHERE d.taid = '%s' AND v.version = '%s'", E2E_TAID, version);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
}

static void
test_update_flow(void **state)
{
	char v2[400], v2jws[400];
	FILE *f;

	(void)state;
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest CreateSDRequest InstallTARequest");
	ta_is(env.ta_bin);
	recorded_version_is("1.0");

	/* the SP publishes 1.1: a device following the latest gets it with UpdateTA */
	snprintf(v2, sizeof(v2), "%s/ta-v2.bin", env.dir);
	snprintf(v2jws, sizeof(v2jws), "%s/ta-v2.jws", env.dir);
	assert_non_null(f = fopen(v2, "w"));
	fputs("version two of the trusted application", f);
	fclose(f);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s", env.pki, v2, v2jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " " E2E_TAID " 1.1 %s >/dev/null",
	    v2jws), 0);
	session("GetDeviceStateRequest UpdateTARequest");
	ta_is(v2);
	recorded_version_is("1.1");
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'ta.update'"),
	    1);
	/* in sync: nothing more */
	session("GetDeviceStateRequest");

	/* pinned to 1.0: the newer version stays, without the operator's consent */
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID " 1.0"), 0);
	session("GetDeviceStateRequest");
	ta_is(v2);
	/* with it, 1.0 goes back on */
	assert_int_equal(e2e_ctl(&env, "assign --allow-downgrade tee1 " E2E_TAID " 1.0"), 0);
	session("GetDeviceStateRequest UpdateTARequest");
	ta_is(env.ta_bin);
	recorded_version_is("1.0");

	/* back to the latest (1.1), then 1.1 is withdrawn: the device keeps 1.1 */
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest UpdateTARequest");
	recorded_version_is("1.1");
	assert_int_equal(e2e_ctl(&env, "ta withdraw " E2E_TAID " 1.1"), 0);
	session("GetDeviceStateRequest");
	ta_is(v2);
	/* and unassigning still deletes it, whatever its version */
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest DeleteTARequest DeleteSDRequest");
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
}

/* The device holds what the TEE stored as the TA's personalization data. */
static void
pdata_is(const char *file)
{
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;

	assert_int_equal(mock_tee_pdata(mt, E2E_TAID, &a, &al), 0);
	assert_int_equal(tam_file_read(file, 1 << 20, &b, &bl, NULL), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
}

static void
test_personalization_data(void **state)
{
	char bin[400], jws[400], pd[400], pd2[400];
	uint8_t *x = NULL;
	size_t xl = 0;

	(void)state;
	snprintf(bin, sizeof(bin), "%s/ta-v3.bin", env.dir);
	snprintf(jws, sizeof(jws), "%s/ta-v3.jws", env.dir);
	snprintf(pd, sizeof(pd), "%s/pdata-v3.bin", env.dir);
	snprintf(pd2, sizeof(pd2), "%s/pdata-other.bin", env.dir);
	{
		FILE *f;
		assert_non_null(f = fopen(bin, "w"));
		fputs("version three of the trusted application", f);
		fclose(f);
		assert_non_null(f = fopen(pd, "w"));
		fputs("per-version personalization: bank keys, an opaque SP blob", f);
		fclose(f);
		assert_non_null(f = fopen(pd2, "w"));
		fputs("something else", f);
		fclose(f);
	}
	/* 3.0 with personalization data, set before any device has it; the same bytes again: no-op */
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s", env.pki, bin, jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " " E2E_TAID " 3.0 %s >/dev/null",
	    jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta pdata " E2E_TAID " 3.0 %s >/dev/null", pd), 0);
	assert_int_equal(e2e_ctl(&env, "ta pdata " E2E_TAID " 3.0 %s >/dev/null", pd), 0);
	/* operators see it: its size and digest */
	assert_int_equal(e2e_db_scalar(&env, "SELECT pdata_size FROM ta_versions WHERE version = '3.0'"),
	    57);
	/* sealed under a key and IV of its own, not the TA's */
	assert_int_equal(e2e_db_scalar(&env, "SELECT length(pdata_key) = 32 AND length(pdata_iv) = 16"
	    " AND pdata_key != enc_key AND pdata_iv != enc_iv FROM ta_versions WHERE version = '3.0'"),
	    1);
	/* installed: encrypted_ta_data beside encrypted_ta, decrypted by the TEE to the same bytes */
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID " 3.0"), 0);
	session("GetDeviceStateRequest CreateSDRequest InstallTARequest");
	ta_is(bin);
	pdata_is(pd);
	/* once a device holds it, it cannot change */
	assert_int_equal(e2e_ctl(&env, "ta pdata " E2E_TAID " 3.0 %s 2>/dev/null", pd2), 3);
	pdata_is(pd);
	/* 3.1 brings new data with UpdateTA (encrypted_ta_data too) */
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " " E2E_TAID " 3.1 %s >/dev/null",
	    jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta pdata " E2E_TAID " 3.1 %s >/dev/null", pd2), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest UpdateTARequest");
	pdata_is(pd2);
	/* a version that does not exist */
	assert_int_equal(e2e_ctl(&env, "ta pdata " E2E_TAID " 9.9 %s 2>/dev/null", pd), 2);
	/* deleting the TA takes its data too */
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest DeleteTARequest DeleteSDRequest");
	assert_int_not_equal(mock_tee_pdata(mt, E2E_TAID, &x, &xl), 0);
	assert_null(x);
}

/*
 * Turn version's personalization data into what migration 8 stored: the same
 * bytes (or other, when not NULL) under the TA's key and IV, no key or IV of
 * their own (test-only SQL).
 */
static void
make_legacy(const char *version, const char *other)
{
	struct store_ta_version v = { 0 };
	struct store_pdata p = { 0 };
	struct store *st = e2e_db(&env);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *pt = NULL, ct[256];
	size_t len = 0;
	int64_t id = e2e_db_scalar(&env, "SELECT max(id) FROM ta_versions");
	int n = 0, fin = 0;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	char sql[160];

	assert_non_null(st);
	assert_int_equal(store_ta_version_get(st, id, false, &v, NULL), 0);
	assert_string_equal(v.version, version);
	assert_int_equal(store_ta_version_pdata(st, id, &p, NULL), 0);
	assert_int_equal(otrp_bundle_open(p.enc, p.enc_len, p.key, p.iv, &pt, &len, NULL), 0);
	assert_true(len + 16 <= sizeof(ct));
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, v.enc_key, v.enc_iv), 1);
	if (other != NULL) {
		free(pt);
		assert_non_null(pt = (uint8_t *)strdup(other));
		len = strlen(other);
	}
	assert_int_equal(EVP_EncryptUpdate(c, ct, &n, pt, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, ct + n, &fin), 1);
	EVP_CIPHER_CTX_free(c);
	snprintf(sql, sizeof(sql), "UPDATE ta_versions SET pdata_enc = ?1, pdata_key = NULL,"
	    " pdata_iv = NULL WHERE id = %lld", (long long)id);
	assert_int_equal(sqlite3_open(env.db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_blob(s, 1, ct, n + fin, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(pt);
	store_pdata_clear(&p);
	store_ta_version_clear(&v);
	store_close(st);
}

/*
 * Personalization data stored before it had its own key (under the TA's key
 * and IV) is re-sealed once when the daemon starts, audited, and the TEE
 * then gets it in encrypted_ta_data, the same bytes.
 */
static void
test_legacy_pdata_resealed(void **state)
{
	char jws[400], pd[400];

	(void)state;
	snprintf(jws, sizeof(jws), "%s/ta-v3.jws", env.dir);
	snprintf(pd, sizeof(pd), "%s/pdata-v3.bin", env.dir);
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " " E2E_TAID " 4.0 %s >/dev/null",
	    jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta pdata " E2E_TAID " 4.0 %s >/dev/null", pd), 0);
	assert_int_equal(e2e_stop(&env), 0);
	make_legacy("4.0", NULL);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_versions WHERE"
	    " pdata_enc IS NOT NULL AND pdata_key IS NULL"), 1);
	assert_int_equal(e2e_start(&env, NULL), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT length(pdata_key) = 32 AND length(pdata_iv) = 16"
	    " AND pdata_key != enc_key AND pdata_iv != enc_iv FROM ta_versions WHERE version = '4.0'"),
	    1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE"
	    " action = 'ta.pdata_resealed' AND actor = 'tamd' AND object = '" E2E_TAID "'"
	    " AND detail = 'version=4.0 size=57'"), 1);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID " 4.0"), 0);
	session("GetDeviceStateRequest CreateSDRequest InstallTARequest");
	pdata_is(pd);
	/* once: the next start finds nothing to do */
	assert_int_equal(e2e_stop(&env), 0);
	assert_int_equal(e2e_start(&env, NULL), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE"
	    " action = 'ta.pdata_resealed'"), 1);
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest DeleteTARequest DeleteSDRequest");

	/* stored bytes that are not those set cannot be re-sealed: never sent, the session says why */
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " " E2E_TAID " 5.0 %s >/dev/null",
	    jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta pdata " E2E_TAID " 5.0 %s >/dev/null", pd), 0);
	assert_int_equal(e2e_stop(&env), 0);
	make_legacy("5.0", "not what was set");
	assert_int_equal(e2e_start(&env, NULL), 0);
	assert_true(e2e_log_wait(&env, "event=ta.pdata_reseal", 5000));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_versions WHERE version = '5.0'"
	    " AND pdata_key IS NULL"), 1);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID " 5.0"), 0);
	session("GetDeviceStateRequest CreateSDRequest");
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE result LIKE"
	    " 'blocked:the personalization data of TA version % is not re-sealed yet'"), 1);
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest DeleteSDRequest");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_flow),
		cmocka_unit_test(test_personalization_data),
		cmocka_unit_test(test_legacy_pdata_resealed),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
