// SPDX-License-Identifier: MIT
/*
 * End-to-end tests of the streamed TA upload on a real otrp-tamd: a 64 MiB
 * TA within a memory bound (the daemon's peak RSS is measured), signatures
 * and digests checked before anything is stored, bodies cut short or over
 * the limit, and concurrent uploads of one version of which exactly one wins.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "e2e.h"

#define TA "5b5b5b5b-0000-4000-8000-000000000005"
#define UPLOAD "/api/v1/sps/sp1/tas/" TA "/versions"
/*
 * What the daemon may add to its peak RSS while a 64 MiB TA (an 85 MiB
 * bundle) streams through it: pieces of the body, SQLite's page cache and
 * the spool files' page-cache pages do not count towards RSS. A daemon that
 * held the body would exceed it by far.
 */
#define RSS_BOUND_KB (32 * 1024)

static struct e2e_env env;
static char admin[128];

static int
group_setup(void **state)
{
	char out[128];

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (e2e_setup(&env) != 0 ||
	    e2e_ctl_out(&env, out, sizeof(out), "token create --role sp:sp1 2>/dev/null") != 0)
		return -1;
	snprintf(admin, sizeof(admin), "%s", out);
	return e2e_start(&env, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	if (e2e_group_end(&env) != 0)
		return -1;
	curl_global_cleanup();
	return 0;
}

/* A compact bundle of size bytes of TA (a pattern plus seed), signed by pki's SP key. */
static void
make_bundle(const char *pki, size_t size, unsigned seed, char *out, size_t outlen)
{
	char bin[400];
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/ta-%zu-%u.bin", env.dir, size, seed);
	snprintf(out, outlen, "%s/ta-%zu-%u.jws", env.dir, size, seed);
	assert_non_null(f = fopen(bin, "wb"));
	for (size_t i = 0; i < size; i++)
		fputc((int)((i * 131 + seed) & 0xff), f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(e2e_ctl(&env, "ta sign --key %s/sp/sp1.key %s %s", pki, bin, out), 0);
}

static long
upload(const char *version, const char *file, const char *const *headers, bool chunked,
    struct e2e_resp *r)
{
	char path[256];
	struct e2e_req req = { "POST", path, admin, "application/jose", NULL, 0, file, headers,
		chunked };

	snprintf(path, sizeof(path), UPLOAD "?version=%s", version);
	if (e2e_api(&env, &req, r) != 0)
		return 0;
	return r->status;
}

static const char *
code_of(const struct e2e_resp *r)
{
	const char *c = json_string_value(json_object_get(r->json, "code"));

	return c != NULL ? c : "";
}

static long long
versions_stored(void)
{
	return e2e_db_scalar(&env, "SELECT count(*) FROM ta_versions v JOIN tas t ON t.id = v.ta_id"
	    " WHERE t.taid = '" TA "'");
}

static void
test_large_ta_bounded_memory(void **state)
{
	char small[400], big[400], hdr[128];
	const char *headers[] = { hdr, NULL };
	struct e2e_resp r;
	long before, after;
	uint8_t digest[32];
	char *b64 = NULL;
	EVP_MD_CTX *md;
	unsigned dl = 0;

	(void)state;
	/* warm up: the first upload sets up the connection, threads and SQLite */
	make_bundle(env.pki, 1000, 1, small, sizeof(small));
	assert_int_equal(upload("0.1", small, NULL, false, &r), 201);
	e2e_resp_clear(&r);
	make_bundle(env.pki, 64u << 20, 2, big, sizeof(big));
	/* announce the digest, streamed from the file */
	FILE *f = fopen(big, "rb");
	uint8_t buf[65536];
	size_t n;
	assert_non_null(f);
	assert_non_null(md = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(EVP_DigestUpdate(md, buf, n), 1);
	fclose(f);
	assert_int_equal(EVP_DigestFinal_ex(md, digest, &dl), 1);
	EVP_MD_CTX_free(md);
	assert_int_equal(tam_b64_encode(digest, 32, &b64), 0);
	snprintf(hdr, sizeof(hdr), "Content-Digest: sha-256=:%s:", b64);
	free(b64);

	before = e2e_tamd_peak_rss_kb(&env);
	assert_true(before > 0);
	assert_int_equal(upload("1.0", big, headers, false, &r), 201);
	after = e2e_tamd_peak_rss_kb(&env);
	fprintf(stderr, "peak RSS before %ld kB, after a 64 MiB TA %ld kB (+%ld kB, bound %d kB)\n",
	    before, after, after - before, RSS_BOUND_KB);
	assert_true(after - before < RSS_BOUND_KB);
	assert_true(json_integer_value(json_object_get(r.json, "size")) > (64 << 20));
	e2e_resp_clear(&r);
	/* stored whole: the database holds the bundle's digest */
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM ta_versions v"
	    " JOIN ta_blobs b ON b.version_id = v.id AND b.kind = 'bundle'"
	    " JOIN ta_blobs e ON e.version_id = v.id AND e.kind = 'enc_ta'"
	    " WHERE v.version = '1.0' AND length(b.data) > 67108864 AND length(e.data) >= length(b.data)"),
	    1);
	/* chunked (no Content-Length) streams the same way */
	before = e2e_tamd_peak_rss_kb(&env);
	assert_int_equal(upload("1.1", big, NULL, true, &r), 201);
	after = e2e_tamd_peak_rss_kb(&env);
	assert_true(after - before < RSS_BOUND_KB);
	e2e_resp_clear(&r);
	unlink(big);
}

static void
test_refused_uploads(void **state)
{
	char good[400], other_sp[400], hdr[160];
	const char *headers[] = { hdr, NULL };
	struct e2e_resp r;
	long long n0 = versions_stored();

	(void)state;
	make_bundle(env.pki, 5000, 3, good, sizeof(good));
	make_bundle(env.pki2, 5000, 33, other_sp, sizeof(other_sp));
	/* a signature by another key */
	assert_int_equal(upload("2.0", other_sp, NULL, false, &r), 422);
	assert_string_equal(code_of(&r), "tam.ta.signature_invalid");
	e2e_resp_clear(&r);
	/* digests that do not match, in each accepted form */
	snprintf(hdr, sizeof(hdr), "Content-Digest: sha-256=:%s:",
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	assert_int_equal(upload("2.0", good, headers, false, &r), 400);
	assert_string_equal(code_of(&r), "tam.upload.digest_mismatch");
	e2e_resp_clear(&r);
	snprintf(hdr, sizeof(hdr), "Digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	assert_int_equal(upload("2.0", good, headers, false, &r), 400);
	e2e_resp_clear(&r);
	snprintf(hdr, sizeof(hdr), "Content-Digest: sha-256=:bm90IGJhc2U2NA:");
	assert_int_equal(upload("2.0", good, headers, false, &r), 400);
	assert_string_equal(code_of(&r), "tam.upload.bad_digest");
	e2e_resp_clear(&r);
	/* only other algorithms: nothing to check, accepted */
	snprintf(hdr, sizeof(hdr), "Content-Digest: sha-512=:AAAA:");
	assert_int_equal(upload("2.0", good, headers, false, &r), 201);
	e2e_resp_clear(&r);
	/* the same version with the same bytes again: the existing one, 200 */
	assert_int_equal(upload("2.0", good, NULL, false, &r), 200);
	e2e_resp_clear(&r);
	/* not newer, wrong media type, no version, not a JWS */
	assert_int_equal(upload("1.5", good, NULL, false, &r), 409);
	assert_string_equal(code_of(&r), "tam.ta.version_not_newer");
	e2e_resp_clear(&r);
	struct e2e_req req = { "POST", UPLOAD "?version=3.0", admin, "text/plain", NULL, 0, good,
		NULL, false };
	assert_int_equal(e2e_api(&env, &req, &r), 0);
	assert_int_equal(r.status, 415);
	e2e_resp_clear(&r);
	req.path = UPLOAD;
	req.content_type = "application/jose";
	assert_int_equal(e2e_api(&env, &req, &r), 0);
	assert_int_equal(r.status, 400);
	e2e_resp_clear(&r);
	req.path = UPLOAD "?version=3.0";
	req.upload_file = NULL;
	req.body = "just text";
	req.len = 9;
	assert_int_equal(e2e_api(&env, &req, &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(code_of(&r), "tam.ta.bad_bundle");
	e2e_resp_clear(&r);
	/* a token that is not sp1's cannot upload for sp1 */
	req.token = "tam_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	assert_int_equal(e2e_api(&env, &req, &r), 0);
	assert_int_equal(r.status, 401);
	e2e_resp_clear(&r);
	assert_int_equal(versions_stored(), n0 + 1);
}

/* Send the headers and part of a body, then hang up. */
static void
cut_short(const char *version, size_t announced, size_t sent)
{
	struct sockaddr_in sa = { 0 };
	char head[512];
	int fd, port = 0;
	char *body;

	sscanf(env.api_url, "http://127.0.0.1:%d", &port);
	snprintf(head, sizeof(head), "POST " UPLOAD "?version=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/jose\r\n"
	    "Content-Length: %zu\r\n\r\n", version, admin, announced);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	assert_non_null(body = malloc(sent));
	memset(body, 'A', sent);
	assert_int_equal(write(fd, body, sent), (ssize_t)sent);
	free(body);
	usleep(100 * 1000);
	close(fd);
}

static void
test_truncated_body(void **state)
{
	long long n0 = versions_stored();
	struct e2e_resp r;

	(void)state;
	cut_short("4.0", 1000000, 300000);
	assert_true(e2e_log_wait(&env, "event=http.abort", 5000));
	assert_int_equal(versions_stored(), n0);
	/* the daemon is fine, and the version is still free */
	char good[400];
	make_bundle(env.pki, 3000, 4, good, sizeof(good));
	assert_int_equal(upload("4.0", good, NULL, false, &r), 201);
	e2e_resp_clear(&r);
	/* no spool file is left next to the database (they are unlinked when made) */
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls -a %s | grep -q otrp-spool", env.dir);
	assert_int_not_equal(system(cmd), 0);
}

static void
test_over_limit(void **state)
{
	static const char *const small_limit[] = { "-o", "limits.max_upload=64K", NULL };
	char big[400], fits[400];
	struct e2e_resp r;
	long long n0;

	(void)state;
	assert_int_equal(e2e_stop(&env), 0);
	assert_int_equal(e2e_start(&env, small_limit), 0);
	n0 = versions_stored();
	make_bundle(env.pki, 100000, 5, big, sizeof(big));
	make_bundle(env.pki, 30000, 5, fits, sizeof(fits));
	/* with a Content-Length: refused before the body is read */
	assert_int_equal(upload("5.0", big, NULL, false, &r), 413);
	assert_string_equal(code_of(&r), "tam.upload.too_large");
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")),
	    "limits.max_upload"));
	e2e_resp_clear(&r);
	/* chunked: counted as it streams, refused at the end */
	assert_int_equal(upload("5.0", big, NULL, true, &r), 413);
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")),
	    "limits.max_upload"));
	e2e_resp_clear(&r);
	assert_int_equal(versions_stored(), n0);
	assert_int_equal(upload("5.0", fits, NULL, true, &r), 201);
	e2e_resp_clear(&r);
	assert_int_equal(e2e_stop(&env), 0);
	assert_int_equal(e2e_start(&env, NULL), 0);
}

struct racer {
	const char *version;
	char file[400];
	long status;
};

static void *
race(void *arg)
{
	struct racer *rc = arg;
	struct e2e_resp r;

	rc->status = upload(rc->version, rc->file, NULL, false, &r);
	if (rc->status != 201 && rc->status != 200 && rc->status != 409)
		fprintf(stderr, "racer: %ld %.200s\n", rc->status, r.body ? r.body : "");
	e2e_resp_clear(&r);
	return NULL;
}

/* n uploads at once; how many got 201, 409 and 200. */
static void
run_race(struct racer *rs, int n, int *created, int *conflict, int *same)
{
	pthread_t th[8];

	*created = *conflict = *same = 0;
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		*created += rs[i].status == 201;
		*conflict += rs[i].status == 409;
		*same += rs[i].status == 200;
	}
}

