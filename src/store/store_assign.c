// SPDX-License-Identifier: MIT
/*
 * Assignments: the desired state operators and SPs set per device. Reading
 * them resolves "latest" to a concrete version row in SQL, so policy only
 * ever compares plain structs.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/*
 * One statement: a pinned version must belong to the TA, else nothing is
 * inserted and the caller learns it from the change count. The WHERE keeps
 * the upsert's ON CONFLICT from being parsed as part of the SELECT's join.
 */
static const char SQL_ASSIGN[] =
    "INSERT INTO assignments (device_id, ta_id, ta_version_id, created, created_by,"
    " allow_downgrade) SELECT ?1, ?2, ?3, ?4, ?5, ?6"
    " WHERE ?3 IS NULL OR EXISTS (SELECT 1 FROM ta_versions"
    "  WHERE id = ?3 AND ta_id = ?2 AND withdrawn IS NULL)"
    " ON CONFLICT (device_id, ta_id) DO UPDATE SET ta_version_id = excluded.ta_version_id,"
    " created = excluded.created, created_by = excluded.created_by,"
    " allow_downgrade = excluded.allow_downgrade";
/* Assigning a TA again takes back an operator's request to purge its SP's SD there. */
static const char SQL_ASSIGN_UNPURGE[] =
    "DELETE FROM sd_requests WHERE device_id = ?1 AND action = 'purge'"
    " AND sp_id = (SELECT sp_id FROM tas WHERE id = ?2)";
static const char SQL_UNASSIGN[] =
    "DELETE FROM assignments WHERE device_id = ?1 AND ta_id = ?2";
/* The newest version of TA ta that is not withdrawn, or NULL. */
#define LATEST_OF(ta) \
    "(SELECT l.id FROM ta_versions l WHERE l.ta_id = " ta " AND l.withdrawn IS NULL" \
    " ORDER BY l.version_key DESC LIMIT 1)"
/*
 * The walk starts at the assigned versions (pinned, else latest) and steps
 * to the versions of what they require: an assigned TA's own resolution,
 * any other TA's latest. UNION over (TA, version, depth) and the depth bound
 * keep cycles and diamonds finite. What the walk reached and nobody assigned
 * is implied, each TA once. A version id of NULL joins nothing, which leaves
 * out TAs with no version yet.
 */
static const char SQL_ASSIGNMENTS[] =
    "WITH RECURSIVE walk(ta_id, vid, depth, root) AS ("
    " SELECT a.ta_id, COALESCE(a.ta_version_id, " LATEST_OF("a.ta_id") "), 0, a.ta_id"
    "  FROM assignments a WHERE a.device_id = ?1"
    " UNION"
    " SELECT r.needs_ta_id, COALESCE((SELECT p.ta_version_id FROM assignments p"
    "   WHERE p.device_id = ?1 AND p.ta_id = r.needs_ta_id), " LATEST_OF("r.needs_ta_id") "),"
    "  w.depth + 1, w.root"
    "  FROM walk w JOIN ta_version_requires r ON r.ta_version_id = w.vid"
    "  WHERE w.depth < ?2),"
    " chosen(ta_id, vid, allow_downgrade, implied, root) AS ("
    " SELECT w.ta_id, w.vid, a.allow_downgrade, 0, NULL FROM walk w"
    "  JOIN assignments a ON a.device_id = ?1 AND a.ta_id = w.ta_id WHERE w.depth = 0"
    " UNION ALL"
    " SELECT w.ta_id, w.vid, 0, 1, MIN(w.root) FROM walk w WHERE w.depth > 0"
    "  AND NOT EXISTS (SELECT 1 FROM assignments p WHERE p.device_id = ?1 AND p.ta_id = w.ta_id)"
    "  GROUP BY w.ta_id, w.vid)"
    " SELECT c.ta_id, v.id, t.taid, v.version, t.sp_id, s.spid, s.sdname, v.version_key,"
    " c.allow_downgrade, c.implied, COALESCE(rt.taid, ''), COALESCE(ra.created_by, '')"
    " FROM chosen c"
    " JOIN tas t ON t.id = c.ta_id"
    " JOIN sps s ON s.id = t.sp_id"
    " JOIN ta_versions v ON v.id = c.vid"
    " LEFT JOIN tas rt ON rt.id = c.root"
    " LEFT JOIN assignments ra ON ra.device_id = ?1 AND ra.ta_id = c.root"
    " ORDER BY t.taid";
/* As above, for people: the pin and the resolution side by side, TAs without versions too. */
static const char SQL_ASSIGNMENT_PAGE[] =
    "SELECT t.taid, s.spid, p.version, COALESCE(p.version,"
    "  (SELECT l.version FROM ta_versions l WHERE l.ta_id = a.ta_id AND l.withdrawn IS NULL"
    "   ORDER BY l.version_key DESC LIMIT 1)), a.created, a.created_by, a.allow_downgrade"
    " FROM assignments a"
    " JOIN tas t ON t.id = a.ta_id"
    " JOIN sps s ON s.id = t.sp_id"
    " LEFT JOIN ta_versions p ON p.id = a.ta_version_id"
    " WHERE a.device_id = ?1 AND t.taid > ?2 AND (?3 IS NULL OR t.sp_id = ?3)"
    " ORDER BY t.taid LIMIT ?4";
