// SPDX-License-Identifier: MIT
/*
 * The OTrP session engine. One call handles one POST body: an empty body
 * opens a session; anything else must answer the one outstanding request of
 * a session. The answer is checked end to end (names, version, rid, key,
 * signature, decryption, device id) before anything is written; the writes
 * it causes and the next request are committed in one transaction, which
 * also consumes the rid so that a second answer with the same rid fails.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otrp_int.h"
#include "tam/engine.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/otrp.h"
#include "tam/policy.h"

/* A trust store shared by the threads that validate chains with it. */
struct trust_ref {
	struct pki_trust *trust;
	atomic_int refs;
};

/*
 * A TA version's share of its InstallTA or UpdateTA messages, the same for
 * every device (sign_ta_request): the base64url of the TBS up to the end of
 * the TA and the signature hash so far. Kept for a few versions at once.
 */
struct ta_prefix {
	int64_t ta_version_id;
	uint8_t iv[16];               /* the sealing's random IV: a re-sealed version is another */
	enum otrp_msg m;              /* InstallTA or UpdateTA (their heads differ) */
	const struct pki_signer *signer;
	struct jose_jws_prefix *p;    /* without its head when streamed */
	bool streamed;                /* the TA is made again for each device ... */
	int fd;                       /* ... from this copy of its ciphertext (-1 when held) */
	size_t bytes;                 /* what p holds */
	atomic_int refs;              /* the cache's and each message's being built */
	uint64_t used;                /* prefix_tick when last used */
};
#define TA_PREFIX_SLOTS 4
/* All of them together; a larger one is made for one message and dropped. */
#define TA_PREFIX_MAX_BYTES ((size_t)64 << 20)

struct otrp_engine {
	struct otrp_engine_cfg cfg;   /* request_ttl and auto_register are read from the atomics */
	atomic_llong request_ttl;     /* seconds; SIGHUP may change it */
	atomic_bool auto_register;
	pthread_mutex_t trust_mu;     /* guards everything below */
	struct trust_ref *trust;      /* anchors as of (trust_gen, extra_gen); NULL until first use */
	int64_t trust_gen;            /* database anchor generation trust was built from */
	int64_t extra_gen;            /* changes of the extra anchors */
	int64_t trust_extra_gen;      /* extra_gen trust was built from */
	STACK_OF(X509) *extra;        /* anchors from outside the database, owned */
	STACK_OF(X509_CRL) *crls;     /* CRLs of TEE CAs (beside those anchors), owned */
	char tee_eku[TAM_OID_MAX];    /* extendedKeyUsage TEE certificates must list; "": none */
	json_t *ocsp[2];              /* OCSP staples of the identity and the alternate; or NULL */
	bool rid_key_loaded;          /* rid_key read from the database */
	uint8_t rid_key[OTRP_RID_KEY_LEN]; /* MAC key of stateless rids, the same in every daemon */
	pthread_mutex_t prefix_build_mu; /* one prefix made at a time: a wave of devices makes it once */
	pthread_mutex_t prefix_mu;    /* guards the two below */
	struct ta_prefix *prefixes[TA_PREFIX_SLOTS]; /* recently sent TAs; NULL slots free */
	uint64_t prefix_tick;         /* LRU clock of prefixes */
	uint64_t stream_above;        /* sealed TAs larger than this (bytes) are streamed */
	struct otrp_slots slots;      /* streamed answers in flight */
};

/* Everything one response needs on its way from bytes to commit. */
struct ctx {
	struct otrp_engine *e;
	struct store *st;
	const struct otrp_origin *from;
	bool aist;                    /* the AIST profile: its endpoint, its device, its shapes */
	int64_t now;
	struct otrp_response *resp;
	struct store_request req;     /* the request being answered */
	bool stateless;               /* req is a stateless opening rid: this answer writes its
	                                 session (req.session_id 0 until then) */
	bool unverified;              /* an unsigned message was taken as it is */
	struct store_device dev;      /* the device it was sent to (or a new one) */
	bool new_device;
	bool renewed;                 /* a known device (by key) with a new certificate */
	struct jose_key *dev_key;     /* the device's public key */
	struct tam_dev_state state;   /* observed state after this response */
	bool had_dsi;                 /* the device record as read: DSI present ... */
	uint8_t had_dsihash[32];      /* ... and its hash; compared again inside the commit */
	uint8_t *dsi;                 /* new DSI bytes, owned; NULL if the TEE sent none */
	size_t dsi_len;
	struct tam_sd_obs claims[8];  /* SDs the DSI newly lists that no operation of ours made */
	size_t n_claims;              /* how many there were (may exceed the array) */
	char audit_action[32];        /* what this response changed, for the audit log */
	char audit_detail[512];
	char result[128];             /* session result if the session ends here */
	bool refused;                 /* the TEE refused the operation (signed "fail") */
	bool ask_state;               /* the next request is a GetDeviceStateRequest again: a
	                                 refusal is then not remembered */
	int retry_after;              /* seconds the broker should wait before the next session */
	int clear_sd_requests;        /* operator SD requests this answer settles: -1 all, -2 none */
	char tee_alg[JOSE_ALG_MAX];   /* JWE suite the TEE used toward us in this answer: */
	char tee_enc[JOSE_ALG_MAX];   /* what it can do, so what we use toward it */
	char refusal[128];            /* its reason */
	struct tam_op op;             /* what comes next */
	struct store_request next;    /* the next request's row */
	char *body;                   /* the next request's bytes */
	size_t body_len;
	struct otrp_stream_body stream; /* ... or, for a large TA, their maker */
};

static int64_t
engine_now(const struct otrp_engine *e)
{
	return e->cfg.now != NULL ? e->cfg.now() : tam_now();
}

const char *
otrp_profile_name(enum otrp_profile p)
{
	return p == OTRP_PROFILE_AIST ? "aist" : "default";
}

/* Is this conversation with the TAM's alternate identity? */
static bool
alt_of(const struct ctx *c)
{
	return !c->aist && c->e->cfg.alt_signer != NULL && (c->req.flags & STORE_REQ_ALT_IDENTITY);
}

/* The key this conversation is signed and decrypted with. */
static struct pki_signer *
signer_of(const struct ctx *c)
{
	if (c->aist)
		return c->e->cfg.aist_signer;
	return alt_of(c) ? c->e->cfg.alt_signer : c->e->cfg.signer;
}

int
otrp_engine_new(const struct otrp_engine_cfg *cfg, struct otrp_engine **out, struct tam_err *err)
{
	struct otrp_engine *e;

	*out = NULL;
	if (cfg->signer == NULL || cfg->request_ttl <= 0)
		return tam_err_set(err, TAM_EINVAL, "engine needs a signer and a positive request TTL");
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	e->cfg = *cfg;
	atomic_init(&e->request_ttl, cfg->request_ttl);
	atomic_init(&e->auto_register, cfg->auto_register);
	e->trust_gen = -1;
	if (pthread_mutex_init(&e->trust_mu, NULL) != 0) {
		free(e);
		return tam_err_set(err, TAM_ENOMEM, "cannot create mutex");
	}
	if (pthread_mutex_init(&e->prefix_mu, NULL) != 0) {
		pthread_mutex_destroy(&e->trust_mu);
		free(e);
		return tam_err_set(err, TAM_ENOMEM, "cannot create mutex");
	}
	if (pthread_mutex_init(&e->prefix_build_mu, NULL) != 0) {
		pthread_mutex_destroy(&e->prefix_mu);
		pthread_mutex_destroy(&e->trust_mu);
		free(e);
		return tam_err_set(err, TAM_ENOMEM, "cannot create mutex");
	}
	e->stream_above = cfg->stream_above != 0 ? cfg->stream_above : TAM_STREAM_ABOVE_BYTES;
	if (otrp_slots_init(&e->slots, cfg->streams != 0 ? cfg->streams : TAM_STREAMS,
	    cfg->streams_per_device != 0 ? cfg->streams_per_device : TAM_STREAMS_PER_DEVICE) !=
	    TAM_OK) {
		pthread_mutex_destroy(&e->prefix_build_mu);
		pthread_mutex_destroy(&e->prefix_mu);
		pthread_mutex_destroy(&e->trust_mu);
		free(e);
		return tam_err_set(err, TAM_ENOMEM, "cannot make the stream slots");
	}
	*out = e;
	return TAM_OK;
}

static void
ta_prefix_put(struct ta_prefix *tp)
{
	if (tp != NULL && atomic_fetch_sub(&tp->refs, 1) == 1) {
		jose_jws_prefix_free(tp->p);
		if (tp->fd >= 0)
			close(tp->fd);
		free(tp);
	}
}

static void
trust_put(struct trust_ref *r)
{
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
		pki_trust_free(r->trust);
		free(r);
	}
}

void
otrp_engine_free(struct otrp_engine *e)
{
	if (e == NULL)
		return;
	trust_put(e->trust);
	sk_X509_pop_free(e->extra, X509_free);
	sk_X509_CRL_pop_free(e->crls, X509_CRL_free);
	json_decref(e->ocsp[0]);
	json_decref(e->ocsp[1]);
	for (size_t i = 0; i < TA_PREFIX_SLOTS; i++)
		ta_prefix_put(e->prefixes[i]);
	pthread_mutex_destroy(&e->prefix_build_mu);
	pthread_mutex_destroy(&e->prefix_mu);
	otrp_slots_destroy(&e->slots);
	pthread_mutex_destroy(&e->trust_mu);
	tam_wipe(e->rid_key, sizeof(e->rid_key));
	free(e);
}

void
otrp_engine_set_limits(struct otrp_engine *e, int64_t request_ttl, bool auto_register)
{
	atomic_store(&e->request_ttl, request_ttl);
	atomic_store(&e->auto_register, auto_register);
}

void
otrp_engine_set_extra_anchors(struct otrp_engine *e, STACK_OF(X509) *anchors,
    STACK_OF(X509_CRL) *crls, const char *tee_eku)
{
	pthread_mutex_lock(&e->trust_mu);
	sk_X509_pop_free(e->extra, X509_free);
	sk_X509_CRL_pop_free(e->crls, X509_CRL_free);
	e->extra = anchors;
	e->crls = crls;
	snprintf(e->tee_eku, sizeof(e->tee_eku), "%s", tee_eku != NULL ? tee_eku : "");
	e->extra_gen++;
	pthread_mutex_unlock(&e->trust_mu);
}

void
otrp_reply_clear(struct otrp_reply *r)
{
	free(r->body);
	if (r->stream.free != NULL)
		r->stream.free(r->stream.cls);
	memset(r, 0, sizeof(*r));
}

void
otrp_engine_set_ocsp(struct otrp_engine *e, bool alt, json_t *staple)
{
	pthread_mutex_lock(&e->trust_mu);
	json_decref(e->ocsp[alt]);
	e->ocsp[alt] = staple;
	pthread_mutex_unlock(&e->trust_mu);
}

/* A copy of a staple: jansson's reference counts are not for sharing between threads. */
static json_t *
ocsp_copy(struct otrp_engine *e, bool alt)
{
	json_t *c;

	pthread_mutex_lock(&e->trust_mu);
	c = e->ocsp[alt] != NULL ? json_deep_copy(e->ocsp[alt]) : json_array();
	pthread_mutex_unlock(&e->trust_mu);
	return c;
}

/* Anchors of the database and the extra ones, in a new trust store. */
static int
trust_build(struct otrp_engine *e, struct store *st, struct trust_ref **out, int64_t *extra_gen,
    size_t *count, struct tam_err *err)
{
	struct store_anchor *a = NULL;
	struct trust_ref *r;
	size_t n = 0;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	atomic_init(&r->refs, 1);
	if ((rc = pki_trust_new(&r->trust, err)) != TAM_OK ||
	    (rc = store_anchor_list(st, &a, &n, err)) != TAM_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		X509 *x = NULL;
		if ((rc = pki_cert_from_der(a[i].cert, a[i].cert_len, &x, err)) != TAM_OK)
			goto fail;
		rc = pki_trust_add(r->trust, x, err);
		X509_free(x);
		if (rc != TAM_OK)
			goto fail;
	}
	pthread_mutex_lock(&e->trust_mu);
	*extra_gen = e->extra_gen;
	for (int i = 0; e->extra != NULL && i < sk_X509_num(e->extra) && rc == TAM_OK; i++)
		rc = pki_trust_add(r->trust, sk_X509_value(e->extra, i), err);
	for (int i = 0; e->crls != NULL && i < sk_X509_CRL_num(e->crls) && rc == TAM_OK; i++)
		rc = pki_trust_add_crl(r->trust, sk_X509_CRL_value(e->crls, i), err);
	if (rc == TAM_OK)
		rc = pki_trust_set_tee_eku(r->trust, e->tee_eku, err);
	pthread_mutex_unlock(&e->trust_mu);
	if (rc != TAM_OK)
		goto fail;
	*count = pki_trust_count(r->trust);
	store_anchors_free(a, n);
	*out = r;
	return TAM_OK;
fail:
	store_anchors_free(a, n);
	trust_put(r);
	return rc;
}

