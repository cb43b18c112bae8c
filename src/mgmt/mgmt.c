// SPDX-License-Identifier: MIT
/*
 * Management operations. Each one validates its input completely (names,
 * certificates, signatures, versions), then writes the change and its audit
 * record in a single transaction, so a failure leaves nothing behind.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tam/jose.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/mgmt.h"
#include "tam/model.h"
#include "tam/otrp.h"
#include "tam/pki.h"

/* Put context in front of the message a callee left in err. */
static void
prefix_err(struct tam_err *err, const char *fmt, ...)
{
	char inner[TAM_ERR_MSG_MAX], head[TAM_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return;
	memcpy(inner, err->msg, sizeof(inner));
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof(err->msg), "%s: %s", head, inner);
}

/* A certificate given by an operator: unreadable input is an invalid value, not a bad request. */
static int
load_cert(const uint8_t *data, size_t len, X509 **x, struct tam_err *err)
{
	int rc = pki_cert_load(data, len, x, err);

	if (rc == TAM_EMALFORMED || rc == TAM_ETOO_LARGE) {
		if (err != NULL)
			err->kind = "request.bad_certificate";
		return TAM_EINVAL;
	}
	return rc;
}

static int
begin(struct mgmt *m, struct tam_err *err)
{
	return store_begin(m->st, err);
}

/* Write the audit record and commit; roll back if either fails. */
static int
finish(struct mgmt *m, int rc, const char *action, const char *object, const char *detail,
    struct tam_err *err)
{
	if (rc == TAM_OK)
		rc = store_audit(m->st, m->actor, action, object, detail, err);
	if (rc == TAM_OK)
		rc = store_commit(m->st, err);
	if (rc != TAM_OK)
		store_rollback(m->st);
	return rc;
}

int
mgmt_identity_set(struct mgmt *m, const char *key_path, const uint8_t *chain_pem,
    size_t chain_len, const char *tamid, struct tam_err *err)
{
	struct store_identity id = { 0 };
	struct pki_signer *signer = NULL;
	char abs[PATH_MAX];
	int rc;

	if (realpath(key_path, abs) == NULL)
		return tam_err_set(err, TAM_ENOTFOUND, "%s: no such key file", key_path);
	if ((rc = pki_signer_load(abs, chain_pem, chain_len, tamid, &signer, err)) != TAM_OK)
		return rc;
	if (tam_strlcpy_checked(id.tamid, pki_signer_tamid(signer), sizeof(id.tamid)) != TAM_OK ||
	    tam_strlcpy_checked(id.key_path, abs, sizeof(id.key_path)) != TAM_OK) {
		rc = tam_err_set(err, TAM_EINVAL, "TAM id or key path too long");
		goto out;
	}
	id.chain_pem = (uint8_t *)chain_pem;
	id.chain_len = chain_len;
	id.created = tam_now();
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_identity_set(m->st, &id, err), "tam.identity", id.tamid,
	    pki_signer_alg(signer), err);
out:
	pki_signer_free(signer);
	return rc;
}

int
mgmt_anchor_add(struct mgmt *m, const char *name, const uint8_t *cert, size_t len,
    struct tam_err *err)
{
	struct store_anchor a = { 0 };
	X509 *x = NULL;
	char fp[65];
	int rc;

	if (!tam_valid_name(name, sizeof(a.name)))
		return tam_err_set(err, TAM_EUSAGE, "trust anchor name must be 1-%zu of [A-Za-z0-9._:-]",
		    sizeof(a.name) - 1);
	if ((rc = load_cert(cert, len, &x, err)) != TAM_OK)
		return rc;
	if (!pki_cert_is_ca(x)) {
		rc = tam_err_set(err, TAM_EINVAL, "a trust anchor must be a CA certificate");
		goto out;
	}
	memcpy(a.name, name, strlen(name) + 1);
	if ((rc = pki_cert_to_der(x, &a.cert, &a.cert_len, err)) != TAM_OK ||
	    (rc = pki_cert_sha256(x, a.fingerprint)) != TAM_OK)
		goto out;
	pki_cert_subject(x, a.subject, sizeof(a.subject));
	a.not_after = pki_cert_not_after(x);
	a.created = tam_now();
	tam_hex_encode(a.fingerprint, 32, fp);
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_anchor_add(m->st, &a, &a.id, err), "trust_anchor.add", name, fp, err);
out:
	free(a.cert);
	X509_free(x);
	return rc;
}

int
mgmt_anchor_remove(struct mgmt *m, const char *name, struct tam_err *err)
{
	int rc;

	if ((rc = begin(m, err)) != TAM_OK)
		return rc;
	return finish(m, store_anchor_remove(m->st, name, err), "trust_anchor.remove", name, "", err);
}

int
mgmt_sp_add(struct mgmt *m, const char *spid, const char *sdname, const uint8_t *cert,
    size_t len, struct tam_err *err)
{
	struct store_sp sp = { 0 };
	struct jose_key *key = NULL;
	X509 *x = NULL;
	int rc;

	if (!tam_valid_name(spid, sizeof(sp.spid)))
		return tam_err_set(err, TAM_EUSAGE, "SP id must be 1-%zu of [A-Za-z0-9._:-]",
		    sizeof(sp.spid) - 1);
	if (sdname != NULL) {
		if (!tam_valid_name(sdname, sizeof(sp.sdname)))
			return tam_err_set(err, TAM_EUSAGE, "SD name must be 1-%zu of [A-Za-z0-9._:-]",
			    sizeof(sp.sdname) - 1);
		memcpy(sp.sdname, sdname, strlen(sdname) + 1);
	} else if ((size_t)snprintf(sp.sdname, sizeof(sp.sdname), "%s" MGMT_SDNAME_SUFFIX, spid) >=
	    sizeof(sp.sdname)) {
		return tam_err_set(err, TAM_EUSAGE, "SP id too long to derive an SD name; give one");
	}
	memcpy(sp.spid, spid, strlen(spid) + 1);
	if ((rc = load_cert(cert, len, &x, err)) != TAM_OK)
		return rc;
	if ((rc = pki_cert_public_key(x, &key, err)) != TAM_OK)
		goto out;
	if ((rc = pki_cert_to_der(x, &sp.cert, &sp.cert_len, err)) != TAM_OK)
		goto out;
	sp.created = tam_now();
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_sp_add(m->st, &sp, &sp.id, err), "sp.add", spid, sp.sdname, err);
out:
	free(sp.cert);
	jose_key_free(key);
	X509_free(x);
	return rc;
}

