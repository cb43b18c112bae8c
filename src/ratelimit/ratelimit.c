// SPDX-License-Identifier: MIT
/*
 * Token buckets per client key. Tokens are counted in thousandths so a slow
 * rate (a few a minute) refills without floating point. The table is open
 * addressing over a keyed hash (a per-process random salt, so a client cannot
 * aim its keys at one slot) with a short probe window; a full bucket is
 * exactly what a new client would get, so such slots are reused first.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tam/ratelimit.h"

#define MILLI 1000
#define PROBES 8                      /* slots a key may live in */

struct bucket {
	char key[TAM_RATELIMIT_KEY_MAX];  /* "" when free */
	int64_t milli;                /* tokens x 1000 as of last_ms */
	int64_t last_ms;
	bool refused;                 /* refused since its last token */
};

struct ratelimit {
	pthread_mutex_t mu;           /* guards everything below */
	unsigned per_minute;          /* 0: no limit */
	unsigned burst;
	uint8_t salt[16];             /* hash key, random per process */
	struct bucket overflow;       /* shared by clients the table has no room for */
	struct bucket slots[TAM_RATELIMIT_CLIENTS];
};

int
ratelimit_new(unsigned per_minute, unsigned burst, struct ratelimit **out)
{
	struct ratelimit *rl;

	*out = NULL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return TAM_ENOMEM;
	if (tam_random(rl->salt, sizeof(rl->salt)) != TAM_OK) {
		free(rl);
		return TAM_ECRYPTO;
	}
	if (pthread_mutex_init(&rl->mu, NULL) != 0) {
		free(rl);
		return TAM_ENOMEM;
	}
	rl->per_minute = per_minute;
	rl->burst = burst > 0 ? burst : 1;
	*out = rl;
	return TAM_OK;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

void
ratelimit_set(struct ratelimit *rl, unsigned per_minute, unsigned burst)
{
	pthread_mutex_lock(&rl->mu);
	rl->per_minute = per_minute;
	rl->burst = burst > 0 ? burst : 1;
	pthread_mutex_unlock(&rl->mu);
}

/* Bring b's tokens up to now_ms. */
static void
refill(const struct ratelimit *rl, struct bucket *b, int64_t now_ms)
{
	int64_t cap = (int64_t)rl->burst * MILLI, dt = now_ms - b->last_ms;

	if (dt > 0) {
		/* per_minute tokens a minute are per_minute / 60 thousandths a millisecond */
		int64_t add = dt > INT64_MAX / 100000 ? cap : dt * (int64_t)rl->per_minute / 60;
		b->milli = add >= cap - b->milli ? cap : b->milli + add;
		b->last_ms = now_ms;
	}
	if (b->milli > cap)
		b->milli = cap;
}

static size_t
slot_of(const struct ratelimit *rl, const char *key)
{
	uint8_t in[16 + TAM_RATELIMIT_KEY_MAX], md[32];
	size_t n = strnlen(key, TAM_RATELIMIT_KEY_MAX - 1);
	uint64_t h = 0;

	memcpy(in, rl->salt, 16);
	memcpy(in + 16, key, n);
	tam_sha256(in, 16 + n, md);
	for (int i = 0; i < 8; i++)
		h = h << 8 | md[i];
	return (size_t)(h % TAM_RATELIMIT_CLIENTS);
}

/* key's bucket, a fresh one for it, or the overflow bucket. */
static struct bucket *
find(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	size_t start = slot_of(rl, key);
	struct bucket *spare = NULL;

	for (size_t i = 0; i < PROBES; i++) {
		struct bucket *b = &rl->slots[(start + i) % TAM_RATELIMIT_CLIENTS];
		if (b->key[0] != '\0' && strncmp(b->key, key, TAM_RATELIMIT_KEY_MAX) == 0)
			return b;
		if (spare != NULL)
			continue;
		if (b->key[0] == '\0')
			spare = b;
		else {
			refill(rl, b, now_ms);
			if (b->milli >= (int64_t)rl->burst * MILLI)
				spare = b;
		}
	}
	if (spare == NULL) {
		refill(rl, &rl->overflow, now_ms);
		return &rl->overflow;
	}
	memset(spare, 0, sizeof(*spare));
	strncpy(spare->key, key, TAM_RATELIMIT_KEY_MAX - 1);
	spare->milli = (int64_t)rl->burst * MILLI;
	spare->last_ms = now_ms;
	return spare;
}

static struct ratelimit_verdict
decide(struct ratelimit *rl, const char *key, int64_t now_ms, bool take)
{
	struct ratelimit_verdict v = { true, 0, false };
	struct bucket *b;

	if (key == NULL || key[0] == '\0')
		key = "-";
	pthread_mutex_lock(&rl->mu);
	if (rl->per_minute == 0)
		goto out;
	b = find(rl, key, now_ms);
	refill(rl, b, now_ms);
	if (b->milli >= MILLI) {
		if (take) {
			b->milli -= MILLI;
			b->refused = false;
		}
		goto out;
	}
	v.allowed = false;
	/* milliseconds until the missing thousandths are back, rounded up to seconds */
	v.retry_after = (unsigned)(((MILLI - b->milli) * 60 / rl->per_minute + 999) / 1000);
	if (v.retry_after == 0)
		v.retry_after = 1;
	v.first = !b->refused;
	if (take)
		b->refused = true;
out:
	pthread_mutex_unlock(&rl->mu);
	return v;
}

struct ratelimit_verdict
ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	return decide(rl, key, now_ms, true);
}

struct ratelimit_verdict
ratelimit_peek(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	return decide(rl, key, now_ms, false);
}
