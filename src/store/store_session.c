// SPDX-License-Identifier: MIT
/*
 * OTrP sessions and the requests the TAM sent in them. Correlation state
 * lives here rather than in process memory so any daemon sharing the
 * database can take the next POST. A rid is single-use: one conditional
 * UPDATE decides which answer wins, even when several arrive at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SQL_SESSION_NEW[] =
    "INSERT INTO sessions (tid, created, profile, peer) VALUES (?1, ?2, ?3, ?4)";
/* The one request a profile session's peer may answer now (its answers carry no usable rid). */
static const char SQL_REQUEST_OF_PEER[] =
    "SELECT r.rid FROM requests r JOIN sessions s ON s.id = r.session_id"
    " WHERE s.profile = ?1 AND s.peer = ?2 AND s.ended IS NULL AND r.answered IS NULL"
    " AND r.cancelled = 0 AND r.expires > ?3 ORDER BY r.created DESC, r.rowid DESC LIMIT 1";
/*
 * A new session of a peer supersedes what its earlier ones still wait for.
 * Those no device ever answered go altogether (their requests cascade), so
 * a peer that keeps opening sessions holds one row of each, not one per open.
 */
static const char SQL_SESSIONS_DROP_PEER[] =
    "DELETE FROM sessions WHERE profile = ?1 AND peer = ?2 AND peer <> '' AND device_id IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.session_id = sessions.id"
    "                 AND r.answered IS NOT NULL)";
static const char SQL_REQUESTS_CANCEL_PEER[] =
    "UPDATE requests SET cancelled = 1 WHERE answered IS NULL AND cancelled = 0"
    " AND session_id IN (SELECT id FROM sessions WHERE profile = ?1 AND peer = ?2)";
/* Binding the same device again is harmless; moving a session to another is not. */
static const char SQL_SESSION_BIND[] =
    "UPDATE sessions SET device_id = ?2 WHERE id = ?1 AND (device_id IS NULL OR device_id = ?2)";
static const char SQL_SESSION_END[] =
    "UPDATE sessions SET ended = ?2, result = ?3 WHERE id = ?1 AND ended IS NULL";
static const char SQL_SESSION_GET[] =
    "SELECT id, tid, device_id, created, ended, result FROM sessions WHERE id = ?1";

static const char SQL_REQUEST_ADD[] =
    "INSERT INTO requests (rid, session_id, device_id, response, op, sp_id, spid, sdname,"
    " taid, ta_version_id, created, expires, new_sdname, spcert_fp, flags)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
static const char SQL_REQUEST_GET[] =
    "SELECT r.rid, r.session_id, s.tid, r.device_id, r.response, r.op, r.sp_id, r.spid,"
    " r.sdname, r.taid, r.ta_version_id, r.created, r.expires, r.answered, r.cancelled,"
    " r.new_sdname, r.spcert_fp, r.flags"
    " FROM requests r JOIN sessions s ON s.id = r.session_id WHERE r.rid = ?1";
static const char SQL_REQUEST_CONSUME[] =
    "UPDATE requests SET answered = ?2"
    " WHERE rid = ?1 AND answered IS NULL AND cancelled = 0 AND expires > ?2";
static const char SQL_REQUEST_STATUS[] =
    "SELECT answered IS NOT NULL FROM requests WHERE rid = ?1";
static const char SQL_REQUESTS_CANCEL[] =
    "UPDATE requests SET cancelled = 1"
    " WHERE device_id = ?1 AND answered IS NULL AND cancelled = 0 AND session_id IS NOT ?2";
static const char SQL_ANSWER_SEEN[] =
    "INSERT INTO answers_seen (device_id, digest, at) VALUES (?1, ?2, ?3)";
static const char SQL_PURGE_REQUESTS[] = "DELETE FROM requests WHERE expires < ?1";
/* Sessions left open by a device that went away go too once none of their requests remain. */
static const char SQL_PURGE_SESSIONS[] =
    "DELETE FROM sessions WHERE (ended IS NOT NULL AND ended < ?1)"
    " OR (ended IS NULL AND created < ?1"
    "     AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.session_id = sessions.id))";

