// SPDX-License-Identifier: MIT
/*
 * Unit tests for management operations on a real database: validation codes,
 * audit records, and that a refused change leaves nothing behind.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tam/mgmt.h"
#include "tam/pki.h"

#define TAID "ta-1"

static char dir[256], pki[300], db[300];
static struct store *st;
static struct mgmt m;

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

/* Contents of a file under the PKI directory; caller frees. */
static uint8_t *
pki_file(const char *rel, size_t *len)
{
	char path[400];
	uint8_t *d = NULL;

	snprintf(path, sizeof(path), "%s/%s", pki, rel);
	assert_int_equal(tam_file_read(path, 1 << 20, &d, len, NULL), 0);
	return d;
}

static long long
count(const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* An SP-signed bundle of text with the key file rel. */
static char *
bundle(const char *rel, const char *text)
{
	struct jose_key *k = NULL;
	uint8_t *pem;
	size_t len;
	json_t *jws = NULL;
	char *out;

	pem = pki_file(rel, &len);
	assert_int_equal(jose_key_from_pem(pem, len, &k, NULL), 0);
	free(pem);
	assert_int_equal(jose_jws_sign(k, jose_key_sig_alg(k), NULL, NULL, (const uint8_t *)text,
	    strlen(text), &jws, NULL), 0);
	out = json_dumps(jws, JSON_COMPACT);
	json_decref(jws);
	jose_key_free(k);
	return out;
}

static int
setup(void **state)
{
	const char *b = getenv("TAM_BUILD_DIR");

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/otrp-mgmt.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	snprintf(db, sizeof(db), "%s/tamd.db", dir);
	if (sh("sh %s/../pki/otrp-pki.sh %s >/dev/null && sh %s/../pki/otrp-pki.sh %s/other >/dev/null",
	    b ? b : "build", pki, b ? b : "build", dir) != 0)
		return -1;
	if (store_open(db, STORE_CREATE, &st, NULL) != 0)
		return -1;
	m.st = st;
	m.actor = "test:unit";
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	store_close(st);
	sh("rm -rf %s", dir);
	return 0;
}

static void
test_identity(void **state)
{
	struct store_identity id = { 0 };
	struct tam_err err = { 0 };
	char key[400];
	uint8_t *chain;
	size_t len;

	(void)state;
	chain = pki_file("tam/tam-chain.pem", &len);
	snprintf(key, sizeof(key), "%s/tam/../tam/tam.key", pki);
	assert_int_equal(mgmt_identity_set(&m, key, chain, len, NULL, &err), 0);
	assert_int_equal(store_identity_get(st, &id, NULL), 0);
	assert_string_equal(id.tamid, "https://tam.example.test/tam");
	/* the path is stored made absolute and canonical; the key itself never */
	assert_null(strstr(id.key_path, ".."));
	assert_non_null(strstr(id.key_path, "/tam/tam.key"));
	assert_null(memmem(id.chain_pem, id.chain_len, "PRIVATE KEY", 11));
	store_identity_clear(&id);
	snprintf(key, sizeof(key), "%s/sp/sp1.key", pki);
	assert_int_equal(mgmt_identity_set(&m, key, chain, len, NULL, &err), TAM_EINVAL);
	free(chain);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action = 'tam.identity'"), 1);
}

static void
test_anchor_and_sp(void **state)
{
	struct tam_err err = { 0 };
	uint8_t *root, *leaf, *sp;
	size_t rl, ll, sl;

	(void)state;
	root = pki_file("root/ca.crt", &rl);
	leaf = pki_file("tee/tee1.crt", &ll);
	sp = pki_file("sp/sp1.crt", &sl);
	assert_int_equal(mgmt_anchor_add(&m, "bad name", root, rl, &err), TAM_EUSAGE);
	assert_int_equal(mgmt_anchor_add(&m, "leaf", leaf, ll, &err), TAM_EINVAL);
	assert_int_equal(mgmt_anchor_add(&m, "root", root, rl, &err), 0);
	assert_int_equal(mgmt_anchor_add(&m, "again", root, rl, &err), TAM_ECONFLICT);
	assert_int_equal(mgmt_anchor_add(&m, "junk", (const uint8_t *)"junk", 4, &err), TAM_EINVAL);
	assert_string_equal(err.kind, "request.bad_certificate");
	assert_int_equal(count("SELECT count(*) FROM trust_anchors"), 1);

	assert_int_equal(mgmt_sp_add(&m, "", NULL, sp, sl, &err), TAM_EUSAGE);
	assert_int_equal(mgmt_sp_add(&m, "sp1", "bad/sd", sp, sl, &err), TAM_EUSAGE);
	assert_int_equal(mgmt_sp_add(&m, "sp1", NULL, sp, sl, &err), 0);
	assert_int_equal(mgmt_sp_add(&m, "sp1", NULL, sp, sl, &err), TAM_ECONFLICT);
	assert_int_equal(count("SELECT count(*) FROM sps WHERE sdname = 'sp1.sd'"), 1);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action = 'sp.add' AND actor = 'test:unit'"), 1);
	free(root);
	free(leaf);
	free(sp);
}

static void
test_ta_versions(void **state)
{
	struct tam_err err = { 0 };
	char *good = bundle("sp/sp1.key", "ta v1"), *other = bundle("../other/sp/sp1.key", "evil");
	int64_t vid = 0;

	(void)state;
	assert_int_equal(mgmt_ta_add(&m, "nosuch", TAID, "1.0", NULL, (uint8_t *)good, strlen(good), &vid, &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "one", NULL, (uint8_t *)good, strlen(good), &vid, &err), TAM_EUSAGE);
	assert_int_equal(mgmt_ta_add(&m, "sp1", "a b", "1.0", NULL, (uint8_t *)good, strlen(good), &vid, &err), TAM_EUSAGE);
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "1.0", NULL, (uint8_t *)other, strlen(other), &vid, &err), TAM_ESIGNATURE);
	assert_non_null(strstr(err.msg, "sp1"));
	/* refused uploads left no TA behind */
	assert_int_equal(count("SELECT count(*) FROM tas"), 0);
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "1.0", "hello", (uint8_t *)good, strlen(good), &vid, &err), 0);
	assert_true(vid > 0);
	/* the same version again: the same bytes are no error, other bytes are */
	int64_t vid2 = 0;
	char *good2 = bundle("sp/sp1.key", "ta v1, rebuilt");
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "1.0", NULL, (uint8_t *)good, strlen(good), &vid2, &err), 0);
	assert_int_equal(vid2, vid);
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "1.0", NULL, (uint8_t *)good2, strlen(good2), &vid2, &err), TAM_ECONFLICT);
	assert_string_equal(err.kind, "ta.version_exists");
	free(good2);
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "0.9.9", NULL, (uint8_t *)good, strlen(good), &vid, &err), TAM_ECONFLICT);
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "1.0.1", NULL, (uint8_t *)good, strlen(good), &vid, &err), 0);
	assert_int_equal(count("SELECT count(*) FROM ta_versions"), 2);
	/* the stored ciphertext is not the bundle, and is a whole number of AES blocks */
	assert_int_equal(count("SELECT count(*) FROM ta_versions WHERE enc_ta = bundle"), 0);
	assert_int_equal(count("SELECT count(*) FROM ta_versions WHERE length(enc_ta) % 16 != 0"), 0);
	assert_int_equal(count("SELECT count(*) FROM tas WHERE name = 'hello'"), 1);
	free(good);
	free(other);
}

