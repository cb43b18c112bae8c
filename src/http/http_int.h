/* SPDX-License-Identifier: MIT */
/*
 * Inside the HTTP module: the deadlines that MHD's idle timeout cannot give
 * (http_deadline.c), used by the listener (http.c).
 */
#ifndef TAM_HTTP_INT_H
#define TAM_HTTP_INT_H

#include <microhttpd.h>

#include "tam/util.h"

/* Where a connection is in its current request. */
enum http_phase {
	HTTP_PHASE_HEADERS,           /* waiting for a request line and headers (also idle keep-alive) */
	HTTP_PHASE_BODY,              /* headers in, body arriving */
	HTTP_PHASE_FREE,              /* handled, answering, or a streamed upload: no deadline here */
};

/* Connections under less than a quarter of free room: slow header senders go after this. */
#define HTTP_PRESSURE_GRACE_MS 1000
#define HTTP_DEADLINE_TICK_MS 250

struct http_deadlines;

/*
 * Total deadlines, counted from the start of a phase and never extended by
 * activity: header_s for the request line and headers (from accept, or from
 * the end of the previous request on the connection), body_s for a body.
 * When conn_limit is nearly reached, connections still sending headers after
 * HTTP_PRESSURE_GRACE_MS are closed too. 0 turns a deadline off. A thread
 * checks every tick.
 */
int http_deadlines_new(const char *name, unsigned header_s, unsigned body_s,
    unsigned conn_limit, struct http_deadlines **out) TAM_WUR;
/* Stop the thread and free; call after MHD_stop_daemon. */
void http_deadlines_free(struct http_deadlines *d);
/* Stop the thread (before MHD_stop_daemon, so nothing is cut while MHD closes). */
void http_deadlines_stop(struct http_deadlines *d);
/* MHD_OPTION_NOTIFY_CONNECTION's callback; cls is the http_deadlines. */
void http_deadlines_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code);
/* conn enters phase p now. */
void http_deadlines_phase(struct http_deadlines *d, struct MHD_Connection *conn,
    enum http_phase p);

#endif