static int
sp_key(const struct store_sp *sp, struct jose_key **key, struct tam_err *err)
{
	X509 *x = NULL;
	int rc;

	if ((rc = pki_cert_from_der(sp->cert, sp->cert_len, &x, err)) != TAM_OK)
		return rc;
	rc = pki_cert_public_key(x, key, err);
	X509_free(x);
	return rc;
}

/* Do two keys have the same public half? */
static int
same_key(const struct jose_key *a, const struct jose_key *b, bool *same, struct tam_err *err)
{
	char ta[JOSE_THUMBPRINT_LEN], tb[JOSE_THUMBPRINT_LEN];
	int rc;

	if ((rc = jose_key_thumbprint(a, ta, err)) == TAM_OK &&
	    (rc = jose_key_thumbprint(b, tb, err)) == TAM_OK)
		*same = strcmp(ta, tb) == 0;
	return rc;
}

int
mgmt_sp_update(struct mgmt *m, const char *spid, const char *sdname, const uint8_t *cert,
    size_t len, struct tam_err *err)
{
	struct store_sp sp = { 0 };
	struct jose_key *old = NULL, *key = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int64_t live = 0;
	char detail[160];
	bool same = true;
	X509 *x = NULL;
	int rc;

	if (sdname == NULL && cert == NULL)
		return tam_err_set(err, TAM_EUSAGE, "nothing to change: give an SD name or a certificate");
	if (sdname != NULL && !tam_valid_name(sdname, sizeof(sp.sdname)))
		return tam_err_set(err, TAM_EUSAGE, "SD name must be 1-%zu of [A-Za-z0-9._:-]",
		    sizeof(sp.sdname) - 1);
	if (cert != NULL &&
	    ((rc = load_cert(cert, len, &x, err)) != TAM_OK ||
	    (rc = pki_cert_public_key(x, &key, err)) != TAM_OK ||
	    (rc = pki_cert_to_der(x, &der, &der_len, err)) != TAM_OK))
		goto out;
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	if ((rc = store_sp_get(m->st, spid, &sp, err)) == TAM_OK && key != NULL &&
	    (rc = sp_key(&sp, &old, err)) == TAM_OK &&
	    (rc = same_key(old, key, &same, err)) == TAM_OK && !same &&
	    (rc = store_sp_live_versions(m->st, sp.id, &live, err)) == TAM_OK && live > 0)
		/* The TEE checks a TA against the SD's certificates: old bundles would fail there. */
		rc = tam_err_setk(err, TAM_ECONFLICT, "sp.versions_signed_by_old_key",
		    "the new certificate has another key, and %lld TA version(s) signed with the old "
		    "one can still be installed; withdraw them first", (long long)live);
	snprintf(detail, sizeof(detail), "%s%s%s", sdname ? "sdname=" : "", sdname ? sdname : "",
	    cert ? (sdname ? " cert=replaced" : "cert=replaced") : "");
	if (rc == TAM_OK)
		rc = store_sp_update(m->st, spid, sdname, der, der_len, err);
	rc = finish(m, rc, "sp.update", spid, detail, err);
out:
	store_sp_clear(&sp);
	jose_key_free(old);
	jose_key_free(key);
	free(der);
	X509_free(x);
	return rc;
}

int
mgmt_sp_remove(struct mgmt *m, const char *spid, struct tam_err *err)
{
	int rc;

	if ((rc = begin(m, err)) != TAM_OK)
		return rc;
	return finish(m, store_sp_remove(m->st, spid, err), "sp.remove", spid, "", err);
}

struct mgmt_upload {
	char spid[TAM_SPID_MAX];
	char taid[TAM_TAID_MAX];
	char version[TAM_VERSION_MAX];
	char name[TAM_TANAME_MAX];
	int64_t version_key;
	int64_t sp_id;
	struct jose_key *key;         /* the SP's signing key */
	struct jose_jws_stream *jws;  /* compact bundles: verified as they stream */
	bool json;                    /* JSON serialization: verified at finish */
	bool started;                 /* the first non-space byte was seen */
	bool leading_space;           /* white space came before it */
	EVP_MD_CTX *md;               /* SHA-256 of every byte */
	int fd;                       /* the bundle, spooled */
	uint64_t len;
	uint64_t max;
	char spool_dir[4096];
	struct store_ta_require reqs[TAM_MAX_TA_REQUIRES];   /* what the version requires */
	size_t n_reqs;
};

