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
static const char SQL_ANCHOR_PAGE[] =
    "SELECT id, name, cert, fingerprint, subject, not_after, created FROM trust_anchors"
    " WHERE name > ?1 ORDER BY name LIMIT ?2";
static const char SQL_ANCHOR_GET[] =
    "SELECT id, name, cert, fingerprint, subject, not_after, created FROM trust_anchors"
    " WHERE name = ?1";
static const char SQL_ANCHOR_REMOVE[] = "DELETE FROM trust_anchors WHERE name = ?1";
static const char SQL_ANCHOR_GENERATION[] =
    "SELECT value FROM meta WHERE key = 'trust_anchor_generation'";

int
store_anchor_add(struct store *st, const struct store_anchor *a, int64_t *id,
    struct tam_err *err)
{
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
	return store_insert(st, SQL_ANCHOR_ADD, STORE_PARAMS(
	    STORE_TEXT(a->name),
	    STORE_BLOB(a->cert, a->cert_len),
	    STORE_BLOB(fp, sizeof(fp)),
	    STORE_TEXT(a->subject),
	    STORE_INT64(a->not_after),
	    STORE_INT64(a->created != 0 ? a->created : tam_now())), what, id, err);
}

/* The cert is all an anchor owns; there is no public store_anchor_clear. */
static void
anchor_clear(void *elem)
{
	struct store_anchor *a = elem;

	free(a->cert);
	memset(a, 0, sizeof(*a));
}

static int
anchor_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_anchor *a = elem;
	int rc;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->not_after = sqlite3_column_int64(s, 5);
	a->created = sqlite3_column_int64(s, 6);
	if ((rc = store_col_text(st, s, 1, a->name, sizeof(a->name), err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 2, &a->cert, &a->cert_len, err)) != TAM_OK ||
	    (rc = store_col_fixed(st, s, 3, a->fingerprint, sizeof(a->fingerprint),
	    err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 4, a->subject, sizeof(a->subject), err)) != TAM_OK)
		anchor_clear(a);
	return rc;
}

int
store_anchor_list(struct store *st, struct store_anchor **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_ANCHOR_LIST, STORE_NO_PARAMS, "trust anchors", sizeof(**out),
	    anchor_read, anchor_clear, out, n, err);
}

int
store_anchor_page(struct store *st, const struct store_page *pg, struct store_anchor **out,
    size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_ANCHOR_PAGE, STORE_PARAMS(STORE_TEXT(store_after_text(pg)),
	    STORE_INT64(store_limit(pg))), "trust anchors", sizeof(**out), anchor_read,
	    anchor_clear, out, n, err);
}

int
store_anchor_get(struct store *st, const char *name, struct store_anchor *out,
    struct tam_err *err)
{
	char what[96];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(name, sizeof(out->name), "trust anchor name", err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "trust anchor \"%s\"", name);
	return store_get(st, SQL_ANCHOR_GET, STORE_PARAMS(STORE_TEXT(name)), what, anchor_read,
	    out, err);
}

int
store_anchor_remove(struct store *st, const char *name, struct tam_err *err)
{
	int rc;

	if ((rc = store_check_name(name, TAM_NAME_MAX, "trust anchor name", err)) != TAM_OK)
		return rc;
	if ((rc = store_run(st, SQL_ANCHOR_REMOVE, STORE_PARAMS(STORE_TEXT(name)),
	    "trust anchor", err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "trust anchor \"%s\": not found", name);
	return rc;
}

int
store_anchor_generation(struct store *st, int64_t *gen, struct tam_err *err)
{
	*gen = 0;
	return store_get(st, SQL_ANCHOR_GENERATION, STORE_NO_PARAMS, "trust anchor generation",
	    store_read_int64, gen, err);
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
