// SPDX-License-Identifier: MIT
/*
 * Unit tests for the OTrP codec: response decoding (every structural check),
 * DSI and content parsing, request encoding, and TA bundles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tam/otrp.h"

static struct jose_key *key;

static int
setup(void **state)
{
	(void)state;
	return jose_key_generate(JOSE_KTY_RSA, &key, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	jose_key_free(key);
	return 0;
}

/* {"<outer>": JWS(tbs)} or, for GetDeviceState, the array form. */
static char *
signed_msg(const char *outer, const char *tbs_json, int gds_array)
{
	json_t *jws = NULL, *doc;
	char *out;

	assert_int_equal(jose_jws_sign(key, "RS256", NULL, NULL, (const uint8_t *)tbs_json,
	    strlen(tbs_json), &jws, NULL), 0);
	if (gds_array)
		doc = json_pack("{s:[{s:o}]}", outer, "GetDeviceTEEStateResponse", jws);
	else
		doc = json_pack("{s:o}", outer, jws);
	assert_non_null(doc);
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return out;
}

static int
decode(const char *s, struct otrp_response **r, struct tam_err *err)
{
	return otrp_response_decode((const uint8_t *)s, strlen(s), r, err);
}

static void
test_decode_gds_pass(void **state)
{
	struct otrp_response *r = NULL;
	struct tam_err err = { 0 };
	char *m;

	(void)state;
	m = signed_msg("GetDeviceStateResponse",
	    "{\"GetDeviceTEEStateTBSResponse\":{\"ver\":\"1.0\",\"status\":\"pass\",\"rid\":\"r1\","
	    "\"tid\":\"t1\",\"signerreq\":\"false\",\"edsi\":{\"protected\":\"x\"}}}", 1);
	assert_int_equal(decode(m, &r, &err), 0);
	assert_int_equal(r->msg, OTRP_MSG_GET_DEVICE_STATE);
	assert_string_equal(r->rid, "r1");
	assert_string_equal(r->tid, "t1");
	assert_true(r->pass);
	assert_non_null(r->edsi);
	assert_int_equal(jose_jws_verify(r->jws, key, NULL), 0);
	otrp_response_free(r);
	free(m);
}

static void
test_decode_op_fail_with_reason(void **state)
{
	struct otrp_response *r = NULL;
	char *m;

	(void)state;
	m = signed_msg("InstallTAResponse",
	    "{\"InstallTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"fail\",\"rid\":\"r\",\"tid\":\"t\","
	    "\"reason\":{\"error-code\":\"ERR_TA_INVALID\"}}}", 0);
	assert_int_equal(decode(m, &r, NULL), 0);
	assert_int_equal(r->msg, OTRP_MSG_INSTALL_TA);
	assert_false(r->pass);
	assert_null(r->content);
	assert_string_equal(r->reason, "ERR_TA_INVALID");
	otrp_response_free(r);
	free(m);
	/* a reason that is no error code is refused, not dropped: a malformed member is an error */
	m = signed_msg("InstallTAResponse",
	    "{\"InstallTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"fail\",\"rid\":\"r\",\"tid\":\"t\","
	    "\"reason\":{\"error-code\":\"ERR_X\\nlevel=error\"}}}", 0);
	assert_int_equal(decode(m, &r, NULL), TAM_EMALFORMED);
	assert_null(r);
	free(m);
}

/* A member present with an empty, null or mistyped value is refused, each with its reason. */
static void
test_decode_malformed_members(void **state)
{
	static const struct {
		const char *members;   /* the TBS members after ver */
		const char *reason;    /* in the error message */
	} bad[] = {
		{ "\"status\":\"pass\",\"rid\":\"\",\"tid\":\"t\",\"content\":{}", "rid is empty" },
		{ "\"status\":\"pass\",\"rid\":\"r\",\"tid\":\"\",\"content\":{}", "tid is empty" },
		{ "\"status\":\"\",\"rid\":\"r\",\"tid\":\"t\",\"content\":{}", "status is empty" },
		{ "\"status\":\"pass\",\"rid\":null,\"tid\":\"t\",\"content\":{}", "rid must be a string" },
		{ "\"status\":\"pass\",\"rid\":\"r\",\"tid\":\"t\",\"content\":null", "content must be" },
		{ "\"status\":\"fail\",\"rid\":\"r\",\"tid\":\"t\",\"reason\":5", "reason must be" },
		{ "\"status\":\"fail\",\"rid\":\"r\",\"tid\":\"t\",\"reason\":{}", "error-code" },
		{ "\"status\":\"fail\",\"rid\":\"r\",\"tid\":\"t\",\"reason\":\"\"", "reason is empty" },
	};
	struct otrp_response *r = NULL;
	struct tam_err err;
	char tbs[512], *m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(tbs, sizeof(tbs), "{\"DeleteTATBSResponse\":{\"ver\":\"1.0\",%s}}",
		    bad[i].members);
		m = signed_msg("DeleteTAResponse", tbs, 0);
		memset(&err, 0, sizeof(err));
		if (decode(m, &r, &err) != TAM_EMALFORMED || strstr(err.msg, bad[i].reason) == NULL)
			fail_msg("%s: \"%s\", expected \"%s\"", tbs, err.msg, bad[i].reason);
		assert_null(r);
		free(m);
	}
}

