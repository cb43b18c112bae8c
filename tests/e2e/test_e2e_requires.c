// SPDX-License-Identifier: MIT
/*
 * End-to-end TA dependencies on a real otrp-tamd and a mock TEE: a TA
 * version that requires its SP's library TA brings the library along
 * (an implied assignment, audited with the assignment that implied it) and
 * installs it first; another SP's TA cannot be required at all; a minimum version nothing
 * offers blocks the update and says why, until the library catches up and
 * is updated first; unassigning the TA deletes it before the library.
 * The order is read from the audit rows the daemon writes per operation.
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

/* Sorts after E2E_TAID: assignments in taid order would reach the app first. */
#define LIB_TAID "f00dface-0000-4000-8000-00000000011b"
/* sp2's own TA */
#define OTHER_TAID "0badc0de-0000-4000-8000-0000000000b2"

static struct e2e_env env;
static struct mock_tee *mt;

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0 || e2e_pki_issue(&env, "sp", "sp2") != 0 ||
	    e2e_ctl(&env, "sp add sp2 %s/sp/sp2.crt >/dev/null", env.pki) != 0 ||
	    e2e_start(&env, NULL) != 0)
		return -1;
	return e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt);
}

static int
group_teardown(void **state)
{
	(void)state;
	mock_tee_close(mt);
	return e2e_group_end(&env);
}

/* One session; the requests the TAM sent must read want ("A B C"), every answer a pass. */
static void
session(const char *want)
{
	char why[1200];

	if (e2e_session_expect(&env, mt, want, NULL, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

/* Sign text as a TA of the SP whose key is pki/sp/<key>.key and upload it with extra args. */
static void
upload(const char *key, const char *spid, const char *taid, const char *version,
    const char *text, const char *extra)
{
	char bin[400], jws[400];
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/%s-%s.bin", env.dir, taid, version);
	snprintf(jws, sizeof(jws), "%s/%s-%s.jws", env.dir, taid, version);
	assert_non_null(f = fopen(bin, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/%s.key %s %s", env.pki, key, bin, jws),
	    0);
	assert_int_equal(e2e_ctl(&env, "ta upload %s %s %s %s %s >/dev/null", spid, taid, version,
	    jws, extra), 0);
}

/* The latest audit row of action for TA a came before the latest for TA b. */
static void
audited_in_order(const char *action, const char *a, const char *b)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT (SELECT max(id) FROM audit WHERE action = '%s'"
	    " AND detail LIKE 'taid=%s%%') < (SELECT max(id) FROM audit WHERE action = '%s'"
	    " AND detail LIKE 'taid=%s%%')", action, a, action, b);
	if (e2e_db_scalar(&env, sql) != 1)
		fail_msg("%s of %s did not come before %s of %s", action, a, action, b);
}

static void
test_dependency_order(void **state)
{
	(void)state;
	/* sp1's library; its TA 1.1 needs at least its 1.0 */
	upload("sp1", E2E_SPID, LIB_TAID, "1.0", "a shared crypto library TA", "");
	upload("sp1", E2E_SPID, E2E_TAID, "1.1", "the app, linked to the library",
	    "--requires " LIB_TAID "@1.0");

	/* only the app is assigned: the library comes first, in one session */
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest CreateSDRequest InstallTARequest InstallTARequest");
	assert_true(mock_tee_has_ta(mt, LIB_TAID));
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
	audited_in_order("ta.install", LIB_TAID, E2E_TAID);
	/* the audit says which assignment brought the library, and who made it */
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'ta.install'"
	    " AND detail LIKE 'taid=" LIB_TAID " %implied_by=" E2E_TAID " assigned_by=cli:%'"), 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'ta.install'"
	    " AND detail LIKE 'taid=" E2E_TAID "%implied_by%'"), 0);
	/* and the upload what the version requires */
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'ta.upload'"
	    " AND object = '" E2E_TAID "' AND detail LIKE 'version=1.1 %requires=" LIB_TAID "@1.0'"),
	    1);
	/* operators see what they assigned, not what came along */
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM assignments"), 1);
	session("GetDeviceStateRequest");

	/* 1.2 needs a library 2.0 nobody has: the update waits and the session says why */
	upload("sp1", E2E_SPID, E2E_TAID, "1.2", "the app, needing a newer library",
	    "--requires " LIB_TAID "@2.0");
	session("GetDeviceStateRequest");
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE result ="
	    " 'blocked:required TA " LIB_TAID " missing for " E2E_TAID "'"), 1);
	assert_true(e2e_log_wait(&env, "event=otrp.blocked taid=" E2E_TAID " requires=" LIB_TAID,
	    2000));
	/* the library's 2.0 arrives: it is updated first, then the app */
	upload("sp1", E2E_SPID, LIB_TAID, "2.0", "a shared crypto library TA, second edition", "");
	session("GetDeviceStateRequest UpdateTARequest UpdateTARequest");
	audited_in_order("ta.update", LIB_TAID, E2E_TAID);
	session("GetDeviceStateRequest");

	/* unassigned: the app goes before the library it needed, then the SD */
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session("GetDeviceStateRequest DeleteTARequest DeleteTARequest DeleteSDRequest");
	audited_in_order("ta.delete", E2E_TAID, LIB_TAID);
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	assert_false(mock_tee_has_ta(mt, LIB_TAID));
}

