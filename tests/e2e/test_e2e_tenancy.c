// SPDX-License-Identifier: MIT
/*
 * Tenancy end to end: an SP's stake in a device comes only from what the TAM
 * decided (an assignment of the SP's TA, an SD the TAM created for it), never
 * from the SDs a device lists. A hostile TEE that claims another SP's SD is
 * not shown to that SP, is not reached by the SP's SP-wide assignment, never
 * receives its TA, and its claim is audited; an SD the TAM created keeps its
 * SP's view of the device until the TAM deletes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include "e2e.h"

static struct e2e_env env;
static char sp_token[256];

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0 ||
	    e2e_ctl_out(&env, sp_token, sizeof(sp_token),
	    "token create --role sp:" E2E_SPID " 2>/dev/null") != 0)
		return -1;
	return e2e_start(&env, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

static void
session(struct mock_tee *mt, const char *want_reqs, const char *want_outs)
{
	char why[1200];

	if (e2e_session_expect(&env, mt, want_reqs, want_outs, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

/* The HTTP status the SP's token gets for GET path. */
static long
sp_get(const char *path, char **body)
{
	struct e2e_resp r = { 0 };
	long status;

	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "GET", .path = path,
	    .token = sp_token }, &r), 0);
	status = r.status;
	if (body != NULL) {
		*body = r.body;
		r.body = NULL;
	}
	e2e_resp_clear(&r);
	return status;
}

/* Does the SP see the device with hex id did: its record, and in its device list? */
static bool
sp_sees(const char *did)
{
	char path[160], *list = NULL;
	long one, all;
	bool listed;

	snprintf(path, sizeof(path), "/api/v1/devices/%s", did);
	one = sp_get(path, NULL);
	all = sp_get("/api/v1/devices?limit=100", &list);
	assert_int_equal(all, 200);
	listed = list != NULL && strstr(list, did) != NULL;
	free(list);
	if ((one == 200) != listed)
		fail_msg("device %s: GET answered %ld but the list %s it", did, one,
		    listed ? "shows" : "omits");
	return listed;
}

static void
did_hex(struct mock_tee *mt, char out[TAM_DID_HEX])
{
	uint8_t did[32];

	mock_tee_did(mt, did);
	tam_hex_encode(did, sizeof(did), out);
}

/* The SP assigns its TA to every device it has a stake in. */
static void
sp_bulk_assign(void)
{
	struct e2e_resp r = { 0 };
	static const char body[] = "{\"taid\":\"" E2E_TAID "\",\"sp\":\"" E2E_SPID "\"}";

	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "POST",
	    .path = "/api/v1/assignments", .token = sp_token, .content_type = "application/json",
	    .body = body, .len = sizeof(body) - 1 }, &r), 0);
	assert_true(r.status == 200 || r.status == 201);
	e2e_resp_clear(&r);
}

static void
test_claimed_sd_grants_nothing(void **state)
{
	struct mock_tee *evil = NULL;
	char did[TAM_DID_HEX], sql[256];

	(void)state;
	/* tee2 chains to the TEE CA, so it registers itself; it lies about holding sp1's SD */
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "evil", false, &evil), 0);
	session(evil, "GetDeviceStateRequest", NULL);
	assert_int_equal(mock_tee_claim_sd(evil, "stolen.sd", E2E_SPID), 0);
	/* the TAM asks to delete an SD nobody assigned, then to rename it; the liar refuses */
	session(evil, "GetDeviceStateRequest DeleteSDRequest UpdateSDRequest",
	    "pass ERR_TAM_NOT_AUTHORIZED ERR_TAM_NOT_AUTHORIZED");
	did_hex(evil, did);
	/* the TAM records what the device says, as evidence ... */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM device_sds o JOIN devices d"
	    " ON d.id = o.device_id WHERE hex(d.did) = upper('%s') AND o.spid = '" E2E_SPID "'",
	    did);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	/* ... and audits the claim as the device's own */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = 'device.sd_claimed'"
	    " AND actor = 'device:%s' AND detail = 'sdname=stolen.sd spid=" E2E_SPID "'", did);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	/* but sp1 does not see it, and its SP-wide assignment does not reach it */
	assert_false(sp_sees(did));
	sp_bulk_assign();
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM assignments a JOIN devices d"
	    " ON d.id = a.device_id WHERE hex(d.did) = upper('%s')", did);
	assert_int_equal(e2e_db_scalar(&env, sql), 0);
	/* so sp1's TA is never sent to it; the TAM keeps asking for the lie to go */
	session(evil, "GetDeviceStateRequest", NULL);
	assert_false(mock_tee_has_ta(evil, E2E_TAID));
	/* the claim is audited once, not at every session */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = 'device.sd_claimed'"
	    " AND actor = 'device:%s'", did);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	mock_tee_close(evil);
}

