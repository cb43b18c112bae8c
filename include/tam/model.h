/* SPDX-License-Identifier: MIT */
/*
 * Plain data shared by store, policy and the OTrP engine: what a device was
 * last seen holding (observed state), what it should hold (assignments), and
 * the single operation policy picks next. No wire formats, no SQL here.
 */
#ifndef TAM_MODEL_H
#define TAM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/limits.h"

/* A security domain the TEE reported as owned by this TAM. */
struct tam_sd_obs {
	char sdname[TAM_SDNAME_MAX];   /* SD name as the TEE reported it */
	char spid[TAM_SPID_MAX];       /* owning SP id; empty if the TEE omitted it */
	bool spcert_known;             /* we know which SP certificate it holds (a DSI never says) */
	uint8_t spcert_fp[32];         /* SHA-256 of that certificate, if known */
};

/* A TA the TEE reported, with what we know about its version. */
struct tam_ta_obs {
	char taid[TAM_TAID_MAX];       /* TA id as the TEE reported it */
	char sdname[TAM_SDNAME_MAX];   /* SD that holds it; empty if unknown */
	char taname[TAM_TANAME_MAX];   /* optional friendly name */
	int64_t ta_version_id;         /* our ta_versions row we installed, 0 if unknown */
	int64_t version_key;           /* that row's version_key (filled on read; valid if ta_version_id) */
	bool managed;                  /* in our TA catalogue: policy may delete it (not stored) */
};

/* The TEE's anonymous key for one SP ("TEE SP AIK"). */
struct tam_spaik_obs {
	char spid[TAM_SPID_MAX];       /* SP this key belongs to */
	uint8_t *spki;                 /* DER SubjectPublicKeyInfo, owned */
	size_t spki_len;               /* bytes */
};

/* Observed state of one device, as of its last verified DSI. */
struct tam_dev_state {
	char tee_name[TAM_TEENAME_MAX];   /* routing name for the "tee" member */
	char tee_ver[TAM_VERSION_MAX];    /* TEE version string */
	struct tam_sd_obs *sds;           /* owned array */
	size_t n_sds;
	struct tam_ta_obs *tas;           /* owned array */
	size_t n_tas;
	struct tam_spaik_obs *aiks;       /* owned array */
	size_t n_aiks;
};

void tam_dev_state_free(struct tam_dev_state *s);
/* Lookups by key; NULL if absent (like strchr, the result may be written through). */
const struct tam_sd_obs *tam_dev_state_sd(const struct tam_dev_state *s, const char *sdname);
struct tam_ta_obs *tam_dev_state_ta(const struct tam_dev_state *s, const char *taid);
struct tam_spaik_obs *tam_dev_state_aik(const struct tam_dev_state *s, const char *spid);

/* What operators assigned: this TA version should be on the device. */
struct tam_assignment {
	int64_t ta_id;                 /* tas row */
	int64_t ta_version_id;         /* resolved ta_versions row (pinned or latest) */
	int64_t version_key;           /* its version_key */
	bool allow_downgrade;          /* an operator allowed replacing a newer installed version */
	char taid[TAM_TAID_MAX];
	char version[TAM_VERSION_MAX];
	int64_t sp_id;                 /* sps row of the TA's owner */
	char spid[TAM_SPID_MAX];
	char sdname[TAM_SDNAME_MAX];   /* SD name this TAM uses for that SP */
	bool implied;                  /* not assigned: a TA an assigned one requires (latest version) */
	char implied_by[TAM_TAID_MAX]; /* implied: an assigned TA whose requirements reach it */
	char implied_actor[128];       /* implied: who assigned that TA (audit actor form) */
};

/*
 * One TA a TA version requires on the device. It is met when that TA is
 * there and, with a minimum, when we know its installed version reaches it.
 */
struct tam_ta_req {
	int64_t ta_version_id;         /* the requiring version (ta_versions row) */
	char taid[TAM_TAID_MAX];       /* the required TA */
	int64_t min_version_key;       /* tam_version_key of the least version; 0: any */
};

/*
 * What this TAM wants of one SP's SD on a device, beyond the TAs assigned
 * into it: its name and SP certificate now, and what an operator asked for.
 */
struct tam_sd_want {
	int64_t sp_id;                 /* sps row */
	char spid[TAM_SPID_MAX];
	char sdname[TAM_SDNAME_MAX];   /* the name the SD should have */
	uint8_t spcert_fp[32];         /* SHA-256 of the SP's TA-signer certificate */
	bool renew_aik;                /* an operator asked for a new TEE SP AIK */
	bool purge;                    /* an operator asked to delete the SD with its TAs */
};

enum tam_op_kind {
	TAM_OP_NONE = 0,
	TAM_OP_CREATE_SD,
	TAM_OP_INSTALL_TA,
	TAM_OP_DELETE_TA,
	TAM_OP_UPDATE_TA,
	TAM_OP_DELETE_SD,
	TAM_OP_UPDATE_SD,
};

/* The one operation policy wants next. */
struct tam_op {
	enum tam_op_kind kind;
	int64_t sp_id;                 /* CreateSD/InstallTA: sps row; 0 for DeleteTA of an unknown SP */
	char spid[TAM_SPID_MAX];
	char sdname[TAM_SDNAME_MAX];   /* the SD it concerns (DeleteSD: the SD to delete) */
	char taid[TAM_TAID_MAX];       /* InstallTA/UpdateTA/DeleteTA; with blocked, the waiting TA */
	int64_t ta_version_id;         /* InstallTA/UpdateTA: the version to deliver */
	bool deleteta;                 /* DeleteSD: its TAs go with it */
	char new_sdname[TAM_SDNAME_MAX]; /* UpdateSD: rename to this; "" keeps the name */
	bool add_spcert;               /* UpdateSD: give the SD the SP's current certificate */
	bool del_spcert;               /* UpdateSD: and remove the one of old_spcert_fp */
	uint8_t old_spcert_fp[32];
	bool renew_aik;                /* UpdateSD: the TEE makes a new SP AIK */
	bool blocked;                  /* NONE, but an assignment waits: see blocked_on */
	char blocked_on[TAM_TAID_MAX]; /* with blocked: the required TA it waits for; "" when
					  it waits for its SP's TEE SP AIK */
};

/* Names one operation on one device, e.g. a refused one policy should skip. */
struct tam_op_key {
	enum tam_op_kind kind;
	char taid[TAM_TAID_MAX];       /* InstallTA/DeleteTA; "" otherwise */
	char sdname[TAM_SDNAME_MAX];
};

const char *tam_op_kind_name(enum tam_op_kind k);
/* Inverse of tam_op_kind_name; 0 or -1. */
int tam_op_kind_parse(const char *s, enum tam_op_kind *out);

/*
 * TA versions are MAJOR[.MINOR[.PATCH]], each 0..65535; key orders them
 * ("1.2" == "1.2.0" < "1.10"). Returns 0, or -1 if s is not such a version.
 */
int tam_version_key(const char *s, int64_t *key);

#endif
