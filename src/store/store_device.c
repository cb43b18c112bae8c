// SPDX-License-Identifier: MIT
/*
 * Devices (one TEE each) and their observed state. A device is found by its
 * did on every OTrP response, so that lookup and the state replacement are
 * indexed and run in one transaction; the operator-facing find accepts a
 * name, a did or a did prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SQL_DEVICE_ADD[] =
    "INSERT INTO devices (did, name, key_kind, cert, chain, spki, thumbprint, profile,"
    " state, tee_name, tee_ver, dsi, dsihash, created, last_seen)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
/* Columns 0..12 in every device query; 13..16 only when blobs are wanted. */
#define DEVICE_COLS \
    "SELECT id, did, name, key_kind, thumbprint, profile, state, tee_name, tee_ver," \
    " dsihash, created, last_seen, dsi IS NOT NULL"
#define DEVICE_BLOBS ", cert, chain, spki, dsi FROM devices"
static const char SQL_DEVICE_GET[] = DEVICE_COLS DEVICE_BLOBS " WHERE id = ?1";
static const char SQL_DEVICE_BY_DID[] = DEVICE_COLS DEVICE_BLOBS " WHERE did = ?1";
static const char SQL_DEVICE_BY_THUMBPRINT[] =
    DEVICE_COLS DEVICE_BLOBS " WHERE thumbprint = ?1";
static const char SQL_DEVICE_BY_PROFILE[] =
    DEVICE_COLS DEVICE_BLOBS " WHERE profile = ?1 AND state = 'active' ORDER BY id LIMIT ?2";
static const char SQL_DEVICE_BY_NAME[] = DEVICE_COLS DEVICE_BLOBS " WHERE name = ?1";
/* dids are all 32 bytes, so a hex prefix is a closed range of the did index. */
static const char SQL_DEVICE_BY_RANGE[] =
    DEVICE_COLS DEVICE_BLOBS " WHERE did BETWEEN ?1 AND ?2 ORDER BY did LIMIT 2";
static const char SQL_DEVICE_LIST[] = DEVICE_COLS " FROM devices ORDER BY id";
/* An SP's stake in a device: one of its TAs assigned there, or an SD the TAM made for it. */
#define DEVICE_SP_STAKE \
    " (EXISTS (SELECT 1 FROM assignments a JOIN tas t ON t.id = a.ta_id" \
    "   WHERE a.device_id = devices.id AND t.sp_id = ?2)" \
    "  OR EXISTS (SELECT 1 FROM sd_stakes k WHERE k.device_id = devices.id AND k.sp_id = ?2))"
static const char SQL_DEVICE_PAGE[] =
    DEVICE_COLS " FROM devices WHERE id > ?1 AND (?2 IS NULL OR" DEVICE_SP_STAKE ")"
    " ORDER BY id LIMIT ?3";
static const char SQL_DEVICE_VISIBLE[] =
    "SELECT 1 FROM devices WHERE id = ?1 AND" DEVICE_SP_STAKE;
static const char SQL_DEVICE_SEEN[] =
    "UPDATE devices SET tee_name = ?1, tee_ver = ?2, dsi = ?3, dsihash = ?4, last_seen = ?5"
    " WHERE id = ?6";

static const char SQL_DEVICE_SET_STATE[] = "UPDATE devices SET state = ?2 WHERE id = ?1";
/* Only for the key the device already has: the thumbprint is the guard. */
static const char SQL_DEVICE_RENEW[] =
    "UPDATE devices SET did = ?2, key_kind = 'cert', cert = ?3, chain = ?4"
    " WHERE id = ?1 AND thumbprint = ?5";

static const char SQL_STATE_DEVICE[] = "SELECT tee_name, tee_ver FROM devices WHERE id = ?1";
static const char SQL_STATE_SDS[] =
    "SELECT sdname, spid, spcert_fp FROM device_sds WHERE device_id = ?1 ORDER BY sdname";
static const char SQL_STATE_TAS[] =
    "SELECT d.taid, d.sdname, d.taname, d.ta_version_id, v.version_key FROM device_tas d"
    " LEFT JOIN ta_versions v ON v.id = d.ta_version_id WHERE d.device_id = ?1"
    " ORDER BY d.taid";
