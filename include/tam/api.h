/* SPDX-License-Identifier: MIT */
/*
 * The management plane: the REST API under /api/v1 for operators and SPs
 * (bearer tokens, scoped by role), plus health and metrics. Handlers only;
 * the listener is an http server with the routes api_routes gives, and the
 * CLI's direct transport dispatches the same routes in-process.
 */
#ifndef TAM_API_H
#define TAM_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/http.h"
#include "tam/limits.h"
#include "tam/store.h"

#define API_PREFIX "/api/v1"
#define API_DEFAULT_LIMIT 50          /* list page size without ?limit */
#define API_MAX_LIMIT 500             /* larger ?limit values are clamped */
#define API_MAX_JSON_BODY (1u << 20)  /* JSON request bodies */

struct api_ctx;
struct ratelimit;
struct api_call;                  /* one authenticated request (src/api) */

/* One API route: what api_routes binds to an http route. */
typedef int (*api_fn)(struct api_call *c, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err);
struct api_binding {
	struct api_ctx *ctx;
	api_fn fn;
	unsigned flags;               /* API_ADMIN_ONLY, ... (src/api) */
};

#define API_MAX_BINDINGS 48

struct api_ctx {
	/* This thread's database connection (each server thread has its own). */
	struct store *(*store)(struct tam_err *err);
	const char *version;          /* reported by /healthz and tam_build_info */
	const char *db_path;          /* downloads read blobs on connections of their own */
	const char *spool_dir;        /* uploads are spooled here; NULL: the system's tmp */
	atomic_uint_least64_t max_upload;  /* bytes of one TA bundle (limits.max_upload) */
	atomic_uint_least64_t sp_quota_bytes;     /* limits.sp_quota_bytes; 0: none */
	atomic_uint_least64_t sp_quota_versions;  /* limits.sp_quota_versions; 0: none */
	/*
	 * Audit rows anyone can cause are budgeted per client (a token, else the
	 * client's address), so a flood cannot fill the trail nor use up
	 * another's rows; NULL: every one is written (the CLI, tests).
	 */
	struct ratelimit *refusal_budget;   /* api.refused rows */
	struct ratelimit *download_budget;  /* ta.download rows */
	atomic_uint refusals_dropped; /* refusals not audited since the last row that was */
	atomic_uint downloads_dropped;      /* downloads likewise */
	struct api_binding bindings[API_MAX_BINDINGS];  /* filled by api_routes */
};

/*
 * Routes of the management listener, written to out (at most max); returns
 * how many. ctx must outlive the listener.
 *   GET /healthz   200 {"status":"ok",...} when the database answers, else 503
 *   GET /metrics   Prometheus text format 0.0.4
 *   /api/v1/...    the REST API (docs/openapi.yaml)
 */
size_t api_routes(struct api_ctx *ctx, struct http_route *out, size_t max);

/* ---- request decoders (public for tests and fuzzing) ---- */

/*
 * Each takes a JSON request body and fills its struct, or fails with
 * TAM_EMALFORMED (not a JSON object, unknown or mistyped member) or
 * TAM_EUSAGE (a value out of range), err naming the member. Strings in the
 * structs are malloc'd; api_*_clear frees them.
 */
struct api_sp_create {
	char *spid;
	char *sdname;                 /* NULL: derived from spid */
	char *certificate;            /* PEM */
};
int api_decode_sp_create(const uint8_t *body, size_t len, struct api_sp_create *out,
    struct tam_err *err) TAM_WUR;
void api_sp_create_clear(struct api_sp_create *r);

/* PATCH of an SP: the same struct, spid NULL; at least one of the two members. */
int api_decode_sp_update(const uint8_t *body, size_t len, struct api_sp_create *out,
    struct tam_err *err) TAM_WUR;

/* An operator request for one SP's SD on a device. */
struct api_sd_request {
	char *sp;                     /* spid */
	enum store_sd_action action;  /* "renew_aik" or "purge" */
};
int api_decode_sd_request(const uint8_t *body, size_t len, struct api_sd_request *out,
    struct tam_err *err) TAM_WUR;
void api_sd_request_clear(struct api_sd_request *r);

struct api_device_enroll {
	char *name;                   /* NULL: no label */
	char *profile;                /* NULL: "default" */
	char *material;               /* certificate PEM, public key PEM, or JWK JSON text */
};
int api_decode_device_enroll(const uint8_t *body, size_t len, struct api_device_enroll *out,
    struct tam_err *err) TAM_WUR;
void api_device_enroll_clear(struct api_device_enroll *r);

struct api_assignment {
	char *taid;
	char *version;                /* NULL: follow the latest version */
	char **devices;               /* bulk: device references; NULL when sp is used */
	size_t n_devices;
	char *sp;                     /* bulk: every device the SP has a stake in */
	bool allow_downgrade;         /* may replace a newer installed version */
};
/* bulk: the /assignments form ("devices" or "sp" required), else a device's. */
int api_decode_assignment(const uint8_t *body, size_t len, bool bulk, struct api_assignment *out,
    struct tam_err *err) TAM_WUR;
void api_assignment_clear(struct api_assignment *r);

struct api_anchor_add {
	char *name;
	char *certificate;            /* PEM */
};
int api_decode_anchor_add(const uint8_t *body, size_t len, struct api_anchor_add *out,
    struct tam_err *err) TAM_WUR;
void api_anchor_add_clear(struct api_anchor_add *r);

struct api_token_create {
	bool admin;
	char *spid;                   /* role "sp:<spid>" */
	char *description;
	int64_t expires_in;           /* seconds; 0: never */
};
int api_decode_token_create(const uint8_t *body, size_t len, struct api_token_create *out,
    struct tam_err *err) TAM_WUR;
void api_token_create_clear(struct api_token_create *r);

/*
 * The SHA-256 an upload announces: an RFC 9530 Content-Digest member
 * "sha-256=:<base64>:", else an RFC 3230 Digest "SHA-256=<base64>", else a
 * ?sha256=<hex> parameter (each may be NULL). *found false: none given (other
 * algorithms only are not an error). -1: a SHA-256 given but malformed.
 */
int api_decode_digest(const char *content_digest, const char *digest, const char *sha256_hex,
    uint8_t out[32], bool *found) TAM_WUR;

/* Bulk assignment lists at most this many devices. */
#define API_MAX_BULK_DEVICES 10000

#endif
