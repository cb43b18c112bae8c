// SPDX-License-Identifier: MIT
/*
 * Service providers: their OTrP spid, the SD name this TAM gives them on
 * every device, and the certificate their TA bundles must be signed with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SQL_SP_ADD[] =
    "INSERT INTO sps (spid, sdname, cert, created) VALUES (?1, ?2, ?3, ?4)";
#define SP_COLS "SELECT id, spid, sdname, cert, created FROM sps"
static const char SQL_SP_GET[] = SP_COLS " WHERE spid = ?1";
static const char SQL_SP_GET_BY_ID[] = SP_COLS " WHERE id = ?1";
static const char SQL_SP_LIST[] = SP_COLS " ORDER BY spid";
static const char SQL_SP_PAGE[] =
    SP_COLS " WHERE spid > ?1 AND (?2 IS NULL OR id = ?2) ORDER BY spid LIMIT ?3";
static const char SQL_SP_HAS_TAS[] =
    "SELECT 1 FROM tas WHERE sp_id = (SELECT id FROM sps WHERE spid = ?1) LIMIT 1";
/* Requests outlive the SP as history: they keep the spid text, not the row. */
static const char SQL_SP_DETACH_REQUESTS[] =
    "UPDATE requests SET sp_id = NULL WHERE sp_id = (SELECT id FROM sps WHERE spid = ?1)";
static const char SQL_SP_UPDATE[] =
    "UPDATE sps SET sdname = COALESCE(?2, sdname), cert = COALESCE(?3, cert) WHERE spid = ?1";
static const char SQL_SP_LIVE_VERSIONS[] =
    "SELECT count(*) FROM ta_versions v JOIN tas t ON t.id = v.ta_id"
    " WHERE t.sp_id = ?1 AND v.withdrawn IS NULL";
static const char SQL_SP_REMOVE[] = "DELETE FROM sps WHERE spid = ?1";

int
store_sp_add(struct store *st, const struct store_sp *sp, int64_t *id, struct tam_err *err)
{
	char what[96];
	int rc;

	if ((rc = store_check_name(sp->spid, sizeof(sp->spid), "spid", err)) != TAM_OK ||
	    (rc = store_check_name(sp->sdname, sizeof(sp->sdname), "SD name", err)) != TAM_OK ||
	    (rc = store_check_blob(sp->cert, sp->cert_len, "SP certificate", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "SP \"%s\"", sp->spid);
	return store_insert(st, SQL_SP_ADD, STORE_PARAMS(
	    STORE_TEXT(sp->spid),
	    STORE_TEXT(sp->sdname),
	    STORE_BLOB(sp->cert, sp->cert_len),
	    STORE_INT64(sp->created != 0 ? sp->created : tam_now())), what, id, err);
}

static int
sp_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_sp *sp = elem;
	int rc;

	memset(sp, 0, sizeof(*sp));
	sp->id = sqlite3_column_int64(s, 0);
	sp->created = sqlite3_column_int64(s, 4);
	if ((rc = store_col_text(st, s, 1, sp->spid, sizeof(sp->spid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 2, sp->sdname, sizeof(sp->sdname), err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 3, &sp->cert, &sp->cert_len, err)) != TAM_OK)
		store_sp_clear(sp);
	return rc;
}

/* store_sp_clear in the shape store_list calls. */
static void
sp_clear(void *elem)
{
	store_sp_clear(elem);
}

int
store_sp_get(struct store *st, const char *spid, struct store_sp *out, struct tam_err *err)
{
	char what[96];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(spid, sizeof(out->spid), "spid", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "SP \"%s\"", spid);
	return store_get(st, SQL_SP_GET, STORE_PARAMS(STORE_TEXT(spid)), what, sp_read, out,
	    err);
}

int
store_sp_get_by_id(struct store *st, int64_t id, struct store_sp *out, struct tam_err *err)
{
	char what[48];

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "SP %lld", (long long)id);
	return store_get(st, SQL_SP_GET_BY_ID, STORE_PARAMS(STORE_INT64(id)), what, sp_read,
	    out, err);
}

int
store_sp_list(struct store *st, struct store_sp **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_SP_LIST, STORE_NO_PARAMS, "service providers", sizeof(**out),
	    sp_read, sp_clear, out, n, err);
}

