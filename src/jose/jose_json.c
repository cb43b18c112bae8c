// SPDX-License-Identifier: MIT
/*
 * Reading members of untrusted JOSE JSON: type checks, bounded base64url
 * decoding and protected-header parsing, with one specific message per
 * failure. Every JWK, JWS and JWE parser goes through here so that the size
 * bounds are enforced before anything is decoded.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "jose_int.h"

int
jose_json_str(const json_t *obj, const char *what, const char *name,
    bool required, const char **s, size_t *len, struct tam_err *err)
{
	json_t *v = json_object_get(obj, name);

	*s = NULL;
	if (len != NULL)
		*len = 0;
	if (v == NULL) {
		if (required)
			return tam_err_set(err, TAM_EMALFORMED, "%s: \"%s\" is missing",
			    what, name);
		return TAM_OK;
	}
	if (!json_is_string(v))
		return tam_err_set(err, TAM_EMALFORMED, "%s: \"%s\" is not a string",
		    what, name);
	*s = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return TAM_OK;
}

int
jose_json_obj(const json_t *obj, const char *what, const char *name,
    json_t **member, struct tam_err *err)
{
	json_t *v = json_object_get(obj, name);

	*member = NULL;
	if (v == NULL)
		return TAM_OK;
	if (!json_is_object(v))
		return tam_err_set(err, TAM_EMALFORMED, "%s: \"%s\" is not an object",
		    what, name);
	*member = v;
	return TAM_OK;
}

int
jose_b64_decode(const char *s, size_t n, size_t max, uint8_t **out, size_t *len)
{
	uint8_t *raw = NULL, *buf;
	size_t rawlen = 0;
	int rc;

	*out = NULL;
	*len = 0;
	/* 4 characters carry 3 bytes; refuse before decoding anything. */
	if (max > SIZE_MAX / 4 - 4 || n > (max / 3) * 4 + 3)
		return TAM_ETOO_LARGE;
	if ((rc = tam_b64url_decode(s, n, &raw, &rawlen)) != TAM_OK)
		return rc;
	if (rawlen > max) {
		jose_clear_free(raw, rawlen);
		return TAM_ETOO_LARGE;
	}
	buf = malloc(rawlen + 1);
	if (buf == NULL) {
		jose_clear_free(raw, rawlen);
		return TAM_ENOMEM;
	}
	if (rawlen > 0)
		memcpy(buf, raw, rawlen);
	buf[rawlen] = '\0';
	jose_clear_free(raw, rawlen);
	*out = buf;
	*len = rawlen;
	return TAM_OK;
}

int
jose_json_b64(const json_t *obj, const char *what, const char *name,
    size_t max, uint8_t **out, size_t *len, struct tam_err *err)
{
	const char *s;
	size_t n;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = jose_json_str(obj, what, name, true, &s, &n, err)) != TAM_OK)
		return rc;
	rc = jose_b64_decode(s, n, max, out, len);
	switch (rc) {
	case TAM_OK:
		return TAM_OK;
	case TAM_ENOMEM:
		return tam_err_set(err, TAM_ENOMEM, "%s: out of memory", what);
	case TAM_ETOO_LARGE:
		return tam_err_set(err, TAM_EMALFORMED,
		    "%s: \"%s\" is longer than %zu bytes", what, name, max);
	default:
		return tam_err_set(err, TAM_EMALFORMED,
		    "%s: \"%s\" is not base64url", what, name);
	}
}

int
jose_header_decode(const char *b64, size_t n, const char *what, json_t **hdr,
    struct tam_err *err)
{
	json_error_t jerr;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	json_t *h;
	int rc;

	*hdr = NULL;
	if (n == 0)
		return tam_err_set(err, TAM_EMALFORMED, "%s: \"protected\" is empty", what);
	rc = jose_b64_decode(b64, n, JOSE_MAX_HEADER_BYTES, &raw, &rawlen);
	if (rc == TAM_ENOMEM)
		return tam_err_set(err, TAM_ENOMEM, "%s: out of memory", what);
	if (rc == TAM_ETOO_LARGE)
		return tam_err_set(err, TAM_EMALFORMED,
		    "%s: protected header is longer than %u bytes", what,
		    JOSE_MAX_HEADER_BYTES);
	if (rc != TAM_OK)
		return tam_err_set(err, TAM_EMALFORMED,
		    "%s: \"protected\" is not base64url", what);
	h = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (h == NULL)
		return tam_err_set(err, TAM_EMALFORMED,
		    "%s: protected header is not JSON (byte %d)", what,
		    jerr.position);
	if (!json_is_object(h)) {
		json_decref(h);
		return tam_err_set(err, TAM_EMALFORMED,
		    "%s: protected header is not a JSON object", what);
	}
	*hdr = h;
	return TAM_OK;
}

const char *
jose_printable(const char *s)
{
	return tam_valid_name(s, 33) ? s : "(unprintable)";
}
