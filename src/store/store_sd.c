// SPDX-License-Identifier: MIT
/*
 * What the TAM wants of each SP's SD on a device beyond its assignments:
 * the SD's current name and SP certificate (from the sps row) and the
 * requests operators made (a new TEE SP AIK, deleting the SD with its TAs).
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* SPs whose SD the device holds or that an operator asked something of there. */
static const char SQL_SD_WANTS[] =
    "SELECT s.id, s.spid, s.sdname, s.cert,"
    " EXISTS (SELECT 1 FROM sd_requests r WHERE r.device_id = ?1 AND r.sp_id = s.id"
    "  AND r.action = 'renew_aik'),"
    " EXISTS (SELECT 1 FROM sd_requests r WHERE r.device_id = ?1 AND r.sp_id = s.id"
    "  AND r.action = 'purge')"
    " FROM sps s"
    " WHERE EXISTS (SELECT 1 FROM device_sds o WHERE o.device_id = ?1 AND o.spid = s.spid)"
    "  OR EXISTS (SELECT 1 FROM sd_requests r WHERE r.device_id = ?1 AND r.sp_id = s.id)"
    " ORDER BY s.spid";
static const char SQL_SD_REQUEST_SET[] =
    "INSERT INTO sd_requests (device_id, sp_id, action, created, created_by)"
    " VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (device_id, sp_id, action) DO UPDATE SET created = excluded.created,"
    " created_by = excluded.created_by";
static const char SQL_SD_REQUESTS_CLEAR[] =
    "DELETE FROM sd_requests WHERE device_id = ?1"
    " AND sp_id = (SELECT id FROM sps WHERE spid = ?2) AND (?3 IS NULL OR action = ?3)";
static const char SQL_UNASSIGN_SP[] =
    "DELETE FROM assignments WHERE device_id = ?1"
    " AND ta_id IN (SELECT id FROM tas WHERE sp_id = ?2)";

static const char SQL_STAKE_ADD[] =
    "INSERT INTO sd_stakes (device_id, sp_id, created) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (device_id, sp_id) DO NOTHING";
static const char SQL_STAKE_DROP[] =
    "DELETE FROM sd_stakes WHERE device_id = ?1 AND sp_id = (SELECT id FROM sps WHERE spid = ?2)";
static const char SQL_STAKE_HAS[] =
    "SELECT 1 FROM sd_stakes k JOIN sps s ON s.id = k.sp_id"
    " WHERE k.device_id = ?1 AND s.spid = ?2";

static const char *const actions[] = {
	[STORE_SD_RENEW_AIK] = "renew_aik",
	[STORE_SD_PURGE] = "purge",
};

static int
sd_want_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct tam_sd_want *w = elem;
	const void *cert;
	int rc, n;

	memset(w, 0, sizeof(*w));
	w->sp_id = sqlite3_column_int64(s, 0);
	w->renew_aik = sqlite3_column_int64(s, 4) != 0;
	w->purge = sqlite3_column_int64(s, 5) != 0;
	if ((rc = store_col_text(st, s, 1, w->spid, sizeof(w->spid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 2, w->sdname, sizeof(w->sdname), err)) != TAM_OK)
		return rc;
	n = sqlite3_column_bytes(s, 3);
	if ((cert = sqlite3_column_blob(s, 3)) == NULL)
		return tam_err_set(err, n > 0 ? TAM_ENOMEM : TAM_EDB,
		    "SP \"%s\": no certificate", w->spid);
	tam_sha256(cert, (size_t)n, w->spcert_fp);
	return TAM_OK;
}

int
store_sd_wants_get(struct store *st, int64_t device_id, struct tam_sd_want **out, size_t *n,
    struct tam_err *err)
{
	return store_list(st, SQL_SD_WANTS, STORE_PARAMS(STORE_INT64(device_id)), "SD wants",
	    sizeof(**out), sd_want_read, NULL, out, n, err);
}

int
store_sd_request_set(struct store *st, int64_t device_id, int64_t sp_id,
    enum store_sd_action action, const char *actor, struct tam_err *err)
{
	int rc;

	if (action != STORE_SD_RENEW_AIK && action != STORE_SD_PURGE)
		return tam_err_set(err, TAM_EINVAL, "SD request: unknown action %d", (int)action);
	if ((rc = store_check_name(actor, STORE_FIELD_SIZE(struct store_audit_row, actor),
	    "requesting actor", err)) != TAM_OK)
		return rc;
	return store_run(st, SQL_SD_REQUEST_SET, STORE_PARAMS(
	    STORE_INT64(device_id),
	    STORE_INT64(sp_id),
	    STORE_TEXT(actions[action]),
	    STORE_INT64(tam_now()),
	    STORE_TEXT(actor)), "SD request", err);
}

int
store_sd_requests_clear(struct store *st, int64_t device_id, const char *spid, int action,
    struct tam_err *err)
{
	if (action != -1 && action != STORE_SD_RENEW_AIK && action != STORE_SD_PURGE)
		return tam_err_set(err, TAM_EINVAL, "SD request: unknown action %d", action);
	return store_run(st, SQL_SD_REQUESTS_CLEAR, STORE_PARAMS(
	    STORE_INT64(device_id),
	    STORE_TEXT(spid),
	    STORE_TEXT(action == -1 ? NULL : actions[action])), "SD requests", err);
}

int
store_unassign_sp(struct store *st, int64_t device_id, int64_t sp_id, struct tam_err *err)
{
	return store_run(st, SQL_UNASSIGN_SP, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_INT64(sp_id)), "assignments of the SP", err);
}

int
store_sd_stake_add(struct store *st, int64_t device_id, int64_t sp_id, int64_t now,
    struct tam_err *err)
{
	return store_run(st, SQL_STAKE_ADD, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_INT64(sp_id), STORE_INT64(now)), "SD stake", err);
}

int
store_sd_stake_drop(struct store *st, int64_t device_id, const char *spid, struct tam_err *err)
{
	return store_run(st, SQL_STAKE_DROP, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_TEXT(spid)), "SD stake", err);
}

int
store_sd_stake_has(struct store *st, int64_t device_id, const char *spid, bool *out,
    struct tam_err *err)
{
	int rc;

	*out = false;
	rc = store_get(st, SQL_STAKE_HAS, STORE_PARAMS(STORE_INT64(device_id), STORE_TEXT(spid)),
	    "SD stake", NULL, NULL, err);
	if (rc == TAM_OK)
		*out = true;
	return rc == TAM_ENOTFOUND ? TAM_OK : rc;
}
