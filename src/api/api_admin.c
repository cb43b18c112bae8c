// SPDX-License-Identifier: MIT
/*
 * Operator-only resources: the TEE trust anchors, the audit trail and the
 * API tokens themselves. A token's secret is shown once, in the answer that
 * creates it; lists show only its id, role and dates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static json_t *
anchor_json(const struct store_anchor *a, bool full)
{
	json_t *j = json_pack("{s:s,s:s,s:o,s:o,s:o}", "name", a->name, "subject", a->subject,
	    "sha256", api_hex(a->fingerprint, sizeof(a->fingerprint)), "not_after",
	    api_time(a->not_after), "created", api_time(a->created));

	if (j != NULL && full &&
	    json_object_set_new(j, "certificate_pem", api_cert_pem(a->cert, a->cert_len)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
anchor_row(const void *ctx, const void *row)
{
	(void)ctx;
	return anchor_json(row, false);
}

int
api_anchors_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_anchor *as = NULL;
	struct api_page p;
	json_t *items;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_page_open(c, 'r', &p, err)) != TAM_OK ||
	    (rc = store_anchor_page(c->st, &p.pg, &as, &n, err)) != TAM_OK)
		return rc;
	items = api_items(as, n, p.limit, sizeof(*as), anchor_row, NULL);
	rc = api_page_answer(c, &p, items, n, 0, n > p.limit ? as[p.limit - 1].name : NULL, "",
	    ans, err);
	store_anchors_free(as, n);
	return rc;
}

int
api_anchors_add(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_anchor a = { 0 };
	struct api_anchor_add r;
	int rc;

	if ((rc = api_decode_anchor_add(body, len, &r, err)) != TAM_OK)
		return rc;
	rc = mgmt_anchor_add(&c->m, r.name, (const uint8_t *)r.certificate, strlen(r.certificate),
	    err);
	if (rc == TAM_ECONFLICT)
		err->kind = "anchor.exists";
	if (rc == TAM_OK && (rc = store_anchor_get(c->st, r.name, &a, err)) == TAM_OK &&
	    (rc = api_json(ans, 201, anchor_json(&a, false), err)) == TAM_OK &&
	    http_answer_header(ans, "Location", API_PREFIX "/trust-anchors/%s", a.name) != TAM_OK)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	free(a.cert);
	api_anchor_add_clear(&r);
	return rc;
}

int
api_anchor_get(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	const char *name = http_request_param(c->req, "name");
	struct store_anchor a = { 0 };
	int rc;

	(void)body;
	(void)len;
	rc = store_anchor_get(c->st, name, &a, err);
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "anchor.not_found",
		    "no trust anchor \"%.64s\"", name);
	if (rc == TAM_OK)
		rc = api_json(ans, 200, anchor_json(&a, true), err);
	free(a.cert);
	return rc;
}

int
api_anchor_delete(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	const char *name = http_request_param(c->req, "name");
	int rc;

	(void)body;
	(void)len;
	rc = mgmt_anchor_remove(&c->m, name, err);
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "anchor.not_found",
		    "no trust anchor \"%.64s\"", name);
	if (rc == TAM_OK)
		ans->no_content = true;
	return rc;
}

/* A filter value: a name as the audit trail writes them, safe to echo in a Link header. */
static int
audit_param(struct api_call *c, const char *name, const char **out, struct tam_err *err)
{
	const char *v = http_request_query(c->req, name);

	*out = NULL;
	if (v == NULL)
		return TAM_OK;
	if (!tam_valid_name(v, 256))
		return tam_err_setk(err, TAM_EMALFORMED, "request.bad_filter",
		    "%s must be 1-255 of [A-Za-z0-9._:-]", name);
	*out = v;
	return TAM_OK;
}

static json_t *
audit_row(const void *ctx, const void *row)
{
	const struct store_audit_row *r = row;

	(void)ctx;
	return json_pack("{s:I,s:o,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->id, "at",
	    api_time(r->at), "actor", r->actor, "action", r->action, "object", r->object, "detail",
	    r->detail);
}

