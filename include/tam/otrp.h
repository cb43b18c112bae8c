/* SPDX-License-Identifier: MIT */
/*
 * OTrP message codec: JSON wire objects <-> C values, one place for every
 * message and member name. Decoding is lenient where the spec's samples
 * disagree (docs/protocol.md) and strict about structure and bounds; it never
 * verifies or decrypts (the engine does, with jose and pki). Encoding is
 * strict and deterministic.
 */
#ifndef TAM_OTRP_H
#define TAM_OTRP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tam/err.h"
#include "tam/jose.h"
#include "tam/limits.h"
#include "tam/model.h"
#include "tam/util.h"

#define OTRP_VERSION "1.0"
#define OTRP_MEDIA_TYPE "application/otrp+json"

enum otrp_msg {
	OTRP_MSG_UNKNOWN = 0,
	OTRP_MSG_GET_DEVICE_STATE,
	OTRP_MSG_CREATE_SD,
	OTRP_MSG_INSTALL_TA,
	OTRP_MSG_DELETE_TA,
	OTRP_MSG_UPDATE_TA,
	OTRP_MSG_DELETE_SD,
	OTRP_MSG_UPDATE_SD,
	OTRP_MSG_BROKER_ERROR,        /* unsigned error from the broker */
};

/* "GetDeviceStateRequest", "CreateSDResponse", ... */
const char *otrp_request_name(enum otrp_msg m);
const char *otrp_response_name(enum otrp_msg m);
/* The message that answers the request an operation produces. */
enum otrp_msg otrp_msg_for_op(enum tam_op_kind k);

/* ---- decoding TEE responses (not verified) ---- */

struct otrp_response {
	enum otrp_msg msg;
	json_t *doc;                  /* the whole parsed body, owned */
	struct jose_jws *jws;         /* parsed signature; NULL for broker errors */
	json_t *tbs;                  /* parsed payload document, owned */
	const json_t *body;           /* the TBS object inside tbs; borrowed */
	char rid[TAM_RID_MAX];
	char tid[TAM_RID_MAX];
	bool pass;                    /* status "pass" */
	const json_t *edsi;           /* GetDeviceState pass: JWE object; borrowed */
	const json_t *content;        /* other responses: JWE object or NULL; borrowed */
	char reason[128];             /* ERR_* code from a clear "reason", if any */
	char sigalgs[64];             /* failed GetDeviceState: the TEE's supportedsigalgs, "A,B" */
	char broker_error[64];        /* broker error code */
};

/*
 * Parse a TEE response body: one named member, its JWS (alg on the
 * allow-list), the payload's TBS name matching the outer name, ver "1.0",
 * rid/tid strings, status. GetDeviceStateResponse must hold exactly one TEE.
 */
int otrp_response_decode(const uint8_t *body, size_t len, struct otrp_response **out,
    struct tam_err *err) TAM_WUR;
void otrp_response_free(struct otrp_response *r);

/* ---- Device State Information ---- */

struct otrp_dsi {
	struct tam_dev_state state;   /* tee name/version, SDs, TAs, AIKs */
	bool has_aiklist;             /* "teeaiklist" member was present */
	uint8_t *cert;                /* DER TEE certificate, owned; NULL if absent */
	size_t cert_len;
	uint8_t *cacerts[TAM_MAX_CHAIN_CERTS - 1];   /* DER, owned; the leaf is the last place */
	size_t cacert_lens[TAM_MAX_CHAIN_CERTS - 1];
	size_t n_cacerts;
	bool has_tfwdata;             /* firmware attestation present (not evaluated) */
};

/* Parse a DSI document {"dsi":{"tee":{...}}}. */
int otrp_dsi_parse(const uint8_t *doc, size_t len, struct otrp_dsi *out,
    struct tam_err *err) TAM_WUR;
/* An SD without "name" is an implicit one: its TAs are kept (sdname ""), the SD is not. */
#define OTRP_DSI_NAMELESS_SD 0x1u
int otrp_dsi_parse_flags(const uint8_t *doc, size_t len, unsigned flags, struct otrp_dsi *out,
    struct tam_err *err) TAM_WUR;
void otrp_dsi_clear(struct otrp_dsi *d);

/* Decrypted "content" of a CreateSD/InstallTA/DeleteTA response. */
struct otrp_content {
	bool has_did;
	uint8_t did[32];
	char sdname[TAM_SDNAME_MAX];  /* CreateSD */
	uint8_t *teespaik;            /* DER SPKI, owned; CreateSD */
	size_t teespaik_len;
	uint8_t *dsi;                 /* DSI document bytes, owned; NULL if absent */
	size_t dsi_len;
	char reason[128];             /* ERR_* code or text from "reason" */
};

int otrp_content_parse(const uint8_t *pt, size_t len, struct otrp_content *out,
    struct tam_err *err) TAM_WUR;
void otrp_content_clear(struct otrp_content *c);

