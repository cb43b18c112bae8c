// SPDX-License-Identifier: MIT
/*
 * Unit tests for the configuration: defaults, the shipped example file,
 * every kind of error with file, line and key, overrides, cross-key checks
 * and the reload diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tam/config.h"

static int
parse(const char *text, struct tam_config *c, struct tam_err *err)
{
	tam_config_defaults(c);
	return tam_config_parse(text, strlen(text), "test.conf", c, err);
}

static void
expect_error(const char *text, const char *needle)
{
	struct tam_config c;
	struct tam_err err = { 0 };

	assert_int_equal(parse(text, &c, &err), TAM_EUSAGE);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void
test_defaults(void **state)
{
	struct tam_config c;

	(void)state;
	tam_config_defaults(&c);
	assert_string_equal(c.otrp_address, "127.0.0.1");
	assert_int_equal(c.otrp_port, 8080);
	assert_string_equal(c.otrp_path, "/tam");
	assert_int_equal(c.max_body, 1u << 20);
	assert_int_equal(c.request_ttl, 300);
	assert_true(c.auto_register);
	assert_int_equal(c.log_level, 2);
	assert_int_equal(tam_config_validate(&c, NULL), 0);
}

/* The shipped example holds every key, with its default, in its section. */
static void
test_shipped_file_documents_every_key(void **state)
{
	const char *b = getenv("TAM_BUILD_DIR");
	struct tam_config dflt, c;
	struct tam_err err = { 0 };
	const struct tam_config_key *k;
	char path[512], want[512], diff[2048];
	uint8_t *text = NULL;
	size_t len = 0, n;
	bool restart;

	(void)state;
	snprintf(path, sizeof(path), "%s/../conf/otrp-tamd.conf", b != NULL ? b : "build");
	assert_int_equal(tam_file_read(path, 1 << 16, &text, &len, &err), 0);
	tam_config_defaults(&dflt);
	c = dflt;
	assert_int_equal(tam_config_parse((char *)text, len, path, &c, &err), 0);
	tam_config_diff(&dflt, &c, diff, sizeof(diff), &restart);
	assert_string_equal(diff, "");
	k = tam_config_keys(&n);
	for (size_t i = 0; i < n; i++) {
		const char *sec;
		snprintf(want, sizeof(want), "[%s]\n", k[i].section);
		sec = strstr((char *)text, want);
		assert_non_null(sec);
		snprintf(want, sizeof(want), "\n%s =%s%s\n", k[i].name, k[i].def[0] ? " " : "", k[i].def);
		if (strstr(sec, want) == NULL)
			fail_msg("%s.%s: no line \"%s = %s\" in %s", k[i].section, k[i].name, k[i].name,
			    k[i].def, path);
		assert_true(strlen(k[i].help) > 10);
	}
	free(text);
}

static void
test_values(void **state)
{
	struct tam_config c;
	struct tam_err err = { 0 };

	(void)state;
	assert_int_equal(parse("# comment\n; another\n[otrp]\nlisten = ::1\nport=0\n\n"
	    "[limits]\nmax_body = 64K\nrequest_ttl = 5\n[trust]\nauto_register = Off\n"
	    "[log]\nlevel = debug\n[database]\npath = /tmp/x y.db\n", &c, &err), 0);
	assert_string_equal(c.otrp_address, "::1");
	assert_int_equal(c.otrp_port, 0);
	assert_int_equal(c.max_body, 65536);
	assert_int_equal(c.request_ttl, 5);
	assert_false(c.auto_register);
	assert_int_equal(c.log_level, 3);
	assert_string_equal(c.db_path, "/tmp/x y.db");
}

static void
test_errors_name_file_line_key(void **state)
{
	char longline[1200];

	(void)state;
	expect_error("[otrp]\nlisten = 127.0.0.1\nbogus = 1\n", "test.conf:3: unknown key \"bogus\" in [otrp]");
	expect_error("[nosuch]\nport = 1\n", "test.conf:2: unknown key \"port\" in [nosuch]");
	expect_error("port = 1\n", "test.conf:1: key \"port\" outside any [section]");
	expect_error("[otrp]\nport = 1\nport = 2\n", "test.conf:3: otrp.port: set twice");
	expect_error("[otrp]\nport = 70000\n", "test.conf:2: otrp.port:");
	expect_error("[otrp]\nport = -1\n", "otrp.port");
	expect_error("[otrp]\nport = 80x\n", "otrp.port");
	expect_error("[otrp]\nlisten = localhost\n", "test.conf:2: otrp.listen: \"localhost\" is not a numeric IP address");
	expect_error("[otrp]\npath = tam\n", "otrp.path: must start with /");
	expect_error("[limits]\nmax_body = 1T\n", "limits.max_body");
	expect_error("[limits]\nmax_body = 2G\n", "limits.max_body");
	expect_error("[limits]\nthreads = 0\n", "limits.threads");
	expect_error("[trust]\nauto_register = maybe\n", "trust.auto_register: \"maybe\" is not yes or no");
	expect_error("[log]\nlevel = loud\n", "log.level");
	expect_error("[otrp]\njust words\n", "test.conf:2: not a [section]");
	expect_error("[otrp]\nlisten = 127.0.0.1\n  continued\n", "test.conf:3");
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "[otrp]\npath = /", 15);
	longline[sizeof(longline) - 1] = '\0';
	expect_error(longline, "test.conf:2: line longer than");
	{
		struct tam_config c;
		struct tam_err err = { 0 };
		const char nul[] = "[otrp]\nport = 1\0\n";
		tam_config_defaults(&c);
		assert_int_equal(tam_config_parse(nul, sizeof(nul) - 1, "n.conf", &c, &err), TAM_EUSAGE);
		assert_non_null(strstr(err.msg, "n.conf:2: NUL byte"));
	}
}

