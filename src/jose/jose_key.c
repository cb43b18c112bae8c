// SPDX-License-Identifier: MIT
/*
 * Keys: an OpenSSL EVP_PKEY plus the cjose JWK built from its parameters,
 * created once and then only read, so one key may serve many threads. This
 * file loads keys from PEM, DER SPKI, EVP_PKEY or a fresh key pair and
 * writes them back out. Every path goes through jose_key_wrap(), the single
 * place that enforces the key policy (RSA 2048..8192 bits, EC only on P-256).
 * No deprecated OpenSSL API: parameters travel as OSSL_PARAM/BIGNUM.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tam/limits.h"
#include "jose_int.h"

#define P256_GROUP "prime256v1"   /* OpenSSL's name for P-256 */

int
jose_evp_bn(const EVP_PKEY *pkey, const char *param, size_t pad, uint8_t **out,
    size_t *len)
{
	BIGNUM *bn = NULL;
	uint8_t *buf = NULL;
	size_t n;
	int rc = TAM_OK;

	*out = NULL;
	*len = 0;
	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1 || bn == NULL) {
		ERR_clear_error();
		return TAM_ENOTFOUND;
	}
	n = pad > 0 ? pad : (size_t)BN_num_bytes(bn);
	if (n == 0)
		n = 1;
	if (n > INT_MAX) {
		rc = TAM_ECRYPTO;
		goto out;
	}
	buf = malloc(n);
	if (buf == NULL) {
		rc = TAM_ENOMEM;
		goto out;
	}
	if (BN_bn2binpad(bn, buf, (int)n) != (int)n) {
		jose_clear_free(buf, n);
		buf = NULL;
		rc = TAM_ECRYPTO;
		goto out;
	}
	*out = buf;
	*len = n;
out:
	BN_clear_free(bn);
	return rc;
}

/* Decide the key type, enforce the key policy, and see whether pk is private. */
static int
key_classify(EVP_PKEY *pk, enum jose_kty *kty, bool *priv, struct tam_err *err)
{
	char group[64];
	BIGNUM *secret = NULL;
	int bits;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS)
			return tam_err_set(err, TAM_EUNSUPPORTED,
			    "RSA key of %d bits refused (allowed: %d to %d)", bits,
			    JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
		*kty = JOSE_KTY_RSA;
		*priv = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &secret) == 1;
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) != 1 ||
		    strcmp(group, P256_GROUP) != 0) {
			ERR_clear_error();
			return tam_err_set(err, TAM_EUNSUPPORTED,
			    "EC key not on P-256 refused");
		}
		*kty = JOSE_KTY_EC_P256;
		*priv = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &secret) == 1;
	} else {
		return tam_err_set(err, TAM_EUNSUPPORTED,
		    "key type %s refused (RSA or EC P-256 only)",
		    jose_printable(EVP_PKEY_get0_type_name(pk)));
	}
	BN_clear_free(secret);
	ERR_clear_error();
	return TAM_OK;
}

/* The cjose twin of an RSA key; private keys must carry the CRT parameters. */
static int
jwk_rsa(EVP_PKEY *pk, bool priv, cjose_jwk_t **out, struct tam_err *err)
{
	cjose_jwk_rsa_keyspec s;
	struct {
		const char *param;  /* OpenSSL parameter name */
		uint8_t **buf;      /* where the bytes go in s */
		size_t *len;
	} p[] = {
		{ OSSL_PKEY_PARAM_RSA_N, &s.n, &s.nlen },
		{ OSSL_PKEY_PARAM_RSA_E, &s.e, &s.elen },
		{ OSSL_PKEY_PARAM_RSA_D, &s.d, &s.dlen },
		{ OSSL_PKEY_PARAM_RSA_FACTOR1, &s.p, &s.plen },
		{ OSSL_PKEY_PARAM_RSA_FACTOR2, &s.q, &s.qlen },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT1, &s.dp, &s.dplen },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT2, &s.dq, &s.dqlen },
		{ OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &s.qi, &s.qilen },
	};
	size_t i, n = priv ? sizeof(p) / sizeof(p[0]) : 2;
	cjose_err cerr = { 0 };
	int rc = TAM_OK;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		rc = jose_evp_bn(pk, p[i].param, 0, p[i].buf, p[i].len);
		if (rc == TAM_ENOTFOUND) {
			rc = tam_err_set(err, TAM_EUNSUPPORTED,
			    "RSA key lacks parameter %s", p[i].param);
			goto out;
		}
		if (rc != TAM_OK) {
			rc = tam_err_set(err, rc, "cannot read RSA parameter %s", p[i].param);
			goto out;
		}
	}
	*out = cjose_jwk_create_RSA_spec(&s, &cerr);
	if (*out == NULL)
		rc = tam_err_set(err, TAM_ECRYPTO, "cjose RSA key: %s", jose_cjose_msg(&cerr));
