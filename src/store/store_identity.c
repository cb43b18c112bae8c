// SPDX-License-Identifier: MIT
/*
 * The TAM's own identity: its tamid, the path of its private key file and
 * its certificate chain. The key itself never enters the database.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SQL_IDENTITY_SET[] =
    "INSERT INTO tam_identity (id, tamid, key_path, chain_pem, created)"
    " VALUES (1, ?1, ?2, ?3, ?4)"
    " ON CONFLICT (id) DO UPDATE SET tamid = excluded.tamid, key_path = excluded.key_path,"
    " chain_pem = excluded.chain_pem, created = excluded.created";
static const char SQL_IDENTITY_GET[] =
    "SELECT tamid, key_path, chain_pem, created FROM tam_identity WHERE id = 1";

int
store_identity_set(struct store *st, const struct store_identity *id, struct tam_err *err)
{
	int rc;

	if ((rc = store_check_name(id->tamid, sizeof(id->tamid), "tamid", err)) != TAM_OK ||
	    (rc = store_check_name(id->key_path, sizeof(id->key_path), "key path",
	    err)) != TAM_OK ||
	    (rc = store_check_blob(id->chain_pem, id->chain_len, "certificate chain",
	    err)) != TAM_OK)
		return rc;
	return store_run(st, SQL_IDENTITY_SET, STORE_PARAMS(
	    STORE_TEXT(id->tamid),
	    STORE_TEXT(id->key_path),
	    STORE_BLOB(id->chain_pem, id->chain_len),
	    STORE_INT64(id->created != 0 ? id->created : tam_now())), "TAM identity", err);
}

static int
identity_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_identity *id = elem;
	int rc;

	memset(id, 0, sizeof(*id));
	id->created = sqlite3_column_int64(s, 3);
	if ((rc = store_col_text(st, s, 0, id->tamid, sizeof(id->tamid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 1, id->key_path, sizeof(id->key_path), err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 2, &id->chain_pem, &id->chain_len, err)) != TAM_OK)
		store_identity_clear(id);
	return rc;
}

int
store_identity_get(struct store *st, struct store_identity *out, struct tam_err *err)
{
	memset(out, 0, sizeof(*out));
	return store_get(st, SQL_IDENTITY_GET, STORE_NO_PARAMS, "TAM identity", identity_read,
	    out, err);
}

void
store_identity_clear(struct store_identity *id)
{
	if (id == NULL)
		return;
	free(id->chain_pem);
	memset(id, 0, sizeof(*id));
}
