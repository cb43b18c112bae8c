// SPDX-License-Identifier: MIT
/*
 * End-to-end: no client may exhaust the daemon by opening sessions. A flood
 * of empty POSTs (each one a signed GetDeviceStateRequest) from 127.0.0.1
 * writes nothing to the database and is cut to its rate limit with 429 and
 * Retry-After, while a device at another loopback address, 127.0.0.2, runs
 * its session as usual; a client that keeps sending what fails is limited
 * the same way. Another daemon on the same database takes the answer to a
 * session the first opened, and an old database learns to give space back.
 * Prints the figures: database growth, answers and refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "e2e.h"

#define FLOOD_POSTS 5000              /* empty POSTs at most ... */
#define FLOOD_SECONDS 30              /* ... and for at most this long */
#define OPEN_BURST 60                 /* limits.open_burst, the default */
#define OPEN_PER_MINUTE 600           /* limits.open_rate, the default */
#define FAILURE_BURST 30              /* limits.failure_burst, the default */
#define MAX_GROWTH (64 * 1024)        /* bytes the database files may grow by the flood */

static struct e2e_env env;

static int
group_setup(void **state)
{
	(void)state;
	return e2e_setup(&env) == 0 && e2e_start(&env, NULL) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (mock_http_set_source(NULL) != 0)
		fprintf(stderr, "cannot reset the source address\n");
	return e2e_group_end(&env);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes of the database and its WAL. */
static long long
db_bytes(void)
{
	char wal[320];
	struct stat a, b;
	long long n = 0;

	snprintf(wal, sizeof(wal), "%s-wal", env.db);
	if (stat(env.db, &a) == 0)
		n += a.st_size;
	if (stat(wal, &b) == 0)
		n += b.st_size;
	return n;
}

static long long
bookkeeping_rows(void)
{
	return e2e_db_scalar(&env, "SELECT (SELECT count(*) FROM sessions) +"
	    " (SELECT count(*) FROM requests)");
}

/* POST body from the current source address; the status, and Retry-After in *retry. */
static long
post(const char *body, long *retry)
{
	struct mock_http_resp r = { 0 };
	long status;

	if (e2e_post(&env, body, strlen(body), &r) != 0)
		return 0;
	status = r.status;
	if (retry != NULL && r.retry_after > 0)
		*retry = r.retry_after;
	mock_http_resp_clear(&r);
	return status;
}

static void
test_open_flood(void **state)
{
	struct mock_tee *mt = NULL;
	long long size0, size1, rows0, rows1;
	int n = 0, ok = 0, limited = 0, other = 0;
	long retry = 0;
	double t0, secs;
	char why[512];

	(void)state;
	size0 = db_bytes();
	rows0 = bookkeeping_rows();
	assert_int_equal(mock_http_set_source("127.0.0.1"), 0);
	t0 = now_s();
	for (; n < FLOOD_POSTS && now_s() - t0 < FLOOD_SECONDS; n++) {
		long st = post("", &retry);
		if (st == 200)
			ok++;
		else if (st == 429)
			limited++;
		else
			other++;
	}
	secs = now_s() - t0;
	size1 = db_bytes();
	rows1 = bookkeeping_rows();
	printf("flood: %d empty POSTs from 127.0.0.1 in %.1f s: %d answered 200, %d got 429 "
	    "(Retry-After %ld s), %d other; database %+lld bytes, session/request rows %+lld\n",
	    n, secs, ok, limited, retry, other, size1 - size0, rows1 - rows0);
	assert_int_equal(other, 0);
	assert_int_equal(rows1 - rows0, 0);
	assert_true(size1 - size0 < MAX_GROWTH);
	assert_true(limited > 0);
	assert_true(retry >= 1);
	assert_true(ok <= OPEN_BURST + (int)(secs * OPEN_PER_MINUTE / 60) + 2);

	/* a device elsewhere is served meanwhile, and its session is written as it answers */
	assert_int_equal(mock_http_set_source("127.0.0.2"), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	if (e2e_session_expect(&env, mt, "GetDeviceStateRequest", NULL, why, sizeof(why)) != 0)
		fail_msg("session from 127.0.0.2: %s", why);
	mock_tee_close(mt);
	assert_int_equal(bookkeeping_rows() - rows1, 2);
	/* and the flooding address gets only what refilled meanwhile (ten a second) */
	assert_int_equal(mock_http_set_source("127.0.0.1"), 0);
	n = 0;
	while (n < 100 && post("", NULL) == 200)
		n++;
	assert_true(n < 100);
}

/* Messages that fail spend a budget of their own: past it, 429 before any work. */
static void
test_failure_flood(void **state)
{
	static const char junk[] = "{\"GetDeviceStateResponse\":{}}";
	int bad = 0, limited = 0, n = 0;
	long retry = 0;
	double t0 = now_s(), secs;

	(void)state;
	assert_int_equal(mock_http_set_source("127.0.0.3"), 0);
	for (; n < 200; n++) {
		long st = post(junk, &retry);
		if (st == 400)
			bad++;
		else if (st == 429)
			limited++;
	}
	secs = now_s() - t0;
	printf("failures: %d malformed answers from 127.0.0.3 in %.1f s: %d got 400, %d got 429 "
	    "(Retry-After %ld s)\n", n, secs, bad, limited, retry);
	assert_int_equal(bad + limited, n);
	/* the burst, and one more a second (limits.failure_rate 60) */
	assert_true(bad >= FAILURE_BURST && bad <= FAILURE_BURST + (int)secs + 2);
	assert_true(retry >= 1);
	/* its session opens are another budget: still served */
	assert_int_equal(post("", NULL), 200);
	assert_true(e2e_log_wait(&env, "event=ratelimit client=127.0.0.3 kind=failure", 2000));
}

/*
 * Opening writes nothing, yet any daemon of the database takes the answer:
 * a session opened at one daemon is answered at another on the same file.
 */
static void
test_second_daemon_takes_the_answer(void **state)
{
	struct e2e_env other = env;
	struct mock_tee *mt = NULL;
	struct mock_http_resp r = { 0 };
	struct tam_err err = { 0 };
	char *ans = NULL;
	size_t len = 0;
	long long rows;

	(void)state;
	snprintf(other.dir, sizeof(other.dir), "%s/second", env.dir);
	snprintf(other.log, sizeof(other.log), "%s/second/tamd.log", env.dir);
	assert_int_equal(e2e_sh("mkdir -p %s", other.dir), 0);
	assert_int_equal(e2e_start(&other, NULL), 0);
	assert_int_equal(mock_http_set_source("127.0.0.4"), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	rows = bookkeeping_rows();
	assert_int_equal(e2e_post(&env, "", 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(mock_tee_process(mt, (uint8_t *)r.body, r.len, &ans, &len, &err), 0);
	mock_http_resp_clear(&r);
	assert_int_equal(mock_http_post(other.url, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE,
	    (uint8_t *)ans, len, &r, &err), 0);
	assert_true(r.status == 200 || r.status == 204);
	mock_http_resp_clear(&r);
	assert_int_equal(bookkeeping_rows() - rows, 2);
	/* and the first daemon knows it was answered */
	assert_int_equal(e2e_post(&env, ans, len, &r), 0);
	assert_int_equal(r.status, 400);
	mock_http_resp_clear(&r);
	free(ans);
	mock_tee_close(mt);
	assert_int_equal(e2e_stop(&other), 0);
}

/*
 * A database made by otrp-tamctl init gives freed space back (incremental
 * auto-vacuum); one from before is converted when the daemon starts.
 */
static void
test_auto_vacuum(void **state)
{
	(void)state;
	assert_int_equal(e2e_db_scalar(&env, "PRAGMA auto_vacuum"), 2);
	assert_int_equal(e2e_stop(&env), 0);
	/* test-only SQL, as an older otrp-tamd would have left the file */
	assert_int_equal(e2e_sh("python3 -c 'import sqlite3; c = sqlite3.connect(\"%s\"); "
	    "c.execute(\"PRAGMA auto_vacuum = NONE\"); c.execute(\"VACUUM\"); c.close()'", env.db), 0);
	assert_int_equal(e2e_db_scalar(&env, "PRAGMA auto_vacuum"), 0);
	assert_int_equal(e2e_start(&env, NULL), 0);
	assert_true(e2e_log_wait(&env, "incremental auto-vacuum enabled", 5000));
	assert_int_equal(e2e_db_scalar(&env, "PRAGMA auto_vacuum"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_flood),
		cmocka_unit_test(test_failure_flood),
		cmocka_unit_test(test_second_daemon_takes_the_answer),
		cmocka_unit_test(test_auto_vacuum),
	};
	return cmocka_run_group_tests_name("e2e_flood", tests, group_setup, group_teardown);
}
