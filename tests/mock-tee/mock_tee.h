/* SPDX-License-Identifier: MIT */
/*
 * The device side of the test suite: a mock TEE with its OTrP broker. It is a
 * real, strict client of docs/protocol.md, written independently of
 * src/otrp's codec: it verifies every TAM message (certificate chain,
 * signature, names, version, dsihash, encryption) and answers with signed and
 * encrypted responses built from its own state directory. It only ever talks
 * to 127.0.0.1 / localhost. Test code only: it is never linked into the daemon.
 * One struct mock_tee serves one thread at a time; two of them must not
 * share a state directory.
 */
#ifndef MOCK_TEE_H
#define MOCK_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/jose.h"
#include "tam/util.h"

/* Longest OTrP message name kept in results ("GetDeviceStateResponse" fits). */
#define MOCK_NAME_MAX 40
/* "pass" or an ERR_* code, with its NUL. */
#define MOCK_OUTCOME_MAX 48
/* Messages recorded per session result; later ones are counted, not kept. */
#define MOCK_SESSION_MAX_RECORDED 16
#ifndef MOCK_SESSION_MAX_ROUNDS
#define MOCK_SESSION_MAX_ROUNDS 64           /* POSTs before a session is declared runaway */
#endif
#ifndef MOCK_HTTP_TIMEOUT
#define MOCK_HTTP_TIMEOUT 30                 /* seconds per HTTP exchange */
#endif

struct mock_tee;

struct mock_tee_cfg {
	const char *state_dir;       /* created if missing (mode 0700) */
	const char *key_path;        /* TEE private key PEM */
	const char *cert_path;       /* TEE certificate PEM; NULL = raw-key TEE: no cert/cacert
				      * in the DSI and "kid" = RFC 7638 thumbprint of its key
				      * in every response's protected header */
	const char *cacert_path;     /* PEM with the TEE CA chain (intermediates), may be NULL */
	const char *tam_anchor_path; /* PEM root CA(s) that the TAM certificate must chain to */
	const char *tee_name;        /* routing name; NULL = "mock-tee" */
	const char *jwe_alg;         /* toward an RSA TAM key: NULL = RSA1_5, or RSA-OAEP
				      * (a P-256 TAM key always gets ECDH-ES+A128KW) */
	const char *jwe_enc;         /* content encryption of answers; NULL = A128CBC-HS256 */
	const char *sigalgs;         /* JWS algorithms it verifies, "RS256,ES256"; NULL: both. A
	                                request signed otherwise: ERR_UNSUPPORTED_CRYPTO_ALG */
	bool require_ocsp;           /* refuse GetDeviceState without OCSP responses for the TAM chain
				      * (ocspdat is checked whenever sent) */
	size_t max_tas;              /* room for this many TAs, then ERR_TEE_RESOURCE_FULL; 0: no limit */
	bool tfw_untrusted;          /* its firmware fails attestation: ERR_TFW_NOT_TRUSTED */
	/*
	 * "aist": play the AIST prototype's device side (docs/interop-aist.md).
	 * key_path is then its TEE key (PEM or JWK), cert_path NULL, and instead
	 * of tam_anchor_path it holds the TAM and SP public keys it was built with.
	 */
	const char *profile;         /* NULL or "default", or "aist" */
	const char *tam_key_path;    /* aist: the TAM public key (PEM or JWK) */
	const char *sp_key_path;     /* aist: the SP public key (PEM or JWK) */
	const char *talist;          /* aist: comma-separated TA UUIDs it claims, or NULL */
};

int mock_tee_open(const struct mock_tee_cfg *cfg, struct mock_tee **out,
    struct tam_err *err) TAM_WUR;
void mock_tee_close(struct mock_tee *mt);

/*
 * Process one TAM message (an HTTP response body) and produce the TEE's
 * answer (*resp malloc'd, NUL-terminated JSON). A TEE-level refusal (bad
 * dsihash, unknown SD, TA signature invalid, ...) is a signed response with
 * "status":"fail" and an ERR_* reason (inside the encrypted content, except
 * for GetDeviceState, whose reason is in the clear) and returns 0. Only when
 * no response can be produced at all (message not JSON, unknown message
 * name, TAM signature or certificate invalid, payload not the matching TBS
 * object) it returns a TAM_E* code with err set and *resp NULL.
 */
int mock_tee_process(struct mock_tee *mt, const uint8_t *msg, size_t len, char **resp,
    size_t *resp_len, struct tam_err *err) TAM_WUR;

