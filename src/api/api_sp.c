// SPDX-License-Identifier: MIT
/*
 * Service providers, their TAs and TA versions: listing, the streamed
 * upload of a signed bundle, its download, and withdrawal. An SP token sees
 * its own SP and TAs only; everyone else's answer 404, as if absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"
#include "tam/log.h"
#include "tam/metrics.h"
#include "tam/otrp.h"

static json_t *
sp_json(const struct store_sp *sp, bool full)
{
	json_t *j = json_pack("{s:s,s:s,s:o,s:o}", "spid", sp->spid, "sdname", sp->sdname,
	    "certificate", api_cert_summary(sp->cert, sp->cert_len), "created",
	    api_time(sp->created));

	if (j != NULL && full && json_object_set_new(j, "certificate_pem",
	    api_cert_pem(sp->cert, sp->cert_len)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
ta_json(struct api_call *c, const struct store_ta *ta)
{
	struct store_ta_version v = { 0 };
	json_t *latest;

	latest = store_ta_version_latest(c->st, ta->id, true, &v, NULL) == TAM_OK ?
	    json_string(v.version) : json_null();
	store_ta_version_clear(&v);
	return json_pack("{s:s,s:s,s:s,s:o,s:o}", "taid", ta->taid, "spid", ta->spid, "name",
	    ta->name, "latest_version", latest, "created", api_time(ta->created));
}

/* What a version requires, as [{"taid", "min_version"}]; NULL when it cannot be read. */
static json_t *
requires_json(struct store *st, int64_t version_id)
{
	struct store_ta_require *r = NULL;
	json_t *a = NULL;
	size_t n = 0;

	if (store_ta_version_requires(st, version_id, &r, &n, NULL) != TAM_OK)
		return NULL;
	a = json_array();
	for (size_t i = 0; i < n && a != NULL; i++)
		if (json_array_append_new(a, json_pack("{s:s,s:o}", "taid", r[i].taid, "min_version",
		    r[i].min_version[0] != '\0' ? json_string(r[i].min_version) : json_null())) != 0) {
			json_decref(a);
			a = NULL;
		}
	free(r);
	return a;
}

static json_t *
version_json(struct store *st, const char *taid, const struct store_ta_version *v)
{
	json_t *reqs = requires_json(st, v->id);

	if (reqs == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:I,s:o,s:o,s:s,s:o,s:o,s:o,s:o}", "taid", taid, "version",
	    v->version, "size", (json_int_t)v->size, "sha256", api_hex(v->digest, sizeof(v->digest)),
	    "created", api_time(v->created), "uploaded_by", v->created_by,
	    "withdrawn", api_time(v->withdrawn),
	    "withdrawn_by", v->withdrawn != 0 ? json_string(v->withdrawn_by) : json_null(),
	    "personalization", v->has_pdata ? json_pack("{s:I,s:o}", "size",
	    (json_int_t)v->pdata_size, "sha256", api_hex(v->pdata_digest, 32)) : json_null(),
	    "requires", reqs);
}

static json_t *
sp_row(const void *ctx, const void *row)
{
	(void)ctx;
	return sp_json(row, false);
}

static json_t *
ta_row(const void *ctx, const void *row)
{
	return ta_json((struct api_call *)ctx, row);
}

/* The versions of one TA, for version_row. */
struct version_ctx {
	struct store *st;
	const char *taid;
};

static json_t *
version_row(const void *ctx, const void *row)
{
	const struct version_ctx *vc = ctx;

	return version_json(vc->st, vc->taid, row);
}

int
api_sps_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_sp *sps = NULL;
	struct api_page p;
	json_t *items;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_page_open(c, 's', &p, err)) != TAM_OK ||
	    (rc = store_sp_page(c->st, c->who.admin ? 0 : c->who.sp_id, &p.pg, &sps, &n,
	    err)) != TAM_OK)
		return rc;
	items = api_items(sps, n, p.limit, sizeof(*sps), sp_row, NULL);
	rc = api_page_answer(c, &p, items, n, 0, n > p.limit ? sps[p.limit - 1].spid : NULL, "",
	    ans, err);
	store_sps_free(sps, n);
	return rc;
}

