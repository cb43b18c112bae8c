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
#include <openssl/evp.h>
#include <sqlite3.h>

#include "tam/mgmt.h"
#include "tam/otrp.h"
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
	assert_int_equal(count("SELECT count(*) FROM ta_blobs e JOIN ta_blobs b ON b.version_id ="
	    " e.version_id AND b.kind = 'bundle' WHERE e.kind = 'enc_ta' AND e.data = b.data"), 0);
	assert_int_equal(count("SELECT count(*) FROM ta_blobs WHERE kind = 'enc_ta'"
	    " AND length(data) % 16 != 0"), 0);
	assert_int_equal(count("SELECT count(*) FROM ta_blobs"), 4);
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

	assert_int_equal(mgmt_assign(&m, "nosuch", TAID, NULL, false, &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_assign(&m, "tee1", "nosuch", NULL, false, &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_assign(&m, "tee1", TAID, "7.0", false, &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_assign(&m, "tee1", TAID, "1.0", false, &err), 0);
	assert_int_equal(count("SELECT count(*) FROM assignments WHERE ta_version_id IS NOT NULL"), 1);
	assert_int_equal(mgmt_assign(&m, "tee1", TAID, NULL, false, &err), 0);
	assert_int_equal(count("SELECT count(*) FROM assignments WHERE ta_version_id IS NULL"), 1);
	assert_int_equal(mgmt_unassign(&m, "tee1", TAID, &err), 0);
	assert_int_equal(mgmt_unassign(&m, "tee1", TAID, &err), TAM_ENOTFOUND);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action IN ('assign', 'unassign')"), 3);
	free(cert);
	free(priv);
}

/* The compact serialization of a flattened JWS text; malloc'd. */
static char *
compact(const char *flat)
{
	json_t *o = json_loads(flat, 0, NULL);
	const char *p, *l, *g;
	char *out;
	size_t n;

	assert_non_null(o);
	p = json_string_value(json_object_get(o, "protected"));
	l = json_string_value(json_object_get(o, "payload"));
	g = json_string_value(json_object_get(o, "signature"));
	n = strlen(p) + strlen(l) + strlen(g) + 3;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%s.%s.%s", p, l, g);
	json_decref(o);
	return out;
}

/* Upload text in pieces of step bytes; the first failing step's code, or finish's. */
static int
upload(const char *taid, const char *version, const char *text, size_t step, uint64_t max,
    const uint8_t *want, struct mgmt_upload_result *res, struct tam_err *err)
{
	struct mgmt_upload *u = NULL;
	size_t len = strlen(text);
	int rc;

	rc = mgmt_upload_begin(&m, "sp1", taid, version, NULL, dir, max, &u, err);
	for (size_t i = 0; rc == TAM_OK && i < len; i += step)
		rc = mgmt_upload_write(u, (const uint8_t *)text + i, len - i < step ? len - i : step,
		    err);
	if (rc == TAM_OK)
		rc = mgmt_upload_finish(&m, u, want, res, err);
	mgmt_upload_free(u);
	return rc;
}

static void
test_streamed_upload(void **state)
{
	struct mgmt_upload_result res;
	struct store_ta_version v = { 0 };
	struct tam_err err = { 0 };
	char *flat = bundle("sp/sp1.key", "streamed TA"), *c = compact(flat);
	char *evil = bundle("../other/sp/sp1.key", "evil"), *bad = compact(evil);
	uint8_t digest[32], wrong[32] = { 0 };
	long long before = count("SELECT count(*) FROM ta_versions");

	(void)state;
	/* compact, byte by byte and in big pieces; the digest is the bundle's */
	tam_sha256(c, strlen(c), digest);
	assert_int_equal(upload("ta-s", "1.0", c, 1, 1 << 20, digest, &res, &err), 0);
	assert_false(res.existed);
	assert_int_equal(res.size, strlen(c));
	assert_memory_equal(res.digest, digest, 32);
	assert_int_equal(store_ta_version_get(st, res.version_id, true, &v, NULL), 0);
	assert_int_equal(v.bundle_len, strlen(c));
	assert_memory_equal(v.bundle, c, v.bundle_len);
	assert_string_equal(v.created_by, "test:unit");
	store_ta_version_clear(&v);
	assert_int_equal(upload("ta-s", "1.0", c, 4096, 1 << 20, NULL, &res, &err), 0);
	assert_true(res.existed);
	/* the stored ciphertext opens to the bundle with the stored key */
	assert_int_equal(store_ta_version_get(st, res.version_id, true, &v, NULL), 0);
	uint8_t *pt = NULL;
	size_t ptl = 0;
	assert_int_equal(otrp_bundle_open(v.enc_ta, v.enc_ta_len, v.enc_key, v.enc_iv, &pt, &ptl,
	    NULL), 0);
	assert_int_equal(ptl, strlen(c));
	assert_memory_equal(pt, c, ptl);
	free(pt);
	store_ta_version_clear(&v);
	/* the JSON serialization too */
	assert_int_equal(upload("ta-s", "1.1", flat, 7, 1 << 20, NULL, &res, &err), 0);

	/* refusals leave nothing */
	before = count("SELECT count(*) FROM ta_versions");
	assert_int_equal(upload("ta-s", "2.0", c, 100, 1 << 20, wrong, &res, &err), TAM_EMALFORMED);
	assert_string_equal(err.kind, "upload.digest_mismatch");
	assert_int_equal(upload("ta-s", "2.0", bad, 100, 1 << 20, NULL, &res, &err), TAM_ESIGNATURE);
	assert_string_equal(err.kind, "ta.signature_invalid");
	assert_int_equal(upload("ta-s", "2.0", c, 10, 50, NULL, &res, &err), TAM_ETOO_LARGE);
	assert_string_equal(err.kind, "upload.too_large");
	assert_int_equal(upload("ta-s", "2.0", "eyJhbGciOiJub25lIn0.e30.", 3, 1 << 20, NULL, &res,
	    &err), TAM_EALG);
	assert_string_equal(err.kind, "ta.bad_bundle");
	int nrc = upload("ta-s", "2.0", "not a jws at all", 3, 1 << 20, NULL, &res, &err);
	if (nrc != TAM_EMALFORMED)
		fail_msg("%s: %s", tam_err_name(nrc), err.msg);
	assert_int_equal(upload("ta-s", "2.0", "", 3, 1 << 20, NULL, &res, &err), TAM_EMALFORMED);
	/* white space alone, or before a compact JWS in any piece, is no bundle */
	assert_int_equal(upload("ta-s", "2.0", " \n", 1, 1 << 20, NULL, &res, &err), TAM_EMALFORMED);
	char *spaced = malloc(strlen(c) + 3);
	assert_non_null(spaced);
	snprintf(spaced, strlen(c) + 3, "\n\n%s", c);
	for (size_t step = 1; step <= 3; step++)
		assert_int_equal(upload("ta-s", "2.0", spaced, step, 1 << 20, NULL, &res, &err),
		    TAM_EMALFORMED);
	free(spaced);
	/* before the JSON serialization it is JSON white space */
	char *jspaced = malloc(strlen(flat) + 3);
	assert_non_null(jspaced);
	snprintf(jspaced, strlen(flat) + 3, "\n\n%s", flat);
	assert_int_equal(upload("ta-s", "1.5", jspaced, 1, 1 << 20, NULL, &res, &err), 0);
	free(jspaced);
	before = count("SELECT count(*) FROM ta_versions");
	/* a truncated compact bundle: two parts only */
	char *cut = strdup(c);
	*strrchr(cut, '.') = '\0';
	assert_int_equal(upload("ta-s", "2.0", cut, 50, 1 << 20, NULL, &res, &err), TAM_EMALFORMED);
	free(cut);
	assert_int_equal(upload("ta-s", "0.5", c, 50, 1 << 20, NULL, &res, &err), TAM_ECONFLICT);
	assert_string_equal(err.kind, "ta.version_not_newer");
	assert_int_equal(count("SELECT count(*) FROM ta_versions"), before);

	/* an upload given up half way stores nothing */
	struct mgmt_upload *u = NULL;
	assert_int_equal(mgmt_upload_begin(&m, "sp1", "ta-s", "3.0", NULL, dir, 1 << 20, &u, &err), 0);
	assert_int_equal(mgmt_upload_write(u, (const uint8_t *)c, 20, &err), 0);
	mgmt_upload_free(u);
	assert_int_equal(count("SELECT count(*) FROM ta_versions"), before);
	/* begin refuses what it can see at once */
	assert_int_equal(mgmt_upload_begin(&m, "nosuch", "ta-s", "3.0", NULL, dir, 1 << 20, &u, &err),
	    TAM_ENOTFOUND);
	assert_int_equal(mgmt_upload_begin(&m, "sp1", "bad id", "3.0", NULL, dir, 1 << 20, &u, &err),
	    TAM_EUSAGE);
	assert_int_equal(mgmt_upload_begin(&m, "sp1", "ta-s", "three", NULL, dir, 1 << 20, &u, &err),
	    TAM_EUSAGE);
	assert_null(u);

	/* withdraw */
	assert_int_equal(mgmt_ta_withdraw(&m, "ta-s", "1.1", &err), 0);
	assert_int_equal(mgmt_ta_withdraw(&m, "ta-s", "1.1", &err), TAM_ECONFLICT);
	assert_int_equal(mgmt_ta_withdraw(&m, "ta-s", "9.9", &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_ta_withdraw(&m, "nosuch", "1.0", &err), TAM_ENOTFOUND);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action = 'ta.withdraw'"), 1);
	free(flat);
	free(c);
	free(evil);
	free(bad);
}

static void
test_tokens_and_bulk(void **state)
{
	char token[MGMT_TOKEN_LEN + 1], token2[MGMT_TOKEN_LEN + 1];
	struct store_token t, who;
	struct tam_err err = { 0 };
	int64_t ids[2] = { 0, 0 };
	struct store_device d;

	(void)state;
	assert_int_equal(mgmt_token_create(&m, true, NULL, "ops team", 0, token, &t, &err), 0);
	assert_int_equal(strlen(token), MGMT_TOKEN_LEN);
	assert_int_equal(strncmp(token, "tam_", 4), 0);
	assert_int_equal(mgmt_token_check(st, token, tam_now(), &who, &err), 0);
	assert_true(who.admin);
	assert_string_equal(who.tokid, t.tokid);
	/* the store keeps the public id and SHA-256 of the secret, never the secret */
	uint8_t h[32];
	char hex[65], q[256];
	tam_sha256(token + 17, 43, h);
	tam_hex_encode(h, 32, hex);
	snprintf(q, sizeof(q), "SELECT count(*) FROM api_tokens WHERE hash = X'%s' AND tokid = '%.12s'",
	    hex, token + 4);
	assert_int_equal(count(q), 1);
	snprintf(q, sizeof(q), "SELECT count(*) FROM api_tokens WHERE instr(CAST(hash AS TEXT) || "
	    "description || created_by, '%.43s') > 0", token + 17);
	assert_int_equal(count(q), 0);

	/* every way to be refused looks the same */
	strcpy(token2, token);
	token2[MGMT_TOKEN_LEN - 1] ^= 1;
	assert_int_equal(mgmt_token_check(st, token2, tam_now(), &who, &err), TAM_EDENIED);
	assert_string_equal(err.kind, "auth.invalid_token");
	assert_int_equal(mgmt_token_check(st, "tam_short", tam_now(), &who, &err), TAM_EDENIED);
	assert_int_equal(mgmt_token_check(st, NULL, tam_now(), &who, &err), TAM_EDENIED);
	token2[MGMT_TOKEN_LEN - 1] ^= 1;
	token2[5] = token2[5] == 'a' ? 'b' : 'a';
	assert_int_equal(mgmt_token_check(st, token2, tam_now(), &who, &err), TAM_EDENIED);

	/* SP tokens, expiry, revocation */
	char admin_id[STORE_TOKID_LEN + 1], sp_id[STORE_TOKID_LEN + 1];
	strcpy(admin_id, t.tokid);
	assert_int_equal(mgmt_token_create(&m, false, "sp1", NULL, tam_now() + 100, token2, &t, &err),
	    0);
	strcpy(sp_id, t.tokid);
	assert_int_equal(mgmt_token_check(st, token2, tam_now(), &who, &err), 0);
	assert_false(who.admin);
	assert_string_equal(who.spid, "sp1");
	assert_int_equal(mgmt_token_check(st, token2, tam_now() + 100, &who, &err), TAM_EDENIED);
	assert_int_equal(mgmt_token_create(&m, false, "nosuch", NULL, 0, token2, &t, &err),
	    TAM_ENOTFOUND);
	assert_int_equal(mgmt_token_create(&m, true, NULL, NULL, 5, token2, &t, &err), TAM_EUSAGE);
	assert_int_equal(mgmt_token_create(&m, true, NULL, "bad\ntext", 0, token2, &t, &err),
	    TAM_EUSAGE);
	assert_int_equal(mgmt_token_revoke(&m, sp_id, &err), 0);
	assert_int_equal(mgmt_token_check(st, token, tam_now(), &who, &err), 0);
	assert_int_equal(mgmt_token_revoke(&m, admin_id, &err), 0);
	assert_int_equal(mgmt_token_check(st, token, tam_now(), &who, &err), TAM_EDENIED);
	assert_int_equal(mgmt_token_revoke(&m, admin_id, &err), TAM_ECONFLICT);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action = 'token.revoke'"), 2);

	/* bulk assignment: all or nothing */
	assert_int_equal(store_device_find(st, "tee1", &d, NULL), 0);
	ids[0] = d.id;
	store_device_clear(&d);
	ids[1] = 424242;
	long long before = count("SELECT count(*) FROM assignments");
	assert_int_equal(mgmt_assign_bulk(&m, TAID, NULL, false, ids, 2, &err), TAM_ENOTFOUND);
	assert_int_equal(count("SELECT count(*) FROM assignments"), before);
	assert_int_equal(mgmt_assign_bulk(&m, TAID, NULL, false, ids, 1, &err), 0);
	assert_int_equal(mgmt_assign_bulk(&m, TAID, "1.0", false, ids, 1, &err), 0);
	assert_int_equal(mgmt_assign_bulk(&m, TAID, "9.0", false, ids, 1, &err), TAM_ENOTFOUND);
	assert_int_equal(mgmt_assign_bulk(&m, "nosuch", NULL, false, ids, 1, &err), TAM_ENOTFOUND);

	/* an SP with TAs stays; an empty one goes with its tokens */
	assert_int_equal(mgmt_sp_remove(&m, "sp1", &err), TAM_ECONFLICT);
	uint8_t *sp2;
	size_t sl;
	sp2 = pki_file("sp/sp1.crt", &sl);
	assert_int_equal(mgmt_sp_add(&m, "sp-empty", NULL, sp2, sl, &err), 0);
	free(sp2);
	assert_int_equal(mgmt_token_create(&m, false, "sp-empty", NULL, 0, token2, &t, &err), 0);
	assert_int_equal(mgmt_sp_remove(&m, "sp-empty", &err), 0);
	assert_int_equal(mgmt_token_check(st, token2, tam_now(), &who, &err), TAM_EDENIED);
	assert_int_equal(mgmt_sp_remove(&m, "sp-empty", &err), TAM_ENOTFOUND);
}

/* Store pt in version vid the way migration 8 did: under the TA's key and IV, none of its own. */
static void
make_legacy_pdata(int64_t vid, const struct store_ta_version *v, const char *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t ct[256];
	int n = 0, fin = 0;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	assert_true(strlen(pt) + 16 <= sizeof(ct));
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, v->enc_key, v->enc_iv), 1);
	assert_int_equal(EVP_EncryptUpdate(c, ct, &n, (const uint8_t *)pt, (int)strlen(pt)), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, ct + n, &fin), 1);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "UPDATE ta_versions SET pdata_enc = ?1, pdata_key = NULL,"
	    " pdata_iv = NULL WHERE id = ?2", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_blob(s, 1, ct, n + fin, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, vid);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(h);
}