static void
test_load_missing(void **state)
{
	struct tam_config c;
	struct tam_err err = { 0 };

	(void)state;
	tam_config_defaults(&c);
	assert_int_equal(tam_config_load("/nonexistent/otrp.conf", &c, &err), TAM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/otrp.conf"));
}

static void
test_set_validate_diff(void **state)
{
	struct tam_config a, b;
	struct tam_err err = { 0 };
	char diff[1024];
	bool restart;

	(void)state;
	tam_config_defaults(&a);
	b = a;
	assert_int_equal(tam_config_set(&b, "log.level", "debug", &err), 0);
	assert_int_equal(tam_config_set(&b, "limits.max_body", "2M", &err), 0);
	tam_config_diff(&a, &b, diff, sizeof(diff), &restart);
	assert_false(restart);
	assert_non_null(strstr(diff, "log.level: \"info\" -> \"debug\""));
	assert_non_null(strstr(diff, "limits.max_body: \"1048576\" -> \"2097152\""));
	assert_int_equal(tam_config_set(&b, "otrp.port", "9000", &err), 0);
	tam_config_diff(&a, &b, diff, sizeof(diff), &restart);
	assert_true(restart);
	assert_non_null(strstr(diff, "otrp.port: \"8080\" -> \"9000\" (needs restart)"));
	assert_int_equal(tam_config_set(&b, "otrp.nope", "1", &err), TAM_EUSAGE);
	assert_int_equal(tam_config_set(&b, "nodot", "1", &err), TAM_EUSAGE);

	assert_int_equal(tam_config_set(&b, "otrp.tls_cert", "/c.pem", &err), 0);
	assert_int_equal(tam_config_validate(&b, &err), TAM_EUSAGE);
	assert_non_null(strstr(err.msg, "otrp.tls_key"));
	assert_int_equal(tam_config_set(&b, "otrp.tls_key", "/k.pem", &err), 0);
	assert_int_equal(tam_config_validate(&b, &err), 0);
	assert_int_equal(tam_config_set(&b, "identity.key", "/k.pem", &err), 0);
	assert_int_equal(tam_config_validate(&b, &err), TAM_EUSAGE);
	assert_non_null(strstr(err.msg, "identity.cert"));
	assert_int_equal(tam_config_set(&b, "identity.key", "", &err), 0);
	assert_int_equal(tam_config_set(&b, "otrp.tls_client_crl", "/b.crl", &err), 0);
	assert_int_equal(tam_config_validate(&b, &err), TAM_EUSAGE);
	assert_non_null(strstr(err.msg, "otrp.tls_client_crl needs otrp.tls_client_ca"));
	assert_int_equal(tam_config_set(&b, "otrp.tls_client_ca", "/b.pem", &err), 0);
	assert_int_equal(tam_config_validate(&b, &err), 0);

	/* trust.tee_eku: dotted numbers only, never a name */
	static const char *const bad_oids[] = { "clientAuth", "3.1", "1", "1.", "1..2", ".1.2",
		"1.2.x", "1.02", "1.2 ", "01.2" };
	for (size_t i = 0; i < sizeof(bad_oids) / sizeof(bad_oids[0]); i++) {
		assert_int_equal(tam_config_set(&b, "trust.tee_eku", bad_oids[i], &err), 0);
		assert_int_equal(tam_config_validate(&b, &err), TAM_EUSAGE);
		assert_non_null(strstr(err.msg, "trust.tee_eku"));
	}
	assert_int_equal(tam_config_set(&b, "trust.tee_eku", "1.3.6.1.4.1.55555.7.1", &err), 0);
	assert_int_equal(tam_config_validate(&b, &err), 0);
	tam_config_diff(&a, &b, diff, sizeof(diff), &restart);
	assert_non_null(strstr(diff, "trust.tee_eku: \"\" -> \"1.3.6.1.4.1.55555.7.1\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_shipped_file_documents_every_key),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_name_file_line_key),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_set_validate_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
