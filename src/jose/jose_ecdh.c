// SPDX-License-Identifier: MIT
/*
 * ECDH-ES+A128KW (RFC 7518 §4.6), which cjose lacks, from OpenSSL
 * primitives: P-256 key agreement, the Concat KDF (OpenSSL's SSKDF is NIST
 * SP 800-56C's one-step KDF, which RFC 7518 §4.6.2 names) and the AES key
 * wrap of RFC 3394.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "jose_int.h"

#define WHAT "JWE"
#define KEK_BYTES 16            /* A128KW */
#define MAX_PARTY_INFO 512      /* decoded apu/apv bound */

int
jose_ecdh_z(const struct jose_key *priv, const struct jose_key *pub, uint8_t z[32],
    struct tam_err *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	size_t zlen = 32;
	int rc = TAM_OK;

	if (priv == NULL || pub == NULL || priv->kty != JOSE_KTY_EC_P256 ||
	    pub->kty != JOSE_KTY_EC_P256 || !priv->priv)
		return tam_err_set(err, TAM_EINVAL, "ECDH needs a P-256 private and public key");
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, pub->pkey) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1 || zlen != 32)
		rc = tam_err_set(err, TAM_ECRYPTO, "ECDH failed");
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* A 32-bit big-endian length, then the bytes (RFC 7518 §4.6.2 "Datalen || Data"). */
static uint8_t *
put_datalen(uint8_t *p, const void *data, size_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	if (n > 0)
		memcpy(p + 4, data, n);
	return p + 4 + n;
}

int
jose_concat_kdf(const uint8_t *z, size_t zlen, const char *alg, const uint8_t *apu,
    size_t apulen, const uint8_t *apv, size_t apvlen, uint8_t *out, size_t outlen,
    struct tam_err *err)
{
	uint8_t info[4 + 64 + 4 + MAX_PARTY_INFO + 4 + MAX_PARTY_INFO + 4], *p = info;
	size_t alglen = alg != NULL ? strlen(alg) : 0;
	uint32_t bits = (uint32_t)(outlen * 8);
	OSSL_PARAM params[4];
	EVP_KDF_CTX *ctx = NULL;
	EVP_KDF *kdf = NULL;
	int rc = TAM_OK;

	if (alglen == 0 || alglen > 64 || apulen > MAX_PARTY_INFO || apvlen > MAX_PARTY_INFO ||
	    outlen == 0 || outlen > 64)
		return tam_err_set(err, TAM_EINVAL, "Concat KDF: input out of range");
	/* OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo (keydatalen). */
	p = put_datalen(p, alg, alglen);
	p = put_datalen(p, apu, apulen);
	p = put_datalen(p, apv, apvlen);
	*p++ = (uint8_t)(bits >> 24);
	*p++ = (uint8_t)(bits >> 16);
	*p++ = (uint8_t)(bits >> 8);
	*p++ = (uint8_t)bits;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
	    (size_t)(p - info));
	params[3] = OSSL_PARAM_construct_end();
	kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
	if (kdf == NULL || (ctx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(ctx, out, outlen, params) != 1)
		rc = tam_err_set(err, TAM_ECRYPTO, "Concat KDF failed");
	ERR_clear_error();
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(info, sizeof(info));
	return rc;
}

