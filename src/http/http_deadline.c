// SPDX-License-Identifier: MIT
/*
 * Total deadlines per connection. MHD's connection timeout is an idle
 * timeout: a client that sends one byte a second keeps a connection (and a
 * slot of the connection limit) for as long as it likes. MHD 0.9.75 has no
 * call to close a connection from outside its own threads, so a thread here
 * shuts the socket down (shutdown(2)); MHD then sees the end of the stream
 * and closes the connection itself. The socket stays MHD's until the
 * connection's close notification, which removes it from the list under
 * the same lock, so a socket number is never shut down after reuse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "tam/log.h"
#include "http_int.h"

struct track {
	struct track *prev, *next;
	MHD_socket fd;
	enum http_phase phase;
	int64_t since_ms;             /* monotonic start of the phase */
	bool cut;                     /* shut down already */
};

struct http_deadlines {
	const char *name;             /* listener name, static */
	int64_t header_ms, body_ms;   /* -1: none */
	size_t conn_limit;
	pthread_mutex_t mu;           /* guards the list, n and stop */
	pthread_cond_t wake;
	struct track *head;
	size_t n;                     /* connections tracked */
	bool stop;
	bool running;                 /* the thread was started and not joined */
	pthread_t thread;
};

/* Shut down what is over its deadline; returns how many. Called with mu held. */
static size_t
reap(struct http_deadlines *d, int64_t now, bool *pressure)
{
	size_t cut = 0;

	*pressure = d->n * 4 >= d->conn_limit * 3;
	for (struct track *t = d->head; t != NULL; t = t->next) {
		int64_t limit = t->phase == HTTP_PHASE_HEADERS ? d->header_ms :
		    t->phase == HTTP_PHASE_BODY ? d->body_ms : -1;
		if (t->cut || limit < 0)
			continue;
		if (*pressure && t->phase == HTTP_PHASE_HEADERS && limit > HTTP_PRESSURE_GRACE_MS)
			limit = HTTP_PRESSURE_GRACE_MS;
		if (now - t->since_ms <= limit)
			continue;
		/* ENOTCONN: the peer is gone already; MHD notices either way. */
		if (shutdown(t->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
			log_warn("event=http.deadline listener=%s error=\"%s\"", d->name, strerror(errno));
		t->cut = true;
		cut++;
	}
	return cut;
}

static void *
run(void *arg)
{
	struct http_deadlines *d = arg;
	struct timespec until;
	bool pressure;
	size_t cut;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += HTTP_DEADLINE_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&d->wake, &d->mu, &until);
		if (d->stop)
			break;
		if ((cut = reap(d, tam_monotonic_ms(), &pressure)) > 0)
			log_info("event=http.deadline listener=%s closed=%zu open=%zu pressure=%s",
			    d->name, cut, d->n, pressure ? "yes" : "no");
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int
http_deadlines_new(const char *name, unsigned header_s, unsigned body_s, unsigned conn_limit,
    struct http_deadlines **out)
{
	struct http_deadlines *d;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return TAM_ENOMEM;
	d->name = name;
	d->header_ms = header_s > 0 ? (int64_t)header_s * 1000 : -1;
	d->body_ms = body_s > 0 ? (int64_t)body_s * 1000 : -1;
	d->conn_limit = conn_limit;
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		free(d);
		return TAM_ENOMEM;
	}
	if (pthread_cond_init(&d->wake, NULL) != 0) {
		pthread_mutex_destroy(&d->mu);
		free(d);
		return TAM_ENOMEM;
	}
	if (pthread_create(&d->thread, NULL, run, d) != 0) {
		http_deadlines_free(d);
		return TAM_ENOMEM;
	}
	d->running = true;
	*out = d;
	return TAM_OK;
}

void
http_deadlines_stop(struct http_deadlines *d)
{
	if (d == NULL || !d->running)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	d->running = false;
}

void
http_deadlines_free(struct http_deadlines *d)
{
	if (d == NULL)
		return;
	http_deadlines_stop(d);
	while (d->head != NULL) {
		struct track *t = d->head;
		d->head = t->next;
		free(t);
	}
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static void
track_add(struct http_deadlines *d, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct track *t;

	*socket_context = NULL;
	if (ci == NULL || (t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("event=http.deadline listener=%s error=\"a connection goes untracked\"",
		    d->name);
		return;
	}
	t->fd = ci->connect_fd;
	t->phase = HTTP_PHASE_HEADERS;
	t->since_ms = tam_monotonic_ms();
	pthread_mutex_lock(&d->mu);
	t->next = d->head;
	if (d->head != NULL)
		d->head->prev = t;
	d->head = t;
	d->n++;
	pthread_mutex_unlock(&d->mu);
	*socket_context = t;
}

void
http_deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct http_deadlines *d = cls;
	struct track *t = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		track_add(d, conn, socket_context);
		return;
	}
	if (t == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		d->head = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	d->n--;
	pthread_mutex_unlock(&d->mu);
	free(t);
	*socket_context = NULL;
}

void
http_deadlines_phase(struct http_deadlines *d, struct MHD_Connection *conn, enum http_phase p)
{
	const union MHD_ConnectionInfo *ci;
	struct track *t;

	if (d == NULL || conn == NULL ||
	    (ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT)) == NULL ||
	    (t = ci->socket_context) == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	if (t->phase != p) {
		t->phase = p;
		t->since_ms = tam_monotonic_ms();
	}
	pthread_mutex_unlock(&d->mu);
}