void
mgmt_upload_free(struct mgmt_upload *u)
{
	if (u == NULL)
		return;
	jose_key_free(u->key);
	jose_jws_stream_free(u->jws);
	EVP_MD_CTX_free(u->md);
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

int
mgmt_upload_begin(struct mgmt *m, const char *spid, const char *taid, const char *version,
    const char *name, const char *spool_dir, uint64_t max_bytes, struct mgmt_upload **out,
    struct tam_err *err)
{
	struct store_sp sp = { 0 };
	struct store_ta ta = { 0 };
	struct mgmt_upload *u;
	int rc;

	*out = NULL;
	if (!tam_valid_name(taid, sizeof(u->taid)))
		return tam_err_setk(err, TAM_EUSAGE, "ta.bad_taid",
		    "TA id must be 1-%zu of [A-Za-z0-9._:-]", sizeof(u->taid) - 1);
	if (name != NULL && (strlen(name) == 0 || strlen(name) >= sizeof(u->name)))
		return tam_err_setk(err, TAM_EUSAGE, "ta.bad_name", "TA name must be 1-%zu bytes",
		    sizeof(u->name) - 1);
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	u->fd = -1;
	u->max = max_bytes;
	if (version == NULL || tam_version_key(version, &u->version_key) != 0 ||
	    strlen(version) >= sizeof(u->version)) {
		rc = tam_err_setk(err, TAM_EUSAGE, "ta.bad_version",
		    "version \"%.40s\" is not MAJOR[.MINOR[.PATCH]] (each 0-65535)",
		    version != NULL ? version : "");
		goto fail;
	}
	memcpy(u->version, version, strlen(version) + 1);
	memcpy(u->taid, taid, strlen(taid) + 1);
	snprintf(u->name, sizeof(u->name), "%s", name != NULL ? name : taid);
	if (spool_dir != NULL && tam_strlcpy_checked(u->spool_dir, spool_dir,
	    sizeof(u->spool_dir)) != TAM_OK) {
		rc = tam_err_set(err, TAM_EINVAL, "spool directory path too long");
		goto fail;
	}
	if ((rc = store_sp_get(m->st, spid, &sp, err)) != TAM_OK)
		goto fail;
	memcpy(u->spid, sp.spid, sizeof(u->spid));
	u->sp_id = sp.id;
	/* Early answers to what finish would refuse anyway: no bytes are wasted on them. */
	rc = store_ta_get(m->st, taid, &ta, err);
	if (rc == TAM_OK && ta.sp_id != sp.id) {
		rc = tam_err_setk(err, TAM_ECONFLICT, "ta.other_sp", "TA %s belongs to another SP",
		    taid);
		goto fail;
	}
	if (rc != TAM_OK && rc != TAM_ENOTFOUND)
		goto fail;
	if ((rc = sp_key(&sp, &u->key, err)) != TAM_OK ||
	    (rc = tam_tmpfile(spool_dir, &u->fd, err)) != TAM_OK)
		goto fail;
	if ((u->md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
		rc = tam_err_set(err, TAM_ECRYPTO, "SHA-256 unavailable");
		goto fail;
	}
	store_sp_clear(&sp);
	*out = u;
	return TAM_OK;
fail:
	store_sp_clear(&sp);
	mgmt_upload_free(u);
	return rc;
}

int
mgmt_require_parse(const char *spec, struct store_ta_require *r, struct tam_err *err)
{
	const char *at = strchr(spec, '@');
	size_t len = at != NULL ? (size_t)(at - spec) : strlen(spec);

	memset(r, 0, sizeof(*r));
	if (len == 0 || len >= sizeof(r->taid))
		return tam_err_setk(err, TAM_EUSAGE, "upload.bad_requires",
		    "requires \"%.80s\": a TA id of 1-%zu characters must come first", spec,
		    sizeof(r->taid) - 1);
	memcpy(r->taid, spec, len);
	if (!tam_valid_name(r->taid, sizeof(r->taid)))
		return tam_err_setk(err, TAM_EUSAGE, "upload.bad_requires",
		    "requires \"%.80s\": a TA id is made of [A-Za-z0-9._:-]", spec);
	if (at == NULL)
		return TAM_OK;
	if (strlen(at + 1) >= sizeof(r->min_version) ||
	    tam_version_key(at + 1, &r->min_version_key) != 0)
		return tam_err_setk(err, TAM_EUSAGE, "upload.bad_requires",
		    "requires \"%.80s\": the version after @ must be MAJOR[.MINOR[.PATCH]] "
		    "(each 0-65535)", spec);
	memcpy(r->min_version, at + 1, strlen(at + 1) + 1);
	return TAM_OK;
}

int
mgmt_upload_requires(struct mgmt *m, struct mgmt_upload *u, const char *const *specs, size_t n,
    struct tam_err *err)
{
	struct store_ta t;
	int rc;

	if (n > TAM_MAX_TA_REQUIRES)
		return tam_err_setk(err, TAM_EUSAGE, "upload.bad_requires",
		    "a TA version may require at most %d TAs, not %zu", TAM_MAX_TA_REQUIRES, n);
	u->n_reqs = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_ta_require *r = &u->reqs[i];
		if ((rc = mgmt_require_parse(specs[i], r, err)) != TAM_OK)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(u->reqs[j].taid, r->taid) == 0)
				return tam_err_setk(err, TAM_EUSAGE, "upload.bad_requires",
				    "TA %s is required twice", r->taid);
		if (strcmp(r->taid, u->taid) == 0)
			return tam_err_setk(err, TAM_EINVAL, "upload.self_requirement",
			    "a TA version cannot require its own TA");
		/*
		 * Early, like finish would (the store checks again in its
		 * transaction). Only the SP's own TAs: another SP's would be
		 * installed and kept on devices its owner never chose. Unknown
		 * and foreign answer alike, so no SP learns another's TA ids.
		 */
		rc = store_ta_get(m->st, r->taid, &t, err);
		if (rc == TAM_ENOTFOUND || (rc == TAM_OK && t.sp_id != u->sp_id))
			return tam_err_setk(err, TAM_EINVAL, "upload.unknown_requirement",
			    "SP %s has no TA %s to require", u->spid, r->taid);
		if (rc != TAM_OK)
			return rc;
	}
	u->n_reqs = n;
	return TAM_OK;
}

static int
version_exists(struct mgmt *m, const struct mgmt_upload *u, bool *out, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_ta ta;
	int rc;

	*out = false;
	rc = store_ta_get(m->st, u->taid, &ta, err);
	if (rc == TAM_OK)
		rc = store_ta_version_find(m->st, ta.id, u->version, &v, err);
	if (rc == TAM_OK)
		*out = true;
	store_ta_version_clear(&v);
	return rc == TAM_ENOTFOUND ? TAM_OK : rc;
}

/* Would bytes more (in a new version when versions is set) take SP sp_id past m's quota? */
static int
quota_check(struct mgmt *m, int64_t sp_id, const char *spid, uint64_t bytes, bool version,
    struct tam_err *err)
{
	struct store_sp_usage use;
	int rc;

	if (m->quota_bytes == 0 && m->quota_versions == 0)
		return TAM_OK;
	if ((rc = store_sp_usage(m->st, sp_id, &use, err)) != TAM_OK)
		return rc;
	if (version && m->quota_versions != 0 && use.versions >= m->quota_versions)
		return tam_err_setk(err, TAM_EQUOTA, "upload.quota_exceeded",
		    "SP %s stores %llu TA versions, its quota (limits.sp_quota_versions); withdrawn "
		    "versions count until retention.withdrawn removes their bundles", spid,
		    (unsigned long long)use.versions);
	if (m->quota_bytes != 0 && (bytes > m->quota_bytes || use.bytes > m->quota_bytes - bytes))
		return tam_err_setk(err, TAM_EQUOTA, "upload.quota_exceeded",
		    "SP %s stores %llu bytes of TA bundles and personalization data; %llu more would "
		    "pass its quota of %llu (limits.sp_quota_bytes)", spid,
		    (unsigned long long)use.bytes, (unsigned long long)bytes,
		    (unsigned long long)m->quota_bytes);
	return TAM_OK;
}

int
mgmt_upload_quota(struct mgmt *m, const struct mgmt_upload *u, uint64_t bytes,
    struct tam_err *err)
{
	bool exists;
	int rc;

	if (m->quota_bytes == 0 && m->quota_versions == 0)
		return TAM_OK;
	/* A version that exists takes no new room: finish answers it as before. */
	if ((rc = version_exists(m, u, &exists, err)) != TAM_OK || exists)
		return rc;
	return quota_check(m, u->sp_id, u->spid, bytes, true, err);
}

