// SPDX-License-Identifier: MIT
/*
 * End-to-end harness. Everything runs on 127.0.0.1; the daemon binary is the
 * one of the build directory under test (TAM_BUILD_DIR), so the sanitizer
 * build's tests drive the sanitizer build's daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "e2e.h"

int
e2e_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static const char *
top_dir(void)
{
	static char top[256];
	const char *b = getenv("TAM_BUILD_DIR");

	if (top[0] == '\0') {
		/* TAM_BUILD_DIR is <top>/<build>; without it we run from the top directory. */
		if (b != NULL && strrchr(b, '/') != NULL)
			snprintf(top, sizeof(top), "%.*s", (int)(strrchr(b, '/') - b), b);
		else
			snprintf(top, sizeof(top), ".");
	}
	return top;
}

int
e2e_setup(struct e2e_env *env)
{
	return e2e_setup_pki(env, false);
}

int
e2e_setup_pki(struct e2e_env *env, bool ec)
{
	const char *b = getenv("TAM_BUILD_DIR");
	const char *top = top_dir();
	const char *alg = ec ? "--ec " : "";

	memset(env, 0, sizeof(*env));
	snprintf(env->build, sizeof(env->build), "%s", b != NULL ? b : "build");
	snprintf(env->dir, sizeof(env->dir), "%s/otrp-e2e.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(env->dir) == NULL)
		return -1;
	snprintf(env->pki, sizeof(env->pki), "%s/pki", env->dir);
	snprintf(env->pki2, sizeof(env->pki2), "%s/pki-other", env->dir);
	snprintf(env->db, sizeof(env->db), "%s/tamd.db", env->dir);
	snprintf(env->ta_bin, sizeof(env->ta_bin), "%s/ta.bin", env->dir);
	snprintf(env->log, sizeof(env->log), "%s/tamd.log", env->dir);
	if (e2e_sh("sh %s/pki/otrp-pki.sh %s%s >/dev/null", top, alg, env->pki) != 0 ||
	    e2e_sh("sh %s/pki/otrp-pki.sh issue %s%s tee tee2 >/dev/null", top, alg, env->pki) != 0 ||
	    e2e_sh("sh %s/pki/otrp-pki.sh issue %s%s tee tee3 >/dev/null", top, alg, env->pki) != 0 ||
	    e2e_sh("sh %s/pki/otrp-pki.sh issue --expired %s%s tee tee-old >/dev/null", top, alg,
	    env->pki) != 0 ||
	    e2e_sh("sh %s/pki/otrp-pki.sh %s >/dev/null", top, env->pki2) != 0)
		return -1;
	/* 10 KiB of random bytes stands in for a TA binary; the exact bytes must arrive. */
	if (e2e_sh("head -c 10240 /dev/urandom > %s", env->ta_bin) != 0)
		return -1;
	if (e2e_ctl(env, "init --key %s/tam/tam.key --cert %s/tam/tam-chain.pem >/dev/null",
	    env->pki, env->pki) != 0 ||
	    e2e_ctl(env, "trust-anchor add tee-ca %s/tee/ca.crt", env->pki) != 0 ||
	    e2e_ctl(env, "sp add " E2E_SPID " %s/sp/sp1.crt", env->pki) != 0 ||
	    e2e_ctl(env, "ta sign --key %s/sp/sp1.key %s %s/ta.jws", env->pki, env->ta_bin, env->dir) != 0 ||
	    e2e_ctl(env, "ta upload " E2E_SPID " " E2E_TAID " 1.0 %s/ta.jws >/dev/null", env->dir) != 0 ||
	    e2e_ctl(env, "device enroll --cert %s/tee/tee1.crt --name tee1 >/dev/null", env->pki) != 0)
		return -1;
	return 0;
}

int
e2e_pki_issue(struct e2e_env *env, const char *role, const char *name)
{
	return e2e_sh("sh %s/pki/otrp-pki.sh issue %s %s %s >/dev/null", top_dir(), env->pki, role,
	    name);
}

int
e2e_group_end(struct e2e_env *env)
{
	int rc = 0;

	if (env->tamd > 0 && e2e_stop(env) != 0) {
		fprintf(stderr, "otrp-tamd did not stop cleanly (its log: %s)\n", env->log);
		rc = -1;
	}
	e2e_teardown(env);
	return rc;
}

void
e2e_teardown(struct e2e_env *env)
{
	if (env->tamd > 0)
		e2e_stop(env);
	if (env->dir[0] != '\0' && getenv("E2E_KEEP") == NULL)
		e2e_sh("rm -rf %s", env->dir);
}

int
e2e_start(struct e2e_env *env, const char *const *extra)
{
	char portfile[320], tamd[300], buf[16];
	const char *argv[32];
	int argc = 0, fd;
	pid_t pid;

	snprintf(portfile, sizeof(portfile), "%s/port", env->dir);
	snprintf(tamd, sizeof(tamd), "%s/otrp-tamd", env->build);
	unlink(portfile);
	argv[argc++] = tamd;
	argv[argc++] = "-d";
	argv[argc++] = env->db;
	argv[argc++] = "-l";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "-p";
	argv[argc++] = "0";
	argv[argc++] = "--port-file";
	argv[argc++] = portfile;
	argv[argc++] = "--log-level";
	argv[argc++] = "debug";
	/* tests run side by side: every listener on a port the kernel picks */
	argv[argc++] = "-o";
	argv[argc++] = "api.port=0";
	for (size_t i = 0; extra != NULL && extra[i] != NULL && argc < 30; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open(env->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		execv(tamd, (char *const *)argv);
		_exit(127);
	}
	env->tamd = pid;
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "r");
		if (f != NULL) {
			if (fgets(buf, sizeof(buf), f) != NULL && atoi(buf) > 0) {
				snprintf(env->url, sizeof(env->url), "http://127.0.0.1:%d/tam", atoi(buf));
				if (fgets(buf, sizeof(buf), f) != NULL && atoi(buf) > 0)
					snprintf(env->api_url, sizeof(env->api_url), "http://127.0.0.1:%d",
					    atoi(buf));
				fclose(f);
				return 0;
			}
			fclose(f);
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			env->tamd = 0;
			return -1;
		}
		usleep(50 * 1000);
	}
	return -1;
}

