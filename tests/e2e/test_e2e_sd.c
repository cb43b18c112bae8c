// SPDX-License-Identifier: MIT
/*
 * End-to-end UpdateSD and DeleteSD on a real otrp-tamd and a mock TEE: an
 * SP's renewed certificate and new SD name reach its SD; an operator's AIK
 * renewal gives the SP a new TEE SP AIK; a purge deletes the SD with its TAs
 * in one DeleteSD; a certificate with another key is refused while TAs
 * signed with the old one remain installable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

/* SHA-256 of the DER form of a PEM certificate file. */
static void
cert_fp(const char *pem, uint8_t fp[32])
{
	char cmd[1200], der[600];
	uint8_t *d = NULL;
	size_t n = 0;

	snprintf(der, sizeof(der), "%s/fp.der", env.dir);
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -outform DER -out %s", pem, der);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tam_file_read(der, 1 << 16, &d, &n, NULL), 0);
	tam_sha256(d, n, fp);
	free(d);
}

/* The SD holds exactly the certificate of PEM file pem, and the TAM knows it does. */
static void
sd_holds_cert(const char *sdname, const char *pem)
{
	uint8_t want[32], got[4][32];
	char hex[65], sql[300];

	cert_fp(pem, want);
	assert_int_equal(mock_tee_sd_certs(mt, sdname, got, 4), 1);
	assert_memory_equal(got[0], want, 32);
	tam_hex_encode(want, 32, hex);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM device_sds WHERE sdname = '%s'"
	    " AND hex(spcert_fp) = upper('%s')", sdname, hex);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
}

/* The TAM's record of the SP's AIK is the key the mock TEE holds now. */
static void
aik_recorded(void)
{
	const struct jose_key *k = mock_tee_aik(mt, E2E_SPID);
	uint8_t *spki = NULL, *stored = NULL;
	size_t n = 0, sn = 0;
	char sql[200];
	int rc;

	assert_non_null(k);
	assert_int_equal(jose_key_to_spki(k, &spki, &n, NULL), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM device_spaiks WHERE spid = '%s'", E2E_SPID);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	rc = e2e_db_blob(&env, "SELECT spki FROM device_spaiks WHERE spid = '" E2E_SPID "'",
	    &stored, &sn);
	assert_int_equal(rc, 0);
	assert_int_equal(sn, n);
	assert_memory_equal(stored, spki, n);
	free(stored);
	free(spki);
}

static void
test_update_sd(void **state)
{
	char crt[400], key2[400], crt2[400], cmd[1400];
	uint8_t *aik1 = NULL, *aik2 = NULL;
	size_t n1 = 0, n2 = 0;

	(void)state;
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest CreateSDRequest InstallTARequest");
	snprintf(crt, sizeof(crt), "%s/sp/sp1.crt", env.pki);
	sd_holds_cert(E2E_SPID ".sd", crt);
	aik_recorded();

	/* the SP's certificate is renewed for the same key: the SD swaps it by UpdateSD */
	snprintf(crt2, sizeof(crt2), "%s/sp1-renewed.crt", env.dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -new -key %s/sp/sp1.key -subj /CN=sp1-renewed"
	    " -days 30 -out %s 2>/dev/null", env.pki, crt2);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " --cert %s", crt2), 0);
	session("GetDeviceStateRequest UpdateSDRequest");
	sd_holds_cert(E2E_SPID ".sd", crt2);
	session("GetDeviceStateRequest");

	/* another key: refused while a version signed with the old one can be installed */
	snprintf(key2, sizeof(key2), "%s/other.key", env.dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s"
	    " -subj /CN=other -days 30 -out %s/other.crt 2>/dev/null", key2, env.dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " --cert %s/other.crt 2>/dev/null",
	    env.dir), 3);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'sp.update'"), 1);

	/* a new SD name: the SD is renamed, its TA with it */
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " --sdname sp1.renamed"), 0);
	session("GetDeviceStateRequest UpdateSDRequest");
	assert_false(mock_tee_has_sd(mt, E2E_SPID ".sd"));
	assert_true(mock_tee_has_sd(mt, "sp1.renamed"));
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM device_tas"
	    " WHERE taid = '" E2E_TAID "' AND sdname = 'sp1.renamed'"), 1);
	sd_holds_cert("sp1.renamed", crt2);
	session("GetDeviceStateRequest");

	/* an operator asks for a new SP AIK */
	assert_int_equal(e2e_db_blob(&env, "SELECT spki FROM device_spaiks", &aik1, &n1), 0);
	assert_int_equal(e2e_ctl(&env, "device renew-aik tee1 " E2E_SPID), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sd_requests"), 1);
	session("GetDeviceStateRequest UpdateSDRequest");
	assert_int_equal(e2e_db_blob(&env, "SELECT spki FROM device_spaiks", &aik2, &n2), 0);
	assert_false(n1 == n2 && memcmp(aik1, aik2, n1) == 0);
	aik_recorded();
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sd_requests"), 0);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'sd.update'"), 3);
	/* one UpdateSD per renewal: the session ends ok, not "no progress" */
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM sessions WHERE result <> 'ok'"), 0);
	session("GetDeviceStateRequest");
	/* a rename and a renewal together still make a single UpdateSD */
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " --sdname sp1.third"), 0);
	assert_int_equal(e2e_ctl(&env, "device renew-aik tee1 " E2E_SPID), 0);
	session("GetDeviceStateRequest UpdateSDRequest");
	assert_true(mock_tee_has_sd(mt, "sp1.third"));
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " --sdname sp1.renamed"), 0);
	session("GetDeviceStateRequest UpdateSDRequest");
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM sessions WHERE result <> 'ok'"), 0);
	session("GetDeviceStateRequest");
	free(aik1);
	free(aik2);
}

static void
test_purge_sd(void **state)
{
	(void)state;
	/* the SD of test_update_sd holds the TA: a purge that is taken back does nothing */
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_ctl(&env, "device purge-sd tee1 " E2E_SPID), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM assignments"), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sd_requests"), 0);
	session("GetDeviceStateRequest");

	/* carried out: one DeleteSD takes the SD, its TA and the SP's AIK */
	assert_int_equal(e2e_ctl(&env, "device purge-sd tee1 " E2E_SPID), 0);
	session("GetDeviceStateRequest DeleteSDRequest");
	assert_false(mock_tee_has_sd(mt, "sp1.renamed"));
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	assert_null(mock_tee_aik(mt, E2E_SPID));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM device_sds"), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM device_tas"), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM device_spaiks"), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sd_requests"), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'sd.delete'"
	    " AND detail LIKE '%deleteta=true'"), 1);
	session("GetDeviceStateRequest");

	/* assigned again: a new SD under the current name, a new AIK */
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest CreateSDRequest InstallTARequest");
	assert_true(mock_tee_has_sd(mt, "sp1.renamed"));
	aik_recorded();
}

static void
test_refusals(void **state)
{
	(void)state;
	/* unknown SP, unknown device, bad action: nothing recorded */
	assert_int_equal(e2e_ctl(&env, "device renew-aik tee1 nosuchsp 2>/dev/null"), 2);
	assert_int_equal(e2e_ctl(&env, "device purge-sd nosuchdevice " E2E_SPID " 2>/dev/null"), 2);
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " 2>/dev/null"), 1);
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " --sdname 'bad name' 2>/dev/null"), 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sd_requests"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_sd),
		cmocka_unit_test(test_purge_sd),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