int
mgmt_upload_write(struct mgmt_upload *u, const uint8_t *p, size_t n, struct tam_err *err)
{
	int rc;

	if (n > u->max || u->len > u->max - n)
		return tam_err_setk(err, TAM_ETOO_LARGE, "upload.too_large",
		    "TA bundle is larger than the limit of %llu bytes",
		    (unsigned long long)u->max);
	if (!u->started) {
		size_t i = 0;
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
			i++;
		u->leading_space = u->leading_space || i > 0;
		if (i < n) {
			u->started = true;
			u->json = p[i] == '{';
			/*
			 * JSON may start with white space; the compact form may not: every byte
			 * stored must be a byte the signature covers.
			 */
			if (!u->json && u->leading_space)
				return tam_err_setk(err, TAM_EMALFORMED, "ta.bad_bundle",
				    "white space before a compact JWS");
			if (!u->json && (rc = jose_jws_stream_new(u->key, &u->jws, err)) != TAM_OK)
				return rc;
		}
	}
	if (u->jws != NULL && (rc = jose_jws_stream_update(u->jws, p, n, err)) != TAM_OK) {
		if (rc == TAM_EMALFORMED || rc == TAM_EALG)
			err->kind = "ta.bad_bundle";
		return rc;
	}
	if (u->json && u->len + n > MGMT_MAX_JSON_BUNDLE)
		return tam_err_setk(err, TAM_ETOO_LARGE, "upload.json_too_large",
		    "a TA bundle in the JWS JSON serialization is limited to %u bytes; "
		    "send the compact serialization", MGMT_MAX_JSON_BUNDLE);
	if (EVP_DigestUpdate(u->md, p, n) != 1)
		return tam_err_set(err, TAM_ECRYPTO, "SHA-256 failed");
	if (tam_pwrite_all(u->fd, p, n, u->len) != 0)
		return tam_err_set(err, TAM_EIO, "spooling the TA bundle: %s", strerror(errno));
	u->len += n;
	return TAM_OK;
}

