// SPDX-License-Identifier: MIT
/*
 * Trust anchors and chain validation. OpenSSL's defaults accept weak keys,
 * SHA-1 and any key usage (shared/deps-notes.md §3), so every call sets the
 * auth level, strict mode, depth and time itself and then checks the leaf's
 * keyUsage. The store is filled at startup and only read afterwards, so one
 * store serves every thread; each call gets its own X509_STORE_CTX.
 */
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tam/limits.h"
#include "tam/pki.h"

/* Security level 2: RSA/DH >= 2048 bits, EC >= 224 bits, no SHA-1 signatures. */
#define PKI_AUTH_LEVEL 2

struct pki_trust {
	X509_STORE *store;  /* trust anchors and CRLs; owned; read-only once verification starts */
	bool crls;          /* any: revocation is checked wherever a CRL is published */
	ASN1_OBJECT *tee_eku; /* extendedKeyUsage a TEE leaf must list; NULL: none required */
};

int
pki_trust_new(struct pki_trust **out, struct tam_err *err)
{
	struct pki_trust *t;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return tam_err_set(err, TAM_ENOMEM, "trust store: out of memory");
	t->store = X509_STORE_new();
	if (t->store == NULL) {
		free(t);
		ERR_clear_error();
		return tam_err_set(err, TAM_ENOMEM, "trust store: out of memory");
	}
	*out = t;
	return TAM_OK;
}

int
pki_trust_add(struct pki_trust *t, X509 *anchor, struct tam_err *err)
{
	char subj[128];

	pki_cert_subject(anchor, subj, sizeof(subj));
	/*
	 * Every anchor is trusted on its own (partial chains), so a leaf in
	 * the store would validate itself: only CA certificates may enter.
	 */
	if (!pki_cert_is_ca(anchor))
		return tam_err_set(err, TAM_ECERT_INVALID,
		    "certificate %s: not a CA certificate, cannot be a trust anchor", subj);
	if (X509_STORE_add_cert(t->store, anchor) != 1) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ENOMEM, "certificate %s: cannot add to the trust store",
		    subj);
	}
	return TAM_OK;
}

int
pki_trust_add_crl(struct pki_trust *t, X509_CRL *crl, struct tam_err *err)
{
	/* Its signature and dates are checked when a chain is, against the issuing CA. */
	if (X509_STORE_add_crl(t->store, crl) != 1) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ENOMEM, "cannot add a CRL to the trust store");
	}
	t->crls = true;
	return TAM_OK;
}

/* Objects of one type in the store (it keeps one of each, however often added). */
static size_t
count_objects(const struct pki_trust *t, X509_LOOKUP_TYPE type)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(t->store);
	size_t n = 0;

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
		n += X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == type;
	return n;
}

X509_STORE *
pki_trust_store(const struct pki_trust *t)
{
	return t->store;
}

size_t
pki_trust_count(const struct pki_trust *t)
{
	return count_objects(t, X509_LU_X509);
}

size_t
pki_trust_crl_count(const struct pki_trust *t)
{
	return count_objects(t, X509_LU_CRL);
}

void
pki_trust_free(struct pki_trust *t)
{
	if (t == NULL)
		return;
	X509_STORE_free(t->store);
	ASN1_OBJECT_free(t->tee_eku);
	free(t);
}

int
pki_trust_set_tee_eku(struct pki_trust *t, const char *oid, struct tam_err *err)
{
	ASN1_OBJECT *o = NULL;

	/* Dotted numbers only (no_name = 1): a short name could mean another OID tomorrow. */
	if (oid != NULL && oid[0] != '\0' && (o = OBJ_txt2obj(oid, 1)) == NULL) {
		ERR_clear_error();
		return tam_err_set(err, TAM_EINVAL, "TEE extendedKeyUsage \"%.64s\": not an OID", oid);
	}
	ASN1_OBJECT_free(t->tee_eku);
	t->tee_eku = o;
	return TAM_OK;
}

/* OpenSSL verify error -> our code, as pki.h promises. */
static int
map_verify_error(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_REVOKED:
		return TAM_ECERT_REVOKED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TAM_ECERT_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_SUBJECT_ISSUER_MISMATCH:
	case X509_V_ERR_AKID_SKID_MISMATCH:
	case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH:
		/* no provable path from the leaf to an anchor */
		return TAM_ECERT_UNTRUSTED;
	case X509_V_ERR_OUT_OF_MEM:
		return TAM_ENOMEM;
	default:
		/* key size, digest, CA flags, path length, strict-mode findings */
		return TAM_ECERT_INVALID;
	}
}

/*
 * With CRLs loaded, the leaf is checked against its issuer's CRL when that
 * issuer published one; an issuer without a CRL is not checked (there is
 * nothing to check against), but a CRL that is present must be valid. Only
 * the leaf: with partial chains the top of a chain is a role CA trusted on
 * its own, and a CRL of its issuer could not be verified there.
 */
