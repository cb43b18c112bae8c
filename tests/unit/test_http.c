// SPDX-License-Identifier: MIT
/*
 * Unit tests for the HTTP listener with a stand-in handler on 127.0.0.1:
 * routing, methods, media types, body limits (with and without
 * Content-Length), status mapping and problem documents.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mock_tee.h"
#include "tam/http.h"
#include "tam/otrp.h"

#define LIMIT 4096

static struct http_server *srv;
static char url[128];
static size_t last_len;

/* Echo-ish handler: the body picks the outcome. */
static int
handler(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	(void)arg;
	(void)req;
	last_len = len;
	if (len == 0) {
		ans->body = strdup("{\"opened\":true}");
		ans->len = strlen(ans->body);
		return ans->body ? 0 : TAM_ENOMEM;
	}
	if (len == 4 && memcmp(body, "done", 4) == 0) {
		ans->no_content = true;
		return 0;
	}
	if (len == 3 && memcmp(body, "bad", 3) == 0)
		return tam_err_set(err, TAM_ESIGNATURE, "signature does not verify");
	if (len == 2 && memcmp(body, "db", 2) == 0)
		return tam_err_set(err, TAM_EDB, "database is locked");
	if (len == 4 && memcmp(body, "cert", 4) == 0)
		return tam_err_set(err, TAM_ECERT_UNTRUSTED, "untrusted");
	ans->body = malloc(len);
	if (ans->body == NULL)
		return TAM_ENOMEM;
	memcpy(ans->body, body, len);
	ans->len = len;
	return 0;
}

/* A GET route: echoes a query argument and a header, with its own status and type. */
static int
info(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	const char *q = http_request_query(req, "q"), *h = http_request_header(req, "X-Test");
	char buf[256];
	int n;

	(void)arg;
	(void)body;
	(void)err;
	n = snprintf(buf, sizeof(buf), "%s %s q=%s h=%s len=%zu", http_request_method(req),
	    http_request_path(req), q ? q : "-", h ? h : "-", len);
	ans->body = strdup(buf);
	ans->len = (size_t)n;
	ans->status = 203;
	ans->content_type = "text/plain";
	return ans->body ? 0 : TAM_ENOMEM;
}

/* GET /things/{a}/sub/{b}: echoes the path parameters, with a Location header. */
static int
things(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	const char *a = http_request_param(req, "a"), *b = http_request_param(req, "b");
	char buf[256];

	(void)arg;
	(void)body;
	(void)len;
	(void)err;
	snprintf(buf, sizeof(buf), "a=%s b=%s c=%s id=%s", a ? a : "-", b ? b : "-",
	    http_request_param(req, "c") ? "set" : "-", http_request_id(req));
	if ((ans->body = strdup(buf)) == NULL)
		return TAM_ENOMEM;
	ans->len = strlen(buf);
	ans->content_type = "text/plain";
	if (http_answer_header(ans, "Location", "/things/%s", a ? a : "") != TAM_OK)
		return TAM_ENOMEM;
	return 0;
}

static int
thing_delete(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	(void)arg;
	(void)req;
	(void)body;
	(void)len;
	(void)err;
	ans->no_content = true;
	return 0;
}

/* A streamed upload that counts and hashes; UP_LIMIT bytes at most. */
#define UP_LIMIT 300000
struct up {
	uint64_t bytes;
	uint32_t sum;
	bool over;
};
static int up_freed, up_ended;

static int
up_begin(void *arg, const struct http_request *req, void **state, struct http_answer *ans,
    struct tam_err *err)
{
	const char *name = http_request_param(req, "name");
	struct up *u;

