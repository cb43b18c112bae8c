/* SPDX-License-Identifier: MIT */
/*
 * The operations listener: health and metrics for monitoring (and, later,
 * the REST API). Handlers only; the listener itself is an http server with
 * the routes api_routes gives.
 */
#ifndef TAM_API_H
#define TAM_API_H

#include <stddef.h>

#include "tam/err.h"
#include "tam/http.h"
#include "tam/store.h"

struct api_ctx {
	/* This thread's database connection (each server thread has its own). */
	struct store *(*store)(struct tam_err *err);
	const char *version;          /* reported by /healthz and tam_build_info */
};

/*
 * Routes of the operations listener, written to out (at most max); returns
 * how many. ctx must outlive the listener.
 *   GET /healthz   200 {"status":"ok",...} when the database answers, else 503
 *   GET /metrics   Prometheus text format 0.0.4
 */
size_t api_routes(struct api_ctx *ctx, struct http_route *out, size_t max);

#endif
