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

#include <openssl/ecdsa.h>
#include <openssl/err.h>

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

bool
jose_sig_alg_fits(const char *alg, const struct jose_key *k)
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
	if (!jose_sig_alg_fits(a, k))
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
	    /* cjose wrote base64url: plain ASCII, nothing for jansson to check (a TA is megabytes). */
	    json_object_set_new(o, "protected",
	    json_stringn_nocheck(compact, (size_t)(d1 - compact))) != 0 ||
	    json_object_set_new(o, "payload",
	    json_stringn_nocheck(d1 + 1, (size_t)(d2 - d1 - 1))) != 0 ||
	    json_object_set_new(o, "signature", json_string_nocheck(d2 + 1)) != 0)
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
	/*
	 * cjose_jws_import() indexes the compact form with int; the payload may
	 * take what the header and signature leave (a 256 MiB TA's InstallTA
	 * payload is about 640 MB; JOSE_MAX_CONTENT_BYTES bounds it decoded).
	 */
	if (protlen > INT_MAX / 4 || siglen > INT_MAX / 4 ||
	    pllen > (size_t)INT_MAX - protlen - siglen - 3)
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
	if (!jose_sig_alg_fits(jws->alg, k))
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

int
jose_jws_parse_compact(const char *s, size_t len, struct jose_jws **out, struct tam_err *err)
{
	const char *d1, *d2;
	json_t *o;
	int rc;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jws_parse_compact: no output");
	*out = NULL;
	d1 = s != NULL ? memchr(s, '.', len) : NULL;
	d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s)) : NULL;
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)) != NULL)
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": not three dot-separated parts");
	/* The members' checks are jose_jws_parse's: one set of rules for both forms. */
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "protected", json_stringn(s, (size_t)(d1 - s))) != 0 ||
	    json_object_set_new(o, "payload", json_stringn(d1 + 1, (size_t)(d2 - d1 - 1))) != 0 ||
	    json_object_set_new(o, "signature",
	    json_stringn(d2 + 1, len - (size_t)(d2 + 1 - s))) != 0) {
		json_decref(o);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	rc = jose_jws_parse(o, out, err);
	json_decref(o);
	return rc;
}

/* ---- streamed verification of the compact form ---- */

/* base64url characters of a protected header we accept in a stream. */
#define STREAM_MAX_HEADER_CHARS (64u << 10)
#define STREAM_MAX_SIG_CHARS ((JOSE_RSA_MAX_BYTES * 4 + 2) / 3)

enum stream_part { PART_HEADER, PART_PAYLOAD, PART_SIGNATURE, PART_FAILED };

struct jose_jws_stream {
	const struct jose_key *key;   /* borrowed */
	enum stream_part part;
	struct tam_buf header;        /* base64url text of the protected header */
	struct tam_buf sig;           /* base64url text of the signature */
	uint64_t payload_chars;
	EVP_MD_CTX *md;               /* DigestVerify over header "." payload */
	struct tam_err failure;       /* repeated once the stream failed */
};

static bool
b64url_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

/* Remember the failure so that every later call reports it again. */
static int
stream_fail(struct jose_jws_stream *s, struct tam_err *err, int code, const char *msg)
{
	if (s->part != PART_FAILED) {
		s->part = PART_FAILED;
		tam_err_set(&s->failure, code, WHAT ": %s", msg);
	}
	if (err != NULL)
		*err = s->failure;
	return s->failure.code;
}

