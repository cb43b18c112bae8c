/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of otrp-tamctl: the context every subcommand gets, argument
 * parsing, the two transports (the database in-process, or the REST API over
 * libcurl) behind one call, output as tables or JSON, and the documented
 * exit codes. Every subcommand except init and ta sign is one or more REST
 * requests; in-process they run through the daemon's own API handlers, so
 * both transports validate and answer alike.
 */
#ifndef TAMCTL_H
#define TAMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tam/api.h"
#include "tam/err.h"
#include "tam/mgmt.h"
#include "tam/store.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_USAGE = 1,
	CTL_EXIT_NOTFOUND = 2,
	CTL_EXIT_CONFLICT = 3,
	CTL_EXIT_AUTH = 4,
	CTL_EXIT_OTHER = 5,
};

struct ctl {
	const char *db;               /* database path (direct transport) */
	const char *url;              /* API base URL (REST transport), or NULL */
	char *token;                  /* bearer token for the REST transport, owned */
	const char *cacert;           /* CA file for an https URL */
	bool json;                    /* print JSON instead of tables */
	struct store *st;             /* direct: opened by ctl_open */
	struct mgmt m;                /* direct: management operations on st */
	char actor[80];               /* direct: "cli:<user>" */
	struct api_ctx api;           /* direct: the API's handlers on st */
	struct http_route routes[HTTP_MAX_ROUTES];
	size_t n_routes;
	char spool[4096];             /* direct: where uploads spool */
};

struct ctl_cmd {
	const char *name;             /* "sp", "add", ... */
	int (*run)(struct ctl *c, int argc, char **argv);   /* argv[0] is the name */
	const char *usage;            /* the grammar, printed as is */
	const char *help;             /* one line */
};

/* An option that takes a value ("--key FILE") or is a flag (value NULL). */
struct ctl_opt {
	const char *name;             /* "--key" */
	const char **value;           /* where the value goes; NULL for a flag */
	bool *flag;                   /* set to true for a flag */
};

/*
 * Split argv[1..] into options and positionals; exactly min..max positionals.
 * Prints the usage and returns CTL_EXIT_USAGE on any error, or "-h"/"--help"
 * (then returns -1 after printing the usage to stdout).
 */
int ctl_parse(int argc, char **argv, const struct ctl_opt *opts, const char **pos, int min,
    int max, const char *usage);

/*
 * Take every "NAME VALUE" of a repeatable option out of argv, before
 * ctl_parse sees the rest (*argc shrinks): at most max values, in order.
 * Returns CTL_EXIT_USAGE (usage printed) for a missing value or too many.
 */
int ctl_parse_repeated(int *argc, char **argv, const char *name, const char **vals, size_t max,
    size_t *n, const char *usage);

/* Open the database (direct transport only). */
int ctl_open(struct ctl *c, bool create);
/* Print "otrp-tamctl: msg" and return the exit code for a TAM_E* code. */
int ctl_fail(int code, const struct tam_err *err);
int ctl_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ctl_read_file(const char *path, size_t max, uint8_t **data, size_t *len);
/* Dispatch argv[1] (a verb) through a table; prints the table when missing or unknown. */
int ctl_dispatch(struct ctl *c, const char *noun, const struct ctl_cmd *cmds, size_t n,
    int argc, char **argv);

/* ---- requests, over either transport ---- */

struct ctl_resp {
	long status;                  /* HTTP status */
	json_t *json;                 /* parsed body, when it was JSON */
};
void ctl_resp_clear(struct ctl_resp *r);

/*
 * One API request: method, path under the API root ("/api/v1/sps"), query
 * pairs (name, value, ..., NULL; may be NULL) and a JSON body (may be NULL).
 * Returns CTL_EXIT_OK with *r filled for any HTTP answer, or an exit code
 * (message printed) when no answer came.
 */
int ctl_request(struct ctl *c, const char *method, const char *path, const char *const *query,
    const json_t *body, struct ctl_resp *r);
/* Upload a file as the body (streamed), with a Content-Digest of it. */
int ctl_upload(struct ctl *c, const char *path, const char *const *query, const char *file,
    const char *content_type, struct ctl_resp *r);
/* PUT a whole file (at most max bytes) as the body. */
int ctl_put_file(struct ctl *c, const char *path, const char *file, size_t max,
    const char *content_type, struct ctl_resp *r);
/* A download: the body goes to out_file (written atomically), JSON only on errors. */
int ctl_download(struct ctl *c, const char *path, const char *out_file, struct ctl_resp *r);

/*
 * Turn an answer into the exit code: 2xx is 0; otherwise the problem
 * document's detail is printed and the status mapped (400 usage, 401/403
 * auth, 404 not found, 409 conflict, else other).
 */
int ctl_check(const struct ctl_resp *r);
/* GET every page of a list into one array (*items, owned). */
int ctl_list_all(struct ctl *c, const char *path, const char *const *query, size_t max,
    json_t **items);

/* The transports (ctl_local.c, ctl_http.c). */
int ctl_local_request(struct ctl *c, const char *method, const char *path,
    const char *const *query, const char *body, size_t len, const char *upload_file,
    const char *const *headers, const char *out_file, struct ctl_resp *r);
int ctl_http_request(struct ctl *c, const char *method, const char *path,
    const char *const *query, const char *body, size_t len, const char *upload_file,
    const char *const *headers, const char *out_file, struct ctl_resp *r);

/*
 * Run one request and check it: with --json the answer is printed; *out
 * (if not NULL) keeps the answer for a table. Returns the exit code.
 */
int ctl_run(struct ctl *c, const char *method, const char *path, const char *const *query,
    const json_t *body, struct ctl_resp *out);
/*
 * A command that lists: no arguments, every page of path. With --json the
 * items are printed and *items is NULL; otherwise the caller prints the
 * table from *items and frees it.
 */
int ctl_list_cmd(struct ctl *c, int argc, char **argv, const char *use, const char *path,
    json_t **items);
/*
 * A command on one named record: exactly one argument NAME (what), the request
 * method on prefix/NAME/suffix (suffix may be ""). With out, the answer is
 * kept for the caller to print when it is not --json.
 */
int ctl_named_cmd(struct ctl *c, int argc, char **argv, const char *use, const char *what,
    const char *method, const char *prefix, const char *suffix, struct ctl_resp *out);
/* An argument that goes into a URL path must be a plain name. */
int ctl_check_segment(const char *v, const char *what, const char *use);
/* A certificate file as PEM text (DER is converted); *pem malloc'd. */
int ctl_read_pem(const char *path, char **pem);

/* ---- output ---- */

/* Print j (pretty) to stdout. */
void ctl_print_json(const json_t *j);
/* A string member, or "-" when absent or null. */
const char *ctl_str(const json_t *o, const char *name);

int cmd_init(struct ctl *c, int argc, char **argv);
int cmd_trust_anchor(struct ctl *c, int argc, char **argv);
int cmd_sp(struct ctl *c, int argc, char **argv);
int cmd_ta(struct ctl *c, int argc, char **argv);
int cmd_device(struct ctl *c, int argc, char **argv);
int cmd_assign(struct ctl *c, int argc, char **argv);
int cmd_unassign(struct ctl *c, int argc, char **argv);
int cmd_token(struct ctl *c, int argc, char **argv);
int cmd_audit(struct ctl *c, int argc, char **argv);
int cmd_version(struct ctl *c, int argc, char **argv);

#endif
