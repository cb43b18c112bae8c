// SPDX-License-Identifier: MIT
/*
 * The SQLite connection: open with the settings every caller relies on (WAL,
 * synchronous=NORMAL, foreign keys, busy timeout), bring the schema forward
 * with the compiled-in migrations, transactions, and the statement, binding,
 * column and query helpers the aggregate files share. Data never reaches SQL text:
 * every value goes through a bound parameter.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tam/log.h"
#include "store_int.h"

/* Milliseconds a statement waits for another connection's lock. */
#define STORE_BUSY_TIMEOUT_MS 5000

static const char SQL_BEGIN_IMMEDIATE[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN_DEFERRED[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT store_fn";
static const char SQL_RELEASE[] = "RELEASE store_fn";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO store_fn";

int
store_schema_latest(void)
{
	return (int)tam_schema_migration_count;
}

int
store_schema_version(struct store *st)
{
	return st->schema_version;
}

/*
 * Create the file ourselves so it is born 0600: SQLite would create it with
 * 0644 & ~umask, and its -wal and -shm files copy the database file's mode.
 * Losing a creation race to another process is fine; its file is used.
 */
static int
create_file(const char *path, struct tam_err *err)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return TAM_OK;
		return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
	}
	if (close(fd) != 0)
		return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
	return TAM_OK;
}

/*
 * Open-time statements run once, so they bypass the cache; sqlite3_exec also
 * runs a whole migration script. what names it in errors (a script is too long).
 */
static int
exec_plain(struct store *st, const char *sql, const char *what, const char *path,
    struct tam_err *err)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return TAM_OK;
	rc = tam_err_set(err, rc == SQLITE_NOMEM ? TAM_ENOMEM : TAM_EDB, "%s: %s: %s", path,
	    what != NULL ? what : sql, msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

/* A PRAGMA that returns one row; its first column as text or integer. */
static int
pragma_row(struct store *st, const char *sql, const char *path, char *text, size_t size,
    int64_t *num, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *p;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		rc = tam_err_set(err, TAM_EDB, "%s: %s: %s", path, sql, sqlite3_errmsg(st->db));
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = tam_err_set(err, TAM_EDB, "%s: %s: %s", path, sql,
		    rc == SQLITE_DONE ? "no result (not supported by this SQLite)"
				      : sqlite3_errmsg(st->db));
		goto out;
	}
	if (num != NULL)
		*num = sqlite3_column_int64(s, 0);
	if (text != NULL) {
		p = sqlite3_column_text(s, 0);
		if (p == NULL || tam_strlcpy_checked(text, (const char *)p, size) != TAM_OK) {
			rc = tam_err_set(err, TAM_EDB, "%s: %s: unexpected result", path, sql);
			goto out;
		}
	}
	rc = TAM_OK;
out:
	/* The step result was handled above; finalize only repeats it. */
	sqlite3_finalize(s);
	return rc;
}

static int
read_user_version(struct store *st, const char *path, int *v, struct tam_err *err)
{
	int64_t n = 0;
	int rc;

	if ((rc = pragma_row(st, "PRAGMA user_version", path, NULL, 0, &n, err)) != TAM_OK)
		return rc;
	if (n < 0 || n > INT_MAX)
		return tam_err_set(err, TAM_EDB, "%s: invalid schema version %lld", path,
		    (long long)n);
	*v = (int)n;
	return TAM_OK;
}

static int
refuse_newer(const char *path, int v, struct tam_err *err)
{
	return tam_err_set(err, TAM_EDB,
	    "%s: schema version %d is newer than the %d this otrp-tamd knows; "
	    "the database was written by a newer otrp-tamd", path, v, store_schema_latest());
}

/*
 * Apply the migrations after the current user_version, one transaction each
 * with its PRAGMA user_version. The version is read again under the write
 * lock so two processes opening a new database together migrate it once.
 */
