// SPDX-License-Identifier: MIT
/*
 * Unit tests for the OTrP session engine without HTTP: the engine and the
 * mock TEE exchange bytes in-process over a real database. Covers what the
 * end-to-end tests cannot reach easily: TEE-signed failures, superseded
 * requests, trust-anchor changes, and a TEE whose key the TAM cannot encrypt
 * to yet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mock_tee.h"
#include "tam/engine.h"
#include "tam/mgmt.h"
#include "tam/otrp.h"

#define TAID "8d82573a-926d-4754-9353-32dc29997f74"

static char dir[256], pki[300], db[300];
static struct store *st;
static struct pki_signer *signer;
static struct otrp_engine *engine;
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

static int
load(const char *path, uint8_t **data, size_t *len)
{
	return tam_file_read(path, 1 << 20, data, len, NULL);
}

static const char *
script(void)
{
	static char p[300];
	const char *b = getenv("TAM_BUILD_DIR");

	snprintf(p, sizeof(p), "%s/../pki/otrp-pki.sh", b != NULL ? b : "build");
	return p;
}

static int
group_setup(void **state)
{
	struct otrp_engine_cfg cfg = { 0 };
	uint8_t *chain = NULL, *cert = NULL, *ta = NULL;
	size_t chain_len = 0, cert_len = 0, ta_len = 0;
	struct jose_key *spkey = NULL;
	json_t *jws = NULL;
	char path[400], *bundle;
	int64_t id;
	int rc = -1;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/otrp-engine.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	snprintf(db, sizeof(db), "%s/tamd.db", dir);
	if (sh("sh %s %s >/dev/null && sh %s issue --ec %s tee teeec >/dev/null && "
	    "sh %s issue %s tee tee2 >/dev/null", script(), pki, script(), pki, script(), pki) != 0)
		return -1;
	if (store_open(db, STORE_CREATE, &st, NULL) != 0)
		return -1;
	m.st = st;
	m.actor = "test";
	snprintf(path, sizeof(path), "%s/tam/tam-chain.pem", pki);
	if (load(path, &chain, &chain_len) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/tam/tam.key", pki);
	if (mgmt_identity_set(&m, path, chain, chain_len, NULL, NULL) != 0 ||
	    pki_signer_load(path, chain, chain_len, NULL, &signer, NULL) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/tee/ca.crt", pki);
	if (load(path, &cert, &cert_len) != 0 || mgmt_anchor_add(&m, "root", cert, cert_len, NULL) != 0)
		goto out;
	free(cert);
	cert = NULL;
	snprintf(path, sizeof(path), "%s/sp/sp1.crt", pki);
	if (load(path, &cert, &cert_len) != 0 || mgmt_sp_add(&m, "sp1", NULL, cert, cert_len, NULL) != 0)
		goto out;
	free(cert);
	cert = NULL;
	snprintf(path, sizeof(path), "%s/sp/sp1.key", pki);
	if (load(path, &cert, &cert_len) != 0 || jose_key_from_pem(cert, cert_len, &spkey, NULL) != 0)
		goto out;
	ta = (uint8_t *)strdup("a trusted application");
	ta_len = strlen((char *)ta);
	if (jose_jws_sign(spkey, "RS256", NULL, NULL, ta, ta_len, &jws, NULL) != 0)
		goto out;
	bundle = json_dumps(jws, JSON_COMPACT);
	rc = mgmt_ta_add(&m, "sp1", TAID, "1.0", NULL, (uint8_t *)bundle, strlen(bundle), &id, NULL);
	free(bundle);
	if (rc != 0)
		goto out;
	cfg.signer = signer;
	cfg.request_ttl = 60;
	cfg.auto_register = true;
	rc = otrp_engine_new(&cfg, &engine, NULL);
out:
	json_decref(jws);
	jose_key_free(spkey);
	free(chain);
	free(cert);
	free(ta);
	return rc;
}

static int
group_teardown(void **state)
{
	(void)state;
	otrp_engine_free(engine);
	pki_signer_free(signer);
	store_close(st);
	sh("rm -rf %s", dir);
	return 0;
}

static struct mock_tee *
open_tee(const char *tee, const char *label)
{
	char state[400], key[400], cert[400], ca[400], anchor[400];
	struct mock_tee_cfg cfg = { 0 };
	struct mock_tee *mt = NULL;

	snprintf(state, sizeof(state), "%s/state-%s", dir, label);
	snprintf(key, sizeof(key), "%s/tee/%s.key", pki, tee);
	snprintf(cert, sizeof(cert), "%s/tee/%s.crt", pki, tee);
	snprintf(ca, sizeof(ca), "%s/tee/ca.crt", pki);
	snprintf(anchor, sizeof(anchor), "%s/root/ca.crt", pki);
	cfg.state_dir = state;
	cfg.key_path = key;
	cfg.cert_path = cert;
	cfg.cacert_path = ca;
	cfg.tam_anchor_path = anchor;
	cfg.tee_name = tee;
	assert_int_equal(mock_tee_open(&cfg, &mt, NULL), 0);
	return mt;
}

/* Feed body to the engine; returns the reply (caller clears). */
static struct otrp_reply
engine_step(const char *body, size_t len, int want_rc, struct tam_err *err)
{
	struct otrp_reply r;
	int rc = otrp_engine_handle(engine, st, NULL, (const uint8_t *)body, len, &r, err);

	if (rc != want_rc)
		fail_msg("engine returned %d (%s), wanted %d", rc, err->msg, want_rc);
	return r;
}

