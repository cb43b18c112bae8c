// SPDX-License-Identifier: MIT
/*
 * JWE content encryption and decryption over OpenSSL EVP: AES-CBC-HMAC-SHA2
 * (RFC 7518 §5.2) and AES-GCM (§5.3). It answers only "plaintext" or "no",
 * never why, so that the caller can report every failure the same way. The
 * MAC is checked in constant time before any CBC decryption, and nothing is
 * released to the caller before the tag has been verified.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include "jose_int.h"

#define AES_BLOCK 16

static const struct jose_enc encs[] = {
	{ JOSE_ENC_A128CBC_HS256, EVP_aes_128_cbc, "SHA256", 32, 16, 16 },
	{ JOSE_ENC_A256CBC_HS512, EVP_aes_256_cbc, "SHA512", 64, 16, 32 },
	{ JOSE_ENC_A128GCM, EVP_aes_128_gcm, NULL, 16, 12, 16 },
	{ JOSE_ENC_A256GCM, EVP_aes_256_gcm, NULL, 32, 12, 16 },
};

const struct jose_enc *
jose_enc_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(encs) / sizeof(encs[0]); i++)
		if (strcmp(name, encs[i].name) == 0)
			return &encs[i];
	return NULL;
}

/* RFC 7518 §5.2.2.2: T = first half of HMAC(MAC_KEY, A || IV || E || AL). */
static int
cbc_hmac_tag_ok(const struct jose_enc *enc, const uint8_t *mackey,
    const char *aad, size_t aadlen, const uint8_t *iv, const uint8_t *ct,
    size_t ctlen, const uint8_t *tag)
{
	uint8_t al[8], mac[EVP_MAX_MD_SIZE];
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *hmac;
	uint64_t bits = (uint64_t)aadlen * 8;
	size_t i, maclen = 0;
	int ok = 0;

	for (i = 0; i < sizeof(al); i++)
		al[i] = (uint8_t)(bits >> (56 - 8 * i));
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac == NULL || (ctx = EVP_MAC_CTX_new(hmac)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)enc->hmac_md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, mackey, enc->cek_len / 2, params) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)aad, aadlen) != 1 ||
	    EVP_MAC_update(ctx, iv, enc->iv_len) != 1 ||
	    EVP_MAC_update(ctx, ct, ctlen) != 1 ||
	    EVP_MAC_update(ctx, al, sizeof(al)) != 1 ||
	    EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) != 1 ||
	    maclen != 2 * enc->tag_len)
		goto out;
	ok = CRYPTO_memcmp(mac, tag, enc->tag_len) == 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	return ok;
}

static int
cbc_hmac_encrypt(const struct jose_enc *enc, const uint8_t *cek, const char *aad,
    size_t aadlen, const uint8_t *iv, const uint8_t *pt, size_t ptlen, uint8_t *ct,
    size_t *ctlen, uint8_t *tag)
{
	uint8_t al[8], mac[EVP_MAX_MD_SIZE];
	uint64_t bits = (uint64_t)aadlen * 8;
	size_t half = enc->cek_len / 2, maclen = 0;
	EVP_CIPHER_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	EVP_MAC_CTX *mctx = NULL;
	EVP_MAC *hmac = NULL;
	int n1 = 0, n2 = 0, rc = -1;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_EncryptInit_ex2(ctx, enc->cipher(), cek + half, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n1, pt, (int)ptlen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n1, &n2) != 1)
		goto out;
	*ctlen = (size_t)n1 + (size_t)n2;
	for (size_t i = 0; i < sizeof(al); i++)
		al[i] = (uint8_t)(bits >> (56 - 8 * i));
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac == NULL || (mctx = EVP_MAC_CTX_new(hmac)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)enc->hmac_md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(mctx, cek, half, params) != 1 ||
	    EVP_MAC_update(mctx, (const uint8_t *)aad, aadlen) != 1 ||
	    EVP_MAC_update(mctx, iv, enc->iv_len) != 1 ||
	    EVP_MAC_update(mctx, ct, *ctlen) != 1 ||
	    EVP_MAC_update(mctx, al, sizeof(al)) != 1 ||
	    EVP_MAC_final(mctx, mac, &maclen, sizeof(mac)) != 1 ||
	    maclen != 2 * enc->tag_len)
		goto out;
	memcpy(tag, mac, enc->tag_len);
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_MAC_CTX_free(mctx);
	EVP_MAC_free(hmac);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int