/* A refused GetDeviceState keeps the TEE's algorithms as plain tokens, bounded. */
static void
test_decode_gds_fail_sigalgs(void **state)
{
	struct otrp_response *r = NULL;
	char *m;

	(void)state;
	m = signed_msg("GetDeviceStateResponse",
	    "{\"GetDeviceTEEStateTBSResponse\":{\"ver\":\"1.0\",\"status\":\"fail\",\"rid\":\"r\","
	    "\"tid\":\"t\",\"reason\":{\"error-code\":\"ERR_UNSUPPORTED_CRYPTO_ALG\"},"
	    "\"supportedsigalgs\":[\"ES256\",7,\"bad alg\",\"\",\"PS256\"]}}", 1);
	assert_int_equal(decode(m, &r, NULL), 0);
	assert_false(r->pass);
	assert_string_equal(r->reason, "ERR_UNSUPPORTED_CRYPTO_ALG");
	assert_string_equal(r->sigalgs, "ES256,PS256");
	otrp_response_free(r);
	free(m);
	/* more than fits: whole names only, the rest left out */
	m = signed_msg("GetDeviceStateResponse",
	    "{\"GetDeviceTEEStateTBSResponse\":{\"ver\":\"1.0\",\"status\":\"fail\",\"rid\":\"r\","
	    "\"tid\":\"t\",\"supportedsigalgs\":[\"RS256\",\"RS384\",\"RS512\",\"ES256\",\"ES384\","
	    "\"ES512\",\"PS256\",\"PS384\",\"PS512\",\"EdDSA\",\"ES256K\",\"RS256\"]}}", 1);
	assert_int_equal(decode(m, &r, NULL), 0);
	assert_true(strlen(r->sigalgs) < sizeof(r->sigalgs));
	assert_string_equal(r->sigalgs, "RS256,RS384,RS512,ES256,ES384,ES512,PS256,PS384,PS512,EdDSA");
	otrp_response_free(r);
	free(m);
	/* not an array: nothing */
	m = signed_msg("GetDeviceStateResponse",
	    "{\"GetDeviceTEEStateTBSResponse\":{\"ver\":\"1.0\",\"status\":\"fail\",\"rid\":\"r\","
	    "\"tid\":\"t\",\"supportedsigalgs\":\"RS256\"}}", 1);
	assert_int_equal(decode(m, &r, NULL), 0);
	assert_string_equal(r->sigalgs, "");
	otrp_response_free(r);
	free(m);
}

static void
expect_reject(const char *outer, const char *tbs, int arr, int code, const char *needle)
{
	struct otrp_response *r = NULL;
	struct tam_err err = { 0 };
	char *m = signed_msg(outer, tbs, arr);

	assert_int_equal(decode(m, &r, &err), code);
	assert_null(r);
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
	free(m);
}

static void
test_decode_structure_errors(void **state)
{
	(void)state;
	expect_reject("InstallTAResponse",
	    "{\"DeleteTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"pass\",\"rid\":\"r\",\"tid\":\"t\",\"content\":{}}}",
	    0, TAM_EMALFORMED, "does not match");
	expect_reject("InstallTAResponse",
	    "{\"InstallTATBSResponse\":{\"ver\":\"2.0\",\"status\":\"pass\",\"rid\":\"r\",\"tid\":\"t\",\"content\":{}}}",
	    0, TAM_EVERSION, "version");
	expect_reject("InstallTAResponse",
	    "{\"InstallTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"pass\",\"tid\":\"t\",\"content\":{}}}",
	    0, TAM_EMALFORMED, "rid");
	expect_reject("InstallTAResponse",
	    "{\"InstallTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"ok\",\"rid\":\"r\",\"tid\":\"t\",\"content\":{}}}",
	    0, TAM_EMALFORMED, "status");
	expect_reject("InstallTAResponse",
	    "{\"InstallTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"pass\",\"rid\":\"r\",\"tid\":\"t\"}}",
	    0, TAM_EMALFORMED, "content");
	expect_reject("InstallTAResponse",
	    "{\"InstallTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"pass\",\"rid\":7,\"tid\":\"t\",\"content\":{}}}",
	    0, TAM_EMALFORMED, "rid");
	expect_reject("GetDeviceStateResponse",
	    "{\"GetDeviceTEEStateTBSResponse\":{\"ver\":\"1.0\",\"status\":\"pass\",\"rid\":\"r\",\"tid\":\"t\"}}",
	    1, TAM_EMALFORMED, "edsi");
	expect_reject("InstallTAResponse", "[1,2]", 0, TAM_EMALFORMED, "one named object");
	expect_reject("InstallTAResponse", "not json", 0, TAM_EMALFORMED, "not JSON");
	expect_reject("FooResponse", "{}", 0, TAM_EMALFORMED, "unknown message");
}

static void
test_decode_envelope_errors(void **state)
{
	struct otrp_response *r = NULL;
	struct tam_err err = { 0 };
	static const char *const bad[] = {
		"", "{", "[]", "{}", "{\"a\":1,\"b\":2}", "{\"InstallTAResponse\":[]}",
		"{\"InstallTAResponse\":{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"\"}}",
		"{\"GetDeviceStateResponse\":{}}", "{\"GetDeviceStateResponse\":[]}",
		"{\"GetDeviceStateResponse\":[{\"Other\":{}}]}",
		"{\"InstallTAResponse\":{},\"InstallTAResponse\":{}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = decode(bad[i], &r, &err);
		if (rc == 0)
			fail_msg("accepted %s", bad[i]);
		assert_null(r);
	}
	assert_int_equal(decode("{\"GetDeviceStateResponse\":[{},{}]}", &r, &err), TAM_EUNSUPPORTED);
}