/* The TEE's answer to a TAM message. */
static char *
tee_answer(struct mock_tee *mt, const struct otrp_reply *r, size_t *len)
{
	struct tam_err err = { 0 };
	char *ans = NULL;

	assert_false(r->done);
	if (mock_tee_process(mt, (const uint8_t *)r->body, r->len, &ans, len, &err) != 0)
		fail_msg("mock TEE: %s", err.msg);
	return ans;
}

static long long
scalar(const char *sql)
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

/* Open a session and let mt answer its GetDeviceStateRequest: the TAM's reply to that. */
static struct otrp_reply
state_answered(struct mock_tee *mt)
{
	struct tam_err err = { 0 };
	struct otrp_reply r = engine_step("", 0, 0, &err);
	size_t len = 0;
	char *ans = tee_answer(mt, &r, &len);

	otrp_reply_clear(&r);
	r = engine_step(ans, len, 0, &err);
	free(ans);
	return r;
}

/* Test-only SQL that writes, to put the database back the way later tests expect. */
static void
exec_sql(const char *sql)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* A response of name outer for the request in r, signed by mt, with content for the TAM. */
static char *
forge(struct mock_tee *mt, const struct otrp_reply *r, const char *outer, const char *tbs_name,
    const char *status, json_t *content_plain)
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL), *jws = NULL, *tbs, *body = NULL;
	json_t *jwe = NULL, *out;
	const char *k, *pl;
	uint8_t *p = NULL;
	size_t n = 0;
	char *txt, *res;

	assert_non_null(doc);
	json_object_foreach(doc, k, jws)
		break;
	pl = json_string_value(json_object_get(jws, "payload"));
	assert_int_equal(tam_b64url_decode(pl, strlen(pl), &p, &n), 0);
	tbs = json_loadb((char *)p, n, 0, NULL);
	free(p);
	json_object_foreach(tbs, k, body)
		break;
	txt = json_dumps(content_plain, JSON_COMPACT);
	assert_int_equal(jose_jwe_encrypt(pki_signer_public(signer), JOSE_ALG_RSA1_5,
	    JOSE_ENC_A128CBC_HS256, JOSE_JWE_GENERAL, (uint8_t *)txt, strlen(txt), &jwe, NULL), 0);
	free(txt);
	out = json_pack("{s:{s:s,s:s,s:O,s:O,s:o}}", tbs_name, "ver", "1.0", "status", status,
	    "rid", json_object_get(body, "rid"), "tid", json_object_get(body, "tid"), "content", jwe);
	txt = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	jws = NULL;
	assert_int_equal(jose_jws_sign(mock_tee_key(mt), jose_key_sig_alg(mock_tee_key(mt)), NULL,
	    NULL, (uint8_t *)txt, strlen(txt), &jws, NULL), 0);
	free(txt);
	out = json_pack("{s:o}", outer, jws);
	res = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	json_decref(tbs);
	json_decref(doc);
	return res;
}

