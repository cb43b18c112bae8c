// SPDX-License-Identifier: MIT
/*
 * End-to-end algorithm negotiation (spec §6.1, §7): an RSA TAM with an
 * alternate EC P-256 identity of the same TAM. A TEE that verifies only
 * ES256 refuses the RS256 GetDeviceStateRequest with
 * ERR_UNSUPPORTED_CRYPTO_ALG and its supportedsigalgs; the TAM asks again
 * with the alternate identity (with that identity's OCSP staple) and the
 * session goes on with it. A TEE that verifies neither raises an operator
 * alert; an alternate identity of the same algorithm or of another TAM is
 * refused at start.
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
static char opt_key[400], opt_cert[400], opt_ocsp[400], pki_script[300];

/* otrp-tamd with the alternate identity tam/NAME and every OCSP response. */
static int
start_with_alt(const char *name)
{
	const char *extra[] = { "-o", opt_key, "-o", opt_cert, "-o", opt_ocsp, NULL };

	snprintf(opt_key, sizeof(opt_key), "identity.alt_key=%s/tam/%s.key", env.pki, name);
	snprintf(opt_cert, sizeof(opt_cert), "identity.alt_cert=%s/tam/%s-chain.pem", env.pki, name);
	snprintf(opt_ocsp, sizeof(opt_ocsp), "identity.ocsp_dir=%s/tam/ocsp", env.pki);
	return e2e_start(&env, extra);
}

static int
group_setup(void **state)
{
	const char *b = getenv("TAM_BUILD_DIR");

	(void)state;
	snprintf(pki_script, sizeof(pki_script), "%s/../pki/otrp-pki.sh", b != NULL ? b : "build");
	if (e2e_setup(&env) != 0 ||
	    e2e_sh("sh %s issue --ec %s tam tam-ec >/dev/null", pki_script, env.pki) != 0 ||
	    e2e_sh("sh %s ocsp %s >/dev/null", pki_script, env.pki) != 0)
		return -1;
	return start_with_alt("tam-ec");
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/* A mock TEE tee (a leaf of the TEE CA) that verifies sigalgs and wants OCSP staples. */
static struct mock_tee *
open_tee(const char *tee, const char *sigalgs)
{
	struct mock_tee *mt = NULL;

	assert_int_equal(e2e_mock_cfg(&env, tee, &(const struct mock_tee_cfg){ .sigalgs = sigalgs,
	    .require_ocsp = true }, &mt), 0);
	return mt;
}

static void
session(struct mock_tee *mt, const char *want_reqs, const char *want_outs)
{
	char why[1200];

	if (e2e_session_expect(&env, mt, want_reqs, want_outs, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

static void
test_es256_only_tee_gets_the_alternate(void **state)
{
	struct mock_tee *mt = open_tee("tee1", "ES256");

	(void)state;
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session(mt, "GetDeviceStateRequest GetDeviceStateRequest CreateSDRequest InstallTARequest",
	    "ERR_UNSUPPORTED_CRYPTO_ALG pass pass pass");
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
	assert_true(e2e_log_wait(&env, "event=otrp.switch_identity", 2000));
	/* the next session starts with the first identity again, and switches again */
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session(mt, "GetDeviceStateRequest GetDeviceStateRequest DeleteTARequest DeleteSDRequest",
	    "ERR_UNSUPPORTED_CRYPTO_ALG pass pass pass");
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	/* the SDs it created are this TAM's whichever identity spoke: none are left over */
	assert_false(mock_tee_has_sd(mt, E2E_SPID ".sd"));
	mock_tee_close(mt);
}

static void
test_rs256_tee_keeps_the_first(void **state)
{
	struct mock_tee *mt = open_tee("tee2", NULL);

	(void)state;
	assert_int_equal(e2e_ctl(&env, "device enroll --cert %s/tee/tee2.crt --name tee2 >/dev/null",
	    env.pki), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee2 " E2E_TAID), 0);
	session(mt, "GetDeviceStateRequest CreateSDRequest InstallTARequest", "pass pass pass");
	mock_tee_close(mt);
}

static void
test_no_common_alg_alerts(void **state)
{
	struct mock_tee *mt = open_tee("tee3", "PS256,EdDSA");

	(void)state;
	session(mt, "GetDeviceStateRequest", "ERR_UNSUPPORTED_CRYPTO_ALG");
	assert_true(e2e_log_wait(&env, "event=otrp.alert reason=ERR_UNSUPPORTED_CRYPTO_ALG "
	    "tam_alg=RS256 tee_algs=PS256,EdDSA", 2000));
	/* unsigned, so only logged: the session it ends was never written */
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE result LIKE"
	    " '%(unverified)'"), 0);
	mock_tee_close(mt);
}

static void
test_bad_alternates_refused(void **state)
{
	(void)state;
	assert_int_equal(e2e_stop(&env), 0);
	/* the same algorithm as the TAM key */
	assert_int_equal(e2e_sh("sh %s issue %s tam tam-rsa2 >/dev/null", pki_script, env.pki), 0);
	assert_int_not_equal(start_with_alt("tam-rsa2"), 0);
	assert_true(e2e_log_wait(&env, "the alternate identity is for the other algorithm", 2000));
	/* another TAM */
	assert_int_equal(e2e_sh("sh %s issue --ec --tamid urn:example:other-tam %s tam tam-other "
	    ">/dev/null", pki_script, env.pki), 0);
	assert_int_not_equal(start_with_alt("tam-other"), 0);
	assert_true(e2e_log_wait(&env, "both must name the same TAM", 2000));
	/* its OCSP response missing: refused like the first identity's would be */
	assert_int_equal(e2e_sh("rm %s/tam/ocsp/tam-ec.der", env.pki), 0);
	assert_int_not_equal(start_with_alt("tam-ec"), 0);
	assert_true(e2e_log_wait(&env, "OCSP: no response for", 2000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_es256_only_tee_gets_the_alternate),
		cmocka_unit_test(test_rs256_tee_keeps_the_first),
		cmocka_unit_test(test_no_common_alg_alerts),
		cmocka_unit_test(test_bad_alternates_refused),
	};
	return cmocka_run_group_tests_name("e2e_identity", tests, group_setup, group_teardown);
}