/* Device id from any of its encodings: 64 hex digits, B64 or B64URL of 32 bytes. */
int otrp_did_decode(const char *s, uint8_t did[32]) TAM_WUR;

/* ---- encoding TAM requests ---- */

/* Members every request after GetDeviceState carries. */
struct otrp_req_common {
	const char *rid;
	const char *tid;
	const char *tee;              /* TEE routing name */
	uint8_t dsihash[32];          /* SHA-256 of the last DSI */
};

/*
 * {"GetDeviceStateTBSRequest":{ver,rid,tid,ocspdat,supportedsigalgs:[...]}};
 * ocspdat (stolen) is the array of B64 OCSP responses, NULL for [].
 */
json_t *otrp_tbs_get_device_state(const char *rid, const char *tid,
    const char *const *algs, size_t n_algs, json_t *ocspdat);
/* {"<Name>TBSRequest":{ver,rid,tid,tee,nextdsi:true,dsihash,content[,encrypted_ta]}}; steals content/encrypted_ta. */
json_t *otrp_tbs_request(enum otrp_msg m, const struct otrp_req_common *c,
    json_t *content, json_t *encrypted_ta);
/*
 * InstallTA or UpdateTA with encrypted_ta first (a JSON object's order means
 * nothing to a TEE), then encrypted_ta_data when the version has
 * personalization data (else NULL):
 * {"<Name>TBSRequest":{"encrypted_ta":{...}[,"encrypted_ta_data":{...}],"ver",...}}.
 * Serialized with the TA's string empty, it begins with otrp_tbs_ta_head,
 * where the TA's base64 goes. Steals content, encrypted_ta and
 * encrypted_ta_data.
 */
json_t *otrp_tbs_ta_request(enum otrp_msg m, const struct otrp_req_common *c,
    json_t *content, json_t *encrypted_ta, json_t *encrypted_ta_data);
/* {"<Name>TBSRequest":{"encrypted_ta":{"ciphertadata":"  (or UpdateTA's names) */
int otrp_tbs_ta_head(enum otrp_msg m, char *out, size_t outlen) TAM_WUR;

json_t *otrp_content_create_sd(const char *spid, const char *sdname,
    const uint8_t *spcert, size_t spcert_len, const char *tamid, const uint8_t did[32]);
json_t *otrp_content_install_ta(const char *tamid, const char *spid, const char *sdname,
    const uint8_t *spcert, size_t spcert_len, const char *taid);
json_t *otrp_content_delete_ta(const char *tamid, const char *sdname, const char *taid);
/* DeleteSD content; deleteta false: the TEE refuses a non-empty SD (ERR_SD_NOT_EMPTY). */
json_t *otrp_content_delete_sd(const char *tamid, const char *sdname, bool deleteta);

/* What one UpdateSD changes; members left NULL/false are not sent. */
struct otrp_sd_changes {
	const char *newsdname;
	const uint8_t *spcert;        /* DER certificate to add */
	size_t spcert_len;
	const uint8_t *delspcert_fp;  /* SHA-256 of a certificate to remove */
	bool renewteespaik;
};
/* {"tamid","spid","sdname","changes":{...}}; renewteespaik is always present (the schema lists it). */
json_t *otrp_content_update_sd(const char *tamid, const char *spid, const char *sdname,
    const struct otrp_sd_changes *ch);
/*
 * {"ciphertadata":B64,"key":key_jwe,"iv":hex,"alg":"AESCBC"}, or for an
 * UpdateTA (update true) "ciphernewtadata"; the TA first, so that every
 * device's message begins the same way. ct NULL leaves the TA's string
 * empty, for it to be spliced in at otrp_tbs_ta_head. Steals key_jwe.
 */
json_t *otrp_encrypted_ta(json_t *key_jwe, const uint8_t iv[16], const uint8_t *ct,
    size_t ct_len, bool update);
/*
 * Personalization data as the spec's Security Considerations lay it out,
 * with its own key and iv: {"cipherdata":B64,"key":key_jwe,"iv":hex,
 * "alg":"AESCBC"}, the same for InstallTA and UpdateTA. Steals key_jwe.
 */
json_t *otrp_encrypted_ta_data(json_t *key_jwe, const uint8_t iv[16], const uint8_t *ct,
    size_t ct_len);

/*
 * json_dumps(root, JSON_COMPACT), byte for byte, but long base64 strings (a
 * TA, a JWS payload) are copied in rather than checked and escaped one
 * character at a time; *out malloc'd, NUL-terminated.
 */
int otrp_dumps(const json_t *root, char **out, size_t *len) TAM_WUR;
/* Serialize {"<Name>Request": jws} compactly; *out malloc'd. */
int otrp_wrap_request(enum otrp_msg m, const json_t *jws, char **out, size_t *len) TAM_WUR;
/* The same for a jws whose "payload" is "": *at is the offset where the payload goes. */
int otrp_wrap_request_hole(enum otrp_msg m, const json_t *jws, char **out, size_t *len,
    size_t *at) TAM_WUR;