/* rid and tid of the request in r. */
static void
rid_tid(const struct otrp_reply *r, char rid[64], char tid[64])
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL), *jws = NULL, *tbs, *body = NULL;
	const char *k, *pl;
	uint8_t *p = NULL;
	size_t n = 0;

	assert_non_null(doc);
	json_object_foreach(doc, k, jws)
		break;
	pl = json_string_value(json_object_get(jws, "payload"));
	assert_int_equal(tam_b64url_decode(pl, strlen(pl), &p, &n), 0);
	tbs = json_loadb((char *)p, n, 0, NULL);
	free(p);
	json_object_foreach(tbs, k, body)
		break;
	snprintf(rid, 64, "%s", json_string_value(json_object_get(body, "rid")));
	snprintf(tid, 64, "%s", json_string_value(json_object_get(body, "tid")));
	json_decref(tbs);
	json_decref(doc);
}

/*
 * Answer the GetDeviceStateRequest in r as mt would, but with its DSI changed
 * by edit (which gets the "tee" object): a TEE reporting a chosen state.
 */
static char *
gds_with(struct mock_tee *mt, const struct otrp_reply *r, void (*edit)(json_t *tee))
{
	json_t *dsi, *jwe = NULL, *tbs, *jws = NULL, *out;
	char rid[64], tid[64], *txt, *ans, *res;
	size_t len;

	ans = tee_answer(mt, r, &len);
	free(ans);
	dsi = json_loads(mock_tee_dsi(mt), 0, NULL);
	assert_non_null(dsi);
	edit(json_object_get(json_object_get(dsi, "dsi"), "tee"));
	txt = json_dumps(dsi, JSON_COMPACT);
	json_decref(dsi);
	assert_int_equal(jose_jwe_encrypt(pki_signer_public(signer), JOSE_ALG_RSA1_5,
	    JOSE_ENC_A128CBC_HS256, JOSE_JWE_GENERAL, (uint8_t *)txt, strlen(txt), &jwe, NULL), 0);
	free(txt);
	rid_tid(r, rid, tid);
	tbs = json_pack("{s:{s:s,s:s,s:s,s:s,s:b,s:o}}", "GetDeviceTEEStateTBSResponse", "ver", "1.0",
	    "status", "pass", "rid", rid, "tid", tid, "signerreq", 0, "edsi", jwe);
	txt = json_dumps(tbs, JSON_COMPACT);
	json_decref(tbs);
	assert_int_equal(jose_jws_sign(mock_tee_key(mt), jose_key_sig_alg(mock_tee_key(mt)), NULL,
	    NULL, (uint8_t *)txt, strlen(txt), &jws, NULL), 0);
	free(txt);
	out = json_pack("{s:[{s:o}]}", "GetDeviceStateResponse", "GetDeviceTEEStateResponse", jws);
	res = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return res;
}

static void
edit_foreign_ta(json_t *tee)
{
	json_object_set_new(tee, "sdlist", json_pack("{s:i,s:[{s:s,s:s,s:[{s:s}]}]}", "cnt", 1, "sd",
	    "name", "sp1.sd", "spid", "sp1", "talist", "taid", "not-ours"));
}

