// SPDX-License-Identifier: MIT
/*
 * Signing many JWS whose payloads share a long prefix (an InstallTA with a
 * megabyte TA differs between devices only in a short tail). The prefix's
 * base64url and the SHA-256 of the signing input up to it are computed once;
 * each message then encodes, hashes and signs only its tail. The result is
 * the same flattened JWS jose_jws_sign makes for prefix || tail.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "jose_int.h"

#define WHAT "JWS"

struct jose_jws_prefix {
	char alg[8];
	char *protected_b64;          /* base64url of {"alg":"..."} */
	char *head_b64;               /* base64url of the prefix's whole 3-byte groups; NULL
	                                 when it was fed in pieces (begin, update) */
	size_t head_len;              /* its characters */
	uint8_t rest[2];              /* the prefix's last len % 3 bytes */
	size_t n_rest;
	bool done;                    /* finished: read-only from now on */
	EVP_MD_CTX *md;               /* SHA-256 of "<protected>.<head>" so far */
};

void
jose_jws_prefix_free(struct jose_jws_prefix *p)
{
	if (p == NULL)
		return;
	free(p->protected_b64);
	free(p->head_b64);
	EVP_MD_CTX_free(p->md);
	free(p);
}

int
jose_jws_prefix_begin(const char *alg, struct jose_jws_prefix **out, struct tam_err *err)
{
	struct jose_jws_prefix *p;
	char hdr[32];
	int rc = TAM_ENOMEM;

	*out = NULL;
	if (alg == NULL || (strcmp(alg, JOSE_ALG_RS256) != 0 && strcmp(alg, JOSE_ALG_ES256) != 0))
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s is not allowed", jose_printable(alg));
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	snprintf(p->alg, sizeof(p->alg), "%s", alg);
	/* What jose_jws_sign's header serializes to when it holds "alg" alone. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", alg);
	if (tam_b64url_encode((const uint8_t *)hdr, strlen(hdr), &p->protected_b64) != TAM_OK ||
	    (p->md = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if (EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(p->md, p->protected_b64, strlen(p->protected_b64)) != 1 ||
	    EVP_DigestUpdate(p->md, ".", 1) != 1) {
		rc = TAM_ECRYPTO;
		goto fail;
	}
	*out = p;
	return TAM_OK;
fail:
	jose_jws_prefix_free(p);
	ERR_clear_error();
	return tam_err_set(err, rc, rc == TAM_ENOMEM ? "out of memory" : WHAT ": SHA-256 failed");
}

int
jose_jws_prefix_update(struct jose_jws_prefix *p, const char *b64, size_t len, struct tam_err *err)
{
	const size_t max = (size_t)JOSE_MAX_CONTENT_BYTES / 3 * 4;

	if (p->done || len % 4 != 0 || len > max || p->head_len > max - len)
		return tam_err_set(err, TAM_ETOO_LARGE, WHAT ": payload longer than %u bytes",
		    JOSE_MAX_CONTENT_BYTES);
	if (EVP_DigestUpdate(p->md, b64, len) != 1) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ECRYPTO, WHAT ": SHA-256 failed");
	}
	p->head_len += len;
	return TAM_OK;
}

int
jose_jws_prefix_finish(struct jose_jws_prefix *p, const uint8_t *rest, size_t n_rest,
    struct tam_err *err)
{
	if (p->done || n_rest > sizeof(p->rest))
		return tam_err_set(err, TAM_EINVAL, WHAT ": a prefix ends in 0 to 2 bytes");
	memcpy(p->rest, rest, n_rest);
	p->n_rest = n_rest;
	p->done = true;
	return TAM_OK;
}

int
jose_jws_prefix_new(const char *alg, const uint8_t *prefix, size_t len,
    struct jose_jws_prefix **out, struct tam_err *err)
{
	struct jose_jws_prefix *p = NULL;
	size_t whole = len - len % 3;
	int rc;

	*out = NULL;
	if (len > JOSE_MAX_CONTENT_BYTES || (prefix == NULL && len > 0))
		return tam_err_set(err, TAM_ETOO_LARGE, WHAT ": payload longer than %u bytes",
		    JOSE_MAX_CONTENT_BYTES);
	if ((rc = jose_jws_prefix_begin(alg, &p, err)) != TAM_OK)
		return rc;
	if (tam_b64url_encode(whole > 0 ? prefix : (const uint8_t *)"", whole, &p->head_b64) !=
	    TAM_OK) {
		jose_jws_prefix_free(p);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	if ((rc = jose_jws_prefix_update(p, p->head_b64, strlen(p->head_b64), err)) != TAM_OK ||
	    (rc = jose_jws_prefix_finish(p, prefix + whole, len - whole, err)) != TAM_OK) {
		jose_jws_prefix_free(p);
		return rc;
	}
	*out = p;
	return TAM_OK;
}

const char *
jose_jws_prefix_protected(const struct jose_jws_prefix *p)
{
	return p->protected_b64;
}

const char *
jose_jws_prefix_head(const struct jose_jws_prefix *p, size_t *len)
{
	*len = p->head_len;
	return p->head_b64;
}

size_t
jose_jws_prefix_bytes(const struct jose_jws_prefix *p)
{
	return sizeof(*p) + (p->head_b64 != NULL ? p->head_len : 0) + strlen(p->protected_b64);
}

/* The JOSE form of an ECDSA signature: R and S, 32 bytes each (RFC 7518 §3.4). */
static int
es256_from_der(const uint8_t *der, size_t len, uint8_t raw[64])
{
	const unsigned char *q = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	int ok;

	if (len > LONG_MAX || (sig = d2i_ECDSA_SIG(NULL, &q, (long)len)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

/* Sign a finished SHA-256 digest as alg says; *sig_b64 is the JWS signature. */
static int
sign_digest(const struct jose_key *k, const char *alg, const uint8_t dgst[32], char **sig_b64,
    struct tam_err *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *sig = NULL, raw[64];
	size_t sig_len = 0;
	bool ec = strcmp(alg, JOSE_ALG_ES256) == 0;
	int rc = TAM_ECRYPTO;

	if ((ctx = EVP_PKEY_CTX_new(k->pkey, NULL)) == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    (!ec && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(ctx, NULL, &sig_len, dgst, 32) != 1 || (sig = malloc(sig_len)) == NULL ||
	    EVP_PKEY_sign(ctx, sig, &sig_len, dgst, 32) != 1)
		goto out;
	if (ec && es256_from_der(sig, sig_len, raw) != 0)
		goto out;
	rc = tam_b64url_encode(ec ? raw : sig, ec ? sizeof(raw) : sig_len, sig_b64) == TAM_OK ?
	    TAM_OK : TAM_ENOMEM;
out:
	EVP_PKEY_CTX_free(ctx);
	free(sig);
	ERR_clear_error();
	if (rc != TAM_OK)
		return tam_err_set(err, rc, rc == TAM_ENOMEM ? "out of memory" :
		    WHAT ": signing failed");
	return TAM_OK;
}

int
jose_jws_prefix_sign(const struct jose_jws_prefix *p, const struct jose_key *k,
    const uint8_t *tail, size_t tail_len, char **tail_b64, char **sig_b64, struct tam_err *err)
{
	EVP_MD_CTX *md = NULL;
	uint8_t *rest = NULL, dgst[32];
	unsigned int dlen = 0;
	int rc;

	*tail_b64 = *sig_b64 = NULL;
	if (k == NULL || !k->priv)
		return tam_err_set(err, TAM_EINVAL, WHAT ": signing needs a private key");
	if (!p->done)
		return tam_err_set(err, TAM_EINVAL, WHAT ": the prefix is not finished");
	if (!jose_sig_alg_fits(p->alg, k))
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s does not fit the key", p->alg);
	if (tail_len > JOSE_MAX_CONTENT_BYTES || (tail == NULL && tail_len > 0))
		return tam_err_set(err, TAM_ETOO_LARGE, WHAT ": payload longer than %u bytes",
		    JOSE_MAX_CONTENT_BYTES);
	if ((rest = malloc(p->n_rest + tail_len + 1)) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	memcpy(rest, p->rest, p->n_rest);
	if (tail_len > 0)
		memcpy(rest + p->n_rest, tail, tail_len);
	if (tam_b64url_encode(rest, p->n_rest + tail_len, tail_b64) != TAM_OK) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_MD_CTX_copy_ex(md, p->md) != 1 ||
	    EVP_DigestUpdate(md, *tail_b64, strlen(*tail_b64)) != 1 ||
	    EVP_DigestFinal_ex(md, dgst, &dlen) != 1 || dlen != sizeof(dgst)) {
		ERR_clear_error();
		rc = tam_err_set(err, TAM_ECRYPTO, WHAT ": SHA-256 failed");
		goto out;
	}
	rc = sign_digest(k, p->alg, dgst, sig_b64, err);
out:
	EVP_MD_CTX_free(md);
	free(rest);
	if (rc != TAM_OK) {
		free(*tail_b64);
		*tail_b64 = NULL;
	}
	return rc;
}
