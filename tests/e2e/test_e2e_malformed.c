// SPDX-License-Identifier: MIT
/*
 * Every member of every response a TEE sends, malformed, against a real
 * otrp-tamd: for each of the seven responses the mock TEE makes, every
 * member of the outer JSON, of the signed payload and of the decrypted
 * content (or DSI), at every depth, is replaced in turn by an empty string, a
 * value of another type (number, object, array, null, string), an over-long
 * string and a badly encoded one. The message is re-signed and re-encrypted
 * as the TEE would, so each variant reaches the check of its own member.
 * Each must be answered 4xx with a problem document that names its reason,
 * and change nothing; then the genuine answer is accepted, so the daemon
 * still serves the session.
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
#include "tam/jose.h"

/* Over-long: past every bound of a name, an id or a certificate of the codec. */
#define LONG_STRING_BYTES (TAM_MAX_CERT_BYTES * 2)

static struct e2e_env env;
static struct mock_tee *mt;
static struct jose_key *tam_key;    /* the TAM's private key: the test reads what the TEE sealed */

static int
group_setup(void **state)
{
	char path[400];
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc;

	/* thousands of refused messages from one address: the failure rate would stop the walk */
	static const char *const unlimited[] = { "-o", "limits.failure_rate=0", NULL };

	(void)state;
	if (e2e_setup(&env) != 0 || e2e_start(&env, unlimited) != 0 ||
	    e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/tam/tam.key", env.pki);
	if (tam_file_read(path, TAM_MAX_PEM_BYTES, &pem, &len, NULL) != 0)
		return -1;
	rc = jose_key_from_pem(pem, len, &tam_key, NULL);
	free(pem);
	return rc == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	int st;

	(void)state;
	jose_key_free(tam_key);
	mock_tee_close(mt);
	st = e2e_stop(&env);
	e2e_teardown(&env);
	return st == 0 ? 0 : -1;
}

/* ---- one genuine answer, taken apart ---- */

/* Which layer a variant is made in; each is rebuilt around it as the TEE builds it. */
enum layer { OUTER, PAYLOAD, SEALED, SEALED_DSI };

struct answer {
	const char *name;             /* "CreateSDResponse" */
	json_t *doc;                  /* the whole message */
	json_t *jws;                  /* borrowed from doc */
	json_t *tbs;                  /* the signed payload */
	json_t *sealed;               /* content (edsi for GetDeviceState) decrypted */
	json_t *dsi;                  /* the DSI a content holds as a string, parsed; or NULL */
	const char *sealed_member;    /* "content" or "edsi" */
	json_t *protected_extra;      /* the TEE's protected header less alg */
	const char *alg;              /* borrowed from protected_extra's original */
	const char *const *may_be_empty;  /* paths whose "" is a value (NULL-terminated), or NULL */
	int tried;                    /* variants posted */
	int failed;                   /* of them, answered otherwise (each printed) */
};

static json_t *
b64_json(const char *s)
{
	uint8_t *b = NULL;
	size_t n = 0;
	json_t *j;

	assert_int_equal(tam_b64url_decode(s, strlen(s), &b, &n), 0);
	j = json_loadb((const char *)b, n, 0, NULL);
	free(b);
	assert_non_null(j);
	return j;
}

static void
answer_open(struct answer *a, const char *body, size_t len)
{
	json_t *v, *body_obj;
	const char *k;
	uint8_t *pt = NULL;
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	assert_non_null(a->doc = json_loadb(body, len, 0, NULL));
	json_object_foreach(a->doc, k, v) {
		a->name = k;
		a->jws = json_is_array(v) ?
		    json_object_get(json_array_get(v, 0), "GetDeviceTEEStateResponse") : v;
	}
	assert_non_null(a->jws);
	a->tbs = b64_json(json_string_value(json_object_get(a->jws, "payload")));
	a->protected_extra = b64_json(json_string_value(json_object_get(a->jws, "protected")));
	a->alg = strdup(json_string_value(json_object_get(a->protected_extra, "alg")));
	json_object_del(a->protected_extra, "alg");
	json_object_foreach(a->tbs, k, body_obj) {
		a->sealed_member = json_object_get(body_obj, "edsi") != NULL ? "edsi" : "content";
		v = json_object_get(body_obj, a->sealed_member);
		if (v == NULL)
			continue;
		assert_int_equal(jose_jwe_decrypt(tam_key, v, &pt, &n, NULL), 0);
		assert_non_null(a->sealed = json_loadb((const char *)pt, n, 0, NULL));
		free(pt);
		v = json_object_get(a->sealed, "dsi");
		if (json_is_string(v))
			assert_non_null(a->dsi = json_loads(json_string_value(v), 0, NULL));
	}
}

static void
answer_close(struct answer *a)
{
	json_decref(a->doc);
	json_decref(a->tbs);
	json_decref(a->sealed);
	json_decref(a->dsi);
	json_decref(a->protected_extra);
	free((char *)a->alg);
}

/* Seal sealed as the TEE would, as the sealed member of a copy of the TBS. */
static json_t *
reseal(const struct answer *a, const json_t *sealed)
{
	json_t *tbs = json_deep_copy(a->tbs), *jwe = NULL, *v;
	const char *k;
	char *pt;

	assert_non_null(tbs);
	pt = json_dumps(sealed, JSON_COMPACT);
	assert_non_null(pt);
	assert_int_equal(jose_jwe_encrypt(tam_key, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
	    JOSE_JWE_GENERAL, (uint8_t *)pt, strlen(pt), &jwe, NULL), 0);
	free(pt);
	json_object_foreach(tbs, k, v)
		assert_int_equal(json_object_set_new(v, a->sealed_member, json_incref(jwe)), 0);
	json_decref(jwe);
	return tbs;
}

/* The signed payload for layer: as it is, or around the (changed) sealed content or its DSI. */
static json_t *
payload_for(const struct answer *a, enum layer layer)
{
	json_t *sealed, *tbs;
	char *dsi;

	if (layer == PAYLOAD)
		return json_incref(a->tbs);
	if (layer == SEALED)
		return reseal(a, a->sealed);
	sealed = json_deep_copy(a->sealed);
	dsi = json_dumps(a->dsi, JSON_COMPACT);
	assert_non_null(sealed);
	assert_non_null(dsi);
	assert_int_equal(json_object_set_new(sealed, "dsi", json_string(dsi)), 0);
	free(dsi);
	tbs = reseal(a, sealed);
	json_decref(sealed);
	return tbs;
}

/* The message as it stands: outer as is, or rebuilt around a changed payload or content. */
static char *
answer_build(const struct answer *a, enum layer layer)
{
	json_t *tbs, *jws = NULL, *doc;
	char *pl, *out;

	if (layer == OUTER)
		return json_dumps(a->doc, JSON_COMPACT);
	tbs = payload_for(a, layer);
	pl = json_dumps(tbs, JSON_COMPACT);
	json_decref(tbs);
	assert_non_null(pl);
	assert_int_equal(jose_jws_sign(mock_tee_key(mt), a->alg, a->protected_extra,
	    json_object_get(a->jws, "header"), (uint8_t *)pl, strlen(pl), &jws, NULL), 0);
	free(pl);
	if (strcmp(a->name, "GetDeviceStateResponse") == 0)
		doc = json_pack("{s:[{s:o}]}", a->name, "GetDeviceTEEStateResponse", jws);
	else
		doc = json_pack("{s:o}", a->name, jws);
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return out;
}

/* ---- variants ---- */

/*
 * Base64 or base64url of some length: both cases of letters, and not a UUID
 * (a TA id is a name, ERR_TEE_BUSY a code, neither an encoding).
 */
static bool
looks_encoded(const char *s)
{
	size_t n = strlen(s);

	return n >= 16 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=-_") == n && strspn(s, "0123456789abcdefABCDEF-") != n &&
	    strpbrk(s, "abcdefghijklmnopqrstuvwxyz") != NULL &&
	    strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL;
}

/* Malformed stand-ins for v (new references, NULL-terminated; names in what). */
static void
variants_of(const json_t *v, json_t **out, const char **what)
{
	static char long_string[LONG_STRING_BYTES + 1];
	size_t n = 0;

	if (long_string[0] == '\0')
		memset(long_string, 'A', LONG_STRING_BYTES);
#define ADD(j, w) do { out[n] = (j); what[n++] = (w); } while (0)
	if (!json_is_string(v) || json_string_length(v) > 0)
		ADD(json_string(""), "empty string");
	if (!json_is_integer(v))
		ADD(json_integer(42), "number");
	if (!json_is_object(v))
		ADD(json_object(), "object");
	if (!json_is_array(v))
		ADD(json_array(), "array");
	ADD(json_null(), "null");
	if (!json_is_string(v)) {
		ADD(json_string("x"), "string");
	} else {
		ADD(json_string(long_string), "over-long string");
		if (looks_encoded(json_string_value(v)))
			ADD(json_string("!!*~not base64~*!!"), "bad base64");
		else
			ADD(json_stringn("bad\0\x1b[31m", 9), "bad encoding (NUL, ESC)");
	}
#undef ADD
	out[n] = NULL;
}

/* ---- posting one ---- */

/* POST body: a 4xx problem that says why, and a database as it was. */
static void
expect_refused(struct answer *a, const char *body, const char *where, const char *what)
{
	struct mock_http_resp r = { 0 };
	uint8_t before[32], after[32];
	json_t *p;
	const char *code, *detail;

	assert_int_equal(e2e_db_digest(&env, true, before), 0);
	assert_int_equal(e2e_post(&env, body, strlen(body), &r), 0);
	p = r.body != NULL ? json_loadb(r.body, r.len, 0, NULL) : NULL;
	code = json_string_value(json_object_get(p, "code"));
	detail = json_string_value(json_object_get(p, "detail"));
	/* All of a message's variants are tried and each failure printed: one run shows them all. */
	if (r.status < 400 || r.status > 499 || code == NULL || strcmp(code, "tam.unknown") == 0 ||
	    detail == NULL || detail[0] == '\0') {
		print_error("%s %s as %s: HTTP %ld %.*s\n", a->name, where, what, r.status,
		    (int)r.len, r.body ? r.body : "");
		a->failed++;
	}
	json_decref(p);
	mock_http_resp_clear(&r);
	assert_int_equal(e2e_db_digest(&env, true, after), 0);
	if (memcmp(before, after, 32) != 0) {
		print_error("%s %s as %s changed the database\n", a->name, where, what);
		a->failed++;
	}
	a->tried++;
}

static bool
listed(const char *const *list, const char *path)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], path) == 0)
			return true;
	return false;
}