static const char SQL_STATE_AIKS[] =
    "SELECT spid, spki FROM device_spaiks WHERE device_id = ?1 ORDER BY spid";
static const char SQL_STATE_DEL_SDS[] = "DELETE FROM device_sds WHERE device_id = ?1";
static const char SQL_STATE_DEL_TAS[] = "DELETE FROM device_tas WHERE device_id = ?1";
static const char SQL_STATE_DEL_AIKS[] = "DELETE FROM device_spaiks WHERE device_id = ?1";
static const char SQL_STATE_ADD_SD[] =
    "INSERT INTO device_sds (device_id, sdname, spid, spcert_fp) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_STATE_ADD_TA[] =
    "INSERT INTO device_tas (device_id, taid, sdname, taname, ta_version_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_STATE_ADD_AIK[] =
    "INSERT INTO device_spaiks (device_id, spid, spki) VALUES (?1, ?2, ?3)";

static const char *
key_kind_name(enum store_key_kind k)
{
	return k == STORE_KEY_CERT ? "cert" : "rawkey";
}

static int
device_check(const struct store_device *d, struct tam_err *err)
{
	int rc;

	if (d->key_kind != STORE_KEY_CERT && d->key_kind != STORE_KEY_RAW)
		return tam_err_set(err, TAM_EINVAL, "device key kind %d is not known",
		    (int)d->key_kind);
	if (d->key_kind == STORE_KEY_CERT &&
	    (rc = store_check_blob(d->cert, d->cert_len, "device certificate", err)) != TAM_OK)
		return rc;
	if (d->key_kind == STORE_KEY_RAW && d->cert != NULL)
		return tam_err_set(err, TAM_EINVAL, "a raw-key device has no certificate");
	if (d->chain != NULL &&
	    (rc = store_check_blob(d->chain, d->chain_len, "device chain", err)) != TAM_OK)
		return rc;
	if (d->dsi != NULL &&
	    (rc = store_check_blob(d->dsi, d->dsi_len, "device DSI", err)) != TAM_OK)
		return rc;
	if ((rc = store_check_blob(d->spki, d->spki_len, "device public key", err)) != TAM_OK ||
	    (rc = store_check_text(d->name, sizeof(d->name), "device name", err)) != TAM_OK ||
	    (rc = store_check_name(d->thumbprint, sizeof(d->thumbprint), "device thumbprint",
	    err)) != TAM_OK ||
	    (rc = store_check_text(d->profile, sizeof(d->profile), "device profile",
	    err)) != TAM_OK ||
	    (rc = store_check_text(d->state, sizeof(d->state), "device state", err)) != TAM_OK ||
	    (rc = store_check_text(d->tee_name, sizeof(d->tee_name), "TEE name", err)) != TAM_OK ||
	    (rc = store_check_text(d->tee_ver, sizeof(d->tee_ver), "TEE version", err)) != TAM_OK)
		return rc;
	return TAM_OK;
}

int
store_device_add(struct store *st, const struct store_device *d, int64_t *id,
    struct tam_err *err)
{
	char hex[TAM_DID_HEX], what[96];
	uint8_t dsihash[32];
	int rc;

	if ((rc = device_check(d, err)) != TAM_OK)
		return rc;
	if (d->dsi != NULL)
		tam_sha256(d->dsi, d->dsi_len, dsihash);
	tam_hex_encode(d->did, sizeof(d->did), hex);
	snprintf(what, sizeof(what), "device %s", hex);
	return store_insert(st, SQL_DEVICE_ADD, STORE_PARAMS(
	    STORE_BLOB(d->did, sizeof(d->did)),
	    STORE_TEXT(d->name[0] != '\0' ? d->name : NULL),
	    STORE_TEXT(key_kind_name(d->key_kind)),
	    STORE_BLOB(d->cert, d->cert_len),
	    STORE_BLOB(d->chain, d->chain_len),
	    STORE_BLOB(d->spki, d->spki_len),
	    STORE_TEXT(d->thumbprint),
	    STORE_TEXT(d->profile[0] != '\0' ? d->profile : "default"),
	    STORE_TEXT(d->state[0] != '\0' ? d->state : "active"),
	    STORE_TEXT(d->tee_name),
	    STORE_TEXT(d->tee_ver),
	    STORE_BLOB(d->dsi, d->dsi_len),
	    STORE_BLOB(d->dsi != NULL ? dsihash : NULL, sizeof(dsihash)),
	    STORE_INT64(d->created != 0 ? d->created : tam_now()),
	    STORE_ID(d->last_seen)), what, id, err);
}