	(void)arg;
	if (strcmp(name, "deny") == 0)
		return tam_err_set(err, TAM_EDENIED, "not yours");
	if (strcmp(name, "custom") == 0) {
		ans->status = 422;
		ans->body = strdup("{\"why\":\"custom\"}");
		ans->len = ans->body ? strlen(ans->body) : 0;
		return TAM_EINVAL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return TAM_ENOMEM;
	*state = u;
	return 0;
}

static int
up_data(void *state, const uint8_t *buf, size_t len)
{
	struct up *u = state;

	u->bytes += len;
	if (u->bytes > UP_LIMIT) {
		u->over = true;
		return 1;
	}
	for (size_t i = 0; i < len; i++)
		u->sum = u->sum * 31 + buf[i];
	return 0;
}

static int
up_end(void *state, const struct http_request *req, struct http_answer *ans, struct tam_err *err)
{
	struct up *u = state;
	char buf[128];

	(void)req;
	up_ended++;
	if (u->over)
		return tam_err_set(err, TAM_ETOO_LARGE, "upload over %d bytes", UP_LIMIT);
	snprintf(buf, sizeof(buf), "{\"bytes\":%llu,\"sum\":%u}", (unsigned long long)u->bytes,
	    u->sum);
	if ((ans->body = strdup(buf)) == NULL)
		return TAM_ENOMEM;
	ans->len = strlen(buf);
	ans->status = 201;
	return 0;
}

static void
up_free(void *state)
{
	up_freed++;
	free(state);
}

static const struct http_upload_ops up_ops = { up_begin, up_data, up_end, up_free };

/* GET /dl: DL_SIZE bytes of a pattern, produced as they are sent. */
#define DL_SIZE (1u << 20)
static int dl_freed;

static long
dl_read(void *cls, uint64_t pos, uint8_t *buf, size_t max)
{
	(void)cls;
	for (size_t i = 0; i < max; i++)
		buf[i] = (uint8_t)('a' + (pos + i) % 26);
	return (long)max;
}

static void
dl_free(void *cls)
{
	(void)cls;
	dl_freed++;
}

static int
dl(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	(void)arg;
	(void)req;
	(void)body;
	(void)len;
	(void)err;
	ans->content_type = "application/octet-stream";
	ans->reader = (struct http_body_reader){ DL_SIZE, dl_read, dl_free, NULL };
	return 0;
}

/* Admits a request only with "X-Key: open"; a refusal answers before the body. */
static int guard_calls;

static int
guard(void *arg, const struct http_request *req, struct http_answer *ans, struct tam_err *err)
{
	const char *k = http_request_header(req, "X-Key");

	(void)arg;
	guard_calls++;
	if (k != NULL && strcmp(k, "open") == 0)
		return 0;
	if (k != NULL && strcmp(k, "custom") == 0) {
		ans->status = 401;
		ans->body = strdup("{\"who\":\"you?\"}");
		ans->len = ans->body ? strlen(ans->body) : 0;
		return TAM_EDENIED;
	}
	return tam_err_set(err, TAM_EDENIED, "no key");
}

static int
setup(void **state)
{
	static const struct http_route routes[] = {
		{ "POST", "/tam", OTRP_MEDIA_TYPE, handler, NULL, NULL, NULL },
		{ "GET", "/info", NULL, info, NULL, NULL, NULL },
		{ "GET", "/things/{a}/sub/{b}", NULL, things, NULL, NULL, NULL },
		{ "DELETE", "/things/{a}", NULL, thing_delete, NULL, NULL, NULL },
		{ "GET", "/things/{a}/sub/fixed", NULL, info, NULL, NULL, NULL },
		{ "POST", "/up/{name}", NULL, NULL, NULL, &up_ops, NULL },
		{ "GET", "/dl", NULL, dl, NULL, NULL, NULL },
		{ "POST", "/guarded", NULL, handler, NULL, NULL, guard },
	};
	struct http_cfg cfg = {
		.name = "test", .address = "127.0.0.1", .port = 0, .routes = routes,
		.n_routes = sizeof(routes) / sizeof(routes[0]),
		.max_body = LIMIT, .threads = 2, .conn_limit = 64, .conn_timeout = 5,
	};

	(void)state;
	if (http_server_start(&cfg, &srv, NULL) != 0)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/tam", http_server_port(srv));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	http_server_stop(srv);
	return 0;
}

static void
post(const char *u, const char *ctype, const char *accept, const char *body, size_t len,
    long want, struct mock_http_resp *r)
{
	struct tam_err err = { 0 };

	memset(r, 0, sizeof(*r));
	assert_int_equal(mock_http_post(u, ctype, accept, (const uint8_t *)body, len, r, &err), 0);
	if (r->status != want)
		fail_msg("HTTP %ld, wanted %ld: %.*s", r->status, want, (int)r->len, r->body ? r->body : "");
}

static void
problem(const struct mock_http_resp *r, const char *code, const char *otrp)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	char type[96];

