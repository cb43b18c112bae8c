/* SPDX-License-Identifier: MIT */
/*
 * Private to src/store: the connection struct, the statement cache and the
 * helpers every aggregate file uses to bind, step, read columns, run whole
 * queries and map SQLite result codes to TAM_E* codes. Nothing outside src/store includes it,
 * so a second backend only has to match include/tam/store.h.
 */
#ifndef TAM_STORE_INT_H
#define TAM_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "tam/store.h"

/* Generated from schema/NNN_*.sql by tools/embed-schema.sh (build/gen/schema.c). */
extern const char *const tam_schema_migrations[];
extern const size_t tam_schema_migration_count;

/* A prepared statement kept for the life of the connection. */
struct store_stmt_slot {
	const char *sql;              /* key: address of a static SQL string */
	sqlite3_stmt *stmt;           /* owned; reset after every use */
};

struct store {
	sqlite3 *db;                  /* the one connection, opened NOMUTEX */
	bool readonly;                /* opened with STORE_READONLY */
	bool in_tx;                   /* store_begin or a store function holds a transaction */
	int schema_version;           /* PRAGMA user_version after migrations */
	struct store_stmt_slot *stmts;  /* statement cache, owned */
	size_t n_stmts;               /* slots used */
	size_t cap_stmts;             /* slots allocated */
};

/*
 * The transaction a multi-statement function runs in: its own when the
 * caller holds none, else a savepoint inside the caller's, so a failure
 * undoes exactly this function's writes either way.
 */
struct store_tx {
	bool owned;                   /* we ran BEGIN and end it with COMMIT or ROLLBACK */
	bool savepoint;               /* we joined the caller's transaction via SAVEPOINT */
};

/* write: BEGIN IMMEDIATE (or a savepoint); otherwise a deferred read snapshot. */
int store_tx_open(struct store *st, bool write, struct store_tx *tx,
    struct tam_err *err) TAM_WUR;
/* Commit when rc is TAM_OK, else undo; returns rc, or the commit failure. */
int store_tx_close(struct store *st, struct store_tx *tx, int rc, struct tam_err *err);

/* The cached statement for sql, which must be a static string. */
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **out,
    struct tam_err *err) TAM_WUR;
/* Reset and unbind so the statement holds no lock and no caller memory. */
void store_release(sqlite3_stmt *s);
/* Run a statement that takes no parameters and returns no rows. */
int store_exec(struct store *st, const char *sql, struct tam_err *err) TAM_WUR;

/* Map a failed SQLite call to TAM_ECONFLICT, TAM_EINVAL, TAM_ENOMEM or TAM_EDB. */
int store_sqlerr(struct store *st, int sqlrc, const char *what, struct tam_err *err);
/* Step once: *row tells whether a row came back. */
int store_step(struct store *st, sqlite3_stmt *s, bool *row, const char *what,
    struct tam_err *err) TAM_WUR;
/* Step a statement that returns no rows. */
int store_step_done(struct store *st, sqlite3_stmt *s, const char *what,
    struct tam_err *err) TAM_WUR;
/* Step expecting a row; none is TAM_ENOTFOUND naming what. */
int store_step_row(struct store *st, sqlite3_stmt *s, const char *what,
    struct tam_err *err) TAM_WUR;
/* Rows the last INSERT, UPDATE or DELETE changed. */
int64_t store_changes(struct store *st);

/* Text and blob bindings are SQLITE_STATIC: store_release drops them. */
int store_bind_text(struct store *st, sqlite3_stmt *s, int i, const char *v,
    struct tam_err *err) TAM_WUR;
/* NULL binds SQL NULL. */
int store_bind_blob(struct store *st, sqlite3_stmt *s, int i, const void *p, size_t n,
    struct tam_err *err) TAM_WUR;
int store_bind_int64(struct store *st, sqlite3_stmt *s, int i, int64_t v,
    struct tam_err *err) TAM_WUR;
/* A row id where 0 means "none": 0 binds SQL NULL. */
int store_bind_id(struct store *st, sqlite3_stmt *s, int i, int64_t v,
    struct tam_err *err) TAM_WUR;

/* Copy a text column into dst; NULL reads as "", a value that does not fit is TAM_EDB. */
int store_col_text(struct store *st, sqlite3_stmt *s, int col, char *dst, size_t size,
    struct tam_err *err) TAM_WUR;
/* malloc'd copy of a blob column; NULL reads as *out = NULL, *len = 0. */
int store_col_blob(struct store *st, sqlite3_stmt *s, int col, uint8_t **out, size_t *len,
    struct tam_err *err) TAM_WUR;
/* A blob column of exactly n bytes into dst; anything else is TAM_EDB. */
int store_col_fixed(struct store *st, sqlite3_stmt *s, int col, uint8_t *dst, size_t n,
    struct tam_err *err) TAM_WUR;

/* Input checks: non-empty and shorter than size / fits in size / non-empty bytes. */
int store_check_name(const char *v, size_t size, const char *what,
    struct tam_err *err) TAM_WUR;
