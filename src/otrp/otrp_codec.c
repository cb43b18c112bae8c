// SPDX-License-Identifier: MIT
/*
 * OTrP message codec. Every member name of the protocol appears here and
 * nowhere else. Decoding takes hostile bytes: sizes are bounded, types are
 * checked, duplicate keys are refused, and nothing decoded is trusted until
 * the engine has verified the signature it came with.
 */
#include <stdlib.h>
#include <string.h>

#include "tam/otrp.h"

struct msg_names {
	enum otrp_msg msg;
	const char *request;
	const char *tbs_request;
	const char *response;
	const char *tbs_response;
};

static const struct msg_names names[] = {
	{ OTRP_MSG_GET_DEVICE_STATE, "GetDeviceStateRequest", "GetDeviceStateTBSRequest",
	    "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse" },
	{ OTRP_MSG_CREATE_SD, "CreateSDRequest", "CreateSDTBSRequest",
	    "CreateSDResponse", "CreateSDTBSResponse" },
	{ OTRP_MSG_INSTALL_TA, "InstallTARequest", "InstallTATBSRequest",
	    "InstallTAResponse", "InstallTATBSResponse" },
	{ OTRP_MSG_DELETE_TA, "DeleteTARequest", "DeleteTATBSRequest",
	    "DeleteTAResponse", "DeleteTATBSResponse" },
	{ OTRP_MSG_UPDATE_TA, "UpdateTARequest", "UpdateTATBSRequest",
	    "UpdateTAResponse", "UpdateTATBSResponse" },
	{ OTRP_MSG_DELETE_SD, "DeleteSDRequest", "DeleteSDTBSRequest",
	    "DeleteSDResponse", "DeleteSDTBSResponse" },
	{ OTRP_MSG_UPDATE_SD, "UpdateSDRequest", "UpdateSDTBSRequest",
	    "UpdateSDResponse", "UpdateSDTBSResponse" },
};

/* The one TEE entry of a GetDeviceStateResponse array. */
#define GDS_TEE_ENTRY "GetDeviceTEEStateResponse"

static const struct msg_names *
names_of(enum otrp_msg m)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].msg == m)
			return &names[i];
	return NULL;
}

const char *
otrp_request_name(enum otrp_msg m)
{
	const struct msg_names *n = names_of(m);
	return n ? n->request : "unknown";
}

const char *
otrp_response_name(enum otrp_msg m)
{
	const struct msg_names *n = names_of(m);
	if (m == OTRP_MSG_BROKER_ERROR)
		return "OTrPBrokerError";
	return n ? n->response : "unknown";
}

enum otrp_msg
otrp_msg_for_op(enum tam_op_kind k)
{
	switch (k) {
	case TAM_OP_CREATE_SD: return OTRP_MSG_CREATE_SD;
	case TAM_OP_INSTALL_TA: return OTRP_MSG_INSTALL_TA;
	case TAM_OP_DELETE_TA: return OTRP_MSG_DELETE_TA;
	case TAM_OP_UPDATE_TA: return OTRP_MSG_UPDATE_TA;
	case TAM_OP_DELETE_SD: return OTRP_MSG_DELETE_SD;
	case TAM_OP_UPDATE_SD: return OTRP_MSG_UPDATE_SD;
	case TAM_OP_NONE: break;
	}
	return OTRP_MSG_GET_DEVICE_STATE;
}

const char *
otrp_err_name(int code)
{
	switch (code) {
	case TAM_EALG: return "ERR_UNSUPPORTED_CRYPTO_ALG";
	case TAM_EVERSION: return "ERR_UNSUPPORTED_MSG_VERSION";
	case TAM_ENOMEM:
	case TAM_EIO:
	case TAM_ECRYPTO:
	case TAM_EDB: return "ERR_TAM_FAIL";
	default: return "ERR_REQUEST_INVALID";
	}
}

/* ---- small typed accessors ---- */

/* Values we keep, log and show to operators: no control characters among them. */
static bool
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* A string member we keep: present means a value, so it is never empty. */
static int
copy_str(const json_t *v, const char *what, char *dst, size_t dstsize, struct tam_err *err)
{
	if (!json_is_string(v))
		return tam_err_set(err, TAM_EMALFORMED, "%s must be a string", what);
	if (json_string_length(v) == 0)
		return tam_err_set(err, TAM_EMALFORMED, "%s is empty", what);
	if (json_string_length(v) >= dstsize)
		return tam_err_set(err, TAM_EMALFORMED, "%s is too long", what);
	if (!printable(json_string_value(v), json_string_length(v)))
		return tam_err_set(err, TAM_EMALFORMED, "%s holds control characters", what);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return TAM_OK;
}

static int
req_str(const json_t *obj, const char *key, char *dst, size_t dstsize, struct tam_err *err)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "missing member \"%s\"", key);
	return copy_str(v, key, dst, dstsize, err);
}

/* An optional string member: absent is "", but null or "" is no value of it. */
static int
opt_str(const json_t *obj, const char *key, char *dst, size_t dstsize, struct tam_err *err)
{
	const json_t *v = json_object_get(obj, key);

	dst[0] = '\0';
	if (v == NULL)
		return TAM_OK;
	return copy_str(v, key, dst, dstsize, err);
}

/* B64 or B64URL member into malloc'd bytes, at most max bytes decoded. */
static int
get_b64(const json_t *v, const char *what, size_t max, uint8_t **out, size_t *len,
    struct tam_err *err)
{
	int rc;

