/* SPDX-License-Identifier: MIT */
/*
 * JOSE for OTrP over libcjose: keys (PEM, DER SPKI, JWK, EVP_PKEY), flattened
 * JWS JSON (cjose only does compact; we split and join), JWE JSON in general or
 * flattened form. Nothing OTrP-specific. Every alg is checked against an
 * allow-list and against the key type before cjose sees the object, because
 * cjose accepts "none" and over-reads on HS* with RSA/EC keys.
 *
 * Decryption: every failure (bad RSA padding, wrong key length, bad tag,
 * bad structure after import) returns TAM_EDECRYPT with one fixed message.
 * RSA1_5 uses implicit rejection (RFC 7516 §11.5): a bad unwrap continues
 * with a random CEK through the same MAC check, so no padding oracle exists.
 *
 * Keys are immutable after creation and safe to share between threads.
 * Keys outside the policy (RSA under 2048 or over 8192 bits, curves other
 * than P-256, other key types) are refused with TAM_EUNSUPPORTED everywhere.
 */
#ifndef TAM_JOSE_H
#define TAM_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "tam/err.h"
#include "tam/util.h"

struct jose_key;

enum jose_kty {
	JOSE_KTY_NONE = 0,
	JOSE_KTY_RSA,        /* RSA, 2048 to 8192 bits */
	JOSE_KTY_EC_P256,    /* EC on P-256 */
};

/* Allowed algorithm names (the allow-list lives in jose; these are its members). */
#define JOSE_ALG_RS256 "RS256"
#define JOSE_ALG_ES256 "ES256"
#define JOSE_ALG_RSA1_5 "RSA1_5"
#define JOSE_ALG_RSA_OAEP "RSA-OAEP"
#define JOSE_ALG_ECDH_ES_A128KW "ECDH-ES+A128KW"
#define JOSE_ENC_A128CBC_HS256 "A128CBC-HS256"
#define JOSE_ENC_A256CBC_HS512 "A256CBC-HS512"
#define JOSE_ENC_A128GCM "A128GCM"
#define JOSE_ENC_A256GCM "A256GCM"

/* Private key from PEM (PKCS#8 or traditional), or public key from PEM SPKI. */
int jose_key_from_pem(const uint8_t *pem, size_t len, struct jose_key **out,
    struct tam_err *err) TAM_WUR;
/* Public key from DER SubjectPublicKeyInfo. */
int jose_key_from_spki(const uint8_t *der, size_t len, struct jose_key **out,
    struct tam_err *err) TAM_WUR;
/* Public or private key from a JWK JSON text (RSA or EC P-256 only). */
int jose_key_from_jwk(const char *json, size_t len, struct jose_key **out,
    struct tam_err *err) TAM_WUR;
/* Wrap an EVP_PKEY; takes its own reference, the caller keeps theirs. */
int jose_key_from_evp(EVP_PKEY *pkey, struct jose_key **out,
    struct tam_err *err) TAM_WUR;
/* Fresh key pair: RSA-2048 or P-256. */
int jose_key_generate(enum jose_kty kty, struct jose_key **out,
    struct tam_err *err) TAM_WUR;
/* A new public-only key with the same public half. */
int jose_key_public(const struct jose_key *k, struct jose_key **out,
    struct tam_err *err) TAM_WUR;
void jose_key_free(struct jose_key *k);

enum jose_kty jose_key_type(const struct jose_key *k);
bool jose_key_is_private(const struct jose_key *k);
/* Borrowed; valid while k lives. */
EVP_PKEY *jose_key_evp(const struct jose_key *k);
/* "RS256" for RSA, "ES256" for P-256. */
const char *jose_key_sig_alg(const struct jose_key *k);
/* DER SubjectPublicKeyInfo of the public half; *der malloc'd. */
int jose_key_to_spki(const struct jose_key *k, uint8_t **der, size_t *len,
    struct tam_err *err) TAM_WUR;
/*
 * PEM for tools that must write key files: the private key as PKCS#8 when
 * include_private (TAM_EINVAL if k is public-only), else the SPKI public key.
 */
int jose_key_to_pem(const struct jose_key *k, bool include_private, char **pem,
    struct tam_err *err) TAM_WUR;
/* JWK JSON text (public members only unless include_private); malloc'd. */
int jose_key_to_jwk(const struct jose_key *k, bool include_private, char **json,
    struct tam_err *err) TAM_WUR;