/* The JSON serialization, verified whole (it is bounded by MGMT_MAX_JSON_BUNDLE). */
static int
upload_verify_json(struct mgmt_upload *u, struct tam_err *err)
{
	uint8_t *buf = NULL, *ta = NULL;
	size_t ta_len = 0;
	ssize_t got;
	int rc;

	if ((buf = malloc(u->len)) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	got = pread(u->fd, buf, u->len, 0);
	if (got != (ssize_t)u->len) {
		free(buf);
		return tam_err_set(err, TAM_EIO, "reading the spooled TA bundle back failed");
	}
	rc = otrp_bundle_verify(buf, u->len, u->key, &ta, &ta_len, err);
	free(buf);
	free(ta);
	return rc;
}

/* Does the stored version require exactly what the upload says (in any order)? */
static int
upload_same_requires(struct mgmt *m, struct mgmt_upload *u, int64_t version_id, bool *same,
    struct tam_err *err)
{
	struct store_ta_require *have = NULL;
	size_t n = 0;
	int rc;

	if ((rc = store_ta_version_requires(m->st, version_id, &have, &n, err)) != TAM_OK)
		return rc;
	*same = n == u->n_reqs;
	for (size_t i = 0; *same && i < u->n_reqs; i++) {
		bool found = false;
		for (size_t j = 0; !found && j < n; j++)
			found = strcmp(have[j].taid, u->reqs[i].taid) == 0 &&
			    have[j].min_version_key == u->reqs[i].min_version_key;
		*same = found;
	}
	free(have);
	return TAM_OK;
}

/* Is the TA's first version or an update to it allowed, given what is stored? */
static int
upload_check_version(struct mgmt *m, struct mgmt_upload *u, int64_t ta_id,
    const uint8_t digest[32], struct mgmt_upload_result *res, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	int rc;

	rc = store_ta_version_find(m->st, ta_id, u->version, &v, err);
	if (rc == TAM_OK) {
		bool same = false;
		if (CRYPTO_memcmp(v.digest, digest, 32) != 0) {
			rc = tam_err_setk(err, TAM_ECONFLICT, "ta.version_exists",
			    "version %s of TA %s exists with other bytes", u->version, u->taid);
		} else if ((rc = upload_same_requires(m, u, v.id, &same, err)) == TAM_OK && !same) {
			rc = tam_err_setk(err, TAM_ECONFLICT, "ta.requires_differ",
			    "version %s of TA %s exists and requires other TAs", u->version, u->taid);
		} else if (rc == TAM_OK) {
			res->existed = true;
			res->version_id = v.id;
		}
		store_ta_version_clear(&v);
		return rc;
	}
	if (rc != TAM_ENOTFOUND)
		return rc;
	rc = store_ta_version_latest(m->st, ta_id, false, &v, err);
	if (rc == TAM_OK && v.version_key >= u->version_key)
		rc = tam_err_setk(err, TAM_ECONFLICT, "ta.version_not_newer",
		    "version %s is not newer than %s", u->version, v.version);
	else if (rc == TAM_ENOTFOUND)
		rc = TAM_OK;
	store_ta_version_clear(&v);
	return rc;
}

/* What the audit keeps of an upload: the version, its digest and what it requires. */
static void
upload_detail(const struct mgmt_upload *u, const char *hex, char *out, size_t size)
{
	size_t len;

	len = (size_t)snprintf(out, size, "version=%s size=%llu sha256=%s", u->version,
	    (unsigned long long)u->len, hex);
	for (size_t i = 0; i < u->n_reqs && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s%s%s", i == 0 ? " requires=" : ",",
		    u->reqs[i].taid, u->reqs[i].min_version[0] != '\0' ? "@" : "",
		    u->reqs[i].min_version);
}

int
mgmt_upload_finish(struct mgmt *m, struct mgmt_upload *u, const uint8_t *want_digest,
    struct mgmt_upload_result *res, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_ta ta = { 0 };
	uint64_t enc_len = 0;
	unsigned dlen = 0;
	int enc_fd = -1, rc;
	char detail[512], hex[65];

	memset(res, 0, sizeof(*res));
	if (u->len == 0 || !u->started)
		return tam_err_setk(err, TAM_EMALFORMED, "ta.bad_bundle", "the TA bundle is empty");
	if (EVP_DigestFinal_ex(u->md, res->digest, &dlen) != 1)
		return tam_err_set(err, TAM_ECRYPTO, "SHA-256 failed");
	res->size = u->len;
	if (want_digest != NULL && CRYPTO_memcmp(want_digest, res->digest, 32) != 0)
		return tam_err_setk(err, TAM_EMALFORMED, "upload.digest_mismatch",
		    "the body's SHA-256 does not match the digest the request announced");
	if (u->json)
		rc = upload_verify_json(u, err);
	else if ((rc = jose_jws_stream_final(u->jws, err)) == TAM_OK &&
	    jose_jws_stream_payload_len(u->jws) == 0)
		rc = tam_err_set(err, TAM_EMALFORMED, "TA bundle has an empty payload");
	if (rc != TAM_OK) {
		prefix_err(err, "TA bundle does not verify with the certificate of SP %s", u->spid);
		err->kind = rc == TAM_ESIGNATURE ? "ta.signature_invalid" : "ta.bad_bundle";
		return rc;
	}
	/* Encrypted once, outside the transaction: the lock is held only for the copy. */
	if ((rc = tam_tmpfile(u->spool_dir[0] ? u->spool_dir : NULL, &enc_fd, err)) != TAM_OK ||
	    (rc = otrp_bundle_seal_fd(u->fd, u->len, enc_fd, v.enc_key, v.enc_iv, &enc_len,
	    err)) != TAM_OK)
		goto out;
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = store_ta_get(m->st, u->taid, &ta, err);
	if (rc == TAM_ENOTFOUND) {
		memset(&ta, 0, sizeof(ta));
		ta.sp_id = u->sp_id;
		memcpy(ta.taid, u->taid, sizeof(ta.taid));
		memcpy(ta.name, u->name, sizeof(ta.name));
		rc = store_ta_add(m->st, &ta, &ta.id, err);
	} else if (rc == TAM_OK && ta.sp_id != u->sp_id) {
		rc = tam_err_setk(err, TAM_ECONFLICT, "ta.other_sp", "TA %s belongs to another SP",
		    u->taid);
	} else if (rc == TAM_OK) {
		rc = upload_check_version(m, u, ta.id, res->digest, res, err);
	}
	/* In the transaction: concurrent uploads of one SP cannot both squeeze under it. */
	if (rc == TAM_OK && !res->existed)
		rc = quota_check(m, u->sp_id, u->spid, u->len, true, err);
	if (rc != TAM_OK || res->existed) {
		store_rollback(m->st);
		goto out;
	}
	memcpy(v.version, u->version, sizeof(v.version));
	v.ta_id = ta.id;
	v.reqs = u->reqs;
	v.n_reqs = u->n_reqs;
	snprintf(v.created_by, sizeof(v.created_by), "%s", m->actor);
	rc = store_ta_version_add_files(m->st, &v, u->fd, u->len, enc_fd, enc_len,
	    &res->version_id, err);
	tam_hex_encode(res->digest, 32, hex);
	upload_detail(u, hex, detail, sizeof(detail));
	rc = finish(m, rc, "ta.upload", u->taid, detail, err);
out:
	if (enc_fd >= 0)
		close(enc_fd);
	tam_wipe(&v, sizeof(v));
	return rc;
}

int
mgmt_ta_add(struct mgmt *m, const char *spid, const char *taid, const char *version,
    const char *name, const uint8_t *bundle, size_t len, int64_t *version_id,
    struct tam_err *err)
{
	struct mgmt_upload_result res;
	struct mgmt_upload *u = NULL;
	int rc;

	*version_id = 0;
	if ((rc = mgmt_upload_begin(m, spid, taid, version, name, NULL, TAM_MAX_TA_BYTES, &u,
	    err)) == TAM_OK &&
	    (rc = mgmt_upload_write(u, bundle, len, err)) == TAM_OK &&
	    (rc = mgmt_upload_finish(m, u, NULL, &res, err)) == TAM_OK)
		*version_id = res.version_id;
	mgmt_upload_free(u);
	return rc;
}

int
mgmt_ta_pdata(struct mgmt *m, const char *taid, const char *version, const uint8_t *data,
    size_t len, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_ta ta = { 0 };
	struct store_pdata p = { 0 };
	uint8_t digest[32];
	char detail[160];
	int rc;

	if (data == NULL || len == 0)
		return tam_err_set(err, TAM_EUSAGE, "personalization data is empty");
	if (len > TAM_MAX_PDATA_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, "personalization data over %u bytes",
		    (unsigned)TAM_MAX_PDATA_BYTES);
	if ((rc = store_ta_get(m->st, taid, &ta, err)) != TAM_OK ||
	    (rc = store_ta_version_find(m->st, ta.id, version, &v, err)) != TAM_OK)
		goto out;
	tam_sha256(data, len, digest);
	/* The same bytes again change nothing. */
	if (v.has_pdata && memcmp(v.pdata_digest, digest, 32) == 0)
		goto out;
	if (v.withdrawn != 0) {
		rc = tam_err_setk(err, TAM_ECONFLICT, "ta.version_withdrawn",
		    "version %s of TA %s is withdrawn", version, taid);
		goto out;
	}
	/* Under a key and IV of its own: AES-CBC under the TA's would leak across the two. */
	if ((rc = otrp_bundle_seal(data, len, p.key, p.iv, &p.enc, &p.enc_len, err)) != TAM_OK)
		goto out;
	snprintf(detail, sizeof(detail), "taid=%s version=%s size=%zu", taid, version, len);
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	/* Personalization data is the SP's storage too, counted in its transaction. */
	if ((rc = quota_check(m, ta.sp_id, ta.spid, len, false, err)) != TAM_OK) {
		store_rollback(m->st);
		goto out;
	}
	rc = finish(m, store_ta_version_set_pdata(m->st, v.id, (int64_t)len, digest, &p, err),
	    "ta.pdata", taid, detail, err);
out:
	store_pdata_clear(&p);
	store_ta_version_clear(&v);
	return rc;
}

/*
 * The legacy personalization data of version id opened with its TA's key and
 * IV, checked against its digest, and sealed into *p under a fresh key and
 * IV; p->enc stays NULL when it is legacy no longer (another daemon did it).
 * detail: the audit's.
 */
static int
reseal_pdata(struct mgmt *m, int64_t id, struct store_pdata *p, char *detail, size_t size,
    struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_pdata old = { 0 };
	uint8_t *pt = NULL, digest[32];
	size_t len = 0;
	int rc;

	if ((rc = store_ta_version_get(m->st, id, false, &v, err)) != TAM_OK ||
	    (rc = store_ta_version_pdata(m->st, id, &old, err)) != TAM_OK ||
	    old.enc == NULL || !old.legacy)
		goto out;
	if ((rc = otrp_bundle_open(old.enc, old.enc_len, v.enc_key, v.enc_iv, &pt, &len,
	    err)) != TAM_OK)
		goto out;
	tam_sha256(pt, len, digest);
	if (!v.has_pdata || (int64_t)len != v.pdata_size || memcmp(digest, v.pdata_digest, 32) != 0)
		rc = tam_err_set(err, TAM_EDB, "its bytes are not those that were set");
	else
		rc = otrp_bundle_seal(pt, len, p->key, p->iv, &p->enc, &p->enc_len, err);
	snprintf(detail, size, "version=%s size=%zu", v.version, len);
out:
	if (pt != NULL)
		tam_wipe(pt, len);
	free(pt);
	store_pdata_clear(&old);
	store_ta_version_clear(&v);
	return rc;
}

/* Version id's legacy personalization data re-sealed in one transaction; *done if it was. */
static int
reseal_one(struct mgmt *m, int64_t id, const char *taid, bool *done, struct tam_err *err)
{
	struct store_pdata p = { 0 };
	char detail[160];
	int rc;

	*done = false;
	if ((rc = begin(m, err)) != TAM_OK)
		return rc;
	if ((rc = reseal_pdata(m, id, &p, detail, sizeof(detail), err)) != TAM_OK || p.enc == NULL) {
		store_rollback(m->st);
		goto out;
	}
	rc = finish(m, store_ta_version_reseal_pdata(m->st, id, &p, err), "ta.pdata_resealed",
	    taid, detail, err);
	*done = rc == TAM_OK;
out:
	store_pdata_clear(&p);
	return rc;
}

int
mgmt_pdata_reseal_legacy(struct mgmt *m, int64_t *n, int64_t *failed, struct tam_err *err)
{
	char taid[TAM_TAID_MAX];
	struct tam_err e = { 0 };
	int64_t id = 0;
	bool done;
	int rc;

	*n = *failed = 0;
	while ((rc = store_ta_version_next_legacy_pdata(m->st, id, &id, taid, err)) == TAM_OK) {
		/* One version that cannot be re-sealed does not keep the others in the old layout. */
		if (reseal_one(m, id, taid, &done, &e) != TAM_OK) {
			(*failed)++;
			log_warn("event=ta.pdata_reseal taid=%s version_id=%lld error=\"%s\"", taid,
			    (long long)id, e.msg);
		} else if (done) {
			(*n)++;
		}
	}
	return rc == TAM_ENOTFOUND ? TAM_OK : rc;
}

int
mgmt_ta_withdraw(struct mgmt *m, const char *taid, const char *version, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_ta ta = { 0 };
	char detail[64];
	int rc;

	if ((rc = store_ta_get(m->st, taid, &ta, err)) != TAM_OK ||
	    (rc = store_ta_version_find(m->st, ta.id, version, &v, err)) != TAM_OK)
		return rc;
	snprintf(detail, sizeof(detail), "version=%s", v.version);
	if ((rc = begin(m, err)) == TAM_OK)
		rc = finish(m, store_ta_version_withdraw(m->st, v.id, m->actor, err), "ta.withdraw",
		    taid, detail, err);
	store_ta_version_clear(&v);
	return rc;
}

/* A certificate, else a public key (PEM SPKI or JWK). */
static int
enroll_material(const uint8_t *data, size_t len, struct store_device *d, struct jose_key **key,
    struct tam_err *err)
{
	X509 *x = NULL;
	int rc;

	if (pki_cert_load(data, len, &x, NULL) == TAM_OK) {
		d->key_kind = STORE_KEY_CERT;
		rc = pki_cert_public_key(x, key, err);
		if (rc == TAM_OK)
			rc = pki_cert_to_der(x, &d->cert, &d->cert_len, err);
		if (rc == TAM_OK)
			tam_sha256(d->cert, d->cert_len, d->did);
		X509_free(x);
		return rc;
	}
	d->key_kind = STORE_KEY_RAW;
	if (len > 0 && data[0] == '{')
		rc = jose_key_from_jwk((const char *)data, len, key, err);
	else
		rc = jose_key_from_pem(data, len, key, err);
	if (rc != TAM_OK) {
		prefix_err(err, "not a certificate, a PEM public key or a JWK");
		return TAM_EINVAL;
	}
	if (jose_key_is_private(*key))
		return tam_err_set(err, TAM_EINVAL, "give the TEE's public key, not its private key");
	return TAM_OK;
}

bool
mgmt_profile_known(const char *profile)
{
	return profile != NULL && (strcmp(profile, "default") == 0 || strcmp(profile, "aist") == 0);
}

int
mgmt_device_enroll(struct mgmt *m, const char *name, const char *profile, const uint8_t *data,
    size_t len, int64_t *device_id, struct tam_err *err)
{
	struct store_device d = { 0 };
	struct jose_key *key = NULL;
	char didhex[TAM_DID_HEX], object[80];
	int rc;

	*device_id = 0;
	if (name != NULL) {
		if (!tam_valid_name(name, sizeof(d.name)))
			return tam_err_set(err, TAM_EUSAGE, "device name must be 1-%zu of [A-Za-z0-9._:-]",
			    sizeof(d.name) - 1);
		memcpy(d.name, name, strlen(name) + 1);
	}
	if (profile == NULL)
		profile = "default";
	if (!mgmt_profile_known(profile))
		return tam_err_setk(err, TAM_EUSAGE, "device.bad_profile",
		    "unknown profile \"%.32s\" (known: default, aist)", profile);
	if ((rc = enroll_material(data, len, &d, &key, err)) != TAM_OK)
		goto out;
	/* The AIST agent carries no certificate: it is known by its key, and only RSA ones exist. */
	if (strcmp(profile, "aist") == 0 &&
	    (d.key_kind != STORE_KEY_RAW || jose_key_type(key) != JOSE_KTY_RSA)) {
		rc = tam_err_setk(err, TAM_EUSAGE, "device.bad_profile",
		    "profile aist enrolls a TEE by its RSA public key, not by certificate");
		goto out;
	}
	/* Its answers name no device: each tries the keys of all of them, so they are few. */
	if (strcmp(profile, "aist") == 0) {
		struct store_device *devs = NULL;
		size_t n = 0;
		if ((rc = store_device_list_profile(m->st, "aist", TAM_MAX_AIST_DEVICES, &devs, &n,
		    err)) != TAM_OK)
			goto out;
		store_devices_free(devs, n);
		if (n >= TAM_MAX_AIST_DEVICES) {
			rc = tam_err_setk(err, TAM_ECONFLICT, "device.profile_full",
			    "profile aist serves at most %d active devices", TAM_MAX_AIST_DEVICES);
			goto out;
		}
	}
	if ((rc = jose_key_to_spki(key, &d.spki, &d.spki_len, err)) != TAM_OK ||
	    (rc = jose_key_thumbprint(key, d.thumbprint, err)) != TAM_OK)
		goto out;
	if (d.key_kind == STORE_KEY_RAW)
		tam_sha256(d.spki, d.spki_len, d.did);
	snprintf(d.profile, sizeof(d.profile), "%s", profile);
	snprintf(d.state, sizeof(d.state), "active");
	d.created = tam_now();
	tam_hex_encode(d.did, 32, didhex);
	snprintf(object, sizeof(object), "device:%s", didhex);
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_device_add(m->st, &d, device_id, err), "device.enroll", object,
	    d.key_kind == STORE_KEY_CERT ? "key=cert" : "key=raw", err);
out:
	store_device_clear(&d);
	jose_key_free(key);
	return rc;
}