/* RFC 3394 AES key wrap (encrypt) or unwrap with a 128-bit KEK; 0 or -1. */
static int
aes_kw(bool wrap, const uint8_t kek[KEK_BYTES], const uint8_t *in, size_t inlen, uint8_t *out,
    size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, rc = -1;

	if (ctx == NULL)
		return -1;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex2(ctx, EVP_aes_128_wrap(), kek, NULL, wrap ? 1 : 0, NULL) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) == 1 &&
	    EVP_CipherFinal_ex(ctx, out + n, &m) == 1) {
		*outlen = (size_t)n + (size_t)m;
		rc = 0;
	}
	ERR_clear_error();
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
jose_ecdh_wrap(const struct jose_key *recipient, const char *alg, const uint8_t *cek,
    size_t ceklen, json_t **epk, uint8_t **ek, size_t *eklen, struct tam_err *err)
{
	struct jose_key *eph = NULL;
	uint8_t z[32], kek[KEK_BYTES];
	char *jwk = NULL;
	int rc;

	*epk = NULL;
	*ek = NULL;
	*eklen = 0;
	if (recipient->kty != JOSE_KTY_EC_P256)
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s needs a P-256 key", alg);
	if ((rc = jose_key_generate(JOSE_KTY_EC_P256, &eph, err)) != TAM_OK ||
	    (rc = jose_ecdh_z(eph, recipient, z, err)) != TAM_OK ||
	    (rc = jose_concat_kdf(z, sizeof(z), alg, NULL, 0, NULL, 0, kek, sizeof(kek),
	    err)) != TAM_OK ||
	    (rc = jose_key_to_jwk(eph, false, &jwk, err)) != TAM_OK)
		goto out;
	if ((*epk = json_loads(jwk, 0, NULL)) == NULL || (*ek = malloc(ceklen + 8)) == NULL ||
	    aes_kw(true, kek, cek, ceklen, *ek, eklen) != 0) {
		json_decref(*epk);
		*epk = NULL;
		free(*ek);
		*ek = NULL;
		rc = tam_err_set(err, TAM_ECRYPTO, WHAT ": cannot wrap the key");
	}
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	free(jwk);
	jose_key_free(eph);
	return rc;
}

/* Decoded "apu"/"apv" of the header, if present; -1 when malformed. */
static int
party_info(const json_t *hdr, const char *name, uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(hdr, name);

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 2 * MAX_PARTY_INFO ||
	    tam_b64url_decode(json_string_value(v), json_string_length(v), out, len) != TAM_OK)
		return -1;
	return *len <= MAX_PARTY_INFO ? 0 : -1;
}

int
jose_ecdh_unwrap(const struct jose_key *k, const char *alg, const json_t *hdr,
    const uint8_t *ek, size_t eklen, uint8_t *cek, size_t ceklen)
{
	const json_t *epk = json_object_get(hdr, "epk");
	struct jose_key *eph = NULL;
	uint8_t z[32], kek[KEK_BYTES], *apu = NULL, *apv = NULL, out[64 + 8];
	size_t apulen = 0, apvlen = 0, outlen = 0;
	int rc = -1;

	if (k->kty != JOSE_KTY_EC_P256 || !k->priv || eklen != ceklen + 8 || eklen > sizeof(out))
		return -1;
	/* An ephemeral key must be public P-256 and on the curve (invalid-curve attacks). */
	/* Named P-256 before any key is built: nothing costly for a stranger's input. */
	if (!json_is_object(epk) || json_object_get(epk, "d") != NULL ||
	    !json_is_string(json_object_get(epk, "kty")) ||
	    strcmp(json_string_value(json_object_get(epk, "kty")), "EC") != 0 ||
	    !json_is_string(json_object_get(epk, "crv")) ||
	    strcmp(json_string_value(json_object_get(epk, "crv")), "P-256") != 0 ||
	    jose_key_from_jwk_obj(epk, &eph, NULL) != TAM_OK || eph->kty != JOSE_KTY_EC_P256)
		goto out;
	if (party_info(hdr, "apu", &apu, &apulen) != 0 || party_info(hdr, "apv", &apv, &apvlen) != 0)
		goto out;
	if (jose_ecdh_z(k, eph, z, NULL) != TAM_OK ||
	    jose_concat_kdf(z, sizeof(z), alg, apu, apulen, apv, apvlen, kek, sizeof(kek),
	    NULL) != TAM_OK ||
	    aes_kw(false, kek, ek, eklen, out, &outlen) != 0 || outlen != ceklen)
		goto out;
	memcpy(cek, out, ceklen);
	rc = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(out, sizeof(out));
	free(apu);
	free(apv);
	jose_key_free(eph);
	return rc;
}
