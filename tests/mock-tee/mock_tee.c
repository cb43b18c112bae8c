// SPDX-License-Identifier: MIT
/*
 * The mock TEE's message processing: one TAM message in, one signed TEE
 * response out, following docs/protocol.md from the device side. It parses
 * and builds every message with jansson itself instead of src/otrp's codec,
 * so that a mistake in the codec cannot hide behind the same mistake here.
 * It is strict on purpose: whatever a real TEE could refuse, it refuses,
 * with the ERR_* code a TEE would send. State changes reach the disk only
 * after every check passed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tam/otrp.h"
#include "mock_int.h"

#define MT_DEFAULT_NAME "mock-tee"
/* A TAM message carries at most one TA bundle, base64-encoded inside JSON. */
#define MT_MAX_MSG_BYTES ((size_t)TAM_MAX_TA_BYTES * 2)
#define MT_TA_KEY_BYTES 32                   /* AES-256 key of encrypted_ta */
#define MT_TA_IV_BYTES 16                    /* AES-CBC IV of encrypted_ta */

enum mt_kind {
	MT_GET_DEVICE_STATE,
	MT_CREATE_SD,
	MT_INSTALL_TA,
	MT_DELETE_TA,
	MT_UPDATE_TA,
	MT_DELETE_SD,
	MT_UPDATE_SD,
};

/* Members of each TBS request; everything else is ERR_REQUEST_INVALID. */
static const char *const gds_members[] = { "ver", "rid", "tid", "ocspdat", "supportedsigalgs",
	NULL };
static const char *const req_members[] = { "ver", "rid", "tid", "tee", "nextdsi", "dsihash",
	"content", NULL };
static const char *const install_members[] = { "ver", "rid", "tid", "tee", "nextdsi", "dsihash",
	"content", "encrypted_ta", "encrypted_ta_data", NULL };
/* Required string members of each decrypted content, then the optional ones. */
static const char *const create_content[] = { "spid", "sdname", "spcert", "tamid", "did", NULL };
static const char *const install_content[] = { "tamid", "spid", "sdname", "taid", NULL };
static const char *const install_content_opt[] = { "spcert", NULL };
static const char *const delete_content[] = { "tamid", "sdname", "taid", NULL };
static const char *const delete_sd_content[] = { "tamid", "sdname", NULL };
static const char *const delete_sd_content_other[] = { "deleteta", NULL };
static const char *const update_sd_content[] = { "tamid", "spid", "sdname", NULL };
static const char *const update_sd_content_other[] = { "changes", NULL };
static const char *const sd_changes[] = { "newsdname", "newspid", "spcert", "deloldspcert",
	"renewteespaik", NULL };
static const char *const no_members[] = { NULL };
/*
 * The TA alone: personalization data comes in encrypted_ta_data under its own
 * key and iv, so a cipherpdata (ciphernewpdata) here is refused as unknown.
 */
static const char *const encrypted_ta_members[] = { "key", "iv", "alg", "ciphertadata", NULL };
/* UpdateTA: a new binary. */
static const char *const encrypted_newta_members[] = { "key", "iv", "alg", "ciphernewtadata",
	NULL };
static const char *const encrypted_ta_data_members[] = { "key", "iv", "alg", "cipherdata", NULL };

struct mt_names {
	enum mt_kind kind;
	const char *request;                 /* outer name of the TAM message */
	const char *tbs_request;             /* its payload's single member */
	const char *response;                /* outer name of our answer */
	const char *tbs_response;            /* its payload's single member */
	const char *const *members;          /* allowed TBS members */
	const char *const *content;          /* required content members (not GetDeviceState) */
	const char *const *content_opt;      /* optional content members */
	const char *const *content_other;    /* members of other types: the handler checks them */
};

static const struct mt_names msg_names[] = {
	{ MT_GET_DEVICE_STATE, "GetDeviceStateRequest", "GetDeviceStateTBSRequest",
	    "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse", gds_members, NULL, NULL, NULL },
	{ MT_CREATE_SD, "CreateSDRequest", "CreateSDTBSRequest",
	    "CreateSDResponse", "CreateSDTBSResponse", req_members, create_content, no_members,
	    NULL },
	{ MT_INSTALL_TA, "InstallTARequest", "InstallTATBSRequest",
	    "InstallTAResponse", "InstallTATBSResponse", install_members, install_content,
	    install_content_opt, NULL },
	{ MT_DELETE_TA, "DeleteTARequest", "DeleteTATBSRequest",
	    "DeleteTAResponse", "DeleteTATBSResponse", req_members, delete_content, no_members,
	    NULL },
	{ MT_UPDATE_TA, "UpdateTARequest", "UpdateTATBSRequest",
	    "UpdateTAResponse", "UpdateTATBSResponse", install_members, install_content,
	    install_content_opt, NULL },
	{ MT_DELETE_SD, "DeleteSDRequest", "DeleteSDTBSRequest",
	    "DeleteSDResponse", "DeleteSDTBSResponse", req_members, delete_sd_content,
	    no_members, delete_sd_content_other },
	{ MT_UPDATE_SD, "UpdateSDRequest", "UpdateSDTBSRequest",
	    "UpdateSDResponse", "UpdateSDTBSResponse", req_members, update_sd_content,
	    no_members, update_sd_content_other },
};

/* The one TEE entry inside a GetDeviceStateResponse array. */
#define MT_GDS_ENTRY "GetDeviceTEEStateResponse"

/* One TAM message on its way from bytes to answer. */
struct mt_msg {
	const struct mt_names *n;            /* what it is */
	json_t *doc;                         /* the whole message; owned */
	struct jose_jws *jws;                /* its signature; owned */
	struct jose_key *tam_key;            /* public key of the TAM certificate; owned */
	STACK_OF(X509) *tam_chain;           /* the verified x5c: leaf, intermediates; owned */
	char tamid[MT_TAMID_MAX];            /* identity of the TAM certificate */
	json_t *tbs;                         /* verified payload document; owned */
	json_t *body;                        /* the TBS object; borrowed from tbs */
	const char *rid;                     /* borrowed from body */
	const char *tid;                     /* borrowed from body */
	json_t *content;                     /* decrypted request content; owned */
	bool nextdsi;                        /* TAM asked for the new DSI */
};

/* What the TEE decided. */
struct mt_outcome {
	const char *code;                    /* NULL = pass, else the ERR_* refusal */
	char detail[160];                    /* why, sent as error-message */
	json_t *content;                     /* pass: response content after "did"; owned */
	json_t *algs;                        /* refusal of GetDeviceState: our supportedsigalgs */
};

