// SPDX-License-Identifier: MIT
/*
 * Revocation end to end, both ways. TEE certificates: CRLs placed beside the
 * trust anchors (trust.anchor_dir, made by pki/otrp-pki.sh revoke) refuse a
 * revoked TEE with a specific error, leave the others alone, and are picked
 * up again on SIGHUP. The TAM's own: OCSP responses (identity.ocsp_dir, made
 * by pki/otrp-pki.sh ocsp) are stapled in every GetDeviceStateRequest and
 * checked by a mock TEE that requires them; refreshed ones are picked up on
 * SIGHUP; a revoked or missing one stops the start (or, with
 * identity.ocsp_stale = warn, is left out and the TEE refuses the TAM).
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
static char anchors[400], opt_dir[460], opt_ocsp[460], pki_script[400];

static int
group_setup(void **state)
{
	const char *b = getenv("TAM_BUILD_DIR");
	const char *extra[] = { "-o", opt_dir, "-o", opt_ocsp, NULL };

	(void)state;
	snprintf(pki_script, sizeof(pki_script), "%s/../pki/otrp-pki.sh", b != NULL ? b : "build");
	if (e2e_setup(&env) != 0)
		return -1;
	snprintf(opt_ocsp, sizeof(opt_ocsp), "identity.ocsp_dir=%s/tam/ocsp", env.pki);
	if (e2e_sh("sh %s ocsp %s >/dev/null", pki_script, env.pki) != 0)
		return -1;
	snprintf(anchors, sizeof(anchors), "%s/anchors", env.dir);
	snprintf(opt_dir, sizeof(opt_dir), "trust.anchor_dir=%s", anchors);
	/* The TEE CA beside a CRL that revokes nothing yet. */
	if (e2e_sh("mkdir -p %s && cp %s/tee/ca.crt %s/tee-ca.pem", anchors, env.pki, anchors) != 0 ||
	    e2e_sh("sh %s/../pki/otrp-pki.sh crl %s tee >/dev/null && cp %s/tee/ca.crl %s/tee-ca.crl",
	    b != NULL ? b : "build", env.pki, env.pki, anchors) != 0)
		return -1;
	return e2e_start(&env, extra);
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/* A mock TEE (leaf tee of env.pki) that refuses a TAM without OCSP responses. */
static int
mock_ocsp(struct e2e_env *e, const char *tee, const char *label, struct mock_tee **out)
{
	struct mock_tee_cfg cfg = { 0 };
	struct tam_err err = { 0 };
	char state[400], key[400], cert[400], ca[400], anchor[400];

	snprintf(state, sizeof(state), "%s/state-%s", e->dir, label);
	snprintf(key, sizeof(key), "%s/tee/%s.key", e->pki, tee);
	snprintf(cert, sizeof(cert), "%s/tee/%s.crt", e->pki, tee);
	snprintf(ca, sizeof(ca), "%s/tee/ca.crt", e->pki);
	snprintf(anchor, sizeof(anchor), "%s/root/ca.crt", e->pki);
	cfg.state_dir = state;
	cfg.key_path = key;
	cfg.cert_path = cert;
	cfg.cacert_path = ca;
	cfg.tam_anchor_path = anchor;
	cfg.tee_name = tee;
	cfg.require_ocsp = true;
	if (mock_tee_open(&cfg, out, &err) != 0) {
		fprintf(stderr, "mock_tee_open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/*
 * One session of TEE leaf tee, a TEE that requires OCSP stapling; its final
 * HTTP status, and the error in *why.
 */
static long
session(const char *tee, char *why, size_t whylen)
{
	struct mock_session_result res = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	char label[80];
	static int n;

	snprintf(label, sizeof(label), "%s-%d", tee, n++);
	assert_int_equal(mock_ocsp(&env, tee, label, &mt), 0);
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
	assert_int_equal(e2e_sh("sh %s/../pki/otrp-pki.sh revoke %s tee tee3 >/dev/null && "
	    "cp %s/tee/ca.crl %s/tee-ca.crl", getenv("TAM_BUILD_DIR") ? getenv("TAM_BUILD_DIR") :
	    "build", env.pki, env.pki, anchors), 0);
	reload(1);
	assert_int_equal(session("tee3", why, sizeof(why)), 403);
	assert_non_null(strstr(why, "revoked"));
	/* the others are not */
	assert_int_equal(session("tee1", why, sizeof(why)), 204);
	assert_int_equal(session("tee2", why, sizeof(why)), 204);
	/* a CRL that does not parse refuses the reload; the running one stays */
	assert_int_equal(e2e_sh("echo garbage > %s/bad.crl", anchors), 0);
	assert_int_equal(kill(env.tamd, SIGHUP), 0);
	assert_true(e2e_log_wait(&env, "event=reload result=refused", 5000));
	assert_int_equal(session("tee3", why, sizeof(why)), 403);
	assert_int_equal(e2e_sh("rm %s/bad.crl", anchors), 0);
	/* without the CRL, tee3 passes again */
	assert_int_equal(e2e_sh("rm %s/tee-ca.crl", anchors), 0);
	reload(2);
	assert_int_equal(session("tee3", why, sizeof(why)), 204);
}

/* How many log lines hold needle. */
static int
log_count(const char *needle)
{
	FILE *f = fopen(env.log, "r");
	char line[1024];
	int n = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

static void
test_ocsp_stapled_and_refreshed(void **state)
{
	struct mock_tee *mt = NULL;
	struct mock_session_result res = { 0 };
	struct tam_err err = { 0 };
	char why[512];
	int loads = log_count("event=ocsp.load responses=2"), reloads = log_count("event=reload result=ok");

	(void)state;
	/* the TEE checked both (signature, status, dates) and accepted the TAM */
	assert_int_equal(mock_ocsp(&env, "tee1", "ocsp-1", &mt), 0);
	assert_int_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_int_equal(mock_tee_last_ocsp_count(mt), 2);
	mock_tee_close(mt);
	/* refreshed responses are read on SIGHUP */
	assert_int_equal(e2e_sh("sh %s ocsp %s >/dev/null", pki_script, env.pki), 0);
	reload(reloads + 1);
	assert_int_equal(log_count("event=ocsp.load responses=2"), loads + 1);
	assert_int_equal(session("tee1", why, sizeof(why)), 204);
	/* a directory with a response that is not one: the reload is refused, the staple kept */
	assert_int_equal(e2e_sh("echo junk > %s/tam/ocsp/junk.der", env.pki), 0);
	assert_int_equal(kill(env.tamd, SIGHUP), 0);
	assert_true(e2e_log_wait(&env, "not one DER OCSP response", 5000));
	assert_int_equal(session("tee1", why, sizeof(why)), 204);
	assert_int_equal(e2e_sh("rm %s/tam/ocsp/junk.der", env.pki), 0);
}

/* Runs last: it revokes the TAM's certificate. */
static void
test_ocsp_revoked_tam(void **state)
{
	const char *refuse[] = { "-o", opt_dir, "-o", opt_ocsp, NULL };
	const char *warn[] = { "-o", opt_dir, "-o", opt_ocsp, "-o", "identity.ocsp_stale=warn",
		NULL };
	char why[512];

	(void)state;
	assert_int_equal(e2e_stop(&env), 0);
	assert_int_equal(e2e_sh("sh %s revoke %s tam tam >/dev/null && sh %s ocsp %s >/dev/null",
	    pki_script, env.pki, pki_script, env.pki), 0);
	/* refuse (the default): the daemon does not start, and says why */
	assert_int_not_equal(e2e_start(&env, refuse), 0);
	assert_true(e2e_log_wait(&env, "is revoked", 2000));
	/* warn: it starts, staples what is good, and a TEE that checks refuses the TAM */
	assert_int_equal(e2e_start(&env, warn), 0);
	assert_true(e2e_log_wait(&env, "event=ocsp.stale staple=1", 2000));
	assert_int_equal(session("tee1", why, sizeof(why)), 204);
	/* the TEE's refusal is unsigned: logged and alerted, never written */
	assert_true(e2e_log_wait(&env, "event=otrp.alert reason=ERR_TAM_NOT_TRUSTED", 2000));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions"
	    " WHERE result LIKE 'tee-fail:ERR_TAM_NOT_TRUSTED%'"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crl_refuses_revoked_tee),
		cmocka_unit_test(test_ocsp_stapled_and_refreshed),
		cmocka_unit_test(test_ocsp_revoked_tam),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
