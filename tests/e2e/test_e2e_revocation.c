// SPDX-License-Identifier: MIT
/*
 * Revocation end to end. TEE certificates: CRLs placed beside the trust
 * anchors (trust.anchor_dir, made by pki/otrp-pki.sh revoke) refuse a
 * revoked TEE with a specific error, leave the others alone, and are picked
 * up again on SIGHUP.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"

static struct e2e_env env;
static char anchors[400], opt_dir[460];

static int
sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int
group_setup(void **state)
{
	const char *b = getenv("TAM_BUILD_DIR");
	const char *extra[] = { "-o", opt_dir, NULL };

	(void)state;
	if (e2e_setup(&env) != 0)
		return -1;
	snprintf(anchors, sizeof(anchors), "%s/anchors", env.dir);
	snprintf(opt_dir, sizeof(opt_dir), "trust.anchor_dir=%s", anchors);
	/* The TEE CA beside a CRL that revokes nothing yet. */
	if (sh("mkdir -p %s && cp %s/tee/ca.crt %s/tee-ca.pem", anchors, env.pki, anchors) != 0 ||
	    sh("sh %s/../pki/otrp-pki.sh crl %s tee >/dev/null && cp %s/tee/ca.crl %s/tee-ca.crl",
	    b != NULL ? b : "build", env.pki, env.pki, anchors) != 0)
		return -1;
	return e2e_start(&env, extra);
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

/* One session of TEE leaf tee; its final HTTP status, and the error in *why. */
static long
session(const char *tee, char *why, size_t whylen)
{
	struct mock_session_result res = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	char label[80];
	static int n;

	snprintf(label, sizeof(label), "%s-%d", tee, n++);
	assert_int_equal(e2e_mock(&env, env.pki, tee, label, false, &mt), 0);
	if (mock_tee_run_session(mt, env.url, &res, &err) != 0 && res.error[0] == '\0')
		snprintf(res.error, sizeof(res.error), "%s", err.msg);
	snprintf(why, whylen, "%s", res.error);
	mock_tee_close(mt);
	return res.final_status;
}

/* SIGHUP, and wait until the daemon says the reload is done. */
static void
reload(int nth)
{
	char needle[64];
	int seen = 0;

	snprintf(needle, sizeof(needle), "event=reload result=ok");
	assert_int_equal(kill(env.tamd, SIGHUP), 0);
	for (int i = 0; i < 100 && seen < nth; i++) {
		FILE *f = fopen(env.log, "r");
		char line[1024];
		seen = 0;
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			seen += strstr(line, needle) != NULL;
		if (f != NULL)
			fclose(f);
		if (seen < nth)
			usleep(50000);
	}
	assert_true(seen >= nth);
}

static void
test_crl_refuses_revoked_tee(void **state)
{
	char why[512];

	(void)state;
	/* an empty CRL: everyone passes, the CRL being checked (and valid) */
	assert_int_equal(session("tee3", why, sizeof(why)), 204);
	assert_int_equal(session("tee1", why, sizeof(why)), 204);
	/* tee3 revoked, the new CRL picked up on SIGHUP */
	assert_int_equal(sh("sh %s/../pki/otrp-pki.sh revoke %s tee tee3 >/dev/null && "
	    "cp %s/tee/ca.crl %s/tee-ca.crl", getenv("TAM_BUILD_DIR") ? getenv("TAM_BUILD_DIR") :
	    "build", env.pki, env.pki, anchors), 0);
	reload(1);
	assert_int_equal(session("tee3", why, sizeof(why)), 403);
	assert_non_null(strstr(why, "revoked"));
	/* the others are not */
	assert_int_equal(session("tee1", why, sizeof(why)), 204);
	assert_int_equal(session("tee2", why, sizeof(why)), 204);
	/* a CRL that does not parse refuses the reload; the running one stays */
	assert_int_equal(sh("echo garbage > %s/bad.crl", anchors), 0);
	assert_int_equal(kill(env.tamd, SIGHUP), 0);
	assert_true(e2e_log_wait(&env, "event=reload result=refused", 5000));
	assert_int_equal(session("tee3", why, sizeof(why)), 403);
	assert_int_equal(sh("rm %s/bad.crl", anchors), 0);
	/* without the CRL, tee3 passes again */
	assert_int_equal(sh("rm %s/tee-ca.crl", anchors), 0);
	reload(2);
	assert_int_equal(session("tee3", why, sizeof(why)), 204);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crl_refuses_revoked_tee),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
