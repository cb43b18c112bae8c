/* SPDX-License-Identifier: MIT */
/*
 * Private to src/jose: the key and JWS structures, the content-encryption
 * table, the bounds on wire input and the helpers the jose files share.
 * Nothing outside src/jose includes this file.
 *
 * Thread safety. Keys are shared read-only between threads, and cjose's
 * cjose_jwk_retain()/cjose_jwk_release() change a plain, non-atomic counter.
 * cjose 0.6.2.1 (src/jws.c, src/jwe.c, and the installed libcjose.so.0, whose
 * only internal calls of cjose_jwk_release() are in cjose_jwk_import_json()
 * and the ECDH-ES key agreement on its own ephemeral keys, and which never
 * calls cjose_jwk_retain()) does not retain or release the caller's key in
 * cjose_jws_sign(), cjose_jws_verify() or cjose_jwe_encrypt*(): it only reads
 * it. So these calls need no lock, provided that we never retain or release
 * a shared key ourselves: struct jose_key owns its cjose_jwk_t alone and
 * releases it once, in jose_key_free(). We never use ECDH-ES through cjose.
 */
#ifndef TAM_JOSE_INT_H
#define TAM_JOSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tam/jose.h"

#ifndef JOSE_RSA_MIN_BITS
#define JOSE_RSA_MIN_BITS 2048               /* weaker RSA keys are refused */
#endif
#ifndef JOSE_RSA_MAX_BITS
#define JOSE_RSA_MAX_BITS 8192               /* bounds RSA work per message */
#endif
#define JOSE_RSA_MAX_BYTES (JOSE_RSA_MAX_BITS / 8) /* RSA signature, encrypted_key */
#define JOSE_RSA_MAX_E_BYTES 8               /* public exponent; OpenSSL caps it at 64 bits too */
#define JOSE_P256_BYTES 32                   /* P-256 coordinate and scalar */
#define JOSE_ES256_SIG_BYTES 64              /* R || S */
#ifndef JOSE_MAX_HEADER_BYTES
#define JOSE_MAX_HEADER_BYTES (256u << 10)   /* decoded protected header; room for x5c */
#endif
#ifndef JOSE_MAX_JWK_BYTES
#define JOSE_MAX_JWK_BYTES (64u << 10)       /* JWK JSON text */
#endif
#ifndef JOSE_MAX_CONTENT_BYTES
#define JOSE_MAX_CONTENT_BYTES (1u << 30)    /* JWS payload, JWE plaintext; cjose uses int lengths */
#endif

struct jose_key {
	EVP_PKEY *pkey;        /* own reference; never changed after creation */
	cjose_jwk_t *jwk;      /* cjose copy of pkey's parameters; owned, never retained */
	enum jose_kty kty;     /* JOSE_KTY_RSA or JOSE_KTY_EC_P256 */
	bool priv;             /* pkey (and jwk) hold the private half */
};

/* Content-encryption algorithms ("enc") on the allow-list; sizes in bytes. */
struct jose_enc {
	const char *name;                   /* JOSE "enc" value */
	const EVP_CIPHER *(*cipher)(void);  /* AES-CBC or AES-GCM with the right key size */
	const char *hmac_md;                /* digest of AES-CBC-HMAC; NULL for GCM */
	size_t cek_len;                     /* whole CEK (CBC-HMAC: MAC key then ENC key) */
	size_t iv_len;                      /* initialization vector */
	size_t tag_len;                     /* authentication tag */
};

/* The allow-listed "enc", or NULL. */
const struct jose_enc *jose_enc_find(const char *name);

/*
 * Authenticated decryption of one JWE content (RFC 7518 §5.2 and §5.3).
 * aad is the "protected" member as received. Lengths of iv and tag must
 * already match enc. Returns 0 and a malloc'd plaintext NUL-terminated past
 * *ptlen, or -1 with nothing allocated. It deliberately says nothing about
 * why it failed.
 */