int
jose_jws_stream_new(const struct jose_key *k, struct jose_jws_stream **out, struct tam_err *err)
{
	struct jose_jws_stream *s;

	*out = NULL;
	if (k == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jws_stream_new: no key");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	s->key = k;
	*out = s;
	return TAM_OK;
}

/* The header text is complete: check it as jose_jws_parse would, then start hashing. */
static int
stream_header_done(struct jose_jws_stream *s, struct tam_err *err)
{
	struct jose_jws tmp = { 0 };
	struct tam_err e = { 0 };
	int rc;

	rc = jose_header_decode((const char *)s->header.data, s->header.len, WHAT, &tmp.hdr, &e);
	if (rc == TAM_OK)
		rc = parse_headers(&tmp, NULL, &e);
	if (rc == TAM_OK && !jose_sig_alg_fits(tmp.alg, s->key))
		rc = tam_err_set(&e, TAM_EALG, WHAT ": alg %s does not fit the key", tmp.alg);
	json_decref(tmp.hdr);
	if (rc != TAM_OK) {
		/* e.msg already names the JWS. */
		s->part = PART_FAILED;
		s->failure = e;
		if (err != NULL)
			*err = e;
		return rc;
	}
	if ((s->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(s->md, NULL, EVP_sha256(), NULL, s->key->pkey) != 1 ||
	    EVP_DigestVerifyUpdate(s->md, s->header.data, s->header.len) != 1 ||
	    EVP_DigestVerifyUpdate(s->md, ".", 1) != 1)
		return stream_fail(s, err, TAM_ECRYPTO, "cannot start verifying");
	s->part = PART_PAYLOAD;
	return TAM_OK;
}

int
jose_jws_stream_update(struct jose_jws_stream *s, const uint8_t *p, size_t n,
    struct tam_err *err)
{
	size_t i = 0, start;
	int rc;

	while (i < n) {
		switch (s->part) {
		case PART_HEADER:
			start = i;
			while (i < n && p[i] != '.' && b64url_char(p[i]))
				i++;
			if (s->header.len + (i - start) > STREAM_MAX_HEADER_CHARS)
				return stream_fail(s, err, TAM_EMALFORMED, "protected header too long");
			if (tam_buf_append(&s->header, p + start, i - start) != TAM_OK)
				return stream_fail(s, err, TAM_ENOMEM, "out of memory");
			if (i == n)
				break;
			if (p[i] != '.')
				return stream_fail(s, err, TAM_EMALFORMED,
				    "not a compact serialization (a byte outside base64url)");
			i++;
			if ((rc = stream_header_done(s, err)) != TAM_OK)
				return rc;
			break;
		case PART_PAYLOAD:
			start = i;
			while (i < n && b64url_char(p[i]))
				i++;
			if (i > start && EVP_DigestVerifyUpdate(s->md, p + start, i - start) != 1)
				return stream_fail(s, err, TAM_ECRYPTO, "hashing failed");
			s->payload_chars += i - start;
			if (i == n)
				break;
			if (p[i] != '.')
				return stream_fail(s, err, TAM_EMALFORMED,
				    "payload is not base64url");
			if (s->payload_chars % 4 == 1)
				return stream_fail(s, err, TAM_EMALFORMED,
				    "payload is not base64url (bad length)");
			i++;
			s->part = PART_SIGNATURE;
			break;
		case PART_SIGNATURE:
			start = i;
			while (i < n && b64url_char(p[i]))
				i++;
			if (i < n)
				return stream_fail(s, err, TAM_EMALFORMED,
				    "signature is not base64url, or more than three parts");
			if (s->sig.len + (i - start) > STREAM_MAX_SIG_CHARS)
				return stream_fail(s, err, TAM_EMALFORMED, "signature too long");
			if (tam_buf_append(&s->sig, p + start, i - start) != TAM_OK)
				return stream_fail(s, err, TAM_ENOMEM, "out of memory");
			break;
		case PART_FAILED:
			if (err != NULL)
				*err = s->failure;
			return s->failure.code;
		}
	}
	return TAM_OK;
}

/* JWS ES256 signatures are R || S; OpenSSL verifies DER ECDSA-Sig-Value. */
static int
es256_to_der(const uint8_t *raw, size_t len, uint8_t **der, size_t *der_len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	int n;

	*der = NULL;
	if (len != JOSE_ES256_SIG_BYTES)
		return -1;
	r = BN_bin2bn(raw, JOSE_P256_BYTES, NULL);
	sv = BN_bin2bn(raw + JOSE_P256_BYTES, JOSE_P256_BYTES, NULL);
	if (r == NULL || sv == NULL || (sig = ECDSA_SIG_new()) == NULL ||
	    ECDSA_SIG_set0(sig, r, sv) != 1) {
		BN_free(r);
		BN_free(sv);
		ECDSA_SIG_free(sig);
		return -1;
	}
	n = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -1;
	*der_len = (size_t)n;
	return 0;
}

int
jose_jws_stream_final(struct jose_jws_stream *s, struct tam_err *err)
{
	uint8_t *sig = NULL, *der = NULL;
	size_t sig_len = 0, der_len = 0, want;
	int rc, v;

	if (s->part == PART_FAILED) {
		if (err != NULL)
			*err = s->failure;
		return s->failure.code;
	}
	if (s->part != PART_SIGNATURE)
		return stream_fail(s, err, TAM_EMALFORMED, "incomplete (fewer than three parts)");
	if (s->sig.len == 0 || tam_b64url_decode((const char *)s->sig.data, s->sig.len, &sig,
	    &sig_len) != TAM_OK)
		return stream_fail(s, err, TAM_EMALFORMED, "signature is empty or not base64url");
	want = s->key->kty == JOSE_KTY_RSA ? (size_t)EVP_PKEY_get_size(s->key->pkey)
					   : JOSE_ES256_SIG_BYTES;
	if (sig_len != want) {
		rc = stream_fail(s, err, TAM_ESIGNATURE, "signature has the wrong size for the key");
		goto out;
	}
	if (s->key->kty == JOSE_KTY_EC_P256 && es256_to_der(sig, sig_len, &der, &der_len) != 0) {
		rc = stream_fail(s, err, TAM_ECRYPTO, "cannot encode the ECDSA signature");
		goto out;
	}
	v = der != NULL ? EVP_DigestVerifyFinal(s->md, der, der_len)
			: EVP_DigestVerifyFinal(s->md, sig, sig_len);
	ERR_clear_error();
	rc = v == 1 ? TAM_OK : stream_fail(s, err, TAM_ESIGNATURE, "signature does not verify");
out:
	free(sig);
	OPENSSL_free(der);
	return rc;
}

uint64_t
jose_jws_stream_payload_len(const struct jose_jws_stream *s)
{
	return s->payload_chars / 4 * 3 + (s->payload_chars % 4 == 0 ? 0 : s->payload_chars % 4 - 1);
}

void
jose_jws_stream_free(struct jose_jws_stream *s)
{
	if (s == NULL)
		return;
	tam_buf_free(&s->header);
	tam_buf_free(&s->sig);
	EVP_MD_CTX_free(s->md);
	free(s);
}
