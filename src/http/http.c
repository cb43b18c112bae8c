// SPDX-License-Identifier: MIT
/*
 * OTrP over HTTP on libmicrohttpd. MHD has no body limit of its own, so this
 * file counts bytes: a Content-Length over the limit is refused before the
 * body is read, a chunked body is discarded past the limit and refused at
 * the end. Answers are queued on the second handler call or later so that
 * keep-alive survives (MHD closes the connection when a response is queued
 * from the header-only first call).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/x509.h>

#include "tam/http.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/otrp.h"
#include "http_int.h"

#define HTTP_REQUEST_ID_MAX 40
#define HTTP_MAX_HEADERS 100          /* header fields of one request; more answer 431 */

struct http_server {
	struct http_cfg cfg;          /* cfg.routes points at routes */
	struct MHD_Daemon *mhd;
	uint16_t port;
	struct http_route routes[HTTP_MAX_ROUTES];
	char *paths[HTTP_MAX_ROUTES];  /* copies routes[i].path points at: the caller's may go */
	atomic_size_t max_body;       /* current body limit; SIGHUP may change it */
	atomic_int active;            /* requests between first call and completion */
	MHD_socket quiesced;          /* listen socket handed back by drain; closed after stop */
	char *tls_cert;               /* copies MHD reads from, owned; NULL for plain HTTP */
	char *tls_key;                /* wiped before it is freed */
	char *tls_ca;
	struct http_deadlines *dl;    /* total header/body deadlines of its connections */
};

/* Per-request state, from the first handler call to completion. */
struct request {
	struct tam_buf body;          /* POST body so far */
	bool too_large;               /* body passed max_body; the rest is discarded */
	struct timespec start;
	const struct http_route *route;  /* the route serving it */
	char id[HTTP_REQUEST_ID_MAX];
	char peer[TAM_LOG_PEER_MAX];  /* client address, for every line logged while serving it */
	/* {name} segments of the route and what they matched (pointers into path). */
	size_t n_params;
	const char *pname[HTTP_MAX_PARAMS];
	size_t pname_len[HTTP_MAX_PARAMS];
	const char *pvalue[HTTP_MAX_PARAMS];
	char *path;                   /* copy of the URL path, split in place */
	void *upload;                 /* upload route state, from begin */
	bool upload_begun;            /* begin accepted the body: free must run */
	bool upload_stopped;          /* data asked for no more */
	uint64_t upload_bytes;
	struct http_deadlines *dl;    /* the server's, NULL for an in-process request */
};

/* What handlers see of a request: kept on the stack of the call that serves it. */
struct http_request {
	struct MHD_Connection *conn;      /* NULL for an in-process request */
	const char *method;
	const char *path;
	const struct request *rq;
	const struct http_local *local;   /* an in-process request, else NULL */
};

/* value for name in a NULL-terminated name, value list (names case-insensitive). */
static const char *
pair_lookup(const char *const *kv, const char *name, bool nocase)
{
	for (size_t i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		if (nocase ? strcasecmp(kv[i], name) == 0 : strcmp(kv[i], name) == 0)
			return kv[i + 1];
	return NULL;
}

const char *
http_request_header(const struct http_request *r, const char *name)
{
	if (r->local != NULL)
		return pair_lookup(r->local->headers, name, true);
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_request_query(const struct http_request *r, const char *name)
{
	if (r->local != NULL)
		return pair_lookup(r->local->query, name, false);
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Where http_request_query_all collects one name's values. */
struct query_values {
	const char *name;
	const char **vals;            /* room for max */
	size_t max;
	size_t n;                     /* values seen, also past max */
};

static void
query_values_add(struct query_values *q, const char *value)
{
	if (q->n < q->max)
		q->vals[q->n] = value != NULL ? value : "";
	q->n++;
}

static enum MHD_Result
query_values_each(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_values *q = cls;

	(void)kind;
	if (key != NULL && strcmp(key, q->name) == 0)
		query_values_add(q, value);
	return MHD_YES;
}

size_t
http_request_query_all(const struct http_request *r, const char *name, const char **vals,
    size_t max)
{
	struct query_values q = { name, vals, max, 0 };
	const char *const *kv;

	if (r->local == NULL) {
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_values_each, &q);
		return q.n;
	}
	kv = r->local->query;
	for (size_t i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		if (strcmp(kv[i], name) == 0)
			query_values_add(&q, kv[i + 1]);
	return q.n;
}

const char *
http_request_local_actor(const struct http_request *r)
{
	return r->local != NULL ? r->local->actor : NULL;
}

const char *
http_request_method(const struct http_request *r)
{
	return r->method;
}

const char *
http_request_path(const struct http_request *r)
{
	return r->path;
}

int
http_request_peer(const struct http_request *r, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	if (r->conn == NULL ||
	    (ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) == NULL ||
	    (sa = ci->client_addr) == NULL)
		return -1;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    buf, (socklen_t)size) != NULL ? 0 : -1;
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    buf, (socklen_t)size) != NULL ? 0 : -1;
	return -1;
}

void
http_request_client_key(const struct http_request *r, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	if (size == 0)
		return;
	snprintf(buf, size, "%s", r->conn == NULL ? "local" : "-");
	if (r->conn == NULL ||
	    (ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) == NULL ||
	    (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		if (inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
		    sizeof(text)) != NULL)
			snprintf(buf, size, "%s", text);
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	/* An IPv4 client of a dual-stack listener is that IPv4 address. */
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		if (inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text)) != NULL)
			snprintf(buf, size, "%s", text);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)) != NULL)
		snprintf(buf, size, "%s/64", text);
}

