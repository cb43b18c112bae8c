// SPDX-License-Identifier: MIT
/*
 * Secrets the daemons sharing one database share (schema 012): made once,
 * by whichever daemon needs one first, and the same for all of them after.
 * Never listed, logged or exported.
 */
#include <string.h>

#include "store_int.h"

static const char SQL_SECRET_GET[] = "SELECT value FROM secrets WHERE name = ?1";
/* Two daemons may make one at once: the first insert wins and both read it. */
static const char SQL_SECRET_ADD[] =
    "INSERT INTO secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING";

struct secret_out {
	uint8_t *buf;
	size_t len;
};

static int
secret_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct secret_out *o = elem;

	return store_col_fixed(st, s, 0, o->buf, o->len, err);
}

int
store_secret_get(struct store *st, const char *name, uint8_t *out, size_t len,
    struct tam_err *err)
{
	struct secret_out o = { out, len };
	uint8_t fresh[64];
	int rc;

	if ((rc = store_check_name(name, 32, "secret name", err)) != TAM_OK)
		return rc;
	if (len == 0 || len > sizeof(fresh))
		return tam_err_set(err, TAM_EINVAL, "secret %s: %zu bytes", name, len);
	rc = store_get(st, SQL_SECRET_GET, STORE_PARAMS(STORE_TEXT(name)), "secret", secret_read,
	    &o, err);
	if (rc != TAM_ENOTFOUND)
		return rc;
	if (tam_random(fresh, len) != TAM_OK)
		return tam_err_set(err, TAM_ECRYPTO, "no randomness");
	rc = store_run(st, SQL_SECRET_ADD, STORE_PARAMS(STORE_TEXT(name), STORE_BLOB(fresh, len)),
	    "secret", err);
	tam_wipe(fresh, sizeof(fresh));
	if (rc != TAM_OK)
		return rc;
	return store_get(st, SQL_SECRET_GET, STORE_PARAMS(STORE_TEXT(name)), "secret", secret_read,
	    &o, err);
}