/*
 * Every member under node, at every depth, replaced in turn by each variant
 * and sent rebuilt from layer on; path names the member in failure messages.
 */
static void
walk(struct answer *a, enum layer layer, json_t *node, const char *path)
{
	json_t *vars[10];
	const char *what[10];
	char sub[512];
	size_t n = json_is_object(node) ? json_object_size(node) : json_array_size(node);
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	size_t i = 0;

	assert_non_null(keys);
	if (json_is_object(node))
		json_object_foreach(node, k, v)
			keys[i++] = k;
	for (i = 0; i < n; i++) {
		json_t *old = json_incref(keys[i] != NULL ? json_object_get(node, keys[i]) :
		    json_array_get(node, i));
		if (keys[i] != NULL)
			snprintf(sub, sizeof(sub), "%s.%s", path, keys[i]);
		else
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		variants_of(old, vars, what);
		for (size_t j = 0; vars[j] != NULL; j++) {
			char *body;
			if (json_is_string(vars[j]) && json_string_length(vars[j]) == 0 &&
			    listed(a->may_be_empty, sub)) {
				json_decref(vars[j]);
				continue;
			}
			if (keys[i] != NULL)
				assert_int_equal(json_object_set_new(node, keys[i], vars[j]), 0);
			else
				assert_int_equal(json_array_set_new(node, i, vars[j]), 0);
			body = answer_build(a, layer);
			expect_refused(a, body, sub, what[j]);
			free(body);
		}
		if (keys[i] != NULL)
			assert_int_equal(json_object_set(node, keys[i], old), 0);
		else
			assert_int_equal(json_array_set(node, i, old), 0);
		if (json_is_object(old) || json_is_array(old))
			walk(a, layer, old, sub);
		json_decref(old);
	}
	free(keys);
}

