// SPDX-License-Identifier: MIT
/*
 * Hostile and broken input against a real otrp-tamd: every case expects a
 * specific HTTP status and error code, and a database that the rejected
 * message did not change. Also proves that what the TAM sends to one device
 * cannot be decrypted by another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"
#include "tam/jose.h"
#include "tam/pki.h"

static struct e2e_env env;
static struct mock_tee *tee1;   /* enrolled, TA assigned */
static struct mock_tee *tee2;   /* valid certificate, another device */

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0 || e2e_start(&env, NULL) != 0 ||
	    e2e_ctl(&env, "assign tee1 " E2E_TAID) != 0 ||
	    e2e_mock(&env, env.pki, "tee1", "tee1", false, &tee1) != 0 ||
	    e2e_mock(&env, env.pki, "tee2", "tee2", false, &tee2) != 0) {
		fprintf(stderr, "e2e setup failed (see %s)\n", env.log);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	int st;

	(void)state;
	mock_tee_close(tee1);
	mock_tee_close(tee2);
	st = e2e_stop(&env);
	e2e_teardown(&env);
	return st == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static void
post_ok(const char *body, size_t len, struct mock_http_resp *r, long status)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(e2e_post(&env, body, len, r), 0);
	if (r->status != status)
		fail_msg("HTTP %ld, expected %ld: %.*s", r->status, status, (int)r->len,
		    r->body ? r->body : "");
}

/* POST expecting a problem document with this status and error code, and no database change. */
static void
expect_problem(const char *body, size_t len, long status, const char *code)
{
	struct mock_http_resp r;
	uint8_t before[32], after[32];
	char got[64];

	assert_int_equal(e2e_db_digest(&env, true, before), 0);
	post_ok(body, len, &r, status);
	e2e_problem_code(&r, got, sizeof(got));
	if (strcmp(got, code) != 0)
		fail_msg("error code \"%s\", expected \"%s\": %.*s", got, code, (int)r.len, r.body);
	assert_string_equal(r.content_type, "application/problem+json");
	mock_http_resp_clear(&r);
	assert_int_equal(e2e_db_digest(&env, true, after), 0);
	assert_memory_equal(before, after, 32);
}

/* Open a session and let mt answer its GetDeviceStateRequest; returns the answer. */
static char *
gds_answer(struct mock_tee *mt, size_t *len)
{
	struct mock_http_resp r;
	struct tam_err err = { 0 };
	char *out = NULL;

	post_ok("", 0, &r, 200);
	if (mock_tee_process(mt, (const uint8_t *)r.body, r.len, &out, len, &err) != 0)
		fail_msg("mock TEE: %s", err.msg);
	mock_http_resp_clear(&r);
	return out;
}

/* The TBS object of a signed message body (not verified: tests only read it). */
static json_t *
tbs_of(const char *body, size_t len)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *jws, *tbs = NULL;
	const char *k;
	uint8_t *pl = NULL;
	size_t n = 0;

	assert_non_null(doc);
	json_object_foreach(doc, k, jws) {
		if (json_is_array(jws))
			jws = json_object_get(json_array_get(jws, 0), "GetDeviceTEEStateResponse");
		const char *p = json_string_value(json_object_get(jws, "payload"));
		assert_non_null(p);
		assert_int_equal(tam_b64url_decode(p, strlen(p), &pl, &n), 0);
		tbs = json_loadb((const char *)pl, n, 0, NULL);
		free(pl);
	}
	json_decref(doc);
	assert_non_null(tbs);
	return tbs;
}

/* The JWS object inside a response body; borrowed from doc. */
static json_t *
jws_of(json_t *doc)
{
	const char *k;
	json_t *v;

	json_object_foreach(doc, k, v) {
		if (json_is_array(v))
			return json_object_get(json_array_get(v, 0), "GetDeviceTEEStateResponse");
		return v;
	}
	return NULL;
}

