// SPDX-License-Identifier: MIT
/*
 * End-to-end: a TA far larger than the daemon's memory bound installs.
 * Its InstallTA (about 2.4 times the TA) is made from the database while
 * it is sent, so the daemon's peak RSS (VmHWM) stays under 64 MiB while
 * one device installs it, another reads its own copy slowly and a third
 * does not read at all. A device that already has a streamed answer in
 * flight gets 503 with Retry-After, and its broker's same answer is taken
 * once that stream is gone; withdrawing the version cuts the slow reader's
 * stream short, and a client that stops reading loses its stream at the
 * connection timeout. Under AddressSanitizer (whose shadow memory and quarantine
 * are in RSS) the TA is smaller and the bound is not checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "e2e.h"

#if defined(__SANITIZE_ADDRESS__)
#define TA_MIB 16
#define CHECK_RSS 0
#else
#define TA_MIB 256
#define CHECK_RSS 1
#endif
#define READ_PAUSE_NS 2000000     /* the slow reader: 16 KiB each, at most 8 MB/s */
#define RSS_BOUND_KB (64 * 1024)
#define TAID "5f1d7c2e-6a0b-4c61-9e4f-3b2a1d0c9e8f"

static struct e2e_env env;
static char ta_bin[400];
static uint8_t ta_digest[32];