static void
edit_catalogue_ta(json_t *tee)
{
	json_object_set_new(tee, "sdlist", json_pack("{s:i,s:[{s:s,s:s,s:[{s:s}]}]}", "cnt", 1, "sd",
	    "name", "sp1.sd", "spid", "sp1", "talist", "taid", TAID));
}

static void
edit_sd_without_aik(json_t *tee)
{
	json_object_set_new(tee, "sdlist", json_pack("{s:i,s:[{s:s,s:s,s:[]}]}", "cnt", 1, "sd",
	    "name", "sp1.sd", "spid", "sp1", "talist"));
	json_object_del(tee, "teeaiklist");
}

/* One session of mt whose GetDeviceState answer is edited; returns the TAM's next reply. */
static struct otrp_reply
edited_session(struct mock_tee *mt, void (*edit)(json_t *tee))
{
	struct tam_err err = { 0 };
	struct otrp_reply r, next;
	char *ans;

	r = engine_step("", 0, 0, &err);
	ans = gds_with(mt, &r, edit);
	otrp_reply_clear(&r);
	next = engine_step(ans, strlen(ans), 0, &err);
	free(ans);
	return next;
}

static void
test_only_catalogue_tas_are_deleted(void **state)
{
	struct mock_tee *mt = open_tee("tee2", "foreign");
	struct otrp_reply r;

	(void)state;
	/* a TA we never heard of, in our SD: left alone */
	r = edited_session(mt, edit_foreign_ta);
	assert_true(r.done);
	otrp_reply_clear(&r);
	/* a TA of our catalogue that is not assigned to this device: deleted */
	r = edited_session(mt, edit_catalogue_ta);
	assert_false(r.done);
	assert_non_null(strstr(r.body, "DeleteTARequest"));
	otrp_reply_clear(&r);
	mock_tee_close(mt);
}

static void
test_blocked_without_aik_is_recorded(void **state)
{
	struct mock_tee *mt = open_tee("tee2", "noaik");
	struct tam_err err = { 0 };
	struct otrp_reply r;
	uint8_t did[32];
	char hex[65];

	(void)state;
	mock_tee_did(mt, did);
	tam_hex_encode(did, 32, hex);
	assert_int_equal(mgmt_assign(&m, hex, TAID, NULL, false, &err), 0);
	r = edited_session(mt, edit_sd_without_aik);
	assert_true(r.done);
	assert_int_equal(scalar("SELECT count(*) FROM sessions WHERE result = 'blocked:no TEE SP AIK for sp1'"), 1);
	otrp_reply_clear(&r);
	assert_int_equal(mgmt_unassign(&m, hex, TAID, &err), 0);
	mock_tee_close(mt);
}

static void
test_pass_without_effect_stops(void **state)
{
	struct mock_tee *mt = open_tee("tee2", "noeffect");
	struct tam_err err = { 0 };
	struct otrp_reply r, r2;
	json_t *content;
	uint8_t did[32];
	char hex[65], *b64 = NULL, *ans;

	(void)state;
	mock_tee_did(mt, did);
	tam_hex_encode(did, 32, hex);
	assert_int_equal(mgmt_assign(&m, hex, TAID, NULL, false, &err), 0);
	r = state_answered(mt);
	assert_non_null(strstr(r.body, "CreateSDRequest"));
	/* "pass", but the DSI that comes back still has no SD */
	assert_int_equal(tam_b64url_encode(did, 32, &b64), 0);
	content = json_pack("{s:s,s:s}", "did", b64, "dsi", mock_tee_dsi(mt));
	ans = forge(mt, &r, "CreateSDResponse", "CreateSDTBSResponse", "pass", content);
	r2 = engine_step(ans, strlen(ans), 0, &err);
	assert_true(r2.done);
	assert_int_equal(scalar("SELECT count(*) FROM sessions WHERE result = 'no-progress:CreateSD sp1.sd'"), 1);
	free(ans);
	free(b64);
	json_decref(content);
	otrp_reply_clear(&r);
	otrp_reply_clear(&r2);
	assert_int_equal(mgmt_unassign(&m, hex, TAID, &err), 0);
	mock_tee_close(mt);
}