int
api_audit_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_audit_filter f = { 0 };
	struct store_audit_row *rows = NULL;
	const char *since, *until;
	struct api_page p;
	char extra[700];
	json_t *items;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = audit_param(c, "actor", &f.actor, err)) != TAM_OK ||
	    (rc = audit_param(c, "object", &f.object, err)) != TAM_OK ||
	    (rc = audit_param(c, "since", &since, err)) != TAM_OK ||
	    (rc = audit_param(c, "until", &until, err)) != TAM_OK)
		return rc;
	if ((since != NULL && api_parse_time(since, &f.since) != 0) ||
	    (until != NULL && api_parse_time(until, &f.until) != 0))
		return tam_err_setk(err, TAM_EMALFORMED, "request.bad_filter",
		    "since and until are RFC 3339 UTC times (2026-01-31T12:00:00Z) or epoch seconds");
	snprintf(extra, sizeof(extra), "%s%s%s%s%s%s%s%s", f.actor ? "&actor=" : "",
	    f.actor ? f.actor : "", f.object ? "&object=" : "", f.object ? f.object : "",
	    since ? "&since=" : "", since ? since : "", until ? "&until=" : "", until ? until : "");
	if ((rc = api_page_open(c, 'u', &p, err)) != TAM_OK ||
	    (rc = store_audit_list(c->st, &f, &p.pg, &rows, &n, err)) != TAM_OK)
		return rc;
	items = api_items(rows, n, p.limit, sizeof(*rows), audit_row, NULL);
	rc = api_page_answer(c, &p, items, n, n > p.limit ? rows[p.limit - 1].id : 0, NULL, extra,
	    ans, err);
	free(rows);
	return rc;
}

static json_t *
token_json(const struct store_token *t)
{
	char role[TAM_SPID_MAX + 4];

	snprintf(role, sizeof(role), "%s%s", t->admin ? "admin" : "sp:", t->admin ? "" : t->spid);
	return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o}", "id", t->tokid, "role", role,
	    "description", t->description, "created", api_time(t->created), "created_by",
	    t->created_by, "expires", api_time(t->expires), "revoked", api_time(t->revoked),
	    "last_used", api_time(t->last_used));
}

static json_t *
token_row(const void *ctx, const void *row)
{
	(void)ctx;
	return token_json(row);
}

int
api_tokens_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_token *ts = NULL;
	struct api_page p;
	json_t *items;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_page_open(c, 'k', &p, err)) != TAM_OK ||
	    (rc = store_token_page(c->st, &p.pg, &ts, &n, err)) != TAM_OK)
		return rc;
	items = api_items(ts, n, p.limit, sizeof(*ts), token_row, NULL);
	rc = api_page_answer(c, &p, items, n, n > p.limit ? ts[p.limit - 1].id : 0, NULL, "", ans,
	    err);
	free(ts);
	return rc;
}

int
api_tokens_create(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	char text[MGMT_TOKEN_LEN + 1];
	struct api_token_create r;
	struct store_token t;
	json_t *j;
	int rc;

	if ((rc = api_decode_token_create(body, len, &r, err)) != TAM_OK)
		return rc;
	rc = mgmt_token_create(&c->m, r.admin, r.spid, r.description,
	    r.expires_in != 0 ? tam_now() + r.expires_in : 0, text, &t, err);
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		rc = tam_err_setk(err, TAM_EINVAL, "token.unknown_sp", "no SP \"%.64s\"",
		    r.spid != NULL ? r.spid : "");
	if (rc == TAM_OK) {
		j = token_json(&t);
		if (j == NULL || json_object_set_new(j, "token", json_string(text)) != 0) {
			json_decref(j);
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		} else if ((rc = api_json(ans, 201, j, err)) == TAM_OK &&
		    http_answer_header(ans, "Location", API_PREFIX "/tokens/%s", t.tokid) != TAM_OK) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		}
	}
	tam_wipe(text, sizeof(text));
	api_token_create_clear(&r);
	return rc;
}

int
api_token_delete(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	const char *id = http_request_param(c->req, "token");
	int rc;

	(void)body;
	(void)len;
	rc = mgmt_token_revoke(&c->m, id, err);
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "token.not_found", "no token \"%.16s\"", id);
	if (rc == TAM_ECONFLICT)
		err->kind = "token.revoked";
	if (rc == TAM_OK)
		ans->no_content = true;
	return rc;
}
