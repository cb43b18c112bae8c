// SPDX-License-Identifier: MIT
/*
 * TEE trust anchors: the CA certificates a device chain must reach. Adding
 * or removing one bumps a generation counter (a schema trigger, so it moves
 * in the same statement) that daemons poll to reload their trust stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SQL_ANCHOR_ADD[] =
    "INSERT INTO trust_anchors (name, cert, fingerprint, subject, not_after, created)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_ANCHOR_LIST[] =
    "SELECT id, name, cert, fingerprint, subject, not_after, created FROM trust_anchors"
    " ORDER BY name";
static const char SQL_ANCHOR_REMOVE[] = "DELETE FROM trust_anchors WHERE name = ?1";
static const char SQL_ANCHOR_GENERATION[] =
    "SELECT value FROM meta WHERE key = 'trust_anchor_generation'";

int
store_anchor_add(struct store *st, const struct store_anchor *a, int64_t *id,
    struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	uint8_t fp[32];
	char what[96];
	int rc;

	if ((rc = store_check_name(a->name, sizeof(a->name), "trust anchor name",
	    err)) != TAM_OK ||
	    (rc = store_check_blob(a->cert, a->cert_len, "trust anchor certificate",
	    err)) != TAM_OK ||
	    (rc = store_check_text(a->subject, sizeof(a->subject), "trust anchor subject",
	    err)) != TAM_OK)
		return rc;
	/* Derived, not trusted, so the UNIQUE fingerprint always means the same cert. */
	tam_sha256(a->cert, a->cert_len, fp);
	snprintf(what, sizeof(what), "trust anchor \"%s\"", a->name);
	if ((rc = store_prepare(st, SQL_ANCHOR_ADD, &s, err)) != TAM_OK)
		goto out;
	if ((rc = store_bind_text(st, s, 1, a->name, err)) != TAM_OK ||
	    (rc = store_bind_blob(st, s, 2, a->cert, a->cert_len, err)) != TAM_OK ||
	    (rc = store_bind_blob(st, s, 3, fp, sizeof(fp), err)) != TAM_OK ||
	    (rc = store_bind_text(st, s, 4, a->subject, err)) != TAM_OK ||
	    (rc = store_bind_int64(st, s, 5, a->not_after, err)) != TAM_OK ||
	    (rc = store_bind_int64(st, s, 6, a->created != 0 ? a->created : tam_now(),
	    err)) != TAM_OK)
		goto out;
	if ((rc = store_step_done(st, s, what, err)) != TAM_OK)
		goto out;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
out:
	store_release(s);
	return rc;
}

int
store_anchor_list(struct store *st, struct store_anchor **out, size_t *n, struct tam_err *err)
{
	struct store_anchor *v = NULL, *a;
	sqlite3_stmt *s = NULL;
	size_t cnt = 0, cap = 0;
	bool row;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = store_prepare(st, SQL_ANCHOR_LIST, &s, err)) != TAM_OK)
		goto out;
	for (;;) {
		if ((rc = store_step(st, s, &row, "trust anchors", err)) != TAM_OK)
			goto out;
		if (!row)
			break;
		if ((rc = store_grow(&v, &cap, cnt + 1, sizeof(*v), err)) != TAM_OK)
			goto out;
		a = &v[cnt++];
		memset(a, 0, sizeof(*a));
		a->id = sqlite3_column_int64(s, 0);
		a->not_after = sqlite3_column_int64(s, 5);
		a->created = sqlite3_column_int64(s, 6);
		if ((rc = store_col_text(st, s, 1, a->name, sizeof(a->name), err)) != TAM_OK ||
		    (rc = store_col_blob(st, s, 2, &a->cert, &a->cert_len, err)) != TAM_OK ||
		    (rc = store_col_fixed(st, s, 3, a->fingerprint, sizeof(a->fingerprint),
		    err)) != TAM_OK ||
		    (rc = store_col_text(st, s, 4, a->subject, sizeof(a->subject), err)) != TAM_OK)
			goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
out:
	store_release(s);
	store_anchors_free(v, cnt);
	return rc;
}

int
store_anchor_remove(struct store *st, const char *name, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_check_name(name, TAM_NAME_MAX, "trust anchor name", err)) != TAM_OK)
		return rc;
	if ((rc = store_prepare(st, SQL_ANCHOR_REMOVE, &s, err)) != TAM_OK ||
	    (rc = store_bind_text(st, s, 1, name, err)) != TAM_OK ||
	    (rc = store_step_done(st, s, "trust anchor", err)) != TAM_OK)
		goto out;
	if (store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "trust anchor \"%s\": not found", name);
out:
	store_release(s);
	return rc;
}

int
store_anchor_generation(struct store *st, int64_t *gen, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*gen = 0;
	if ((rc = store_prepare(st, SQL_ANCHOR_GENERATION, &s, err)) != TAM_OK ||
	    (rc = store_step_row(st, s, "trust anchor generation", err)) != TAM_OK)
		goto out;
	*gen = sqlite3_column_int64(s, 0);
out:
	store_release(s);
	return rc;
}

void
store_anchors_free(struct store_anchor *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(a[i].cert);
	free(a);
}
