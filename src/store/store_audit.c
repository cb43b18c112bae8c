// SPDX-License-Identifier: MIT
/*
 * The audit trail: who changed what, appended by every management action and
 * read back in id order for paging. Rows are only ever inserted here.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SQL_AUDIT_ADD[] =
    "INSERT INTO audit (at, actor, action, object, detail) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_AUDIT_LIST[] =
    "SELECT id, at, actor, action, object, detail FROM audit"
    " WHERE id > ?1 ORDER BY id LIMIT ?2";

int
store_audit(struct store *st, const char *actor, const char *action, const char *object,
    const char *detail, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
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
	if ((rc = store_prepare(st, SQL_AUDIT_ADD, &s, err)) != TAM_OK)
		goto out;
	if ((rc = store_bind_int64(st, s, 1, tam_now(), err)) != TAM_OK ||
	    (rc = store_bind_text(st, s, 2, actor, err)) != TAM_OK ||
	    (rc = store_bind_text(st, s, 3, action, err)) != TAM_OK ||
	    (rc = store_bind_text(st, s, 4, object, err)) != TAM_OK ||
	    (rc = store_bind_text(st, s, 5, detail != NULL ? detail : "", err)) != TAM_OK)
		goto out;
	rc = store_step_done(st, s, "audit record", err);
out:
	store_release(s);
	return rc;
}

int
store_audit_list(struct store *st, int64_t after_id, size_t limit,
    struct store_audit_row **rows, size_t *n, struct tam_err *err)
{
	struct store_audit_row *out = NULL, *r;
	sqlite3_stmt *s = NULL;
	size_t cnt = 0, cap = 0;
	bool row;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = store_prepare(st, SQL_AUDIT_LIST, &s, err)) != TAM_OK)
		goto out;
	if ((rc = store_bind_int64(st, s, 1, after_id, err)) != TAM_OK ||
	    (rc = store_bind_int64(st, s, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit,
	    err)) != TAM_OK)
		goto out;
	for (;;) {
		if ((rc = store_step(st, s, &row, "audit", err)) != TAM_OK)
			goto out;
		if (!row)
			break;
		if ((rc = store_grow(&out, &cap, cnt + 1, sizeof(*out), err)) != TAM_OK)
			goto out;
		r = &out[cnt];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		r->at = sqlite3_column_int64(s, 1);
		if ((rc = store_col_text(st, s, 2, r->actor, sizeof(r->actor), err)) != TAM_OK ||
		    (rc = store_col_text(st, s, 3, r->action, sizeof(r->action), err)) != TAM_OK ||
		    (rc = store_col_text(st, s, 4, r->object, sizeof(r->object), err)) != TAM_OK ||
		    (rc = store_col_text(st, s, 5, r->detail, sizeof(r->detail), err)) != TAM_OK)
			goto out;
		cnt++;
	}
	*rows = out;
	*n = cnt;
	out = NULL;
out:
	store_release(s);
	free(out);
	return rc;
}