static void
test_created_sd_is_a_stake(void **state)
{
	struct mock_tee *mt = NULL;
	char did[TAM_DID_HEX];

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	did_hex(mt, did);
	session(mt, "GetDeviceStateRequest", NULL);
	assert_false(sp_sees(did));
	/* assigned by the operator: the SP sees it, and the TAM creates its SD */
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	assert_true(sp_sees(did));
	session(mt, "GetDeviceStateRequest CreateSDRequest InstallTARequest", NULL);
	assert_true(mock_tee_has_sd(mt, E2E_SPID ".sd"));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sd_stakes k"
	    " JOIN sps s ON s.id = k.sp_id WHERE s.spid = '" E2E_SPID "'"), 1);
	/* unassigned: its SD and TA are still there, so the SP still sees the device */
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	assert_true(sp_sees(did));
	/* once the TAM has deleted them, the stake is gone */
	session(mt, "GetDeviceStateRequest DeleteTARequest DeleteSDRequest", NULL);
	assert_false(mock_tee_has_sd(mt, E2E_SPID ".sd"));
	assert_false(sp_sees(did));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sd_stakes"), 0);
	/* the TAM's own SD was never a claim */
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action ="
	    " 'device.sd_claimed' AND detail LIKE '%spid=" E2E_SPID "' AND detail NOT LIKE"
	    " 'sdname=stolen.sd%'"), 0);
	mock_tee_close(mt);
}

/*
 * The stake is the SD the TAM made, not any SD of the SP: once the TAM has
 * deleted its own, an SD the device claims for the same SP keeps nothing.
 */
static void
test_claim_does_not_keep_stake(void **state)
{
	struct mock_tee *mt = NULL;
	char did[TAM_DID_HEX], sql[300];

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	did_hex(mt, did);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	session(mt, "GetDeviceStateRequest CreateSDRequest InstallTARequest", NULL);
	/* beside the TAM's own SD, the device claims another for the same SP */
	assert_int_equal(mock_tee_claim_sd(mt, "zz.claimed", E2E_SPID), 0);
	session(mt, "GetDeviceStateRequest UpdateSDRequest", "pass ERR_TAM_NOT_AUTHORIZED");
	/* audited although the SP has a stake there */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = 'device.sd_claimed'"
	    " AND actor = 'device:%s' AND detail = 'sdname=zz.claimed spid=" E2E_SPID "'", did);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	assert_int_equal(e2e_ctl(&env, "unassign tee1 " E2E_TAID), 0);
	session(mt, "GetDeviceStateRequest DeleteTARequest DeleteSDRequest DeleteSDRequest",
	    "pass pass pass ERR_TAM_NOT_AUTHORIZED");
	assert_true(mock_tee_has_sd(mt, "zz.claimed"));
	/* the TAM's SD is gone, and the stake with it */
	assert_false(sp_sees(did));
	sp_bulk_assign();
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM assignments a JOIN devices d"
	    " ON d.id = a.device_id WHERE hex(d.did) = upper('%s')", did);
	assert_int_equal(e2e_db_scalar(&env, sql), 0);
	mock_tee_close(mt);
}

