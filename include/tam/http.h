/* SPDX-License-Identifier: MIT */
/*
 * The OTrP-over-HTTP listener (libmicrohttpd): routing, methods, media types,
 * body limits and the mapping of errors to HTTP status codes. It hands the
 * POST body to a handler and sends back what the handler produced; it holds
 * no protocol logic.
 */
#ifndef TAM_HTTP_H
#define TAM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/pki.h"
#include "tam/util.h"

/* What a handler may ask about the request it serves. */
struct http_request;
const char *http_request_header(const struct http_request *r, const char *name);
/* The client's IP address (no port) into buf; -1 when unknown (an in-process request). */
int http_request_peer(const struct http_request *r, char *buf, size_t size);
/*
 * An opaque key naming the client for per-client limits: its IPv4 address,
 * or the /64 of its IPv6 address (one host usually holds a whole /64);
 * "local" for an in-process request. Never fails: an unknown address is "-".
 */
void http_request_client_key(const struct http_request *r, char *buf, size_t size);
/* A query-string argument, or NULL. */
const char *http_request_query(const struct http_request *r, const char *name);
/*
 * Every value of a repeatable query-string argument, in order: the first
 * max go to vals ("" for a name without "="); returns how many there were,
 * which may be more than max.
 */
size_t http_request_query_all(const struct http_request *r, const char *name,
    const char **vals, size_t max);
const char *http_request_method(const struct http_request *r);
const char *http_request_path(const struct http_request *r);
/* The path segment a route's {name} matched (percent-decoded), or NULL. */
const char *http_request_param(const struct http_request *r, const char *name);
/*
 * This request's id: the client's X-Request-Id when it is a short token,
 * else a random one. Every answer carries it back in X-Request-Id.
 */
const char *http_request_id(const struct http_request *r);

#define HTTP_MAX_ANSWER_HEADERS 4

/* A body produced while it is sent (a download), instead of http_answer.body. */
struct http_body_reader {
	uint64_t size;                /* exact byte count */
	/* Copy up to max bytes from pos into buf: bytes copied (> 0), or -1 on error. */
	long (*read)(void *cls, uint64_t pos, uint8_t *buf, size_t max);
	void (*free)(void *cls);      /* called once when the answer is done or dropped */
	void *cls;
};

struct http_answer {
	unsigned status;              /* 0: 200 with a body, 204 without */
	bool no_content;              /* answer 204 */
	const char *content_type;     /* static string; NULL: the route's media type */
	char *body;                   /* malloc'd; freed by http */
	size_t len;
	struct http_body_reader reader;   /* used when reader.read is set; owned by http then */
	/* Extra response headers: names static, values malloc'd and freed by http. */
	struct {
		const char *name;
		char *value;
	} headers[HTTP_MAX_ANSWER_HEADERS];
};

