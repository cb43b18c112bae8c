/* SPDX-License-Identifier: MIT */
/*
 * X.509 over OpenSSL: load certificates, validate a chain against a set of
 * trust anchors (validity, CA flags, path length, key strength, key usage),
 * derive identifiers (device id = SHA-256 of DER, TAM id from the SAN), and
 * the signer: the one object that holds a private key and can only sign JWS
 * and decrypt JWE with it. No other module ever sees private key bytes.
 */
#ifndef TAM_PKI_H
#define TAM_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "tam/err.h"
#include "tam/jose.h"
#include "tam/util.h"

/* ---- certificates ---- */

/*
 * Parsers fail with TAM_EMALFORMED (unparseable, trailing bytes) or
 * TAM_ETOO_LARGE (above TAM_MAX_CERT_BYTES DER / TAM_MAX_PEM_BYTES PEM).
 */
int pki_cert_from_der(const uint8_t *der, size_t len, X509 **out,
    struct tam_err *err) TAM_WUR;
/* Every certificate in a PEM text, in file order; at least one. */
/* Every CRL in data: one DER CRL, or PEM with one or more. */
int pki_crls_load(const uint8_t *data, size_t len, STACK_OF(X509_CRL) **out,
    struct tam_err *err) TAM_WUR;
int pki_certs_from_pem(const uint8_t *pem, size_t len, STACK_OF(X509) **out,
    struct tam_err *err) TAM_WUR;
/*
 * A single certificate from PEM or DER bytes (auto-detected); PEM holding
 * more than one certificate is TAM_EINVAL.
 */
int pki_cert_load(const uint8_t *data, size_t len, X509 **out,
    struct tam_err *err) TAM_WUR;
int pki_cert_to_der(X509 *cert, uint8_t **der, size_t *len,
    struct tam_err *err) TAM_WUR;
/* SHA-256 over the DER encoding. */
int pki_cert_sha256(X509 *cert, uint8_t out[32]) TAM_WUR;
/* Public key of the certificate as a jose key. */
int pki_cert_public_key(X509 *cert, struct jose_key **out,
    struct tam_err *err) TAM_WUR;
/*
 * TAM identity carried by a certificate: the first SAN URI, else the first
 * SAN dNSName, else the subject CN. TAM_ETOO_LARGE if it does not fit in
 * out; TAM_ECERT_INVALID if there is none or it holds control characters.
 */
int pki_cert_tamid(X509 *cert, char *out, size_t outlen, struct tam_err *err) TAM_WUR;
/* One-line RFC 2253 subject into out (truncated to fit). */
void pki_cert_subject(X509 *cert, char *out, size_t outlen);
void pki_cert_issuer(X509 *cert, char *out, size_t outlen);
/* notAfter in seconds since the epoch; 0 if unreadable. */
int64_t pki_cert_not_after(X509 *cert);
bool pki_cert_is_ca(X509 *cert);
bool pki_cert_is_self_signed(X509 *cert);

/* ---- trust anchors and chain validation ---- */

struct pki_trust;

int pki_trust_new(struct pki_trust **out, struct tam_err *err) TAM_WUR;
/*
 * Add one trust anchor (must be a CA certificate, else TAM_ECERT_INVALID).
 * Every anchor is trusted on its own, root or not: a store holding only
 * tee/ca.crt accepts TEE leaves but not SP leaves under the same root.
 */
int pki_trust_add(struct pki_trust *t, X509 *anchor, struct tam_err *err) TAM_WUR;
/*
 * Add a CRL. Once a store holds any, verification checks the leaf against
 * its issuer's CRL if the store has one (a revoked leaf is
 * TAM_ECERT_REVOKED); a CRL that is expired, not yet valid or not signed by
 * its issuer fails the chain (TAM_ECERT_INVALID); an issuer without a CRL
 * is not checked, nor are the CAs above the leaf.
 */
