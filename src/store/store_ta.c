// SPDX-License-Identifier: MIT
/*
 * Trusted Applications and their uploaded versions. A version row carries
 * the SP-signed bundle and its one-time AES encryption with the key; the
 * big blobs are only read when a caller asks for them, so listing versions
 * and resolving "the latest" never pull megabytes through the page cache.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store_int.h"

static const char SQL_TA_ADD[] =
    "INSERT INTO tas (sp_id, taid, name, created) VALUES (?1, ?2, ?3, ?4)";
#define TA_COLS \
    "SELECT t.id, t.sp_id, s.spid, t.taid, t.name, t.created" \
    " FROM tas t JOIN sps s ON s.id = t.sp_id"
static const char SQL_TA_GET[] = TA_COLS " WHERE t.taid = ?1";
static const char SQL_TA_LIST[] = TA_COLS " ORDER BY t.taid";

static const char SQL_VERSION_ADD[] =
    "INSERT INTO ta_versions (ta_id, version, version_key, digest, size, enc_key, enc_iv,"
    " created, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_BLOB_ADD[] =
    "INSERT INTO ta_blobs (version_id, kind, data) VALUES (?1, ?2, ?3)";
/* Sized first, written in pieces: data ends the record, so SQLite never expands it in memory. */
static const char SQL_BLOB_ADD_SIZED[] =
    "INSERT INTO ta_blobs (version_id, kind, data) VALUES (?1, ?2, zeroblob(?3))";
static const char SQL_BLOB_ROW[] =
    "SELECT id FROM ta_blobs WHERE version_id = ?1 AND kind = ?2";
/* A TA still served: its blob row still the version's and the version not withdrawn. */
/* Bytes per piece of store_blob_copy. */
#define STORE_COPY_PIECE (256u << 10)
static const char SQL_BLOB_LIVE[] =
    "SELECT b.id FROM ta_blobs b JOIN ta_versions v ON v.id = b.version_id"
    " WHERE b.id = ?1 AND v.id = ?2 AND v.withdrawn IS NULL";
/* Columns 0..13 in every version query; 14 and 15 only when blobs are wanted. */
#define VERSION_COLS \
    "SELECT id, ta_id, version, version_key, digest, size, enc_key, enc_iv," \
    " created, created_by, withdrawn, withdrawn_by, pdata_size, pdata_digest"
static const char SQL_VERSION_GET[] = VERSION_COLS " FROM ta_versions WHERE id = ?1";
#define BLOB_OF(kind) \
    "(SELECT data FROM ta_blobs b WHERE b.version_id = ta_versions.id AND b.kind = '" kind "')"
static const char SQL_VERSION_GET_BLOBS[] =
    VERSION_COLS ", " BLOB_OF("bundle") ", " BLOB_OF("enc_ta") " FROM ta_versions WHERE id = ?1";
/* Only the ciphertext: the plaintext bundle is not needed to serve a device. */
static const char SQL_VERSION_GET_SEALED[] =
    VERSION_COLS ", NULL, " BLOB_OF("enc_ta") " FROM ta_versions WHERE id = ?1";
