// SPDX-License-Identifier: MIT
/*
 * Retention end to end: under a steady load of install and delete sessions
 * and refused API calls, with short retention, the database stops growing
 * (sessions, requests and audit rows are pruned and their pages given back),
 * and a withdrawn version's bundle is removed once its time is up while its
 * record stays. The figures are printed per round.
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

#define ROUNDS 16
#define AUDIT_KEEP 3                  /* seconds: retention.audit in this test */

static struct e2e_env env;
static char admin[256];

static int
group_setup(void **state)
{
	static const char *const args[] = { "-o", "retention.sessions=1s", "-o", "retention.audit=3s",
	    "-o", "retention.withdrawn=1s", "-o", "retention.interval=1s", NULL };

	(void)state;
	if (e2e_setup(&env) != 0 ||
	    e2e_ctl_out(&env, admin, sizeof(admin), "token create --role admin 2>/dev/null") != 0)
		return -1;
	return e2e_start(&env, args);
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

static void
session(struct mock_tee *mt, const char *want)
{
	char why[1200];

	if (e2e_session_expect(&env, mt, want, NULL, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

static long
get(const char *path, const char *token, char *code, size_t len)
{
	struct e2e_resp r = { 0 };
	long status;

	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "GET", .path = path,
	    .token = token }, &r), 0);
	status = r.status;
	if (code != NULL)
		snprintf(code, len, "%s", r.json != NULL ?
		    json_string_value(json_object_get(r.json, "code")) : "");
	e2e_resp_clear(&r);
	return status;
}

/* Pages of the database in use (the file less its free list). */
static long long
used_pages(void)
{
	return e2e_db_scalar(&env, "SELECT (SELECT page_count FROM pragma_page_count())"
	    " - (SELECT freelist_count FROM pragma_freelist_count())");
}

static void
test_steady_load_stops_growing(void **state)
{
	struct mock_tee *mt = NULL;
	long long pages[ROUNDS], early = 0;

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	for (int i = 0; i < ROUNDS; i++) {
		assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
		session(mt, "GetDeviceStateRequest CreateSDRequest InstallTARequest");
		assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
		session(mt, "GetDeviceStateRequest DeleteTARequest DeleteSDRequest");
		for (int k = 0; k < 5; k++)
			assert_int_equal(get("/api/v1/sps", "tam_00_wrong", NULL, 0), 401);
		usleep(600 * 1000);
		pages[i] = used_pages();
		printf("round %2d: %lld pages used, %lld sessions, %lld requests, %lld audit rows\n",
		    i + 1, pages[i], e2e_db_scalar(&env, "SELECT count(*) FROM sessions"),
		    e2e_db_scalar(&env, "SELECT count(*) FROM requests"),
		    e2e_db_scalar(&env, "SELECT count(*) FROM audit"));
		if (i >= 5 && i < 9 && pages[i] > early)
			early = pages[i];
	}
	/* what retention allows is gone ... */
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE at <"
	    " CAST(strftime('%s', 'now') AS INTEGER) - " "6"), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE ended <"
	    " CAST(strftime('%s', 'now') AS INTEGER) - 4"), 0);
	/* ... so the last rounds use no more pages than the middle ones did, give or take a few */
	for (int i = ROUNDS - 4; i < ROUNDS; i++)
		if (pages[i] > early + 8)
			fail_msg("round %d uses %lld pages, rounds 6-9 at most %lld", i + 1, pages[i],
			    early);
	mock_tee_close(mt);
}

static void
test_withdrawn_bundle_removed(void **state)
{
	char code[96], path[160];

	(void)state;
	snprintf(path, sizeof(path), "/api/v1/tas/%s/versions/1.0/bundle", E2E_TAID);
	assert_int_equal(get(path, admin, NULL, 0), 200);
	assert_int_equal(e2e_ctl(&env, "ta withdraw " E2E_TAID " 1.0"), 0);
	/* kept for retention.withdrawn (1 s), removed at the next round of housekeeping after it */
	for (int i = 0; i < 50 && e2e_db_scalar(&env, "SELECT count(*) FROM ta_blobs") > 0; i++)
		usleep(100 * 1000);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_blobs"), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_versions"), 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action ="
	    " 'ta.bundle_removed' AND object = '" E2E_TAID "' AND detail ="
	    " 'version=1.0 reason=retention.withdrawn'"), 1);
	assert_int_equal(get(path, admin, code, sizeof(code)), 404);
	assert_string_equal(code, "tam.ta.bundle_removed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_load_stops_growing),
		cmocka_unit_test(test_withdrawn_bundle_removed),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
