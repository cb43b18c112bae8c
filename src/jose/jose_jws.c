// SPDX-License-Identifier: MIT
/*
 * Flattened JWS JSON (RFC 7515 §7.2.2) around cjose, which only knows the
 * compact form: we sign compact and split it, and verify by joining the
 * three members back together. cjose must never see an alg we have not
 * allowed, nor one that does not fit the key: it imports "none" and reads
 * past the key on HS* with RSA/EC keys. Both checks run here first.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "jose_int.h"

#define WHAT "JWS"

struct jose_jws {
	char *compact;          /* protected "." payload "." signature, as received; owned */
	json_t *hdr;            /* decoded protected header object; owned */
	json_t *unprotected;    /* deep copy of the "header" member, or NULL; owned */
	uint8_t *payload;       /* decoded payload, NUL-terminated past payload_len; owned */
	size_t payload_len;     /* bytes */
	size_t sig_len;         /* decoded signature, bytes */
	const char *alg;        /* JOSE_ALG_RS256 or JOSE_ALG_ES256 (static) */
	const char *kid;        /* borrowed from hdr, or NULL */
};

/* Header parameters whose semantics we do not implement, so they are refused. */
static const char *const refused_params[] = { "crit", "zip", "b64" };

/* The allow-listed alg named s, as our static string, or NULL. */
static const char *
sig_alg(const char *s)
{
	if (s != NULL && strcmp(s, JOSE_ALG_RS256) == 0)
		return JOSE_ALG_RS256;
	if (s != NULL && strcmp(s, JOSE_ALG_ES256) == 0)
		return JOSE_ALG_ES256;
	return NULL;
}

static bool
sig_alg_fits(const char *alg, const struct jose_key *k)
{
	return (strcmp(alg, JOSE_ALG_RS256) == 0 && k->kty == JOSE_KTY_RSA) ||
	    (strcmp(alg, JOSE_ALG_ES256) == 0 && k->kty == JOSE_KTY_EC_P256);
}

static const char *
refused_param(const json_t *h)
{
	size_t i;

	for (i = 0; i < sizeof(refused_params) / sizeof(refused_params[0]); i++)
		if (json_object_get(h, refused_params[i]) != NULL)
			return refused_params[i];
	return NULL;
}

/* Build the protected header {"alg", ...protected_extra} for signing. */
static int
sign_header(const char *alg, const json_t *extra, const json_t *unprotected,
    json_t **out, struct tam_err *err)
{
	const char *key, *bad;
	json_t *h, *v, *copy;

	*out = NULL;
	if ((extra != NULL && !json_is_object(extra)) ||
	    (unprotected != NULL && !json_is_object(unprotected)))
		return tam_err_set(err, TAM_EINVAL, WHAT ": headers must be JSON objects");
	if (extra != NULL && json_object_get(extra, "alg") != NULL)
		return tam_err_set(err, TAM_EINVAL,
		    WHAT ": protected_extra must not carry \"alg\"");
	if ((extra != NULL && (bad = refused_param(extra)) != NULL) ||
	    (unprotected != NULL && (bad = refused_param(unprotected)) != NULL))
		return tam_err_set(err, TAM_EINVAL, WHAT ": header \"%s\" is not supported",
		    bad);
	h = json_object();
	if (h == NULL || json_object_set_new(h, "alg", json_string(alg)) != 0)
		goto nomem;
	/* Copies, so that cjose (which keeps a reference) shares nothing with the caller. */
	if (extra != NULL) {
		json_object_foreach((json_t *)extra, key, v) {
			copy = json_deep_copy(v);
			if (copy == NULL || json_object_set_new(h, key, copy) != 0)
				goto nomem;
		}
	}
	/* RFC 7515 §7.2.1: protected and unprotected names must be disjoint. */
	if (unprotected != NULL) {
		json_object_foreach((json_t *)unprotected, key, v) {
			if (json_object_get(h, key) != NULL) {
				json_decref(h);
				return tam_err_set(err, TAM_EINVAL,
				    WHAT ": \"%s\" is in both headers", key);
			}
		}
	}
	*out = h;
	return TAM_OK;
nomem:
	json_decref(h);
	return tam_err_set(err, TAM_ENOMEM, "out of memory");
}