static void
test_full_flow_in_process(void **state)
{
	struct mock_tee *mt = open_tee("tee1", "flow");
	struct tam_err err = { 0 };
	struct otrp_reply r;
	const char *want[] = { "GetDeviceStateRequest", "CreateSDRequest", "InstallTARequest" };
	char *ans;
	size_t len;
	int i = 0;

	(void)state;
	/* tee1 registers on first contact; then the operator assigns the TA */
	r = state_answered(mt);
	assert_true(r.done);
	assert_int_equal(mgmt_assign(&m, "0", TAID, NULL, false, &err), TAM_ENOTFOUND);
	{
		uint8_t did[32];
		char hex[65];
		mock_tee_did(mt, did);
		tam_hex_encode(did, 32, hex);
		assert_int_equal(mgmt_assign(&m, hex, TAID, NULL, false, &err), 0);
	}
	r = engine_step("", 0, 0, &err);
	while (!r.done) {
		assert_true(i < 3);
		assert_non_null(strstr(r.body, want[i]));
		i++;
		ans = tee_answer(mt, &r, &len);
		assert_string_equal(mock_tee_last_outcome(mt), "pass");
		otrp_reply_clear(&r);
		r = engine_step(ans, len, 0, &err);
		free(ans);
	}
	assert_int_equal(i, 3);
	assert_true(mock_tee_has_ta(mt, TAID));
	assert_int_equal(scalar("SELECT count(*) FROM device_tas WHERE taid = '" TAID "' AND ta_version_id IS NOT NULL"), 1);
	mock_tee_close(mt);
}

static void
test_tee_signed_failure_ends_session(void **state)
{
	struct mock_tee *mt = open_tee("tee1", "fail");
	struct tam_err err = { 0 };
	struct otrp_reply r, r2;
	json_t *content;
	uint8_t did[32];
	char hex[65], *b64 = NULL, *ans;
	long long fails, ended;

	(void)state;
	/* a fresh state dir: the device holds nothing, so the TAM asks for CreateSD again */
	r = state_answered(mt);
	assert_false(r.done);
	assert_non_null(strstr(r.body, "CreateSDRequest"));
	mock_tee_did(mt, did);
	tam_hex_encode(did, 32, hex);
	assert_int_equal(tam_b64url_encode(did, 32, &b64), 0);
	content = json_pack("{s:s,s:{s:s,s:s}}", "did", b64, "reason", "error-code",
	    "ERR_SPCERT_INVALID", "error-message", "bad certificate");
	ans = forge(mt, &r, "CreateSDResponse", "CreateSDTBSResponse", "fail", content);
	fails = scalar("SELECT count(*) FROM audit WHERE action = 'CreateSD.fail'");
	ended = scalar("SELECT count(*) FROM sessions WHERE result = 'tee-fail:ERR_SPCERT_INVALID'");
	r2 = engine_step(ans, strlen(ans), 0, &err);
	assert_true(r2.done);
	assert_int_equal(scalar("SELECT count(*) FROM audit WHERE action = 'CreateSD.fail'"), fails + 1);
	assert_int_equal(scalar("SELECT count(*) FROM sessions WHERE result = 'tee-fail:ERR_SPCERT_INVALID'"),
	    ended + 1);
	/* the verified failure consumed its rid */
	engine_step(ans, strlen(ans), TAM_ERID_REPLAYED, &err);
	free(ans);
	assert_int_equal(scalar("SELECT count(*) FROM op_failures WHERE op = 'CreateSD' AND count = 1"), 1);
	/* the next session does not ask for the refused operation again (until its retry time) */
	otrp_reply_clear(&r);
	r = state_answered(mt);
	assert_true(r.done);
	json_decref(content);
	free(b64);
	otrp_reply_clear(&r);
	otrp_reply_clear(&r2);
	mock_tee_close(mt);
}