	assert_non_null(j);
	assert_string_equal(r->content_type, "application/problem+json");
	snprintf(type, sizeof(type), "urn:otrp-tamd:error:%s", code);
	assert_string_equal(json_string_value(json_object_get(j, "type")), type);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), r->status);
	assert_string_equal(json_string_value(json_object_get(j, "otrp_error")), otrp);
	snprintf(type, sizeof(type), "tam.%s", code);
	assert_string_equal(json_string_value(json_object_get(j, "code")), type);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "request_id"))), 16);
	assert_non_null(json_string_value(json_object_get(j, "detail")));
	json_decref(j);
}

static void
test_answers(void **state)
{
	struct mock_http_resp r;
	const char *otrp = OTRP_MEDIA_TYPE;

	(void)state;
	post(url, otrp, otrp, "", 0, 200, &r);
	assert_string_equal(r.body, "{\"opened\":true}");
	assert_string_equal(r.content_type, otrp);
	mock_http_resp_clear(&r);
	post(url, otrp, otrp, "{\"x\":1}", 7, 200, &r);
	assert_int_equal(r.len, 7);
	assert_memory_equal(r.body, "{\"x\":1}", 7);
	mock_http_resp_clear(&r);
	post(url, otrp, otrp, "done", 4, 204, &r);
	assert_null(r.body);
	mock_http_resp_clear(&r);
}

static void
test_error_mapping(void **state)
{
	struct mock_http_resp r;
	const char *otrp = OTRP_MEDIA_TYPE;

	(void)state;
	post(url, otrp, otrp, "bad", 3, 400, &r);
	problem(&r, "signature", "ERR_REQUEST_INVALID");
	assert_non_null(strstr(r.body, "signature does not verify"));
	mock_http_resp_clear(&r);
	post(url, otrp, otrp, "db", 2, 500, &r);
	problem(&r, "database", "ERR_TAM_FAIL");
	mock_http_resp_clear(&r);
	post(url, otrp, otrp, "cert", 4, 403, &r);
	problem(&r, "cert_untrusted", "ERR_REQUEST_INVALID");
	mock_http_resp_clear(&r);
}

static void
test_transport_rules(void **state)
{
	struct mock_http_resp r;
	const char *otrp = OTRP_MEDIA_TYPE;
	char other[160];

	(void)state;
	post(url, "application/json", otrp, "{}", 2, 415, &r);
	problem(&r, "malformed", "ERR_REQUEST_INVALID");
	mock_http_resp_clear(&r);
	post(url, NULL, otrp, "{}", 2, 415, &r);
	mock_http_resp_clear(&r);
	/* an empty body needs no content type */
	post(url, NULL, otrp, "", 0, 200, &r);
	mock_http_resp_clear(&r);
	post(url, otrp, "application/json", "", 0, 406, &r);
	mock_http_resp_clear(&r);
	post(url, "Application/OTrP+JSON ; charset=utf-8", "text/html, application/*;q=0.5", "{}", 2, 200, &r);
	mock_http_resp_clear(&r);
	snprintf(other, sizeof(other), "%sx", url);
	post(other, otrp, otrp, "", 0, 404, &r);
	mock_http_resp_clear(&r);
}