gcm_encrypt(const struct jose_enc *enc, const uint8_t *cek, const char *aad, size_t aadlen,
    const uint8_t *iv, const uint8_t *pt, size_t ptlen, uint8_t *ct, size_t *ctlen,
    uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, n1 = 0, n2 = 0, rc = -1;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_EncryptInit_ex2(ctx, enc->cipher(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)enc->iv_len, NULL) != 1 ||
	    EVP_EncryptInit_ex2(ctx, NULL, cek, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)aadlen) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n1, pt, (int)ptlen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n1, &n2) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)enc->tag_len, tag) != 1)
		goto out;
	*ctlen = (size_t)n1 + (size_t)n2;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
jose_aead_encrypt(const struct jose_enc *enc, const uint8_t *cek, const char *aad,
    size_t aadlen, const uint8_t *iv, const uint8_t *pt, size_t ptlen, uint8_t **ct,
    size_t *ctlen, uint8_t *tag)
{
	uint8_t *buf;
	int rc;

	*ct = NULL;
	*ctlen = 0;
	if (aadlen > INT_MAX || ptlen > INT_MAX - 2 * AES_BLOCK)
		return -1;
	/* CBC pads to the next whole block; GCM adds nothing. */
	buf = malloc(ptlen + AES_BLOCK);
	if (buf == NULL)
		return -1;
	rc = enc->hmac_md != NULL
	    ? cbc_hmac_encrypt(enc, cek, aad, aadlen, iv, pt, ptlen, buf, ctlen, tag)
	    : gcm_encrypt(enc, cek, aad, aadlen, iv, pt, ptlen, buf, ctlen, tag);
	ERR_clear_error();
	if (rc != 0) {
		free(buf);
		*ctlen = 0;
		return -1;
	}
	*ct = buf;
	return 0;
}

static int
cbc_hmac_decrypt(const struct jose_enc *enc, const uint8_t *cek, const char *aad,
    size_t aadlen, const uint8_t *iv, const uint8_t *ct, size_t ctlen,
    const uint8_t *tag, uint8_t *buf, size_t *ptlen)
{
	size_t half = enc->cek_len / 2;
	EVP_CIPHER_CTX *ctx = NULL;
	int n1 = 0, n2 = 0, rc = -1;

	if (ctlen == 0 || ctlen % AES_BLOCK != 0)
		return -1;
	if (!cbc_hmac_tag_ok(enc, cek, aad, aadlen, iv, ct, ctlen, tag))
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_DecryptInit_ex2(ctx, enc->cipher(), cek + half, iv, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, buf, &n1, ct, (int)ctlen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, buf + n1, &n2) != 1)
		goto out;
	*ptlen = (size_t)n1 + (size_t)n2;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int
gcm_decrypt(const struct jose_enc *enc, const uint8_t *cek, const char *aad,
    size_t aadlen, const uint8_t *iv, const uint8_t *ct, size_t ctlen,
    const uint8_t *tag, uint8_t *buf, size_t *ptlen)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, n1 = 0, n2 = 0, rc = -1;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_DecryptInit_ex2(ctx, enc->cipher(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)enc->iv_len, NULL) != 1 ||
	    EVP_DecryptInit_ex2(ctx, NULL, cek, iv, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(ctx, buf, &n1, ct, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)enc->tag_len,
	    (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, buf + n1, &n2) != 1)
		goto out;
	*ptlen = (size_t)n1 + (size_t)n2;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
jose_aead_decrypt(const struct jose_enc *enc, const uint8_t *cek,
    const char *aad, size_t aadlen, const uint8_t *iv, const uint8_t *ct,
    size_t ctlen, const uint8_t *tag, uint8_t **pt, size_t *ptlen)
{
	size_t cap, n = 0;
	uint8_t *buf;
	int rc;

	*pt = NULL;
	*ptlen = 0;
	/* EVP takes int lengths; a block of slack for CBC, one byte for the NUL. */
	if (aadlen > INT_MAX || ctlen > INT_MAX - 2 * AES_BLOCK)
		return -1;
	cap = ctlen + AES_BLOCK + 1;
	buf = malloc(cap);
	if (buf == NULL)
		return -1;
	rc = enc->hmac_md != NULL
	    ? cbc_hmac_decrypt(enc, cek, aad, aadlen, iv, ct, ctlen, tag, buf, &n)
	    : gcm_decrypt(enc, cek, aad, aadlen, iv, ct, ctlen, tag, buf, &n);
	ERR_clear_error();
	if (rc != 0 || n >= cap) {
		jose_clear_free(buf, cap);
		return -1;
	}
	buf[n] = '\0';
	*pt = buf;
	*ptlen = n;
	return 0;
}