/* Columns 0..12, which every device query selects. */
static int
device_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_device *d = elem;
	char kind[8];
	int rc;

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(s, 0);
	d->created = sqlite3_column_int64(s, 10);
	d->last_seen = sqlite3_column_int64(s, 11);
	if ((rc = store_col_fixed(st, s, 1, d->did, sizeof(d->did), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 2, d->name, sizeof(d->name), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 3, kind, sizeof(kind), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 4, d->thumbprint, sizeof(d->thumbprint), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 5, d->profile, sizeof(d->profile), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 6, d->state, sizeof(d->state), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 7, d->tee_name, sizeof(d->tee_name), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 8, d->tee_ver, sizeof(d->tee_ver), err)) != TAM_OK)
		goto out;
	if (sqlite3_column_int(s, 12) &&
	    (rc = store_col_fixed(st, s, 9, d->dsihash, sizeof(d->dsihash), err)) != TAM_OK)
		goto out;
	if (strcmp(kind, "cert") == 0) {
		d->key_kind = STORE_KEY_CERT;
	} else if (strcmp(kind, "rawkey") == 0) {
		d->key_kind = STORE_KEY_RAW;
	} else {
		rc = tam_err_set(err, TAM_EDB, "device %lld: unknown key kind", (long long)d->id);
		goto out;
	}
out:
	if (rc != TAM_OK)
		store_device_clear(d);
	return rc;
}

/* device_read and the blobs in columns 13..16 (DEVICE_BLOBS). */
static int
device_read_blobs(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct store_device *d = elem;
	int rc;

	if ((rc = device_read(st, s, d, err)) != TAM_OK)
		return rc;
	if ((rc = store_col_blob(st, s, 13, &d->cert, &d->cert_len, err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 14, &d->chain, &d->chain_len, err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 15, &d->spki, &d->spki_len, err)) != TAM_OK ||
	    (rc = store_col_blob(st, s, 16, &d->dsi, &d->dsi_len, err)) != TAM_OK)
		store_device_clear(d);
	return rc;
}

/* store_device_clear in the shape store_list calls. */
static void
device_clear(void *elem)
{
	store_device_clear(elem);
}

int
store_device_get(struct store *st, int64_t id, struct store_device *out, struct tam_err *err)
{
	char what[48];

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "device %lld", (long long)id);
	return store_get(st, SQL_DEVICE_GET, STORE_PARAMS(STORE_INT64(id)), what,
	    device_read_blobs, out, err);
}

int
store_device_get_by_did(struct store *st, const uint8_t did[32], struct store_device *out,
    struct tam_err *err)
{
	char hex[TAM_DID_HEX], what[96];

	memset(out, 0, sizeof(*out));
	tam_hex_encode(did, 32, hex);
	snprintf(what, sizeof(what), "device %s", hex);
	return store_get(st, SQL_DEVICE_BY_DID, STORE_PARAMS(STORE_BLOB(did, 32)), what,
	    device_read_blobs, out, err);
}

int
store_device_list_profile(struct store *st, const char *profile, size_t max,
    struct store_device **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_DEVICE_BY_PROFILE, STORE_PARAMS(STORE_TEXT(profile),
	    STORE_INT64((int64_t)max)), "devices of the profile", sizeof(**out), device_read_blobs,
	    device_clear, out, n, err);
}

int
store_device_get_by_thumbprint(struct store *st, const char *thumbprint,
    struct store_device *out, struct tam_err *err)
{
	char what[96];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(thumbprint, sizeof(out->thumbprint), "device thumbprint",
	    err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "device with key %s", thumbprint);
	return store_get(st, SQL_DEVICE_BY_THUMBPRINT, STORE_PARAMS(STORE_TEXT(thumbprint)),
	    what, device_read_blobs, out, err);
}

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/*
 * The devices whose did starts with the hex prefix ref (8..63 digits): the
 * did range [prefix 00.., prefix ff..], where an odd last digit fixes only
 * the high nibble of its byte.
 */