/* What the last mock_tee_process call handled; "" before the first one. */
const char *mock_tee_last_request(const struct mock_tee *mt);   /* "InstallTARequest" */
const char *mock_tee_last_response(const struct mock_tee *mt);  /* "InstallTAResponse" */
const char *mock_tee_last_outcome(const struct mock_tee *mt);   /* "pass" or "ERR_..." */
/* OCSP responses the last GetDeviceStateRequest stapled. */
size_t mock_tee_last_ocsp_count(const struct mock_tee *mt);
/* alg and enc of the last request's content JWE as the TAM sent it; "" before one. */
void mock_tee_last_content_suite(const struct mock_tee *mt, const char **alg, const char **enc);
/* Human-readable detail of the last refusal; "" after a pass. */
const char *mock_tee_last_detail(const struct mock_tee *mt);

struct mock_http_resp {
	long status;                 /* HTTP status code; 0 if no response arrived */
	char *body;                  /* malloc'd, NUL-terminated past len; NULL when empty */
	size_t len;                  /* body bytes */
	char content_type[128];      /* Content-Type header, "" if absent (truncated) */
	long retry_after;            /* seconds of a Retry-After header, 0 if absent */
};

/*
 * POST with libcurl. content_type/accept NULL = omit that header; body may
 * be empty. Only http://127.0.0.1 and http://localhost URLs are accepted;
 * proxies and redirects are disabled. Timeout: MOCK_HTTP_TIMEOUT seconds.
 */
int mock_http_post(const char *url, const char *content_type, const char *accept,
    const uint8_t *body, size_t len, struct mock_http_resp *out, struct tam_err *err) TAM_WUR;
void mock_http_resp_clear(struct mock_http_resp *r);
/*
 * The source address of later POSTs of this process: a numeric 127.0.0.0/8
 * address, so tests can play clients at distinct loopback addresses; NULL:
 * the default. Not thread-safe: set it between requests.
 */
int mock_http_set_source(const char *addr) TAM_WUR;

struct mock_session_result {
	int rounds;              /* POSTs made */
	/* names of the TAM messages handled, in order */
	char requests[MOCK_SESSION_MAX_RECORDED][MOCK_NAME_MAX];
	int n_requests;          /* entries used in requests */
	/* "pass" or the ERR_* code of each answer sent, same order as requests */
	char outcomes[MOCK_SESSION_MAX_RECORDED][MOCK_OUTCOME_MAX];
	int n_outcomes;          /* entries used in outcomes */
	long final_status;       /* HTTP status of the last POST; 204 on success */
	char error[256];         /* what went wrong, "" on success */
};

/*
 * One full session: empty POST, then process each reply and POST the
 * answer, until 204 (returns 0) or an HTTP error / processing error (returns
 * a TAM_E* code; res->final_status and res->error tell what happened).
 */
int mock_tee_run_session(struct mock_tee *mt, const char *url, struct mock_session_result *res,
    struct tam_err *err) TAM_WUR;

/*
 * A local change the TAM is not told of, as after a reset: SD sdname, its
 * TAs and (with the SP's last SD) the SP's AIK vanish. 0, or -1 if there is
 * no such SD or the state cannot be stored.
 */
int mock_tee_reset_sd(struct mock_tee *mt, const char *sdname);
/*
 * A hostile TEE's lie: it lists SD sdname of SP spid (with an AIK of its own
 * for spid) to every TAM, which never created it, and refuses to delete it
 * (ERR_TAM_NOT_AUTHORIZED). 0, or -1 if the state cannot be stored.
 */
int mock_tee_claim_sd(struct mock_tee *mt, const char *sdname, const char *spid);

/* ---- inspection for tests ---- */

bool mock_tee_has_sd(struct mock_tee *mt, const char *sdname);
bool mock_tee_has_ta(struct mock_tee *mt, const char *taid);
/* SHA-256 of the SP certificates SD sdname holds (up to max); their count, -1 if no such SD. */
int mock_tee_sd_certs(struct mock_tee *mt, const char *sdname, uint8_t (*fps)[32], size_t max);
/* Path of the installed TA's plaintext file; TAM_ENOTFOUND if not installed. */
int mock_tee_ta_path(struct mock_tee *mt, const char *taid, char *out, size_t outlen) TAM_WUR;
/* The personalization data installed with TA taid (*data malloc'd); TAM_ENOTFOUND if none. */
int mock_tee_pdata(struct mock_tee *mt, const char *taid, uint8_t **data, size_t *len) TAM_WUR;
/* TEE identity key (private); borrowed. */
const struct jose_key *mock_tee_key(struct mock_tee *mt);
/* TEE SP AIK (private) or NULL; borrowed, valid until mock_tee_close. */
const struct jose_key *mock_tee_aik(struct mock_tee *mt, const char *spid);
/* The DSI document bytes this TEE last sent (what it expects dsihash to cover); NULL before. */
const char *mock_tee_dsi(struct mock_tee *mt);
/* Device id: SHA-256 of the DER certificate, or of the DER SPKI for a raw-key TEE. */
void mock_tee_did(const struct mock_tee *mt, uint8_t did[32]);

#endif
