// SPDX-License-Identifier: MIT
/*
 * The AIST interop profile end to end: a real otrp-tamd with the profile's
 * endpoint, and the mock TEE playing the AIST prototype's broker and agent
 * with that project's own test keys (tests/interop/aist/). The seed flow
 * (install -> confirm -> delete -> confirm) runs as its scripts run it; the
 * profile stays confined to its endpoint and its devices.
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

/* Not the seed's own UUID: e2e_setup gives that one to sp1's TA. */
#define AIST_TAID "aa5c7f3e-2d1b-4c8a-9e0f-0123456789ab"
#define AIST_PATH "/api/tam_jose"

static struct e2e_env env;
static char keys[300], aist_url[200], ta_bin[400];

static int
group_setup(void **state)
{
	const char *b = getenv("TAM_BUILD_DIR");
	char tamkey[400], opt_key[460];
	const char *extra[] = { "-o", "aist.endpoint=" AIST_PATH, "-o", opt_key, NULL };

	(void)state;
	snprintf(keys, sizeof(keys), "%s/../tests/interop/aist", b != NULL ? b : "build");
	if (e2e_setup(&env) != 0)
		return -1;
	/* The TAM key of that device build, private to the daemon (0600). */
	snprintf(tamkey, sizeof(tamkey), "%s/aist-tam.jwk", env.dir);
	snprintf(opt_key, sizeof(opt_key), "aist.tam_key=%s", tamkey);
	snprintf(ta_bin, sizeof(ta_bin), "%s/aist-ta.bin", env.dir);
	/*
	 * SP "xbank" signs with the project's SP key (a certificate made here for
	 * it); its TA image starts with its UUID's 16 bytes, where the agent looks.
	 */
	if (e2e_sh("cp %s/tam-mytam-private.jwk %s && chmod 0600 %s", keys, tamkey, tamkey) != 0 ||
	    e2e_sh("%s/tests/jose-tool pem %s/sp-xbank-private.jwk > %s/xbank.pem", env.build, keys,
	    env.dir) != 0 ||
	    e2e_sh("openssl req -x509 -new -key %s/xbank.pem -subj /CN=xbank -days 30 -out %s/xbank.crt"
	    " 2>/dev/null", env.dir, env.dir) != 0 ||
	    e2e_sh("printf '\\252\\134\\177\\076\\055\\033\\114\\212\\236\\017\\001\\043\\105\\147\\211\\253'"
	    " > %s && head -c 4000 /dev/urandom >> %s", ta_bin, ta_bin) != 0 ||
	    e2e_ctl(&env, "sp add xbank %s/xbank.crt", env.dir) != 0 ||
	    e2e_ctl(&env, "ta sign --key %s/xbank.pem %s %s/aist-ta.jws", env.dir, ta_bin,
	    env.dir) != 0 ||
	    e2e_ctl(&env, "ta upload xbank " AIST_TAID " 1.0 %s/aist-ta.jws >/dev/null",
	    env.dir) != 0 ||
	    e2e_ctl(&env, "device enroll --key %s/tee-mytee-public.jwk --name aist1 --profile aist"
	    " >/dev/null", keys) != 0)
		return -1;
	if (e2e_start(&env, extra) != 0)
		return -1;
	snprintf(aist_url, sizeof(aist_url), "%.*s" AIST_PATH,
	    (int)(strlen(env.url) - strlen("/tam")), env.url);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/* The mock as an AIST device with TEE key file key, claiming talist (its broker's --talist). */
static struct mock_tee *
open_aist(const char *label, const char *key, const char *talist)
{
	struct mock_tee_cfg cfg = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	char state[400], tam[400], sp[400];

	snprintf(state, sizeof(state), "%s/state-%s", env.dir, label);
	snprintf(tam, sizeof(tam), "%s/tam-mytam-public.jwk", keys);
	snprintf(sp, sizeof(sp), "%s/sp-xbank-public.jwk", keys);
	cfg.state_dir = state;
	cfg.key_path = key;
	cfg.profile = "aist";
	cfg.tam_key_path = tam;
	cfg.sp_key_path = sp;
	cfg.talist = talist;
	if (mock_tee_open(&cfg, &mt, &err) != 0)
		fail_msg("mock_tee_open: %s", err.msg);
	return mt;
}

/* The AIST device of the project's test keys. */
static struct mock_tee *
aist_device(const char *label, const char *talist)
{
	char key[400];

	snprintf(key, sizeof(key), "%s/tee-mytee-private.jwk", keys);
	return open_aist(label, key, talist);
}

/* One session on url; the requests the TAM sent, as "A B". */
static void
session(struct mock_tee *mt, const char *url, const char *want)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };
	char got[256] = "";

	if (mock_tee_run_session(mt, url, &res, &err) != 0)
		fail_msg("session: %s (HTTP %ld: %s; device: %s)", err.msg, res.final_status,
		    res.error, mock_tee_last_detail(mt));
	for (int i = 0; i < res.n_requests; i++) {
		strncat(got, i ? " " : "", sizeof(got) - strlen(got) - 1);
		strncat(got, res.requests[i], sizeof(got) - strlen(got) - 1);
	}
	if (strcmp(got, want) != 0)
		fail_msg("requests \"%s\", wanted \"%s\"", got, want);
}

