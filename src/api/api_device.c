// SPDX-License-Identifier: MIT
/*
 * Devices and what should be on them: enrollment and decommissioning
 * (operators), the desired state next to the observed one, and assignments,
 * one device at a time or in bulk. An SP token sees the devices where it
 * has a stake (one of its TAs assigned, or its SD present) and, on them,
 * only its own TAs and SD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static json_t *
device_json(const struct store_device *d)
{
	char did[TAM_DID_HEX];

	tam_hex_encode(d->did, sizeof(d->did), did);
	return json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", did,
	    "name", d->name[0] != '\0' ? json_string(d->name) : json_null(),
	    "key", d->key_kind == STORE_KEY_CERT ? "certificate" : "raw",
	    "profile", d->profile, "state", d->state, "tee_name", d->tee_name,
	    "tee_version", d->tee_ver, "thumbprint", d->thumbprint,
	    "created", api_time(d->created), "last_seen", api_time(d->last_seen));
}

static json_t *
assignment_json(const struct store_assignment_row *a)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:b,s:o,s:s}", "taid", a->taid, "spid", a->spid,
	    "version", a->pinned[0] != '\0' ? json_string(a->pinned) : json_null(),
	    "resolved_version", a->resolved[0] != '\0' ? json_string(a->resolved) : json_null(),
	    "allow_downgrade", a->allow_downgrade,
	    "created", api_time(a->created), "created_by", a->created_by);
}

static json_t *
device_row(const void *ctx, const void *row)
{
	(void)ctx;
	return device_json(row);
}

static json_t *
assignment_row(const void *ctx, const void *row)
{
	(void)ctx;
	return assignment_json(row);
}

int
api_devices_list(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_device *ds = NULL;
	struct api_page p;
	json_t *items;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_page_open(c, 'd', &p, err)) != TAM_OK ||
	    (rc = store_device_page(c->st, c->who.admin ? 0 : c->who.sp_id, &p.pg, &ds, &n,
	    err)) != TAM_OK)
		return rc;
	items = api_items(ds, n, p.limit, sizeof(*ds), device_row, NULL);
	rc = api_page_answer(c, &p, items, n, n > p.limit ? ds[p.limit - 1].id : 0, NULL, "", ans,
	    err);
	store_devices_free(ds, n);
	return rc;
}

int
api_devices_enroll(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct api_device_enroll r;
	struct store_device d = { 0 };
	char did[TAM_DID_HEX];
	int64_t id = 0;
	int rc;

	if ((rc = api_decode_device_enroll(body, len, &r, err)) != TAM_OK)
		return rc;
	rc = mgmt_device_enroll(&c->m, r.name, r.profile, (const uint8_t *)r.material,
	    strlen(r.material), &id, err);
	if (rc == TAM_ECONFLICT && err->kind == NULL)
		err->kind = "device.exists";
	if (rc == TAM_OK && (rc = store_device_get(c->st, id, &d, err)) == TAM_OK) {
		tam_hex_encode(d.did, sizeof(d.did), did);
		if ((rc = api_json(ans, 201, device_json(&d), err)) == TAM_OK &&
		    http_answer_header(ans, "Location", API_PREFIX "/devices/%s", did) != TAM_OK)
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	store_device_clear(&d);
	api_device_enroll_clear(&r);
	return rc;
}

/* The SP a scoped caller may see on a device: all (0) for admins. */
static int
visible_sd(struct api_call *c, char sdname[TAM_SDNAME_MAX], struct tam_err *err)
{
	struct store_sp sp = { 0 };
	int rc;

	sdname[0] = '\0';
	if (c->who.admin)
		return TAM_OK;
	if ((rc = store_sp_get_by_id(c->st, c->who.sp_id, &sp, err)) != TAM_OK)
		return rc;
	memcpy(sdname, sp.sdname, TAM_SDNAME_MAX);
	store_sp_clear(&sp);
	return TAM_OK;
}

