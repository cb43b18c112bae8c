// SPDX-License-Identifier: MIT
/*
 * Crash consistency: otrp-tamd is killed with SIGKILL at random points of
 * install and delete sessions, again and again, and restarted each time.
 * The database must stay whole (integrity_check, foreign_key_check) and,
 * once a session has settled, what the TAM records of the device must be
 * what the mock TEE holds: no half-written record survives a crash, and
 * the device's next report repairs whatever the TAM did not hear.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"

#define KILLS 60                      /* the issue asks for at least 50 */
#define KILL_WINDOW_US 40000          /* a session's few round trips fit in it */

static struct e2e_env env;

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0)
		return -1;
	return e2e_start(&env, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/* Run one session of mt in a child process; its pid. The child's state reaches the disk. */
static pid_t
session_in_child(struct mock_tee *mt)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };
	pid_t pid = fork();

	if (pid == 0)
		_exit(mock_tee_run_session(mt, env.url, &res, &err) == 0 ? 0 : 1);
	return pid;
}

static void
kill_daemon(void)
{
	assert_int_equal(kill(env.tamd, SIGKILL), 0);
	assert_int_equal(waitpid(env.tamd, NULL, 0), env.tamd);
	env.tamd = 0;
}

static void
db_whole(void)
{
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM pragma_integrity_check"
	    " WHERE integrity_check <> 'ok'"), 0);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

/* Sessions until one asks nothing but the device's state: at most a few. */
static void
settle(struct mock_tee *mt)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };

	for (int i = 0; i < 6; i++) {
		if (mock_tee_run_session(mt, env.url, &res, &err) != 0)
			fail_msg("settling session: %s (HTTP %ld)", res.error, res.final_status);
		if (res.n_requests == 1)
			return;
	}
	fail_msg("the device did not settle in 6 sessions");
}

static void
test_kill_during_sessions(void **state)
{
	unsigned seed = (unsigned)time(NULL);
	struct mock_tee *mt = NULL;
	int status, cut = 0;

	(void)state;
	printf("crash test: seed %u, %d kills\n", seed, KILLS);
	srand(seed);
	for (int i = 0; i < KILLS; i++) {
		/* install and delete sessions take turns */
		assert_int_equal(e2e_ctl(&env, "%s tee1 " E2E_TAID " >/dev/null",
		    i % 2 == 0 ? "assign" : "unassign"), 0);
		assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
		pid_t child = session_in_child(mt);
		assert_true(child > 0);
		usleep((useconds_t)(rand() % KILL_WINDOW_US));
		kill_daemon();
		assert_int_equal(waitpid(child, &status, 0), child);
		cut += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		mock_tee_close(mt);
		db_whole();
		assert_int_equal(e2e_start(&env, NULL), 0);
	}
	printf("crash test: %d of %d sessions cut by the kill\n", cut, KILLS);
	/* a test that never kills mid-session tests nothing */
	assert_true(cut >= KILLS / 4);
	/* what the TEE holds is what the TAM records, and what was last asked for */
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &mt), 0);
	settle(mt);
	db_whole();
	assert_int_equal(e2e_db_has_ta(&env, "tee1", E2E_TAID), mock_tee_has_ta(mt, E2E_TAID));
	assert_false(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM device_sds o JOIN devices d"
	    " ON d.id = o.device_id WHERE d.name = 'tee1'"), mock_tee_has_sd(mt, E2E_SPID ".sd"));
	/* and the other way round, after one more install */
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID), 0);
	settle(mt);
	assert_true(mock_tee_has_ta(mt, E2E_TAID));
	assert_int_equal(e2e_db_has_ta(&env, "tee1", E2E_TAID), 1);
	db_whole();
	mock_tee_close(mt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_during_sessions),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
