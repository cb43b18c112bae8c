// SPDX-License-Identifier: MIT
/*
 * Event log: one logfmt line per call on stderr with an ISO-8601 UTC time and
 * the level in front, so journald and log shippers can split fields. Every
 * %s value is formatted here, not by the caller: a value that is not a plain
 * token is quoted, and inside quotes \ " and every byte outside printable
 * ASCII are escaped, so peer input can neither add a field nor start a line.
 * A thread serving a request adds its peer and request id to each line. The
 * line is built in one buffer and written with one call so threads do not
 * interleave.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tam/log.h"

static atomic_int log_level = TAM_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* The request this thread is serving: its lines say who asked. */
static _Thread_local struct {
	char peer[TAM_LOG_PEER_MAX];      /* client address, "" outside a request */
	char request_id[TAM_LOG_ID_MAX];  /* X-Request-Id of the request */
} scope;

/* A line being built. Once something did not fit, nothing more is added but closing quotes. */
struct line {
	char *buf;
	size_t cap;                       /* bytes of buf, the NUL included */
	size_t size;                      /* room for ordinary bytes; cap less what is held back */
	size_t n;                         /* bytes written */
	bool cut;                         /* something did not fit */
};

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
tam_log_scope_set(const char *peer, const char *request_id)
{
	snprintf(scope.peer, sizeof(scope.peer), "%s", peer != NULL && peer[0] ? peer : "-");
	snprintf(scope.request_id, sizeof(scope.request_id), "%s",
	    request_id != NULL ? request_id : "");
}

void
tam_log_scope_clear(void)
{
	scope.peer[0] = '\0';
	scope.request_id[0] = '\0';
}

static bool
room(const struct line *l, size_t k)
{
	return !l->cut && l->n + k < l->size;
}

static void
put_bytes(struct line *l, const char *s, size_t k)
{
	if (!room(l, k)) {
		l->cut = true;
		return;
	}
	memcpy(l->buf + l->n, s, k);
	l->n += k;
	l->buf[l->n] = '\0';
}

/* A closing quote, into the byte held back for it. */
static void
put_close(struct line *l)
{
	if (l->n + 1 < l->cap) {
		l->buf[l->n++] = '"';
		l->buf[l->n] = '\0';
	}
}

/* A byte a logfmt reader takes as part of a bare value. */
static bool
bare_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

