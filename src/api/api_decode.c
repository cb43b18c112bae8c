// SPDX-License-Identifier: MIT
/*
 * Decoders of the REST API's JSON request bodies. Strict: the body is one
 * JSON object, every member is known and of its type, strings have bounds.
 * A typo in a member name is an error, not a silently ignored field.
 * What the values mean (a valid certificate, an existing SP) is checked by
 * the management operations, not here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "tam/api.h"
#include "tam/limits.h"

/* Certificates and keys in PEM: a chain of a few certificates at most. */
#define MAX_PEM_CHARS (64u << 10)

static int
load_object(const uint8_t *body, size_t len, const char *const *allowed, json_t **out,
    struct tam_err *err)
{
	json_error_t jerr;
	const char *key;
	json_t *o, *v;
	size_t i;

	*out = NULL;
	if (len == 0)
		return tam_err_setk(err, TAM_EMALFORMED, "request.bad_json",
		    "the request needs a JSON object body");
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return tam_err_setk(err, TAM_EMALFORMED, "request.bad_json",
		    "the body is not JSON (byte %d: %s)", jerr.position, jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return tam_err_setk(err, TAM_EMALFORMED, "request.bad_json",
		    "the body must be a JSON object");
	}
	json_object_foreach(o, key, v) {
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL) {
			char name[48];
			size_t k;
			for (k = 0; k + 1 < sizeof(name) && key[k] != '\0'; k++)
				name[k] = key[k] >= 0x20 && key[k] < 0x7f ? key[k] : '?';
			name[k] = '\0';
			json_decref(o);
			return tam_err_setk(err, TAM_EMALFORMED, "request.unknown_member",
			    "unknown member \"%s\"", name);
		}
	}
	*out = o;
	return TAM_OK;
}

/* A string member of 1..max-1 bytes without NUL; absent is NULL unless required. */
static int
get_str(const json_t *o, const char *name, bool required, size_t max, char **out,
    struct tam_err *err)
{
	json_t *v = json_object_get(o, name);
	const char *s;
	size_t n;

	*out = NULL;
	if (v == NULL || (json_is_null(v) && !required)) {
		if (required)
			return tam_err_setk(err, TAM_EMALFORMED, "request.missing_member",
			    "\"%s\" is required", name);
		return TAM_OK;
	}
	if (!json_is_string(v))
		return tam_err_setk(err, TAM_EMALFORMED, "request.bad_member",
		    "\"%s\" must be a string", name);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= max || memchr(s, '\0', n) != NULL)
		return tam_err_setk(err, TAM_EUSAGE, "request.bad_member",
		    "\"%s\" must be 1-%zu characters", name, max - 1);
	if ((*out = strdup(s)) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	return TAM_OK;
}

void
api_sp_create_clear(struct api_sp_create *r)
{
	free(r->spid);
	free(r->sdname);
	free(r->certificate);
	memset(r, 0, sizeof(*r));
}

int
api_decode_sp_create(const uint8_t *body, size_t len, struct api_sp_create *out,
    struct tam_err *err)
{
	static const char *const allowed[] = { "spid", "sdname", "certificate", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(body, len, allowed, &o, err)) != TAM_OK)
		return rc;
	if ((rc = get_str(o, "spid", true, TAM_SPID_MAX, &out->spid, err)) != TAM_OK ||
	    (rc = get_str(o, "sdname", false, TAM_SDNAME_MAX, &out->sdname, err)) != TAM_OK ||
	    (rc = get_str(o, "certificate", true, MAX_PEM_CHARS, &out->certificate, err)) != TAM_OK)
		api_sp_create_clear(out);
	json_decref(o);
	return rc;
}

int
api_decode_sp_update(const uint8_t *body, size_t len, struct api_sp_create *out,
    struct tam_err *err)
{
	static const char *const allowed[] = { "sdname", "certificate", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(body, len, allowed, &o, err)) != TAM_OK)
		return rc;
	if ((rc = get_str(o, "sdname", false, TAM_SDNAME_MAX, &out->sdname, err)) == TAM_OK &&
	    (rc = get_str(o, "certificate", false, MAX_PEM_CHARS, &out->certificate, err)) == TAM_OK &&
	    out->sdname == NULL && out->certificate == NULL)
		rc = tam_err_setk(err, TAM_EMALFORMED, "request.missing_member",
		    "give \"sdname\", \"certificate\" or both");
	if (rc != TAM_OK)
		api_sp_create_clear(out);
	json_decref(o);
	return rc;
}

void
api_sd_request_clear(struct api_sd_request *r)
{
	free(r->sp);
	memset(r, 0, sizeof(*r));
}

