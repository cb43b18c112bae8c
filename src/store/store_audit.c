// SPDX-License-Identifier: MIT
/*
 * The audit trail: who changed what, appended by every management action and
 * read back in id order for paging. Rows are only ever inserted here.
 */
#include <string.h>

#include "store_int.h"

static const char SQL_AUDIT_ADD[] =
    "INSERT INTO audit (at, actor, action, object, detail) VALUES (?1, ?2, ?3, ?4, ?5)";
/* A NULL parameter filters nothing, so one statement serves every combination. */
static const char SQL_AUDIT_LIST[] =
    "SELECT id, at, actor, action, object, detail FROM audit"
    " WHERE id > ?1 AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR object = ?3)"
    " AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)"
    " ORDER BY id LIMIT ?6";

int
store_audit(struct store *st, const char *actor, const char *action, const char *object,
    const char *detail, struct tam_err *err)
{
	int rc;

	if ((rc = store_check_name(actor, STORE_FIELD_SIZE(struct store_audit_row, actor),
	    "audit actor", err)) != TAM_OK ||
	    (rc = store_check_name(action, STORE_FIELD_SIZE(struct store_audit_row, action),
	    "audit action", err)) != TAM_OK ||
	    (rc = store_check_name(object, STORE_FIELD_SIZE(struct store_audit_row, object),
	    "audit object", err)) != TAM_OK ||
	    (rc = store_check_text(detail, STORE_FIELD_SIZE(struct store_audit_row, detail),
	    "audit detail", err)) != TAM_OK)
		return rc;
	return store_run(st, SQL_AUDIT_ADD, STORE_PARAMS(
	    STORE_INT64(tam_now()),
	    STORE_TEXT(actor),
	    STORE_TEXT(action),
	    STORE_TEXT(object),
	    STORE_TEXT(detail != NULL ? detail : "")), "audit record", err);
}

static int
audit_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_audit_row *r = elem;
	int rc;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->at = sqlite3_column_int64(s, 1);
	if ((rc = store_col_text(st, s, 2, r->actor, sizeof(r->actor), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 3, r->action, sizeof(r->action), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 4, r->object, sizeof(r->object), err)) == TAM_OK)
		rc = store_col_text(st, s, 5, r->detail, sizeof(r->detail), err);
	return rc;
}

int
store_audit_list(struct store *st, const struct store_audit_filter *f,
    const struct store_page *pg, struct store_audit_row **rows, size_t *n,
    struct tam_err *err)
{
	static const struct store_audit_filter none = { 0 };

	if (f == NULL)
		f = &none;
	return store_list(st, SQL_AUDIT_LIST, STORE_PARAMS(
	    STORE_INT64(pg->after_int),
	    STORE_TEXT(f->actor),
	    STORE_TEXT(f->object),
	    STORE_ID(f->since),
	    STORE_ID(f->until),
	    STORE_INT64(store_limit(pg))), "audit",
	    sizeof(**rows), audit_read, NULL, rows, n, err);
}

/* Oldest first, a bounded batch a round: the write lock is held briefly. */
static const char SQL_AUDIT_PRUNE[] =
    "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1 ORDER BY id LIMIT ?2)";

int
store_audit_prune(struct store *st, int64_t before, int64_t max, int64_t *n, struct tam_err *err)
{
	int rc;

	*n = 0;
	if ((rc = store_run(st, SQL_AUDIT_PRUNE, STORE_PARAMS(STORE_INT64(before), STORE_INT64(max)),
	    "audit retention", err)) == TAM_OK)
		*n = store_changes(st);
	return rc;
}