int
jose_jws_sign(const struct jose_key *k, const char *alg,
    const json_t *protected_extra, const json_t *unprotected,
    const uint8_t *payload, size_t len, json_t **out, struct tam_err *err)
{
	cjose_jws_t *cj = NULL;
	const char *compact = NULL, *d1, *d2, *a;
	json_t *hdr = NULL, *o = NULL, *copy;
	cjose_err cerr = { 0 };
	int rc;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jws_sign: no output");
	*out = NULL;
	if (k == NULL || (payload == NULL && len > 0))
		return tam_err_set(err, TAM_EINVAL, "jose_jws_sign: bad arguments");
	if ((a = sig_alg(alg)) == NULL)
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s is not allowed",
		    jose_printable(alg));
	if (!sig_alg_fits(a, k))
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s does not fit the key", a);
	if (!k->priv)
		return tam_err_set(err, TAM_EINVAL, WHAT ": signing needs a private key");
	if (len > JOSE_MAX_CONTENT_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, WHAT ": payload longer than %u bytes",
		    JOSE_MAX_CONTENT_BYTES);
	if ((rc = sign_header(a, protected_extra, unprotected, &hdr, err)) != TAM_OK)
		return rc;
	/* cjose_header_t is json_t (cjose/header.h); cjose only increfs it. */
	cj = cjose_jws_sign(k->jwk, (cjose_header_t *)hdr,
	    payload != NULL ? payload : (const uint8_t *)"", len, &cerr);
	if (cj == NULL || !cjose_jws_export(cj, &compact, &cerr) || compact == NULL) {
		rc = tam_err_set(err, TAM_ECRYPTO, WHAT ": cjose: %s", jose_cjose_msg(&cerr));
		goto out;
	}
	d1 = strchr(compact, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (d2 == NULL) {
		rc = tam_err_set(err, TAM_ECRYPTO, WHAT ": cjose gave no compact JWS");
		goto out;
	}
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "protected",
	    json_stringn(compact, (size_t)(d1 - compact))) != 0 ||
	    json_object_set_new(o, "payload",
	    json_stringn(d1 + 1, (size_t)(d2 - d1 - 1))) != 0 ||
	    json_object_set_new(o, "signature", json_string(d2 + 1)) != 0)
		goto nomem;
	if (unprotected != NULL) {
		copy = json_deep_copy(unprotected);
		if (copy == NULL || json_object_set_new(o, "header", copy) != 0)
			goto nomem;
	}
	*out = o;
	o = NULL;
	rc = TAM_OK;
	goto out;
nomem:
	rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
out:
	json_decref(o);
	cjose_jws_release(cj);
	json_decref(hdr);
	return rc;
}

/* Checks on the decoded protected header and the unprotected one. */
static int
parse_headers(struct jose_jws *jws, const json_t *unprot, struct tam_err *err)
{
	const char *alg, *bad, *key;
	json_t *v;
	int rc;

	if ((rc = jose_json_str(jws->hdr, WHAT, "alg", true, &alg, NULL, err)) != TAM_OK)
		return rc;
	if ((jws->alg = sig_alg(alg)) == NULL)
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s is not allowed",
		    jose_printable(alg));
	if ((bad = refused_param(jws->hdr)) != NULL)
		return tam_err_set(err, TAM_EMALFORMED,
		    WHAT ": protected header \"%s\" is not supported", bad);
	if ((rc = jose_json_str(jws->hdr, WHAT, "kid", false, &jws->kid, NULL, err)) != TAM_OK)
		return rc;
	if (unprot == NULL)
		return TAM_OK;
	if ((bad = refused_param(unprot)) != NULL || json_object_get(unprot, "alg") != NULL)
		return tam_err_set(err, TAM_EMALFORMED,
		    WHAT ": unprotected header carries \"%s\"", bad != NULL ? bad : "alg");
	json_object_foreach((json_t *)unprot, key, v) {
		if (json_object_get(jws->hdr, key) != NULL)
			return tam_err_set(err, TAM_EMALFORMED,
			    WHAT ": \"%s\" is in both headers", jose_printable(key));
	}
	jws->unprotected = json_deep_copy(unprot);
	if (jws->unprotected == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	return TAM_OK;
}