static int
migrate(struct store *st, const char *path, struct tam_err *err)
{
	const int latest = store_schema_latest();
	char pragma[64], what[32];
	int rc, v, n;

	if ((rc = read_user_version(st, path, &v, err)) != TAM_OK)
		return rc;
	if (v > latest)
		return refuse_newer(path, v, err);
	if (st->readonly) {
		if (v < latest)
			return tam_err_set(err, TAM_EDB,
			    "%s: schema version %d, this otrp-tamd needs %d; "
			    "open it read-write once to migrate it", path, v, latest);
		st->schema_version = v;
		return TAM_OK;
	}
	while (v < latest) {
		if ((rc = exec_plain(st, SQL_BEGIN_IMMEDIATE, NULL, path, err)) != TAM_OK)
			return rc;
		if ((rc = read_user_version(st, path, &v, err)) != TAM_OK)
			goto fail;
		if (v > latest) {
			rc = refuse_newer(path, v, err);
			goto fail;
		}
		if (v < latest) {
			n = snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
			snprintf(what, sizeof(what), "migration %d", v + 1);
			if (n < 0 || (size_t)n >= sizeof(pragma)) {
				rc = tam_err_set(err, TAM_EDB, "%s: migration %d", path, v + 1);
				goto fail;
			}
			if ((rc = exec_plain(st, tam_schema_migrations[v], what, path,
			    err)) != TAM_OK ||
			    (rc = exec_plain(st, pragma, NULL, path, err)) != TAM_OK)
				goto fail;
			log_info("event=store_migrate path=\"%s\" version=%d", path, v + 1);
		}
		if ((rc = exec_plain(st, SQL_COMMIT, NULL, path, err)) != TAM_OK)
			goto fail;
		if ((rc = read_user_version(st, path, &v, err)) != TAM_OK)
			return rc;
	}
	st->schema_version = v;
	return TAM_OK;
fail:
	if (!sqlite3_get_autocommit(st->db) &&
	    sqlite3_exec(st->db, SQL_ROLLBACK, NULL, NULL, NULL) != SQLITE_OK)
		log_warn("event=store_rollback path=\"%s\" error=\"%s\"", path,
		    sqlite3_errmsg(st->db));
	return rc;
}

/* sha256(blob) for migrations that derive fingerprints from stored certificates. */
static void
sql_sha256(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	uint8_t md[32];
	const void *p;
	int n;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	n = sqlite3_value_bytes(argv[0]);
	p = sqlite3_value_blob(argv[0]);
	if (p == NULL && n > 0) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	tam_sha256(p, (size_t)n, md);
	sqlite3_result_blob(ctx, md, sizeof(md), SQLITE_TRANSIENT);
}

