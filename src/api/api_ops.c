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

#include "api_int.h"
#include "tam/log.h"
#include "tam/metrics.h"

int
api_healthz(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_stats stats;
	struct tam_err dberr = { 0 };
	struct store *st;

	(void)body;
	(void)len;
	if ((st = c->ctx->store(&dberr)) == NULL ||
	    store_stats_get(st, tam_now(), &stats, &dberr) != TAM_OK) {
		metrics_db_error();
		log_warn("event=healthz database=\"%s\"", dberr.msg);
		return api_json(ans, 503, json_pack("{s:s,s:s,s:s}", "status", "unavailable",
		    "database", "unreachable", "version", c->ctx->version), err);
	}
	return api_json(ans, 200, json_pack("{s:s,s:s,s:s}", "status", "ok", "database", "ok",
	    "version", c->ctx->version), err);
}

int
api_metrics(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct metrics_gauges g = { 0 };
	struct store_stats stats;
	struct tam_buf out = { 0 };
	struct store *st;
	int rc;

	(void)body;
	(void)len;
	if ((st = c->ctx->store(err)) == NULL || (rc = store_stats_get(st, tam_now(), &stats, err)) != TAM_OK) {
		metrics_db_error();
		return err != NULL && err->code != 0 ? err->code : TAM_EDB;
	}
	g.devices_active = stats.devices_active;
	g.devices_decommissioned = stats.devices_decommissioned;
	g.tas = stats.tas;
	g.ta_versions = stats.ta_versions;
	g.sessions_open = stats.sessions_open;
	if ((rc = metrics_render(&out, &g, c->ctx->version)) != TAM_OK) {
		tam_buf_free(&out);
		return tam_err_set(err, rc, "cannot render metrics");
	}
	ans->content_type = "text/plain; version=0.0.4";
	ans->body = (char *)out.data;
	ans->len = out.len;
	return TAM_OK;
}