/* The trust anchors as they are now, rebuilt only when they changed. */
static int
trust_get(struct otrp_engine *e, struct store *st, struct trust_ref **out, struct tam_err *err)
{
	struct trust_ref *r = NULL;
	int64_t gen, extra_gen = 0;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = store_anchor_generation(st, &gen, err)) != TAM_OK)
		return rc;
	pthread_mutex_lock(&e->trust_mu);
	if (e->trust != NULL && e->trust_gen == gen && e->trust_extra_gen == e->extra_gen) {
		atomic_fetch_add(&e->trust->refs, 1);
		*out = e->trust;
		pthread_mutex_unlock(&e->trust_mu);
		return TAM_OK;
	}
	pthread_mutex_unlock(&e->trust_mu);

	if ((rc = trust_build(e, st, &r, &extra_gen, &n, err)) != TAM_OK)
		return rc;
	pthread_mutex_lock(&e->trust_mu);
	if (e->trust == NULL || e->trust_gen < gen || e->trust_extra_gen < extra_gen) {
		trust_put(e->trust);
		atomic_fetch_add(&r->refs, 1);
		e->trust = r;
		e->trust_gen = gen;
		e->trust_extra_gen = extra_gen;
	}
	pthread_mutex_unlock(&e->trust_mu);
	*out = r;
	log_info("event=trust.load anchors=%zu generation=%lld extra_generation=%lld", n,
	    (long long)gen, (long long)extra_gen);
	return TAM_OK;
}

static void
ctx_clear(struct ctx *c)
{
	otrp_response_free(c->resp);
	store_device_clear(&c->dev);
	jose_key_free(c->dev_key);
	tam_dev_state_free(&c->state);
	free(c->dsi);
	free(c->body);
	if (c->stream.free != NULL)
		c->stream.free(c->stream.cls);
}

static void
did_short(const uint8_t did[32], char out[17])
{
	tam_hex_encode(did, 8, out);
}

/* ---- building requests ---- */

static int
sign_and_wrap(struct pki_signer *signer, enum otrp_msg m, json_t *tbs, char **body, size_t *len,
    struct tam_err *err)
{
	json_t *jws = NULL;
	char *payload = NULL;
	size_t plen = 0;
	int rc;

	if (tbs == NULL)
		return tam_err_set(err, TAM_ENOMEM, "cannot build %s", otrp_request_name(m));
	rc = otrp_dumps(tbs, &payload, &plen);
	json_decref(tbs);
	if (rc != TAM_OK)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	/* x5c when the signer has a certificate; a raw-key signer (aist) sends a flat JWS. */
	rc = pki_signer_sign(signer, NULL, true, (const uint8_t *)payload, plen, &jws, err);
	free(payload);
	if (rc != TAM_OK)
		return rc;
	rc = otrp_wrap_request(m, jws, body, len);
	json_decref(jws);
	if (rc != TAM_OK)
		return tam_err_set(err, rc, "cannot serialize %s", otrp_request_name(m));
	return TAM_OK;
}

/*
 * The JWE suite toward a TEE key (its identity key or an SP AIK). A TEE
 * shows what it supports by what it used toward us in the answer being
 * handled (signed, so not a downgrade an attacker can choose): its content
 * encryption is mirrored, and RSA-OAEP when it used RSA-OAEP. Otherwise the
 * spec's mandatory pair, RSA1_5 with A128CBC-HS256; a P-256 key always gets
 * ECDH-ES+A128KW.
 */
static void
pick_suite(const struct ctx *c, const struct jose_key *to, const char **alg, const char **enc)
{
	if (c->aist) {
		/* The only pair its agent was ever run with (RSA-OAEP fails in its mbedtls build). */
		*alg = JOSE_ALG_RSA1_5;
		*enc = JOSE_ENC_A128CBC_HS256;
		return;
	}
	*enc = c->tee_enc[0] != '\0' ? c->tee_enc : JOSE_ENC_A128CBC_HS256;
	if (jose_key_type(to) == JOSE_KTY_EC_P256)
		*alg = JOSE_ALG_ECDH_ES_A128KW;
	else if (strcmp(c->tee_alg, JOSE_ALG_RSA_OAEP) == 0)
		*alg = JOSE_ALG_RSA_OAEP;
	else
		*alg = JOSE_ALG_RSA1_5;
}