static int
configure(struct store *st, const char *path, struct tam_err *err)
{
	char mode[16];
	int64_t fk = 0;
	int rc;

	if (sqlite3_extended_result_codes(st->db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_create_function(st->db, "sha256", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL, sql_sha256, NULL,
	    NULL) != SQLITE_OK)
		return tam_err_set(err, TAM_EDB, "%s: %s", path, sqlite3_errmsg(st->db));
	if ((rc = exec_plain(st, "PRAGMA foreign_keys = ON", NULL, path, err)) != TAM_OK ||
	    (rc = pragma_row(st, "PRAGMA foreign_keys", path, NULL, 0, &fk, err)) != TAM_OK)
		return rc;
	if (fk != 1)
		return tam_err_set(err, TAM_EDB, "%s: foreign keys could not be enabled", path);
	if (!st->readonly) {
		if ((rc = pragma_row(st, "PRAGMA journal_mode = WAL", path, mode, sizeof(mode),
		    NULL, err)) != TAM_OK)
			return rc;
		if (strcmp(mode, "wal") != 0)
			return tam_err_set(err, TAM_EDB,
			    "%s: WAL mode refused (journal mode is %s)", path, mode);
	}
	return exec_plain(st, "PRAGMA synchronous = NORMAL", NULL, path, err);
}

int
store_open(const char *path, unsigned flags, struct store **out, struct tam_err *err)
{
	struct store *st = NULL;
	struct stat sb;
	bool fresh = false;
	int rc, oflags;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return tam_err_set(err, TAM_EINVAL, "database path is empty");
	if ((flags & ~(unsigned)(STORE_CREATE | STORE_READONLY)) != 0 ||
	    ((flags & STORE_CREATE) && (flags & STORE_READONLY)))
		return tam_err_set(err, TAM_EINVAL, "%s: invalid open flags", path);
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
		if (!(flags & STORE_CREATE))
			return tam_err_set(err, TAM_ENOTFOUND, "%s: no such database", path);
		if ((rc = create_file(path, err)) != TAM_OK)
			return rc;
		fresh = true;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return tam_err_set(err, TAM_ENOMEM, "%s: out of memory", path);
	st->readonly = (flags & STORE_READONLY) != 0;
	oflags = SQLITE_OPEN_NOMUTEX |
	    (st->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
	rc = sqlite3_open_v2(path, &st->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		rc = tam_err_set(err, rc == SQLITE_NOMEM ? TAM_ENOMEM : TAM_EDB, "%s: %s", path,
		    st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto out;
	}
	/* Only an empty file takes this without a VACUUM (store_auto_vacuum_enable). */
	if (fresh && (rc = exec_plain(st, "PRAGMA auto_vacuum = INCREMENTAL", NULL, path,
	    err)) != TAM_OK)
		goto out;
	if ((rc = configure(st, path, err)) != TAM_OK ||
	    (rc = migrate(st, path, err)) != TAM_OK)
		goto out;
	*out = st;
	st = NULL;
	rc = TAM_OK;
out:
	store_close(st);
	return rc;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->db != NULL && !sqlite3_get_autocommit(st->db))
		store_rollback(st);
	/* finalize returns the statement's last step error, already reported then. */
	for (size_t i = 0; i < st->n_stmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	free(st->stmts);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warn("event=store_close error=\"%s\"", sqlite3_errmsg(st->db));
	free(st);
}

/* ---- statements ---- */

int
store_prepare(struct store *st, const char *sql, sqlite3_stmt **out, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < st->n_stmts; i++) {
		if (st->stmts[i].sql == sql) {
			*out = st->stmts[i].stmt;
			return TAM_OK;
		}
	}
	if ((rc = store_grow(&st->stmts, &st->cap_stmts, st->n_stmts + 1,
	    sizeof(st->stmts[0]), err)) != TAM_OK)
		return rc;
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return store_sqlerr(st, rc, "preparing a statement", err);
	}
	st->stmts[st->n_stmts].sql = sql;
	st->stmts[st->n_stmts].stmt = s;
	st->n_stmts++;
	*out = s;
	return TAM_OK;
}

void
store_release(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	/*
	 * reset returns the last step's error, which the caller already handled;
	 * clear_bindings always returns SQLITE_OK.
	 */
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int
store_exec(struct store *st, const char *sql, struct tam_err *err)
{
	return store_run(st, sql, STORE_NO_PARAMS, sql, err);
}

int
store_sqlerr(struct store *st, int sqlrc, const char *what, struct tam_err *err)
{
	const char *m = sqlite3_errmsg(st->db);

	switch (sqlrc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return tam_err_set(err, TAM_ECONFLICT, "%s: already exists (%s)", what, m);
	case SQLITE_NOMEM:
		return tam_err_set(err, TAM_ENOMEM, "%s: out of memory", what);
	default:
		break;
	}
	if ((sqlrc & 0xff) == SQLITE_CONSTRAINT)
		return tam_err_set(err, TAM_EINVAL, "%s: %s", what, m);
	return tam_err_set(err, TAM_EDB, "%s: %s", what, m);
}

int
store_step(struct store *st, sqlite3_stmt *s, bool *row, const char *what,
    struct tam_err *err)
{
	int rc = sqlite3_step(s);

	*row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return TAM_OK;
	return store_sqlerr(st, rc, what, err);
}

int
store_step_done(struct store *st, sqlite3_stmt *s, const char *what, struct tam_err *err)
{
	bool row;
	int rc;

	if ((rc = store_step(st, s, &row, what, err)) != TAM_OK)
		return rc;
	if (row)
		return tam_err_set(err, TAM_EDB, "%s: unexpected result row", what);
	return TAM_OK;
}

int
store_step_row(struct store *st, sqlite3_stmt *s, const char *what, struct tam_err *err)
{
	bool row;
	int rc;

	if ((rc = store_step(st, s, &row, what, err)) != TAM_OK)
		return rc;
	if (!row)
		return tam_err_set(err, TAM_ENOTFOUND, "%s: not found", what);
	return TAM_OK;
}

int64_t
store_changes(struct store *st)
{
	return sqlite3_changes64(st->db);
}

static int
bind_result(struct store *st, int sqlrc, int i, struct tam_err *err)
{
	char what[32];

	if (sqlrc == SQLITE_OK)
		return TAM_OK;
	snprintf(what, sizeof(what), "binding parameter %d", i);
	return store_sqlerr(st, sqlrc, what, err);
}

int
store_bind_text(struct store *st, sqlite3_stmt *s, int i, const char *v, struct tam_err *err)
{
	return bind_result(st, sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC), i, err);
}

int
store_bind_blob(struct store *st, sqlite3_stmt *s, int i, const void *p, size_t n,
    struct tam_err *err)
{
	if (p == NULL)
		return bind_result(st, sqlite3_bind_null(s, i), i, err);
	return bind_result(st, sqlite3_bind_blob64(s, i, p, (sqlite3_uint64)n, SQLITE_STATIC),
	    i, err);
}

int
store_bind_int64(struct store *st, sqlite3_stmt *s, int i, int64_t v, struct tam_err *err)
{
	return bind_result(st, sqlite3_bind_int64(s, i, v), i, err);
}

int
store_bind_id(struct store *st, sqlite3_stmt *s, int i, int64_t v, struct tam_err *err)
{
	if (v == 0)
		return bind_result(st, sqlite3_bind_null(s, i), i, err);
	return bind_result(st, sqlite3_bind_int64(s, i, v), i, err);
}

static const char *
col_name(sqlite3_stmt *s, int col)
{
	const char *n = sqlite3_column_name(s, col);

	return n != NULL ? n : "column";
}

int
store_col_text(struct store *st, sqlite3_stmt *s, int col, char *dst, size_t size,
    struct tam_err *err)
{
	const unsigned char *p;
	int n;

	dst[0] = '\0';
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return TAM_OK;
	p = sqlite3_column_text(s, col);
	if (p == NULL)
		return store_sqlerr(st, sqlite3_errcode(st->db), col_name(s, col), err);
	n = sqlite3_column_bytes(s, col);
	if (n < 0 || (size_t)n >= size || memchr(p, '\0', (size_t)n) != NULL)
		return tam_err_set(err, TAM_EDB, "stored %s does not fit in %zu bytes",
		    col_name(s, col), size);
	memcpy(dst, p, (size_t)n);
	dst[n] = '\0';
	return TAM_OK;
}

int
store_col_blob(struct store *st, sqlite3_stmt *s, int col, uint8_t **out, size_t *len,
    struct tam_err *err)
{
	const void *p;
	uint8_t *copy;
	int n;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return TAM_OK;
	p = sqlite3_column_blob(s, col);
	n = sqlite3_column_bytes(s, col);
	if (n < 0 || (p == NULL && n > 0) ||
	    (p == NULL && sqlite3_errcode(st->db) == SQLITE_NOMEM))
		return tam_err_set(err, TAM_ENOMEM, "reading %s: out of memory", col_name(s, col));
	/* One byte even for an empty value, so a present blob is never NULL. */
	copy = malloc(n > 0 ? (size_t)n : 1);
	if (copy == NULL)
		return tam_err_set(err, TAM_ENOMEM, "reading %s: out of memory", col_name(s, col));
	if (n > 0)
		memcpy(copy, p, (size_t)n);
	*out = copy;
	*len = (size_t)n;
	return TAM_OK;
}

int
store_col_fixed(struct store *st, sqlite3_stmt *s, int col, uint8_t *dst, size_t n,
    struct tam_err *err)
{
	const void *p;

	(void)st;
	if (sqlite3_column_type(s, col) != SQLITE_BLOB || (size_t)sqlite3_column_bytes(s, col) != n)
		return tam_err_set(err, TAM_EDB, "stored %s is not %zu bytes", col_name(s, col), n);
	p = sqlite3_column_blob(s, col);
	if (p == NULL)
		return tam_err_set(err, TAM_ENOMEM, "reading %s: out of memory", col_name(s, col));
	memcpy(dst, p, n);
	return TAM_OK;
}

/* ---- input checks ---- */

int
store_check_name(const char *v, size_t size, const char *what, struct tam_err *err)
{
	if (v == NULL || v[0] == '\0')
		return tam_err_set(err, TAM_EINVAL, "%s is empty", what);
	return store_check_text(v, size, what, err);
}

int
store_check_text(const char *v, size_t size, const char *what, struct tam_err *err)
{
	if (v != NULL && strnlen(v, size) >= size)
		return tam_err_set(err, TAM_EINVAL, "%s is longer than %zu bytes", what, size - 1);
	return TAM_OK;
}

int
store_check_blob(const void *p, size_t n, const char *what, struct tam_err *err)
{
	if (p == NULL || n == 0)
		return tam_err_set(err, TAM_EINVAL, "%s is empty", what);
	if (n > INT_MAX)
		return tam_err_set(err, TAM_ETOO_LARGE, "%s is larger than %d bytes", what,
		    INT_MAX);
	return TAM_OK;
}

int64_t
store_limit(const struct store_page *pg)
{
	if (pg == NULL || pg->limit == 0 || pg->limit > (size_t)INT64_MAX)
		return -1;
	return (int64_t)pg->limit;
}

const char *
store_after_text(const struct store_page *pg)
{
	return pg != NULL && pg->after_text != NULL ? pg->after_text : "";
}

int
store_grow(void *arrp, size_t *cap, size_t need, size_t size, struct tam_err *err)
{
	void **arr = arrp;
	size_t ncap;
	void *p;

	if (need <= *cap)
		return TAM_OK;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return tam_err_set(err, TAM_ENOMEM, "too many rows");
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		return tam_err_set(err, TAM_ENOMEM, "too many rows");
	p = realloc(*arr, ncap * size);
	if (p == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	*arr = p;
	*cap = ncap;
	return TAM_OK;
}

/* ---- queries ---- */

/* The cached statement for sql with params bound; the caller releases *out. */
static int
query_start(struct store *st, const char *sql, struct store_params params, sqlite3_stmt **out,
    struct tam_err *err)
{
	const struct store_param *p;
	int rc;

	if ((rc = store_prepare(st, sql, out, err)) != TAM_OK)
		return rc;
	for (size_t i = 0; i < params.n && rc == TAM_OK; i++) {
		p = &params.v[i];
		switch (p->type) {
		case STORE_PARAM_INT64:
			rc = store_bind_int64(st, *out, (int)i + 1, p->i, err);
			break;
		case STORE_PARAM_ID:
			rc = store_bind_id(st, *out, (int)i + 1, p->i, err);
			break;
		case STORE_PARAM_TEXT:
			rc = store_bind_text(st, *out, (int)i + 1, p->p, err);
			break;
		case STORE_PARAM_BLOB:
			rc = store_bind_blob(st, *out, (int)i + 1, p->p, p->n, err);
			break;
		}
	}
	return rc;
}

int
store_read_int64(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	int64_t *v = elem;

	(void)st;
	(void)err;
	*v = sqlite3_column_int64(s, 0);
	return TAM_OK;
}

int
store_run(struct store *st, const char *sql, struct store_params params, const char *what,
    struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = query_start(st, sql, params, &s, err)) == TAM_OK)
		rc = store_step_done(st, s, what, err);
	store_release(s);
	return rc;
}