int
mgmt_device_decommission(struct mgmt *m, const char *device_ref, struct tam_err *err)
{
	struct store_device d = { 0 };
	char didhex[TAM_DID_HEX], object[80];
	int rc;

	if ((rc = store_device_find(m->st, device_ref, &d, err)) != TAM_OK)
		goto out;
	if (strcmp(d.state, "decommissioned") == 0) {
		rc = tam_err_set(err, TAM_ECONFLICT, "device %s is already decommissioned", device_ref);
		goto out;
	}
	tam_hex_encode(d.did, 32, didhex);
	snprintf(object, sizeof(object), "device:%s", didhex);
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_device_set_state(m->st, d.id, "decommissioned", err),
	    "device.decommission", object, "", err);
out:
	store_device_clear(&d);
	return rc;
}

int
mgmt_sd_request(struct mgmt *m, const char *device_ref, const char *spid,
    enum store_sd_action action, struct tam_err *err)
{
	struct store_device d = { 0 };
	struct store_sp sp = { 0 };
	char didhex[TAM_DID_HEX], object[80], detail[96];
	int rc;

	if ((rc = store_device_find(m->st, device_ref, &d, err)) != TAM_OK ||
	    (rc = store_sp_get(m->st, spid, &sp, err)) != TAM_OK)
		goto out;
	if (strcmp(d.state, "active") != 0) {
		rc = tam_err_set(err, TAM_ECONFLICT, "device %s is %s", device_ref, d.state);
		goto out;
	}
	if (strcmp(d.profile, "aist") == 0) {
		rc = tam_err_setk(err, TAM_ECONFLICT, "device.profile",
		    "device %s uses interop profile aist, which has no security domains", device_ref);
		goto out;
	}
	tam_hex_encode(d.did, 32, didhex);
	snprintf(object, sizeof(object), "device:%s", didhex);
	snprintf(detail, sizeof(detail), "spid=%s", spid);
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	/* A purge is the operator taking the SP off the device: its assignments go with it. */
	if (action == STORE_SD_PURGE)
		rc = store_unassign_sp(m->st, d.id, sp.id, err);
	if (rc == TAM_OK)
		rc = store_sd_request_set(m->st, d.id, sp.id, action, m->actor, err);
	rc = finish(m, rc, action == STORE_SD_PURGE ? "sd.purge" : "sd.renew_aik", object, detail,
	    err);
out:
	store_sp_clear(&sp);
	store_device_clear(&d);
	return rc;
}

