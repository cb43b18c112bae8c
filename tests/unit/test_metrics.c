// SPDX-License-Identifier: MIT
/*
 * Unit tests for metrics and the operations handlers: counters land in the
 * right series, unknown labels fold into "other", the histogram is
 * cumulative, and /healthz and /metrics answer from a real database.
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

#include "tam/api.h"
#include "tam/metrics.h"

static double
sample(const char *page, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = page; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static char *
render(void)
{
	struct metrics_gauges g = { .devices_active = 3, .devices_decommissioned = 1, .tas = 2,
	    .ta_versions = 5, .sessions_open = 4 };
	struct tam_buf b = { 0 };

	assert_int_equal(metrics_render(&b, &g, "9.9"), 0);
	return (char *)b.data;
}

static void
test_counters(void **state)
{
	char *page;

	(void)state;
	metrics_session_started();
	metrics_session_started();
	metrics_session_completed("ok");
	metrics_session_completed("tee-fail:ERR_TA_INVALID");
	metrics_session_completed("surprise:x");
	metrics_message_rejected(TAM_ERID_REPLAYED);
	metrics_message_rejected(12345);
	metrics_operation(TAM_OP_INSTALL_TA, true);
	metrics_operation(TAM_OP_DELETE_TA, false);
	metrics_operation(TAM_OP_NONE, true);
	metrics_db_error();
	page = render();
	assert_true(sample(page, "tam_build_info{version=\"9.9\"}") == 1);
	assert_true(sample(page, "otrp_sessions_started_total") == 2);
	assert_true(sample(page, "otrp_sessions_completed_total{result=\"ok\"}") == 1);
	assert_true(sample(page, "otrp_sessions_completed_total{result=\"tee-fail\"}") == 1);
	assert_true(sample(page, "otrp_sessions_completed_total{result=\"other\"}") == 1);
	assert_true(sample(page, "otrp_messages_rejected_total{reason=\"rid_replayed\"}") == 1);
	assert_true(sample(page, "otrp_messages_rejected_total{reason=\"other\"}") == 1);
	assert_true(sample(page, "otrp_operations_total{op=\"InstallTA\",result=\"pass\"}") == 1);
	assert_true(sample(page, "otrp_operations_total{op=\"DeleteTA\",result=\"fail\"}") == 1);
	assert_true(sample(page, "otrp_operations_total{op=\"CreateSD\",result=\"pass\"}") == 0);
	assert_true(sample(page, "tam_database_errors_total") == 1);
	assert_true(sample(page, "otrp_sessions_active") == 4);
	assert_true(sample(page, "tam_devices{state=\"decommissioned\"}") == 1);
	assert_true(sample(page, "tam_ta_versions") == 5);
	free(page);
}

static void
test_histogram(void **state)
{
	char *page;

	(void)state;
	metrics_request(200, 0.0005);
	metrics_request(204, 0.003);
	metrics_request(400, 0.2);
	metrics_request(599, 30);
	page = render();
	assert_true(sample(page, "otrp_request_duration_seconds_bucket{le=\"0.001\"}") == 1);
	assert_true(sample(page, "otrp_request_duration_seconds_bucket{le=\"0.005\"}") == 2);
	assert_true(sample(page, "otrp_request_duration_seconds_bucket{le=\"0.25\"}") == 3);
	assert_true(sample(page, "otrp_request_duration_seconds_bucket{le=\"2.5\"}") == 3);
	assert_true(sample(page, "otrp_request_duration_seconds_bucket{le=\"+Inf\"}") == 4);
	assert_true(sample(page, "otrp_request_duration_seconds_count") == 4);
	assert_true(sample(page, "otrp_request_duration_seconds_sum") > 30.2);
	assert_true(sample(page, "otrp_http_responses_total{status=\"204\"}") == 1);
	assert_true(sample(page, "otrp_http_responses_total{status=\"other\"}") == 1);
	free(page);
}

static struct store *db;

static struct store *
this_store(struct tam_err *err)
{
	(void)err;
	return db;
}

/* GET path in-process, as the listener would answer it. */
static unsigned
get(const struct http_route *routes, size_t n, const char *path, struct http_answer *ans)
{
	struct http_local lr = { .method = "GET", .path = path };
	unsigned status = 0;

	assert_int_equal(http_dispatch_local(routes, n, &lr, &status, ans, NULL), 0);
	return status;
}

static void
test_handlers(void **state)
{
	struct api_ctx ctx = { .store = this_store, .version = "1.2.3" };
	struct http_route routes[HTTP_MAX_ROUTES];
	struct http_answer ans;
	char dir[] = "/tmp/otrp-metrics-XXXXXX", path[64];
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db", dir);
	assert_int_equal(store_open(path, STORE_CREATE, &db, NULL), 0);
	n = api_routes(&ctx, routes, HTTP_MAX_ROUTES);
	assert_true(n > 2);
	assert_int_equal(get(routes, n, "/healthz", &ans), 200);
	assert_non_null(strstr(ans.body, "\"status\":\"ok\""));
	assert_non_null(strstr(ans.body, "1.2.3"));
	http_answer_clear(&ans);
	assert_int_equal(get(routes, n, "/metrics", &ans), 200);
	assert_string_equal(ans.content_type, "text/plain; version=0.0.4");
	assert_true(sample(ans.body, "tam_devices{state=\"active\"}") == 0);
	assert_true(sample(ans.body, "tam_ta_uploads_total{result=\"stored\"}") == 0);
	http_answer_clear(&ans);
	metrics_upload(true, 1000);
	metrics_upload(false, 0);
	assert_int_equal(get(routes, n, "/metrics", &ans), 200);
	assert_true(sample(ans.body, "tam_ta_uploads_total{result=\"stored\"}") == 1);
	assert_true(sample(ans.body, "tam_ta_uploads_total{result=\"refused\"}") == 1);
	assert_true(sample(ans.body, "tam_ta_upload_bytes_total") == 1000);
	http_answer_clear(&ans);
	/* without a database: unhealthy, not a crash */
	store_close(db);
	db = NULL;
	assert_int_equal(get(routes, n, "/healthz", &ans), 503);
	http_answer_clear(&ans);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_handlers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