int
store_session_new(struct store *st, const char *tid, int64_t now, const char *profile,
    const char *peer, int64_t *session_id, struct tam_err *err)
{
	int rc;

	if ((rc = store_check_name(tid, TAM_RID_MAX, "tid", err)) != TAM_OK ||
	    (rc = store_check_name(profile, 16, "session profile", err)) != TAM_OK ||
	    (rc = store_check_text(peer, 64, "session peer", err)) != TAM_OK)
		return rc;
	return store_insert(st, SQL_SESSION_NEW, STORE_PARAMS(STORE_TEXT(tid), STORE_INT64(now),
	    STORE_TEXT(profile), STORE_TEXT(peer)), "session tid", session_id, err);
}

static int
peer_rid_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	return store_col_text(st, s, 0, elem, TAM_RID_MAX, err);
}

int
store_request_of_peer(struct store *st, const char *profile, const char *peer, int64_t now,
    struct store_request *out, struct tam_err *err)
{
	char rid[TAM_RID_MAX] = "";
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(peer, 64, "peer", err)) != TAM_OK)
		return rc;
	rc = store_get(st, SQL_REQUEST_OF_PEER, STORE_PARAMS(STORE_TEXT(profile), STORE_TEXT(peer),
	    STORE_INT64(now)), "outstanding request of the peer", peer_rid_read, rid, err);
	if (rc != TAM_OK)
		return rc;
	return store_request_get(st, rid, out, err);
}

int
store_requests_cancel_peer(struct store *st, const char *profile, const char *peer,
    struct tam_err *err)
{
	const struct store_params who = STORE_PARAMS(STORE_TEXT(profile), STORE_TEXT(peer));
	int rc;

	if ((rc = store_run(st, SQL_SESSIONS_DROP_PEER, who, "sessions of the peer", err)) != TAM_OK)
		return rc;
	return store_run(st, SQL_REQUESTS_CANCEL_PEER, who, "requests of the peer", err);
}

/* A conditional UPDATE changed nothing: TAM_ENOTFOUND, or a conflict if the session exists. */
static int
session_conflict(struct store *st, int64_t session_id, const char *why, struct tam_err *err)
{
	struct store_session sess;
	int rc;

	if ((rc = store_session_get(st, session_id, &sess, err)) != TAM_OK)
		return rc;
	return tam_err_set(err, TAM_ECONFLICT, "session %lld: %s", (long long)session_id, why);
}

int
store_session_bind_device(struct store *st, int64_t session_id, int64_t device_id,
    struct tam_err *err)
{
	int rc;

	if (device_id <= 0)
		return tam_err_set(err, TAM_EINVAL, "session %lld: no device to bind",
		    (long long)session_id);
	if ((rc = store_run(st, SQL_SESSION_BIND,
	    STORE_PARAMS(STORE_INT64(session_id), STORE_INT64(device_id)), "session device",
	    err)) == TAM_OK && store_changes(st) == 0)
		rc = session_conflict(st, session_id, "bound to another device", err);
	return rc;
}

int
store_session_end(struct store *st, int64_t session_id, const char *result, int64_t now,
    struct tam_err *err)
{
	int rc;

	if ((rc = store_check_text(result, STORE_FIELD_SIZE(struct store_session, result),
	    "session result", err)) != TAM_OK)
		return rc;
	if ((rc = store_run(st, SQL_SESSION_END,
	    STORE_PARAMS(STORE_INT64(session_id), STORE_INT64(now), STORE_TEXT(result)),
	    "session end", err)) == TAM_OK && store_changes(st) == 0)
		rc = session_conflict(st, session_id, "already ended", err);
	return rc;
}

/* A session owns no memory, so a failed read only has to leave it zeroed. */
static int
session_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_session *sess = elem;
	int rc;

	memset(sess, 0, sizeof(*sess));
	sess->id = sqlite3_column_int64(s, 0);
	sess->device_id = sqlite3_column_int64(s, 2);
	sess->created = sqlite3_column_int64(s, 3);
	sess->ended = sqlite3_column_int64(s, 4);
	if ((rc = store_col_text(st, s, 1, sess->tid, sizeof(sess->tid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 5, sess->result, sizeof(sess->result), err)) != TAM_OK)
		memset(sess, 0, sizeof(*sess));
	return rc;
}