int jose_aead_decrypt(const struct jose_enc *enc, const uint8_t *cek,
    const char *aad, size_t aadlen, const uint8_t *iv, const uint8_t *ct,
    size_t ctlen, const uint8_t *tag, uint8_t **pt, size_t *ptlen);

/*
 * Authenticated encryption of one JWE content with a given CEK and IV (their
 * lengths those of enc); *ct malloc'd, tag enc->tag_len bytes. 0 or -1.
 */
int jose_aead_encrypt(const struct jose_enc *enc, const uint8_t *cek, const char *aad,
    size_t aadlen, const uint8_t *iv, const uint8_t *pt, size_t ptlen, uint8_t **ct,
    size_t *ctlen, uint8_t *tag);

/* A key from a parsed JWK object (as jose_key_from_jwk, without the text). */
int jose_key_from_jwk_obj(const json_t *o, struct jose_key **out, struct tam_err *err);

/*
 * ECDH-ES+A128KW (RFC 7518 §4.6) with P-256. Wrap: a fresh ephemeral key,
 * its public JWK in *epk, the CEK wrapped in *ek. Unwrap: -1 on any failure
 * (the caller reports it like every other decryption failure).
 */
int jose_ecdh_wrap(const struct jose_key *recipient, const char *alg, const uint8_t *cek,
    size_t ceklen, json_t **epk, uint8_t **ek, size_t *eklen, struct tam_err *err);
/* hdr: the JWE's protected and recipient header parameters together (epk, apu, apv). */
int jose_ecdh_unwrap(const struct jose_key *k, const char *alg, const json_t *hdr,
    const uint8_t *ek, size_t eklen, uint8_t *cek, size_t ceklen);

/* Take over the reference on pkey (freed on failure too) and build a key. */
int jose_key_wrap(EVP_PKEY *pkey, struct jose_key **out, struct tam_err *err);

/*
 * A BIGNUM parameter of pkey as big-endian bytes, left-padded to pad bytes
 * when pad > 0. *out is malloc'd; free it with jose_clear_free(). Returns
 * TAM_ENOTFOUND when pkey has no such parameter (a public key has no "d").
 */
int jose_evp_bn(const EVP_PKEY *pkey, const char *param, size_t pad,
    uint8_t **out, size_t *len);

/*
 * Typed access to members of untrusted JSON objects. what names the object
 * in error messages ("JWS", "JWE", "JWK"). Absent optional members give
 * NULL; present members of the wrong type are TAM_EMALFORMED.
 */
int jose_json_str(const json_t *obj, const char *what, const char *name,
    bool required, const char **s, size_t *len, struct tam_err *err);
int jose_json_obj(const json_t *obj, const char *what, const char *name,
    json_t **member, struct tam_err *err);
/* Required base64url member, at most max decoded bytes, NUL-terminated past *len. */
int jose_json_b64(const json_t *obj, const char *what, const char *name,
    size_t max, uint8_t **out, size_t *len, struct tam_err *err);
/* base64url text of at most max decoded bytes, NUL-terminated past *len. */
int jose_b64_decode(const char *s, size_t n, size_t max, uint8_t **out,
    size_t *len);
/* Decode a "protected" member into a JSON object (duplicate names refused). */
int jose_header_decode(const char *b64, size_t n, const char *what,
    json_t **hdr, struct tam_err *err);
/* s if it is a short printable name, else a placeholder: safe to log. */
const char *jose_printable(const char *s);
/* Does the JWS alg (RS256, ES256) fit the key's type? */
bool jose_sig_alg_fits(const char *alg, const struct jose_key *k);

/* cjose's message, or a placeholder when cjose left none. */
static inline const char *
jose_cjose_msg(const cjose_err *e)
{
	return e->message != NULL ? e->message : "unknown error";
}

static inline void
jose_clear_free(void *p, size_t n)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

#endif