int pki_trust_add_crl(struct pki_trust *t, X509_CRL *crl, struct tam_err *err) TAM_WUR;
/*
 * The extendedKeyUsage OID (dotted numbers) a TEE leaf must list
 * (PKI_PURPOSE_TEE); NULL or "" requires none. TAM_EINVAL if not an OID.
 */
int pki_trust_set_tee_eku(struct pki_trust *t, const char *oid, struct tam_err *err) TAM_WUR;
/* The OpenSSL store behind t (anchors and CRLs), for other OpenSSL checks; borrowed. */
X509_STORE *pki_trust_store(const struct pki_trust *t);
/* Anchors and CRLs added. */
size_t pki_trust_count(const struct pki_trust *t);
size_t pki_trust_crl_count(const struct pki_trust *t);
void pki_trust_free(struct pki_trust *t);

/* What a leaf is checked for, beyond keyUsage digitalSignature. */
enum pki_purpose {
	PKI_PURPOSE_SIGNER,     /* signs messages (TAM, SP): nothing more */
	PKI_PURPOSE_TLS_CLIENT, /* a broker's TLS client: no extendedKeyUsage, or clientAuth */
	PKI_PURPOSE_TEE,        /* a TEE identity: no TLS extendedKeyUsage, and the store's
	                           TEE OID when set (pki_trust_set_tee_eku) */
};

/*
 * Validate leaf up to a trust anchor with X509_verify_cert: validity at
 * time now (0 = the current time), CA flags and path length, at most
 * TAM_MAX_CHAIN_CERTS certificates, security level 2 (>= 112-bit keys, no
 * SHA-1), a leaf key usage that includes digitalSignature, and the leaf's
 * revocation when the store holds its issuer's CRL (pki_trust_add_crl).
 * untrusted may be NULL. Errors: TAM_ECERT_EXPIRED (expired or not yet
 * valid anywhere in the chain), TAM_ECERT_REVOKED (listed by a CRL of its
 * issuer), TAM_ECERT_UNTRUSTED (no path to an
 * anchor, self-signed, unknown issuer, bad signature), TAM_ECERT_INVALID
 * (anything else: key usage, weak key, bad CA flags, path length, more
 * than TAM_MAX_CHAIN_CERTS - 1 untrusted certificates). A leaf without a
 * keyUsage extension is refused too, and so is a leaf that does not fit
 * purpose (TAM_ECERT_INVALID). The message names the OpenSSL reason and
 * the certificate subject. Safe to call from many threads at once.
 */
int pki_verify_chain(const struct pki_trust *t, X509 *leaf,
    STACK_OF(X509) *untrusted, int64_t now, enum pki_purpose purpose,
    struct tam_err *err) TAM_WUR;

/* ---- OCSP ---- */

/*
 * The TAM's staple: for each certificate of chain (the TAM certificate
 * first, then each intermediate), the one of the n DER OCSP responses that
 * names it (by serial and issuer name), says good and is current at now
 * (5 minutes of skew; a response without nextUpdate never is). *good gets a
 * new JSON array of the B64 of those that pass, in chain order. Returns
 * TAM_OK when every certificate has one; otherwise the first problem
 * (TAM_ECERT_EXPIRED stale or missing, TAM_ECERT_REVOKED, TAM_ECERT_UNTRUSTED
 * unknown status, TAM_EMALFORMED not an OCSP response), err naming it, and
 * *good still holds those that passed. The responder's signature is the
 * relying party's to check.
 */
int pki_ocsp_staple(STACK_OF(X509) *chain, const uint8_t *const *ders, const size_t *lens,
    size_t n, int64_t now, json_t **good, struct tam_err *err) TAM_WUR;
/*
 * A relying party's check of one DER OCSP response about cert (issued by
 * issuer): signed by the issuer or a delegated responder chaining to t
 * (untrusted may add certificates), naming cert, good, current at now.
 * Errors as pki_ocsp_staple, TAM_ECERT_UNTRUSTED for a bad signature.
 */
