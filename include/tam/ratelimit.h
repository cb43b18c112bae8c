/* SPDX-License-Identifier: MIT */
/*
 * Per-client rate limits: a token bucket per opaque client key (what the
 * HTTP layer names a client by), in a table of bounded size, so that no one
 * client can make the daemon do unbounded work. Knows neither HTTP nor OTrP.
 */
#ifndef TAM_RATELIMIT_H
#define TAM_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/util.h"

#ifndef TAM_RATELIMIT_CLIENTS
#define TAM_RATELIMIT_CLIENTS 4096           /* clients one limiter tells apart */
#endif
#define TAM_RATELIMIT_KEY_MAX 64             /* client key, bytes incl. NUL */

struct ratelimit;

/* A limiter of per_minute tokens a minute and at most burst at once; per_minute 0: no limit. */
int ratelimit_new(unsigned per_minute, unsigned burst, struct ratelimit **out) TAM_WUR;
void ratelimit_free(struct ratelimit *rl);
/* New limits from now on (SIGHUP); buckets keep what they hold, up to the new burst. */
void ratelimit_set(struct ratelimit *rl, unsigned per_minute, unsigned burst);

struct ratelimit_verdict {
	bool allowed;
	unsigned retry_after;         /* when refused: seconds until a token is there (>= 1) */
	bool first;                   /* when refused: the first refusal since this key's last token */
};

/*
 * Take one token of key's bucket at now_ms (a monotonic clock). When the
 * table is full of clients that are all still spending, new keys share one
 * overflow bucket: memory stays bounded and the newcomers are still limited.
 */
struct ratelimit_verdict ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms);
/* The same verdict without taking the token. */
struct ratelimit_verdict ratelimit_peek(struct ratelimit *rl, const char *key, int64_t now_ms);

#endif