int
store_insert(struct store *st, const char *sql, struct store_params params, const char *what,
    int64_t *id, struct tam_err *err)
{
	int rc;

	if ((rc = store_run(st, sql, params, what, err)) == TAM_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int
store_get(struct store *st, const char *sql, struct store_params params, const char *what,
    store_read_fn read_row, void *out, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = query_start(st, sql, params, &s, err)) == TAM_OK &&
	    (rc = store_step_row(st, s, what, err)) == TAM_OK && read_row != NULL)
		rc = read_row(st, s, out, err);
	store_release(s);
	return rc;
}

int
store_list(struct store *st, const char *sql, struct store_params params, const char *what,
    size_t size, store_read_fn read_row, store_clear_fn clear_row, void *arrp, size_t *n,
    struct tam_err *err)
{
	void **out = arrp;
	sqlite3_stmt *s = NULL;
	size_t cnt = 0, cap = 0;
	void *v = NULL;
	bool row;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = query_start(st, sql, params, &s, err)) != TAM_OK)
		goto out;
	for (;;) {
		if ((rc = store_step(st, s, &row, what, err)) != TAM_OK)
			goto out;
		if (!row)
			break;
		if ((rc = store_grow(&v, &cap, cnt + 1, size, err)) != TAM_OK ||
		    (rc = read_row(st, s, (char *)v + cnt * size, err)) != TAM_OK)
			goto out;
		cnt++;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
out:
	store_release(s);
	for (size_t i = 0; clear_row != NULL && i < cnt; i++)
		clear_row((char *)v + i * size);
	free(v);
	return rc;
}