static void
test_body_limit(void **state)
{
	struct mock_http_resp r;
	char *big = malloc(LIMIT + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', LIMIT + 1);
	post(url, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE, big, LIMIT, 200, &r);
	assert_int_equal(last_len, LIMIT);
	mock_http_resp_clear(&r);
	last_len = 0;
	post(url, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE, big, LIMIT + 1, 413, &r);
	problem(&r, "too_large", "ERR_REQUEST_INVALID");
	assert_int_equal(last_len, 0);
	mock_http_resp_clear(&r);
	free(big);
}

/* Raw HTTP/1.1 over a socket, for what libcurl will not send. */
static int
raw_request(const char *req, size_t req_len, char *resp, size_t resp_size)
{
	struct sockaddr_in sa = { 0 };
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_port = htons(http_server_port(srv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, req_len) != (ssize_t)req_len) {
		close(fd);
		return -1;
	}
	while (got + 1 < resp_size && (n = read(fd, resp + got, resp_size - got - 1)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	return 0;
}

static void
test_chunked_over_limit_and_methods(void **state)
{
	struct tam_buf req = { 0 };
	char head[256], chunk[64], resp[4096];
	const int chunks = 10, size = 1000;

	(void)state;
	snprintf(head, sizeof(head), "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: " OTRP_MEDIA_TYPE "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	assert_int_equal(tam_buf_append(&req, head, strlen(head)), 0);
	for (int i = 0; i < chunks; i++) {
		int n = snprintf(chunk, sizeof(chunk), "%x\r\n", size);
		assert_int_equal(tam_buf_append(&req, chunk, (size_t)n), 0);
		for (int j = 0; j < size; j++)
			assert_int_equal(tam_buf_append(&req, "b", 1), 0);
		assert_int_equal(tam_buf_append(&req, "\r\n", 2), 0);
	}
	assert_int_equal(tam_buf_append(&req, "0\r\n\r\n", 5), 0);
	last_len = 0;
	assert_int_equal(raw_request((char *)req.data, req.len, resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 413", 12), 0);
	assert_int_equal(last_len, 0);
	tam_buf_free(&req);

	snprintf(head, sizeof(head), "GET /tam HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(raw_request(head, strlen(head), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 405", 12), 0);
	assert_non_null(strstr(resp, "Allow: POST"));
}

static void
test_get_route_and_request_accessors(void **state)
{
	char resp[2048], req[256], u[160];
	struct mock_http_resp r;

	(void)state;
	snprintf(req, sizeof(req), "GET /info?q=42 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test: yes\r\n"
	    "Connection: close\r\n\r\n");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 203", 12), 0);
	assert_non_null(strstr(resp, "Content-Type: text/plain"));
	assert_non_null(strstr(resp, "GET /info q=42 h=yes len=0"));
	/* POST on a GET route: 405 naming the method it has */
	snprintf(u, sizeof(u), "%.*s/info", (int)(strrchr(url, '/') - url), url);
	post(u, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE, "", 0, 405, &r);
	mock_http_resp_clear(&r);
}

/* Connect, send req and hang up without reading. */
static void
send_and_close(const char *req, size_t len)
{
	struct sockaddr_in sa = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(http_server_port(srv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, len), (ssize_t)len);
	usleep(50000);
	close(fd);
}

/* Send req, return the whole response (malloc'd, NUL-terminated). */
static char *
raw_big(const char *req, size_t req_len, size_t max)
{
	char *resp = malloc(max);

	assert_non_null(resp);
	assert_int_equal(raw_request(req, req_len, resp, max), 0);
	return resp;
}

static void
test_path_params_and_headers(void **state)
{
	char resp[2048], req[512];

	(void)state;
	snprintf(req, sizeof(req), "GET /things/t1/sub/x%%2Ey HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "X-Request-Id: abc-123.Z\r\nConnection: close\r\n\r\n");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 200", 12), 0);
	assert_non_null(strstr(resp, "a=t1 b=x.y c=- id=abc-123.Z"));
	assert_non_null(strstr(resp, "Location: /things/t1"));
	assert_non_null(strstr(resp, "X-Request-Id: abc-123.Z"));
	/* the first matching route wins: {b} takes "fixed" too */
	snprintf(req, sizeof(req), "GET /things/t2/sub/fixed HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "X-Request-Id: has space\r\nConnection: close\r\n\r\n");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_non_null(strstr(resp, "a=t2 b=fixed"));
	assert_null(strstr(resp, "has space"));
	/* empty segment, extra segment, missing segment: no route */
	const char *nf[] = { "/things//sub/b", "/things/a/sub/b/c", "/things/a/sub",
	    "/things/a/sub/", "/", "//" };
	for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Connection: close\r\n\r\n", nf[i]);
		assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
		if (strncmp(resp, "HTTP/1.1 404", 12) != 0)
			fail_msg("%s: %.40s", nf[i], resp);
		assert_non_null(strstr(resp, "\"request_id\":\""));
	}
	/* a method the pattern lacks: 405 listing what it has */
	snprintf(req, sizeof(req), "PUT /things/zz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 405", 12), 0);
	assert_non_null(strstr(resp, "Allow: DELETE"));
	snprintf(req, sizeof(req), "DELETE /things/zz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 204", 12), 0);
}

static void
test_upload_route(void **state)
{
	char resp[2048], head[256], want[64];
	struct tam_buf req = { 0 };
	uint32_t sum = 0;
	int freed;

	(void)state;
	/* a body of 200000 bytes arrives in pieces and is never held by http */
	snprintf(head, sizeof(head), "POST /up/ok HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 200000\r\nConnection: close\r\n\r\n");
	assert_int_equal(tam_buf_append(&req, head, strlen(head)), 0);
	for (int i = 0; i < 200000; i++) {
		uint8_t c = (uint8_t)(i * 7);
		sum = sum * 31 + c;
		assert_int_equal(tam_buf_append(&req, &c, 1), 0);
	}
	freed = up_freed;
	assert_int_equal(raw_request((char *)req.data, req.len, resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 201", 12), 0);
	snprintf(want, sizeof(want), "{\"bytes\":200000,\"sum\":%u}", sum);
	assert_non_null(strstr(resp, want));
	assert_int_equal(up_freed, freed + 1);
	tam_buf_free(&req);

	/* past the route's own limit (not the server's 4096): data stops, end answers */
	snprintf(head, sizeof(head), "POST /up/ok HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 400000\r\nConnection: close\r\n\r\n");
	assert_int_equal(tam_buf_append(&req, head, strlen(head)), 0);
	for (int i = 0; i < 400000; i++)
		assert_int_equal(tam_buf_append(&req, "x", 1), 0);
	assert_int_equal(raw_request((char *)req.data, req.len, resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 413", 12), 0);
	tam_buf_free(&req);

	/* refusals before the body: a problem document, or the route's own answer */
	snprintf(head, sizeof(head), "POST /up/deny HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
	freed = up_freed;
	assert_int_equal(raw_request(head, strlen(head), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 403", 12), 0);
	assert_non_null(strstr(resp, "not yours"));
	snprintf(head, sizeof(head), "POST /up/custom HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
	assert_int_equal(raw_request(head, strlen(head), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 422", 12), 0);
	assert_non_null(strstr(resp, "{\"why\":\"custom\"}"));
	assert_int_equal(up_freed, freed);

	/* the client goes away mid-body: free runs, end never does */
	int ended = up_ended;
	snprintf(head, sizeof(head), "POST /up/ok HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 1000\r\nConnection: close\r\n\r\nonly a few bytes");
	freed = up_freed;
	send_and_close(head, strlen(head));
	for (int i = 0; i < 100 && up_freed == freed; i++)
		usleep(20000);
	assert_int_equal(up_freed, freed + 1);
	assert_int_equal(up_ended, ended);
}

static void
test_admit_before_body(void **state)
{
	char resp[2048], req[512];
	int calls;

	(void)state;
	/* refused on the headers: the answer comes though the body never does */
	calls = guard_calls;
	last_len = 0;
	snprintf(req, sizeof(req), "POST /guarded HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 100000\r\nConnection: close\r\n\r\n");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 403", 12), 0);
	assert_non_null(strstr(resp, "no key"));
	assert_int_equal(guard_calls, calls + 1);
	assert_int_equal(last_len, 0);
	snprintf(req, sizeof(req), "POST /guarded HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Key: custom\r\n"
	    "Content-Length: 100000\r\nConnection: close\r\n\r\n");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 401", 12), 0);
	assert_non_null(strstr(resp, "{\"who\":\"you?\"}"));
	/* admitted: the handler gets the body */
	snprintf(req, sizeof(req), "POST /guarded HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Key: open\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
	assert_int_equal(raw_request(req, strlen(req), resp, sizeof(resp)), 0);
	assert_int_equal(strncmp(resp, "HTTP/1.1 200", 12), 0);
	assert_int_equal(last_len, 5);
}

static void
test_streamed_answer(void **state)
{
	const char req[] = "GET /dl HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	char *resp, *body;
	int freed = dl_freed;

	(void)state;
	resp = raw_big(req, strlen(req), DL_SIZE + 4096);
	assert_int_equal(strncmp(resp, "HTTP/1.1 200", 12), 0);
	assert_non_null(strstr(resp, "Content-Length: 1048576"));
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(strlen(body), DL_SIZE);
	for (size_t i = 0; i < DL_SIZE; i++)
		if (body[i] != 'a' + (char)(i % 26))
			fail_msg("byte %zu", i);
	free(resp);
	for (int i = 0; i < 100 && dl_freed == freed; i++)
		usleep(20000);
	assert_int_equal(dl_freed, freed + 1);
}

static void
test_header_helpers(void **state)
{
	(void)state;
	assert_true(http_accepts(NULL, OTRP_MEDIA_TYPE));
	assert_true(http_accepts("*/*", OTRP_MEDIA_TYPE));
	assert_true(http_accepts("text/plain, application/*", OTRP_MEDIA_TYPE));
	assert_true(http_accepts(" application/otrp+json ; q=1", OTRP_MEDIA_TYPE));
	assert_false(http_accepts("application/json", OTRP_MEDIA_TYPE));
	assert_false(http_accepts("", OTRP_MEDIA_TYPE));
	assert_false(http_accepts("application/otrp+jsonx", OTRP_MEDIA_TYPE));
	assert_true(http_content_type_is("application/otrp+json", OTRP_MEDIA_TYPE));
	assert_true(http_content_type_is("APPLICATION/OTRP+JSON;charset=utf-8", OTRP_MEDIA_TYPE));
	assert_false(http_content_type_is("application/otrp+json2", OTRP_MEDIA_TYPE));
	assert_false(http_content_type_is(NULL, OTRP_MEDIA_TYPE));
	assert_int_equal(http_status_for(TAM_ETOO_LARGE), 413);
	assert_int_equal(http_status_for(TAM_EDENIED), 403);
	assert_int_equal(http_status_for(TAM_EDB), 500);
	assert_int_equal(http_status_for(TAM_ERID_REPLAYED), 400);
	assert_int_equal(http_status_for(TAM_ERATE_LIMITED), 429);
}

static void
test_bad_config(void **state)
{
	struct http_route route = { "POST", "/tam", NULL, handler, NULL, NULL, NULL };
	struct http_cfg cfg = {
		.name = "bad", .address = "localhost", .port = 0, .routes = &route, .n_routes = 1,
		.max_body = 1, .threads = 1, .conn_limit = 1, .conn_timeout = 1,
	};
	struct http_server *s = NULL;
	struct tam_err err = { 0 };

	(void)state;
	assert_int_equal(http_server_start(&cfg, &s, &err), TAM_EINVAL);
	assert_non_null(strstr(err.msg, "numeric"));
	cfg.address = "127.0.0.1";
	route.path = "tam";
	assert_int_equal(http_server_start(&cfg, &s, &err), TAM_EINVAL);
	route.path = "/tam";
	cfg.n_routes = 0;
	assert_int_equal(http_server_start(&cfg, &s, &err), TAM_EINVAL);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_transport_rules),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_chunked_over_limit_and_methods),
		cmocka_unit_test(test_get_route_and_request_accessors),
		cmocka_unit_test(test_header_helpers),
		cmocka_unit_test(test_path_params_and_headers),
		cmocka_unit_test(test_upload_route),
		cmocka_unit_test(test_streamed_answer),
		cmocka_unit_test(test_admit_before_body),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