static void
test_concurrent_uploads(void **state)
{
	struct racer rs[6];
	int created, conflict, same;
	long long n0 = versions_stored();

	(void)state;
	/* different bytes for one version: exactly one wins, the rest conflict */
	for (int i = 0; i < 6; i++) {
		rs[i].version = "6.0";
		make_bundle(env.pki, 200000, 10 + (unsigned)i, rs[i].file, sizeof(rs[i].file));
	}
	run_race(rs, 6, &created, &conflict, &same);
	assert_int_equal(created, 1);
	assert_int_equal(conflict, 5);
	assert_int_equal(versions_stored(), n0 + 1);
	/* the same bytes at once: one stores them, the others find them there */
	char same_file[400];
	make_bundle(env.pki, 200000, 30, same_file, sizeof(same_file));
	for (int i = 0; i < 6; i++) {
		rs[i].version = "6.1";
		snprintf(rs[i].file, sizeof(rs[i].file), "%s", same_file);
	}
	run_race(rs, 6, &created, &conflict, &same);
	assert_int_equal(created, 1);
	assert_int_equal(same, 5);
	assert_int_equal(versions_stored(), n0 + 2);
}

/* The value of one series on a Prometheus text page, or -1. */
static double
sample(const char *page, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = page; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void
test_upload_metrics(void **state)
{
	char url[200], *page = NULL, small[400];
	struct e2e_resp r;
	double stored, refused, bytes;
	long status = 0;

	(void)state;
	snprintf(url, sizeof(url), "%s/metrics", env.api_url);
	assert_int_equal(e2e_get(url, &status, &page), 0);
	assert_int_equal(status, 200);
	stored = sample(page, "tam_ta_uploads_total{result=\"stored\"}");
	refused = sample(page, "tam_ta_uploads_total{result=\"refused\"}");
	bytes = sample(page, "tam_ta_upload_bytes_total");
	free(page);
	assert_true(stored >= 0 && refused >= 0 && bytes >= 0);
	/* one stored, one refused: the counters move by exactly that */
	make_bundle(env.pki, 777, 77, small, sizeof(small));
	assert_int_equal(upload("7.0", small, NULL, false, &r), 201);
	long long size = json_integer_value(json_object_get(r.json, "size"));
	e2e_resp_clear(&r);
	assert_int_equal(upload("6.9", small, NULL, false, &r), 409);
	e2e_resp_clear(&r);
	assert_int_equal(e2e_get(url, &status, &page), 0);
	assert_true(sample(page, "tam_ta_uploads_total{result=\"stored\"}") == stored + 1);
	assert_true(sample(page, "tam_ta_uploads_total{result=\"refused\"}") == refused + 1);
	assert_true(sample(page, "tam_ta_upload_bytes_total") == bytes + (double)size);
	free(page);
}

#define DEPENDENT "5b5b5b5b-0000-4000-8000-000000000006"

/* POST file as version 1.0 of DEPENDENT with the query's requires parameters. */
static long
upload_requiring(const char *file, const char *query, struct e2e_resp *r)
{
	char path[1024];
	struct e2e_req req = { "POST", path, admin, "application/jose", NULL, 0, file, NULL, false };

	snprintf(path, sizeof(path), "/api/v1/sps/sp1/tas/" DEPENDENT "/versions?version=1.0%s",
	    query);
	if (e2e_api(&env, &req, r) != 0)
		return 0;
	return r->status;
}

static void
test_requires_param(void **state)
{
	char bundle[400], many[1200];
	struct e2e_resp r;
	json_t *req;

	(void)state;
	make_bundle(env.pki, 3000, 6, bundle, sizeof(bundle));
	/* malformed: 400 before the body is read, naming what is wrong */
	assert_int_equal(upload_requiring(bundle, "&requires=%401.0", &r), 400);
	assert_string_equal(code_of(&r), "tam.upload.bad_requires");
	e2e_resp_clear(&r);
	assert_int_equal(upload_requiring(bundle, "&requires=" E2E_TAID "@1.x", &r), 400);
	assert_string_equal(code_of(&r), "tam.upload.bad_requires");
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "MAJOR"));
	e2e_resp_clear(&r);
	assert_int_equal(upload_requiring(bundle, "&requires=" E2E_TAID "&requires=" E2E_TAID, &r),
	    400);
	assert_string_equal(code_of(&r), "tam.upload.bad_requires");
	e2e_resp_clear(&r);
	assert_int_equal(upload_requiring(bundle, "&requires", &r), 400);
	e2e_resp_clear(&r);
	many[0] = '\0';
	for (int i = 0; i <= TAM_MAX_TA_REQUIRES; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "&requires=ta%d", i);
	assert_int_equal(upload_requiring(bundle, many, &r), 400);
	assert_string_equal(code_of(&r), "tam.upload.bad_requires");
	e2e_resp_clear(&r);
	/* a TA that does not exist, or the TA itself: 422 */
	assert_int_equal(upload_requiring(bundle, "&requires=no-such-ta", &r), 422);
	assert_string_equal(code_of(&r), "tam.upload.unknown_requirement");
	assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "no-such-ta"));
	e2e_resp_clear(&r);
	assert_int_equal(upload_requiring(bundle, "&requires=" DEPENDENT, &r), 422);
	assert_string_equal(code_of(&r), "tam.upload.self_requirement");
	e2e_resp_clear(&r);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM tas WHERE taid = '" DEPENDENT "'"),
	    0);

	/* accepted and shown: with a minimum (%40 is "@" too), and without */
	assert_int_equal(upload_requiring(bundle, "&requires=" E2E_TAID "%401.0&requires=" TA, &r),
	    201);
	assert_int_equal(json_array_size(json_object_get(r.json, "requires")), 2);
	req = json_array_get(json_object_get(r.json, "requires"), 0);
	assert_string_equal(json_string_value(json_object_get(req, "taid")), TA);
	assert_true(json_is_null(json_object_get(req, "min_version")));
	req = json_array_get(json_object_get(r.json, "requires"), 1);
	assert_string_equal(json_string_value(json_object_get(req, "taid")), E2E_TAID);
	assert_string_equal(json_string_value(json_object_get(req, "min_version")), "1.0");
	e2e_resp_clear(&r);
	struct e2e_req get = { "GET", "/api/v1/tas/" DEPENDENT "/versions/1.0", admin, NULL, NULL, 0,
		NULL, NULL, false };
	assert_int_equal(e2e_api(&env, &get, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "requires")), 2);
	e2e_resp_clear(&r);
	/* the same again, in another order: the stored version; other requirements: conflict */
	assert_int_equal(upload_requiring(bundle, "&requires=" TA "&requires=" E2E_TAID "@1.0.0", &r),
	    200);
	e2e_resp_clear(&r);
	assert_int_equal(upload_requiring(bundle, "&requires=" TA, &r), 409);
	assert_string_equal(code_of(&r), "tam.ta.requires_differ");
	e2e_resp_clear(&r);
	assert_int_equal(upload_requiring(bundle, "", &r), 409);
	e2e_resp_clear(&r);
	/* a version that requires nothing says so */
	assert_int_equal(upload("8.0", bundle, NULL, false, &r), 201);
	assert_true(json_is_array(json_object_get(r.json, "requires")));
	assert_int_equal(json_array_size(json_object_get(r.json, "requires")), 0);
	e2e_resp_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_ta_bounded_memory),
		cmocka_unit_test(test_refused_uploads),
		cmocka_unit_test(test_truncated_body),
		cmocka_unit_test(test_over_limit),
		cmocka_unit_test(test_concurrent_uploads),
		cmocka_unit_test(test_upload_metrics),
		cmocka_unit_test(test_requires_param),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
