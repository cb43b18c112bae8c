// SPDX-License-Identifier: MIT
/*
 * The audit trail of what the API refused: who tried (the token, or nobody),
 * from where, what, and why. Anyone can cause a refusal, so each client
 * (a token, else an address) has a budget of rows and the dropped ones are
 * counted; a failure to write one is logged and never changes the answer.
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "tam/http.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/ratelimit.h"
#include "tam/store.h"
#include "tam/util.h"

/*
 * May the row key's client causes be written now? *dropped: how many rows of
 * this kind (anyone's) were not, since the last that was.
 */
bool
api_audit_admit(struct ratelimit *budget, atomic_uint *dropped_count, const char *key,
    unsigned *dropped)
{
	*dropped = 0;
	if (budget != NULL && !ratelimit_take(budget, key, tam_monotonic_ms()).allowed) {
		atomic_fetch_add(dropped_count, 1);
		return false;
	}
	*dropped = atomic_exchange(dropped_count, 0);
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
	char peer[64] = "", path[200], detail[400], key[TAM_RATELIMIT_KEY_MAX];
	struct tam_err e = { 0 };
	unsigned dropped = 0;
	int n;

	/* A token's refusals spend its own budget; nobody's spend their address's. */
	if (actor != NULL)
		snprintf(key, sizeof(key), "%s", actor);
	else
		http_request_client_key(req, key, sizeof(key));
	if (st == NULL || !api_audit_admit(ctx->refusal_budget, &ctx->refusals_dropped, key,
	    &dropped))
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
		log_warn("event=api.audit_failed detail=\"%s\"", e.msg);
}

void
api_audit_scope(struct api_call *c, const char *code)
{
	if (c->req != NULL && !c->who.admin)
		api_audit_refusal(c->ctx, c->st, c->req, 404, code, c->who.actor);
}
