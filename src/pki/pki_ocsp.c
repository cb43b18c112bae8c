// SPDX-License-Identifier: MIT
/*
 * OCSP responses, from both ends. The TAM staples them: it orders the DER
 * responses an operator provides for its chain and checks each one names a
 * certificate of that chain, says good, and is current (it cannot check the
 * responder's signature: the root that signs the top intermediate's
 * response is not part of its chain; the relying party does that). A
 * relying party (a TEE; our mock) checks one fully: the responder's
 * signature up to its anchors, the certificate's status, the dates.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "tam/pki.h"
#include "tam/util.h"

/* Clock skew tolerated around thisUpdate and nextUpdate. */
#define OCSP_SKEW_SECONDS 300

static OCSP_BASICRESP *
basic_of(const uint8_t *der, size_t len, struct tam_err *err)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs = NULL;

	if (len == 0 || len > INT_MAX ||
	    (r = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL)
		goto bad;
	if (p != der + len) {
		OCSP_RESPONSE_free(r);
		goto bad;
	}
	if (OCSP_response_status(r) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		tam_err_set(err, TAM_EMALFORMED, "OCSP response status is %s",
		    OCSP_response_status_str(OCSP_response_status(r)));
	else if ((bs = OCSP_response_get1_basic(r)) == NULL)
		tam_err_set(err, TAM_EMALFORMED, "OCSP response has no basic response");
	OCSP_RESPONSE_free(r);
	ERR_clear_error();
	return bs;
bad:
	ERR_clear_error();
	tam_err_set(err, TAM_EMALFORMED, "not one DER OCSP response");
	return NULL;
}

/* Seconds since the epoch of an ASN1_TIME; -1 if it cannot be read. */
static int64_t
time_of(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* Good, revoked, unknown; and is it current at now? */
static int
judge(int status, const ASN1_GENERALIZEDTIME *thisupd, const ASN1_GENERALIZEDTIME *nextupd,
    int64_t now, const char *subj, struct tam_err *err)
{
	int64_t t = time_of(thisupd), n = time_of(nextupd);

	if (status == V_OCSP_CERTSTATUS_REVOKED)
		return tam_err_set(err, TAM_ECERT_REVOKED, "OCSP: %s is revoked", subj);
	if (status != V_OCSP_CERTSTATUS_GOOD)
		return tam_err_set(err, TAM_ECERT_UNTRUSTED, "OCSP: the status of %s is unknown", subj);
	/* A response without nextUpdate is never known to be current: refused. */
	if (t < 0 || n < 0)
		return tam_err_set(err, TAM_ECERT_EXPIRED, "OCSP: the response for %s has no "
		    "readable %s", subj, t < 0 ? "thisUpdate" : "nextUpdate");
	if (now + OCSP_SKEW_SECONDS < t)
		return tam_err_set(err, TAM_ECERT_EXPIRED, "OCSP: the response for %s is not yet "
		    "valid", subj);
	if (now - OCSP_SKEW_SECONDS > n)
		return tam_err_set(err, TAM_ECERT_EXPIRED, "OCSP: the response for %s expired %lld "
		    "seconds ago", subj, (long long)(now - n));
	return TAM_OK;
}

/*
 * The single response of bs about cert, matched by serial number and the
 * hash of its issuer's name (the issuer's key is not at hand on the
 * stapling side); -1 if there is none.
 */
static int
find_single(OCSP_BASICRESP *bs, X509 *cert)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	for (int i = 0; i < OCSP_resp_count(bs); i++) {
		OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
		const OCSP_CERTID *id = OCSP_SINGLERESP_get0_id(s);
		ASN1_OCTET_STRING *name_hash = NULL;
		ASN1_OBJECT *alg = NULL;
		ASN1_INTEGER *sn = NULL;
		const EVP_MD *dgst;

		if (OCSP_id_get0_info(&name_hash, &alg, NULL, &sn, (OCSP_CERTID *)id) != 1 ||
		    ASN1_INTEGER_cmp(sn, serial) != 0)
			continue;
		dgst = EVP_get_digestbyobj(alg);
		if (dgst == NULL || X509_NAME_digest(X509_get_issuer_name(cert), dgst, md, &mdlen) != 1)
			continue;
		if ((size_t)ASN1_STRING_length(name_hash) == mdlen &&
		    memcmp(ASN1_STRING_get0_data(name_hash), md, mdlen) == 0)
			return i;
	}
	return -1;
}

/* Keep the first problem: its code is returned, its message must match. */
static void
note_problem(struct tam_err *first, const struct tam_err *e)
{
	if (first->code == TAM_OK)
		*first = *e;
}

int
pki_ocsp_staple(STACK_OF(X509) *chain, const uint8_t *const *ders, const size_t *lens, size_t n,
    int64_t now, json_t **good, struct tam_err *err)
{
	struct tam_err first = { 0 }, e = { 0 };
	OCSP_BASICRESP **bs = NULL;
	char subj[128];

	*good = json_array();
	bs = calloc(n + 1, sizeof(*bs));
	if (*good == NULL || bs == NULL) {
		free(bs);
		json_decref(*good);
		*good = NULL;
		return tam_err_set(err, TAM_ENOMEM, "OCSP: out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if ((bs[i] = basic_of(ders[i], lens[i], &e)) == NULL)
			note_problem(&first, &e);
	/* In chain order: the TAM certificate, then each intermediate up. */
	for (int c = 0; c < sk_X509_num(chain); c++) {
		X509 *cert = sk_X509_value(chain, c);
		struct tam_err why = { 0 };
		int64_t best_this = -1;
		size_t best = n;
		char *b64 = NULL;

		pki_cert_subject(cert, subj, sizeof(subj));
		/*
		 * Of several responses for it (old and new files side by side), the
		 * newest good one; none if any says revoked.
		 */
		for (size_t i = 0; i < n; i++) {
			ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
			int at, status, reason;

			if (bs[i] == NULL || (at = find_single(bs[i], cert)) < 0)
				continue;
			status = OCSP_single_get0_status(OCSP_resp_get0(bs[i], at), &reason, &rev,
			    &thisupd, &nextupd);
			if (judge(status, thisupd, nextupd, now, subj, &e) != TAM_OK) {
				/* A revocation outweighs any good answer beside it. */
				if (why.code != TAM_ECERT_REVOKED)
					why = e;
				continue;
			}
			if (time_of(thisupd) > best_this) {
				best_this = time_of(thisupd);
				best = i;
			}
		}
		if (best == n || why.code == TAM_ECERT_REVOKED) {
			if (why.code == TAM_OK)
				tam_err_set(&why, TAM_ECERT_EXPIRED, "OCSP: no response for %s", subj);
			note_problem(&first, &why);
			continue;
		}
		if (tam_b64_encode(ders[best], lens[best], &b64) != TAM_OK ||
		    json_array_append_new(*good, json_string(b64)) != 0) {
			free(b64);
			tam_err_set(&e, TAM_ENOMEM, "OCSP: out of memory");
			note_problem(&first, &e);
			break;
		}
		free(b64);
	}
	for (size_t i = 0; i < n; i++)
		OCSP_BASICRESP_free(bs[i]);
	free(bs);
	ERR_clear_error();
	if (first.code != TAM_OK && err != NULL)
		*err = first;
	return first.code;
}

int
pki_ocsp_check(const struct pki_trust *t, const uint8_t *der, size_t len, X509 *cert,
    X509 *issuer, STACK_OF(X509) *untrusted, int64_t now, struct tam_err *err)
{
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id = NULL;
	ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
	int status, reason, rc;
	char subj[128];

	pki_cert_subject(cert, subj, sizeof(subj));
	if ((bs = basic_of(der, len, err)) == NULL)
		return err != NULL ? err->code : TAM_EMALFORMED;
	/* Signed by the issuer itself or by a responder it delegated to, chaining to an anchor. */
	if (OCSP_basic_verify(bs, untrusted, pki_trust_store(t), 0) != 1) {
		rc = tam_err_set(err, TAM_ECERT_UNTRUSTED, "OCSP: the response for %s is not signed "
		    "by its issuer or a delegated responder", subj);
		goto out;
	}
	if ((id = OCSP_cert_to_id(NULL, cert, issuer)) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "OCSP: out of memory");
		goto out;
	}
	if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) != 1) {
		rc = tam_err_set(err, TAM_ECERT_UNTRUSTED, "OCSP: the response does not name %s", subj);
		goto out;
	}
	rc = judge(status, thisupd, nextupd, now, subj, err);
out:
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	ERR_clear_error();
	return rc;
}