int
jose_jws_parse(const json_t *obj, struct jose_jws **out, struct tam_err *err)
{
	struct jose_jws *jws = NULL;
	const char *prot, *pl, *sig;
	size_t protlen, pllen, siglen, total;
	uint8_t *sigbytes = NULL;
	json_t *unprot;
	int rc;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jws_parse: no output");
	*out = NULL;
	if (!json_is_object(obj))
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": not a JSON object");
	if (json_object_get(obj, "signatures") != NULL)
		return tam_err_set(err, TAM_EMALFORMED,
		    WHAT ": general serialization (\"signatures\") is not supported");
	if ((rc = jose_json_str(obj, WHAT, "protected", true, &prot, &protlen,
	    err)) != TAM_OK ||
	    (rc = jose_json_str(obj, WHAT, "payload", true, &pl, &pllen, err)) != TAM_OK ||
	    (rc = jose_json_str(obj, WHAT, "signature", true, &sig, &siglen,
	    err)) != TAM_OK ||
	    (rc = jose_json_obj(obj, WHAT, "header", &unprot, err)) != TAM_OK)
		return rc;
	/* cjose_jws_import() indexes the compact form with int. */
	if (protlen > INT_MAX / 4 || pllen > INT_MAX / 4 || siglen > INT_MAX / 4)
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": members too long");
	jws = calloc(1, sizeof(*jws));
	if (jws == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if ((rc = jose_header_decode(prot, protlen, WHAT, &jws->hdr, err)) != TAM_OK ||
	    (rc = parse_headers(jws, unprot, err)) != TAM_OK ||
	    (rc = jose_json_b64(obj, WHAT, "payload", JOSE_MAX_CONTENT_BYTES,
	    &jws->payload, &jws->payload_len, err)) != TAM_OK ||
	    (rc = jose_json_b64(obj, WHAT, "signature", JOSE_RSA_MAX_BYTES, &sigbytes,
	    &jws->sig_len, err)) != TAM_OK)
		goto out;
	if (jws->sig_len == 0) {
		rc = tam_err_set(err, TAM_EMALFORMED, WHAT ": \"signature\" is empty");
		goto out;
	}
	total = protlen + pllen + siglen + 3;
	jws->compact = malloc(total);
	if (jws->compact == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(jws->compact, prot, protlen);
	jws->compact[protlen] = '.';
	memcpy(jws->compact + protlen + 1, pl, pllen);
	jws->compact[protlen + 1 + pllen] = '.';
	memcpy(jws->compact + protlen + pllen + 2, sig, siglen);
	jws->compact[total - 1] = '\0';
	*out = jws;
	jws = NULL;
out:
	free(sigbytes);
	jose_jws_free(jws);
	return rc;
}

const char *
jose_jws_alg(const struct jose_jws *jws)
{
	return jws == NULL ? NULL : jws->alg;
}

const char *
jose_jws_kid(const struct jose_jws *jws)
{
	return jws == NULL ? NULL : jws->kid;
}

const json_t *
jose_jws_protected(const struct jose_jws *jws)
{
	return jws == NULL ? NULL : jws->hdr;
}

const json_t *
jose_jws_unprotected(const struct jose_jws *jws)
{
	return jws == NULL ? NULL : jws->unprotected;
}

const uint8_t *
jose_jws_payload_unverified(const struct jose_jws *jws, size_t *len)
{
	if (len != NULL)
		*len = jws == NULL ? 0 : jws->payload_len;
	return jws == NULL ? NULL : jws->payload;
}

int
jose_jws_verify(const struct jose_jws *jws, const struct jose_key *k,
    struct tam_err *err)
{
	cjose_jws_t *cj;
	cjose_err cerr = { 0 };
	size_t want;
	bool ok;

	if (jws == NULL || k == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jws_verify: bad arguments");
	if (!sig_alg_fits(jws->alg, k))
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s does not fit the key",
		    jws->alg);
	want = k->kty == JOSE_KTY_RSA ? (size_t)EVP_PKEY_get_size(k->pkey)
				      : JOSE_ES256_SIG_BYTES;
	if (jws->sig_len != want)
		return tam_err_set(err, TAM_ESIGNATURE,
		    WHAT ": signature has %zu bytes, the key makes %zu", jws->sig_len, want);
	cj = cjose_jws_import(jws->compact, strlen(jws->compact), &cerr);
	if (cj == NULL)
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": cjose refused it: %s",
		    jose_cjose_msg(&cerr));
	ok = cjose_jws_verify(cj, k->jwk, &cerr);
	cjose_jws_release(cj);
	if (!ok)
		return tam_err_set(err, TAM_ESIGNATURE, WHAT ": signature does not verify");
	return TAM_OK;
}

void
jose_jws_free(struct jose_jws *jws)
{
	if (jws == NULL)
		return;
	free(jws->compact);
	json_decref(jws->hdr);
	json_decref(jws->unprotected);
	free(jws->payload);
	free(jws);
}