static int
device_find_prefix(struct store *st, const char *ref, size_t len, struct store_device *out,
    struct tam_err *err)
{
	uint8_t lo[32], hi[32];
	sqlite3_stmt *s = NULL;
	char pair[3] = { 0 };
	size_t whole = len / 2;
	bool row;
	int rc;

	memset(lo, 0x00, sizeof(lo));
	memset(hi, 0xff, sizeof(hi));
	if ((rc = tam_hex_decode(ref, 2 * whole, lo, whole)) != TAM_OK)
		return tam_err_set(err, TAM_EINVAL, "\"%s\" is not hexadecimal", ref);
	memcpy(hi, lo, whole);
	if (len % 2 != 0) {
		pair[0] = ref[len - 1];
		pair[1] = '0';
		if ((rc = tam_hex_decode(pair, 2, &lo[whole], 1)) != TAM_OK)
			return tam_err_set(err, TAM_EINVAL, "\"%s\" is not hexadecimal", ref);
		hi[whole] = lo[whole] | 0x0f;
	}
	if ((rc = store_prepare(st, SQL_DEVICE_BY_RANGE, &s, err)) != TAM_OK ||
	    (rc = store_bind_blob(st, s, 1, lo, sizeof(lo), err)) != TAM_OK ||
	    (rc = store_bind_blob(st, s, 2, hi, sizeof(hi), err)) != TAM_OK ||
	    (rc = store_step_row(st, s, ref, err)) != TAM_OK ||
	    (rc = device_read_blobs(st, s, out, err)) != TAM_OK ||
	    (rc = store_step(st, s, &row, ref, err)) != TAM_OK)
		goto out;
	if (row)
		rc = tam_err_set(err, TAM_ECONFLICT, "\"%s\" matches more than one device; "
		    "give more digits", ref);
out:
	store_release(s);
	if (rc != TAM_OK)
		store_device_clear(out);
	return rc;
}

int
store_device_find(struct store *st, const char *ref, struct store_device *out,
    struct tam_err *err)
{
	uint8_t did[32];
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name(ref, TAM_DID_HEX, "device reference", err)) != TAM_OK)
		return rc;
	len = strlen(ref);
	if (len < sizeof(out->name) &&
	    (rc = store_get(st, SQL_DEVICE_BY_NAME, STORE_PARAMS(STORE_TEXT(ref)), ref,
	    device_read_blobs, out, err)) != TAM_ENOTFOUND)
		return rc;
	if (len == 2 * sizeof(did) && all_hex(ref, len)) {
		if (tam_hex_decode(ref, len, did, sizeof(did)) != TAM_OK)
			return tam_err_set(err, TAM_EINVAL, "\"%s\" is not hexadecimal", ref);
		rc = store_device_get_by_did(st, did, out, err);
	} else if (len >= 8 && len < 2 * sizeof(did) && all_hex(ref, len)) {
		rc = device_find_prefix(st, ref, len, out, err);
	} else {
		rc = TAM_ENOTFOUND;
	}
	if (rc == TAM_ENOTFOUND)
		rc = tam_err_set(err, TAM_ENOTFOUND, "no device named or matching \"%s\"", ref);
	return rc;
}

int
store_device_list(struct store *st, struct store_device **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_DEVICE_LIST, STORE_NO_PARAMS, "devices", sizeof(**out),
	    device_read, device_clear, out, n, err);
}

int
store_device_page(struct store *st, int64_t sp_id, const struct store_page *pg,
    struct store_device **out, size_t *n, struct tam_err *err)
{
	return store_list(st, SQL_DEVICE_PAGE, STORE_PARAMS(STORE_INT64(pg->after_int),
	    STORE_ID(sp_id), STORE_INT64(store_limit(pg))), "devices", sizeof(**out), device_read,
	    device_clear, out, n, err);
}

int
store_device_visible(struct store *st, int64_t device_id, int64_t sp_id, bool *out,
    struct tam_err *err)
{
	int rc;

	*out = false;
	rc = store_get(st, SQL_DEVICE_VISIBLE, STORE_PARAMS(STORE_INT64(device_id),
	    STORE_INT64(sp_id)), "device", NULL, NULL, err);
	if (rc == TAM_OK)
		*out = true;
	return rc == TAM_ENOTFOUND ? TAM_OK : rc;
}

