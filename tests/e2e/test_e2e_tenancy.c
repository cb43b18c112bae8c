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
	if (env.tamd > 0 && e2e_stop(&env) != 0)
		fprintf(stderr, "otrp-tamd did not stop cleanly\n");
	e2e_teardown(&env);
	return 0;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claimed_sd_grants_nothing),
		cmocka_unit_test(test_created_sd_is_a_stake),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