/* A refusal that says the TAM's view is stale is answered by asking for the state again. */
static void
test_drift_refusal_reads_state_again(void **state)
{
	struct mock_tee *mt = open_tee("tee1", "drift");
	struct tam_err err = { 0 };
	struct otrp_reply r, r2;
	json_t *content;
	uint8_t did[32];
	char *b64 = NULL, *ans;
	size_t len;

	(void)state;
	r = state_answered(mt);
	assert_non_null(strstr(r.body, "CreateSDRequest"));
	mock_tee_did(mt, did);
	assert_int_equal(tam_b64url_encode(did, 32, &b64), 0);
	content = json_pack("{s:s,s:{s:s}}", "did", b64, "reason", "error-code",
	    "ERR_SD_ALREADY_EXISTS");
	ans = forge(mt, &r, "CreateSDResponse", "CreateSDTBSResponse", "fail", content);
	r2 = engine_step(ans, strlen(ans), 0, &err);
	free(ans);
	assert_false(r2.done);
	assert_non_null(strstr(r2.body, "GetDeviceStateRequest"));
	assert_int_equal(scalar("SELECT count(*) FROM op_failures"), 0);
	assert_int_equal(scalar("SELECT count(*) FROM audit WHERE action = 'CreateSD.fail' AND"
	    " detail LIKE '%ERR_SD_ALREADY_EXISTS state=reread'"), 1);
	/* the TEE answers it; the TAM decides from that state (the SD is still missing) */
	ans = tee_answer(mt, &r2, &len);
	otrp_reply_clear(&r2);
	r2 = engine_step(ans, len, 0, &err);
	free(ans);
	assert_false(r2.done);
	assert_non_null(strstr(r2.body, "CreateSDRequest"));
	/* refused the same way again in this session: an ordinary refusal now */
	ans = forge(mt, &r2, "CreateSDResponse", "CreateSDTBSResponse", "fail", content);
	otrp_reply_clear(&r);
	r = engine_step(ans, strlen(ans), 0, &err);
	free(ans);
	assert_true(r.done);
	assert_int_equal(scalar("SELECT count(*) FROM op_failures WHERE op = 'CreateSD' AND"
	    " reason = 'ERR_SD_ALREADY_EXISTS'"), 1);
	exec_sql("DELETE FROM op_failures");
	json_decref(content);
	free(b64);
	otrp_reply_clear(&r);
	otrp_reply_clear(&r2);
	mock_tee_close(mt);
}

/* A GetDeviceState refusal to the request in r, signed by mt, with code as its reason. */
static char *
forge_gds_fail(struct mock_tee *mt, const struct otrp_reply *r, const char *code)
{
	char rid[64], tid[64], *txt, *res;
	json_t *tbs, *jws = NULL, *out;

	rid_tid(r, rid, tid);
	tbs = json_pack("{s:{s:s,s:s,s:s,s:s,s:{s:s}}}", "GetDeviceTEEStateTBSResponse", "ver", "1.0",
	    "status", "fail", "rid", rid, "tid", tid, "reason", "error-code", code);
	txt = json_dumps(tbs, JSON_COMPACT);
	json_decref(tbs);
	assert_int_equal(jose_jws_sign(mock_tee_key(mt), jose_key_sig_alg(mock_tee_key(mt)), NULL,
	    NULL, (uint8_t *)txt, strlen(txt), &jws, NULL), 0);
	free(txt);
	out = json_pack("{s:[{s:o}]}", "GetDeviceStateResponse", "GetDeviceTEEStateResponse", jws);
	res = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return res;
}

/*
 * Every TEE-signed error code of spec §7 gets its reaction. A refused
 * GetDeviceState ends the session whatever the code (nothing in it is
 * signed by a key we know yet, so nothing of it is written). A refused operation is remembered with its
 * code and backed off, except the codes that say our view of the device is
 * stale: those are answered with a new GetDeviceStateRequest.
 */