/* Sign tbs with key and wrap it as a response named outer. */
static char *
signed_response(const struct jose_key *key, const char *outer, json_t *tbs)
{
	char *pl = json_dumps(tbs, JSON_COMPACT), *out;
	json_t *jws = NULL, *doc;

	assert_int_equal(jose_jws_sign(key, jose_key_sig_alg(key), NULL, NULL, (uint8_t *)pl,
	    strlen(pl), &jws, NULL), 0);
	free(pl);
	if (strcmp(outer, "GetDeviceStateResponse") == 0)
		doc = json_pack("{s:[{s:o}]}", outer, "GetDeviceTEEStateResponse", jws);
	else
		doc = json_pack("{s:o}", outer, jws);
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return out;
}

/* Replace one member of the response's JWS object. */
static char *
with_jws_member(const char *body, size_t len, const char *member, const char *value)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	char *out;

	assert_non_null(doc);
	assert_int_equal(json_object_set_new(jws_of(doc), member, json_string(value)), 0);
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return out;
}

/* ---- transport ---- */

static void
test_http_rules(void **state)
{
	struct mock_http_resp r;
	struct tam_err err = { 0 };
	char other[160], *big;
	const size_t big_len = (1u << 20) + 1;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(mock_http_post(env.url, "text/plain", OTRP_MEDIA_TYPE, (const uint8_t *)"{}", 2, &r, &err), 0);
	assert_int_equal(r.status, 415);
	mock_http_resp_clear(&r);
	assert_int_equal(mock_http_post(env.url, NULL, OTRP_MEDIA_TYPE, (const uint8_t *)"{}", 2, &r, &err), 0);
	assert_int_equal(r.status, 415);
	mock_http_resp_clear(&r);
	assert_int_equal(mock_http_post(env.url, OTRP_MEDIA_TYPE, "text/html", (const uint8_t *)"", 0, &r, &err), 0);
	assert_int_equal(r.status, 406);
	mock_http_resp_clear(&r);
	/* charset parameters and wildcards are fine */
	assert_int_equal(mock_http_post(env.url, "application/otrp+json; charset=utf-8", "*/*",
	    (const uint8_t *)"", 0, &r, &err), 0);
	assert_int_equal(r.status, 200);
	mock_http_resp_clear(&r);
	snprintf(other, sizeof(other), "%.*sother", (int)(strrchr(env.url, '/') - env.url + 1), env.url);
	assert_int_equal(mock_http_post(other, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE, (const uint8_t *)"", 0, &r, &err), 0);
	assert_int_equal(r.status, 404);
	mock_http_resp_clear(&r);

	big = malloc(big_len);
	assert_non_null(big);
	memset(big, ' ', big_len);
	expect_problem(big, big_len, 413, "too_large");
	free(big);
}

static void
test_malformed_and_truncated(void **state)
{
	char *ans;
	size_t len;

	(void)state;
	expect_problem("{", 1, 400, "malformed");
	expect_problem("[1,2,3]", 7, 400, "malformed");
	expect_problem("{\"Hello\":{}}", 12, 400, "malformed");
	ans = gds_answer(tee1, &len);
	expect_problem(ans, len / 2, 400, "malformed");
	free(ans);
}

