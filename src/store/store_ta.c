// SPDX-License-Identifier: MIT
/*
 * Trusted Applications and their uploaded versions. A version row carries
 * the SP-signed bundle and its one-time AES encryption with the key; the
 * big blobs are only read when a caller asks for them, so listing versions
 * and resolving "the latest" never pull megabytes through the page cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SQL_TA_ADD[] =
    "INSERT INTO tas (sp_id, taid, name, created) VALUES (?1, ?2, ?3, ?4)";
#define TA_COLS \
    "SELECT t.id, t.sp_id, s.spid, t.taid, t.name, t.created" \
    " FROM tas t JOIN sps s ON s.id = t.sp_id"
static const char SQL_TA_GET[] = TA_COLS " WHERE t.taid = ?1";
static const char SQL_TA_LIST[] = TA_COLS " ORDER BY t.taid";

static const char SQL_VERSION_ADD[] =
    "INSERT INTO ta_versions (ta_id, version, version_key, bundle, digest, size,"
    " enc_key, enc_iv, enc_ta, created, created_by)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
/* Columns 0..9 in every version query; 10 and 11 only when blobs are wanted. */
#define VERSION_COLS \
    "SELECT id, ta_id, version, version_key, digest, size, enc_key, enc_iv," \
    " created, created_by"
static const char SQL_VERSION_GET[] = VERSION_COLS " FROM ta_versions WHERE id = ?1";
static const char SQL_VERSION_GET_BLOBS[] =
    VERSION_COLS ", bundle, enc_ta FROM ta_versions WHERE id = ?1";
/* Only the ciphertext: the plaintext bundle is not needed to serve a device. */
static const char SQL_VERSION_GET_SEALED[] =
    VERSION_COLS ", NULL, enc_ta FROM ta_versions WHERE id = ?1";
static const char SQL_VERSION_LATEST[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 ORDER BY version_key DESC LIMIT 1";
static const char SQL_VERSION_FIND[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 AND version = ?2";
static const char SQL_VERSION_LIST[] =
    VERSION_COLS " FROM ta_versions WHERE ta_id = ?1 ORDER BY id";

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
	uint8_t digest[32];
	int64_t key;
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
	return store_insert(st, SQL_VERSION_ADD, STORE_PARAMS(
	    STORE_INT64(v->ta_id),
	    STORE_TEXT(v->version),
	    STORE_INT64(key),
	    STORE_BLOB(v->bundle, v->bundle_len),
	    STORE_BLOB(digest, sizeof(digest)),
	    STORE_INT64((int64_t)v->bundle_len),
	    STORE_BLOB(v->enc_key, sizeof(v->enc_key)),
	    STORE_BLOB(v->enc_iv, sizeof(v->enc_iv)),
	    STORE_BLOB(v->enc_ta, v->enc_ta_len),
	    STORE_INT64(v->created != 0 ? v->created : tam_now()),
	    STORE_TEXT(v->created_by)), what, id, err);
}

/* Columns 0..9, which every version query selects. */
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
	if ((rc = store_col_text(st, s, 2, v->version, sizeof(v->version), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 4, v->digest, sizeof(v->digest), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 6, v->enc_key, sizeof(v->enc_key), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 7, v->enc_iv, sizeof(v->enc_iv), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 9, v->created_by, sizeof(v->created_by), err)) != TAM_OK)
		store_ta_version_clear(v);
	return rc;
}

/* version_read and the blobs in columns 10 and 11 of SQL_VERSION_GET_BLOBS. */
static int
version_read_blobs(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_ta_version *v = elem;
	int rc;

	if ((rc = version_read(st, s, v, err)) != TAM_OK)
		return rc;
	if ((rc = store_col_blob(st, s, 10, &v->bundle, &v->bundle_len, err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 11, &v->enc_ta, &v->enc_ta_len, err)) != TAM_OK)
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
store_ta_version_latest(struct store *st, int64_t ta_id, struct store_ta_version *out,
    struct tam_err *err)
{
	char what[64];

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "a version of TA %lld", (long long)ta_id);
	return store_get(st, SQL_VERSION_LATEST, STORE_PARAMS(STORE_INT64(ta_id)), what,
	    version_read, out, err);
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
