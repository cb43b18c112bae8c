/* SPDX-License-Identifier: MIT */
/*
 * Private to src/api: the authenticated call every handler receives, the
 * helpers that turn records into JSON and errors into problem documents,
 * paging, and the handlers each resource file defines.
 */
#ifndef TAM_API_INT_H
#define TAM_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tam/api.h"
#include "tam/mgmt.h"

/* api_binding.flags */
#define API_ADMIN_ONLY 0x1            /* SP tokens get 403 */
#define API_NO_AUTH 0x2               /* health and metrics */
#define API_OCTETS 0x4                /* the body is application/octet-stream, not JSON */

/* Who is calling. */
struct api_principal {
	bool admin;
	int64_t sp_id;                /* SP tokens: their SP */
	char spid[TAM_SPID_MAX];
	char actor[128];              /* for the audit log: "token:<id>" or the CLI's actor */
};

struct api_call {
	struct api_ctx *ctx;
	const struct http_request *req;
	struct store *st;             /* this thread's connection */
	struct api_principal who;
	struct mgmt m;                /* st and who.actor */
};

/*
 * Authenticate req (Authorization: Bearer, or the CLI's in-process actor)
 * into c. On failure *ans holds the problem (401, or 500) and a TAM_E* code
 * is returned.
 */
int api_call_open(struct api_ctx *ctx, const struct http_request *req, struct api_call *c,
    struct http_answer *ans, struct tam_err *err);

/* ---- the audit of refusals and reads (api_audit.c) ---- */

/*
 * A request refused for who it is: no or a bad token (401), a role that may
 * not (403), another SP's record (answered 404). Audited with the client's
 * address, at most TAM_AUDIT_REFUSALS_PER_MINUTE rows a minute per token,
 * or per address for those without one; the next row counts those dropped.
 * actor: the token's, or NULL when none was valid.
 */
void api_audit_refusal(struct api_ctx *ctx, struct store *st, const struct http_request *req,
    unsigned status, const char *code, const char *actor);
/*
 * May a row that client key causes be written now (budget NULL: always)?
 * *dropped: rows of this kind not written since the last one that was.
 */
bool api_audit_admit(struct ratelimit *budget, atomic_uint *dropped_count, const char *key,
    unsigned *dropped);
/* As above for a scoped call that reached another SP's record. */
void api_audit_scope(struct api_call *c, const char *code);

/* ---- answers ---- */

/* j (stolen) as the body with status. */
int api_json(struct http_answer *ans, unsigned status, json_t *j, struct tam_err *err);
/*
 * A problem document for a failed operation: status and code from rc and
 * err->kind ("tam.<kind>", else "tam.<name of rc>"), detail from err->msg.
 */
int api_problem(struct api_call *c, struct http_answer *ans, int rc, const struct tam_err *err);
/* A problem with an explicit status, kind and detail. */
int api_problem_as(const char *request_id, struct http_answer *ans, unsigned status,
    const char *kind, const char *detail);
/* The HTTP status the API answers a TAM_E* code with. */
unsigned api_status_for(int rc);

/* ---- paging ---- */

struct api_page {
	struct store_page pg;         /* for the store: limit is one more than asked */
	size_t limit;                 /* what the client asked (clamped) */
	char after_text[256];
	char kind;                    /* which list the cursor belongs to */
};
/* Read ?limit and ?cursor for list kind; TAM_EMALFORMED (err set) when they are bad. */
int api_page_open(struct api_call *c, char kind, struct api_page *p, struct tam_err *err);
/*
 * Answer a page: n rows were read (one more than asked means there is a next
 * page, whose cursor continues from the key of row limit - 1). items is
 * stolen. next_int/next_text: key of the last row shown. extra_query: the
 * list's own filters for the Link header ("&actor=x"), or "".
 */
int api_page_answer(struct api_call *c, struct api_page *p, json_t *items, size_t n,
    int64_t next_int, const char *next_text, const char *extra_query, struct http_answer *ans,
    struct tam_err *err);

/* ---- JSON helpers ---- */

/* One row of a list as JSON; ctx is the caller's. */
typedef json_t *(*api_row_fn)(const void *ctx, const void *row);
/* The first min(n, limit) rows (size bytes apart) as a JSON array; NULL when out of memory. */
json_t *api_items(const void *rows, size_t n, size_t limit, size_t size, api_row_fn conv,
    const void *ctx);

/* RFC 3339 UTC ("2026-11-23T16:49:32Z"), or JSON null for 0. */
json_t *api_time(int64_t t);
/* Parse RFC 3339 UTC with Z, or decimal seconds since the epoch. */
int api_parse_time(const char *s, int64_t *out);
json_t *api_hex(const uint8_t *p, size_t n);
/* A certificate's summary: subject, issuer, not_after, sha256. */
json_t *api_cert_summary(const uint8_t *der, size_t len);
/* PEM text of a DER certificate, or NULL. */
json_t *api_cert_pem(const uint8_t *der, size_t len);

/* ---- scope checks: TAM_ENOTFOUND (not even existence leaks) or TAM_OK ---- */

int api_scope_sp(struct api_call *c, const char *spid, struct store_sp *out,
    struct tam_err *err);
int api_scope_ta(struct api_call *c, const char *taid, struct store_ta *out,
    struct tam_err *err);
int api_scope_device(struct api_call *c, const char *ref, struct store_device *out,
    struct tam_err *err);

/* ---- handlers, by resource file ---- */

/* api_sp.c: SPs, TAs, versions */
int api_sps_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_sps_create(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_sp_get(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_sp_delete(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_sp_update(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_sp_tas_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_tas_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_ta_get(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_versions_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_version_get(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_version_bundle(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_version_pdata(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_version_withdraw(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
extern const struct http_upload_ops api_upload_ops;

/* api_device.c: devices and assignments */
int api_devices_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_devices_enroll(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_device_get(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_device_decommission(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_device_sd_request(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_assignments_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_assignments_create(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_assignment_get(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_assignment_delete(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_assignments_bulk(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);

/* api_admin.c: trust anchors, audit, tokens */
int api_anchors_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_anchors_add(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_anchor_get(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_anchor_delete(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_audit_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_tokens_list(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_tokens_create(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_token_delete(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);

/* api_ops.c */
int api_healthz(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);
int api_metrics(struct api_call *, const uint8_t *, size_t, struct http_answer *, struct tam_err *);

#endif