/* A NUL inside a header value is refused on both listeners (RFC 9110 5.5), not cut short. */
static void
test_nul_in_header(void **state)
{
	static const char otrp[] = "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
	    "Content-Type: application/otrp+json\r\nX-Note: a\0b\r\nContent-Length: 0\r\n\r\n";
	static const char api[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\nUser-Agent: probe\0level=error\r\n\r\n";
	static const char clean[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n";
	/* a NUL in a name, one just before the line end, a folded line: none can be read as sent */
#define RAW(text) { text, sizeof(text) - 1 }
	static const struct { const char *text; size_t len; } more[] = {
		RAW("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-N\0te: a\r\nConnection: close\r\n\r\n"),
		RAW("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\0\r\nConnection: close\r\n\r\n"),
		RAW("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Note: \0\r\n\r\n"),
		RAW("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\r\n b\r\nConnection: close\r\n\r\n"),
	};
#undef RAW
	char resp[4096], many[8192];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		assert_int_equal(e2e_raw(env.api_url, more[i].text, more[i].len, resp, sizeof(resp)), 0);
		if (strncmp(resp, "HTTP/1.1 400", 12) != 0)
			fail_msg("case %zu: %.40s", i, resp);
	}
	/* more header fields than anyone needs */
	n = (size_t)snprintf(many, sizeof(many), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n");
	for (int i = 0; i < 120; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "X-%d: v\r\n", i);
	n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
	assert_int_equal(e2e_raw(env.api_url, many, n, resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 431", 12), 0);
	assert_int_equal(e2e_raw(env.url, otrp, sizeof(otrp) - 1, resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 400", 12), 0);
	assert_non_null(strstr(resp, "NUL byte"));
	assert_int_equal(e2e_raw(env.api_url, api, sizeof(api) - 1, resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 400", 12), 0);
	assert_non_null(strstr(resp, "NUL byte"));
	/* and the daemon keeps serving */
	assert_int_equal(e2e_raw(env.api_url, clean, sizeof(clean) - 1, resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 200", 12), 0);
}

/* ---- the log ---- */

/*
 * The lines of the daemon's log holding marker and event: how many, and the
 * last one (malloc'd). Every line holding marker must be a line of its own.
 */
static int
log_lines_with(const char *marker, const char *event, char **last)
{
	uint8_t *log = NULL;
	size_t len = 0;
	int n = 0;

	*last = NULL;
	assert_int_equal(tam_file_read(env.log, 1u << 24, &log, &len, NULL), 0);
	for (char *line = (char *)log, *nl; line < (char *)log + len; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)((char *)log + len - line))) == NULL)
			nl = (char *)log + len;
		*nl = '\0';
		if (strstr(line, marker) != NULL && strncmp(line, "time=", 5) != 0)
			fail_msg("a line of its own: %s", line);
		if (strstr(line, marker) != NULL && strstr(line, event) != NULL) {
			n++;
			free(*last);
			*last = strdup(line);
		}
	}
	free(log);
	return n;
}

/*
 * Values a peer sent that forge fields and lines stay one escaped value of
 * one line, on both listeners, and each line names the peer.
 */
static void
test_log_injection(void **state)
{
	static const char body[] = "{\"x\\\" level=error event=audit.forged actor=admin\\n"
	    "event=audit.f2\":{}}";
	struct e2e_req req = { 0 };
	struct e2e_resp ar = { 0 };
	char token[256], *line = NULL;

	(void)state;
	expect_problem(body, sizeof(body) - 1, 400, "malformed");
	assert_true(e2e_log_wait(&env, "audit.f2", 2000));
	assert_int_equal(log_lines_with("audit.forged", "event=http.reject", &line), 1);
	assert_non_null(strstr(line, " level=warn event=http.reject listener=otrp path=/tam status=400 "
	    "error=malformed detail=\"unknown message \\\"x\\\" level=error event=audit.forged "
	    "actor=admin\\nevent=audit.f2\\\"\" ms="));
	assert_non_null(strstr(line, " peer=127.0.0.1 request_id="));
	free(line);

	/* the management API: a path and the caller's address */
	assert_int_equal(e2e_ctl_out(&env, token, sizeof(token),
	    "token create --role admin 2>/dev/null"), 0);
	req.method = "GET";
	req.path = "/api/v1/devices/x%22%20level=error%20event=audit.api%0aactor=admin";
	req.token = token;
	assert_int_equal(e2e_api(&env, &req, &ar), 0);
	assert_int_equal(ar.status, 404);
	e2e_resp_clear(&ar);
	assert_true(e2e_log_wait(&env, "audit.api", 2000));
	assert_int_equal(log_lines_with("audit.api", "event=api.refuse", &line), 1);
	assert_non_null(strstr(line, " path=\"/api/v1/devices/x\\\" level=error event=audit.api"
	    "\\nactor=admin\" status=404 code=tam.device.not_found peer=127.0.0.1 request_id="));
	free(line);
}

/* ---- who is talking ---- */

static void
test_untrusted_ca(void **state)
{
	struct mock_tee *mt = NULL;
	char *ans;
	size_t len;

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki2, "tee1", "rogue", false, &mt), 0);
	ans = gds_answer(mt, &len);
	expect_problem(ans, len, 403, "cert_untrusted");
	free(ans);
	mock_tee_close(mt);
}

static void
test_other_role_is_no_tee(void **state)
{
	struct mock_tee *mt = NULL;
	char *ans;
	size_t len;

	(void)state;
	/* the SP's certificate comes from the same root, but not from the TEE CA we trust */
	assert_int_equal(e2e_mock(&env, env.pki, "sp/sp1", "sp-as-tee", false, &mt), 0);
	ans = gds_answer(mt, &len);
	expect_problem(ans, len, 403, "cert_untrusted");
	free(ans);
	mock_tee_close(mt);
}

static void
test_expired_cert(void **state)
{
	struct mock_tee *mt = NULL;
	char *ans;
	size_t len;

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee-old", "old", false, &mt), 0);
	ans = gds_answer(mt, &len);
	expect_problem(ans, len, 403, "cert_expired");
	free(ans);
	mock_tee_close(mt);
}

static void
test_unenrolled_raw_key(void **state)
{
	struct mock_tee *mt = NULL;
	char *ans;
	size_t len;

	(void)state;
	/* a TEE without certificate whose key nobody enrolled */
	assert_int_equal(e2e_mock(&env, env.pki2, "tee1", "raw-unknown", true, &mt), 0);
	ans = gds_answer(mt, &len);
	expect_problem(ans, len, 403, "device_unknown");
	free(ans);
	mock_tee_close(mt);
}

/* ---- signatures ---- */

static void
test_tampered_signature(void **state)
{
	json_t *doc;
	char *ans, *bad, sig[2048];
	size_t len;

	(void)state;
	ans = gds_answer(tee1, &len);
	doc = json_loadb(ans, len, 0, NULL);
	snprintf(sig, sizeof(sig), "%s", json_string_value(json_object_get(jws_of(doc), "signature")));
	json_decref(doc);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	bad = with_jws_member(ans, len, "signature", sig);
	expect_problem(bad, strlen(bad), 400, "signature");
	free(bad);
	/* a tampered payload fails too */
	doc = tbs_of(ans, len);
	json_object_set_new(json_object_get(doc, "GetDeviceTEEStateTBSResponse"), "signerreq", json_true());
	{
		char *pl = json_dumps(doc, JSON_COMPACT), *b64 = NULL;
		assert_int_equal(tam_b64url_encode((uint8_t *)pl, strlen(pl), &b64), 0);
		bad = with_jws_member(ans, len, "payload", b64);
		free(pl);
		free(b64);
	}
	json_decref(doc);
	expect_problem(bad, strlen(bad), 400, "signature");
	free(bad);
	free(ans);
}

static void
test_alg_none_and_hs256(void **state)
{
	char *ans, *bad, *p = NULL;
	size_t len;

	(void)state;
	ans = gds_answer(tee1, &len);
	assert_int_equal(tam_b64url_encode((const uint8_t *)"{\"alg\":\"none\"}", 14, &p), 0);
	bad = with_jws_member(ans, len, "protected", p);
	free(p);
	{
		json_t *doc = json_loads(bad, 0, NULL);
		json_object_set_new(jws_of(doc), "signature", json_string(""));
		free(bad);
		bad = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
	expect_problem(bad, strlen(bad), 400, "algorithm");
	free(bad);
	assert_int_equal(tam_b64url_encode((const uint8_t *)"{\"alg\":\"HS256\"}", 15, &p), 0);
	bad = with_jws_member(ans, len, "protected", p);
	free(p);
	expect_problem(bad, strlen(bad), 400, "algorithm");
	free(bad);
	free(ans);
}

/* ---- rid discipline ---- */

static void
test_replayed_rid(void **state)
{
	struct mock_http_resp r;
	char *ans;
	size_t len;

	(void)state;
	ans = gds_answer(tee2, &len);
	post_ok(ans, len, &r, 204);
	mock_http_resp_clear(&r);
	expect_problem(ans, len, 400, "rid_replayed");
	free(ans);
}

static void
test_unknown_rid(void **state)
{
	json_t *tbs, *body;
	char *ans, *forged;
	size_t len;

	(void)state;
	ans = gds_answer(tee2, &len);
	tbs = tbs_of(ans, len);
	body = json_object_get(tbs, "GetDeviceTEEStateTBSResponse");
	json_object_set_new(body, "rid", json_string("never-issued"));
	forged = signed_response(mock_tee_key(tee2), "GetDeviceStateResponse", tbs);
	expect_problem(forged, strlen(forged), 400, "rid_unknown");
	json_decref(tbs);
	free(forged);
	free(ans);
}

static void
test_expired_rid(void **state)
{
	struct e2e_env short_ttl = env;
	static const char *const args[] = { "--request-ttl", "1", NULL };
	struct mock_http_resp r;
	struct tam_err err = { 0 };
	char *ans = NULL;
	size_t len = 0;

	(void)state;
	/* a second daemon on the same database, whose requests expire after one second */
	short_ttl.tamd = 0;
	snprintf(short_ttl.log, sizeof(short_ttl.log), "%s/tamd-ttl.log", env.dir);
	assert_int_equal(e2e_start(&short_ttl, args), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mock_http_post(short_ttl.url, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE, (const uint8_t *)"", 0, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(mock_tee_process(tee2, (uint8_t *)r.body, r.len, &ans, &len, &err), 0);
	mock_http_resp_clear(&r);
	sleep(2);
	expect_problem(ans, len, 400, "rid_expired");
	free(ans);
	assert_int_equal(e2e_stop(&short_ttl), 0);
}

/* ---- bound to one device ---- */

static void
test_ta_is_bound_to_its_device(void **state)
{
	struct mock_http_resp r, r2;
	struct tam_err err = { 0 };
	json_t *tbs, *body, *key_jwe, *content;
	uint8_t *pt = NULL;
	size_t pt_len = 0, len;
	char *ans, *ans2 = NULL;

	(void)state;
	/* tee1 has the TA assigned: GetDeviceState -> CreateSD -> InstallTA */
	ans = gds_answer(tee1, &len);
	post_ok(ans, len, &r, 200);
	free(ans);
	assert_non_null(strstr(r.body, "CreateSDRequest"));

	/* another device answers the CreateSD request that was sent to tee1 */
	tbs = tbs_of(r.body, r.len);
	body = json_object_get(tbs, "CreateSDTBSRequest");
	{
		json_t *fake = json_pack("{s:{s:s,s:s,s:O,s:O,s:{s:s}}}", "CreateSDTBSResponse",
		    "ver", "1.0", "status", "pass", "rid", json_object_get(body, "rid"),
		    "tid", json_object_get(body, "tid"), "content", "protected", "x");
		char *forged = signed_response(mock_tee_key(tee2), "CreateSDResponse", fake);
		expect_problem(forged, strlen(forged), 400, "signature");
		free(forged);
		json_decref(fake);
	}
	/* and the content of tee1's request does not open with tee2's key */
	content = json_object_get(body, "content");
	assert_int_equal(jose_jwe_decrypt(mock_tee_key(tee2), content, &pt, &pt_len, &err), TAM_EDECRYPT);
	assert_int_equal(jose_jwe_decrypt(mock_tee_key(tee1), content, &pt, &pt_len, &err), 0);
	free(pt);
	json_decref(tbs);

	/* tee1 completes CreateSD; the TAM answers with InstallTA */
	assert_int_equal(mock_tee_process(tee1, (uint8_t *)r.body, r.len, &ans2, &len, &err), 0);
	mock_http_resp_clear(&r);
	post_ok(ans2, len, &r2, 200);
	free(ans2);
	assert_non_null(strstr(r2.body, "InstallTARequest"));
	tbs = tbs_of(r2.body, r2.len);
	body = json_object_get(tbs, "InstallTATBSRequest");
	key_jwe = json_object_get(json_object_get(body, "encrypted_ta"), "key");
	assert_non_null(key_jwe);
	/* the TA key opens with tee1's SP AIK only: not with tee2's identity key or tee1's */
	assert_int_equal(jose_jwe_decrypt(mock_tee_key(tee2), key_jwe, &pt, &pt_len, &err), TAM_EDECRYPT);
	assert_int_equal(jose_jwe_decrypt(mock_tee_key(tee1), key_jwe, &pt, &pt_len, &err), TAM_EDECRYPT);
	assert_non_null(mock_tee_aik(tee1, E2E_SPID));
	assert_int_equal(jose_jwe_decrypt(mock_tee_aik(tee1, E2E_SPID), key_jwe, &pt, &pt_len, &err), 0);
	assert_int_equal(pt_len, 32);
	free(pt);

	/* signed by tee1 itself, but the content names another device: refused */
	{
		struct jose_key *tam_key = NULL;
		uint8_t did[32], *pem = NULL;
		size_t pem_len = 0;
		char path[400], *did_b64 = NULL, *cpt, *forged;
		json_t *c, *jwe = NULL, *fake;
		X509 *tam_cert = NULL;

		snprintf(path, sizeof(path), "%s/tam/tam.crt", env.pki);
		assert_int_equal(tam_file_read(path, 1 << 16, &pem, &pem_len, NULL), 0);
		assert_int_equal(pki_cert_load(pem, pem_len, &tam_cert, NULL), 0);
		assert_int_equal(pki_cert_public_key(tam_cert, &tam_key, NULL), 0);
		memset(did, 0x42, sizeof(did));
		assert_int_equal(tam_b64url_encode(did, 32, &did_b64), 0);
		c = json_pack("{s:s}", "did", did_b64);
		cpt = json_dumps(c, JSON_COMPACT);
		assert_int_equal(jose_jwe_encrypt(tam_key, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
		    JOSE_JWE_GENERAL, (uint8_t *)cpt, strlen(cpt), &jwe, &err), 0);
		fake = json_pack("{s:{s:s,s:s,s:O,s:O,s:o}}", "InstallTATBSResponse",
		    "ver", "1.0", "status", "pass", "rid", json_object_get(body, "rid"),
		    "tid", json_object_get(body, "tid"), "content", jwe);
		forged = signed_response(mock_tee_key(tee1), "InstallTAResponse", fake);
		expect_problem(forged, strlen(forged), 400, "device_mismatch");
		free(forged);
		json_decref(fake);
		free(cpt);
		json_decref(c);
		free(did_b64);
		free(pem);
		X509_free(tam_cert);
		jose_key_free(tam_key);
	}
	json_decref(tbs);
	mock_http_resp_clear(&r2);
}

/* ---- decryption failures all look the same ---- */

static void
test_decrypt_failures_indistinguishable(void **state)
{
	static const char *const parts[] = { "tag", "ciphertext", "iv", "encrypted_key" };
	char first[512] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		struct mock_http_resp r;
		json_t *doc, *tbs, *edsi, *target;
		char *ans, *bad, *pl, *b64 = NULL, val[4096], got[64], detail[512];
		size_t len;

		ans = gds_answer(tee2, &len);
		doc = json_loadb(ans, len, 0, NULL);
		tbs = tbs_of(ans, len);
		edsi = json_object_get(json_object_get(tbs, "GetDeviceTEEStateTBSResponse"), "edsi");
		target = strcmp(parts[i], "encrypted_key") == 0 ?
		    json_array_get(json_object_get(edsi, "recipients"), 0) : edsi;
		snprintf(val, sizeof(val), "%s", json_string_value(json_object_get(target, parts[i])));
		val[3] = val[3] == 'A' ? 'B' : 'A';
		json_object_set_new(target, parts[i], json_string(val));
		/* decryption comes before the signature check: the original signature stays */
		pl = json_dumps(tbs, JSON_COMPACT);
		assert_int_equal(tam_b64url_encode((uint8_t *)pl, strlen(pl), &b64), 0);
		json_object_set_new(jws_of(doc), "payload", json_string(b64));
		bad = json_dumps(doc, JSON_COMPACT);
		post_ok(bad, strlen(bad), &r, 400);
		e2e_problem_code(&r, got, sizeof(got));
		assert_string_equal(got, "decrypt");
		{
			json_t *pj = json_loadb(r.body, r.len, 0, NULL);
			snprintf(detail, sizeof(detail), "%s", json_string_value(json_object_get(pj, "detail")));
			json_decref(pj);
		}
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", detail);
		else
			assert_string_equal(detail, first);
		mock_http_resp_clear(&r);
		free(bad);
		free(b64);
		free(pl);
		json_decref(tbs);
		json_decref(doc);
		free(ans);
	}
}

/* ---- broker errors ---- */

/* A genuine answer the TAM takes: 200 with its next request, or 204 with nothing to do. */
static void
expect_taken(const char *body, size_t len)
{
	struct mock_http_resp r = { 0 };

	assert_int_equal(e2e_post(&env, body, len, &r), 0);
	if (r.status != 200 && r.status != 204)
		fail_msg("HTTP %ld: %.*s", r.status, (int)r.len, r.body ? r.body : "");
	mock_http_resp_clear(&r);
}

/*
 * An unsigned message about a session that was only opened (an empty POST,
 * nothing written yet) writes nothing either: not a session, not an ending.
 */
static void
test_broker_error_writes_nothing(void **state)
{
	struct mock_http_resp r;
	struct tam_err err = { 0 };
	uint8_t before[32], after[32];
	json_t *tbs, *body;
	char msg[512], *genuine = NULL;
	size_t len = 0;

	(void)state;
	post_ok("", 0, &r, 200);
	assert_int_equal(mock_tee_process(tee2, (uint8_t *)r.body, r.len, &genuine, &len, &err), 0);
	tbs = tbs_of(r.body, r.len);
	body = json_object_get(tbs, "GetDeviceStateTBSRequest");
	snprintf(msg, sizeof(msg), "{\"OTrPBrokerError\":{\"ver\":\"1.0\",\"rid\":\"%s\",\"tid\":\"%s\","
	    "\"errcode\":\"ERR_AGENT_TEE_BUSY\"}}", json_string_value(json_object_get(body, "rid")),
	    json_string_value(json_object_get(body, "tid")));
	json_decref(tbs);
	mock_http_resp_clear(&r);
	assert_int_equal(e2e_db_digest(&env, true, before), 0);
	post_ok(msg, strlen(msg), &r, 204);
	/* a busy TEE is told when to come back */
	assert_int_equal(r.retry_after, TAM_BUSY_RETRY_SECONDS);
	mock_http_resp_clear(&r);
	assert_int_equal(e2e_db_digest(&env, true, after), 0);
	assert_memory_equal(before, after, 32);
	/* unsigned, it could come from anyone: the TEE's own answer still counts */
	expect_taken(genuine, len);
	expect_problem(genuine, len, 400, "rid_replayed");
	free(genuine);
}

static void
test_unverified_failure_writes_nothing(void **state)
{
	struct mock_http_resp r;
	struct tam_err err = { 0 };
	uint8_t before[32], after[32];
	json_t *tbs, *body, *fail;
	char *genuine = NULL, *forged;
	size_t len = 0;

	(void)state;
	post_ok("", 0, &r, 200);
	assert_int_equal(mock_tee_process(tee2, (uint8_t *)r.body, r.len, &genuine, &len, &err), 0);
	tbs = tbs_of(r.body, r.len);
	body = json_object_get(tbs, "GetDeviceStateTBSRequest");
	/* a "fail" answer carries no key the TAM could check: it is logged, never written */
	fail = json_pack("{s:{s:s,s:s,s:O,s:O,s:{s:s}}}", "GetDeviceTEEStateTBSResponse", "ver", "1.0",
	    "status", "fail", "rid", json_object_get(body, "rid"), "tid", json_object_get(body, "tid"),
	    "reason", "error-code", "ERR_TAM_NOT_TRUSTED");
	forged = signed_response(mock_tee_key(tee1), "GetDeviceStateResponse", fail);
	mock_http_resp_clear(&r);
	assert_int_equal(e2e_db_digest(&env, true, before), 0);
	post_ok(forged, strlen(forged), &r, 204);
	mock_http_resp_clear(&r);
	assert_int_equal(e2e_db_digest(&env, true, after), 0);
	assert_memory_equal(before, after, 32);
	/* retrying cannot help: the operator is alerted */
	assert_true(e2e_log_wait(&env, "event=otrp.alert reason=ERR_TAM_NOT_TRUSTED", 2000));
	/* it ended nothing it could not prove: the genuine answer is taken, once */
	expect_taken(genuine, len);
	expect_problem(genuine, len, 400, "rid_replayed");
	expect_problem(forged, strlen(forged), 400, "rid_replayed");
	free(forged);
	free(genuine);
	json_decref(fail);
	json_decref(tbs);
}

/* A TEE that cannot verify the TAM's algorithm: the operator learns which ones it can. */
static void
test_unsupported_alg_alerts(void **state)
{
	struct mock_http_resp r;
	json_t *tbs, *body, *fail;
	char *forged;

	(void)state;
	post_ok("", 0, &r, 200);
	tbs = tbs_of(r.body, r.len);
	body = json_object_get(tbs, "GetDeviceStateTBSRequest");
	fail = json_pack("{s:{s:s,s:s,s:O,s:O,s:{s:s},s:[sss]}}", "GetDeviceTEEStateTBSResponse",
	    "ver", "1.0", "status", "fail", "rid", json_object_get(body, "rid"), "tid",
	    json_object_get(body, "tid"), "reason", "error-code", "ERR_UNSUPPORTED_CRYPTO_ALG",
	    "supportedsigalgs", "PS256", "no alg\n", "EdDSA");
	forged = signed_response(mock_tee_key(tee1), "GetDeviceStateResponse", fail);
	mock_http_resp_clear(&r);
	post_ok(forged, strlen(forged), &r, 204);
	mock_http_resp_clear(&r);
	/* only plain algorithm names reach the log */
	assert_true(e2e_log_wait(&env, "event=otrp.alert reason=ERR_UNSUPPORTED_CRYPTO_ALG "
	    "tam_alg=RS256 tee_algs=PS256,EdDSA action=", 2000));
	free(forged);
	json_decref(fail);
	json_decref(tbs);
}

static void
test_decommissioned_device_refused(void **state)
{
	struct mock_session_result res = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	uint8_t did[32];
	char hex[65], *ans;
	size_t len;

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee3", "tee3", false, &mt), 0);
	assert_int_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	mock_tee_did(mt, did);
	tam_hex_encode(did, 32, hex);
	assert_int_equal(e2e_ctl(&env, "device decommission %s", hex), 0);
	ans = gds_answer(mt, &len);
	expect_problem(ans, len, 403, "denied");
	free(ans);
	mock_tee_close(mt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_rules),
		cmocka_unit_test(test_malformed_and_truncated),
		cmocka_unit_test(test_nul_in_header),
		cmocka_unit_test(test_log_injection),
		cmocka_unit_test(test_untrusted_ca),
		cmocka_unit_test(test_other_role_is_no_tee),
		cmocka_unit_test(test_expired_cert),
		cmocka_unit_test(test_unenrolled_raw_key),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_alg_none_and_hs256),
		cmocka_unit_test(test_replayed_rid),
		cmocka_unit_test(test_unknown_rid),
		cmocka_unit_test(test_expired_rid),
		cmocka_unit_test(test_ta_is_bound_to_its_device),
		cmocka_unit_test(test_decrypt_failures_indistinguishable),
		cmocka_unit_test(test_broker_error_writes_nothing),
		cmocka_unit_test(test_unverified_failure_writes_nothing),
		cmocka_unit_test(test_unsupported_alg_alerts),
		cmocka_unit_test(test_decommissioned_device_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
