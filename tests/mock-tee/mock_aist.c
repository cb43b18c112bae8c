// SPDX-License-Identifier: MIT
/*
 * The mock TEE's "aist" mode: the device side of the AIST OTrP prototype
 * (broker + agent, teep-device 845b027) as ../docs/interop-aist.md
 * describes it on the wire, written from that description:
 *
 * - messages are cut out by string scanning: the first quoted string names
 *   the message, its JWS runs from the next '{' to the first '}' (so it must
 *   hold no nested object); InstallTA's encrypted_ta and DeleteTA's content
 *   are cut the same way out of the decoded payload;
 * - the TAM's JWS is checked against the compiled-in TAM key (for
 *   GetDeviceState the device ignores the result; this mock is stricter and
 *   stops, so tests see a TAM that signs badly);
 * - answers carry rid and tid "1", a protected header of {"alg":"RS256"}
 *   only, and a flat JWE (RSA1_5 + A128CBC-HS256) of the DSI with the TAM's
 *   own public key in "header.jwk";
 * - the DSI names one implicit SD whose "ta_list" is what the device was
 *   told to claim (its --talist), never what is installed;
 * - InstallTA's TA comes out of a JWE to the TEE key as the SP-signed
 *   flattened JWS; the TA's UUID is read from the image itself (OP-TEE takes
 *   it from the TA header; here, its first 16 bytes), never from a field;
 * - on any error it stops answering, as the device does (no "fail" status).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_int.h"

#define AIST_NAME_MAX 32                 /* outer key shorter than this */
#define AIST_REPLY_MAX (800 * 1024)      /* every reply after the first */
#define AIST_TA_MAX (200 * 1024)         /* decrypted TA image buffer */
#define AIST_DELETE_PT_MAX (5 * 1024)    /* decrypted delete content */
#define AIST_SD "aist.implicit"          /* how this mock files the implicit SD */

/* The JSON object from the first '{' at or after from up to the first '}' after it. */
static json_t *
cut_object(const char *text, size_t len, const char *from)
{
	const char *open, *close;

	if (from == NULL)
		return NULL;
	open = memchr(from, '{', len - (size_t)(from - text));
	if (open == NULL)
		return NULL;
	close = memchr(open, '}', len - (size_t)(open - text));
	if (close == NULL)
		return NULL;
	return json_loadb(open, (size_t)(close - open + 1), 0, NULL);
}

/* First occurrence of needle in the n bytes at hay, or NULL. */
static const char *
find(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return hay + i;
	return NULL;
}

/* A flat JWE (no nested object, alg/enc protected) to the TEE key, decrypted. */
static int
open_flat_jwe(struct mock_tee *mt, const json_t *jwe, uint8_t **pt, size_t *len,
    struct tam_err *err)
{
	if (!json_is_object(jwe) || json_object_get(jwe, "header") != NULL ||
	    json_object_get(jwe, "recipients") != NULL)
		return tam_err_set(err, TAM_EMALFORMED, "aist: not a flat flattened JWE");
	if (jose_jwe_suite(jwe, mt->last_content_alg, mt->last_content_enc, err) != TAM_OK)
		return TAM_EMALFORMED;
	if (strcmp(mt->last_content_alg, JOSE_ALG_RSA1_5) != 0 ||
	    strcmp(mt->last_content_enc, JOSE_ENC_A128CBC_HS256) != 0)
		return tam_err_set(err, TAM_EALG, "aist: JWE is %s + %s, not RSA1_5 + A128CBC-HS256",
		    mt->last_content_alg, mt->last_content_enc);
	return jose_jwe_decrypt(mt->key, jwe, pt, len, err);
}

