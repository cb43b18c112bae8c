// SPDX-License-Identifier: MIT
/*
 * JWK (RFC 7517/7518 §6) text to and from keys, and RFC 7638 thumbprints.
 * Import reads the JSON with jansson and builds the EVP_PKEY from OSSL_PARAMs
 * itself instead of trusting cjose_jwk_import(): only RSA (with all CRT
 * members when private) and EC P-256 pass, sizes are checked before any
 * decoding, and every key must pass OpenSSL's public (point on the curve)
 * and, for private keys, pairwise consistency checks.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "jose_int.h"

#define WHAT "JWK"

/* RSA private members in JWK order, and their OpenSSL parameter names. */
static const struct {
	const char *jwk;    /* JWK member */
	const char *param;  /* OSSL_PKEY_PARAM_RSA_* */
} rsa_private[] = {
	{ "d", OSSL_PKEY_PARAM_RSA_D },
	{ "p", OSSL_PKEY_PARAM_RSA_FACTOR1 },
	{ "q", OSSL_PKEY_PARAM_RSA_FACTOR2 },
	{ "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 },
	{ "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 },
	{ "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
};
#define RSA_NPRIVATE (sizeof(rsa_private) / sizeof(rsa_private[0]))

/* Decode member name into a new BIGNUM in *bn (secure heap for secrets). */
static int
jwk_bn(const json_t *o, const char *name, size_t max, bool secret, BIGNUM **bn,
    struct tam_err *err)
{
	uint8_t *raw = NULL;
	size_t n = 0;
	int rc;

	*bn = NULL;
	if ((rc = jose_json_b64(o, WHAT, name, max, &raw, &n, err)) != TAM_OK)
		return rc;
	if (n == 0) {
		rc = tam_err_set(err, TAM_EMALFORMED, WHAT ": \"%s\" is empty", name);
		goto out;
	}
	*bn = secret ? BN_secure_new() : BN_new();
	if (*bn == NULL || BN_bin2bn(raw, (int)n, *bn) == NULL) {
		BN_clear_free(*bn);
		*bn = NULL;
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
out:
	jose_clear_free(raw, n);
	return rc;
}

/* Exactly len bytes of base64url, as EC members must be (RFC 7518 §6.2.1.2). */
static int
jwk_fixed(const json_t *o, const char *name, size_t len, uint8_t **out,
    struct tam_err *err)
{
	size_t n = 0;
	int rc;

	if ((rc = jose_json_b64(o, WHAT, name, len, out, &n, err)) != TAM_OK)
		return rc;
	if (n != len) {
		jose_clear_free(*out, n);
		*out = NULL;
		return tam_err_set(err, TAM_EMALFORMED,
		    WHAT ": \"%s\" must be %zu bytes", name, len);
	}
	return TAM_OK;
}

static int
jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld, bool priv, EVP_PKEY **pk,
    struct tam_err *err)
{
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = TAM_OK;

	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    params) != 1) {
		ERR_clear_error();
		rc = tam_err_set(err, TAM_EMALFORMED, WHAT ": OpenSSL refused the %s key",
		    type);
	}
	EVP_PKEY_CTX_free(ctx);
	/* Secret BIGNUMs were pushed from the secure heap, whose block this wipes. */
	OSSL_PARAM_free(params);
	return rc;
}

static int
jwk_import_rsa(const json_t *o, EVP_PKEY **pk, bool *priv, struct tam_err *err)
{
	BIGNUM *n = NULL, *e = NULL, *secret[RSA_NPRIVATE] = { NULL };
	OSSL_PARAM_BLD *bld = NULL;
	size_t i, present = 0;
	int bits, rc;

	if (json_object_get(o, "oth") != NULL)
		return tam_err_set(err, TAM_EUNSUPPORTED,
		    WHAT ": multi-prime RSA (\"oth\") is not supported");
	for (i = 0; i < RSA_NPRIVATE; i++)
		if (json_object_get(o, rsa_private[i].jwk) != NULL)
			present++;
	if (present != 0 && present != RSA_NPRIVATE)
		return tam_err_set(err, TAM_EUNSUPPORTED,
		    WHAT ": an RSA private key needs all of d, p, q, dp, dq and qi");
	*priv = present != 0;
	if ((rc = jwk_bn(o, "n", JOSE_RSA_MAX_BYTES, false, &n, err)) != TAM_OK ||
	    (rc = jwk_bn(o, "e", JOSE_RSA_MAX_E_BYTES, false, &e, err)) != TAM_OK)
		goto out;
	bits = BN_num_bits(n);
	if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS) {
		rc = tam_err_set(err, TAM_EUNSUPPORTED,
		    "RSA key of %d bits refused (allowed: %d to %d)", bits,
		    JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; *priv && i < RSA_NPRIVATE; i++) {
		if ((rc = jwk_bn(o, rsa_private[i].jwk, JOSE_RSA_MAX_BYTES, true,
		    &secret[i], err)) != TAM_OK)
			goto out;
		if (!OSSL_PARAM_BLD_push_BN(bld, rsa_private[i].param, secret[i])) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
	}
	rc = jwk_fromdata("RSA", bld, *priv, pk, err);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	for (i = 0; i < RSA_NPRIVATE; i++)
		BN_clear_free(secret[i]);
	return rc;
}

static int
jwk_import_ec(const json_t *o, EVP_PKEY **pk, bool *priv, struct tam_err *err)
{
	uint8_t point[1 + 2 * JOSE_P256_BYTES], *x = NULL, *y = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *d = NULL;
	const char *crv;
	int rc;

	if ((rc = jose_json_str(o, WHAT, "crv", true, &crv, NULL, err)) != TAM_OK)
		return rc;
	if (strcmp(crv, "P-256") != 0)
		return tam_err_set(err, TAM_EUNSUPPORTED,
		    WHAT ": curve %s refused (P-256 only)", jose_printable(crv));
	*priv = json_object_get(o, "d") != NULL;
	if ((rc = jwk_fixed(o, "x", JOSE_P256_BYTES, &x, err)) != TAM_OK ||
	    (rc = jwk_fixed(o, "y", JOSE_P256_BYTES, &y, err)) != TAM_OK)
		goto out;
	if (*priv && (rc = jwk_bn(o, "d", JOSE_P256_BYTES, true, &d, err)) != TAM_OK)
		goto out;
	point[0] = 0x04;   /* uncompressed SEC1 point */
	memcpy(point + 1, x, JOSE_P256_BYTES);
	memcpy(point + 1 + JOSE_P256_BYTES, y, JOSE_P256_BYTES);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
	    sizeof(point)) ||
	    (d != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	rc = jwk_fromdata("EC", bld, *priv, pk, err);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	free(x);
	free(y);
	return rc;
}

/* Point on the curve, sane RSA public values, private half matching. */
static int
jwk_check(EVP_PKEY *pk, bool priv, struct tam_err *err)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (ctx == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	ok = EVP_PKEY_public_check(ctx) == 1 &&
	    (!priv || EVP_PKEY_pairwise_check(ctx) == 1);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		return tam_err_set(err, TAM_EMALFORMED,
		    WHAT ": key fails OpenSSL's consistency check");
	return TAM_OK;
}

int
jose_key_from_jwk_obj(const json_t *o, struct jose_key **out, struct tam_err *err)
{
	EVP_PKEY *pk = NULL;
	const char *kty;
	bool priv = false;
	int rc;

	*out = NULL;
	if (!json_is_object(o))
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": not a JSON object");
	if ((rc = jose_json_str(o, WHAT, "kty", true, &kty, NULL, err)) != TAM_OK)
		return rc;
	if (strcmp(kty, "RSA") == 0)
		rc = jwk_import_rsa(o, &pk, &priv, err);
	else if (strcmp(kty, "EC") == 0)
		rc = jwk_import_ec(o, &pk, &priv, err);
	else
		rc = tam_err_set(err, TAM_EUNSUPPORTED,
		    WHAT ": kty %s refused (RSA or EC only)", jose_printable(kty));
	if (rc != TAM_OK || (rc = jwk_check(pk, priv, err)) != TAM_OK) {
		EVP_PKEY_free(pk);
		return rc;
	}
	return jose_key_wrap(pk, out, err);
}

