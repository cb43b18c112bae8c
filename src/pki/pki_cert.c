// SPDX-License-Identifier: MIT
/*
 * Certificates as values: parse PEM and DER (bounded, no trailing bytes, no
 * password prompts), encode, hash, and read the identities other modules
 * need (public key, TAM id, subject, expiry, CA and self-signed flags).
 * Nothing here decides trust; that is pki_trust.c.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tam/limits.h"
#include "tam/pki.h"

int
pki_cert_from_der(const uint8_t *der, size_t len, X509 **out, struct tam_err *err)
{
	const unsigned char *p = der;
	X509 *x;

	*out = NULL;
	if (len == 0)
		return tam_err_set(err, TAM_EMALFORMED, "certificate: empty");
	if (len > TAM_MAX_CERT_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, "certificate: %zu bytes, limit %u",
		    len, (unsigned)TAM_MAX_CERT_BYTES);
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL) {
		ERR_clear_error();
		return tam_err_set(err, TAM_EMALFORMED, "certificate: not a DER X.509 certificate");
	}
	if (p != der + len) {
		X509_free(x);
		return tam_err_set(err, TAM_EMALFORMED, "certificate: %zu trailing bytes",
		    len - (size_t)(p - der));
	}
	*out = x;
	return TAM_OK;
}

int
pki_certs_from_pem(const uint8_t *pem, size_t len, STACK_OF(X509) **out, struct tam_err *err)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = NULL;
	X509 *x;
	unsigned long e;
	const char *why;
	int rc = TAM_OK;

	*out = NULL;
	if (len == 0)
		return tam_err_set(err, TAM_EMALFORMED, "PEM: empty");
	if (len > TAM_MAX_PEM_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, "PEM: %zu bytes, limit %u", len,
		    (unsigned)TAM_MAX_PEM_BYTES);
	ERR_clear_error();
	bio = BIO_new_mem_buf(pem, (int)len);
	sk = sk_X509_new_null();
	if (bio == NULL || sk == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "PEM: out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, tam_pem_no_password, NULL)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			rc = tam_err_set(err, TAM_ENOMEM, "PEM: out of memory");
			goto out;
		}
	}
	/* The loop always ends on an error; only "no more PEM blocks" is clean. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		why = ERR_reason_error_string(e);
		rc = tam_err_set(err, TAM_EMALFORMED, "PEM: certificate %d unreadable: %s",
		    sk_X509_num(sk) + 1, why != NULL ? why : "unknown error");
		goto out;
	}
	if (sk_X509_num(sk) == 0) {
		rc = tam_err_set(err, TAM_EMALFORMED, "PEM: no certificate");
		goto out;
	}
	*out = sk;
	sk = NULL;
out:
	ERR_clear_error();
	sk_X509_pop_free(sk, X509_free);
	BIO_free(bio);
	return rc;
}

int
pki_crls_load(const uint8_t *data, size_t len, STACK_OF(X509_CRL) **out, struct tam_err *err)
{
	STACK_OF(X509_CRL) *sk = NULL;
	const uint8_t *p = data;
	X509_CRL *c = NULL;
	BIO *bio = NULL;
	unsigned long e;
	int rc = TAM_OK;

	*out = NULL;
	if (len == 0 || len > TAM_MAX_PEM_BYTES)
		return tam_err_set(err, len == 0 ? TAM_EMALFORMED : TAM_ETOO_LARGE,
		    "CRL: %zu bytes (1 to %u)", len, (unsigned)TAM_MAX_PEM_BYTES);
	ERR_clear_error();
	if ((sk = sk_X509_CRL_new_null()) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "CRL: out of memory");
		goto out;
	}
	/* DER starts with a SEQUENCE tag, as for certificates; anything else is PEM. */
	if (data[0] == 0x30) {
		if ((c = d2i_X509_CRL(NULL, &p, (long)len)) == NULL || p != data + len) {
			rc = tam_err_set(err, TAM_EMALFORMED, "CRL: not one DER CRL");
			goto out;
		}
		if (sk_X509_CRL_push(sk, c) <= 0) {
			rc = tam_err_set(err, TAM_ENOMEM, "CRL: out of memory");
			goto out;
		}
		c = NULL;
	} else {
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "CRL: out of memory");
			goto out;
		}
		while ((c = PEM_read_bio_X509_CRL(bio, NULL, tam_pem_no_password, NULL)) != NULL) {
			if (sk_X509_CRL_push(sk, c) <= 0) {
				rc = tam_err_set(err, TAM_ENOMEM, "CRL: out of memory");
				goto out;
			}
			c = NULL;
		}
		e = ERR_peek_last_error();
		if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE ||
		    sk_X509_CRL_num(sk) == 0) {
			rc = tam_err_set(err, TAM_EMALFORMED, "CRL: %d unreadable or none",
			    sk_X509_CRL_num(sk) + 1);
			goto out;
		}
	}
	*out = sk;
	sk = NULL;
out:
	ERR_clear_error();
	X509_CRL_free(c);
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	BIO_free(bio);
	return rc;
}

