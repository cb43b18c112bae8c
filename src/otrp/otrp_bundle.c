// SPDX-License-Identifier: MIT
/*
 * TA bundles. An SP signs its TA as a JWS (JSON or compact) whose payload is
 * the TA binary; the TAM checks that signature at upload, then encrypts the bundle
 * once per version with AES-256-CBC ("AESCBC" in OTrP's encrypted_ta). Only
 * the 32-byte key is wrapped per device, so a large TA costs each device a
 * key wrap, not a re-encryption.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tam/limits.h"
#include "tam/otrp.h"

static int
aes256cbc(int enc, const uint8_t *in, size_t len, const uint8_t key[32], const uint8_t iv[16],
    uint8_t **out, size_t *out_len, struct tam_err *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	int n1 = 0, n2 = 0, rc;

	*out = NULL;
	*out_len = 0;
	if (len > TAM_MAX_TA_BYTES + 32 || len > INT_MAX - 32)
		return tam_err_set(err, TAM_ETOO_LARGE, "TA bundle too large");
	buf = malloc(len + 32);
	ctx = EVP_CIPHER_CTX_new();
	if (buf == NULL || ctx == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv, enc) != 1 ||
	    EVP_CipherUpdate(ctx, buf, &n1, in, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, buf + n1, &n2) != 1) {
		rc = tam_err_set(err, enc ? TAM_ECRYPTO : TAM_EDECRYPT,
		    enc ? "AES-256-CBC encryption failed" : "TA decryption failed");
		goto out;
	}
	*out = buf;
	*out_len = (size_t)n1 + (size_t)n2;
	buf = NULL;
	rc = TAM_OK;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len + 32);
		free(buf);
	}
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
otrp_bundle_seal(const uint8_t *bundle, size_t len, uint8_t key[32], uint8_t iv[16],
    uint8_t **ct, size_t *ct_len, struct tam_err *err)
{
	if (tam_random(key, 32) != TAM_OK || tam_random(iv, 16) != TAM_OK)
		return tam_err_set(err, TAM_ECRYPTO, "no randomness");
	return aes256cbc(1, bundle, len, key, iv, ct, ct_len, err);
}

int
otrp_bundle_open(const uint8_t *ct, size_t ct_len, const uint8_t key[32], const uint8_t iv[16],
    uint8_t **pt, size_t *len, struct tam_err *err)
{
	return aes256cbc(0, ct, ct_len, key, iv, pt, len, err);
}

/* Bytes per step of a file-to-file encryption. */
#define SEAL_CHUNK (64u * 1024)

int
otrp_bundle_seal_fd(int in_fd, uint64_t len, int out_fd, uint8_t key[32], uint8_t iv[16],
    uint64_t *out_len, struct tam_err *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *in = NULL, *out = NULL;
	uint64_t off = 0, wrote = 0;
	int n = 0, rc;

	*out_len = 0;
	if (tam_random(key, 32) != TAM_OK || tam_random(iv, 16) != TAM_OK)
		return tam_err_set(err, TAM_ECRYPTO, "no randomness");
	in = malloc(SEAL_CHUNK);
	out = malloc(SEAL_CHUNK + 32);
	ctx = EVP_CIPHER_CTX_new();
	if (in == NULL || out == NULL || ctx == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv) != 1) {
		rc = tam_err_set(err, TAM_ECRYPTO, "AES-256-CBC unavailable");
		goto out;
	}
	while (off < len) {
		size_t want = len - off < SEAL_CHUNK ? (size_t)(len - off) : SEAL_CHUNK;
		ssize_t got = pread(in_fd, in, want, (off_t)off);
		if (got <= 0) {
			rc = tam_err_set(err, TAM_EIO, "reading the TA bundle: %s",
			    got < 0 ? strerror(errno) : "short file");
			goto out;
		}
		if (EVP_EncryptUpdate(ctx, out, &n, in, (int)got) != 1) {
			rc = tam_err_set(err, TAM_ECRYPTO, "AES-256-CBC encryption failed");
			goto out;
		}
		if (tam_pwrite_all(out_fd, out, (size_t)n, wrote) != 0) {
			rc = tam_err_set(err, TAM_EIO, "writing the encrypted TA: %s", strerror(errno));
			goto out;
		}
		wrote += (uint64_t)n;
		off += (uint64_t)got;
	}
	if (EVP_EncryptFinal_ex(ctx, out, &n) != 1 || tam_pwrite_all(out_fd, out, (size_t)n, wrote) != 0) {
		rc = tam_err_set(err, TAM_EIO, "finishing the encrypted TA failed");
		goto out;
	}
	*out_len = wrote + (uint64_t)n;
	rc = TAM_OK;
