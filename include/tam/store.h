/* SPDX-License-Identifier: MIT */
/*
 * Persistent state in SQLite, and the only place SQL lives. store_open applies
 * the schema/NNN_*.sql migrations (compiled in) forward-only under PRAGMA
 * user_version, and turns on WAL, foreign keys and a busy timeout. One
 * struct store is one connection: use it from one thread at a time.
 *
 * Multi-row changes run inside store_begin/store_commit; every function that
 * writes more than one row opens its own transaction when none is active, and
 * otherwise works in a savepoint of the caller's, so a failure undoes exactly
 * its own writes either way.
 * The store never sees JSON wire formats: it keeps bytes and plain structs.
 *
 * Functions returning records fill caller-provided structs; the *_clear and
 * *_free functions release what they allocated. Lookups that find nothing
 * return TAM_ENOTFOUND; inserts that clash with a unique key return
 * TAM_ECONFLICT; a reference to a missing row (foreign key) is TAM_EINVAL.
 * A zero `created` in a record passed to an *_add or *_set function means now.
 */
#ifndef TAM_STORE_H
#define TAM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/limits.h"
#include "tam/model.h"
#include "tam/util.h"

struct store;

enum {
	STORE_CREATE = 1 << 0,     /* create the file if missing */
	STORE_READONLY = 1 << 1,   /* open read-only; no migrations are applied */
};

int store_open(const char *path, unsigned flags, struct store **out,
    struct tam_err *err) TAM_WUR;
void store_close(struct store *st);
/* PRAGMA user_version after migrations. */
int store_schema_version(struct store *st);
/* Number of migrations compiled into this binary. */
int store_schema_latest(void);

/* BEGIN IMMEDIATE; nesting is an error. */
int store_begin(struct store *st, struct tam_err *err) TAM_WUR;
/* On failure the transaction is rolled back. */
int store_commit(struct store *st, struct tam_err *err) TAM_WUR;
/* Roll back if a transaction is open; safe to call when none is. */
void store_rollback(struct store *st);

/*
 * Keyset paging: the rows after the previous page's last key, in the list's
 * stable order, at most limit of them. A zero page ("" and 0) starts at the top.
 */
struct store_page {
	const char *after_text;       /* lists ordered by a name: NULL or "" from the start */
	int64_t after_int;            /* lists ordered by a number: 0 from the start */
	bool resume;                  /* lists whose numbers start at 0: after_int is set */
	size_t limit;
};

/* ---- audit ---- */

int store_audit(struct store *st, const char *actor, const char *action,
    const char *object, const char *detail, struct tam_err *err) TAM_WUR;

struct store_audit_row {
	int64_t id;
	int64_t at;
	char actor[128];
	char action[64];
	char object[256];
	char detail[512];
};
/* Which audit rows to list: NULL / 0 members do not filter. */
struct store_audit_filter {
	const char *actor;            /* exactly this actor */
	const char *object;           /* exactly this object */
	int64_t since;                /* at >= since */
	int64_t until;                /* at < until */
};
/* Matching rows with id > pg->after_int, oldest first. *rows malloc'd. */
int store_audit_list(struct store *st, const struct store_audit_filter *f,
    const struct store_page *pg, struct store_audit_row **rows, size_t *n,
    struct tam_err *err) TAM_WUR;

/* ---- TAM identity (single row) ---- */

struct store_identity {
	char tamid[256];
	char key_path[4096];
	uint8_t *chain_pem;           /* owned */
	size_t chain_len;
	int64_t created;
};
/* Insert, or replace the existing identity. */
int store_identity_set(struct store *st, const struct store_identity *id,
    struct tam_err *err) TAM_WUR;
int store_identity_get(struct store *st, struct store_identity *out,
    struct tam_err *err) TAM_WUR;
void store_identity_clear(struct store_identity *id);

/* ---- TEE trust anchors ---- */

struct store_anchor {
	int64_t id;
	char name[TAM_NAME_MAX];
	uint8_t *cert;                /* DER, owned */
	size_t cert_len;
	uint8_t fingerprint[32];      /* SHA-256 of cert; computed by store_anchor_add */
	char subject[256];
	int64_t not_after;
	int64_t created;
};
int store_anchor_add(struct store *st, const struct store_anchor *a, int64_t *id,
    struct tam_err *err) TAM_WUR;