static void
test_decode_alg_none(void **state)
{
	struct otrp_response *r = NULL;
	struct tam_err err = { 0 };
	char *pl = NULL;
	const char *tbs = "{\"InstallTATBSResponse\":{\"ver\":\"1.0\",\"status\":\"pass\",\"rid\":\"r\",\"tid\":\"t\",\"content\":{}}}";
	char buf[1024];

	(void)state;
	assert_int_equal(tam_b64url_encode((const uint8_t *)tbs, strlen(tbs), &pl), 0);
	snprintf(buf, sizeof(buf),
	    "{\"InstallTAResponse\":{\"protected\":\"eyJhbGciOiJub25lIn0\",\"payload\":\"%s\",\"signature\":\"\"}}", pl);
	assert_int_not_equal(decode(buf, &r, &err), 0);
	assert_null(r);
	/* HS256 */
	snprintf(buf, sizeof(buf),
	    "{\"InstallTAResponse\":{\"protected\":\"eyJhbGciOiJIUzI1NiJ9\",\"payload\":\"%s\",\"signature\":\"AAAA\"}}", pl);
	assert_int_equal(decode(buf, &r, &err), TAM_EALG);
	free(pl);
}

static void
test_broker_errors(void **state)
{
	struct otrp_response *r = NULL;

	(void)state;
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"ver\":\"1.0\",\"rid\":\"r\",\"tid\":\"t\","
	    "\"errcode\":\"ERR_AGENT_TEE_BUSY\"}}", &r, NULL), 0);
	assert_int_equal(r->msg, OTRP_MSG_BROKER_ERROR);
	assert_string_equal(r->broker_error, "ERR_AGENT_TEE_BUSY");
	assert_string_equal(r->rid, "r");
	otrp_response_free(r);
	assert_int_equal(decode("{\"status\":{\"result\":\"fail\",\"error-code\":\"ERR_AGENT_TEE_FAIL\","
	    "\"error-message\":\"x\"}}", &r, NULL), 0);
	assert_string_equal(r->broker_error, "ERR_AGENT_TEE_FAIL");
	otrp_response_free(r);
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"rid\":\"r\"}}", &r, NULL), TAM_EMALFORMED);
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"rid\":\"r\",\"errcode\":\"E\\nlevel=error\"}}",
	    &r, NULL), TAM_EMALFORMED);
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"rid\":\"r\\u0007\",\"errcode\":\"E\"}}",
	    &r, NULL), TAM_EMALFORMED);
	/* the -03 form: a broker without a rid sends "" for it */
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"ver\":\"1.0\",\"rid\":\"\",\"tid\":\"\","
	    "\"errcode\":\"ERR_AGENT_TEE_UNKNOWN\"}}", &r, NULL), 0);
	assert_string_equal(r->rid, "");
	otrp_response_free(r);
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"rid\":5,\"errcode\":\"E\"}}",
	    &r, NULL), TAM_EMALFORMED);
	/* its version, and the -02 form's result and message, are checked too */
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"ver\":\"2.0\",\"errcode\":\"E\"}}",
	    &r, NULL), TAM_EVERSION);
	assert_int_equal(decode("{\"OTrPBrokerError\":{\"ver\":1,\"errcode\":\"E\"}}",
	    &r, NULL), TAM_EMALFORMED);
	assert_int_equal(decode("{\"status\":{\"result\":\"pass\",\"error-code\":\"E\"}}",
	    &r, NULL), TAM_EMALFORMED);
	assert_int_equal(decode("{\"status\":{\"error-code\":\"E\",\"error-message\":[]}}",
	    &r, NULL), TAM_EMALFORMED);
}

static int
dsi(const char *s, struct otrp_dsi *d, struct tam_err *err)
{
	return otrp_dsi_parse((const uint8_t *)s, strlen(s), d, err);
}

static void
test_dsi_parse(void **state)
{
	struct otrp_dsi d;
	struct tam_err err = { 0 };

	(void)state;
	assert_int_equal(dsi("{\"dsi\":{\"tee\":{\"name\":\"t1\",\"ver\":\"2\",\"cert\":\"AQID\","
	    "\"cacert\":[\"BAU=\",\"Bg\"],\"sdlist\":{\"cnt\":\"2\",\"sd\":[{\"name\":\"a.sd\",\"spid\":\"a\","
	    "\"talist\":[{\"taid\":\"x\",\"taname\":\"X\"}]},{\"name\":\"b.sd\",\"spid\":\"b\","
	    "\"ta_list\":[{\"taid\":\"y\"}]}]},\"teeaiklist\":[{\"spaik\":\"AQ==\",\"spaiktype\":\"RSA\","
	    "\"spid\":\"a\"}]},\"tfwdata\":{}}}", &d, &err), 0);
	assert_string_equal(d.state.tee_name, "t1");
	assert_string_equal(d.state.tee_ver, "2");
	assert_int_equal(d.cert_len, 3);
	assert_int_equal(d.n_cacerts, 2);
	assert_int_equal(d.cacert_lens[0], 2);
	assert_int_equal(d.cacerts[1][0], 6);
	assert_int_equal(d.state.n_sds, 2);
	assert_string_equal(d.state.sds[1].spid, "b");
	assert_int_equal(d.state.n_tas, 2);
	assert_string_equal(d.state.tas[0].taname, "X");
	assert_string_equal(d.state.tas[1].sdname, "b.sd");
	assert_int_equal(d.state.n_aiks, 1);
	assert_true(d.has_aiklist);
	assert_true(d.has_tfwdata);
	otrp_dsi_clear(&d);

	assert_int_equal(dsi("{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"cnt\":0}}}}", &d, &err), 0);
	assert_null(d.cert);
	assert_false(d.has_aiklist);
	otrp_dsi_clear(&d);
}

