// SPDX-License-Identifier: MIT
/*
 * Counts for monitoring, read in one statement so a scrape sees one
 * consistent snapshot and costs one round trip.
 */
#include <string.h>

#include "store_int.h"

static const char SQL_STATS[] =
    "SELECT (SELECT count(*) FROM devices WHERE state = 'active'),"
    " (SELECT count(*) FROM devices WHERE state = 'decommissioned'),"
    " (SELECT count(*) FROM tas), (SELECT count(*) FROM ta_versions),"
    " (SELECT count(DISTINCT session_id) FROM requests"
    "  WHERE answered IS NULL AND cancelled = 0 AND expires > ?1)";

static int
stats_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_stats *out = elem;

	(void)st;
	(void)err;
	out->devices_active = sqlite3_column_int64(s, 0);
	out->devices_decommissioned = sqlite3_column_int64(s, 1);
	out->tas = sqlite3_column_int64(s, 2);
	out->ta_versions = sqlite3_column_int64(s, 3);
	out->sessions_open = sqlite3_column_int64(s, 4);
	return TAM_OK;
}

int
store_stats_get(struct store *st, int64_t now, struct store_stats *out, struct tam_err *err)
{
	memset(out, 0, sizeof(*out));
	return store_get(st, SQL_STATS, STORE_PARAMS(STORE_INT64(now)), "statistics", stats_read,
	    out, err);
}