static const char SQL_VERSION_LATEST[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 ORDER BY version_key DESC LIMIT 1";
static const char SQL_VERSION_LATEST_INSTALLABLE[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 AND withdrawn IS NULL"
    " ORDER BY version_key DESC LIMIT 1";
static const char SQL_VERSION_FIND[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 AND version = ?2";
static const char SQL_VERSION_LIST[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 ORDER BY id";
static const char SQL_VERSION_PAGE[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 AND version_key > ?2"
    " ORDER BY version_key LIMIT ?3";
static const char SQL_TA_PAGE[] =
    TA_COLS " WHERE t.taid > ?1 AND (?2 IS NULL OR t.sp_id = ?2) ORDER BY t.taid LIMIT ?3";

static const char SQL_VERSION_SET_DIGEST[] = "UPDATE ta_versions SET digest = ?2 WHERE id = ?1";
static const char SQL_VERSION_PINNED[] =
    "SELECT 1 FROM assignments WHERE ta_version_id = ?1 LIMIT 1";
static const char SQL_VERSION_WITHDRAW[] =
    "UPDATE ta_versions SET withdrawn = ?2, withdrawn_by = ?3 WHERE id = ?1 AND withdrawn IS NULL";
static const char SQL_VERSION_EXISTS[] = "SELECT 1 FROM ta_versions WHERE id = ?1";
/* Once, and only while no device holds the version. */
static const char SQL_VERSION_SET_PDATA[] =
    "UPDATE ta_versions SET pdata_size = ?2, pdata_digest = ?3, pdata_enc = ?4, pdata_key = ?5,"
    " pdata_iv = ?6 WHERE id = ?1 AND pdata_enc IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM device_tas WHERE ta_version_id = ?1)";
static const char SQL_VERSION_PDATA[] =
    "SELECT pdata_enc, pdata_key, pdata_iv FROM ta_versions WHERE id = ?1";
#define LEGACY_PDATA "pdata_enc IS NOT NULL AND pdata_key IS NULL"

static const char SQL_VERSION_NEXT_LEGACY_PDATA[] =
    "SELECT v.id, t.taid FROM ta_versions v JOIN tas t ON t.id = v.ta_id"
    " WHERE v.id > ?1 AND " LEGACY_PDATA " ORDER BY v.id LIMIT 1";
/* Devices may hold the version: the bytes stay the same, only their sealing changes. */
static const char SQL_VERSION_RESEAL_PDATA[] =
    "UPDATE ta_versions SET pdata_enc = ?2, pdata_key = ?3, pdata_iv = ?4"
    " WHERE id = ?1 AND " LEGACY_PDATA;

/* Bytes copied per step between files and blobs. */
#define BLOB_CHUNK (64u * 1024)

int
store_ta_add(struct store *st, const struct store_ta *ta, int64_t *id, struct tam_err *err)
{
	char what[96];
	int rc;

	if (ta->sp_id <= 0)
		return tam_err_set(err, TAM_EINVAL, "TA without a service provider");
	if ((rc = store_check_name(ta->taid, sizeof(ta->taid), "taid", err)) != TAM_OK ||
	    (rc = store_check_name(ta->name, sizeof(ta->name), "TA name", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "TA \"%s\"", ta->taid);
	return store_insert(st, SQL_TA_ADD, STORE_PARAMS(
	    STORE_INT64(ta->sp_id),
	    STORE_TEXT(ta->taid),
	    STORE_TEXT(ta->name),
	    STORE_INT64(ta->created != 0 ? ta->created : tam_now())), what, id, err);
}

static int
ta_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_ta *ta = elem;
	int rc;

	memset(ta, 0, sizeof(*ta));
	ta->id = sqlite3_column_int64(s, 0);
	ta->sp_id = sqlite3_column_int64(s, 1);
	ta->created = sqlite3_column_int64(s, 5);
	if ((rc = store_col_text(st, s, 2, ta->spid, sizeof(ta->spid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 3, ta->taid, sizeof(ta->taid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 4, ta->name, sizeof(ta->name), err)) != TAM_OK)
		return rc;
	return TAM_OK;
}

int
store_ta_get(struct store *st, const char *taid, struct store_ta *out, struct tam_err *err)
{
	char what[96];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(taid, sizeof(out->taid), "taid", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "TA \"%s\"", taid);
	return store_get(st, SQL_TA_GET, STORE_PARAMS(STORE_TEXT(taid)), what, ta_read, out,
	    err);
}

int
store_ta_list(struct store *st, struct store_ta **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_TA_LIST, STORE_NO_PARAMS, "TAs", sizeof(**out), ta_read, NULL,
	    out, n, err);
}

/* ---- versions ---- */

int
store_ta_version_add(struct store *st, const struct store_ta_version *v, int64_t *id,
    struct tam_err *err)
{
	struct store_tx tx;
	uint8_t digest[32];
	int64_t key, rowid = 0;
	char what[64];
	int rc;

	if (v->ta_id <= 0)
		return tam_err_set(err, TAM_EINVAL, "TA version without a TA");
	if ((rc = store_check_name(v->version, sizeof(v->version), "TA version", err)) != TAM_OK ||
	    (rc = store_check_blob(v->bundle, v->bundle_len, "TA bundle", err)) != TAM_OK ||
	    (rc = store_check_blob(v->enc_ta, v->enc_ta_len, "encrypted TA", err)) != TAM_OK ||
	    (rc = store_check_name(v->created_by, sizeof(v->created_by), "TA version creator",
	    err)) != TAM_OK)
		return rc;
	if (tam_version_key(v->version, &key) != 0)
		return tam_err_set(err, TAM_EINVAL,
		    "TA version \"%s\" is not MAJOR[.MINOR[.PATCH]] (each 0..65535)", v->version);
	/* version_key, digest and size are derived here so they always match the row. */
	tam_sha256(v->bundle, v->bundle_len, digest);
	snprintf(what, sizeof(what), "TA version \"%s\"", v->version);
	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		return rc;
	rc = store_insert(st, SQL_VERSION_ADD, STORE_PARAMS(
	    STORE_INT64(v->ta_id),
	    STORE_TEXT(v->version),
	    STORE_INT64(key),
	    STORE_BLOB(digest, sizeof(digest)),
	    STORE_INT64((int64_t)v->bundle_len),
	    STORE_BLOB(v->enc_key, sizeof(v->enc_key)),
	    STORE_BLOB(v->enc_iv, sizeof(v->enc_iv)),
	    STORE_INT64(v->created != 0 ? v->created : tam_now()),
	    STORE_TEXT(v->created_by)), what, &rowid, err);
	if (rc == TAM_OK)
		rc = store_run(st, SQL_BLOB_ADD, STORE_PARAMS(STORE_INT64(rowid), STORE_TEXT("bundle"),
		    STORE_BLOB(v->bundle, v->bundle_len)), what, err);
	if (rc == TAM_OK)
		rc = store_run(st, SQL_BLOB_ADD, STORE_PARAMS(STORE_INT64(rowid), STORE_TEXT("enc_ta"),
		    STORE_BLOB(v->enc_ta, v->enc_ta_len)), what, err);
	if (rc == TAM_OK)
		rc = store_requires_add(st, rowid, v->ta_id, v->reqs, v->n_reqs, err);
	rc = store_tx_close(st, &tx, rc, err);
	if (rc == TAM_OK && id != NULL)
		*id = rowid;
	return rc;
}

/* Columns 0..13, which every version query selects. */
static int
version_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_ta_version *v = elem;
	int rc;

	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(s, 0);
	v->ta_id = sqlite3_column_int64(s, 1);
	v->version_key = sqlite3_column_int64(s, 3);
	v->size = sqlite3_column_int64(s, 5);
	v->created = sqlite3_column_int64(s, 8);
	v->withdrawn = sqlite3_column_int64(s, 10);
	v->pdata_size = sqlite3_column_int64(s, 12);
	v->has_pdata = sqlite3_column_type(s, 13) != SQLITE_NULL;
	if ((v->has_pdata &&
	    (rc = store_col_fixed(st, s, 13, v->pdata_digest, sizeof(v->pdata_digest), err)) != TAM_OK) ||
	    (rc = store_col_text(st, s, 2, v->version, sizeof(v->version), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 4, v->digest, sizeof(v->digest), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 6, v->enc_key, sizeof(v->enc_key), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 7, v->enc_iv, sizeof(v->enc_iv), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 9, v->created_by, sizeof(v->created_by), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 11, v->withdrawn_by, sizeof(v->withdrawn_by),
	    err)) != TAM_OK)
		store_ta_version_clear(v);
	return rc;
}

/* version_read and the blobs in columns 14 and 15 of SQL_VERSION_GET_BLOBS. */
static int
version_read_blobs(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_ta_version *v = elem;
	int rc;

	if ((rc = version_read(st, s, v, err)) != TAM_OK)
		return rc;
	if ((rc = store_col_blob(st, s, 14, &v->bundle, &v->bundle_len, err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 15, &v->enc_ta, &v->enc_ta_len, err)) != TAM_OK)
		store_ta_version_clear(v);
	return rc;
}

/* store_ta_version_clear in the shape store_list calls. */
static void
version_clear(void *elem)
{
	store_ta_version_clear(elem);
}

int
store_ta_version_get(struct store *st, int64_t id, bool with_blobs,
    struct store_ta_version *out, struct tam_err *err)
{
	char what[48];

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "TA version %lld", (long long)id);
	return store_get(st, with_blobs ? SQL_VERSION_GET_BLOBS : SQL_VERSION_GET,
	    STORE_PARAMS(STORE_INT64(id)), what, with_blobs ? version_read_blobs : version_read,
	    out, err);
}

int
store_ta_version_get_sealed(struct store *st, int64_t id, struct store_ta_version *out,
    struct tam_err *err)
{
	char what[48];

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "TA version %lld", (long long)id);
	return store_get(st, SQL_VERSION_GET_SEALED, STORE_PARAMS(STORE_INT64(id)), what,
	    version_read_blobs, out, err);
}

int
store_ta_version_latest(struct store *st, int64_t ta_id, bool installable,
    struct store_ta_version *out, struct tam_err *err)
{
	char what[64];

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "%s version of TA %lld", installable ? "an installable" : "a",
	    (long long)ta_id);
	return store_get(st, installable ? SQL_VERSION_LATEST_INSTALLABLE : SQL_VERSION_LATEST,
	    STORE_PARAMS(STORE_INT64(ta_id)), what, version_read, out, err);
}

int
store_ta_version_find(struct store *st, int64_t ta_id, const char *version,
    struct store_ta_version *out, struct tam_err *err)
{
	char what[96];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(version, sizeof(out->version), "TA version", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "version \"%s\" of TA %lld", version, (long long)ta_id);
	return store_get(st, SQL_VERSION_FIND,
	    STORE_PARAMS(STORE_INT64(ta_id), STORE_TEXT(version)), what, version_read, out,
	    err);
}

int
store_ta_version_list(struct store *st, int64_t ta_id, struct store_ta_version **out,
    size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_VERSION_LIST, STORE_PARAMS(STORE_INT64(ta_id)), "TA versions",
	    sizeof(**out), version_read, version_clear, out, n, err);
}

int
store_ta_page(struct store *st, int64_t sp_id, const struct store_page *pg, struct store_ta **out,
    size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_TA_PAGE, STORE_PARAMS(STORE_TEXT(store_after_text(pg)),
	    STORE_ID(sp_id), STORE_INT64(store_limit(pg))), "TAs", sizeof(**out), ta_read, NULL,
	    out, n, err);
}

int
store_ta_version_page(struct store *st, int64_t ta_id, const struct store_page *pg,
    struct store_ta_version **out, size_t *n, struct tam_err *err)
{
	/* Version keys start at 0 ("0.0"): a page from the start is after -1, not after 0. */
	int64_t after = pg->resume ? pg->after_int : -1;

	return store_list(st, SQL_VERSION_PAGE, STORE_PARAMS(STORE_INT64(ta_id),
	    STORE_INT64(after), STORE_INT64(store_limit(pg))), "TA versions",
	    sizeof(**out), version_read, version_clear, out, n, err);
}

int
store_ta_version_withdraw(struct store *st, int64_t id, const char *by, struct tam_err *err)
{
	struct store_tx tx;
	char what[48];
	int rc;

	if ((rc = store_check_name(by, STORE_FIELD_SIZE(struct store_ta_version, withdrawn_by),
	    "withdrawing actor", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "TA version %lld", (long long)id);
	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		return rc;
	if ((rc = store_get(st, SQL_VERSION_EXISTS, STORE_PARAMS(STORE_INT64(id)), what, NULL, NULL,
	    err)) != TAM_OK)
		goto out;
	rc = store_get(st, SQL_VERSION_PINNED, STORE_PARAMS(STORE_INT64(id)), what, NULL, NULL, err);
	if (rc == TAM_OK) {
		rc = tam_err_set(err, TAM_ECONFLICT, "%s is pinned by an assignment", what);
		goto out;
	}
	if (rc != TAM_ENOTFOUND)
		goto out;
	if ((rc = store_run(st, SQL_VERSION_WITHDRAW, STORE_PARAMS(STORE_INT64(id),
	    STORE_INT64(tam_now()), STORE_TEXT(by)), what, err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ECONFLICT, "%s is already withdrawn", what);
out:
	return store_tx_close(st, &tx, rc, err);
}

/* A new ta_blobs row of kind for version id with len bytes of fd, hashed into md if set. */
static int
blob_fill(struct store *st, int64_t id, const char *kind, int fd, uint64_t len, EVP_MD_CTX *md,
    struct tam_err *err)
{
	sqlite3_blob *b = NULL;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int64_t row = 0;
	int rc, src;

	if ((rc = store_insert(st, SQL_BLOB_ADD_SIZED, STORE_PARAMS(STORE_INT64(id),
	    STORE_TEXT(kind), STORE_INT64((int64_t)len)), "TA version blob", &row, err)) != TAM_OK)
		return rc;
	if ((src = sqlite3_blob_open(st->db, "main", "ta_blobs", "data", row, 1, &b)) != SQLITE_OK)
		return store_sqlerr(st, src, "TA version blob", err);
	if ((buf = malloc(BLOB_CHUNK)) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	while (off < len) {
		size_t want = len - off < BLOB_CHUNK ? (size_t)(len - off) : BLOB_CHUNK;
		ssize_t got = pread(fd, buf, want, (off_t)off);
		if (got <= 0) {
			rc = tam_err_set(err, TAM_EIO, "reading the TA spool file: %s",
			    got < 0 ? strerror(errno) : "short file");
			goto out;
		}
		if (md != NULL && EVP_DigestUpdate(md, buf, (size_t)got) != 1) {
			rc = tam_err_set(err, TAM_ECRYPTO, "SHA-256 failed");
			goto out;
		}
		if ((src = sqlite3_blob_write(b, buf, (int)got, (int)off)) != SQLITE_OK) {
			rc = store_sqlerr(st, src, "TA version blob", err);
			goto out;
		}
		off += (uint64_t)got;
	}
out:
	free(buf);
	sqlite3_blob_close(b);
	return rc;
}

int
store_ta_version_add_files(struct store *st, struct store_ta_version *v, int bundle_fd,
    uint64_t bundle_len, int enc_fd, uint64_t enc_len, int64_t *id, struct tam_err *err)
{
	EVP_MD_CTX *md = NULL;
	struct store_tx tx;
	int64_t key, rowid = 0;
	unsigned dlen = 0;
	char what[64];
	int rc;

	if (v->ta_id <= 0)
		return tam_err_set(err, TAM_EINVAL, "TA version without a TA");
	if ((rc = store_check_name(v->version, sizeof(v->version), "TA version", err)) != TAM_OK ||
	    (rc = store_check_name(v->created_by, sizeof(v->created_by), "TA version creator",
	    err)) != TAM_OK)
		return rc;
	if (tam_version_key(v->version, &key) != 0)
		return tam_err_set(err, TAM_EINVAL,
		    "TA version \"%s\" is not MAJOR[.MINOR[.PATCH]] (each 0..65535)", v->version);
	/* sqlite3_blob_* address bytes with int. */
	if (bundle_len == 0 || enc_len == 0 || bundle_len > INT_MAX || enc_len > INT_MAX)
		return tam_err_set(err, TAM_EINVAL, "TA bundle of %llu bytes cannot be stored",
		    (unsigned long long)bundle_len);
	snprintf(what, sizeof(what), "TA version \"%s\"", v->version);
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return tam_err_set(err, TAM_ECRYPTO, "SHA-256 unavailable");
	}
	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		goto out;
	/* The digest is known once the bundle is copied: zeros until then, inside this transaction. */
	memset(v->digest, 0, sizeof(v->digest));
	rc = store_insert(st, SQL_VERSION_ADD, STORE_PARAMS(
	    STORE_INT64(v->ta_id),
	    STORE_TEXT(v->version),
	    STORE_INT64(key),
	    STORE_BLOB(v->digest, sizeof(v->digest)),
	    STORE_INT64((int64_t)bundle_len),
	    STORE_BLOB(v->enc_key, sizeof(v->enc_key)),
	    STORE_BLOB(v->enc_iv, sizeof(v->enc_iv)),
	    STORE_INT64(v->created != 0 ? v->created : tam_now()),
	    STORE_TEXT(v->created_by)), what, &rowid, err);
	if (rc == TAM_OK)
		rc = blob_fill(st, rowid, "bundle", bundle_fd, bundle_len, md, err);
	if (rc == TAM_OK)
		rc = blob_fill(st, rowid, "enc_ta", enc_fd, enc_len, NULL, err);
	if (rc == TAM_OK && EVP_DigestFinal_ex(md, v->digest, &dlen) != 1)
		rc = tam_err_set(err, TAM_ECRYPTO, "SHA-256 failed");
	if (rc == TAM_OK)
		rc = store_run(st, SQL_VERSION_SET_DIGEST, STORE_PARAMS(STORE_INT64(rowid),
		    STORE_BLOB(v->digest, sizeof(v->digest))), what, err);
	if (rc == TAM_OK)
		rc = store_requires_add(st, rowid, v->ta_id, v->reqs, v->n_reqs, err);
	rc = store_tx_close(st, &tx, rc, err);
	if (rc == TAM_OK) {
		v->id = rowid;
		v->size = (int64_t)bundle_len;
		if (id != NULL)
			*id = rowid;
	}
out:
	EVP_MD_CTX_free(md);
	return rc;
}

struct store_blob {
	struct store *st;             /* a read-only connection of its own */
	int64_t version_id;
	int64_t row;                  /* the ta_blobs row */
	uint64_t size;
	const char *what;             /* for messages: "TA bundle", "TA ciphertext" */
};

/* The blob of kind for a version, on a new read-only connection to path. */
static int
blob_open(const char *path, int64_t version_id, const char *kind, struct store_blob **out,
    uint64_t *size, struct tam_err *err)
{
	struct store_blob *b;
	sqlite3_blob *h = NULL;
	int rc, src;

	*out = NULL;
	*size = 0;
	if (path == NULL || path[0] == '\0')
		return tam_err_set(err, TAM_EDB, "the database has no file name");
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	b->version_id = version_id;
	b->what = strcmp(kind, "bundle") == 0 ? "TA bundle" : "TA ciphertext";
	if ((rc = store_open(path, STORE_READONLY, &b->st, err)) != TAM_OK) {
		free(b);
		return rc;
	}
	/* Pieces are read once: a page cache of its own would only hold them longer. */
	rc = store_exec(b->st, "PRAGMA cache_size = -256", err);
	if (rc == TAM_OK)
		rc = store_get(b->st, SQL_BLOB_ROW, STORE_PARAMS(STORE_INT64(version_id),
		    STORE_TEXT(kind)), b->what, store_read_int64, &b->row, err);
	if (rc == TAM_OK && (src = sqlite3_blob_open(b->st->db, "main", "ta_blobs", "data", b->row,
	    0, &h)) != SQLITE_OK)
		rc = store_sqlerr(b->st, src, b->what, err);
	if (rc != TAM_OK) {
		store_blob_close(b);
		return rc;
	}
	b->size = (uint64_t)sqlite3_blob_bytes(h);
	sqlite3_blob_close(h);
	*size = b->size;
	*out = b;
	return TAM_OK;
}

int
store_ta_bundle_open(const char *db_path, int64_t version_id, struct store_blob **out,
    uint64_t *size, struct tam_err *err)
{
	return blob_open(db_path, version_id, "bundle", out, size, err);
}

int
store_ta_cipher_open(struct store *st, int64_t version_id, struct store_blob **out,
    uint64_t *size, struct tam_err *err)
{
	return blob_open(sqlite3_db_filename(st->db, "main"), version_id, "enc_ta", out, size, err);
}

/*
 * Each read opens the blob for itself: an open blob holds a read snapshot,
 * and a download as slow as a client likes must not stop WAL checkpoints.
 * Blobs are never rewritten, so the pieces belong to one bundle.
 */
int
store_blob_read(struct store_blob *b, uint64_t off, uint8_t *buf, size_t n, struct tam_err *err)
{
	sqlite3_blob *h = NULL;
	int src;

	if (off > INT_MAX || n > INT_MAX || off + n > b->size)
		return tam_err_set(err, TAM_EINVAL, "read past the end of a blob");
	src = sqlite3_blob_open(b->st->db, "main", "ta_blobs", "data", b->row, 0, &h);
	if (src == SQLITE_OK)
		src = sqlite3_blob_read(h, buf, (int)n, (int)off);
	sqlite3_blob_close(h);
	return src == SQLITE_OK ? TAM_OK : store_sqlerr(b->st, src, b->what, err);
}

int
store_blob_check(struct store_blob *b, struct tam_err *err)
{
	int64_t row = 0;
	int rc;

	rc = store_get(b->st, SQL_BLOB_LIVE, STORE_PARAMS(STORE_INT64(b->row),
	    STORE_INT64(b->version_id)), b->what, store_read_int64, &row, err);
	if (rc == TAM_ENOTFOUND)
		return tam_err_set(err, TAM_ENOTFOUND, "TA version %lld was withdrawn",
		    (long long)b->version_id);
	return rc;
}

/*
 * One open blob for the whole copy: reopening it per piece would walk its
 * overflow pages from the start every time (quadratic in its size). The
 * snapshot it holds lasts as long as the copy, not as long as any client.
 */
int
store_blob_copy(struct store_blob *b, int fd, struct tam_err *err)
{
	uint8_t *buf;
	sqlite3_blob *h = NULL;
	uint64_t off = 0;
	size_t n;
	int src, rc = TAM_OK;

	if (b->size > INT_MAX)
		return tam_err_set(err, TAM_EINVAL, "%s too large", b->what);
	if ((buf = malloc(STORE_COPY_PIECE)) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	src = sqlite3_blob_open(b->st->db, "main", "ta_blobs", "data", b->row, 0, &h);
	if (src == SQLITE_OK && (uint64_t)sqlite3_blob_bytes(h) != b->size)
		src = SQLITE_CORRUPT;
	for (; src == SQLITE_OK && off < b->size; off += n) {
		n = b->size - off < STORE_COPY_PIECE ? (size_t)(b->size - off) : STORE_COPY_PIECE;
		if ((src = sqlite3_blob_read(h, buf, (int)n, (int)off)) != SQLITE_OK)
			break;
		if (tam_pwrite_all(fd, buf, n, off) != 0) {
			rc = tam_err_set(err, TAM_EIO, "copying the %s: %s", b->what, strerror(errno));
			break;
		}
	}
	sqlite3_blob_close(h);
	free(buf);
	if (rc == TAM_OK && src != SQLITE_OK)
		rc = store_sqlerr(b->st, src, b->what, err);
	return rc;
}

void
store_blob_close(struct store_blob *b)
{
	if (b == NULL)
		return;
	store_close(b->st);
	free(b);
}

void
store_ta_version_clear(struct store_ta_version *v)
{
	if (v == NULL)
		return;
	/* The bundle is the TA in plaintext, which devices only ever receive encrypted. */
	tam_wipe(v->bundle, v->bundle_len);
	free(v->bundle);
	free(v->enc_ta);
	tam_wipe(v, sizeof(*v));
}

void
store_ta_versions_free(struct store_ta_version *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_ta_version_clear(&v[i]);
	free(v);
}

void
store_pdata_clear(struct store_pdata *p)
{
	if (p == NULL)
		return;
	free(p->enc);
	tam_wipe(p, sizeof(*p));
}

int
store_ta_version_set_pdata(struct store *st, int64_t id, int64_t size, const uint8_t digest[32],
    const struct store_pdata *p, struct tam_err *err)
{
	char what[48];
	int rc;

	if ((rc = store_check_blob(p->enc, p->enc_len, "sealed personalization data", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "TA version %lld", (long long)id);
	if ((rc = store_run(st, SQL_VERSION_SET_PDATA, STORE_PARAMS(STORE_INT64(id),
	    STORE_INT64(size), STORE_BLOB(digest, 32), STORE_BLOB(p->enc, p->enc_len),
	    STORE_BLOB(p->key, sizeof(p->key)), STORE_BLOB(p->iv, sizeof(p->iv))), what,
	    err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ECONFLICT, "%s already has personalization data, or a device "
		    "already holds it", what);
	return rc;
}

/* Columns 0..2 of SQL_VERSION_PDATA; a key without an IV, or either of another size, is an error. */
static int
pdata_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_pdata *p = elem;
	int rc;

	if ((rc = store_col_blob(st, s, 0, &p->enc, &p->enc_len, err)) != TAM_OK || p->enc == NULL)
		return rc;
	p->legacy = sqlite3_column_type(s, 1) == SQLITE_NULL;
	if (!p->legacy &&
	    ((rc = store_col_fixed(st, s, 1, p->key, sizeof(p->key), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 2, p->iv, sizeof(p->iv), err)) != TAM_OK))
		store_pdata_clear(p);
	return rc;
}

int
store_ta_version_pdata(struct store *st, int64_t id, struct store_pdata *out,
    struct tam_err *err)
{
	char what[48];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "TA version %lld", (long long)id);
	if ((rc = store_get(st, SQL_VERSION_PDATA, STORE_PARAMS(STORE_INT64(id)), what, pdata_read,
	    out, err)) != TAM_OK)
		store_pdata_clear(out);
	return rc;
}

struct legacy_row {
	int64_t id;
	char *taid;
};

static int
legacy_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct legacy_row *r = elem;

	r->id = sqlite3_column_int64(s, 0);
	return store_col_text(st, s, 1, r->taid, TAM_TAID_MAX, err);
}

int
store_ta_version_next_legacy_pdata(struct store *st, int64_t after_id, int64_t *id,
    char taid[TAM_TAID_MAX], struct tam_err *err)
{
	struct legacy_row r = { 0, taid };
	int rc;

	rc = store_get(st, SQL_VERSION_NEXT_LEGACY_PDATA, STORE_PARAMS(STORE_INT64(after_id)),
	    "legacy personalization data", legacy_read, &r, err);
	*id = r.id;
	return rc;
}

int
store_ta_version_reseal_pdata(struct store *st, int64_t id, const struct store_pdata *p,
    struct tam_err *err)
{
	char what[48];
	int rc;

	if ((rc = store_check_blob(p->enc, p->enc_len, "sealed personalization data", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "TA version %lld", (long long)id);
	if ((rc = store_run(st, SQL_VERSION_RESEAL_PDATA, STORE_PARAMS(STORE_INT64(id),
	    STORE_BLOB(p->enc, p->enc_len), STORE_BLOB(p->key, sizeof(p->key)),
	    STORE_BLOB(p->iv, sizeof(p->iv))), what, err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ECONFLICT, "%s has no legacy personalization data", what);
	return rc;
}

#define WITHDRAWN_STORED \
    " FROM ta_versions v JOIN tas t ON t.id = v.ta_id WHERE v.withdrawn IS NOT NULL" \
    " AND v.withdrawn < ?1 AND EXISTS (SELECT 1 FROM ta_blobs b WHERE b.version_id = v.id)"
static const char SQL_WITHDRAWN_AUDIT[] =
    "INSERT INTO audit (at, actor, action, object, detail) SELECT ?2, 'tamd', 'ta.bundle_removed',"
    " t.taid, 'version=' || v.version || ' reason=retention.withdrawn'" WITHDRAWN_STORED;
static const char SQL_WITHDRAWN_PDATA[] =
    "UPDATE ta_versions SET pdata_enc = NULL, pdata_key = NULL, pdata_iv = NULL"
    " WHERE id IN (SELECT v.id" WITHDRAWN_STORED ")";
static const char SQL_WITHDRAWN_PRUNE[] =
    "DELETE FROM ta_blobs WHERE version_id IN (SELECT v.id" WITHDRAWN_STORED ")";

int
store_withdrawn_prune(struct store *st, int64_t before, int64_t *n, struct tam_err *err)
{
	struct store_tx tx;
	int rc;

	*n = 0;
	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		return rc;
	if ((rc = store_run(st, SQL_WITHDRAWN_AUDIT, STORE_PARAMS(STORE_INT64(before),
	    STORE_INT64(tam_now())), "withdrawn bundles", err)) == TAM_OK) {
		*n = store_changes(st);
		if ((rc = store_run(st, SQL_WITHDRAWN_PDATA, STORE_PARAMS(STORE_INT64(before)),
		    "withdrawn bundles", err)) == TAM_OK)
			rc = store_run(st, SQL_WITHDRAWN_PRUNE, STORE_PARAMS(STORE_INT64(before)),
			    "withdrawn bundles", err);
	}
	return store_tx_close(st, &tx, rc, err);
}