const char *
http_request_param(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->rq->n_params; i++)
		if (strlen(name) == r->rq->pname_len[i] &&
		    memcmp(name, r->rq->pname[i], r->rq->pname_len[i]) == 0)
			return r->rq->pvalue[i];
	return NULL;
}

const char *
http_request_id(const struct http_request *r)
{
	return r->rq->id;
}

int
http_answer_header(struct http_answer *ans, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	for (size_t i = 0; i < HTTP_MAX_ANSWER_HEADERS; i++) {
		if (ans->headers[i].name != NULL)
			continue;
		va_start(ap, fmt);
		n = vsnprintf(NULL, 0, fmt, ap);
		va_end(ap);
		if (n < 0 || (v = malloc((size_t)n + 1)) == NULL)
			return TAM_ENOMEM;
		va_start(ap, fmt);
		vsnprintf(v, (size_t)n + 1, fmt, ap);
		va_end(ap);
		ans->headers[i].name = name;
		ans->headers[i].value = v;
		return TAM_OK;
	}
	return TAM_EINVAL;
}

void
http_answer_clear(struct http_answer *ans)
{
	free(ans->body);
	for (size_t i = 0; i < HTTP_MAX_ANSWER_HEADERS; i++)
		free(ans->headers[i].value);
	if (ans->reader.free != NULL)
		ans->reader.free(ans->reader.cls);
	memset(ans, 0, sizeof(*ans));
}

static const char MEDIA_PROBLEM[] = "application/problem+json";

unsigned
http_status_for(int code)
{
	switch (code) {
	case TAM_ETOO_LARGE:
		return MHD_HTTP_CONTENT_TOO_LARGE;
	case TAM_ECONFLICT:
		return MHD_HTTP_CONFLICT;
	case TAM_ERATE_LIMITED:
		return MHD_HTTP_TOO_MANY_REQUESTS;
	case TAM_EBUSY:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	case TAM_ECERT_UNTRUSTED:
	case TAM_ECERT_EXPIRED:
	case TAM_ECERT_INVALID:
	case TAM_ECERT_REVOKED:
	case TAM_EDEVICE_UNKNOWN:
	case TAM_EDENIED:
		return MHD_HTTP_FORBIDDEN;
	case TAM_ENOMEM:
	case TAM_EIO:
	case TAM_ECRYPTO:
	case TAM_EDB:
	case TAM_EINVAL:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	default:
		return MHD_HTTP_BAD_REQUEST;
	}
}

/* Compare the media type part of a header value (before ';'), trimmed, case-insensitively. */
static bool
media_eq(const char *s, size_t n, const char *media)
{
	const char *semi = memchr(s, ';', n);

	if (semi != NULL)
		n = (size_t)(semi - s);
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n == strlen(media) && strncasecmp(s, media, n) == 0;
}

bool
http_content_type_is(const char *content_type, const char *media_type)
{
	return content_type != NULL && media_eq(content_type, strlen(content_type), media_type);
}

bool
http_accepts(const char *accept, const char *media_type)
{
	const char *p = accept, *comma;
	char family[64];
	const char *slash = strchr(media_type, '/');

	if (accept == NULL)
		return true;
	if (slash == NULL || (size_t)(slash - media_type) + 3 > sizeof(family))
		return false;
	snprintf(family, sizeof(family), "%.*s/*", (int)(slash - media_type), media_type);
	for (;;) {
		comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (media_eq(p, n, media_type) || media_eq(p, n, family) || media_eq(p, n, "*/*"))
			return true;
		if (comma == NULL)
			return false;
		p = comma + 1;
	}
}

/* Adapts an http_body_reader to MHD's content reader. */
static ssize_t
reader_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_body_reader *r = cls;
	long n;

	if (pos >= r->size)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > r->size - pos)
		max = (size_t)(r->size - pos);
	n = r->read(r->cls, pos, (uint8_t *)buf, max);
	return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
reader_free(void *cls)
{
	struct http_body_reader *r = cls;

	if (r->free != NULL)
		r->free(r->cls);
	free(r);
}

static struct MHD_Response *
response_new(struct http_answer *ans)
{
	struct MHD_Response *resp;
	struct http_body_reader *r;

	if (ans->reader.read != NULL) {
		if ((r = malloc(sizeof(*r))) == NULL)
			return NULL;
		*r = ans->reader;
		memset(&ans->reader, 0, sizeof(ans->reader));
		resp = MHD_create_response_from_callback(r->size, 64 * 1024, reader_read, r, reader_free);
		if (resp == NULL)
			reader_free(r);
		return resp;
	}
	if (ans->body == NULL)
		return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	resp = MHD_create_response_from_buffer(ans->len, ans->body, MHD_RESPMEM_MUST_FREE);
	if (resp != NULL)
		ans->body = NULL;
	return resp;
}