int store_anchor_list(struct store *st, struct store_anchor **out, size_t *n,
    struct tam_err *err) TAM_WUR;
int store_anchor_remove(struct store *st, const char *name, struct tam_err *err) TAM_WUR;
/* Increases whenever an anchor is added or removed. */
int store_anchor_generation(struct store *st, int64_t *gen, struct tam_err *err) TAM_WUR;
/* By name, after pg->after_text. */
int store_anchor_page(struct store *st, const struct store_page *pg, struct store_anchor **out,
    size_t *n, struct tam_err *err) TAM_WUR;
int store_anchor_get(struct store *st, const char *name, struct store_anchor *out,
    struct tam_err *err) TAM_WUR;
void store_anchors_free(struct store_anchor *a, size_t n);

/* ---- service providers ---- */

struct store_sp {
	int64_t id;
	char spid[TAM_SPID_MAX];
	char sdname[TAM_SDNAME_MAX];
	uint8_t *cert;                /* DER TA-signing certificate, owned */
	size_t cert_len;
	int64_t created;
};
int store_sp_add(struct store *st, const struct store_sp *sp, int64_t *id,
    struct tam_err *err) TAM_WUR;
int store_sp_get(struct store *st, const char *spid, struct store_sp *out,
    struct tam_err *err) TAM_WUR;
int store_sp_get_by_id(struct store *st, int64_t id, struct store_sp *out,
    struct tam_err *err) TAM_WUR;
int store_sp_list(struct store *st, struct store_sp **out, size_t *n,
    struct tam_err *err) TAM_WUR;
/* By spid after pg->after_text; only_sp_id non-zero lists that SP alone. */
int store_sp_page(struct store *st, int64_t only_sp_id, const struct store_page *pg,
    struct store_sp **out, size_t *n, struct tam_err *err) TAM_WUR;
/*
 * Delete an SP that has no TA (else TAM_ECONFLICT); its tokens go with it and
 * past OTrP requests keep its spid text only.
 */
int store_sp_remove(struct store *st, const char *spid, struct tam_err *err) TAM_WUR;
/*
 * What an SP stores: bytes of its TA bundles and their versions, withdrawn
 * ones included until retention removes their bundles.
 */
struct store_sp_usage {
	uint64_t bytes;               /* the bundles' sizes as uploaded, and personalization data */
	uint64_t versions;
};
int store_sp_usage(struct store *st, int64_t sp_id, struct store_sp_usage *out,
    struct tam_err *err) TAM_WUR;
/* New SD name and/or certificate (NULL keeps it); a name another SP uses is TAM_ECONFLICT. */
int store_sp_update(struct store *st, const char *spid, const char *sdname,
    const uint8_t *cert, size_t cert_len, struct tam_err *err) TAM_WUR;
/* How many versions of the SP's TAs are not withdrawn. */
int store_sp_live_versions(struct store *st, int64_t sp_id, int64_t *n,
    struct tam_err *err) TAM_WUR;
void store_sp_clear(struct store_sp *sp);
void store_sps_free(struct store_sp *sps, size_t n);

/* ---- TAs and their versions ---- */

struct store_ta {
	int64_t id;
	int64_t sp_id;
	char spid[TAM_SPID_MAX];      /* filled on read */
	char taid[TAM_TAID_MAX];
	char name[TAM_TANAME_MAX];
	int64_t created;
};
int store_ta_add(struct store *st, const struct store_ta *ta, int64_t *id,
    struct tam_err *err) TAM_WUR;
int store_ta_get(struct store *st, const char *taid, struct store_ta *out,
    struct tam_err *err) TAM_WUR;
/* All TAs ordered by taid; *out malloc'd. */
int store_ta_list(struct store *st, struct store_ta **out, size_t *n,
    struct tam_err *err) TAM_WUR;
/* By taid after pg->after_text; sp_id non-zero: that SP's TAs only. */
int store_ta_page(struct store *st, int64_t sp_id, const struct store_page *pg,
    struct store_ta **out, size_t *n, struct tam_err *err) TAM_WUR;

/* A TA that a TA version requires on the device. */
struct store_ta_require {
	char taid[TAM_TAID_MAX];              /* the required TA */
	char min_version[TAM_VERSION_MAX];    /* its least version as given; "" for any */
	int64_t min_version_key;              /* tam_version_key of that; 0: any (computed on add) */
};

