// SPDX-License-Identifier: MIT
/*
 * The REST API's common ground: the route table, authentication and role
 * checks before any handler runs, problem documents (RFC 9457) for every
 * failure, keyset paging with opaque cursors, and JSON forms of times and
 * certificates. Handlers in the other api_*.c files only do their resource.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api_int.h"
#include "tam/log.h"
#include "tam/metrics.h"
#include "tam/pki.h"

#define MEDIA_JSON "application/json"
#define MEDIA_PROBLEM "application/problem+json"

/* ---- answers ---- */

int
api_json(struct http_answer *ans, unsigned status, json_t *j, struct tam_err *err)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (s == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	ans->status = status;
	ans->content_type = MEDIA_JSON;
	ans->body = s;
	ans->len = strlen(s);
	return TAM_OK;
}

unsigned
api_status_for(int rc)
{
	switch (rc) {
	case TAM_ENOTFOUND:
		return 404;
	case TAM_ECONFLICT:
		return 409;
	case TAM_ETOO_LARGE:
		return 413;
	case TAM_EQUOTA:
		return 507;
	case TAM_EDENIED:
		return 403;
	case TAM_EINVAL:
	case TAM_ESIGNATURE:
	case TAM_EALG:
	case TAM_ECERT_UNTRUSTED:
	case TAM_ECERT_EXPIRED:
	case TAM_ECERT_INVALID:
	case TAM_ECERT_REVOKED:
	case TAM_EUNSUPPORTED:
		return 422;
	case TAM_ENOMEM:
	case TAM_EIO:
	case TAM_ECRYPTO:
	case TAM_EDB:
		return 500;
	case TAM_EBUSY:
		return 503;
	default:
		return 400;
	}
}

static const char *
title_for(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 507: return "Insufficient Storage";
	default: return "Internal Server Error";
	}
}

int
api_problem_as(const char *request_id, struct http_answer *ans, unsigned status,
    const char *kind, const char *detail)
{
	char clean[TAM_ERR_MSG_MAX], code[96];
	json_t *j;
	size_t i;

	http_answer_clear(ans);
	/* Server faults stay in the log; details otherwise may echo input: printable ASCII only. */
	if (status >= 500 && status != 507)
		detail = "internal error; the server log has the details";
	for (i = 0; i + 1 < sizeof(clean) && detail[i] != '\0'; i++)
		clean[i] = detail[i] >= 0x20 && detail[i] < 0x7f ? detail[i] : '?';
	clean[i] = '\0';
	snprintf(code, sizeof(code), "tam.%s", kind);
	j = json_pack("{s:s+,s:s,s:i,s:s,s:s,s:s}", "type", "urn:otrp-tamd:problem:", code,
	    "title", title_for(status), "status", (int)status, "detail", clean, "code", code,
	    "request_id", request_id);
	if (api_json(ans, status, j, NULL) != TAM_OK)
		return TAM_ENOMEM;
	ans->content_type = MEDIA_PROBLEM;
	if (status == 401 && http_answer_header(ans, "WWW-Authenticate", "Bearer realm=\"otrp-tamd\"")
	    != TAM_OK)
		return TAM_ENOMEM;
	return TAM_OK;
}

int
api_problem(struct api_call *c, struct http_answer *ans, int rc, const struct tam_err *err)
{
	unsigned status = api_status_for(rc);
	const char *kind = err != NULL && err->kind != NULL ? err->kind : tam_err_name(rc);
	const char *id = http_request_id(c->req);

	if (status >= 500)
		log_warn("event=api.error actor=%s path=%s error=%s detail=\"%s\"",
		    c->who.actor, http_request_path(c->req), tam_err_name(rc), err ? err->msg : "");
	else
		log_info("event=api.refuse actor=%s path=%s status=%u code=tam.%s",
		    c->who.actor, http_request_path(c->req), status, kind);
	return api_problem_as(id, ans, status, kind,
	    err != NULL && err->msg[0] != '\0' ? err->msg : tam_err_name(rc));
}

/* ---- authentication ---- */

