// SPDX-License-Identifier: MIT
/*
 * Event log: one line per call on stderr with an ISO-8601 UTC time and the
 * level in front, so journald and log shippers can split fields. The line is
 * built in one buffer and written with one call so threads do not interleave;
 * control characters in it are replaced, so logged peer input stays on its line.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tam/log.h"

static atomic_int log_level = TAM_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
tam_log_set_level(enum tam_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum tam_log_level
tam_log_get_level(void)
{
	return (enum tam_log_level)atomic_load(&log_level);
}

int
tam_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void
tam_log(enum tam_log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if ((int)level > atomic_load(&log_level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* Values may come from peers: no byte of theirs may start a forged line or steer a terminal. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	/* Best effort: a lost log line must never take the daemon down. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