int
store_sp_page(struct store *st, int64_t only_sp_id, const struct store_page *pg,
    struct store_sp **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_SP_PAGE, STORE_PARAMS(STORE_TEXT(store_after_text(pg)),
	    STORE_ID(only_sp_id), STORE_INT64(store_limit(pg))), "service providers",
	    sizeof(**out), sp_read, sp_clear, out, n, err);
}

int
store_sp_remove(struct store *st, const char *spid, struct tam_err *err)
{
	struct store_tx tx;
	char what[96];
	int rc;

	if ((rc = store_check_name(spid, TAM_SPID_MAX, "spid", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "SP \"%s\"", spid);
	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		return rc;
	rc = store_get(st, SQL_SP_HAS_TAS, STORE_PARAMS(STORE_TEXT(spid)), what, NULL, NULL, err);
	if (rc == TAM_OK)
		rc = tam_err_set(err, TAM_ECONFLICT, "%s still has TAs", what);
	else if (rc == TAM_ENOTFOUND)
		rc = store_run(st, SQL_SP_DETACH_REQUESTS, STORE_PARAMS(STORE_TEXT(spid)), what, err);
	if (rc == TAM_OK &&
	    (rc = store_run(st, SQL_SP_REMOVE, STORE_PARAMS(STORE_TEXT(spid)), what, err)) == TAM_OK &&
	    store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "%s: not found", what);
	return store_tx_close(st, &tx, rc, err);
}

int
store_sp_update(struct store *st, const char *spid, const char *sdname, const uint8_t *cert,
    size_t cert_len, struct tam_err *err)
{
	char what[96];
	int rc;

	if ((rc = store_check_name(spid, TAM_SPID_MAX, "spid", err)) != TAM_OK ||
	    (sdname != NULL &&
	    (rc = store_check_name(sdname, TAM_SDNAME_MAX, "SD name", err)) != TAM_OK) ||
	    (cert != NULL &&
	    (rc = store_check_blob(cert, cert_len, "SP certificate", err)) != TAM_OK))
		return rc;
	snprintf(what, sizeof(what), "SP \"%s\"", spid);
	if ((rc = store_run(st, SQL_SP_UPDATE, STORE_PARAMS(STORE_TEXT(spid), STORE_TEXT(sdname),
	    STORE_BLOB(cert, cert_len)), what, err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "%s: not found", what);
	return rc;
}

int
store_sp_live_versions(struct store *st, int64_t sp_id, int64_t *n, struct tam_err *err)
{
	*n = 0;
	return store_get(st, SQL_SP_LIVE_VERSIONS, STORE_PARAMS(STORE_INT64(sp_id)),
	    "SP versions", store_read_int64, n, err);
}

void
store_sp_clear(struct store_sp *sp)
{
	if (sp == NULL)
		return;
	free(sp->cert);
	memset(sp, 0, sizeof(*sp));
}

void
store_sps_free(struct store_sp *sps, size_t n)
{
	if (sps == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(sps[i].cert);
	free(sps);
}

static const char SQL_SP_USAGE[] =
    "SELECT COALESCE(SUM(v.size + COALESCE(v.pdata_size, 0)), 0), COUNT(v.id)"
    " FROM tas t JOIN ta_versions v ON v.ta_id = t.id"
    " AND EXISTS (SELECT 1 FROM ta_blobs b WHERE b.version_id = v.id)"
    " WHERE t.sp_id = ?1";

static int
usage_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_sp_usage *u = elem;

	(void)st;
	(void)err;
	u->bytes = (uint64_t)sqlite3_column_int64(s, 0);
	u->versions = (uint64_t)sqlite3_column_int64(s, 1);
	return TAM_OK;
}

int
store_sp_usage(struct store *st, int64_t sp_id, struct store_sp_usage *out, struct tam_err *err)
{
	memset(out, 0, sizeof(*out));
	return store_get(st, SQL_SP_USAGE, STORE_PARAMS(STORE_INT64(sp_id)), "SP usage", usage_read,
	    out, err);
}
