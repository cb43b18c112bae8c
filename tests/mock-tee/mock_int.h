/* SPDX-License-Identifier: MIT */
/*
 * Private to tests/mock-tee: the mock TEE object and the state helpers that
 * mock_tee.c (message processing) and mock_state.c (state directory, DSI)
 * share. The persistent state is a jansson document, so that a change is
 * made on a copy and swapped in only after it reached the disk.
 */
#ifndef MOCK_INT_H
#define MOCK_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tam/limits.h"
#include "tam/pki.h"
#include "mock_tee.h"

#define MT_TAMID_MAX 256                 /* TAM identity taken from a certificate, incl. NUL */
#define MT_RID_RING 256                  /* rids remembered to refuse replays */
#define MT_STATE_FILE "state.json"       /* in state_dir */
#define MT_OWNER_ANY "*"                 /* owner of a claimed SD: listed to every TAM */
#define MT_TA_DIR "tas"                  /* in state_dir: <taid>.ta plaintext TAs */
#define MT_STATE_VERSION 1               /* "version" member of the state file */
#ifndef MT_MAX_STATE_BYTES
#define MT_MAX_STATE_BYTES (8u << 20)    /* state.json; far above TAM_MAX_SDS x TAM_MAX_TAS */
#endif
#define MT_TEE_VERSION "1.0"             /* dsi.tee.ver */
/* AIKs are of the TEE key's type: RSA-2048 ("RSA") or P-256 ("ECC"). */
#define MT_AIK_TYPE(mt) (jose_key_type((mt)->key) == JOSE_KTY_RSA ? "RSA" : "ECC")

/* One TEE SP AIK, loaded from aik-<spid>.pem on first use. */
struct mt_aik {
	char spid[TAM_SPID_MAX];         /* SP id, valid name */
	struct jose_key *key;            /* private RSA key; owned */
};

struct mock_tee {
	char dir[PATH_MAX];              /* state directory */
	char name[TAM_TEENAME_MAX];      /* routing name ("tee" in requests) */
	struct jose_key *key;            /* TEE identity key, private; owned */
	char *cert_b64;                  /* B64 DER certificate; NULL for a raw-key TEE; owned */
	json_t *cacerts;                 /* array of B64 DER CA certificates (cert TEEs); owned */
	char kid[JOSE_THUMBPRINT_LEN];   /* RFC 7638 thumbprint (raw-key TEEs), else "" */
	uint8_t did[32];                 /* device id */
	char *did_b64url;                /* did as sent in content; owned */
	struct pki_trust *tam_trust;     /* anchors for TAM certificates; owned */
	json_t *state;                   /* {"version","sds":[...]} as on disk; owned */
	struct mt_aik *aiks;             /* loaded AIKs; owned array */
	size_t n_aiks;
	char *last_dsi;                  /* DSI document last sent, NUL-terminated; owned */
	size_t last_dsi_len;
	char tid[TAM_RID_MAX];           /* tid of the last GetDeviceStateRequest, "" before */
	char rids[MT_RID_RING][TAM_RID_MAX]; /* rids already answered (ring) */
	size_t n_rids;                   /* rids ever recorded; next slot is n_rids % MT_RID_RING */
	char last_request[MOCK_NAME_MAX];    /* outer name of the last message handled */
	char last_response[MOCK_NAME_MAX];   /* outer name of the last answer */
	char last_outcome[MOCK_OUTCOME_MAX]; /* "pass" or ERR_* */
	char last_detail[160];           /* why the last answer was a refusal */
	char jwe_alg[24];                /* key management toward an RSA TAM key */
	char sigalgs[64];                /* JWS algorithms of TAM signatures it verifies, "A,B" */
	char jwe_enc[24];                /* content encryption of our answers */
	char last_content_alg[24];       /* what the TAM used for the last request's content */
	char last_content_enc[24];
	STACK_OF(X509) *tam_anchor_certs; /* the anchors of tam_trust, to find issuers; owned */
	bool require_ocsp;               /* refuse a GetDeviceStateRequest without ocspdat */
	size_t max_tas;                  /* InstallTA beyond this many TAs: ERR_TEE_RESOURCE_FULL */
	bool tfw_untrusted;              /* GetDeviceState: ERR_TFW_NOT_TRUSTED */
	size_t last_ocsp_count;          /* responses in the last GetDeviceStateRequest */
	bool aist;                       /* plays the AIST device side (mock_aist.c) */
	struct jose_key *aist_tam;       /* aist: the compiled-in TAM public key; owned */
	struct jose_key *aist_sp;        /* aist: the compiled-in SP public key; owned */
	json_t *aist_talist;             /* aist: the TAs it claims (its --talist); owned */
};

/* Answer one message as the AIST broker + agent would (mock_aist.c). */
int mt_aist_process(struct mock_tee *mt, const uint8_t *msg, size_t len, char **resp,
    size_t *resp_len, struct tam_err *err);

/* Load state_dir/state.json (absent = empty state) and check its shape. */
int mt_state_load(struct mock_tee *mt, struct tam_err *err);
/* Write st atomically as the state file; mt->state is not touched. */
int mt_state_save(struct mock_tee *mt, const json_t *st, struct tam_err *err);
/* The SD object named sdname in st, or NULL; borrowed. */
json_t *mt_state_sd(const json_t *st, const char *sdname);
/* Index of the TA taid in sd's "tas", or -1. */
long mt_sd_ta_index(const json_t *sd, const char *taid);
/* The SD holding TA taid anywhere in st, or NULL; borrowed. */
json_t *mt_state_sd_of_ta(const json_t *st, const char *taid);

/* AIK of spid, loaded and cached; NULL with *err unchanged if it has none. */
int mt_aik_get(struct mock_tee *mt, const char *spid, const struct jose_key **out,
    struct tam_err *err);
/* Make and store an RSA-2048 AIK for spid unless it has one. */
/* The SP's AIK is gone with its last SD: forget the key and delete its file. */
int mt_aik_forget(struct mock_tee *mt, const char *spid, struct tam_err *err);
int mt_aik_ensure(struct mock_tee *mt, const char *spid, const struct jose_key **out,
    struct tam_err *err);
/* B64 of the DER SPKI of k; *out malloc'd. */
int mt_spki_b64(const struct jose_key *k, char **out, struct tam_err *err);

/*
 * The DSI document of state st as the TAM tamid sees it (only the SDs it
 * owns and their SPs' AIKs), JSON_COMPACT; *out malloc'd.
 */
int mt_dsi_build(struct mock_tee *mt, const json_t *st, const char *tamid, char **out,
    size_t *len, struct tam_err *err);

/*
 * state_dir[/sub]/<prefix><name><suffix> (sub, prefix, suffix may be "").
 * name comes from the TAM: it must be a valid name not starting with a dot,
 * so no TAM can make the mock TEE write outside its state directory.
 */
int mt_path(const struct mock_tee *mt, const char *sub, const char *prefix, const char *name,
    const char *suffix, char *out, size_t outlen, struct tam_err *err);

/* Strict standard base64 (RFC 4648 §4, padded) into *out (malloc'd). */
int mt_b64std_decode(const char *in, size_t n, uint8_t **out, size_t *outlen);

#endif