static void
test_every_tee_code_has_its_reaction(void **state)
{
	static const char *const gds_codes[] = { "ERR_REQUEST_INVALID",
	    "ERR_UNSUPPORTED_MSG_VERSION", "ERR_UNSUPPORTED_CRYPTO_ALG", "ERR_TAM_NOT_TRUSTED",
	    "ERR_TFW_NOT_TRUSTED", "ERR_TEE_FAIL" };
	static const struct {
		const char *code;
		bool drift;
	} op_codes[] = {
		{ "ERR_REQUEST_INVALID", false }, { "ERR_UNSUPPORTED_MSG_VERSION", false },
		{ "ERR_UNSUPPORTED_CRYPTO_ALG", false }, { "ERR_TAM_NOT_TRUSTED", false },
		{ "ERR_TAM_NOT_AUTHORIZED", false }, { "ERR_TEE_FAIL", false },
		{ "ERR_DEV_STATE_MISMATCH", true }, { "ERR_SD_ALREADY_EXISTS", true },
		{ "ERR_SD_ALREADY_EXIST", true }, { "ERR_SD_NOT_FOUND", true },
		{ "ERR_SD_NOT_EMPTY", false }, { "ERR_SDNAME_ALREADY_USED", false },
		{ "ERR_SPCERT_INVALID", false }, { "ERR_TA_INVALID", false },
		{ "ERR_TA_ALREADY_INSTALLED", true }, { "ERR_TA_NOT_FOUND", true },
		{ "ERR_TEE_RESOURCE_FULL", false },
	};
	struct mock_tee *mt = open_tee("tee1", "codes");
	struct tam_err err = { 0 };
	struct otrp_reply r, r2;
	char sql[200], *ans, *b64 = NULL;
	uint8_t did[32];
	json_t *content;

	(void)state;
	mock_tee_did(mt, did);
	assert_int_equal(tam_b64url_encode(did, 32, &b64), 0);
	for (size_t i = 0; i < sizeof(gds_codes) / sizeof(gds_codes[0]); i++) {
		r = engine_step("", 0, 0, &err);
		ans = forge_gds_fail(mt, &r, gds_codes[i]);
		r2 = engine_step(ans, strlen(ans), 0, &err);
		free(ans);
		assert_true(r2.done);
		assert_true(r2.unverified);
		snprintf(sql, sizeof(sql), "tee-fail:%s (unverified)", gds_codes[i]);
		assert_string_equal(r2.result, sql);
		/* unsigned: the session it ends was never written, and is not now */
		assert_int_equal(scalar("SELECT count(*) FROM sessions WHERE result LIKE"
		    " '%(unverified)'"), 0);
		otrp_reply_clear(&r);
		otrp_reply_clear(&r2);
	}
	for (size_t i = 0; i < sizeof(op_codes) / sizeof(op_codes[0]); i++) {
		r = state_answered(mt);
		assert_non_null(strstr(r.body, "CreateSDRequest"));
		content = json_pack("{s:s,s:{s:s}}", "did", b64, "reason", "error-code",
		    op_codes[i].code);
		ans = forge(mt, &r, "CreateSDResponse", "CreateSDTBSResponse", "fail", content);
		json_decref(content);
		r2 = engine_step(ans, strlen(ans), 0, &err);
		free(ans);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM op_failures WHERE op = 'CreateSD'"
		    " AND reason = '%s'", op_codes[i].code);
		if (op_codes[i].drift) {
			assert_false(r2.done);
			assert_non_null(strstr(r2.body, "GetDeviceStateRequest"));
			assert_int_equal(scalar(sql), 0);
		} else {
			assert_true(r2.done);
			assert_int_equal(scalar(sql), 1);
		}
		exec_sql("DELETE FROM op_failures");
		otrp_reply_clear(&r);
		otrp_reply_clear(&r2);
	}
	free(b64);
	mock_tee_close(mt);
}