int
pki_cert_load(const uint8_t *data, size_t len, X509 **out, struct tam_err *err)
{
	STACK_OF(X509) *sk = NULL;
	int rc;

	*out = NULL;
	/* DER starts with a SEQUENCE tag; PEM text never does (0x30 is '0'). */
	if (len > 0 && data[0] == 0x30)
		return pki_cert_from_der(data, len, out, err);
	if ((rc = pki_certs_from_pem(data, len, &sk, err)) != TAM_OK)
		return rc;
	if (sk_X509_num(sk) != 1) {
		rc = tam_err_set(err, TAM_EINVAL, "PEM holds %d certificates, expected one",
		    sk_X509_num(sk));
		goto out;
	}
	*out = sk_X509_shift(sk);
out:
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int
pki_cert_to_der(X509 *cert, uint8_t **der, size_t *len, struct tam_err *err)
{
	unsigned char *buf, *p;
	int n;

	*der = NULL;
	*len = 0;
	n = i2d_X509(cert, NULL);
	if (n <= 0) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ECRYPTO, "certificate: cannot encode as DER");
	}
	buf = malloc((size_t)n);
	if (buf == NULL)
		return tam_err_set(err, TAM_ENOMEM, "certificate: out of memory");
	p = buf;
	if (i2d_X509(cert, &p) != n) {
		ERR_clear_error();
		free(buf);
		return tam_err_set(err, TAM_ECRYPTO, "certificate: cannot encode as DER");
	}
	*der = buf;
	*len = (size_t)n;
	return TAM_OK;
}

int
pki_cert_sha256(X509 *cert, uint8_t out[32])
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	if ((rc = pki_cert_to_der(cert, &der, &len, NULL)) != TAM_OK)
		return rc;
	tam_sha256(der, len, out);
	free(der);
	return TAM_OK;
}

int
pki_cert_public_key(X509 *cert, struct jose_key **out, struct tam_err *err)
{
	EVP_PKEY *pk;
	char subj[128];

	*out = NULL;
	pk = X509_get0_pubkey(cert);
	if (pk == NULL) {
		ERR_clear_error();
		pki_cert_subject(cert, subj, sizeof(subj));
		return tam_err_set(err, TAM_ECERT_INVALID, "certificate %s: unreadable public key",
		    subj);
	}
	return jose_key_from_evp(pk, out, err);
}

/*
 * Copy one identity string out of the certificate. It ends up in logs, JSON
 * and SD records, so control characters (and embedded NULs) are refused.
 */
static int
copy_id(const unsigned char *s, int len, const char *what, char *out, size_t outlen,
    struct tam_err *err)
{
	if (len <= 0)
		return tam_err_set(err, TAM_ECERT_INVALID, "TAM identity: empty %s", what);
	for (int i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return tam_err_set(err, TAM_ECERT_INVALID,
			    "TAM identity: control character in %s", what);
	if ((size_t)len >= outlen)
		return tam_err_set(err, TAM_ETOO_LARGE, "TAM identity: %s of %d bytes, room for %zu",
		    what, len, outlen ? outlen - 1 : 0);
	memcpy(out, s, (size_t)len);
	out[len] = '\0';
	return TAM_OK;
}

int
pki_cert_tamid(X509 *cert, char *out, size_t outlen, struct tam_err *err)
{
	static const struct {
		int type;          /* GEN_* tag, in order of preference */
		const char *what;  /* name for messages */
	} pref[] = { { GEN_URI, "SAN URI" }, { GEN_DNS, "SAN dNSName" } };
	GENERAL_NAMES *gens;
	X509_NAME *name;
	unsigned char *utf8 = NULL;
	int crit = -1, idx, n, rc;

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ECERT_INVALID,
		    "TAM identity: subjectAltName is malformed or repeated");
	}
	for (size_t p = 0; gens != NULL && p < sizeof(pref) / sizeof(pref[0]); p++) {
		for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
			const ASN1_STRING *s;
			int type;

			s = GENERAL_NAME_get0_value(g, &type);
			if (type != pref[p].type)
				continue;
			rc = copy_id(ASN1_STRING_get0_data(s), ASN1_STRING_length(s), pref[p].what,
			    out, outlen, err);
			GENERAL_NAMES_free(gens);
			return rc;
		}
	}
	GENERAL_NAMES_free(gens);
	name = X509_get_subject_name(cert);
	idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	if (idx < 0)
		return tam_err_set(err, TAM_ECERT_INVALID,
		    "TAM identity: no SAN URI, SAN dNSName or subject CN");
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (n < 0) {
		ERR_clear_error();
		return tam_err_set(err, TAM_ECERT_INVALID, "TAM identity: unreadable subject CN");
	}
	rc = copy_id(utf8, n, "subject CN", out, outlen, err);
	OPENSSL_free(utf8);
	return rc;
}

static void
name_text(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b;
	int n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return;
	/* RFC 2253 flags escape control and non-ASCII bytes, so the text is log-safe. */
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_read(b, out, outlen - 1 > INT_MAX ? INT_MAX : (int)(outlen - 1));
		if (n > 0)
			out[n] = '\0';
	}
	BIO_free(b);
	ERR_clear_error();
}

void
pki_cert_subject(X509 *cert, char *out, size_t outlen)
{
	name_text(X509_get_subject_name(cert), out, outlen);
}

void
pki_cert_issuer(X509 *cert, char *out, size_t outlen)
{
	name_text(X509_get_issuer_name(cert), out, outlen);
}

int64_t
pki_cert_not_after(X509 *cert)
{
	const ASN1_TIME *t = X509_get0_notAfter(cert);
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return 0;
	}
	return (int64_t)timegm(&tm);
}

bool
pki_cert_is_ca(X509 *cert)
{
	/* 1 = basicConstraints CA:TRUE and, if keyUsage is present, keyCertSign. */
	return X509_check_ca(cert) == 1;
}

bool
pki_cert_is_self_signed(X509 *cert)
{
	int r = X509_self_signed(cert, 0);

	if (r < 0)
		ERR_clear_error();
	return r == 1;
}