int
api_call_open(struct api_ctx *ctx, const struct http_request *req, struct api_call *c,
    struct http_answer *ans, struct tam_err *err)
{
	const char *local = http_request_local_actor(req), *auth;
	struct store_token t;
	int rc;

	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->req = req;
	if ((c->st = ctx->store(err)) == NULL) {
		metrics_db_error();
		log_warn("event=api.error detail=\"%s\"", err ? err->msg : "");
		api_problem_as(http_request_id(req), ans, 500, "database", "");
		return TAM_EDB;
	}
	if (local != NULL) {
		/* In-process: the caller holds the database file itself, so it is admin. */
		c->who.admin = true;
		snprintf(c->who.actor, sizeof(c->who.actor), "%s", local);
	} else {
		auth = http_request_header(req, "Authorization");
		if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
			api_audit_refusal(ctx, c->st, req, 401, "auth.missing_token", NULL);
			api_problem_as(http_request_id(req), ans, 401, "auth.missing_token",
			    "an Authorization: Bearer token is required");
			return TAM_EDENIED;
		}
		auth += 7;
		while (*auth == ' ')
			auth++;
		rc = mgmt_token_check(c->st, auth, tam_now(), &t, err);
		if (rc != TAM_OK) {
			if (rc != TAM_EDENIED) {
				api_problem_as(http_request_id(req), ans, 500, "database", "");
				return rc;
			}
			log_info("event=api.refuse status=401 code=tam.auth.invalid_token");
			api_audit_refusal(ctx, c->st, req, 401, "auth.invalid_token", NULL);
			api_problem_as(http_request_id(req), ans, 401, "auth.invalid_token",
			    "the token is malformed, unknown, revoked or expired");
			return TAM_EDENIED;
		}
		c->who.admin = t.admin;
		c->who.sp_id = t.sp_id;
		memcpy(c->who.spid, t.spid, sizeof(c->who.spid));
		snprintf(c->who.actor, sizeof(c->who.actor), "token:%s", t.tokid);
	}
	c->m.st = c->st;
	c->m.actor = c->who.actor;
	c->m.quota_bytes = atomic_load(&ctx->sp_quota_bytes);
	c->m.quota_versions = atomic_load(&ctx->sp_quota_versions);
	return TAM_OK;
}

/* Before the body: authenticate and check the role, so no stranger's body is ever read. */
static int
api_admit(void *arg, const struct http_request *req, struct http_answer *ans,
    struct tam_err *err)
{
	const struct api_binding *b = arg;
	struct api_call c;
	int rc;

	if (b->flags & API_NO_AUTH)
		return TAM_OK;
	if ((rc = api_call_open(b->ctx, req, &c, ans, err)) != TAM_OK)
		return rc;
	if ((b->flags & API_ADMIN_ONLY) && !c.who.admin) {
		api_audit_refusal(b->ctx, c.st, req, 403, "auth.forbidden", c.who.actor);
		api_problem_as(http_request_id(req), ans, 403, "auth.forbidden",
		    "this needs an admin token");
		return TAM_EDENIED;
	}
	return TAM_OK;
}

/* Every API route goes through here. */
static int
api_handle(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	const struct api_binding *b = arg;
	struct api_call c;
	int rc;

	if (b->flags & API_NO_AUTH) {
		memset(&c, 0, sizeof(c));
		c.ctx = b->ctx;
		c.req = req;
		return b->fn(&c, body, len, ans, err);
	}
	if (api_call_open(b->ctx, req, &c, ans, err) != TAM_OK)
		return TAM_OK;
	if ((b->flags & API_ADMIN_ONLY) && !c.who.admin) {
		api_audit_refusal(b->ctx, c.st, req, 403, "auth.forbidden", c.who.actor);
		return api_problem_as(http_request_id(req), ans, 403, "auth.forbidden",
		    "this needs an admin token") == TAM_OK ? TAM_OK : TAM_ENOMEM;
	}
	if (len > 0 && !http_content_type_is(http_request_header(req, "Content-Type"),
	    (b->flags & API_OCTETS) ? "application/octet-stream" : MEDIA_JSON))
		return api_problem_as(http_request_id(req), ans, 415, "request.media_type",
		    (b->flags & API_OCTETS) ? "the request body must be application/octet-stream" :
		    "the request body must be application/json") == TAM_OK ? TAM_OK : TAM_ENOMEM;
	if (len > API_MAX_JSON_BODY)
		return api_problem_as(http_request_id(req), ans, 413, "request.too_large",
		    "request bodies are limited to 1 MiB") == TAM_OK ? TAM_OK : TAM_ENOMEM;
	rc = b->fn(&c, body, len, ans, err);
	if (rc != TAM_OK)
		rc = api_problem(&c, ans, rc, err) == TAM_OK ? TAM_OK : TAM_ENOMEM;
	return rc;
}

