// SPDX-License-Identifier: MIT
/*
 * End-to-end tests of the management API on a real otrp-tamd over
 * 127.0.0.1: the authorization matrix (every route, six callers, the exact
 * status each gets), problem documents, paging across pages, and a TA
 * uploaded over the API that installs on a mock TEE through OTrP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "e2e.h"
#include "tam/api.h"

#define T1 E2E_TAID                                  /* sp1's, assigned to tee1 */
#define T2 "2a2a2a2a-0000-4000-8000-000000000002"    /* sp2's, assigned to tee2 */
#define T3 "3a3a3a3a-0000-4000-8000-000000000003"    /* sp1's, assigned to tee1 */
#define T4 "4a4a4a4a-0000-4000-8000-000000000004"    /* sp1's, assigned to tee1 */
#define T5 "5a5a5a5a-0000-4000-8000-000000000005"    /* sp1's, version 0.0 */
#define T9 "9a9a9a9a-0000-4000-8000-000000000009"    /* sp1's, uploaded over the API */

static struct e2e_env env;
/* Callers, in matrix order. */
enum { NONE, MALFORMED, REVOKED, OTHER_SP, RIGHT_SP, ADMIN, N_CALLERS };
static const char *const caller_names[] = { "no token", "malformed token", "revoked token",
	"another SP's token", "the SP's token", "admin token" };
static char tokens[N_CALLERS][128];
static char created_token_id[32];

static char *
read_text(const char *path)
{
	uint8_t *d = NULL;
	size_t n = 0;

	assert_int_equal(tam_file_read(path, 1 << 20, &d, &n, NULL), 0);
	return (char *)d;
}

/* A JSON body with a PEM file as one member. */
static char *
pem_body(const char *fmt_name, const char *name, const char *member, const char *file)
{
	char path[400], *pem, *out;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", env.pki, file);
	pem = read_text(path);
	j = json_pack("{s:s,s:s}", fmt_name, name, member, pem);
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(pem);
	return out;
}

static void
token_for(const char *role, char *out, size_t len)
{
	assert_int_equal(e2e_ctl_out(&env, out, len, "token create --role %s 2>/dev/null", role), 0);
	assert_int_equal(strncmp(out, "tam_", 4), 0);
}