static json_t *
observed_json(struct api_call *c, const struct tam_dev_state *s, const char *only_sd)
{
	json_t *sds = json_array(), *tas = json_array(), *v;
	struct store_ta_version ver;

	for (size_t i = 0; i < s->n_sds && sds != NULL; i++) {
		if (only_sd[0] != '\0' && strcmp(s->sds[i].sdname, only_sd) != 0)
			continue;
		if (json_array_append_new(sds, json_pack("{s:s,s:s}", "sdname", s->sds[i].sdname,
		    "spid", s->sds[i].spid)) != 0)
			return NULL;
	}
	for (size_t i = 0; i < s->n_tas && tas != NULL; i++) {
		if (only_sd[0] != '\0' && strcmp(s->tas[i].sdname, only_sd) != 0)
			continue;
		v = json_null();
		if (s->tas[i].ta_version_id != 0 &&
		    store_ta_version_get(c->st, s->tas[i].ta_version_id, false, &ver, NULL) == TAM_OK) {
			json_decref(v);
			v = json_string(ver.version);
			store_ta_version_clear(&ver);
		}
		if (json_array_append_new(tas, json_pack("{s:s,s:s,s:s,s:o}", "taid",
		    s->tas[i].taid, "sdname", s->tas[i].sdname, "name", s->tas[i].taname,
		    "version", v)) != 0)
			return NULL;
	}
	return json_pack("{s:o,s:o}", "sds", sds, "tas", tas);
}

int
api_device_get(struct api_call *c, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct store_assignment_row *rows = NULL;
	struct store_page all = { 0 };
	struct tam_dev_state s = { 0 };
	struct store_device d = { 0 };
	char sdname[TAM_SDNAME_MAX];
	json_t *j = NULL, *desired;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_device(c, http_request_param(c->req, "device"), &d, err)) != TAM_OK ||
	    (rc = visible_sd(c, sdname, err)) != TAM_OK ||
	    (rc = store_assignment_page(c->st, d.id, c->who.admin ? 0 : c->who.sp_id, &all, &rows,
	    &n, err)) != TAM_OK ||
	    (rc = store_device_state_get(c->st, d.id, &s, err)) != TAM_OK)
		goto out;
	desired = api_items(rows, n, n, sizeof(*rows), assignment_row, NULL);
	j = device_json(&d);
	if (j == NULL || desired == NULL ||
	    json_object_set_new(j, "desired", desired) != 0 ||
	    json_object_set_new(j, "observed", observed_json(c, &s, sdname)) != 0 ||
	    (d.key_kind == STORE_KEY_CERT &&
	    json_object_set_new(j, "certificate", api_cert_summary(d.cert, d.cert_len)) != 0)) {
		json_decref(j);
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	rc = api_json(ans, 200, j, err);
out:
	free(rows);
	tam_dev_state_free(&s);
	store_device_clear(&d);
	return rc;
}

int
api_device_sd_request(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct api_sd_request r;
	struct store_device d = { 0 };
	struct store_sp sp = { 0 };
	char did[TAM_DID_HEX];
	int rc;

	if ((rc = api_scope_device(c, http_request_param(c->req, "device"), &d, err)) != TAM_OK)
		return rc;
	if ((rc = api_decode_sd_request(body, len, &r, err)) != TAM_OK)
		goto out;
	tam_hex_encode(d.did, sizeof(d.did), did);
	if ((rc = api_scope_sp(c, r.sp, &sp, err)) != TAM_OK)
		goto out;
	rc = mgmt_sd_request(&c->m, did, sp.spid, r.action, err);
	if (rc == TAM_ECONFLICT && err->kind == NULL)
		err->kind = "device.not_active";
	/* Accepted: it happens at the device's next session. */
	if (rc == TAM_OK)
		rc = api_json(ans, 202, json_pack("{s:s,s:s,s:s}", "device", did, "sp", sp.spid,
		    "action", r.action == STORE_SD_PURGE ? "purge" : "renew_aik"), err);
out:
	api_sd_request_clear(&r);
	store_sp_clear(&sp);
	store_device_clear(&d);
	return rc;
}