struct store_ta_version {
	int64_t id;
	int64_t ta_id;
	char version[TAM_VERSION_MAX];
	int64_t version_key;          /* orderable form, see tam_version_key; computed on add */
	uint8_t *bundle;              /* SP-signed bundle, owned; NULL unless asked for */
	size_t bundle_len;
	uint8_t digest[32];           /* SHA-256 of bundle; computed on add */
	int64_t size;                 /* bundle bytes; computed on add */
	uint8_t enc_key[32];          /* AES-256 TA key; wiped by clear */
	uint8_t enc_iv[16];
	uint8_t *enc_ta;              /* AES-256-CBC(bundle), owned; NULL unless asked for */
	size_t enc_ta_len;
	int64_t created;
	char created_by[128];
	int64_t withdrawn;            /* time it was withdrawn, 0 if installable */
	char withdrawn_by[128];
	bool has_pdata;               /* it has personalization data: */
	int64_t pdata_size;           /* its bytes */
	uint8_t pdata_digest[32];     /* and SHA-256 */
	/*
	 * Adding: the TAs this version requires (borrowed, at most
	 * TAM_MAX_TA_REQUIRES), stored in the version's transaction; each must
	 * exist and not be the version's own TA, else TAM_EINVAL and nothing is
	 * stored. Not filled on read: see store_ta_version_requires.
	 */
	const struct store_ta_require *reqs;
	size_t n_reqs;
};
int store_ta_version_add(struct store *st, const struct store_ta_version *v, int64_t *id,
    struct tam_err *err) TAM_WUR;
/*
 * Personalization data of a version as stored: AES-256-CBC under its own
 * key and IV. A legacy row (sealed under the TA's key and IV before
 * migration 13) has no key or IV of its own until it is re-sealed.
 */
struct store_pdata {
	uint8_t *enc;                 /* the ciphertext, owned; NULL when there is none */
	size_t enc_len;
	bool legacy;                  /* sealed under the TA's key and IV; key and iv unset */
	uint8_t key[32];              /* wiped by clear */
	uint8_t iv[16];
};
void store_pdata_clear(struct store_pdata *p);
/*
 * Set once (TAM_ECONFLICT if it has some, or if a device already holds the
 * version); p->legacy is ignored: what is set has its own key and IV.
 */
int store_ta_version_set_pdata(struct store *st, int64_t id, int64_t size,
    const uint8_t digest[32], const struct store_pdata *p, struct tam_err *err) TAM_WUR;
/* out->enc is NULL when the version has none (or retention removed it). */
int store_ta_version_pdata(struct store *st, int64_t id, struct store_pdata *out,
    struct tam_err *err) TAM_WUR;
/*
 * The first version after after_id whose personalization data is legacy, and
 * its TA's taid; TAM_ENOTFOUND: none.
 */
int store_ta_version_next_legacy_pdata(struct store *st, int64_t after_id, int64_t *id,
    char taid[TAM_TAID_MAX], struct tam_err *err) TAM_WUR;
/*
 * Replace legacy personalization data by p (the same bytes under their own
 * key and IV); TAM_ECONFLICT if it is not legacy (any more).
 */
int store_ta_version_reseal_pdata(struct store *st, int64_t id, const struct store_pdata *p,
    struct tam_err *err) TAM_WUR;
/* with_blobs loads bundle and enc_ta; otherwise they stay NULL. */
int store_ta_version_get(struct store *st, int64_t id, bool with_blobs,
    struct store_ta_version *out, struct tam_err *err) TAM_WUR;
/* As store_ta_version_get with enc_ta only (bundle stays NULL): what serving needs. */
int store_ta_version_get_sealed(struct store *st, int64_t id, struct store_ta_version *out,
    struct tam_err *err) TAM_WUR;
/*
 * The bundle and encrypted TA come from files instead of memory (bundle and
 * enc_ta in v are ignored): each is copied into the row in pieces, so no
 * size of TA is ever held in memory. The digest is computed from the bundle
 * file as it is copied and written back to v->digest.
 */
int store_ta_version_add_files(struct store *st, struct store_ta_version *v, int bundle_fd,
    uint64_t bundle_len, int enc_fd, uint64_t enc_len, int64_t *id,
    struct tam_err *err) TAM_WUR;
/*
 * Highest version_key of the TA, without blobs; installable: skip withdrawn
 * versions (what "latest" means for devices), else every version counts
 * (what a new version must be newer than).
 */