/* Send ans (whose contents it takes) with status and, if ctype is set, that Content-Type. */
static enum MHD_Result
send_answer(struct MHD_Connection *conn, const struct request *rq, unsigned status,
    const char *ctype, struct http_answer *ans)
{
	struct MHD_Response *resp;
	enum MHD_Result r = MHD_NO;

	/* From here on the time is the server's, not the client's to spend. */
	http_deadlines_phase(rq->dl, conn, HTTP_PHASE_FREE);
	if ((resp = response_new(ans)) == NULL)
		goto out;
	if (MHD_add_response_header(resp, "X-Request-Id", rq->id) != MHD_YES)
		goto out;
	if (ctype != NULL &&
	    (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'") != MHD_YES ||
	    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") != MHD_YES))
		goto out;
	for (size_t i = 0; i < HTTP_MAX_ANSWER_HEADERS; i++)
		if (ans->headers[i].name != NULL &&
		    MHD_add_response_header(resp, ans->headers[i].name, ans->headers[i].value) != MHD_YES)
			goto out;
	r = MHD_queue_response(conn, status, resp);
out:
	if (resp != NULL)
		MHD_destroy_response(resp);
	http_answer_clear(ans);
	return r;
}

/* An RFC 9457 problem document for a TAM_E* code, into ans (body and content type). */
static int
problem_answer(unsigned status, int code, const char *detail, const char *request_id,
    struct http_answer *ans)
{
	char clean[TAM_ERR_MSG_MAX];
	json_t *j;
	size_t i;

	/*
	 * Server faults are described in the log only. Details otherwise echo peer
	 * input: keep them printable ASCII so they are always valid JSON strings.
	 */
	if (status >= 500)
		detail = "internal error; the server log has the details";
	for (i = 0; i + 1 < sizeof(clean) && detail[i] != '\0'; i++)
		clean[i] = detail[i] >= 0x20 && detail[i] < 0x7f ? detail[i] : '?';
	clean[i] = '\0';
	j = json_pack("{s:s+,s:s,s:i,s:s,s:s+,s:s,s:s}", "type", "urn:otrp-tamd:error:",
	    tam_err_name(code), "title", MHD_get_reason_phrase_for(status), "status", (int)status,
	    "detail", clean, "code", "tam.", tam_err_name(code), "request_id", request_id,
	    "otrp_error", otrp_err_name(code));
	ans->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (ans->body == NULL)
		return TAM_ENOMEM;
	ans->len = strlen(ans->body);
	ans->status = status;
	ans->content_type = MEDIA_PROBLEM;
	return TAM_OK;
}

/* Send a problem document; code is a TAM_E* value; one optional extra header. */
static enum MHD_Result
queue_problem_hdr(struct MHD_Connection *conn, const struct request *rq, unsigned status,
    int code, const char *detail, const char *extra_name, const char *extra_value)
{
	struct http_answer ans = { 0 };

	if (problem_answer(status, code, detail, rq->id, &ans) != TAM_OK)
		return MHD_NO;
	if (extra_name != NULL && http_answer_header(&ans, extra_name, "%s", extra_value) != TAM_OK) {
		http_answer_clear(&ans);
		return MHD_NO;
	}
	return send_answer(conn, rq, status, MEDIA_PROBLEM, &ans);
}

/* A problem document for a handler's error, with the headers it set (Retry-After). */
static enum MHD_Result
queue_problem_keep(struct MHD_Connection *conn, const struct request *rq, unsigned status,
    int code, const char *detail, struct http_answer *handler_ans)
{
	struct http_answer ans = { 0 };

	if (problem_answer(status, code, detail, rq->id, &ans) != TAM_OK) {
		http_answer_clear(handler_ans);
		return MHD_NO;
	}
	memcpy(ans.headers, handler_ans->headers, sizeof(ans.headers));
	memset(handler_ans->headers, 0, sizeof(handler_ans->headers));
	http_answer_clear(handler_ans);
	return send_answer(conn, rq, status, MEDIA_PROBLEM, &ans);
}

static enum MHD_Result
queue_problem(struct MHD_Connection *conn, const struct request *rq, unsigned status, int code,
    const char *detail)
{
	return queue_problem_hdr(conn, rq, status, code, detail, NULL, NULL);
}

static enum MHD_Result
queue_problem_fmt(struct MHD_Connection *conn, const struct request *rq, unsigned status,
    int code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum MHD_Result
queue_problem_fmt(struct MHD_Connection *conn, const struct request *rq, unsigned status,
    int code, const char *fmt, ...)
{
	char detail[TAM_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return queue_problem(conn, rq, status, code, detail);
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Send what a handler (or an upload's begin/end) returned. */
static enum MHD_Result
answer(struct http_server *s, struct MHD_Connection *conn, const char *url, struct request *rq,
    int rc, struct http_answer *ans, const struct tam_err *err, size_t bytes_in)
{
	const struct http_route *rt = rq->route;
	const char *ctype = NULL;
	unsigned status;
	size_t out;

	if (rc != TAM_OK) {
		status = http_status_for(rc);
		/* A client over its rate limit is told once by whoever limits it, not per request. */
		tam_log(rc == TAM_ERATE_LIMITED ? TAM_LOG_DEBUG : TAM_LOG_WARN,
		    "event=http.reject listener=%s path=%s status=%u error=%s detail=\"%s\" ms=%ld",
		    s->cfg.name, url, status, tam_err_name(rc),
		    err->msg, elapsed_ms(&rq->start));
		return queue_problem_keep(conn, rq, status, rc,
		    err->msg[0] ? err->msg : tam_err_name(rc), ans);
	}
	if (ans->no_content || (ans->body == NULL && ans->reader.read == NULL)) {
		free(ans->body);
		ans->body = NULL;
		ans->len = 0;
		status = ans->status != 0 ? ans->status : MHD_HTTP_NO_CONTENT;
	} else {
		status = ans->status != 0 ? ans->status : MHD_HTTP_OK;
		ctype = ans->content_type != NULL ? ans->content_type :
		    rt->media_type != NULL ? rt->media_type : "application/json";
	}
	out = ans->reader.read != NULL ? (size_t)ans->reader.size : ans->len;
	log_debug("event=http.answer listener=%s path=%s status=%u bytes_in=%zu bytes_out=%zu "
	    "ms=%ld", s->cfg.name, url, status, bytes_in, out,
	    elapsed_ms(&rq->start));
	return send_answer(conn, rq, status, ctype, ans);
}

static enum MHD_Result
finish(struct http_server *s, struct MHD_Connection *conn, const char *url, const char *method,
    struct request *rq)
{
	const struct http_route *rt = rq->route;
	struct http_request req = { conn, method, url, rq, NULL };
	struct http_answer ans = { 0 };
	struct tam_err err = { 0 };
	const char *ctype;
	int rc;

	if (rt->upload != NULL) {
		rc = rt->upload->end(rq->upload, &req, &ans, &err);
		return answer(s, conn, url, rq, rc, &ans, &err, (size_t)rq->upload_bytes);
	}
	if (rq->too_large) {
		log_warn("event=http.reject listener=%s status=413 limit=%zu", s->cfg.name,
		    atomic_load(&s->max_body));
		return queue_problem(conn, rq, MHD_HTTP_CONTENT_TOO_LARGE, TAM_ETOO_LARGE,
		    "request body exceeds the configured limit");
	}
	ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (rt->media_type != NULL && rq->body.len > 0 && !http_content_type_is(ctype, rt->media_type)) {
		log_warn("event=http.reject listener=%s status=415 content_type=%.64s",
		    s->cfg.name, ctype ? ctype : "");
		return queue_problem_fmt(conn, rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, TAM_EMALFORMED,
		    "Content-Type must be %s", rt->media_type);
	}
	rc = rt->handler(rt->arg, &req, rq->body.data, rq->body.len, &ans, &err);
	return answer(s, conn, url, rq, rc, &ans, &err, rq->body.len);
}

/* Split "/a/b/c" into at most max segments in place; -1 if there are more. */
static int
split_path(char *p, char **seg, size_t max, size_t *n)
{
	*n = 0;
	if (*p != '/')
		return -1;
	while (*p == '/') {
		*p++ = '\0';
		if (*n == max)
			return -1;
		seg[(*n)++] = p;
		while (*p != '\0' && *p != '/')
			p++;
	}
	return 0;
}

#define HTTP_MAX_SEGMENTS 12

/* Does the route's path pattern match the URL's segments? Fills rq's params if so. */
static bool
route_matches(const char *pattern, char *const *seg, size_t n, struct request *rq)
{
	const char *p = pattern + 1, *end;
	size_t i = 0, np = 0;

	for (;; i++) {
		end = strchr(p, '/');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (i == n)
			return false;
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (seg[i][0] == '\0' || np == HTTP_MAX_PARAMS)
				return false;
			rq->pname[np] = p + 1;
			rq->pname_len[np] = len - 2;
			rq->pvalue[np++] = seg[i];
		} else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0) {
			return false;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (i + 1 != n)
		return false;
	rq->n_params = np;
	return true;
}

/* The route for method on url; else *allow lists the methods url has ("" if none). */
static int
route_for(const struct http_route *routes, size_t n_routes, const char *url, const char *method,
    struct request *rq, char *allow, size_t allow_len)
{
	char *seg[HTTP_MAX_SEGMENTS];
	size_t used = 0, n;

	allow[0] = '\0';
	if ((rq->path = strdup(url)) == NULL || split_path(rq->path, seg, HTTP_MAX_SEGMENTS, &n) != 0)
		return -1;
	for (size_t i = 0; i < n_routes; i++) {
		const struct http_route *rt = &routes[i];
		if (!route_matches(rt->path, seg, n, rq))
			continue;
		if (strcmp(rt->method, method) == 0) {
			rq->route = rt;
			return 0;
		}
		int k = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", rt->method);
		if (k > 0 && (size_t)k < allow_len - used)
			used += (size_t)k;
	}
	rq->n_params = 0;
	return -1;
}

/* A client's X-Request-Id is kept when it is a short token of safe characters. */
static void
request_id(struct MHD_Connection *conn, char out[HTTP_REQUEST_ID_MAX])
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	uint8_t rnd[8];

	if (v != NULL && v[0] != '\0' && strlen(v) < HTTP_REQUEST_ID_MAX &&
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	    strlen(v)) {
		memcpy(out, v, strlen(v) + 1);
		return;
	}
	if (tam_random(rnd, sizeof(rnd)) != TAM_OK)
		memset(rnd, 0, sizeof(rnd));
	tam_hex_encode(rnd, sizeof(rnd), out);
}

/*
 * GnuTLS asked for a client certificate but verified nothing (MHD has no
 * option that makes it): the chain the client presented is checked here.
 */
static int
check_client_cert(struct http_server *s, struct MHD_Connection *conn, struct tam_err *err)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *pc = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509 *leaf = NULL;
	unsigned n = 0;
	int rc;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci != NULL && ci->tls_session != NULL)
		pc = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (pc == NULL || n == 0)
		return tam_err_set(err, TAM_EDENIED, "a client certificate is required");
	if (n > TAM_MAX_CHAIN_CERTS)
		return tam_err_set(err, TAM_EDENIED, "client certificate chain too long");
	if ((rc = pki_cert_from_der(pc[0].data, pc[0].size, &leaf, err)) != TAM_OK)
		return tam_err_set(err, TAM_EDENIED, "client certificate unreadable");
	if ((untrusted = sk_X509_new_null()) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 1; i < n; i++) {
		X509 *x = NULL;
		if (pki_cert_from_der(pc[i].data, pc[i].size, &x, err) != TAM_OK ||
		    sk_X509_push(untrusted, x) == 0) {
			X509_free(x);
			rc = tam_err_set(err, TAM_EDENIED, "client certificate chain unreadable");
			goto out;
		}
	}
	if ((rc = pki_verify_chain(s->cfg.client_trust, leaf, untrusted, 0,
	    PKI_PURPOSE_TLS_CLIENT, err)) != TAM_OK) {
		char inner[TAM_ERR_MSG_MAX];
		memcpy(inner, err != NULL ? err->msg : "", sizeof(inner));
		rc = tam_err_set(err, TAM_EDENIED, "client certificate refused: %s", inner);
	}
out:
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	return rc;
}

/* Header fields as MHD parsed them, in order, for headers_intact. */
struct header_fields {
	const char *key[HTTP_MAX_HEADERS];
	const char *value[HTTP_MAX_HEADERS];
	size_t n;                     /* fields seen, also past HTTP_MAX_HEADERS */
};

static enum MHD_Result
header_collect(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	struct header_fields *h = cls;

	(void)kind;
	(void)key_size;
	(void)value_size;
	if (h->n < HTTP_MAX_HEADERS) {
		h->key[h->n] = key;
		h->value[h->n] = value != NULL ? value : "";
	}
	h->n++;
	return MHD_YES;
}

/* Bytes [p, q) hold only what may separate two parsed strings; at most max NULs. */
static bool
gap_ok(const char *p, const char *q, const char *allowed, size_t max_nul)
{
	size_t nul = 0;

	for (; p < q; p++) {
		if (*p == '\0')
			nul++;
		else if (strchr(allowed, *p) == NULL)
			return false;
	}
	return nul <= max_nul;
}

/*
 * RFC 9110 5.5: a NUL inside a field value must be refused. MHD 0.9.75 cuts
 * the value at the NUL and says nothing, so the client would mean one value
 * and we would act on another. What it cut stays in its header block, which
 * it parses in place (line ends become NULs): between the end of each parsed
 * value and the next field only the NULs of one line end may remain (two of
 * them at the end of the block, the empty line), between a name and its
 * value only the colon and blanks. A block that is not laid out so (a folded
 * line, another MHD) is refused too: it cannot be checked.
 */
static int
headers_intact(struct MHD_Connection *conn, const char *method, const char *version)
{
	const union MHD_ConnectionInfo *ci;
	struct header_fields h = { .n = 0 };
	const char *at, *end;

	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, header_collect, &h);
	if (h.n > HTTP_MAX_HEADERS)
		return TAM_ETOO_LARGE;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (h.n == 0 || ci == NULL)
		return h.n == 0 ? TAM_OK : TAM_EMALFORMED;
	end = method + ci->header_size;
	if (version <= method || version >= end)
		return TAM_EMALFORMED;
	at = version + strlen(version);
	for (size_t i = 0; i < h.n; i++) {
		if (h.key[i] < at || h.key[i] >= end || !gap_ok(at, h.key[i], "", 2))
			return TAM_EMALFORMED;
		at = h.key[i] + strlen(h.key[i]);
		if (h.value[i] < at || h.value[i] >= end || !gap_ok(at, h.value[i], ": \t", 1))
			return TAM_EMALFORMED;
		at = h.value[i] + strlen(h.value[i]);
	}
	return at <= end && gap_ok(at, end, "", 4) ? TAM_OK : TAM_EMALFORMED;
}

/* First call, headers only: check the client, the route and the request's framing. */
static enum MHD_Result
on_headers(struct http_server *s, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, struct request *rq)
{
	struct http_request req = { conn, method, url, rq, NULL };
	struct http_answer ans = { 0 };
	struct tam_err err = { 0 };
	const struct http_route *rt;
	char allow[64];
	const char *v;
	int rc;

	if ((rc = headers_intact(conn, method, version)) != TAM_OK) {
		log_warn("event=http.reject listener=%s status=%u detail=\"header block refused\"",
		    s->cfg.name, rc == TAM_ETOO_LARGE ? 431u : 400u);
		if (rc == TAM_ETOO_LARGE)
			return queue_problem_fmt(conn, rq, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, rc,
			    "more than %d header fields", HTTP_MAX_HEADERS);
		return queue_problem(conn, rq, MHD_HTTP_BAD_REQUEST, rc, "a header field holds a NUL "
		    "byte or is folded (RFC 9110 section 5.5, RFC 9112 section 5.2)");
	}
	if (s->cfg.client_trust != NULL && check_client_cert(s, conn, &err) != TAM_OK) {
		log_warn("event=http.reject listener=%s status=403 detail=\"%s\"", s->cfg.name,
		    err.msg);
		return queue_problem(conn, rq, MHD_HTTP_FORBIDDEN, TAM_EDENIED, err.msg);
	}
	if (route_for(s->cfg.routes, s->cfg.n_routes, url, method, rq, allow, sizeof(allow)) != 0) {
		if (allow[0] == '\0')
			return queue_problem(conn, rq, MHD_HTTP_NOT_FOUND, TAM_ENOTFOUND,
			    "no such endpoint");
		return queue_problem_hdr(conn, rq, MHD_HTTP_METHOD_NOT_ALLOWED, TAM_EMALFORMED,
		    "method not allowed here", MHD_HTTP_HEADER_ALLOW, allow);
	}
	rt = rq->route;
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	if (rt->media_type != NULL && !http_accepts(v, rt->media_type))
		return queue_problem_fmt(conn, rq, MHD_HTTP_NOT_ACCEPTABLE, TAM_EMALFORMED,
		    "Accept must admit %s", rt->media_type);
	if (rt->upload != NULL) {
		rc = rt->upload->begin(rt->arg, &req, &rq->upload, &ans, &err);
		if (rc == TAM_OK) {
			/* Authenticated, bounded by its own limit: only the idle timeout applies. */
			http_deadlines_phase(rq->dl, conn, HTTP_PHASE_FREE);
			rq->upload_begun = true;
			return MHD_YES;
		}
		if (ans.status != 0)
			return answer(s, conn, url, rq, TAM_OK, &ans, &err, 0);
		return answer(s, conn, url, rq, rc, &ans, &err, 0);
	}
	if (rt->admit != NULL && (rc = rt->admit(rt->arg, &req, &ans, &err)) != TAM_OK)
		return answer(s, conn, url, rq, ans.status != 0 ? TAM_OK : rc, &ans, &err, 0);
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v != NULL && strtoull(v, NULL, 10) > atomic_load(&s->max_body)) {
		log_warn("event=http.reject listener=%s status=413 content_length=%.32s", s->cfg.name,
		    v);
		return queue_problem(conn, rq, MHD_HTTP_CONTENT_TOO_LARGE, TAM_ETOO_LARGE,
		    "request body exceeds the configured limit");
	}
	return MHD_YES;
}

static enum MHD_Result
serve(struct http_server *s, struct MHD_Connection *conn, const char *url, const char *method,
    const char *upload_data, size_t *upload_data_size, struct request *rq)
{
	if (*upload_data_size > 0) {
		if (rq->route->upload != NULL) {
			if (!rq->upload_stopped && rq->route->upload->data(rq->upload,
			    (const uint8_t *)upload_data, *upload_data_size) != 0)
				rq->upload_stopped = true;
			rq->upload_bytes += *upload_data_size;
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (!rq->too_large && rq->body.len + *upload_data_size > atomic_load(&s->max_body)) {
			rq->too_large = true;
			tam_buf_free(&rq->body);
		}
		if (!rq->too_large &&
		    tam_buf_append(&rq->body, upload_data, *upload_data_size) != TAM_OK)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish(s, conn, url, method, rq);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct request *rq = *con_cls;
	struct http_request req = { conn, method, url, NULL, NULL };
	enum MHD_Result r;

	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		if (http_request_peer(&req, rq->peer, sizeof(rq->peer)) != 0)
			snprintf(rq->peer, sizeof(rq->peer), "unknown");
		request_id(conn, rq->id);
		*con_cls = rq;
		rq->dl = s->dl;
		atomic_fetch_add(&s->active, 1);
		http_deadlines_phase(s->dl, conn, HTTP_PHASE_BODY);
		tam_log_scope_set(rq->peer, rq->id);
		r = on_headers(s, conn, url, method, version, rq);
	} else {
		tam_log_scope_set(rq->peer, rq->id);
		r = serve(s, conn, url, method, upload_data, upload_data_size, rq);
	}
	tam_log_scope_clear();
	return r;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;
	struct http_server *s = cls;

	/* A kept-alive connection waits for its next request: the header deadline again. */
	http_deadlines_phase(s->dl, conn, HTTP_PHASE_HEADERS);
	if (rq == NULL)
		return;
	tam_log_scope_set(rq->peer, rq->id);
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && rq->upload_begun)
		log_warn("event=http.abort listener=%s bytes_in=%llu", s->cfg.name,
		    (unsigned long long)rq->upload_bytes);
	if (rq->upload_begun)
		rq->route->upload->free(rq->upload);
	atomic_fetch_sub(&s->active, 1);
	tam_buf_free(&rq->body);
	free(rq->path);
	free(rq);
	*con_cls = NULL;
	tam_log_scope_clear();
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("event=http.mhd msg=\"%s\"", msg);
}

static void
free_paths(struct http_server *s)
{
	for (size_t i = 0; i < HTTP_MAX_ROUTES; i++) {
		free(s->paths[i]);
		s->paths[i] = NULL;
	}
}

static void
free_tls(struct http_server *s)
{
	if (s->tls_key != NULL)
		tam_wipe(s->tls_key, strlen(s->tls_key));
	free(s->tls_key);
	free(s->tls_cert);
	free(s->tls_ca);
	s->tls_key = s->tls_cert = s->tls_ca = NULL;
}

/*
 * Load the pair the way MHD will: MHD cannot fail cleanly on a listening
 * socket it was handed, so a swap must only be tried with material that loads.
 */
static int
tls_check(const char *cert, const char *key, const char *ca, struct tam_err *err)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned)strlen(cert) };
	gnutls_datum_t k = { (unsigned char *)key, (unsigned)strlen(key) };
	gnutls_datum_t a = { (unsigned char *)ca, (unsigned)strlen(ca) };
	int g;

	if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	g = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (g >= 0 && ca[0] != '\0')
		g = gnutls_certificate_set_x509_trust_mem(cred, &a, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (g < 0)
		return tam_err_set(err, TAM_EINVAL, "TLS certificate, key or client CAs unusable: %s",
		    gnutls_strerror(g));
	return TAM_OK;
}

