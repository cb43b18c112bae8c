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
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store_check_name(id->tamid, sizeof(id->tamid), "tamid", err)) != TAM_OK ||
	    (rc = store_check_name(id->key_path, sizeof(id->key_path), "key path",
	    err)) != TAM_OK ||
	    (rc = store_check_blob(id->chain_pem, id->chain_len, "certificate chain",
	    err)) != TAM_OK)
		return rc;
	if ((rc = store_prepare(st, SQL_IDENTITY_SET, &s, err)) != TAM_OK)
		goto out;
	if ((rc = store_bind_text(st, s, 1, id->tamid, err)) != TAM_OK ||
	    (rc = store_bind_text(st, s, 2, id->key_path, err)) != TAM_OK ||
	    (rc = store_bind_blob(st, s, 3, id->chain_pem, id->chain_len, err)) != TAM_OK ||
	    (rc = store_bind_int64(st, s, 4, id->created != 0 ? id->created : tam_now(),
	    err)) != TAM_OK)
		goto out;
	rc = store_step_done(st, s, "TAM identity", err);
out:
	store_release(s);
	return rc;
}

int
store_identity_get(struct store *st, struct store_identity *out, struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_prepare(st, SQL_IDENTITY_GET, &s, err)) != TAM_OK ||
	    (rc = store_step_row(st, s, "TAM identity", err)) != TAM_OK)
		goto out;
	if ((rc = store_col_text(st, s, 0, out->tamid, sizeof(out->tamid), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 1, out->key_path, sizeof(out->key_path), err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 2, &out->chain_pem, &out->chain_len, err)) != TAM_OK)
		goto out;
	out->created = sqlite3_column_int64(s, 3);
out:
	store_release(s);
	if (rc != TAM_OK)
		store_identity_clear(out);
	return rc;
}

void
store_identity_clear(struct store_identity *id)
{
	if (id == NULL)
		return;
	free(id->chain_pem);
	memset(id, 0, sizeof(*id));
}
