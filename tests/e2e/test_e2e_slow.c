// SPDX-License-Identifier: MIT
/*
 * End-to-end: slow clients cannot starve the listener. Hundreds of
 * connections from 20 loopback addresses that send part of a request line
 * and headers and then nothing, re-opened as soon as they are cut, must not
 * keep a normal request from 127.0.0.2 waiting; a client that sends one
 * header byte a second is cut at the total header deadline, which its
 * activity does not extend. Prints the measured times.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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

#include "e2e.h"

#define ATTACK_ADDRS 20               /* 127.0.0.10 .. 127.0.0.29 */
#define ATTACK_PER_ADDR 16            /* limits.per_ip_connection_limit below */
#define ATTACK_SECONDS 12             /* the attacker gives up after this long */
#define CONN_LIMIT 128                /* limits.connection_limit below: fewer than the attack */
#define HEADER_TIMEOUT 10             /* limits.header_timeout, the default */
#define NORMAL_BOUND_S 5.0            /* a normal request must be answered within this */

static struct e2e_env env;
static int port;
static const char partial[] = "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: appl";

static int
group_setup(void **state)
{
	static const char *const extra[] = { "-o", "limits.connection_limit=128",
		"-o", "limits.per_ip_connection_limit=16", NULL };

	(void)state;
	if (e2e_setup(&env) != 0 || e2e_start(&env, extra) != 0)
		return -1;
	port = atoi(strrchr(env.url, ':') + 1);
	return port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TCP connection from loopback address src to the daemon, or -1; blocking. */
static int
connect_from(const char *src)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	to.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
	    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Has the server closed fd (end of stream or reset)? */
static bool
closed_by_server(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

struct attack {
	int fds[ATTACK_ADDRS * ATTACK_PER_ADDR];
	atomic_bool stop;
	atomic_int opened;            /* connections opened in all */
	atomic_int alive;             /* held at the last round */
};

/* Keep every slot holding a half-sent request; re-open what the server cut. */
static void *
attacker(void *arg)
{
	struct attack *a = arg;
	const double end = now_s() + ATTACK_SECONDS;
	char src[32];

	while (!atomic_load(&a->stop) && now_s() < end) {
		int alive = 0;
		for (int i = 0; i < ATTACK_ADDRS * ATTACK_PER_ADDR; i++) {
			if (a->fds[i] >= 0 && closed_by_server(a->fds[i])) {
				close(a->fds[i]);
				a->fds[i] = -1;
			}
			if (a->fds[i] < 0) {
				snprintf(src, sizeof(src), "127.0.0.%d", 10 + i / ATTACK_PER_ADDR);
				if ((a->fds[i] = connect_from(src)) >= 0) {
					atomic_fetch_add(&a->opened, 1);
					if (send(a->fds[i], partial, sizeof(partial) - 1, MSG_NOSIGNAL) < 0) {
						close(a->fds[i]);
						a->fds[i] = -1;
					}
				}
			}
			alive += a->fds[i] >= 0;
		}
		atomic_store(&a->alive, alive);
		usleep(100 * 1000);
	}
	return NULL;
}

/* An empty POST from 127.0.0.2, tried again while the server cuts or refuses: its status. */
static int
normal_request(double bound_s, double *took)
{
	static const char req[] = "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Accept: application/otrp+json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	const double t0 = now_s();
	char buf[64];

	while (now_s() - t0 < bound_s) {
		struct pollfd p;
		int fd = connect_from("127.0.0.2");
		ssize_t n = 0;

		if (fd >= 0 && send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1) {
			p = (struct pollfd){ .fd = fd, .events = POLLIN };
			int left = (int)((bound_s - (now_s() - t0)) * 1000);
			if (left > 0 && poll(&p, 1, left) == 1)
				n = recv(fd, buf, sizeof(buf) - 1, 0);
		}
		if (fd >= 0)
			close(fd);
		if (n >= 12) {
			buf[n] = '\0';
			*took = now_s() - t0;
			return atoi(buf + 9);
		}
		usleep(20 * 1000);
	}
	*took = now_s() - t0;
	return 0;
}

static void
test_slow_headers_do_not_starve(void **state)
{
	struct attack *a = calloc(1, sizeof(*a));
	pthread_t th;
	double took = 0;
	int status, held;

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < ATTACK_ADDRS * ATTACK_PER_ADDR; i++)
		a->fds[i] = -1;
	assert_int_equal(pthread_create(&th, NULL, attacker, a), 0);
	/* let the attack fill the listener */
	for (int i = 0; i < 30 && atomic_load(&a->opened) < CONN_LIMIT; i++)
		usleep(100 * 1000);
	usleep(500 * 1000);
	held = atomic_load(&a->alive);
	status = normal_request(NORMAL_BOUND_S * 2, &took);
	atomic_store(&a->stop, true);
	pthread_join(th, NULL);
	printf("slow headers: %d connections opened from %d addresses (%d held when the normal "
	    "request came, limit %d); normal request from 127.0.0.2: HTTP %d after %.2f s\n",
	    atomic_load(&a->opened), ATTACK_ADDRS, held, CONN_LIMIT, status, took);
	for (int i = 0; i < ATTACK_ADDRS * ATTACK_PER_ADDR; i++)
		if (a->fds[i] >= 0)
			close(a->fds[i]);
	free(a);
	assert_true(held >= CONN_LIMIT / 2);
	assert_int_equal(status, 200);
	assert_true(took < NORMAL_BOUND_S);
}

static void
test_drip_cut_at_deadline(void **state)
{
	static const char req[] = "POST /tam HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	int fd = connect_from("127.0.0.3");
	const double t0 = now_s();
	double cut = -1;

	(void)state;
	assert_true(fd >= 0);
	/* one byte a second, for at most twice the deadline */
	for (size_t i = 0; i < sizeof(req) - 1 && now_s() - t0 < 2 * HEADER_TIMEOUT; i++) {
		if (send(fd, &req[i], 1, MSG_NOSIGNAL) != 1 || closed_by_server(fd)) {
			cut = now_s() - t0;
			break;
		}
		for (int k = 0; k < 10 && cut < 0; k++) {
			usleep(100 * 1000);
			if (closed_by_server(fd))
				cut = now_s() - t0;
		}
		if (cut >= 0)
			break;
	}
	close(fd);
	printf("slow drip: one header byte a second from 127.0.0.3, cut after %.2f s "
	    "(limits.header_timeout %d s; -1: never)\n", cut, HEADER_TIMEOUT);
	assert_true(cut >= HEADER_TIMEOUT - 0.5);
	assert_true(cut <= HEADER_TIMEOUT + 2);
	assert_true(e2e_log_wait(&env, "event=http.deadline listener=otrp closed=", 2000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drip_cut_at_deadline),
		cmocka_unit_test(test_slow_headers_do_not_starve),
	};
	return cmocka_run_group_tests_name("e2e_slow", tests, group_setup, group_teardown);
}
