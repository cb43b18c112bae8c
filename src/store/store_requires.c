// SPDX-License-Identifier: MIT
/*
 * What a TA version requires on the device: other TAs, each optionally at a
 * minimum version. Written only with the version itself (store_ta.c calls in
 * within the version's transaction), never changed, and read two ways: per
 * version for people, and for all the versions one policy decision involves.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Only a TA of the requiring TA's own SP can be required. */
static const char SQL_TA_ID[] =
    "SELECT id FROM tas WHERE taid = ?1 AND sp_id = (SELECT sp_id FROM tas WHERE id = ?2)";
static const char SQL_REQUIRE_ADD[] =
    "INSERT INTO ta_version_requires (ta_version_id, needs_ta_id, min_version, min_version_key)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char SQL_REQUIRES_OF[] =
    "SELECT t.taid, r.min_version, r.min_version_key FROM ta_version_requires r"
    " JOIN tas t ON t.id = r.needs_ta_id WHERE r.ta_version_id = ?1 ORDER BY t.taid";

/* Well-formed, each TA once; min_version_key filled in. */
static int
requires_check(struct store_ta_require *reqs, size_t n, struct tam_err *err)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		if ((rc = store_check_name(reqs[i].taid, sizeof(reqs[i].taid), "required taid",
		    err)) != TAM_OK ||
		    (rc = store_check_text(reqs[i].min_version, sizeof(reqs[i].min_version),
		    "required version", err)) != TAM_OK)
			return rc;
		reqs[i].min_version_key = 0;
		if (reqs[i].min_version[0] != '\0' &&
		    tam_version_key(reqs[i].min_version, &reqs[i].min_version_key) != 0)
			return tam_err_set(err, TAM_EINVAL,
			    "required version \"%s\" of TA %s is not MAJOR[.MINOR[.PATCH]]",
			    reqs[i].min_version, reqs[i].taid);
		for (size_t j = 0; j < i; j++)
			if (strcmp(reqs[j].taid, reqs[i].taid) == 0)
				return tam_err_set(err, TAM_EINVAL, "TA %s is required twice",
				    reqs[i].taid);
	}
	return TAM_OK;
}

int
store_requires_add(struct store *st, int64_t version_id, int64_t ta_id,
    const struct store_ta_require *in, size_t n, struct tam_err *err)
{
	struct store_ta_require reqs[TAM_MAX_TA_REQUIRES];
	int64_t needs;
	int rc;

	if (n == 0)
		return TAM_OK;
	if (n > TAM_MAX_TA_REQUIRES)
		return tam_err_set(err, TAM_EINVAL, "a TA version may require at most %d TAs, not %zu",
		    TAM_MAX_TA_REQUIRES, n);
	memcpy(reqs, in, n * sizeof(*in));
	if ((rc = requires_check(reqs, n, err)) != TAM_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = store_get(st, SQL_TA_ID, STORE_PARAMS(STORE_TEXT(reqs[i].taid),
		    STORE_INT64(ta_id)), "required TA", store_read_int64, &needs, err);
		if (rc == TAM_ENOTFOUND)
			return tam_err_set(err, TAM_EINVAL, "the SP has no TA %s to require",
			    reqs[i].taid);
		if (rc != TAM_OK)
			return rc;
		if (needs == ta_id)
			return tam_err_set(err, TAM_EINVAL, "a TA version cannot require its own TA (%s)",
			    reqs[i].taid);
		if ((rc = store_run(st, SQL_REQUIRE_ADD, STORE_PARAMS(STORE_INT64(version_id),
		    STORE_INT64(needs), STORE_TEXT(reqs[i].min_version[0] != '\0' ?
		    reqs[i].min_version : NULL), STORE_INT64(reqs[i].min_version_key)),
		    "TA requirement", err)) != TAM_OK)
			return rc;
	}
	return TAM_OK;
}

static int
require_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_ta_require *r = elem;
	int rc;

	memset(r, 0, sizeof(*r));
	r->min_version_key = sqlite3_column_int64(s, 2);
	if ((rc = store_col_text(st, s, 0, r->taid, sizeof(r->taid), err)) == TAM_OK)
		rc = store_col_text(st, s, 1, r->min_version, sizeof(r->min_version), err);
	return rc;
}

int
store_ta_version_requires(struct store *st, int64_t version_id, struct store_ta_require **out,
    size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_REQUIRES_OF, STORE_PARAMS(STORE_INT64(version_id)),
	    "TA requirements", sizeof(**out), require_read, NULL, out, n, err);
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Append the requirements of version vid to *out (*n of them, room for *cap). */
static int
policy_reqs_of(struct store *st, sqlite3_stmt *s, int64_t vid, struct tam_ta_req **out,
    size_t *n, size_t *cap, struct tam_err *err)
{
	bool row;
	int rc;

	if ((rc = store_bind_int64(st, s, 1, vid, err)) != TAM_OK)
		return rc;
	for (;;) {
		if ((rc = store_step(st, s, &row, "TA requirements", err)) != TAM_OK || !row)
			break;
		if ((rc = store_grow(out, cap, *n + 1, sizeof(**out), err)) != TAM_OK)
			break;
		struct tam_ta_req *r = &(*out)[*n];
		memset(r, 0, sizeof(*r));
		r->ta_version_id = vid;
		r->min_version_key = sqlite3_column_int64(s, 2);
		if ((rc = store_col_text(st, s, 0, r->taid, sizeof(r->taid), err)) != TAM_OK)
			break;
		(*n)++;
	}
	store_release(s);
	return rc;
}

/*
 * One query per distinct version, with one cached statement: the versions
 * are few (a device's assignments and TAs), and most have no requirement.
 */
int
store_ta_requires_get(struct store *st, const struct tam_assignment *want, size_t n_want,
    const struct tam_dev_state *observed, struct tam_ta_req **out, size_t *n,
    struct tam_err *err)
{
	size_t n_obs = observed != NULL ? observed->n_tas : 0, n_ids = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	int64_t *ids;
	int rc = TAM_OK;

	*out = NULL;
	*n = 0;
	if (n_want + n_obs == 0)
		return TAM_OK;
	if ((ids = calloc(n_want + n_obs, sizeof(*ids))) == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n_want; i++)
		ids[n_ids++] = want[i].ta_version_id;
	for (size_t i = 0; i < n_obs; i++)
		ids[n_ids++] = observed->tas[i].ta_version_id;
	qsort(ids, n_ids, sizeof(*ids), cmp_id);
	for (size_t i = 0; i < n_ids && rc == TAM_OK; i++) {
		/* 0 is a version we did not install: nothing known about it. */
		if (ids[i] == 0 || (i > 0 && ids[i] == ids[i - 1]))
			continue;
		if ((rc = store_prepare(st, SQL_REQUIRES_OF, &s, err)) == TAM_OK)
			rc = policy_reqs_of(st, s, ids[i], out, n, &cap, err);
	}
	free(ids);
	if (rc != TAM_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
