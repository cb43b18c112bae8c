// SPDX-License-Identifier: MIT
/*
 * The daemon as an operator runs it: configuration file and --check-config,
 * SIGHUP reloads (applied, or refused whole), trust anchors from a
 * directory, systemd readiness over NOTIFY_SOCKET, and SIGTERM letting a
 * request in flight finish.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"

static struct e2e_env env;
static char conf[400];

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/otrp-tamd.conf", env.dir);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	e2e_teardown(&env);
	return 0;
}

static void
write_conf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
write_conf(const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_int_equal(tam_file_write_atomic(conf, text, (size_t)n, 0644, NULL), 0);
}

static long
post_size(size_t n)
{
	struct mock_http_resp r;
	char *body = malloc(n + 1);
	long status;

	assert_non_null(body);
	memset(body, ' ', n);
	assert_int_equal(e2e_post(&env, body, n, &r), 0);
	status = r.status;
	mock_http_resp_clear(&r);
	free(body);
	return status;
}

/* Run otrp-tamd with args; returns its exit status, stderr+stdout in out. */
static int
run_tamd(char *out, size_t outlen, const char *args)
{
	char cmd[1024];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s/otrp-tamd %s 2>&1", env.build, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_check_config(void **state)
{
	char out[2048], args[600];

	(void)state;
	write_conf("# test\n[database]\npath = %s\n[limits]\nmax_body = 64K\n", env.db);
	snprintf(args, sizeof(args), "-c %s --check-config", conf);
	assert_int_equal(run_tamd(out, sizeof(out), args), 0);
	assert_non_null(strstr(out, "configuration OK"));

	write_conf("[database]\npath = %s\n[limits]\nmax_bodies = 64K\n", env.db);
	assert_int_equal(run_tamd(out, sizeof(out), args), 1);
	if (strstr(out, "otrp-tamd.conf:4: unknown key \"max_bodies\" in [limits]") == NULL)
		fail_msg("unexpected: %s", out);

	write_conf("[database]\npath = %s\n[otrp]\nport = 99999\n", env.db);
	assert_int_equal(run_tamd(out, sizeof(out), args), 1);
	assert_non_null(strstr(out, "otrp-tamd.conf:4: otrp.port"));

	snprintf(args, sizeof(args), "-c %s/missing.conf --check-config", env.dir);
	assert_int_equal(run_tamd(out, sizeof(out), args), 1);
	assert_non_null(strstr(out, "missing.conf"));

	/* the command line overrides the file, and its bad values are usage errors */
	write_conf("[database]\npath = /nonexistent/tamd.db\n");
	snprintf(args, sizeof(args), "-c %s -d %s --check-config", conf, env.db);
	assert_int_equal(run_tamd(out, sizeof(out), args), 0);
	snprintf(args, sizeof(args), "-c %s -o limits.threads=0", conf);
	assert_int_equal(run_tamd(out, sizeof(out), args), 2);
	assert_non_null(strstr(out, "limits.threads"));
}

static void
test_reload(void **state)
{
	const char *const args[] = { "-c", conf, NULL };

	(void)state;
	write_conf("[limits]\nmax_body = 1M\n");
	assert_int_equal(e2e_start(&env, args), 0);
	assert_int_equal(post_size(4096), 400);

	/* a new limit applies after SIGHUP, and the change is logged */
	write_conf("[limits]\nmax_body = 2K\nrequest_ttl = 60\n");
	kill(env.tamd, SIGHUP);
	assert_true(e2e_log_wait(&env, "event=reload result=ok", 5000));
	/* the change sits inside a quoted value: its own quotes are escaped */
	assert_true(e2e_log_wait(&env, "limits.max_body: \\\"1048576\\\" -> \\\"2048\\\"", 100));
	assert_int_equal(post_size(4096), 413);

	/* a broken file is refused whole: the running settings stay */
	write_conf("[limits]\nmax_body = 512K\nbogus = 1\n");
	kill(env.tamd, SIGHUP);
	assert_true(e2e_log_wait(&env, "event=reload result=refused", 5000));
	assert_true(e2e_log_wait(&env, "otrp-tamd.conf:3: unknown key", 100));
	assert_int_equal(post_size(4096), 413);
	assert_int_equal(post_size(0), 200);

	/* keys that need a restart are reported and keep their running value */
	write_conf("[limits]\nmax_body = 2K\nthreads = 3\n");
	kill(env.tamd, SIGHUP);
	assert_true(e2e_log_wait(&env, "limits.threads: \\\"2\\\" -> \\\"3\\\" (needs restart)", 5000));
	assert_int_equal(e2e_stop(&env), 0);
}

static void
test_anchor_dir_reload(void **state)
{
	const char *const args[] = { "-c", conf, NULL };
	struct mock_session_result res = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	char anchors[400], cmd[1024];

	(void)state;
	snprintf(anchors, sizeof(anchors), "%s/anchors", env.dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", anchors);
	assert_int_equal(system(cmd), 0);
	write_conf("[trust]\nanchor_dir = %s\n", anchors);
	assert_int_equal(e2e_start(&env, args), 0);
	/* a TEE of the other PKI is unknown ... */
	assert_int_equal(e2e_mock(&env, env.pki2, "tee1", "other-pki", false, &mt), 0);
	assert_int_not_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_int_equal(res.final_status, 403);
	/* ... until its CA lands in the anchor directory and the daemon reloads */
	snprintf(cmd, sizeof(cmd), "cp %s/tee/ca.crt %s/other-tee-ca.pem", env.pki2, anchors);
	assert_int_equal(system(cmd), 0);
	kill(env.tamd, SIGHUP);
	assert_true(e2e_log_wait(&env, "event=reload result=ok", 5000));
	memset(&res, 0, sizeof(res));
	assert_int_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_int_equal(res.final_status, 204);
	/* a leaf in the directory makes the reload fail, and the running anchors stay */
	snprintf(cmd, sizeof(cmd), "cp %s/tee/tee1.crt %s/leaf.pem", env.pki2, anchors);
	assert_int_equal(system(cmd), 0);
	kill(env.tamd, SIGHUP);
	assert_true(e2e_log_wait(&env, "is not a CA", 5000));
	memset(&res, 0, sizeof(res));
	assert_int_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	mock_tee_close(mt);
	assert_int_equal(e2e_stop(&env), 0);
}

static void
test_notify_ready_and_stopping(void **state)
{
	struct sockaddr_un sa = { 0 };
	char path[200], msg[512];
	struct timeval tv = { 10, 0 };
	ssize_t n;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/notify.sock", env.dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(e2e_start(&env, NULL), 0);
	unsetenv("NOTIFY_SOCKET");
	n = recv(fd, msg, sizeof(msg) - 1, 0);
	assert_true(n > 0);
	msg[n] = '\0';
	assert_non_null(strstr(msg, "READY=1"));
	/* ready means ready: the port answers right away */
	assert_int_equal(post_size(0), 200);
	kill(env.tamd, SIGTERM);
	n = recv(fd, msg, sizeof(msg) - 1, 0);
	assert_true(n > 0);
	msg[n] = '\0';
	assert_non_null(strstr(msg, "STOPPING=1"));
	assert_int_equal(e2e_wait(&env), 0);
	close(fd);
	unlink(path);
}

static void
test_sigterm_lets_request_finish(void **state)
{
	struct sockaddr_in sa = { 0 };
	char req[256], resp[2048];
	const char *body = "{\"not\":\"otrp\"}";
	size_t got = 0;
	ssize_t n;
	int fd, port;

	(void)state;
	assert_int_equal(e2e_start(&env, NULL), 0);
	port = atoi(strrchr(env.url, ':') + 1);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
	    "application/otrp+json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", strlen(body));
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	assert_int_equal(write(fd, body, 5), 5);
	usleep(200 * 1000);
	/* the daemon is asked to stop while the request is half sent */
	kill(env.tamd, SIGTERM);
	assert_true(e2e_log_wait(&env, "action=stop", 5000));
	assert_int_equal(write(fd, body + 5, strlen(body) - 5), (ssize_t)(strlen(body) - 5));
	while (got + 1 < sizeof(resp) && (n = read(fd, resp + got, sizeof(resp) - got - 1)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	/* it was answered (not cut off), and then the daemon exited cleanly */
	assert_int_equal(strncmp(resp, "HTTP/1.1 400", 12), 0);
	assert_int_equal(e2e_wait(&env), 0);
}

static int
slow_connection(int port)
{
	struct sockaddr_in sa = { 0 };
	const char *partial = "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, partial, strlen(partial)) != (ssize_t)strlen(partial)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_slow_clients_cannot_hold_the_daemon(void **state)
{
	const char *const args[] = { "-c", conf, NULL };
	struct mock_session_result res = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	struct timeval tv = { 10, 0 };
	enum { SLOW = 200 };
	int fds[SLOW], port, n = 0;
	ssize_t got;
	char c;

	(void)state;
	write_conf("[limits]\nconnection_limit = 400\nper_ip_connection_limit = 0\n"
	    "connection_timeout = 3\nthreads = 2\n");
	assert_int_equal(e2e_start(&env, args), 0);
	port = atoi(strrchr(env.url, ':') + 1);
	for (int i = 0; i < SLOW; i++)
		if ((fds[n] = slow_connection(port)) >= 0)
			n++;
	assert_int_equal(n, SLOW);
	/* with two hundred clients dribbling headers, a device still completes its session */
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "busy", false, &mt), 0);
	assert_int_equal(mock_tee_run_session(mt, env.url, &res, &err), 0);
	assert_int_equal(res.final_status, 204);
	mock_tee_close(mt);
	/* and the idle ones are cut off after the connection timeout, not left hanging */
	assert_int_equal(setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	got = read(fds[0], &c, 1);
	assert_true(got == 0 || (got < 0 && errno == ECONNRESET));
	for (int i = 0; i < n; i++)
		close(fds[i]);
	assert_int_equal(e2e_stop(&env), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_anchor_dir_reload),
		cmocka_unit_test(test_notify_ready_and_stopping),
		cmocka_unit_test(test_sigterm_lets_request_finish),
		cmocka_unit_test(test_slow_clients_cannot_hold_the_daemon),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