static void
test_devices_and_assignments(void **state)
{
	struct tam_err err = { 0 };
	uint8_t *cert, *priv;
	size_t cl, pl;
	char pub[400];
	uint8_t *pubpem;
	size_t publ;
	int64_t id = 0;

	(void)state;
	cert = pki_file("tee/tee1.crt", &cl);
	priv = pki_file("tee/tee1.key", &pl);
	assert_int_equal(mgmt_device_enroll(&m, "tee1", NULL, cert, cl, &id, &err), 0);
	assert_int_equal(mgmt_device_enroll(&m, "tee1b", NULL, cert, cl, &id, &err), TAM_ECONFLICT);
	assert_int_equal(mgmt_device_enroll(&m, NULL, NULL, priv, pl, &id, &err), TAM_EINVAL);
	assert_int_equal(mgmt_device_enroll(&m, "x y", NULL, cert, cl, &id, &err), TAM_EUSAGE);
	snprintf(pub, sizeof(pub), "openssl pkey -in %s/tee/tee1.key -pubout -out %s/tee1.pub 2>/dev/null", pki, dir);
	assert_int_equal(system(pub), 0);
	snprintf(pub, sizeof(pub), "%s/tee1.pub", dir);
	assert_int_equal(tam_file_read(pub, 1 << 16, &pubpem, &publ, NULL), 0);
	/* the same key as a raw-key device clashes on its thumbprint */
	assert_int_equal(mgmt_device_enroll(&m, "raw", NULL, pubpem, publ, &id, &err), TAM_ECONFLICT);
	free(pubpem);

	assert_int_equal(mgmt_assign(&m, "nosuch", TAID, NULL, &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_assign(&m, "tee1", "nosuch", NULL, &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_assign(&m, "tee1", TAID, "7.0", &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_assign(&m, "tee1", TAID, "1.0", &err), 0);
	assert_int_equal(count("SELECT count(*) FROM assignments WHERE ta_version_id IS NOT NULL"), 1);
	assert_int_equal(mgmt_assign(&m, "tee1", TAID, NULL, &err), 0);
	assert_int_equal(count("SELECT count(*) FROM assignments WHERE ta_version_id IS NULL"), 1);
	assert_int_equal(mgmt_unassign(&m, "tee1", TAID, &err), 0);
	assert_int_equal(mgmt_unassign(&m, "tee1", TAID, &err), TAM_ENOTFOUND);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action IN ('assign', 'unassign')"), 3);
	free(cert);
	free(priv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_anchor_and_sp),
		cmocka_unit_test(test_ta_versions),
		cmocka_unit_test(test_devices_and_assignments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