int
api_decode_sd_request(const uint8_t *body, size_t len, struct api_sd_request *out,
    struct tam_err *err)
{
	static const char *const allowed[] = { "sp", "action", NULL };
	char *action = NULL;
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(body, len, allowed, &o, err)) != TAM_OK)
		return rc;
	if ((rc = get_str(o, "sp", true, TAM_SPID_MAX, &out->sp, err)) == TAM_OK &&
	    (rc = get_str(o, "action", true, 16, &action, err)) == TAM_OK) {
		if (strcmp(action, "renew_aik") == 0)
			out->action = STORE_SD_RENEW_AIK;
		else if (strcmp(action, "purge") == 0)
			out->action = STORE_SD_PURGE;
		else
			rc = tam_err_setk(err, TAM_EUSAGE, "request.bad_member",
			    "\"action\" must be \"renew_aik\" or \"purge\"");
	}
	if (rc != TAM_OK)
		api_sd_request_clear(out);
	free(action);
	json_decref(o);
	return rc;
}

void
api_device_enroll_clear(struct api_device_enroll *r)
{
	free(r->name);
	free(r->profile);
	free(r->material);
	memset(r, 0, sizeof(*r));
}

int
api_decode_device_enroll(const uint8_t *body, size_t len, struct api_device_enroll *out,
    struct tam_err *err)
{
	static const char *const allowed[] = { "name", "profile", "certificate", "public_key", NULL };
	json_t *o, *pk;
	char *cert = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(body, len, allowed, &o, err)) != TAM_OK)
		return rc;
	if ((rc = get_str(o, "name", false, TAM_NAME_MAX, &out->name, err)) != TAM_OK ||
	    (rc = get_str(o, "profile", false, 16, &out->profile, err)) != TAM_OK ||
	    (rc = get_str(o, "certificate", false, MAX_PEM_CHARS, &cert, err)) != TAM_OK)
		goto out;
	pk = json_object_get(o, "public_key");
	if ((cert != NULL) == (pk != NULL)) {
		rc = tam_err_setk(err, TAM_EMALFORMED, "request.missing_member",
		    "give exactly one of \"certificate\" and \"public_key\"");
		goto out;
	}
	if (cert != NULL) {
		out->material = cert;
		cert = NULL;
	} else if (json_is_object(pk)) {
		/* A JWK: kept as text, parsed by the key code with its own limits. */
		if ((out->material = json_dumps(pk, JSON_COMPACT)) == NULL)
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		else if (strlen(out->material) >= MAX_PEM_CHARS)
			rc = tam_err_setk(err, TAM_EUSAGE, "request.bad_member",
			    "\"public_key\" is too long");
	} else {
		rc = get_str(o, "public_key", true, MAX_PEM_CHARS, &out->material, err);
	}
out:
	free(cert);
	if (rc != TAM_OK)
		api_device_enroll_clear(out);
	json_decref(o);
	return rc;
}

void
api_assignment_clear(struct api_assignment *r)
{
	free(r->taid);
	free(r->version);
	for (size_t i = 0; i < r->n_devices; i++)
		free(r->devices[i]);
	free(r->devices);
	free(r->sp);
	memset(r, 0, sizeof(*r));
}

int
api_decode_assignment(const uint8_t *body, size_t len, bool bulk, struct api_assignment *out,
    struct tam_err *err)
{
	static const char *const one[] = { "taid", "version", "allow_downgrade", NULL };
	static const char *const many[] = { "taid", "version", "allow_downgrade", "devices", "sp",
		NULL };
	json_t *o, *devs, *v, *dg;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(body, len, bulk ? many : one, &o, err)) != TAM_OK)
		return rc;
	if ((rc = get_str(o, "taid", true, TAM_TAID_MAX, &out->taid, err)) != TAM_OK ||
	    (rc = get_str(o, "version", false, TAM_VERSION_MAX, &out->version, err)) != TAM_OK)
		goto out;
	dg = json_object_get(o, "allow_downgrade");
	if (dg != NULL && !json_is_boolean(dg)) {
		rc = tam_err_setk(err, TAM_EMALFORMED, "request.bad_member",
		    "\"allow_downgrade\" must be true or false");
		goto out;
	}
	out->allow_downgrade = json_is_true(dg);
	if (!bulk)
		goto out;
	if ((rc = get_str(o, "sp", false, TAM_SPID_MAX, &out->sp, err)) != TAM_OK)
		goto out;
	devs = json_object_get(o, "devices");
	if ((devs != NULL) == (out->sp != NULL)) {
		rc = tam_err_setk(err, TAM_EMALFORMED, "request.missing_member",
		    "give exactly one of \"devices\" and \"sp\"");
		goto out;
	}
	if (devs == NULL)
		goto out;
	if (!json_is_array(devs) || json_array_size(devs) == 0 ||
	    json_array_size(devs) > API_MAX_BULK_DEVICES) {
		rc = tam_err_setk(err, TAM_EMALFORMED, "request.bad_member",
		    "\"devices\" must be an array of 1-%d device ids", API_MAX_BULK_DEVICES);
		goto out;
	}
	if ((out->devices = calloc(json_array_size(devs), sizeof(*out->devices))) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(devs, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= TAM_DID_HEX) {
			rc = tam_err_setk(err, TAM_EMALFORMED, "request.bad_member",
			    "\"devices\"[%zu] must be a device id", i);
			goto out;
		}
		if ((out->devices[i] = strdup(json_string_value(v))) == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		out->n_devices = i + 1;
	}
out:
	if (rc != TAM_OK)
		api_assignment_clear(out);
	json_decref(o);
	return rc;
}