int store_ta_version_latest(struct store *st, int64_t ta_id, bool installable,
    struct store_ta_version *out, struct tam_err *err) TAM_WUR;
int store_ta_version_find(struct store *st, int64_t ta_id, const char *version,
    struct store_ta_version *out, struct tam_err *err) TAM_WUR;
/* Versions of a TA in upload order (oldest first), without blobs; *out malloc'd. */
int store_ta_version_list(struct store *st, int64_t ta_id,
    struct store_ta_version **out, size_t *n, struct tam_err *err) TAM_WUR;
/* By version_key (after pg->after_int when pg->resume), without blobs. */
int store_ta_version_page(struct store *st, int64_t ta_id, const struct store_page *pg,
    struct store_ta_version **out, size_t *n, struct tam_err *err) TAM_WUR;
/*
 * Withdraw a version: TAM_ECONFLICT if it already is, or if an assignment
 * pins it (unpin first); by is recorded as withdrawn_by.
 */
int store_ta_version_withdraw(struct store *st, int64_t id, const char *by,
    struct tam_err *err) TAM_WUR;

/* What a version requires, by taid; *out malloc'd. */
int store_ta_version_requires(struct store *st, int64_t version_id,
    struct store_ta_require **out, size_t *n, struct tam_err *err) TAM_WUR;
/*
 * Policy's input: the requirements of every version in want and every
 * version the device holds that we installed (observed may be NULL), each
 * version once; *out malloc'd.
 */
int store_ta_requires_get(struct store *st, const struct tam_assignment *want, size_t n_want,
    const struct tam_dev_state *observed, struct tam_ta_req **out, size_t *n,
    struct tam_err *err) TAM_WUR;

/* A blob read in pieces, on its own read-only connection (any one thread may use it). */
struct store_blob;
/* The SP-signed bundle of a version; *size is its length. */
int store_ta_bundle_open(const char *db_path, int64_t version_id, struct store_blob **out,
    uint64_t *size, struct tam_err *err) TAM_WUR;
/*
 * The sealed TA (ciphertext) of a version, on a connection of its own to
 * st's database file, for an answer streamed as it is sent.
 */
int store_ta_cipher_open(struct store *st, int64_t version_id, struct store_blob **out,
    uint64_t *size, struct tam_err *err) TAM_WUR;
/* 0 while the blob's version is still served; TAM_ENOTFOUND once it is withdrawn. */
int store_blob_check(struct store_blob *b, struct tam_err *err) TAM_WUR;
/* The whole blob into fd (from offset 0), in one pass. */
int store_blob_copy(struct store_blob *b, int fd, struct tam_err *err) TAM_WUR;
/* Copy n bytes at off into buf (off + n must not pass the end). */
int store_blob_read(struct store_blob *b, uint64_t off, uint8_t *buf, size_t n,
    struct tam_err *err) TAM_WUR;
void store_blob_close(struct store_blob *b);
void store_ta_version_clear(struct store_ta_version *v);
void store_ta_versions_free(struct store_ta_version *v, size_t n);

/* ---- devices ---- */

enum store_key_kind {
	STORE_KEY_CERT = 0,
	STORE_KEY_RAW = 1,
};

struct store_device {
	int64_t id;
	uint8_t did[32];                   /* device id */
	char name[TAM_NAME_MAX];           /* optional label; "" if none */
	enum store_key_kind key_kind;
	uint8_t *cert;                     /* DER leaf, owned; NULL for raw keys */
	size_t cert_len;
	uint8_t *chain;                    /* DER intermediates concatenated, owned; may be NULL */
	size_t chain_len;
	uint8_t *spki;                     /* DER public key, owned */
	size_t spki_len;
	char thumbprint[44];               /* RFC 7638, base64url */
	char profile[16];                  /* interop profile, "default" */
	char state[16];                    /* "active" or "decommissioned" */
	char tee_name[TAM_TEENAME_MAX];
	char tee_ver[TAM_VERSION_MAX];
	uint8_t *dsi;                      /* last verified DSI bytes, owned; may be NULL */
	size_t dsi_len;
	uint8_t dsihash[32];               /* SHA-256 of dsi, computed on write; valid if dsi */
	int64_t created;
	int64_t last_seen;                 /* 0 if never */
};
/* An empty name is stored as NULL (no label). */
int store_device_add(struct store *st, const struct store_device *d, int64_t *id,
    struct tam_err *err) TAM_WUR;