int
api_device_decommission(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct store_device d = { 0 };
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_device(c, http_request_param(c->req, "device"), &d, err)) != TAM_OK)
		return rc;
	store_device_clear(&d);
	rc = mgmt_device_decommission(&c->m, http_request_param(c->req, "device"), err);
	if (rc == TAM_ECONFLICT)
		err->kind = "device.not_active";
	if (rc == TAM_OK && (rc = store_device_find(c->st, http_request_param(c->req, "device"), &d,
	    err)) == TAM_OK)
		rc = api_json(ans, 200, device_json(&d), err);
	store_device_clear(&d);
	return rc;
}

int
api_assignments_list(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct store_assignment_row *rows = NULL;
	struct store_device d = { 0 };
	struct api_page p;
	json_t *items;
	size_t n = 0;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_device(c, http_request_param(c->req, "device"), &d, err)) != TAM_OK ||
	    (rc = api_page_open(c, 'a', &p, err)) != TAM_OK ||
	    (rc = store_assignment_page(c->st, d.id, c->who.admin ? 0 : c->who.sp_id, &p.pg, &rows,
	    &n, err)) != TAM_OK)
		goto out;
	items = api_items(rows, n, p.limit, sizeof(*rows), assignment_row, NULL);
	rc = api_page_answer(c, &p, items, n, 0, n > p.limit ? rows[p.limit - 1].taid : NULL, "",
	    ans, err);
out:
	free(rows);
	store_device_clear(&d);
	return rc;
}

/* The device's assignment of taid, if there is one (*found false otherwise). */
static int
find_assignment(struct api_call *c, int64_t device_id, const char *taid,
    struct store_assignment_row *out, bool *found, struct tam_err *err)
{
	struct store_assignment_row *rows = NULL;
	struct store_page all = { 0 };
	size_t n = 0;
	int rc;

	*found = false;
	if ((rc = store_assignment_page(c->st, device_id, 0, &all, &rows, &n, err)) != TAM_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].taid, taid) == 0) {
			*out = rows[i];
			*found = true;
		}
	free(rows);
	return TAM_OK;
}

int
api_assignments_create(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct store_assignment_row row;
	struct api_assignment r;
	struct store_device d = { 0 };
	struct store_ta ta;
	char did[TAM_DID_HEX];
	bool existed = false, found = false;
	int rc;

	if ((rc = api_scope_device(c, http_request_param(c->req, "device"), &d, err)) != TAM_OK)
		return rc;
	if ((rc = api_decode_assignment(body, len, false, &r, err)) != TAM_OK)
		goto out;
	tam_hex_encode(d.did, sizeof(d.did), did);
	if ((rc = api_scope_ta(c, r.taid, &ta, err)) != TAM_OK ||
	    (rc = find_assignment(c, d.id, ta.taid, &row, &existed, err)) != TAM_OK)
		goto out;
	rc = mgmt_assign(&c->m, did, ta.taid, r.version, r.allow_downgrade, err);
	if (rc == TAM_ENOTFOUND && err->kind == NULL)
		err->kind = "ta.version_not_found";
	if (rc == TAM_ECONFLICT && err->kind == NULL)
		err->kind = "device.not_active";
	if (rc == TAM_OK && (rc = find_assignment(c, d.id, ta.taid, &row, &found, err)) == TAM_OK) {
		rc = api_json(ans, existed ? 200 : 201, assignment_json(&row), err);
		if (rc == TAM_OK && http_answer_header(ans, "Location",
		    API_PREFIX "/devices/%s/assignments/%s", did, ta.taid) != TAM_OK)
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
out:
	api_assignment_clear(&r);
	store_device_clear(&d);
	return rc;
}

int
api_assignment_get(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct store_assignment_row row;
	struct store_device d = { 0 };
	struct store_ta ta;
	bool found = false;
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_device(c, http_request_param(c->req, "device"), &d, err)) == TAM_OK &&
	    (rc = api_scope_ta(c, http_request_param(c->req, "ta"), &ta, err)) == TAM_OK &&
	    (rc = find_assignment(c, d.id, ta.taid, &row, &found, err)) == TAM_OK) {
		if (found)
			rc = api_json(ans, 200, assignment_json(&row), err);
		else
			rc = tam_err_setk(err, TAM_ENOTFOUND, "assignment.not_found",
			    "TA %s is not assigned to this device", ta.taid);
	}
	store_device_clear(&d);
	return rc;
}