/* sp2 uploads a version of its own TA requiring req; the answer's problem detail into detail. */
static long
upload_requiring(const char *token, const char *req, char *detail, size_t len)
{
	struct e2e_resp r = { 0 };
	char path[512];
	long status;

	snprintf(path, sizeof(path), "/api/v1/sps/sp2/tas/" OTHER_TAID "/versions?version=1.0"
	    "&requires=%s", req);
	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "POST", .path = path,
	    .token = token, .content_type = "application/jose", .body = "x", .len = 1 }, &r), 0);
	status = r.status;
	snprintf(detail, len, "%s|%s", r.json != NULL ? json_string_value(json_object_get(r.json,
	    "type")) : "", r.json != NULL ? json_string_value(json_object_get(r.json, "detail")) :
	    "");
	e2e_resp_clear(&r);
	return status;
}

/*
 * Another SP's TA cannot be required: it would be installed, and kept,
 * on devices its owner never chose. Unknown and foreign TAs answer alike,
 * so the refusal tells sp2 nothing about sp1's catalogue.
 */
static void
test_other_sp_cannot_be_required(void **state)
{
	char token[256], foreign[512], unknown[512], *p;

	(void)state;
	assert_int_equal(e2e_ctl_out(&env, token, sizeof(token),
	    "token create --role sp:sp2 2>/dev/null"), 0);
	assert_int_equal(upload_requiring(token, E2E_TAID, foreign, sizeof(foreign)), 422);
	assert_int_equal(upload_requiring(token, "00000000-0000-4000-8000-000000000000", unknown,
	    sizeof(unknown)), 422);
	assert_non_null(strstr(foreign, "unknown_requirement|SP sp2 has no TA " E2E_TAID));
	/* the same answer but for the id itself */
	assert_non_null(p = strstr(foreign, E2E_TAID));
	memcpy(p, "00000000-0000-4000-8000-000000000000", strlen(E2E_TAID));
	assert_string_equal(foreign, unknown);
	/* and the CLI on the database, which an admin uses, is held to the same rule */
	upload("sp2", "sp2", OTHER_TAID, "1.0", "sp2's own TA", "");
	assert_int_not_equal(e2e_ctl(&env, "ta upload sp2 %s 1.1 %s/%s-1.0.jws --requires %s "
	    "2>/dev/null", OTHER_TAID, env.dir, OTHER_TAID, E2E_TAID), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_version_requires r"
	    " JOIN ta_versions v ON v.id = r.ta_version_id JOIN tas t ON t.id = v.ta_id"
	    " JOIN tas n ON n.id = r.needs_ta_id WHERE t.sp_id <> n.sp_id"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dependency_order),
		cmocka_unit_test(test_other_sp_cannot_be_required),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