/* ---- transactions ---- */

/* Undo without reporting: the caller is already returning the error that led here. */
static void
undo(struct store *st, const char *sql)
{
	if (sqlite3_get_autocommit(st->db))
		return;
	if (store_exec(st, sql, NULL) != TAM_OK)
		log_warn("event=store_rollback sql=\"%s\" error=\"%s\"", sql,
		    sqlite3_errmsg(st->db));
}

int
store_begin(struct store *st, struct tam_err *err)
{
	int rc;

	if (st->in_tx || !sqlite3_get_autocommit(st->db))
		return tam_err_set(err, TAM_EINVAL, "a transaction is already open");
	if ((rc = store_exec(st, SQL_BEGIN_IMMEDIATE, err)) != TAM_OK)
		return rc;
	st->in_tx = true;
	return TAM_OK;
}

int
store_commit(struct store *st, struct tam_err *err)
{
	int rc;

	if (!st->in_tx)
		return tam_err_set(err, TAM_EINVAL, "no transaction is open");
	st->in_tx = false;
	if (sqlite3_get_autocommit(st->db))
		return tam_err_set(err, TAM_EDB,
		    "the transaction was rolled back after an earlier error");
	if ((rc = store_exec(st, SQL_COMMIT, err)) != TAM_OK)
		undo(st, SQL_ROLLBACK);
	return rc;
}

