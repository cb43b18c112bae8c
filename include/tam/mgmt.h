/* SPDX-License-Identifier: MIT */
/*
 * Management operations: everything an operator or SP changes (TAM identity,
 * trust anchors, SPs, TAs and versions, devices, assignments), validated once
 * here and written with its audit record in one transaction. The CLI calls
 * these directly on the database; a network API calls the same functions.
 */
#ifndef TAM_MGMT_H
#define TAM_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/store.h"
#include "tam/util.h"

struct mgmt {
	struct store *st;             /* borrowed connection */
	const char *actor;            /* who is acting, for the audit log ("cli:root") */
	uint64_t quota_bytes;         /* bytes of bundles one SP may store; 0: no limit */
	uint64_t quota_versions;      /* TA versions one SP may store; 0: no limit */
};

/* Default SD name for an SP that registers without one. */
#define MGMT_SDNAME_SUFFIX ".sd"

/*
 * Set the TAM identity: key_path is stored (made absolute), never the key.
 * The key must be mode 0600 and match the chain's leaf. tamid NULL derives it.
 */
int mgmt_identity_set(struct mgmt *m, const char *key_path, const uint8_t *chain_pem,
    size_t chain_len, const char *tamid, struct tam_err *err) TAM_WUR;

/* A CA certificate (PEM or DER) that TEE certificates must chain to. */
int mgmt_anchor_add(struct mgmt *m, const char *name, const uint8_t *cert, size_t len,
    struct tam_err *err) TAM_WUR;
int mgmt_anchor_remove(struct mgmt *m, const char *name, struct tam_err *err) TAM_WUR;

/* An SP and the certificate (PEM or DER) its TA bundles are signed with. */
/*
 * A new SD name and/or TA-signing certificate (NULL keeps it); devices get
 * them by UpdateSD. A certificate with another key is refused while TA
 * versions signed with the old key can still be installed.
 */
int mgmt_sp_update(struct mgmt *m, const char *spid, const char *sdname, const uint8_t *cert,
    size_t len, struct tam_err *err) TAM_WUR;
int mgmt_sp_add(struct mgmt *m, const char *spid, const char *sdname, const uint8_t *cert,
    size_t len, struct tam_err *err) TAM_WUR;

/* Remove an SP that has no TA left; its API tokens go with it. */
int mgmt_sp_remove(struct mgmt *m, const char *spid, struct tam_err *err) TAM_WUR;

/*
 * A new version of a TA of SP spid, received in pieces and never held whole
 * in memory: begin, write as the bytes come, finish (or just free to give
 * up; nothing is stored before finish succeeds).
 *
 * The bundle is a JWS whose payload is the TA. In the compact serialization
 * it is verified against the SP's certificate as it streams; in the JSON
 * serialization (at most MGMT_MAX_JSON_BUNDLE bytes) at finish. The version
 * must be newer than every earlier one, withdrawn ones included; the same
 * version with the same bytes again is not an error (result.existed). The
 * TA record is created with its first version (name defaults to taid).
 * Bundle and its encryption are spooled to unlinked files in spool_dir
 * (NULL: the system's temporary directory).
 */
#define MGMT_MAX_JSON_BUNDLE (16u << 20)
struct mgmt_upload;
struct mgmt_upload_result {
	int64_t version_id;
	bool existed;                 /* this version was already there, with these bytes */
	uint8_t digest[32];           /* SHA-256 of the bundle */
	uint64_t size;                /* bundle bytes */
};
int mgmt_upload_begin(struct mgmt *m, const char *spid, const char *taid, const char *version,
    const char *name, const char *spool_dir, uint64_t max_bytes, struct mgmt_upload **out,
    struct tam_err *err) TAM_WUR;
/* "TAID" or "TAID@VERSION" (a requires= value) into r; TAM_EUSAGE naming what is wrong. */
int mgmt_require_parse(const char *spec, struct store_ta_require *r, struct tam_err *err) TAM_WUR;
/*
 * What the version requires on a device, each "TAID" or "TAID@VERSION" (a
 * minimum version), given after begin and before finish. More than
 * TAM_MAX_TA_REQUIRES (refused before specs is read), a malformed entry or a
 * TA twice is TAM_EUSAGE; a TA that does not exist or the TA itself is
 * TAM_EINVAL. Stored with the version and never changed: the same version
 * uploaded again must require the same TAs (else TAM_ECONFLICT).
 */
int mgmt_upload_requires(struct mgmt *m, struct mgmt_upload *u, const char *const *specs,
    size_t n, struct tam_err *err) TAM_WUR;
/*
 * Would storing bytes more, as one more version, take the upload's SP past
 * m's quota? TAM_EQUOTA naming it, checked early (a Content-Length) and
 * again by finish inside its transaction.
 */
int mgmt_upload_quota(struct mgmt *m, const struct mgmt_upload *u, uint64_t bytes,
    struct tam_err *err) TAM_WUR;
