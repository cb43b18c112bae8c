// SPDX-License-Identifier: MIT
/*
 * End-to-end reactions to a TEE whose state drifted from the TAM's view
 * (spec §7): a refusal that says the request was computed from a stale
 * state (ERR_DEV_STATE_MISMATCH, ERR_SD_NOT_FOUND, ...) is answered once per
 * session by a new GetDeviceStateRequest and a decision from the state the
 * TEE reports; a second drift in the same session is an ordinary refusal,
 * remembered with its back-off, and the session ends.
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

#define SDNAME E2E_SPID ".sd"

static struct e2e_env env;

static int
group_setup(void **state)
{
	(void)state;
	return e2e_setup(&env) != 0 || e2e_start(&env, NULL) != 0 ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/*
 * One session driven message by message. Before the TEE handles the
 * request of round reset_at[k] (rounds count from 0, the first
 * GetDeviceStateRequest), SD SDNAME vanishes from it behind the TAM's back.
 * Writes the requests as "A B C" and the TEE's outcomes as "pass ERR_X ...".
 */
static void
drive(struct mock_tee *mt, const int *reset_at, size_t n_reset, char *reqs, size_t reqlen,
    char *outcomes, size_t outlen)
{
	struct mock_http_resp r;
	struct tam_err err = { 0 };
	char *ans = NULL;
	size_t len = 0;
	int round = 0;

	reqs[0] = outcomes[0] = '\0';
	assert_int_equal(e2e_post(&env, "", 0, &r), 0);
	for (; r.status == 200 && round < 16; round++) {
		for (size_t k = 0; k < n_reset; k++)
			if (reset_at[k] == round)
				assert_int_equal(mock_tee_reset_sd(mt, SDNAME), 0);
		if (mock_tee_process(mt, (const uint8_t *)r.body, r.len, &ans, &len, &err) != 0)
			fail_msg("mock TEE: %s", err.msg);
		mock_http_resp_clear(&r);
		snprintf(reqs + strlen(reqs), reqlen - strlen(reqs), "%s%s", round ? " " : "",
		    mock_tee_last_request(mt));
		snprintf(outcomes + strlen(outcomes), outlen - strlen(outcomes), "%s%s",
		    round ? " " : "", mock_tee_last_outcome(mt));
		assert_int_equal(e2e_post(&env, ans, len, &r), 0);
		free(ans);
		ans = NULL;
	}
	if (r.status != 204)
		fail_msg("HTTP %ld after \"%s\": %.*s", r.status, reqs, (int)r.len,
		    r.body ? r.body : "");
	mock_http_resp_clear(&r);
}

static long long
failures(void)
{
	return e2e_db_scalar(&env, "SELECT count(*) FROM op_failures");
}

/*
 * The SD vanishes between the TAM's reading of the state and its InstallTA:
 * the TEE refuses (the dsihash no longer matches), the TAM asks for the
 * state again, creates the SD anew and installs the TA, all in one session,
 * and nothing is remembered as refused.
 */
static void
test_drift_resynced_once(void **state)
{
	struct mock_tee *mt = NULL;
	char reqs[512], outs[512];
	const int reset[] = { 2 };

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	drive(mt, reset, 1, reqs, sizeof(reqs), outs, sizeof(outs));
	assert_string_equal(reqs, "GetDeviceStateRequest CreateSDRequest InstallTARequest "
	    "GetDeviceStateRequest CreateSDRequest InstallTARequest");
	assert_string_equal(outs, "pass pass ERR_DEV_STATE_MISMATCH pass pass pass");
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_db_has_ta(&env, "tee1", E2E_TAID), 1);
	assert_int_equal(failures(), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action ="
	    " 'InstallTA.fail' AND detail LIKE '%reason=ERR_DEV_STATE_MISMATCH state=reread'"), 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE ended IS NOT NULL"
	    " AND result = 'ok'"), 1);
	assert_true(e2e_log_wait(&env, "event=otrp.resync", 2000));

	/* a state the TAM did not expect is also read anew: the TA it deletes is gone already */
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	{
		const int reset2[] = { 1 };
		drive(mt, reset2, 1, reqs, sizeof(reqs), outs, sizeof(outs));
	}
	assert_string_equal(reqs, "GetDeviceStateRequest DeleteTARequest GetDeviceStateRequest");
	assert_string_equal(outs, "pass ERR_DEV_STATE_MISMATCH pass");
	assert_int_equal(e2e_db_has_ta(&env, "tee1", E2E_TAID), 0);
	assert_int_equal(failures(), 0);
	mock_tee_close(mt);
}

/*
 * It drifts again after the TAM read the state anew: the second refusal is
 * an ordinary one, remembered with its back-off, and the session ends
 * instead of looping; the next session skips the operation.
 */