/*
 * Claims are the device's words: long ones are counted, not allowed to stop
 * its answers, and a name cannot forge fields of the audit row.
 */
static void
test_claims_long_and_hostile(void **state)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	char name[64], spid[64], did[TAM_DID_HEX], sql[400];

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee3", "tee3", false, &mt), 0);
	did_hex(mt, did);
	assert_int_equal(mock_tee_claim_sd(mt, "x spid=sp2 sdname=\"y\"", "sp2"), 0);
	for (int i = 0; i < 9; i++) {
		memset(name, 'a' + i, 63);
		name[63] = '\0';
		memset(spid, 'k' + i, 63);
		spid[63] = '\0';
		assert_int_equal(mock_tee_claim_sd(mt, name, spid), 0);
	}
	/* registered and answered (it refuses to delete its lies): ten claims in one row */
	assert_int_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_int_equal(res.final_status, 204);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = 'device.sd_claimed'"
	    " AND actor = 'device:%s' AND detail LIKE 'sdname=\"x spid=sp2 sdname=\\\"y\\\"\""
	    " spid=sp2 sdname=aaa%%' AND detail LIKE '%% more=_'", did);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	mock_tee_close(mt);
}

struct locker {
	char did[TAM_DID_HEX];
	int rc;
};

/* An operator's decommission that holds the write lock for a while, as a slow writer would. */
static void *
decommission_slowly(void *arg)
{
	struct locker *l = arg;
	sqlite3 *db = NULL;
	char sql[300];

	snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; UPDATE devices SET state = 'decommissioned'"
	    " WHERE hex(did) = upper('%s');", l->did);
	l->rc = sqlite3_open(env.db, &db) == SQLITE_OK && sqlite3_busy_timeout(db, 5000) ==
	    SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	usleep(1500 * 1000);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		l->rc = -1;
	sqlite3_close(db);
	return NULL;
}

/*
 * A device decommissioned while the TAM works on its answer gets nothing
 * more: the commit sees the change and refuses, no request is recorded.
 */
static void
test_decommission_during_answer(void **state)
{
	struct mock_http_resp r = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	struct locker l = { .rc = -1 };
	char *out = NULL, sql[300];
	size_t len = 0;
	pthread_t t;

	(void)state;
	assert_int_equal(e2e_pki_issue(&env, "tee", "tee5"), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee5", "tee5", false, &mt), 0);
	did_hex(mt, l.did);
	session(mt, "GetDeviceStateRequest", NULL);
	assert_int_equal(e2e_ctl(&env, "assign %s " E2E_TAID, l.did), 0);
	assert_int_equal(mock_http_post(env.url, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE,
	    (const uint8_t *)"", 0, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(mock_tee_process(mt, (const uint8_t *)r.body, r.len, &out, &len, &err), 0);
	mock_http_resp_clear(&r);
	assert_int_equal(pthread_create(&t, NULL, decommission_slowly, &l), 0);
	usleep(400 * 1000);
	assert_int_equal(mock_http_post(env.url, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE,
	    (const uint8_t *)out, len, &r, &err), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(l.rc, 0);
	assert_int_equal(r.status, 403);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM requests q JOIN devices d ON d.id ="
	    " q.device_id WHERE hex(d.did) = upper('%s') AND q.op <> 'none'", l.did);
	assert_int_equal(e2e_db_scalar(&env, sql), 0);
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	free(out);
	mock_http_resp_clear(&r);
	mock_tee_close(mt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claimed_sd_grants_nothing),
		cmocka_unit_test(test_created_sd_is_a_stake),
		cmocka_unit_test(test_claim_does_not_keep_stake),
		cmocka_unit_test(test_claims_long_and_hostile),
		cmocka_unit_test(test_decommission_during_answer),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