static bool
route_has_handler(const struct http_route *rt)
{
	const struct http_upload_ops *u = rt->upload;

	if (u != NULL)
		return rt->handler == NULL && u->begin != NULL && u->data != NULL && u->end != NULL &&
		    u->free != NULL;
	return rt->handler != NULL;
}

/* A new listener bound to cfg's address, or, with a valid listen_fd, taking over that socket. */
static int
server_start(const struct http_cfg *cfg, MHD_socket listen_fd, struct http_server **out,
    struct tam_err *err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	const union MHD_DaemonInfo *info;
	/* ITC lets SIGTERM quiesce the listener (stop accepting) while requests finish. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
	    MHD_USE_ITC;
	struct MHD_OptionItem opts[6];
	struct http_server *s;
	size_t k = 0;
	int rc;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, cfg->address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		return tam_err_set(err, TAM_EINVAL, "listen address \"%s\" is not a numeric IP address",
		    cfg->address);
	}
	if (cfg->n_routes == 0 || cfg->n_routes > HTTP_MAX_ROUTES || cfg->threads == 0 ||
	    cfg->name == NULL)
		return tam_err_set(err, TAM_EINVAL, "bad HTTP configuration");
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].path == NULL || cfg->routes[i].path[0] != '/' ||
		    cfg->routes[i].method == NULL || !route_has_handler(&cfg->routes[i]))
			return tam_err_set(err, TAM_EINVAL, "bad HTTP route");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	s->cfg = *cfg;
	memcpy(s->routes, cfg->routes, cfg->n_routes * sizeof(*cfg->routes));
	s->cfg.routes = s->routes;
	atomic_init(&s->max_body, cfg->max_body);
	atomic_init(&s->active, 0);
	s->quiesced = MHD_INVALID_SOCKET;
	for (size_t i = 0; i < cfg->n_routes; i++) {
		if ((s->paths[i] = strdup(cfg->routes[i].path)) == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto fail;
		}
		s->routes[i].path = s->paths[i];
	}
	if ((cfg->tls_cert_pem == NULL) != (cfg->tls_key_pem == NULL) ||
	    (cfg->tls_client_ca_pem != NULL && (cfg->tls_cert_pem == NULL || cfg->client_trust == NULL))) {
		rc = tam_err_set(err, TAM_EINVAL, "TLS needs a certificate, its key, and for client "
		    "certificates a trust store");
		goto fail;
	}
	if (cfg->tls_cert_pem != NULL) {
		s->tls_cert = strdup(cfg->tls_cert_pem);
		s->tls_key = strdup(cfg->tls_key_pem);
		s->tls_ca = strdup(cfg->tls_client_ca_pem != NULL ? cfg->tls_client_ca_pem : "");
		if (s->tls_cert == NULL || s->tls_key == NULL || s->tls_ca == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto fail;
		}
		flags |= MHD_USE_TLS;
		if ((rc = tls_check(s->tls_cert, s->tls_key, s->tls_ca, err)) != TAM_OK)
			goto fail;
	}
	/* Options that depend on the case go in an array: MHD warns about TLS options without TLS. */
	if (listen_fd != MHD_INVALID_SOCKET)
		opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, (intptr_t)listen_fd, NULL };
	else
		opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	if (s->tls_cert != NULL) {
		opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert };
		opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key };
		opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" };
		if (s->tls_ca[0] != '\0')
			opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca };
	}
	opts[k] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	if ((rc = http_deadlines_new(s->cfg.name, cfg->header_timeout, cfg->body_timeout,
	    cfg->conn_limit, &s->dl)) != TAM_OK) {
		rc = tam_err_set(err, rc, "cannot start the deadline thread");
		goto fail;
	}
	s->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
	    MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->conn_limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->per_ip_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->conn_timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, http_deadlines_notify, s->dl,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_END);
	if (s->mhd == NULL) {
		rc = tam_err_set(err, TAM_EIO, "cannot listen on %s port %u%s", cfg->address,
		    cfg->port, cfg->tls_cert_pem != NULL ? " (or the TLS certificate/key is unusable)" : "");
		goto fail;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info != NULL ? info->port : cfg->port;
	*out = s;
	return TAM_OK;
fail:
	http_deadlines_free(s->dl);
	free_tls(s);
	free_paths(s);
	free(s);
	return rc;
}