int store_device_get(struct store *st, int64_t id, struct store_device *out,
    struct tam_err *err) TAM_WUR;
int store_device_get_by_did(struct store *st, const uint8_t did[32],
    struct store_device *out, struct tam_err *err) TAM_WUR;
/* Active devices of an interop profile, with their keys, at most max, by id. */
int store_device_list_profile(struct store *st, const char *profile, size_t max,
    struct store_device **out, size_t *n, struct tam_err *err) TAM_WUR;
int store_device_get_by_thumbprint(struct store *st, const char *thumbprint,
    struct store_device *out, struct tam_err *err) TAM_WUR;
/* ref: a name, the 64-hex did, or a unique hex prefix of at least 8 digits. */
int store_device_find(struct store *st, const char *ref, struct store_device *out,
    struct tam_err *err) TAM_WUR;
/* Ordered by id; *out malloc'd (records without blobs: cert/chain/spki/dsi NULL). */
int store_device_list(struct store *st, struct store_device **out, size_t *n,
    struct tam_err *err) TAM_WUR;
/*
 * By id after pg->after_int, without blobs. sp_id non-zero: only devices the
 * SP has a stake in (one of its TAs assigned there, or its SD observed there).
 */
int store_device_page(struct store *st, int64_t sp_id, const struct store_page *pg,
    struct store_device **out, size_t *n, struct tam_err *err) TAM_WUR;
/* Does SP sp_id have a stake in the device (as store_device_page means it)? */
int store_device_visible(struct store *st, int64_t device_id, int64_t sp_id, bool *out,
    struct tam_err *err) TAM_WUR;
/* Record a verified contact: TEE name/version, DSI bytes and hash, last_seen. */
int store_device_seen(struct store *st, int64_t id, const char *tee_name,
    const char *tee_ver, const uint8_t *dsi, size_t dsi_len, int64_t now,
    struct tam_err *err) TAM_WUR;
/*
 * A new certificate for device d->id's key: its did, cert and chain (and
 * key kind, now cert) are written from d; the row, its name, state and
 * everything that refers to it stay. TAM_ENOTFOUND unless the row still has
 * d->thumbprint (the same key).
 */
int store_device_renew(struct store *st, const struct store_device *d,
    struct tam_err *err) TAM_WUR;
/* "active" or "decommissioned"; a decommissioned device is refused by the engine. */
int store_device_set_state(struct store *st, int64_t id, const char *state,
    struct tam_err *err) TAM_WUR;
void store_device_clear(struct store_device *d);
void store_devices_free(struct store_device *d, size_t n);

/*
 * Observed SDs, TAs and SP AIKs, ordered by sdname, taid, spid, read from one
 * snapshot; tee_name and tee_ver come from the device record (store_device_seen).
 */
int store_device_state_get(struct store *st, int64_t device_id,
    struct tam_dev_state *out, struct tam_err *err) TAM_WUR;
/* Replace the observed SDs, TAs and AIKs (tee_name/tee_ver are not stored here). */
int store_device_state_set(struct store *st, int64_t device_id,
    const struct tam_dev_state *s, struct tam_err *err) TAM_WUR;

/* ---- assignments (desired state) ---- */

/*
 * ta_version_id 0 means "the latest version". Replaces an existing assignment.
 * A pinned version that is not an installable version of ta_id is TAM_EINVAL.
 * allow_downgrade: the version may replace a newer one installed on the device.
 */
int store_assign(struct store *st, int64_t device_id, int64_t ta_id,
    int64_t ta_version_id, bool allow_downgrade, const char *actor,
    struct tam_err *err) TAM_WUR;
int store_unassign(struct store *st, int64_t device_id, int64_t ta_id,
    struct tam_err *err) TAM_WUR;
/* One assignment as operators see it. */
struct store_assignment_row {
	char taid[TAM_TAID_MAX];
	char spid[TAM_SPID_MAX];
	char pinned[TAM_VERSION_MAX];     /* "" when it follows the latest version */
	char resolved[TAM_VERSION_MAX];   /* what a device gets now; "" if the TA has none */
	int64_t created;
	char created_by[128];
	bool allow_downgrade;
};
/* The device's assignments by taid after pg->after_text; sp_id non-zero: that SP's TAs only. */
int store_assignment_page(struct store *st, int64_t device_id, int64_t sp_id,
    const struct store_page *pg, struct store_assignment_row **out, size_t *n,
    struct tam_err *err) TAM_WUR;