/* The DSI: one implicit SD whose ta_list is what the device claims; the Nth is sp-hello-ta-N. */
static json_t *
aist_dsi(const struct mock_tee *mt)
{
	json_t *list = json_array(), *v;
	char taname[32];
	size_t i;

	if (list == NULL)
		return NULL;
	json_array_foreach(mt->aist_talist, i, v) {
		snprintf(taname, sizeof(taname), "sp-hello-ta-%zu", i + 1);
		if (json_array_append_new(list, json_pack("{s:O,s:s}", "taid", v, "taname",
		    taname)) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return json_pack("{s:{s:{s:s,s:s,s:{s:i,s:[{s:o}]}}}}", "dsi", "tee", "name", "aist-otrp",
	    "ver", "1.0", "sdlist", "cnt", 1, "sd", "ta_list", list);
}

/* Its JWE: flat, alg and enc protected, the recipient's (the TAM's) public key in header.jwk. */
static int
aist_encrypt(const struct mock_tee *mt, const char *pt, json_t **out, struct tam_err *err)
{
	json_t *jwe = NULL, *jwk = NULL;
	char *jwk_text = NULL, kid[JOSE_THUMBPRINT_LEN];
	int rc;

	*out = NULL;
	if ((rc = jose_jwe_encrypt(mt->aist_tam, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
	    JOSE_JWE_FLAT_PROTECTED, (const uint8_t *)pt, strlen(pt), &jwe, err)) != TAM_OK ||
	    (rc = jose_key_to_jwk(mt->aist_tam, false, &jwk_text, err)) != TAM_OK ||
	    (rc = jose_key_thumbprint(mt->aist_tam, kid, err)) != TAM_OK)
		goto out;
	jwk = json_loads(jwk_text, 0, NULL);
	/* In its member order: protected, header, encrypted_key, iv, ciphertext, tag. */
	if (jwk == NULL || json_object_set_new(jwk, "kid", json_string(kid)) != 0 ||
	    (*out = json_pack("{s:O,s:{s:O},s:O,s:O,s:O,s:O}", "protected",
	    json_object_get(jwe, "protected"), "header", "jwk", jwk, "encrypted_key",
	    json_object_get(jwe, "encrypted_key"), "iv", json_object_get(jwe, "iv"), "ciphertext",
	    json_object_get(jwe, "ciphertext"), "tag", json_object_get(jwe, "tag"))) == NULL)
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
out:
	json_decref(jwk);
	json_decref(jwe);
	free(jwk_text);
	return rc;
}

static int
aist_respond(struct mock_tee *mt, const char *name, const char *tbs_name, bool gds, char **out,
    size_t *outlen, struct tam_err *err)
{
	json_t *dsi = aist_dsi(mt), *jwe = NULL, *tbs = NULL, *jws = NULL, *wrap = NULL;
	char *dsi_text = NULL, *payload = NULL;
	int rc;

	if (dsi == NULL || (dsi_text = json_dumps(dsi, JSON_COMPACT)) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = aist_encrypt(mt, dsi_text, &jwe, err)) != TAM_OK)
		goto out;
	tbs = gds ? json_pack("{s:{s:s,s:s,s:s,s:s,s:b,s:O}}", tbs_name, "ver", "1.0", "status",
	    "pass", "rid", "1", "tid", "1", "signerreq", 0, "edsi", jwe) :
	    json_pack("{s:{s:s,s:s,s:s,s:s,s:O}}", tbs_name, "ver", "1.0", "status", "pass", "rid",
	    "1", "tid", "1", "content", jwe);
	if (tbs == NULL || (payload = json_dumps(tbs, JSON_COMPACT)) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = jose_jws_sign(mt->key, JOSE_ALG_RS256, NULL, NULL, (const uint8_t *)payload,
	    strlen(payload), &jws, err)) != TAM_OK)
		goto out;
	wrap = gds ? json_pack("{s:[{s:O}]}", name, "GetDeviceTEEStateResponse", jws) :
	    json_pack("{s:O}", name, jws);
	if (wrap == NULL || (*out = json_dumps(wrap, JSON_COMPACT)) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	*outlen = strlen(*out);
	snprintf(mt->last_response, sizeof(mt->last_response), "%s", name);
out:
	json_decref(wrap);
	json_decref(jws);
	json_decref(tbs);
	json_decref(jwe);
	json_decref(dsi);
	free(payload);
	free(dsi_text);
	return rc;
}

/* 16 bytes as the 36-character UUID text. */
static void
uuid_text(const uint8_t b[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static bool
uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return false;
	}
	return true;
}

/* The implicit SD in a copy of the state, made on first use. */
static json_t *
implicit_sd(json_t *st)
{
	json_t *sd = mt_state_sd(st, AIST_SD);

	if (sd == NULL && json_array_append_new(json_object_get(st, "sds"),
	    json_pack("{s:s,s:s,s:s,s:[],s:[]}", "name", AIST_SD, "spid", "aist", "owner", "aist",
	    "spcerts", "tas")) == 0)
		sd = mt_state_sd(st, AIST_SD);
	return sd;
}

static int
aist_install(struct mock_tee *mt, const char *payload, size_t len, struct tam_err *err)
{
	json_t *eta = cut_object(payload, len, find(payload, len, "encrypted_ta")), *doc = NULL;
	json_t *next = NULL, *sd;
	struct jose_jws *sp = NULL;
	uint8_t *pt = NULL;
	const uint8_t *image;
	size_t ptlen = 0, image_len = 0;
	char uuid[37], path[PATH_MAX];
	int rc;

	if (eta == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "aist: no flat encrypted_ta object");
	if ((rc = open_flat_jwe(mt, eta, &pt, &ptlen, err)) != TAM_OK)
		goto out;
	/* The SP's flattened JWS of the image, checked with the compiled-in SP key. */
	doc = json_loadb((const char *)pt, ptlen, 0, NULL);
	if (doc == NULL || jose_jws_parse(doc, &sp, err) != TAM_OK) {
		rc = tam_err_set(err, TAM_EMALFORMED, "aist: the TA is not a flattened JWS");
		goto out;
	}
	if ((rc = jose_jws_verify(sp, mt->aist_sp, err)) != TAM_OK)
		goto out;
	image = jose_jws_payload_unverified(sp, &image_len);
	if (image_len < 16 || image_len > AIST_TA_MAX) {
		rc = tam_err_set(err, TAM_ETOO_LARGE, "aist: a TA image of %zu bytes", image_len);
		goto out;
	}
	uuid_text(image, uuid);
	next = json_deep_copy(mt->state);
	if (next == NULL || (sd = implicit_sd(next)) == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (mt_sd_ta_index(sd, uuid) < 0 && json_array_append_new(json_object_get(sd, "tas"),
	    json_pack("{s:s,s:s}", "taid", uuid, "taname", uuid)) != 0) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mt_path(mt, MT_TA_DIR, "", uuid, ".ta", path, sizeof(path), err)) != TAM_OK ||
	    (rc = tam_file_write_atomic(path, image, image_len, 0600, err)) != TAM_OK)
		goto out;
	rc = mt_state_save(mt, next, err);
	if (rc == TAM_OK) {
		json_decref(mt->state);
		mt->state = next;
		next = NULL;
	}
out:
	json_decref(next);
	jose_jws_free(sp);
	json_decref(doc);
	json_decref(eta);
	if (pt != NULL) {
		tam_wipe(pt, ptlen);
		free(pt);
	}
	return rc;
}