int
store_device_set_state(struct store *st, int64_t id, const char *state, struct tam_err *err)
{
	int rc;

	if (strcmp(state, "active") != 0 && strcmp(state, "decommissioned") != 0)
		return tam_err_set(err, TAM_EINVAL, "device state \"%.32s\" is not active or "
		    "decommissioned", state);
	if ((rc = store_run(st, SQL_DEVICE_SET_STATE, STORE_PARAMS(STORE_INT64(id), STORE_TEXT(state)),
	    "device", err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "device %lld: not found", (long long)id);
	return rc;
}

int
store_device_renew(struct store *st, const struct store_device *d, struct tam_err *err)
{
	int rc;

	if (d->key_kind != STORE_KEY_CERT)
		return tam_err_set(err, TAM_EINVAL, "a renewal brings a certificate");
	if ((rc = device_check(d, err)) != TAM_OK)
		return rc;
	if ((rc = store_run(st, SQL_DEVICE_RENEW, STORE_PARAMS(STORE_INT64(d->id),
	    STORE_BLOB(d->did, sizeof(d->did)), STORE_BLOB(d->cert, d->cert_len),
	    STORE_BLOB(d->chain, d->chain_len), STORE_TEXT(d->thumbprint)), "device",
	    err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "device %lld with key %s: not found",
		    (long long)d->id, d->thumbprint);
	return rc;
}

int
store_device_seen(struct store *st, int64_t id, const char *tee_name, const char *tee_ver,
    const uint8_t *dsi, size_t dsi_len, int64_t now, struct tam_err *err)
{
	uint8_t dsihash[32];
	int rc;

	if ((rc = store_check_text(tee_name, TAM_TEENAME_MAX, "TEE name", err)) != TAM_OK ||
	    (rc = store_check_text(tee_ver, TAM_VERSION_MAX, "TEE version", err)) != TAM_OK ||
	    (dsi != NULL && (rc = store_check_blob(dsi, dsi_len, "device DSI", err)) != TAM_OK))
		return rc;
	if (dsi != NULL)
		tam_sha256(dsi, dsi_len, dsihash);
	if ((rc = store_run(st, SQL_DEVICE_SEEN, STORE_PARAMS(
	    STORE_TEXT(tee_name != NULL ? tee_name : ""),
	    STORE_TEXT(tee_ver != NULL ? tee_ver : ""),
	    STORE_BLOB(dsi, dsi_len),
	    STORE_BLOB(dsi != NULL ? dsihash : NULL, sizeof(dsihash)),
	    STORE_INT64(now),
	    STORE_INT64(id)), "device", err)) == TAM_OK && store_changes(st) == 0)
		rc = tam_err_set(err, TAM_ENOTFOUND, "device %lld: not found", (long long)id);
	return rc;
}

void
store_device_clear(struct store_device *d)
{
	if (d == NULL)
		return;
	free(d->cert);
	free(d->chain);
	free(d->spki);
	free(d->dsi);
	memset(d, 0, sizeof(*d));
}

void
store_devices_free(struct store_device *d, size_t n)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_device_clear(&d[i]);
	free(d);
}

/* ---- observed state ---- */

static int
sd_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct tam_sd_obs *sd = elem;
	int rc;

	memset(sd, 0, sizeof(*sd));
	if ((rc = store_col_text(st, s, 0, sd->sdname, sizeof(sd->sdname), err)) != TAM_OK ||
	    (rc = store_col_text(st, s, 1, sd->spid, sizeof(sd->spid), err)) != TAM_OK)
		return rc;
	sd->spcert_known = sqlite3_column_type(s, 2) != SQLITE_NULL;
	if (sd->spcert_known)
		rc = store_col_fixed(st, s, 2, sd->spcert_fp, sizeof(sd->spcert_fp), err);
	return rc;
}

static int
ta_obs_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct tam_ta_obs *ta = elem;
	int rc;

	memset(ta, 0, sizeof(*ta));
	ta->ta_version_id = sqlite3_column_int64(s, 3);
	ta->version_key = sqlite3_column_int64(s, 4);
	if ((rc = store_col_text(st, s, 0, ta->taid, sizeof(ta->taid), err)) == TAM_OK &&
	    (rc = store_col_text(st, s, 1, ta->sdname, sizeof(ta->sdname), err)) == TAM_OK)
		rc = store_col_text(st, s, 2, ta->taname, sizeof(ta->taname), err);
	return rc;
}

/* The blob is the last column read, so a failure never leaves it allocated. */
static int
aik_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct tam_spaik_obs *aik = elem;
	int rc;

	memset(aik, 0, sizeof(*aik));
	if ((rc = store_col_text(st, s, 0, aik->spid, sizeof(aik->spid), err)) == TAM_OK)
		rc = store_col_blob(st, s, 1, &aik->spki, &aik->spki_len, err);
	return rc;
}