/* Active devices with a stake of SP sp_id (store_device_page's sense), ids ascending. */
int store_device_ids_for_sp(struct store *st, int64_t sp_id, int64_t **ids, size_t *n,
    struct tam_err *err) TAM_WUR;

/*
 * The device's assignments with the version resolved (pinned, else latest)
 * and the SP's spid and sdname filled; TAs without any version are left out.
 * With them, flagged implied, the TAs those versions require (and what those
 * require, up to TAM_MAX_REQUIRE_DEPTH steps) that are not assigned, each
 * once, at its latest installable version. Ordered by taid; *out malloc'd.
 */
int store_assignments_get(struct store *st, int64_t device_id,
    struct tam_assignment **out, size_t *n, struct tam_err *err) TAM_WUR;

/* Every assignment of one SP's TAs on the device goes (the SD purge's first half). */
int store_unassign_sp(struct store *st, int64_t device_id, int64_t sp_id,
    struct tam_err *err) TAM_WUR;

/* ---- SDs: what the TAM wants of them beyond assignments ---- */

enum store_sd_action {
	STORE_SD_RENEW_AIK = 0,       /* UpdateSD with renewteespaik */
	STORE_SD_PURGE = 1,           /* DeleteSD with deleteta */
};
/*
 * One entry per SP whose SD the device holds or of which an operator asked
 * something there: the SD name and certificate fingerprint it should have,
 * and the pending requests. Ordered by spid; *out malloc'd.
 */
int store_sd_wants_get(struct store *st, int64_t device_id, struct tam_sd_want **out,
    size_t *n, struct tam_err *err) TAM_WUR;
/* Record an operator's request; asking again refreshes it. */
int store_sd_request_set(struct store *st, int64_t device_id, int64_t sp_id,
    enum store_sd_action action, const char *actor, struct tam_err *err) TAM_WUR;
/* Drop the device's requests for SP spid: one action, or all with action -1. */
int store_sd_requests_clear(struct store *st, int64_t device_id, const char *spid, int action,
    struct tam_err *err) TAM_WUR;

/*
 * The SDs the TAM itself created: a CreateSD it chose that the TEE
 * confirmed gives the SP a stake in the device (it sees the device, its
 * SP-wide assignments reach it) for as long as that SD is there. The SDs a
 * DSI lists never make one.
 */
int store_sd_stake_add(struct store *st, int64_t device_id, int64_t sp_id, const char *sdname,
    int64_t now, struct tam_err *err) TAM_WUR;
/* An UpdateSD of ours renamed the SD: the stake follows it. */
int store_sd_stake_rename(struct store *st, int64_t device_id, const char *sdname,
    const char *new_sdname, struct tam_err *err) TAM_WUR;
/*
 * Drop the stakes whose SD the device's stored state (device_sds) no longer
 * lists under its SP: deleted by the TAM, or gone from the device. Call it
 * after store_device_state_set.
 */
int store_sd_stakes_prune(struct store *st, int64_t device_id, struct tam_err *err) TAM_WUR;
/* Did the TAM create SD sdname of SP spid on the device? */
int store_sd_stake_has(struct store *st, int64_t device_id, const char *sdname,
    const char *spid, bool *out, struct tam_err *err) TAM_WUR;

/* ---- operations a TEE refused ---- */

struct store_op_failure {
	enum tam_op_kind op;
	char taid[TAM_TAID_MAX];
	char sdname[TAM_SDNAME_MAX];
	char reason[128];
	int64_t count;                /* refusals in a row */
	int64_t retry_at;             /* not before this time */
};
/*
 * Count one more refusal of (op, taid, sdname) by the device; the next try
 * waits base_delay * 2^(count-1) seconds, at most max_delay.
 */
int store_op_failure_record(struct store *st, int64_t device_id, enum tam_op_kind op,
    const char *taid, const char *sdname, const char *reason, int64_t now, int64_t base_delay,
    int64_t max_delay, struct tam_err *err) TAM_WUR;
/* Forget the refusals of (op, taid, sdname) after it succeeded. */
int store_op_failure_clear(struct store *st, int64_t device_id, enum tam_op_kind op,
    const char *taid, const char *sdname, struct tam_err *err) TAM_WUR;