void
store_rollback(struct store *st)
{
	undo(st, SQL_ROLLBACK);
	st->in_tx = false;
}

int
store_tx_open(struct store *st, bool write, struct store_tx *tx, struct tam_err *err)
{
	int rc;

	tx->owned = tx->savepoint = false;
	if (st->in_tx) {
		if (sqlite3_get_autocommit(st->db))
			return tam_err_set(err, TAM_EDB,
			    "the transaction was rolled back after an earlier error");
		if (!write)
			return TAM_OK;
		if ((rc = store_exec(st, SQL_SAVEPOINT, err)) != TAM_OK)
			return rc;
		tx->savepoint = true;
		return TAM_OK;
	}
	if ((rc = store_exec(st, write ? SQL_BEGIN_IMMEDIATE : SQL_BEGIN_DEFERRED, err)) != TAM_OK)
		return rc;
	tx->owned = true;
	st->in_tx = true;
	return TAM_OK;
}

int
store_tx_close(struct store *st, struct store_tx *tx, int rc, struct tam_err *err)
{
	if (tx->owned) {
		st->in_tx = false;
		if (rc == TAM_OK && (rc = store_exec(st, SQL_COMMIT, err)) == TAM_OK)
			goto out;
		undo(st, SQL_ROLLBACK);
	} else if (tx->savepoint) {
		if (rc == TAM_OK && (rc = store_exec(st, SQL_RELEASE, err)) == TAM_OK)
			goto out;
		undo(st, SQL_ROLLBACK_TO);
		undo(st, SQL_RELEASE);
	}
out:
	tx->owned = tx->savepoint = false;
	return rc;
}