int
store_session_get(struct store *st, int64_t id, struct store_session *out,
    struct tam_err *err)
{
	char what[48];

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "session %lld", (long long)id);
	return store_get(st, SQL_SESSION_GET, STORE_PARAMS(STORE_INT64(id)), what, session_read,
	    out, err);
}

/* ---- requests ---- */

int
store_request_add(struct store *st, const struct store_request *r, struct tam_err *err)
{
	const char *op = tam_op_kind_name(r->op);
	int64_t created = r->created != 0 ? r->created : tam_now();
	char what[96];
	int rc;

	if ((rc = store_check_name(r->rid, sizeof(r->rid), "rid", err)) != TAM_OK ||
	    (rc = store_check_name(r->response, sizeof(r->response), "expected response",
	    err)) != TAM_OK ||
	    (rc = store_check_text(r->spid, sizeof(r->spid), "request spid", err)) != TAM_OK ||
	    (rc = store_check_text(r->sdname, sizeof(r->sdname), "request SD name",
	    err)) != TAM_OK ||
	    (rc = store_check_text(r->taid, sizeof(r->taid), "request taid", err)) != TAM_OK ||
	    (rc = store_check_text(r->new_sdname, sizeof(r->new_sdname), "request new SD name",
	    err)) != TAM_OK)
		return rc;
	if (strcmp(op, "unknown") == 0)
		return tam_err_set(err, TAM_EINVAL, "request %s: operation %d is not known", r->rid,
		    (int)r->op);
	if (r->session_id <= 0)
		return tam_err_set(err, TAM_EINVAL, "request %s: no session", r->rid);
	if (r->expires <= created)
		return tam_err_set(err, TAM_EINVAL, "request %s: expires before it is created",
		    r->rid);
	snprintf(what, sizeof(what), "request rid %s", r->rid);
	return store_run(st, SQL_REQUEST_ADD, STORE_PARAMS(
	    STORE_TEXT(r->rid),
	    STORE_INT64(r->session_id),
	    STORE_ID(r->device_id),
	    STORE_TEXT(r->response),
	    STORE_TEXT(op),
	    STORE_ID(r->sp_id),
	    STORE_TEXT(r->spid),
	    STORE_TEXT(r->sdname),
	    STORE_TEXT(r->taid),
	    STORE_ID(r->ta_version_id),
	    STORE_INT64(created),
	    STORE_INT64(r->expires),
	    STORE_TEXT(r->new_sdname),
	    STORE_BLOB(r->has_spcert_fp ? r->spcert_fp : NULL, sizeof(r->spcert_fp)),
	    STORE_INT64(r->flags)), what, err);
}