/* TAM_ETOO_LARGE past max_bytes; a malformed or refused JWS fails as soon as it shows. */
int mgmt_upload_write(struct mgmt_upload *u, const uint8_t *p, size_t n,
    struct tam_err *err) TAM_WUR;
/* want_digest (32 bytes) or NULL: the bundle's SHA-256 must equal it. */
int mgmt_upload_finish(struct mgmt *m, struct mgmt_upload *u, const uint8_t *want_digest,
    struct mgmt_upload_result *res, struct tam_err *err) TAM_WUR;
void mgmt_upload_free(struct mgmt_upload *u);

/* The whole upload in one call, for a bundle already in memory. */
int mgmt_ta_add(struct mgmt *m, const char *spid, const char *taid, const char *version,
    const char *name, const uint8_t *bundle, size_t len, int64_t *version_id,
    struct tam_err *err) TAM_WUR;

/* Withdraw a version: never installed again; refused while an assignment pins it. */
/*
 * Personalization data for a TA version (opaque bytes, at most
 * TAM_MAX_PDATA_BYTES), delivered encrypted beside the TA. Once per
 * version, before any device holds it (else TAM_ECONFLICT); the same
 * bytes again are a no-op.
 */
int mgmt_ta_pdata(struct mgmt *m, const char *taid, const char *version, const uint8_t *data,
    size_t len, struct tam_err *err) TAM_WUR;
/*
 * Personalization data sealed under its TA's key and IV (before migration
 * 13) is sealed again under a key and IV of its own, each version in one
 * transaction audited ta.pdata_resealed, so that the old layout is never
 * sent. Run at daemon start. *n: how many were; *failed: how many could not
 * be (each logged; the engine refuses to send them).
 */
int mgmt_pdata_reseal_legacy(struct mgmt *m, int64_t *n, int64_t *failed,
    struct tam_err *err) TAM_WUR;
int mgmt_ta_withdraw(struct mgmt *m, const char *taid, const char *version,
    struct tam_err *err) TAM_WUR;

/*
 * Enroll a device by TEE certificate (PEM or DER) or by raw public key
 * (PEM SubjectPublicKeyInfo or JWK). name may be NULL; profile NULL is
 * "default" (the interop profile its sessions use).
 */
int mgmt_device_enroll(struct mgmt *m, const char *name, const char *profile,
    const uint8_t *data, size_t len, int64_t *device_id, struct tam_err *err) TAM_WUR;
/* Is this a profile name devices may be enrolled with? */
bool mgmt_profile_known(const char *profile);

/* Refuse the device from now on (its sessions get 403); its records stay. */
int mgmt_device_decommission(struct mgmt *m, const char *device_ref, struct tam_err *err) TAM_WUR;

/*
 * version NULL: always the latest version. allow_downgrade: the assigned
 * version may replace a newer one the device holds (UpdateTA to an older
 * version); without it, a device ahead of its assignment is left alone.
 */
/*
 * Operator requests for one SP's SD on one device, carried out at the
 * device's next session: a new TEE SP AIK (UpdateSD renewteespaik), or
 * deleting the SD with every TA in it (DeleteSD deleteta), which also drops
 * the device's assignments of that SP's TAs. Assigning one again cancels a
 * purge that has not happened yet.
 */
int mgmt_sd_request(struct mgmt *m, const char *device_ref, const char *spid,
    enum store_sd_action action, struct tam_err *err) TAM_WUR;

int mgmt_assign(struct mgmt *m, const char *device_ref, const char *taid, const char *version,
    bool allow_downgrade, struct tam_err *err) TAM_WUR;
int mgmt_unassign(struct mgmt *m, const char *device_ref, const char *taid,
    struct tam_err *err) TAM_WUR;
/*
 * Assign a TA (version NULL: latest) to every device in ids (device rows),
 * all or nothing, in one transaction with one audit record per device.
 */
int mgmt_assign_bulk(struct mgmt *m, const char *taid, const char *version,
    bool allow_downgrade, const int64_t *ids, size_t n, struct tam_err *err) TAM_WUR;

/* ---- management API tokens ---- */

/* "tam_" + 12 hex digits of id + "_" + 43 base64url characters of secret. */
#define MGMT_TOKEN_LEN (4 + STORE_TOKID_LEN + 1 + 43)
/*
 * A new token: admin, or bound to SP spid. expires 0: never. The token text
 * (NUL-terminated) is only ever returned here; the store keeps its hash.
 */
int mgmt_token_create(struct mgmt *m, bool admin, const char *spid, const char *description,
    int64_t expires, char token[MGMT_TOKEN_LEN + 1], struct store_token *out,
    struct tam_err *err) TAM_WUR;
int mgmt_token_revoke(struct mgmt *m, const char *tokid, struct tam_err *err) TAM_WUR;
/*
 * Who presents this token? TAM_EDENIED for anything that is not a valid,
 * unrevoked, unexpired token (one message for all, so nothing is probed).
 */
int mgmt_token_check(struct store *st, const char *token, int64_t now, struct store_token *out,
    struct tam_err *err) TAM_WUR;

#endif