/* Add a header to an answer (value formatted and copied); TAM_ENOMEM or TAM_EINVAL (full). */
int http_answer_header(struct http_answer *ans, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Release what an answer holds (body, header values, reader). */
void http_answer_clear(struct http_answer *ans);

/*
 * Called on a server thread with the complete body (len 0 when empty).
 * Return 0 with *ans filled, or a TAM_E* code with err set (sent as a
 * problem document with http_status_for's status).
 */
typedef int (*http_handler_fn)(void *arg, const struct http_request *req, const uint8_t *body,
    size_t len, struct http_answer *ans, struct tam_err *err);

/*
 * A route whose body is handed over as it arrives, never held whole: for
 * uploads. The server's body limit does not apply; the route enforces its own.
 */
struct http_upload_ops {
	/*
	 * After the headers, before any body byte. Return 0 to take the body
	 * (*state is then passed to the calls below), or a TAM_E* code to refuse
	 * it. A refusal is answered with *ans if the call filled in a status,
	 * else with a problem document; either way the body is never read.
	 */
	int (*begin)(void *arg, const struct http_request *req, void **state,
	    struct http_answer *ans, struct tam_err *err);
	/* The next piece of the body. Nonzero: deliver no more (the rest is discarded). */
	int (*data)(void *state, const uint8_t *buf, size_t len);
	/* The body is complete: answer as a handler does. */
	int (*end)(void *state, const struct http_request *req, struct http_answer *ans,
	    struct tam_err *err);
	/* Always called last, also when the client went away mid-body. */
	void (*free)(void *state);
};

struct http_route {
	const char *method;           /* "GET", "POST", ... */
	/*
	 * The path: literal segments, and {name} segments that match any one
	 * non-empty segment (read with http_request_param). First match wins.
	 */
	const char *path;
	/*
	 * Non-NULL: a non-empty body must have this Content-Type (else 415) and
	 * Accept must admit it (else 406); it is also the answer's type.
	 */
	const char *media_type;
	http_handler_fn handler;      /* NULL when upload is set */
	void *arg;
	const struct http_upload_ops *upload;  /* non-NULL: a streamed-body route */
	/*
	 * Optional, for handler routes: called with the headers, before any body
	 * byte is read (so an unauthenticated client cannot make the server hold
	 * a body). 0 reads the body; a TAM_E* code refuses the request, answered
	 * with *ans if the call filled in a status, else with a problem document.
	 */
	int (*admit)(void *arg, const struct http_request *req, struct http_answer *ans,
	    struct tam_err *err);
};

#define HTTP_MAX_ROUTES 64
#define HTTP_MAX_PARAMS 4             /* {name} segments in one route */

struct http_cfg {
	const char *name;             /* for logs: "otrp", "api" */
	const char *address;          /* numeric IPv4 or IPv6 address to bind */
	uint16_t port;                /* 0: the kernel picks one (see http_server_port) */
	const struct http_route *routes;  /* copied at start */
	size_t n_routes;
	size_t max_body;              /* bytes; larger bodies get 413 */
	unsigned threads;             /* worker threads */
	unsigned conn_limit;          /* concurrent connections */
	unsigned per_ip_limit;        /* concurrent connections per client address; 0 = no limit */
	unsigned conn_timeout;        /* seconds of inactivity before a connection is closed */
	/*
	 * Seconds a client has in all for a request line and headers, and for a
	 * body, however busily it sends (streamed uploads, authenticated first,
	 * have only conn_timeout); when connections near conn_limit, slow header
	 * senders are closed after a second. 0: none.
	 */
	unsigned header_timeout;
	unsigned body_timeout;
	/* TLS: all NULL serves plain HTTP. PEM texts are copied at start. */
	const char *tls_cert_pem;     /* server certificate chain, leaf first */
	const char *tls_key_pem;      /* its private key */
	/*
	 * Client certificates: when set, every request must come with a client
	 * certificate that chains to these CAs (enforced here: GnuTLS only asks).
	 */
	const char *tls_client_ca_pem;
	const struct pki_trust *client_trust;  /* the same CAs as a trust store; borrowed */
};

struct http_server;

int http_server_start(const struct http_cfg *cfg, struct http_server **out,
    struct tam_err *err) TAM_WUR;
uint16_t http_server_port(const struct http_server *s);
/*
 * Serve on old's socket (same address and port) with cfg, e.g. new TLS
 * certificates: new connections go to the new listener at once, old stops
 * accepting and keeps serving its open connections until it is stopped.
 * On failure old's settings are put back on the socket: *out is then a
 * listener like old (or NULL if even that failed) and the error is returned.
 * Either way, stop old with http_server_stop once http_server_active(old)
 * is 0 or a timeout passed.
 */
int http_server_replace(struct http_server *old, const struct http_cfg *cfg,
    struct http_server **out, struct tam_err *err) TAM_WUR;
/* Requests in flight. */
int http_server_active(const struct http_server *s);
/* Change the body limit for requests that start from now on. */
void http_server_set_max_body(struct http_server *s, size_t max_body);
/*
 * Stop accepting connections and wait up to timeout_s seconds for requests
 * in flight; returns how many were still running.
 */
int http_server_drain(struct http_server *s, unsigned timeout_s);
/* Close every connection and free everything. */
void http_server_stop(struct http_server *s);

/*
 * A request made in-process instead of over the network (the CLI's direct
 * transport): routed and answered exactly as the listener would.
 */
struct http_local {
	const char *method;
	const char *path;                 /* without a query string */
	const char *const *query;         /* name, value, ..., NULL */
	const char *const *headers;       /* name, value, ..., NULL */
	const char *actor;                /* handlers read it with http_request_local_actor */
	const uint8_t *body;              /* for a handler route */
	size_t len;
	/* For an upload route: the body in pieces; *got 0 at the end; nonzero return: give up. */
	int (*read)(void *cls, uint8_t *buf, size_t max, size_t *got);
	void *read_cls;
};
/*
 * Route and answer lr: 0 with *status and *ans as the network would send them
 * (a problem document for errors), or TAM_E* when nothing could be answered.
 * The caller clears ans.
 */
int http_dispatch_local(const struct http_route *routes, size_t n_routes,
    const struct http_local *lr, unsigned *status, struct http_answer *ans,
    struct tam_err *err) TAM_WUR;
/* The actor of an in-process request, NULL for one that came over the network. */
const char *http_request_local_actor(const struct http_request *r);

/* HTTP status for a TAM_E* code returned by a handler. */
unsigned http_status_for(int code);
/* true if an Accept header value admits media_type (NULL header admits all). */
bool http_accepts(const char *accept, const char *media_type);
/* true if a Content-Type header value names media_type (parameters ignored). */
bool http_content_type_is(const char *content_type, const char *media_type);

#endif