static int
request_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_request *r = elem;
	char op[16];
	int rc;

	memset(r, 0, sizeof(*r));
	r->session_id = sqlite3_column_int64(s, 1);
	r->device_id = sqlite3_column_int64(s, 3);
	r->sp_id = sqlite3_column_int64(s, 6);
	r->ta_version_id = sqlite3_column_int64(s, 10);
	r->created = sqlite3_column_int64(s, 11);
	r->expires = sqlite3_column_int64(s, 12);
	r->answered = sqlite3_column_int64(s, 13);
	r->cancelled = sqlite3_column_int64(s, 14) != 0;
	r->flags = (unsigned)sqlite3_column_int64(s, 17);
	r->has_spcert_fp = sqlite3_column_type(s, 16) != SQLITE_NULL;
	if ((rc = store_col_text(st, s, 0, r->rid, sizeof(r->rid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 2, r->tid, sizeof(r->tid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 4, r->response, sizeof(r->response), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 5, op, sizeof(op), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 7, r->spid, sizeof(r->spid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 8, r->sdname, sizeof(r->sdname), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 9, r->taid, sizeof(r->taid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 15, r->new_sdname, sizeof(r->new_sdname), err)) != TAM_OK ||
	    (r->has_spcert_fp &&
	    (rc = store_col_fixed(st, s, 16, r->spcert_fp, sizeof(r->spcert_fp), err)) != TAM_OK))
		goto out;
	/* r->rid is the rid looked up (the WHERE matched it), as in the other messages. */
	if (tam_op_kind_parse(op, &r->op) != 0)
		rc = tam_err_set(err, TAM_EDB,
		    "request rid %s: stored operation \"%s\" is not known", r->rid, op);
out:
	if (rc != TAM_OK)
		memset(r, 0, sizeof(*r));
	return rc;
}

int
store_request_get(struct store *st, const char *rid, struct store_request *out,
    struct tam_err *err)
{
	char what[96];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(rid, sizeof(out->rid), "rid", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "request rid %s", rid);
	return store_get(st, SQL_REQUEST_GET, STORE_PARAMS(STORE_TEXT(rid)), what, request_read,
	    out, err);
}

int
store_request_consume(struct store *st, const char *rid, int64_t now, struct tam_err *err)
{
	int64_t answered = 0;
	int rc;

	/* A rid we could never have issued is unknown, not a local input error. */
	if (rid == NULL || rid[0] == '\0' || strnlen(rid, TAM_RID_MAX) >= TAM_RID_MAX)
		return tam_err_set(err, TAM_ERID_UNKNOWN, "rid is empty or too long");
	if ((rc = store_run(st, SQL_REQUEST_CONSUME,
	    STORE_PARAMS(STORE_TEXT(rid), STORE_INT64(now)), "request", err)) != TAM_OK ||
	    store_changes(st) == 1)
		return rc;
	/* Lost: the UPDATE already decided; this read only names the reason. */
	rc = store_get(st, SQL_REQUEST_STATUS, STORE_PARAMS(STORE_TEXT(rid)), "request",
	    store_read_int64, &answered, err);
	if (rc == TAM_ENOTFOUND)
		rc = tam_err_set(err, TAM_ERID_UNKNOWN, "rid %s was never issued", rid);
	else if (rc == TAM_OK && answered)
		rc = tam_err_set(err, TAM_ERID_REPLAYED, "rid %s was already answered", rid);
	else if (rc == TAM_OK)
		rc = tam_err_set(err, TAM_ERID_EXPIRED, "rid %s expired or was superseded", rid);
	return rc;
}

/*
 * The session a stateless rid opened and that rid's request, both written
 * only now that their answer arrived, the request already answered. In the
 * caller's transaction; the tid or rid written before means a second answer.
 */
int
store_session_answered(struct store *st, const struct store_request *r, int64_t now,
    int64_t *session_id, struct tam_err *err)
{
	struct store_request row = *r;
	int rc;

	rc = store_session_new(st, r->tid, now, "default", "", &row.session_id, err);
	if (rc == TAM_OK) {
		row.created = now;
		if ((rc = store_request_add(st, &row, err)) == TAM_OK)
			rc = store_request_consume(st, row.rid, now, err);
	}
	if (rc == TAM_ECONFLICT)
		rc = tam_err_set(err, TAM_ERID_REPLAYED, "rid %s was already answered", r->rid);
	if (rc == TAM_OK)
		*session_id = row.session_id;
	return rc;
}

int
store_requests_cancel_device(struct store *st, int64_t device_id, int64_t keep_session,
    struct tam_err *err)
{
	return store_run(st, SQL_REQUESTS_CANCEL, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_ID(keep_session)), "cancelling requests", err);
}

int
store_purge(struct store *st, int64_t before, struct tam_err *err)
{
	const struct store_params cutoff = STORE_PARAMS(STORE_INT64(before));
	struct store_tx tx;
	int rc;

	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		return rc;
	if ((rc = store_run(st, SQL_PURGE_REQUESTS, cutoff, "purge", err)) == TAM_OK)
		rc = store_run(st, SQL_PURGE_SESSIONS, cutoff, "purge", err);
	return store_tx_close(st, &tx, rc, err);
}

int
store_answer_remember(struct store *st, int64_t device_id, const uint8_t digest[32], int64_t now,
    struct tam_err *err)
{
	int rc = store_run(st, SQL_ANSWER_SEEN, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_BLOB(digest, 32), STORE_INT64(now)), "answer", err);

	if (rc == TAM_ECONFLICT)
		rc = tam_err_set(err, TAM_ERID_REPLAYED, "this answer was accepted before");
	return rc;
}
