// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/store against real SQLite files in a private temporary
 * directory: migrations and open modes, every aggregate's round trip and
 * error codes, rid single use, and that failed multi-row writes leave nothing.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
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
#include <sqlite3.h>

#include "tam/log.h"
#include "tam/store.h"

static char g_dir[PATH_MAX];      /* mkdtemp directory of this run */
static unsigned g_seq;            /* numbers the per-test database files */

/* ---- fixtures ---- */

static void
db_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", g_dir, name);

	assert_true(n > 0 && (size_t)n < size);
}

static int
group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	(void)state;
	tam_log_set_level(TAM_LOG_WARN);
	n = snprintf(g_dir, sizeof(g_dir), "%s/test_store.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(g_dir) || mkdtemp(g_dir) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	(void)state;
	d = opendir(g_dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0)
			rc = -1;
	}
	closedir(d);
	if (rmdir(g_dir) != 0)
		rc = -1;
	return rc;
}

/* Each test gets a fresh database file of its own. */
static int
db_setup(void **state)
{
	char name[32], path[PATH_MAX];
	struct store *st = NULL;
	struct tam_err err = { 0 };

	snprintf(name, sizeof(name), "t%u.db", ++g_seq);
	db_path(path, sizeof(path), name);
	if (store_open(path, STORE_CREATE, &st, &err) != TAM_OK) {
		fprintf(stderr, "store_open: %s\n", err.msg);
		return -1;
	}
	*state = st;
	return 0;
}