out:
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		jose_clear_free(*p[i].buf, *p[i].len);
	return rc;
}

static int
jwk_ec(EVP_PKEY *pk, bool priv, cjose_jwk_t **out, struct tam_err *err)
{
	cjose_jwk_ec_keyspec s;
	cjose_err cerr = { 0 };
	int rc;

	memset(&s, 0, sizeof(s));
	s.crv = CJOSE_JWK_EC_P_256;
	/* Fixed length, as JWK coordinates are; cjose reads them as BIGNUMs. */
	if ((rc = jose_evp_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X, JOSE_P256_BYTES, &s.x,
	    &s.xlen)) != TAM_OK ||
	    (rc = jose_evp_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y, JOSE_P256_BYTES, &s.y,
	    &s.ylen)) != TAM_OK ||
	    (priv && (rc = jose_evp_bn(pk, OSSL_PKEY_PARAM_PRIV_KEY, JOSE_P256_BYTES,
	    &s.d, &s.dlen)) != TAM_OK)) {
		rc = tam_err_set(err, rc == TAM_ENOMEM ? TAM_ENOMEM : TAM_ECRYPTO,
		    "cannot read EC key parameters");
		goto out;
	}
	*out = cjose_jwk_create_EC_spec(&s, &cerr);
	if (*out == NULL)
		rc = tam_err_set(err, TAM_ECRYPTO, "cjose EC key: %s", jose_cjose_msg(&cerr));
out:
	jose_clear_free(s.x, s.xlen);
	jose_clear_free(s.y, s.ylen);
	jose_clear_free(s.d, s.dlen);
	return rc;
}

int
jose_key_wrap(EVP_PKEY *pkey, struct jose_key **out, struct tam_err *err)
{
	struct jose_key *k = NULL;
	cjose_jwk_t *jwk = NULL;
	enum jose_kty kty = JOSE_KTY_NONE;
	bool priv = false;
	int rc;

	*out = NULL;
	if ((rc = key_classify(pkey, &kty, &priv, err)) != TAM_OK)
		goto out;
	rc = kty == JOSE_KTY_RSA ? jwk_rsa(pkey, priv, &jwk, err)
				 : jwk_ec(pkey, priv, &jwk, err);
	if (rc != TAM_OK)
		goto out;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	k->pkey = pkey;
	k->jwk = jwk;
	k->kty = kty;
	k->priv = priv;
	pkey = NULL;
	jwk = NULL;
	*out = k;
out:
	if (jwk != NULL)
		cjose_jwk_release(jwk);
	EVP_PKEY_free(pkey);
	return rc;
}

int
jose_key_from_pem(const uint8_t *pem, size_t len, struct jose_key **out,
    struct tam_err *err)
{
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_from_pem: no output");
	*out = NULL;
	if (pem == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_from_pem: no input");
	if (len > TAM_MAX_PEM_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, "PEM longer than %u bytes",
		    TAM_MAX_PEM_BYTES);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	pk = PEM_read_bio_PrivateKey_ex(bio, NULL, tam_pem_no_password, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		bio = BIO_new_mem_buf(pem, (int)len);
		if (bio == NULL)
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		pk = PEM_read_bio_PUBKEY_ex(bio, NULL, tam_pem_no_password, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	if (pk == NULL)
		return tam_err_set(err, TAM_EINVAL,
		    "PEM holds no private key or SPKI public key (encrypted keys are refused)");
	return jose_key_wrap(pk, out, err);
}

int
jose_key_from_spki(const uint8_t *der, size_t len, struct jose_key **out,
    struct tam_err *err)
{
	const unsigned char *p = der;
	EVP_PKEY *pk;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_from_spki: no output");
	*out = NULL;
	if (der == NULL || len == 0)
		return tam_err_set(err, TAM_EMALFORMED, "SPKI: empty");
	if (len > TAM_MAX_CERT_BYTES)
		return tam_err_set(err, TAM_EMALFORMED, "SPKI: longer than %u bytes",
		    TAM_MAX_CERT_BYTES);
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	ERR_clear_error();
	if (pk == NULL || p != der + len) {
		EVP_PKEY_free(pk);
		return tam_err_set(err, TAM_EMALFORMED,
		    "SPKI: not one DER SubjectPublicKeyInfo");
	}
	return jose_key_wrap(pk, out, err);
}

int
jose_key_from_evp(EVP_PKEY *pkey, struct jose_key **out, struct tam_err *err)
{
	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_from_evp: no output");
	*out = NULL;
	if (pkey == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_from_evp: no key");
	if (EVP_PKEY_up_ref(pkey) != 1)
		return tam_err_set(err, TAM_ECRYPTO, "EVP_PKEY_up_ref failed");
	return jose_key_wrap(pkey, out, err);
}

int
jose_key_generate(enum jose_kty kty, struct jose_key **out, struct tam_err *err)
{
	EVP_PKEY *pk;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_generate: no output");
	*out = NULL;
	switch (kty) {
	case JOSE_KTY_RSA:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)JOSE_RSA_MIN_BITS);
		break;
	case JOSE_KTY_EC_P256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	default:
		return tam_err_set(err, TAM_EINVAL, "jose_key_generate: bad key type");
	}
	if (pk == NULL) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ECRYPTO, "key generation failed");
	}
	return jose_key_wrap(pk, out, err);
}