out:
	free(in);
	free(out);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

bool
otrp_bundle_is_json(const uint8_t *bundle, size_t len)
{
	size_t i = 0;

	while (i < len && (bundle[i] == ' ' || bundle[i] == '\t' || bundle[i] == '\r' ||
	    bundle[i] == '\n'))
		i++;
	return i < len && bundle[i] == '{';
}

int
otrp_bundle_verify(const uint8_t *bundle, size_t len, const struct jose_key *sp_key,
    uint8_t **ta, size_t *ta_len, struct tam_err *err)
{
	struct jose_jws *jws = NULL;
	const uint8_t *p;
	json_error_t jerr;
	json_t *doc;
	size_t n;
	int rc;

	*ta = NULL;
	*ta_len = 0;
	if (!otrp_bundle_is_json(bundle, len)) {
		doc = NULL;
		if ((rc = jose_jws_parse_compact((const char *)bundle, len, &jws, err)) != TAM_OK)
			goto out;
	} else {
		doc = json_loadb((const char *)bundle, len, JSON_REJECT_DUPLICATES, &jerr);
		if (doc == NULL)
			return tam_err_set(err, TAM_EMALFORMED,
			    "TA bundle is not a JSON JWS (line %d: %s)", jerr.line, jerr.text);
		if ((rc = jose_jws_parse(doc, &jws, err)) != TAM_OK)
			goto out;
	}
	if ((rc = jose_jws_verify(jws, sp_key, err)) != TAM_OK)
		goto out;
	p = jose_jws_payload_unverified(jws, &n);
	if (n == 0) {
		rc = tam_err_set(err, TAM_EMALFORMED, "TA bundle has an empty payload");
		goto out;
	}
	*ta = malloc(n);
	if (*ta == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*ta, p, n);
	*ta_len = n;
	rc = TAM_OK;
out:
	jose_jws_free(jws);
	json_decref(doc);
	return rc;
}

int
otrp_bundle_flattened(const uint8_t *bundle, size_t len, char **out, size_t *outlen)
{
	const char *dot1, *dot2;
	struct jose_jws *jws = NULL;
	json_t *o;

	*out = NULL;
	*outlen = 0;
	if (otrp_bundle_is_json(bundle, len)) {
		if ((*out = malloc(len + 1)) == NULL)
			return TAM_ENOMEM;
		memcpy(*out, bundle, len);
		(*out)[len] = '\0';
		*outlen = len;
		return TAM_OK;
	}
	/* Re-encoded, not re-signed: the three parts are the SP's, byte for byte. */
	if (jose_jws_parse_compact((const char *)bundle, len, &jws, NULL) != TAM_OK)
		return TAM_EMALFORMED;
	jose_jws_free(jws);
	dot1 = memchr(bundle, '.', len);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - (const char *)bundle));
	o = json_pack("{s:s%,s:s%,s:s%}", "protected", (const char *)bundle,
	    (size_t)(dot1 - (const char *)bundle), "payload", dot1 + 1, (size_t)(dot2 - dot1 - 1),
	    "signature", dot2 + 1, len - (size_t)(dot2 + 1 - (const char *)bundle));
	if (o == NULL || (*out = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return TAM_ENOMEM;
	}
	json_decref(o);
	*outlen = strlen(*out);
	return TAM_OK;
}