int pki_ocsp_check(const struct pki_trust *t, const uint8_t *der, size_t len, X509 *cert,
    X509 *issuer, STACK_OF(X509) *untrusted, int64_t now, struct tam_err *err) TAM_WUR;

/*
 * Read a private key file (TAM key, TLS key): refused with TAM_EINVAL unless
 * its mode grants nothing to group or others. *pem is malloc'd; wipe it
 * (tam_wipe) before freeing.
 */
int pki_private_file_read(const char *path, uint8_t **pem, size_t *len,
    struct tam_err *err) TAM_WUR;

/* ---- signer: a private key and its certificate chain ---- */

struct pki_signer;

/*
 * Load a private key file (refused with TAM_EINVAL unless its mode grants
 * nothing to group or others) and a PEM certificate chain, leaf first, each
 * certificate issued by the next (TAM_EINVAL otherwise). The leaf's public
 * key must match the private key (TAM_EINVAL). tamid NULL derives it with
 * pki_cert_tamid.
 */
int pki_signer_load(const char *key_path, const uint8_t *chain_pem, size_t chain_len,
    const char *tamid, struct pki_signer **out, struct tam_err *err) TAM_WUR;
/*
 * A signer from a private key alone (PEM or JWK, mode 0600), for peers that
 * know the TAM by a raw public key: no certificate, no chain, never an x5c
 * header (pki_signer_cert and pki_signer_chain are NULL).
 */
int pki_signer_load_raw(const char *key_path, const char *tamid, struct pki_signer **out,
    struct tam_err *err) TAM_WUR;
void pki_signer_free(struct pki_signer *s);

const char *pki_signer_tamid(const struct pki_signer *s);
/* JWS alg this signer uses: "RS256" or "ES256". */
const char *pki_signer_alg(const struct pki_signer *s);
/* Public half only; borrowed. */
const struct jose_key *pki_signer_public(const struct pki_signer *s);
/* Leaf certificate; borrowed. */
X509 *pki_signer_cert(const struct pki_signer *s);
/* Leaf + intermediates (self-signed roots left out), DER; borrowed. */
STACK_OF(X509) *pki_signer_chain(const struct pki_signer *s);
/* x5c array: standard base64 DER of leaf and intermediates; borrowed. */
const json_t *pki_signer_x5c(const struct pki_signer *s);

/*
 * Payloads sharing a long prefix (jose_jws_prefix): the prefix's part of the
 * work done once for this signer's alg, then one flattened JWS per tail,
 * with x5c when the signer has a certificate and "payload" left "": it is
 * jose_jws_prefix_head followed by *tail_b64 (otrp_wrap_request_payload).
 */
int pki_signer_prefix_new(const struct pki_signer *s, const uint8_t *prefix, size_t len,
    struct jose_jws_prefix **out, struct tam_err *err) TAM_WUR;
/* The same for a prefix fed in pieces (jose_jws_prefix_begin). */
int pki_signer_prefix_begin(const struct pki_signer *s, struct jose_jws_prefix **out,
    struct tam_err *err) TAM_WUR;
int pki_signer_sign_prefixed(const struct pki_signer *s, const struct jose_jws_prefix *p,
    const uint8_t *tail, size_t tail_len, json_t **jws, char **tail_b64,
    struct tam_err *err) TAM_WUR;

/*
 * Flattened JWS over payload with the signer's alg. protected_extra as in
 * jose_jws_sign; with_x5c puts {"x5c": [...]} in the unprotected header.
 */
int pki_signer_sign(const struct pki_signer *s, const json_t *protected_extra,
    bool with_x5c, const uint8_t *payload, size_t len, json_t **out,
    struct tam_err *err) TAM_WUR;
/* jose_jwe_decrypt with the signer's private key. */
int pki_signer_decrypt(const struct pki_signer *s, const json_t *jwe, uint8_t **pt,
    size_t *len, struct tam_err *err) TAM_WUR;

#endif
