// SPDX-License-Identifier: MIT
/*
 * The seed project's test flow over real HTTP, with a mock TEE that checks
 * every signature and decrypts every TA: install -> confirm -> delete ->
 * confirm, and the database's observed state at every step. Also the same
 * flow for a TEE enrolled by raw public key, and first contact of a TEE that
 * nobody enrolled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "e2e.h"

static struct e2e_env env;

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0 || e2e_start(&env, NULL) != 0) {
		fprintf(stderr, "e2e setup failed (see %s)\n", env.log);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	int st;

	(void)state;
	st = e2e_stop(&env);
	e2e_teardown(&env);
	if (st != 0)
		fprintf(stderr, "otrp-tamd exited with %d\n", st);
	return st == 0 ? 0 : -1;
}

static void
run_session(struct mock_tee *mt, struct mock_session_result *res, const char *const *want, int n)
{
	struct tam_err err = { 0 };

	memset(res, 0, sizeof(*res));
	if (mock_tee_run_session(mt, env.url, res, &err) != 0)
		fail_msg("session failed: %s (HTTP %ld: %s)", err.msg, res->final_status, res->error);
	assert_int_equal(res->final_status, 204);
	if (res->n_requests != n) {
		for (int i = 0; i < res->n_requests; i++)
			fprintf(stderr, "request %d: %s\n", i, res->requests[i]);
		fail_msg("expected %d requests, got %d", n, res->n_requests);
	}
	for (int i = 0; i < n; i++)
		assert_string_equal(res->requests[i], want[i]);
}

static void
assert_file_equal(const char *a, const char *b)
{
	uint8_t *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;

	assert_int_equal(tam_file_read(a, 1 << 24, &da, &la, NULL), 0);
	assert_int_equal(tam_file_read(b, 1 << 24, &db, &lb, NULL), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	free(da);
	free(db);
}

/* install -> confirm -> delete -> confirm, for one device */
static void
seed_flow(struct mock_tee *mt, const char *device)
{
	static const char *const full[] = { "GetDeviceStateRequest", "CreateSDRequest", "InstallTARequest" };
	static const char *const gds[] = { "GetDeviceStateRequest" };
	static const char *const del[] = { "GetDeviceStateRequest", "DeleteTARequest",
		"DeleteSDRequest" };
	struct mock_session_result res;
	char path[512];
	uint8_t before[32], after[32];

	assert_int_equal(e2e_ctl(&env, "assign %s " E2E_TAID, device), 0);
	assert_int_equal(e2e_db_has_ta(&env, device, E2E_TAID), 0);

	/* 1. install */
	run_session(mt, &res, full, 3);
	assert_true(mock_tee_has_sd(mt, E2E_SPID ".sd"));
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(mock_tee_ta_path(mt, E2E_TAID, path, sizeof(path)), 0);
	assert_file_equal(path, env.ta_bin);
	assert_int_equal(e2e_db_has_ta(&env, device, E2E_TAID), 1);

	/* 2. confirm: a new session finds nothing to do and changes no state */
	assert_int_equal(e2e_db_digest(&env, false, before), 0);
	run_session(mt, &res, gds, 1);
	assert_int_equal(e2e_db_digest(&env, false, after), 0);
	assert_memory_equal(before, after, 32);
	assert_int_equal(e2e_db_has_ta(&env, device, E2E_TAID), 1);
	assert_true(mock_tee_has_ta(mt, E2E_TAID));

	/* 3. delete */
	assert_int_equal(e2e_ctl(&env, "unassign %s " E2E_TAID, device), 0);
	run_session(mt, &res, del, 3);
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	/* the SD went with its last TA, and the SP's AIK with its last SD */
	assert_false(mock_tee_has_sd(mt, E2E_SPID ".sd"));
	assert_null(mock_tee_aik(mt, E2E_SPID));
	assert_int_equal(e2e_db_has_ta(&env, device, E2E_TAID), 0);

	/* 4. confirm it is gone: nothing to do, and nothing but the session bookkeeping changes */
	assert_int_equal(e2e_db_digest(&env, false, before), 0);
	run_session(mt, &res, gds, 1);
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_db_has_ta(&env, device, E2E_TAID), 0);
	assert_int_equal(e2e_db_digest(&env, false, after), 0);
	assert_memory_equal(before, after, 32);
}

static void
test_seed_flow_cert_tee(void **state)
{
	struct mock_tee *mt = NULL;
	char out[64];

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	seed_flow(mt, "tee1");
	/* the observed state shows neither the TA nor the SD, nor the SP's AIK */
	assert_int_equal(e2e_ctl_out(&env, out, sizeof(out), "device show tee1"), 0);
	assert_int_equal(strncmp(out, "device ", 7), 0);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM device_sds JOIN devices ON devices.id = device_id "
	    "WHERE devices.name = 'tee1'"), 0);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM device_spaiks JOIN devices ON devices.id = device_id "
	    "WHERE devices.name = 'tee1'"), 0);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'sd.delete'"), 1);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'ta.install'"), 1);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'ta.delete'"), 1);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM sessions WHERE ended IS NULL"), 0);
	mock_tee_close(mt);
}