static void
test_dsi_rejects(void **state)
{
	static const char *const bad[] = {
		"", "{}", "{\"dsi\":{}}", "{\"dsi\":{\"tee\":{}}}",
		"{\"dsi\":{\"tee\":{\"name\":5}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"cert\":\"!!\"}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"cacert\":\"AQ\"}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[{\"name\":\"a\"},{\"name\":\"a\"}]}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[{\"name\":\"a\",\"talist\":[{\"taid\":\"x\"},{\"taid\":\"x\"}]}]}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[{\"name\":\"a\",\"talist\":[{}]}]}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"teeaiklist\":[{\"spid\":\"a\"}]}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"teeaiklist\":[{\"spid\":\"a\",\"spaik\":\"AQ\"},{\"spid\":\"a\",\"spaik\":\"AQ\"}]}}}",
		/* what the store could not keep, or a log or terminal would misread */
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[{\"spid\":\"a\"}]}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[{\"name\":\"\"}]}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"teeaiklist\":[{\"spid\":\"\",\"spaik\":\"AQ\"}]}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\\nlevel=error\"}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"\\u001b[31mred\"}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"cacert\":[\"AQ\",\"AQ\",\"AQ\",\"AQ\",\"AQ\",\"AQ\",\"AQ\",\"AQ\"]}}}",
		/* present but empty, null or of another type: not the same as absent */
		"{\"dsi\":{\"tee\":{\"name\":\"\"}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"ver\":\"\"}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"ver\":null}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"cert\":null}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"cacert\":null}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":null}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"cnt\":\"\"}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"cnt\":-1}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"cnt\":\"1x\"}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[{\"name\":\"a\",\"spid\":\"\"}]}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[{\"name\":\"a\",\"talist\":[{\"taid\":\"x\",\"taname\":null}]}]}}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"teeaiklist\":[{\"spid\":\"a\",\"spaik\":\"AQ\",\"spaiktype\":\"DSA\"}]}}}",
		"{\"dsi\":{\"tee\":{\"name\":\"t\",\"teeaiklist\":[{\"spid\":\"a\",\"spaik\":\"AQ\",\"spaiktype\":5}]}}}",
	};
	struct otrp_dsi d;
	struct tam_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (dsi(bad[i], &d, &err) == 0)
			fail_msg("accepted DSI %s", bad[i]);
		assert_null(d.state.sds);
		assert_true(err.msg[0] != '\0');
	}
}

static void
test_dsi_bounds(void **state)
{
	struct tam_buf b = { 0 };
	struct otrp_dsi d;
	struct tam_err err = { 0 };
	const char *head = "{\"dsi\":{\"tee\":{\"name\":\"t\",\"sdlist\":{\"sd\":[";
	char item[64];

	(void)state;
	assert_int_equal(tam_buf_append(&b, head, strlen(head)), 0);
	for (int i = 0; i <= TAM_MAX_SDS; i++) {
		int n = snprintf(item, sizeof(item), "%s{\"name\":\"s%d\"}", i ? "," : "", i);
		assert_int_equal(tam_buf_append(&b, item, (size_t)n), 0);
	}
	assert_int_equal(tam_buf_append(&b, "]}}}}", 5), 0);
	assert_int_equal(otrp_dsi_parse(b.data, b.len, &d, &err), TAM_ETOO_LARGE);
	tam_buf_free(&b);
}

static void
test_content_parse(void **state)
{
	struct otrp_content c;
	struct tam_err err = { 0 };
	uint8_t did[32];
	char *b64u = NULL, json[512];

	(void)state;
	for (int i = 0; i < 32; i++)
		did[i] = (uint8_t)i;
	assert_int_equal(tam_b64url_encode(did, 32, &b64u), 0);
	snprintf(json, sizeof(json), "{\"did\":\"%s\",\"sdname\":\"a.sd\",\"teespaik\":\"AQID\","
	    "\"dsi\":\"{\\\"dsi\\\":{}}\"}", b64u);
	assert_int_equal(otrp_content_parse((uint8_t *)json, strlen(json), &c, &err), 0);
	assert_true(c.has_did);
	assert_memory_equal(c.did, did, 32);
	assert_string_equal(c.sdname, "a.sd");
	assert_int_equal(c.teespaik_len, 3);
	assert_int_equal(c.dsi_len, 10);
	assert_memory_equal(c.dsi, "{\"dsi\":{}}", 10);
	otrp_content_clear(&c);
	free(b64u);

	/* object form: the document is re-serialized compactly in received order */
	snprintf(json, sizeof(json), "{\"did\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
	    "\"dsi\": {\"tee\": {\"name\": \"z\", \"a\": 1}},\"reason\":{\"error-code\":\"ERR_X\"}}");
	assert_int_equal(otrp_content_parse((uint8_t *)json, strlen(json), &c, &err), 0);
	assert_memory_equal(c.did, did, 32);
	assert_int_equal(c.dsi_len, strlen("{\"dsi\":{\"tee\":{\"name\":\"z\",\"a\":1}}}"));
	assert_memory_equal(c.dsi, "{\"dsi\":{\"tee\":{\"name\":\"z\",\"a\":1}}}", c.dsi_len);
	assert_string_equal(c.reason, "ERR_X");
	otrp_content_clear(&c);

	assert_int_equal(otrp_content_parse((uint8_t *)"{\"did\":\"abc\"}", 13, &c, &err), TAM_EMALFORMED);
	assert_int_equal(otrp_content_parse((uint8_t *)"{\"dsi\":5}", 9, &c, &err), TAM_EMALFORMED);
	assert_int_equal(otrp_content_parse((uint8_t *)"[]", 2, &c, &err), TAM_EMALFORMED);
	/* present means a value: null, "" or another type is refused, not taken as absent */
	{
		static const char *const bad[] = {
			"{\"dsi\":null}", "{\"teespaik\":null}", "{\"sdname\":\"\"}",
			"{\"sdname\":null}", "{\"reason\":[]}", "{\"reason\":{\"error-code\":7}}",
			"{\"teespaiktype\":\"\"}", "{\"teespaiktype\":\"EC\"}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&err, 0, sizeof(err));
			if (otrp_content_parse((const uint8_t *)bad[i], strlen(bad[i]), &c, &err) !=
			    TAM_EMALFORMED || err.msg[0] == '\0')
				fail_msg("accepted content %s", bad[i]);
		}
	}
	/* the key type is a hint that may be given */
	assert_int_equal(otrp_content_parse((const uint8_t *)"{\"teespaiktype\":\"ECC\"}", 22, &c,
	    &err), 0);
	otrp_content_clear(&c);
}

static void
test_did_decode(void **state)
{
	uint8_t did[32];

	(void)state;
	assert_int_equal(otrp_did_decode("000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f", did), 0);
	assert_int_equal(did[31], 0x1f);
	assert_int_equal(otrp_did_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", did), 0);
	assert_int_equal(did[1], 1);
	assert_int_equal(otrp_did_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", did), 0);
	assert_int_not_equal(otrp_did_decode("AAEC", did), 0);
	assert_int_not_equal(otrp_did_decode("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", did), 0);
}

static void
test_encode_requests(void **state)
{
	struct otrp_req_common c = { .rid = "R", .tid = "T", .tee = "tee1" };
	const char *algs[] = { "RS256" };
	json_t *tbs, *body, *content;
	char *s = NULL;
	size_t len;

	(void)state;
	memset(c.dsihash, 0xab, sizeof(c.dsihash));
	tbs = otrp_tbs_get_device_state("R", "T", algs, 1, NULL);
	s = json_dumps(tbs, JSON_COMPACT);
	assert_string_equal(s, "{\"GetDeviceStateTBSRequest\":{\"ver\":\"1.0\",\"rid\":\"R\",\"tid\":\"T\","
	    "\"ocspdat\":[],\"supportedsigalgs\":[\"RS256\"]}}");
	free(s);
	json_decref(tbs);
	/* stapled OCSP responses go in as given */
	tbs = otrp_tbs_get_device_state("R", "T", algs, 1, json_pack("[s,s]", "AAA=", "BBB="));
	s = json_dumps(tbs, JSON_COMPACT);
	assert_non_null(strstr(s, "\"ocspdat\":[\"AAA=\",\"BBB=\"]"));
	free(s);
	json_decref(tbs);

	content = json_pack("{s:s}", "protected", "x");
	tbs = otrp_tbs_request(OTRP_MSG_DELETE_TA, &c, content, NULL);
	assert_non_null(tbs);
	body = json_object_get(tbs, "DeleteTATBSRequest");
	assert_non_null(body);
	assert_string_equal(json_string_value(json_object_get(body, "tee")), "tee1");
	assert_true(json_is_true(json_object_get(body, "nextdsi")));
	assert_string_equal(json_string_value(json_object_get(body, "dsihash")),
	    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=");
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "content"), "protected")), "x");
	assert_null(json_object_get(body, "encrypted_ta"));
	assert_int_equal(otrp_wrap_request(OTRP_MSG_DELETE_TA, tbs, &s, &len), 0);
	assert_int_equal(strncmp(s, "{\"DeleteTARequest\":", 19), 0);
	free(s);
	json_decref(tbs);
}

