/* SPDX-License-Identifier: MIT */
/*
 * End-to-end test harness: a fresh PKI (pki/otrp-pki.sh) and database
 * (otrp-tamctl) in a temporary directory, a real otrp-tamd on 127.0.0.1 at a
 * port the kernel picked, and helpers to drive mock TEEs against it and to
 * check what the database holds.
 */
#ifndef E2E_H
#define E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "mock_tee.h"
#include "tam/otrp.h"
#include "tam/store.h"

#define E2E_TAID "8d82573a-926d-4754-9353-32dc29997f74"
#define E2E_SPID "sp1"

struct e2e_env {
	char dir[256];                /* temporary root, removed at teardown */
	char pki[300];                /* pki/otrp-pki.sh output */
	char pki2[300];               /* an unrelated PKI, for untrusted certificates */
	char db[300];
	char ta_bin[300];             /* the TA binary the SP signed */
	char build[256];              /* directory with otrp-tamd, otrp-tamctl */
	pid_t tamd;                   /* running daemon, 0 if none */
	char url[128];                /* http://127.0.0.1:PORT/tam */
	char api_url[128];            /* http://127.0.0.1:PORT of the management listener */
	char log[300];                /* daemon's stderr */
};

/*
 * Make the PKI (with tee1, tee2, tee3 and an expired tee-old), the database with
 * the TAM identity, the trust anchor, SP sp1 and TA E2E_TAID version 1.0,
 * and enroll tee1 by certificate as "tee1". Does not start the daemon.
 */
int e2e_setup(struct e2e_env *env);
/* The same; ec: every leaf (TAM, TEEs, SP) an EC P-256 key instead of RSA-2048. */
int e2e_setup_pki(struct e2e_env *env, bool ec);
/* Issue another leaf certificate in env->pki (pki/otrp-pki.sh issue). */
int e2e_pki_issue(struct e2e_env *env, const char *role, const char *name);
/* Stop the daemon if running, remove the directory. */
void e2e_teardown(struct e2e_env *env);
/*
 * A group's end: stop the daemon (it must exit cleanly: no crash, no
 * sanitizer report) and remove the directory; 0, or -1 so that cmocka
 * counts the group as failed.
 */
int e2e_group_end(struct e2e_env *env);

/* Start otrp-tamd with extra arguments (NULL-terminated list). */
int e2e_start(struct e2e_env *env, const char *const *extra);
/* SIGTERM, wait, and return its exit status (-1 if it crashed or a sanitizer reported). */
int e2e_stop(struct e2e_env *env);
/* Wait (at most 10 s) for the daemon to exit; as e2e_stop without the signal. */
int e2e_wait(struct e2e_env *env);
/* Wait up to timeout_ms for needle to appear in the daemon's log. */
bool e2e_log_wait(struct e2e_env *env, const char *needle, int timeout_ms);

/* Run otrp-tamctl -d DB with a printf-formatted argument string; returns its exit code. */
int e2e_ctl(struct e2e_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, capturing the first line of stdout into out. */
int e2e_ctl_out(struct e2e_env *env, char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A mock TEE with key/cert from PKI directory pki (env->pki or env->pki2),
 * leaf name tee ("tee1", or "sp/sp1" for a leaf of another role), state in
 * env->dir/state-<label>. raw: no certificate, the TEE is known by its key only.
 */
int e2e_mock(struct e2e_env *env, const char *pki, const char *tee, const char *label, bool raw,
    struct mock_tee **out);
/* The same, answering with JWE alg (toward an RSA TAM key) and enc; NULL: the defaults. */
int e2e_mock_suite(struct e2e_env *env, const char *pki, const char *tee, const char *label,
    bool raw, const char *jwe_alg, const char *jwe_enc, struct mock_tee **out);

/*
 * A mock TEE for the TEE-CA leaf tee of env->pki, its state in
 * env->dir/state-<tee>, otherwise configured as extra says (sigalgs,
 * require_ocsp, max_tas, ...; its paths are ignored).
 */
int e2e_mock_cfg(struct e2e_env *env, const char *tee, const struct mock_tee_cfg *extra,
    struct mock_tee **out);

/*
 * One whole session of mt (it must end with 204): the TAM's requests must
 * read want_reqs ("A B C") and the TEE's outcomes want_outs ("pass ERR_X"),
 * or each be "pass" when want_outs is NULL. 0, or -1 with why filled in.
 */
int e2e_session_expect(struct e2e_env *env, struct mock_tee *mt, const char *want_reqs,
    const char *want_outs, char *why, size_t whylen);

/* system() of a printf-formatted command: its exit status, -1 if it did not exit. */
int e2e_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Send len raw bytes to the 127.0.0.1 port of url and read the answer until
 * the server closes (ask for "Connection: close") or 10 s pass; resp is
 * NUL-terminated. 0, or -1 if nothing could be sent.
 */
int e2e_raw(const char *url, const void *req, size_t len, char *resp, size_t size);

/* GET a loopback URL; *body malloc'd (NUL-terminated). */
int e2e_get(const char *url, long *status, char **body);

/* POST body as application/otrp+json; *resp must be cleared by the caller. */
int e2e_post(struct e2e_env *env, const char *body, size_t len, struct mock_http_resp *resp);

/*
 * Digest of every row of the tables OTrP traffic can change; without
 * bookkeeping, only the state (not devices' last contact, sessions, requests).
 */
int e2e_db_digest(struct e2e_env *env, bool bookkeeping, uint8_t out[32]);
/* A read-only store connection; close with store_close. */
struct store *e2e_db(struct e2e_env *env);
/* Does the database's observed state of device ref hold taid? -1 on error. */
int e2e_db_has_ta(struct e2e_env *env, const char *ref, const char *taid);
/* Integer result of a single-value SQL query on the database (test-only SQL). */
long long e2e_db_scalar(struct e2e_env *env, const char *sql);
/* The blob in the first column of the first row, malloc'd; 0, or -1 if there is none. */
int e2e_db_blob(struct e2e_env *env, const char *sql, uint8_t **out, size_t *len);

/* One answer of the management API. */
struct e2e_resp {
	long status;                  /* 0: no answer (connection failed or cut) */
	char *body;                   /* NUL-terminated past len; NULL when empty */
	size_t len;
	json_t *json;                 /* body parsed, when it is JSON */
	char content_type[128];
	char location[256];
	char link[512];
	char request_id[64];
	char www_authenticate[128];
};
void e2e_resp_clear(struct e2e_resp *r);

/* A management API request; any of token, content_type, body may be NULL. */
struct e2e_req {
	const char *method;
	const char *path;             /* with its query string */
	const char *token;            /* bearer token */
	const char *content_type;
	const char *body;
	size_t len;
	const char *upload_file;      /* stream this file as the body instead */
	const char *const *headers;   /* extra "Name: value" lines, NULL-terminated */
	bool chunked;                 /* send the body chunked (no Content-Length) */
};
/* Send req to env->api_url; 0 when an answer came (r->status), else -1. */
int e2e_api(struct e2e_env *env, const struct e2e_req *req, struct e2e_resp *r);
/* Kilobytes of the daemon's peak resident set (VmHWM), or -1. */
long e2e_tamd_peak_rss_kb(struct e2e_env *env);

/* problem+json "type" suffix of an error response ("rid_replayed"), or "" */
void e2e_problem_code(const struct mock_http_resp *r, char *out, size_t outlen);

#endif