static int refuse(struct mt_outcome *o, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record a refusal; the request is answered, so this is not an error. */
static int
refuse(struct mt_outcome *o, const char *code, const char *fmt, ...)
{
	va_list ap;

	o->code = code;
	va_start(ap, fmt);
	vsnprintf(o->detail, sizeof(o->detail), fmt, ap);
	va_end(ap);
	return TAM_OK;
}

static const char *
unknown_member(const json_t *obj, const char *const *allowed, const char *const *allowed2,
    const char *const *allowed3)
{
	const char *key;
	json_t *v;
	size_t i;
	bool ok;

	json_object_foreach((json_t *)obj, key, v) {
		ok = false;
		for (i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		for (i = 0; allowed2 != NULL && allowed2[i] != NULL && !ok; i++)
			ok = strcmp(key, allowed2[i]) == 0;
		for (i = 0; allowed3 != NULL && allowed3[i] != NULL && !ok; i++)
			ok = strcmp(key, allowed3[i]) == 0;
		if (!ok)
			return key;
	}
	return NULL;
}

static const char *
str_member(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

static void
msg_clear(struct mt_msg *m)
{
	json_decref(m->content);
	json_decref(m->tbs);
	jose_key_free(m->tam_key);
	sk_X509_pop_free(m->tam_chain, X509_free);
	jose_jws_free(m->jws);
	json_decref(m->doc);
}

/* ---- authentication of the TAM ---- */

/* The algorithms it verifies, as supportedsigalgs. */
static json_t *
sigalgs_array(const struct mock_tee *mt)
{
	json_t *a = json_array();

	for (const char *p = mt->sigalgs; a != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (json_array_append_new(a, json_stringn(p, len)) != 0) {
			json_decref(a);
			return NULL;
		}
		p += len + (p[len] == ',');
	}
	return a;
}

/*
 * header.x5c: leaf then intermediates, standard base64 DER. The chain must
 * reach a TAM anchor, the signature must verify with the leaf, and the
 * leaf names the TAM (tamid).
 */
static int
authenticate(struct mock_tee *mt, struct mt_msg *m, const json_t *jwsobj, struct tam_err *err)
{
	STACK_OF(X509) *untrusted = NULL;
	X509 *leaf = NULL, *x;
	const json_t *x5c, *v;
	uint8_t *der = NULL;
	size_t len = 0, i;
	int rc;

	if ((rc = jose_jws_parse(jwsobj, &m->jws, err)) != TAM_OK)
		return rc;
	if (!tam_list_has(mt->sigalgs, jose_jws_alg(m->jws)))
		return tam_err_set(err, TAM_EALG, "%s: signed with %s, this TEE verifies %s",
		    m->n->request, jose_jws_alg(m->jws), mt->sigalgs);
	x5c = json_object_get(jose_jws_unprotected(m->jws), "x5c");
	if (!json_is_array(x5c) || json_array_size(x5c) == 0 ||
	    json_array_size(x5c) > TAM_MAX_CHAIN_CERTS)
		return tam_err_set(err, TAM_EMALFORMED,
		    "%s: header.x5c must be an array of 1 to %d certificates", m->n->request,
		    TAM_MAX_CHAIN_CERTS);
	untrusted = sk_X509_new_null();
	if (untrusted == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	json_array_foreach(x5c, i, v) {
		if (!json_is_string(v) || mt_b64std_decode(json_string_value(v),
		    json_string_length(v), &der, &len) != TAM_OK) {
			rc = tam_err_set(err, TAM_EMALFORMED,
			    "%s: x5c[%zu] is not standard base64", m->n->request, i);
			goto out;
		}
		rc = pki_cert_from_der(der, len, &x, err);
		free(der);
		der = NULL;
		if (rc != TAM_OK)
			goto out;
		if (i == 0) {
			leaf = x;
		} else if (sk_X509_push(untrusted, x) <= 0) {
			X509_free(x);
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((rc = pki_verify_chain(mt->tam_trust, leaf, untrusted, 0, PKI_PURPOSE_SIGNER,
	    err)) != TAM_OK ||
	    (rc = pki_cert_public_key(leaf, &m->tam_key, err)) != TAM_OK ||
	    (rc = jose_jws_verify(m->jws, m->tam_key, err)) != TAM_OK ||
	    (rc = pki_cert_tamid(leaf, m->tamid, sizeof(m->tamid), err)) != TAM_OK)
		goto out;
	/* Kept for the OCSP check: the leaf first, then the intermediates. */
	if (sk_X509_unshift(untrusted, leaf) <= 0) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	leaf = NULL;
	m->tam_chain = untrusted;
	untrusted = NULL;
out:
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	return rc;
}

/* The verified payload: exactly {"<Name>TBSRequest": {...}} with usable rid and tid. */
static int
parse_tbs(struct mt_msg *m, struct tam_err *err)
{
	const uint8_t *p;
	json_error_t jerr;
	const char *key;
	size_t len;

	p = jose_jws_payload_unverified(m->jws, &len);
	m->tbs = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (m->tbs == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "%s: payload is not JSON (%s)",
		    m->n->request, jerr.text);
	if (!json_is_object(m->tbs) || json_object_size(m->tbs) != 1)
		return tam_err_set(err, TAM_EMALFORMED, "%s: payload must have one member",
		    m->n->request);
	key = json_object_iter_key(json_object_iter(m->tbs));
	if (strcmp(key, m->n->tbs_request) != 0)
		return tam_err_set(err, TAM_EMALFORMED, "%s: payload member is \"%.64s\", not %s",
		    m->n->request, key, m->n->tbs_request);
	m->body = json_object_get(m->tbs, key);
	if (!json_is_object(m->body))
		return tam_err_set(err, TAM_EMALFORMED, "%s: %s is not an object", m->n->request,
		    m->n->tbs_request);
	/* Without a usable rid and tid there is nothing to answer. */
	m->rid = str_member(m->body, "rid");
	m->tid = str_member(m->body, "tid");
	if (!tam_valid_name(m->rid, TAM_RID_MAX) || !tam_valid_name(m->tid, TAM_RID_MAX))
		return tam_err_set(err, TAM_EMALFORMED, "%s: rid and tid must be identifiers",
		    m->n->request);
	return TAM_OK;
}

static bool
rid_seen(const struct mock_tee *mt, const char *rid)
{
	size_t n = mt->n_rids < MT_RID_RING ? mt->n_rids : MT_RID_RING;

	for (size_t i = 0; i < n; i++)
		if (strcmp(mt->rids[i], rid) == 0)
			return true;
	return false;
}

static void
rid_record(struct mock_tee *mt, const char *rid)
{
	snprintf(mt->rids[mt->n_rids % MT_RID_RING], TAM_RID_MAX, "%s", rid);
	mt->n_rids++;
}

/* ---- state changes ---- */

/* Put next on disk, then make it the state; takes next in every case. */
static int
commit_state(struct mock_tee *mt, json_t *next, struct tam_err *err)
{
	int rc;

	if ((rc = mt_state_save(mt, next, err)) != TAM_OK) {
		json_decref(next);
		return rc;
	}
	json_decref(mt->state);
	mt->state = next;
	return TAM_OK;
}

/* Build the DSI the requesting TAM sees and remember it as the last one sent. */
static int
remember_dsi(struct mock_tee *mt, const struct mt_msg *m, struct tam_err *err)
{
	char *dsi = NULL;
	size_t len = 0;
	int rc;

	if ((rc = mt_dsi_build(mt, mt->state, m->tamid, &dsi, &len, err)) != TAM_OK)
		return rc;
	free(mt->last_dsi);
	mt->last_dsi = dsi;
	mt->last_dsi_len = len;
	return TAM_OK;
}

/* After a committed change: the new DSI, in the content when the TAM asked for it. */
static int
add_dsi(struct mock_tee *mt, const struct mt_msg *m, struct mt_outcome *o, struct tam_err *err)
{
	int rc;

	if ((rc = remember_dsi(mt, m, err)) != TAM_OK)
		return rc;
	if (m->nextdsi && json_object_set_new(o->content, "dsi",
	    json_stringn(mt->last_dsi, mt->last_dsi_len)) != 0)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	return TAM_OK;
}

/* A DER certificate from a B64 member; NULL if it is not one. */
static X509 *
cert_from_b64(const char *s)
{
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *x = NULL;

	if (s == NULL || mt_b64std_decode(s, strlen(s), &der, &len) != TAM_OK)
		return NULL;
	if (pki_cert_from_der(der, len, &x, NULL) != TAM_OK)
		x = NULL;
	free(der);
	return x;
}

/* Canonical B64 of a certificate's DER; *out malloc'd. */
static int
cert_b64(X509 *x, char **out, struct tam_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = pki_cert_to_der(x, &der, &len, err)) != TAM_OK)
		return rc;
	if (tam_b64_encode(der, len, out) != TAM_OK)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	free(der);
	return rc;
}

/* ---- GetDeviceState ---- */

/* The issuer of x: the next certificate of the chain, or an anchor. */
static X509 *
issuer_of(const struct mock_tee *mt, STACK_OF(X509) *chain, int i)
{
	X509 *x = sk_X509_value(chain, i);

	if (i + 1 < sk_X509_num(chain))
		return sk_X509_value(chain, i + 1);
	for (int k = 0; k < sk_X509_num(mt->tam_anchor_certs); k++)
		if (X509_check_issued(sk_X509_value(mt->tam_anchor_certs, k), x) == X509_V_OK)
			return sk_X509_value(mt->tam_anchor_certs, k);
	return NULL;
}

/*
 * ocspdat: one response per certificate of the TAM's chain, in its order,
 * each signed by its issuer (or a delegate) and good now. Checked whenever
 * sent; required when the mock was told to (require_ocsp).
 */
static int
check_ocsp(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o, struct tam_err *err)
{
	const json_t *ocsp = json_object_get(m->body, "ocspdat"), *v;
	struct tam_err e = { 0 };
	uint8_t *der = NULL;
	size_t len = 0, i;
	X509 *issuer;
	int rc;

	(void)err;
	mt->last_ocsp_count = json_array_size(ocsp);
	if (json_array_size(ocsp) == 0 && !mt->require_ocsp)
		return TAM_OK;
	if (json_array_size(ocsp) != (size_t)sk_X509_num(m->tam_chain))
		return refuse(o, "ERR_TAM_NOT_TRUSTED", "ocspdat has %zu responses for a chain of %d",
		    json_array_size(ocsp), sk_X509_num(m->tam_chain));
	json_array_foreach(ocsp, i, v) {
		issuer = issuer_of(mt, m->tam_chain, (int)i);
		if (!json_is_string(v) || mt_b64std_decode(json_string_value(v), json_string_length(v),
		    &der, &len) != TAM_OK)
			return refuse(o, "ERR_REQUEST_INVALID", "ocspdat[%zu] is not base64", i);
		rc = issuer != NULL ? pki_ocsp_check(mt->tam_trust, der, len,
		    sk_X509_value(m->tam_chain, (int)i), issuer, m->tam_chain, tam_now(), &e) :
		    tam_err_set(&e, TAM_ECERT_UNTRUSTED, "no issuer for ocspdat[%zu]", i);
		free(der);
		der = NULL;
		if (rc != TAM_OK)
			return refuse(o, "ERR_TAM_NOT_TRUSTED", "ocspdat[%zu]: %s", i, e.msg);
	}
	return TAM_OK;
}

/* TAs installed, in all SDs. */
static size_t
count_tas(const json_t *st)
{
	const json_t *sd;
	size_t i, n = 0;

	json_array_foreach(json_object_get(st, "sds"), i, sd)
		n += json_array_size(json_object_get(sd, "tas"));
	return n;
}

static int
handle_gds(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o, struct tam_err *err)
{
	const char *alg = jose_key_sig_alg(mt->key);
	const json_t *algs, *v;
	bool ours = false;
	size_t i;
	int rc;

	if (!json_is_array(json_object_get(m->body, "ocspdat")))
		return refuse(o, "ERR_REQUEST_INVALID", "ocspdat must be an array");
	if (mt->tfw_untrusted)
		return refuse(o, "ERR_TFW_NOT_TRUSTED", "the firmware failed its attestation");
	if ((rc = check_ocsp(mt, m, o, err)) != TAM_OK || o->code != NULL)
		return rc;
	algs = json_object_get(m->body, "supportedsigalgs");
	if (algs != NULL) {
		if (!json_is_array(algs))
			return refuse(o, "ERR_REQUEST_INVALID",
			    "supportedsigalgs must be an array");
		json_array_foreach(algs, i, v) {
			if (!json_is_string(v))
				return refuse(o, "ERR_REQUEST_INVALID",
				    "supportedsigalgs must hold strings");
			ours = ours || strcmp(json_string_value(v), alg) == 0;
		}
		if (!ours) {
			/* Spec §3.3: the TEE must sign with an alg the TAM listed. */
			o->algs = json_pack("[s]", alg);
			if (o->algs == NULL)
				return tam_err_set(err, TAM_ENOMEM, "out of memory");
			return refuse(o, "ERR_UNSUPPORTED_CRYPTO_ALG", "the TAM does not accept %s",
			    alg);
		}
	}
	if ((rc = remember_dsi(mt, m, err)) != TAM_OK)
		return rc;
	snprintf(mt->tid, sizeof(mt->tid), "%s", m->tid);
	return TAM_OK;
}

/* ---- checks every state-changing request shares ---- */

static int
request_common(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o)
{
	uint8_t md[32], *pt = NULL;
	const char *tee, *hash, *bad;
	char *want = NULL, *now = NULL;
	const json_t *v;
	json_error_t jerr;
	size_t len = 0, now_len = 0;
	int rc = TAM_OK;

	tee = str_member(m->body, "tee");
	if (tee == NULL || strcmp(tee, mt->name) != 0)
		return refuse(o, "ERR_REQUEST_INVALID", "tee does not name this TEE");
	if (mt->tid[0] == '\0' || strcmp(m->tid, mt->tid) != 0)
		return refuse(o, "ERR_REQUEST_INVALID",
		    "tid is not the one of the last GetDeviceStateRequest");
	v = json_object_get(m->body, "nextdsi");
	if (!json_is_boolean(v))
		return refuse(o, "ERR_REQUEST_INVALID", "nextdsi must be a boolean");
	m->nextdsi = json_is_true(v);
	hash = str_member(m->body, "dsihash");
	if (hash == NULL)
		return refuse(o, "ERR_REQUEST_INVALID", "dsihash must be a string");
	if (mt->last_dsi == NULL)
		return refuse(o, "ERR_DEV_STATE_MISMATCH", "no DSI was sent yet");
	/* The state as it is now, which a local change may have moved from the last one sent. */
	if (mt_dsi_build(mt, mt->state, m->tamid, &now, &now_len, NULL) != TAM_OK)
		return refuse(o, "ERR_TEE_FAIL", "cannot build the DSI");
	tam_sha256((const uint8_t *)now, now_len, md);
	free(now);
	if (tam_b64_encode(md, sizeof(md), &want) != TAM_OK)
		return refuse(o, "ERR_TEE_FAIL", "out of memory");
	if (strcmp(hash, want) != 0)
		rc = refuse(o, "ERR_DEV_STATE_MISMATCH", "dsihash %.48s is not B64(SHA-256) of "
		    "the current DSI (%s)", hash, want);
	free(want);
	if (o->code != NULL)
		return rc;
	v = json_object_get(m->body, "content");
	if (!json_is_object(v))
		return refuse(o, "ERR_REQUEST_INVALID", "content must be a JWE object");
	if (jose_jwe_suite(v, mt->last_content_alg, mt->last_content_enc, NULL) != TAM_OK ||
	    jose_jwe_decrypt(mt->key, v, &pt, &len, NULL) != TAM_OK)
		return refuse(o, "ERR_REQUEST_INVALID",
		    "content does not decrypt with the TEE key");
	m->content = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, &jerr);
	tam_wipe(pt, len);
	free(pt);
	if (!json_is_object(m->content))
		return refuse(o, "ERR_REQUEST_INVALID", "content is not a JSON object");
	if ((bad = unknown_member(m->content, m->n->content, m->n->content_opt,
	    m->n->content_other)) != NULL)
		return refuse(o, "ERR_REQUEST_INVALID", "content has unknown member \"%.32s\"",
		    bad);
	for (size_t i = 0; m->n->content[i] != NULL; i++)
		if (str_member(m->content, m->n->content[i]) == NULL)
			return refuse(o, "ERR_REQUEST_INVALID", "content.%s must be a string",
			    m->n->content[i]);
	for (size_t i = 0; m->n->content_opt[i] != NULL; i++) {
		v = json_object_get(m->content, m->n->content_opt[i]);
		if (v != NULL && !json_is_string(v))
			return refuse(o, "ERR_REQUEST_INVALID", "content.%s must be a string",
			    m->n->content_opt[i]);
	}
	if (strcmp(str_member(m->content, "tamid"), m->tamid) != 0)
		return refuse(o, "ERR_TAM_NOT_AUTHORIZED",
		    "content.tamid is not the identity of the signing certificate");
	return TAM_OK;
}

/* ---- CreateSD ---- */

static int
handle_create_sd(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o,
    struct tam_err *err)
{
	const char *spid = str_member(m->content, "spid");
	const char *sdname = str_member(m->content, "sdname");
	const struct jose_key *aik = NULL;
	struct tam_err e = { 0 };
	uint8_t did[32];
	json_t *next = NULL, *sd;
	char *spcert = NULL, *spaik = NULL;
	X509 *cert = NULL;
	int rc = TAM_OK;

	if (!tam_valid_name(spid, TAM_SPID_MAX) || spid[0] == '.' ||
	    !tam_valid_name(sdname, TAM_SDNAME_MAX) || sdname[0] == '.')
		return refuse(o, "ERR_REQUEST_INVALID", "spid and sdname must be plain names");
	if (otrp_did_decode(str_member(m->content, "did"), did) != TAM_OK)
		return refuse(o, "ERR_REQUEST_INVALID", "did is not a SHA-256 value");
	if (memcmp(did, mt->did, sizeof(did)) != 0)
		return refuse(o, "ERR_REQUEST_INVALID", "did names another device");
	if (mt_state_sd(mt->state, sdname) != NULL)
		return refuse(o, "ERR_SD_ALREADY_EXISTS", "SD %s exists", sdname);
	cert = cert_from_b64(str_member(m->content, "spcert"));
	if (cert == NULL)
		return refuse(o, "ERR_SPCERT_INVALID", "spcert is not a B64 DER certificate");
	if ((rc = cert_b64(cert, &spcert, err)) != TAM_OK)
		goto out;
	next = json_deep_copy(mt->state);
	sd = json_pack("{s:s,s:s,s:s,s:[s],s:[]}", "name", sdname, "spid", spid, "owner",
	    m->tamid, "spcerts", spcert, "tas");
	if (next == NULL || json_array_append_new(json_object_get(next, "sds"), sd) != 0) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (mt_aik_ensure(mt, spid, &aik, &e) != TAM_OK) {
		rc = refuse(o, "ERR_TEE_FAIL", "cannot make the SP AIK: %s", e.msg);
		goto out;
	}
	rc = commit_state(mt, next, &e);
	next = NULL;
	if (rc != TAM_OK) {
		rc = refuse(o, "ERR_TEE_FAIL", "cannot store the state: %s", e.msg);
		goto out;
	}
	if ((rc = mt_spki_b64(aik, &spaik, err)) != TAM_OK)
		goto out;
	o->content = json_pack("{s:s,s:s,s:s}", "sdname", sdname, "teespaik", spaik,
	    "teespaiktype", MT_AIK_TYPE(mt));
	if (o->content == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	rc = add_dsi(mt, m, o, err);
out:
	json_decref(next);
	X509_free(cert);
	free(spcert);
	free(spaik);
	return rc;
}

/* ---- InstallTA ---- */

/* Does the SP-signed bundle verify with the certificate in B64 s? */
static bool
bundle_signed_by(const struct jose_jws *bundle, const char *s)
{
	struct jose_key *k = NULL;
	X509 *x = cert_from_b64(s);
	bool ok;

	if (x == NULL)
		return false;
	ok = pki_cert_public_key(x, &k, NULL) == TAM_OK &&
	    jose_jws_verify(bundle, k, NULL) == TAM_OK;
	jose_key_free(k);
	X509_free(x);
	return ok;
}

/*
 * Decrypt what obj (named what) holds in its member data_name: its key
 * unwrapped with the SP AIK, AES-256-CBC with its iv. Refusals go to o.
 */
static int
open_sealed(struct mock_tee *mt, const json_t *obj, const char *what, const char *data_name,
    const char *spid, struct mt_outcome *o, uint8_t **pt, size_t *pt_len)
{
	const json_t *keyjwe = json_object_get(obj, "key");
	const struct jose_key *aik = NULL;
	uint8_t iv[MT_TA_IV_BYTES], *key = NULL, *ct = NULL;
	const char *alg = str_member(obj, "alg"), *ivhex = str_member(obj, "iv");
	const char *data = str_member(obj, data_name);
	size_t keylen = 0, ctlen = 0;
	int rc = TAM_OK;

	if (alg == NULL || ivhex == NULL || data == NULL || !json_is_object(keyjwe))
		return refuse(o, "ERR_REQUEST_INVALID", "%s needs key (JWE), iv, alg and %s", what,
		    data_name);
	if (strcmp(alg, "AESCBC") != 0)
		return refuse(o, "ERR_UNSUPPORTED_CRYPTO_ALG", "%s.alg %.32s", what, alg);
	if (tam_hex_decode(ivhex, strlen(ivhex), iv, sizeof(iv)) != TAM_OK)
		return refuse(o, "ERR_REQUEST_INVALID", "%s.iv must be 32 hex digits", what);
	if (mt_aik_get(mt, spid, &aik, NULL) != TAM_OK || aik == NULL)
		return refuse(o, "ERR_TEE_FAIL", "SP %s has no AIK", spid);
	if (jose_jwe_decrypt(aik, keyjwe, &key, &keylen, NULL) != TAM_OK) {
		rc = refuse(o, "ERR_TA_INVALID", "%s.key does not decrypt with the SP AIK", what);
		goto out;
	}
	if (keylen != MT_TA_KEY_BYTES) {
		rc = refuse(o, "ERR_TA_INVALID", "%s.key holds %zu bytes, not %d", what, keylen,
		    MT_TA_KEY_BYTES);
		goto out;
	}
	if (mt_b64std_decode(data, strlen(data), &ct, &ctlen) != TAM_OK)
		rc = refuse(o, "ERR_REQUEST_INVALID", "%s is not standard base64", data_name);
	else if (otrp_bundle_open(ct, ctlen, key, iv, pt, pt_len, NULL) != TAM_OK)
		rc = refuse(o, "ERR_TA_INVALID", "%s does not decrypt", data_name);
out:
	if (key != NULL) {
		tam_wipe(key, keylen);
		free(key);
	}
	free(ct);
	return rc;
}

/* Decrypt encrypted_ta to the SP-signed bundle (a plaintext JWS). */
static int
open_encrypted_ta(struct mock_tee *mt, const struct mt_msg *m, const char *spid, bool update,
    struct mt_outcome *o, uint8_t **bundle, size_t *bundle_len)
{
	const json_t *eta = json_object_get(m->body, "encrypted_ta");
	const char *bad;

	*bundle = NULL;
	*bundle_len = 0;
	if (!json_is_object(eta))
		return refuse(o, "ERR_REQUEST_INVALID", "encrypted_ta must be an object");
	if ((bad = unknown_member(eta, update ? encrypted_newta_members : encrypted_ta_members, NULL,
	    NULL)) != NULL)
		return refuse(o, "ERR_REQUEST_INVALID", "encrypted_ta has unknown member \"%.32s\"",
		    bad);
	return open_sealed(mt, eta, "encrypted_ta", update ? "ciphernewtadata" : "ciphertadata",
	    spid, o, bundle, bundle_len);
}

/*
 * Personalization data, if the message has any: encrypted_ta_data (spec,
 * Security Considerations), the same in InstallTA and UpdateTA, with its
 * own key and iv. *pdata stays NULL without it.
 */
static int
open_encrypted_ta_data(struct mock_tee *mt, const struct mt_msg *m, const char *spid,
    struct mt_outcome *o, uint8_t **pdata, size_t *pdata_len)
{
	const json_t *etd = json_object_get(m->body, "encrypted_ta_data");
	const char *bad;

	*pdata = NULL;
	*pdata_len = 0;
	if (etd == NULL)
		return TAM_OK;
	if (!json_is_object(etd))
		return refuse(o, "ERR_REQUEST_INVALID", "encrypted_ta_data must be an object");
	if ((bad = unknown_member(etd, encrypted_ta_data_members, NULL, NULL)) != NULL)
		return refuse(o, "ERR_REQUEST_INVALID",
		    "encrypted_ta_data has unknown member \"%.32s\"", bad);
	return open_sealed(mt, etd, "encrypted_ta_data", "cipherdata", spid, o, pdata, pdata_len);
}

/* InstallTA puts a new TA in an SD; UpdateTA (update) replaces one that is there. */
static int
handle_install_ta(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o, bool update,
    struct tam_err *err)
{
	const char *spid = str_member(m->content, "spid");
	const char *sdname = str_member(m->content, "sdname");
	const char *taid = str_member(m->content, "taid");
	const char *spcert = str_member(m->content, "spcert");
	struct jose_jws *jws = NULL;
	struct tam_err e = { 0 };
	const uint8_t *ta;
	uint8_t *bundle = NULL, *pdata = NULL;
	size_t bundle_len = 0, pdata_len = 0, ta_len = 0, i;
	char path[PATH_MAX], *newcert = NULL;
	json_t *sd, *doc = NULL, *next = NULL, *nsd, *c;
	X509 *x = NULL;
	bool by_registered = false, written = false;
	int rc = TAM_OK;

	if (!tam_valid_name(spid, TAM_SPID_MAX) || !tam_valid_name(sdname, TAM_SDNAME_MAX) ||
	    !tam_valid_name(taid, TAM_TAID_MAX) || taid[0] == '.')
		return refuse(o, "ERR_REQUEST_INVALID",
		    "spid, sdname and taid must be plain names");
	sd = mt_state_sd(mt->state, sdname);
	if (sd == NULL)
		return refuse(o, "ERR_SD_NOT_FOUND", "no SD %s", sdname);
	if (strcmp(str_member(sd, "owner"), m->tamid) != 0)
		return refuse(o, "ERR_TAM_NOT_AUTHORIZED", "SD %s belongs to another TAM", sdname);
	if (strcmp(str_member(sd, "spid"), spid) != 0)
		return refuse(o, "ERR_TAM_NOT_AUTHORIZED", "SD %s belongs to another SP", sdname);
	if (!update && mt_state_sd_of_ta(mt->state, taid) != NULL)
		return refuse(o, "ERR_TA_ALREADY_INSTALLED", "TA %s is installed", taid);
	if (!update && mt->max_tas > 0 && count_tas(mt->state) >= mt->max_tas)
		return refuse(o, "ERR_TEE_RESOURCE_FULL", "room for %zu TAs only", mt->max_tas);
	if (update && mt_state_sd_of_ta(mt->state, taid) != sd)
		return refuse(o, "ERR_TA_NOT_FOUND", "TA %s is not installed in SD %s", taid, sdname);
	if (spcert != NULL) {
		x = cert_from_b64(spcert);
		if (x == NULL)
			return refuse(o, "ERR_REQUEST_INVALID",
			    "spcert is not a B64 DER certificate");
		if ((rc = cert_b64(x, &newcert, err)) != TAM_OK)
			goto out;
	}
	if ((rc = open_encrypted_ta(mt, m, spid, update, o, &bundle, &bundle_len)) != TAM_OK ||
	    o->code != NULL ||
	    (rc = open_encrypted_ta_data(mt, m, spid, o, &pdata, &pdata_len)) != TAM_OK ||
	    o->code != NULL)
		goto out;
	/* The SP's JWS in either serialization, as the TAM received it. */
	if (otrp_bundle_is_json(bundle, bundle_len)) {
		doc = json_loadb((const char *)bundle, bundle_len, JSON_REJECT_DUPLICATES, NULL);
		if (doc == NULL || jose_jws_parse(doc, &jws, NULL) != TAM_OK)
			jws = NULL;
	} else if (jose_jws_parse_compact((const char *)bundle, bundle_len, &jws, NULL) != TAM_OK) {
		jws = NULL;
	}
	if (jws == NULL) {
		rc = refuse(o, "ERR_TA_INVALID", "the TA bundle is not a JWS");
		goto out;
	}
	json_array_foreach(json_object_get(sd, "spcerts"), i, c)
		if (!by_registered)
			by_registered = bundle_signed_by(jws, json_string_value(c));
	if (!by_registered && (newcert == NULL || !bundle_signed_by(jws, newcert))) {
		rc = refuse(o, "ERR_TA_INVALID",
		    "the TA bundle is not signed by an SP certificate of SD %s", sdname);
		goto out;
	}
	ta = jose_jws_payload_unverified(jws, &ta_len);
	if (ta_len == 0) {
		rc = refuse(o, "ERR_TA_INVALID", "the TA bundle is empty");
		goto out;
	}
	next = json_deep_copy(mt->state);
	nsd = next != NULL ? mt_state_sd(next, sdname) : NULL;
	if (nsd == NULL || (!update && json_array_append_new(json_object_get(nsd, "tas"),
	    json_pack("{s:s,s:s}", "taid", taid, "taname", taid)) != 0) ||
	    (!by_registered && json_array_append_new(json_object_get(nsd, "spcerts"),
	    json_string(newcert)) != 0)) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	/* Personalization data first (an update without new data keeps the old), then the TA. */
	if (pdata != NULL &&
	    (mt_path(mt, MT_TA_DIR, "", taid, ".pdata", path, sizeof(path), &e) != TAM_OK ||
	    tam_file_write_atomic(path, pdata, pdata_len, 0600, &e) != TAM_OK)) {
		rc = refuse(o, "ERR_TEE_FAIL", "cannot store the personalization data: %s", e.msg);
		goto out;
	}
	if (mt_path(mt, MT_TA_DIR, "", taid, ".ta", path, sizeof(path), &e) != TAM_OK ||
	    tam_file_write_atomic(path, ta, ta_len, 0600, &e) != TAM_OK) {
		rc = refuse(o, "ERR_TEE_FAIL", "cannot store the TA: %s", e.msg);
		goto out;
	}
	written = true;
	rc = commit_state(mt, next, &e);
	next = NULL;
	if (rc != TAM_OK) {
		rc = refuse(o, "ERR_TEE_FAIL", "cannot store the state: %s", e.msg);
		goto out;
	}
	written = false;
	o->content = json_object();
	if (o->content == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	rc = add_dsi(mt, m, o, err);
out:
	/* A new TA that could not be recorded goes; a replaced one cannot be put back. */
	if (written && !update)
		unlink(path);
	json_decref(next);
	jose_jws_free(jws);
	json_decref(doc);
	if (bundle != NULL) {
		tam_wipe(bundle, bundle_len);
		free(bundle);
	}
	if (pdata != NULL) {
		tam_wipe(pdata, pdata_len);
		free(pdata);
	}
	X509_free(x);
	free(newcert);
	return rc;
}

/* ---- DeleteTA ---- */

static int
handle_delete_ta(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o,
    struct tam_err *err)
{
	const char *sdname = str_member(m->content, "sdname");
	const char *taid = str_member(m->content, "taid");
	struct tam_err e = { 0 };
	char path[PATH_MAX];
	json_t *sd, *next;
	long idx;
	int rc;

	if (!tam_valid_name(sdname, TAM_SDNAME_MAX) || !tam_valid_name(taid, TAM_TAID_MAX) ||
	    taid[0] == '.')
		return refuse(o, "ERR_REQUEST_INVALID", "sdname and taid must be plain names");
	sd = mt_state_sd(mt->state, sdname);
	if (sd == NULL)
		return refuse(o, "ERR_SD_NOT_FOUND", "no SD %s", sdname);
	if (strcmp(str_member(sd, "owner"), m->tamid) != 0)
		return refuse(o, "ERR_TAM_NOT_AUTHORIZED", "SD %s belongs to another TAM", sdname);
	idx = mt_sd_ta_index(sd, taid);
	if (idx < 0)
		return refuse(o, "ERR_TA_NOT_FOUND", "TA %s is not in SD %s", taid, sdname);
	if ((rc = mt_path(mt, MT_TA_DIR, "", taid, ".ta", path, sizeof(path), err)) != TAM_OK)
		return rc;
	next = json_deep_copy(mt->state);
	if (next == NULL || json_array_remove(json_object_get(mt_state_sd(next, sdname), "tas"),
	    (size_t)idx) != 0) {
		json_decref(next);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	if (commit_state(mt, next, &e) != TAM_OK)
		return refuse(o, "ERR_TEE_FAIL", "cannot store the state: %s", e.msg);
	/* The entry is gone; a file left behind would only be garbage, but say so. */
	if (unlink(path) != 0 && errno != ENOENT)
		return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
	/* Its personalization data goes with it (spec 5.7: SHOULD). */
	if (mt_path(mt, MT_TA_DIR, "", taid, ".pdata", path, sizeof(path), err) != TAM_OK)
		return err->code;
	if (unlink(path) != 0 && errno != ENOENT)
		return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
	o->content = json_object();
	if (o->content == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	return add_dsi(mt, m, o, err);
}

/* ---- DeleteSD ---- */

/* Remove SD sdname (it exists) with its TAs' files, and its SP's AIK with the SP's last SD. */
static int
drop_sd(struct mock_tee *mt, const char *sdname, struct tam_err *err)
{
	char spid[TAM_SPID_MAX], path[PATH_MAX];
	json_t *sd = mt_state_sd(mt->state, sdname), *next, *sds, *gone, *ta, *other;
	bool last = true;
	size_t i, at = 0;
	int rc;

	snprintf(spid, sizeof(spid), "%s", str_member(sd, "spid"));
	/* The SD's TAs, kept apart: committing frees the state sd points into. */
	if ((gone = json_deep_copy(json_object_get(sd, "tas"))) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if ((next = json_deep_copy(mt->state)) == NULL) {
		json_decref(gone);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	sds = json_object_get(next, "sds");
	json_array_foreach(sds, i, other) {
		if (strcmp(str_member(other, "name"), sdname) == 0)
			at = i;
		else if (strcmp(str_member(other, "spid"), spid) == 0)
			last = false;
	}
	if (json_array_remove(sds, at) != 0) {
		json_decref(next);
		json_decref(gone);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	if ((rc = commit_state(mt, next, err)) != TAM_OK) {
		json_decref(gone);
		return rc;
	}
	/* Gone from the state, so the files are garbage: remove them, and the AIK with the last SD. */
	json_array_foreach(gone, i, ta)
		if (mt_path(mt, MT_TA_DIR, "", str_member(ta, "taid"), ".ta", path, sizeof(path),
		    NULL) == TAM_OK)
			unlink(path);
	json_decref(gone);
	return last ? mt_aik_forget(mt, spid, err) : TAM_OK;
}

int
mock_tee_reset_sd(struct mock_tee *mt, const char *sdname)
{
	if (mt_state_sd(mt->state, sdname) == NULL)
		return -1;
	return drop_sd(mt, sdname, NULL) == TAM_OK ? 0 : -1;
}

int
mock_tee_claim_sd(struct mock_tee *mt, const char *sdname, const char *spid)
{
	const struct jose_key *aik = NULL;
	json_t *next = json_deep_copy(mt->state), *sd;

	sd = json_pack("{s:s,s:s,s:s,s:[],s:[]}", "name", sdname, "spid", spid, "owner",
	    MT_OWNER_ANY, "spcerts", "tas");
	if (next == NULL || json_array_append_new(json_object_get(next, "sds"), sd) != 0 ||
	    mt_aik_ensure(mt, spid, &aik, NULL) != TAM_OK) {
		json_decref(next);
		return -1;
	}
	return commit_state(mt, next, NULL) == TAM_OK ? 0 : -1;
}

static int
handle_delete_sd(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o,
    struct tam_err *err)
{
	const char *sdname = str_member(m->content, "sdname");
	const json_t *deleteta = json_object_get(m->content, "deleteta");
	struct tam_err e = { 0 };
	json_t *sd;

	if (!tam_valid_name(sdname, TAM_SDNAME_MAX))
		return refuse(o, "ERR_REQUEST_INVALID", "sdname must be a plain name");
	if (!json_is_boolean(deleteta))
		return refuse(o, "ERR_REQUEST_INVALID", "deleteta must be true or false");
	sd = mt_state_sd(mt->state, sdname);
	if (sd == NULL)
		return refuse(o, "ERR_SD_NOT_FOUND", "no SD %s", sdname);
	if (strcmp(str_member(sd, "owner"), m->tamid) != 0)
		return refuse(o, "ERR_TAM_NOT_AUTHORIZED", "SD %s belongs to another TAM", sdname);
	if (json_array_size(json_object_get(sd, "tas")) > 0 && !json_is_true(deleteta))
		return refuse(o, "ERR_SD_NOT_EMPTY", "SD %s holds TAs", sdname);
	if (drop_sd(mt, sdname, &e) != TAM_OK)
		return refuse(o, "ERR_TEE_FAIL", "cannot delete SD %s: %s", sdname, e.msg);
	o->content = json_object();
	if (o->content == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	return add_dsi(mt, m, o, err);
}

/* ---- UpdateSD ---- */

/* SHA-256 hex of the DER certificate in B64 b64; false if it is none. */
static bool
cert_fp_hex(const char *b64, char hex[65])
{
	X509 *x = cert_from_b64(b64);
	uint8_t fp[32];
	bool ok;

	ok = x != NULL && pki_cert_sha256(x, fp) == TAM_OK;
	if (ok)
		tam_hex_encode(fp, 32, hex);
	X509_free(x);
	return ok;
}

/* Apply "changes" to nsd (a copy of the SD); a refusal sets o->code. */
static int
update_sd_changes(struct mock_tee *mt, const json_t *ch, json_t *nsd, struct mt_outcome *o,
    struct tam_err *err)
{
	const json_t *add = json_object_get(ch, "spcert"), *del = json_object_get(ch, "deloldspcert");
	const char *newname = str_member(ch, "newsdname");
	json_t *certs = json_object_get(nsd, "spcerts"), *v, *c;
	char hex[65], *norm = NULL;
	size_t i, j;
	X509 *x;

	if (json_object_get(ch, "newspid") != NULL)
		return refuse(o, "ERR_REQUEST_INVALID", "changing the SP ID is not supported");
	if (json_object_get(ch, "newsdname") != NULL) {
		if (newname == NULL || !tam_valid_name(newname, TAM_SDNAME_MAX) || newname[0] == '.')
			return refuse(o, "ERR_REQUEST_INVALID", "newsdname must be a plain name");
		if (mt_state_sd(mt->state, newname) != NULL)
			return refuse(o, "ERR_SDNAME_ALREADY_USED", "SD %s exists", newname);
		if (json_object_set_new(nsd, "name", json_string(newname)) != 0)
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	if (del != NULL && !json_is_array(del))
		return refuse(o, "ERR_REQUEST_INVALID", "deloldspcert must be an array");
	json_array_foreach(del, i, v) {
		if (!json_is_string(v))
			return refuse(o, "ERR_REQUEST_INVALID", "deloldspcert holds a non-string");
		for (j = 0; j < json_array_size(certs);) {
			c = json_array_get(certs, j);
			if (cert_fp_hex(json_string_value(c), hex) &&
			    strcasecmp(hex, json_string_value(v)) == 0)
				json_array_remove(certs, j);
			else
				j++;
		}
	}
	if (add != NULL && !json_is_array(add))
		return refuse(o, "ERR_REQUEST_INVALID", "spcert must be an array");
	json_array_foreach(add, i, v) {
		if ((x = cert_from_b64(json_string_value(v))) == NULL)
			return refuse(o, "ERR_SPCERT_INVALID", "spcert %zu is not a B64 DER certificate", i);
		if (cert_b64(x, &norm, err) != TAM_OK || json_array_append_new(certs,
		    json_string(norm)) != 0) {
			X509_free(x);
			free(norm);
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		}
		X509_free(x);
		free(norm);
		norm = NULL;
	}
	return TAM_OK;
}

static int
handle_update_sd(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o,
    struct tam_err *err)
{
	const char *spid = str_member(m->content, "spid");
	const char *sdname = str_member(m->content, "sdname");
	const json_t *ch = json_object_get(m->content, "changes"), *renew;
	const struct jose_key *aik = NULL;
	struct tam_err e = { 0 };
	json_t *sd, *next = NULL, *nsd;
	const char *bad;
	char *spaik = NULL;
	int rc = TAM_OK;

	if (!tam_valid_name(sdname, TAM_SDNAME_MAX) || !tam_valid_name(spid, TAM_SPID_MAX))
		return refuse(o, "ERR_REQUEST_INVALID", "spid and sdname must be plain names");
	if (!json_is_object(ch))
		return refuse(o, "ERR_REQUEST_INVALID", "changes must be an object");
	if ((bad = unknown_member(ch, sd_changes, NULL, NULL)) != NULL)
		return refuse(o, "ERR_REQUEST_INVALID", "changes has unknown member \"%.32s\"", bad);
	renew = json_object_get(ch, "renewteespaik");
	if (renew != NULL && !json_is_boolean(renew))
		return refuse(o, "ERR_REQUEST_INVALID", "renewteespaik must be true or false");
	sd = mt_state_sd(mt->state, sdname);
	if (sd == NULL || strcmp(str_member(sd, "spid"), spid) != 0)
		return refuse(o, "ERR_SD_NOT_FOUND", "no SD %s of SP %s", sdname, spid);
	if (strcmp(str_member(sd, "owner"), m->tamid) != 0)
		return refuse(o, "ERR_TAM_NOT_AUTHORIZED", "SD %s belongs to another TAM", sdname);
	if ((next = json_deep_copy(mt->state)) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	nsd = mt_state_sd(next, sdname);
	if ((rc = update_sd_changes(mt, ch, nsd, o, err)) != TAM_OK || o->code != NULL)
		goto out;
	if (json_is_true(renew)) {
		if (mt_aik_forget(mt, spid, &e) != TAM_OK || mt_aik_ensure(mt, spid, &aik, &e) != TAM_OK) {
			rc = refuse(o, "ERR_TEE_FAIL", "cannot renew the SP AIK: %s", e.msg);
			goto out;
		}
	}
	rc = commit_state(mt, next, &e);
	next = NULL;
	if (rc != TAM_OK) {
		rc = refuse(o, "ERR_TEE_FAIL", "cannot store the state: %s", e.msg);
		goto out;
	}
	if (aik != NULL) {
		if ((rc = mt_spki_b64(aik, &spaik, err)) != TAM_OK)
			goto out;
		o->content = json_pack("{s:s,s:s}", "teespaik", spaik, "teespaiktype", MT_AIK_TYPE(mt));
	} else {
		o->content = json_object();
	}
	if (o->content == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	rc = add_dsi(mt, m, o, err);
out:
	json_decref(next);
	free(spaik);
	return rc;
}

/* ---- the response ---- */

/* To the TAM's key: ECDH-ES+A128KW for P-256, the configured RSA alg otherwise. */
static int
encrypt_to_tam(const struct mock_tee *mt, const struct mt_msg *m, const char *pt, size_t len,
    json_t **out, struct tam_err *err)
{
	const char *alg = jose_key_type(m->tam_key) == JOSE_KTY_RSA ? mt->jwe_alg :
	    JOSE_ALG_ECDH_ES_A128KW;

	return jose_jwe_encrypt(m->tam_key, alg, mt->jwe_enc, JOSE_JWE_GENERAL,
	    (const uint8_t *)pt, len, out, err);
}

static json_t *
reason_obj(const struct mt_outcome *o)
{
	return json_pack("{s:s,s:s}", "error-code", o->code, "error-message", o->detail);
}

/* The encrypted "content" of a CreateSD/InstallTA/DeleteTA response. */
static int
response_content(struct mock_tee *mt, const struct mt_msg *m, const struct mt_outcome *o,
    json_t **out, struct tam_err *err)
{
	json_t *c;
	char *text = NULL;
	int rc;

	*out = NULL;
	c = json_pack("{s:s}", "did", mt->did_b64url);
	if (c == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if (o->code != NULL ? json_object_set_new(c, "reason", reason_obj(o)) != 0
			    : json_object_update(c, o->content) != 0) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	text = json_dumps(c, JSON_COMPACT);
	if (text == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	rc = encrypt_to_tam(mt, m, text, strlen(text), out, err);
out:
	if (text != NULL) {
		tam_wipe(text, strlen(text));
		free(text);
	}
	json_decref(c);
	return rc;
}

static int
respond(struct mock_tee *mt, const struct mt_msg *m, const struct mt_outcome *o, char **out,
    size_t *outlen, struct tam_err *err)
{
	json_t *body, *tbs = NULL, *extra = NULL, *jws = NULL, *wrap = NULL, *v = NULL;
	char *payload = NULL;
	int rc = TAM_OK;

	body = json_pack("{s:s,s:s,s:s,s:s}", "ver", OTRP_VERSION, "status",
	    o->code == NULL ? "pass" : "fail", "rid", m->rid, "tid", m->tid);
	if (body == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if (m->n->kind == MT_GET_DEVICE_STATE && o->code == NULL) {
		if ((rc = encrypt_to_tam(mt, m, mt->last_dsi, mt->last_dsi_len, &v, err)) != TAM_OK)
			goto out;
		if (json_object_set_new(body, "signerreq", json_false()) != 0 ||
		    json_object_set_new(body, "edsi", v) != 0)
			goto nomem;
	} else if (m->n->kind == MT_GET_DEVICE_STATE) {
		/* No key agreed on yet: a GetDeviceState refusal is in the clear (§5.1). */
		if (json_object_set_new(body, "reason", reason_obj(o)) != 0 ||
		    (o->algs != NULL && json_object_set(body, "supportedsigalgs", o->algs) != 0))
			goto nomem;
	} else {
		if ((rc = response_content(mt, m, o, &v, err)) != TAM_OK)
			goto out;
		if (json_object_set_new(body, "content", v) != 0)
			goto nomem;
	}
	tbs = json_pack("{s:O}", m->n->tbs_response, body);
	payload = tbs != NULL ? json_dumps(tbs, JSON_COMPACT) : NULL;
	if (payload == NULL)
		goto nomem;
	if (mt->kid[0] != '\0' && (extra = json_pack("{s:s}", "kid", mt->kid)) == NULL)
		goto nomem;
	if ((rc = jose_jws_sign(mt->key, jose_key_sig_alg(mt->key), extra, NULL,
	    (const uint8_t *)payload, strlen(payload), &jws, err)) != TAM_OK)
		goto out;
	if (m->n->kind == MT_GET_DEVICE_STATE)
		wrap = json_pack("{s:[{s:O}]}", m->n->response, MT_GDS_ENTRY, jws);
	else
		wrap = json_pack("{s:O}", m->n->response, jws);
	if (wrap == NULL || (*out = json_dumps(wrap, JSON_COMPACT)) == NULL)
		goto nomem;
	*outlen = strlen(*out);
	goto out;
nomem:
	rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
out:
	json_decref(wrap);
	json_decref(jws);
	json_decref(extra);
	free(payload);
	json_decref(tbs);
	json_decref(body);
	return rc;
}

/* ---- entry point ---- */

static int
decide(struct mock_tee *mt, struct mt_msg *m, struct mt_outcome *o, struct tam_err *err)
{
	const char *ver = str_member(m->body, "ver"), *bad;
	int rc;

	if (ver == NULL || strcmp(ver, OTRP_VERSION) != 0)
		return refuse(o, "ERR_UNSUPPORTED_MSG_VERSION", "ver must be \"%s\"", OTRP_VERSION);
	if ((bad = unknown_member(m->body, m->n->members, NULL, NULL)) != NULL)
		return refuse(o, "ERR_REQUEST_INVALID", "%s has unknown member \"%.32s\"",
		    m->n->tbs_request, bad);
	if (rid_seen(mt, m->rid))
		return refuse(o, "ERR_REQUEST_INVALID", "rid %s was answered before", m->rid);
	if (m->n->kind == MT_GET_DEVICE_STATE)
		return handle_gds(mt, m, o, err);
	if ((rc = request_common(mt, m, o)) != TAM_OK || o->code != NULL)
		return rc;
	switch (m->n->kind) {
	case MT_CREATE_SD:
		return handle_create_sd(mt, m, o, err);
	case MT_INSTALL_TA:
		return handle_install_ta(mt, m, o, false, err);
	case MT_UPDATE_TA:
		return handle_install_ta(mt, m, o, true, err);
	case MT_DELETE_SD:
		return handle_delete_sd(mt, m, o, err);
	case MT_UPDATE_SD:
		return handle_update_sd(mt, m, o, err);
	case MT_DELETE_TA:
		return handle_delete_ta(mt, m, o, err);
	case MT_GET_DEVICE_STATE:
		break;
	}
	return tam_err_set(err, TAM_EINVAL, "unhandled message kind");
}

int
mock_tee_process(struct mock_tee *mt, const uint8_t *msg, size_t len, char **resp,
    size_t *resp_len, struct tam_err *err)
{
	struct mt_msg m;
	struct mt_outcome o;
	json_error_t jerr;
	const char *name;
	size_t i;
	int rc;

	memset(&m, 0, sizeof(m));
	memset(&o, 0, sizeof(o));
	*resp = NULL;
	*resp_len = 0;
	mt->last_request[0] = mt->last_response[0] = mt->last_outcome[0] = '\0';
	mt->last_detail[0] = '\0';
	if (mt->aist)
		return mt_aist_process(mt, msg, len, resp, resp_len, err);
	if (len > MT_MAX_MSG_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, "message of %zu bytes", len);
	m.doc = json_loadb((const char *)msg, len, JSON_REJECT_DUPLICATES, &jerr);
	if (m.doc == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "message is not JSON: %s", jerr.text);
	if (!json_is_object(m.doc) || json_object_size(m.doc) != 1) {
		rc = tam_err_set(err, TAM_EMALFORMED, "message must be an object with one member");
		goto out;
	}
	name = json_object_iter_key(json_object_iter(m.doc));
	for (i = 0; i < sizeof(msg_names) / sizeof(msg_names[0]) && m.n == NULL; i++)
		if (strcmp(name, msg_names[i].request) == 0)
			m.n = &msg_names[i];
	if (m.n == NULL) {
		rc = tam_err_set(err, TAM_EUNSUPPORTED, "unknown message \"%.64s\"", name);
		goto out;
	}
	snprintf(mt->last_request, sizeof(mt->last_request), "%s", m.n->request);
	rc = authenticate(mt, &m, json_object_get(m.doc, name), err);
	if (rc == TAM_EALG && m.n->kind == MT_GET_DEVICE_STATE) {
		/* It cannot check the TAM, so it says so in the clear, with what it can check (§6.1). */
		if ((rc = parse_tbs(&m, err)) != TAM_OK)
			goto out;
		if ((o.algs = sigalgs_array(mt)) == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		refuse(&o, "ERR_UNSUPPORTED_CRYPTO_ALG", "the TAM signed with %s",
		    jose_jws_alg(m.jws));
	} else if (rc != TAM_OK || (rc = parse_tbs(&m, err)) != TAM_OK ||
	    (rc = decide(mt, &m, &o, err)) != TAM_OK) {
		goto out;
	}
	if ((rc = respond(mt, &m, &o, resp, resp_len, err)) != TAM_OK)
		goto out;
	rid_record(mt, m.rid);
	snprintf(mt->last_response, sizeof(mt->last_response), "%s", m.n->response);
	snprintf(mt->last_outcome, sizeof(mt->last_outcome), "%s",
	    o.code != NULL ? o.code : "pass");
	snprintf(mt->last_detail, sizeof(mt->last_detail), "%s", o.detail);
out:
	json_decref(o.content);
	json_decref(o.algs);
	msg_clear(&m);
	return rc;
}

const char *
mock_tee_last_request(const struct mock_tee *mt)
{
	return mt->last_request;
}

const char *
mock_tee_last_response(const struct mock_tee *mt)
{
	return mt->last_response;
}

const char *
mock_tee_last_outcome(const struct mock_tee *mt)
{
	return mt->last_outcome;
}

size_t
mock_tee_last_ocsp_count(const struct mock_tee *mt)
{
	return mt->last_ocsp_count;
}

void
mock_tee_last_content_suite(const struct mock_tee *mt, const char **alg, const char **enc)
{
	*alg = mt->last_content_alg;
	*enc = mt->last_content_enc;
}

const char *
mock_tee_last_detail(const struct mock_tee *mt)
{
	return mt->last_detail;
}

/* ---- opening ---- */

static int
make_dir(const char *path, struct tam_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return TAM_OK;
	if (errno != EEXIST)
		return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return tam_err_set(err, TAM_EIO, "%s: not a directory", path);
	return TAM_OK;
}

/* The TEE certificate (must match the key) and its CA chain. */
static int
load_cert(struct mock_tee *mt, const struct mock_tee_cfg *cfg, struct tam_err *err)
{
	STACK_OF(X509) *cas = NULL;
	struct jose_key *pub = NULL;
	uint8_t *data = NULL, *der = NULL;
	size_t len = 0, derlen = 0;
	X509 *x = NULL;
	char *b64 = NULL;
	int rc;

	if ((rc = tam_file_read(cfg->cert_path, TAM_MAX_PEM_BYTES, &data, &len, err)) != TAM_OK ||
	    (rc = pki_cert_load(data, len, &x, err)) != TAM_OK ||
	    (rc = pki_cert_public_key(x, &pub, err)) != TAM_OK)
		goto out;
	if (!jose_key_equal_public(pub, mt->key)) {
		rc = tam_err_set(err, TAM_EINVAL, "%s does not certify the key in %s",
		    cfg->cert_path, cfg->key_path);
		goto out;
	}
	if ((rc = pki_cert_to_der(x, &der, &derlen, err)) != TAM_OK)
		goto out;
	tam_sha256(der, derlen, mt->did);
	if (tam_b64_encode(der, derlen, &mt->cert_b64) != TAM_OK ||
	    (mt->cacerts = json_array()) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (cfg->cacert_path == NULL)
		goto out;
	free(data);
	data = NULL;
	if ((rc = tam_file_read(cfg->cacert_path, TAM_MAX_PEM_BYTES, &data, &len, err)) != TAM_OK ||
	    (rc = pki_certs_from_pem(data, len, &cas, err)) != TAM_OK)
		goto out;
	for (int i = 0; i < sk_X509_num(cas); i++) {
		if ((rc = cert_b64(sk_X509_value(cas, i), &b64, err)) != TAM_OK)
			goto out;
		if (json_array_append_new(mt->cacerts, json_string(b64)) != 0) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		free(b64);
		b64 = NULL;
	}
out:
	free(b64);
	sk_X509_pop_free(cas, X509_free);
	free(der);
	X509_free(x);
	jose_key_free(pub);
	free(data);
	return rc;
}

static int
load_anchors(struct mock_tee *mt, const char *path, struct tam_err *err)
{
	STACK_OF(X509) *sk = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = tam_file_read(path, TAM_MAX_PEM_BYTES, &data, &len, err)) != TAM_OK ||
	    (rc = pki_certs_from_pem(data, len, &sk, err)) != TAM_OK ||
	    (rc = pki_trust_new(&mt->tam_trust, err)) != TAM_OK)
		goto out;
	for (int i = 0; i < sk_X509_num(sk); i++)
		if ((rc = pki_trust_add(mt->tam_trust, sk_X509_value(sk, i), err)) != TAM_OK)
			goto out;
	mt->tam_anchor_certs = sk;
	sk = NULL;
out:
	sk_X509_pop_free(sk, X509_free);
	free(data);
	return rc;
}

/* A key file, PEM or JWK (a JSON object). */
static int
load_key(const char *path, struct jose_key **out, struct tam_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0, i = 0;
	int rc;

	if ((rc = tam_file_read(path, TAM_MAX_PEM_BYTES, &data, &len, err)) != TAM_OK)
		return rc;
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
		i++;
	rc = i < len && data[i] == '{' ? jose_key_from_jwk((const char *)data, len, out, err) :
	    jose_key_from_pem(data, len, out, err);
	tam_wipe(data, len);
	free(data);
	return rc;
}

/* "a,b,c" into a JSON array of strings; NULL or "" is an empty one. */
static int
split_talist(const char *s, json_t **out, struct tam_err *err)
{
	const char *p = s;

	if ((*out = json_array()) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n > 0 && json_array_append_new(*out, json_stringn(p, n)) != 0)
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		p = comma != NULL ? comma + 1 : NULL;
	}
	return TAM_OK;
}

int
mock_tee_open(const struct mock_tee_cfg *cfg, struct mock_tee **out, struct tam_err *err)
{
	struct mock_tee *mt;
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	char path[PATH_MAX];
	bool aist;
	int rc;

	*out = NULL;
	aist = cfg->profile != NULL && strcmp(cfg->profile, "aist") == 0;
	if (cfg->profile != NULL && !aist && strcmp(cfg->profile, "default") != 0)
		return tam_err_set(err, TAM_EINVAL, "unknown profile \"%s\"", cfg->profile);
	if (cfg->state_dir == NULL || cfg->key_path == NULL ||
	    (!aist && cfg->tam_anchor_path == NULL) ||
	    (aist && (cfg->tam_key_path == NULL || cfg->sp_key_path == NULL || cfg->cert_path != NULL)))
		return tam_err_set(err, TAM_EINVAL, "state_dir and key_path are required, with "
		    "tam_anchor_path, or for aist tam_key_path and sp_key_path (and no certificate)");
	if (cfg->cert_path == NULL && cfg->cacert_path != NULL)
		return tam_err_set(err, TAM_EINVAL, "a CA chain needs a TEE certificate");
	mt = calloc(1, sizeof(*mt));
	if (mt == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if (tam_strlcpy_checked(mt->dir, cfg->state_dir, sizeof(mt->dir)) != TAM_OK ||
	    tam_strlcpy_checked(mt->name, cfg->tee_name != NULL ? cfg->tee_name : MT_DEFAULT_NAME,
	    sizeof(mt->name)) != TAM_OK || mt->name[0] == '\0') {
		rc = tam_err_set(err, TAM_EINVAL, "state directory or TEE name too long or empty");
		goto out;
	}
	mt->require_ocsp = cfg->require_ocsp;
	mt->max_tas = cfg->max_tas;
	mt->tfw_untrusted = cfg->tfw_untrusted;
	if (tam_strlcpy_checked(mt->sigalgs, cfg->sigalgs != NULL ? cfg->sigalgs :
	    JOSE_ALG_RS256 "," JOSE_ALG_ES256, sizeof(mt->sigalgs)) != TAM_OK) {
		rc = tam_err_set(err, TAM_EINVAL, "sigalgs too long");
		goto out;
	}
	if (tam_strlcpy_checked(mt->jwe_alg, cfg->jwe_alg != NULL ? cfg->jwe_alg :
	    JOSE_ALG_RSA1_5, sizeof(mt->jwe_alg)) != TAM_OK ||
	    tam_strlcpy_checked(mt->jwe_enc, cfg->jwe_enc != NULL ? cfg->jwe_enc :
	    JOSE_ENC_A128CBC_HS256, sizeof(mt->jwe_enc)) != TAM_OK) {
		rc = tam_err_set(err, TAM_EINVAL, "JWE alg or enc name too long");
		goto out;
	}
	if ((rc = make_dir(mt->dir, err)) != TAM_OK)
		goto out;
	if (snprintf(path, sizeof(path), "%s/%s", mt->dir, MT_TA_DIR) >= (int)sizeof(path)) {
		rc = tam_err_set(err, TAM_EINVAL, "state directory path too long");
		goto out;
	}
	if ((rc = make_dir(path, err)) != TAM_OK)
		goto out;
	if ((rc = load_key(cfg->key_path, &mt->key, err)) != TAM_OK)
		goto out;
	if (!jose_key_is_private(mt->key)) {
		rc = tam_err_set(err, TAM_EINVAL, "%s holds no private key", cfg->key_path);
		goto out;
	}
	if (cfg->cert_path != NULL) {
		if ((rc = load_cert(mt, cfg, err)) != TAM_OK)
			goto out;
	} else {
		/* Raw-key TEE: identified by its SPKI hash and named by its thumbprint. */
		if ((rc = jose_key_to_spki(mt->key, &spki, &spki_len, err)) != TAM_OK ||
		    (rc = jose_key_thumbprint(mt->key, mt->kid, err)) != TAM_OK)
			goto out;
		tam_sha256(spki, spki_len, mt->did);
	}
	if (tam_b64url_encode(mt->did, sizeof(mt->did), &mt->did_b64url) != TAM_OK) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (aist) {
		mt->aist = true;
		if ((rc = load_key(cfg->tam_key_path, &mt->aist_tam, err)) != TAM_OK ||
		    (rc = load_key(cfg->sp_key_path, &mt->aist_sp, err)) != TAM_OK ||
		    (rc = split_talist(cfg->talist, &mt->aist_talist, err)) != TAM_OK)
			goto out;
	} else if ((rc = load_anchors(mt, cfg->tam_anchor_path, err)) != TAM_OK) {
		goto out;
	}
	if ((rc = mt_state_load(mt, err)) != TAM_OK)
		goto out;
	*out = mt;
	mt = NULL;
out:
	free(spki);
	mock_tee_close(mt);
	return rc;
}

void
mock_tee_close(struct mock_tee *mt)
{
	if (mt == NULL)
		return;
	for (size_t i = 0; i < mt->n_aiks; i++)
		jose_key_free(mt->aiks[i].key);
	free(mt->aiks);
	free(mt->last_dsi);
	json_decref(mt->state);
	pki_trust_free(mt->tam_trust);
	sk_X509_pop_free(mt->tam_anchor_certs, X509_free);
	free(mt->did_b64url);
	json_decref(mt->cacerts);
	free(mt->cert_b64);
	jose_key_free(mt->key);
	jose_key_free(mt->aist_tam);
	jose_key_free(mt->aist_sp);
	json_decref(mt->aist_talist);
	free(mt);
}