size_t
api_routes(struct api_ctx *ctx, struct http_route *out, size_t max)
{
	static const struct {
		const char *method;
		const char *path;
		api_fn fn;
		unsigned flags;
	} table[] = {
		{ "GET", "/healthz", api_healthz, API_NO_AUTH },
		{ "GET", "/metrics", api_metrics, API_NO_AUTH },
		{ "GET", API_PREFIX "/sps", api_sps_list, 0 },
		{ "POST", API_PREFIX "/sps", api_sps_create, API_ADMIN_ONLY },
		{ "GET", API_PREFIX "/sps/{sp}", api_sp_get, 0 },
		{ "DELETE", API_PREFIX "/sps/{sp}", api_sp_delete, API_ADMIN_ONLY },
		{ "PATCH", API_PREFIX "/sps/{sp}", api_sp_update, API_ADMIN_ONLY },
		{ "GET", API_PREFIX "/sps/{sp}/tas", api_sp_tas_list, 0 },
		{ "GET", API_PREFIX "/tas", api_tas_list, 0 },
		{ "GET", API_PREFIX "/tas/{ta}", api_ta_get, 0 },
		{ "GET", API_PREFIX "/tas/{ta}/versions", api_versions_list, 0 },
		{ "GET", API_PREFIX "/tas/{ta}/versions/{version}", api_version_get, 0 },
		{ "DELETE", API_PREFIX "/tas/{ta}/versions/{version}", api_version_withdraw, 0 },
		{ "GET", API_PREFIX "/tas/{ta}/versions/{version}/bundle", api_version_bundle, 0 },
		{ "PUT", API_PREFIX "/tas/{ta}/versions/{version}/pdata", api_version_pdata,
		    API_OCTETS },
		{ "GET", API_PREFIX "/devices", api_devices_list, 0 },
		{ "POST", API_PREFIX "/devices", api_devices_enroll, API_ADMIN_ONLY },
		{ "GET", API_PREFIX "/devices/{device}", api_device_get, 0 },
		{ "POST", API_PREFIX "/devices/{device}/decommission", api_device_decommission,
		    API_ADMIN_ONLY },
		{ "POST", API_PREFIX "/devices/{device}/sd-requests", api_device_sd_request, 0 },
		{ "GET", API_PREFIX "/devices/{device}/assignments", api_assignments_list, 0 },
		{ "POST", API_PREFIX "/devices/{device}/assignments", api_assignments_create, 0 },
		{ "GET", API_PREFIX "/devices/{device}/assignments/{ta}", api_assignment_get, 0 },
		{ "DELETE", API_PREFIX "/devices/{device}/assignments/{ta}", api_assignment_delete, 0 },
		{ "POST", API_PREFIX "/assignments", api_assignments_bulk, 0 },
		{ "GET", API_PREFIX "/trust-anchors", api_anchors_list, API_ADMIN_ONLY },
		{ "POST", API_PREFIX "/trust-anchors", api_anchors_add, API_ADMIN_ONLY },
		{ "GET", API_PREFIX "/trust-anchors/{name}", api_anchor_get, API_ADMIN_ONLY },
		{ "DELETE", API_PREFIX "/trust-anchors/{name}", api_anchor_delete, API_ADMIN_ONLY },
		{ "GET", API_PREFIX "/audit", api_audit_list, API_ADMIN_ONLY },
		{ "GET", API_PREFIX "/tokens", api_tokens_list, API_ADMIN_ONLY },
		{ "POST", API_PREFIX "/tokens", api_tokens_create, API_ADMIN_ONLY },
		{ "DELETE", API_PREFIX "/tokens/{token}", api_token_delete, API_ADMIN_ONLY },
	};
	size_t n = 0, i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]) && n < max && i < API_MAX_BINDINGS; i++) {
		ctx->bindings[i] = (struct api_binding){ ctx, table[i].fn, table[i].flags };
		out[n++] = (struct http_route){ table[i].method, table[i].path, NULL, api_handle,
		    &ctx->bindings[i], NULL, api_admit };
	}
	/* The upload streams: it authenticates in its own begin hook. */
	if (n < max)
		out[n++] = (struct http_route){ "POST", API_PREFIX "/sps/{sp}/tas/{ta}/versions", NULL,
		    NULL, ctx, &api_upload_ops, NULL };
	return n;
}