int
http_server_start(const struct http_cfg *cfg, struct http_server **out, struct tam_err *err)
{
	return server_start(cfg, MHD_INVALID_SOCKET, out, err);
}

static int
start_on_dup(const struct http_cfg *cfg, MHD_socket fd, struct http_server **out,
    struct tam_err *err)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	*out = NULL;
	if (copy < 0)
		return tam_err_set(err, TAM_EIO, "cannot duplicate the listening socket: %s",
		    strerror(errno));
	return server_start(cfg, copy, out, err);
}

int
http_server_replace(struct http_server *old, const struct http_cfg *cfg,
    struct http_server **out, struct tam_err *err)
{
	MHD_socket fd;
	int rc;

	*out = NULL;
	if (cfg->tls_cert_pem != NULL &&
	    (rc = tls_check(cfg->tls_cert_pem, cfg->tls_key_pem,
	    cfg->tls_client_ca_pem != NULL ? cfg->tls_client_ca_pem : "", err)) != TAM_OK)
		return rc;
	if (old->quiesced != MHD_INVALID_SOCKET)
		return tam_err_set(err, TAM_EINVAL, "listener already handed its socket on");
	fd = MHD_quiesce_daemon(old->mhd);
	if (fd == MHD_INVALID_SOCKET)
		return tam_err_set(err, TAM_EIO, "cannot take the listening socket over");
	/* Ours stays with old (closed when it stops); each new listener gets a duplicate. */
	old->quiesced = fd;
	rc = start_on_dup(cfg, fd, out, err);
	if (rc != TAM_OK)
		(void)start_on_dup(&old->cfg, fd, out, NULL);   /* old no longer accepts: restore it */
	return rc;
}