int store_check_text(const char *v, size_t size, const char *what,
    struct tam_err *err) TAM_WUR;
int store_check_blob(const void *p, size_t n, const char *what,
    struct tam_err *err) TAM_WUR;

/* Bytes of a fixed-size member, for checking inputs against the arrays they land in. */
#define STORE_FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* A page's limit as a SQL LIMIT value (0 means none). */
int64_t store_limit(const struct store_page *pg);
/* A page's text key: "" when it starts at the top. */
const char *store_after_text(const struct store_page *pg);

/*
 * Record what version version_id of TA ta_id requires (n entries of in), in
 * the caller's transaction: a TA that does not exist, the version's own TA,
 * a TA twice or a malformed minimum version is TAM_EINVAL.
 */
int store_requires_add(struct store *st, int64_t version_id, int64_t ta_id,
    const struct store_ta_require *in, size_t n, struct tam_err *err) TAM_WUR;

/* Make room for need elements of size bytes in *arr (capacity *cap). */
int store_grow(void *arrp, size_t *cap, size_t need, size_t size,
    struct tam_err *err) TAM_WUR;

/*
 * Queries: a statement, the values for its parameters and what to do with
 * its rows, in one call that prepares, binds, steps, reads and releases.
 * Only code that steps one statement more than once per call binds by hand:
 * a batch insert, and a lookup that must see there is no second row.
 */

/* One parameter value; make them with STORE_INT64, STORE_ID, STORE_TEXT, STORE_BLOB. */
struct store_param {
	enum store_param_type {
		STORE_PARAM_INT64,
		STORE_PARAM_ID,       /* as store_bind_id: 0 binds SQL NULL */
		STORE_PARAM_TEXT,
		STORE_PARAM_BLOB,
	} type;
	int64_t i;                    /* INT64, ID */
	const void *p;                /* TEXT: a string; BLOB: n bytes; NULL binds SQL NULL */
	size_t n;
};

/* The values for ?1, ?2, ... in order; make them with STORE_PARAMS or STORE_NO_PARAMS. */
struct store_params {
	const struct store_param *v;
	size_t n;
};

#define STORE_INT64(x) ((struct store_param){ .type = STORE_PARAM_INT64, .i = (x) })
#define STORE_ID(x) ((struct store_param){ .type = STORE_PARAM_ID, .i = (x) })
#define STORE_TEXT(x) ((struct store_param){ .type = STORE_PARAM_TEXT, .p = (x) })
#define STORE_BLOB(x, len) \
	((struct store_param){ .type = STORE_PARAM_BLOB, .p = (x), .n = (len) })
/* The array lives as long as the enclosing block; sizeof does not evaluate the values twice. */
#define STORE_PARAMS(...) ((struct store_params){ \
	(const struct store_param[]){ __VA_ARGS__ }, \
	sizeof((const struct store_param[]){ __VA_ARGS__ }) / sizeof(struct store_param) })
#define STORE_NO_PARAMS ((struct store_params){ NULL, 0 })

/*
 * Read the current row of s into elem. On failure elem must own nothing, so
 * a caller never has to free an element that was only partly read.
 */
typedef int (*store_read_fn)(struct store *st, sqlite3_stmt *s, void *elem,
    struct tam_err *err);
/* Free what a store_read_fn allocated in elem. */
typedef void (*store_clear_fn)(void *elem);
/* A malloc'd blob read by a store_read_fn. */
struct store_blob_out {
	uint8_t *data;
	size_t len;
};

/* The store_read_fn for a single integer: column 0 into the int64_t at elem. */
int store_read_int64(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err);

/* Run a statement that returns no rows; what names it in errors. */
int store_run(struct store *st, const char *sql, struct store_params params, const char *what,
    struct tam_err *err) TAM_WUR;
/* store_run for an INSERT; the new row's id goes to *id unless id is NULL. */
int store_insert(struct store *st, const char *sql, struct store_params params,
    const char *what, int64_t *id, struct tam_err *err) TAM_WUR;
/*
 * The one row sql returns, read into out; none is TAM_ENOTFOUND naming what.
 * A NULL read_row only checks that the row exists. out is not cleared first:
 * callers do that before their input checks, so every failure leaves it empty.
 */
int store_get(struct store *st, const char *sql, struct store_params params, const char *what,
    store_read_fn read_row, void *out, struct tam_err *err) TAM_WUR;
/*
 * Every row sql returns, read into a malloc'd array of size-byte elements
 * stored at *arrp, *n of them. On failure the rows read so far are cleared
 * (clear_row is NULL when an element owns no memory) and freed: *arrp is
 * NULL, *n 0.
 */
int store_list(struct store *st, const char *sql, struct store_params params, const char *what,
    size_t size, store_read_fn read_row, store_clear_fn clear_row, void *arrp, size_t *n,
    struct tam_err *err) TAM_WUR;

#endif