int
api_sps_create(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct api_sp_create r;
	struct store_sp sp = { 0 };
	int rc;

	if ((rc = api_decode_sp_create(body, len, &r, err)) != TAM_OK)
		return rc;
	rc = mgmt_sp_add(&c->m, r.spid, r.sdname, (const uint8_t *)r.certificate,
	    strlen(r.certificate), err);
	if (rc == TAM_OK && (rc = store_sp_get(c->st, r.spid, &sp, err)) == TAM_OK &&
	    (rc = api_json(ans, 201, sp_json(&sp, false), err)) == TAM_OK &&
	    http_answer_header(ans, "Location", API_PREFIX "/sps/%s", sp.spid) != TAM_OK)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	store_sp_clear(&sp);
	api_sp_create_clear(&r);
	return rc;
}

int
api_sp_get(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_sp sp = { 0 };
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_sp(c, http_request_param(c->req, "sp"), &sp, err)) == TAM_OK)
		rc = api_json(ans, 200, sp_json(&sp, true), err);
	store_sp_clear(&sp);
	return rc;
}

int
api_sp_delete(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	int rc;

	(void)body;
	(void)len;
	rc = mgmt_sp_remove(&c->m, http_request_param(c->req, "sp"), err);
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "sp.not_found", "no SP \"%.64s\"",
		    http_request_param(c->req, "sp"));
	if (rc == TAM_ECONFLICT)
		err->kind = "sp.has_tas";
	if (rc == TAM_OK)
		ans->no_content = true;
	return rc;
}

int
api_sp_update(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	const char *spid = http_request_param(c->req, "sp");
	struct api_sp_create r;
	struct store_sp sp = { 0 };
	int rc;

	if ((rc = api_decode_sp_update(body, len, &r, err)) != TAM_OK)
		return rc;
	rc = mgmt_sp_update(&c->m, spid, r.sdname, (const uint8_t *)r.certificate,
	    r.certificate != NULL ? strlen(r.certificate) : 0, err);
	if (rc == TAM_ENOTFOUND && (err->kind == NULL || strcmp(err->kind, "sp.not_found") != 0))
		rc = tam_err_setk(err, TAM_ENOTFOUND, "sp.not_found", "no SP \"%.64s\"", spid);
	if (rc == TAM_ECONFLICT && err->kind == NULL)
		err->kind = "sp.sdname_taken";
	if (rc == TAM_OK && (rc = store_sp_get(c->st, spid, &sp, err)) == TAM_OK)
		rc = api_json(ans, 200, sp_json(&sp, true), err);
	store_sp_clear(&sp);
	api_sp_create_clear(&r);
	return rc;
}

static int
tas_page(struct api_call *c, int64_t sp_id, struct http_answer *ans, struct tam_err *err)
{
	struct store_ta *tas = NULL;
	struct api_page p;
	json_t *items;
	size_t n = 0;
	int rc;

	if ((rc = api_page_open(c, 't', &p, err)) != TAM_OK ||
	    (rc = store_ta_page(c->st, sp_id, &p.pg, &tas, &n, err)) != TAM_OK)
		return rc;
	items = api_items(tas, n, p.limit, sizeof(*tas), ta_row, c);
	rc = api_page_answer(c, &p, items, n, 0, n > p.limit ? tas[p.limit - 1].taid : NULL, "",
	    ans, err);
	free(tas);
	return rc;
}

int
api_sp_tas_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_sp sp = { 0 };
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_sp(c, http_request_param(c->req, "sp"), &sp, err)) == TAM_OK)
		rc = tas_page(c, sp.id, ans, err);
	store_sp_clear(&sp);
	return rc;
}

int
api_tas_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	(void)body;
	(void)len;
	return tas_page(c, c->who.admin ? 0 : c->who.sp_id, ans, err);
}

int
api_ta_get(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_ta ta;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_ta(c, http_request_param(c->req, "ta"), &ta, err)) != TAM_OK)
		return rc;
	return api_json(ans, 200, ta_json(c, &ta), err);
}

int
api_versions_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_ta_version *vs = NULL;
	struct store_ta ta;
	struct api_page p;
	json_t *items;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_ta(c, http_request_param(c->req, "ta"), &ta, err)) != TAM_OK ||
	    (rc = api_page_open(c, 'v', &p, err)) != TAM_OK ||
	    (rc = store_ta_version_page(c->st, ta.id, &p.pg, &vs, &n, err)) != TAM_OK)
		return rc;
	items = api_items(vs, n, p.limit, sizeof(*vs), version_row,
	    &(const struct version_ctx){ c->st, ta.taid });
	rc = api_page_answer(c, &p, items, n, n > p.limit ? vs[p.limit - 1].version_key : 0, NULL,
	    "", ans, err);
	store_ta_versions_free(vs, n);
	return rc;
}