static int
assignment_target(struct mgmt *m, const char *device_ref, const char *taid,
    struct store_device *d, struct store_ta *ta, char object[80], struct tam_err *err)
{
	char didhex[TAM_DID_HEX];
	int rc;

	if ((rc = store_device_find(m->st, device_ref, d, err)) != TAM_OK)
		return rc;
	if ((rc = store_ta_get(m->st, taid, ta, err)) != TAM_OK)
		return rc;
	tam_hex_encode(d->did, 32, didhex);
	snprintf(object, 80, "device:%s", didhex);
	return TAM_OK;
}

int
mgmt_assign(struct mgmt *m, const char *device_ref, const char *taid, const char *version,
    bool allow_downgrade, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_device d = { 0 };
	struct store_ta ta = { 0 };
	char object[80], detail[160];
	int rc;

	if ((rc = assignment_target(m, device_ref, taid, &d, &ta, object, err)) != TAM_OK)
		goto out;
	if (strcmp(d.state, "active") != 0) {
		rc = tam_err_set(err, TAM_ECONFLICT, "device %s is %s", device_ref, d.state);
		goto out;
	}
	if (version != NULL) {
		if ((rc = store_ta_version_find(m->st, ta.id, version, &v, err)) != TAM_OK)
			goto out;
	} else if ((rc = store_ta_version_latest(m->st, ta.id, true, &v, err)) != TAM_OK) {
		if (rc == TAM_ENOTFOUND)
			tam_err_setk(err, rc, "ta.no_version", "TA %s has no installable version",
			    taid);
		goto out;
	}
	if (v.withdrawn != 0) {
		rc = tam_err_setk(err, TAM_ECONFLICT, "ta.version_withdrawn",
		    "version %s of TA %s is withdrawn", v.version, taid);
		goto out;
	}
	snprintf(detail, sizeof(detail), "taid=%s version=%s%s", taid, version ? version : "latest",
	    allow_downgrade ? " downgrade=allowed" : "");
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_assign(m->st, d.id, ta.id, version ? v.id : 0, allow_downgrade,
	    m->actor, err),
	    "assign", object, detail, err);
out:
	store_ta_version_clear(&v);
	store_device_clear(&d);
	return rc;
}

int
mgmt_unassign(struct mgmt *m, const char *device_ref, const char *taid, struct tam_err *err)
{
	struct store_device d = { 0 };
	struct store_ta ta = { 0 };
	char object[80], detail[96];
	int rc;

	if ((rc = assignment_target(m, device_ref, taid, &d, &ta, object, err)) != TAM_OK)
		goto out;
	snprintf(detail, sizeof(detail), "taid=%s", taid);
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_unassign(m->st, d.id, ta.id, err), "unassign", object, detail, err);
out:
	store_device_clear(&d);
	return rc;
}