/* Encrypt a content object to the device's key (steals content). */
static int
encrypt_content(const struct ctx *c, json_t *content, json_t **out, struct tam_err *err)
{
	const char *alg, *enc;
	char *pt;
	int rc;

	*out = NULL;
	if (content == NULL)
		return tam_err_set(err, TAM_ENOMEM, "cannot build content");
	pt = json_dumps(content, JSON_COMPACT);
	json_decref(content);
	if (pt == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	pick_suite(c, c->dev_key, &alg, &enc);
	/* The AIST agent cuts the JWE out by its braces: flat, every header protected. */
	rc = jose_jwe_encrypt(c->dev_key, alg, enc, c->aist ? JOSE_JWE_FLAT_PROTECTED :
	    JOSE_JWE_GENERAL, (const uint8_t *)pt, strlen(pt), out, err);
	tam_wipe(pt, strlen(pt));
	free(pt);
	return rc;
}

/*
 * encrypted_ta_data: the version's personalization data under its own key,
 * wrapped to the same AIK with the same suite as the TA key. Data still
 * sealed the old way (under the TA's key and IV: the daemon's start could
 * not seal it again) is never sent; the session ends saying why.
 */
static int
build_encrypted_ta_data(struct ctx *c, const struct jose_key *aik_key, const char *alg,
    const char *enc, json_t **out, struct tam_err *err)
{
	struct store_pdata p = { 0 };
	json_t *key_jwe = NULL;
	int rc;

	if ((rc = store_ta_version_pdata(c->st, c->op.ta_version_id, &p, err)) != TAM_OK)
		return rc;
	if (p.enc == NULL || p.legacy) {
		rc = tam_err_set(err, TAM_EUNSUPPORTED, "the personalization data of TA version %lld is %s",
		    (long long)c->op.ta_version_id, p.enc == NULL ? "gone" : "not re-sealed yet");
		goto out;
	}
	if ((rc = jose_jwe_encrypt(aik_key, alg, enc, JOSE_JWE_GENERAL, p.key, sizeof(p.key),
	    &key_jwe, err)) != TAM_OK)
		goto out;
	if ((*out = otrp_encrypted_ta_data(key_jwe, p.iv, p.enc, p.enc_len)) == NULL)
		rc = tam_err_set(err, TAM_ENOMEM, "cannot build encrypted_ta_data");
out:
	store_pdata_clear(&p);
	return rc;
}

/*
 * encrypted_ta without the TA (sign_ta_request puts it in), and the sealing's
 * IV; *data_out: encrypted_ta_data, or NULL for a version without any.
 */
static int
build_encrypted_ta(struct ctx *c, json_t **out, json_t **data_out, uint8_t iv[16],
    struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	const struct tam_spaik_obs *aik;
	struct jose_key *aik_key = NULL;
	json_t *key_jwe = NULL;
	const char *alg, *enc;
	int rc;

	*out = *data_out = NULL;
	aik = tam_dev_state_aik(&c->state, c->op.spid);
	if (aik == NULL)
		return tam_err_set(err, TAM_EINVAL, "no TEE SP AIK for %s", c->op.spid);
	if ((rc = jose_key_from_spki(aik->spki, aik->spki_len, &aik_key, err)) != TAM_OK)
		return rc;
	if ((rc = store_ta_version_get(c->st, c->op.ta_version_id, false, &v, err)) != TAM_OK)
		goto out;
	pick_suite(c, aik_key, &alg, &enc);
	rc = jose_jwe_encrypt(aik_key, alg, enc, JOSE_JWE_GENERAL, v.enc_key, sizeof(v.enc_key),
	    &key_jwe, err);
	if (rc != TAM_OK ||
	    (v.has_pdata && (rc = build_encrypted_ta_data(c, aik_key, alg, enc, data_out,
	    err)) != TAM_OK))
		goto out;
	memcpy(iv, v.enc_iv, 16);
	*out = otrp_encrypted_ta(key_jwe, v.enc_iv, NULL, 0, c->op.kind == TAM_OP_UPDATE_TA);
	key_jwe = NULL;
	if (*out == NULL)
		rc = tam_err_set(err, TAM_ENOMEM, "cannot build encrypted_ta");
out:
	json_decref(key_jwe);
	store_ta_version_clear(&v);
	jose_key_free(aik_key);
	return rc;
}

static bool
ta_prefix_is(const struct ta_prefix *tp, const struct ctx *c, enum otrp_msg m,
    const uint8_t iv[16])
{
	return tp != NULL && tp->ta_version_id == c->op.ta_version_id && tp->m == m &&
	    tp->signer == signer_of(c) && memcmp(tp->iv, iv, 16) == 0;
}

/* A reference to the cached prefix of this message, or NULL. */
static struct ta_prefix *
ta_prefix_find(struct ctx *c, enum otrp_msg m, const uint8_t iv[16])
{
	struct otrp_engine *e = c->e;
	struct ta_prefix *tp = NULL;

	pthread_mutex_lock(&e->prefix_mu);
	for (size_t i = 0; i < TA_PREFIX_SLOTS && tp == NULL; i++)
		if (ta_prefix_is(e->prefixes[i], c, m, iv)) {
			tp = e->prefixes[i];
			atomic_fetch_add(&tp->refs, 1);
			tp->used = ++e->prefix_tick;
		}
	pthread_mutex_unlock(&e->prefix_mu);
	return tp;
}

/*
 * Keep tp, unless another thread made the same one meanwhile (that one is
 * returned instead): the least used go to make room, in slots and in bytes.
 */
static struct ta_prefix *
ta_prefix_keep(struct ctx *c, struct ta_prefix *tp)
{
	struct otrp_engine *e = c->e;
	struct ta_prefix *drop[TA_PREFIX_SLOTS + 1] = { NULL };
	size_t n_drop = 0, total = tp->bytes, free_slot = TA_PREFIX_SLOTS;

	if (tp->bytes > TA_PREFIX_MAX_BYTES)
		return tp;
	pthread_mutex_lock(&e->prefix_mu);
	for (size_t i = 0; i < TA_PREFIX_SLOTS; i++) {
		if (ta_prefix_is(e->prefixes[i], c, tp->m, tp->iv)) {
			atomic_fetch_add(&e->prefixes[i]->refs, 1);
			drop[n_drop++] = tp;
			tp = e->prefixes[i];
			goto out;
		}
		if (e->prefixes[i] != NULL)
			total += e->prefixes[i]->bytes;
	}
	for (;;) {
		size_t lru = TA_PREFIX_SLOTS;
		for (size_t i = 0; i < TA_PREFIX_SLOTS; i++) {
			if (e->prefixes[i] == NULL)
				free_slot = i;
			else if (lru == TA_PREFIX_SLOTS || e->prefixes[i]->used < e->prefixes[lru]->used)
				lru = i;
		}
		if (free_slot < TA_PREFIX_SLOTS && total <= TA_PREFIX_MAX_BYTES)
			break;
		total -= e->prefixes[lru]->bytes;
		drop[n_drop++] = e->prefixes[lru];
		e->prefixes[lru] = NULL;
	}
	atomic_fetch_add(&tp->refs, 1);
	tp->used = ++e->prefix_tick;
	e->prefixes[free_slot] = tp;
out:
	pthread_mutex_unlock(&e->prefix_mu);
	for (size_t i = 0; i < n_drop; i++)
		ta_prefix_put(drop[i]);
	return tp;
}

/* The prefix of a TA small enough to hold: its head is kept and copied into each message. */
static int
ta_prefix_held(struct ctx *c, const uint8_t iv[16], const char *head,
    struct jose_jws_prefix **out, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	char *b64 = NULL, *text = NULL;
	size_t hlen = strlen(head), blen;
	int rc;

	if ((rc = store_ta_version_get_sealed(c->st, c->op.ta_version_id, &v, err)) != TAM_OK)
		return rc;
	if (memcmp(v.enc_iv, iv, 16) != 0) {
		rc = tam_err_set(err, TAM_ECONFLICT, "TA version %lld was sealed again meanwhile",
		    (long long)v.id);
		goto out;
	}
	if (tam_b64_encode(v.enc_ta, v.enc_ta_len, &b64) != TAM_OK ||
	    (text = malloc(hlen + (blen = strlen(b64)))) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(text, head, hlen);
	memcpy(text + hlen, b64, blen);
	rc = pki_signer_prefix_new(signer_of(c), (const uint8_t *)text, hlen + blen, out, err);
out:
	free(text);
	free(b64);
	store_ta_version_clear(&v);
	return rc;
}

/*
 * The prefix of this TA version's message: from the cache, or made from the
 * sealed TA, held (small) or hashed in one pass over the stored blob (larger
 * than stream_above: each message is then made again as it is sent).
 * Blobs are never rewritten, so the IV read with the version names them.
 */
static int
ta_prefix_get(struct ctx *c, enum otrp_msg m, const uint8_t iv[16], const char *head,
    struct ta_prefix **out, struct tam_err *err)
{
	struct ta_prefix *tp = NULL;
	uint64_t ct_len = 0;
	int rc;

	if ((*out = ta_prefix_find(c, m, iv)) != NULL)
		return TAM_OK;
	pthread_mutex_lock(&c->e->prefix_build_mu);
	if ((*out = ta_prefix_find(c, m, iv)) != NULL) {
		pthread_mutex_unlock(&c->e->prefix_build_mu);
		return TAM_OK;
	}
	if ((rc = otrp_stream_ct_len(c->st, c->op.ta_version_id, &ct_len, err)) != TAM_OK)
		goto out;
	if ((tp = calloc(1, sizeof(*tp))) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	tp->ta_version_id = c->op.ta_version_id;
	memcpy(tp->iv, iv, 16);
	tp->m = m;
	tp->signer = signer_of(c);
	tp->streamed = ct_len > c->e->stream_above;
	atomic_init(&tp->refs, 1);
	tp->fd = -1;
	rc = tp->streamed ? otrp_stream_prefix(c->st, c->op.ta_version_id, m, signer_of(c),
	    c->e->cfg.spool_dir, &tp->p, &tp->fd, err) : ta_prefix_held(c, iv, head, &tp->p, err);
	if (rc != TAM_OK) {
		free(tp);
		goto out;
	}
	tp->bytes = jose_jws_prefix_bytes(tp->p);
	*out = ta_prefix_keep(c, tp);
out:
	pthread_mutex_unlock(&c->e->prefix_build_mu);
	return rc;
}

/*
 * An InstallTA or UpdateTA. Its TBS begins with the TA, the same for every
 * device, so that share of the encoding and of the signature's hash is done
 * once per version and identity, and a device's message costs its own
 * members, a signature and a copy, however large the TA; a large TA's
 * message is not even copied but made again as it is sent (otrp_stream.c).
 */
static int
sign_ta_request(struct ctx *c, enum otrp_msg m, const uint8_t iv[16], json_t *tbs,
    struct tam_err *err)
{
	struct ta_prefix *tp = NULL;
	char head[96], *text = NULL, *tail_b64 = NULL, *msg = NULL;
	const char *phead;
	size_t len = 0, hlen, plen = 0, at = 0;
	json_t *jws = NULL;
	int rc;

	if (tbs == NULL)
		return tam_err_set(err, TAM_ENOMEM, "cannot build %s", otrp_request_name(m));
	rc = otrp_dumps(tbs, &text, &len);
	json_decref(tbs);
	if (rc != TAM_OK)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if (otrp_tbs_ta_head(m, head, sizeof(head)) != TAM_OK ||
	    len <= (hlen = strlen(head)) || memcmp(text, head, hlen) != 0 || text[hlen] != '"') {
		rc = tam_err_set(err, TAM_EINVAL, "%s does not begin with its TA",
		    otrp_request_name(m));
		goto out;
	}
	if ((rc = ta_prefix_get(c, m, iv, head, &tp, err)) != TAM_OK ||
	    (rc = pki_signer_sign_prefixed(signer_of(c), tp->p, (const uint8_t *)text + hlen,
	    len - hlen, &jws, &tail_b64, err)) != TAM_OK)
		goto out;
	if (tp->streamed) {
		if ((rc = otrp_wrap_request_hole(m, jws, &msg, &len, &at)) != TAM_OK) {
			rc = tam_err_set(err, rc, "cannot serialize %s", otrp_request_name(m));
			goto out;
		}
		rc = otrp_stream_new(c->st, c->op.ta_version_id, m, tp->fd, msg, len, at, tail_b64,
		    &c->e->slots, c->dev.did, &c->stream, err);
		tail_b64 = NULL;
		goto out;
	}
	phead = jose_jws_prefix_head(tp->p, &plen);
	if ((rc = otrp_wrap_request_payload(m, jws, phead, plen, tail_b64, &c->body,
	    &c->body_len)) != TAM_OK)
		rc = tam_err_set(err, rc, "cannot serialize %s", otrp_request_name(m));
out:
	ta_prefix_put(tp);
	json_decref(jws);
	free(tail_b64);
	free(text);
	return rc;
}

/*
 * AIST's encrypted_ta: the SP-signed bundle as a flattened JWS, in a flat
 * JWE to the TEE's own key (it has no SP AIKs), made per device.
 */
static int
build_aist_ta(struct ctx *c, json_t **out, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	char *flat = NULL;
	size_t flat_len = 0;
	const char *alg, *enc;
	int rc;

	*out = NULL;
	if ((rc = store_ta_version_get(c->st, c->op.ta_version_id, false, &v, err)) != TAM_OK)
		return rc;
	if (v.has_pdata) {
		rc = tam_err_set(err, TAM_EUNSUPPORTED, "profile aist: its agent takes no "
		    "personalization data");
		goto out;
	}
	if (v.size > OTRP_AIST_MAX_BUNDLE) {
		rc = tam_err_set(err, TAM_EUNSUPPORTED, "profile aist: the TA bundle is %lld bytes, "
		    "its agent takes %d at most", (long long)v.size, OTRP_AIST_MAX_BUNDLE);
		goto out;
	}
	store_ta_version_clear(&v);
	if ((rc = store_ta_version_get(c->st, c->op.ta_version_id, true, &v, err)) != TAM_OK)
		goto out;
	if (otrp_bundle_flattened(v.bundle, v.bundle_len, &flat, &flat_len) != TAM_OK) {
		rc = tam_err_set(err, TAM_EUNSUPPORTED, "profile aist: the TA bundle is not a JWS");
		goto out;
	}
	pick_suite(c, c->dev_key, &alg, &enc);
	rc = jose_jwe_encrypt(c->dev_key, alg, enc, JOSE_JWE_FLAT_PROTECTED, (const uint8_t *)flat,
	    flat_len, out, err);
out:
	free(flat);
	store_ta_version_clear(&v);
	return rc;
}

/* The database's key of stateless rids into key, read once per engine. */
static int
rid_key_get(struct otrp_engine *e, struct store *st, uint8_t key[OTRP_RID_KEY_LEN],
    struct tam_err *err)
{
	int rc = TAM_OK;

	pthread_mutex_lock(&e->trust_mu);
	if (!e->rid_key_loaded &&
	    (rc = store_secret_get(st, "opening_rid_key", e->rid_key, sizeof(e->rid_key),
	    err)) == TAM_OK)
		e->rid_key_loaded = true;
	if (rc == TAM_OK)
		memcpy(key, e->rid_key, OTRP_RID_KEY_LEN);
	pthread_mutex_unlock(&e->trust_mu);
	return rc;
}

/* A stateless rid for tid that expires at r->expires, with r->flags, into r->rid. */
static int
opening_rid(struct otrp_engine *e, struct store *st, const char *tid, struct store_request *r,
    struct tam_err *err)
{
	uint8_t key[OTRP_RID_KEY_LEN];
	int rc;

	if ((rc = rid_key_get(e, st, key, err)) != TAM_OK)
		return rc;
	rc = otrp_rid_make(key, tid, r->expires, r->flags, r->rid);
	tam_wipe(key, sizeof(key));
	if (rc != TAM_OK)
		return tam_err_set(err, rc, "cannot make a stateless rid");
	return TAM_OK;
}

/*
 * A GetDeviceStateRequest under tid signed by signer (alt: the alternate
 * identity, whose OCSP staple goes with it), and the row (without its
 * session) that will remember it; r->rid and r->expires are the caller's.
 */
static int
build_get_device_state(struct otrp_engine *e, struct pki_signer *signer, bool alt,
    struct store_request *r, const char *tid, int64_t now, char **body, size_t *len,
    struct tam_err *err)
{
	/* The algorithms we verify TEE signatures with; the TEE must pick one of them. */
	static const char *const algs[] = { JOSE_ALG_RS256, JOSE_ALG_ES256 };

	r->op = TAM_OP_NONE;
	r->created = now;
	snprintf(r->response, sizeof(r->response), "%s",
	    otrp_response_name(OTRP_MSG_GET_DEVICE_STATE));
	return sign_and_wrap(signer, OTRP_MSG_GET_DEVICE_STATE, otrp_tbs_get_device_state(r->rid, tid,
	    algs, sizeof(algs) / sizeof(algs[0]), ocsp_copy(e, alt)), body, len, err);
}

/*
 * The session's next request is a GetDeviceStateRequest again, under its
 * tid, from the identity alt names (its flag goes with flags).
 */
static int
ask_state_again(struct ctx *c, bool alt, unsigned flags, struct tam_err *err)
{
	int rc;

	memset(&c->next, 0, sizeof(c->next));
	c->next.session_id = c->req.session_id;
	c->next.device_id = c->req.device_id;
	c->next.flags = flags | (alt ? STORE_REQ_ALT_IDENTITY : 0);
	/* A session not written yet stays unwritten: its next rid is stateless too. */
	c->next.expires = c->now + atomic_load(&c->e->request_ttl);
	if (c->stateless)
		rc = opening_rid(c->e, c->st, c->req.tid, &c->next, err);
	else if ((rc = tam_random_id(c->next.rid)) != TAM_OK)
		rc = tam_err_set(err, rc, "no randomness");
	if (rc != TAM_OK)
		return rc;
	if ((rc = build_get_device_state(c->e, alt ? c->e->cfg.alt_signer : c->e->cfg.signer, alt,
	    &c->next, c->req.tid, c->now, &c->body, &c->body_len, err)) != TAM_OK)
		return rc;
	c->ask_state = true;
	return TAM_OK;
}

/* Build the request for c->op and the row that will remember it. */
static int
build_next(struct ctx *c, struct tam_err *err)
{
	struct otrp_engine *e = c->e;
	const char *tamid = pki_signer_tamid(signer_of(c));
	struct otrp_req_common com;
	struct store_sp sp = { 0 };
	json_t *content = NULL, *enc_content = NULL, *enc_ta = NULL, *enc_ta_data = NULL;
	enum otrp_msg m = otrp_msg_for_op(c->op.kind);
	uint8_t ta_iv[16];
	int rc;

	memset(&c->next, 0, sizeof(c->next));
	if ((rc = tam_random_id(c->next.rid)) != TAM_OK)
		return tam_err_set(err, rc, "no randomness");
	c->next.session_id = c->req.session_id;
	c->next.op = c->op.kind;
	c->next.sp_id = c->op.sp_id;
	c->next.ta_version_id = c->op.ta_version_id;
	c->next.created = c->now;
	c->next.expires = c->now + atomic_load(&e->request_ttl);
	memcpy(c->next.spid, c->op.spid, sizeof(c->next.spid));
	memcpy(c->next.sdname, c->op.sdname, sizeof(c->next.sdname));
	memcpy(c->next.taid, c->op.taid, sizeof(c->next.taid));
	memcpy(c->next.response, otrp_response_name(m), strlen(otrp_response_name(m)) + 1);
	memcpy(c->next.new_sdname, c->op.new_sdname, sizeof(c->next.new_sdname));
	c->next.flags = (c->op.renew_aik ? STORE_REQ_RENEW_AIK : 0) |
	    (c->op.deleteta ? STORE_REQ_DELETE_TA : 0) |
	    (c->req.flags & (STORE_REQ_RESYNCED | STORE_REQ_ALT_IDENTITY));

	if (c->op.kind == TAM_OP_CREATE_SD || c->op.kind == TAM_OP_INSTALL_TA ||
	    c->op.kind == TAM_OP_UPDATE_TA || c->op.kind == TAM_OP_UPDATE_SD) {
		if ((rc = store_sp_get_by_id(c->st, c->op.sp_id, &sp, err)) != TAM_OK)
			return rc;
	}
	/* The certificate an SD gets, remembered: a DSI never tells which one it holds. */
	if (c->op.kind == TAM_OP_CREATE_SD || (c->op.kind == TAM_OP_UPDATE_SD && c->op.add_spcert)) {
		c->next.has_spcert_fp = true;
		tam_sha256(sp.cert, sp.cert_len, c->next.spcert_fp);
	}
	switch (c->op.kind) {
	case TAM_OP_CREATE_SD:
		content = otrp_content_create_sd(sp.spid, sp.sdname, sp.cert, sp.cert_len, tamid,
		    c->dev.did);
		break;
	case TAM_OP_INSTALL_TA:
	case TAM_OP_UPDATE_TA:
		/* UpdateTA's content is InstallTA's: the TA, its SD and the signer to check it with. */
		content = otrp_content_install_ta(tamid, sp.spid, sp.sdname, sp.cert, sp.cert_len,
		    c->op.taid);
		if ((rc = c->aist ? build_aist_ta(c, &enc_ta, err) : build_encrypted_ta(c, &enc_ta,
		    &enc_ta_data, ta_iv, err)) != TAM_OK)
			goto out;
		break;
	case TAM_OP_DELETE_TA:
		content = otrp_content_delete_ta(tamid, c->op.sdname, c->op.taid);
		break;
	case TAM_OP_DELETE_SD:
		/* deleteta only when an operator purged the SD; otherwise its TAs went first. */
		content = otrp_content_delete_sd(tamid, c->op.sdname, c->op.deleteta);
		break;
	case TAM_OP_UPDATE_SD: {
		const struct otrp_sd_changes ch = {
			.newsdname = c->op.new_sdname[0] != '\0' ? c->op.new_sdname : NULL,
			.spcert = c->op.add_spcert ? sp.cert : NULL,
			.spcert_len = sp.cert_len,
			.delspcert_fp = c->op.del_spcert ? c->op.old_spcert_fp : NULL,
			.renewteespaik = c->op.renew_aik,
		};
		content = otrp_content_update_sd(tamid, c->op.spid, c->op.sdname, &ch);
		break;
	}
	case TAM_OP_NONE:
		rc = tam_err_set(err, TAM_EINVAL, "no operation to build");
		goto out;
	}
	rc = encrypt_content(c, content, &enc_content, err);
	content = NULL;
	if (rc != TAM_OK)
		goto out;
	com.rid = c->next.rid;
	com.tid = c->req.tid;
	com.tee = c->state.tee_name;
	if (c->dsi != NULL)
		tam_sha256(c->dsi, c->dsi_len, com.dsihash);
	else
		memcpy(com.dsihash, c->dev.dsihash, sizeof(com.dsihash));
	if (enc_ta != NULL && !c->aist)
		rc = sign_ta_request(c, m, ta_iv, otrp_tbs_ta_request(m, &com, enc_content, enc_ta,
		    enc_ta_data), err);
	else
		rc = sign_and_wrap(signer_of(c), m, otrp_tbs_request(m, &com, enc_content, enc_ta),
		    &c->body, &c->body_len, err);
	enc_content = enc_ta = enc_ta_data = NULL;
	if (rc == TAM_OK && c->aist && c->body_len > OTRP_AIST_MAX_MESSAGE)
		rc = tam_err_set(err, TAM_EUNSUPPORTED, "profile aist: the %s is %zu bytes, its "
		    "broker reads %d at most", otrp_request_name(m), c->body_len,
		    OTRP_AIST_MAX_MESSAGE);
out:
	json_decref(content);
	json_decref(enc_content);
	json_decref(enc_ta);
	json_decref(enc_ta_data);
	store_sp_clear(&sp);
	return rc;
}

/* ---- committing ---- */

/* TAs of our catalogue may be deleted by policy; others it leaves alone. */
static int
mark_managed(struct ctx *c, struct tam_err *err)
{
	for (size_t i = 0; i < c->state.n_tas; i++) {
		struct tam_ta_obs *ta = &c->state.tas[i];
		struct store_ta t;
		int rc;

		if (ta->ta_version_id != 0) {
			ta->managed = true;
			continue;
		}
		rc = store_ta_get(c->st, ta->taid, &t, err);
		if (rc != TAM_OK && rc != TAM_ENOTFOUND)
			return rc;
		ta->managed = rc == TAM_OK;
	}
	return TAM_OK;
}

/* Operations this device refused recently, plus the one it is refusing now. */
static int
refused_ops(struct ctx *c, struct tam_op_key **out, size_t *n, struct tam_err *err)
{
	struct store_op_failure *f = NULL;
	struct tam_op_key *keys;
	size_t nf = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = store_op_failures_active(c->st, c->dev.id, c->now, &f, &nf, err)) != TAM_OK)
		return rc;
	keys = calloc(nf + 1, sizeof(*keys));
	if (keys == NULL) {
		free(f);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nf; i++) {
		keys[i].kind = f[i].op;
		memcpy(keys[i].taid, f[i].taid, sizeof(keys[i].taid));
		memcpy(keys[i].sdname, f[i].sdname, sizeof(keys[i].sdname));
	}
	free(f);
	if (c->refused) {
		keys[nf].kind = c->req.op;
		memcpy(keys[nf].taid, c->req.taid, sizeof(keys[nf].taid));
		memcpy(keys[nf].sdname, c->req.sdname, sizeof(keys[nf].sdname));
		nf++;
	}
	*out = keys;
	*n = nf;
	return TAM_OK;
}

static void
aist_view_add(struct tam_dev_state *v, const char *sdname, const char *spid,
    const struct store_device *dev)
{
	if (sdname[0] == '\0' || tam_dev_state_sd(v, sdname) != NULL)
		return;
	struct tam_sd_obs *sd = &v->sds[v->n_sds++];
	memcpy(sd->sdname, sdname, strlen(sdname) + 1);
	memcpy(sd->spid, spid, strlen(spid) + 1);
	if (spid[0] == '\0' || tam_dev_state_aik(v, spid) != NULL)
		return;
	struct tam_spaik_obs *a = &v->aiks[v->n_aiks++];
	memcpy(a->spid, spid, strlen(spid) + 1);
	a->spki = dev->spki;
	a->spki_len = dev->spki_len;
}

/*
 * What policy sees of an AIST device: it has no SDs to manage and no SP
 * AIKs, only one implicit SD where TAs go encrypted to the TEE key. So each
 * SP of an assignment or of a recorded TA gets an SD that exists, with the
 * TEE key as its AIK. The TA list is borrowed; free with free(sds), free(aiks).
 */
static int
aist_view(const struct ctx *c, const struct tam_assignment *want, size_t n,
    struct tam_dev_state *v, struct tam_err *err)
{
	size_t cap = n + c->state.n_tas + 1;

	memset(v, 0, sizeof(*v));
	v->tas = c->state.tas;
	v->n_tas = c->state.n_tas;
	v->sds = calloc(cap, sizeof(*v->sds));
	v->aiks = calloc(cap, sizeof(*v->aiks));
	if (v->sds == NULL || v->aiks == NULL) {
		free(v->sds);
		free(v->aiks);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		aist_view_add(v, want[i].sdname, want[i].spid, &c->dev);
	for (size_t i = 0; i < c->state.n_tas; i++)
		aist_view_add(v, c->state.tas[i].sdname, "", &c->dev);
	return TAM_OK;
}

/*
 * A TA installed or updated because an assigned one requires it: the audit
 * names that assignment and who made it, since nobody assigned this TA.
 */
static void
audit_implied(struct ctx *c, const struct tam_assignment *want, size_t n)
{
	size_t len = strlen(c->audit_detail);

	if (c->refused || (c->req.op != TAM_OP_INSTALL_TA && c->req.op != TAM_OP_UPDATE_TA))
		return;
	for (size_t i = 0; i < n; i++)
		if (want[i].implied && strcmp(want[i].taid, c->req.taid) == 0) {
			snprintf(c->audit_detail + len, sizeof(c->audit_detail) - len,
			    " implied_by=%s assigned_by=%s", want[i].implied_by,
			    want[i].implied_actor);
			return;
		}
}

/* Ask policy what comes next and build it; nothing is written yet. */
static int
decide(struct ctx *c, struct tam_err *err)
{
	struct tam_assignment *want = NULL;
	struct tam_sd_want *sds = NULL;
	struct tam_op_key *skip = NULL;
	struct tam_ta_req *reqs = NULL;
	size_t n = 0, n_sds = 0, n_skip = 0, n_reqs = 0;
	int rc;

	if (!c->new_device &&
	    ((rc = store_assignments_get(c->st, c->dev.id, &want, &n, err)) != TAM_OK ||
	    (rc = store_sd_wants_get(c->st, c->dev.id, &sds, &n_sds, err)) != TAM_OK ||
	    (rc = refused_ops(c, &skip, &n_skip, err)) != TAM_OK))
		goto out;
	if ((rc = mark_managed(c, err)) != TAM_OK ||
	    (rc = store_ta_requires_get(c->st, want, n, &c->state, &reqs, &n_reqs, err)) != TAM_OK)
		goto out;
	audit_implied(c, want, n);
	/* What this answer settles is dropped in the same commit: already settled for policy. */
	for (size_t i = 0; c->clear_sd_requests != -2 && i < n_sds; i++)
		if (strcmp(sds[i].spid, c->req.spid) == 0) {
			if (c->clear_sd_requests == -1 || c->clear_sd_requests == STORE_SD_PURGE)
				sds[i].purge = false;
			if (c->clear_sd_requests == -1 || c->clear_sd_requests == STORE_SD_RENEW_AIK)
				sds[i].renew_aik = false;
		}
	if (c->aist) {
		struct tam_dev_state view;
		if ((rc = aist_view(c, want, n, &view, err)) != TAM_OK)
			goto out;
		policy_next_op(&(const struct policy_in){ .observed = &view, .want = want,
		    .n_want = n, .skip = skip, .n_skip = n_skip, .reqs = reqs, .n_reqs = n_reqs },
		    &c->op);
		free(view.sds);
		free(view.aiks);
	} else {
		policy_next_op(&(const struct policy_in){ .observed = &c->state, .want = want,
		    .n_want = n, .sds = sds, .n_sds = n_sds, .skip = skip, .n_skip = n_skip,
		    .reqs = reqs, .n_reqs = n_reqs }, &c->op);
	}
	free(want);
	free(sds);
	free(skip);
	free(reqs);
	want = NULL;
	sds = NULL;
	skip = NULL;
	reqs = NULL;
	if (c->op.kind == TAM_OP_NONE) {
		if (c->op.blocked && c->op.blocked_on[0] != '\0') {
			log_warn("event=otrp.blocked taid=%s requires=%s reason=\"a TA it requires is "
			    "missing or too old, and nothing can bring it now\"", c->op.taid,
			    c->op.blocked_on);
			snprintf(c->result, sizeof(c->result), "blocked:required TA %s missing for %s",
			    c->op.blocked_on, c->op.taid);
		} else if (c->op.blocked) {
			log_warn("event=otrp.blocked taid=%s spid=%s reason=\"no TEE SP AIK for the SP\"",
			    c->op.taid, c->op.spid);
			snprintf(c->result, sizeof(c->result), "blocked:no TEE SP AIK for %s", c->op.spid);
		}
		return TAM_OK;
	}
	/* Its broker knows GetDeviceState, InstallTA and DeleteTA, nothing else. */
	if (c->aist && c->op.kind != TAM_OP_INSTALL_TA && c->op.kind != TAM_OP_DELETE_TA) {
		log_warn("event=otrp.blocked op=%s taid=%s reason=\"profile aist has no such message\"",
		    tam_op_kind_name(c->op.kind), c->op.taid);
		snprintf(c->result, sizeof(c->result), "blocked:profile aist has no %s",
		    tam_op_kind_name(c->op.kind));
		memset(&c->op, 0, sizeof(c->op));
		return TAM_OK;
	}
	/* The TEE said pass but its state did not change: asking again would loop. */
	if (c->req.op == c->op.kind && strcmp(c->req.taid, c->op.taid) == 0 &&
	    strcmp(c->req.sdname, c->op.sdname) == 0) {
		log_warn("event=otrp.no_progress op=%s taid=%s sdname=%s", tam_op_kind_name(c->op.kind),
		    c->op.taid, c->op.sdname);
		snprintf(c->result, sizeof(c->result), "no-progress:%s %s", tam_op_kind_name(c->op.kind),
		    c->op.kind == TAM_OP_CREATE_SD ? c->op.sdname : c->op.taid);
		memset(&c->op, 0, sizeof(c->op));
		return TAM_OK;
	}
	rc = build_next(c, err);
	if (rc != TAM_EUNSUPPORTED)
		return rc;
	/* The device is fine, we cannot serve it yet: keep its state, end the session, say why. */
	log_warn("event=otrp.blocked op=%s taid=%s reason=\"%s\"", tam_op_kind_name(c->op.kind),
	    c->op.taid, err != NULL ? err->msg : "unsupported");
	snprintf(c->result, sizeof(c->result), "blocked:%s", err != NULL ? err->msg : "unsupported");
	free(c->body);
	c->body = NULL;
	memset(&c->op, 0, sizeof(c->op));
	return TAM_OK;
out:
	free(want);
	free(sds);
	free(skip);
	free(reqs);
	return rc;
}

static void
remember_read(struct ctx *c)
{
	c->had_dsi = c->dev.dsi != NULL;
	memcpy(c->had_dsihash, c->dev.dsihash, sizeof(c->had_dsihash));
}

/*
 * Another session of the same device may have committed while we verified
 * and decided: then our state was built from a stale read. Checked inside
 * the commit transaction, so one of the two wins cleanly.
 */
static int
unchanged_since_read(struct ctx *c, struct tam_err *err)
{
	struct store_device now = { 0 };
	bool same;
	int rc;

	if ((rc = store_device_get(c->st, c->dev.id, &now, err)) != TAM_OK)
		return rc;
	same = (now.dsi != NULL) == c->had_dsi &&
	    (!c->had_dsi || memcmp(now.dsihash, c->had_dsihash, 32) == 0);
	/* Decommissioned, re-profiled or re-keyed while this answer was worked on: it lost. */
	rc = strcmp(now.state, c->dev.state) != 0 || strcmp(now.profile, c->dev.profile) != 0 ||
	    strcmp(now.thumbprint, c->dev.thumbprint) != 0 ? TAM_EDENIED : TAM_OK;
	store_device_clear(&now);
	if (rc != TAM_OK)
		return tam_err_set(err, rc, "the device was changed by an operator meanwhile; "
		    "open a new session");
	if (!same)
		return tam_err_set(err, TAM_ECONFLICT,
		    "the device's state changed in another session meanwhile; open a new session");
	return TAM_OK;
}

/*
 * The SD stakes this answer changes: a CreateSD of ours the TEE confirmed
 * gives its SP one for that SD, an UpdateSD's rename moves it, and a stake
 * whose SD the device no longer holds (we deleted it, or it went) ends.
 */
static int
commit_stakes(struct ctx *c, struct tam_err *err)
{
	int rc = TAM_OK;

	if (!c->refused && c->req.op == TAM_OP_CREATE_SD && c->req.sp_id != 0)
		rc = store_sd_stake_add(c->st, c->dev.id, c->req.sp_id, c->req.sdname, c->now, err);
	else if (!c->refused && c->req.op == TAM_OP_UPDATE_SD && c->req.new_sdname[0] != '\0')
		rc = store_sd_stake_rename(c->st, c->dev.id, c->req.sdname, c->req.new_sdname, err);
	if (rc != TAM_OK)
		return rc;
	return store_sd_stakes_prune(c->st, c->dev.id, err);
}

/* "sdname=... spid=..." of a claimed SD; the device chose both, so they are quoted as needed. */
static int
claim_field(const struct tam_sd_obs *sd, char *out, size_t size)
{
	char name[4 * TAM_SDNAME_MAX + 3], spid[4 * TAM_SPID_MAX + 3];
	int n;

	if (tam_field_value(sd->sdname, name, sizeof(name)) < 0 ||
	    tam_field_value(sd->spid, spid, sizeof(spid)) < 0)
		return -1;
	n = snprintf(out, size, "sdname=%s spid=%s", name, spid);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/*
 * SDs the device newly lists that the TAM never created: its claims,
 * audited whoever else has a stake there. The detail keeps what fits and
 * counts the rest: a long claim must never stop the answer.
 */
static int
commit_claims(struct ctx *c, const char *object, struct tam_err *err)
{
	char detail[sizeof(((struct store_audit_row *)0)->detail)], one[4 * TAM_SDNAME_MAX + 4 * TAM_SPID_MAX + 32];
	size_t len = 0, shown = 0, unstaked = 0;
	bool staked;
	int rc, n;

	detail[0] = '\0';
	for (size_t i = 0; i < c->n_claims && i < sizeof(c->claims) / sizeof(c->claims[0]); i++) {
		if ((rc = store_sd_stake_has(c->st, c->dev.id, c->claims[i].sdname,
		    c->claims[i].spid, &staked, err)) != TAM_OK)
			return rc;
		if (staked)
			continue;
		unstaked++;
		n = claim_field(&c->claims[i], one, sizeof(one));
		if (n < 0 || len + (size_t)n + 2 + 16 >= sizeof(detail))
			continue;
		len += (size_t)snprintf(detail + len, sizeof(detail) - len, "%s%s", shown++ ? " " : "",
		    one);
	}
	if (unstaked == 0)
		return TAM_OK;
	unstaked += c->n_claims - (c->n_claims < sizeof(c->claims) / sizeof(c->claims[0]) ?
	    c->n_claims : sizeof(c->claims) / sizeof(c->claims[0]));
	if (unstaked > shown)
		snprintf(detail + len, sizeof(detail) - len, "%smore=%zu", shown ? " " : "",
		    unstaked - shown);
	/* The device said it: the claim is its own, not the TAM's. */
	return store_audit(c->st, object, "device.sd_claimed", object, detail, err);
}

static int
commit(struct ctx *c, struct tam_err *err)
{
	struct store *st = c->st;
	char didhex[TAM_DID_HEX], object[80];
	int rc;

	if ((rc = store_begin(st, err)) != TAM_OK)
		return rc;
	if (c->stateless)
		rc = store_session_answered(st, &c->req, c->now, &c->req.session_id, err);
	else
		rc = store_request_consume(st, c->req.rid, c->now, err);
	if (rc != TAM_OK)
		goto fail;
	if (c->stateless)
		c->next.session_id = c->req.session_id;
	if (!c->new_device && (rc = unchanged_since_read(c, err)) != TAM_OK)
		goto fail;
	if (c->new_device && (rc = store_device_add(st, &c->dev, &c->dev.id, err)) != TAM_OK)
		goto fail;
	if (c->renewed && (rc = store_device_renew(st, &c->dev, err)) != TAM_OK)
		goto fail;
	/* Its rid proves nothing (always "1"): a replayed answer is caught by its payload. */
	if (c->aist) {
		const uint8_t *payload;
		uint8_t digest[32];
		size_t plen = 0;
		payload = jose_jws_payload_unverified(c->resp->jws, &plen);
		tam_sha256(payload, plen, digest);
		if ((rc = store_answer_remember(st, c->dev.id, digest, c->now, err)) != TAM_OK)
			goto fail;
	}
	if (c->dsi != NULL &&
	    (rc = store_device_seen(st, c->dev.id, c->state.tee_name, c->state.tee_ver, c->dsi,
	    c->dsi_len, c->now, err)) != TAM_OK)
		goto fail;
	if ((rc = store_device_state_set(st, c->dev.id, &c->state, err)) != TAM_OK)
		goto fail;
	if (c->req.device_id == 0) {
		if ((rc = store_session_bind_device(st, c->req.session_id, c->dev.id, err)) != TAM_OK ||
		    (rc = store_requests_cancel_device(st, c->dev.id, c->req.session_id, err)) != TAM_OK)
			goto fail;
	}
	if (c->refused && !c->ask_state)
		rc = store_op_failure_record(st, c->dev.id, c->req.op, c->req.taid, c->req.sdname,
		    c->refusal, c->now, TAM_RETRY_BASE_SECONDS, TAM_RETRY_MAX_SECONDS, err);
	else if (c->req.op != TAM_OP_NONE && !c->refused)
		rc = store_op_failure_clear(st, c->dev.id, c->req.op, c->req.taid, c->req.sdname, err);
	if (rc == TAM_OK && c->clear_sd_requests != -2)
		rc = store_sd_requests_clear(st, c->dev.id, c->req.spid, c->clear_sd_requests, err);
	if (rc == TAM_OK)
		rc = commit_stakes(c, err);
	if (rc != TAM_OK)
		goto fail;
	tam_hex_encode(c->dev.did, 32, didhex);
	snprintf(object, sizeof(object), "device:%s", didhex);
	if ((rc = commit_claims(c, object, err)) != TAM_OK)
		goto fail;
	if (c->audit_action[0] != '\0' &&
	    (rc = store_audit(st, "tamd", c->audit_action, object, c->audit_detail, err)) != TAM_OK)
		goto fail;
	if (c->op.kind != TAM_OP_NONE || c->ask_state) {
		c->next.device_id = c->dev.id;
		rc = store_request_add(st, &c->next, err);
	} else {
		rc = store_session_end(st, c->req.session_id, c->result[0] ? c->result : "ok",
		    c->now, err);
	}
	if (rc != TAM_OK)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

static int
reply_from(struct ctx *c, struct otrp_reply *reply)
{
	reply->unverified = c->unverified;
	reply->answered_op = c->req.op;
	reply->answered_pass = c->req.op != TAM_OP_NONE && !c->refused;
	if (c->op.kind == TAM_OP_NONE && !c->ask_state) {
		reply->done = true;
		reply->retry_after = c->retry_after;
		snprintf(reply->result, sizeof(reply->result), "%s", c->result[0] ? c->result : "ok");
	} else {
		reply->body = c->body;
		reply->len = c->body_len;
		reply->stream = c->stream;
		c->body = NULL;
		memset(&c->stream, 0, sizeof(c->stream));
	}
	return TAM_OK;
}

/* ---- the pending request ---- */

/*
 * A stateless rid: ours for this tid (MAC), current, and not answered yet
 * (its row is written by the answer). Checked before any public-key work.
 */
/*
 * The answer's stateless rid against its tid: TAM_OK with what it carries,
 * TAM_ERID_UNKNOWN when we did not make it for that tid (err untouched).
 */
static int
stateless_check(struct ctx *c, int64_t *expires, unsigned *flags, struct tam_err *err)
{
	uint8_t key[OTRP_RID_KEY_LEN];
	int rc;

	if ((rc = rid_key_get(c->e, c->st, key, err)) != TAM_OK)
		return rc;
	rc = otrp_rid_check(key, c->resp->rid, c->resp->tid, expires, flags);
	tam_wipe(key, sizeof(key));
	if (rc != TAM_OK && rc != TAM_ERID_UNKNOWN)
		return tam_err_set(err, rc, "cannot check a stateless rid");
	return rc;
}

static int
load_stateless(struct ctx *c, struct tam_err *err)
{
	const char *want = otrp_response_name(OTRP_MSG_GET_DEVICE_STATE);
	struct store_request seen;
	int64_t expires = 0;
	unsigned flags = 0;
	int rc;

	rc = stateless_check(c, &expires, &flags, err);
	if (rc == TAM_ERID_UNKNOWN || (rc == TAM_OK && (flags & ~STORE_REQ_ALT_IDENTITY) != 0))
		return tam_err_set(err, TAM_ERID_UNKNOWN, "rid \"%s\" was never issued for this tid",
		    c->resp->rid);
	if (rc != TAM_OK)
		return rc;
	if (expires <= c->now)
		return tam_err_set(err, TAM_ERID_EXPIRED, "rid \"%s\" has expired", c->resp->rid);
	if ((rc = store_request_get(c->st, c->resp->rid, &seen, err)) == TAM_OK)
		return tam_err_set(err, TAM_ERID_REPLAYED, "rid \"%s\" was already answered",
		    c->resp->rid);
	if (rc != TAM_ENOTFOUND)
		return rc;
	if (c->resp->msg != OTRP_MSG_GET_DEVICE_STATE)
		return tam_err_set(err, TAM_EMSG_UNEXPECTED, "rid \"%s\" expects %s, not %s",
		    c->resp->rid, want, otrp_response_name(c->resp->msg));
	memset(&c->req, 0, sizeof(c->req));
	memcpy(c->req.rid, c->resp->rid, sizeof(c->req.rid));
	memcpy(c->req.tid, c->resp->tid, sizeof(c->req.tid));
	memcpy(c->req.response, want, strlen(want) + 1);
	c->req.op = TAM_OP_NONE;
	c->req.expires = expires;
	c->req.flags = flags;
	c->stateless = true;
	return TAM_OK;
}

static int
load_pending(struct ctx *c, struct tam_err *err)
{
	const char *want = otrp_response_name(c->resp->msg);
	struct store_session sess;
	int rc;

	if (c->aist) {
		/*
		 * Its rid and tid are always "1": the answer belongs to the one request
		 * outstanding for this peer's open session on this endpoint.
		 */
		rc = store_request_of_peer(c->st, otrp_profile_name(OTRP_PROFILE_AIST),
		    c->from->peer != NULL ? c->from->peer : "", c->now, &c->req, err);
		if (rc == TAM_ENOTFOUND)
			return tam_err_set(err, TAM_ERID_UNKNOWN,
			    "no request of this peer is waiting for an answer");
		if (rc != TAM_OK)
			return rc;
		if (strcmp(c->req.response, want) != 0)
			return tam_err_set(err, TAM_EMSG_UNEXPECTED, "the peer's request expects %s, not %s",
			    c->req.response, want);
		log_info("event=otrp.aist_match rid=%s note=\"answer matched by peer, its rid is %.16s\"",
		    c->req.rid, c->resp->rid);
		return TAM_OK;
	}
	if (otrp_rid_is_stateless(c->resp->rid))
		return load_stateless(c, err);
	rc = store_request_get(c->st, c->resp->rid, &c->req, err);
	if (rc == TAM_ENOTFOUND)
		return tam_err_set(err, TAM_ERID_UNKNOWN, "rid \"%s\" was never issued", c->resp->rid);
	if (rc != TAM_OK)
		return rc;
	if (c->req.answered != 0)
		return tam_err_set(err, TAM_ERID_REPLAYED, "rid \"%s\" was already answered",
		    c->resp->rid);
	if (c->req.cancelled || c->req.expires <= c->now)
		return tam_err_set(err, TAM_ERID_EXPIRED, "rid \"%s\" has expired", c->resp->rid);
	if ((rc = store_session_get(c->st, c->req.session_id, &sess, err)) != TAM_OK)
		return rc;
	if (sess.ended != 0)
		return tam_err_set(err, TAM_ERID_EXPIRED, "the session of rid \"%s\" has ended (%s)",
		    c->resp->rid, sess.result);
	if (strcmp(c->req.tid, c->resp->tid) != 0)
		return tam_err_set(err, TAM_ERID_UNKNOWN, "tid does not belong to rid \"%s\"",
		    c->resp->rid);
	if (strcmp(c->req.response, want) != 0)
		return tam_err_set(err, TAM_EMSG_UNEXPECTED, "rid \"%s\" expects %s, not %s",
		    c->resp->rid, c->req.response, want);
	return TAM_OK;
}

static int
device_key(const struct store_device *d, struct jose_key **out, struct tam_err *err)
{
	X509 *x = NULL;
	int rc;

	if (d->key_kind == STORE_KEY_RAW || d->cert == NULL)
		return jose_key_from_spki(d->spki, d->spki_len, out, err);
	if ((rc = pki_cert_from_der(d->cert, d->cert_len, &x, err)) != TAM_OK)
		return rc;
	rc = pki_cert_public_key(x, out, err);
	X509_free(x);
	return rc;
}

/* ---- GetDeviceState ---- */

static int
concat_chain(const struct otrp_dsi *dsi, uint8_t **out, size_t *len, struct tam_err *err)
{
	struct tam_buf b = { 0 };

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < dsi->n_cacerts; i++)
		if (tam_buf_append(&b, dsi->cacerts[i], dsi->cacert_lens[i]) != TAM_OK) {
			tam_buf_free(&b);
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		}
	*out = b.data;
	*len = b.len;
	return TAM_OK;
}

/* The DSI's leaf and its CA certificates, parsed. */
static int
dsi_certs(const struct otrp_dsi *dsi, X509 **leaf, STACK_OF(X509) **untrusted,
    struct tam_err *err)
{
	int rc;

	if ((rc = pki_cert_from_der(dsi->cert, dsi->cert_len, leaf, err)) != TAM_OK)
		return rc;
	if ((*untrusted = sk_X509_new_null()) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	for (size_t i = 0; i < dsi->n_cacerts; i++) {
		X509 *x = NULL;
		if ((rc = pki_cert_from_der(dsi->cacerts[i], dsi->cacert_lens[i], &x, err)) != TAM_OK)
			return rc;
		if (sk_X509_push(*untrusted, x) == 0) {
			X509_free(x);
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		}
	}
	return TAM_OK;
}

/* The device record's certificate, chain and did become the DSI's. */
static int
take_dsi_cert(struct ctx *c, const struct otrp_dsi *dsi, const uint8_t did[32],
    struct tam_err *err)
{
	free(c->dev.cert);
	free(c->dev.chain);
	c->dev.chain = NULL;
	c->dev.chain_len = 0;
	c->dev.cert = malloc(dsi->cert_len);
	c->dev.cert_len = dsi->cert_len;
	if (c->dev.cert == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	memcpy(c->dev.cert, dsi->cert, dsi->cert_len);
	memcpy(c->dev.did, did, 32);
	c->dev.key_kind = STORE_KEY_CERT;
	return concat_chain(dsi, &c->dev.chain, &c->dev.chain_len, err);
}

/* A valid certificate nobody has: a new device, when TEEs may register. */
static int
register_device(struct ctx *c, const struct otrp_dsi *dsi, const uint8_t did[32],
    struct tam_err *err)
{
	int rc;

	if (!atomic_load(&c->e->auto_register))
		return tam_err_set(err, TAM_EDEVICE_UNKNOWN,
		    "TEE certificate is valid but the device is not enrolled");
	store_device_clear(&c->dev);
	memset(&c->dev, 0, sizeof(c->dev));
	c->new_device = true;
	c->dev.created = c->now;
	snprintf(c->dev.profile, sizeof(c->dev.profile), "default");
	snprintf(c->dev.state, sizeof(c->dev.state), "active");
	if ((rc = take_dsi_cert(c, dsi, did, err)) != TAM_OK ||
	    (rc = jose_key_to_spki(c->dev_key, &c->dev.spki, &c->dev.spki_len, err)) != TAM_OK ||
	    (rc = jose_key_thumbprint(c->dev_key, c->dev.thumbprint, err)) != TAM_OK)
		return rc;
	snprintf(c->audit_action, sizeof(c->audit_action), "device.register");
	return TAM_OK;
}

/*
 * A valid certificate for the key of a known device (found by thumbprint):
 * a renewal, or a raw-key device that now has a certificate. The device
 * keeps its row, name, assignments and history; its did follows the new
 * certificate, as the protocol defines it. The caller has checked the chain,
 * its revocation and its purpose, and the TEE's signature is checked with
 * this same key before anything is written.
 */
static int
renew_device(struct ctx *c, const struct otrp_dsi *dsi, const uint8_t did[32],
    struct tam_err *err)
{
	char old_hex[TAM_DID_HEX], new_hex[TAM_DID_HEX];
	const char *was = c->dev.key_kind == STORE_KEY_RAW ? "rawkey" : "cert";

	tam_hex_encode(c->dev.did, 32, old_hex);
	tam_hex_encode(did, 32, new_hex);
	snprintf(c->audit_action, sizeof(c->audit_action), "device.cert_renewed");
	snprintf(c->audit_detail, sizeof(c->audit_detail), "old=%s new=%s was=%s", old_hex,
	    new_hex, was);
	c->renewed = true;
	return take_dsi_cert(c, dsi, did, err);
}

/*
 * A certificate TEE: its chain must reach a trust anchor, unrevoked, and
 * its leaf be a TEE's. The device is the one with this certificate, else the
 * one with its key (a renewal), else a new one.
 */
static int
identify_by_cert(struct ctx *c, const struct otrp_dsi *dsi, struct tam_err *err)
{
	STACK_OF(X509) *untrusted = NULL;
	struct trust_ref *trust = NULL;
	char tp[JOSE_THUMBPRINT_LEN];
	X509 *leaf = NULL;
	uint8_t did[32];
	int rc;

	if ((rc = dsi_certs(dsi, &leaf, &untrusted, err)) != TAM_OK ||
	    (rc = trust_get(c->e, c->st, &trust, err)) != TAM_OK ||
	    (rc = pki_verify_chain(trust->trust, leaf, untrusted, c->now, PKI_PURPOSE_TEE,
	    err)) != TAM_OK ||
	    (rc = pki_cert_public_key(leaf, &c->dev_key, err)) != TAM_OK)
		goto out;
	tam_sha256(dsi->cert, dsi->cert_len, did);
	rc = store_device_get_by_did(c->st, did, &c->dev, err);
	if (rc != TAM_ENOTFOUND)
		goto out;
	if ((rc = jose_key_thumbprint(c->dev_key, tp, err)) != TAM_OK)
		goto out;
	rc = store_device_get_by_thumbprint(c->st, tp, &c->dev, err);
	if (rc == TAM_OK)
		rc = renew_device(c, dsi, did, err);
	else if (rc == TAM_ENOTFOUND)
		rc = register_device(c, dsi, did, err);
out:
	trust_put(trust);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	return rc;
}

/* A TEE without certificate: only an operator-enrolled key, named by "kid". */
static int
identify_by_kid(struct ctx *c, struct tam_err *err)
{
	const char *kid = jose_jws_kid(c->resp->jws);
	int rc;

	if (kid == NULL)
		return tam_err_set(err, TAM_EDEVICE_UNKNOWN,
		    "TEE sent neither a certificate nor a key id");
	rc = store_device_get_by_thumbprint(c->st, kid, &c->dev, err);
	if (rc == TAM_ENOTFOUND)
		return tam_err_set(err, TAM_EDEVICE_UNKNOWN, "no enrolled TEE key has id \"%.64s\"", kid);
	if (rc != TAM_OK)
		return rc;
	if (c->dev.key_kind != STORE_KEY_RAW)
		return tam_err_set(err, TAM_EDEVICE_UNKNOWN,
		    "device is known by certificate; its DSI must carry it");
	return jose_key_from_spki(c->dev.spki, c->dev.spki_len, &c->dev_key, err);
}

/* Keep what only we know (installed version ids, AIKs) across a fresh DSI. */
static int
merge_known(struct ctx *c, const struct tam_dev_state *old, bool dsi_has_aiks,
    struct tam_err *err)
{
	for (size_t i = 0; i < c->state.n_tas; i++)
		for (size_t j = 0; j < old->n_tas; j++)
			if (strcmp(c->state.tas[i].taid, old->tas[j].taid) == 0) {
				c->state.tas[i].ta_version_id = old->tas[j].ta_version_id;
				c->state.tas[i].version_key = old->tas[j].version_key;
			}
	for (size_t i = 0; i < c->state.n_sds; i++)
		for (size_t j = 0; j < old->n_sds; j++)
			if (strcmp(c->state.sds[i].spid, old->sds[j].spid) == 0 &&
			    c->state.sds[i].spid[0] != '\0') {
				c->state.sds[i].spcert_known = old->sds[j].spcert_known;
				memcpy(c->state.sds[i].spcert_fp, old->sds[j].spcert_fp, 32);
			}
	if (dsi_has_aiks)
		return TAM_OK;
	for (size_t j = 0; j < old->n_aiks; j++) {
		struct tam_spaik_obs *a;
		if (tam_dev_state_aik(&c->state, old->aiks[j].spid) != NULL)
			continue;
		a = realloc(c->state.aiks, (c->state.n_aiks + 1) * sizeof(*a));
		if (a == NULL)
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		c->state.aiks = a;
		a = &c->state.aiks[c->state.n_aiks];
		*a = old->aiks[j];
		a->spki = malloc(old->aiks[j].spki_len);
		if (a->spki == NULL)
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		memcpy(a->spki, old->aiks[j].spki, old->aiks[j].spki_len);
		c->state.n_aiks++;
	}
	return TAM_OK;
}

/*
 * A DSI is evidence of state, never of rights: the SDs it newly lists that
 * this answer's own operation did not make are kept aside, so the commit
 * can audit those the TAM never created as the device's claims.
 */
static void
note_claims(struct ctx *c, const struct tam_dev_state *old)
{
	for (size_t i = 0; i < c->state.n_sds; i++) {
		const struct tam_sd_obs *sd = &c->state.sds[i];
		const struct tam_sd_obs *was = tam_dev_state_sd(old, sd->sdname);
		if (was != NULL && strcmp(was->spid, sd->spid) == 0)
			continue;
		if (c->req.op == TAM_OP_CREATE_SD && strcmp(sd->sdname, c->req.sdname) == 0 &&
		    strcmp(sd->spid, c->req.spid) == 0)
			continue;
		if (c->req.op == TAM_OP_UPDATE_SD && strcmp(sd->sdname, c->req.new_sdname) == 0)
			continue;
		if (c->n_claims < sizeof(c->claims) / sizeof(c->claims[0]))
			c->claims[c->n_claims] = *sd;
		c->n_claims++;
	}
}

/* Take a parsed DSI as the device's new observed state. */
static int
adopt_dsi(struct ctx *c, struct otrp_dsi *dsi, const uint8_t *doc, size_t len,
    struct tam_err *err)
{
	struct tam_dev_state old = { 0 };
	int rc;

	if (!c->new_device && (rc = store_device_state_get(c->st, c->dev.id, &old, err)) != TAM_OK)
		return rc;
	for (size_t i = 0; i < dsi->state.n_aiks;) {
		struct tam_spaik_obs *a = &dsi->state.aiks[i];
		struct jose_key *k = NULL;
		rc = jose_key_from_spki(a->spki, a->spki_len, &k, err);
		jose_key_free(k);
		if (rc == TAM_EUNSUPPORTED) {
			/* Only this SP waits (policy reports it blocked); the device stays manageable. */
			log_warn("event=otrp.aik_unsupported spid=%s detail=\"%s\"", a->spid,
			    err != NULL ? err->msg : "");
			free(a->spki);
			*a = dsi->state.aiks[--dsi->state.n_aiks];
			continue;
		}
		if (rc != TAM_OK) {
			tam_dev_state_free(&old);
			return tam_err_set(err, TAM_EMALFORMED, "SP AIK of %s is not a public key", a->spid);
		}
		i++;
	}
	tam_dev_state_free(&c->state);
	c->state = dsi->state;
	memset(&dsi->state, 0, sizeof(dsi->state));
	note_claims(c, &old);
	rc = merge_known(c, &old, dsi->has_aiklist, err);
	tam_dev_state_free(&old);
	if (rc != TAM_OK)
		return rc;
	free(c->dsi);
	c->dsi = malloc(len ? len : 1);
	if (c->dsi == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	memcpy(c->dsi, doc, len);
	c->dsi_len = len;
	return TAM_OK;
}

/*
 * An AIST device sends no certificate and no kid, and all its builds may
 * share one key: the device is the enrolled aist-profile device whose key
 * verifies the signature. Bounded, so a flood of enrollments cannot make
 * every answer cost unbounded verifications.
 */
static int
identify_aist(struct ctx *c, struct tam_err *err)
{
	struct store_device *devs = NULL;
	struct jose_key *k = NULL;
	size_t n = 0;
	int rc;

	if ((rc = store_device_list_profile(c->st, "aist", OTRP_AIST_MAX_DEVICES, &devs, &n,
	    err)) != TAM_OK)
		return rc;
	rc = tam_err_set(err, TAM_EDEVICE_UNKNOWN,
	    "no device enrolled with profile aist has the key this answer is signed with");
	for (size_t i = 0; i < n; i++) {
		if (jose_key_from_spki(devs[i].spki, devs[i].spki_len, &k, NULL) != TAM_OK)
			continue;
		if (jose_jws_verify(c->resp->jws, k, NULL) == TAM_OK) {
			c->dev = devs[i];
			memset(&devs[i], 0, sizeof(devs[i]));
			c->dev_key = k;
			rc = TAM_OK;
			break;
		}
		jose_key_free(k);
		k = NULL;
	}
	store_devices_free(devs, n);
	return rc;
}

/* A device is served only on the endpoint of the profile it was enrolled with. */
static int
profile_fits(const struct ctx *c, struct tam_err *err)
{
	const char *want = otrp_profile_name(c->from->profile);

	if (strcmp(c->dev.profile, want) != 0)
		return tam_err_set(err, TAM_EDENIED, "device is enrolled with interop profile %s, "
		    "not %s: it is served on that profile's endpoint only", c->dev.profile, want);
	return TAM_OK;
}

/*
 * AIST's DSI lists what its command line claims, never what is installed:
 * the state stays what our own accepted operations made it. The DSI is kept
 * as received, for operators.
 */
static int
aist_keep_state(struct ctx *c, const struct otrp_dsi *dsi, const uint8_t *doc, size_t len,
    struct tam_err *err)
{
	int rc;

	if ((rc = store_device_state_get(c->st, c->dev.id, &c->state, err)) != TAM_OK)
		return rc;
	memcpy(c->state.tee_name, dsi->state.tee_name, sizeof(c->state.tee_name));
	memcpy(c->state.tee_ver, dsi->state.tee_ver, sizeof(c->state.tee_ver));
	log_info("event=otrp.aist_dsi rid=%s claimed_tas=%zu recorded_tas=%zu note=\"DSI not adopted\"",
	    c->req.rid, dsi->state.n_tas, c->state.n_tas);
	free(c->dsi);
	if ((c->dsi = malloc(len ? len : 1)) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	memcpy(c->dsi, doc, len);
	c->dsi_len = len;
	return TAM_OK;
}

/*
 * A TEE that cannot verify our signature lists what it can (§6.1); when the
 * alternate identity signs with one of those, and this session has not
 * switched yet, the request is made again with it.
 */
static bool
can_switch_identity(const struct ctx *c)
{
	return !c->aist && c->e->cfg.alt_signer != NULL && !(c->req.flags & STORE_REQ_ALT_IDENTITY) &&
	    tam_list_has(c->resp->sigalgs, pki_signer_alg(c->e->cfg.alt_signer));
}

/*
 * The same GetDeviceStateRequest, signed by the alternate identity, in the
 * same session; the session's later requests follow it. The refusal was
 * not signed by a key we know, so it may be forged: all it can do is have
 * our other, equally trusted identity speak, once.
 */
static int
switch_identity(struct ctx *c, struct tam_err *err)
{
	int rc;

	log_info("event=otrp.switch_identity rid=%s tam_alg=%s tee_algs=%s",
	    c->resp->rid, pki_signer_alg(c->e->cfg.alt_signer), c->resp->sigalgs);
	if ((rc = ask_state_again(c, true, c->req.flags & STORE_REQ_RESYNCED, err)) != TAM_OK)
		return rc;
	/* Nothing is written for an unwritten session: the new rid is stateless too. */
	if (c->stateless)
		return TAM_OK;
	if ((rc = store_begin(c->st, err)) != TAM_OK)
		return rc;
	if ((rc = store_request_consume(c->st, c->req.rid, c->now, err)) != TAM_OK ||
	    (rc = store_request_add(c->st, &c->next, err)) != TAM_OK ||
	    (rc = store_commit(c->st, err)) != TAM_OK) {
		store_rollback(c->st);
		return rc;
	}
	return TAM_OK;
}

static int
handle_get_device_state(struct ctx *c, struct tam_err *err)
{
	struct otrp_dsi dsi = { 0 };
	uint8_t *doc = NULL;
	size_t doc_len = 0;
	char didhex[17];
	int rc;

	if (!c->resp->pass) {
		/* Nothing here is signed by a key we know; record it and stop. */
		c->unverified = true;
		const char *why = c->resp->reason[0] ? c->resp->reason : "unspecified";
		char result[128];
		snprintf(result, sizeof(result), "tee-fail:%s (unverified)", why);
		log_warn("event=otrp.tee_fail msg=GetDeviceStateResponse rid=%s reason=%s",
		    c->resp->rid, why);
		/* Only the other identity or an operator can help here (§7), not a retry. */
		if (strcmp(why, "ERR_UNSUPPORTED_CRYPTO_ALG") == 0) {
			if (can_switch_identity(c))
				return switch_identity(c, err);
			log_error("event=otrp.alert reason=%s tam_alg=%s tee_algs=%s action=\"give the "
			    "TAM a key of an algorithm the TEE verifies\"", why,
			    pki_signer_alg(signer_of(c)), c->resp->sigalgs[0] ? c->resp->sigalgs :
			    "unknown");
		} else if (strcmp(why, "ERR_TAM_NOT_TRUSTED") == 0) {
			log_error("event=otrp.alert reason=%s action=\"check the TAM certificate chain, "
			    "its dates and its OCSP responses against the TEE's trust anchors\"", why);
		}
		/* An unwritten session stays unwritten: an unsigned refusal proves nothing. */
		if (!c->stateless &&
		    (rc = store_session_end(c->st, c->req.session_id, result, c->now, err)) != TAM_OK)
			return rc;
		snprintf(c->result, sizeof(c->result), "%s", result);
		c->op.kind = TAM_OP_NONE;
		return TAM_OK;
	}
	if (jose_jwe_suite(c->resp->edsi, c->tee_alg, c->tee_enc, NULL) != TAM_OK)
		c->tee_alg[0] = c->tee_enc[0] = '\0';
	if ((rc = pki_signer_decrypt(signer_of(c), c->resp->edsi, &doc, &doc_len, err)) != TAM_OK)
		return rc;
	if ((rc = otrp_dsi_parse_flags(doc, doc_len, c->aist ? OTRP_DSI_NAMELESS_SD : 0, &dsi,
	    err)) != TAM_OK)
		goto out;
	if (c->aist)
		rc = identify_aist(c, err);
	else
		rc = dsi.cert != NULL ? identify_by_cert(c, &dsi, err) : identify_by_kid(c, err);
	if (rc != TAM_OK)
		goto out;
	/* A state asked for again in a session: only the session's device may answer. */
	if (c->req.device_id != 0 && (c->new_device || c->dev.id != c->req.device_id)) {
		rc = tam_err_set(err, TAM_EDEVICE_MISMATCH,
		    "a device other than the session's answered rid \"%s\"", c->resp->rid);
		goto out;
	}
	if ((rc = jose_jws_verify(c->resp->jws, c->dev_key, err)) != TAM_OK)
		goto out;
	remember_read(c);
	if (strcmp(c->dev.state, "active") != 0) {
		rc = tam_err_set(err, TAM_EDENIED, "device is %s", c->dev.state);
		goto out;
	}
	if ((rc = profile_fits(c, err)) != TAM_OK)
		goto out;
	if (dsi.has_tfwdata)
		log_info("event=otrp.tfwdata rid=%s note=\"firmware attestation present, not evaluated\"",
		    c->resp->rid);
	if (c->new_device)
		snprintf(c->audit_detail, sizeof(c->audit_detail), "tee=%s", dsi.state.tee_name);
	if ((rc = c->aist ? aist_keep_state(c, &dsi, doc, doc_len, err) :
	    adopt_dsi(c, &dsi, doc, doc_len, err)) != TAM_OK)
		goto out;
	if ((rc = decide(c, err)) != TAM_OK)
		goto out;
	if ((rc = commit(c, err)) != TAM_OK)
		goto out;
	did_short(c->dev.did, didhex);
	if (c->renewed)
		log_info("event=otrp.cert_renewed device=%s detail=\"%s\"", didhex, c->audit_detail);
	log_info("event=otrp.state device=%s rid=%s tee=%s sds=%zu tas=%zu new=%d next=%s",
	    didhex, c->resp->rid, c->state.tee_name, c->state.n_sds, c->state.n_tas,
	    c->new_device, tam_op_kind_name(c->op.kind));
out:
	otrp_dsi_clear(&dsi);
	if (doc != NULL) {
		tam_wipe(doc, doc_len);
		free(doc);
	}
	return rc;
}

/* ---- CreateSD / InstallTA / DeleteTA responses ---- */

static int
state_add_sd(struct tam_dev_state *s, const char *sdname, const char *spid)
{
	struct tam_sd_obs *n;

	if (tam_dev_state_sd(s, sdname) != NULL)
		return TAM_OK;
	n = realloc(s->sds, (s->n_sds + 1) * sizeof(*n));
	if (n == NULL)
		return TAM_ENOMEM;
	s->sds = n;
	memset(&n[s->n_sds], 0, sizeof(*n));
	memcpy(n[s->n_sds].sdname, sdname, strlen(sdname) + 1);
	memcpy(n[s->n_sds].spid, spid, strlen(spid) + 1);
	s->n_sds++;
	return TAM_OK;
}

static int
state_set_aik(struct tam_dev_state *s, const char *spid, const uint8_t *spki, size_t len)
{
	struct tam_spaik_obs *a = tam_dev_state_aik(s, spid);
	uint8_t *copy = malloc(len);

	if (copy == NULL)
		return TAM_ENOMEM;
	memcpy(copy, spki, len);
	if (a == NULL) {
		a = realloc(s->aiks, (s->n_aiks + 1) * sizeof(*a));
		if (a == NULL) {
			free(copy);
			return TAM_ENOMEM;
		}
		s->aiks = a;
		a = &s->aiks[s->n_aiks++];
		memset(a, 0, sizeof(*a));
		memcpy(a->spid, spid, strlen(spid) + 1);
	}
	free(a->spki);
	a->spki = copy;
	a->spki_len = len;
	return TAM_OK;
}

/* An SD renamed by UpdateSD, with the TAs in it. */
static void
state_rename_sd(struct tam_dev_state *s, const char *from, const char *to)
{
	struct tam_sd_obs *sd = (struct tam_sd_obs *)tam_dev_state_sd(s, from);

	if (sd == NULL || to[0] == '\0')
		return;
	memcpy(sd->sdname, to, strlen(to) + 1);
	for (size_t i = 0; i < s->n_tas; i++)
		if (strcmp(s->tas[i].sdname, from) == 0)
			memcpy(s->tas[i].sdname, to, strlen(to) + 1);
}

/* Forget an SD the TEE deleted, and with deleteta the TAs it held. */
static void
state_drop_sd(struct tam_dev_state *s, const char *sdname, bool with_tas)
{
	for (size_t i = 0; with_tas && i < s->n_tas;)
		if (strcmp(s->tas[i].sdname, sdname) == 0)
			s->tas[i] = s->tas[--s->n_tas];
		else
			i++;
	for (size_t i = 0; i < s->n_sds; i++)
		if (strcmp(s->sds[i].sdname, sdname) == 0) {
			s->sds[i] = s->sds[--s->n_sds];
			return;
		}
}

/* The TEE deletes an SP's AIK with its last SD (and makes a new one if the SP comes back). */
static void
state_drop_orphan_aik(struct tam_dev_state *s, const char *spid)
{
	struct tam_spaik_obs *a;

	for (size_t i = 0; i < s->n_sds; i++)
		if (strcmp(s->sds[i].spid, spid) == 0)
			return;
	if ((a = tam_dev_state_aik(s, spid)) != NULL) {
		free(a->spki);
		*a = s->aiks[--s->n_aiks];
	}
}

/* No DSI came back: apply the operation's effect to what we knew. */
static int
apply_op_to_state(struct ctx *c, struct tam_err *err)
{
	struct tam_dev_state *s = &c->state;
	struct tam_ta_obs *ta;

	switch (c->req.op) {
	case TAM_OP_CREATE_SD:
		if (state_add_sd(s, c->req.sdname, c->req.spid) != TAM_OK)
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
		break;
	case TAM_OP_INSTALL_TA:
		if (tam_dev_state_ta(s, c->req.taid) == NULL) {
			ta = realloc(s->tas, (s->n_tas + 1) * sizeof(*ta));
			if (ta == NULL)
				return tam_err_set(err, TAM_ENOMEM, "out of memory");
			s->tas = ta;
			ta = &s->tas[s->n_tas++];
			memset(ta, 0, sizeof(*ta));
			memcpy(ta->taid, c->req.taid, sizeof(ta->taid));
			memcpy(ta->sdname, c->req.sdname, sizeof(ta->sdname));
		}
		break;
	case TAM_OP_DELETE_TA:
		ta = tam_dev_state_ta(s, c->req.taid);
		if (ta != NULL) {
			*ta = s->tas[s->n_tas - 1];
			s->n_tas--;
		}
		break;
	case TAM_OP_DELETE_SD:
		state_drop_sd(s, c->req.sdname, (c->req.flags & STORE_REQ_DELETE_TA) != 0);
		break;
	case TAM_OP_UPDATE_SD:
		state_rename_sd(s, c->req.sdname, c->req.new_sdname);
		break;
	case TAM_OP_UPDATE_TA:
		/* The TA stays where it is; its version is set once the response is accepted. */
	case TAM_OP_NONE:
		break;
	}
	return TAM_OK;
}

/*
 * Refusals that say our view of the device is stale (§7): it changed
 * without telling us (a lost answer, a local reset), so the request was
 * computed from a state it no longer has.
 */
static bool
state_drift(const char *code)
{
	static const char *const codes[] = { "ERR_DEV_STATE_MISMATCH", "ERR_SD_ALREADY_EXISTS",
	    "ERR_SD_ALREADY_EXIST", "ERR_TA_ALREADY_INSTALLED", "ERR_SD_NOT_FOUND",
	    "ERR_TA_NOT_FOUND" };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

/*
 * Answer a drift refusal with a new GetDeviceStateRequest in the same
 * session, and decide again from the state the TEE reports; the operation
 * is not counted as refused. Once per session: the flag travels with the
 * session's later requests, and a second drift is an ordinary refusal, so
 * a TEE that keeps disagreeing cannot hold a session in a loop.
 */
static int
resync(struct ctx *c, struct tam_err *err)
{
	char didhex[17];
	int rc;

	did_short(c->dev.did, didhex);
	log_info("event=otrp.resync device=%s rid=%s op=%s reason=%s", didhex, c->resp->rid,
	    tam_op_kind_name(c->req.op), c->refusal);
	if ((rc = store_device_state_get(c->st, c->dev.id, &c->state, err)) != TAM_OK ||
	    (rc = ask_state_again(c, alt_of(c), STORE_REQ_RESYNCED, err)) != TAM_OK)
		return rc;
	return commit(c, err);
}

static int
handle_op_response(struct ctx *c, struct tam_err *err)
{
	struct otrp_content content = { 0 };
	struct otrp_dsi dsi = { 0 };
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	struct tam_ta_obs *ta;
	char didhex[17];
	int rc;

	if (c->req.device_id == 0)
		return tam_err_set(err, TAM_EMSG_UNEXPECTED, "rid \"%s\" is not bound to a device",
		    c->resp->rid);
	if ((rc = store_device_get(c->st, c->req.device_id, &c->dev, err)) != TAM_OK)
		return rc;
	remember_read(c);
	if ((rc = device_key(&c->dev, &c->dev_key, err)) != TAM_OK)
		return rc;
	rc = jose_jws_verify(c->resp->jws, c->dev_key, err);
	if (rc == TAM_ESIGNATURE)
		return tam_err_set(err, rc,
		    "signature does not verify with the key of the device rid \"%s\" was sent to",
		    c->resp->rid);
	if (rc != TAM_OK)
		return rc;
	if (strcmp(c->dev.state, "active") != 0)
		return tam_err_set(err, TAM_EDENIED, "device is %s", c->dev.state);
	if ((rc = profile_fits(c, err)) != TAM_OK)
		return rc;
	if (c->resp->content != NULL) {
		if (jose_jwe_suite(c->resp->content, c->tee_alg, c->tee_enc, NULL) != TAM_OK)
			c->tee_alg[0] = c->tee_enc[0] = '\0';
		if ((rc = pki_signer_decrypt(signer_of(c), c->resp->content, &pt, &pt_len, err)) != TAM_OK)
			goto out;
		if ((rc = otrp_content_parse(pt, pt_len, &content, err)) != TAM_OK)
			goto out;
		/* AIST's content is its DSI alone; the signature already named the device. */
		if (!content.has_did && c->resp->pass && !c->aist) {
			rc = tam_err_set(err, TAM_EMALFORMED, "content has no did");
			goto out;
		}
		if (content.has_did && memcmp(content.did, c->dev.did, 32) != 0) {
			rc = tam_err_set(err, TAM_EDEVICE_MISMATCH,
			    "content names another device than the one rid \"%s\" was sent to",
			    c->resp->rid);
			goto out;
		}
	}
	did_short(c->dev.did, didhex);
	if (!c->resp->pass) {
		const char *why = content.reason[0] ? content.reason :
		    c->resp->reason[0] ? c->resp->reason : "unspecified";
		bool drift = !c->aist && state_drift(why) && !(c->req.flags & STORE_REQ_RESYNCED);
		log_warn("event=otrp.tee_fail device=%s rid=%s op=%s reason=%s", didhex, c->resp->rid,
		    tam_op_kind_name(c->req.op), why);
		snprintf(c->audit_action, sizeof(c->audit_action), "%s.fail", tam_op_kind_name(c->req.op));
		snprintf(c->audit_detail, sizeof(c->audit_detail), "taid=%s sdname=%s reason=%s%s",
		    c->req.taid, c->req.sdname, why, drift ? " state=reread" : "");
		snprintf(c->result, sizeof(c->result), "tee-fail:%.100s", why);
		c->refused = true;
		snprintf(c->refusal, sizeof(c->refusal), "%s", why);
		if (drift) {
			rc = resync(c, err);
			goto out;
		}
		/* Remembered, so policy moves on to the next operation now and retries this one later. */
		if ((rc = store_device_state_get(c->st, c->dev.id, &c->state, err)) != TAM_OK ||
		    (rc = decide(c, err)) != TAM_OK)
			goto out;
		rc = commit(c, err);
		goto out;
	}
	if (c->req.op == TAM_OP_CREATE_SD && strcmp(content.sdname, c->req.sdname) != 0 &&
	    content.sdname[0] != '\0') {
		rc = tam_err_set(err, TAM_EMALFORMED, "CreateSD answered for SD \"%s\", not \"%s\"",
		    content.sdname, c->req.sdname);
		goto out;
	}
	if (content.dsi != NULL && !c->aist) {
		if ((rc = otrp_dsi_parse(content.dsi, content.dsi_len, &dsi, err)) != TAM_OK ||
		    (rc = adopt_dsi(c, &dsi, content.dsi, content.dsi_len, err)) != TAM_OK)
			goto out;
	} else {
		if ((rc = store_device_state_get(c->st, c->dev.id, &c->state, err)) != TAM_OK ||
		    (rc = apply_op_to_state(c, err)) != TAM_OK)
			goto out;
		memcpy(c->state.tee_name, c->dev.tee_name, sizeof(c->state.tee_name));
		memcpy(c->state.tee_ver, c->dev.tee_ver, sizeof(c->state.tee_ver));
	}
	if ((c->req.op == TAM_OP_CREATE_SD || c->req.op == TAM_OP_UPDATE_SD) &&
	    content.teespaik != NULL) {
		struct jose_key *k = NULL;
		if ((rc = jose_key_from_spki(content.teespaik, content.teespaik_len, &k, err)) != TAM_OK) {
			rc = tam_err_set(err, TAM_EMALFORMED, "teespaik is not a public key");
			goto out;
		}
		jose_key_free(k);
		if (state_set_aik(&c->state, c->req.spid, content.teespaik, content.teespaik_len) != TAM_OK) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (c->req.has_spcert_fp) {
		struct tam_sd_obs *sd = NULL;
		for (size_t i = 0; i < c->state.n_sds; i++)
			if (strcmp(c->state.sds[i].spid, c->req.spid) == 0)
				sd = &c->state.sds[i];
		if (sd != NULL) {
			sd->spcert_known = true;
			memcpy(sd->spcert_fp, c->req.spcert_fp, 32);
		}
	}
	if (c->req.op == TAM_OP_DELETE_SD) {
		state_drop_orphan_aik(&c->state, c->req.spid);
		c->clear_sd_requests = -1;
	}
	if (c->req.op == TAM_OP_UPDATE_SD && (c->req.flags & STORE_REQ_RENEW_AIK))
		c->clear_sd_requests = STORE_SD_RENEW_AIK;
	if ((c->req.op == TAM_OP_INSTALL_TA || c->req.op == TAM_OP_UPDATE_TA) &&
	    (ta = tam_dev_state_ta(&c->state, c->req.taid)) != NULL) {
		struct store_ta_version v;
		if ((rc = store_ta_version_get(c->st, c->req.ta_version_id, false, &v, err)) != TAM_OK)
			goto out;
		ta->ta_version_id = v.id;
		ta->version_key = v.version_key;
		store_ta_version_clear(&v);
	}
	switch (c->req.op) {
	case TAM_OP_CREATE_SD:
		snprintf(c->audit_action, sizeof(c->audit_action), "sd.create");
		snprintf(c->audit_detail, sizeof(c->audit_detail), "sdname=%s spid=%s",
		    c->req.sdname, c->req.spid);
		break;
	case TAM_OP_INSTALL_TA:
		snprintf(c->audit_action, sizeof(c->audit_action), "ta.install");
		snprintf(c->audit_detail, sizeof(c->audit_detail), "taid=%s ta_version_id=%lld",
		    c->req.taid, (long long)c->req.ta_version_id);
		break;
	case TAM_OP_UPDATE_TA:
		snprintf(c->audit_action, sizeof(c->audit_action), "ta.update");
		snprintf(c->audit_detail, sizeof(c->audit_detail), "taid=%s ta_version_id=%lld",
		    c->req.taid, (long long)c->req.ta_version_id);
		break;
	case TAM_OP_DELETE_TA:
		snprintf(c->audit_action, sizeof(c->audit_action), "ta.delete");
		snprintf(c->audit_detail, sizeof(c->audit_detail), "taid=%s", c->req.taid);
		break;
	case TAM_OP_DELETE_SD:
		snprintf(c->audit_action, sizeof(c->audit_action), "sd.delete");
		snprintf(c->audit_detail, sizeof(c->audit_detail), "sdname=%s spid=%s deleteta=%s",
		    c->req.sdname, c->req.spid, (c->req.flags & STORE_REQ_DELETE_TA) ? "true" : "false");
		break;
	case TAM_OP_UPDATE_SD:
		snprintf(c->audit_action, sizeof(c->audit_action), "sd.update");
		snprintf(c->audit_detail, sizeof(c->audit_detail),
		    "sdname=%s spid=%s newsdname=%s spcert=%s renewteespaik=%s", c->req.sdname,
		    c->req.spid, c->req.new_sdname, c->req.has_spcert_fp ? "replaced" : "kept",
		    (c->req.flags & STORE_REQ_RENEW_AIK) ? "true" : "false");
		break;
	case TAM_OP_NONE:
		break;
	}
	if ((rc = decide(c, err)) != TAM_OK || (rc = commit(c, err)) != TAM_OK)
		goto out;
	log_info("event=otrp.done device=%s rid=%s op=%s taid=%s next=%s", didhex, c->resp->rid,
	    tam_op_kind_name(c->req.op), c->req.taid, tam_op_kind_name(c->op.kind));
out:
	otrp_dsi_clear(&dsi);
	otrp_content_clear(&content);
	if (pt != NULL) {
		tam_wipe(pt, pt_len);
		free(pt);
	}
	return rc;
}

/* ---- broker errors and new sessions ---- */

static int
broker_error_stateless(struct ctx *c, struct tam_err *err)
{
	int64_t expires = 0;
	unsigned flags = 0;
	int rc = stateless_check(c, &expires, &flags, err);

	if (rc == TAM_ERID_UNKNOWN)
		return tam_err_set(err, TAM_ERID_UNKNOWN, "the broker error names rid \"%s\", which "
		    "was never issued for this tid", c->resp->rid);
	return rc;
}

static int
handle_broker_error(struct ctx *c, struct tam_err *err)
{
	int rc;

	log_warn("event=otrp.broker_error code=%s rid=%s", c->resp->broker_error,
	    c->resp->rid[0] ? c->resp->rid : "-");
	c->unverified = true;
	c->op.kind = TAM_OP_NONE;
	snprintf(c->result, sizeof(c->result), "broker:%s", c->resp->broker_error);
	/* A busy TEE is worth another try later (§7); HTTP says when. */
	if (strcmp(c->resp->broker_error, "ERR_AGENT_TEE_BUSY") == 0)
		c->retry_after = TAM_BUSY_RETRY_SECONDS;
	/* Unsigned: it may only close the session it names, nothing else (so not into c->req). */
	struct store_request req;
	if (c->resp->rid[0] == '\0')
		return TAM_OK;
	/* The opening rid of a session nothing was written for: ours for that tid, or refused. */
	if (otrp_rid_is_stateless(c->resp->rid))
		return broker_error_stateless(c, err);
	rc = store_request_get(c->st, c->resp->rid, &req, err);
	if (rc == TAM_ENOTFOUND)
		return tam_err_set(err, TAM_ERID_UNKNOWN, "the broker error names rid \"%s\", which "
		    "was never issued", c->resp->rid);
	if (rc == TAM_OK && strcmp(req.tid, c->resp->tid) != 0)
		return tam_err_set(err, TAM_ERID_UNKNOWN, "tid does not belong to rid \"%s\"",
		    c->resp->rid);
	/* An answered request's session went on without it: the error came too late to matter. */
	if (rc != TAM_OK || req.answered != 0)
		return rc;
	rc = store_session_end(c->st, req.session_id, c->result, c->now, err);
	/* A session that already ended stays as it ended. */
	return rc == TAM_ECONFLICT ? TAM_OK : rc;
}

/*
 * AIST answers carry no rid: one outstanding request per peer is how they
 * are matched, so that profile's session and request are written now.
 */
static int
open_aist_session(struct store *st, const char *tid, const char *peer, struct store_request *r,
    struct tam_err *err)
{
	const char *profile = otrp_profile_name(OTRP_PROFILE_AIST);
	int rc;

	if ((rc = store_begin(st, err)) != TAM_OK)
		return rc;
	if ((rc = store_requests_cancel_peer(st, profile, peer, err)) != TAM_OK ||
	    (rc = store_session_new(st, tid, r->created, profile, peer, &r->session_id,
	    err)) != TAM_OK ||
	    (rc = store_request_add(st, r, err)) != TAM_OK ||
	    (rc = store_commit(st, err)) != TAM_OK)
		store_rollback(st);
	return rc;
}

/*
 * An empty POST, which anyone may send: a GetDeviceStateRequest under a new
 * tid and a stateless rid, and nothing written (the answer writes the
 * session). Logged at debug only: a flood of these must not flood the log.
 */
static int
open_session(struct otrp_engine *e, struct store *st, const struct otrp_origin *from,
    struct otrp_reply *reply, struct tam_err *err)
{
	const bool aist = from->profile == OTRP_PROFILE_AIST;
	const char *peer = from->peer != NULL ? from->peer : "";
	char tid[TAM_RANDOM_ID_LEN];
	struct store_request r = { 0 };
	int64_t now = engine_now(e);
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (tam_random_id(tid) != TAM_OK)
		return tam_err_set(err, TAM_ECRYPTO, "no randomness");
	if (aist && (e->cfg.aist_signer == NULL || peer[0] == '\0'))
		return tam_err_set(err, TAM_EINVAL, "profile aist needs its TAM key and the peer address");
	r.created = now;
	r.expires = now + atomic_load(&e->request_ttl);
	if (aist)
		rc = tam_random_id(r.rid) == TAM_OK ? TAM_OK :
		    tam_err_set(err, TAM_ECRYPTO, "no randomness");
	else
		rc = opening_rid(e, st, tid, &r, err);
	if (rc != TAM_OK ||
	    (rc = build_get_device_state(e, aist ? e->cfg.aist_signer : e->cfg.signer, false, &r, tid,
	    now, &body, &len, err)) != TAM_OK)
		return rc;
	if (aist && (rc = open_aist_session(st, tid, peer, &r, err)) != TAM_OK) {
		free(body);
		return rc;
	}
	log_debug("event=otrp.session_open rid=%s profile=%s", r.rid, otrp_profile_name(from->profile));
	reply->opened = true;
	reply->done = false;
	reply->body = body;
	reply->len = len;
	return TAM_OK;
}

int
otrp_engine_handle(struct otrp_engine *e, struct store *st, const struct otrp_origin *from,
    const uint8_t *body, size_t len, struct otrp_reply *reply, struct tam_err *err)
{
	static const struct otrp_origin none = { OTRP_PROFILE_DEFAULT, "" };
	struct ctx c;
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (from == NULL)
		from = &none;
	if (len == 0)
		return open_session(e, st, from, reply, err);
	memset(&c, 0, sizeof(c));
	c.from = from;
	c.aist = from->profile == OTRP_PROFILE_AIST;
	if (c.aist && e->cfg.aist_signer == NULL)
		return tam_err_set(err, TAM_EINVAL, "profile aist is not configured");
	c.clear_sd_requests = -2;
	c.e = e;
	c.st = st;
	c.now = engine_now(e);
	if ((rc = otrp_response_decode(body, len, &c.resp, err)) != TAM_OK)
		goto out;
	if (c.resp->msg == OTRP_MSG_BROKER_ERROR) {
		rc = handle_broker_error(&c, err);
		goto done;
	}
	if ((rc = load_pending(&c, err)) != TAM_OK)
		goto out;
	if (c.resp->msg == OTRP_MSG_GET_DEVICE_STATE)
		rc = handle_get_device_state(&c, err);
	else
		rc = handle_op_response(&c, err);
done:
	if (rc == TAM_OK)
		rc = reply_from(&c, reply);
out:
	ctx_clear(&c);
	return rc;
}