	if (!json_is_string(v))
		return tam_err_set(err, TAM_EMALFORMED, "%s must be a base64 string", what);
	if (json_string_length(v) / 4 * 3 > max + 3)
		return tam_err_set(err, TAM_ETOO_LARGE, "%s is larger than %zu bytes", what, max);
	rc = tam_b64_decode_any(json_string_value(v), json_string_length(v), out, len);
	if (rc == TAM_ENOMEM)
		return tam_err_set(err, rc, "out of memory");
	if (rc != TAM_OK)
		return tam_err_set(err, TAM_EMALFORMED, "%s is not valid base64", what);
	if (*len == 0 || *len > max) {
		free(*out);
		*out = NULL;
		return tam_err_set(err, TAM_EMALFORMED, "%s has a bad length", what);
	}
	return TAM_OK;
}

/* The single member of an object, or NULL (and *name NULL) if it has not exactly one. */
static json_t *
single_member(const json_t *obj, const char **name)
{
	const char *k;
	json_t *v;

	*name = NULL;
	if (!json_is_object(obj) || json_object_size(obj) != 1)
		return NULL;
	json_object_foreach((json_t *)obj, k, v) {
		*name = k;
		return v;
	}
	return NULL;
}

/* Accept JSON booleans and the string/number spellings the spec's samples use. */
static int
lenient_bool(const json_t *v, bool *out)
{
	const char *s;

	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = json_integer_value(v) == 1;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	while (*s == ' ')
		s++;
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* A count: a JSON integer or, as the spec's samples send it, a numeric string. */
static bool
lenient_count(const json_t *v)
{
	const char *s;
	size_t n;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0;
	if (!json_is_string(v))
		return false;
	for (s = json_string_value(v); *s == ' '; s++)
		;
	n = strlen(s);
	return n > 0 && n <= 9 && strspn(s, "0123456789") == n;
}

/* The key type beside an SP AIK ("spaiktype", "teespaiktype"): a hint, but one of the two. */
static int
check_aik_type(const json_t *obj, const char *key, struct tam_err *err)
{
	char t[8];
	int rc;

	if ((rc = opt_str(obj, key, t, sizeof(t), err)) != TAM_OK)
		return rc;
	if (t[0] != '\0' && strcmp(t, "RSA") != 0 && strcmp(t, "ECC") != 0)
		return tam_err_set(err, TAM_EMALFORMED, "%s must be \"RSA\" or \"ECC\"", key);
	return TAM_OK;
}

/* "reason" as {"error-code": "..."} or a plain string; absent is "". */
static int
read_reason(const json_t *v, char *dst, size_t dstsize, struct tam_err *err)
{
	dst[0] = '\0';
	if (v == NULL)
		return TAM_OK;
	if (json_is_object(v))
		return req_str(v, "error-code", dst, dstsize, err);
	if (!json_is_string(v))
		return tam_err_set(err, TAM_EMALFORMED, "reason must be an object or a string");
	return copy_str(v, "reason", dst, dstsize, err);
}

/*
 * A refused GetDeviceState may say which JWS algorithms the TEE verifies:
 * kept as "A,B" for the operator, each a plain token; anything else, or
 * more than fits, is left out (the list is advice, not an input).
 */
static void
read_sigalgs(const json_t *v, char *dst, size_t dstsize)
{
	const json_t *a;
	size_t i, used = 0;

	dst[0] = '\0';
	json_array_foreach(v, i, a) {
		const char *s = json_string_value(a);
		size_t n = json_string_length(a);
		if (s == NULL || n == 0 || n > JOSE_ALG_MAX - 1 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-+_") != n || used + n + 2 > dstsize)
			continue;
		used += (size_t)snprintf(dst + used, dstsize - used, "%s%s", used ? "," : "", s);
	}
}

/* ---- responses ---- */

/* A broker error's rid or tid: the -03 form sends "" when the broker has none. */
static int
broker_id(const json_t *obj, const char *key, char *dst, size_t dstsize, struct tam_err *err)
{
	const json_t *v = json_object_get(obj, key);

	dst[0] = '\0';
	if (json_is_string(v) && json_string_length(v) == 0)
		return TAM_OK;
	return opt_str(obj, key, dst, dstsize, err);
}

static int
decode_broker_error(struct otrp_response *r, const char *name, const json_t *v,
    struct tam_err *err)
{
	const json_t *code;

	char word[16], text[TAM_ERR_MSG_MAX];

	r->msg = OTRP_MSG_BROKER_ERROR;
	if (!json_is_object(v))
		return tam_err_set(err, TAM_EMALFORMED, "%s must be an object", name);
	if (strcmp(name, "status") == 0) {
		/* -02 form: {"status":{"result":"fail","error-code":...,"error-message":...}} */
		code = json_object_get(v, "error-code");
		if (opt_str(v, "result", word, sizeof(word), err) != TAM_OK ||
		    opt_str(v, "error-message", text, sizeof(text), err) != TAM_OK)
			return err ? err->code : TAM_EMALFORMED;
		if (word[0] != '\0' && strcmp(word, "fail") != 0)
			return tam_err_set(err, TAM_EMALFORMED, "a broker's status result must be \"fail\"");
	} else {
		code = json_object_get(v, "errcode");
		if (opt_str(v, "ver", word, sizeof(word), err) != TAM_OK ||
		    broker_id(v, "rid", r->rid, sizeof(r->rid), err) != TAM_OK ||
		    broker_id(v, "tid", r->tid, sizeof(r->tid), err) != TAM_OK)
			return err ? err->code : TAM_EMALFORMED;
		if (word[0] != '\0' && strcmp(word, OTRP_VERSION) != 0)
			return tam_err_set(err, TAM_EVERSION, "unsupported OTrP version \"%s\"", word);
	}
	if (code == NULL || copy_str(code, "broker error code", r->broker_error,
	    sizeof(r->broker_error), err) != TAM_OK)
		return tam_err_set(err, TAM_EMALFORMED, "broker error without a usable error code");
	return TAM_OK;
}

static int
decode_tbs(struct otrp_response *r, const struct msg_names *n, struct tam_err *err)
{
	const uint8_t *payload;
	json_error_t jerr;
	const json_t *v;
	const char *inner;
	size_t plen;
	char ver[16], status[16];
	int rc;

	payload = jose_jws_payload_unverified(r->jws, &plen);
	r->tbs = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, &jerr);
	if (r->tbs == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "JWS payload is not JSON: %s", jerr.text);
	r->body = single_member(r->tbs, &inner);
	if (r->body == NULL || !json_is_object(r->body))
		return tam_err_set(err, TAM_EMALFORMED, "JWS payload must be one named object");
	if (strcmp(inner, n->tbs_response) != 0)
		return tam_err_set(err, TAM_EMALFORMED, "payload \"%s\" does not match message \"%s\"",
		    inner, n->response);
	if ((rc = req_str(r->body, "ver", ver, sizeof(ver), err)) != TAM_OK)
		return rc;
	if (strcmp(ver, OTRP_VERSION) != 0)
		return tam_err_set(err, TAM_EVERSION, "unsupported OTrP version \"%s\"", ver);
	if ((rc = req_str(r->body, "rid", r->rid, sizeof(r->rid), err)) != TAM_OK ||
	    (rc = req_str(r->body, "tid", r->tid, sizeof(r->tid), err)) != TAM_OK ||
	    (rc = req_str(r->body, "status", status, sizeof(status), err)) != TAM_OK)
		return rc;
	if (strcmp(status, "pass") == 0)
		r->pass = true;
	else if (strcmp(status, "fail") != 0)
		return tam_err_set(err, TAM_EMALFORMED, "status must be \"pass\" or \"fail\"");
	if ((rc = read_reason(json_object_get(r->body, "reason"), r->reason, sizeof(r->reason),
	    err)) != TAM_OK)
		return rc;

	if (r->msg == OTRP_MSG_GET_DEVICE_STATE) {
		v = json_object_get(r->body, "signerreq");
		bool b;
		if (v != NULL && lenient_bool(v, &b) != 0)
			return tam_err_set(err, TAM_EMALFORMED, "signerreq must be a boolean");
		r->edsi = json_object_get(r->body, "edsi");
		if (!r->pass)
			read_sigalgs(json_object_get(r->body, "supportedsigalgs"), r->sigalgs,
			    sizeof(r->sigalgs));
		if (r->pass && !json_is_object(r->edsi))
			return tam_err_set(err, TAM_EMALFORMED, "edsi must be a JWE object");
	} else {
		r->content = json_object_get(r->body, "content");
		if (r->content != NULL && !json_is_object(r->content))
			return tam_err_set(err, TAM_EMALFORMED, "content must be a JWE object");
		if (r->pass && r->content == NULL)
			return tam_err_set(err, TAM_EMALFORMED, "missing member \"content\"");
	}
	return TAM_OK;
}

int
otrp_response_decode(const uint8_t *body, size_t len, struct otrp_response **out,
    struct tam_err *err)
{
	struct otrp_response *r;
	const struct msg_names *n = NULL;
	const json_t *v, *jws;
	const char *name, *inner;
	json_error_t jerr;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	r->doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->doc == NULL) {
		rc = tam_err_set(err, TAM_EMALFORMED, "malformed JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	v = single_member(r->doc, &name);
	if (v == NULL) {
		rc = tam_err_set(err, TAM_EMALFORMED, "a message is an object with exactly one member");
		goto fail;
	}
	if (strcmp(name, "OTrPBrokerError") == 0 || strcmp(name, "status") == 0) {
		if ((rc = decode_broker_error(r, name, v, err)) != TAM_OK)
			goto fail;
		*out = r;
		return TAM_OK;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].response) == 0)
			n = &names[i];
	if (n == NULL) {
		rc = tam_err_set(err, TAM_EMALFORMED, "unknown message \"%.64s\"", name);
		goto fail;
	}
	r->msg = n->msg;
	jws = v;
	if (n->msg == OTRP_MSG_GET_DEVICE_STATE) {
		if (!json_is_array(v) || json_array_size(v) != 1) {
			rc = tam_err_set(err, json_is_array(v) && json_array_size(v) > 1 ?
			    TAM_EUNSUPPORTED : TAM_EMALFORMED,
			    "GetDeviceStateResponse must be an array holding exactly one TEE");
			goto fail;
		}
		jws = single_member(json_array_get(v, 0), &inner);
		if (jws == NULL || strcmp(inner, GDS_TEE_ENTRY) != 0) {
			rc = tam_err_set(err, TAM_EMALFORMED, "expected {\"" GDS_TEE_ENTRY "\": JWS}");
			goto fail;
		}
	}
	if (!json_is_object(jws)) {
		rc = tam_err_set(err, TAM_EMALFORMED, "%s must hold a JWS object", name);
		goto fail;
	}
	if ((rc = jose_jws_parse(jws, &r->jws, err)) != TAM_OK)
		goto fail;
	if ((rc = decode_tbs(r, n, err)) != TAM_OK)
		goto fail;
	*out = r;
	return TAM_OK;
fail:
	otrp_response_free(r);
	return rc;
}