static void
test_encode_contents(void **state)
{
	uint8_t did[32] = { 0 }, iv[16], iv2[16], ct[3] = { 1, 2, 3 };
	const uint8_t cert[2] = { 0x30, 0x00 };
	json_t *j;
	char *s;

	(void)state;
	j = otrp_content_create_sd("sp", "sp.sd", cert, 2, "tam", did);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"spid\":\"sp\",\"sdname\":\"sp.sd\",\"spcert\":\"MAA=\",\"tamid\":\"tam\","
	    "\"did\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
	free(s);
	json_decref(j);
	memset(iv, 0x4f, sizeof(iv));
	j = otrp_encrypted_ta(json_pack("{s:s}", "k", "v"), iv, ct, 3, false);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"ciphertadata\":\"AQID\",\"key\":{\"k\":\"v\"},"
	    "\"iv\":\"4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f\",\"alg\":\"AESCBC\"}");
	free(s);
	json_decref(j);
	/* UpdateTA names the new binary ciphernewtadata (spec 5.6) */
	j = otrp_encrypted_ta(json_pack("{s:s}", "k", "v"), iv, ct, 3, true);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"ciphernewtadata\":\"AQID\",\"key\":{\"k\":\"v\"},"
	    "\"iv\":\"4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f\",\"alg\":\"AESCBC\"}");
	free(s);
	json_decref(j);
	/*
	 * personalization data in its own object, with its own key and iv (the
	 * spec's Security Considerations layout), the same for both messages
	 */
	memset(iv2, 0x5a, sizeof(iv2));
	j = otrp_encrypted_ta_data(json_pack("{s:s}", "k", "w"), iv2, ct, 2);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"cipherdata\":\"AQI=\",\"key\":{\"k\":\"w\"},"
	    "\"iv\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"alg\":\"AESCBC\"}");
	free(s);
	json_decref(j);
	assert_null(otrp_encrypted_ta_data(NULL, iv2, ct, 2));
	assert_string_equal(otrp_request_name(otrp_msg_for_op(TAM_OP_UPDATE_TA)), "UpdateTARequest");
	assert_string_equal(otrp_response_name(OTRP_MSG_UPDATE_TA), "UpdateTAResponse");
}

/*
 * An InstallTA's TBS begins with its TA, so the TA's base64 can be put in
 * at otrp_tbs_ta_head; the result is the TBS that holds it, and a message
 * whose payload is spliced in is the message that holds it.
 */
/* A ciphertext in memory, read by offset; fail_at: the read covering it fails. */
struct ct_src {
	const uint8_t *ct;
	size_t len;
	size_t fail_at;
	int reads;
};

static int
ct_read(void *cls, uint64_t off, uint8_t *buf, size_t n, struct tam_err *err)
{
	struct ct_src *s = cls;

	s->reads++;
	if (off + n > s->len || (s->fail_at >= off && s->fail_at < off + n))
		return tam_err_set(err, TAM_ENOTFOUND, "gone");
	memcpy(buf, s->ct + off, n);
	return TAM_OK;
}