static int
aist_delete(struct mock_tee *mt, const char *payload, size_t len, struct tam_err *err)
{
	json_t *c = cut_object(payload, len, find(payload, len, "content")), *next = NULL, *sd;
	const char *key, *q1, *q2;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	char uuid[37] = "", path[PATH_MAX];
	long at;
	int rc;

	if (c == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "aist: no flat content object");
	if ((rc = open_flat_jwe(mt, c, &pt, &ptlen, err)) != TAM_OK)
		goto out;
	if (ptlen >= AIST_DELETE_PT_MAX) {
		rc = tam_err_set(err, TAM_ETOO_LARGE, "aist: delete content of %zu bytes", ptlen);
		goto out;
	}
	/* The first "taid" key's string value. */
	key = find((const char *)pt, ptlen, "\"taid\"");
	q1 = key != NULL ? memchr(key + 6, '"', ptlen - (size_t)(key + 6 - (const char *)pt)) : NULL;
	q2 = q1 != NULL ? memchr(q1 + 1, '"', ptlen - (size_t)(q1 + 1 - (const char *)pt)) : NULL;
	if (q2 == NULL || q2 - q1 - 1 != 36) {
		rc = tam_err_set(err, TAM_EMALFORMED, "aist: no UUID taid in the delete content");
		goto out;
	}
	memcpy(uuid, q1 + 1, 36);
	if (!uuid_valid(uuid)) {
		rc = tam_err_set(err, TAM_EMALFORMED, "aist: taid \"%s\" is not a UUID", uuid);
		goto out;
	}
	next = json_deep_copy(mt->state);
	sd = next != NULL ? mt_state_sd(next, AIST_SD) : NULL;
	if (sd == NULL || (at = mt_sd_ta_index(sd, uuid)) < 0) {
		rc = tam_err_set(err, TAM_ENOTFOUND, "aist: TA %s is not installed", uuid);
		goto out;
	}
	json_array_remove(json_object_get(sd, "tas"), (size_t)at);
	if ((rc = mt_state_save(mt, next, err)) != TAM_OK)
		goto out;
	json_decref(mt->state);
	mt->state = next;
	next = NULL;
	if (mt_path(mt, MT_TA_DIR, "", uuid, ".ta", path, sizeof(path), NULL) == TAM_OK)
		unlink(path);
out:
	json_decref(next);
	json_decref(c);
	if (pt != NULL) {
		tam_wipe(pt, ptlen);
		free(pt);
	}
	return rc;
}

