// SPDX-License-Identifier: MIT
/*
 * End-to-end: the share of an InstallTA or UpdateTA that is the same for
 * every device (the TA's base64url and its part of the signature's hash) is
 * made once per TA version and kept for a few versions. More versions than
 * it keeps, on two devices, then an update: every device gets every TA's
 * own bytes, whichever were kept, dropped and made again.
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

#define N_TAS 6   /* more than the engine keeps (4) */

static struct e2e_env env;

static void
taid_of(int i, char out[64])
{
	snprintf(out, 64, "aaaaaaaa-0000-4000-8000-0000000000%02d", i);
}

/* A TA binary of its own for TA i, version v: size and bytes differ. */
static void
ta_file(int i, int v, char path[512])
{
	FILE *f;

	snprintf(path, 512, "%s/ta%d-%d.bin", env.dir, i, v);
	assert_non_null(f = fopen(path, "wb"));
	for (int k = 0; k < 30000 + 1000 * i + v; k++)
		fputc((k * (i + 7) + v) & 0xff, f);
	assert_int_equal(fclose(f), 0);
}

static void
upload(int i, int v)
{
	char bin[512], taid[64];

	ta_file(i, v, bin);
	taid_of(i, taid);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s.jws", env.pki, bin, bin), 0);
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " %s %d.0 %s.jws >/dev/null", taid, v,
	    bin), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0 || e2e_start(&env, NULL) != 0 ||
	    e2e_ctl(&env, "device enroll --cert %s/tee/tee2.crt --name tee2 >/dev/null", env.pki) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/* The TEE holds TA i at version v, byte for byte. */
static void
holds(struct mock_tee *mt, int i, int v)
{
	char taid[64], path[512], want[512];
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;

	taid_of(i, taid);
	assert_int_equal(mock_tee_ta_path(mt, taid, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/ta%d-%d.bin", env.dir, i, v);
	assert_int_equal(tam_file_read(path, 1 << 20, &a, &al, NULL), 0);
	assert_int_equal(tam_file_read(want, 1 << 20, &b, &bl, NULL), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
}

static void
session(struct mock_tee *mt, int want_requests)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };

	if (mock_tee_run_session(mt, env.url, &res, &err) != 0)
		fail_msg("session: %s (HTTP %ld)", res.error, res.final_status);
	assert_int_equal(res.n_requests, want_requests);
	for (int k = 0; k < res.n_outcomes; k++)
		assert_string_equal(res.outcomes[k], "pass");
}

static void
test_every_device_gets_every_ta(void **state)
{
	struct mock_tee *t1 = NULL, *t2 = NULL;
	char taid[64];

	(void)state;
	for (int i = 1; i <= N_TAS; i++) {
		upload(i, 1);
		taid_of(i, taid);
		assert_int_equal(e2e_ctl(&env, "assign tee1 %s", taid), 0);
		assert_int_equal(e2e_ctl(&env, "assign tee2 %s", taid), 0);
	}
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &t1), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "tee2", false, &t2), 0);
	/* GetDeviceState, CreateSD, then one InstallTA per TA */
	session(t1, 2 + N_TAS);
	session(t2, 2 + N_TAS);
	for (int i = 1; i <= N_TAS; i++) {
		holds(t1, i, 1);
		holds(t2, i, 1);
	}
	/* a new version of the first TA, kept out long ago: each device updates to its bytes */
	upload(1, 2);
	session(t2, 2);
	session(t1, 2);
	holds(t1, 1, 2);
	holds(t2, 1, 2);
	for (int i = 2; i <= N_TAS; i++)
		holds(t1, i, 1);
	mock_tee_close(t1);
	mock_tee_close(t2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_device_gets_every_ta),
	};
	return cmocka_run_group_tests_name("e2e_install_cache", tests, group_setup, group_teardown);
}