/*
 * The TAM's request (body) is pending: the TEE's genuine answer to it is
 * sent malformed in every way first, then as it is; returns that last POST.
 */
static void
answer_every_way(const struct mock_http_resp *req, const char *want, struct mock_http_resp *next)
{
	struct tam_err err = { 0 };
	struct answer a;
	char *genuine = NULL;
	size_t len = 0;

	assert_non_null(strstr(req->body, want));
	if (mock_tee_process(mt, (const uint8_t *)req->body, req->len, &genuine, &len, &err) != 0)
		fail_msg("mock TEE: %s", err.msg);
	answer_open(&a, genuine, len);
	walk(&a, OUTER, a.doc, "");
	walk(&a, PAYLOAD, a.tbs, "payload");
	if (a.sealed != NULL)
		walk(&a, SEALED, a.sealed, a.sealed_member);
	if (a.dsi != NULL)
		walk(&a, SEALED_DSI, a.dsi, "content.dsi(string)");
	print_message("%s: %d malformed variants, %d not refused\n", a.name, a.tried, a.failed);
	if (a.failed != 0)
		fail_msg("%s: %d of %d malformed variants were not refused", a.name, a.failed, a.tried);
	answer_close(&a);
	memset(next, 0, sizeof(*next));
	assert_int_equal(e2e_post(&env, genuine, len, next), 0);
	free(genuine);
	if (next->status != 200 && next->status != 204)
		fail_msg("the genuine answer got HTTP %ld: %.*s", next->status, (int)next->len,
		    next->body ? next->body : "");
}