static void
sign_ta(const char *pki, const char *text, const char *out)
{
	char in[400];

	snprintf(in, sizeof(in), "%s/%s.bin", env.dir, out);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s/%s", pki, in, env.dir,
	    out), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0)
		return -1;
	/* sp1 (E2E_SPID) has T1 (1.0, 1.1, 1.2), T3, T4 on tee1; sp2 has T2 on tee2 */
	sign_ta(env.pki, "v1.1", "t11.jws");
	sign_ta(env.pki, "v1.2", "t12.jws");
	sign_ta(env.pki, "t3", "t3.jws");
	sign_ta(env.pki, "t4", "t4.jws");
	sign_ta(env.pki, "upload by the SP", "up-sp.jws");
	sign_ta(env.pki, "upload by the admin", "up-admin.jws");
	sign_ta(env.pki2, "t2", "t2.jws");
	if (e2e_ctl(&env, "sp add sp2 %s/sp/sp1.crt", env.pki2) != 0 ||
	    e2e_ctl(&env, "ta upload sp1 " T1 " 1.1 %s/t11.jws >/dev/null", env.dir) != 0 ||
	    e2e_ctl(&env, "ta upload sp1 " T1 " 1.2 %s/t12.jws >/dev/null", env.dir) != 0 ||
	    e2e_ctl(&env, "ta upload sp1 " T3 " 1.0 %s/t3.jws >/dev/null", env.dir) != 0 ||
	    e2e_ctl(&env, "ta upload sp1 " T4 " 1.0 %s/t4.jws >/dev/null", env.dir) != 0 ||
	    e2e_ctl(&env, "ta upload sp2 " T2 " 1.0 %s/t2.jws >/dev/null", env.dir) != 0 ||
	    e2e_ctl(&env, "device enroll --cert %s/tee/tee2.crt --name tee2 >/dev/null", env.pki) != 0 ||
	    e2e_ctl(&env, "assign tee1 " T1 " 1.0") != 0 ||
	    e2e_ctl(&env, "assign tee1 " T3) != 0 ||
	    e2e_ctl(&env, "assign tee1 " T4) != 0 ||
	    e2e_ctl(&env, "assign tee2 " T2) != 0)
		return -1;
	snprintf(tokens[MALFORMED], sizeof(tokens[MALFORMED]), "not-a-token");
	token_for("sp:sp1", tokens[REVOKED], sizeof(tokens[REVOKED]));
	if (e2e_ctl(&env, "token revoke %.12s", tokens[REVOKED] + 4) != 0)
		return -1;
	token_for("sp:sp2", tokens[OTHER_SP], sizeof(tokens[OTHER_SP]));
	token_for("sp:sp1", tokens[RIGHT_SP], sizeof(tokens[RIGHT_SP]));
	token_for("admin", tokens[ADMIN], sizeof(tokens[ADMIN]));
	return e2e_start(&env, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

static long
call(const char *method, const char *path, const char *token, const char *ctype,
    const char *body, const char *file, struct e2e_resp *r)
{
	struct e2e_req req = { method, path, token, ctype, body, body ? strlen(body) : 0, file,
		NULL, false };

	if (e2e_api(&env, &req, r) != 0)
		return 0;
	return r->status;
}

/* ---- the authorization matrix ---- */

struct matrix_row {
	const char *method;
	const char *pattern;          /* the route, as api_routes names it */
	const char *path[N_CALLERS];  /* NULL: the previous caller's */
	const char *ctype;
	const char *body;             /* JSON, or a file name under env.dir for uploads */
	long want[N_CALLERS];
};

#define ALL(s) { s, s, s, s, s, s }
#define AUTH(o, r, a) { 401, 401, 401, o, r, a }
#define JSON "application/json"

static void
test_authorization_matrix(void **state)
{
	char *sp_body = pem_body("spid", "sp-matrix", "certificate", "sp/sp1.crt");
	char *dev_body = pem_body("name", "tee3", "certificate", "tee/tee3.crt");
	char *anchor_body = pem_body("name", "anchor-matrix", "certificate", "root/ca.crt");
	struct matrix_row rows[] = {
		{ "GET", "/healthz", { "/healthz" }, NULL, NULL, ALL(200) },
		{ "GET", "/metrics", { "/metrics" }, NULL, NULL, ALL(200) },
		{ "GET", "/api/v1/sps", { "/api/v1/sps" }, NULL, NULL, AUTH(200, 200, 200) },
		{ "POST", "/api/v1/sps", { "/api/v1/sps" }, JSON, sp_body, AUTH(403, 403, 201) },
		{ "GET", "/api/v1/sps/{sp}", { "/api/v1/sps/sp1" }, NULL, NULL, AUTH(404, 200, 200) },
		{ "DELETE", "/api/v1/sps/{sp}", { "/api/v1/sps/sp-matrix" }, NULL, NULL,
		    AUTH(403, 403, 204) },
		{ "PATCH", "/api/v1/sps/{sp}", { "/api/v1/sps/sp1" }, JSON, "{\"sdname\":\"sp1.sd\"}",
		    AUTH(403, 403, 200) },
		{ "GET", "/api/v1/sps/{sp}/tas", { "/api/v1/sps/sp1/tas" }, NULL, NULL,
		    AUTH(404, 200, 200) },
		{ "GET", "/api/v1/tas", { "/api/v1/tas" }, NULL, NULL, AUTH(200, 200, 200) },
		{ "GET", "/api/v1/tas/{ta}", { "/api/v1/tas/" T1 }, NULL, NULL, AUTH(404, 200, 200) },
		{ "GET", "/api/v1/tas/{ta}/versions", { "/api/v1/tas/" T1 "/versions" }, NULL, NULL,
		    AUTH(404, 200, 200) },
		{ "GET", "/api/v1/tas/{ta}/versions/{version}", { "/api/v1/tas/" T1 "/versions/1.0" },
		    NULL, NULL, AUTH(404, 200, 200) },
		{ "DELETE", "/api/v1/tas/{ta}/versions/{version}",
		    { "/api/v1/tas/" T1 "/versions/1.1", NULL, NULL, NULL, NULL,
		    "/api/v1/tas/" T1 "/versions/1.2" }, NULL, NULL, AUTH(404, 200, 200) },
		{ "PUT", "/api/v1/tas/{ta}/versions/{version}/pdata",
		    { "/api/v1/tas/" T1 "/versions/1.0/pdata" }, "application/octet-stream",
		    "pdata", AUTH(404, 200, 200) },
		{ "GET", "/api/v1/tas/{ta}/versions/{version}/bundle",
		    { "/api/v1/tas/" T1 "/versions/1.0/bundle" }, NULL, NULL, AUTH(404, 200, 200) },
		{ "POST", "/api/v1/sps/{sp}/tas/{ta}/versions",
		    { "/api/v1/sps/sp1/tas/" T1 "/versions?version=2.0", NULL, NULL, NULL, NULL,
		    "/api/v1/sps/sp1/tas/" T1 "/versions?version=2.1" }, "application/jose", "@",
		    AUTH(404, 201, 201) },
		{ "GET", "/api/v1/devices", { "/api/v1/devices" }, NULL, NULL, AUTH(200, 200, 200) },
		{ "POST", "/api/v1/devices", { "/api/v1/devices" }, JSON, dev_body,
		    AUTH(403, 403, 201) },
		{ "GET", "/api/v1/devices/{device}", { "/api/v1/devices/tee1" }, NULL, NULL,
		    AUTH(404, 200, 200) },
		{ "POST", "/api/v1/devices/{device}/decommission",
		    { "/api/v1/devices/tee3/decommission" }, NULL, NULL, AUTH(403, 403, 200) },
		{ "POST", "/api/v1/devices/{device}/sd-requests", { "/api/v1/devices/tee1/sd-requests" },
		    JSON, "{\"sp\":\"sp1\",\"action\":\"renew_aik\"}", AUTH(404, 202, 202) },
		{ "GET", "/api/v1/devices/{device}/assignments", { "/api/v1/devices/tee1/assignments" },
		    NULL, NULL, AUTH(404, 200, 200) },
		{ "POST", "/api/v1/devices/{device}/assignments", { "/api/v1/devices/tee1/assignments" },
		    JSON, "{\"taid\":\"" T1 "\",\"version\":\"1.0\"}", AUTH(404, 200, 200) },
		{ "GET", "/api/v1/devices/{device}/assignments/{ta}",
		    { "/api/v1/devices/tee1/assignments/" T1 }, NULL, NULL, AUTH(404, 200, 200) },
		{ "DELETE", "/api/v1/devices/{device}/assignments/{ta}",
		    { "/api/v1/devices/tee1/assignments/" T3, NULL, NULL, NULL, NULL,
		    "/api/v1/devices/tee1/assignments/" T4 }, NULL, NULL, AUTH(404, 204, 204) },
		{ "POST", "/api/v1/assignments", { "/api/v1/assignments" }, JSON,
		    "{\"taid\":\"" T1 "\",\"devices\":[\"tee1\"]}", AUTH(404, 200, 200) },
		{ "GET", "/api/v1/trust-anchors", { "/api/v1/trust-anchors" }, NULL, NULL,
		    AUTH(403, 403, 200) },
		{ "POST", "/api/v1/trust-anchors", { "/api/v1/trust-anchors" }, JSON, anchor_body,
		    AUTH(403, 403, 201) },
		{ "GET", "/api/v1/trust-anchors/{name}", { "/api/v1/trust-anchors/tee-ca" }, NULL,
		    NULL, AUTH(403, 403, 200) },
		{ "DELETE", "/api/v1/trust-anchors/{name}", { "/api/v1/trust-anchors/anchor-matrix" },
		    NULL, NULL, AUTH(403, 403, 204) },
		{ "GET", "/api/v1/audit", { "/api/v1/audit" }, NULL, NULL, AUTH(403, 403, 200) },
		{ "GET", "/api/v1/tokens", { "/api/v1/tokens" }, NULL, NULL, AUTH(403, 403, 200) },
		{ "POST", "/api/v1/tokens", { "/api/v1/tokens" }, JSON, "{\"role\":\"sp:sp1\"}",
		    AUTH(403, 403, 201) },
		{ "DELETE", "/api/v1/tokens/{token}", { "/api/v1/tokens/%T" }, NULL, NULL,
		    AUTH(403, 403, 204) },
	};
	const size_t n_rows = sizeof(rows) / sizeof(rows[0]);
	struct http_route routes[HTTP_MAX_ROUTES];
	struct api_ctx ctx = { 0 };
	size_t n_routes;
	int failures = 0;

	(void)state;
	/* Both directions: every route the daemon serves has a row, every row a route. */
	n_routes = api_routes(&ctx, routes, HTTP_MAX_ROUTES);
	for (size_t i = 0; i < n_routes; i++) {
		size_t j;
		for (j = 0; j < n_rows; j++)
			if (strcmp(rows[j].method, routes[i].method) == 0 &&
			    strcmp(rows[j].pattern, routes[i].path) == 0)
				break;
		if (j == n_rows) {
			fprintf(stderr, "route %s %s has no matrix row\n", routes[i].method,
			    routes[i].path);
			failures++;
		}
	}
	for (size_t j = 0; j < n_rows; j++) {
		size_t i;
		for (i = 0; i < n_routes; i++)
			if (strcmp(rows[j].method, routes[i].method) == 0 &&
			    strcmp(rows[j].pattern, routes[i].path) == 0)
				break;
		if (i == n_routes) {
			fprintf(stderr, "matrix row %s %s is no route\n", rows[j].method,
			    rows[j].pattern);
			failures++;
		}
	}
	for (size_t j = 0; j < n_rows; j++) {
		const char *path = rows[j].path[0];
		for (int who = 0; who < N_CALLERS; who++) {
			struct e2e_resp r;
			char p[512], file[400];
			const char *body = rows[j].body, *upload = NULL;
			if (rows[j].path[who] != NULL)
				path = rows[j].path[who];
			if (strcmp(path, "/api/v1/tokens/%T") == 0)
				snprintf(p, sizeof(p), "/api/v1/tokens/%s", created_token_id);
			else
				snprintf(p, sizeof(p), "%s", path);
			if (body != NULL && strcmp(body, "@") == 0) {
				snprintf(file, sizeof(file), "%s/%s", env.dir,
				    who == ADMIN ? "up-admin.jws" : "up-sp.jws");
				upload = file;
				body = NULL;
			}
			long got = call(rows[j].method, p, who == NONE ? NULL : tokens[who],
			    rows[j].ctype, body, upload, &r);
			if (got != rows[j].want[who]) {
				fprintf(stderr, "%s %s with %s: %ld, wanted %ld: %.200s\n",
				    rows[j].method, p, caller_names[who], got, rows[j].want[who],
				    r.body ? r.body : "");
				failures++;
			}
			if (got == 401 && strstr(r.www_authenticate, "Bearer") == NULL) {
				fprintf(stderr, "%s %s: 401 without WWW-Authenticate: Bearer\n",
				    rows[j].method, p);
				failures++;
			}
			if (got >= 400 && strcmp(r.content_type, "application/problem+json") != 0) {
				fprintf(stderr, "%s %s: %ld is not a problem document\n", rows[j].method,
				    p, got);
				failures++;
			}
			if (strcmp(rows[j].pattern, "/api/v1/tokens") == 0 && got == 201)
				snprintf(created_token_id, sizeof(created_token_id), "%s",
				    json_string_value(json_object_get(r.json, "id")));
			e2e_resp_clear(&r);
		}
	}
	free(sp_body);
	free(dev_body);
	free(anchor_body);
	assert_int_equal(failures, 0);
}

/* ---- problem documents ---- */

static void
test_problem_documents(void **state)
{
	static const char *const rid[] = { "X-Request-Id: trace-42", NULL };
	struct e2e_req req = { "GET", "/api/v1/sps/nosuch", tokens[ADMIN], NULL, NULL, 0, NULL,
		NULL, false };
	struct e2e_resp r;

	(void)state;
	assert_int_equal(e2e_api(&env, &req, &r), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.content_type, "application/problem+json");
	assert_string_equal(json_string_value(json_object_get(r.json, "type")),
	    "urn:otrp-tamd:problem:tam.sp.not_found");
	assert_string_equal(json_string_value(json_object_get(r.json, "code")), "tam.sp.not_found");
	assert_string_equal(json_string_value(json_object_get(r.json, "title")), "Not Found");
	assert_int_equal(json_integer_value(json_object_get(r.json, "status")), 404);
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "nosuch"));
	assert_string_equal(json_string_value(json_object_get(r.json, "request_id")), r.request_id);
	assert_int_equal(strlen(r.request_id), 16);
	e2e_resp_clear(&r);
	/* a client's request id is echoed */
	req.headers = rid;
	assert_int_equal(e2e_api(&env, &req, &r), 0);
	assert_string_equal(r.request_id, "trace-42");
	assert_string_equal(json_string_value(json_object_get(r.json, "request_id")), "trace-42");
	e2e_resp_clear(&r);

	/* bodies: not JSON, an unknown member, a wrong media type, a wrong method */
	assert_int_equal(call("POST", "/api/v1/sps", tokens[ADMIN], JSON, "{", NULL, &r), 400);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")), "tam.request.bad_json");
	e2e_resp_clear(&r);
	assert_int_equal(call("POST", "/api/v1/tokens", tokens[ADMIN], JSON,
	    "{\"role\":\"admin\",\"rolee\":1}", NULL, &r), 400);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")),
	    "tam.request.unknown_member");
	e2e_resp_clear(&r);
	assert_int_equal(call("POST", "/api/v1/tokens", tokens[ADMIN], "text/plain",
	    "{\"role\":\"admin\"}", NULL, &r), 415);
	e2e_resp_clear(&r);
	assert_int_equal(call("PUT", "/api/v1/tokens", tokens[ADMIN], NULL, NULL, NULL, &r), 405);
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v2/tokens", tokens[ADMIN], NULL, NULL, NULL, &r), 404);
	e2e_resp_clear(&r);
	/* an SP cannot mint an admin token, nor reach another SP through a bulk selector */
	assert_int_equal(call("POST", "/api/v1/assignments", tokens[RIGHT_SP], JSON,
	    "{\"taid\":\"" T1 "\",\"sp\":\"sp2\"}", NULL, &r), 404);
	e2e_resp_clear(&r);
	assert_int_equal(call("POST", "/api/v1/assignments", tokens[RIGHT_SP], JSON,
	    "{\"taid\":\"" T1 "\",\"devices\":[\"tee2\"]}", NULL, &r), 404);
	e2e_resp_clear(&r);
	/* the SP sees only its own TAs and SD on a shared device */
	assert_int_equal(call("POST", "/api/v1/devices/tee2/assignments", tokens[ADMIN], JSON,
	    "{\"taid\":\"" T1 "\"}", NULL, &r), 201);
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v1/devices/tee2", tokens[RIGHT_SP], NULL, NULL, NULL, &r),
	    200);
	assert_null(strstr(r.body, T2));
	assert_non_null(strstr(r.body, T1));
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v1/devices/tee2", tokens[ADMIN], NULL, NULL, NULL, &r),
	    200);
	assert_non_null(strstr(r.body, T2));
	e2e_resp_clear(&r);
}