static int
crl_where_published(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return ok;
}

/* Does the leaf's extendedKeyUsage list oid? */
static bool
eku_lists(X509 *leaf, const ASN1_OBJECT *oid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, NULL, NULL);
	bool found = false;

	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku) && !found; i++)
		found = OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), oid) == 0;
	EXTENDED_KEY_USAGE_free(eku);
	ERR_clear_error();
	return found;
}

/*
 * What the leaf may be used for, beyond the chain: keyUsage must include
 * digitalSignature for every purpose (X509_verify_cert checks key usage
 * only for an OpenSSL purpose, which we do not set). A TLS client needs no
 * extendedKeyUsage or one listing clientAuth (anyExtendedKeyUsage alone is
 * not enough). A TEE identity never names a TLS purpose (a broker's or a
 * server's certificate is never a device) and must list the configured TEE
 * OID when there is one.
 */
static int
leaf_fits(const struct pki_trust *t, X509 *leaf, enum pki_purpose purpose, struct tam_err *err)
{
	uint32_t flags = X509_get_extension_flags(leaf);
	uint32_t xku = X509_get_extended_key_usage(leaf);
	bool has_eku = (flags & EXFLAG_XKUSAGE) != 0;
	const char *why = NULL;
	char subj[128];

	if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
		why = (flags & EXFLAG_KUSAGE) ? "keyUsage lacks digitalSignature" :
		    "keyUsage absent, needs digitalSignature";
	else if (purpose == PKI_PURPOSE_TLS_CLIENT && has_eku && !(xku & XKU_SSL_CLIENT))
		why = "extendedKeyUsage lacks clientAuth: not a TLS client certificate";
	else if (purpose == PKI_PURPOSE_TEE && has_eku &&
	    (xku & (XKU_SSL_CLIENT | XKU_SSL_SERVER | XKU_ANYEKU)))
		why = "extendedKeyUsage names TLS (clientAuth, serverAuth or any): not a TEE identity";
	else if (purpose == PKI_PURPOSE_TEE && t->tee_eku != NULL && !eku_lists(leaf, t->tee_eku))
		why = "extendedKeyUsage lacks the TEE OID (trust.tee_eku): not a TEE identity";
	if (why == NULL)
		return TAM_OK;
	pki_cert_subject(leaf, subj, sizeof(subj));
	return tam_err_set(err, TAM_ECERT_INVALID, "certificate %s: %s", subj, why);
}

int
pki_verify_chain(const struct pki_trust *t, X509 *leaf, STACK_OF(X509) *untrusted,
    int64_t now, enum pki_purpose purpose, struct tam_err *err)
{
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	X509 *bad;
	char subj[128];
	int rc = TAM_OK, r, verr;

	if (untrusted != NULL && sk_X509_num(untrusted) >= TAM_MAX_CHAIN_CERTS) {
		pki_cert_subject(leaf, subj, sizeof(subj));
		return tam_err_set(err, TAM_ECERT_INVALID,
		    "certificate %s: %d extra certificates, at most %d allowed", subj,
		    sk_X509_num(untrusted), TAM_MAX_CHAIN_CERTS - 1);
	}
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "chain validation: out of memory");
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, t->store, leaf, untrusted) != 1) {
		rc = tam_err_set(err, TAM_ENOMEM, "chain validation: cannot set up a context");
		goto out;
	}
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_auth_level(vp, PKI_AUTH_LEVEL);
	/* The depth counts intermediates only: the leaf and the anchor come on top. */
	X509_VERIFY_PARAM_set_depth(vp, TAM_MAX_CHAIN_CERTS - 2);
	/* Partial chains: a role CA (tee/ca.crt) can be trusted without its root. */
	if (X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN |
	    (t->crls ? X509_V_FLAG_CRL_CHECK : 0)) != 1) {
		rc = tam_err_set(err, TAM_ECRYPTO, "chain validation: cannot set flags");
		goto out;
	}
	if (now != 0)
		X509_VERIFY_PARAM_set_time(vp, (time_t)now);
	if (t->crls)
		X509_STORE_CTX_set_verify_cb(ctx, crl_where_published);
	r = X509_verify_cert(ctx);
	if (r != 1) {
		verr = X509_STORE_CTX_get_error(ctx);
		if (verr == X509_V_OK) {
			rc = tam_err_set(err, TAM_ECRYPTO, "chain validation: internal error");
			goto out;
		}
		bad = X509_STORE_CTX_get_current_cert(ctx);
		pki_cert_subject(bad != NULL ? bad : leaf, subj, sizeof(subj));
		rc = tam_err_set(err, map_verify_error(verr), "certificate %s: %s (depth %d)",
		    subj, X509_verify_cert_error_string(verr), X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	rc = leaf_fits(t, leaf, purpose, err);
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}