void
otrp_response_free(struct otrp_response *r)
{
	if (r == NULL)
		return;
	jose_jws_free(r->jws);
	json_decref(r->tbs);
	json_decref(r->doc);
	free(r);
}

/* ---- DSI ---- */

static int
dsi_add_tas(struct otrp_dsi *d, const json_t *list, const char *sdname, struct tam_err *err)
{
	const json_t *t;
	size_t i;
	int rc;

	if (list == NULL)
		return TAM_OK;
	if (!json_is_array(list))
		return tam_err_set(err, TAM_EMALFORMED, "talist must be an array");
	json_array_foreach(list, i, t) {
		struct tam_ta_obs *ta;
		if (d->state.n_tas >= TAM_MAX_TAS)
			return tam_err_set(err, TAM_ETOO_LARGE, "DSI lists more than %d TAs", TAM_MAX_TAS);
		if (!json_is_object(t))
			return tam_err_set(err, TAM_EMALFORMED, "talist entries must be objects");
		ta = &d->state.tas[d->state.n_tas];
		memset(ta, 0, sizeof(*ta));
		if ((rc = req_str(t, "taid", ta->taid, sizeof(ta->taid), err)) != TAM_OK ||
		    (rc = opt_str(t, "taname", ta->taname, sizeof(ta->taname), err)) != TAM_OK)
			return rc;
		for (size_t j = 0; j < d->state.n_tas; j++)
			if (strcmp(d->state.tas[j].taid, ta->taid) == 0)
				return tam_err_set(err, TAM_EMALFORMED, "TA %s listed twice", ta->taid);
		memcpy(ta->sdname, sdname, strlen(sdname) + 1);
		d->state.n_tas++;
	}
	return TAM_OK;
}