int
mgmt_assign_bulk(struct mgmt *m, const char *taid, const char *version, bool allow_downgrade,
    const int64_t *ids, size_t n, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	struct store_device d = { 0 };
	struct store_ta ta = { 0 };
	char object[80], detail[160], didhex[TAM_DID_HEX];
	int rc;

	if ((rc = store_ta_get(m->st, taid, &ta, err)) != TAM_OK)
		return rc;
	if (version != NULL)
		rc = store_ta_version_find(m->st, ta.id, version, &v, err);
	else if ((rc = store_ta_version_latest(m->st, ta.id, true, &v, err)) == TAM_ENOTFOUND)
		tam_err_setk(err, rc, "ta.no_version", "TA %s has no installable version", taid);
	if (rc == TAM_OK && v.withdrawn != 0)
		rc = tam_err_setk(err, TAM_ECONFLICT, "ta.version_withdrawn",
		    "version %s of TA %s is withdrawn", v.version, taid);
	if (rc != TAM_OK)
		goto out;
	snprintf(detail, sizeof(detail), "taid=%s version=%s bulk=%zu%s", taid,
	    version ? version : "latest", n, allow_downgrade ? " downgrade=allowed" : "");
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	for (size_t i = 0; i < n && rc == TAM_OK; i++) {
		store_device_clear(&d);
		if ((rc = store_device_get(m->st, ids[i], &d, err)) != TAM_OK)
			break;
		if (strcmp(d.state, "active") != 0) {
			tam_hex_encode(d.did, 32, didhex);
			rc = tam_err_setk(err, TAM_ECONFLICT, "device.not_active", "device %s is %s",
			    didhex, d.state);
			break;
		}
		tam_hex_encode(d.did, 32, didhex);
		snprintf(object, sizeof(object), "device:%s", didhex);
		if ((rc = store_assign(m->st, d.id, ta.id, version ? v.id : 0, allow_downgrade,
		    m->actor, err)) == TAM_OK)
			rc = store_audit(m->st, m->actor, "assign", object, detail, err);
	}
	if (rc != TAM_OK) {
		store_rollback(m->st);
		goto out;
	}
	rc = store_commit(m->st, err);
out:
	store_device_clear(&d);
	store_ta_version_clear(&v);
	return rc;
}

/* ---- management API tokens ---- */

int
mgmt_token_create(struct mgmt *m, bool admin, const char *spid, const char *description,
    int64_t expires, char token[MGMT_TOKEN_LEN + 1], struct store_token *out,
    struct tam_err *err)
{
	struct store_token t = { 0 };
	struct store_sp sp = { 0 };
	uint8_t idb[STORE_TOKID_LEN / 2], secret[32];
	char *s64 = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	token[0] = '\0';
	if (description == NULL)
		description = "";
	if (strlen(description) >= sizeof(t.description))
		return tam_err_setk(err, TAM_EUSAGE, "token.bad_description",
		    "description must be under %zu bytes", sizeof(t.description));
	for (const char *p = description; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return tam_err_setk(err, TAM_EUSAGE, "token.bad_description",
			    "description must not contain control characters");
	if (expires != 0 && expires <= tam_now())
		return tam_err_setk(err, TAM_EUSAGE, "token.bad_expiry",
		    "expiry time is in the past");
	if (!admin) {
		if ((rc = store_sp_get(m->st, spid, &sp, err)) != TAM_OK)
			return rc;
		t.sp_id = sp.id;
		memcpy(t.spid, sp.spid, sizeof(t.spid));
		store_sp_clear(&sp);
	}
	t.admin = admin;
	if (tam_random(idb, sizeof(idb)) != TAM_OK || tam_random(secret, sizeof(secret)) != TAM_OK)
		return tam_err_set(err, TAM_ECRYPTO, "no randomness");
	tam_hex_encode(idb, sizeof(idb), t.tokid);
	if (tam_b64url_encode(secret, sizeof(secret), &s64) != TAM_OK || strlen(s64) != 43) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	tam_sha256(s64, 43, t.hash);
	memcpy(t.description, description, strlen(description) + 1);
	snprintf(t.created_by, sizeof(t.created_by), "%s", m->actor);
	t.created = tam_now();
	t.expires = expires;
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_token_add(m->st, &t, &t.id, err), "token.create", t.tokid,
	    admin ? "role=admin" : t.spid, err);
	if (rc == TAM_OK) {
		snprintf(token, MGMT_TOKEN_LEN + 1, "tam_%s_%s", t.tokid, s64);
		*out = t;
	}
out:
	if (s64 != NULL)
		tam_wipe(s64, strlen(s64));
	free(s64);
	tam_wipe(secret, sizeof(secret));
	return rc;
}

int
mgmt_token_revoke(struct mgmt *m, const char *tokid, struct tam_err *err)
{
	int rc;

	if ((rc = begin(m, err)) != TAM_OK)
		return rc;
	return finish(m, store_token_revoke(m->st, tokid, tam_now(), err), "token.revoke", tokid,
	    "", err);
}

int
mgmt_token_check(struct store *st, const char *token, int64_t now, struct store_token *out,
    struct tam_err *err)
{
	char tokid[STORE_TOKID_LEN + 1];
	uint8_t h[32];
	int rc;

	memset(out, 0, sizeof(*out));
	if (token == NULL || strlen(token) != MGMT_TOKEN_LEN || strncmp(token, "tam_", 4) != 0 ||
	    token[4 + STORE_TOKID_LEN] != '_')
		return tam_err_setk(err, TAM_EDENIED, "auth.invalid_token", "invalid token");
	memcpy(tokid, token + 4, STORE_TOKID_LEN);
	tokid[STORE_TOKID_LEN] = '\0';
	rc = store_token_get(st, tokid, out, NULL);
	if (rc != TAM_OK && rc != TAM_ENOTFOUND && rc != TAM_EINVAL)
		return tam_err_set(err, rc, "cannot look the token up");
	/* Hash either way, so a valid id is not told apart by the time it takes. */
	tam_sha256(token + 5 + STORE_TOKID_LEN, 43, h);
	if (rc != TAM_OK || !tam_secure_eq(h, out->hash, sizeof(h)) || out->revoked != 0 ||
	    (out->expires != 0 && out->expires <= now)) {
		memset(out, 0, sizeof(*out));
		return tam_err_setk(err, TAM_EDENIED, "auth.invalid_token", "invalid token");
	}
	if ((rc = store_token_touch(st, out->id, now, NULL)) != TAM_OK)
		log_warn("event=token.touch tokid=%s result=%s", out->tokid, tam_err_name(rc));
	return TAM_OK;
}
