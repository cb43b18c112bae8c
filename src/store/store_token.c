// SPDX-License-Identifier: MIT
/*
 * Management API bearer tokens. A row holds the token's public id, the
 * SHA-256 of its secret part and its role; the secret itself is never
 * stored, so a copy of the database grants nothing.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static const char SQL_TOKEN_ADD[] =
    "INSERT INTO api_tokens (tokid, hash, role, sp_id, description, created, created_by,"
    " expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
#define TOKEN_COLS \
    "SELECT k.id, k.tokid, k.hash, k.role, k.sp_id, s.spid, k.description, k.created," \
    " k.created_by, k.expires, k.revoked, k.last_used" \
    " FROM api_tokens k LEFT JOIN sps s ON s.id = k.sp_id"
static const char SQL_TOKEN_GET[] = TOKEN_COLS " WHERE k.tokid = ?1";
static const char SQL_TOKEN_PAGE[] = TOKEN_COLS " WHERE k.id > ?1 ORDER BY k.id LIMIT ?2";
static const char SQL_TOKEN_REVOKE[] =
    "UPDATE api_tokens SET revoked = ?2 WHERE tokid = ?1 AND revoked IS NULL";
static const char SQL_TOKEN_EXISTS[] = "SELECT 1 FROM api_tokens WHERE tokid = ?1";
/* One write a minute at most per token: reads must not turn into write contention. */
static const char SQL_TOKEN_TOUCH[] =
    "UPDATE api_tokens SET last_used = ?2 WHERE id = ?1"
    " AND (last_used IS NULL OR last_used < ?2 - 60)";

static int
check_tokid(const char *tokid, struct tam_err *err)
{
	if (tokid == NULL || strlen(tokid) != STORE_TOKID_LEN ||
	    strspn(tokid, "0123456789abcdef") != STORE_TOKID_LEN)
		return tam_err_set(err, TAM_EINVAL, "a token id is %d lower-case hex digits",
		    STORE_TOKID_LEN);
	return TAM_OK;
}

int
store_token_add(struct store *st, const struct store_token *t, int64_t *id, struct tam_err *err)
{
	int rc;

	if ((rc = check_tokid(t->tokid, err)) != TAM_OK ||
	    (rc = store_check_text(t->description, sizeof(t->description), "token description",
	    err)) != TAM_OK ||
	    (rc = store_check_name(t->created_by, sizeof(t->created_by), "token creator",
	    err)) != TAM_OK)
		return rc;
	if (t->admin != (t->sp_id == 0))
		return tam_err_set(err, TAM_EINVAL, "a token is either admin or bound to one SP");
	return store_insert(st, SQL_TOKEN_ADD, STORE_PARAMS(
	    STORE_TEXT(t->tokid),
	    STORE_BLOB(t->hash, sizeof(t->hash)),
	    STORE_TEXT(t->admin ? "admin" : "sp"),
	    STORE_ID(t->sp_id),
	    STORE_TEXT(t->description),
	    STORE_INT64(t->created != 0 ? t->created : tam_now()),
	    STORE_TEXT(t->created_by),
	    STORE_ID(t->expires)), "API token", id, err);
}

static int
token_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_token *t = elem;
	char role[8];
	int rc;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(s, 0);
	t->sp_id = sqlite3_column_int64(s, 4);
	t->created = sqlite3_column_int64(s, 7);
	t->expires = sqlite3_column_int64(s, 9);
	t->revoked = sqlite3_column_int64(s, 10);
	t->last_used = sqlite3_column_int64(s, 11);
	if ((rc = store_col_text(st, s, 1, t->tokid, sizeof(t->tokid), err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 2, t->hash, sizeof(t->hash), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 3, role, sizeof(role), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 5, t->spid, sizeof(t->spid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 6, t->description, sizeof(t->description), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 8, t->created_by, sizeof(t->created_by), err)) != TAM_OK)
		return rc;
	t->admin = strcmp(role, "admin") == 0;
	return TAM_OK;
}

int
store_token_get(struct store *st, const char *tokid, struct store_token *out,
    struct tam_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_tokid(tokid, err)) != TAM_OK)
		return rc;
	return store_get(st, SQL_TOKEN_GET, STORE_PARAMS(STORE_TEXT(tokid)), "API token",
	    token_read, out, err);
}

int
store_token_page(struct store *st, const struct store_page *pg, struct store_token **out,
    size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_TOKEN_PAGE, STORE_PARAMS(STORE_INT64(pg->after_int),
	    STORE_INT64(store_limit(pg))), "API tokens", sizeof(**out), token_read, NULL, out, n,
	    err);
}

int
store_token_revoke(struct store *st, const char *tokid, int64_t now, struct tam_err *err)
{
	struct store_tx tx;
	int rc;

	if ((rc = check_tokid(tokid, err)) != TAM_OK)
		return rc;
	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		return rc;
	rc = store_get(st, SQL_TOKEN_EXISTS, STORE_PARAMS(STORE_TEXT(tokid)), "API token", NULL,
	    NULL, err);
	if (rc == TAM_OK && (rc = store_run(st, SQL_TOKEN_REVOKE, STORE_PARAMS(STORE_TEXT(tokid),
	    STORE_INT64(now)), "API token", err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ECONFLICT, "token %s is already revoked", tokid);
	return store_tx_close(st, &tx, rc, err);
}

int
store_token_touch(struct store *st, int64_t id, int64_t now, struct tam_err *err)
{
	return store_run(st, SQL_TOKEN_TOUCH, STORE_PARAMS(STORE_INT64(id), STORE_INT64(now)),
	    "API token", err);
}