void
api_anchor_add_clear(struct api_anchor_add *r)
{
	free(r->name);
	free(r->certificate);
	memset(r, 0, sizeof(*r));
}

int
api_decode_anchor_add(const uint8_t *body, size_t len, struct api_anchor_add *out,
    struct tam_err *err)
{
	static const char *const allowed[] = { "name", "certificate", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(body, len, allowed, &o, err)) != TAM_OK)
		return rc;
	if ((rc = get_str(o, "name", true, TAM_NAME_MAX, &out->name, err)) != TAM_OK ||
	    (rc = get_str(o, "certificate", true, MAX_PEM_CHARS, &out->certificate, err)) != TAM_OK)
		api_anchor_add_clear(out);
	json_decref(o);
	return rc;
}

void
api_token_create_clear(struct api_token_create *r)
{
	free(r->spid);
	free(r->description);
	memset(r, 0, sizeof(*r));
}

int
api_decode_token_create(const uint8_t *body, size_t len, struct api_token_create *out,
    struct tam_err *err)
{
	static const char *const allowed[] = { "role", "description", "expires_in", NULL };
	char *role = NULL;
	json_t *o, *e;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(body, len, allowed, &o, err)) != TAM_OK)
		return rc;
	if ((rc = get_str(o, "role", true, TAM_SPID_MAX + 3, &role, err)) != TAM_OK ||
	    (rc = get_str(o, "description", false, 128, &out->description, err)) != TAM_OK)
		goto out;
	if (strcmp(role, "admin") == 0) {
		out->admin = true;
	} else if (strncmp(role, "sp:", 3) == 0 && role[3] != '\0') {
		if ((out->spid = strdup(role + 3)) == NULL)
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	} else {
		rc = tam_err_setk(err, TAM_EUSAGE, "token.bad_role",
		    "\"role\" must be \"admin\" or \"sp:<spid>\"");
		goto out;
	}
	e = json_object_get(o, "expires_in");
	if (rc == TAM_OK && e != NULL && !json_is_null(e)) {
		if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		    json_integer_value(e) > 10LL * 365 * 86400)
			rc = tam_err_setk(err, TAM_EUSAGE, "token.bad_expiry",
			    "\"expires_in\" must be 1 second to 10 years, in seconds");
		else
			out->expires_in = (int64_t)json_integer_value(e);
	}
out:
	free(role);
	if (rc != TAM_OK)
		api_token_create_clear(out);
	json_decref(o);
	return rc;
}

/* "sha-256=:<b64>:" in an RFC 9530 dictionary, or "SHA-256=<b64>" in an RFC 3230 list. */
static int
digest_member(const char *h, bool rfc9530, uint8_t out[32], bool *found)
{
	const char *p = h;
	uint8_t *raw = NULL;
	size_t rawlen = 0;

	*found = false;
	while (*p != '\0') {
		const char *end = strchr(p, ','), *eq;
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		eq = memchr(p, '=', n);
		if (eq != NULL && (size_t)(eq - p) == 7 && strncasecmp(p, "sha-256", 7) == 0) {
			const char *v = eq + 1;
			size_t vn = n - 8;
			while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (rfc9530) {
				if (vn < 2 || v[0] != ':' || v[vn - 1] != ':')
					return -1;
				v++;
				vn -= 2;
			}
			if (tam_b64_decode_any(v, vn, &raw, &rawlen) != TAM_OK || rawlen != 32) {
				free(raw);
				return -1;
			}
			memcpy(out, raw, 32);
			free(raw);
			*found = true;
			return 0;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

int
api_decode_digest(const char *content_digest, const char *digest, const char *sha256_hex,
    uint8_t out[32], bool *found)
{
	*found = false;
	if (content_digest != NULL && digest_member(content_digest, true, out, found) != 0)
		return -1;
	if (!*found && digest != NULL && digest_member(digest, false, out, found) != 0)
		return -1;
	if (!*found && sha256_hex != NULL) {
		if (strlen(sha256_hex) != 64 || tam_hex_decode(sha256_hex, 64, out, 32) != TAM_OK)
			return -1;
		*found = true;
	}
	return 0;
}
