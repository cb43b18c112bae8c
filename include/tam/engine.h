/* SPDX-License-Identifier: MIT */
/*
 * The OTrP session engine: ProcessConnect (empty body -> GetDeviceState
 * request) and ProcessOTrPMessage (TEE response -> verify, decrypt, apply,
 * decide, next request or done). It knows neither HTTP nor SQL: it gets a
 * byte buffer and a store connection, and returns a byte buffer or "done".
 *
 * Every response is checked completely before anything is written; the
 * writes of one response (consuming its rid, the device's new state, the
 * next request) happen in one transaction. Opening a session writes
 * nothing: its rid is stateless (otrp_rid_make), and the answer's
 * transaction writes the session. Session state lives in the store, so any
 * number of engines may share one database.
 */
#ifndef TAM_ENGINE_H
#define TAM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/model.h"
#include "tam/pki.h"
#include "tam/store.h"
#include "tam/util.h"

struct otrp_engine_cfg {
	struct pki_signer *signer;    /* TAM identity; borrowed, outlives the engine */
	struct pki_signer *aist_signer; /* the TAM key AIST device builds carry; NULL: no aist */
	/*
	 * A second identity of the same TAM (same tamid) with a key of the other
	 * algorithm, for TEEs that cannot verify the first; NULL: none.
	 */
	struct pki_signer *alt_signer;
	int64_t request_ttl;          /* seconds a request stays answerable */
	bool auto_register;           /* register new TEEs whose certificate chains to an anchor */
	int64_t (*now)(void);         /* clock; NULL = tam_now */
	/*
	 * Large TAs: an InstallTA/UpdateTA whose sealed TA is larger than
	 * stream_above bytes is sent as it is made from the database (reply
	 * stream), at most streams at once and streams_per_device for one
	 * device; beyond them the answer is TAM_EBUSY and nothing is written.
	 * 0: TAM_STREAM_ABOVE_BYTES, TAM_STREAMS, TAM_STREAMS_PER_DEVICE.
	 */
	uint64_t stream_above;
	unsigned streams;
	unsigned streams_per_device;
	/*
	 * Where a streamed TA's ciphertext is copied (an unlinked file per
	 * version kept, NULL: $TMPDIR or /tmp); borrowed, outlives the engine.
	 */
	const char *spool_dir;
};

/* A message produced while it is sent, for a TA too large to hold. */
struct otrp_stream_body {
	uint64_t size;                /* exact byte count */
	/* Copy up to max bytes from pos (each call where the last ended): > 0, or -1 on error. */
	long (*read)(void *cls, uint64_t pos, uint8_t *buf, size_t max);
	void (*free)(void *cls);      /* once, when sent or dropped: frees its stream slot */
	void *cls;
};

struct otrp_engine;

struct otrp_reply {
	bool done;                    /* nothing more to send: HTTP 204 */
	char *body;                   /* malloc'd message when !done, unless stream.read is set */
	size_t len;
	struct otrp_stream_body stream; /* the message when stream.read is set */
	/* What happened, for monitoring: */
	bool opened;                  /* a new session began */
	char result[128];             /* when done: how the session ended ("ok", "tee-fail:...") */
	enum tam_op_kind answered_op; /* the operation this message answered, or NONE */
	bool answered_pass;           /* ... and whether the TEE did it */
	int retry_after;              /* when done: seconds the broker should wait; 0 if any time */
	/*
	 * An unsigned message (a TEE's refusal of GetDeviceState, a broker
	 * error) was taken at its word: per-client limits count it as a failure.
	 */
	bool unverified;
};

int otrp_engine_new(const struct otrp_engine_cfg *cfg, struct otrp_engine **out,
    struct tam_err *err) TAM_WUR;
void otrp_engine_free(struct otrp_engine *e);

/*
 * The OCSP responses every GetDeviceStateRequest staples (a JSON array of
 * B64 DER, TAM certificate first; see pki_ocsp_staple), for the identity
 * or (alt) the alternate one; takes ownership, NULL staples none.
 */
void otrp_engine_set_ocsp(struct otrp_engine *e, bool alt, json_t *staple);
/* Settings a reload may change while requests are being served. */
void otrp_engine_set_limits(struct otrp_engine *e, int64_t request_ttl, bool auto_register);
/*
 * Trust anchors and CRLs from outside the database (the configured anchor
 * directory), used together with the database's anchors; takes ownership
 * of both (either may be NULL). With CRLs, a TEE certificate is checked for
 * revocation when its issuing CA published one (pki_trust_add_crl). tee_eku
 * (dotted OID, checked beforehand; NULL or "" none) is the
 * extendedKeyUsage every TEE certificate must then list (pki_trust_set_tee_eku).
 */
void otrp_engine_set_extra_anchors(struct otrp_engine *e, STACK_OF(X509) *anchors,
    STACK_OF(X509_CRL) *crls, const char *tee_eku);

/*
 * Interop profiles: how the device side of an endpoint behaves on the wire.
 * The default profile is docs/protocol.md; "aist" is the seed project's
 * broker and agent (docs/interop-aist.md), served only on its own endpoint
 * and only to devices enrolled with that profile.
 */
enum otrp_profile {
	OTRP_PROFILE_DEFAULT = 0,
	OTRP_PROFILE_AIST,
};
const char *otrp_profile_name(enum otrp_profile p);

/* AIST limits: its agent's TA buffer, its broker's reply buffer, devices tried per answer. */
#define OTRP_AIST_MAX_BUNDLE (200 * 1024)
#define OTRP_AIST_MAX_MESSAGE (800 * 1024)
#define OTRP_AIST_MAX_DEVICES TAM_MAX_AIST_DEVICES

/* Where a message came from. */
struct otrp_origin {
	enum otrp_profile profile;    /* the endpoint's profile */
	const char *peer;             /* client address ("" or NULL if unknown) */
};

/*
 * Handle one POST body (len 0 opens a session) using store connection st,
 * which only this thread uses. On success *reply is filled (free with
 * otrp_reply_clear); on failure nothing was written and err says why.
 */
int otrp_engine_handle(struct otrp_engine *e, struct store *st, const struct otrp_origin *from,
    const uint8_t *body, size_t len, struct otrp_reply *reply, struct tam_err *err) TAM_WUR;
void otrp_reply_clear(struct otrp_reply *r);

#endif