static int
db_teardown(void **state)
{
	store_close(*state);
	return 0;
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static int64_t
add_sp(struct store *st, const char *spid, const char *sdname)
{
	struct store_sp sp = { 0 };
	uint8_t cert[40];
	int64_t id = 0;

	fill(cert, sizeof(cert), (uint8_t)spid[0]);
	strcpy(sp.spid, spid);
	strcpy(sp.sdname, sdname);
	sp.cert = cert;
	sp.cert_len = sizeof(cert);
	assert_int_equal(store_sp_add(st, &sp, &id, NULL), TAM_OK);
	assert_true(id > 0);
	return id;
}

static int64_t
add_ta(struct store *st, int64_t sp_id, const char *taid)
{
	struct store_ta ta = { 0 };
	int64_t id = 0;

	ta.sp_id = sp_id;
	strcpy(ta.taid, taid);
	snprintf(ta.name, sizeof(ta.name), "name of %s", taid);
	assert_int_equal(store_ta_add(st, &ta, &id, NULL), TAM_OK);
	return id;
}

/* A version that requires n_reqs TAs (reqs may be NULL when none). */
static int
try_add_version_reqs(struct store *st, int64_t ta_id, const char *version,
    const struct store_ta_require *reqs, size_t n_reqs, int64_t *id, struct tam_err *err)
{
	struct store_ta_version v = { 0 };
	char bundle[64], enc[80];

	v.ta_id = ta_id;
	strcpy(v.version, version);
	snprintf(bundle, sizeof(bundle), "bundle of %lld version %s", (long long)ta_id, version);
	memset(enc, 0xe5, sizeof(enc));
	v.bundle = (uint8_t *)bundle;
	v.bundle_len = strlen(bundle);
	v.enc_ta = (uint8_t *)enc;
	v.enc_ta_len = sizeof(enc);
	fill(v.enc_key, sizeof(v.enc_key), 0x40);
	fill(v.enc_iv, sizeof(v.enc_iv), 0x90);
	strcpy(v.created_by, "cli:test");
	v.reqs = reqs;
	v.n_reqs = n_reqs;
	return store_ta_version_add(st, &v, id, err);
}

static int
try_add_version(struct store *st, int64_t ta_id, const char *version, int64_t *id)
{
	return try_add_version_reqs(st, ta_id, version, NULL, 0, id, NULL);
}

static int64_t
add_version(struct store *st, int64_t ta_id, const char *version)
{
	int64_t id = 0;

	assert_int_equal(try_add_version(st, ta_id, version, &id), TAM_OK);
	return id;
}

/* A device whose did is given; cert kind carries a certificate, raw kind only a key. */
static int
try_add_device(struct store *st, const uint8_t did[32], const char *name,
    enum store_key_kind kind, int64_t *id)
{
	struct store_device d = { 0 };
	uint8_t cert[48], spki[32], chain[16];
	char hex[65];

	memcpy(d.did, did, 32);
	if (name != NULL)
		strcpy(d.name, name);
	d.key_kind = kind;
	fill(cert, sizeof(cert), did[0]);
	fill(spki, sizeof(spki), (uint8_t)(did[0] + 1));
	fill(chain, sizeof(chain), (uint8_t)(did[0] + 2));
	if (kind == STORE_KEY_CERT) {
		d.cert = cert;
		d.cert_len = sizeof(cert);
		d.chain = chain;
		d.chain_len = sizeof(chain);
	}
	d.spki = spki;
	d.spki_len = sizeof(spki);
	tam_hex_encode(did, 21, hex);
	memcpy(d.thumbprint, hex, 43);
	d.thumbprint[43] = '\0';
	return store_device_add(st, &d, id, NULL);
}

static int64_t
add_device(struct store *st, uint8_t seed, const char *name)
{
	uint8_t did[32];
	int64_t id = 0;

	tam_sha256(&seed, 1, did);
	assert_int_equal(try_add_device(st, did, name, STORE_KEY_CERT, &id), TAM_OK);
	return id;
}

static int64_t
add_session(struct store *st, const char *tid, int64_t now)
{
	int64_t id = 0;

	assert_int_equal(store_session_new(st, tid, now, "default", "", &id, NULL), TAM_OK);
	return id;
}

static void
add_request(struct store *st, const char *rid, int64_t session_id, int64_t device_id,
    int64_t created, int64_t expires)
{
	struct store_request r = { 0 };

	strcpy(r.rid, rid);
	r.session_id = session_id;
	r.device_id = device_id;
	strcpy(r.response, "QueryResponse");
	r.op = TAM_OP_NONE;
	r.created = created;
	r.expires = expires;
	assert_int_equal(store_request_add(st, &r, NULL), TAM_OK);
}

/* Run SQL on a second, raw connection, as another tool or a newer binary might. */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
raw_text(const char *path, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(out, size, "%s", (const char *)sqlite3_column_text(s, 0));
	assert_int_equal(sqlite3_finalize(s), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---- open and migrations ---- */

static void
test_open_fresh(void **state)
{
	char path[PATH_MAX], wal[PATH_MAX + 8], text[32];
	struct store *st = NULL;
	struct tam_err err = { 0 };
	struct stat sb;
	int64_t gen = 0;

	(void)state;
	db_path(path, sizeof(path), "fresh.db");
	assert_int_equal(store_open(path, STORE_CREATE, &st, &err), TAM_OK);
	assert_true(store_schema_latest() >= 1);
	assert_int_equal(store_schema_version(st), store_schema_latest());
	add_sp(st, "sp.fresh", "sd.fresh");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	raw_text(path, "PRAGMA journal_mode", text, sizeof(text));
	assert_string_equal(text, "wal");
	raw_text(path, "PRAGMA user_version", text, sizeof(text));
	assert_int_equal(atoi(text), store_schema_latest());
	store_close(st);

	/* Re-applying migration 1 would fail on CREATE TABLE and reset the counter. */
	raw_exec(path, "UPDATE meta SET value = 41 WHERE key = 'trust_anchor_generation'");
	st = NULL;
	assert_int_equal(store_open(path, 0, &st, &err), TAM_OK);
	assert_int_equal(store_schema_version(st), store_schema_latest());
	assert_int_equal(store_anchor_generation(st, &gen, NULL), TAM_OK);
	assert_int_equal(gen, 41);
	store_close(st);
}

/* A database written at schema 3 keeps its TA bundles when migration 4 moves them. */
static void
test_migrate_blobs(void **state)
{
	extern const char *const tam_schema_migrations[];
	struct store_ta_version v = { 0 };
	char path[PATH_MAX];
	struct store *st = NULL;
	sqlite3 *h = NULL;
	int64_t id;

	(void)state;
	db_path(path, sizeof(path), "v3.db");
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sqlite3_exec(h, tam_schema_migrations[i], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 3;"
	    "INSERT INTO sps (spid, sdname, cert, created) VALUES ('sp.m', 'sd.m', X'01', 1);"
	    "INSERT INTO tas (sp_id, taid, name, created) VALUES (1, 'uuid-m', 'm', 1);"
	    "INSERT INTO ta_versions (ta_id, version, version_key, bundle, digest, size, enc_key,"
	    " enc_iv, enc_ta, created, created_by) VALUES (1, '1.0', 1, CAST('the bundle' AS BLOB),"
	    " zeroblob(32), 10, zeroblob(32), zeroblob(16), CAST('ciphertext!!' AS BLOB), 1, 'x');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(store_open(path, 0, &st, NULL), TAM_OK);
	assert_int_equal(store_schema_version(st), store_schema_latest());
	id = 1;
	assert_int_equal(store_ta_version_get(st, id, true, &v, NULL), TAM_OK);
	assert_int_equal(v.bundle_len, 10);
	assert_memory_equal(v.bundle, "the bundle", 10);
	assert_int_equal(v.enc_ta_len, 12);
	assert_memory_equal(v.enc_ta, "ciphertext!!", 12);
	store_ta_version_clear(&v);
	store_close(st);
}

/*
 * Migration 11: a stake is kept only for an SD our own CreateSD made (and
 * the device still lists), never for one a device merely claimed; another
 * SP's TA stops being required, with an audit row saying so.
 */
static void
test_migrate_stakes(void **state)
{
	char path[PATH_MAX], text[64];
	struct store *st = NULL;
	sqlite3 *h = NULL;
	bool has;

	(void)state;
	/* a database as migration 10 left it: the latest, less what 11 and 13 add */
	db_path(path, sizeof(path), "v10.db");
	assert_int_equal(store_open(path, STORE_CREATE, &st, NULL), TAM_OK);
	store_close(st);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA foreign_keys = ON; DROP TABLE sd_stakes;"
	    " ALTER TABLE ta_versions DROP COLUMN pdata_key;"
	    " ALTER TABLE ta_versions DROP COLUMN pdata_iv;"
	    " PRAGMA user_version = 10;"
	    "INSERT INTO sps (id, spid, sdname, cert, created) VALUES (1, 'sp.a', 'a.sd', X'01', 1),"
	    " (2, 'sp.b', 'b.sd', X'02', 1);"
	    "INSERT INTO devices (id, did, key_kind, spki, thumbprint, created) VALUES"
	    " (1, randomblob(32), 'rawkey', X'01', 't1', 1),"
	    " (2, randomblob(32), 'rawkey', X'02',"
	    " 't2', 1);"
	    "INSERT INTO device_sds (device_id, sdname, spid) VALUES (1, 'a.sd', 'sp.a'),"
	    " (2, 'b.sd', 'sp.b'), (2, 'a.sd', 'sp.a');"
	    "INSERT INTO device_sds (device_id, sdname, spid) VALUES (2, 'r.sd', 'sp.b');"
	    /* the audit of our passes: a.sd made on 1; r.sd renamed on 2; b.sd never confirmed */
	    "INSERT INTO audit (at, actor, action, object, detail) SELECT 1, 'tamd', 'sd.create',"
	    " 'device:' || lower(hex(did)), 'sdname=a.sd spid=sp.a' FROM devices WHERE id = 1;"
	    "INSERT INTO audit (at, actor, action, object, detail) SELECT 1, 'tamd', 'sd.update',"
	    " 'device:' || lower(hex(did)), 'sdname=old.sd spid=sp.b newsdname=r.sd spcert=kept"
	    " renewteespaik=false' FROM devices WHERE id = 2;"
	    "INSERT INTO tas (id, sp_id, taid, name, created) VALUES (1, 1, 'ta.a', 'a', 1),"
	    " (2, 1, 'lib.a', 'l', 1), (3, 2, 'lib.b', 'l', 1);"
	    "INSERT INTO ta_versions (id, ta_id, version, version_key, digest, size, enc_key, enc_iv,"
	    " created, created_by) VALUES (1, 1, '1.0', 1, zeroblob(32), 1, zeroblob(32),"
	    " zeroblob(16), 1, 'x');"
	    "INSERT INTO ta_version_requires (ta_version_id, needs_ta_id) VALUES (1, 2), (1, 3);",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(store_open(path, 0, &st, NULL), TAM_OK);
	assert_int_equal(store_schema_version(st), store_schema_latest());
	/* an SD our confirmed CreateSD made, or our UpdateSD renamed: a stake; a listing: none */
	assert_int_equal(store_sd_stake_has(st, 1, "a.sd", "sp.a", &has, NULL), TAM_OK);
	assert_true(has);
	assert_int_equal(store_sd_stake_has(st, 2, "r.sd", "sp.b", &has, NULL), TAM_OK);
	assert_true(has);
	assert_int_equal(store_sd_stake_has(st, 2, "b.sd", "sp.b", &has, NULL), TAM_OK);
	assert_false(has);
	assert_int_equal(store_sd_stake_has(st, 2, "a.sd", "sp.a", &has, NULL), TAM_OK);
	assert_false(has);
	store_close(st);
	raw_text(path, "SELECT group_concat(needs_ta_id) FROM ta_version_requires", text,
	    sizeof(text));
	assert_string_equal(text, "2");
	raw_text(path, "SELECT count(*) FROM audit WHERE action = 'ta.requires_dropped'"
	    " AND actor = 'migration' AND object = 'ta.a' AND detail LIKE '%requires=lib.b%'", text,
	    sizeof(text));
	assert_string_equal(text, "1");
}

static void
test_open_newer_refused(void **state)
{
	char path[PATH_MAX], sql[64];
	struct store *st = NULL;
	struct tam_err err = { 0 };

	(void)state;
	db_path(path, sizeof(path), "newer.db");
	assert_int_equal(store_open(path, STORE_CREATE, &st, &err), TAM_OK);
	store_close(st);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_latest() + 1);
	raw_exec(path, sql);
	st = NULL;
	assert_int_equal(store_open(path, 0, &st, &err), TAM_EDB);
	assert_null(st);
	assert_non_null(strstr(err.msg, "newer"));
	assert_int_equal(store_open(path, STORE_READONLY, &st, &err), TAM_EDB);
	assert_null(st);
}

static void
test_open_missing(void **state)
{
	char path[PATH_MAX];
	struct store *st = NULL;
	struct tam_err err = { 0 };

	(void)state;
	db_path(path, sizeof(path), "missing.db");
	assert_int_equal(store_open(path, STORE_READONLY, &st, &err), TAM_ENOTFOUND);
	assert_null(st);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(store_open(path, 0, &st, &err), TAM_ENOTFOUND);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(store_open(path, STORE_CREATE | STORE_READONLY, &st, &err), TAM_EINVAL);
}

static void
test_open_readonly(void **state)
{
	char path[PATH_MAX], empty[PATH_MAX];
	struct store *st = NULL, *ro = NULL;
	struct store_sp sp = { 0 };
	struct tam_err err = { 0 };
	uint8_t cert[4] = { 1, 2, 3, 4 };

	(void)state;
	db_path(path, sizeof(path), "ro.db");
	assert_int_equal(store_open(path, STORE_CREATE, &st, &err), TAM_OK);
	add_sp(st, "sp.ro", "sd.ro");
	assert_int_equal(store_open(path, STORE_READONLY, &ro, &err), TAM_OK);
	assert_int_equal(store_schema_version(ro), store_schema_latest());
	assert_int_equal(store_sp_get(ro, "sp.ro", &sp, &err), TAM_OK);
	store_sp_clear(&sp);
	strcpy(sp.spid, "sp.ro2");
	strcpy(sp.sdname, "sd.ro2");
	sp.cert = cert;
	sp.cert_len = sizeof(cert);
	assert_int_equal(store_sp_add(ro, &sp, NULL, &err), TAM_EDB);
	store_close(ro);
	store_close(st);
	/* also with no writer around (its -wal and -shm files gone), as for a config check */
	ro = NULL;
	assert_int_equal(store_open(path, STORE_READONLY, &ro, &err), TAM_OK);
	assert_int_equal(store_sp_get(ro, "sp.ro", &sp, &err), TAM_OK);
	store_sp_clear(&sp);
	store_close(ro);

	/* A database nobody migrated yet is not something a read-only open may fix. */
	db_path(empty, sizeof(empty), "unmigrated.db");
	raw_exec(empty, "CREATE TABLE t (x INTEGER)");
	ro = NULL;
	assert_int_equal(store_open(empty, STORE_READONLY, &ro, &err), TAM_EDB);
	assert_null(ro);
}

static void
test_foreign_keys(void **state)
{
	struct store *st = *state;
	struct store_ta ta = { 0 };
	struct tam_err err = { 0 };

	ta.sp_id = 999;
	strcpy(ta.taid, "orphan");
	strcpy(ta.name, "orphan");
	assert_int_equal(store_ta_add(st, &ta, NULL, &err), TAM_EINVAL);
	assert_non_null(strstr(err.msg, "FOREIGN KEY"));
}

/* A value written by something else that does not fit our arrays is an error, not truncated. */
static void
test_stored_too_long(void **state)
{
	char path[PATH_MAX];
	struct store *st = NULL;
	struct store_sp sp = { 0 }, *sps = NULL;
	struct tam_err err = { 0 };
	size_t n = 0;

	(void)state;
	db_path(path, sizeof(path), "long.db");
	assert_int_equal(store_open(path, STORE_CREATE, &st, &err), TAM_OK);
	raw_exec(path, "INSERT INTO sps (spid, sdname, cert, created) VALUES"
	    " ('sp.long', hex(zeroblob(50)), x'01', 0)");
	assert_int_equal(store_sp_get(st, "sp.long", &sp, &err), TAM_EDB);
	assert_null(sp.cert);
	assert_int_equal(store_sp_list(st, &sps, &n, &err), TAM_EDB);
	assert_null(sps);
	assert_int_equal(n, 0);
	store_close(st);
}

/* ---- identity, anchors, SPs ---- */

static void
test_identity(void **state)
{
	struct store *st = *state;
	struct store_identity in = { 0 }, out = { 0 };
	const char pem1[] = "-----BEGIN CERTIFICATE-----\nAAAA\n", pem2[] = "chain two";

	assert_int_equal(store_identity_get(st, &out, NULL), TAM_ENOTFOUND);
	strcpy(in.tamid, "tam.example");
	strcpy(in.key_path, "/etc/otrp-tamd/tam.key");
	in.chain_pem = (uint8_t *)pem1;
	in.chain_len = sizeof(pem1) - 1;
	in.created = 1000;
	assert_int_equal(store_identity_set(st, &in, NULL), TAM_OK);
	assert_int_equal(store_identity_get(st, &out, NULL), TAM_OK);
	assert_string_equal(out.tamid, "tam.example");
	assert_string_equal(out.key_path, "/etc/otrp-tamd/tam.key");
	assert_int_equal(out.chain_len, sizeof(pem1) - 1);
	assert_memory_equal(out.chain_pem, pem1, out.chain_len);
	assert_int_equal(out.created, 1000);
	store_identity_clear(&out);
	assert_null(out.chain_pem);

	strcpy(in.tamid, "tam2.example");
	in.chain_pem = (uint8_t *)pem2;
	in.chain_len = sizeof(pem2) - 1;
	in.created = 2000;
	assert_int_equal(store_identity_set(st, &in, NULL), TAM_OK);
	assert_int_equal(store_identity_get(st, &out, NULL), TAM_OK);
	assert_string_equal(out.tamid, "tam2.example");
	assert_memory_equal(out.chain_pem, pem2, sizeof(pem2) - 1);
	assert_int_equal(out.created, 2000);
	store_identity_clear(&out);

	in.chain_pem = NULL;
	assert_int_equal(store_identity_set(st, &in, NULL), TAM_EINVAL);
	in.chain_pem = (uint8_t *)pem2;
	in.tamid[0] = '\0';
	assert_int_equal(store_identity_set(st, &in, NULL), TAM_EINVAL);
}

static void
make_anchor(struct store_anchor *a, const char *name, uint8_t *cert, size_t len, uint8_t seed)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->name, name);
	fill(cert, len, seed);
	a->cert = cert;
	a->cert_len = len;
	snprintf(a->subject, sizeof(a->subject), "CN=%s", name);
	a->not_after = 2000000000;
}

static void
test_anchors(void **state)
{
	struct store *st = *state;
	struct store_anchor a, *list = NULL;
	struct tam_err err = { 0 };
	uint8_t c1[30], c2[31], c3[30], fp[32];
	int64_t g0, g1, g2, g3, id = 0;
	size_t n = 0;

	assert_int_equal(store_anchor_generation(st, &g0, NULL), TAM_OK);
	make_anchor(&a, "root-b", c1, sizeof(c1), 1);
	assert_int_equal(store_anchor_add(st, &a, &id, NULL), TAM_OK);
	assert_true(id > 0);
	assert_int_equal(store_anchor_generation(st, &g1, NULL), TAM_OK);
	assert_true(g1 > g0);
	make_anchor(&a, "root-a", c2, sizeof(c2), 2);
	assert_int_equal(store_anchor_add(st, &a, NULL, NULL), TAM_OK);

	/* duplicate name, then the same certificate under another name */
	make_anchor(&a, "root-a", c3, sizeof(c3), 3);
	assert_int_equal(store_anchor_add(st, &a, NULL, &err), TAM_ECONFLICT);
	assert_non_null(strstr(err.msg, "root-a"));
	assert_non_null(strstr(err.msg, "trust_anchors.name"));
	make_anchor(&a, "root-c", c3, sizeof(c3), 1);
	assert_int_equal(store_anchor_add(st, &a, NULL, &err), TAM_ECONFLICT);
	assert_non_null(strstr(err.msg, "trust_anchors.fingerprint"));
	assert_int_equal(store_anchor_generation(st, &g2, NULL), TAM_OK);

	assert_int_equal(store_anchor_list(st, &list, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "root-a");
	assert_string_equal(list[1].name, "root-b");
	assert_int_equal(list[1].cert_len, sizeof(c1));
	assert_memory_equal(list[1].cert, c1, sizeof(c1));
	tam_sha256(c1, sizeof(c1), fp);
	assert_memory_equal(list[1].fingerprint, fp, 32);
	assert_string_equal(list[1].subject, "CN=root-b");
	assert_int_equal(list[1].not_after, 2000000000);
	assert_true(list[1].created > 0);
	store_anchors_free(list, n);

	assert_int_equal(store_anchor_remove(st, "root-b", NULL), TAM_OK);
	assert_int_equal(store_anchor_generation(st, &g3, NULL), TAM_OK);
	assert_true(g3 > g2);
	assert_int_equal(store_anchor_remove(st, "root-b", NULL), TAM_ENOTFOUND);
	assert_int_equal(store_anchor_list(st, &list, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	store_anchors_free(list, n);
}

static void
test_sps(void **state)
{
	struct store *st = *state;
	struct store_sp sp = { 0 }, *list = NULL;
	struct tam_err err = { 0 };
	uint8_t cert[3] = { 7, 8, 9 };
	int64_t id_b, id_a;
	size_t n = 0;

	id_b = add_sp(st, "sp.b", "sd.b");
	id_a = add_sp(st, "sp.a", "sd.a");
	assert_int_equal(store_sp_get(st, "sp.b", &sp, NULL), TAM_OK);
	assert_int_equal(sp.id, id_b);
	assert_string_equal(sp.sdname, "sd.b");
	assert_int_equal(sp.cert_len, 40);
	store_sp_clear(&sp);
	assert_int_equal(store_sp_get_by_id(st, id_a, &sp, NULL), TAM_OK);
	assert_string_equal(sp.spid, "sp.a");
	store_sp_clear(&sp);
	assert_int_equal(store_sp_get(st, "sp.none", &sp, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_sp_get_by_id(st, 12345, &sp, NULL), TAM_ENOTFOUND);

	assert_int_equal(store_sp_list(st, &list, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].spid, "sp.a");
	assert_string_equal(list[1].spid, "sp.b");
	store_sps_free(list, n);

	strcpy(sp.spid, "sp.a");
	strcpy(sp.sdname, "sd.other");
	sp.cert = cert;
	sp.cert_len = sizeof(cert);
	assert_int_equal(store_sp_add(st, &sp, NULL, &err), TAM_ECONFLICT);
	assert_non_null(strstr(err.msg, "sps.spid"));
	strcpy(sp.spid, "sp.c");
	strcpy(sp.sdname, "sd.a");
	assert_int_equal(store_sp_add(st, &sp, NULL, &err), TAM_ECONFLICT);
	assert_non_null(strstr(err.msg, "sps.sdname"));
	sp.sdname[0] = '\0';
	assert_int_equal(store_sp_add(st, &sp, NULL, NULL), TAM_EINVAL);
	strcpy(sp.sdname, "sd.c");
	sp.cert = NULL;
	assert_int_equal(store_sp_add(st, &sp, NULL, NULL), TAM_EINVAL);
}

/* ---- TAs and versions ---- */

static void
test_tas_versions(void **state)
{
	struct store *st = *state;
	struct store_ta ta = { 0 }, *tas = NULL;
	struct store_ta_version v = { 0 }, *vs = NULL;
	uint8_t key[32], digest[32];
	int64_t sp, ta1, ta2, ta3, v19, v110, v12;
	char bundle[64];
	size_t n = 0;

	sp = add_sp(st, "sp.ta", "sd.ta");
	ta2 = add_ta(st, sp, "uuid-b");
	ta1 = add_ta(st, sp, "uuid-a");
	ta3 = add_ta(st, sp, "uuid-c");
	assert_int_equal(store_ta_get(st, "uuid-a", &ta, NULL), TAM_OK);
	assert_int_equal(ta.id, ta1);
	assert_int_equal(ta.sp_id, sp);
	assert_string_equal(ta.spid, "sp.ta");
	assert_string_equal(ta.name, "name of uuid-a");
	ta.id = 0;
	assert_int_equal(store_ta_add(st, &ta, NULL, NULL), TAM_ECONFLICT);
	assert_int_equal(store_ta_get(st, "uuid-z", &ta, NULL), TAM_ENOTFOUND);
	assert_int_equal(ta.sp_id, 0);
	assert_int_equal(store_ta_list(st, &tas, &n, NULL), TAM_OK);
	assert_int_equal(n, 3);
	assert_string_equal(tas[0].taid, "uuid-a");
	assert_string_equal(tas[1].taid, "uuid-b");
	assert_string_equal(tas[2].taid, "uuid-c");
	assert_int_equal(tas[1].id, ta2);
	free(tas);

	v19 = add_version(st, ta1, "1.9");
	v110 = add_version(st, ta1, "1.10");
	v12 = add_version(st, ta1, "1.2");
	assert_int_equal(try_add_version(st, ta1, "1.9", NULL), TAM_ECONFLICT);
	assert_int_equal(try_add_version(st, ta1, "1.9.0", NULL), TAM_ECONFLICT);
	assert_int_equal(try_add_version(st, ta1, "one", NULL), TAM_EINVAL);
	assert_int_equal(try_add_version(st, 4242, "1.0", NULL), TAM_EINVAL);
	add_version(st, ta2, "1.9");

	assert_int_equal(store_ta_version_latest(st, ta1, false, &v, NULL), TAM_OK);
	assert_int_equal(v.id, v110);
	assert_string_equal(v.version, "1.10");
	assert_null(v.bundle);
	assert_null(v.enc_ta);
	store_ta_version_clear(&v);
	assert_int_equal(store_ta_version_latest(st, ta3, false, &v, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_ta_version_latest(st, ta3, true, &v, NULL), TAM_ENOTFOUND);

	assert_int_equal(store_ta_version_find(st, ta1, "1.9", &v, NULL), TAM_OK);
	assert_int_equal(v.id, v19);
	store_ta_version_clear(&v);
	assert_int_equal(store_ta_version_find(st, ta1, "2.0", &v, NULL), TAM_ENOTFOUND);

	assert_int_equal(store_ta_version_list(st, ta1, &vs, &n, NULL), TAM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(vs[0].id, v19);
	assert_int_equal(vs[1].id, v110);
	assert_int_equal(vs[2].id, v12);
	assert_true(vs[1].version_key > vs[0].version_key);
	assert_true(vs[0].version_key > vs[2].version_key);
	assert_null(vs[0].bundle);
	store_ta_versions_free(vs, n);

	assert_int_equal(store_ta_version_get(st, v12, false, &v, NULL), TAM_OK);
	assert_null(v.bundle);
	assert_null(v.enc_ta);
	fill(key, sizeof(key), 0x40);
	assert_memory_equal(v.enc_key, key, 32);
	store_ta_version_clear(&v);
	assert_int_equal(store_ta_version_get(st, v12, true, &v, NULL), TAM_OK);
	snprintf(bundle, sizeof(bundle), "bundle of %lld version 1.2", (long long)ta1);
	assert_int_equal(v.bundle_len, strlen(bundle));
	assert_memory_equal(v.bundle, bundle, v.bundle_len);
	assert_int_equal(v.size, (int64_t)strlen(bundle));
	tam_sha256(bundle, strlen(bundle), digest);
	assert_memory_equal(v.digest, digest, 32);
	assert_int_equal(v.enc_ta_len, 80);
	assert_int_equal(v.enc_ta[0], 0xe5);
	assert_string_equal(v.created_by, "cli:test");
	assert_int_equal(v.ta_id, ta1);
	store_ta_version_clear(&v);
	assert_null(v.bundle);
	assert_int_equal(v.enc_key[0], 0);
	assert_int_equal(store_ta_version_get(st, 999999, true, &v, NULL), TAM_ENOTFOUND);
}

/* ---- devices ---- */

static void
test_devices(void **state)
{
	struct store *st = *state;
	struct store_device d = { 0 }, *list = NULL;
	struct tam_err err = { 0 };
	uint8_t did1[32], did2[32], did3[32], dsi[20], hash[32];
	char hex[65], ref[65];
	int64_t id1 = 0, id2 = 0, id3 = 0;
	size_t n = 0;

	/* did2 and did3 share their first five bytes (ten hex digits) */
	memset(did1, 0x11, 32);
	memset(did2, 0xab, 32);
	memcpy(did3, did2, 32);
	did3[5] = 0x01;
	assert_int_equal(try_add_device(st, did1, "dev-one", STORE_KEY_CERT, &id1), TAM_OK);
	assert_int_equal(try_add_device(st, did2, NULL, STORE_KEY_RAW, &id2), TAM_OK);
	assert_int_equal(try_add_device(st, did3, "", STORE_KEY_RAW, &id3), TAM_OK);
	assert_int_equal(try_add_device(st, did1, "dev-dup", STORE_KEY_CERT, NULL), TAM_ECONFLICT);
	did1[0] = 0x12;
	assert_int_equal(try_add_device(st, did1, "dev-one", STORE_KEY_CERT, NULL), TAM_ECONFLICT);
	did1[0] = 0x11;

	/* a raw key has no certificate, a certificate device needs one */
	memset(&d, 0, sizeof(d));
	memset(d.did, 0x77, 32);
	d.key_kind = STORE_KEY_RAW;
	d.cert = dsi;
	d.cert_len = 1;
	d.spki = dsi;
	d.spki_len = 1;
	strcpy(d.thumbprint, "tp-raw");
	assert_int_equal(store_device_add(st, &d, NULL, NULL), TAM_EINVAL);
	d.key_kind = STORE_KEY_CERT;
	d.cert = NULL;
	assert_int_equal(store_device_add(st, &d, NULL, NULL), TAM_EINVAL);

	assert_int_equal(store_device_get(st, id1, &d, NULL), TAM_OK);
	assert_memory_equal(d.did, did1, 32);
	assert_string_equal(d.name, "dev-one");
	assert_int_equal(d.key_kind, STORE_KEY_CERT);
	assert_non_null(d.cert);
	assert_int_equal(d.cert_len, 48);
	assert_int_equal(d.chain_len, 16);
	assert_int_equal(d.spki_len, 32);
	assert_string_equal(d.profile, "default");
	assert_string_equal(d.state, "active");
	assert_int_equal(d.last_seen, 0);
	assert_null(d.dsi);
	assert_true(d.created > 0);
	strcpy(ref, d.thumbprint);
	store_device_clear(&d);

	assert_int_equal(store_device_get_by_did(st, did2, &d, NULL), TAM_OK);
	assert_int_equal(d.id, id2);
	assert_int_equal(d.key_kind, STORE_KEY_RAW);
	assert_null(d.cert);
	assert_null(d.chain);
	assert_non_null(d.spki);
	assert_string_equal(d.name, "");
	store_device_clear(&d);
	assert_int_equal(store_device_get_by_thumbprint(st, ref, &d, NULL), TAM_OK);
	assert_int_equal(d.id, id1);
	store_device_clear(&d);
	assert_int_equal(store_device_get(st, 999, &d, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_device_get_by_thumbprint(st, "nope", &d, NULL), TAM_ENOTFOUND);

	/* find: name, full did in either case, unique prefix, ambiguous prefix, nothing */
	assert_int_equal(store_device_find(st, "dev-one", &d, NULL), TAM_OK);
	assert_int_equal(d.id, id1);
	store_device_clear(&d);
	tam_hex_encode(did3, 32, hex);
	assert_int_equal(store_device_find(st, hex, &d, NULL), TAM_OK);
	assert_int_equal(d.id, id3);
	store_device_clear(&d);
	for (size_t i = 0; hex[i] != '\0'; i++)
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	assert_int_equal(store_device_find(st, hex, &d, NULL), TAM_OK);
	assert_int_equal(d.id, id3);
	store_device_clear(&d);
	assert_int_equal(store_device_find(st, "11111111", &d, NULL), TAM_OK);
	assert_int_equal(d.id, id1);
	assert_non_null(d.cert);
	store_device_clear(&d);
	assert_int_equal(store_device_find(st, "abababababa", &d, NULL), TAM_OK);  /* odd length */
	assert_int_equal(d.id, id2);
	store_device_clear(&d);
	assert_int_equal(store_device_find(st, "ABABABABAB0", &d, NULL), TAM_OK);
	assert_int_equal(d.id, id3);
	store_device_clear(&d);
	assert_int_equal(store_device_find(st, "abababababab", &d, NULL), TAM_OK);
	assert_int_equal(d.id, id2);
	store_device_clear(&d);
	assert_int_equal(store_device_find(st, "abababab", &d, &err), TAM_ECONFLICT);
	assert_non_null(strstr(err.msg, "abababab"));
	assert_null(d.spki);
	assert_int_equal(store_device_find(st, "abababa", &d, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_device_find(st, "cdcdcdcd", &d, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_device_find(st, "no-such-device", &d, &err), TAM_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no-such-device"));
	memset(hex, '0', 64);
	hex[64] = '\0';
	assert_int_equal(store_device_find(st, hex, &d, NULL), TAM_ENOTFOUND);

	assert_int_equal(store_device_list(st, &list, &n, NULL), TAM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].id, id1);
	assert_int_equal(list[2].id, id3);
	assert_null(list[0].cert);
	assert_null(list[0].spki);
	assert_string_equal(list[0].name, "dev-one");
	store_devices_free(list, n);

	/* seen */
	fill(dsi, sizeof(dsi), 0x33);
	assert_int_equal(store_device_seen(st, id1, "tee.example", "3.1", dsi, sizeof(dsi), 5000,
	    NULL), TAM_OK);
	assert_int_equal(store_device_get(st, id1, &d, NULL), TAM_OK);
	assert_string_equal(d.tee_name, "tee.example");
	assert_string_equal(d.tee_ver, "3.1");
	assert_int_equal(d.dsi_len, sizeof(dsi));
	assert_memory_equal(d.dsi, dsi, sizeof(dsi));
	tam_sha256(dsi, sizeof(dsi), hash);
	assert_memory_equal(d.dsihash, hash, 32);
	assert_int_equal(d.last_seen, 5000);
	store_device_clear(&d);
	assert_int_equal(store_device_seen(st, 999, "t", "1", NULL, 0, 1, NULL), TAM_ENOTFOUND);
}

/* ---- observed state ---- */

static void
state_fill(struct tam_dev_state *s, struct tam_sd_obs *sds, size_t nsd, struct tam_ta_obs *tas,
    size_t nta, struct tam_spaik_obs *aiks, size_t naik)
{
	memset(s, 0, sizeof(*s));
	s->sds = sds;
	s->n_sds = nsd;
	s->tas = tas;
	s->n_tas = nta;
	s->aiks = aiks;
	s->n_aiks = naik;
}

/*
 * A renewal rewrites did, certificate and chain of the row with the same key
 * and nothing else; a row whose key differs is not touched.
 */
static void
test_device_renew(void **state)
{
	struct store *st = *state;
	struct store_device d = { 0 }, got = { 0 };
	uint8_t did[32], cert[40];
	int64_t id = 0, other = 0;

	memset(did, 0x31, 32);
	assert_int_equal(try_add_device(st, did, "renew-me", STORE_KEY_RAW, &id), TAM_OK);
	memset(did, 0x32, 32);
	assert_int_equal(try_add_device(st, did, "other", STORE_KEY_CERT, &other), TAM_OK);
	assert_int_equal(store_device_get(st, id, &d, NULL), TAM_OK);
	memset(d.did, 0x33, 32);
	fill(cert, sizeof(cert), 0x33);
	d.cert = malloc(sizeof(cert));
	assert_non_null(d.cert);
	memcpy(d.cert, cert, sizeof(cert));
	d.cert_len = sizeof(cert);
	d.key_kind = STORE_KEY_CERT;
	/* another row's id with this key: not found, nothing written */
	d.id = other;
	assert_int_equal(store_device_renew(st, &d, NULL), TAM_ENOTFOUND);
	d.id = id;
	assert_int_equal(store_device_renew(st, &d, NULL), TAM_OK);
	assert_int_equal(store_device_get(st, id, &got, NULL), TAM_OK);
	assert_memory_equal(got.did, d.did, 32);
	assert_int_equal(got.key_kind, STORE_KEY_CERT);
	assert_int_equal(got.cert_len, sizeof(cert));
	assert_memory_equal(got.cert, cert, sizeof(cert));
	assert_string_equal(got.name, "renew-me");
	assert_string_equal(got.thumbprint, d.thumbprint);
	store_device_clear(&got);
	memset(did, 0x32, 32);
	assert_int_equal(store_device_get_by_did(st, did, &got, NULL), TAM_OK);
	assert_int_equal(got.id, other);
	store_device_clear(&got);
	/* a renewal brings a certificate */
	d.key_kind = STORE_KEY_RAW;
	assert_int_equal(store_device_renew(st, &d, NULL), TAM_EINVAL);
	store_device_clear(&d);
}

static void
test_device_state(void **state)
{
	struct store *st = *state;
	struct tam_sd_obs sds[3] = { { .sdname = "sd.z", .spid = "sp.z" },
	    { .sdname = "sd.a", .spid = "" }, { .sdname = "sd.a", .spid = "dup" } };
	struct tam_ta_obs tas[2] = { { "uuid-2", "sd.z", "two", 0, 0, false }, { "uuid-1", "", "", 0, 0, false } };
	uint8_t k1[5] = { 1, 1, 1, 1, 1 }, k2[3] = { 2, 2, 2 };
	struct tam_spaik_obs aiks[2] = { { "sp.z", k1, sizeof(k1) }, { "sp.a", k2, sizeof(k2) } };
	struct tam_dev_state in, out;
	struct tam_err err = { 0 };
	int64_t dev, sp, ta, ver;

	dev = add_device(st, 1, "state-dev");
	sp = add_sp(st, "sp.z", "sd.z");
	ta = add_ta(st, sp, "uuid-2");
	ver = add_version(st, ta, "1.0");
	tas[0].ta_version_id = ver;

	assert_int_equal(store_device_state_get(st, dev, &out, NULL), TAM_OK);
	assert_int_equal(out.n_sds + out.n_tas + out.n_aiks, 0);
	tam_dev_state_free(&out);

	state_fill(&in, sds, 2, tas, 2, aiks, 2);
	assert_int_equal(store_device_state_set(st, dev, &in, NULL), TAM_OK);
	assert_int_equal(store_device_seen(st, dev, "tee.x", "9", NULL, 0, 77, NULL), TAM_OK);
	assert_int_equal(store_device_state_get(st, dev, &out, NULL), TAM_OK);
	assert_string_equal(out.tee_name, "tee.x");
	assert_string_equal(out.tee_ver, "9");
	assert_int_equal(out.n_sds, 2);
	assert_string_equal(out.sds[0].sdname, "sd.a");
	assert_string_equal(out.sds[0].spid, "");
	assert_string_equal(out.sds[1].sdname, "sd.z");
	assert_string_equal(out.sds[1].spid, "sp.z");
	assert_int_equal(out.n_tas, 2);
	assert_string_equal(out.tas[0].taid, "uuid-1");
	assert_int_equal(out.tas[0].ta_version_id, 0);
	assert_string_equal(out.tas[1].taid, "uuid-2");
	assert_string_equal(out.tas[1].sdname, "sd.z");
	assert_string_equal(out.tas[1].taname, "two");
	assert_int_equal(out.tas[1].ta_version_id, ver);
	assert_int_equal(out.n_aiks, 2);
	assert_string_equal(out.aiks[0].spid, "sp.a");
	assert_int_equal(out.aiks[0].spki_len, sizeof(k2));
	assert_memory_equal(out.aiks[0].spki, k2, sizeof(k2));
	assert_memory_equal(out.aiks[1].spki, k1, sizeof(k1));
	tam_dev_state_free(&out);

	/* a duplicate SD name fails the whole replacement */
	state_fill(&in, sds + 1, 2, tas, 1, NULL, 0);
	assert_int_equal(store_device_state_set(st, dev, &in, &err), TAM_ECONFLICT);
	assert_non_null(strstr(err.msg, "sd.a"));
	/* so does a ta_version_id we never issued, after the SDs were already written */
	tas[1].ta_version_id = 987654;
	state_fill(&in, sds, 1, tas + 1, 1, NULL, 0);
	assert_int_equal(store_device_state_set(st, dev, &in, NULL), TAM_EINVAL);
	assert_int_equal(store_device_state_get(st, dev, &out, NULL), TAM_OK);
	assert_int_equal(out.n_sds, 2);
	assert_int_equal(out.n_tas, 2);
	assert_int_equal(out.n_aiks, 2);
	tam_dev_state_free(&out);

	/* replacement: what is not listed any more is gone */
	state_fill(&in, sds, 1, NULL, 0, aiks + 1, 1);
	assert_int_equal(store_device_state_set(st, dev, &in, NULL), TAM_OK);
	assert_int_equal(store_device_state_get(st, dev, &out, NULL), TAM_OK);
	assert_int_equal(out.n_sds, 1);
	assert_string_equal(out.sds[0].sdname, "sd.z");
	assert_int_equal(out.n_tas, 0);
	assert_int_equal(out.n_aiks, 1);
	assert_string_equal(out.aiks[0].spid, "sp.a");
	tam_dev_state_free(&out);

	assert_int_equal(store_device_state_set(st, 999, &in, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_device_state_get(st, 999, &out, NULL), TAM_ENOTFOUND);
	aiks[0].spki = NULL;
	state_fill(&in, NULL, 0, NULL, 0, aiks, 1);
	assert_int_equal(store_device_state_set(st, dev, &in, NULL), TAM_EINVAL);
}

/* Inside a caller's transaction a failed state write undoes only itself. */
static void
test_device_state_in_tx(void **state)
{
	struct store *st = *state;
	struct tam_sd_obs sds[3] = { { .sdname = "sd.a", .spid = "sp.a" },
	    { .sdname = "sd.a", .spid = "sp.b" }, { .sdname = "sd.z", .spid = "sp.z" } };
	struct tam_dev_state in, out;
	struct store_sp sp;
	int64_t dev;

	dev = add_device(st, 2, NULL);
	state_fill(&in, sds + 2, 1, NULL, 0, NULL, 0);
	assert_int_equal(store_device_state_set(st, dev, &in, NULL), TAM_OK);
	assert_int_equal(store_begin(st, NULL), TAM_OK);
	add_sp(st, "sp.tx", "sd.tx");
	state_fill(&in, sds, 2, NULL, 0, NULL, 0);
	assert_int_equal(store_device_state_set(st, dev, &in, NULL), TAM_ECONFLICT);
	/* still the state from before the failed call, seen from inside the transaction */
	assert_int_equal(store_device_state_get(st, dev, &out, NULL), TAM_OK);
	assert_int_equal(out.n_sds, 1);
	assert_string_equal(out.sds[0].sdname, "sd.z");
	tam_dev_state_free(&out);
	assert_int_equal(store_commit(st, NULL), TAM_OK);
	assert_int_equal(store_sp_get(st, "sp.tx", &sp, NULL), TAM_OK);
	store_sp_clear(&sp);
	assert_int_equal(store_device_state_get(st, dev, &out, NULL), TAM_OK);
	assert_int_equal(out.n_sds, 1);
	assert_string_equal(out.sds[0].sdname, "sd.z");
	tam_dev_state_free(&out);
}

/* ---- assignments ---- */

static void
test_assignments(void **state)
{
	struct store *st = *state;
	struct tam_assignment *a = NULL;
	int64_t dev, sp1, sp2, ta1, ta2, ta3, v10, v12, v13, v20;
	struct tam_err err = { 0 };
	size_t n = 0;

	dev = add_device(st, 3, "assign-dev");
	sp1 = add_sp(st, "sp.one", "sd.one");
	sp2 = add_sp(st, "sp.two", "sd.two");
	ta1 = add_ta(st, sp1, "uuid-1");
	ta2 = add_ta(st, sp2, "uuid-2");
	ta3 = add_ta(st, sp1, "uuid-0");
	v10 = add_version(st, ta1, "1.0");
	v12 = add_version(st, ta1, "1.2");
	add_version(st, ta1, "1.1");  /* uploaded last, still not the latest */
	v20 = add_version(st, ta2, "2.0");

	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(a);

	assert_int_equal(store_assign(st, dev, ta1, 0, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_assign(st, dev, ta2, v20, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_assign(st, dev, ta3, 0, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);  /* uuid-0 has no version yet */
	assert_string_equal(a[0].taid, "uuid-1");
	assert_int_equal(a[0].ta_id, ta1);
	assert_int_equal(a[0].ta_version_id, v12);
	assert_string_equal(a[0].version, "1.2");
	assert_int_equal(a[0].sp_id, sp1);
	assert_string_equal(a[0].spid, "sp.one");
	assert_string_equal(a[0].sdname, "sd.one");
	assert_string_equal(a[1].taid, "uuid-2");
	assert_int_equal(a[1].ta_version_id, v20);
	assert_string_equal(a[1].sdname, "sd.two");
	free(a);

	/* latest follows new uploads; a pin replaces it and stays put */
	v13 = add_version(st, ta1, "1.3");
	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(a[0].ta_version_id, v13);
	free(a);
	assert_int_equal(store_assign(st, dev, ta1, v10, false, "cli:op", NULL), TAM_OK);
	add_version(st, ta1, "1.4");
	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].ta_version_id, v10);
	assert_string_equal(a[0].version, "1.0");
	free(a);

	/* a version of another TA, an unknown device */
	assert_int_equal(store_assign(st, dev, ta1, v20, false, "cli:op", &err), TAM_EINVAL);
	assert_int_equal(store_assign(st, 999, ta1, 0, false, "cli:op", NULL), TAM_EINVAL);
	assert_int_equal(store_assign(st, dev, ta1, 0, false, "", NULL), TAM_EINVAL);

	assert_int_equal(store_unassign(st, dev, ta1, NULL), TAM_OK);
	assert_int_equal(store_unassign(st, dev, ta1, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].taid, "uuid-2");
	free(a);
}

/* ---- what TA versions require ---- */

static int spool(const char *text, size_t len);

/* A requirement of TA taid, at least version min ("" for any). */
static struct store_ta_require
req(const char *taid, const char *min)
{
	struct store_ta_require r;

	memset(&r, 0, sizeof(r));
	strcpy(r.taid, taid);
	strcpy(r.min_version, min);
	return r;
}

static size_t
versions_of(struct store *st, int64_t ta_id)
{
	struct store_ta_version *vs = NULL;
	size_t n = 0;

	assert_int_equal(store_ta_version_list(st, ta_id, &vs, &n, NULL), TAM_OK);
	store_ta_versions_free(vs, n);
	return n;
}

static void
test_requires(void **state)
{
	struct store *st = *state;
	struct store_ta_require r[TAM_MAX_TA_REQUIRES + 1], *got = NULL;
	struct store_ta_version v = { 0 };
	struct tam_err err = { 0 };
	int64_t sp1, sp2, app, lib, tool, id = 0;
	char taid[16];
	size_t n = 0;
	int bfd, efd;

	sp1 = add_sp(st, "sp.app", "sd.app");
	sp2 = add_sp(st, "sp.lib", "sd.lib");
	app = add_ta(st, sp1, "uuid-app");
	lib = add_ta(st, sp1, "uuid-lib");
	tool = add_ta(st, sp1, "uuid-tool");
	add_version(st, lib, "1.0");
	add_version(st, add_ta(st, sp2, "uuid-foreign"), "1.0");

	/* another SP's TA cannot be required, and is refused as one that does not exist */
	r[0] = req("uuid-foreign", "");
	assert_int_equal(try_add_version_reqs(st, app, "0.9", r, 1, &id, &err), TAM_EINVAL);
	assert_string_equal(err.msg, "the SP has no TA uuid-foreign to require");
	r[0] = req("uuid-nosuch", "");
	assert_int_equal(try_add_version_reqs(st, app, "0.9", r, 1, &id, &err), TAM_EINVAL);
	assert_string_equal(err.msg, "the SP has no TA uuid-nosuch to require");

	/* stored with the version, read back by taid; one without versions too */
	r[0] = req("uuid-tool", "");
	r[1] = req("uuid-lib", "1.1");
	assert_int_equal(try_add_version_reqs(st, app, "1.0", r, 2, &id, NULL), TAM_OK);
	assert_int_equal(store_ta_version_requires(st, id, &got, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(got[0].taid, "uuid-lib");
	assert_string_equal(got[0].min_version, "1.1");
	assert_int_equal(got[0].min_version_key, 0x100010000LL);
	assert_string_equal(got[1].taid, "uuid-tool");
	assert_string_equal(got[1].min_version, "");
	assert_int_equal(got[1].min_version_key, 0);
	free(got);
	/* a version without requirements has none */
	assert_int_equal(store_ta_version_requires(st, add_version(st, tool, "1.0"), &got, &n, NULL),
	    TAM_OK);
	assert_int_equal(n, 0);
	free(got);

	/* refused, and then nothing of the version is stored: an unknown TA ... */
	r[1] = req("uuid-nosuch", "");
	assert_int_equal(try_add_version_reqs(st, app, "2.0", r, 2, NULL, &err), TAM_EINVAL);
	assert_string_equal(err.msg, "the SP has no TA uuid-nosuch to require");
	/* ... its own TA, a TA twice, a bad minimum version, too many */
	r[1] = req("uuid-app", "");
	assert_int_equal(try_add_version_reqs(st, app, "2.0", r, 2, NULL, &err), TAM_EINVAL);
	assert_non_null(strstr(err.msg, "its own TA"));
	r[1] = req("uuid-tool", "2");
	assert_int_equal(try_add_version_reqs(st, app, "2.0", r, 2, NULL, &err), TAM_EINVAL);
	r[1] = req("uuid-lib", "1.x");
	assert_int_equal(try_add_version_reqs(st, app, "2.0", r, 2, NULL, &err), TAM_EINVAL);
	for (size_t i = 0; i <= TAM_MAX_TA_REQUIRES; i++) {
		snprintf(taid, sizeof(taid), "uuid-many%zu", i);
		add_ta(st, sp1, taid);
		r[i] = req(taid, "");
	}
	assert_int_equal(try_add_version_reqs(st, app, "2.0", r, TAM_MAX_TA_REQUIRES + 1, NULL,
	    &err), TAM_EINVAL);
	assert_int_equal(versions_of(st, app), 1);
	/* exactly the limit is fine */
	assert_int_equal(try_add_version_reqs(st, app, "2.0", r, TAM_MAX_TA_REQUIRES, &id, NULL),
	    TAM_OK);
	assert_int_equal(store_ta_version_requires(st, id, &got, &n, NULL), TAM_OK);
	assert_int_equal(n, TAM_MAX_TA_REQUIRES);
	free(got);

	/* the streamed add stores them in its transaction too, and refuses the same way */
	bfd = spool("bundle three", 12);
	efd = spool("ciphertext", 10);
	v.ta_id = app;
	strcpy(v.version, "3.0");
	strcpy(v.created_by, "cli:test");
	r[0] = req("uuid-lib", "1.0");
	r[1] = req("uuid-nosuch", "");
	v.reqs = r;
	v.n_reqs = 2;
	assert_int_equal(store_ta_version_add_files(st, &v, bfd, 12, efd, 10, &id, &err), TAM_EINVAL);
	assert_int_equal(versions_of(st, app), 2);
	v.n_reqs = 1;
	assert_int_equal(store_ta_version_add_files(st, &v, bfd, 12, efd, 10, &id, NULL), TAM_OK);
	assert_int_equal(store_ta_version_requires(st, id, &got, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].taid, "uuid-lib");
	free(got);
	close(bfd);
	close(efd);

	/* the caller's transaction: undone with it */
	assert_int_equal(store_begin(st, NULL), TAM_OK);
	assert_int_equal(try_add_version_reqs(st, app, "4.0", r, 1, &id, NULL), TAM_OK);
	store_rollback(st);
	assert_int_equal(versions_of(st, app), 3);
	assert_int_equal(store_ta_version_requires(st, id, &got, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(got);
}

static void
test_implied_assignments(void **state)
{
	struct store *st = *state;
	struct store_ta_require r[2];
	struct store_assignment_row *rows = NULL;
	struct store_page pg = { 0 };
	struct tam_assignment *a = NULL;
	struct tam_ta_req *q = NULL;
	struct tam_ta_obs obs[2];
	struct tam_dev_state seen = { 0 };
	int64_t dev, sp1, app, lib, util, crypto, vapp, vlib, vutil, vc1, vc2, vlib2;
	size_t n = 0, nq = 0;

	dev = add_device(st, 9, "implied-dev");
	sp1 = add_sp(st, "sp.app", "sd.app");
	app = add_ta(st, sp1, "uuid-app");
	lib = add_ta(st, sp1, "uuid-lib");
	util = add_ta(st, sp1, "uuid-util");
	crypto = add_ta(st, sp1, "uuid-crypto");
	add_ta(st, sp1, "uuid-empty");
	/*
	 * app needs lib and util, both need crypto (a diamond), util also a TA
	 * without versions, and crypto 2.0 needs app again (a cycle)
	 */
	vc1 = add_version(st, crypto, "1.0");
	r[0] = req("uuid-crypto", "1.0");
	assert_int_equal(try_add_version_reqs(st, lib, "1.0", r, 1, &vlib, NULL), TAM_OK);
	r[1] = req("uuid-empty", "");
	assert_int_equal(try_add_version_reqs(st, util, "1.0", r, 2, &vutil, NULL), TAM_OK);
	r[0] = req("uuid-lib", "");
	r[1] = req("uuid-util", "");
	assert_int_equal(try_add_version_reqs(st, app, "1.0", r, 2, &vapp, NULL), TAM_OK);
	r[0] = req("uuid-app", "");
	assert_int_equal(try_add_version_reqs(st, crypto, "2.0", r, 1, &vc2, NULL), TAM_OK);

	/* only app is assigned: the rest comes along, each once, at its latest version */
	assert_int_equal(store_assign(st, dev, app, 0, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(n, 4);
	assert_string_equal(a[0].taid, "uuid-app");
	assert_false(a[0].implied);
	assert_int_equal(a[0].ta_version_id, vapp);
	assert_string_equal(a[1].taid, "uuid-crypto");
	assert_true(a[1].implied);
	assert_int_equal(a[1].ta_version_id, vc2);
	assert_string_equal(a[1].spid, "sp.app");
	assert_string_equal(a[1].sdname, "sd.app");
	assert_false(a[1].allow_downgrade);
	/* each implied TA names the assignment that brought it, and who made that */
	assert_string_equal(a[1].implied_by, "uuid-app");
	assert_string_equal(a[1].implied_actor, "cli:op");
	assert_string_equal(a[0].implied_by, "");
	assert_string_equal(a[2].taid, "uuid-lib");
	assert_true(a[2].implied);
	assert_int_equal(a[2].ta_version_id, vlib);
	assert_string_equal(a[3].taid, "uuid-util");
	assert_true(a[3].implied);

	/* policy's input: what those versions and the device's require, each version once */
	memset(obs, 0, sizeof(obs));
	strcpy(obs[0].taid, "uuid-app");
	obs[0].ta_version_id = vapp;
	strcpy(obs[1].taid, "uuid-other");
	seen.tas = obs;
	seen.n_tas = 2;
	assert_int_equal(store_ta_requires_get(st, a, n, &seen, &q, &nq, NULL), TAM_OK);
	assert_int_equal(nq, 6);
	for (size_t i = 0; i < nq; i++) {
		if (q[i].ta_version_id == vlib) {
			assert_string_equal(q[i].taid, "uuid-crypto");
			assert_int_equal(q[i].min_version_key, 0x100000000LL);
		} else if (q[i].ta_version_id == vc2) {
			assert_string_equal(q[i].taid, "uuid-app");
		} else {
			assert_true(q[i].ta_version_id == vapp || q[i].ta_version_id == vutil);
		}
	}
	free(q);
	free(a);
	assert_int_equal(store_ta_requires_get(st, NULL, 0, NULL, &q, &nq, NULL), TAM_OK);
	assert_int_equal(nq, 0);
	assert_null(q);

	/* an assigned TA is not implied too, and keeps its pin; a withdrawn version is not implied */
	vlib2 = add_version(st, lib, "2.0");
	assert_int_equal(store_assign(st, dev, lib, vlib, true, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_ta_version_withdraw(st, vc2, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(n, 4);
	assert_string_equal(a[1].taid, "uuid-crypto");
	assert_int_equal(a[1].ta_version_id, vc1);
	assert_string_equal(a[2].taid, "uuid-lib");
	assert_false(a[2].implied);
	assert_true(a[2].allow_downgrade);
	assert_int_equal(a[2].ta_version_id, vlib);
	assert_int_not_equal(a[2].ta_version_id, vlib2);
	free(a);
	/* operators' listing shows what they assigned, nothing implied */
	assert_int_equal(store_assignment_page(st, dev, 0, &pg, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	free(rows);
	/* unassigned, nothing is implied any more */
	assert_int_equal(store_unassign(st, dev, app, NULL), TAM_OK);
	assert_int_equal(store_unassign(st, dev, lib, NULL), TAM_OK);
	assert_int_equal(store_assignments_get(st, dev, &a, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(a);
}

/* ---- sessions and requests ---- */

static void
test_sessions(void **state)
{
	struct store *st = *state;
	struct store_session s = { 0 };
	int64_t sid, dev, other;

	dev = add_device(st, 4, "sess-dev");
	other = add_device(st, 5, "sess-other");
	sid = add_session(st, "tid-1", 100);
	assert_int_equal(store_session_new(st, "tid-1", 101, "default", "", NULL, NULL), TAM_ECONFLICT);
	assert_int_equal(store_session_get(st, sid, &s, NULL), TAM_OK);
	assert_string_equal(s.tid, "tid-1");
	assert_int_equal(s.device_id, 0);
	assert_int_equal(s.created, 100);
	assert_int_equal(s.ended, 0);
	assert_string_equal(s.result, "");

	assert_int_equal(store_session_bind_device(st, sid, dev, NULL), TAM_OK);
	assert_int_equal(store_session_bind_device(st, sid, dev, NULL), TAM_OK);
	assert_int_equal(store_session_bind_device(st, sid, other, NULL), TAM_ECONFLICT);
	assert_int_equal(store_session_bind_device(st, 999, dev, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_session_end(st, sid, "ok", 150, NULL), TAM_OK);
	assert_int_equal(store_session_end(st, sid, "again", 160, NULL), TAM_ECONFLICT);
	assert_int_equal(store_session_end(st, 999, "ok", 150, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_session_get(st, sid, &s, NULL), TAM_OK);
	assert_int_equal(s.device_id, dev);
	assert_int_equal(s.ended, 150);
	assert_string_equal(s.result, "ok");
	assert_int_equal(store_session_get(st, 999, &s, NULL), TAM_ENOTFOUND);
}

static void
test_requests(void **state)
{
	struct store *st = *state;
	struct store_request r = { 0 }, got;
	struct tam_err err = { 0 };
	int64_t dev, sp, ta, ver, sid;

	dev = add_device(st, 6, "req-dev");
	sp = add_sp(st, "sp.r", "sd.r");
	ta = add_ta(st, sp, "uuid-r");
	ver = add_version(st, ta, "1.0");
	sid = add_session(st, "tid-r", 1000);
	assert_int_equal(store_session_bind_device(st, sid, dev, NULL), TAM_OK);

	strcpy(r.rid, "rid-install");
	r.session_id = sid;
	r.device_id = dev;
	strcpy(r.response, "InstallTAResponse");
	r.op = TAM_OP_INSTALL_TA;
	r.sp_id = sp;
	strcpy(r.spid, "sp.r");
	strcpy(r.sdname, "sd.r");
	strcpy(r.taid, "uuid-r");
	r.ta_version_id = ver;
	r.created = 1000;
	r.expires = 1300;
	assert_int_equal(store_request_add(st, &r, NULL), TAM_OK);
	assert_int_equal(store_request_add(st, &r, &err), TAM_ECONFLICT);
	assert_non_null(strstr(err.msg, "rid-install"));
	r.op = (enum tam_op_kind)42;
	strcpy(r.rid, "rid-bad-op");
	assert_int_equal(store_request_add(st, &r, NULL), TAM_EINVAL);

	assert_int_equal(store_request_get(st, "rid-install", &got, NULL), TAM_OK);
	assert_string_equal(got.rid, "rid-install");
	assert_int_equal(got.session_id, sid);
	assert_string_equal(got.tid, "tid-r");
	assert_int_equal(got.device_id, dev);
	assert_string_equal(got.response, "InstallTAResponse");
	assert_int_equal(got.op, TAM_OP_INSTALL_TA);
	assert_int_equal(got.sp_id, sp);
	assert_string_equal(got.spid, "sp.r");
	assert_string_equal(got.sdname, "sd.r");
	assert_string_equal(got.taid, "uuid-r");
	assert_int_equal(got.ta_version_id, ver);
	assert_int_equal(got.created, 1000);
	assert_int_equal(got.expires, 1300);
	assert_int_equal(got.answered, 0);
	assert_false(got.cancelled);
	assert_int_equal(store_request_get(st, "rid-none", &got, NULL), TAM_ENOTFOUND);

	/* a GetDeviceState request has no device yet and no operation */
	add_request(st, "rid-query", sid, 0, 1000, 1300);
	assert_int_equal(store_request_get(st, "rid-query", &got, NULL), TAM_OK);
	assert_int_equal(got.device_id, 0);
	assert_int_equal(got.op, TAM_OP_NONE);
	assert_int_equal(got.sp_id, 0);
	assert_int_equal(got.ta_version_id, 0);

	assert_int_equal(store_request_consume(st, "rid-install", 1100, NULL), TAM_OK);
	assert_int_equal(store_request_consume(st, "rid-install", 1101, &err), TAM_ERID_REPLAYED);
	assert_int_equal(store_request_get(st, "rid-install", &got, NULL), TAM_OK);
	assert_int_equal(got.answered, 1100);

	assert_int_equal(store_request_consume(st, "rid-query", 1300, NULL), TAM_ERID_EXPIRED);
	assert_int_equal(store_request_consume(st, "rid-query", 1299, NULL), TAM_OK);
	assert_int_equal(store_request_consume(st, "rid-never", 1100, NULL), TAM_ERID_UNKNOWN);
	assert_int_equal(store_request_consume(st, "", 1100, NULL), TAM_ERID_UNKNOWN);

	r.op = TAM_OP_INSTALL_TA;
	strcpy(r.rid, "rid-late");
	r.expires = 900;
	assert_int_equal(store_request_add(st, &r, NULL), TAM_EINVAL);
}

static void
test_cancel_device(void **state)
{
	struct store *st = *state;
	struct store_request got;
	int64_t dev, other, s1, s2;

	dev = add_device(st, 7, "cancel-dev");
	other = add_device(st, 8, "cancel-other");
	s1 = add_session(st, "tid-c1", 1000);
	s2 = add_session(st, "tid-c2", 1000);
	add_request(st, "rid-c1", s1, dev, 1000, 2000);
	add_request(st, "rid-c1-done", s1, dev, 1000, 2000);
	add_request(st, "rid-c2", s2, dev, 1000, 2000);
	add_request(st, "rid-other", s1, other, 1000, 2000);
	assert_int_equal(store_request_consume(st, "rid-c1-done", 1001, NULL), TAM_OK);

	assert_int_equal(store_requests_cancel_device(st, dev, s2, NULL), TAM_OK);
	assert_int_equal(store_request_get(st, "rid-c1", &got, NULL), TAM_OK);
	assert_true(got.cancelled);
	assert_int_equal(store_request_get(st, "rid-c1-done", &got, NULL), TAM_OK);
	assert_false(got.cancelled);
	assert_int_equal(got.answered, 1001);
	assert_int_equal(store_request_get(st, "rid-c2", &got, NULL), TAM_OK);
	assert_false(got.cancelled);
	assert_int_equal(store_request_get(st, "rid-other", &got, NULL), TAM_OK);
	assert_false(got.cancelled);

	assert_int_equal(store_request_consume(st, "rid-c1", 1002, NULL), TAM_ERID_EXPIRED);
	assert_int_equal(store_request_consume(st, "rid-c1-done", 1002, NULL), TAM_ERID_REPLAYED);
	assert_int_equal(store_request_consume(st, "rid-c2", 1002, NULL), TAM_OK);

	/* keep_session 0 keeps nothing */
	assert_int_equal(store_requests_cancel_device(st, other, 0, NULL), TAM_OK);
	assert_int_equal(store_request_consume(st, "rid-other", 1003, NULL), TAM_ERID_EXPIRED);
}

/* Two connections race for one rid: exactly one wins. */
static void
test_consume_two_connections(void **state)
{
	char path[PATH_MAX];
	struct store *a = NULL, *b = NULL;
	int64_t sid;

	(void)state;
	db_path(path, sizeof(path), "race.db");
	assert_int_equal(store_open(path, STORE_CREATE, &a, NULL), TAM_OK);
	assert_int_equal(store_open(path, 0, &b, NULL), TAM_OK);
	sid = add_session(a, "tid-race", 10);
	add_request(a, "rid-race", sid, 0, 10, 100);
	assert_int_equal(store_request_consume(b, "rid-race", 20, NULL), TAM_OK);
	assert_int_equal(store_request_consume(a, "rid-race", 20, NULL), TAM_ERID_REPLAYED);
	store_close(a);
	store_close(b);
}

static int64_t
add_peer_session(struct store *st, const char *tid, const char *peer, const char *rid)
{
	int64_t id = 0;

	assert_int_equal(store_session_new(st, tid, 100, "aist", peer, &id, NULL), TAM_OK);
	add_request(st, rid, id, 0, 100, 5000);
	return id;
}

/* A peer's new session drops its earlier ones no device answered, and only those. */
static void
test_peer_sessions_superseded(void **state)
{
	struct store *st = *state;
	struct store_request got;
	struct store_session s;
	int64_t first, answered, other;

	first = add_peer_session(st, "tid-p1", "10.0.0.1", "rid-p1");
	other = add_peer_session(st, "tid-p2", "10.0.0.2", "rid-p2");
	assert_int_equal(store_request_of_peer(st, "aist", "10.0.0.1", 200, &got, NULL), TAM_OK);
	assert_string_equal(got.rid, "rid-p1");
	assert_int_equal(store_requests_cancel_peer(st, "aist", "10.0.0.1", NULL), TAM_OK);
	assert_int_equal(store_session_get(st, first, &s, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_request_get(st, "rid-p1", &got, NULL), TAM_ENOTFOUND);
	/* one a device answered stays, its open request cancelled */
	answered = add_peer_session(st, "tid-p3", "10.0.0.1", "rid-p3");
	assert_int_equal(store_session_bind_device(st, answered, add_device(st, 0x51, "peer-dev"), NULL),
	    TAM_OK);
	assert_int_equal(store_request_consume(st, "rid-p3", 200, NULL), TAM_OK);
	add_request(st, "rid-p4", answered, 0, 200, 5000);
	assert_int_equal(store_requests_cancel_peer(st, "aist", "10.0.0.1", NULL), TAM_OK);
	assert_int_equal(store_session_get(st, answered, &s, NULL), TAM_OK);
	assert_int_equal(store_request_get(st, "rid-p4", &got, NULL), TAM_OK);
	assert_true(got.cancelled);
	/* another peer's session is its own */
	assert_int_equal(store_session_get(st, other, &s, NULL), TAM_OK);
	assert_int_equal(store_request_of_peer(st, "aist", "10.0.0.2", 200, &got, NULL), TAM_OK);
}

/* The session of a stateless rid is written by its answer, once. */
static void
test_session_answered(void **state)
{
	struct store *st = *state;
	struct store_request r = { 0 }, got;
	struct store_session s;
	int64_t sid = 0, again = 0;

	strcpy(r.rid, "o.stateless-1");
	strcpy(r.tid, "tid-stateless-1");
	strcpy(r.response, "GetDeviceStateResponse");
	r.op = TAM_OP_NONE;
	r.expires = 1300;
	r.flags = STORE_REQ_ALT_IDENTITY;
	assert_int_equal(store_session_answered(st, &r, 1000, &sid, NULL), TAM_OK);
	assert_true(sid > 0);
	assert_int_equal(store_session_get(st, sid, &s, NULL), TAM_OK);
	assert_string_equal(s.tid, "tid-stateless-1");
	assert_int_equal(s.created, 1000);
	assert_int_equal(store_request_get(st, r.rid, &got, NULL), TAM_OK);
	assert_int_equal(got.answered, 1000);
	assert_int_equal(got.expires, 1300);
	assert_int_equal(got.flags, STORE_REQ_ALT_IDENTITY);
	/* the same rid, or another rid of the same tid (its alternate identity's), is a replay */
	assert_int_equal(store_session_answered(st, &r, 1001, &again, NULL), TAM_ERID_REPLAYED);
	strcpy(r.rid, "o.stateless-2");
	assert_int_equal(store_session_answered(st, &r, 1001, &again, NULL), TAM_ERID_REPLAYED);
	assert_int_equal(again, 0);
}

/* Every connection, and so every daemon, gets the same secret; only the first makes it. */
static void
test_secret_shared(void **state)
{
	struct store *st = *state, *other = NULL;
	uint8_t a[32], b[32], c[32];
	char path[PATH_MAX];

	db_path(path, sizeof(path), "secret.db");
	assert_int_equal(store_open(path, STORE_CREATE, &other, NULL), TAM_OK);
	store_close(other);
	assert_int_equal(store_open(path, 0, &other, NULL), TAM_OK);
	assert_int_equal(store_secret_get(other, "k1", a, sizeof(a), NULL), TAM_OK);
	assert_int_equal(store_secret_get(other, "k1", b, sizeof(b), NULL), TAM_OK);
	assert_memory_equal(a, b, sizeof(a));
	store_close(other);
	assert_int_equal(store_open(path, 0, &other, NULL), TAM_OK);
	assert_int_equal(store_secret_get(other, "k1", c, sizeof(c), NULL), TAM_OK);
	assert_memory_equal(a, c, sizeof(a));
	/* another name is another secret; a secret read at another length is refused */
	assert_int_equal(store_secret_get(other, "k2", b, sizeof(b), NULL), TAM_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(store_secret_get(other, "k1", c, 16, NULL), TAM_EDB);
	assert_int_equal(store_secret_get(other, "k3", c, 0, NULL), TAM_EINVAL);
	store_close(other);
	(void)st;
}

/* Purged rows give their pages back: new databases have incremental auto-vacuum, old ones get it. */
static void
test_reclaim(void **state)
{
	struct store *st = *state, *old = NULL;
	char path[PATH_MAX], text[32], rid[32];
	int64_t sid, freed = 0;
	bool vacuumed = true;

	(void)state;
	assert_int_equal(store_auto_vacuum_enable(st, &vacuumed, NULL), TAM_OK);
	assert_false(vacuumed);
	sid = add_session(st, "tid-reclaim", 100);
	assert_int_equal(store_begin(st, NULL), TAM_OK);
	for (int i = 0; i < 2000; i++) {
		snprintf(rid, sizeof(rid), "rid-reclaim-%d", i);
		add_request(st, rid, sid, 0, 100, 200);
	}
	assert_int_equal(store_commit(st, NULL), TAM_OK);
	assert_int_equal(store_purge(st, 300, NULL), TAM_OK);
	assert_int_equal(store_reclaim(st, 100000, &freed, NULL), TAM_OK);
	assert_true(freed > 10);
	assert_int_equal(store_reclaim(st, 100000, &freed, NULL), TAM_OK);
	assert_int_equal(freed, 0);
	assert_int_equal(store_reclaim(st, 0, &freed, NULL), TAM_EINVAL);

	/* a database made before auto-vacuum: one VACUUM converts it, once */
	db_path(path, sizeof(path), "old-vacuum.db");
	raw_exec(path, "CREATE TABLE t (x)");
	assert_int_equal(store_open(path, 0, &old, NULL), TAM_OK);
	raw_text(path, "PRAGMA auto_vacuum", text, sizeof(text));
	assert_string_equal(text, "0");
	assert_int_equal(store_auto_vacuum_enable(old, &vacuumed, NULL), TAM_OK);
	assert_true(vacuumed);
	raw_text(path, "PRAGMA auto_vacuum", text, sizeof(text));
	assert_string_equal(text, "2");
	assert_int_equal(store_auto_vacuum_enable(old, &vacuumed, NULL), TAM_OK);
	assert_false(vacuumed);
	store_close(old);
}

static void
test_purge(void **state)
{
	struct store *st = *state;
	struct store_session s;
	struct store_request got;
	int64_t old_ended, old_open, old_live, recent;

	old_ended = add_session(st, "tid-old-ended", 100);
	add_request(st, "rid-old-ended", old_ended, 0, 100, 5000);
	assert_int_equal(store_session_end(st, old_ended, "ok", 200, NULL), TAM_OK);
	old_open = add_session(st, "tid-old-open", 100);
	add_request(st, "rid-old-open", old_open, 0, 100, 400);
	old_live = add_session(st, "tid-old-live", 100);
	add_request(st, "rid-old-live", old_live, 0, 100, 2000);
	recent = add_session(st, "tid-recent", 1500);
	add_request(st, "rid-recent", recent, 0, 1500, 1800);

	assert_int_equal(store_purge(st, 1000, NULL), TAM_OK);
	assert_int_equal(store_session_get(st, old_ended, &s, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_session_get(st, old_open, &s, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_request_get(st, "rid-old-ended", &got, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_request_get(st, "rid-old-open", &got, NULL), TAM_ENOTFOUND);
	/* still answerable, so still kept */
	assert_int_equal(store_session_get(st, old_live, &s, NULL), TAM_OK);
	assert_int_equal(store_request_get(st, "rid-old-live", &got, NULL), TAM_OK);
	assert_int_equal(store_session_get(st, recent, &s, NULL), TAM_OK);
	assert_int_equal(store_request_get(st, "rid-recent", &got, NULL), TAM_OK);
}

/* ---- transactions and audit ---- */

static void
test_transactions(void **state)
{
	struct store *st = *state;
	struct store_sp sp;
	struct store_ta ta;
	struct tam_err err = { 0 };
	int64_t sp_id;

	assert_int_equal(store_commit(st, &err), TAM_EINVAL);
	store_rollback(st);

	assert_int_equal(store_begin(st, NULL), TAM_OK);
	assert_int_equal(store_begin(st, &err), TAM_EINVAL);
	sp_id = add_sp(st, "sp.rolled", "sd.rolled");
	add_ta(st, sp_id, "uuid-rolled");
	assert_int_equal(store_audit(st, "cli:t", "sp.add", "sp.rolled", NULL, NULL), TAM_OK);
	store_rollback(st);
	assert_int_equal(store_sp_get(st, "sp.rolled", &sp, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_ta_get(st, "uuid-rolled", &ta, NULL), TAM_ENOTFOUND);

	assert_int_equal(store_begin(st, NULL), TAM_OK);
	add_sp(st, "sp.kept", "sd.kept");
	assert_int_equal(store_purge(st, 0, NULL), TAM_OK);  /* joins, does not commit */
	assert_int_equal(store_commit(st, NULL), TAM_OK);
	assert_int_equal(store_sp_get(st, "sp.kept", &sp, NULL), TAM_OK);
	store_sp_clear(&sp);
	assert_int_equal(store_begin(st, NULL), TAM_OK);
	assert_int_equal(store_commit(st, NULL), TAM_OK);
}

static void
test_audit(void **state)
{
	struct store *st = *state;
	struct store_audit_row *rows = NULL;
	char object[16];
	size_t n = 0;

	for (int i = 0; i < 5; i++) {
		snprintf(object, sizeof(object), "obj-%d", i);
		assert_int_equal(store_audit(st, "cli:root", "sp.add", object,
		    i == 0 ? NULL : "detail", NULL), TAM_OK);
	}
	struct store_page pg = { .limit = 2 };
	assert_int_equal(store_audit_list(st, NULL, &pg, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].object, "obj-0");
	assert_string_equal(rows[0].detail, "");
	assert_string_equal(rows[1].object, "obj-1");
	assert_string_equal(rows[1].detail, "detail");
	assert_string_equal(rows[1].actor, "cli:root");
	assert_string_equal(rows[1].action, "sp.add");
	assert_true(rows[1].id > rows[0].id);
	assert_true(rows[0].at > 0);
	pg.after_int = rows[1].id;
	pg.limit = 10;
	free(rows);
	assert_int_equal(store_audit_list(st, NULL, &pg, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].object, "obj-2");
	pg.after_int = rows[2].id;
	free(rows);
	assert_int_equal(store_audit_list(st, NULL, &pg, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(rows);

	/* filters: actor, object, time window; each alone and together */
	assert_int_equal(store_audit(st, "token:0123456789ab", "ta.upload", "obj-1", "x", NULL),
	    TAM_OK);
	struct store_audit_filter f = { .actor = "token:0123456789ab" };
	struct store_page all = { 0 };
	assert_int_equal(store_audit_list(st, &f, &all, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].action, "ta.upload");
	free(rows);
	f = (struct store_audit_filter){ .object = "obj-1" };
	assert_int_equal(store_audit_list(st, &f, &all, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	free(rows);
	f.actor = "cli:root";
	assert_int_equal(store_audit_list(st, &f, &all, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	free(rows);
	f = (struct store_audit_filter){ .since = tam_now() + 100 };
	assert_int_equal(store_audit_list(st, &f, &all, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(rows);
	f = (struct store_audit_filter){ .since = tam_now() - 100, .until = tam_now() + 100 };
	assert_int_equal(store_audit_list(st, &f, &all, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 6);
	free(rows);
	f = (struct store_audit_filter){ .until = 1 };
	assert_int_equal(store_audit_list(st, &f, &all, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(rows);

	assert_int_equal(store_audit(st, "", "sp.add", "x", NULL, NULL), TAM_EINVAL);
	assert_int_equal(store_audit(st, "cli:root", "sp.add", NULL, NULL, NULL), TAM_EINVAL);
}

static void
test_op_failures(void **state)
{
	struct store *st = *state;
	struct store_op_failure *f = NULL;
	struct tam_err err = { 0 };
	int64_t dev = add_device(st, 31, "fails"), other = add_device(st, 32, "other");
	size_t n = 0;

	assert_int_equal(store_op_failure_record(st, dev, TAM_OP_DELETE_TA, "ta-1", "sd", "ERR_TA_NOT_FOUND",
	    1000, 300, 86400, &err), TAM_OK);
	assert_int_equal(store_op_failures_active(st, dev, 1000, &f, &n, &err), TAM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].op, TAM_OP_DELETE_TA);
	assert_string_equal(f[0].taid, "ta-1");
	assert_string_equal(f[0].sdname, "sd");
	assert_string_equal(f[0].reason, "ERR_TA_NOT_FOUND");
	assert_int_equal(f[0].count, 1);
	assert_int_equal(f[0].retry_at, 1300);
	free(f);
	/* the wait doubles with every refusal in a row, up to the maximum */
	assert_int_equal(store_op_failure_record(st, dev, TAM_OP_DELETE_TA, "ta-1", "sd", "again",
	    2000, 300, 86400, &err), TAM_OK);
	assert_int_equal(store_op_failures_active(st, dev, 2000, &f, &n, &err), TAM_OK);
	assert_int_equal(f[0].count, 2);
	assert_int_equal(f[0].retry_at, 2600);
	assert_string_equal(f[0].reason, "again");
	free(f);
	for (int i = 0; i < 40; i++)
		assert_int_equal(store_op_failure_record(st, dev, TAM_OP_DELETE_TA, "ta-1", "sd", "x",
		    3000, 300, 86400, &err), TAM_OK);
	assert_int_equal(store_op_failures_active(st, dev, 3000, &f, &n, &err), TAM_OK);
	assert_int_equal(f[0].retry_at, 3000 + 86400);
	free(f);
	/* not active once its time has come; other devices see nothing */
	assert_int_equal(store_op_failures_active(st, dev, 3000 + 86400, &f, &n, &err), TAM_OK);
	assert_int_equal(n, 0);
	free(f);
	assert_int_equal(store_op_failures_active(st, other, 0, &f, &n, &err), TAM_OK);
	assert_int_equal(n, 0);
	free(f);
	/* success clears it */
	assert_int_equal(store_op_failure_clear(st, dev, TAM_OP_DELETE_TA, "ta-1", "sd", &err), TAM_OK);
	assert_int_equal(store_op_failures_active(st, dev, 0, &f, &n, &err), TAM_OK);
	assert_int_equal(n, 0);
	free(f);
	assert_int_equal(store_op_failure_record(st, dev, TAM_OP_NONE, "", "", "x", 1, 300, 86400, &err),
	    TAM_EINVAL);
	assert_int_equal(store_op_failure_record(st, dev, TAM_OP_CREATE_SD, "", "sd", "x", 1, 0, 86400, &err),
	    TAM_EINVAL);
}

static void
test_device_set_state_and_sealed(void **state)
{
	struct store *st = *state;
	struct store_device d = { 0 };
	struct store_ta_version v = { 0 };
	struct tam_err err = { 0 };
	int64_t dev = add_device(st, 41, "gone"), sp = add_sp(st, "sealer", "sealer.sd");
	int64_t ta = add_ta(st, sp, "sealed-ta"), ver = add_version(st, ta, "1.0");

	assert_int_equal(store_device_set_state(st, dev, "decommissioned", &err), TAM_OK);
	assert_int_equal(store_device_get(st, dev, &d, &err), TAM_OK);
	assert_string_equal(d.state, "decommissioned");
	store_device_clear(&d);
	assert_int_equal(store_device_set_state(st, dev, "lost", &err), TAM_EINVAL);
	assert_int_equal(store_device_set_state(st, 9999, "active", &err), TAM_ENOTFOUND);

	assert_int_equal(store_ta_version_get_sealed(st, ver, &v, &err), TAM_OK);
	assert_null(v.bundle);
	assert_non_null(v.enc_ta);
	assert_int_equal(v.enc_ta_len, 80);
	assert_int_equal(v.enc_ta[0], 0xe5);
	assert_int_equal(v.enc_key[1], (uint8_t)(0x40 + 7));
	store_ta_version_clear(&v);
	assert_int_equal(store_ta_version_get_sealed(st, 9999, &v, &err), TAM_ENOTFOUND);
}

/* ---- what the management API reads and writes ---- */

static void
test_pages_and_sp_remove(void **state)
{
	struct store *st = *state;
	struct store_sp *sps = NULL;
	struct store_ta *tas = NULL;
	struct store_token t = { 0 }, got;
	struct store_page pg = { .limit = 2 };
	int64_t a, b, c, ta1;
	size_t n = 0;

	c = add_sp(st, "sp.c", "sd.c");
	a = add_sp(st, "sp.a", "sd.a");
	b = add_sp(st, "sp.b", "sd.b");
	/* keyset pages: two, then the rest, in spid order whatever the insert order */
	assert_int_equal(store_sp_page(st, 0, &pg, &sps, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(sps[0].spid, "sp.a");
	assert_string_equal(sps[1].spid, "sp.b");
	store_sps_free(sps, n);
	pg.after_text = "sp.b";
	assert_int_equal(store_sp_page(st, 0, &pg, &sps, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(sps[0].id, c);
	store_sps_free(sps, n);
	/* one SP alone */
	pg = (struct store_page){ 0 };
	assert_int_equal(store_sp_page(st, b, &pg, &sps, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(sps[0].spid, "sp.b");
	store_sps_free(sps, n);

	ta1 = add_ta(st, a, "uuid-a1");
	add_ta(st, a, "uuid-a0");
	add_ta(st, b, "uuid-b0");
	assert_int_equal(store_ta_page(st, a, &pg, &tas, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(tas[0].taid, "uuid-a0");
	assert_int_equal(tas[1].id, ta1);
	free(tas);
	pg.after_text = "uuid-a0";
	assert_int_equal(store_ta_page(st, 0, &pg, &tas, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(tas[1].taid, "uuid-b0");
	free(tas);

	/* an SP with TAs stays; one without goes, its tokens with it, requests keep history */
	assert_int_equal(store_sp_remove(st, "sp.a", NULL), TAM_ECONFLICT);
	strcpy(t.tokid, "00112233aabb");
	fill(t.hash, sizeof(t.hash), 1);
	t.sp_id = c;
	strcpy(t.created_by, "cli:test");
	assert_int_equal(store_token_add(st, &t, NULL, NULL), TAM_OK);
	int64_t sess = add_session(st, "tid-sp", 100);
	struct store_request r = { 0 };
	strcpy(r.rid, "rid-sp");
	r.session_id = sess;
	strcpy(r.response, "CreateSDResponse");
	r.op = TAM_OP_CREATE_SD;
	r.sp_id = c;
	strcpy(r.spid, "sp.c");
	r.created = 100;
	r.expires = 200;
	assert_int_equal(store_request_add(st, &r, NULL), TAM_OK);
	assert_int_equal(store_sp_remove(st, "sp.c", NULL), TAM_OK);
	assert_int_equal(store_sp_remove(st, "sp.c", NULL), TAM_ENOTFOUND);
	assert_int_equal(store_token_get(st, "00112233aabb", &got, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_request_get(st, "rid-sp", &r, NULL), TAM_OK);
	assert_int_equal(r.sp_id, 0);
	assert_string_equal(r.spid, "sp.c");
	assert_int_equal(store_sp_remove(st, "", NULL), TAM_EINVAL);
}

static void
test_withdraw(void **state)
{
	struct store *st = *state;
	struct store_ta_version v = { 0 }, *vs = NULL;
	struct tam_assignment *as = NULL;
	struct store_page pg = { .limit = 2 };
	int64_t sp, ta, dev, v1, v2, v3;
	size_t n = 0;

	sp = add_sp(st, "sp.w", "sd.w");
	ta = add_ta(st, sp, "uuid-w");
	dev = add_device(st, 9, "w-dev");
	v2 = add_version(st, ta, "2.0");
	v1 = add_version(st, ta, "1.0");
	v3 = add_version(st, ta, "10.0");
	/* version "0.0" has key 0 and still heads the list */
	int64_t v0 = add_version(st, ta, "0.0");
	assert_int_equal(store_ta_version_page(st, ta, &(struct store_page){ .limit = 1 }, &vs, &n,
	    NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vs[0].id, v0);
	assert_int_equal(vs[0].version_key, 0);
	pg.after_int = 0;
	pg.resume = true;
	store_ta_versions_free(vs, n);
	/* pages in version order, not upload order */
	assert_int_equal(store_ta_version_page(st, ta, &pg, &vs, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_int_equal(vs[0].id, v1);
	assert_int_equal(vs[1].id, v2);
	pg.after_int = vs[1].version_key;
	pg.resume = true;
	store_ta_versions_free(vs, n);
	assert_int_equal(store_ta_version_page(st, ta, &pg, &vs, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vs[0].id, v3);
	store_ta_versions_free(vs, n);

	/* a pinned version cannot be withdrawn; latest moves off a withdrawn one */
	assert_int_equal(store_assign(st, dev, ta, v2, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_ta_version_withdraw(st, v2, "cli:op", NULL), TAM_ECONFLICT);
	assert_int_equal(store_assign(st, dev, ta, 0, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_ta_version_withdraw(st, v3, "token:abc", NULL), TAM_OK);
	assert_int_equal(store_ta_version_withdraw(st, v3, "token:abc", NULL), TAM_ECONFLICT);
	assert_int_equal(store_ta_version_withdraw(st, 4242, "token:abc", NULL), TAM_ENOTFOUND);
	assert_int_equal(store_ta_version_get(st, v3, false, &v, NULL), TAM_OK);
	assert_true(v.withdrawn > 0);
	assert_string_equal(v.withdrawn_by, "token:abc");
	store_ta_version_clear(&v);
	assert_int_equal(store_ta_version_latest(st, ta, true, &v, NULL), TAM_OK);
	assert_int_equal(v.id, v2);
	store_ta_version_clear(&v);
	assert_int_equal(store_ta_version_latest(st, ta, false, &v, NULL), TAM_OK);
	assert_int_equal(v.id, v3);
	store_ta_version_clear(&v);
	assert_int_equal(store_assignments_get(st, dev, &as, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(as[0].ta_version_id, v2);
	free(as);
	/* and a withdrawn version cannot be pinned */
	assert_int_equal(store_assign(st, dev, ta, v3, false, "cli:op", NULL), TAM_EINVAL);
}

static int
spool(const char *text, size_t len)
{
	int fd = -1;

	assert_int_equal(tam_tmpfile(g_dir, &fd, NULL), TAM_OK);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	return fd;
}

static void
test_version_files_and_blob(void **state)
{
	struct store *st = *state;
	struct store_ta_version v = { 0 }, back = { 0 };
	struct store_blob *b = NULL;
	char path[PATH_MAX], big[200000], piece_name[32];
	uint8_t want[32], piece[16];
	uint64_t size = 0;
	int64_t sp, ta, id = 0;
	int bfd, efd;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('A' + i % 23);
	sp = add_sp(st, "sp.f", "sd.f");
	ta = add_ta(st, sp, "uuid-f");
	bfd = spool(big, sizeof(big));
	efd = spool("ciphertext", 10);
	v.ta_id = ta;
	strcpy(v.version, "1.2.3");
	strcpy(v.created_by, "token:001122334455");
	fill(v.enc_key, sizeof(v.enc_key), 3);
	fill(v.enc_iv, sizeof(v.enc_iv), 4);
	assert_int_equal(store_ta_version_add_files(st, &v, bfd, sizeof(big), efd, 10, &id, NULL),
	    TAM_OK);
	tam_sha256(big, sizeof(big), want);
	assert_memory_equal(v.digest, want, 32);
	assert_int_equal(v.size, sizeof(big));
	assert_int_equal(store_ta_version_get(st, id, true, &back, NULL), TAM_OK);
	assert_int_equal(back.bundle_len, sizeof(big));
	assert_memory_equal(back.bundle, big, sizeof(big));
	assert_memory_equal(back.digest, want, 32);
	assert_int_equal(back.enc_ta_len, 10);
	assert_memory_equal(back.enc_ta, "ciphertext", 10);
	store_ta_version_clear(&back);
	/* the same version again, and a file shorter than announced: nothing stored */
	assert_int_equal(store_ta_version_add_files(st, &v, bfd, sizeof(big), efd, 10, NULL, NULL),
	    TAM_ECONFLICT);
	strcpy(v.version, "1.2.4");
	assert_int_equal(store_ta_version_add_files(st, &v, bfd, sizeof(big) + 5, efd, 10, NULL,
	    NULL), TAM_EIO);
	assert_int_equal(store_ta_version_find(st, ta, "1.2.4", &back, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_ta_version_add_files(st, &v, bfd, 0, efd, 10, NULL, NULL), TAM_EINVAL);
	close(bfd);
	close(efd);

	/* read it back in pieces on a connection of its own */
	snprintf(piece_name, sizeof(piece_name), "t%u.db", g_seq);
	db_path(path, sizeof(path), piece_name);
	assert_int_equal(store_ta_bundle_open(path, id, &b, &size, NULL), TAM_OK);
	assert_int_equal(size, sizeof(big));
	assert_int_equal(store_blob_read(b, 150000, piece, sizeof(piece), NULL), TAM_OK);
	assert_memory_equal(piece, big + 150000, sizeof(piece));
	assert_int_equal(store_blob_read(b, sizeof(big) - 8, piece, sizeof(piece), NULL), TAM_EINVAL);
	store_blob_close(b);
	assert_int_equal(store_ta_bundle_open(path, 987654, &b, &size, NULL), TAM_ENOTFOUND);
	assert_null(b);
}

static void
test_device_scope(void **state)
{
	struct store *st = *state;
	struct store_device *ds = NULL;
	struct store_assignment_row *rows = NULL;
	struct store_page pg = { 0 };
	struct tam_dev_state obs = { 0 };
	struct tam_sd_obs sd[2] = { { .sdname = "sd.y", .spid = "sp.y" },
		{ .sdname = "sd.x", .spid = "sp.x" } };
	int64_t spx, spy, tax, tay, d1, d2, d3, d4, *ids = NULL;
	bool vis = false;
	size_t n = 0;

	spx = add_sp(st, "sp.x", "sd.x");
	spy = add_sp(st, "sp.y", "sd.y");
	tax = add_ta(st, spx, "uuid-x");
	tay = add_ta(st, spy, "uuid-y");
	add_version(st, tax, "1.0");
	d1 = add_device(st, 21, "d1");
	d2 = add_device(st, 22, "d2");
	d3 = add_device(st, 23, "d3");
	d4 = add_device(st, 24, "d4");
	/*
	 * x has a TA assigned on d1 and d3 and an SD the TAM created on d4; d2
	 * says it holds SDs of x and y, which gives neither a stake
	 */
	assert_int_equal(store_assign(st, d1, tax, 0, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_assign(st, d3, tax, 0, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_assign(st, d3, tay, 0, false, "cli:op", NULL), TAM_OK);
	obs.sds = sd;
	obs.n_sds = 2;
	assert_int_equal(store_device_state_set(st, d2, &obs, NULL), TAM_OK);
	obs.sds = &sd[1];
	obs.n_sds = 1;
	assert_int_equal(store_device_state_set(st, d4, &obs, NULL), TAM_OK);
	assert_int_equal(store_sd_stake_add(st, d4, spx, "sd.x", 1, NULL), TAM_OK);
	assert_int_equal(store_sd_stake_add(st, d4, spx, "sd.x", 2, NULL), TAM_OK);
	assert_int_equal(store_sd_stakes_prune(st, d4, NULL), TAM_OK);

	assert_int_equal(store_device_page(st, spx, &pg, &ds, &n, NULL), TAM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ds[0].id, d1);
	assert_int_equal(ds[1].id, d3);
	assert_int_equal(ds[2].id, d4);
	store_devices_free(ds, n);
	assert_int_equal(store_device_page(st, spy, &pg, &ds, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ds[0].id, d3);
	store_devices_free(ds, n);
	pg.limit = 2;
	assert_int_equal(store_device_page(st, 0, &pg, &ds, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	pg.after_int = ds[1].id;
	store_devices_free(ds, n);
	assert_int_equal(store_device_page(st, 0, &pg, &ds, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ds[0].id, d3);
	store_devices_free(ds, n);

	assert_int_equal(store_device_visible(st, d1, spx, &vis, NULL), TAM_OK);
	assert_true(vis);
	assert_int_equal(store_device_visible(st, d2, spx, &vis, NULL), TAM_OK);
	assert_false(vis);
	assert_int_equal(store_device_visible(st, d2, spy, &vis, NULL), TAM_OK);
	assert_false(vis);
	assert_int_equal(store_device_visible(st, d4, spx, &vis, NULL), TAM_OK);
	assert_true(vis);

	assert_int_equal(store_device_ids_for_sp(st, spx, &ids, &n, NULL), TAM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], d1);
	assert_int_equal(ids[1], d3);
	assert_int_equal(ids[2], d4);
	free(ids);
	/* x's SD left d4: the stake ends with it */
	obs.n_sds = 0;
	assert_int_equal(store_device_state_set(st, d4, &obs, NULL), TAM_OK);
	assert_int_equal(store_sd_stakes_prune(st, d4, NULL), TAM_OK);
	assert_int_equal(store_device_visible(st, d4, spx, &vis, NULL), TAM_OK);
	assert_false(vis);
	assert_int_equal(store_device_set_state(st, d3, "decommissioned", NULL), TAM_OK);
	assert_int_equal(store_device_ids_for_sp(st, spx, &ids, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	free(ids);

	/* d3's assignments: both, or one SP's only; the TA without a version resolves to "" */
	pg = (struct store_page){ 0 };
	assert_int_equal(store_assignment_page(st, d3, 0, &pg, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].taid, "uuid-x");
	assert_string_equal(rows[0].pinned, "");
	assert_string_equal(rows[0].resolved, "1.0");
	assert_string_equal(rows[0].created_by, "cli:op");
	assert_string_equal(rows[1].resolved, "");
	free(rows);
	assert_int_equal(store_assignment_page(st, d3, spy, &pg, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].spid, "sp.y");
	free(rows);
}

static void
test_tokens(void **state)
{
	struct store *st = *state;
	struct store_token t = { 0 }, got, *list = NULL;
	struct store_page pg = { 0 };
	int64_t sp;
	size_t n = 0;

	sp = add_sp(st, "sp.k", "sd.k");
	strcpy(t.tokid, "a1b2c3d4e5f6");
	fill(t.hash, sizeof(t.hash), 9);
	t.admin = true;
	strcpy(t.description, "ops");
	strcpy(t.created_by, "cli:root");
	t.expires = 4000000000;
	assert_int_equal(store_token_add(st, &t, NULL, NULL), TAM_OK);
	assert_int_equal(store_token_add(st, &t, NULL, NULL), TAM_ECONFLICT);
	/* admin with an SP, SP token without one, a bad id */
	strcpy(t.tokid, "a1b2c3d4e5f7");
	t.sp_id = sp;
	assert_int_equal(store_token_add(st, &t, NULL, NULL), TAM_EINVAL);
	t.admin = false;
	t.sp_id = 0;
	assert_int_equal(store_token_add(st, &t, NULL, NULL), TAM_EINVAL);
	t.sp_id = sp;
	strcpy(t.tokid, "A1B2C3D4E5F7");
	assert_int_equal(store_token_add(st, &t, NULL, NULL), TAM_EINVAL);
	strcpy(t.tokid, "a1b2c3d4e5f7");
	t.expires = 0;
	assert_int_equal(store_token_add(st, &t, NULL, NULL), TAM_OK);

	assert_int_equal(store_token_get(st, "a1b2c3d4e5f6", &got, NULL), TAM_OK);
	assert_true(got.admin);
	assert_int_equal(got.expires, 4000000000);
	assert_string_equal(got.description, "ops");
	assert_memory_equal(got.hash, t.hash, 32);
	assert_int_equal(store_token_get(st, "a1b2c3d4e5f7", &got, NULL), TAM_OK);
	assert_false(got.admin);
	assert_string_equal(got.spid, "sp.k");
	assert_int_equal(store_token_get(st, "ffffffffffff", &got, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_token_get(st, "short", &got, NULL), TAM_EINVAL);

	assert_int_equal(store_token_get(st, "a1b2c3d4e5f7", &got, NULL), TAM_OK);
	assert_int_equal(store_token_touch(st, got.id, 1000, NULL), TAM_OK);
	assert_int_equal(store_token_touch(st, got.id, 1030, NULL), TAM_OK);
	assert_int_equal(store_token_get(st, "a1b2c3d4e5f7", &got, NULL), TAM_OK);
	assert_int_equal(got.last_used, 1000);
	assert_int_equal(store_token_touch(st, got.id, 1061, NULL), TAM_OK);
	assert_int_equal(store_token_get(st, "a1b2c3d4e5f7", &got, NULL), TAM_OK);
	assert_int_equal(got.last_used, 1061);

	assert_int_equal(store_token_revoke(st, "a1b2c3d4e5f6", 77, NULL), TAM_OK);
	assert_int_equal(store_token_revoke(st, "a1b2c3d4e5f6", 78, NULL), TAM_ECONFLICT);
	assert_int_equal(store_token_revoke(st, "ffffffffffff", 78, NULL), TAM_ENOTFOUND);
	assert_int_equal(store_token_get(st, "a1b2c3d4e5f6", &got, NULL), TAM_OK);
	assert_int_equal(got.revoked, 77);

	pg.limit = 1;
	assert_int_equal(store_token_page(st, &pg, &list, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].tokid, "a1b2c3d4e5f6");
	pg.after_int = list[0].id;
	free(list);
	assert_int_equal(store_token_page(st, &pg, &list, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].tokid, "a1b2c3d4e5f7");
	free(list);
}

static void
test_sd_wants_and_requests(void **state)
{
	struct store *st = *state;
	struct tam_dev_state obs = { 0 }, back = { 0 };
	struct tam_sd_obs sd = { .sdname = "sd.x", .spid = "sp.x", .spcert_known = true };
	struct tam_sd_want *w = NULL;
	struct store_assignment_row *rows = NULL;
	struct store_page pg = { 0 };
	uint8_t cert[40], fp[32], other[40];
	int64_t spx, spy, tax, d1, live = -1;
	size_t n = 0;

	spx = add_sp(st, "sp.x", "sd.x");
	spy = add_sp(st, "sp.y", "sd.y");
	tax = add_ta(st, spx, "uuid-x");
	d1 = add_device(st, 31, "d1");
	fill(cert, sizeof(cert), (uint8_t)'s');
	tam_sha256(cert, sizeof(cert), fp);

	/* nothing observed, nothing asked: no entries */
	assert_int_equal(store_sd_wants_get(st, d1, &w, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(w);

	/* the SD's certificate fingerprint survives a round trip; unknown reads back unknown */
	memset(sd.spcert_fp, 0x42, sizeof(sd.spcert_fp));
	obs.sds = &sd;
	obs.n_sds = 1;
	assert_int_equal(store_device_state_set(st, d1, &obs, NULL), TAM_OK);
	assert_int_equal(store_device_state_get(st, d1, &back, NULL), TAM_OK);
	assert_int_equal(back.n_sds, 1);
	assert_true(back.sds[0].spcert_known);
	assert_memory_equal(back.sds[0].spcert_fp, sd.spcert_fp, 32);
	tam_dev_state_free(&back);
	sd.spcert_known = false;
	assert_int_equal(store_device_state_set(st, d1, &obs, NULL), TAM_OK);
	assert_int_equal(store_device_state_get(st, d1, &back, NULL), TAM_OK);
	assert_false(back.sds[0].spcert_known);
	tam_dev_state_free(&back);

	/* the observed SD's SP, with its name and certificate now */
	assert_int_equal(store_sd_wants_get(st, d1, &w, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].sp_id, spx);
	assert_string_equal(w[0].sdname, "sd.x");
	assert_memory_equal(w[0].spcert_fp, fp, 32);
	assert_false(w[0].renew_aik);
	assert_false(w[0].purge);
	free(w);

	/* requests: an SP without an SD there is listed too; asking twice is one request */
	assert_int_equal(store_sd_request_set(st, d1, spy, STORE_SD_RENEW_AIK, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_sd_request_set(st, d1, spy, STORE_SD_RENEW_AIK, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_sd_request_set(st, d1, spx, STORE_SD_PURGE, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_sd_request_set(st, d1, spx, (enum store_sd_action)7, "cli:op", NULL),
	    TAM_EINVAL);
	assert_int_equal(store_sd_request_set(st, d1, spx, STORE_SD_PURGE, "", NULL), TAM_EINVAL);
	assert_int_equal(store_sd_wants_get(st, d1, &w, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_true(w[0].purge);
	assert_false(w[0].renew_aik);
	assert_string_equal(w[1].spid, "sp.y");
	assert_true(w[1].renew_aik);
	free(w);

	/* assigning one of the SP's TAs takes the purge back; the other request stays */
	add_version(st, tax, "1.0");
	assert_int_equal(store_assign(st, d1, tax, 0, false, "cli:op", NULL), TAM_OK);
	assert_int_equal(store_sd_wants_get(st, d1, &w, &n, NULL), TAM_OK);
	assert_int_equal(n, 2);
	assert_false(w[0].purge);
	assert_true(w[1].renew_aik);
	free(w);
	assert_int_equal(store_sd_requests_clear(st, d1, "sp.y", STORE_SD_RENEW_AIK, NULL), TAM_OK);
	assert_int_equal(store_sd_requests_clear(st, d1, "sp.y", 9, NULL), TAM_EINVAL);
	assert_int_equal(store_sd_wants_get(st, d1, &w, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	free(w);

	/* the purge's first half: every assignment of the SP on that device */
	assert_int_equal(store_unassign_sp(st, d1, spx, NULL), TAM_OK);
	assert_int_equal(store_assignment_page(st, d1, 0, &pg, &rows, &n, NULL), TAM_OK);
	assert_int_equal(n, 0);
	free(rows);

	/* SP updates: a new name, a name another SP has, a new certificate */
	assert_int_equal(store_sp_update(st, "sp.x", "sd.x2", NULL, 0, NULL), TAM_OK);
	assert_int_equal(store_sp_update(st, "sp.x", "sd.y", NULL, 0, NULL), TAM_ECONFLICT);
	assert_int_equal(store_sp_update(st, "nobody", "sd.z", NULL, 0, NULL), TAM_ENOTFOUND);
	fill(other, sizeof(other), 9);
	assert_int_equal(store_sp_update(st, "sp.x", NULL, other, sizeof(other), NULL), TAM_OK);
	assert_int_equal(store_sd_wants_get(st, d1, &w, &n, NULL), TAM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(w[0].sdname, "sd.x2");
	tam_sha256(other, sizeof(other), fp);
	assert_memory_equal(w[0].spcert_fp, fp, 32);
	free(w);
	assert_int_equal(store_sp_live_versions(st, spx, &live, NULL), TAM_OK);
	assert_int_equal(live, 1);
	assert_int_equal(store_sp_live_versions(st, spy, &live, NULL), TAM_OK);
	assert_int_equal(live, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_fresh),
		cmocka_unit_test(test_open_newer_refused),
		cmocka_unit_test(test_open_missing),
		cmocka_unit_test(test_open_readonly),
		cmocka_unit_test(test_stored_too_long),
		cmocka_unit_test(test_consume_two_connections),
		cmocka_unit_test_setup_teardown(test_foreign_keys, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_identity, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_anchors, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_sps, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_tas_versions, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_devices, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_device_renew, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_device_state, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_device_state_in_tx, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_assignments, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_requires, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_implied_assignments, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_sessions, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_requests, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_device, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_purge, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_peer_sessions_superseded, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_session_answered, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_secret_shared, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_reclaim, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_transactions, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_audit, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_op_failures, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_device_set_state_and_sealed, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_pages_and_sp_remove, db_setup, db_teardown),
		cmocka_unit_test(test_migrate_blobs),
		cmocka_unit_test(test_migrate_stakes),
		cmocka_unit_test_setup_teardown(test_withdraw, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_version_files_and_blob, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_device_scope, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_sd_wants_and_requests, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_tokens, db_setup, db_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
