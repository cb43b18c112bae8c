// SPDX-License-Identifier: MIT
/* Per-client token buckets: bursts, refill, retry hints, bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tam/ratelimit.h"

static void
test_burst_then_refused(void **state)
{
	struct ratelimit *rl = NULL;
	struct ratelimit_verdict v;

	(void)state;
	/* 60 a minute (one a second), 5 at once */
	assert_int_equal(ratelimit_new(60, 5, &rl), 0);
	for (int i = 0; i < 5; i++)
		assert_true(ratelimit_take(rl, "10.0.0.1", 1000).allowed);
	v = ratelimit_take(rl, "10.0.0.1", 1000);
	assert_false(v.allowed);
	assert_int_equal(v.retry_after, 1);
	assert_true(v.first);
	v = ratelimit_take(rl, "10.0.0.1", 1100);
	assert_false(v.allowed);
	assert_false(v.first);
	/* another client has its own bucket */
	assert_true(ratelimit_take(rl, "10.0.0.2", 1100).allowed);
	/* a second later one token is back, and only one */
	assert_true(ratelimit_peek(rl, "10.0.0.1", 2000).allowed);
	assert_true(ratelimit_take(rl, "10.0.0.1", 2000).allowed);
	assert_false(ratelimit_take(rl, "10.0.0.1", 2000).allowed);
	/* a long pause refills to the burst, not beyond */
	for (int i = 0; i < 5; i++)
		assert_true(ratelimit_take(rl, "10.0.0.1", 600000).allowed);
	assert_false(ratelimit_take(rl, "10.0.0.1", 600000).allowed);
	ratelimit_free(rl);
}

static void
test_slow_rate_and_live_change(void **state)
{
	struct ratelimit *rl = NULL;
	struct ratelimit_verdict v;

	(void)state;
	/* 2 a minute: the next token is 30 s away */
	assert_int_equal(ratelimit_new(2, 1, &rl), 0);
	assert_true(ratelimit_take(rl, "k", 0).allowed);
	v = ratelimit_peek(rl, "k", 0);
	assert_false(v.allowed);
	assert_int_equal(v.retry_after, 30);
	v = ratelimit_peek(rl, "k", 20000);
	assert_in_range(v.retry_after, 10, 11);
	/* 0 lifts the limit; a reload may set it again */
	ratelimit_set(rl, 0, 1);
	for (int i = 0; i < 100; i++)
		assert_true(ratelimit_take(rl, "k", 20000).allowed);
	ratelimit_set(rl, 2, 1);
	assert_false(ratelimit_take(rl, "k", 20000).allowed);
	/* no key at all is one client too */
	assert_true(ratelimit_take(rl, "", 0).allowed);
	assert_false(ratelimit_take(rl, NULL, 0).allowed);
	ratelimit_free(rl);
}

/* More spending clients than the table holds: newcomers share one limited bucket. */
static void
test_table_full(void **state)
{
	struct ratelimit *rl = NULL;
	char key[32];
	int allowed = 0;

	(void)state;
	assert_int_equal(ratelimit_new(1, 2, &rl), 0);
	for (int i = 0; i < 3 * TAM_RATELIMIT_CLIENTS; i++) {
		snprintf(key, sizeof(key), "client-%d", i);
		allowed += ratelimit_take(rl, key, 0).allowed;
	}
	/* every slot holds a bucket with a token spent; the rest drew on the overflow (2 tokens) */
	assert_true(allowed <= TAM_RATELIMIT_CLIENTS + 2);
	assert_true(allowed >= TAM_RATELIMIT_CLIENTS / 2);
	/* idle clients give their slots back: after a while everyone is new again */
	assert_true(ratelimit_take(rl, "late-comer", 10 * 60 * 1000).allowed);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refused),
		cmocka_unit_test(test_slow_rate_and_live_change),
		cmocka_unit_test(test_table_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
