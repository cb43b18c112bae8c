// SPDX-License-Identifier: MIT
/*
 * The algorithm sets end to end, each on a fresh daemon and PKI: RSA TAM and
 * TEE keys with the spec's mandatory pair (RS256, RSA1_5 + A128CBC-HS256);
 * a TEE that answers with RSA-OAEP and A256GCM gets them back; EC P-256 keys
 * everywhere (ES256, ECDH-ES+A128KW, P-256 SP AIKs); and an EC TAM with an
 * RSA TEE, where each side encrypts to the other's key type. Every flow is
 * install, confirm, delete, confirm, with the TA's bytes checked.
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

static void
session(struct e2e_env *env, struct mock_tee *mt, const char *want)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };
	char got[512] = "";

	if (mock_tee_run_session(mt, env->url, &res, &err) != 0)
		fail_msg("session: %s (HTTP %ld: %s)", err.msg, res.final_status, res.error);
	for (int i = 0; i < res.n_requests; i++) {
		strncat(got, i ? " " : "", sizeof(got) - strlen(got) - 1);
		strncat(got, res.requests[i], sizeof(got) - strlen(got) - 1);
	}
	if (strcmp(got, want) != 0)
		fail_msg("requests \"%s\", wanted \"%s\"", got, want);
	for (int i = 0; i < res.n_outcomes; i++)
		assert_string_equal(res.outcomes[i], "pass");
}

static void
suite_is(struct mock_tee *mt, const char *alg, const char *enc)
{
	const char *a, *e;

	mock_tee_last_content_suite(mt, &a, &e);
	assert_string_equal(a, alg);
	assert_string_equal(e, enc);
}

static void
ta_arrived(struct e2e_env *env, struct mock_tee *mt)
{
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	char path[512];

	assert_int_equal(mock_tee_ta_path(mt, E2E_TAID, path, sizeof(path)), 0);
	assert_int_equal(tam_file_read(path, 1 << 24, &a, &al, NULL), 0);
	assert_int_equal(tam_file_read(env->ta_bin, 1 << 24, &b, &bl, NULL), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
}

/* install -> confirm -> delete -> confirm; the TAM's suite checked on install and delete. */
static void
flow(struct e2e_env *env, struct mock_tee *mt, const char *device, const char *alg,
    const char *enc)
{
	assert_int_equal(e2e_ctl(env, "assign %s " E2E_TAID, device), 0);
	session(env, mt, "GetDeviceStateRequest CreateSDRequest InstallTARequest");
	suite_is(mt, alg, enc);
	ta_arrived(env, mt);
	session(env, mt, "GetDeviceStateRequest");
	assert_int_equal(e2e_ctl(env, "unassign %s " E2E_TAID, device), 0);
	session(env, mt, "GetDeviceStateRequest DeleteTARequest DeleteSDRequest");
	suite_is(mt, alg, enc);
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	session(env, mt, "GetDeviceStateRequest");
}

static void
run(bool ec_pki, const char *leaf, bool rsa_leaf, const char *tee_alg,
    const char *tee_enc, const char *want_alg, const char *want_enc)
{
	struct e2e_env env;
	struct mock_tee *mt = NULL;

	assert_int_equal(e2e_setup_pki(&env, ec_pki), 0);
	if (rsa_leaf) {
		/* an RSA leaf under the same TEE CA (issue makes RSA unless told --ec) */
		assert_int_equal(e2e_pki_issue(&env, "tee", leaf), 0);
		assert_int_equal(e2e_ctl(&env, "device enroll --cert %s/tee/%s.crt --name %s >/dev/null",
		    env.pki, leaf, leaf), 0);
	}
	assert_int_equal(e2e_start(&env, NULL), 0);
	assert_int_equal(e2e_mock_suite(&env, env.pki, leaf, leaf, false, tee_alg, tee_enc, &mt), 0);
	flow(&env, mt, leaf, want_alg, want_enc);
	mock_tee_close(mt);
	assert_int_equal(e2e_stop(&env), 0);
	e2e_teardown(&env);
}

static void
test_rsa_mandatory_pair(void **state)
{
	(void)state;
	run(false, "tee1", false, NULL, NULL, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256);
}

static void
test_rsa_oaep_a256gcm_mirrored(void **state)
{
	(void)state;
	run(false, "tee1", false, JOSE_ALG_RSA_OAEP, JOSE_ENC_A256GCM, JOSE_ALG_RSA_OAEP,
	    JOSE_ENC_A256GCM);
}

static void
test_ec_everywhere(void **state)
{
	(void)state;
	run(true, "tee1", false, NULL, NULL, JOSE_ALG_ECDH_ES_A128KW, JOSE_ENC_A128CBC_HS256);
}

static void
test_ec_everywhere_a256gcm(void **state)
{
	(void)state;
	run(true, "tee1", false, NULL, JOSE_ENC_A256GCM, JOSE_ALG_ECDH_ES_A128KW, JOSE_ENC_A256GCM);
}

static void
test_ec_tam_rsa_tee(void **state)
{
	(void)state;
	/* the TEE encrypts to the EC TAM with ECDH-ES; the TAM answers its RSA key with RSA1_5 */
	run(true, "teer", true, NULL, NULL, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_mandatory_pair),
		cmocka_unit_test(test_rsa_oaep_a256gcm_mirrored),
		cmocka_unit_test(test_ec_everywhere),
		cmocka_unit_test(test_ec_everywhere_a256gcm),
		cmocka_unit_test(test_ec_tam_rsa_tee),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