/* A session in which each request named in want (in order) is answered every way. */
static void
session_every_way(const char *const *want)
{
	struct mock_http_resp r = { 0 }, next;

	assert_int_equal(e2e_post(&env, "", 0, &r), 0);
	assert_int_equal(r.status, 200);
	for (size_t i = 0; want[i] != NULL; i++) {
		answer_every_way(&r, want[i], &next);
		mock_http_resp_clear(&r);
		r = next;
	}
	assert_int_equal(r.status, 204);
	mock_http_resp_clear(&r);
}

/* ---- the seven responses ---- */

static void
test_create_and_install(void **state)
{
	static const char *const want[] = { "GetDeviceStateRequest", "CreateSDRequest",
	    "InstallTARequest", NULL };

	(void)state;
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session_every_way(want);
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
}

/* An UpdateTA; its GetDeviceState now carries a DSI with an SD, a TA and an SP AIK in it. */
static void
test_update_ta(void **state)
{
	static const char *const want[] = { "GetDeviceStateRequest", "UpdateTARequest", NULL };
	char bin[400], jws[400];
	FILE *f;

	(void)state;
	snprintf(bin, sizeof(bin), "%s/ta-v2.bin", env.dir);
	snprintf(jws, sizeof(jws), "%s/ta-v2.jws", env.dir);
	assert_non_null(f = fopen(bin, "w"));
	fputs("version two", f);
	fclose(f);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s", env.pki, bin, jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " " E2E_TAID " 1.1 %s >/dev/null",
	    jws), 0);
	session_every_way(want);
}