/*
 * The payload made piece by piece is the base64url of head || base64(ct)
 * made at once: its whole groups in the pieces, the rest left over, for
 * ciphertexts of one and of many pieces and every length modulo 3; a
 * source that fails mid-way fails the piece.
 */
static void
test_ta_payload_pieces(void **state)
{
	static const size_t lens[] = { 1, 2, 3, 16, 49151, 49152, 49153, 200000, 200001, 200002 };
	char head[96], *b64 = NULL, *want = NULL;
	uint8_t *ct = malloc(200002), *mid, rest[2];
	struct tam_err e = { 0 };

	(void)state;
	assert_non_null(ct);
	for (size_t i = 0; i < 200002; i++)
		ct[i] = (uint8_t)(i * 131 + (i >> 9));
	for (int u = 0; u < 2; u++) {
		enum otrp_msg m = u ? OTRP_MSG_UPDATE_TA : OTRP_MSG_INSTALL_TA;
		assert_int_equal(otrp_tbs_ta_head(m, head, sizeof(head)), 0);
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			struct ct_src src = { ct, lens[k], SIZE_MAX, 0 };
			struct otrp_ta_payload *p = NULL;
			size_t hlen = strlen(head), mlen, whole, got = 0, n = 0, nrest;
			const char *piece;
			int rc;

			assert_int_equal(tam_b64_encode(ct, lens[k], &b64), 0);
			mlen = hlen + strlen(b64);
			assert_non_null(mid = malloc(mlen));
			memcpy(mid, head, hlen);
			memcpy(mid + hlen, b64, strlen(b64));
			whole = mlen - mlen % 3;
			assert_int_equal(tam_b64url_encode(mid, whole, &want), 0);
			assert_int_equal(otrp_ta_payload_new(m, lens[k], ct_read, &src, &p), 0);
			assert_int_equal(otrp_ta_payload_size(p), strlen(want));
			while (otrp_ta_payload_next(p, &piece, &n, &e) == TAM_OK && n > 0) {
				assert_true(got + n <= strlen(want));
				assert_memory_equal(piece, want + got, n);
				got += n;
			}
			assert_int_equal(got, strlen(want));
			nrest = otrp_ta_payload_rest(p, rest);
			assert_int_equal(nrest, mlen - whole);
			assert_memory_equal(rest, mid + whole, nrest);
			assert_int_equal(src.reads, (int)((lens[k] + 49151) / 49152));
			otrp_ta_payload_free(p);
			/* the source fails at its last byte */
			src = (struct ct_src){ ct, lens[k], lens[k] - 1, 0 };
			assert_int_equal(otrp_ta_payload_new(m, lens[k], ct_read, &src, &p), 0);
			while ((rc = otrp_ta_payload_next(p, &piece, &n, &e)) == TAM_OK && n > 0)
				;
			assert_int_equal(rc, TAM_ENOTFOUND);
			otrp_ta_payload_free(p);
			free(want);
			free(mid);
			free(b64);
		}
	}
	assert_int_not_equal(otrp_ta_payload_new(OTRP_MSG_DELETE_TA, 16, ct_read, NULL, &(struct
	    otrp_ta_payload *){ NULL }), 0);
	free(ct);
}