/* The TA and version named by the path, within the caller's scope. */
static int
scoped_version(struct api_call *c, struct store_ta *ta, struct store_ta_version *v,
    struct tam_err *err)
{
	const char *version = http_request_param(c->req, "version");
	int rc;

	if ((rc = api_scope_ta(c, http_request_param(c->req, "ta"), ta, err)) != TAM_OK)
		return rc;
	rc = store_ta_version_find(c->st, ta->id, version, v, err);
	if (rc == TAM_ENOTFOUND || rc == TAM_EINVAL)
		return tam_err_setk(err, TAM_ENOTFOUND, "ta.version_not_found",
		    "TA %s has no version \"%.32s\"", ta->taid, version);
	return rc;
}

int
api_version_get(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_ta ta;
	int rc;

	(void)body;
	(void)len;
	if ((rc = scoped_version(c, &ta, &v, err)) == TAM_OK)
		rc = api_json(ans, 200, version_json(c->st, ta.taid, &v), err);
	store_ta_version_clear(&v);
	return rc;
}

int
api_version_pdata(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_ta ta;
	int rc;

	if ((rc = scoped_version(c, &ta, &v, err)) == TAM_OK) {
		rc = mgmt_ta_pdata(&c->m, ta.taid, v.version, body, len, err);
		if (rc == TAM_ECONFLICT && err->kind == NULL)
			err->kind = "ta.pdata_refused";
	}
	store_ta_version_clear(&v);
	if (rc == TAM_OK && (rc = scoped_version(c, &ta, &v, err)) == TAM_OK)
		rc = api_json(ans, 200, version_json(c->st, ta.taid, &v), err);
	store_ta_version_clear(&v);
	return rc;
}

int
api_version_withdraw(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_ta ta;
	int rc;

	(void)body;
	(void)len;
	if ((rc = scoped_version(c, &ta, &v, err)) == TAM_OK) {
		rc = mgmt_ta_withdraw(&c->m, ta.taid, v.version, err);
		if (rc == TAM_ECONFLICT)
			err->kind = "ta.withdraw_refused";
	}
	store_ta_version_clear(&v);
	if (rc == TAM_OK && (rc = scoped_version(c, &ta, &v, err)) == TAM_OK)
		rc = api_json(ans, 200, version_json(c->st, ta.taid, &v), err);
	store_ta_version_clear(&v);
	return rc;
}

/* ---- download: the bundle streams from the database as it is sent ---- */

static long
bundle_read(void *cls, uint64_t pos, uint8_t *buf, size_t max)
{
	struct tam_err e = { 0 };

	if (store_blob_read(cls, pos, buf, max, &e) != TAM_OK) {
		log_warn("event=api.download error=\"%s\"", e.msg);
		return -1;
	}
	return (long)max;
}

static void
bundle_free(void *cls)
{
	store_blob_close(cls);
}

/*
 * Who took a copy of an SP's bundle is the SP's business: downloads are
 * audited, TAM_AUDIT_REFUSALS_PER_MINUTE a minute per token, the rest counted.
 */
static int
audit_download(struct api_call *c, const struct store_ta *ta, const struct store_ta_version *v,
    uint64_t size, struct tam_err *err)
{
	char detail[200], peer[64] = "";
	unsigned dropped;
	int n;

	/* A token downloading in a loop must not fill the trail: a budget per token. */
	if (!api_audit_admit(c->ctx->download_budget, &c->ctx->downloads_dropped, c->who.actor,
	    &dropped))
		return TAM_OK;
	if (c->req == NULL || http_request_peer(c->req, peer, sizeof(peer)) != 0)
		snprintf(peer, sizeof(peer), "local");
	n = snprintf(detail, sizeof(detail), "version=%s size=%llu peer=%s", v->version,
	    (unsigned long long)size, peer);
	if (dropped > 0 && n > 0 && (size_t)n < sizeof(detail))
		snprintf(detail + n, sizeof(detail) - (size_t)n, " not_audited_before=%u", dropped);
	return store_audit(c->st, c->who.actor, "ta.download", ta->taid, detail, err);
}