static int
dsi_sdlist(struct otrp_dsi *d, const json_t *sdlist, unsigned flags, struct tam_err *err)
{
	const json_t *sds, *sd, *list, *v;
	size_t i;
	int rc;

	if (sdlist == NULL)
		return TAM_OK;
	if (!json_is_object(sdlist))
		return tam_err_set(err, TAM_EMALFORMED, "sdlist must be an object");
	/* Advice only (the SDs are listed), but a count it must be. */
	if ((v = json_object_get(sdlist, "cnt")) != NULL && !lenient_count(v))
		return tam_err_set(err, TAM_EMALFORMED, "sdlist.cnt must be a count");
	sds = json_object_get(sdlist, "sd");
	if (sds == NULL)
		return TAM_OK;
	if (!json_is_array(sds))
		return tam_err_set(err, TAM_EMALFORMED, "sdlist.sd must be an array");
	if (json_array_size(sds) > TAM_MAX_SDS)
		return tam_err_set(err, TAM_ETOO_LARGE, "DSI lists more than %d SDs", TAM_MAX_SDS);
	json_array_foreach(sds, i, sd) {
		struct tam_sd_obs *o = &d->state.sds[d->state.n_sds];
		if (!json_is_object(sd))
			return tam_err_set(err, TAM_EMALFORMED, "sdlist.sd entries must be objects");
		memset(o, 0, sizeof(*o));
		list = json_object_get(sd, "talist");
		if (list == NULL)
			list = json_object_get(sd, "ta_list");
		if ((flags & OTRP_DSI_NAMELESS_SD) && json_object_get(sd, "name") == NULL) {
			/* An implicit SD: its TAs are listed, the SD is not. */
			if ((rc = dsi_add_tas(d, list, "", err)) != TAM_OK)
				return rc;
			continue;
		}
		if ((rc = req_str(sd, "name", o->sdname, sizeof(o->sdname), err)) != TAM_OK ||
		    (rc = opt_str(sd, "spid", o->spid, sizeof(o->spid), err)) != TAM_OK)
			return rc;
		for (size_t j = 0; j < d->state.n_sds; j++)
			if (strcmp(d->state.sds[j].sdname, o->sdname) == 0)
				return tam_err_set(err, TAM_EMALFORMED, "SD \"%s\" listed twice", o->sdname);
		d->state.n_sds++;
		if ((rc = dsi_add_tas(d, list, o->sdname, err)) != TAM_OK)
			return rc;
	}
	return TAM_OK;
}