static void
test_seed_flow(void **state)
{
	struct mock_tee *mt;
	const char *alg, *enc;
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	char path[512];

	(void)state;
	/* iota.sh: install; the device claims nothing */
	assert_int_equal(e2e_ctl(&env, "assign aist1 " AIST_TAID), 0);
	mt = aist_device("iota", NULL);
	session(mt, aist_url, "GetDeviceStateRequest InstallTARequest");
	assert_true(mock_tee_has_ta(mt, AIST_TAID));
	assert_int_equal(mock_tee_ta_path(mt, AIST_TAID, path, sizeof(path)), 0);
	assert_int_equal(tam_file_read(path, 1 << 20, &a, &al, NULL), 0);
	assert_int_equal(tam_file_read(ta_bin, 1 << 20, &b, &bl, NULL), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
	mock_tee_last_content_suite(mt, &alg, &enc);
	assert_string_equal(alg, JOSE_ALG_RSA1_5);
	assert_string_equal(enc, JOSE_ENC_A128CBC_HS256);
	/* the TAM records the install from the signed pass, not from the DSI (which lists nothing) */
	assert_int_equal(e2e_db_has_ta(&env, "aist1", AIST_TAID), 1);
	assert_true(e2e_log_wait(&env, "event=otrp.aist_match", 2000));
	assert_true(e2e_log_wait(&env, "event=otrp.aist_dsi", 2000));

	/* confirm: nothing to do */
	session(mt, aist_url, "GetDeviceStateRequest");
	mock_tee_close(mt);

	/* dota.sh: delete; the device now claims the TA (--talist) */
	assert_int_equal(e2e_ctl(&env, "unassign aist1 " AIST_TAID), 0);
	mt = aist_device("iota", AIST_TAID);
	session(mt, aist_url, "GetDeviceStateRequest DeleteTARequest");
	assert_false(mock_tee_has_ta(mt, AIST_TAID));
	assert_int_equal(e2e_db_has_ta(&env, "aist1", AIST_TAID), 0);
	/* confirm: its DSI still claims the TA; the TAM keeps what it knows and does nothing */
	session(mt, aist_url, "GetDeviceStateRequest");
	mock_tee_close(mt);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'ta.install'"
	    " AND detail LIKE 'taid=" AIST_TAID "%'"), 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'ta.delete'"
	    " AND detail LIKE 'taid=" AIST_TAID "%'"), 1);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE profile = 'aist'"
	    " AND (result IS NULL OR result <> 'ok')"), 0);
}

static void
test_profile_is_confined(void **state)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };
	struct mock_tee *mt, *stranger;
	char out[200];

	(void)state;
	/*
	 * The AIST device on the default endpoint: the default GetDeviceStateRequest
	 * carries x5c in an unprotected header, a nested object its broker cannot cut
	 * out, so it stops there (and its rid "1" was never issued here anyway).
	 */
	mt = aist_device("default-ep", NULL);
	assert_int_not_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_string_equal(mock_tee_last_outcome(mt), "stopped");
	assert_non_null(strstr(mock_tee_last_detail(mt), "nested object"));
	mock_tee_close(mt);
	/* a device the TAM does not know as aist-profile: no enrolled key verifies its answer */
	assert_int_equal(e2e_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "
	    "%s/stranger.pem 2>/dev/null", env.dir), 0);
	snprintf(out, sizeof(out), "%s/stranger.pem", env.dir);
	stranger = open_aist("stranger", out, NULL);
	memset(&res, 0, sizeof(res));
	assert_int_not_equal(mock_tee_run_session(stranger, aist_url, &res, &err), 0);
	assert_int_equal(res.final_status, 403);
	assert_non_null(strstr(res.error, "profile aist"));
	/* enrolled, but with the default profile: still not served here */
	assert_int_equal(e2e_sh("openssl pkey -in %s/stranger.pem -pubout -out %s/stranger.pub", env.dir,
	    env.dir), 0);
	assert_int_equal(e2e_ctl(&env, "device enroll --key %s/stranger.pub --name stranger"
	    " >/dev/null", env.dir), 0);
	memset(&res, 0, sizeof(res));
	assert_int_not_equal(mock_tee_run_session(stranger, aist_url, &res, &err), 0);
	assert_int_equal(res.final_status, 403);
	mock_tee_close(stranger);
	/* enrollment: the profile takes raw RSA keys only; SD requests make no sense there */
	assert_int_not_equal(e2e_ctl(&env, "device enroll --cert %s/tee/tee2.crt --profile aist"
	    " 2>/dev/null", env.pki), 0);
	assert_int_equal(e2e_ctl(&env, "device renew-aik aist1 xbank 2>/dev/null"), 3);
	assert_int_equal(e2e_ctl_out(&env, out, sizeof(out), "device show aist1"), 0);
}

