/* SPDX-License-Identifier: MIT */
/*
 * Counters and a latency histogram for the Prometheus text format. Process
 * wide, lock free (atomics), fixed label sets so memory never grows with
 * input. Gauges that live in the database (devices, open sessions) are read
 * when the page is rendered, so every daemon sharing the database agrees.
 */
#ifndef TAM_METRICS_H
#define TAM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/model.h"
#include "tam/util.h"

void metrics_session_started(void);
/* A session ended without error; result is the engine's session result ("ok", "tee-fail:..."). */
void metrics_session_completed(const char *result);
/* A message was refused; code is the TAM_E* code. */
void metrics_message_rejected(int code);
void metrics_operation(enum tam_op_kind op, bool pass);
/* One OTrP HTTP exchange and how long the daemon took to answer it. */
void metrics_request(unsigned status, double seconds);
void metrics_db_error(void);
/* A TA upload over the management API finished: stored (ok) or refused. */
void metrics_upload(bool ok, uint64_t bytes);

/* Values read from the database at scrape time. */
struct metrics_gauges {
	int64_t devices_active;
	int64_t devices_decommissioned;
	int64_t tas;
	int64_t ta_versions;
	int64_t sessions_open;        /* not ended, with a request still answerable */
};

/* Append the whole page (text format 0.0.4) to out. */
int metrics_render(struct tam_buf *out, const struct metrics_gauges *g, const char *version) TAM_WUR;

#endif