int
api_assignment_delete(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct store_device d = { 0 };
	struct store_ta ta;
	char did[TAM_DID_HEX];
	int rc;

	(void)body;
	(void)len;
	if ((rc = api_scope_device(c, http_request_param(c->req, "device"), &d, err)) == TAM_OK &&
	    (rc = api_scope_ta(c, http_request_param(c->req, "ta"), &ta, err)) == TAM_OK) {
		tam_hex_encode(d.did, sizeof(d.did), did);
		rc = mgmt_unassign(&c->m, did, ta.taid, err);
		if (rc == TAM_ENOTFOUND)
			err->kind = "assignment.not_found";
		if (rc == TAM_OK)
			ans->no_content = true;
	}
	store_device_clear(&d);
	return rc;
}

int
api_assignments_bulk(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct store_device d = { 0 };
	struct store_sp sp = { 0 };
	struct api_assignment r;
	struct store_ta ta;
	int64_t *ids = NULL;
	size_t n = 0;
	json_t *devs = NULL;
	char did[TAM_DID_HEX];
	int rc;

	if ((rc = api_decode_assignment(body, len, true, &r, err)) != TAM_OK)
		return rc;
	if ((rc = api_scope_ta(c, r.taid, &ta, err)) != TAM_OK)
		goto out;
	if (r.sp != NULL) {
		if ((rc = api_scope_sp(c, r.sp, &sp, err)) != TAM_OK ||
		    (rc = store_device_ids_for_sp(c->st, sp.id, &ids, &n, err)) != TAM_OK)
			goto out;
	} else {
		if ((ids = calloc(r.n_devices, sizeof(*ids))) == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		for (n = 0; n < r.n_devices; n++) {
			if ((rc = api_scope_device(c, r.devices[n], &d, err)) != TAM_OK)
				goto out;
			ids[n] = d.id;
			store_device_clear(&d);
		}
	}
	if ((rc = mgmt_assign_bulk(&c->m, ta.taid, r.version, r.allow_downgrade, ids, n,
	    err)) != TAM_OK) {
		if (rc == TAM_ENOTFOUND && err->kind == NULL)
			err->kind = "ta.version_not_found";
		goto out;
	}
	devs = json_array();
	for (size_t i = 0; i < n && devs != NULL; i++) {
		if ((rc = store_device_get(c->st, ids[i], &d, err)) != TAM_OK)
			goto out;
		tam_hex_encode(d.did, sizeof(d.did), did);
		store_device_clear(&d);
		if (json_array_append_new(devs, json_string(did)) != 0) {
			json_decref(devs);
			devs = NULL;
		}
	}
	if (devs == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	rc = api_json(ans, 200, json_pack("{s:s,s:o,s:I,s:o}", "taid", ta.taid, "version",
	    r.version != NULL ? json_string(r.version) : json_null(), "assigned", (json_int_t)n,
	    "devices", devs), err);
	devs = NULL;
out:
	json_decref(devs);
	free(ids);
	store_device_clear(&d);
	store_sp_clear(&sp);
	api_assignment_clear(&r);
	return rc;
}