static void
test_new_session_supersedes_old(void **state)
{
	struct mock_tee *mt = open_tee("tee1", "supersede");
	struct tam_err err = { 0 };
	struct otrp_reply a, b;
	char *old;
	size_t old_len;

	(void)state;
	/* session A reaches CreateSD */
	a = state_answered(mt);
	assert_non_null(strstr(a.body, "CreateSDRequest"));
	old = tee_answer(mt, &a, &old_len);
	/* session B starts and the device answers it: A's outstanding request is cancelled */
	b = state_answered(mt);
	engine_step(old, old_len, TAM_ERID_EXPIRED, &err);
	free(old);
	otrp_reply_clear(&a);
	otrp_reply_clear(&b);
	mock_tee_close(mt);
}

static void
test_removed_anchor_takes_effect(void **state)
{
	struct mock_tee *mt = open_tee("tee1", "anchor");
	struct tam_err err = { 0 };
	struct otrp_reply r;
	uint8_t *cert = NULL;
	size_t cert_len = 0;
	char path[400], *ans;
	size_t len;

	(void)state;
	r = engine_step("", 0, 0, &err);
	ans = tee_answer(mt, &r, &len);
	otrp_reply_clear(&r);
	/* the operator withdraws the TEE root between request and response */
	assert_int_equal(mgmt_anchor_remove(&m, "root", &err), 0);
	engine_step(ans, len, TAM_ECERT_UNTRUSTED, &err);
	free(ans);
	snprintf(path, sizeof(path), "%s/tee/ca.crt", pki);
	assert_int_equal(load(path, &cert, &cert_len), 0);
	assert_int_equal(mgmt_anchor_add(&m, "root", cert, cert_len, &err), 0);
	free(cert);
	mock_tee_close(mt);
}

static void
test_ec_tee_served(void **state)
{
	struct mock_tee *mt = open_tee("teeec", "ec");
	struct tam_err err = { 0 };
	struct otrp_reply r;
	uint8_t did[32];
	char hex[65], *ans;
	const char *alg, *enc;
	size_t len;
	int rounds = 0;

	(void)state;
	/* an EC TEE signs ES256; the TAM verifies it and records its state */
	r = state_answered(mt);
	assert_true(r.done);
	mock_tee_did(mt, did);
	tam_hex_encode(did, 32, hex);
	assert_int_equal(mgmt_assign(&m, hex, TAID, NULL, false, &err), 0);
	/* content for it goes by ECDH-ES+A128KW, to its key and to its P-256 SP AIK */
	r = engine_step("", 0, 0, &err);
	while (!r.done && rounds++ < 8) {
		ans = tee_answer(mt, &r, &len);
		otrp_reply_clear(&r);
		assert_string_equal(mock_tee_last_outcome(mt), "pass");
		r = engine_step(ans, len, 0, &err);
		free(ans);
	}
	assert_true(r.done);
	otrp_reply_clear(&r);
	assert_true(mock_tee_has_ta(mt, TAID));
	mock_tee_last_content_suite(mt, &alg, &enc);
	assert_string_equal(alg, JOSE_ALG_ECDH_ES_A128KW);
	assert_int_equal(mgmt_unassign(&m, hex, TAID, &err), 0);
	mock_tee_close(mt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_flow_in_process),
		cmocka_unit_test(test_new_session_supersedes_old),
		cmocka_unit_test(test_removed_anchor_takes_effect),
		cmocka_unit_test(test_drift_refusal_reads_state_again),
		cmocka_unit_test(test_every_tee_code_has_its_reaction),
		cmocka_unit_test(test_tee_signed_failure_ends_session),
		cmocka_unit_test(test_ec_tee_served),
		cmocka_unit_test(test_only_catalogue_tas_are_deleted),
		cmocka_unit_test(test_blocked_without_aik_is_recorded),
		cmocka_unit_test(test_pass_without_effect_stops),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