/* Version vid's personalization data has a key and IV of its own and opens to want. */
static void
assert_own_pdata(int64_t vid, const char *want)
{
	struct store_ta_version v = { 0 };
	struct store_pdata p = { 0 };
	uint8_t *pt = NULL;
	size_t len = 0;

	assert_int_equal(store_ta_version_get(st, vid, false, &v, NULL), 0);
	assert_int_equal(store_ta_version_pdata(st, vid, &p, NULL), 0);
	assert_non_null(p.enc);
	assert_false(p.legacy);
	assert_memory_not_equal(p.key, v.enc_key, sizeof(p.key));
	assert_memory_not_equal(p.iv, v.enc_iv, sizeof(p.iv));
	assert_int_equal(otrp_bundle_open(p.enc, p.enc_len, p.key, p.iv, &pt, &len, NULL), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(pt, want, len);
	free(pt);
	store_pdata_clear(&p);
	store_ta_version_clear(&v);
}

/*
 * Personalization data is sealed under a key and IV of its own, never its
 * TA's; data sealed the old way is sealed again once, the same bytes,
 * audited; data that is not what was set stays as it is (never sent).
 */
static void
test_pdata_own_key(void **state)
{
	const char pd[] = "personalization data, its first block like no other";
	struct store_ta_version v = { 0 };
	struct store_pdata p = { 0 };
	struct tam_err err = { 0 };
	char *b = bundle("sp/sp1.key", "ta v7");
	int64_t vid = 0, n = -1, failed = -1;

	(void)state;
	assert_int_equal(mgmt_ta_add(&m, "sp1", TAID, "7.0", NULL, (uint8_t *)b, strlen(b), &vid,
	    &err), 0);
	free(b);
	assert_int_equal(mgmt_ta_pdata(&m, TAID, "7.0", (const uint8_t *)pd, strlen(pd), &err), 0);
	assert_int_equal(count("SELECT count(*) FROM ta_versions WHERE pdata_enc IS NOT NULL AND"
	    " length(pdata_key) = 32 AND length(pdata_iv) = 16 AND pdata_key != enc_key"
	    " AND pdata_iv != enc_iv"), 1);
	assert_own_pdata(vid, pd);
	assert_int_equal(mgmt_pdata_reseal_legacy(&m, &n, &failed, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(failed, 0);

	/* the old layout: re-sealed once, to the same bytes */
	assert_int_equal(store_ta_version_get(st, vid, false, &v, NULL), 0);
	make_legacy_pdata(vid, &v, pd);
	assert_int_equal(store_ta_version_pdata(st, vid, &p, NULL), 0);
	assert_true(p.legacy);
	store_pdata_clear(&p);
	assert_int_equal(mgmt_pdata_reseal_legacy(&m, &n, &failed, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(failed, 0);
	assert_own_pdata(vid, pd);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action = 'ta.pdata_resealed'"
	    " AND object = '" TAID "' AND actor = 'test:unit' AND detail = 'version=7.0 size=51'"), 1);
	assert_int_equal(mgmt_pdata_reseal_legacy(&m, &n, &failed, &err), 0);
	assert_int_equal(n, 0);

	/* bytes that are not those set (their digest differs) are not re-sealed, nor sent */
	make_legacy_pdata(vid, &v, "other bytes");
	assert_int_equal(mgmt_pdata_reseal_legacy(&m, &n, &failed, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(failed, 1);
	assert_int_equal(count("SELECT count(*) FROM ta_versions WHERE pdata_enc IS NOT NULL"
	    " AND pdata_key IS NULL"), 1);
	assert_int_equal(count("SELECT count(*) FROM audit WHERE action = 'ta.pdata_resealed'"), 1);
	store_ta_version_clear(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_anchor_and_sp),
		cmocka_unit_test(test_ta_versions),
		cmocka_unit_test(test_devices_and_assignments),
		cmocka_unit_test(test_streamed_upload),
		cmocka_unit_test(test_tokens_and_bulk),
		cmocka_unit_test(test_pdata_own_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