/* ---- paging ---- */

int
api_page_open(struct api_call *c, char kind, struct api_page *p, struct tam_err *err)
{
	const char *lim = http_request_query(c->req, "limit");
	const char *cur = http_request_query(c->req, "cursor");
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	char *end;
	long long v;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->limit = API_DEFAULT_LIMIT;
	if (lim != NULL) {
		v = strtoll(lim, &end, 10);
		if (lim[0] == '\0' || *end != '\0' || v < 1)
			return tam_err_setk(err, TAM_EMALFORMED, "request.bad_limit",
			    "limit must be a positive integer");
		p->limit = v > API_MAX_LIMIT ? API_MAX_LIMIT : (size_t)v;
	}
	p->pg.limit = p->limit + 1;
	if (cur == NULL)
		return TAM_OK;
	/* A cursor is base64url("<kind>:<key>"): opaque to clients, checked here. */
	if (strlen(cur) > 400 || tam_b64url_decode(cur, strlen(cur), &raw, &rawlen) != TAM_OK ||
	    rawlen < 3 || rawlen >= sizeof(p->after_text) || raw[0] != (uint8_t)kind ||
	    raw[1] != ':' || memchr(raw, '\0', rawlen) != NULL) {
		free(raw);
		return tam_err_setk(err, TAM_EMALFORMED, "request.bad_cursor",
		    "cursor is not one this list gave out");
	}
	memcpy(p->after_text, raw + 2, rawlen - 2);
	p->after_text[rawlen - 2] = '\0';
	free(raw);
	p->pg.after_text = p->after_text;
	v = strtoll(p->after_text, &end, 10);
	if (*end == '\0' && v >= 0)
		p->pg.after_int = (int64_t)v;
	p->pg.resume = true;
	return TAM_OK;
}

int
api_page_answer(struct api_call *c, struct api_page *p, json_t *items, size_t n,
    int64_t next_int, const char *next_text, const char *extra_query, struct http_answer *ans,
    struct tam_err *err)
{
	char key[300], *cur = NULL;
	json_t *j;
	int rc;