int
jose_key_public(const struct jose_key *k, struct jose_key **out,
    struct tam_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_public: no output");
	*out = NULL;
	if ((rc = jose_key_to_spki(k, &der, &len, err)) != TAM_OK)
		return rc;
	rc = jose_key_from_spki(der, len, out, err);
	free(der);
	return rc;
}

void
jose_key_free(struct jose_key *k)
{
	if (k == NULL)
		return;
	cjose_jwk_release(k->jwk);
	EVP_PKEY_free(k->pkey);
	free(k);
}

enum jose_kty
jose_key_type(const struct jose_key *k)
{
	return k == NULL ? JOSE_KTY_NONE : k->kty;
}

bool
jose_key_is_private(const struct jose_key *k)
{
	return k != NULL && k->priv;
}

EVP_PKEY *
jose_key_evp(const struct jose_key *k)
{
	return k == NULL ? NULL : k->pkey;
}

const char *
jose_key_sig_alg(const struct jose_key *k)
{
	switch (jose_key_type(k)) {
	case JOSE_KTY_RSA:
		return JOSE_ALG_RS256;
	case JOSE_KTY_EC_P256:
		return JOSE_ALG_ES256;
	default:
		return NULL;
	}
}

int
jose_key_to_spki(const struct jose_key *k, uint8_t **der, size_t *len,
    struct tam_err *err)
{
	unsigned char *p;
	uint8_t *buf;
	int n;

	if (der == NULL || len == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_to_spki: no output");
	*der = NULL;
	*len = 0;
	if (k == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_to_spki: no key");
	n = i2d_PUBKEY(k->pkey, NULL);
	if (n <= 0) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ECRYPTO, "cannot encode SPKI");
	}
	buf = malloc((size_t)n);
	if (buf == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	p = buf;
	if (i2d_PUBKEY(k->pkey, &p) != n) {
		ERR_clear_error();
		free(buf);
		return tam_err_set(err, TAM_ECRYPTO, "cannot encode SPKI");
	}
	*der = buf;
	*len = (size_t)n;
	return TAM_OK;
}

int
jose_key_to_pem(const struct jose_key *k, bool include_private, char **pem,
    struct tam_err *err)
{
	BIO *bio = NULL;
	char *data = NULL, *s;
	long n;
	int ok, rc = TAM_OK;

	if (pem == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_to_pem: no output");
	*pem = NULL;
	if (k == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_key_to_pem: no key");
	if (include_private && !k->priv)
		return tam_err_set(err, TAM_EINVAL, "key has no private half");
	/* The secure-memory BIO wipes its buffer when freed. */
	bio = BIO_new(include_private ? BIO_s_secmem() : BIO_s_mem());
	if (bio == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	ok = include_private
	    ? PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL)
	    : PEM_write_bio_PUBKEY(bio, k->pkey);
	n = BIO_get_mem_data(bio, &data);
	if (ok != 1 || n <= 0 || data == NULL) {
		ERR_clear_error();
		rc = tam_err_set(err, TAM_ECRYPTO, "cannot encode PEM");
		goto out;
	}
	s = malloc((size_t)n + 1);
	if (s == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*pem = s;
out:
	BIO_free(bio);
	return rc;
}

bool
jose_key_equal_public(const struct jose_key *a, const struct jose_key *b)
{
	int r;

	if (a == NULL || b == NULL)
		return false;
	r = EVP_PKEY_eq(a->pkey, b->pkey);
	ERR_clear_error();
	return r == 1;
}