int
api_version_bundle(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_blob *b = NULL;
	struct store_ta ta;
	uint8_t head[64];
	uint64_t size = 0;
	char *d64 = NULL;
	int rc;

	(void)body;
	(void)len;
	if ((rc = scoped_version(c, &ta, &v, err)) != TAM_OK)
		goto out;
	rc = store_ta_bundle_open(c->ctx->db_path, v.id, &b, &size, err);
	if (rc == TAM_ENOTFOUND && v.withdrawn != 0) {
		rc = tam_err_setk(err, TAM_ENOTFOUND, "ta.bundle_removed", "version %s of TA %s was "
		    "withdrawn and its bundle removed (retention.withdrawn)", v.version, ta.taid);
		goto out;
	}
	if (rc != TAM_OK ||
	    (rc = store_blob_read(b, 0, head, size < sizeof(head) ? (size_t)size : sizeof(head),
	    err)) != TAM_OK)
		goto out;
	if (tam_b64_encode(v.digest, sizeof(v.digest), &d64) != TAM_OK) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	/* The serialization the SP uploaded, named by its media type (RFC 7515 §9.2). */
	ans->content_type = otrp_bundle_is_json(head, size < sizeof(head) ? (size_t)size :
	    sizeof(head)) ? "application/jose+json" : "application/jose";
	if (http_answer_header(ans, "Content-Digest", "sha-256=:%s:", d64) != TAM_OK) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = audit_download(c, &ta, &v, size, err)) != TAM_OK)
		goto out;
	ans->reader = (struct http_body_reader){ size, bundle_read, bundle_free, b };
	b = NULL;
out:
	free(d64);
	store_blob_close(b);
	store_ta_version_clear(&v);
	return rc;
}

/* ---- upload: streamed, verified as it arrives, stored only when whole and valid ---- */

struct upload {
	struct api_ctx *ctx;
	struct api_principal who;
	struct mgmt_upload *u;
	uint8_t want[32];
	bool have_want;
	int rc;                       /* first failure while the body streamed */
	struct tam_err err;
	char taid[TAM_TAID_MAX];
};

static bool
upload_media_ok(const char *ct)
{
	return http_content_type_is(ct, "application/octet-stream") ||
	    http_content_type_is(ct, "application/jose") ||
	    http_content_type_is(ct, "application/jose+json");
}

/* Another SP's TA is not even said to exist to an SP token. */
static int
hide_other_sp(const struct api_principal *who, int rc, const char *taid, struct tam_err *err)
{
	if (who->admin || rc != TAM_ECONFLICT || err->kind == NULL ||
	    strcmp(err->kind, "ta.other_sp") != 0)
		return rc;
	return tam_err_setk(err, TAM_ENOTFOUND, "ta.not_found", "no TA \"%.64s\"", taid);
}

static void
upload_free(void *state)
{
	struct upload *up = state;

	if (up == NULL)
		return;
	mgmt_upload_free(up->u);
	free(up);
}

static int
upload_begin(void *arg, const struct http_request *req, void **state, struct http_answer *ans,
    struct tam_err *err)
{
	struct api_ctx *ctx = arg;
	const char *cl = http_request_header(req, "Content-Length");
	const char *version = http_request_query(req, "version");
	const char *reqs[TAM_MAX_TA_REQUIRES];
	uint64_t max = atomic_load(&ctx->max_upload);
	size_t n_req;
	struct store_sp sp = { 0 };
	struct upload *up = NULL;
	struct api_call c;
	int rc;

