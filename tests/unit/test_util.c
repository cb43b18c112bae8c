// SPDX-License-Identifier: MIT
/* Unit tests for src/util: encodings, buffers, names, versions, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tam/model.h"
#include "tam/util.h"

static void
test_b64_roundtrip(void **state)
{
	const uint8_t in[] = { 0xfb, 0xff, 0x00, 0x10, 0x3e };
	char *s = NULL;
	uint8_t *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(tam_b64_encode(in, sizeof(in), &s), 0);
	assert_string_equal(s, "+/8AED4=");
	assert_int_equal(tam_b64_decode_any(s, strlen(s), &out, &n), 0);
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(out, in, n);
	free(out);
	free(s);
	assert_int_equal(tam_b64url_encode(in, sizeof(in), &s), 0);
	assert_string_equal(s, "-_8AED4");
	assert_int_equal(tam_b64url_decode(s, strlen(s), &out, &n), 0);
	assert_memory_equal(out, in, sizeof(in));
	free(out);
	/* the lenient decoder takes the url alphabet too */
	assert_int_equal(tam_b64_decode_any(s, strlen(s), &out, &n), 0);
	assert_memory_equal(out, in, sizeof(in));
	free(out);
	free(s);
}

/* The buffer encoder is the allocating one, in both alphabets, for every length modulo 3. */
static void
test_b64_encode_to(void **state)
{
	uint8_t in[40];
	char out[TAM_B64_LEN(sizeof(in))], *want = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 250);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t got = tam_b64_encode_to(in, n, out, false);
		assert_int_equal(tam_b64_encode(in, n, &want), TAM_OK);
		assert_int_equal(got, strlen(want));
		assert_int_equal(got, TAM_B64_LEN(n));
		assert_memory_equal(out, want, got);
		free(want);
		got = tam_b64_encode_to(in, n, out, true);
		assert_int_equal(tam_b64url_encode(in, n, &want), TAM_OK);
		assert_int_equal(got, strlen(want));
		assert_memory_equal(out, want, got);
		free(want);
	}
}