static int
dsi_aiklist(struct otrp_dsi *d, const json_t *list, struct tam_err *err)
{
	const json_t *a;
	size_t i;
	int rc;

	if (list == NULL)
		return TAM_OK;
	d->has_aiklist = true;
	if (!json_is_array(list))
		return tam_err_set(err, TAM_EMALFORMED, "teeaiklist must be an array");
	if (json_array_size(list) > TAM_MAX_SDS)
		return tam_err_set(err, TAM_ETOO_LARGE, "DSI lists more than %d SP AIKs", TAM_MAX_SDS);
	json_array_foreach(list, i, a) {
		struct tam_spaik_obs *o = &d->state.aiks[d->state.n_aiks];
		if (!json_is_object(a))
			return tam_err_set(err, TAM_EMALFORMED, "teeaiklist entries must be objects");
		memset(o, 0, sizeof(*o));
		if ((rc = req_str(a, "spid", o->spid, sizeof(o->spid), err)) != TAM_OK ||
		    (rc = check_aik_type(a, "spaiktype", err)) != TAM_OK)
			return rc;
		for (size_t j = 0; j < d->state.n_aiks; j++)
			if (strcmp(d->state.aiks[j].spid, o->spid) == 0)
				return tam_err_set(err, TAM_EMALFORMED, "SP AIK of %s listed twice", o->spid);
		if ((rc = get_b64(json_object_get(a, "spaik"), "spaik", TAM_MAX_CERT_BYTES,
		    &o->spki, &o->spki_len, err)) != TAM_OK)
			return rc;
		d->state.n_aiks++;
	}
	return TAM_OK;
}

int
otrp_dsi_parse(const uint8_t *doc, size_t len, struct otrp_dsi *out, struct tam_err *err)
{
	return otrp_dsi_parse_flags(doc, len, 0, out, err);
}

int
otrp_dsi_parse_flags(const uint8_t *doc, size_t len, unsigned flags, struct otrp_dsi *out,
    struct tam_err *err)
{
	const json_t *dsi, *tee, *v;
	json_error_t jerr;
	json_t *root;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	root = json_loadb((const char *)doc, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "DSI is not JSON: %s", jerr.text);
	out->state.sds = calloc(TAM_MAX_SDS, sizeof(*out->state.sds));
	out->state.tas = calloc(TAM_MAX_TAS, sizeof(*out->state.tas));
	out->state.aiks = calloc(TAM_MAX_SDS, sizeof(*out->state.aiks));
	if (out->state.sds == NULL || out->state.tas == NULL || out->state.aiks == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto fail;
	}
	dsi = json_object_get(root, "dsi");
	tee = json_object_get(dsi, "tee");
	if (!json_is_object(dsi) || !json_is_object(tee)) {
		rc = tam_err_set(err, TAM_EMALFORMED, "DSI must be {\"dsi\":{\"tee\":{...}}}");
		goto fail;
	}
	out->has_tfwdata = json_object_get(dsi, "tfwdata") != NULL;
	if ((rc = req_str(tee, "name", out->state.tee_name, sizeof(out->state.tee_name), err)) != TAM_OK ||
	    (rc = opt_str(tee, "ver", out->state.tee_ver, sizeof(out->state.tee_ver), err)) != TAM_OK)
		goto fail;
	v = json_object_get(tee, "cert");
	if (v != NULL &&
	    (rc = get_b64(v, "tee.cert", TAM_MAX_CERT_BYTES, &out->cert, &out->cert_len, err)) != TAM_OK)
		goto fail;
	v = json_object_get(tee, "cacert");
	if (v != NULL) {
		if (!json_is_array(v)) {
			rc = tam_err_set(err, TAM_EMALFORMED, "tee.cacert must be an array");
			goto fail;
		}
		/* The leaf counts too: chain validation takes at most TAM_MAX_CHAIN_CERTS in all. */
		if (json_array_size(v) > TAM_MAX_CHAIN_CERTS - 1) {
			rc = tam_err_set(err, TAM_ETOO_LARGE, "tee.cacert holds more than %d certificates",
			    TAM_MAX_CHAIN_CERTS - 1);
			goto fail;
		}
		for (i = 0; i < json_array_size(v); i++) {
			rc = get_b64(json_array_get(v, i), "tee.cacert", TAM_MAX_CERT_BYTES,
			    &out->cacerts[i], &out->cacert_lens[i], err);
			if (rc != TAM_OK)
				goto fail;
			out->n_cacerts++;
		}
	}
	if ((rc = dsi_sdlist(out, json_object_get(tee, "sdlist"), flags, err)) != TAM_OK)
		goto fail;
	/* A flat tee.talist (one published agent sends it) names TAs without their SD. */
	if ((rc = dsi_add_tas(out, json_object_get(tee, "talist"), "", err)) != TAM_OK)
		goto fail;
	if ((rc = dsi_aiklist(out, json_object_get(tee, "teeaiklist"), err)) != TAM_OK)
		goto fail;
	json_decref(root);
	return TAM_OK;
fail:
	json_decref(root);
	otrp_dsi_clear(out);
	return rc;
}

void
otrp_dsi_clear(struct otrp_dsi *d)
{
	tam_dev_state_free(&d->state);
	free(d->cert);
	for (size_t i = 0; i < d->n_cacerts; i++)
		free(d->cacerts[i]);
	memset(d, 0, sizeof(*d));
}

/* ---- decrypted response content ---- */

int
otrp_did_decode(const char *s, uint8_t did[32])
{
	uint8_t *b = NULL;
	size_t n = 0, len = strlen(s);

	if (len == 64 && tam_hex_decode(s, len, did, 32) == TAM_OK)
		return TAM_OK;
	if (tam_b64_decode_any(s, len, &b, &n) != TAM_OK)
		return TAM_EMALFORMED;
	if (n != 32) {
		free(b);
		return TAM_EMALFORMED;
	}
	memcpy(did, b, 32);
	free(b);
	return TAM_OK;
}