	if (items == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if (n <= p->limit) {
		j = json_pack("{s:o}", "items", items);
		return api_json(ans, 200, j, err);
	}
	if (next_text != NULL)
		snprintf(key, sizeof(key), "%c:%s", p->kind, next_text);
	else
		snprintf(key, sizeof(key), "%c:%lld", p->kind, (long long)next_int);
	if (tam_b64url_encode((const uint8_t *)key, strlen(key), &cur) != TAM_OK) {
		json_decref(items);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	j = json_pack("{s:o,s:s}", "items", items, "next_cursor", cur);
	rc = api_json(ans, 200, j, err);
	if (rc == TAM_OK && http_answer_header(ans, "Link", "<%s?limit=%zu&cursor=%s%s>; rel=\"next\"",
	    http_request_path(c->req), p->limit, cur, extra_query) != TAM_OK)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	free(cur);
	return rc;
}

/* ---- JSON helpers ---- */

json_t *
api_items(const void *rows, size_t n, size_t limit, size_t size, api_row_fn conv,
    const void *ctx)
{
	json_t *items = json_array();

	for (size_t i = 0; i < n && i < limit && items != NULL; i++)
		if (json_array_append_new(items, conv(ctx, (const char *)rows + i * size)) != 0) {
			json_decref(items);
			items = NULL;
		}
	return items;
}

json_t *
api_time(int64_t t)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

int
api_parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	char *end, z = 0;
	long long v;
	int n = 0;

	*out = 0;
	if (s == NULL || s[0] == '\0' || strlen(s) > 32)
		return -1;
	v = strtoll(s, &end, 10);
	if (*end == '\0' && v >= 0) {
		*out = (int64_t)v;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) != 7 || z != 'Z' || s[n] != '\0' ||
	    tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

json_t *
api_hex(const uint8_t *p, size_t n)
{
	char buf[129];

	if (n * 2 + 1 > sizeof(buf))
		return json_null();
	tam_hex_encode(p, n, buf);
	return json_string(buf);
}

json_t *
api_cert_summary(const uint8_t *der, size_t len)
{
	char subject[256], issuer[256];
	uint8_t fp[32];
	X509 *x = NULL;
	json_t *j;

	if (pki_cert_from_der(der, len, &x, NULL) != TAM_OK)
		return json_null();
	pki_cert_subject(x, subject, sizeof(subject));
	pki_cert_issuer(x, issuer, sizeof(issuer));
	if (pki_cert_sha256(x, fp) != TAM_OK)
		memset(fp, 0, sizeof(fp));
	j = json_pack("{s:s,s:s,s:o,s:o}", "subject", subject, "issuer", issuer, "not_after",
	    api_time(pki_cert_not_after(x)), "sha256", api_hex(fp, sizeof(fp)));
	X509_free(x);
	return j;
}

json_t *
api_cert_pem(const uint8_t *der, size_t len)
{
	BIO *b = NULL;
	X509 *x = NULL;
	json_t *j = NULL;
	char *p;
	long n;

	if (pki_cert_from_der(der, len, &x, NULL) != TAM_OK)
		return json_null();
	if ((b = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_X509(b, x) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		j = json_stringn(p, (size_t)n);
	BIO_free(b);
	X509_free(x);
	return j != NULL ? j : json_null();
}

/* ---- scope ---- */

int
api_scope_sp(struct api_call *c, const char *spid, struct store_sp *out, struct tam_err *err)
{
	int rc = store_sp_get(c->st, spid, out, err);

	if (rc == TAM_OK && !c->who.admin && out->id != c->who.sp_id) {
		store_sp_clear(out);
		api_audit_scope(c, "sp.not_found");
		rc = TAM_ENOTFOUND;
	}
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "sp.not_found", "no SP \"%.64s\"", spid);
	return rc;
}

int
api_scope_ta(struct api_call *c, const char *taid, struct store_ta *out, struct tam_err *err)
{
	int rc = store_ta_get(c->st, taid, out, err);

	if (rc == TAM_OK && !c->who.admin && out->sp_id != c->who.sp_id) {
		api_audit_scope(c, "ta.not_found");
		rc = TAM_ENOTFOUND;
	}
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "ta.not_found", "no TA \"%.64s\"", taid);
	return rc;
}

int
api_scope_device(struct api_call *c, const char *ref, struct store_device *out,
    struct tam_err *err)
{
	bool visible = true;
	int rc = store_device_find(c->st, ref, out, err);

	/* An ambiguous prefix would tell an SP about devices it does not see. */
	if (rc == TAM_ECONFLICT && !c->who.admin)
		rc = TAM_ENOTFOUND;

	if (rc == TAM_OK && !c->who.admin &&
	    ((rc = store_device_visible(c->st, out->id, c->who.sp_id, &visible, err)) != TAM_OK ||
	    !visible)) {
		store_device_clear(out);
		if (rc != TAM_OK)
			return rc;
		api_audit_scope(c, "device.not_found");
		rc = TAM_ENOTFOUND;
	}
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "device.not_found", "no device \"%.64s\"", ref);
	return rc;
}