int
jose_key_from_jwk(const char *json, size_t len, struct jose_key **out,
    struct tam_err *err)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_from_jwk: no output");
	*out = NULL;
	if (json == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_from_jwk: no input");
	if (len > JOSE_MAX_JWK_BYTES)
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": longer than %u bytes",
		    JOSE_MAX_JWK_BYTES);
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": not JSON (byte %d)",
		    jerr.position);
	rc = jose_key_from_jwk_obj(o, out, err);
	json_decref(o);
	return rc;
}

/* Add name: base64url(param of k) to o. */
static int
jwk_put(json_t *o, const struct jose_key *k, const char *name, const char *param,
    size_t pad, struct tam_err *err)
{
	uint8_t *raw = NULL;
	size_t n = 0;
	char *s = NULL;
	int rc;

	if ((rc = jose_evp_bn(k->pkey, param, pad, &raw, &n)) != TAM_OK)
		return tam_err_set(err, rc == TAM_ENOMEM ? TAM_ENOMEM : TAM_ECRYPTO,
		    "cannot read key parameter %s", param);
	rc = tam_b64url_encode(raw, n, &s);
	jose_clear_free(raw, n);
	if (rc != TAM_OK)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if (json_object_set_new(o, name, json_string(s)) != 0)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	jose_clear_free(s, strlen(s));
	return rc;
}

