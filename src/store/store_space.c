// SPDX-License-Identifier: MIT
/*
 * Giving space back. Sessions and requests are bookkeeping that housekeeping
 * deletes (store_purge); without auto-vacuum SQLite keeps their pages in the
 * file for reuse and the file never shrinks after a burst. With incremental
 * auto-vacuum the pages go back in small steps that never hold the write
 * lock for long.
 */
#include <stdio.h>

#include "tam/log.h"
#include "store_int.h"

#define AUTO_VACUUM_INCREMENTAL 2      /* PRAGMA auto_vacuum's number for INCREMENTAL */

/* incremental_vacuum frees about a page per step, and steps return rows until it is done. */
static int
vacuum_steps(struct store *st, const char *sql, int64_t max_pages, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	bool row = true;
	int rc;

	if ((rc = store_prepare(st, sql, &s, err)) != TAM_OK)
		return rc;
	for (int64_t i = 0; rc == TAM_OK && row && i <= max_pages; i++)
		rc = store_step(st, s, &row, "incremental vacuum", err);
	store_release(s);
	return rc;
}

int
store_reclaim(struct store *st, int64_t max_pages, int64_t *freed, struct tam_err *err)
{
	int64_t before = 0, after = 0;
	char sql[64];
	int rc;

	*freed = 0;
	if (max_pages <= 0)
		return tam_err_set(err, TAM_EINVAL, "reclaim: %lld pages", (long long)max_pages);
	if ((rc = store_get(st, "PRAGMA freelist_count", STORE_NO_PARAMS, "free pages",
	    store_read_int64, &before, err)) != TAM_OK || before == 0)
		return rc;
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%lld)", (long long)max_pages);
	if ((rc = vacuum_steps(st, sql, max_pages, err)) != TAM_OK ||
	    (rc = store_get(st, "PRAGMA freelist_count", STORE_NO_PARAMS, "free pages",
	    store_read_int64, &after, err)) != TAM_OK)
		return rc;
	*freed = before > after ? before - after : 0;
	return TAM_OK;
}

int
store_auto_vacuum_enable(struct store *st, bool *vacuumed, struct tam_err *err)
{
	int64_t mode = 0;
	int rc;

	*vacuumed = false;
	if ((rc = store_get(st, "PRAGMA auto_vacuum", STORE_NO_PARAMS, "auto_vacuum",
	    store_read_int64, &mode, err)) != TAM_OK || mode == AUTO_VACUUM_INCREMENTAL)
		return rc;
	/* The setting is only recorded; the VACUUM moves the file to it. */
	if ((rc = store_exec(st, "PRAGMA auto_vacuum = INCREMENTAL", err)) != TAM_OK ||
	    (rc = store_exec(st, "VACUUM", err)) != TAM_OK)
		return rc;
	*vacuumed = true;
	return TAM_OK;
}
