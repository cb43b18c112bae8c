// SPDX-License-Identifier: MIT
/*
 * The audit trail of what the API refused: who tried (the token, or nobody),
 * from where, what, and why. Anyone can cause a refusal, so the rows a
 * minute are bounded and the dropped ones counted; a failure to write one
 * is logged and never changes the answer.
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "tam/http.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/store.h"
#include "tam/util.h"

/* May this refusal be audited now? *dropped: how many were not since the last that was. */
static bool
refusal_admit(struct api_ctx *ctx, int64_t now, unsigned *dropped)
{
	int_least64_t minute = now / 60, seen = atomic_load(&ctx->refusal_minute);

	/* Approximate under races by design: one thread resets, every thread counts. */
	if (seen != minute && atomic_compare_exchange_strong(&ctx->refusal_minute, &seen, minute))
		atomic_store(&ctx->refusals, 0);
	if (atomic_fetch_add(&ctx->refusals, 1) >= TAM_AUDIT_REFUSALS_PER_MINUTE) {
		atomic_fetch_add(&ctx->refusals_dropped, 1);
		return false;
	}
	*dropped = atomic_exchange(&ctx->refusals_dropped, 0);
	return true;
}

/* The path as the audit keeps it: printable ASCII, the rest '?', at most size - 1 bytes. */
static void
printable(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < size; i++)
		out[i] = in[i] > 0x20 && in[i] < 0x7f && in[i] != '"' && in[i] != '\\' ? in[i] : '?';
	out[i] = '\0';
}

void
api_audit_refusal(struct api_ctx *ctx, struct store *st, const struct http_request *req,
    unsigned status, const char *code, const char *actor)
{
	char peer[64] = "", path[200], detail[400];
	struct tam_err e = { 0 };
	unsigned dropped = 0;
	int n;

	if (st == NULL || !refusal_admit(ctx, tam_now(), &dropped))
		return;
	if (http_request_peer(req, peer, sizeof(peer)) != 0)
		snprintf(peer, sizeof(peer), "unknown");
	printable(http_request_path(req), path, sizeof(path));
	n = snprintf(detail, sizeof(detail), "status=%u code=tam.%s method=%s peer=%s request_id=%s",
	    status, code, http_request_method(req), peer, http_request_id(req));
	if (dropped > 0 && n > 0 && (size_t)n < sizeof(detail))
		snprintf(detail + n, sizeof(detail) - (size_t)n, " not_audited_before=%u", dropped);
	if (store_audit(st, actor != NULL ? actor : "anonymous", "api.refused",
	    path[0] != '\0' ? path : "-", detail, &e) != TAM_OK)
		log_warn("event=api.audit_failed request_id=%s detail=\"%s\"", http_request_id(req),
		    e.msg);
}

void
api_audit_scope(struct api_call *c, const char *code)
{
	if (c->req != NULL && !c->who.admin)
		api_audit_refusal(c->ctx, c->st, c->req, 404, code, c->who.actor);
}