/* Refusals whose retry_at is after now; *out malloc'd. */
int store_op_failures_active(struct store *st, int64_t device_id, int64_t now,
    struct store_op_failure **out, size_t *n, struct tam_err *err) TAM_WUR;

/* ---- management API tokens ---- */

#define STORE_TOKID_LEN 12            /* hex characters of a token's public id */

struct store_token {
	int64_t id;
	char tokid[STORE_TOKID_LEN + 1];
	uint8_t hash[32];                 /* SHA-256 of the secret part */
	bool admin;                       /* else an SP token */
	int64_t sp_id;                    /* SP tokens */
	char spid[TAM_SPID_MAX];          /* filled on read */
	char description[128];
	int64_t created;
	char created_by[128];
	int64_t expires;                  /* 0: never */
	int64_t revoked;                  /* 0: valid */
	int64_t last_used;                /* 0: never */
};
int store_token_add(struct store *st, const struct store_token *t, int64_t *id,
    struct tam_err *err) TAM_WUR;
int store_token_get(struct store *st, const char *tokid, struct store_token *out,
    struct tam_err *err) TAM_WUR;
/* By id after pg->after_int. */
int store_token_page(struct store *st, const struct store_page *pg, struct store_token **out,
    size_t *n, struct tam_err *err) TAM_WUR;
/* TAM_ENOTFOUND, or TAM_ECONFLICT when it is already revoked. */
int store_token_revoke(struct store *st, const char *tokid, int64_t now,
    struct tam_err *err) TAM_WUR;
/* Record a use at now (skipped when the last one is under a minute old). */
int store_token_touch(struct store *st, int64_t id, int64_t now, struct tam_err *err) TAM_WUR;

/* ---- monitoring ---- */

struct store_stats {
	int64_t devices_active;
	int64_t devices_decommissioned;
	int64_t tas;
	int64_t ta_versions;
	int64_t sessions_open;        /* sessions with a request answerable at now */
};
/* Counts for health checks and metrics; also proves the database answers. */
int store_stats_get(struct store *st, int64_t now, struct store_stats *out,
    struct tam_err *err) TAM_WUR;

/* ---- OTrP sessions and outstanding requests ---- */

/* profile: the interop profile of the endpoint; peer: the client's address ("" if unknown). */
int store_session_new(struct store *st, const char *tid, int64_t now, const char *profile,
    const char *peer, int64_t *session_id, struct tam_err *err) TAM_WUR;
/*
 * Remember an accepted answer of a device by the SHA-256 of its signed
 * payload; one seen before is TAM_ERID_REPLAYED.
 */
int store_answer_remember(struct store *st, int64_t device_id, const uint8_t digest[32],
    int64_t now, struct tam_err *err) TAM_WUR;
/*
 * Cancel every request that sessions of this profile and peer still wait
 * for; sessions of theirs that no device answered are deleted instead.
 */
int store_requests_cancel_peer(struct store *st, const char *profile, const char *peer,
    struct tam_err *err) TAM_WUR;
/* Binding the same device again is a no-op; another device is TAM_ECONFLICT. */
int store_session_bind_device(struct store *st, int64_t session_id,
    int64_t device_id, struct tam_err *err) TAM_WUR;
/* A session ends once: ending it again is TAM_ECONFLICT. */
int store_session_end(struct store *st, int64_t session_id, const char *result,
    int64_t now, struct tam_err *err) TAM_WUR;

struct store_session {
	int64_t id;
	char tid[TAM_RID_MAX];
	int64_t device_id;            /* 0 until bound */
	int64_t created;
	int64_t ended;                /* 0 while open */
	char result[128];
};
int store_session_get(struct store *st, int64_t id, struct store_session *out,
    struct tam_err *err) TAM_WUR;

