// SPDX-License-Identifier: MIT
/*
 * Operations a TEE refused. Remembering them per device lets policy move on
 * to the next operation instead of asking for the same refused one in every
 * session, and retry it later with a growing delay.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static const char SQL_FAILURE_RECORD[] =
    "INSERT INTO op_failures (device_id, op, taid, sdname, reason, count, last_failed, retry_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6 + ?7)"
    " ON CONFLICT (device_id, op, taid, sdname) DO UPDATE SET"
    "  reason = excluded.reason, count = count + 1, last_failed = excluded.last_failed,"
    "  retry_at = excluded.last_failed + min(?8, ?7 << min(count, 30))";
static const char SQL_FAILURE_CLEAR[] =
    "DELETE FROM op_failures WHERE device_id = ?1 AND op = ?2 AND taid = ?3 AND sdname = ?4";
static const char SQL_FAILURES_ACTIVE[] =
    "SELECT op, taid, sdname, reason, count, retry_at FROM op_failures"
    " WHERE device_id = ?1 AND retry_at > ?2 ORDER BY op, taid, sdname";

static int
check_key(enum tam_op_kind op, const char *taid, const char *sdname, struct tam_err *err)
{
	int rc;

	if (op == TAM_OP_NONE)
		return tam_err_set(err, TAM_EINVAL, "operation failure without an operation");
	if ((rc = store_check_text(taid, TAM_TAID_MAX, "taid", err)) != TAM_OK ||
	    (rc = store_check_text(sdname, TAM_SDNAME_MAX, "sdname", err)) != TAM_OK)
		return rc;
	return TAM_OK;
}

int
store_op_failure_record(struct store *st, int64_t device_id, enum tam_op_kind op,
    const char *taid, const char *sdname, const char *reason, int64_t now, int64_t base_delay,
    int64_t max_delay, struct tam_err *err)
{
	int rc;

	if ((rc = check_key(op, taid, sdname, err)) != TAM_OK ||
	    (rc = store_check_text(reason, STORE_FIELD_SIZE(struct store_op_failure, reason),
	    "reason", err)) != TAM_OK)
		return rc;
	if (base_delay <= 0 || max_delay < base_delay)
		return tam_err_set(err, TAM_EINVAL, "retry delays must be positive and ordered");
	return store_run(st, SQL_FAILURE_RECORD, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_TEXT(tam_op_kind_name(op)), STORE_TEXT(taid), STORE_TEXT(sdname), STORE_TEXT(reason),
	    STORE_INT64(now), STORE_INT64(base_delay), STORE_INT64(max_delay)),
	    "operation failure", err);
}

int
store_op_failure_clear(struct store *st, int64_t device_id, enum tam_op_kind op,
    const char *taid, const char *sdname, struct tam_err *err)
{
	int rc;

	if ((rc = check_key(op, taid, sdname, err)) != TAM_OK)
		return rc;
	return store_run(st, SQL_FAILURE_CLEAR, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_TEXT(tam_op_kind_name(op)), STORE_TEXT(taid), STORE_TEXT(sdname)),
	    "operation failure", err);
}

static int
failure_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_op_failure *f = elem;
	char op[32];
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = store_col_text(st, s, 0, op, sizeof(op), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 1, f->taid, sizeof(f->taid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 2, f->sdname, sizeof(f->sdname), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 3, f->reason, sizeof(f->reason), err)) != TAM_OK)
		return rc;
	if (tam_op_kind_parse(op, &f->op) != 0)
		return tam_err_set(err, TAM_EDB, "stored operation \"%s\" is not known", op);
	f->count = sqlite3_column_int64(s, 4);
	f->retry_at = sqlite3_column_int64(s, 5);
	return TAM_OK;
}

int
store_op_failures_active(struct store *st, int64_t device_id, int64_t now,
    struct store_op_failure **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_FAILURES_ACTIVE, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_INT64(now)), "operation failures", sizeof(**out), failure_read, NULL, out, n, err);
}