static void
test_b64_rejects(void **state)
{
	uint8_t *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(tam_b64url_decode("ab=c", 4, &out, &n), TAM_EMALFORMED);
	assert_int_equal(tam_b64url_decode("a+bc", 4, &out, &n), TAM_EMALFORMED);
	assert_int_equal(tam_b64url_decode("abcde", 5, &out, &n), TAM_EMALFORMED);
	assert_int_equal(tam_b64_decode_any("ab c", 4, &out, &n), TAM_EMALFORMED);
	assert_int_equal(tam_b64_decode_any("a===", 4, &out, &n), TAM_EMALFORMED);
	assert_int_equal(tam_b64_decode_any("ab=", 3, &out, &n), TAM_EMALFORMED);
	assert_int_equal(tam_b64_decode_any("=abc", 4, &out, &n), TAM_EMALFORMED);
	assert_null(out);
	assert_int_equal(tam_b64url_decode("", 0, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

static void
test_hex(void **state)
{
	const uint8_t in[] = { 0x00, 0xab, 0xcd, 0xef };
	char s[9];
	uint8_t out[4];

	(void)state;
	tam_hex_encode(in, sizeof(in), s);
	assert_string_equal(s, "00abcdef");
	assert_int_equal(tam_hex_decode("00ABcdef", 8, out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(tam_hex_decode("00ABcdeg", 8, out, 4), TAM_EMALFORMED);
	assert_int_equal(tam_hex_decode("00AB", 4, out, 4), TAM_EMALFORMED);
}

static void
test_random_id(void **state)
{
	char a[TAM_RANDOM_ID_LEN], b[TAM_RANDOM_ID_LEN];

	(void)state;
	assert_int_equal(tam_random_id(a), 0);
	assert_int_equal(tam_random_id(b), 0);
	assert_int_equal(strlen(a), 22);
	assert_string_not_equal(a, b);
}

static void
test_buf(void **state)
{
	struct tam_buf b = { 0 };

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(tam_buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3000);
	assert_int_equal(b.data[3000], 0);
	assert_memory_equal(b.data + 2997, "abc", 3);
	tam_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
test_names_and_copy(void **state)
{
	char small[4];

	(void)state;
	assert_true(tam_valid_name("acme.bank-1:x_y", 64));
	assert_false(tam_valid_name("", 64));
	assert_false(tam_valid_name("a b", 64));
	assert_false(tam_valid_name("a/b", 64));
	assert_false(tam_valid_name("abcd", 4));
	assert_true(tam_valid_name("abc", 4));
	assert_int_equal(tam_strlcpy_checked(small, "abc", sizeof(small)), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(tam_strlcpy_checked(small, "abcd", sizeof(small)), TAM_EINVAL);
	/* whole entries of a comma-separated list, never parts of one */
	assert_true(tam_list_has("RS256,ES256", "RS256"));
	assert_true(tam_list_has("RS256,ES256", "ES256"));
	assert_true(tam_list_has("ES256", "ES256"));
	assert_false(tam_list_has("RS256,ES256", "ES25"));
	assert_false(tam_list_has("RS256,ES2567", "ES256"));
	assert_false(tam_list_has("", "RS256"));
	assert_false(tam_list_has("RS256,", ""));
}

static void
test_version_key(void **state)
{
	int64_t a, b, c;

	(void)state;
	assert_int_equal(tam_version_key("1.2", &a), 0);
	assert_int_equal(tam_version_key("1.2.0", &b), 0);
	assert_int_equal(a, b);
	assert_int_equal(tam_version_key("1.10", &c), 0);
	assert_true(c > a);
	assert_int_equal(tam_version_key("2", &c), 0);
	assert_true(c > a);
	assert_int_equal(tam_version_key("", &a), -1);
	assert_int_equal(tam_version_key("1.", &a), -1);
	assert_int_equal(tam_version_key("1..2", &a), -1);
	assert_int_equal(tam_version_key("1.2.3.4", &a), -1);
	assert_int_equal(tam_version_key("65536", &a), -1);
	assert_int_equal(tam_version_key("v1", &a), -1);
	assert_int_equal(tam_version_key("1.2-rc1", &a), -1);
}

static void
test_file_roundtrip(void **state)
{
	char dir[] = "/tmp/tam-util-XXXXXX", path[64];
	uint8_t *data = NULL;
	size_t len = 0;
	struct stat sb;
	struct tam_err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(tam_file_write_atomic(path, "hello", 5, 0600, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(tam_file_read(path, 100, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	assert_int_equal(tam_file_read(path, 4, &data, &len, &err), TAM_ETOO_LARGE);
	assert_null(data);
	unlink(path);
	assert_int_equal(tam_file_read(path, 4, &data, &len, &err), TAM_ENOTFOUND);
	assert_non_null(strstr(err.msg, path));
	rmdir(dir);
}

static void
test_err_names(void **state)
{
	struct tam_err e = { 0 };

	(void)state;
	assert_int_equal(tam_err_set(&e, TAM_ERID_REPLAYED, "rid %s", "x"), TAM_ERID_REPLAYED);
	assert_string_equal(e.msg, "rid x");
	assert_string_equal(tam_err_name(TAM_ERID_REPLAYED), "rid_replayed");
	assert_string_equal(tam_err_name(TAM_EDECRYPT), "decrypt");
	assert_int_equal(tam_err_set(NULL, TAM_EIO, "x"), TAM_EIO);
}

/* Values others parse as fields: bare when plain, else quoted, never a field of their own. */
static void
test_field_value(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(tam_field_value("sp1.sd", out, sizeof(out)), 6);
	assert_string_equal(out, "sp1.sd");
	assert_int_equal(tam_field_value("x spid=sp2", out, sizeof(out)), 12);
	assert_string_equal(out, "\"x spid=sp2\"");
	assert_true(tam_field_value("a\"b\\c\n\x7f", out, sizeof(out)) > 0);
	assert_string_equal(out, "\"a\\\"b\\\\c\\x0a\\x7f\"");
	assert_int_equal(tam_field_value("", out, sizeof(out)), 2);
	assert_string_equal(out, "\"\"");
	/* what does not fit is refused whole, never cut into something else */
	assert_int_equal(tam_field_value("0123456789", out, 10), -1);
	assert_string_equal(out, "");
	assert_int_equal(tam_field_value("\"\"\"\"", out, 8), -1);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_b64_rejects),
		cmocka_unit_test(test_b64_encode_to),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_random_id),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_names_and_copy),
		cmocka_unit_test(test_version_key),
		cmocka_unit_test(test_file_roundtrip),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_field_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