int
http_server_active(const struct http_server *s)
{
	return atomic_load(&((struct http_server *)s)->active);
}

uint16_t
http_server_port(const struct http_server *s)
{
	return s->port;
}

void
http_server_set_max_body(struct http_server *s, size_t max_body)
{
	atomic_store(&s->max_body, max_body);
}

int
http_server_drain(struct http_server *s, unsigned timeout_s)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	unsigned waited_ms = 0;
	int left;

	/* MHD threads may still touch the socket: it is closed after MHD_stop_daemon. */
	if (s->quiesced == MHD_INVALID_SOCKET)
		s->quiesced = MHD_quiesce_daemon(s->mhd);
	while ((left = atomic_load(&s->active)) > 0 && waited_ms < timeout_s * 1000u) {
		nanosleep(&pause, NULL);
		waited_ms += 50;
	}
	return left;
}

void
http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	http_deadlines_stop(s->dl);
	MHD_stop_daemon(s->mhd);
	http_deadlines_free(s->dl);
	if (s->quiesced != MHD_INVALID_SOCKET)
		close(s->quiesced);
	free_tls(s);
	free_paths(s);
	free(s);
}

/* The body of an in-process upload, piece by piece, into the route's data hook. */
static int
local_upload(const struct http_route *rt, const struct http_local *lr, struct request *rq)
{
	uint8_t *buf = malloc(64 * 1024);
	size_t got;
	int rc = TAM_OK;

	if (buf == NULL)
		return TAM_ENOMEM;
	for (;;) {
		got = 0;
		if (lr->read == NULL || lr->read(lr->read_cls, buf, 64 * 1024, &got) != 0) {
			rc = lr->read == NULL ? TAM_OK : TAM_EIO;
			break;
		}
		if (got == 0)
			break;
		if (!rq->upload_stopped && rt->upload->data(rq->upload, buf, got) != 0)
			rq->upload_stopped = true;
		rq->upload_bytes += got;
	}
	free(buf);
	return rc;
}