/* SHA-256 of a file, streamed. */
static void
file_digest(const char *path, uint8_t out[32])
{
	static uint8_t buf[1 << 16];
	EVP_MD_CTX *md;
	unsigned dl = 0;
	size_t n;
	FILE *f;

	assert_non_null(f = fopen(path, "rb"));
	assert_non_null(md = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(EVP_DigestUpdate(md, buf, n), 1);
	fclose(f);
	assert_int_equal(EVP_DigestFinal_ex(md, out, &dl), 1);
	EVP_MD_CTX_free(md);
}

static int
group_setup(void **state)
{
	/* three streams at once; a client that stops reading is not cut off meanwhile */
	static const char *const opts[] = { "-o", "limits.streamed_answers=3", "-o",
		"limits.connection_timeout=600", NULL };
	char jws[420];
	FILE *f;

	(void)state;
	if (e2e_setup(&env) != 0)
		return -1;
	snprintf(ta_bin, sizeof(ta_bin), "%s/big.bin", env.dir);
	snprintf(jws, sizeof(jws), "%s/big.jws", env.dir);
	if ((f = fopen(ta_bin, "wb")) == NULL)
		return -1;
	for (size_t i = 0; i < (size_t)TA_MIB << 20; i++)
		fputc((int)((i * 131 + (i >> 13)) & 0xff), f);
	if (fclose(f) != 0)
		return -1;
	file_digest(ta_bin, ta_digest);
	if (e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s", env.pki, ta_bin, jws) != 0 ||
	    e2e_ctl(&env, "ta upload " E2E_SPID " " TAID " 1.0 %s >/dev/null", jws) != 0)
		return -1;
	unlink(jws);
	for (int i = 2; i <= 3; i++)
		if (e2e_ctl(&env, "device enroll --cert %s/tee/tee%d.crt --name tee%d >/dev/null",
		    env.pki, i, i) != 0)
			return -1;
	for (int i = 1; i <= 3; i++)
		if (e2e_ctl(&env, "assign tee%d " TAID, i) != 0)
			return -1;
	return e2e_start(&env, opts);
}

static int
group_teardown(void **state)
{
	(void)state;
	if (env.tamd > 0 && e2e_stop(&env) != 0)
		fprintf(stderr, "otrp-tamd did not stop cleanly\n");
	e2e_teardown(&env);
	return 0;
}

/* POST body and let mt answer what comes back: *answer is its response. */
static void
round_trip(struct mock_tee *mt, const char *body, char **answer)
{
	struct mock_http_resp r = { 0 };
	struct tam_err err = { 0 };
	size_t alen = 0;

	*answer = NULL;
	assert_int_equal(e2e_post(&env, body, body != NULL ? strlen(body) : 0, &r), 0);
	assert_int_equal(r.status, 200);
	if (mock_tee_process(mt, (const uint8_t *)r.body, r.len, answer, &alen, &err) != 0)
		fail_msg("%s: %s", mock_tee_last_request(mt), err.msg);
	mock_http_resp_clear(&r);
}

/* A connection that POSTs body and leaves the answer to be read (or not) by the caller. */
static int
post_raw(const char *body)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(env.url, ':');
	char hdr[256];
	size_t len = strlen(body), off = 0;
	int fd, n;

	assert_non_null(colon);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	/* a small receive buffer: what the client does not read stays at the server */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 16384 }, sizeof(int)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(hdr, sizeof(hdr), "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/otrp+json\r\nAccept: application/otrp+json\r\n"
	    "Content-Length: %zu\r\n\r\n", len);
	assert_int_equal(write(fd, hdr, (size_t)n), n);
	while (off < len) {
		ssize_t w = write(fd, body + off, len - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	return fd;
}

/* The answer on fd has begun with status 200 (its stream is being sent). */
static void
answer_begun(int fd)
{
	char line[13] = "";
	size_t got = 0;

	while (got < 12) {
		ssize_t n = read(fd, line + got, 12 - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_string_equal(line, "HTTP/1.1 200");
}

/*
 * A client that reads its answer slowly (16 KiB a pause), holds still at a
 * quarter of it until told to go on, then reads the rest at once.
 */
struct slow_reader {
	int fd;
	atomic_bool go;
	uint64_t content_length;      /* announced */
	uint64_t body;                /* body bytes read */
	int status;
	bool eof;                     /* the server closed the connection */
};

static void *
slow_read(void *arg)
{
	struct slow_reader *s = arg;
	char buf[16384], head[4096];
	size_t hl = 0;
	char *end = NULL;
	ssize_t n;

	for (;;) {
		while (s->content_length > 0 && s->body >= s->content_length / 4 && !atomic_load(&s->go))
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
		if ((n = read(s->fd, buf, sizeof(buf))) <= 0) {
			s->eof = true;
			break;
		}
		if (end == NULL) {
			size_t take = (size_t)n < sizeof(head) - 1 - hl ? (size_t)n : sizeof(head) - 1 - hl;
			memcpy(head + hl, buf, take);
			hl += take;
			head[hl] = '\0';
			if ((end = strstr(head, "\r\n\r\n")) != NULL) {
				const char *cl = strstr(head, "Content-Length: ");
				s->status = atoi(head + 9);
				s->content_length = cl != NULL ? strtoull(cl + 16, NULL, 10) : 0;
				s->body = hl - (size_t)(end + 4 - head) + ((size_t)n - take);
			}
		} else {
			s->body += (uint64_t)n;
		}
		if (!atomic_load(&s->go))
			nanosleep(&(struct timespec){ 0, READ_PAUSE_NS }, NULL);
	}
	return NULL;
}

static bool
session_reads(struct mock_session_result *res, const char *want)
{
	char got[256] = "";

	for (int i = 0; i < res->n_requests; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
		    res->requests[i]);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "session: %s, wanted %s\n", got, want);
	return strcmp(got, want) == 0;
}

static void
holds_ta(struct mock_tee *mt)
{
	char path[512];
	uint8_t d[32];

	assert_int_equal(mock_tee_ta_path(mt, TAID, path, sizeof(path)), 0);
	file_digest(path, d);
	assert_memory_equal(d, ta_digest, 32);
}

static void
test_large_ta_bounded(void **state)
{
	struct mock_tee *t1 = NULL, *t2 = NULL, *t3 = NULL;
	struct slow_reader slow = { .fd = -1 };
	struct mock_session_result res;
	struct mock_http_resp r = { 0 };
	struct tam_err err = { 0 };
	char *a1 = NULL, *a2 = NULL;
	long idle, peak;
	pthread_t th;
	int stalled;

	(void)state;
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &t1), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "tee2", false, &t2), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee3", "tee3", false, &t3), 0);
	idle = e2e_tamd_peak_rss_kb(&env);
	assert_true(idle > 0);

	/* tee2 reads its InstallTA slowly; tee3 does not read its own at all */
	round_trip(t2, NULL, &a1);
	round_trip(t2, a1, &a2);
	slow.fd = post_raw(a2);
	assert_int_equal(pthread_create(&th, NULL, slow_read, &slow), 0);
	free(a1);
	free(a2);
	round_trip(t3, NULL, &a1);
	round_trip(t3, a1, &a2);
	stalled = post_raw(a2);
	free(a1);
	free(a2);

	/* tee1 installs the whole TA meanwhile */
	if (mock_tee_run_session(t1, env.url, &res, &err) != 0)
		fail_msg("session: %s (HTTP %ld)", res.error, res.final_status);
	assert_true(session_reads(&res, "GetDeviceStateRequest CreateSDRequest InstallTARequest"));
	assert_string_equal(res.outcomes[2], "pass");
	holds_ta(t1);
	peak = e2e_tamd_peak_rss_kb(&env);
	fprintf(stderr, "%d MiB TA: daemon VmHWM %ld kB idle, %ld kB after one device installed it "
	    "while one read its copy slowly (%llu of %llu bytes so far) and one did not read "
	    "(bound %d kB%s)\n", TA_MIB, idle, peak, (unsigned long long)slow.body,
	    (unsigned long long)slow.content_length, RSS_BOUND_KB,
	    CHECK_RSS ? "" : ", not checked under AddressSanitizer");
	assert_int_equal(slow.status, 200);
	assert_true(slow.content_length > (uint64_t)TA_MIB << 21);
	if (CHECK_RSS)
		assert_true(peak < RSS_BOUND_KB);

	/* tee3 again while its stream is still held: 503, Retry-After, nothing recorded */
	round_trip(t3, NULL, &a1);
	assert_int_equal(e2e_post(&env, a1, strlen(a1), &r), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.retry_after, 10);
	mock_http_resp_clear(&r);
	/* once the stalled client is gone, the same answer is taken */
	close(stalled);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(e2e_post(&env, a1, strlen(a1), &r), 0);
		if (r.status != 503)
			break;
		mock_http_resp_clear(&r);
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	/* (tee1 showed such a message installs; a TEE takes long to check one) */
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, slow.content_length);
	assert_memory_equal(r.body, "{\"InstallTARequest\":", 20);
	mock_http_resp_clear(&r);
	free(a1);
	peak = e2e_tamd_peak_rss_kb(&env);
	fprintf(stderr, "%d MiB TA: daemon VmHWM %ld kB after a second device read its own\n",
	    TA_MIB, peak);
	if (CHECK_RSS)
		assert_true(peak < RSS_BOUND_KB);

	/* withdrawn while tee2 is still reading: its stream ends short of its length */
	assert_int_equal(e2e_ctl(&env, "ta withdraw " TAID " 1.0 >/dev/null"), 0);
	atomic_store(&slow.go, true);
	pthread_join(th, NULL);
	fprintf(stderr, "withdrawn: the slow reader got %llu of %llu bytes, then the connection "
	    "closed\n", (unsigned long long)slow.body, (unsigned long long)slow.content_length);
	assert_true(slow.eof);
	assert_true(slow.body < slow.content_length);
	assert_true(e2e_log_wait(&env, "event=otrp.stream_failed", 5000));
	close(slow.fd);
	mock_tee_close(t1);
	mock_tee_close(t2);
	mock_tee_close(t3);
}