static bool
log_has_sanitizer_report(const char *path)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "AddressSanitizer") || strstr(line, "LeakSanitizer") ||
		    strstr(line, "runtime error:"))
			found = true;
	fclose(f);
	return found;
}

int
e2e_stop(struct e2e_env *env)
{
	if (env->tamd <= 0)
		return -1;
	kill(env->tamd, SIGTERM);
	return e2e_wait(env);
}

int
e2e_wait(struct e2e_env *env)
{
	int st = 0;

	if (env->tamd <= 0)
		return -1;
	for (int i = 0; i < 400; i++) {
		pid_t r = waitpid(env->tamd, &st, WNOHANG);
		if (r == env->tamd)
			break;
		if (i == 399) {
			kill(env->tamd, SIGKILL);
			waitpid(env->tamd, &st, 0);
		}
		usleep(25 * 1000);
	}
	env->tamd = 0;
	if (log_has_sanitizer_report(env->log)) {
		fprintf(stderr, "sanitizer report in %s\n", env->log);
		e2e_sh("cat %s >&2", env->log);
		return -1;
	}
	if (!WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

bool
e2e_log_wait(struct e2e_env *env, const char *needle, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		uint8_t *log = NULL;
		size_t len = 0;
		bool found = false;

		if (tam_file_read(env->log, 1u << 24, &log, &len, NULL) == 0) {
			found = strstr((char *)log, needle) != NULL;
			free(log);
		}
		if (found)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static int
vctl(struct e2e_env *env, char *out, size_t outlen, const char *fmt, va_list ap)
{
	char args[3072], cmd[4096];
	FILE *p;
	int st;

	vsnprintf(args, sizeof(args), fmt, ap);
	snprintf(cmd, sizeof(cmd), "%s/otrp-tamctl -d %s %s", env->build, env->db, args);
	if (out == NULL) {
		st = system(cmd);
	} else {
		out[0] = '\0';
		p = popen(cmd, "r");
		if (p == NULL)
			return -1;
		if (fgets(out, (int)outlen, p) != NULL)
			out[strcspn(out, "\n")] = '\0';
		while (fgetc(p) != EOF)
			;
		st = pclose(p);
	}
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int
e2e_ctl(struct e2e_env *env, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vctl(env, NULL, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int
e2e_ctl_out(struct e2e_env *env, char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vctl(env, out, outlen, fmt, ap);
	va_end(ap);
	return rc;
}

int
e2e_mock(struct e2e_env *env, const char *pki, const char *tee, const char *label, bool raw,
    struct mock_tee **out)
{
	return e2e_mock_suite(env, pki, tee, label, raw, NULL, NULL, out);
}

int
e2e_mock_cfg(struct e2e_env *env, const char *tee, const struct mock_tee_cfg *extra,
    struct mock_tee **out)
{
	char state[320], key[320], cert[320], cacert[320], anchor[320];
	struct mock_tee_cfg cfg = *extra;
	struct tam_err err = { 0 };

	snprintf(state, sizeof(state), "%s/state-%s", env->dir, tee);
	snprintf(key, sizeof(key), "%s/tee/%s.key", env->pki, tee);
	snprintf(cert, sizeof(cert), "%s/tee/%s.crt", env->pki, tee);
	snprintf(cacert, sizeof(cacert), "%s/tee/ca.crt", env->pki);
	snprintf(anchor, sizeof(anchor), "%s/root/ca.crt", env->pki);
	cfg.state_dir = state;
	cfg.key_path = key;
	cfg.cert_path = cert;
	cfg.cacert_path = cacert;
	cfg.tam_anchor_path = anchor;
	cfg.tee_name = tee;
	if (mock_tee_open(&cfg, out, &err) != 0) {
		fprintf(stderr, "mock_tee_open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int
e2e_session_expect(struct e2e_env *env, struct mock_tee *mt, const char *want_reqs,
    const char *want_outs, char *why, size_t whylen)
{
	struct mock_session_result res;
	struct tam_err err = { 0 };
	char reqs[1024] = "", outs[1024] = "";

	if (mock_tee_run_session(mt, env->url, &res, &err) != 0) {
		snprintf(why, whylen, "session: %s (HTTP %ld)", res.error, res.final_status);
		return -1;
	}
	for (int i = 0; i < res.n_requests; i++)
		snprintf(reqs + strlen(reqs), sizeof(reqs) - strlen(reqs), "%s%s", i ? " " : "",
		    res.requests[i]);
	for (int i = 0; i < res.n_outcomes; i++) {
		if (want_outs == NULL && strcmp(res.outcomes[i], "pass") != 0) {
			snprintf(why, whylen, "the TEE answered %s with %s", res.requests[i],
			    res.outcomes[i]);
			return -1;
		}
		snprintf(outs + strlen(outs), sizeof(outs) - strlen(outs), "%s%s", i ? " " : "",
		    res.outcomes[i]);
	}
	if (strcmp(reqs, want_reqs) != 0) {
		snprintf(why, whylen, "requests \"%s\", wanted \"%s\"", reqs, want_reqs);
		return -1;
	}
	if (want_outs != NULL && strcmp(outs, want_outs) != 0) {
		snprintf(why, whylen, "outcomes \"%s\", wanted \"%s\"", outs, want_outs);
		return -1;
	}
	return 0;
}

int
e2e_mock_suite(struct e2e_env *env, const char *pki, const char *tee, const char *label, bool raw,
    const char *jwe_alg, const char *jwe_enc, struct mock_tee **out)
{
	char state[320], key[320], cert[320], cacert[320], anchor[320];
	struct mock_tee_cfg cfg = { 0 };
	struct tam_err err = { 0 };

	/* "name" is a leaf of the TEE CA; "role/name" a leaf of another role's CA. */
	const char *slash = strchr(tee, '/');
	int role_len = slash != NULL ? (int)(slash - tee) : 3;
	const char *role = slash != NULL ? tee : "tee", *leaf = slash != NULL ? slash + 1 : tee;

	snprintf(state, sizeof(state), "%s/state-%s", env->dir, label);
	snprintf(key, sizeof(key), "%s/%.*s/%s.key", pki, role_len, role, leaf);
	snprintf(cert, sizeof(cert), "%s/%.*s/%s.crt", pki, role_len, role, leaf);
	snprintf(cacert, sizeof(cacert), "%s/%.*s/ca.crt", pki, role_len, role);
	/* Every mock TEE trusts our TAM: the TAM certificate comes from env->pki. */
	snprintf(anchor, sizeof(anchor), "%s/root/ca.crt", env->pki);
	cfg.state_dir = state;
	cfg.key_path = key;
	cfg.cert_path = raw ? NULL : cert;
	cfg.cacert_path = raw ? NULL : cacert;
	cfg.tam_anchor_path = anchor;
	cfg.tee_name = leaf;
	cfg.jwe_alg = jwe_alg;
	cfg.jwe_enc = jwe_enc;
	if (mock_tee_open(&cfg, out, &err) != 0) {
		fprintf(stderr, "mock_tee_open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int
e2e_post(struct e2e_env *env, const char *body, size_t len, struct mock_http_resp *resp)
{
	struct tam_err err = { 0 };
	int rc;

	rc = mock_http_post(env->url, OTRP_MEDIA_TYPE, OTRP_MEDIA_TYPE, (const uint8_t *)body, len,
	    resp, &err);
	if (rc != 0)
		fprintf(stderr, "POST failed: %s\n", err.msg);
	return rc;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return tam_buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

int
e2e_raw(const char *url, const void *req, size_t len, char *resp, size_t size)
{
	struct sockaddr_in sa = { 0 };
	struct timeval tv = { 10, 0 };
	size_t got = 0;
	ssize_t n;
	int fd, port = 0;

	if (size == 0 || sscanf(url, "http://127.0.0.1:%d", &port) != 1 || port <= 0 || port > 65535)
		return -1;
	resp[0] = '\0';
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	while (got + 1 < size && (n = read(fd, resp + got, size - got - 1)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	return 0;
}

int
e2e_get(const char *url, long *status, char **body)
{
	struct tam_buf b = { 0 };
	CURL *c;
	CURLcode rc;

	*body = NULL;
	if (strncmp(url, "http://127.0.0.1:", 17) != 0 || (c = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || tam_buf_append(&b, "", 0) != 0) {
		tam_buf_free(&b);
		return -1;
	}
	*body = (char *)b.data;
	return 0;
}

int
e2e_db_digest(struct e2e_env *env, bool bookkeeping, uint8_t out[32])
{
	/* The first three tables change with every verified contact; the rest is state. */
	static const char *const tables[] = {
		"devices", "sessions", "requests",
		"device_sds", "device_tas", "device_spaiks", "assignments", "audit", "sps", "tas",
		"ta_versions", "ta_blobs", "trust_anchors",
	};
	struct tam_buf b = { 0 };
	sqlite3 *db = NULL;
	int rc = -1;

	if (sqlite3_open_v2(env->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	for (size_t t = bookkeeping ? 0 : 3; t < sizeof(tables) / sizeof(tables[0]); t++) {
		char sql[128];
		sqlite3_stmt *s = NULL;
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1, 2", tables[t]);
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
			goto out;
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(s); c++) {
				const void *v = sqlite3_column_blob(s, c);
				int n = sqlite3_column_bytes(s, c);
				if ((n > 0 && tam_buf_append(&b, v, (size_t)n) != 0) ||
				    tam_buf_append(&b, "\x1f", 1) != 0) {
					sqlite3_finalize(s);
					goto out;
				}
			}
			if (tam_buf_append(&b, "\x1e", 1) != 0) {
				sqlite3_finalize(s);
				goto out;
			}
		}
		sqlite3_finalize(s);
	}
	tam_sha256(b.data, b.len, out);
	rc = 0;
out:
	tam_buf_free(&b);
	sqlite3_close(db);
	return rc;
}

struct store *
e2e_db(struct e2e_env *env)
{
	struct store *st = NULL;

	if (store_open(env->db, STORE_READONLY, &st, NULL) != 0)
		return NULL;
	return st;
}

int
e2e_db_has_ta(struct e2e_env *env, const char *ref, const char *taid)
{
	struct tam_dev_state s = { 0 };
	struct store_device d = { 0 };
	struct store *st = e2e_db(env);
	int found = -1;

	if (st == NULL)
		return -1;
	if (store_device_find(st, ref, &d, NULL) == 0 &&
	    store_device_state_get(st, d.id, &s, NULL) == 0) {
		found = 0;
		for (size_t i = 0; i < s.n_tas; i++)
			if (strcmp(s.tas[i].taid, taid) == 0)
				found = 1;
	}
	tam_dev_state_free(&s);
	store_device_clear(&d);
	store_close(st);
	return found;
}

long long
e2e_db_scalar(struct e2e_env *env, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(env->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

int
e2e_db_blob(struct e2e_env *env, const char *sql, uint8_t **out, size_t *len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (sqlite3_open_v2(env->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_BLOB) {
		*len = (size_t)sqlite3_column_bytes(s, 0);
		if ((*out = malloc(*len ? *len : 1)) != NULL) {
			memcpy(*out, sqlite3_column_blob(s, 0), *len);
			rc = 0;
		}
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

void
e2e_problem_code(const struct mock_http_resp *r, char *out, size_t outlen)
{
	const char *prefix = "urn:otrp-tamd:error:";
	json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *t = json_string_value(json_object_get(j, "type"));

	out[0] = '\0';
	if (t != NULL && strncmp(t, prefix, strlen(prefix)) == 0)
		snprintf(out, outlen, "%s", t + strlen(prefix));
	json_decref(j);
}

void
e2e_resp_clear(struct e2e_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* Keep the value of header name (case-insensitive) from a raw header line. */
static void
keep_header(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name);

	if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	line += k + 1;
	n -= k + 1;
	while (n > 0 && *line == ' ') {
		line++;
		n--;
	}
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	snprintf(out, outlen, "%.*s", (int)n, line);
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct e2e_resp *r = arg;

	n *= size;
	keep_header(p, n, "Content-Type", r->content_type, sizeof(r->content_type));
	keep_header(p, n, "Location", r->location, sizeof(r->location));
	keep_header(p, n, "Link", r->link, sizeof(r->link));
	keep_header(p, n, "X-Request-Id", r->request_id, sizeof(r->request_id));
	keep_header(p, n, "WWW-Authenticate", r->www_authenticate, sizeof(r->www_authenticate));
	return n;
}

int
e2e_api(struct e2e_env *env, const struct e2e_req *req, struct e2e_resp *r)
{
	struct curl_slist *h = NULL;
	struct tam_buf b = { 0 };
	char url[1024], line[1024];
	FILE *up = NULL;
	struct stat sb;
	CURLcode rc;
	CURL *c;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", env->api_url, req->path);
	if (strncmp(url, "http://127.0.0.1:", 17) != 0 || (c = curl_easy_init()) == NULL)
		return -1;
	if (req->token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", req->token);
		h = curl_slist_append(h, line);
	}
	if (req->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		h = curl_slist_append(h, line);
	}
	if (req->chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		h = curl_slist_append(h, req->headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (req->upload_file != NULL) {
		if ((up = fopen(req->upload_file, "rb")) == NULL || fstat(fileno(up), &sb) != 0) {
			if (up != NULL)
				fclose(up);
			curl_slist_free_all(h);
			curl_easy_cleanup(c);
			return -1;
		}
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, up);
		if (!req->chunked)
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sb.st_size);
	} else if (req->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (up != NULL)
		fclose(up);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		tam_buf_free(&b);
		r->status = 0;
		return -1;
	}
	if (b.len > 0) {
		r->body = (char *)b.data;
		r->len = b.len;
		r->json = json_loadb(r->body, r->len, 0, NULL);
	}
	return 0;
}

long
e2e_tamd_peak_rss_kb(struct e2e_env *env)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)env->tamd);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}