int
otrp_content_parse(const uint8_t *pt, size_t len, struct otrp_content *out, struct tam_err *err)
{
	const json_t *v;
	json_error_t jerr;
	json_t *root, *wrap = NULL;
	char *doc = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	root = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return tam_err_set(err, TAM_EMALFORMED, "content is not JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		rc = tam_err_set(err, TAM_EMALFORMED, "content must be an object");
		goto out;
	}
	v = json_object_get(root, "did");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) > 128 ||
		    otrp_did_decode(json_string_value(v), out->did) != TAM_OK) {
			rc = tam_err_set(err, TAM_EMALFORMED, "did must be a SHA-256 value");
			goto out;
		}
		out->has_did = true;
	}
	if ((rc = opt_str(root, "sdname", out->sdname, sizeof(out->sdname), err)) != TAM_OK)
		goto out;
	if ((rc = check_aik_type(root, "teespaiktype", err)) != TAM_OK)
		goto out;
	v = json_object_get(root, "teespaik");
	if (v != NULL &&
	    (rc = get_b64(v, "teespaik", TAM_MAX_CERT_BYTES, &out->teespaik,
	    &out->teespaik_len, err)) != TAM_OK)
		goto out;
	if ((rc = read_reason(json_object_get(root, "reason"), out->reason, sizeof(out->reason),
	    err)) != TAM_OK)
		goto out;
	v = json_object_get(root, "dsi");
	if (json_is_string(v)) {
		out->dsi_len = json_string_length(v);
		out->dsi = malloc(out->dsi_len + 1);
		if (out->dsi == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(out->dsi, json_string_value(v), out->dsi_len + 1);
	} else if (json_is_object(v)) {
		/* The document the TEE hashed: {"dsi":<object>}, compact, members in received order. */
		wrap = json_pack("{sO}", "dsi", v);
		doc = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
		if (doc == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		out->dsi = (uint8_t *)doc;
		out->dsi_len = strlen(doc);
		doc = NULL;
	} else if (v != NULL) {
		rc = tam_err_set(err, TAM_EMALFORMED, "dsi must be an object or a string");
		goto out;
	}
	rc = TAM_OK;
out:
	json_decref(wrap);
	json_decref(root);
	if (rc != TAM_OK)
		otrp_content_clear(out);
	return rc;
}

void
otrp_content_clear(struct otrp_content *c)
{
	free(c->teespaik);
	free(c->dsi);
	memset(c, 0, sizeof(*c));
}

/* ---- requests ---- */

json_t *
otrp_tbs_get_device_state(const char *rid, const char *tid, const char *const *algs,
    size_t n_algs, json_t *ocspdat)
{
	json_t *a = json_array(), *tbs;

	if (ocspdat == NULL)
		ocspdat = json_array();
	if (a == NULL || ocspdat == NULL) {
		json_decref(a);
		json_decref(ocspdat);
		return NULL;
	}
	for (size_t i = 0; i < n_algs; i++)
		if (json_array_append_new(a, json_string(algs[i])) != 0) {
			json_decref(a);
			json_decref(ocspdat);
			return NULL;
		}
	tbs = json_pack("{s:{s:s,s:s,s:s,s:o,s:o}}", "GetDeviceStateTBSRequest",
	    "ver", OTRP_VERSION, "rid", rid, "tid", tid, "ocspdat", ocspdat, "supportedsigalgs", a);
	return tbs;
}

/*
 * The TBS of a state-changing request; ta_first puts encrypted_ta before the
 * rest, and then encrypted_ta_data (ta_data, may be NULL) right after it.
 */
static json_t *
tbs_request(enum otrp_msg m, const struct otrp_req_common *c, json_t *content,
    json_t *encrypted_ta, json_t *ta_data, bool ta_first)
{
	const struct msg_names *n = names_of(m);
	char *dsihash = NULL;
	json_t *body = NULL, *common = NULL, *tbs = NULL;

	if (n == NULL || m == OTRP_MSG_GET_DEVICE_STATE || content == NULL)
		goto out;
	if (tam_b64_encode(c->dsihash, sizeof(c->dsihash), &dsihash) != TAM_OK)
		goto out;
	body = ta_first ? json_pack("{s:O}", "encrypted_ta", encrypted_ta) : json_object();
	if (body != NULL && ta_data != NULL &&
	    json_object_set(body, "encrypted_ta_data", ta_data) != 0)
		goto out;
	common = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:O}", "ver", OTRP_VERSION, "rid", c->rid,
	    "tid", c->tid, "tee", c->tee, "nextdsi", 1, "dsihash", dsihash, "content", content);
	/* Members keep the order they are added in: update appends common's in its order. */
	if (body == NULL || common == NULL || json_object_update(body, common) != 0)
		goto out;
	if (!ta_first && encrypted_ta != NULL &&
	    json_object_set(body, "encrypted_ta", encrypted_ta) != 0)
		goto out;
	tbs = json_pack("{s:O}", n->tbs_request, body);
out:
	free(dsihash);
	json_decref(common);
	json_decref(body);
	json_decref(content);
	json_decref(encrypted_ta);
	json_decref(ta_data);
	return tbs;
}

json_t *
otrp_tbs_request(enum otrp_msg m, const struct otrp_req_common *c, json_t *content,
    json_t *encrypted_ta)
{
	return tbs_request(m, c, content, encrypted_ta, NULL, false);
}

/* The member of encrypted_ta that holds the TA. */
static const char *
ta_member(bool update)
{
	return update ? "ciphernewtadata" : "ciphertadata";
}