/* Send only headers announcing a body, and read what comes back within 5 s. */
static void
headers_only(const char *head, char *resp, size_t size)
{
	struct sockaddr_in sa = { 0 };
	struct timeval tv = { 5, 0 };
	size_t got = 0;
	ssize_t n;
	int fd, port = 0;

	sscanf(env.api_url, "http://127.0.0.1:%d", &port);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	while (got + 1 < size && (n = read(fd, resp + got, size - got - 1)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
}

static void
test_refusals_before_body(void **state)
{
	char resp[4096], head[512], jws[400], path[300];
	struct e2e_resp r;

	(void)state;
	/* a stranger announcing a megabyte is refused on its headers, the body never read */
	headers_only("POST /api/v1/sps HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", resp, sizeof(resp));
	assert_int_equal(strncmp(resp, "HTTP/1.1 401", 12), 0);
	/* so is an SP token on an operator route */
	snprintf(head, sizeof(head), "POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: 1000000\r\n\r\n", tokens[RIGHT_SP]);
	headers_only(head, resp, sizeof(resp));
	assert_int_equal(strncmp(resp, "HTTP/1.1 403", 12), 0);
	/* JSON bodies are small: over 1 MiB is refused whoever sends it */
	snprintf(head, sizeof(head), "POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2000000\r\n\r\n", tokens[ADMIN]);
	headers_only(head, resp, sizeof(resp));
	assert_int_equal(strncmp(resp, "HTTP/1.1 413", 12), 0);

	/* an SP uploading under its own name to another SP's TA id learns nothing of it */
	snprintf(jws, sizeof(jws), "%s/t3.jws", env.dir);
	snprintf(path, sizeof(path), "/api/v1/sps/sp2/tas/" T3 "/versions?version=9.0");
	assert_int_equal(call("POST", path, tokens[OTHER_SP], "application/jose", NULL, jws, &r), 404);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")), "tam.ta.not_found");
	e2e_resp_clear(&r);
	/* the operator is told what it is */
	assert_int_equal(call("POST", path, tokens[ADMIN], "application/jose", NULL, jws, &r), 409);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")), "tam.ta.other_sp");
	e2e_resp_clear(&r);

	/* version 0.0 is a version like any other, first in its list */
	assert_int_equal(call("POST", "/api/v1/sps/sp1/tas/" T5 "/versions?version=0.0",
	    tokens[RIGHT_SP], "application/jose", NULL, jws, &r), 201);
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v1/tas/" T5 "/versions", tokens[RIGHT_SP], NULL, NULL,
	    NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	e2e_resp_clear(&r);
}

/* ---- paging ---- */

/* Walk a list with ?limit=per, checking each page; returns the items' key members. */
static size_t
walk(const char *path, const char *extra, size_t per, const char *key, char keys[][80],
    size_t max)
{
	char p[1024], cursor[512] = "";
	size_t n = 0, pages = 0;
	struct e2e_resp r;

	for (;;) {
		snprintf(p, sizeof(p), "%s?limit=%zu%s%s%s", path, per, extra,
		    cursor[0] ? "&cursor=" : "", cursor);
		assert_int_equal(call("GET", p, tokens[ADMIN], NULL, NULL, NULL, &r), 200);
		json_t *items = json_object_get(r.json, "items"), *it;
		size_t i;
		assert_true(json_array_size(items) <= per);
		json_array_foreach(items, i, it) {
			json_t *k = json_object_get(it, key);
			assert_true(n < max);
			if (json_is_integer(k))
				snprintf(keys[n++], 80, "%020lld", (long long)json_integer_value(k));
			else
				snprintf(keys[n++], 80, "%s", json_string_value(k));
		}
		pages++;
		const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
		if (next == NULL) {
			assert_string_equal(r.link, "");
			e2e_resp_clear(&r);
			break;
		}
		/* a full page, and a Link to the next one with the same filters */
		assert_int_equal(json_array_size(items), per);
		assert_non_null(strstr(r.link, "rel=\"next\""));
		assert_non_null(strstr(r.link, path));
		assert_non_null(strstr(r.link, next));
		if (extra[0] != '\0')
			assert_non_null(strstr(r.link, extra));
		snprintf(cursor, sizeof(cursor), "%s", next);
		e2e_resp_clear(&r);
	}
	assert_true(pages > 1);
	return n;
}

static void
test_paging(void **state)
{
	char keys[64][80], all[64][80], path[128];
	struct e2e_resp r;
	size_t n, m;

	(void)state;
	for (int i = 0; i < 6; i++) {
		char *b;
		snprintf(path, sizeof(path), "sp-page-%d", i);
		b = pem_body("spid", path, "certificate", "sp/sp1.crt");
		assert_int_equal(call("POST", "/api/v1/sps", tokens[ADMIN], JSON, b, NULL, &r), 201);
		assert_non_null(strstr(r.location, path));
		e2e_resp_clear(&r);
		free(b);
	}
	/* names: stably ordered, each once, across pages of 2 and of 3 */
	n = walk("/api/v1/sps", "", 2, "spid", keys, 64);
	m = walk("/api/v1/sps", "", 3, "spid", all, 64);
	assert_int_equal(n, m);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(keys[i], all[i]);
		if (i > 0)
			assert_true(strcmp(keys[i - 1], keys[i]) < 0);
	}
	/* numbers: the audit trail, filtered, pages of 1 */
	n = walk("/api/v1/audit", "&actor=cli:root", 4, "id", keys, 64);
	assert_true(n >= 8);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(keys[i - 1], keys[i]) < 0);
	n = walk("/api/v1/devices", "", 1, "id", keys, 64);
	assert_true(n >= 2);

	/* bad paging input */
	assert_int_equal(call("GET", "/api/v1/sps?limit=0", tokens[ADMIN], NULL, NULL, NULL, &r), 400);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")),
	    "tam.request.bad_limit");
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v1/sps?limit=x", tokens[ADMIN], NULL, NULL, NULL, &r), 400);
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v1/sps?cursor=!!!", tokens[ADMIN], NULL, NULL, NULL, &r),
	    400);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")),
	    "tam.request.bad_cursor");
	e2e_resp_clear(&r);
	/* a cursor from another list is refused */
	assert_int_equal(call("GET", "/api/v1/devices?limit=1", tokens[ADMIN], NULL, NULL, NULL, &r),
	    200);
	snprintf(path, sizeof(path), "/api/v1/sps?cursor=%s",
	    json_string_value(json_object_get(r.json, "next_cursor")));
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", path, tokens[ADMIN], NULL, NULL, NULL, &r), 400);
	e2e_resp_clear(&r);
	/* too large a limit is clamped, not refused */
	assert_int_equal(call("GET", "/api/v1/sps?limit=100000", tokens[ADMIN], NULL, NULL, NULL,
	    &r), 200);
	assert_null(json_object_get(r.json, "next_cursor"));
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v1/audit?since=yesterday", tokens[ADMIN], NULL, NULL,
	    NULL, &r), 400);
	e2e_resp_clear(&r);
	assert_int_equal(call("GET", "/api/v1/audit?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z",
	    tokens[ADMIN], NULL, NULL, NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
	e2e_resp_clear(&r);
}

/* ---- a TA uploaded over the API reaches a device over OTrP ---- */

static void
test_uploaded_ta_installs(void **state)
{
	static const char *const full[] = { "GetDeviceStateRequest", "CreateSDRequest",
		"InstallTARequest" };
	struct mock_session_result res;
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	char jws[400], path[512], actor[32], dl[400];
	struct e2e_resp r;
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	char *dev;

	(void)state;
	snprintf(jws, sizeof(jws), "%s/api-ta.jws", env.dir);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s", env.pki, env.ta_bin,
	    jws), 0);
	/* the SP uploads a new TA with its own token */
	assert_int_equal(call("POST", "/api/v1/sps/sp1/tas/" T9 "/versions?version=1.0&name=from-api",
	    tokens[RIGHT_SP], "application/jose", NULL, jws, &r), 201);
	snprintf(actor, sizeof(actor), "token:%.12s", tokens[RIGHT_SP] + 4);
	assert_string_equal(json_string_value(json_object_get(r.json, "uploaded_by")), actor);
	assert_string_equal(r.location, "/api/v1/tas/" T9 "/versions/1.0");
	e2e_resp_clear(&r);
	/* the operator enrolls a device and assigns the TA to it, over the API too */
	assert_int_equal(e2e_pki_issue(&env, "tee", "tee4"), 0);
	dev = pem_body("name", "tee4", "certificate", "tee/tee4.crt");
	assert_int_equal(call("POST", "/api/v1/devices", tokens[ADMIN], JSON, dev, NULL, &r), 201);
	free(dev);
	e2e_resp_clear(&r);
	assert_int_equal(call("POST", "/api/v1/devices/tee4/assignments", tokens[ADMIN], JSON,
	    "{\"taid\":\"" T9 "\"}", NULL, &r), 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "resolved_version")), "1.0");
	e2e_resp_clear(&r);

	/* the device's next session installs exactly the TA the SP signed */
	assert_int_equal(e2e_mock(&env, env.pki, "tee4", "tee4", false, &mt), 0);
	if (mock_tee_run_session(mt, env.url, &res, &err) != 0)
		fail_msg("session: %s (HTTP %ld)", res.error, res.final_status);
	assert_int_equal(res.n_requests, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(res.requests[i], full[i]);
	assert_true(mock_tee_has_ta(mt, T9));
	assert_int_equal(mock_tee_ta_path(mt, T9, path, sizeof(path)), 0);
	assert_int_equal(tam_file_read(path, 1 << 24, &a, &al, NULL), 0);
	assert_int_equal(tam_file_read(env.ta_bin, 1 << 24, &b, &bl, NULL), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
	mock_tee_close(mt);
	/* and the observed state shows it, to the SP as well */
	assert_int_equal(call("GET", "/api/v1/devices/tee4", tokens[RIGHT_SP], NULL, NULL, NULL, &r),
	    200);
	json_t *tas = json_object_get(json_object_get(r.json, "observed"), "tas");
	assert_int_equal(json_array_size(tas), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tas, 0), "version")),
	    "1.0");
	e2e_resp_clear(&r);
	/* the bundle downloads as uploaded */
	snprintf(dl, sizeof(dl), "%s/dl.jws", env.dir);
	assert_int_equal(e2e_ctl(&env, "ta download " T9 " 1.0 %s", dl), 0);
	assert_int_equal(tam_file_read(dl, 1 << 24, &a, &al, NULL), 0);
	assert_int_equal(tam_file_read(jws, 1 << 24, &b, &bl, NULL), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authorization_matrix),
		cmocka_unit_test(test_problem_documents),
		cmocka_unit_test(test_refusals_before_body),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_uploaded_ta_installs),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