/* RFC 7638 SHA-256 thumbprint, base64url (43 chars + NUL). */
#define JOSE_THUMBPRINT_LEN 44
int jose_key_thumbprint(const struct jose_key *k, char out[JOSE_THUMBPRINT_LEN],
    struct tam_err *err) TAM_WUR;
/* Same public key? */
bool jose_key_equal_public(const struct jose_key *a, const struct jose_key *b);

/* ---- JWS, flattened JSON serialization ---- */

/*
 * JWS over payloads that share a long prefix: its base64url and the SHA-256
 * of the signing input up to it are computed once (new), then each payload
 * prefix || tail costs an encoding, a hash and a signature of its tail alone
 * (sign). The message is {"protected": jose_jws_prefix_protected,
 * "payload": head || *tail_b64, "signature": *sig_b64}: the JWS
 * jose_jws_sign makes with no extra protected members. An object is
 * read-only after new, so threads may sign with it at once.
 */
struct jose_jws_prefix;
int jose_jws_prefix_new(const char *alg, const uint8_t *prefix, size_t len,
    struct jose_jws_prefix **out, struct tam_err *err) TAM_WUR;
void jose_jws_prefix_free(struct jose_jws_prefix *p);
const char *jose_jws_prefix_protected(const struct jose_jws_prefix *p);
/*
 * A prefix too long to hold: its base64url is fed in pieces of whole
 * 4-character groups (update) and hashed, not kept; finish gives its last
 * len % 3 bytes, which the tails then begin with. Such an object's head is
 * NULL (its length is still told): the caller makes it again as it sends it.
 */
int jose_jws_prefix_begin(const char *alg, struct jose_jws_prefix **out,
    struct tam_err *err) TAM_WUR;
int jose_jws_prefix_update(struct jose_jws_prefix *p, const char *b64, size_t len,
    struct tam_err *err) TAM_WUR;
int jose_jws_prefix_finish(struct jose_jws_prefix *p, const uint8_t *rest, size_t n_rest,
    struct tam_err *err) TAM_WUR;
/* The payload's first *len characters, the same for every tail (NULL: see begin). */
const char *jose_jws_prefix_head(const struct jose_jws_prefix *p, size_t *len);
/* Memory it holds, for a cache's accounting. */
size_t jose_jws_prefix_bytes(const struct jose_jws_prefix *p);
int jose_jws_prefix_sign(const struct jose_jws_prefix *p, const struct jose_key *k,
    const uint8_t *tail, size_t tail_len, char **tail_b64, char **sig_b64,
    struct tam_err *err) TAM_WUR;

/*
 * Sign payload with k. The protected header holds "alg" plus the members of
 * protected_extra (may be NULL; must not contain "alg"). unprotected (may be
 * NULL) becomes the "header" member. *out is a new JSON object
 * {"protected","payload","signature"[,"header"]}.
 */
int jose_jws_sign(const struct jose_key *k, const char *alg,
    const json_t *protected_extra, const json_t *unprotected,
    const uint8_t *payload, size_t len, json_t **out, struct tam_err *err) TAM_WUR;

struct jose_jws;

/*
 * Parse a flattened JWS object. Checks: members are strings (and "header" an
 * object if present), base64url is valid, the protected header is a JSON
 * object whose "alg" is on the allow-list (RS256, ES256, else TAM_EALG), and
 * it carries no "crit", "zip" or "b64"; "header" shares no name with it and
 * carries no "alg". Structure errors are TAM_EMALFORMED. Does not verify.
 */
int jose_jws_parse(const json_t *obj, struct jose_jws **out, struct tam_err *err) TAM_WUR;
const char *jose_jws_alg(const struct jose_jws *jws);
/* "kid" from the protected header, or NULL. */
const char *jose_jws_kid(const struct jose_jws *jws);
/* Decoded protected header object; borrowed. */
const json_t *jose_jws_protected(const struct jose_jws *jws);
/* Unprotected "header" object, or NULL; borrowed. */
const json_t *jose_jws_unprotected(const struct jose_jws *jws);
/*
 * Payload bytes before verification. Only for routing (finding the rid or
 * the key); nothing read here may be trusted until jose_jws_verify passes.
 */
const uint8_t *jose_jws_payload_unverified(const struct jose_jws *jws, size_t *len);
/*
 * Verify with k; the alg must fit k (RS256/RSA, ES256/P-256) or TAM_EALG.
 * A signature that does not verify is TAM_ESIGNATURE.
 */
int jose_jws_verify(const struct jose_jws *jws, const struct jose_key *k,
    struct tam_err *err) TAM_WUR;