static void
test_ta_first_tbs_and_splice(void **state)
{
	struct otrp_req_common c = { .rid = "r", .tid = "t", .tee = "tee1" };
	uint8_t iv[16] = { 0 }, ct[4] = { 1, 2, 3, 4 };
	char head[96], *empty = NULL, *full = NULL, *spliced = NULL, *direct = NULL, *pd = NULL;
	size_t elen = 0, flen = 0, slen = 0, dlen = 0, hlen, pdlen = 0;
	json_t *tbs, *jws, *jws2;

	(void)state;
	assert_int_equal(otrp_tbs_ta_head(OTRP_MSG_INSTALL_TA, head, sizeof(head)), 0);
	assert_string_equal(head, "{\"InstallTATBSRequest\":{\"encrypted_ta\":{\"ciphertadata\":\"");
	assert_int_equal(otrp_tbs_ta_head(OTRP_MSG_UPDATE_TA, head, sizeof(head)), 0);
	assert_string_equal(head, "{\"UpdateTATBSRequest\":{\"encrypted_ta\":{\"ciphernewtadata\":\"");
	assert_int_not_equal(otrp_tbs_ta_head(OTRP_MSG_DELETE_TA, head, sizeof(head)), 0);
	assert_int_not_equal(otrp_tbs_ta_head(OTRP_MSG_INSTALL_TA, head, 10), 0);
	assert_int_equal(otrp_tbs_ta_head(OTRP_MSG_INSTALL_TA, head, sizeof(head)), 0);
	hlen = strlen(head);

	tbs = otrp_tbs_ta_request(OTRP_MSG_INSTALL_TA, &c, json_pack("{s:s}", "c", "x"),
	    otrp_encrypted_ta(json_pack("{s:s}", "k", "v"), iv, NULL, 0, false), NULL);
	assert_non_null(tbs);
	assert_int_equal(otrp_dumps(tbs, &empty, &elen), 0);
	json_decref(tbs);
	assert_memory_equal(empty, head, hlen);
	assert_int_equal(empty[hlen], '"');
	tbs = otrp_tbs_ta_request(OTRP_MSG_INSTALL_TA, &c, json_pack("{s:s}", "c", "x"),
	    otrp_encrypted_ta(json_pack("{s:s}", "k", "v"), iv, ct, 4, false), NULL);
	assert_int_equal(otrp_dumps(tbs, &full, &flen), 0);
	json_decref(tbs);
	/* "AQIDBA==" is ct's base64: full is empty with it put in at the head */
	assert_int_equal(flen, elen + 8);
	assert_memory_equal(full, head, hlen);
	assert_memory_equal(full + hlen, "AQIDBA==", 8);
	assert_string_equal(full + hlen + 8, empty + hlen);
	assert_non_null(strstr(full, "\"ver\":\"1.0\",\"rid\":\"r\""));
	/* personalization data follows the TA: the head, and every device's TA bytes, stay */
	tbs = otrp_tbs_ta_request(OTRP_MSG_UPDATE_TA, &c, json_pack("{s:s}", "c", "x"),
	    otrp_encrypted_ta(json_pack("{s:s}", "k", "v"), iv, ct, 4, true),
	    otrp_encrypted_ta_data(json_pack("{s:s}", "k", "w"), iv, ct, 2));
	assert_int_equal(otrp_dumps(tbs, &pd, &pdlen), 0);
	json_decref(tbs);
	assert_string_equal(pd, "{\"UpdateTATBSRequest\":{\"encrypted_ta\":{\"ciphernewtadata\":"
	    "\"AQIDBA==\",\"key\":{\"k\":\"v\"},\"iv\":\"00000000000000000000000000000000\","
	    "\"alg\":\"AESCBC\"},\"encrypted_ta_data\":{\"cipherdata\":\"AQI=\","
	    "\"key\":{\"k\":\"w\"},\"iv\":\"00000000000000000000000000000000\",\"alg\":\"AESCBC\"},"
	    "\"ver\":\"1.0\",\"rid\":\"r\",\"tid\":\"t\",\"tee\":\"tee1\",\"nextdsi\":true,"
	    "\"dsihash\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"content\":{\"c\":\"x\"}}}");
	free(pd);
	/* only InstallTA and UpdateTA have a TA */
	assert_null(otrp_tbs_ta_request(OTRP_MSG_DELETE_TA, &c, json_pack("{s:s}", "c", "x"),
	    otrp_encrypted_ta(json_pack("{s:s}", "k", "v"), iv, ct, 4, false),
	    otrp_encrypted_ta_data(json_pack("{s:s}", "k", "w"), iv, ct, 2)));
	assert_null(otrp_tbs_ta_request(OTRP_MSG_INSTALL_TA, &c, json_pack("{s:s}", "c", "x"), NULL,
	    NULL));

	/* the payload spliced in is the payload serialized */
	jws = json_pack("{s:s,s:s,s:s,s:{s:[s]}}", "protected", "eyJ", "payload", "", "signature",
	    "c2ln", "header", "x5c", "MIIB");
	jws2 = json_pack("{s:s,s:s,s:s,s:{s:[s]}}", "protected", "eyJ", "payload", "aGVhZHRhaWw",
	    "signature", "c2ln", "header", "x5c", "MIIB");
	assert_int_equal(otrp_wrap_request_payload(OTRP_MSG_INSTALL_TA, jws, "aGVhZ", 5,
	    "HRhaWw", &spliced, &slen), 0);
	assert_int_equal(otrp_wrap_request(OTRP_MSG_INSTALL_TA, jws2, &direct, &dlen), 0);
	assert_int_equal(slen, dlen);
	assert_string_equal(spliced, direct);
	free(spliced);
	json_object_set_new(jws, "payload", json_string("x"));
	assert_int_not_equal(otrp_wrap_request_payload(OTRP_MSG_INSTALL_TA, jws, "a", 1, "b",
	    &spliced, &slen), 0);
	assert_null(spliced);
	json_decref(jws);
	json_decref(jws2);
	free(direct);
	free(empty);
	free(full);
}

static void
test_bundle(void **state)
{
	const char ta[] = "trusted application binary";
	uint8_t k[32], iv[16], *ct = NULL, *pt = NULL, *bin = NULL;
	size_t ct_len = 0, pt_len = 0, bin_len = 0;
	struct jose_key *other = NULL;
	struct tam_err err = { 0 };
	json_t *jws = NULL;
	char *bundle;

	(void)state;
	assert_int_equal(jose_jws_sign(key, "RS256", NULL, NULL, (const uint8_t *)ta, sizeof(ta), &jws, NULL), 0);
	bundle = json_dumps(jws, JSON_COMPACT);
	json_decref(jws);
	assert_int_equal(otrp_bundle_verify((uint8_t *)bundle, strlen(bundle), key, &bin, &bin_len, &err), 0);
	assert_int_equal(bin_len, sizeof(ta));
	assert_memory_equal(bin, ta, sizeof(ta));
	free(bin);
	assert_int_equal(jose_key_generate(JOSE_KTY_EC_P256, &other, NULL), 0);
	assert_int_not_equal(otrp_bundle_verify((uint8_t *)bundle, strlen(bundle), other, &bin, &bin_len, &err), 0);
	assert_null(bin);
	jose_key_free(other);
	assert_int_equal(otrp_bundle_verify((uint8_t *)"raw", 3, key, &bin, &bin_len, &err), TAM_EMALFORMED);

	assert_int_equal(otrp_bundle_seal((uint8_t *)bundle, strlen(bundle), k, iv, &ct, &ct_len, &err), 0);
	assert_int_equal(ct_len % 16, 0);
	assert_true(ct_len > strlen(bundle));
	assert_int_equal(otrp_bundle_open(ct, ct_len, k, iv, &pt, &pt_len, &err), 0);
	assert_int_equal(pt_len, strlen(bundle));
	assert_memory_equal(pt, bundle, pt_len);
	free(pt);
	k[0] ^= 1;
	assert_int_not_equal(otrp_bundle_open(ct, ct_len, k, iv, &pt, &pt_len, &err), 0);
	free(ct);
	free(bundle);
}

