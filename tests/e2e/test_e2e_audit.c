// SPDX-License-Identifier: MIT
/*
 * The audit trail of the management API's refusals and reads, end to end:
 * no token, a bad token, a role that may not, another SP's record, and a
 * bundle download each leave a row with the client's address; a flood of
 * refusals or downloads leaves a bounded number of rows without using up
 * another client's, and a hostile path cannot forge fields of one.
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
#include "tam/limits.h"

static struct e2e_env env;
static char sp1_token[256], sp1_tokid[64];

static int
group_setup(void **state)
{
	char *u;

	(void)state;
	if (e2e_setup(&env) != 0 || e2e_pki_issue(&env, "sp", "sp2") != 0 ||
	    e2e_ctl(&env, "sp add sp2 %s/sp/sp2.crt >/dev/null", env.pki) != 0 ||
	    e2e_ctl_out(&env, sp1_token, sizeof(sp1_token),
	    "token create --role sp:" E2E_SPID " 2>/dev/null") != 0)
		return -1;
	/* tam_<id>_<secret>: the audit names the token by its id */
	if (strncmp(sp1_token, "tam_", 4) != 0 || (u = strchr(sp1_token + 4, '_')) == NULL)
		return -1;
	snprintf(sp1_tokid, sizeof(sp1_tokid), "%.*s", (int)(u - sp1_token - 4), sp1_token + 4);
	return e2e_start(&env, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

static long
get(const char *path, const char *token)
{
	struct e2e_resp r = { 0 };
	long status;

	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "GET", .path = path,
	    .token = token }, &r), 0);
	status = r.status;
	e2e_resp_clear(&r);
	return status;
}

static long long
rows(const char *where)
{
	char sql[600];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE %s", where);
	return e2e_db_scalar(&env, sql);
}

static void
test_refusals_audited(void **state)
{
	char where[400];

	(void)state;
	assert_int_equal(get("/api/v1/sps", NULL), 401);
	assert_int_equal(rows("actor = 'anonymous' AND action = 'api.refused' AND object ="
	    " '/api/v1/sps' AND detail LIKE 'status=401 code=tam.auth.missing_token method=GET"
	    " peer=127.0.0.1 request_id=%'"), 1);
	assert_int_equal(get("/api/v1/devices", "tam_0123456789abcdef_nope"), 401);
	assert_int_equal(rows("actor = 'anonymous' AND object = '/api/v1/devices' AND detail LIKE"
	    " 'status=401 code=tam.auth.invalid_token %peer=127.0.0.1%'"), 1);
	/* an SP token on an admin route */
	assert_int_equal(get("/api/v1/tokens", sp1_token), 403);
	snprintf(where, sizeof(where), "actor = 'token:%s' AND object = '/api/v1/tokens' AND"
	    " detail LIKE 'status=403 code=tam.auth.forbidden %%'", sp1_tokid);
	assert_int_equal(rows(where), 1);
	/* another SP's record: answered as absent, audited as the refusal it is */
	assert_int_equal(get("/api/v1/sps/sp2", sp1_token), 404);
	snprintf(where, sizeof(where), "actor = 'token:%s' AND object = '/api/v1/sps/sp2' AND"
	    " detail LIKE 'status=404 code=tam.sp.not_found %%'", sp1_tokid);
	assert_int_equal(rows(where), 1);
	/* a record that does not exist is no refusal */
	assert_int_equal(get("/api/v1/sps/nosuch", sp1_token), 404);
	assert_int_equal(rows("object = '/api/v1/sps/nosuch'"), 0);
}

static void
test_download_audited(void **state)
{
	char path[200], where[300];

	(void)state;
	snprintf(path, sizeof(path), "/api/v1/tas/%s/versions/1.0/bundle", E2E_TAID);
	assert_int_equal(get(path, sp1_token), 200);
	snprintf(where, sizeof(where), "actor = 'token:%s' AND action = 'ta.download' AND object ="
	    " '%s' AND detail LIKE 'version=1.0 size=%% peer=127.0.0.1'", sp1_tokid, E2E_TAID);
	assert_int_equal(rows(where), 1);
}

static void
test_hostile_path_stays_one_field(void **state)
{
	(void)state;
	/* quotes, spaces and a newline in the path cannot start fields or rows of their own */
	assert_int_equal(get("/api/v1/sps/x%22%20actor=admin%0Aaction=forged", NULL), 401);
	assert_int_equal(rows("action = 'api.refused' AND object ="
	    " '/api/v1/sps/x??actor=admin?action=forged'"), 1);
	assert_int_equal(rows("actor = 'admin' OR action = 'forged'"), 0);
}

/* Anyone can cause a refusal: a flood leaves a bounded trail, and the daemon answers on. */
static void
test_refusal_flood_bounded(void **state)
{
	long long before = rows("action = 'api.refused'"), added;

	(void)state;
	for (int i = 0; i < 3 * TAM_AUDIT_REFUSALS_PER_MINUTE; i++)
		assert_int_equal(get("/api/v1/sps", "tam_00_flood"), 401);
	added = rows("action = 'api.refused'") - before;
	printf("refusal flood: %d refused, %lld audited (at most %d a minute)\n",
	    3 * TAM_AUDIT_REFUSALS_PER_MINUTE, added, TAM_AUDIT_REFUSALS_PER_MINUTE);
	/* the budget refills while the flood runs: two minutes' worth at most */
	assert_true(added >= 1 && added <= 2 * TAM_AUDIT_REFUSALS_PER_MINUTE);
	assert_int_equal(get("/api/v1/sps/" E2E_SPID, sp1_token), 200);
}

/* The flood spent its sender's budget, not everyone's: a token's probe is still audited. */
static void
test_flood_hides_no_one(void **state)
{
	char where[300];

	(void)state;
	for (int i = 0; i < 2 * TAM_AUDIT_REFUSALS_PER_MINUTE; i++)
		assert_int_equal(get("/api/v1/sps", "tam_00_flood"), 401);
	assert_int_equal(get("/api/v1/tokens", sp1_token), 403);
	snprintf(where, sizeof(where), "actor = 'token:%s' AND object = '/api/v1/tokens'",
	    sp1_tokid);
	assert_int_equal(rows(where), 2);
}

/* Downloads in a loop leave a bounded trail too, and say how many went unrecorded. */
static void
test_download_flood_bounded(void **state)
{
	char path[200], where[200];
	long long before, added;

	(void)state;
	snprintf(path, sizeof(path), "/api/v1/tas/%s/versions/1.0/bundle", E2E_TAID);
	snprintf(where, sizeof(where), "action = 'ta.download' AND actor = 'token:%s'", sp1_tokid);
	before = rows(where);
	for (int i = 0; i < 3 * TAM_AUDIT_REFUSALS_PER_MINUTE; i++)
		assert_int_equal(get(path, sp1_token), 200);
	added = rows(where) - before;
	printf("download loop: %d downloads, %lld audited\n", 3 * TAM_AUDIT_REFUSALS_PER_MINUTE,
	    added);
	assert_true(added >= 1 && added <= 2 * TAM_AUDIT_REFUSALS_PER_MINUTE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals_audited),
		cmocka_unit_test(test_download_audited),
		cmocka_unit_test(test_hostile_path_stays_one_field),
		cmocka_unit_test(test_refusal_flood_bounded),
		cmocka_unit_test(test_flood_hides_no_one),
		cmocka_unit_test(test_download_flood_bounded),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