json_t *
otrp_tbs_ta_request(enum otrp_msg m, const struct otrp_req_common *c, json_t *content,
    json_t *encrypted_ta, json_t *encrypted_ta_data)
{
	if ((m != OTRP_MSG_INSTALL_TA && m != OTRP_MSG_UPDATE_TA) || encrypted_ta == NULL) {
		json_decref(content);
		json_decref(encrypted_ta);
		json_decref(encrypted_ta_data);
		return NULL;
	}
	return tbs_request(m, c, content, encrypted_ta, encrypted_ta_data, true);
}

int
otrp_tbs_ta_head(enum otrp_msg m, char *out, size_t outlen)
{
	const struct msg_names *n = names_of(m);
	int len;

	if (m != OTRP_MSG_INSTALL_TA && m != OTRP_MSG_UPDATE_TA)
		return TAM_EINVAL;
	len = snprintf(out, outlen, "{\"%s\":{\"encrypted_ta\":{\"%s\":\"", n->tbs_request,
	    ta_member(m == OTRP_MSG_UPDATE_TA));
	return len < 0 || (size_t)len >= outlen ? TAM_EINVAL : TAM_OK;
}

static char *
b64_or_null(const uint8_t *p, size_t n)
{
	char *s = NULL;

	if (tam_b64_encode(p, n, &s) != TAM_OK)
		return NULL;
	return s;
}

json_t *
otrp_content_create_sd(const char *spid, const char *sdname, const uint8_t *spcert,
    size_t spcert_len, const char *tamid, const uint8_t did[32])
{
	char *cert = b64_or_null(spcert, spcert_len), *d = NULL;
	json_t *j = NULL;

	if (cert != NULL && tam_b64url_encode(did, 32, &d) == TAM_OK)
		j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "spid", spid, "sdname", sdname,
		    "spcert", cert, "tamid", tamid, "did", d);
	free(cert);
	free(d);
	return j;
}

json_t *
otrp_content_install_ta(const char *tamid, const char *spid, const char *sdname,
    const uint8_t *spcert, size_t spcert_len, const char *taid)
{
	char *cert = b64_or_null(spcert, spcert_len);
	json_t *j = NULL;

	if (cert != NULL)
		j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "tamid", tamid, "spid", spid,
		    "sdname", sdname, "spcert", cert, "taid", taid);
	free(cert);
	return j;
}

json_t *
otrp_content_delete_ta(const char *tamid, const char *sdname, const char *taid)
{
	return json_pack("{s:s,s:s,s:s}", "tamid", tamid, "sdname", sdname, "taid", taid);
}

json_t *
otrp_content_delete_sd(const char *tamid, const char *sdname, bool deleteta)
{
	return json_pack("{s:s,s:s,s:b}", "tamid", tamid, "sdname", sdname, "deleteta", deleteta);
}

json_t *
otrp_content_update_sd(const char *tamid, const char *spid, const char *sdname,
    const struct otrp_sd_changes *ch)
{
	json_t *changes, *j = NULL;
	char fp[65];
	char *cert = NULL;

	changes = json_pack("{s:b}", "renewteespaik", ch->renewteespaik);
	if (changes == NULL)
		return NULL;
	if (ch->newsdname != NULL &&
	    json_object_set_new(changes, "newsdname", json_string(ch->newsdname)) != 0)
		goto out;
	if (ch->spcert != NULL &&
	    ((cert = b64_or_null(ch->spcert, ch->spcert_len)) == NULL ||
	    json_object_set_new(changes, "spcert", json_pack("[s]", cert)) != 0))
		goto out;
	if (ch->delspcert_fp != NULL) {
		tam_hex_encode(ch->delspcert_fp, 32, fp);
		if (json_object_set_new(changes, "deloldspcert", json_pack("[s]", fp)) != 0)
			goto out;
	}
	j = json_pack("{s:s,s:s,s:s,s:O}", "tamid", tamid, "spid", spid, "sdname", sdname,
	    "changes", changes);
out:
	free(cert);
	json_decref(changes);
	return j;
}

json_t *
otrp_encrypted_ta(json_t *key_jwe, const uint8_t iv[16], const uint8_t *ct, size_t ct_len,
    bool update)
{
	char ivhex[33], *data = ct != NULL ? b64_or_null(ct, ct_len) : strdup("");
	json_t *j = NULL;

	tam_hex_encode(iv, 16, ivhex);
	/* Base64 is plain ASCII: the megabytes of a TA need no UTF-8 check. */
	if (data != NULL && key_jwe != NULL)
		j = json_pack("{s:o,s:O,s:s,s:s}", ta_member(update), json_string_nocheck(data),
		    "key", key_jwe, "iv", ivhex, "alg", "AESCBC");
	free(data);
	json_decref(key_jwe);
	return j;
}

json_t *
otrp_encrypted_ta_data(json_t *key_jwe, const uint8_t iv[16], const uint8_t *ct, size_t ct_len)
{
	char ivhex[33], *data = b64_or_null(ct, ct_len);
	json_t *j = NULL;

	tam_hex_encode(iv, 16, ivhex);
	if (data != NULL && key_jwe != NULL)
		j = json_pack("{s:o,s:O,s:s,s:s}", "cipherdata", json_string_nocheck(data),
		    "key", key_jwe, "iv", ivhex, "alg", "AESCBC");
	free(data);
	json_decref(key_jwe);
	return j;
}

/* Strings this long that are base64 or base64url are spliced in, not escaped. */
#define SPLICE_MIN 4096