/* An AIK owns only its key. */
static void
aik_clear(void *elem)
{
	struct tam_spaik_obs *aik = elem;

	free(aik->spki);
}

/* The device row's tee_name and tee_ver (SQL_STATE_DEVICE) into a struct tam_dev_state. */
static int
state_device_read(struct store *st, sqlite3_stmt *s, void *elem, struct tam_err *err)
{
	struct tam_dev_state *ds = elem;
	int rc;

	if ((rc = store_col_text(st, s, 0, ds->tee_name, sizeof(ds->tee_name), err)) == TAM_OK)
		rc = store_col_text(st, s, 1, ds->tee_ver, sizeof(ds->tee_ver), err);
	return rc;
}

int
store_device_state_get(struct store *st, int64_t device_id, struct tam_dev_state *out,
    struct tam_err *err)
{
	const struct store_params key = STORE_PARAMS(STORE_INT64(device_id));
	struct store_tx tx;
	char what[48];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "device %lld", (long long)device_id);
	/* One read snapshot, so the three lists come from the same DSI. */
	if ((rc = store_tx_open(st, false, &tx, err)) != TAM_OK)
		return rc;
	if ((rc = store_get(st, SQL_STATE_DEVICE, key, what, state_device_read, out,
	    err)) == TAM_OK &&
	    (rc = store_list(st, SQL_STATE_SDS, key, "device SDs", sizeof(*out->sds),
	    sd_read, NULL, &out->sds, &out->n_sds, err)) == TAM_OK &&
	    (rc = store_list(st, SQL_STATE_TAS, key, "device TAs", sizeof(*out->tas),
	    ta_obs_read, NULL, &out->tas, &out->n_tas, err)) == TAM_OK)
		rc = store_list(st, SQL_STATE_AIKS, key, "device SP AIKs", sizeof(*out->aiks),
		    aik_read, aik_clear, &out->aiks, &out->n_aiks, err);
	rc = store_tx_close(st, &tx, rc, err);
	if (rc != TAM_OK)
		tam_dev_state_free(out);
	return rc;
}

static int
state_check(const struct tam_dev_state *s, struct tam_err *err)
{
	int rc;

	if ((s->n_sds > 0 && s->sds == NULL) || (s->n_tas > 0 && s->tas == NULL) ||
	    (s->n_aiks > 0 && s->aiks == NULL))
		return tam_err_set(err, TAM_EINVAL, "device state: list without entries");
	for (size_t i = 0; i < s->n_sds; i++)
		if ((rc = store_check_name(s->sds[i].sdname, sizeof(s->sds[i].sdname), "SD name",
		    err)) != TAM_OK ||
		    (rc = store_check_text(s->sds[i].spid, sizeof(s->sds[i].spid), "SD spid",
		    err)) != TAM_OK)
			return rc;
	for (size_t i = 0; i < s->n_tas; i++)
		if ((rc = store_check_name(s->tas[i].taid, sizeof(s->tas[i].taid), "taid",
		    err)) != TAM_OK ||
		    (rc = store_check_text(s->tas[i].sdname, sizeof(s->tas[i].sdname), "TA SD name",
		    err)) != TAM_OK ||
		    (rc = store_check_text(s->tas[i].taname, sizeof(s->tas[i].taname), "TA name",
		    err)) != TAM_OK)
			return rc;
	for (size_t i = 0; i < s->n_aiks; i++)
		if ((rc = store_check_name(s->aiks[i].spid, sizeof(s->aiks[i].spid), "AIK spid",
		    err)) != TAM_OK ||
		    (rc = store_check_blob(s->aiks[i].spki, s->aiks[i].spki_len, "SP AIK",
		    err)) != TAM_OK)
			return rc;
	return TAM_OK;
}