struct store_request {
	char rid[TAM_RID_MAX];
	int64_t session_id;
	char tid[TAM_RID_MAX];        /* filled on read, from the session */
	int64_t device_id;            /* 0 when not yet bound (GetDeviceState) */
	char response[40];            /* expected response message name */
	enum tam_op_kind op;          /* TAM_OP_NONE for GetDeviceState */
	int64_t sp_id;                /* 0 if none */
	char spid[TAM_SPID_MAX];
	char sdname[TAM_SDNAME_MAX];
	char taid[TAM_TAID_MAX];
	int64_t ta_version_id;        /* 0 if none */
	int64_t created;
	int64_t expires;
	int64_t answered;             /* 0 while unanswered */
	bool cancelled;
	char new_sdname[TAM_SDNAME_MAX]; /* UpdateSD: the SD's new name; "" if unchanged */
	bool has_spcert_fp;           /* UpdateSD/CreateSD: the SP certificate the SD gets */
	uint8_t spcert_fp[32];
	unsigned flags;               /* STORE_REQ_* */
};
#define STORE_REQ_RENEW_AIK 0x1u  /* UpdateSD asked for a new TEE SP AIK */
#define STORE_REQ_DELETE_TA 0x2u  /* DeleteSD took the SD's TAs with it */
#define STORE_REQ_RESYNCED 0x4u   /* the session re-read the device's state after a drift refusal */
#define STORE_REQ_ALT_IDENTITY 0x8u /* signed by the TAM's alternate identity (and its session) */
/* A new request is unanswered and not cancelled; expires must be after created. */
int store_request_add(struct store *st, const struct store_request *r,
    struct tam_err *err) TAM_WUR;
int store_request_get(struct store *st, const char *rid, struct store_request *out,
    struct tam_err *err) TAM_WUR;
/*
 * The newest request an open session of this profile and peer still waits
 * for (unanswered, not cancelled, not expired), or TAM_ENOTFOUND: how the
 * answers of a device that echoes no rid are matched.
 */
int store_request_of_peer(struct store *st, const char *profile, const char *peer,
    int64_t now, struct store_request *out, struct tam_err *err) TAM_WUR;
/*
 * Mark rid answered at now, only if it is still unanswered, not cancelled
 * and not expired: TAM_ERID_REPLAYED if already answered, TAM_ERID_EXPIRED
 * if expired or cancelled, TAM_ERID_UNKNOWN if absent.
 */
int store_request_consume(struct store *st, const char *rid, int64_t now,
    struct tam_err *err) TAM_WUR;
/*
 * Write the session of a stateless opening rid (r: rid, tid, response, op,
 * expires, flags) and its request as answered at now, in the caller's
 * transaction; *session_id is the new session. Its rid or tid written before
 * (a second answer) is TAM_ERID_REPLAYED.
 */
int store_session_answered(struct store *st, const struct store_request *r, int64_t now,
    int64_t *session_id, struct tam_err *err) TAM_WUR;
/* Cancel the device's unanswered requests outside session keep_session. */
int store_requests_cancel_device(struct store *st, int64_t device_id,
    int64_t keep_session, struct tam_err *err) TAM_WUR;
/*
 * Delete requests that expired before `before`, sessions that ended before it
 * (with their requests), and never-ended sessions created before it that have
 * no request left.
 */
int store_purge(struct store *st, int64_t before, struct tam_err *err) TAM_WUR;
/* Retention: delete at most max audit rows older than before, oldest first; *n: how many. */
int store_audit_prune(struct store *st, int64_t before, int64_t max, int64_t *n,
    struct tam_err *err) TAM_WUR;
/*
 * Retention: the bundles and sealed TAs of versions withdrawn before
 * `before` go (the version rows, their digests and who withdrew them stay),
 * each with an audit row ta.bundle_removed; *n: how many versions.
 */
int store_withdrawn_prune(struct store *st, int64_t before, int64_t *n,
    struct tam_err *err) TAM_WUR;
/*
 * Give up to max_pages free pages back to the file system (incremental
 * auto-vacuum); *freed says how many went. Cheap when there are none.
 */
int store_reclaim(struct store *st, int64_t max_pages, int64_t *freed,
    struct tam_err *err) TAM_WUR;
/*
 * Make sure the database gives freed space back (auto_vacuum = INCREMENTAL).
 * A new database has it from its creation; an older one needs one VACUUM,
 * which rewrites the file and may take a while: *vacuumed says it ran.
 */
int store_auto_vacuum_enable(struct store *st, bool *vacuumed, struct tam_err *err) TAM_WUR;

/* ---- shared secrets ---- */

/*
 * The secret called name, len bytes (at most 64), made from fresh random
 * bytes by the first caller and the same for every daemon after. out is
 * key material: wipe it after use.
 */
int store_secret_get(struct store *st, const char *name, uint8_t *out, size_t len,
    struct tam_err *err) TAM_WUR;

#endif