/* The SP's certificate is renewed: UpdateSD. */
static void
test_update_sd(void **state)
{
	static const char *const want[] = { "GetDeviceStateRequest", "UpdateSDRequest", NULL };
	char crt[400];

	(void)state;
	snprintf(crt, sizeof(crt), "%s/sp1-renewed.crt", env.dir);
	assert_int_equal(e2e_sh("openssl req -x509 -new -key %s/sp/sp1.key -subj /CN=sp1-renewed"
	    " -days 30 -out %s 2>/dev/null", env.pki, crt), 0);
	assert_int_equal(e2e_ctl(&env, "sp update " E2E_SPID " --cert %s", crt), 0);
	session_every_way(want);
}

/* Unassigned: DeleteTA, then DeleteSD; and the daemon serves on. */
static void
test_delete_ta_and_sd(void **state)
{
	static const char *const want[] = { "GetDeviceStateRequest", "DeleteTARequest",
	    "DeleteSDRequest", NULL };
	struct mock_session_result res = { 0 };
	struct tam_err err = { 0 };

	(void)state;
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session_every_way(want);
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_int_equal(res.final_status, 204);
}

/*
 * A broker error is not signed: its members are checked as they come, the
 * -03 form's (where rid and tid may be "" when the broker has none) and the
 * -02 form's. The genuine one then ends the session.
 */
static void
test_broker_error(void **state)
{
	static const char *const may_be_empty[] = { ".OTrPBrokerError.rid",
	    ".OTrPBrokerError.tid", NULL };
	struct mock_http_resp r = { 0 };
	struct answer a = { .name = "OTrPBrokerError", .may_be_empty = may_be_empty };
	struct answer old = { .name = "status" };
	json_t *tbs, *req;
	char *msg;

	(void)state;
	assert_int_equal(e2e_post(&env, "", 0, &r), 0);
	assert_int_equal(r.status, 200);
	req = json_loadb(r.body, r.len, 0, NULL);
	tbs = b64_json(json_string_value(json_object_get(json_object_get(req,
	    "GetDeviceStateRequest"), "payload")));
	json_decref(req);
	mock_http_resp_clear(&r);
	req = json_object_get(tbs, "GetDeviceStateTBSRequest");
	a.doc = json_pack("{s:{s:s,s:O,s:O,s:s}}", "OTrPBrokerError", "ver", "1.0", "rid",
	    json_object_get(req, "rid"), "tid", json_object_get(req, "tid"), "errcode",
	    "ERR_AGENT_TEE_BUSY");
	old.doc = json_pack("{s:{s:s,s:s,s:s}}", "status", "result", "fail", "error-code",
	    "ERR_AGENT_TEE_FAIL", "error-message", "the TEE did not answer");
	json_decref(tbs);
	walk(&a, OUTER, a.doc, "");
	walk(&old, OUTER, old.doc, "");
	print_message("broker errors: %d malformed variants, %d not refused\n", a.tried + old.tried,
	    a.failed + old.failed);
	assert_int_equal(a.failed + old.failed, 0);
	msg = json_dumps(a.doc, JSON_COMPACT);
	assert_int_equal(e2e_post(&env, msg, strlen(msg), &r), 0);
	/* the genuine one is taken; the session it names was never written, nor is it now */
	assert_int_equal(r.status, 204);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions"
	    " WHERE result = 'broker:ERR_AGENT_TEE_BUSY'"), 0);
	mock_http_resp_clear(&r);
	free(msg);
	answer_close(&a);
	answer_close(&old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_install),
		cmocka_unit_test(test_update_ta),
		cmocka_unit_test(test_update_sd),
		cmocka_unit_test(test_delete_ta_and_sd),
		cmocka_unit_test(test_broker_error),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