static void
test_seed_flow_raw_key_tee(void **state)
{
	struct mock_tee *mt = NULL;
	char cmd[600];

	(void)state;
	/* tee2 is enrolled by its public key only: the TAM never sees its certificate */
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s/tee/tee2.key -pubout -out %s/tee2.pub",
	    env.pki, env.dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(e2e_ctl(&env, "device enroll --key %s/tee2.pub --name tee2 >/dev/null", env.dir), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "tee2-raw", true, &mt), 0);
	seed_flow(mt, "tee2");
	mock_tee_close(mt);
}

static void
test_first_contact_registers(void **state)
{
	static const char *const gds[] = { "GetDeviceStateRequest" };
	struct mock_session_result res;
	struct mock_tee *mt = NULL;
	long long before;

	(void)state;
	/* tee3's certificate chains to the trust anchor; nobody enrolled it */
	before = e2e_db_scalar(&env, "SELECT count(*) FROM devices WHERE key_kind = 'cert'");
	assert_int_equal(e2e_mock(&env, env.pki, "tee3", "tee3", false, &mt), 0);
	run_session(mt, &res, gds, 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM devices WHERE key_kind = 'cert'"),
	    before + 1);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'device.register'"), 1);
	mock_tee_close(mt);
}

static void
test_raw_key_device_renewed_by_cert(void **state)
{
	static const char *const gds[] = { "GetDeviceStateRequest" };
	struct mock_session_result res;
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	long long id = e2e_db_scalar(&env, "SELECT id FROM devices WHERE name = 'tee2'");

	(void)state;
	/*
	 * tee2's key is enrolled as a raw-key device (test above); its certificate
	 * chains to the anchor, so it renews that device instead of adding one
	 */
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "tee2-cert", false, &mt), 0);
	run_session(mt, &res, gds, 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT id FROM devices WHERE name = 'tee2'"), id);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM devices WHERE name = 'tee2' AND key_kind = 'cert'"), 1);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'device.cert_renewed'"), 1);
	mock_tee_close(mt);
	/* known by its certificate now, the key id alone no longer names it */
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "tee2-raw", true, &mt), 0);
	assert_int_not_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_int_equal(res.final_status, 403);
	assert_non_null(strstr(res.error, "device_unknown"));
	mock_tee_close(mt);
}

/* The value of one sample line "name{labels} value" of a Prometheus page; -1 if absent. */
static double
sample(const char *page, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = page; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void
test_health_and_metrics(void **state)
{
	char url[200], *body = NULL;
	long status = 0;
	json_t *j;
	double count = 0, cum = -1;

	(void)state;
	snprintf(url, sizeof(url), "%s/healthz", env.api_url);
	assert_int_equal(e2e_get(url, &status, &body), 0);
	assert_int_equal(status, 200);
	j = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	json_decref(j);
	free(body);

	snprintf(url, sizeof(url), "%s/metrics", env.api_url);
	assert_int_equal(e2e_get(url, &status, &body), 0);
	assert_int_equal(status, 200);
	/* every line is a comment or "series value": the text format parses */
	for (char *line = strtok(body, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *sp = strrchr(line, ' '), *end;
		if (line[0] == '#')
			continue;
		assert_non_null(sp);
		strtod(sp + 1, &end);
		assert_true(*end == '\0');
	}
	free(body);
	assert_int_equal(e2e_get(url, &status, &body), 0);
	/* the seed flows above: sessions, installs, deletes, one refused raw-key session */
	assert_true(sample(body, "otrp_sessions_started_total") >= 10);
	assert_true(sample(body, "otrp_sessions_completed_total{result=\"ok\"}") >= 9);
	assert_true(sample(body, "otrp_operations_total{op=\"InstallTA\",result=\"pass\"}") >= 2);
	assert_true(sample(body, "otrp_operations_total{op=\"DeleteTA\",result=\"pass\"}") >= 2);
	assert_true(sample(body, "otrp_operations_total{op=\"DeleteSD\",result=\"pass\"}") >= 2);
	assert_true(sample(body, "otrp_operations_total{op=\"CreateSD\",result=\"pass\"}") >= 2);
	assert_true(sample(body, "otrp_messages_rejected_total{reason=\"device_unknown\"}") >= 1);
	assert_true(sample(body, "tam_devices{state=\"active\"}") >= 3);
	assert_true(sample(body, "tam_tas") == 1);
	/* the histogram is cumulative and its count is the sum of the answers */
	for (const char *le = strstr(body, "otrp_request_duration_seconds_bucket"); le != NULL;
	    le = strstr(le + 1, "otrp_request_duration_seconds_bucket")) {
		double v = strtod(strchr(le, ' ') + 1, NULL);
		assert_true(v >= cum);
		cum = v;
	}
	count = sample(body, "otrp_request_duration_seconds_count");
	assert_true(count > 0);
	assert_true(cum == count);
	assert_true(sample(body, "otrp_http_responses_total{status=\"200\"}") +
	    sample(body, "otrp_http_responses_total{status=\"204\"}") +
	    sample(body, "otrp_http_responses_total{status=\"403\"}") <= count);
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_flow_cert_tee),
		cmocka_unit_test(test_seed_flow_raw_key_tee),
		cmocka_unit_test(test_first_contact_registers),
		cmocka_unit_test(test_raw_key_device_renewed_by_cert),
		cmocka_unit_test(test_health_and_metrics),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
