// SPDX-License-Identifier: MIT
/*
 * Management operations. Each one validates its input completely (names,
 * certificates, signatures, versions), then writes the change and its audit
 * record in a single transaction, so a failure leaves nothing behind.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tam/jose.h"
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
	/* TEEs encrypt to the TAM key; the daemon can only decrypt with RSA for now. */
	if (jose_key_type(pki_signer_public(signer)) != JOSE_KTY_RSA) {
		rc = tam_err_set(err, TAM_EUNSUPPORTED,
		    "the TAM key must be RSA: decrypting with an EC key (ECDH-ES) is not supported yet");
		goto out;
	}
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
	if ((rc = pki_cert_load(cert, len, &x, err)) != TAM_OK)
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
	if ((rc = pki_cert_load(cert, len, &x, err)) != TAM_OK)
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

int
mgmt_ta_add(struct mgmt *m, const char *spid, const char *taid, const char *version,
    const char *name, const uint8_t *bundle, size_t len, int64_t *version_id,
    struct tam_err *err)
{
	struct store_ta_version v = { 0 }, latest = { 0 };
	struct store_sp sp = { 0 };
	struct store_ta ta = { 0 };
	struct jose_key *key = NULL;
	uint8_t *binary = NULL;
	size_t binary_len = 0;
	bool new_ta = false;
	char detail[160];
	int rc;

	*version_id = 0;
	if (!tam_valid_name(taid, sizeof(ta.taid)))
		return tam_err_set(err, TAM_EUSAGE, "TA id must be 1-%zu of [A-Za-z0-9._:-]",
		    sizeof(ta.taid) - 1);
	if (name != NULL && (strlen(name) == 0 || strlen(name) >= sizeof(ta.name)))
		return tam_err_set(err, TAM_EUSAGE, "TA name must be 1-%zu bytes", sizeof(ta.name) - 1);
	if (tam_version_key(version, &v.version_key) != 0 || strlen(version) >= sizeof(v.version))
		return tam_err_set(err, TAM_EUSAGE,
		    "version \"%.40s\" is not MAJOR[.MINOR[.PATCH]] (each 0-65535)", version);
	if (len > TAM_MAX_TA_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, "TA bundle is larger than %u bytes",
		    TAM_MAX_TA_BYTES);
	if ((rc = store_sp_get(m->st, spid, &sp, err)) != TAM_OK)
		return rc;
	if ((rc = sp_key(&sp, &key, err)) != TAM_OK)
		goto out;
	rc = otrp_bundle_verify(bundle, len, key, &binary, &binary_len, err);
	if (rc != TAM_OK) {
		prefix_err(err, "TA bundle does not verify with the certificate of SP %s", spid);
		goto out;
	}
	rc = store_ta_get(m->st, taid, &ta, err);
	if (rc == TAM_ENOTFOUND) {
		new_ta = true;
		memset(&ta, 0, sizeof(ta));
		ta.sp_id = sp.id;
		memcpy(ta.taid, taid, strlen(taid) + 1);
		snprintf(ta.name, sizeof(ta.name), "%s", name != NULL ? name : taid);
		ta.created = tam_now();
	} else if (rc != TAM_OK) {
		goto out;
	} else if (ta.sp_id != sp.id) {
		rc = tam_err_set(err, TAM_ECONFLICT, "TA %s belongs to another SP", taid);
		goto out;
	} else {
		rc = store_ta_version_latest(m->st, ta.id, &latest, err);
		if (rc == TAM_OK && latest.version_key >= v.version_key) {
			rc = tam_err_set(err, TAM_ECONFLICT, "version %s is not newer than %s", version,
			    latest.version);
			goto out;
		}
		if (rc != TAM_OK && rc != TAM_ENOTFOUND)
			goto out;
	}
	memcpy(v.version, version, strlen(version) + 1);
	v.bundle = (uint8_t *)bundle;
	v.bundle_len = len;
	v.size = (int64_t)len;
	tam_sha256(bundle, len, v.digest);
	if ((rc = otrp_bundle_seal(bundle, len, v.enc_key, v.enc_iv, &v.enc_ta, &v.enc_ta_len, err)) != TAM_OK)
		goto out;
	v.created = tam_now();
	snprintf(v.created_by, sizeof(v.created_by), "%s", m->actor);
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	if (new_ta)
		rc = store_ta_add(m->st, &ta, &ta.id, err);
	v.ta_id = ta.id;
	if (rc == TAM_OK)
		rc = store_ta_version_add(m->st, &v, version_id, err);
	snprintf(detail, sizeof(detail), "version=%s size=%zu", version, len);
	rc = finish(m, rc, "ta.add", taid, detail, err);
out:
	v.bundle = NULL;
	store_ta_version_clear(&v);
	store_ta_version_clear(&latest);
	store_sp_clear(&sp);
	jose_key_free(key);
	free(binary);
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

int
mgmt_device_enroll(struct mgmt *m, const char *name, const uint8_t *data, size_t len,
    int64_t *device_id, struct tam_err *err)
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
	if ((rc = enroll_material(data, len, &d, &key, err)) != TAM_OK)
		goto out;
	if ((rc = jose_key_to_spki(key, &d.spki, &d.spki_len, err)) != TAM_OK ||
	    (rc = jose_key_thumbprint(key, d.thumbprint, err)) != TAM_OK)
		goto out;
	if (d.key_kind == STORE_KEY_RAW)
		tam_sha256(d.spki, d.spki_len, d.did);
	snprintf(d.profile, sizeof(d.profile), "default");
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
    struct tam_err *err)
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
	} else if ((rc = store_ta_version_latest(m->st, ta.id, &v, err)) != TAM_OK) {
		if (rc == TAM_ENOTFOUND)
			tam_err_set(err, rc, "TA %s has no version yet", taid);
		goto out;
	}
	snprintf(detail, sizeof(detail), "taid=%s version=%s", taid, version ? version : "latest");
	if ((rc = begin(m, err)) != TAM_OK)
		goto out;
	rc = finish(m, store_assign(m->st, d.id, ta.id, version ? v.id : 0, m->actor, err),
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