static int
aist_process(struct mock_tee *mt, const uint8_t *msg, size_t len, char **resp,
    size_t *resp_len, struct tam_err *err)
{
	static const char *const known[] = { "GetDeviceStateRequest", "InstallTARequest",
		"DeleteTARequest" };
	const char *text = (const char *)msg, *q1, *q2, *hdr_typ;
	struct jose_jws *jws = NULL;
	const uint8_t *payload;
	size_t payload_len = 0, k;
	char name[AIST_NAME_MAX];
	json_t *obj;
	int rc;

	if (len > AIST_REPLY_MAX)
		return tam_err_set(err, TAM_ETOO_LARGE, "aist: a reply of %zu bytes", len);
	/* The first quoted string names the message. */
	q1 = memchr(text, '"', len);
	q2 = q1 != NULL ? memchr(q1 + 1, '"', len - (size_t)(q1 + 1 - text)) : NULL;
	if (q2 == NULL || (size_t)(q2 - q1 - 1) >= sizeof(name))
		return tam_err_set(err, TAM_EMALFORMED, "aist: no message name");
	memcpy(name, q1 + 1, (size_t)(q2 - q1 - 1));
	name[q2 - q1 - 1] = '\0';
	for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (strcmp(name, known[k]) == 0)
			break;
	if (k == sizeof(known) / sizeof(known[0]))
		return tam_err_set(err, TAM_EUNSUPPORTED, "aist: unknown message \"%s\"", name);
	snprintf(mt->last_request, sizeof(mt->last_request), "%s", name);
	snprintf(mt->last_outcome, sizeof(mt->last_outcome), "pass");
	obj = cut_object(text, len, q2);
	if (obj == NULL)
		return tam_err_set(err, TAM_EMALFORMED,
		    "aist: %s holds no flat JWS (a nested object ends it early)", name);
	rc = jose_jws_parse(obj, &jws, err);
	if (rc == TAM_OK && (hdr_typ = json_string_value(json_object_get(jose_jws_protected(jws),
	    "typ"))) != NULL && strcmp(hdr_typ, "JWT") != 0)
		rc = tam_err_set(err, TAM_EMALFORMED, "aist: typ \"%s\" in the JWS", hdr_typ);
	if (rc == TAM_OK)
		rc = jose_jws_verify(jws, mt->aist_tam, err);
	if (rc != TAM_OK)
		goto out;
	payload = jose_jws_payload_unverified(jws, &payload_len);
	if (k == 1)
		rc = aist_install(mt, (const char *)payload, payload_len, err);
	else if (k == 2)
		rc = aist_delete(mt, (const char *)payload, payload_len, err);
	if (rc == TAM_OK)
		rc = k == 0 ? aist_respond(mt, "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse",
		    true, resp, resp_len, err) :
		    k == 1 ? aist_respond(mt, "InstallTAResponse", "InstallTATBSResponse", false, resp,
		    resp_len, err) :
		    aist_respond(mt, "DeleteTAResponse", "DeleteTATBSResponse", false, resp, resp_len,
		    err);
out:
	jose_jws_free(jws);
	json_decref(obj);
	return rc;
}

int
mt_aist_process(struct mock_tee *mt, const uint8_t *msg, size_t len, char **resp,
    size_t *resp_len, struct tam_err *err)
{
	struct tam_err local = { 0 };
	int rc;

	if (err == NULL)
		err = &local;
	if ((rc = aist_process(mt, msg, len, resp, resp_len, err)) != TAM_OK) {
		/* The device just stops; the reason is kept for the tests. */
		snprintf(mt->last_outcome, sizeof(mt->last_outcome), "stopped");
		snprintf(mt->last_detail, sizeof(mt->last_detail), "%s", err->msg);
	}
	return rc;
}