static bool
plain_base64(const char *s, size_t n)
{
	static bool table[256];
	static bool ready;

	if (!ready) {
		for (int c = 0; c < 256; c++)
			table[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=' || c == '-' ||
			    c == '_';
		ready = true;
	}
	for (size_t i = 0; i < n; i++)
		if (!table[(unsigned char)s[i]])
			return false;
	return true;
}

/* Replace long base64 strings of o (a copy) by "\x01N\x01" markers; keep them in big. */
static int
mark_big(json_t *o, json_t **big, size_t *n, size_t max)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(o)) {
		json_object_foreach(o, key, v) {
			if (json_is_string(v) && json_string_length(v) >= SPLICE_MIN &&
			    plain_base64(json_string_value(v), json_string_length(v)) && *n < max) {
				char mark[16];
				snprintf(mark, sizeof(mark), "\x01%zu\x01", *n);
				big[(*n)++] = json_incref(v);
				if (json_object_set_new(o, key, json_string(mark)) != 0)
					return -1;
			} else if (mark_big(v, big, n, max) != 0) {
				return -1;
			}
		}
	} else if (json_is_array(o)) {
		json_array_foreach(o, i, v)
			if (mark_big(v, big, n, max) != 0)
				return -1;
	}
	return 0;
}

int
otrp_dumps(const json_t *root, char **out, size_t *len)
{
	json_t *copy = NULL, *big[8];
	size_t n = 0, total, at = 0;
	char *text = NULL, *buf = NULL, *p, *q;
	int rc = TAM_ENOMEM;

	*out = NULL;
	*len = 0;
	/* A shallow copy is enough for the top; mark_big replaces members, never mutates shared ones. */
	if ((copy = json_deep_copy(root)) == NULL || mark_big(copy, big, &n, 8) != 0 ||
	    (text = json_dumps(copy, JSON_COMPACT)) == NULL)
		goto out;
	/* A string of the tree that looks like a marker: nothing to gain, dump it plainly. */
	{
		size_t marks = 0;
		for (p = text; (q = strstr(p, "\\u0001")) != NULL; p = q + 6)
			marks++;
		if (marks != 2 * n) {
			free(text);
			if ((text = json_dumps(root, JSON_COMPACT)) == NULL)
				goto out;
			*len = strlen(text);
			*out = text;
			text = NULL;
			rc = TAM_OK;
			goto out;
		}
	}
	total = strlen(text);
	for (size_t i = 0; i < n; i++)
		total += json_string_length(big[i]);
	if ((buf = malloc(total + 1)) == NULL)
		goto out;
	/* jansson wrote each marker as \u0001N\u0001: put the string's bytes there instead. */
	for (p = text; (q = strstr(p, "\\u0001")) != NULL;) {
		char *end;
		unsigned long k = strtoul(q + 6, &end, 10);
		if (strncmp(end, "\\u0001", 6) != 0 || k >= n ||
		    at + (size_t)(q - p) + json_string_length(big[k]) > total)
			goto out;
		memcpy(buf + at, p, (size_t)(q - p));
		at += (size_t)(q - p);
		memcpy(buf + at, json_string_value(big[k]), json_string_length(big[k]));
		at += json_string_length(big[k]);
		p = end + 6;
	}
	memcpy(buf + at, p, strlen(p) + 1);
	at += strlen(p);
	*out = buf;
	*len = at;
	buf = NULL;
	rc = TAM_OK;
out:
	for (size_t i = 0; i < n; i++)
		json_decref(big[i]);
	free(buf);
	free(text);
	json_decref(copy);
	return rc;
}

int
otrp_wrap_request_hole(enum otrp_msg m, const json_t *jws, char **out, size_t *len, size_t *at)
{
	static const char hole[] = "\"payload\":\"\"";
	char *p;
	int rc;

	*at = 0;
	if ((rc = otrp_wrap_request(m, jws, out, len)) != TAM_OK)
		return rc;
	/* The other members are base64 and the name: the first empty payload is the one. */
	if ((p = strstr(*out, hole)) == NULL) {
		free(*out);
		*out = NULL;
		return TAM_EINVAL;
	}
	*at = (size_t)(p - *out) + sizeof(hole) - 2;
	return TAM_OK;
}

int
otrp_wrap_request_payload(enum otrp_msg m, const json_t *jws, const char *head, size_t head_len,
    const char *tail, char **out, size_t *len)
{
	size_t tail_len = strlen(tail), n = 0, at = 0;
	char *text = NULL, *buf;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = otrp_wrap_request_hole(m, jws, &text, &n, &at)) != TAM_OK)
		return rc;
	if ((buf = malloc(n + head_len + tail_len + 1)) == NULL) {
		free(text);
		return TAM_ENOMEM;
	}
	memcpy(buf, text, at);
	memcpy(buf + at, head, head_len);
	memcpy(buf + at + head_len, tail, tail_len);
	memcpy(buf + at + head_len + tail_len, text + at, n - at + 1);
	free(text);
	*out = buf;
	*len = n + head_len + tail_len;
	return TAM_OK;
}

int
otrp_wrap_request(enum otrp_msg m, const json_t *jws, char **out, size_t *len)
{
	json_t *w = json_pack("{s:O}", otrp_request_name(m), jws);
	int rc;

	*out = NULL;
	if (w == NULL)
		return TAM_ENOMEM;
	rc = otrp_dumps(w, out, len);
	json_decref(w);
	return rc;
}