void jose_jws_free(struct jose_jws *jws);

/*
 * The same for the compact serialization (RFC 7515 §7.1): exactly three
 * base64url parts joined by dots, nothing around them.
 */
int jose_jws_parse_compact(const char *s, size_t len, struct jose_jws **out,
    struct tam_err *err) TAM_WUR;

/*
 * Verify a compact JWS of any size fed in pieces, holding only the header
 * and the signature: the payload is hashed as it passes. The header is
 * checked (as jose_jws_parse does, and its alg against k) as soon as it is
 * complete; a byte that cannot belong to a compact JWS fails at once. Once
 * update or final fails, the stream only fails.
 */
struct jose_jws_stream;
int jose_jws_stream_new(const struct jose_key *k, struct jose_jws_stream **out,
    struct tam_err *err) TAM_WUR;
int jose_jws_stream_update(struct jose_jws_stream *s, const uint8_t *p, size_t n,
    struct tam_err *err) TAM_WUR;
/* TAM_OK when the input was one whole compact JWS whose signature verifies with k. */
int jose_jws_stream_final(struct jose_jws_stream *s, struct tam_err *err) TAM_WUR;
/* Bytes of decoded payload (known once the payload part is complete). */
uint64_t jose_jws_stream_payload_len(const struct jose_jws_stream *s);
void jose_jws_stream_free(struct jose_jws_stream *s);

/* ---- JWE, JSON serialization ---- */

enum jose_jwe_form {
	/* {"protected":{enc}, "recipients":[{"header":{alg},"encrypted_key"}], iv, ciphertext, tag} */
	JOSE_JWE_GENERAL = 0,
	/* {"protected":{alg,enc}, "encrypted_key", iv, ciphertext, tag}: every header protected */
	JOSE_JWE_FLAT_PROTECTED = 1,
};

/*
 * Encrypt plaintext to the public half of recipient. alg: RSA1_5 or RSA-OAEP
 * for an RSA key, ECDH-ES+A128KW for a P-256 key (its "epk" goes where "alg"
 * goes); enc: A128CBC-HS256, A256CBC-HS512, A128GCM or A256GCM (else
 * TAM_EALG). No AAD.
 */
int jose_jwe_encrypt(const struct jose_key *recipient, const char *alg,
    const char *enc, enum jose_jwe_form form, const uint8_t *pt, size_t len,
    json_t **out, struct tam_err *err) TAM_WUR;

/*
 * Decrypt a JWE object in general (exactly one recipient) or flattened form,
 * "alg" in the protected or recipient header (not both), "enc" in the
 * protected header. Rejects "aad", "zip", "crit", a shared "unprotected"
 * header (TAM_EMALFORMED) and algs off the allow-list or not fit for k
 * (TAM_EALG); k must be a private RSA key, or P-256 for ECDH-ES+A128KW
 * (the "epk" must be a public P-256 point on the curve; "apu"/"apv" are
 * honoured). Every cryptographic failure,
 * including wrong iv/tag sizes, is TAM_EDECRYPT with one fixed message.
 * *pt is malloc'd and NUL-terminated past *len.
 */
int jose_jwe_decrypt(const struct jose_key *k, const json_t *jwe, uint8_t **pt,
    size_t *len, struct tam_err *err) TAM_WUR;

/* Longest alg or enc name we allow, with its NUL. */
#define JOSE_ALG_MAX 24
/*
 * The key management alg and content encryption of a JWE (parsed and
 * checked as jose_jwe_decrypt does, not decrypted): what its sender can do.
 */
int jose_jwe_suite(const json_t *jwe, char alg[JOSE_ALG_MAX], char enc[JOSE_ALG_MAX],
    struct tam_err *err) TAM_WUR;

/* ---- primitives of ECDH-ES, public for their test vectors ---- */

/* The ECDH shared secret Z of a P-256 private key and a P-256 public key. */
int jose_ecdh_z(const struct jose_key *priv, const struct jose_key *pub, uint8_t z[32],
    struct tam_err *err) TAM_WUR;
/*
 * The Concat KDF of RFC 7518 §4.6.2 with SHA-256: outlen bytes from Z,
 * AlgorithmID alg, PartyUInfo apu and PartyVInfo apv (each may be empty).
 */
int jose_concat_kdf(const uint8_t *z, size_t zlen, const char *alg, const uint8_t *apu,
    size_t apulen, const uint8_t *apv, size_t apvlen, uint8_t *out, size_t outlen,
    struct tam_err *err) TAM_WUR;

#endif
