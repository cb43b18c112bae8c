// SPDX-License-Identifier: MIT
/*
 * The mock TEE's persistent state: state.json (SDs with their SP, owner TAM,
 * SP certificates and TAs), one AIK key file per SP and the installed TA
 * files, all under the state directory, plus the DSI document built from
 * them. Every name that reaches a path comes from a TAM and is checked
 * here, so a hostile TAM cannot make the TEE write outside its directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_int.h"

/* Longest name (spid, taid) we put into a file name, with its NUL. */
#define MT_FILE_NAME_MAX 128

int
mt_path(const struct mock_tee *mt, const char *sub, const char *prefix, const char *name,
    const char *suffix, char *out, size_t outlen, struct tam_err *err)
{
	int n;

	if (!tam_valid_name(name, MT_FILE_NAME_MAX) || name[0] == '.')
		return tam_err_set(err, TAM_EINVAL, "unsafe name for a file: \"%.64s\"", name);
	if (sub[0] != '\0')
		n = snprintf(out, outlen, "%s/%s/%s%s%s", mt->dir, sub, prefix, name, suffix);
	else
		n = snprintf(out, outlen, "%s/%s%s%s", mt->dir, prefix, name, suffix);
	if (n < 0 || (size_t)n >= outlen)
		return tam_err_set(err, TAM_EINVAL, "path for \"%s\" too long", name);
	return TAM_OK;
}