static void
test_second_drift_is_a_refusal(void **state)
{
	struct mock_tee *mt = NULL;
	char reqs[512], outs[512];
	const int reset[] = { 2, 5 };

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "tee2", false, &mt), 0);
	assert_int_equal(e2e_ctl(&env, "device enroll --cert %s/tee/tee2.crt --name tee2 >/dev/null",
	    env.pki), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee2 " E2E_TAID), 0);
	drive(mt, reset, 2, reqs, sizeof(reqs), outs, sizeof(outs));
	assert_string_equal(reqs, "GetDeviceStateRequest CreateSDRequest InstallTARequest "
	    "GetDeviceStateRequest CreateSDRequest InstallTARequest");
	assert_string_equal(outs, "pass pass ERR_DEV_STATE_MISMATCH pass pass "
	    "ERR_DEV_STATE_MISMATCH");
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM op_failures WHERE op ="
	    " 'InstallTA' AND reason = 'ERR_DEV_STATE_MISMATCH' AND count = 1"), 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE result ="
	    " 'tee-fail:ERR_DEV_STATE_MISMATCH'"), 1);
	/* backing off: the next session only creates the SD the TEE lost again */
	drive(mt, NULL, 0, reqs, sizeof(reqs), outs, sizeof(outs));
	assert_string_equal(reqs, "GetDeviceStateRequest CreateSDRequest");
	mock_tee_close(mt);
}

/* POST body, expecting status; the answer is left in r. */
static void
post(const char *body, size_t len, long status, struct mock_http_resp *r)
{
	assert_int_equal(e2e_post(&env, body, len, r), 0);
	if (r->status != status)
		fail_msg("HTTP %ld, expected %ld: %.*s", r->status, status, (int)r->len,
		    r->body ? r->body : "");
}

/* mt answers the request in r (cleared); its answer is returned. */
static char *
answer(struct mock_tee *mt, struct mock_http_resp *r, size_t *len)
{
	struct tam_err err = { 0 };
	char *out = NULL;

	if (mock_tee_process(mt, (const uint8_t *)r->body, r->len, &out, len, &err) != 0)
		fail_msg("mock TEE: %s", err.msg);
	mock_http_resp_clear(r);
	return out;
}

/*
 * The state asked for again belongs to the session's device: another
 * enrolled TEE answering it is refused without a change, and the session's
 * own device can still answer.
 */
static void
test_reread_answered_by_another_device(void **state)
{
	struct mock_tee *tee1 = NULL, *tee3 = NULL;
	struct mock_http_resp r;
	uint8_t before[32], after[32];
	char *ans, got[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &tee1), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee3", "tee3", false, &tee3), 0);
	assert_int_equal(e2e_ctl(&env, "device enroll --cert %s/tee/tee3.crt --name tee3 >/dev/null",
	    env.pki), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	post("", 0, 200, &r);
	ans = answer(tee1, &r, &len);                 /* GetDeviceState */
	post(ans, len, 200, &r);
	free(ans);
	ans = answer(tee1, &r, &len);                 /* CreateSD */
	post(ans, len, 200, &r);
	free(ans);
	assert_int_equal(mock_tee_reset_sd(tee1, SDNAME), 0);
	ans = answer(tee1, &r, &len);                 /* InstallTA, refused */
	assert_string_equal(mock_tee_last_outcome(tee1), "ERR_DEV_STATE_MISMATCH");
	post(ans, len, 200, &r);
	free(ans);
	/* tee3 reads the same GetDeviceStateRequest, and answers */
	{
		struct mock_http_resp copy = { .len = r.len, .body = malloc(r.len + 1) };
		assert_non_null(copy.body);
		memcpy(copy.body, r.body, r.len);
		ans = answer(tee3, &copy, &len);
	}
	assert_string_equal(mock_tee_last_request(tee3), "GetDeviceStateRequest");
	{
		struct mock_http_resp refused;
		assert_int_equal(e2e_db_digest(&env, true, before), 0);
		post(ans, len, 400, &refused);
		free(ans);
		e2e_problem_code(&refused, got, sizeof(got));
		assert_string_equal(got, "device_mismatch");
		mock_http_resp_clear(&refused);
		assert_int_equal(e2e_db_digest(&env, true, after), 0);
		assert_memory_equal(before, after, 32);
	}
	/* the session's device answers it, and the session goes on to its end */
	ans = answer(tee1, &r, &len);
	post(ans, len, 200, &r);
	free(ans);
	assert_string_equal(mock_tee_last_outcome(tee1), "pass");
	for (int i = 0; i < 4 && r.status == 200; i++) {
		ans = answer(tee1, &r, &len);
		assert_int_equal(e2e_post(&env, ans, len, &r), 0);
		free(ans);
	}
	assert_int_equal(r.status, 204);
	mock_http_resp_clear(&r);
	assert_true(mock_tee_has_ta(tee1, E2E_TAID));
	mock_tee_close(tee3);
	mock_tee_close(tee1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drift_resynced_once),
		cmocka_unit_test(test_second_drift_is_a_refusal),
		cmocka_unit_test(test_reread_answered_by_another_device),
	};
	return cmocka_run_group_tests_name("e2e_drift", tests, group_setup, group_teardown);
}
