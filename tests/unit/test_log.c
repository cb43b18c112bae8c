// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/util/log.c: values are logfmt-quoted and escaped so no
 * peer input can add a field or a line, numbers keep their printf meaning,
 * and a request's peer and id end each of its lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/log.h"
#include "tam/util.h"

#define FORGED "x level=error event=audit.forged actor=admin"

/*
 * Split a logfmt line into its keys (as a reader would: a value is bare up to
 * a space, or quoted up to an unescaped quote). Returns the number of keys,
 * -1 if the line is not logfmt.
 */
static int
logfmt_keys(const char *line, char keys[][32], int max)
{
	int n = 0;
	const char *p = line;

	while (*p != '\0') {
		size_t k = strcspn(p, "= ");
		if (p[k] != '=' || k == 0 || k >= 32 || n == max)
			return -1;
		memcpy(keys[n], p, k);
		keys[n++][k] = '\0';
		p += k + 1;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return -1;
				if (*p == '\\' && *++p == '\0')
					return -1;
			}
			p++;
		} else {
			p += strcspn(p, " \"");
			if (*p == '"')
				return -1;
		}
		if (*p == ' ')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return n;
}

static void
expect_keys(const char *line, const char *want)
{
	char keys[16][32], got[256] = "";
	int n = logfmt_keys(line, keys, 16);

	if (n < 0)
		fail_msg("not logfmt: %s", line);
	for (int i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", keys[i]);
	if (strcmp(got, want) != 0)
		fail_msg("keys \"%s\", expected \"%s\" in: %s", got, want, line);
}

static void
test_plain_values_stay_bare(void **state)
{
	char out[256];

	(void)state;
	tam_log_format(out, sizeof(out), "event=otrp.done rid=%s op=%s", "abc-1_2.3", "install_ta");
	assert_string_equal(out, "event=otrp.done rid=abc-1_2.3 op=install_ta");
	tam_log_format(out, sizeof(out), "a=%s b=%s", "", "-");
	assert_string_equal(out, "a=\"\" b=-");
}

static void
test_forged_fields_are_quoted(void **state)
{
	char out[512];

	(void)state;
	/* a bare value with spaces would have added three fields */
	tam_log_format(out, sizeof(out), "event=otrp.state rid=%s", FORGED);
	assert_string_equal(out, "event=otrp.state rid=\"" FORGED "\"");
	expect_keys(out, "event rid");
	/* inside the format's own quotes, a quote of the value cannot close them */
	tam_log_format(out, sizeof(out), "event=http.reject detail=\"%s\" ms=%d",
	    "a\" level=error event=audit.forged actor=\"admin", 3);
	assert_string_equal(out, "event=http.reject detail=\"a\\\" level=error "
	    "event=audit.forged actor=\\\"admin\" ms=3");
	expect_keys(out, "event detail ms");
	/* a quote or backslash makes a value quoted, an = too */
	tam_log_format(out, sizeof(out), "v=%s w=%s x=%s", "a\"b", "c\\", "k=v");
	assert_string_equal(out, "v=\"a\\\"b\" w=\"c\\\\\" x=\"k=v\"");
	expect_keys(out, "v w x");
	/* a trailing backslash cannot escape the closing quote */
	tam_log_format(out, sizeof(out), "d=\"%s\" e=1", "tail\\");
	assert_string_equal(out, "d=\"tail\\\\\" e=1");
	expect_keys(out, "d e");
}

static void
test_control_bytes_are_escaped(void **state)
{
	char out[512];

	(void)state;
	tam_log_format(out, sizeof(out), "name=%s", "t\nlevel=error\r\tx\x1b[31m\x7f\xc3\xa9");
	assert_string_equal(out, "name=\"t\\nlevel=error\\r\\tx\\x1b[31m\\x7f\\xc3\\xa9\"");
	assert_null(strchr(out, '\n'));
	tam_log_format(out, sizeof(out), "detail=\"%s\"", "one\ntwo");
	assert_string_equal(out, "detail=\"one\\ntwo\"");
	expect_keys(out, "detail");
}

static void
test_numbers_and_precision(void **state)
{
	char out[256];

	(void)state;
	tam_log_format(out, sizeof(out), "a=%d b=%u c=%zu d=%lld e=%ld f=%llu g=%x h=%05d i=%.3s j=%%",
	    -1, 2u, (size_t)3, -4LL, 5L, 6ULL, 255, 7, "abcdef");
	assert_string_equal(out, "a=-1 b=2 c=3 d=-4 e=5 f=6 g=ff h=00007 i=abc j=%");
	/* the precision bounds what is read of the value, escaping what it keeps */
	tam_log_format(out, sizeof(out), "k=%.4s", "a b\"cdef");
	assert_string_equal(out, "k=\"a b\\\"\"");
	tam_log_format(out, sizeof(out), "l=%*d m=%.*s", 3, 9, 2, "xyz");
	assert_string_equal(out, "l=\"  9\" m=xy");
}

static void
test_scope_names_the_peer(void **state)
{
	char out[256];

	(void)state;
	tam_log_scope_set("127.0.0.1", "r-1");
	tam_log_format(out, sizeof(out), "event=x rid=%s", FORGED);
	assert_string_equal(out, "event=x rid=\"" FORGED "\" peer=127.0.0.1 request_id=r-1");
	expect_keys(out, "event rid peer request_id");
	tam_log_scope_set(NULL, NULL);
	tam_log_format(out, sizeof(out), "event=x");
	assert_string_equal(out, "event=x peer=- request_id=\"\"");
	tam_log_scope_clear();
	tam_log_format(out, sizeof(out), "event=x");
	assert_string_equal(out, "event=x");
}

/* A value longer than the line is cut inside its quotes, and the scope still ends the line. */
static void
test_long_values_are_cut_cleanly(void **state)
{
	char out[TAM_LOG_LINE_MAX], *big = malloc(3 * TAM_LOG_LINE_MAX);

	(void)state;
	assert_non_null(big);
	memset(big, '"', 3 * TAM_LOG_LINE_MAX - 1);
	big[3 * TAM_LOG_LINE_MAX - 1] = '\0';
	tam_log_scope_set("::1", "r-2");
	assert_true(tam_log_format(out, sizeof(out), "event=x v=%s w=\"%s\" n=%d", big, big, 1) <
	    (int)sizeof(out));
	tam_log_scope_clear();
	expect_keys(out, "event v peer request_id");
	assert_non_null(strstr(out, "\" peer=::1 request_id=r-2"));
	free(big);
}

/* The whole line as written to stderr: one line, whatever the value holds. */
static void
test_one_event_one_line(void **state)
{
	char path[] = "/tmp/test_log.XXXXXX", *nl;
	uint8_t *data = NULL;
	size_t len = 0;
	int fd, saved;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	tam_log_scope_set("127.0.0.1", "r-3");
	log_warn("event=otrp.tee_fail reason=%s", "E\nlevel=error event=audit.forged actor=admin");
	tam_log_scope_clear();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	assert_int_equal(tam_file_read(path, 1 << 16, &data, &len, NULL), 0);
	unlink(path);
	nl = memchr(data, '\n', len);
	assert_non_null(nl);
	assert_int_equal((size_t)(nl - (char *)data) + 1, len);
	*nl = '\0';
	expect_keys(strstr((char *)data, "level="), "level event reason peer request_id");
	assert_non_null(strstr((char *)data, " reason=\"E\\nlevel=error event=audit.forged "
	    "actor=admin\" peer=127.0.0.1 request_id=r-3"));
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_values_stay_bare),
		cmocka_unit_test(test_forged_fields_are_quoted),
		cmocka_unit_test(test_control_bytes_are_escaped),
		cmocka_unit_test(test_numbers_and_precision),
		cmocka_unit_test(test_scope_names_the_peer),
		cmocka_unit_test(test_long_values_are_cut_cleanly),
		cmocka_unit_test(test_one_event_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
