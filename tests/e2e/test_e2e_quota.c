// SPDX-License-Identifier: MIT
/*
 * Per-SP storage quotas end to end: one tenant cannot fill the TAM's disk.
 * Past limits.sp_quota_versions or limits.sp_quota_bytes an upload gets 507
 * naming the quota (before its body is read when it announces its length),
 * nothing is stored, the same bytes again still answer 200, and another SP
 * is not held to the first one's usage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2e.h"

#define TA2 "0badc0de-0000-4000-8000-0000000000b2"

static struct e2e_env env;
static char sp1[256], sp2[256];

static int
group_setup(void **state)
{
	(void)state;
	if (e2e_setup(&env) != 0 || e2e_pki_issue(&env, "sp", "sp2") != 0 ||
	    e2e_ctl(&env, "sp add sp2 %s/sp/sp2.crt >/dev/null", env.pki) != 0 ||
	    e2e_ctl_out(&env, sp1, sizeof(sp1), "token create --role sp:sp1 2>/dev/null") != 0 ||
	    e2e_ctl_out(&env, sp2, sizeof(sp2), "token create --role sp:sp2 2>/dev/null") != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/* A signed bundle of size bytes by SP key (sp1, sp2), into out. */
static void
bundle(const char *key, size_t size, unsigned seed, char *out, size_t outlen)
{
	char bin[400];
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/q-%s-%zu-%u.bin", env.dir, key, size, seed);
	snprintf(out, outlen, "%s/q-%s-%zu-%u.jws", env.dir, key, size, seed);
	assert_non_null(f = fopen(bin, "wb"));
	for (size_t i = 0; i < size; i++)
		fputc((int)((i * 7 + seed) & 0xff), f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/%s.key %s %s", env.pki, key, bin, out),
	    0);
}

/* Upload file as version of taid under spid; the status, and the problem's code and detail. */
static long
upload(const char *token, const char *spid, const char *taid, const char *version,
    const char *file, bool chunked, char *why, size_t whylen)
{
	struct e2e_resp r = { 0 };
	char path[300];
	long status;

	snprintf(path, sizeof(path), "/api/v1/sps/%s/tas/%s/versions?version=%s", spid, taid,
	    version);
	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "POST", .path = path,
	    .token = token, .content_type = "application/jose", .upload_file = file,
	    .chunked = chunked }, &r), 0);
	status = r.status;
	snprintf(why, whylen, "%s|%s", r.json != NULL ? json_string_value(json_object_get(r.json,
	    "code")) : "", r.json != NULL ? json_string_value(json_object_get(r.json, "detail")) : "");
	e2e_resp_clear(&r);
	return status;
}

static void
restart(const char *bytes, const char *versions)
{
	char b[64], v[64];
	const char *args[] = { "-o", b, "-o", v, NULL };

	if (env.tamd > 0)
		assert_int_equal(e2e_stop(&env), 0);
	snprintf(b, sizeof(b), "limits.sp_quota_bytes=%s", bytes);
	snprintf(v, sizeof(v), "limits.sp_quota_versions=%s", versions);
	assert_int_equal(e2e_start(&env, args), 0);
}

static long long
versions_of(const char *spid)
{
	char sql[200];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM ta_versions v JOIN tas t ON t.id = v.ta_id"
	    " JOIN sps s ON s.id = t.sp_id WHERE s.spid = '%s'", spid);
	return e2e_db_scalar(&env, sql);
}