int
mt_b64std_decode(const char *in, size_t n, uint8_t **out, size_t *outlen)
{
	size_t i, pad = 0;

	*out = NULL;
	*outlen = 0;
	if (n == 0 || n % 4 != 0)
		return TAM_EMALFORMED;
	for (i = 0; i < n; i++) {
		char c = in[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return TAM_EMALFORMED;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/'))
			return TAM_EMALFORMED;
	}
	if (pad > 2)
		return TAM_EMALFORMED;
	return tam_b64_decode_any(in, n, out, outlen);
}

/* Validate one SD object of a state file. */
static bool
sd_valid(json_t *sd)
{
	const char *name, *spid, *owner;
	json_t *certs, *tas, *v;
	size_t i;

	if (json_unpack(sd, "{s:s,s:s,s:s,s:o,s:o!}", "name", &name, "spid", &spid,
	    "owner", &owner, "spcerts", &certs, "tas", &tas) != 0)
		return false;
	if (!tam_valid_name(name, TAM_SDNAME_MAX) || !tam_valid_name(spid, TAM_SPID_MAX) ||
	    owner[0] == '\0' || !json_is_array(certs) || !json_is_array(tas))
		return false;
	json_array_foreach(certs, i, v)
		if (!json_is_string(v))
			return false;
	json_array_foreach(tas, i, v) {
		const char *taid, *taname;

		if (json_unpack(v, "{s:s,s:s!}", "taid", &taid, "taname", &taname) != 0 ||
		    !tam_valid_name(taid, TAM_TAID_MAX))
			return false;
	}
	return true;
}

int
mt_state_load(struct mock_tee *mt, struct tam_err *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *st = NULL, *sds, *sd;
	uint8_t *data = NULL;
	size_t len = 0, i;
	int version, rc;

	if ((rc = mt_path(mt, "", "", MT_STATE_FILE, "", path, sizeof(path), err)) != TAM_OK)
		return rc;
	rc = tam_file_read(path, MT_MAX_STATE_BYTES, &data, &len, err);
	if (rc == TAM_ENOTFOUND) {
		st = json_pack("{s:i,s:[]}", "version", MT_STATE_VERSION, "sds");
		if (st == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		rc = TAM_OK;
		goto done;
	}
	if (rc != TAM_OK)
		goto out;
	st = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (st == NULL) {
		rc = tam_err_set(err, TAM_EMALFORMED, "%s: not JSON (line %d: %s)", path, jerr.line,
		    jerr.text);
		goto out;
	}
	if (json_unpack(st, "{s:i,s:o!}", "version", &version, "sds", &sds) != 0 ||
	    version != MT_STATE_VERSION || !json_is_array(sds)) {
		rc = tam_err_set(err, TAM_EMALFORMED, "%s: not a version %d state file", path,
		    MT_STATE_VERSION);
		goto out;
	}
	json_array_foreach(sds, i, sd)
		if (!sd_valid(sd)) {
			rc = tam_err_set(err, TAM_EMALFORMED, "%s: SD %zu is malformed", path, i);
			goto out;
		}
done:
	json_decref(mt->state);
	mt->state = st;
	st = NULL;
out:
	json_decref(st);
	free(data);
	return rc;
}

int
mt_state_save(struct mock_tee *mt, const json_t *st, struct tam_err *err)
{
	char path[PATH_MAX], *text;
	int rc;

	if ((rc = mt_path(mt, "", "", MT_STATE_FILE, "", path, sizeof(path), err)) != TAM_OK)
		return rc;
	text = json_dumps(st, JSON_INDENT(1));
	if (text == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	rc = tam_file_write_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

json_t *
mt_state_sd(const json_t *st, const char *sdname)
{
	json_t *sd;
	size_t i;

	json_array_foreach(json_object_get(st, "sds"), i, sd)
		if (strcmp(json_string_value(json_object_get(sd, "name")), sdname) == 0)
			return sd;
	return NULL;
}

long
mt_sd_ta_index(const json_t *sd, const char *taid)
{
	json_t *ta;
	size_t i;

	json_array_foreach(json_object_get(sd, "tas"), i, ta)
		if (strcmp(json_string_value(json_object_get(ta, "taid")), taid) == 0)
			return (long)i;
	return -1;
}

json_t *
mt_state_sd_of_ta(const json_t *st, const char *taid)
{
	json_t *sd;
	size_t i;

	json_array_foreach(json_object_get(st, "sds"), i, sd)
		if (mt_sd_ta_index(sd, taid) >= 0)
			return sd;
	return NULL;
}

/* Cache a loaded AIK; takes key. */
static int
aik_cache(struct mock_tee *mt, const char *spid, struct jose_key *key,
    const struct jose_key **out, struct tam_err *err)
{
	struct mt_aik *a;

	a = realloc(mt->aiks, (mt->n_aiks + 1) * sizeof(*a));
	if (a == NULL) {
		jose_key_free(key);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	mt->aiks = a;
	if (tam_strlcpy_checked(a[mt->n_aiks].spid, spid, sizeof(a[mt->n_aiks].spid)) != TAM_OK) {
		jose_key_free(key);
		return tam_err_set(err, TAM_EINVAL, "spid too long");
	}
	a[mt->n_aiks].key = key;
	mt->n_aiks++;
	*out = key;
	return TAM_OK;
}

int
mt_aik_get(struct mock_tee *mt, const char *spid, const struct jose_key **out,
    struct tam_err *err)
{
	struct jose_key *key = NULL;
	char path[PATH_MAX];
	uint8_t *pem = NULL;
	size_t len = 0, i;
	int rc;

	*out = NULL;
	for (i = 0; i < mt->n_aiks; i++)
		if (strcmp(mt->aiks[i].spid, spid) == 0) {
			*out = mt->aiks[i].key;
			return TAM_OK;
		}
	if (!tam_valid_name(spid, TAM_SPID_MAX))
		return tam_err_set(err, TAM_EINVAL, "invalid spid");
	if ((rc = mt_path(mt, "", "aik-", spid, ".pem", path, sizeof(path), err)) != TAM_OK)
		return rc;
	rc = tam_file_read(path, TAM_MAX_PEM_BYTES, &pem, &len, NULL);
	if (rc == TAM_ENOTFOUND)
		return TAM_OK;
	if (rc != TAM_OK)
		return tam_err_set(err, rc, "%s: cannot read", path);
	rc = jose_key_from_pem(pem, len, &key, err);
	tam_wipe(pem, len);
	free(pem);
	if (rc != TAM_OK)
		return rc;
	if (!jose_key_is_private(key) || jose_key_type(key) != jose_key_type(mt->key)) {
		jose_key_free(key);
		return tam_err_set(err, TAM_EINVAL, "%s: not a private key of the TEE key's type",
		    path);
	}
	return aik_cache(mt, spid, key, out, err);
}

int
mt_aik_forget(struct mock_tee *mt, const char *spid, struct tam_err *err)
{
	char path[PATH_MAX];
	int rc;

	for (size_t i = 0; i < mt->n_aiks; i++)
		if (strcmp(mt->aiks[i].spid, spid) == 0) {
			jose_key_free(mt->aiks[i].key);
			mt->aiks[i] = mt->aiks[--mt->n_aiks];
			break;
		}
	if ((rc = mt_path(mt, "", "aik-", spid, ".pem", path, sizeof(path), err)) != TAM_OK)
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
	return TAM_OK;
}

int
mt_aik_ensure(struct mock_tee *mt, const char *spid, const struct jose_key **out,
    struct tam_err *err)
{
	struct jose_key *key = NULL;
	char path[PATH_MAX], *pem = NULL;
	int rc;

	if ((rc = mt_aik_get(mt, spid, out, err)) != TAM_OK || *out != NULL)
		return rc;
	if ((rc = mt_path(mt, "", "aik-", spid, ".pem", path, sizeof(path), err)) != TAM_OK)
		return rc;
	if ((rc = jose_key_generate(jose_key_type(mt->key), &key, err)) != TAM_OK)
		return rc;
	if ((rc = jose_key_to_pem(key, true, &pem, err)) != TAM_OK)
		goto out;
	if ((rc = tam_file_write_atomic(path, pem, strlen(pem), 0600, err)) != TAM_OK)
		goto out;
	rc = aik_cache(mt, spid, key, out, err);
	key = NULL;
out:
	if (pem != NULL) {
		tam_wipe(pem, strlen(pem));
		free(pem);
	}
	jose_key_free(key);
	return rc;
}

int
mt_spki_b64(const struct jose_key *k, char **out, struct tam_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = jose_key_to_spki(k, &der, &len, err)) != TAM_OK)
		return rc;
	if (tam_b64_encode(der, len, out) != TAM_OK)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	free(der);
	return rc;
}

/* {"name","spid","talist":[{"taid","taname"}...]} for one SD. */
static json_t *
dsi_sd(const json_t *sd)
{
	json_t *talist = json_array(), *ta;
	size_t i;

	if (talist == NULL)
		return NULL;
	json_array_foreach(json_object_get(sd, "tas"), i, ta)
		if (json_array_append_new(talist, json_pack("{s:O,s:O}", "taid",
		    json_object_get(ta, "taid"), "taname", json_object_get(ta, "taname"))) != 0) {
			json_decref(talist);
			return NULL;
		}
	return json_pack("{s:O,s:O,s:o}", "name", json_object_get(sd, "name"), "spid",
	    json_object_get(sd, "spid"), "talist", talist);
}

/* Append {"spaik","spaiktype","spid"} for spid to aiks unless it is there. */
static int
dsi_aik(struct mock_tee *mt, json_t *aiks, const char *spid, struct tam_err *err)
{
	const struct jose_key *k = NULL;
	char *spki = NULL;
	json_t *a;
	size_t i;
	int rc;

	json_array_foreach(aiks, i, a)
		if (strcmp(json_string_value(json_object_get(a, "spid")), spid) == 0)
			return TAM_OK;
	if ((rc = mt_aik_get(mt, spid, &k, err)) != TAM_OK)
		return rc;
	if (k == NULL)
		return tam_err_set(err, TAM_ENOTFOUND, "SP %s has an SD but no AIK", spid);
	if ((rc = mt_spki_b64(k, &spki, err)) != TAM_OK)
		return rc;
	if (json_array_append_new(aiks, json_pack("{s:s,s:s,s:s}", "spaik", spki, "spaiktype",
	    MT_AIK_TYPE(mt), "spid", spid)) != 0)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
	free(spki);
	return rc;
}

int
mt_dsi_build(struct mock_tee *mt, const json_t *st, const char *tamid, char **out,
    size_t *len, struct tam_err *err)
{
	json_t *tee = NULL, *sds = NULL, *aiks = NULL, *doc = NULL, *sd;
	size_t i;
	int rc = TAM_OK;

	*out = NULL;
	*len = 0;
	sds = json_array();
	aiks = json_array();
	tee = json_pack("{s:s,s:s}", "name", mt->name, "ver", MT_TEE_VERSION);
	if (sds == NULL || aiks == NULL || tee == NULL)
		goto nomem;
	if (mt->cert_b64 != NULL &&
	    (json_object_set_new(tee, "cert", json_string(mt->cert_b64)) != 0 ||
	    json_object_set(tee, "cacert", mt->cacerts) != 0))
		goto nomem;
	json_array_foreach(json_object_get(st, "sds"), i, sd) {
		/* A TAM sees only the SDs it owns (spec §5.1), and those a lie says it owns. */
		const char *owner = json_string_value(json_object_get(sd, "owner"));
		if (strcmp(owner, tamid) != 0 && strcmp(owner, MT_OWNER_ANY) != 0)
			continue;
		if (json_array_append_new(sds, dsi_sd(sd)) != 0)
			goto nomem;
		if ((rc = dsi_aik(mt, aiks, json_string_value(json_object_get(sd, "spid")),
		    err)) != TAM_OK)
			goto out;
	}
	if (json_object_set_new(tee, "sdlist", json_pack("{s:I,s:O}", "cnt",
	    (json_int_t)json_array_size(sds), "sd", sds)) != 0 ||
	    json_object_set(tee, "teeaiklist", aiks) != 0)
		goto nomem;
	doc = json_pack("{s:{s:O}}", "dsi", "tee", tee);
	if (doc == NULL)
		goto nomem;
	*out = json_dumps(doc, JSON_COMPACT);
	if (*out == NULL)
		goto nomem;
	*len = strlen(*out);
	goto out;
nomem:
	rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
out:
	json_decref(doc);
	json_decref(tee);
	json_decref(aiks);
	json_decref(sds);
	return rc;
}

/* ---- inspection ---- */

bool
mock_tee_has_sd(struct mock_tee *mt, const char *sdname)
{
	return mt_state_sd(mt->state, sdname) != NULL;
}

int
mock_tee_sd_certs(struct mock_tee *mt, const char *sdname, uint8_t (*fps)[32], size_t max)
{
	const json_t *sd = mt_state_sd(mt->state, sdname), *c;
	uint8_t *der = NULL;
	size_t i, len = 0;

	if (sd == NULL)
		return -1;
	json_array_foreach(json_object_get(sd, "spcerts"), i, c) {
		if (i >= max)
			break;
		if (!json_is_string(c) || tam_b64_decode_any(json_string_value(c),
		    json_string_length(c), &der, &len) != TAM_OK)
			return -1;
		tam_sha256(der, len, fps[i]);
		free(der);
	}
	return (int)json_array_size(json_object_get(sd, "spcerts"));
}

bool
mock_tee_has_ta(struct mock_tee *mt, const char *taid)
{
	return mt_state_sd_of_ta(mt->state, taid) != NULL;
}

int
mock_tee_pdata(struct mock_tee *mt, const char *taid, uint8_t **data, size_t *len)
{
	char path[PATH_MAX];

	*data = NULL;
	*len = 0;
	if (!mock_tee_has_ta(mt, taid) ||
	    mt_path(mt, MT_TA_DIR, "", taid, ".pdata", path, sizeof(path), NULL) != TAM_OK)
		return TAM_ENOTFOUND;
	return tam_file_read(path, 1u << 24, data, len, NULL);
}

int
mock_tee_ta_path(struct mock_tee *mt, const char *taid, char *out, size_t outlen)
{
	if (!mock_tee_has_ta(mt, taid))
		return TAM_ENOTFOUND;
	return mt_path(mt, MT_TA_DIR, "", taid, ".ta", out, outlen, NULL);
}

const struct jose_key *
mock_tee_key(struct mock_tee *mt)
{
	return mt->key;
}

const struct jose_key *
mock_tee_aik(struct mock_tee *mt, const char *spid)
{
	const struct jose_key *k = NULL;

	if (mt_aik_get(mt, spid, &k, NULL) != TAM_OK)
		return NULL;
	return k;
}

const char *
mock_tee_dsi(struct mock_tee *mt)
{
	return mt->last_dsi;
}

void
mock_tee_did(const struct mock_tee *mt, uint8_t did[32])
{
	memcpy(did, mt->did, 32);
}
