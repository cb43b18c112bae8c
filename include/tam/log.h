/* SPDX-License-Identifier: MIT */
/*
 * One line per event on stderr, "key=value" fields, journald-friendly. Never
 * pass key material, tokens or TA plaintext to these functions.
 */
#ifndef TAM_LOG_H
#define TAM_LOG_H

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

/* fmt is the rest of the line after "time=... level=... ", normally key=value pairs. */
void tam_log(enum tam_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) tam_log(TAM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) tam_log(TAM_LOG_WARN, __VA_ARGS__)
#define log_info(...) tam_log(TAM_LOG_INFO, __VA_ARGS__)
#define log_debug(...) tam_log(TAM_LOG_DEBUG, __VA_ARGS__)

#endif