static void
test_version_quota(void **state)
{
	char f11[400], f12[400], why[600];

	(void)state;
	restart("0", "3");
	/* sp1 holds 1.0 from the setup: two more fit */
	bundle("sp1", 1000, 11, f11, sizeof(f11));
	bundle("sp1", 1000, 12, f12, sizeof(f12));
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "1.1", f11, false, why, sizeof(why)), 201);
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "1.2", f12, false, why, sizeof(why)), 201);
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "1.3", f12, false, why, sizeof(why)), 507);
	assert_non_null(strstr(why, "tam.upload.quota_exceeded|"));
	assert_non_null(strstr(why, "limits.sp_quota_versions"));
	assert_int_equal(versions_of("sp1"), 3);
	/* the same version with the same bytes is no new storage */
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "1.2", f12, false, why, sizeof(why)), 200);
	/* sp2 has a quota of its own */
	bundle("sp2", 1000, 21, f11, sizeof(f11));
	assert_int_equal(upload(sp2, "sp2", TA2, "1.0", f11, false, why, sizeof(why)), 201);
}

static void
test_byte_quota(void **state)
{
	char small[400], big[400], why[600], quota[32];
	long long used = e2e_db_scalar(&env, "SELECT sum(v.size) FROM ta_versions v JOIN tas t"
	    " ON t.id = v.ta_id JOIN sps s ON s.id = t.sp_id WHERE s.spid = 'sp1'");

	(void)state;
	bundle("sp1", 2000, 31, small, sizeof(small));
	bundle("sp1", 8000, 32, big, sizeof(big));
	/* room for the small bundle, not for the big one */
	snprintf(quota, sizeof(quota), "%lld", used + 5000);
	restart(quota, "0");
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "2.0", big, false, why, sizeof(why)), 507);
	assert_non_null(strstr(why, "limits.sp_quota_bytes"));
	/* without a length, refused once it has all arrived: still nothing stored */
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "2.0", big, true, why, sizeof(why)), 507);
	assert_non_null(strstr(why, "limits.sp_quota_bytes"));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_versions WHERE version ="
	    " '2.0'"), 0);
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "2.0", small, true, why, sizeof(why)), 201);
	/* sp2's uploads go on */
	bundle("sp2", 8000, 33, big, sizeof(big));
	assert_int_equal(upload(sp2, "sp2", TA2, "1.1", big, false, why, sizeof(why)), 201);
}

/* Personalization data is the SP's storage too. */
static void
test_pdata_counts(void **state)
{
	static char data[4096];
	struct e2e_resp r = { 0 };
	char quota[32];
	long long used = e2e_db_scalar(&env, "SELECT sum(v.size + coalesce(v.pdata_size, 0))"
	    " FROM ta_versions v JOIN tas t ON t.id = v.ta_id JOIN sps s ON s.id = t.sp_id"
	    " WHERE s.spid = 'sp1'");

	(void)state;
	memset(data, 'p', sizeof(data));
	snprintf(quota, sizeof(quota), "%lld", used + 1000);
	restart(quota, "0");
	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "PUT",
	    .path = "/api/v1/tas/" E2E_TAID "/versions/2.0/pdata", .token = sp1,
	    .content_type = "application/octet-stream", .body = data, .len = sizeof(data) }, &r), 0);
	assert_int_equal(r.status, 507);
	assert_string_equal(json_string_value(json_object_get(r.json, "code")),
	    "tam.upload.quota_exceeded");
	e2e_resp_clear(&r);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_versions WHERE pdata_size"
	    " IS NOT NULL"), 0);
	/* what fits is stored, and counted */
	assert_int_equal(e2e_api(&env, &(struct e2e_req){ .method = "PUT",
	    .path = "/api/v1/tas/" E2E_TAID "/versions/2.0/pdata", .token = sp1,
	    .content_type = "application/octet-stream", .body = data, .len = 900 }, &r), 0);
	assert_true(r.status == 200 || r.status == 201 || r.status == 204);
	e2e_resp_clear(&r);
	bundle("sp1", 200, 41, data, sizeof(data));
	assert_int_equal(upload(sp1, "sp1", E2E_TAID, "2.1", data, false, quota, sizeof(quota)),
	    507);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_quota),
		cmocka_unit_test(test_byte_quota),
		cmocka_unit_test(test_pdata_counts),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