/*
 * A client that stops reading loses its stream at limits.connection_timeout:
 * its device's next answer is taken, not refused. With one stream for all,
 * another device waits meanwhile too.
 */
static void
test_stalled_client_times_out(void **state)
{
	static const char *const opts[] = { "-o", "limits.connection_timeout=10", "-o",
		"limits.streamed_answers=1", NULL };
	static const char taid[] = "0c4b8e3a-2f61-4d7e-8a95-6b1c0d2e3f41";
	struct mock_tee *t1 = NULL, *t2 = NULL;
	struct mock_http_resp r = { 0 };
	char path[420], *a1 = NULL, *a2 = NULL;
	FILE *f;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/mid.bin", env.dir);
	assert_non_null(f = fopen(path, "wb"));
	/* a message (40 MB) far larger than the sockets' buffers */
	for (size_t i = 0; i < (size_t)16 << 20; i++)
		fputc((int)((i * 7 + (i >> 11)) & 0xff), f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s.jws", env.pki, path, path),
	    0);
	assert_int_equal(e2e_ctl(&env, "ta upload " E2E_SPID " %s 1.0 %s.jws >/dev/null", taid,
	    path), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee1 %s", taid), 0);
	assert_int_equal(e2e_ctl(&env, "assign tee2 %s", taid), 0);
	assert_int_equal(e2e_stop(&env), 0);
	assert_int_equal(e2e_start(&env, opts), 0);
	assert_int_equal(e2e_mock(&env, env.pki, "tee1", "tee1", false, &t1), 0);
	/* the withdrawn TA goes first, then the new one comes to a client that does not read */
	round_trip(t1, NULL, &a1);
	round_trip(t1, a1, &a2);
	assert_string_equal(mock_tee_last_request(t1), "DeleteTARequest");
	fd = post_raw(a2);
	answer_begun(fd);
	free(a1);
	free(a2);
	/* within the timeout the stream is held ... */
	round_trip(t1, NULL, &a1);
	assert_int_equal(e2e_post(&env, a1, strlen(a1), &r), 0);
	assert_int_equal(r.status, 503);
	mock_http_resp_clear(&r);
	/* ... also against another device's message (the one stream is taken) */
	assert_int_equal(e2e_mock(&env, env.pki, "tee2", "tee2", false, &t2), 0);
	round_trip(t2, NULL, &a2);
	assert_int_equal(e2e_post(&env, a2, strlen(a2), &r), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.retry_after, 10);
	mock_http_resp_clear(&r);
	free(a2);
	mock_tee_close(t2);
	/* ... and after it, the same answer is taken */
	sleep(14);
	assert_int_equal(e2e_post(&env, a1, strlen(a1), &r), 0);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, "{\"InstallTARequest\":", 20);
	mock_http_resp_clear(&r);
	free(a1);
	close(fd);
	mock_tee_close(t1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_ta_bounded),
		cmocka_unit_test(test_stalled_client_times_out),
	};
	return cmocka_run_group_tests_name("e2e_stream", tests, group_setup, group_teardown);
}