/*
 * The stake store_device_page means: an assignment of the SP's TA, or an SD
 * the TAM created for it there. Never the SDs a device says it holds.
 */
static const char SQL_DEVICE_IDS_FOR_SP[] =
    "SELECT d.id FROM devices d WHERE d.state = 'active' AND ("
    " EXISTS (SELECT 1 FROM assignments a JOIN tas t ON t.id = a.ta_id"
    "  WHERE a.device_id = d.id AND t.sp_id = ?1)"
    " OR EXISTS (SELECT 1 FROM sd_stakes k WHERE k.device_id = d.id AND k.sp_id = ?1))"
    " ORDER BY d.id";

int
store_assign(struct store *st, int64_t device_id, int64_t ta_id, int64_t ta_version_id,
    bool allow_downgrade, const char *actor, struct tam_err *err)
{
	char what[96];
	int rc;

	/* created_by holds the same "who" as the audit trail's actor. */
	if ((rc = store_check_name(actor, STORE_FIELD_SIZE(struct store_audit_row, actor),
	    "assigning actor", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "assignment of TA %lld to device %lld", (long long)ta_id,
	    (long long)device_id);
	if ((rc = store_run(st, SQL_ASSIGN, STORE_PARAMS(
	    STORE_INT64(device_id),
	    STORE_INT64(ta_id),
	    STORE_ID(ta_version_id),
	    STORE_INT64(tam_now()),
	    STORE_TEXT(actor),
	    STORE_INT64(allow_downgrade)), what, err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_EINVAL,
		    "%s: version %lld is not an installable version of that TA", what,
		    (long long)ta_version_id);
	if (rc == TAM_OK)
		rc = store_run(st, SQL_ASSIGN_UNPURGE, STORE_PARAMS(STORE_INT64(device_id),
		    STORE_INT64(ta_id)), what, err);
	return rc;
}

int
store_unassign(struct store *st, int64_t device_id, int64_t ta_id, struct tam_err *err)
{
	int rc;

	if ((rc = store_run(st, SQL_UNASSIGN,
	    STORE_PARAMS(STORE_INT64(device_id), STORE_INT64(ta_id)), "assignment",
	    err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "TA %lld is not assigned to device %lld",
		    (long long)ta_id, (long long)device_id);
	return rc;
}

static int
assignment_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct tam_assignment *a = elem;
	int rc;

	memset(a, 0, sizeof(*a));
	a->ta_id = sqlite3_column_int64(s, 0);
	a->ta_version_id = sqlite3_column_int64(s, 1);
	a->sp_id = sqlite3_column_int64(s, 4);
	a->version_key = sqlite3_column_int64(s, 7);
	a->allow_downgrade = sqlite3_column_int64(s, 8) != 0;
	a->implied = sqlite3_column_int64(s, 9) != 0;
	if ((rc = store_col_text(st, s, 2, a->taid, sizeof(a->taid), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 3, a->version, sizeof(a->version), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 5, a->spid, sizeof(a->spid), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 6, a->sdname, sizeof(a->sdname), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 10, a->implied_by, sizeof(a->implied_by), err)) == TAM_OK)
		rc = store_col_text(st, s, 11, a->implied_actor, sizeof(a->implied_actor), err);
	return rc;
}

int
store_assignments_get(struct store *st, int64_t device_id, struct tam_assignment **out,
    size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_ASSIGNMENTS, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_INT64(TAM_MAX_REQUIRE_DEPTH)), "assignments", sizeof(**out), assignment_read, NULL, out, n, err);
}

static int
assignment_row_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_assignment_row *a = elem;
	int rc;

	memset(a, 0, sizeof(*a));
	a->created = sqlite3_column_int64(s, 4);
	a->allow_downgrade = sqlite3_column_int64(s, 6) != 0;
	if ((rc = store_col_text(st, s, 0, a->taid, sizeof(a->taid), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 1, a->spid, sizeof(a->spid), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 2, a->pinned, sizeof(a->pinned), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 3, a->resolved, sizeof(a->resolved), err)) == TAM_OK)
		rc = store_col_text(st, s, 5, a->created_by, sizeof(a->created_by), err);
	return rc;
}

int
store_assignment_page(struct store *st, int64_t device_id, int64_t sp_id,
    const struct store_page *pg, struct store_assignment_row **out, size_t *n,
    struct tam_err *err)
{
	return store_list(st, SQL_ASSIGNMENT_PAGE, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_TEXT(store_after_text(pg)), STORE_ID(sp_id), STORE_INT64(store_limit(pg))),
	    "assignments", sizeof(**out), assignment_row_read, NULL, out, n, err);
}

int
store_device_ids_for_sp(struct store *st, int64_t sp_id, int64_t **ids, size_t *n,
    struct tam_err *err)
{
	return store_list(st, SQL_DEVICE_IDS_FOR_SP, STORE_PARAMS(STORE_INT64(sp_id)), "devices",
	    sizeof(**ids), store_read_int64, NULL, ids, n, err);
}