static void
test_oversized_ta_blocked(void **state)
{
	struct mock_tee *mt;
	char big[400], jws[400];

	(void)state;
	/* over the agent's 200 KiB TA buffer: the TAM says why instead of sending it */
	snprintf(big, sizeof(big), "%s/big.bin", env.dir);
	snprintf(jws, sizeof(jws), "%s/big.jws", env.dir);
	assert_int_equal(e2e_sh("head -c 16 %s > %s && head -c 300000 /dev/urandom >> %s", ta_bin, big,
	    big), 0);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/xbank.pem %s %s", env.dir, big, jws), 0);
	assert_int_equal(e2e_ctl(&env, "ta upload xbank " AIST_TAID " 2.0 %s >/dev/null", jws), 0);
	assert_int_equal(e2e_ctl(&env, "assign aist1 " AIST_TAID), 0);
	mt = aist_device("big", NULL);
	session(mt, aist_url, "GetDeviceStateRequest");
	assert_false(mock_tee_has_ta(mt, AIST_TAID));
	mock_tee_close(mt);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE profile = 'aist'"
	    " AND result LIKE 'blocked:profile aist: the TA bundle is %'"), 1);
}

/* Personalization data: the agent has nowhere to put it, so the TAM says why instead of sending it. */
static void
test_pdata_blocked(void **state)
{
	struct mock_tee *mt;
	char pd[400];

	(void)state;
	snprintf(pd, sizeof(pd), "%s/aist-pdata.bin", env.dir);
	assert_int_equal(e2e_sh("echo 'personalization data' > %s", pd), 0);
	assert_int_equal(e2e_ctl(&env, "ta upload xbank " AIST_TAID " 3.0 %s/aist-ta.jws >/dev/null",
	    env.dir), 0);
	assert_int_equal(e2e_ctl(&env, "ta pdata " AIST_TAID " 3.0 %s >/dev/null", pd), 0);
	assert_int_equal(e2e_ctl(&env, "assign aist1 " AIST_TAID " 3.0"), 0);
	mt = aist_device("pdata", NULL);
	session(mt, aist_url, "GetDeviceStateRequest");
	assert_false(mock_tee_has_ta(mt, AIST_TAID));
	mock_tee_close(mt);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM sessions WHERE profile = 'aist'"
	    " AND result = 'blocked:profile aist: its agent takes no personalization data'"), 1);
	/* back to following the latest, without this version */
	assert_int_equal(e2e_ctl(&env, "assign aist1 " AIST_TAID), 0);
	assert_int_equal(e2e_ctl(&env, "ta withdraw " AIST_TAID " 3.0"), 0);
}

/* POST body to the AIST endpoint; the answer in *r. */
static void
post(const char *body, size_t len, struct mock_http_resp *r)
{
	struct tam_err err = { 0 };

	memset(r, 0, sizeof(*r));
	assert_int_equal(mock_http_post(aist_url, len ? OTRP_MEDIA_TYPE : NULL, OTRP_MEDIA_TYPE,
	    (const uint8_t *)body, len, r, &err), 0);
}

/* A signed answer recorded on the wire and played again is refused: its rid is no proof. */
static void
test_replayed_answer_refused(void **state)
{
	struct mock_http_resp r1, r2, r3;
	struct tam_err err = { 0 };
	struct mock_tee *mt = aist_device("replay", NULL);
	char *ans = NULL, *again = NULL;
	size_t ans_len = 0, again_len = 0;

	(void)state;
	/* a whole honest exchange: GetDeviceState, its answer, the TAM's reply */
	post("", 0, &r1);
	assert_int_equal(r1.status, 200);
	assert_int_equal(mock_tee_process(mt, (const uint8_t *)r1.body, r1.len, &ans, &ans_len,
	    &err), 0);
	post(ans, ans_len, &r2);
	assert_true(r2.status == 200 || r2.status == 204);
	/* a new session, and the recorded answer instead of a fresh one */
	post("", 0, &r3);
	assert_int_equal(r3.status, 200);
	mock_http_resp_clear(&r3);
	post(ans, ans_len, &r3);
	assert_int_equal(r3.status, 400);
	assert_non_null(strstr(r3.body, "accepted before"));
	mock_http_resp_clear(&r3);
	/* the device's own fresh answer still goes through */
	post("", 0, &r3);
	assert_int_equal(mock_tee_process(mt, (const uint8_t *)r3.body, r3.len, &again, &again_len,
	    &err), 0);
	mock_http_resp_clear(&r3);
	post(again, again_len, &r3);
	assert_true(r3.status == 200 || r3.status == 204);
	mock_http_resp_clear(&r1);
	mock_http_resp_clear(&r2);
	mock_http_resp_clear(&r3);
	free(ans);
	free(again);
	mock_tee_close(mt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_flow),
		cmocka_unit_test(test_profile_is_confined),
		cmocka_unit_test(test_oversized_ta_blocked),
		cmocka_unit_test(test_pdata_blocked),
		cmocka_unit_test(test_replayed_answer_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
