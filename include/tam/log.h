/* SPDX-License-Identifier: MIT */
/*
 * One line per event on stderr, "key=value" fields (logfmt), journald-friendly.
 * Write "key=%s" for a value, never quote it yourself except around literal
 * text ("note=\"...%s...\""): the log quotes and escapes values. Never pass
 * key material, tokens or TA plaintext to these functions.
 */
#ifndef TAM_LOG_H
#define TAM_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define TAM_LOG_LINE_MAX 4096        /* bytes of one line, newline included; longer is cut */
#define TAM_LOG_PEER_MAX 48          /* client address text (INET6_ADDRSTRLEN fits), NUL incl. */
#define TAM_LOG_ID_MAX 48            /* request id, NUL included */
#define TAM_LOG_SCOPE_ROOM 128       /* bytes kept for " peer=... request_id=..." */

enum tam_log_level {
	TAM_LOG_ERROR = 0,
	TAM_LOG_WARN = 1,
	TAM_LOG_INFO = 2,
	TAM_LOG_DEBUG = 3,
};

void tam_log_set_level(enum tam_log_level level);
enum tam_log_level tam_log_get_level(void);
/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int tam_log_level_parse(const char *s);

/*
 * Until cleared, this thread's lines end with "peer=<peer> request_id=<id>":
 * the HTTP layer sets it while it serves a request.
 */
void tam_log_scope_set(const char *peer, const char *request_id);
void tam_log_scope_clear(void);

/*
 * The part of a line after "time=... level=... ": fmt's text with each %s
 * (and %c) value bare when it is a plain token, else double-quoted with \ "
 * and non-printable bytes escaped (\n \r \t \xNN); a %s between the
 * format's own quotes is escaped only. Then the scope's fields. Returns the
 * length written to out (always NUL-terminated), -1 if size is 0.
 */
int tam_log_vformat(char *out, size_t size, const char *fmt, va_list ap);
int tam_log_format(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* fmt is the rest of the line after "time=... level=... ", normally key=value pairs. */
void tam_log(enum tam_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) tam_log(TAM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) tam_log(TAM_LOG_WARN, __VA_ARGS__)
#define log_info(...) tam_log(TAM_LOG_INFO, __VA_ARGS__)
#define log_debug(...) tam_log(TAM_LOG_DEBUG, __VA_ARGS__)

#endif
