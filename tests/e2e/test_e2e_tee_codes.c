// SPDX-License-Identifier: MIT
/*
 * End-to-end: refusals a TEE makes on its own account (spec §7). A TEE out
 * of room answers ERR_TEE_RESOURCE_FULL: the TA it could not take is backed
 * off, the one it took stays recorded. A TEE whose firmware fails its
 * attestation answers GetDeviceState with ERR_TFW_NOT_TRUSTED: the session
 * ends there, recorded, and nothing about the device changes.
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

#define TA2 "bbbbbbbb-0000-4000-8000-000000000002"

static struct e2e_env env;

static int
group_setup(void **state)
{
	char bin[400];
	FILE *f;

	(void)state;
	if (e2e_setup(&env) != 0 || e2e_start(&env, NULL) != 0)
		return -1;
	/* a second TA of the same SP */
	snprintf(bin, sizeof(bin), "%s/ta2.bin", env.dir);
	if ((f = fopen(bin, "wb")) == NULL || fputs("a second trusted application", f) < 0 ||
	    fclose(f) != 0)
		return -1;
	if (e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s.jws", env.pki, bin, bin) != 0 ||
	    e2e_ctl(&env, "ta upload " E2E_SPID " " TA2 " 1.0 %s.jws >/dev/null", bin) != 0 ||
	    e2e_ctl(&env, "device enroll --cert %s/tee/tee2.crt --name tee2 >/dev/null",
	    env.pki) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

static struct mock_tee *
open_tee(const char *tee, size_t max_tas, bool tfw_untrusted)
{
	struct mock_tee *mt = NULL;

	assert_int_equal(e2e_mock_cfg(&env, tee, &(const struct mock_tee_cfg){ .max_tas = max_tas,
	    .tfw_untrusted = tfw_untrusted }, &mt), 0);
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
test_resource_full(void **state)
{
	struct mock_tee *mt = open_tee("tee1", 1, false);

	(void)state;
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " TA2), 0);
	session(mt, "GetDeviceStateRequest CreateSDRequest InstallTARequest InstallTARequest",
	    "pass pass pass ERR_TEE_RESOURCE_FULL");
	assert_int_equal(e2e_db_has_ta(&env, "tee1", E2E_TAID), 1);
	assert_int_equal(e2e_db_has_ta(&env, "tee1", TA2), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM op_failures WHERE op ="
	    " 'InstallTA' AND taid = '" TA2 "' AND reason = 'ERR_TEE_RESOURCE_FULL'"), 1);
	/* backed off: the next session does not ask again */
	session(mt, "GetDeviceStateRequest", "pass");
	mock_tee_close(mt);
}

static void
test_tfw_not_trusted(void **state)
{
	struct mock_tee *mt = open_tee("tee2", 0, true);
	uint8_t before[32], after[32];

	(void)state;
	assert_int_equal(e2e_ctl(&env, "assign tee2 " E2E_TAID), 0);
	assert_int_equal(e2e_db_digest(&env, false, before), 0);
	session(mt, "GetDeviceStateRequest", "ERR_TFW_NOT_TRUSTED");
	/* unsigned, so only logged: the session it ends was never written */
	assert_true(e2e_log_wait(&env, "msg=GetDeviceStateResponse", 2000));
	assert_true(e2e_log_wait(&env, "reason=ERR_TFW_NOT_TRUSTED", 2000));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE result LIKE"
	    " '%(unverified)'"), 0);
	assert_int_equal(e2e_db_digest(&env, false, after), 0);
	assert_memory_equal(before, after, 32);
	assert_false(mock_tee_has_sd(mt, E2E_SPID ".sd"));
	mock_tee_close(mt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resource_full),
		cmocka_unit_test(test_tfw_not_trusted),
	};
	return cmocka_run_group_tests_name("e2e_tee_codes", tests, group_setup, group_teardown);
}
