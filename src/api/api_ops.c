// SPDX-License-Identifier: MIT
/*
 * Health and metrics. Both read the database (so a probe sees what a device
 * would: a TAM that cannot reach its database is not healthy) and neither
 * needs authentication: they reveal counts, never records, and the listener
 * binds to loopback unless the operator says otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tam/api.h"
#include "tam/log.h"
#include "tam/metrics.h"

static int
json_answer(json_t *j, unsigned status, struct http_answer *ans, struct tam_err *err)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (s == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	ans->status = status;
	ans->content_type = "application/json";
	ans->body = s;
	ans->len = strlen(s);
	return TAM_OK;
}

static int
healthz(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct api_ctx *ctx = arg;
	struct store_stats stats;
	struct tam_err dberr = { 0 };
	struct store *st;

	(void)req;
	(void)body;
	(void)len;
	if ((st = ctx->store(&dberr)) == NULL ||
	    store_stats_get(st, tam_now(), &stats, &dberr) != TAM_OK) {
		metrics_db_error();
		log_warn("event=healthz database=\"%s\"", dberr.msg);
		return json_answer(json_pack("{s:s,s:s,s:s}", "status", "unavailable", "database",
		    "unreachable", "version", ctx->version), 503, ans, err);
	}
	return json_answer(json_pack("{s:s,s:s,s:s}", "status", "ok", "database", "ok", "version",
	    ctx->version), 200, ans, err);
}

static int
metrics(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct api_ctx *ctx = arg;
	struct metrics_gauges g = { 0 };
	struct store_stats stats;
	struct tam_buf out = { 0 };
	struct store *st;
	int rc;

	(void)req;
	(void)body;
	(void)len;
	if ((st = ctx->store(err)) == NULL || (rc = store_stats_get(st, tam_now(), &stats, err)) != TAM_OK) {
		metrics_db_error();
		return err != NULL && err->code != 0 ? err->code : TAM_EDB;
	}
	g.devices_active = stats.devices_active;
	g.devices_decommissioned = stats.devices_decommissioned;
	g.tas = stats.tas;
	g.ta_versions = stats.ta_versions;
	g.sessions_open = stats.sessions_open;
	if ((rc = metrics_render(&out, &g, ctx->version)) != TAM_OK) {
		tam_buf_free(&out);
		return tam_err_set(err, rc, "cannot render metrics");
	}
	ans->content_type = "text/plain; version=0.0.4";
	ans->body = (char *)out.data;
	ans->len = out.len;
	return TAM_OK;
}

size_t
api_routes(struct api_ctx *ctx, struct http_route *out, size_t max)
{
	const struct http_route routes[] = {
		{ "GET", "/healthz", NULL, healthz, ctx, NULL },
		{ "GET", "/metrics", NULL, metrics, ctx, NULL },
	};
	size_t n = sizeof(routes) / sizeof(routes[0]);

	if (n > max)
		n = max;
	memcpy(out, routes, n * sizeof(routes[0]));
	return n;
}