	*state = NULL;
	if ((rc = api_call_open(ctx, req, &c, ans, err)) != TAM_OK)
		return rc;
	if ((rc = api_scope_sp(&c, http_request_param(req, "sp"), &sp, err)) != TAM_OK)
		goto fail;
	if (!upload_media_ok(http_request_header(req, "Content-Type"))) {
		api_problem_as(http_request_id(req), ans, 415, "request.media_type",
		    "a TA bundle is application/jose (compact JWS), application/jose+json or "
		    "application/octet-stream");
		rc = TAM_EMALFORMED;
		goto out;
	}
	if (cl != NULL && strtoull(cl, NULL, 10) > max) {
		rc = tam_err_setk(err, TAM_ETOO_LARGE, "upload.too_large",
		    "the bundle is larger than limits.max_upload (%llu bytes)", (unsigned long long)max);
		goto fail;
	}
	if (version == NULL) {
		rc = tam_err_setk(err, TAM_EMALFORMED, "request.missing_member",
		    "the ?version= query parameter is required");
		goto fail;
	}
	if ((up = calloc(1, sizeof(*up))) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto fail;
	}
	up->ctx = ctx;
	up->who = c.who;
	snprintf(up->taid, sizeof(up->taid), "%s", http_request_param(req, "ta"));
	if (api_decode_digest(http_request_header(req, "Content-Digest"),
	    http_request_header(req, "Digest"), http_request_query(req, "sha256"), up->want,
	    &up->have_want) != 0) {
		rc = tam_err_setk(err, TAM_EMALFORMED, "upload.bad_digest",
		    "Content-Digest, Digest or ?sha256 is not a SHA-256 digest");
		goto fail;
	}
	rc = mgmt_upload_begin(&c.m, sp.spid, http_request_param(req, "ta"), version,
	    http_request_query(req, "name"), ctx->spool_dir, max, &up->u, err);
	if (rc != TAM_OK) {
		int was = rc;
		rc = hide_other_sp(&c.who, rc, http_request_param(req, "ta"), err);
		if (rc != was)
			api_audit_scope(&c, "ta.not_found");
		goto fail;
	}
	/* Refused before the body is read, like everything the query string decides. */
	n_req = http_request_query_all(req, "requires", reqs, TAM_MAX_TA_REQUIRES);
	if ((rc = mgmt_upload_requires(&c.m, up->u, reqs, n_req, err)) != TAM_OK ||
	    (rc = mgmt_upload_quota(&c.m, up->u, cl != NULL ? strtoull(cl, NULL, 10) : 0,
	    err)) != TAM_OK)
		goto fail;
	store_sp_clear(&sp);
	*state = up;
	return TAM_OK;
fail:
	api_problem(&c, ans, rc, err);
out:
	metrics_upload(false, 0);
	store_sp_clear(&sp);
	upload_free(up);
	return rc;
}

static int
upload_data(void *state, const uint8_t *buf, size_t len)
{
	struct upload *up = state;

	if (up->rc == TAM_OK)
		up->rc = mgmt_upload_write(up->u, buf, len, &up->err);
	return up->rc != TAM_OK;
}

static int
upload_end(void *state, const struct http_request *req, struct http_answer *ans,
    struct tam_err *err)
{
	struct upload *up = state;
	struct mgmt_upload_result res;
	struct store_ta_version v = { 0 };
	struct api_call c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.ctx = up->ctx;
	c.req = req;
	c.who = up->who;
	if (up->rc != TAM_OK) {
		rc = up->rc;
		*err = up->err;
		if (rc == TAM_ETOO_LARGE && err->kind != NULL &&
		    strcmp(err->kind, "upload.too_large") == 0)
			tam_err_setk(err, rc, "upload.too_large",
			    "the bundle is larger than limits.max_upload (%llu bytes)",
			    (unsigned long long)atomic_load(&up->ctx->max_upload));
		goto fail;
	}
	if ((c.st = up->ctx->store(err)) == NULL) {
		rc = TAM_EDB;
		goto fail;
	}
	c.m.st = c.st;
	c.m.actor = c.who.actor;
	c.m.quota_bytes = atomic_load(&up->ctx->sp_quota_bytes);
	c.m.quota_versions = atomic_load(&up->ctx->sp_quota_versions);
	if ((rc = mgmt_upload_finish(&c.m, up->u, up->have_want ? up->want : NULL, &res,
	    err)) != TAM_OK) {
		rc = hide_other_sp(&c.who, rc, up->taid, err);
		goto fail;
	}
	if ((rc = store_ta_version_get(c.st, res.version_id, false, &v, err)) != TAM_OK)
		goto fail;
	metrics_upload(true, res.size);
	log_info("event=ta.upload actor=%s taid=%s version=%s bytes=%llu existed=%d",
	    c.who.actor, up->taid, v.version, (unsigned long long)res.size,
	    res.existed);
	rc = api_json(ans, res.existed ? 200 : 201, version_json(c.st, up->taid, &v), err);
	if (rc == TAM_OK && http_answer_header(ans, "Location", API_PREFIX "/tas/%s/versions/%s",
	    up->taid, v.version) != TAM_OK)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	store_ta_version_clear(&v);
	return rc;
fail:
	metrics_upload(false, 0);
	return api_problem(&c, ans, rc, err) == TAM_OK ? TAM_OK : TAM_ENOMEM;
}

const struct http_upload_ops api_upload_ops = { upload_begin, upload_data, upload_end,
    upload_free };