/* The required public members only (RFC 7638 §3.2), in JWK order. */
static int
jwk_public(const struct jose_key *k, json_t **out, struct tam_err *err)
{
	json_t *o;
	int rc;

	*out = NULL;
	if (k == NULL)
		return tam_err_set(err, TAM_EINVAL, "no key");
	o = json_object();
	if (o == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if (k->kty == JOSE_KTY_RSA) {
		if (json_object_set_new(o, "kty", json_string("RSA")) != 0)
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		else if ((rc = jwk_put(o, k, "n", OSSL_PKEY_PARAM_RSA_N, 0, err)) == TAM_OK)
			rc = jwk_put(o, k, "e", OSSL_PKEY_PARAM_RSA_E, 0, err);
	} else {
		if (json_object_set_new(o, "kty", json_string("EC")) != 0 ||
		    json_object_set_new(o, "crv", json_string("P-256")) != 0)
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		else if ((rc = jwk_put(o, k, "x", OSSL_PKEY_PARAM_EC_PUB_X,
		    JOSE_P256_BYTES, err)) == TAM_OK)
			rc = jwk_put(o, k, "y", OSSL_PKEY_PARAM_EC_PUB_Y,
			    JOSE_P256_BYTES, err);
	}
	if (rc != TAM_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return TAM_OK;
}

int
jose_key_to_jwk(const struct jose_key *k, bool include_private, char **json,
    struct tam_err *err)
{
	json_t *o = NULL;
	size_t i;
	int rc;

	if (json == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_to_jwk: no output");
	*json = NULL;
	if (include_private && !jose_key_is_private(k))
		return tam_err_set(err, TAM_EINVAL, "key has no private half");
	if ((rc = jwk_public(k, &o, err)) != TAM_OK)
		return rc;
	if (include_private && k->kty == JOSE_KTY_RSA) {
		for (i = 0; i < RSA_NPRIVATE && rc == TAM_OK; i++)
			rc = jwk_put(o, k, rsa_private[i].jwk, rsa_private[i].param, 0, err);
	} else if (include_private) {
		rc = jwk_put(o, k, "d", OSSL_PKEY_PARAM_PRIV_KEY, JOSE_P256_BYTES, err);
	}
	if (rc == TAM_OK) {
		*json = json_dumps(o, JSON_COMPACT);
		if (*json == NULL)
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	json_decref(o);
	return rc;
}

int
jose_key_thumbprint(const struct jose_key *k, char out[JOSE_THUMBPRINT_LEN],
    struct tam_err *err)
{
	uint8_t md[32];
	json_t *o = NULL;
	char *canon = NULL, *b64 = NULL;
	int rc;

	if ((rc = jwk_public(k, &o, err)) != TAM_OK)
		return rc;
	/* RFC 7638 §3.3: members sorted, no whitespace. */
	canon = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	if (canon == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	tam_sha256(canon, strlen(canon), md);
	if (tam_b64url_encode(md, sizeof(md), &b64) != TAM_OK) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (tam_strlcpy_checked(out, b64, JOSE_THUMBPRINT_LEN) != TAM_OK)
		rc = tam_err_set(err, TAM_ECRYPTO, "thumbprint has the wrong length");
out:
	free(b64);
	free(canon);
	json_decref(o);
	return rc;
}