/* The same with head then tail (base64url) put in the payload's place. */
int otrp_wrap_request_payload(enum otrp_msg m, const json_t *jws, const char *head,
    size_t head_len, const char *tail, char **out, size_t *len) TAM_WUR;

/*
 * The payload of an InstallTA or UpdateTA up to the end of its TA, made piece
 * by piece for a TA too large to hold: the base64url of the TBS head
 * (otrp_tbs_ta_head) followed by the TA ciphertext's standard base64, the
 * ciphertext read in pieces from a source. Only whole 3-byte groups are
 * encoded; the last (head + base64) % 3 bytes are left for the tail
 * (jose_jws_prefix). Memory is a few piece buffers whatever the TA's size.
 */
/* Copy n bytes at off of the ciphertext into buf: 0, or a TAM_E* code with err set. */
typedef int (*otrp_ta_read_fn)(void *cls, uint64_t off, uint8_t *buf, size_t n,
    struct tam_err *err);
struct otrp_ta_payload;
int otrp_ta_payload_new(enum otrp_msg m, uint64_t ct_len, otrp_ta_read_fn read, void *cls,
    struct otrp_ta_payload **out) TAM_WUR;
void otrp_ta_payload_free(struct otrp_ta_payload *s);
/* Characters all pieces make together. */
uint64_t otrp_ta_payload_size(const struct otrp_ta_payload *s);
/* The next piece (valid until the next call): *len 0 at the end. */
int otrp_ta_payload_next(struct otrp_ta_payload *s, const char **piece, size_t *len,
    struct tam_err *err) TAM_WUR;
/* After the last piece: the 0 to 2 bytes left over, into rest; their count. */
size_t otrp_ta_payload_rest(const struct otrp_ta_payload *s, uint8_t rest[2]);

/* ---- TA bundles (SP-signed TA, encrypted once per version) ---- */

/* AES-256-CBC with PKCS#7 padding under a fresh random key and IV. *ct malloc'd. */
int otrp_bundle_seal(const uint8_t *bundle, size_t len, uint8_t key[32], uint8_t iv[16],
    uint8_t **ct, size_t *ct_len, struct tam_err *err) TAM_WUR;
/* Inverse of otrp_bundle_seal (used by TEEs; here for the mock TEE and tests). */
int otrp_bundle_open(const uint8_t *ct, size_t ct_len, const uint8_t key[32],
    const uint8_t iv[16], uint8_t **pt, size_t *len, struct tam_err *err) TAM_WUR;
/*
 * otrp_bundle_seal from file to file in pieces: len bytes of in_fd (from
 * offset 0) encrypted to out_fd (written from offset 0), *out_len bytes.
 */
int otrp_bundle_seal_fd(int in_fd, uint64_t len, int out_fd, uint8_t key[32], uint8_t iv[16],
    uint64_t *out_len, struct tam_err *err) TAM_WUR;
/*
 * An SP-signed bundle is a JWS whose payload is the TA binary, in the JSON
 * (flattened) or the compact serialization; the first byte tells which.
 * Verify it with the SP's key; *ta (malloc'd) is the binary.
 */
int otrp_bundle_verify(const uint8_t *bundle, size_t len, const struct jose_key *sp_key,
    uint8_t **ta, size_t *ta_len, struct tam_err *err) TAM_WUR;
/* Is this bundle (at least its first bytes) in the JSON serialization? */
bool otrp_bundle_is_json(const uint8_t *bundle, size_t len);
/*
 * The bundle as a flattened JSON JWS (a compact one re-encoded, the same
 * signature); *out malloc'd and NUL-terminated. TAM_EMALFORMED if it is
 * not a JWS.
 */
int otrp_bundle_flattened(const uint8_t *bundle, size_t len, char **out, size_t *outlen)
    TAM_WUR;

/* OTrP error name for a TAM_E* code ("ERR_REQUEST_INVALID", ...). */
const char *otrp_err_name(int code);

/* ---- stateless rids (otrp_rid.c) ---- */

/*
 * The rid of a session's opening GetDeviceStateRequest, which is written
 * nowhere until it is answered: it carries expires (seconds since the epoch)
 * and flags (STORE_REQ_* bits, at most 0xff), MACed together with tid under
 * key. Such rids begin "o."; rids of stored requests never do.
 */
#define OTRP_RID_KEY_LEN 32
int otrp_rid_make(const uint8_t key[OTRP_RID_KEY_LEN], const char *tid, int64_t expires,
    unsigned flags, char out[TAM_RID_MAX]) TAM_WUR;
bool otrp_rid_is_stateless(const char *rid);
/*
 * Check a stateless rid against the tid it came with: 0 with its expiry and
 * flags (expiry not checked here), TAM_ERID_UNKNOWN if it is not one we
 * made for that tid, TAM_ECRYPTO if the MAC could not be computed.
 */
int otrp_rid_check(const uint8_t key[OTRP_RID_KEY_LEN], const char *rid, const char *tid,
    int64_t *expires, unsigned *flags) TAM_WUR;

#endif