int
http_dispatch_local(const struct http_route *routes, size_t n_routes,
    const struct http_local *lr, unsigned *status, struct http_answer *ans, struct tam_err *err)
{
	struct request rq = { 0 };
	struct http_request req = { NULL, lr->method, lr->path, &rq, lr };
	const struct http_route *rt;
	char allow[64];
	int rc;

	memset(ans, 0, sizeof(*ans));
	*status = 0;
	snprintf(rq.id, sizeof(rq.id), "local");
	if (route_for(routes, n_routes, lr->path, lr->method, &rq, allow, sizeof(allow)) != 0) {
		free(rq.path);
		if (allow[0] == '\0')
			rc = problem_answer(MHD_HTTP_NOT_FOUND, TAM_ENOTFOUND, "no such endpoint", rq.id,
			    ans);
		else
			rc = problem_answer(MHD_HTTP_METHOD_NOT_ALLOWED, TAM_EMALFORMED,
			    "method not allowed here", rq.id, ans);
		*status = ans->status;
		return rc == TAM_OK ? TAM_OK : tam_err_set(err, rc, "out of memory");
	}
	rt = rq.route;
	if (rt->upload != NULL) {
		rc = rt->upload->begin(rt->arg, &req, &rq.upload, ans, err);
		if (rc == TAM_OK) {
			if ((rc = local_upload(rt, lr, &rq)) == TAM_OK)
				rc = rt->upload->end(rq.upload, &req, ans, err);
			else
				tam_err_set(err, rc, "reading the upload failed");
			rt->upload->free(rq.upload);
		} else if (ans->status != 0) {
			rc = TAM_OK;
		}
	} else if (rt->admit != NULL && (rc = rt->admit(rt->arg, &req, ans, err)) != TAM_OK) {
		if (ans->status != 0)
			rc = TAM_OK;
	} else {
		rc = rt->handler(rt->arg, &req, lr->body, lr->len, ans, err);
	}
	free(rq.path);
	if (rc != TAM_OK) {
		http_answer_clear(ans);
		if (problem_answer(http_status_for(rc), rc, err != NULL && err->msg[0] ? err->msg :
		    tam_err_name(rc), rq.id, ans) != TAM_OK)
			return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	if (ans->status == 0)
		ans->status = ans->no_content || (ans->body == NULL && ans->reader.read == NULL) ?
		    MHD_HTTP_NO_CONTENT : MHD_HTTP_OK;
	if (ans->content_type == NULL && (ans->body != NULL || ans->reader.read != NULL))
		ans->content_type = rt->media_type != NULL ? rt->media_type : "application/json";
	*status = ans->status;
	return TAM_OK;
}