static int
state_insert(struct store *st, int64_t device_id, const struct tam_dev_state *in,
    struct tam_err *err)
{
	sqlite3_stmt *s = NULL;
	char what[96];
	int rc;

	if ((rc = store_prepare(st, SQL_STATE_ADD_SD, &s, err)) != TAM_OK)
		goto out;
	for (size_t i = 0; i < in->n_sds; i++) {
		snprintf(what, sizeof(what), "SD \"%s\"", in->sds[i].sdname);
		if ((rc = store_bind_int64(st, s, 1, device_id, err)) != TAM_OK ||
		    (rc = store_bind_text(st, s, 2, in->sds[i].sdname, err)) != TAM_OK ||
		    (rc = store_bind_text(st, s, 3, in->sds[i].spid, err)) != TAM_OK ||
		    (rc = store_bind_blob(st, s, 4, in->sds[i].spcert_known ? in->sds[i].spcert_fp :
		    NULL, sizeof(in->sds[i].spcert_fp), err)) != TAM_OK ||
		    (rc = store_step_done(st, s, what, err)) != TAM_OK)
			goto out;
		store_release(s);
	}
	if ((rc = store_prepare(st, SQL_STATE_ADD_TA, &s, err)) != TAM_OK)
		goto out;
	for (size_t i = 0; i < in->n_tas; i++) {
		snprintf(what, sizeof(what), "TA \"%s\"", in->tas[i].taid);
		if ((rc = store_bind_int64(st, s, 1, device_id, err)) != TAM_OK ||
		    (rc = store_bind_text(st, s, 2, in->tas[i].taid, err)) != TAM_OK ||
		    (rc = store_bind_text(st, s, 3, in->tas[i].sdname, err)) != TAM_OK ||
		    (rc = store_bind_text(st, s, 4, in->tas[i].taname, err)) != TAM_OK ||
		    (rc = store_bind_id(st, s, 5, in->tas[i].ta_version_id, err)) != TAM_OK ||
		    (rc = store_step_done(st, s, what, err)) != TAM_OK)
			goto out;
		store_release(s);
	}
	if ((rc = store_prepare(st, SQL_STATE_ADD_AIK, &s, err)) != TAM_OK)
		goto out;
	for (size_t i = 0; i < in->n_aiks; i++) {
		snprintf(what, sizeof(what), "SP AIK \"%s\"", in->aiks[i].spid);
		if ((rc = store_bind_int64(st, s, 1, device_id, err)) != TAM_OK ||
		    (rc = store_bind_text(st, s, 2, in->aiks[i].spid, err)) != TAM_OK ||
		    (rc = store_bind_blob(st, s, 3, in->aiks[i].spki, in->aiks[i].spki_len,
		    err)) != TAM_OK ||
		    (rc = store_step_done(st, s, what, err)) != TAM_OK)
			goto out;
		store_release(s);
	}
out:
	store_release(s);
	return rc;
}

int
store_device_state_set(struct store *st, int64_t device_id, const struct tam_dev_state *in,
    struct tam_err *err)
{
	const struct store_params key = STORE_PARAMS(STORE_INT64(device_id));
	struct store_tx tx;
	char what[48];
	int rc;

	if ((rc = state_check(in, err)) != TAM_OK)
		return rc;
	snprintf(what, sizeof(what), "device %lld", (long long)device_id);
	if ((rc = store_tx_open(st, true, &tx, err)) != TAM_OK)
		return rc;
	if ((rc = store_get(st, SQL_STATE_DEVICE, key, what, NULL, NULL, err)) == TAM_OK &&
	    (rc = store_run(st, SQL_STATE_DEL_SDS, key, "device state", err)) == TAM_OK &&
	    (rc = store_run(st, SQL_STATE_DEL_TAS, key, "device state", err)) == TAM_OK &&
	    (rc = store_run(st, SQL_STATE_DEL_AIKS, key, "device state", err)) == TAM_OK)
		rc = state_insert(st, device_id, in, err);
	return store_tx_close(st, &tx, rc, err);
}