/* s[0..n) escaped for a double-quoted value; stops at the first escape that does not fit. */
static void
put_escaped(struct line *l, const char *s, size_t n)
{
	char esc[5];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' || c == '"')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\r')
			snprintf(esc, sizeof(esc), "\\r");
		else if (c == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (c < 0x20 || c >= 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		put_bytes(l, esc, strlen(esc));
		if (l->cut)
			return;
	}
}

/*
 * A %s value: inside a quoted part of the format it is escaped; elsewhere it
 * stays bare when it is a plain token and is quoted and escaped otherwise.
 */
static void
put_value(struct line *l, const char *s, size_t max, bool quoted)
{
	size_t n = s != NULL ? strnlen(s, max) : 0;
	bool bare = n > 0;

	if (s == NULL)
		s = "";
	for (size_t i = 0; i < n && bare; i++)
		bare = bare_byte((unsigned char)s[i]);
	if (bare || quoted) {
		if (bare && !quoted)
			put_bytes(l, s, n);
		else
			put_escaped(l, s, n);
		return;
	}
	/* Our own quotes: the closing one gets a byte held back, so it is never cut off. */
	if (!room(l, 2)) {
		l->cut = true;
		return;
	}
	put_bytes(l, "\"", 1);
	l->size--;
	put_escaped(l, s, n);
	l->size++;
	put_close(l);
}

/* One printf conversion, as parsed from the format. */
struct spec {
	char text[48];                    /* "%-08.3lld" with '*' replaced by numbers */
	char conv;                        /* 's', 'd', ... */
	char len[3];                      /* "", "h", "hh", "l", "ll", "z", "j", "t", "L" */
	int prec;                         /* -1 if none */
};

/* Parse the conversion at fmt (just past '%'); returns the bytes it spans, 0 if unknown. */
static size_t
parse_spec(const char *fmt, struct spec *sp, va_list *ap)
{
	const char *p = fmt;
	size_t t = 1;

	memset(sp, 0, sizeof(*sp));
	sp->text[0] = '%';
	sp->prec = -1;
	while (*p != '\0' && strchr("-+ #0", *p) != NULL && t < 8)
		sp->text[t++] = *p++;
	if (*p == '*') {
		t += (size_t)snprintf(sp->text + t, 12, "%d", va_arg(*ap, int));
		p++;
	}
	while (*p >= '0' && *p <= '9' && t < 16)
		sp->text[t++] = *p++;
	if (*p == '.') {
		p++;
		sp->prec = *p == '*' ? va_arg(*ap, int) : (int)strtol(p, NULL, 10);
		for (p += *p == '*'; *p >= '0' && *p <= '9'; p++)
			;
		t += (size_t)snprintf(sp->text + t, 13, ".%d", sp->prec < 0 ? 0 : sp->prec);
	}
	for (size_t k = 0; k < 2 && *p != '\0' && strchr("hlzjtL", *p) != NULL; k++)
		sp->len[k] = sp->text[t++] = *p++;
	if (*p == '\0' || strchr("sdiuxXocpfFeEgG", *p) == NULL)
		return 0;
	sp->conv = sp->text[t++] = *p++;
	sp->text[t] = '\0';
	return (size_t)(p - fmt);
}

/* Take a numeric argument of sp's type off ap and print it. */
static int
fmt_number(char *out, size_t size, const struct spec *sp, va_list *ap)
{
	const char *f = sp->text, *lm = sp->len;
	bool sig = strchr("di", sp->conv) != NULL;

	if (sp->conv == 'p')
		return snprintf(out, size, f, va_arg(*ap, void *));
	if (strchr("fFeEgG", sp->conv) != NULL)
		return strcmp(lm, "L") == 0 ? snprintf(out, size, f, va_arg(*ap, long double)) :
		    snprintf(out, size, f, va_arg(*ap, double));
	if (strcmp(lm, "ll") == 0)
		return sig ? snprintf(out, size, f, va_arg(*ap, long long)) :
		    snprintf(out, size, f, va_arg(*ap, unsigned long long));
	if (strcmp(lm, "l") == 0)
		return sig ? snprintf(out, size, f, va_arg(*ap, long)) :
		    snprintf(out, size, f, va_arg(*ap, unsigned long));
	if (strcmp(lm, "z") == 0)
		return snprintf(out, size, f, va_arg(*ap, size_t));
	if (strcmp(lm, "j") == 0)
		return sig ? snprintf(out, size, f, va_arg(*ap, intmax_t)) :
		    snprintf(out, size, f, va_arg(*ap, uintmax_t));
	if (strcmp(lm, "t") == 0)
		return snprintf(out, size, f, va_arg(*ap, ptrdiff_t));
	/* char and short arrive promoted to int */
	return sig ? snprintf(out, size, f, va_arg(*ap, int)) :
	    snprintf(out, size, f, va_arg(*ap, unsigned));
}

/* The conversion sp: a string or character is a value, anything else is a number. */
static void
put_conversion(struct line *l, const struct spec *sp, bool quoted, va_list *ap)
{
	char num[64];
	int k;

	if (sp->conv == 's') {
		put_value(l, va_arg(*ap, const char *), sp->prec >= 0 ? (size_t)sp->prec : SIZE_MAX,
		    quoted);
		return;
	}
	if (sp->conv == 'c') {
		num[0] = (char)va_arg(*ap, int);
		put_value(l, num, 1, quoted);
		return;
	}
	k = fmt_number(num, sizeof(num), sp, ap);
	if (k > 0)
		put_value(l, num, (size_t)k, quoted);
}

static void
format_fields(struct line *l, const char *fmt, va_list *ap)
{
	bool quoted = false;           /* between the format's own double quotes */
	struct spec sp;
	size_t k;

	/* One byte held back for the format's closing quote, should the line be cut inside. */
	l->size--;
	for (const char *p = fmt; *p != '\0' && !l->cut;) {
		if (*p != '%') {
			if (*p == '"')
				quoted = !quoted;
			put_bytes(l, p++, 1);
			continue;
		}
		if (p[1] == '%') {
			put_bytes(l, "%", 1);
			p += 2;
			continue;
		}
		/* An unknown conversion ends the line: its argument's type cannot be guessed. */
		if ((k = parse_spec(p + 1, &sp, ap)) == 0)
			break;
		put_conversion(l, &sp, quoted, ap);
		p += 1 + k;
	}
	l->size++;
	if (l->cut && quoted)
		put_close(l);
}

int
tam_log_vformat(char *out, size_t size, const char *fmt, va_list ap)
{
	struct line l = { out, size, size, 0, false };
	va_list cp;

	if (size < 2)
		return -1;
	out[0] = '\0';
	/* The scope's fields come last, so keep room for them whatever the values take. */
	if (size > TAM_LOG_SCOPE_ROOM * 2)
		l.size = size - TAM_LOG_SCOPE_ROOM;
	va_copy(cp, ap);
	format_fields(&l, fmt, &cp);
	va_end(cp);
	l.size = size;
	l.cut = false;
	if (scope.peer[0] != '\0') {
		put_bytes(&l, " peer=", 6);
		put_value(&l, scope.peer, sizeof(scope.peer), false);
		put_bytes(&l, " request_id=", 12);
		put_value(&l, scope.request_id, sizeof(scope.request_id), false);
	}
	return (int)l.n;
}

int
tam_log_format(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = tam_log_vformat(out, size, fmt, ap);
	va_end(ap);
	return n;
}

void
tam_log(enum tam_log_level level, const char *fmt, ...)
{
	char line[TAM_LOG_LINE_MAX];
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
	m = tam_log_vformat(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	/* The values are escaped already; this only guards against a format that is not. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	/* Best effort: a lost log line must never take the daemon down. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
