// SPDX-License-Identifier: MIT
/*
 * The signer: the only object in the process that holds the TAM private key.
 * It loads the key (refusing files others could read), checks it against
 * the certificate chain, and then can only sign JWS and decrypt JWE. Callers
 * get the public half, the certificates and the x5c array, never key bytes,
 * so the key can later move into its own process or an HSM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tam/limits.h"
#include "tam/pki.h"

/* Longest TAM identity we keep, with its NUL. */
#define PKI_TAMID_MAX 256

struct pki_signer {
	struct jose_key *key;       /* private key; owned; never handed out */
	struct jose_key *pub;       /* public half, from the leaf certificate; owned */
	X509 *cert;                 /* leaf; owned reference */
	STACK_OF(X509) *chain;      /* leaf + intermediates, no self-signed root; owned */
	json_t *x5c;                /* array of standard base64 DER, same order; owned */
	const char *alg;            /* "RS256" or "ES256"; static string from jose */
	char tamid[PKI_TAMID_MAX];  /* TAM identity, NUL-terminated */
};

/*
 * The mode is checked on the opened descriptor and the path must still name
 * that file after the read, so the checked file is the one returned.
 */
int
pki_private_file_read(const char *path, uint8_t **pem, size_t *len, struct tam_err *err)
{
	struct stat st, again;
	int fd, rc;

	*pem = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tam_err_set(err, errno == ENOENT ? TAM_ENOTFOUND : TAM_EIO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tam_err_set(err, TAM_EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = tam_err_set(err, TAM_EINVAL,
		    "%s: private key has mode %04o, must be mode 0600 (no group or other access)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((rc = tam_file_read(path, TAM_MAX_PEM_BYTES, pem, len, err)) != TAM_OK)
		goto out;
	if (stat(path, &again) != 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
		tam_wipe(*pem, *len);
		free(*pem);
		*pem = NULL;
		*len = 0;
		rc = tam_err_set(err, TAM_EIO, "%s: replaced while being read", path);
	}
out:
	close(fd);
	return rc;
}

/* A private key file, parsed; the PEM text is wiped as soon as it is parsed. */
static int
signer_load_key(const char *path, struct jose_key **out, struct tam_err *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = pki_private_file_read(path, &pem, &len, err)) != TAM_OK)
		return rc;
	/* A JWK is a JSON object; anything else is read as PEM. */
	size_t i = 0;
	while (i < len && (pem[i] == ' ' || pem[i] == '\t' || pem[i] == '\n' || pem[i] == '\r'))
		i++;
	rc = i < len && pem[i] == '{' ? jose_key_from_jwk((const char *)pem, len, out, err) :
	    jose_key_from_pem(pem, len, out, err);
	if (rc != TAM_OK)
		goto out;
	if (!jose_key_is_private(*out)) {
		jose_key_free(*out);
		*out = NULL;
		rc = tam_err_set(err, TAM_EINVAL, "%s: holds no private key", path);
	}
out:
	tam_wipe(pem, len);
	free(pem);
	return rc;
}

/*
 * Keep the leaf and its intermediates in order (each issued the one before),
 * leave self-signed roots out, and encode them once as the x5c array.
 */
static int
signer_build_chain(struct pki_signer *s, STACK_OF(X509) *certs, struct tam_err *err)
{
	char subj[128];
	X509 *c, *prev = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	char *b64 = NULL;
	int rc = TAM_OK;

	s->chain = sk_X509_new_null();
	s->x5c = json_array();
	if (s->chain == NULL || s->x5c == NULL)
		return tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
	for (int i = 0; i < sk_X509_num(certs); i++) {
		c = sk_X509_value(certs, i);
		if (i > 0 && pki_cert_is_self_signed(c))
			continue;
		pki_cert_subject(c, subj, sizeof(subj));
		if (prev != NULL && X509_check_issued(c, prev) != X509_V_OK) {
			rc = tam_err_set(err, TAM_EINVAL,
			    "signer chain: %s did not issue the certificate before it", subj);
			goto out;
		}
		if (sk_X509_num(s->chain) >= TAM_MAX_CHAIN_CERTS) {
			rc = tam_err_set(err, TAM_ETOO_LARGE,
			    "signer chain: more than %d certificates", TAM_MAX_CHAIN_CERTS);
			goto out;
		}
		if ((rc = pki_cert_to_der(c, &der, &len, err)) != TAM_OK)
			goto out;
		if (tam_b64_encode(der, len, &b64) != TAM_OK ||
		    json_array_append_new(s->x5c, json_string(b64)) != 0) {
			rc = tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
			goto out;
		}
		if (X509_up_ref(c) != 1) {
			rc = tam_err_set(err, TAM_ECRYPTO, "signer: cannot reference %s", subj);
			goto out;
		}
		if (sk_X509_push(s->chain, c) <= 0) {
			X509_free(c);
			rc = tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
			goto out;
		}
		free(der);
		free(b64);
		der = NULL;
		b64 = NULL;
		prev = c;
	}
out:
	free(der);
	free(b64);
	return rc;
}

int
pki_signer_load(const char *key_path, const uint8_t *chain_pem, size_t chain_len,
    const char *tamid, struct pki_signer **out, struct tam_err *err)
{
	struct pki_signer *s;
	STACK_OF(X509) *certs = NULL;
	char subj[128];
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
	if ((rc = signer_load_key(key_path, &s->key, err)) != TAM_OK)
		goto out;
	if ((rc = pki_certs_from_pem(chain_pem, chain_len, &certs, err)) != TAM_OK)
		goto out;
	s->cert = sk_X509_value(certs, 0);
	if (X509_up_ref(s->cert) != 1) {
		s->cert = NULL;
		rc = tam_err_set(err, TAM_ECRYPTO, "signer: cannot reference the leaf");
		goto out;
	}
	if ((rc = pki_cert_public_key(s->cert, &s->pub, err)) != TAM_OK)
		goto out;
	if (!jose_key_equal_public(s->key, s->pub)) {
		pki_cert_subject(s->cert, subj, sizeof(subj));
		rc = tam_err_set(err, TAM_EINVAL, "%s does not match certificate %s", key_path,
		    subj);
		goto out;
	}
	if ((rc = signer_build_chain(s, certs, err)) != TAM_OK)
		goto out;
	s->alg = jose_key_sig_alg(s->key);
	if (s->alg == NULL) {
		rc = tam_err_set(err, TAM_EALG, "%s: no signature algorithm for this key type",
		    key_path);
		goto out;
	}
	if (tamid == NULL)
		rc = pki_cert_tamid(s->cert, s->tamid, sizeof(s->tamid), err);
	else if (tamid[0] == '\0' || tam_strlcpy_checked(s->tamid, tamid, sizeof(s->tamid)) != TAM_OK)
		rc = tam_err_set(err, TAM_EINVAL, "tamid must be 1 to %d bytes", PKI_TAMID_MAX - 1);
	if (rc != TAM_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	sk_X509_pop_free(certs, X509_free);
	pki_signer_free(s);
	return rc;
}

int
pki_signer_load_raw(const char *key_path, const char *tamid, struct pki_signer **out,
    struct tam_err *err)
{
	struct pki_signer *s;
	int rc;

	*out = NULL;
	if (tamid == NULL || tamid[0] == '\0')
		return tam_err_set(err, TAM_EINVAL, "a signer without a certificate needs a tamid");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
	if ((rc = signer_load_key(key_path, &s->key, err)) != TAM_OK ||
	    (rc = jose_key_public(s->key, &s->pub, err)) != TAM_OK)
		goto out;
	if ((s->x5c = json_array()) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
		goto out;
	}
	if ((s->alg = jose_key_sig_alg(s->key)) == NULL) {
		rc = tam_err_set(err, TAM_EALG, "%s: no signature algorithm for this key type",
		    key_path);
		goto out;
	}
	if (tam_strlcpy_checked(s->tamid, tamid, sizeof(s->tamid)) != TAM_OK) {
		rc = tam_err_set(err, TAM_EINVAL, "tamid must be 1 to %d bytes", PKI_TAMID_MAX - 1);
		goto out;
	}
	*out = s;
	s = NULL;
out:
	pki_signer_free(s);
	return rc;
}

void
pki_signer_free(struct pki_signer *s)
{
	if (s == NULL)
		return;
	jose_key_free(s->key);
	jose_key_free(s->pub);
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	json_decref(s->x5c);
	free(s);
}

const char *
pki_signer_tamid(const struct pki_signer *s)
{
	return s->tamid;
}

const char *
pki_signer_alg(const struct pki_signer *s)
{
	return s->alg;
}

const struct jose_key *
pki_signer_public(const struct pki_signer *s)
{
	return s->pub;
}

X509 *
pki_signer_cert(const struct pki_signer *s)
{
	return s->cert;
}

STACK_OF(X509) *
pki_signer_chain(const struct pki_signer *s)
{
	return s->chain;
}

const json_t *
pki_signer_x5c(const struct pki_signer *s)
{
	return s->x5c;
}

/* {"x5c": [...]}, fresh per call: the shared x5c array is never referenced twice. */
static json_t *
x5c_header(const struct pki_signer *s)
{
	return json_pack("{s:o}", "x5c", json_deep_copy(s->x5c));
}

int
pki_signer_sign(const struct pki_signer *s, const json_t *protected_extra, bool with_x5c,
    const uint8_t *payload, size_t len, json_t **out, struct tam_err *err)
{
	json_t *hdr = NULL;
	int rc;

	*out = NULL;
	if (with_x5c && s->cert != NULL && (hdr = x5c_header(s)) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
	rc = jose_jws_sign(s->key, s->alg, protected_extra, hdr, payload, len, out, err);
	json_decref(hdr);
	return rc;
}

int
pki_signer_prefix_new(const struct pki_signer *s, const uint8_t *prefix, size_t len,
    struct jose_jws_prefix **out, struct tam_err *err)
{
	return jose_jws_prefix_new(s->alg, prefix, len, out, err);
}

int
pki_signer_prefix_begin(const struct pki_signer *s, struct jose_jws_prefix **out,
    struct tam_err *err)
{
	return jose_jws_prefix_begin(s->alg, out, err);
}

int
pki_signer_sign_prefixed(const struct pki_signer *s, const struct jose_jws_prefix *p,
    const uint8_t *tail, size_t tail_len, json_t **jws, char **tail_b64, struct tam_err *err)
{
	char *sig = NULL;
	json_t *o;
	int rc;

	*jws = NULL;
	if ((rc = jose_jws_prefix_sign(p, s->key, tail, tail_len, tail_b64, &sig, err)) != TAM_OK)
		return rc;
	/* The members in jose_jws_sign's order, so the message reads the same either way. */
	o = json_pack("{s:s,s:s,s:s}", "protected", jose_jws_prefix_protected(p), "payload", "",
	    "signature", sig);
	free(sig);
	if (o == NULL || (s->cert != NULL &&
	    json_object_set_new(o, "header", x5c_header(s)) != 0)) {
		json_decref(o);
		free(*tail_b64);
		*tail_b64 = NULL;
		return tam_err_set(err, TAM_ENOMEM, "signer: out of memory");
	}
	*jws = o;
	return TAM_OK;
}

int
pki_signer_decrypt(const struct pki_signer *s, const json_t *jwe, uint8_t **pt, size_t *len,
    struct tam_err *err)
{
	return jose_jwe_decrypt(s->key, jwe, pt, len, err);
}