/* otrp_dumps writes what json_dumps writes, big base64 strings included. */
static void
test_dumps_splices(void **state)
{
	char *big = malloc(20001), *a, *b = NULL;
	size_t blen = 0;
	json_t *j;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < 20000; i++)
		big[i] = "ABCxyz019+/=-_"[i % 14];
	big[20000] = '\0';
	j = json_pack("{s:{s:s,s:s,s:[s,i]},s:s}", "m", "data", big, "k", "v\"q\\u",
	    "arr", big, 7, "other", big);
	assert_non_null(j);
	a = json_dumps(j, JSON_COMPACT);
	assert_int_equal(otrp_dumps(j, &b, &blen), 0);
	assert_int_equal(blen, strlen(a));
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* a string that looks like a marker falls back to jansson, never overruns */
	json_object_set_new(j, "tail", json_string("\x01" "1\x01"));
	a = json_dumps(j, JSON_COMPACT);
	assert_int_equal(otrp_dumps(j, &b, &blen), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* a long string that is not base64 goes through jansson, escaped */
	big[5000] = '"';
	json_object_set_new(j, "other", json_string(big));
	a = json_dumps(j, JSON_COMPACT);
	assert_int_equal(otrp_dumps(j, &b, &blen), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(j);
	free(big);
}

/* A stateless rid checks only for the key, the tid and the bytes it was made with. */
static void
test_stateless_rid(void **state)
{
	uint8_t mkey[OTRP_RID_KEY_LEN], other[OTRP_RID_KEY_LEN];
	char rid[TAM_RID_MAX], bad[TAM_RID_MAX], plain[TAM_RANDOM_ID_LEN];
	int64_t expires = 0;
	unsigned flags = 0;

	(void)state;
	memset(mkey, 0x11, sizeof(mkey));
	memset(other, 0x22, sizeof(other));
	assert_int_equal(otrp_rid_make(mkey, "tid-1", 1798761600, 0x8, rid), TAM_OK);
	assert_true(tam_valid_name(rid, TAM_RID_MAX));
	assert_true(otrp_rid_is_stateless(rid));
	assert_int_equal(otrp_rid_check(mkey, rid, "tid-1", &expires, &flags), TAM_OK);
	assert_int_equal(expires, 1798761600);
	assert_int_equal(flags, 0x8);
	/* another tid, another mkey, any changed character: never issued */
	assert_int_equal(otrp_rid_check(mkey, rid, "tid-2", &expires, &flags), TAM_ERID_UNKNOWN);
	assert_int_equal(otrp_rid_check(other, rid, "tid-1", &expires, &flags), TAM_ERID_UNKNOWN);
	for (size_t i = 2; rid[i] != '\0'; i++) {
		memcpy(bad, rid, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_equal(otrp_rid_check(mkey, bad, "tid-1", &expires, &flags),
		    TAM_ERID_UNKNOWN);
	}
	/* the same bytes spelled otherwise (the last character's unused bits) */
	{
		static const char b64[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		char *last;
		memcpy(bad, rid, sizeof(bad));
		last = &bad[strlen(bad) - 1];
		*last = b64[(strchr(b64, *last) - b64) ^ 1];
		assert_int_equal(otrp_rid_check(mkey, bad, "tid-1", &expires, &flags),
		    TAM_ERID_UNKNOWN);
	}
	/* cut short, too long, not base64url, not ours at all */
	memcpy(bad, rid, sizeof(bad));
	bad[strlen(bad) - 4] = '\0';
	assert_int_equal(otrp_rid_check(mkey, bad, "tid-1", &expires, &flags), TAM_ERID_UNKNOWN);
	snprintf(bad, sizeof(bad), "%sAAAA", rid);
	assert_int_equal(otrp_rid_check(mkey, bad, "tid-1", &expires, &flags), TAM_ERID_UNKNOWN);
	assert_int_equal(otrp_rid_check(mkey, "o.!!!!", "tid-1", &expires, &flags), TAM_ERID_UNKNOWN);
	assert_int_equal(otrp_rid_check(mkey, "o.", "tid-1", &expires, &flags), TAM_ERID_UNKNOWN);
	assert_int_equal(tam_random_id(plain), TAM_OK);
	assert_false(otrp_rid_is_stateless(plain));
	assert_int_equal(otrp_rid_check(mkey, plain, "tid-1", &expires, &flags), TAM_ERID_UNKNOWN);
	/* what cannot be made */
	assert_int_equal(otrp_rid_make(mkey, "bad tid", 1, 0, rid), TAM_EINVAL);
	assert_int_equal(otrp_rid_make(mkey, "tid-1", 0, 0, rid), TAM_EINVAL);
	assert_int_equal(otrp_rid_make(mkey, "tid-1", 1, 0x100, rid), TAM_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_gds_pass),
		cmocka_unit_test(test_decode_op_fail_with_reason),
		cmocka_unit_test(test_decode_malformed_members),
		cmocka_unit_test(test_decode_gds_fail_sigalgs),
		cmocka_unit_test(test_ta_first_tbs_and_splice),
		cmocka_unit_test(test_ta_payload_pieces),
		cmocka_unit_test(test_decode_structure_errors),
		cmocka_unit_test(test_decode_envelope_errors),
		cmocka_unit_test(test_decode_alg_none),
		cmocka_unit_test(test_broker_errors),
		cmocka_unit_test(test_dsi_parse),
		cmocka_unit_test(test_dsi_rejects),
		cmocka_unit_test(test_dsi_bounds),
		cmocka_unit_test(test_content_parse),
		cmocka_unit_test(test_did_decode),
		cmocka_unit_test(test_encode_requests),
		cmocka_unit_test(test_encode_contents),
		cmocka_unit_test(test_bundle),
		cmocka_unit_test(test_dumps_splices),
		cmocka_unit_test(test_stateless_rid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
