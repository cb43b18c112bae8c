// SPDX-License-Identifier: MIT
/*
 * Unit tests of the mock TEE's own processing, without a server: the test
 * plays a minimal TAM with the jose and pki modules (its own requests, its
 * own checks of the answers) against a PKI made by pki/otrp-pki.sh in a
 * temporary directory. If the mock TEE were lax here, the end-to-end tests
 * that rely on it would prove nothing about the daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "tam/jose.h"
#include "tam/limits.h"
#include "tam/otrp.h"
#include "tam/pki.h"
#include "tam/util.h"
#include "mock_tee.h"

#define TAMID "https://tam.unit.example/otrp"
#define TAMID2 "urn:tam:second"
#define TEE_NAME "unit-tee"
#define SPID "sp1"
#define SDNAME "sp1.sd"
#define TAID "8d82573a-926d-4754-9353-32dc29997f74"

struct fx {
	char dir[64];                 /* mkdtemp root: pki/, other/, state dirs */
	char script[4096];            /* path of otrp-pki.sh */
	struct pki_signer *tam;       /* TAM of the trusted PKI */
	struct pki_signer *tam2;      /* second TAM of the trusted PKI, other tamid */
	struct pki_signer *stranger;  /* TAM of an unrelated PKI */
	struct jose_key *tee_pub;     /* public half of tee1.key */
	struct jose_key *sp_key;      /* pki/sp/sp1.key */
	struct jose_key *rogue_key;   /* other/sp/sp1.key: not the SP */
	char *sp_cert;                /* B64 DER of pki/sp/sp1.crt */
	char *tee_cert;               /* B64 DER of pki/tee/tee1.crt */
	char *tee_ca;                 /* B64 DER of pki/tee/ca.crt */
	uint8_t did_cert[32];         /* SHA-256 of tee1.crt DER */
	uint8_t did_raw[32];          /* SHA-256 of tee1's SPKI */
	int n_states;                 /* state directories made so far */
};

/* One mock TEE and what the test TAM knows about it. */
struct sess {
	struct fx *f;
	struct mock_tee *mt;
	struct mock_tee_cfg cfg;
	char state[128];              /* its state directory */
	char key[512];                /* tee1.key, for raw-key TEEs too */
	char cert[512];               /* tee1.crt (not used by raw-key TEEs) */
	char cacert[512];             /* the TEE role CA */
	char anchor[512];             /* root CA the TAM chains to */
	bool raw;                     /* raw-key TEE: no certificate */
	char tid[TAM_RANDOM_ID_LEN];  /* tid of the current session */
	char *dsi;                    /* last DSI document received, owned */
};

static int
run(const struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run a shell command, its output appended to DIR/setup.log. */
static int
run(const struct fx *f, const char *fmt, ...)
{
	char cmd[8192], full[8400];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	n = snprintf(full, sizeof(full), "( %s ) >>'%s/setup.log' 2>&1", cmd, f->dir);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -1;
	if (system(full) != 0) {
		fprintf(stderr, "setup command failed: %s\n", cmd);
		return -1;
	}
	return 0;
}

static bool
find_script(struct fx *f)
{
	const char *e = getenv("TAM_PKI_SCRIPT");

	if (e != NULL)
		return tam_strlcpy_checked(f->script, e, sizeof(f->script)) == TAM_OK;
	e = getenv("TAM_BUILD_DIR");
	if (e != NULL) {
		snprintf(f->script, sizeof(f->script), "%s/../pki/otrp-pki.sh", e);
		if (access(f->script, R_OK) == 0)
			return true;
	}
	snprintf(f->script, sizeof(f->script), "pki/otrp-pki.sh");
	return access(f->script, R_OK) == 0;
}

static int
slurp(const struct fx *f, const char *rel, uint8_t **data, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	return tam_file_read(path, TAM_MAX_PEM_BYTES, data, len, NULL);
}

static int
signer(const struct fx *f, const char *key, const char *chain, struct pki_signer **s)
{
	struct tam_err err = { 0 };
	char path[512];
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", f->dir, key);
	if (slurp(f, chain, &pem, &len) != TAM_OK)
		return -1;
	rc = pki_signer_load(path, pem, len, NULL, s, &err);
	if (rc != TAM_OK)
		fprintf(stderr, "%s: %s\n", key, err.msg);
	free(pem);
	return rc;
}

static int
key_of(const struct fx *f, const char *rel, struct jose_key **k)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc;

	if (slurp(f, rel, &pem, &len) != TAM_OK)
		return -1;
	rc = jose_key_from_pem(pem, len, k, NULL);
	free(pem);
	return rc;
}

/* B64 DER of the one certificate in rel; with its SHA-256 when md is set. */
static int
cert_of(const struct fx *f, const char *rel, char **b64, uint8_t md[32])
{
	uint8_t *pem = NULL, *der = NULL;
	size_t len = 0, dlen = 0;
	X509 *x = NULL;
	int rc = -1;

	if (slurp(f, rel, &pem, &len) == TAM_OK && pki_cert_load(pem, len, &x, NULL) == TAM_OK &&
	    pki_cert_to_der(x, &der, &dlen, NULL) == TAM_OK &&
	    tam_b64_encode(der, dlen, b64) == TAM_OK) {
		if (md != NULL)
			tam_sha256(der, dlen, md);
		rc = 0;
	}
	X509_free(x);
	free(der);
	free(pem);
	return rc;
}

static int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct jose_key *tee_priv = NULL;
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	int rc;

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/test_mock_tee.XXXXXX");
	if (mkdtemp(f->dir) == NULL || !find_script(f) || strchr(f->script, '\'') != NULL)
		return -1;
	if (run(f, "sh '%s' --tamid '%s' '%s/pki'", f->script, TAMID, f->dir) != 0 ||
	    run(f, "sh '%s' issue --tamid '%s' '%s/pki' tam tam2", f->script, TAMID2,
	    f->dir) != 0 ||
	    run(f, "sh '%s' '%s/other'", f->script, f->dir) != 0)
		return -1;
	if (signer(f, "pki/tam/tam.key", "pki/tam/tam-chain.pem", &f->tam) != TAM_OK ||
	    signer(f, "pki/tam/tam2.key", "pki/tam/tam2-chain.pem", &f->tam2) != TAM_OK ||
	    signer(f, "other/tam/tam.key", "other/tam/tam-chain.pem", &f->stranger) != TAM_OK)
		return -1;
	if (key_of(f, "pki/tee/tee1.key", &tee_priv) != TAM_OK ||
	    jose_key_public(tee_priv, &f->tee_pub, NULL) != TAM_OK ||
	    key_of(f, "pki/sp/sp1.key", &f->sp_key) != TAM_OK ||
	    key_of(f, "other/sp/sp1.key", &f->rogue_key) != TAM_OK ||
	    cert_of(f, "pki/sp/sp1.crt", &f->sp_cert, NULL) != 0 ||
	    cert_of(f, "pki/tee/tee1.crt", &f->tee_cert, f->did_cert) != 0 ||
	    cert_of(f, "pki/tee/ca.crt", &f->tee_ca, NULL) != 0)
		rc = -1;
	else
		rc = jose_key_to_spki(f->tee_pub, &spki, &spki_len, NULL) == TAM_OK ? 0 : -1;
	if (rc == 0)
		tam_sha256(spki, spki_len, f->did_raw);
	free(spki);
	jose_key_free(tee_priv);
	return rc;
}

static int
group_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	int rc = 0;

	pki_signer_free(f->tam);
	pki_signer_free(f->tam2);
	pki_signer_free(f->stranger);
	jose_key_free(f->tee_pub);
	jose_key_free(f->sp_key);
	jose_key_free(f->rogue_key);
	free(f->sp_cert);
	free(f->tee_cert);
	free(f->tee_ca);
	if (f->dir[0] != '\0' && strcmp(f->dir, "/tmp/test_mock_tee.XXXXXX") != 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		rc = system(cmd) == 0 ? 0 : -1;
	}
	free(f);
	return rc;
}

/* ---- the test TAM ---- */

static void
sess_open(struct fx *f, struct sess *s, bool raw)
{
	struct tam_err err = { 0 };

	memset(s, 0, sizeof(*s));
	s->f = f;
	s->raw = raw;
	snprintf(s->state, sizeof(s->state), "%s/state%d", f->dir, f->n_states++);
	snprintf(s->key, sizeof(s->key), "%s/pki/tee/tee1.key", f->dir);
	snprintf(s->cert, sizeof(s->cert), "%s/pki/tee/tee1.crt", f->dir);
	snprintf(s->cacert, sizeof(s->cacert), "%s/pki/tee/ca.crt", f->dir);
	snprintf(s->anchor, sizeof(s->anchor), "%s/pki/root/ca.crt", f->dir);
	s->cfg.state_dir = s->state;
	s->cfg.key_path = s->key;
	s->cfg.cert_path = raw ? NULL : s->cert;
	s->cfg.cacert_path = raw ? NULL : s->cacert;
	s->cfg.tam_anchor_path = s->anchor;
	s->cfg.tee_name = TEE_NAME;
	if (mock_tee_open(&s->cfg, &s->mt, &err) != TAM_OK)
		fail_msg("mock_tee_open: %s", err.msg);
}

static void
sess_reopen(struct sess *s)
{
	struct tam_err err = { 0 };

	mock_tee_close(s->mt);
	s->mt = NULL;
	if (mock_tee_open(&s->cfg, &s->mt, &err) != TAM_OK)
		fail_msg("mock_tee_open again: %s", err.msg);
}

static void
sess_close(struct sess *s)
{
	mock_tee_close(s->mt);
	free(s->dsi);
	s->mt = NULL;
	s->dsi = NULL;
}

/* {"<name>": JWS(tbs)} signed by tam, x5c in the header when with_x5c. */
static char *
sign_request(struct pki_signer *tam, const char *name, json_t *tbs, bool with_x5c)
{
	struct tam_err err = { 0 };
	json_t *jws = NULL, *wrap;
	char *payload, *out;

	payload = json_dumps(tbs, JSON_COMPACT);
	assert_non_null(payload);
	if (pki_signer_sign(tam, NULL, with_x5c, (const uint8_t *)payload, strlen(payload), &jws,
	    &err) != TAM_OK)
		fail_msg("sign: %s", err.msg);
	wrap = json_pack("{s:o}", name, jws);
	assert_non_null(wrap);
	out = json_dumps(wrap, JSON_COMPACT);
	assert_non_null(out);
	json_decref(wrap);
	free(payload);
	json_decref(tbs);
	return out;
}

static json_t *
gds_tbs(const char *rid, const char *tid)
{
	json_t *tbs = json_pack("{s:{s:s,s:s,s:s,s:[],s:[s]}}", "GetDeviceStateTBSRequest",
	    "ver", "1.0", "rid", rid, "tid", tid, "ocspdat", "supportedsigalgs", "RS256");

	assert_non_null(tbs);
	return tbs;
}

/* Process req (freed) and return the answer, which must exist. */
static char *
exchange(struct sess *s, char *req)
{
	struct tam_err err = { 0 };
	char *resp = NULL;
	size_t len = 0;

	if (mock_tee_process(s->mt, (const uint8_t *)req, strlen(req), &resp, &len, &err) != TAM_OK)
		fail_msg("mock_tee_process: %s", err.msg);
	assert_non_null(resp);
	assert_int_equal(strlen(resp), len);
	free(req);
	return resp;
}

/*
 * Check an answer the way a TAM must: one member named outer (for
 * GetDeviceState an array holding one GetDeviceTEEStateResponse), no
 * unprotected header, "kid" exactly for raw-key TEEs, a signature by the
 * TEE key, the payload's one member tbsname, ver, rid and tid echoed.
 * Returns the TBS object (a new reference).
 */
static json_t *
open_response(struct sess *s, const char *resp, const char *outer, const char *tbsname,
    const char *rid)
{
	struct tam_err err = { 0 };
	struct jose_jws *jws = NULL;
	char thumb[JOSE_THUMBPRINT_LEN];
	json_t *doc, *v, *tbs, *body;
	const uint8_t *p;
	size_t len;

	doc = json_loads(resp, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 1);
	v = json_object_get(doc, outer);
	assert_non_null(v);
	if (strcmp(outer, "GetDeviceStateResponse") == 0) {
		assert_true(json_is_array(v));
		assert_int_equal(json_array_size(v), 1);
		assert_int_equal(json_object_size(json_array_get(v, 0)), 1);
		v = json_object_get(json_array_get(v, 0), "GetDeviceTEEStateResponse");
		assert_non_null(v);
	}
	assert_null(json_object_get(v, "header"));
	if (jose_jws_parse(v, &jws, &err) != TAM_OK)
		fail_msg("response JWS: %s", err.msg);
	if (s->raw) {
		assert_int_equal(jose_key_thumbprint(s->f->tee_pub, thumb, NULL), TAM_OK);
		assert_non_null(jose_jws_kid(jws));
		assert_string_equal(jose_jws_kid(jws), thumb);
	} else {
		assert_null(jose_jws_kid(jws));
	}
	if (jose_jws_verify(jws, s->f->tee_pub, &err) != TAM_OK)
		fail_msg("response signature: %s", err.msg);
	p = jose_jws_payload_unverified(jws, &len);
	tbs = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(tbs);
	assert_int_equal(json_object_size(tbs), 1);
	body = json_object_get(tbs, tbsname);
	assert_true(json_is_object(body));
	assert_string_equal(json_string_value(json_object_get(body, "ver")), "1.0");
	assert_string_equal(json_string_value(json_object_get(body, "rid")), rid);
	assert_string_equal(json_string_value(json_object_get(body, "tid")), s->tid);
	json_incref(body);
	json_decref(tbs);
	jose_jws_free(jws);
	json_decref(doc);
	return body;
}

/* Decrypt a JWE member the TEE encrypted to the TAM. */
static char *
tam_decrypt(struct pki_signer *tam, const json_t *jwe, size_t *len)
{
	struct tam_err err = { 0 };
	uint8_t *pt = NULL;

	assert_non_null(jwe);
	if (pki_signer_decrypt(tam, jwe, &pt, len, &err) != TAM_OK)
		fail_msg("decrypt: %s", err.msg);
	return (char *)pt;
}

/* GetDeviceState as tam: checks the answer and keeps the DSI in s->dsi. */
static json_t *
do_gds(struct sess *s, struct pki_signer *tam)
{
	char rid[TAM_RANDOM_ID_LEN];
	json_t *body, *dsi;
	size_t len = 0;
	char *resp;

	assert_int_equal(tam_random_id(s->tid), TAM_OK);
	assert_int_equal(tam_random_id(rid), TAM_OK);
	resp = exchange(s, sign_request(tam, "GetDeviceStateRequest", gds_tbs(rid, s->tid), true));
	body = open_response(s, resp, "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse",
	    rid);
	assert_string_equal(json_string_value(json_object_get(body, "status")), "pass");
	assert_true(json_is_false(json_object_get(body, "signerreq")));
	free(s->dsi);
	s->dsi = tam_decrypt(tam, json_object_get(body, "edsi"), &len);
	assert_int_equal(strlen(s->dsi), len);
	/* what the TEE will hash is exactly what it sent */
	assert_string_equal(s->dsi, mock_tee_dsi(s->mt));
	dsi = json_loads(s->dsi, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(dsi);
	json_decref(body);
	free(resp);
	return dsi;
}

static char *
b64_sha256(const char *s)
{
	uint8_t md[32];
	char *b64 = NULL;

	tam_sha256(s, strlen(s), md);
	assert_int_equal(tam_b64_encode(md, sizeof(md), &b64), TAM_OK);
	return b64;
}

static json_t *
encrypt_to(const struct jose_key *k, const char *text)
{
	json_t *jwe = NULL;

	assert_int_equal(jose_jwe_encrypt(k, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
	    JOSE_JWE_GENERAL, (const uint8_t *)text, strlen(text), &jwe, NULL), TAM_OK);
	return jwe;
}

/*
 * A state-changing request <what>Request as tam with content (stolen) and
 * encrypted_ta (stolen, may be NULL); dsihash NULL = the right one. Returns
 * the verified TBS response; *content gets its decrypted content.
 */
static json_t *
do_request_data(struct sess *s, struct pki_signer *tam, const char *what, json_t *content,
    json_t *eta, json_t *etd, const char *dsihash, json_t **plain)
{
	char rid[TAM_RANDOM_ID_LEN], name[64], tbsname[64], rname[64], rtbsname[64];
	char *text, *hash, *resp, *pt;
	const char *d;
	json_t *body, *tbs;
	uint8_t did[32];
	size_t len = 0;

	snprintf(name, sizeof(name), "%sRequest", what);
	snprintf(tbsname, sizeof(tbsname), "%sTBSRequest", what);
	snprintf(rname, sizeof(rname), "%sResponse", what);
	snprintf(rtbsname, sizeof(rtbsname), "%sTBSResponse", what);
	assert_int_equal(tam_random_id(rid), TAM_OK);
	assert_non_null(s->dsi);
	hash = b64_sha256(s->dsi);
	text = json_dumps(content, JSON_COMPACT);
	assert_non_null(text);
	body = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:o}", "ver", "1.0", "rid", rid, "tid", s->tid,
	    "tee", TEE_NAME, "nextdsi", 1, "dsihash", dsihash != NULL ? dsihash : hash,
	    "content", encrypt_to(s->f->tee_pub, text));
	assert_non_null(body);
	if (eta != NULL)
		assert_int_equal(json_object_set_new(body, "encrypted_ta", eta), 0);
	if (etd != NULL)
		assert_int_equal(json_object_set_new(body, "encrypted_ta_data", etd), 0);
	tbs = json_pack("{s:o}", tbsname, body);
	assert_non_null(tbs);
	resp = exchange(s, sign_request(tam, name, tbs, true));
	body = open_response(s, resp, rname, rtbsname, rid);
	assert_null(json_object_get(body, "reason"));
	pt = tam_decrypt(tam, json_object_get(body, "content"), &len);
	*plain = json_loadb(pt, len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(*plain);
	/* every content names this device */
	d = json_string_value(json_object_get(*plain, "did"));
	assert_non_null(d);
	assert_int_equal(otrp_did_decode(d, did), TAM_OK);
	assert_memory_equal(did, s->raw ? s->f->did_raw : s->f->did_cert, 32);
	free(pt);
	free(resp);
	free(text);
	free(hash);
	json_decref(content);
	return body;
}

/* A request; eta (encrypted_ta) may be NULL; content and eta are stolen. */
static json_t *
do_request(struct sess *s, struct pki_signer *tam, const char *what, json_t *content,
    json_t *eta, const char *dsihash, json_t **plain)
{
	return do_request_data(s, tam, what, content, eta, NULL, dsihash, plain);
}

static const char *
status_of(const json_t *body)
{
	const char *st = json_string_value(json_object_get(body, "status"));

	assert_non_null(st);
	return st;
}

/* The error-code of a refusal; a pass has none, which fails the test. */
static const char *
error_of(const json_t *plain)
{
	const char *code = json_string_value(json_object_get(json_object_get(plain, "reason"),
	    "error-code"));

	assert_non_null(code);
	return code;
}

static json_t *
create_sd_content(const struct sess *s, const char *tamid, const char *spid, const char *sdname)
{
	char *did = NULL;
	json_t *c;

	assert_int_equal(tam_b64url_encode(s->raw ? s->f->did_raw : s->f->did_cert, 32, &did),
	    TAM_OK);
	c = json_pack("{s:s,s:s,s:s,s:s,s:s}", "spid", spid, "sdname", sdname, "spcert",
	    s->f->sp_cert, "tamid", tamid, "did", did);
	assert_non_null(c);
	free(did);
	return c;
}

/* CreateSD sp1.sd for SP sp1 as the main TAM; returns the AIK it reported. */
static struct jose_key *
create_sd(struct sess *s)
{
	struct jose_key *aik = NULL;
	json_t *body, *plain;
	uint8_t *der = NULL;
	const char *spaik;
	size_t len = 0;

	body = do_request(s, s->f->tam, "CreateSD", create_sd_content(s, TAMID, SPID, SDNAME),
	    NULL, NULL, &plain);
	assert_string_equal(status_of(body), "pass");
	assert_string_equal(json_string_value(json_object_get(plain, "sdname")), SDNAME);
	assert_string_equal(json_string_value(json_object_get(plain, "teespaiktype")), "RSA");
	spaik = json_string_value(json_object_get(plain, "teespaik"));
	assert_non_null(spaik);
	assert_int_equal(tam_b64_decode_any(spaik, strlen(spaik), &der, &len), TAM_OK);
	assert_int_equal(jose_key_from_spki(der, len, &aik, NULL), TAM_OK);
	assert_non_null(mock_tee_aik(s->mt, SPID));
	assert_true(jose_key_equal_public(aik, mock_tee_aik(s->mt, SPID)));
	/* the new DSI, as a string, becomes what the next dsihash covers */
	assert_true(json_is_string(json_object_get(plain, "dsi")));
	free(s->dsi);
	s->dsi = strdup(json_string_value(json_object_get(plain, "dsi")));
	assert_non_null(s->dsi);
	assert_string_equal(s->dsi, mock_tee_dsi(s->mt));
	assert_true(mock_tee_has_sd(s->mt, SDNAME));
	free(der);
	json_decref(plain);
	json_decref(body);
	return aik;
}

/*
 * encrypted_ta for ta (len bytes) signed by signer_key, its AES key wrapped
 * to aik: key_len bytes of it, zero-padded when more than 32 (32 is right).
 */
static json_t *
make_encrypted_ta_key(const struct jose_key *signer_key, const struct jose_key *aik,
    const uint8_t *ta, size_t len, size_t key_len)
{
	uint8_t key[48] = { 0 }, iv[16], *ct = NULL;
	char ivhex[33], *bundle, *data = NULL;
	json_t *jws = NULL, *keyjwe = NULL, *eta;
	size_t ctlen = 0;

	assert_int_equal(jose_jws_sign(signer_key, jose_key_sig_alg(signer_key), NULL, NULL, ta,
	    len, &jws, NULL), TAM_OK);
	bundle = json_dumps(jws, JSON_COMPACT);
	assert_non_null(bundle);
	assert_int_equal(otrp_bundle_seal((const uint8_t *)bundle, strlen(bundle), key, iv, &ct,
	    &ctlen, NULL), TAM_OK);
	assert_true(key_len <= sizeof(key));
	assert_int_equal(jose_jwe_encrypt(aik, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
	    JOSE_JWE_GENERAL, key, key_len, &keyjwe, NULL), TAM_OK);
	tam_hex_encode(iv, sizeof(iv), ivhex);
	assert_int_equal(tam_b64_encode(ct, ctlen, &data), TAM_OK);
	eta = json_pack("{s:o,s:s,s:s,s:s}", "key", keyjwe, "iv", ivhex, "alg", "AESCBC",
	    "ciphertadata", data);
	assert_non_null(eta);
	free(data);
	free(ct);
	free(bundle);
	json_decref(jws);
	return eta;
}

static json_t *
make_encrypted_ta(const struct jose_key *signer_key, const struct jose_key *aik,
    const uint8_t *ta, size_t len)
{
	return make_encrypted_ta_key(signer_key, aik, ta, len, 32);
}

static json_t *
install_content(const struct fx *f, const char *tamid)
{
	json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:s}", "tamid", tamid, "spid", SPID, "sdname",
	    SDNAME, "spcert", f->sp_cert, "taid", TAID);

	assert_non_null(c);
	return c;
}

static const uint8_t ta_binary[] = "\x7f" "ELF\x02\x01\x01 a trusted application, "
    "with \x00 NUL bytes \xff\xfe inside";

/* The installed TA file holds exactly want. */
static void
assert_ta_file(struct sess *s, const uint8_t *want, size_t len)
{
	char path[PATH_MAX];
	uint8_t *data = NULL;
	size_t n = 0;

	assert_int_equal(mock_tee_ta_path(s->mt, TAID, path, sizeof(path)), TAM_OK);
	assert_int_equal(tam_file_read(path, 1 << 20, &data, &n, NULL), TAM_OK);
	assert_int_equal(n, len);
	assert_memory_equal(data, want, len);
	free(data);
}

static size_t
count_sds(const json_t *dsi)
{
	const json_t *sdlist = json_object_get(json_object_get(json_object_get(dsi, "dsi"), "tee"),
	    "sdlist");

	assert_non_null(sdlist);
	assert_int_equal(json_integer_value(json_object_get(sdlist, "cnt")),
	    json_array_size(json_object_get(sdlist, "sd")));
	return json_array_size(json_object_get(sdlist, "sd"));
}

/* ---- tests ---- */

static void
test_gds_cert_tee(void **state)
{
	struct fx *f = *state;
	struct sess s;
	json_t *dsi, *tee;

	sess_open(f, &s, false);
	dsi = do_gds(&s, f->tam);
	tee = json_object_get(json_object_get(dsi, "dsi"), "tee");
	assert_non_null(tee);
	assert_string_equal(json_string_value(json_object_get(tee, "name")), TEE_NAME);
	assert_string_equal(json_string_value(json_object_get(tee, "ver")), "1.0");
	assert_string_equal(json_string_value(json_object_get(tee, "cert")), f->tee_cert);
	assert_int_equal(json_array_size(json_object_get(tee, "cacert")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(tee, "cacert"), 0)),
	    f->tee_ca);
	assert_true(json_is_integer(json_object_get(json_object_get(tee, "sdlist"), "cnt")));
	assert_int_equal(count_sds(dsi), 0);
	assert_int_equal(json_array_size(json_object_get(tee, "teeaiklist")), 0);
	assert_string_equal(mock_tee_last_request(s.mt), "GetDeviceStateRequest");
	assert_string_equal(mock_tee_last_response(s.mt), "GetDeviceStateResponse");
	assert_string_equal(mock_tee_last_outcome(s.mt), "pass");
	json_decref(dsi);
	sess_close(&s);
}

static void
test_gds_raw_key_tee(void **state)
{
	struct fx *f = *state;
	struct sess s;
	json_t *dsi, *tee;
	uint8_t did[32];

	sess_open(f, &s, true);
	dsi = do_gds(&s, f->tam);
	tee = json_object_get(json_object_get(dsi, "dsi"), "tee");
	assert_null(json_object_get(tee, "cert"));
	assert_null(json_object_get(tee, "cacert"));
	mock_tee_did(s.mt, did);
	assert_memory_equal(did, f->did_raw, 32);
	json_decref(dsi);
	sess_close(&s);
}

static void
test_gds_refusals(void **state)
{
	struct fx *f = *state;
	struct sess s;
	char rid[TAM_RANDOM_ID_LEN], *req, *resp;
	json_t *tbs, *body;

	sess_open(f, &s, false);
	assert_int_equal(tam_random_id(s.tid), TAM_OK);

	/* another version: signed refusal, reason in the clear, no edsi */
	assert_int_equal(tam_random_id(rid), TAM_OK);
	tbs = gds_tbs(rid, s.tid);
	json_object_set_new(json_object_get(tbs, "GetDeviceStateTBSRequest"), "ver",
	    json_string("2.0"));
	resp = exchange(&s, sign_request(f->tam, "GetDeviceStateRequest", tbs, true));
	body = open_response(&s, resp, "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse",
	    rid);
	assert_string_equal(status_of(body), "fail");
	assert_null(json_object_get(body, "edsi"));
	assert_string_equal(error_of(body), "ERR_UNSUPPORTED_MSG_VERSION");
	json_decref(body);
	free(resp);

	/* the TAM accepts only ES256: the TEE cannot sign for it and says what it can do */
	assert_int_equal(tam_random_id(rid), TAM_OK);
	tbs = gds_tbs(rid, s.tid);
	json_object_set_new(json_object_get(tbs, "GetDeviceStateTBSRequest"), "supportedsigalgs",
	    json_pack("[s]", "ES256"));
	resp = exchange(&s, sign_request(f->tam, "GetDeviceStateRequest", tbs, true));
	body = open_response(&s, resp, "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse",
	    rid);
	assert_string_equal(error_of(body), "ERR_UNSUPPORTED_CRYPTO_ALG");
	assert_string_equal(json_string_value(json_array_get(json_object_get(body,
	    "supportedsigalgs"), 0)), "RS256");
	json_decref(body);
	free(resp);

	/* a replayed request is answered with a refusal, not a second DSI */
	assert_int_equal(tam_random_id(rid), TAM_OK);
	req = sign_request(f->tam, "GetDeviceStateRequest", gds_tbs(rid, s.tid), true);
	resp = exchange(&s, strdup(req));
	body = open_response(&s, resp, "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse",
	    rid);
	assert_string_equal(status_of(body), "pass");
	json_decref(body);
	free(resp);
	resp = exchange(&s, req);
	body = open_response(&s, resp, "GetDeviceStateResponse", "GetDeviceTEEStateTBSResponse",
	    rid);
	assert_string_equal(error_of(body), "ERR_REQUEST_INVALID");
	json_decref(body);
	free(resp);
	sess_close(&s);
}

/* mock_tee_process must refuse to answer at all, with code want. */
static void
assert_no_answer(struct sess *s, const char *req, int want)
{
	struct tam_err err = { 0 };
	char *resp = (char *)"unchanged";
	size_t len = 1;

	assert_int_equal(mock_tee_process(s->mt, (const uint8_t *)req, strlen(req), &resp, &len,
	    &err), want);
	assert_null(resp);
	assert_int_equal(len, 0);
	assert_true(err.msg[0] != '\0');
}

static void
test_untrusted_tam_refused(void **state)
{
	struct fx *f = *state;
	struct sess s;
	char rid[TAM_RANDOM_ID_LEN], *req, *other, *p, *q;
	json_t *doc, *doc2;

	sess_open(f, &s, false);
	assert_int_equal(tam_random_id(s.tid), TAM_OK);
	assert_int_equal(tam_random_id(rid), TAM_OK);

	/* a TAM certificate from another PKI */
	req = sign_request(f->stranger, "GetDeviceStateRequest", gds_tbs(rid, s.tid), true);
	assert_no_answer(&s, req, TAM_ECERT_UNTRUSTED);
	free(req);

	/* no x5c: the TEE cannot know who signed */
	req = sign_request(f->tam, "GetDeviceStateRequest", gds_tbs(rid, s.tid), false);
	assert_no_answer(&s, req, TAM_EMALFORMED);
	free(req);

	/* a trusted certificate in x5c, but the signature is by the stranger's key */
	req = sign_request(f->stranger, "GetDeviceStateRequest", gds_tbs(rid, s.tid), true);
	other = sign_request(f->tam, "GetDeviceStateRequest", gds_tbs(rid, s.tid), true);
	doc = json_loads(req, 0, NULL);
	doc2 = json_loads(other, 0, NULL);
	assert_non_null(doc);
	assert_non_null(doc2);
	json_object_set(json_object_get(doc, "GetDeviceStateRequest"), "header",
	    json_object_get(json_object_get(doc2, "GetDeviceStateRequest"), "header"));
	free(req);
	req = json_dumps(doc, JSON_COMPACT);
	assert_no_answer(&s, req, TAM_ESIGNATURE);
	free(req);

	/* a payload changed after signing */
	json_object_set_new(json_object_get(doc2, "GetDeviceStateRequest"), "payload",
	    json_string("eyJHZXREZXZpY2VTdGF0ZVRCU1JlcXVlc3QiOnt9fQ"));
	req = json_dumps(doc2, JSON_COMPACT);
	assert_no_answer(&s, req, TAM_ESIGNATURE);
	free(req);
	json_decref(doc);
	json_decref(doc2);

	/* the outer name must match the signed TBS name */
	p = sign_request(f->tam, "GetDeviceStateRequest", gds_tbs(rid, s.tid), true);
	q = strstr(p, "GetDeviceStateRequest");
	assert_non_null(q);
	req = malloc(strlen(p) + 8);
	assert_non_null(req);
	snprintf(req, strlen(p) + 8, "{\"CreateSDRequest%s", q + strlen("GetDeviceStateRequest"));
	assert_no_answer(&s, req, TAM_EMALFORMED);
	free(req);
	free(p);

	assert_no_answer(&s, "not json", TAM_EMALFORMED);
	assert_no_answer(&s, "{\"RenameTARequest\":{}}", TAM_EUNSUPPORTED);
	assert_no_answer(&s, "{\"GetDeviceStateRequest\":{},\"x\":1}", TAM_EMALFORMED);
	assert_null(mock_tee_dsi(s.mt));
	free(other);
	sess_close(&s);
}

static void
test_create_sd_wrong_dsihash(void **state)
{
	struct fx *f = *state;
	struct sess s;
	json_t *body, *plain;
	char *stale;

	sess_open(f, &s, false);
	json_decref(do_gds(&s, f->tam));
	stale = b64_sha256("{\"dsi\":{}}");
	body = do_request(&s, f->tam, "CreateSD", create_sd_content(&s, TAMID, SPID, SDNAME), NULL,
	    stale, &plain);
	assert_string_equal(status_of(body), "fail");
	assert_string_equal(error_of(plain), "ERR_DEV_STATE_MISMATCH");
	assert_string_equal(mock_tee_last_outcome(s.mt), "ERR_DEV_STATE_MISMATCH");
	assert_null(json_object_get(plain, "dsi"));
	assert_false(mock_tee_has_sd(s.mt, SDNAME));
	assert_null(mock_tee_aik(s.mt, SPID));
	json_decref(plain);
	json_decref(body);
	free(stale);

	/* the same request with the right hash passes */
	jose_key_free(create_sd(&s));
	assert_true(mock_tee_has_sd(s.mt, SDNAME));
	sess_close(&s);
}

static void
test_install_and_delete(void **state)
{
	struct fx *f = *state;
	struct jose_key *aik;
	struct sess s;
	json_t *body, *plain, *dsi, *sd;
	char path[PATH_MAX];

	sess_open(f, &s, false);
	json_decref(do_gds(&s, f->tam));
	aik = create_sd(&s);
	body = do_request(&s, f->tam, "InstallTA", install_content(f, TAMID),
	    make_encrypted_ta(f->sp_key, aik, ta_binary, sizeof(ta_binary)), NULL, &plain);
	assert_string_equal(status_of(body), "pass");
	assert_true(mock_tee_has_ta(s.mt, TAID));
	assert_ta_file(&s, ta_binary, sizeof(ta_binary));
	free(s.dsi);
	s.dsi = strdup(json_string_value(json_object_get(plain, "dsi")));
	assert_non_null(s.dsi);
	json_decref(plain);
	json_decref(body);

	/* a second install of the same TA is refused */
	body = do_request(&s, f->tam, "InstallTA", install_content(f, TAMID),
	    make_encrypted_ta(f->sp_key, aik, ta_binary, sizeof(ta_binary)), NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_TA_ALREADY_INSTALLED");
	json_decref(plain);
	json_decref(body);

	/* the state survives a restart; the new session sees SD, TA and AIK */
	sess_reopen(&s);
	assert_true(mock_tee_has_sd(s.mt, SDNAME));
	assert_true(mock_tee_has_ta(s.mt, TAID));
	assert_true(jose_key_equal_public(aik, mock_tee_aik(s.mt, SPID)));
	dsi = do_gds(&s, f->tam);
	assert_int_equal(count_sds(dsi), 1);
	sd = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(dsi,
	    "dsi"), "tee"), "sdlist"), "sd"), 0);
	assert_string_equal(json_string_value(json_object_get(sd, "name")), SDNAME);
	assert_string_equal(json_string_value(json_object_get(sd, "spid")), SPID);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(sd,
	    "talist"), 0), "taid")), TAID);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
	    json_object_get(json_object_get(dsi, "dsi"), "tee"), "teeaiklist"), 0), "spid")), SPID);
	json_decref(dsi);

	/* DeleteTA removes entry and file */
	assert_int_equal(mock_tee_ta_path(s.mt, TAID, path, sizeof(path)), TAM_OK);
	body = do_request(&s, f->tam, "DeleteTA", json_pack("{s:s,s:s,s:s}", "tamid", TAMID,
	    "sdname", SDNAME, "taid", TAID), NULL, NULL, &plain);
	assert_string_equal(status_of(body), "pass");
	assert_false(mock_tee_has_ta(s.mt, TAID));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(mock_tee_ta_path(s.mt, TAID, path, sizeof(path)), TAM_ENOTFOUND);
	free(s.dsi);
	s.dsi = strdup(json_string_value(json_object_get(plain, "dsi")));
	assert_non_null(s.dsi);
	assert_non_null(strstr(s.dsi, "\"talist\":[]"));
	json_decref(plain);
	json_decref(body);

	/* and a second delete finds nothing */
	body = do_request(&s, f->tam, "DeleteTA", json_pack("{s:s,s:s,s:s}", "tamid", TAMID,
	    "sdname", SDNAME, "taid", TAID), NULL, NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_TA_NOT_FOUND");
	json_decref(plain);
	json_decref(body);
	jose_key_free(aik);
	sess_close(&s);
}

/* The TEE's refusals for SDs: not empty, name taken, unknown SD, bad changes; then deleteta. */
static void
test_sd_refusals(void **state)
{
	struct fx *f = *state;
	struct jose_key *aik;
	struct sess s;
	json_t *body, *plain;
	static const struct {
		const char *changes;
		const char *want;
	} bad[] = {
		{ "{\"newsdname\":\"" SDNAME "\"}", "ERR_SDNAME_ALREADY_USED" },
		{ "{\"newsdname\":\"../x\"}", "ERR_REQUEST_INVALID" },
		{ "{\"spcert\":[\"AAAA\"]}", "ERR_SPCERT_INVALID" },
		{ "{\"spcert\":\"AAAA\"}", "ERR_REQUEST_INVALID" },
		{ "{\"deloldspcert\":[1]}", "ERR_REQUEST_INVALID" },
		{ "{\"renewteespaik\":\"yes\"}", "ERR_REQUEST_INVALID" },
		{ "{\"newspid\":\"other\"}", "ERR_REQUEST_INVALID" },
		{ "{\"colour\":\"blue\"}", "ERR_REQUEST_INVALID" },
	};

	sess_open(f, &s, false);
	json_decref(do_gds(&s, f->tam));
	aik = create_sd(&s);
	body = do_request(&s, f->tam, "InstallTA", install_content(f, TAMID),
	    make_encrypted_ta(f->sp_key, aik, ta_binary, sizeof(ta_binary)), NULL, &plain);
	assert_string_equal(status_of(body), "pass");
	free(s.dsi);
	s.dsi = strdup(json_string_value(json_object_get(plain, "dsi")));
	json_decref(plain);
	json_decref(body);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = do_request(&s, f->tam, "UpdateSD", json_pack("{s:s,s:s,s:s,s:o}", "tamid",
		    TAMID, "spid", SPID, "sdname", SDNAME, "changes", json_loads(bad[i].changes, 0,
		    NULL)), NULL, NULL, &plain);
		assert_string_equal(error_of(plain), bad[i].want);
		json_decref(plain);
		json_decref(body);
	}
	body = do_request(&s, f->tam, "UpdateSD", json_pack("{s:s,s:s,s:s,s:{}}", "tamid", TAMID,
	    "spid", SPID, "sdname", "nosuch.sd", "changes"), NULL, NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_SD_NOT_FOUND");
	json_decref(plain);
	json_decref(body);

	/* a TA inside: deleteta false is refused, true takes both */
	body = do_request(&s, f->tam, "DeleteSD", json_pack("{s:s,s:s,s:b}", "tamid", TAMID,
	    "sdname", SDNAME, "deleteta", 0), NULL, NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_SD_NOT_EMPTY");
	json_decref(plain);
	json_decref(body);
	assert_true(mock_tee_has_ta(s.mt, TAID));
	body = do_request(&s, f->tam, "DeleteSD", json_pack("{s:s,s:s,s:s}", "tamid", TAMID,
	    "sdname", SDNAME, "deleteta", "true"), NULL, NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_REQUEST_INVALID");
	json_decref(plain);
	json_decref(body);
	body = do_request(&s, f->tam, "DeleteSD", json_pack("{s:s,s:s,s:b}", "tamid", TAMID,
	    "sdname", SDNAME, "deleteta", 1), NULL, NULL, &plain);
	assert_string_equal(status_of(body), "pass");
	free(s.dsi);
	s.dsi = strdup(json_string_value(json_object_get(plain, "dsi")));
	assert_non_null(s.dsi);
	json_decref(plain);
	json_decref(body);
	assert_false(mock_tee_has_sd(s.mt, SDNAME));
	assert_false(mock_tee_has_ta(s.mt, TAID));
	assert_null(mock_tee_aik(s.mt, SPID));
	body = do_request(&s, f->tam, "DeleteSD", json_pack("{s:s,s:s,s:b}", "tamid", TAMID,
	    "sdname", SDNAME, "deleteta", 1), NULL, NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_SD_NOT_FOUND");
	json_decref(plain);
	json_decref(body);
	jose_key_free(aik);
	sess_close(&s);
}

static void
test_bundle_wrong_signer(void **state)
{
	struct fx *f = *state;
	struct jose_key *aik, *other_aik = NULL;
	struct sess s;
	json_t *body, *plain;

	sess_open(f, &s, false);
	json_decref(do_gds(&s, f->tam));
	aik = create_sd(&s);
	body = do_request(&s, f->tam, "InstallTA", install_content(f, TAMID),
	    make_encrypted_ta(f->rogue_key, aik, ta_binary, sizeof(ta_binary)), NULL, &plain);
	assert_string_equal(status_of(body), "fail");
	assert_string_equal(error_of(plain), "ERR_TA_INVALID");
	assert_false(mock_tee_has_ta(s.mt, TAID));
	json_decref(plain);
	json_decref(body);

	/* the key wrapped to another AIK cannot be opened either */
	assert_int_equal(jose_key_generate(JOSE_KTY_RSA, &other_aik, NULL), TAM_OK);
	body = do_request(&s, f->tam, "InstallTA", install_content(f, TAMID),
	    make_encrypted_ta(f->sp_key, other_aik, ta_binary, sizeof(ta_binary)), NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_TA_INVALID");
	assert_false(mock_tee_has_ta(s.mt, TAID));
	json_decref(plain);
	json_decref(body);

	/* a TA key of the wrong length is refused, even when it starts with the right key */
	for (size_t n = 16; n <= 48; n += 32) {
		body = do_request(&s, f->tam, "InstallTA", install_content(f, TAMID),
		    make_encrypted_ta_key(f->sp_key, aik, ta_binary, sizeof(ta_binary), n), NULL,
		    &plain);
		assert_string_equal(error_of(plain), "ERR_TA_INVALID");
		assert_false(mock_tee_has_ta(s.mt, TAID));
		json_decref(plain);
		json_decref(body);
	}
	jose_key_free(other_aik);
	jose_key_free(aik);
	sess_close(&s);
}

static void
test_other_tam_isolated(void **state)
{
	struct fx *f = *state;
	struct jose_key *aik;
	struct sess s;
	json_t *body, *plain, *dsi;

	sess_open(f, &s, false);
	json_decref(do_gds(&s, f->tam));
	aik = create_sd(&s);

	/* content.tamid must be the signer's identity */
	body = do_request(&s, f->tam, "InstallTA", install_content(f, TAMID2),
	    make_encrypted_ta(f->sp_key, aik, ta_binary, sizeof(ta_binary)), NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_TAM_NOT_AUTHORIZED");
	json_decref(plain);
	json_decref(body);

	/* the second TAM does not see the first one's SD ... */
	dsi = do_gds(&s, f->tam2);
	assert_int_equal(count_sds(dsi), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(json_object_get(dsi,
	    "dsi"), "tee"), "teeaiklist")), 0);
	json_decref(dsi);
	/* ... and cannot install into it */
	body = do_request(&s, f->tam2, "InstallTA", install_content(f, TAMID2),
	    make_encrypted_ta(f->sp_key, aik, ta_binary, sizeof(ta_binary)), NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_TAM_NOT_AUTHORIZED");
	assert_false(mock_tee_has_ta(s.mt, TAID));
	json_decref(plain);
	json_decref(body);
	jose_key_free(aik);
	sess_close(&s);
}

static void
test_hostile_names(void **state)
{
	struct fx *f = *state;
	static const char *const bad[][2] = {
		{ "../../escape", SDNAME },
		{ SPID, "../sd" },
		{ ".hidden", SDNAME },
		{ "sp/1", SDNAME },
	};
	char path[PATH_MAX];
	struct sess s;
	json_t *body, *plain, *content;

	sess_open(f, &s, false);
	json_decref(do_gds(&s, f->tam));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = do_request(&s, f->tam, "CreateSD", create_sd_content(&s, TAMID, bad[i][0],
		    bad[i][1]), NULL, NULL, &plain);
		assert_string_equal(error_of(plain), "ERR_REQUEST_INVALID");
		json_decref(plain);
		json_decref(body);
	}
	snprintf(path, sizeof(path), "%s/escape.pem", f->dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/aik-.hidden.pem", s.state);
	assert_int_equal(access(path, F_OK), -1);
	assert_false(mock_tee_has_sd(s.mt, SDNAME));

	/* a did for another device is refused too */
	content = create_sd_content(&s, TAMID, SPID, SDNAME);
	json_object_set_new(content, "did", json_string(
	    "0000000000000000000000000000000000000000000000000000000000000000"));
	body = do_request(&s, f->tam, "CreateSD", content, NULL, NULL, &plain);
	assert_string_equal(error_of(plain), "ERR_REQUEST_INVALID");
	assert_false(mock_tee_has_sd(s.mt, SDNAME));
	json_decref(plain);
	json_decref(body);
	sess_close(&s);
}

static void
test_http_loopback_only(void **state)
{
	static const char *const refused[] = {
		"http://example.com/tam",
		"http://127.0.0.1@example.com/tam",
		"http://127.0.0.1.example.com/tam",
		"http://localhost.example.com/",
		"https://127.0.0.1/tam",
		"http://10.0.0.1/tam",
		"http://127.0.0.1:/tam",
		"ftp://localhost/",
	};
	struct mock_http_resp r;
	struct tam_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(mock_http_post(refused[i], NULL, NULL, NULL, 0, &r, &err),
		    TAM_EINVAL);
		assert_null(r.body);
	}
	/* a loopback URL is tried: nothing listens on port 1 */
	assert_int_equal(mock_http_post("http://127.0.0.1:1/tam", NULL, NULL, NULL, 0, &r, &err),
	    TAM_EIO);
	mock_http_resp_clear(&r);
}

/* encrypted_ta_data of pdata under a fresh key and IV, the key wrapped to aik. */
static json_t *
make_encrypted_ta_data(const struct jose_key *aik, const char *pdata)
{
	uint8_t key[32], iv[16], *ct = NULL;
	char ivhex[33], *data = NULL;
	json_t *keyjwe = NULL, *etd;
	size_t ctlen = 0;

	assert_int_equal(otrp_bundle_seal((const uint8_t *)pdata, strlen(pdata), key, iv, &ct,
	    &ctlen, NULL), TAM_OK);
	assert_int_equal(jose_jwe_encrypt(aik, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
	    JOSE_JWE_GENERAL, key, sizeof(key), &keyjwe, NULL), TAM_OK);
	tam_hex_encode(iv, sizeof(iv), ivhex);
	assert_int_equal(tam_b64_encode(ct, ctlen, &data), TAM_OK);
	etd = json_pack("{s:s,s:o,s:s,s:s}", "cipherdata", data, "key", keyjwe, "iv", ivhex,
	    "alg", "AESCBC");
	assert_non_null(etd);
	free(data);
	free(ct);
	return etd;
}

/* An InstallTA with etd beside the TA is refused with code, and installs nothing. */
static void
assert_install_refused(struct sess *s, const struct jose_key *aik, json_t *eta, json_t *etd,
    const char *code)
{
	json_t *body, *plain;

	body = do_request_data(s, s->f->tam, "InstallTA", install_content(s->f, TAMID),
	    eta != NULL ? eta : make_encrypted_ta(s->f->sp_key, aik, ta_binary, sizeof(ta_binary)),
	    etd, NULL, &plain);
	assert_string_equal(status_of(body), "fail");
	assert_string_equal(error_of(plain), code);
	assert_false(mock_tee_has_ta(s->mt, TAID));
	json_decref(plain);
	json_decref(body);
}

/*
 * Personalization data comes in encrypted_ta_data, under its own key and
 * iv: the old cipherpdata inside encrypted_ta is refused, and so is an
 * encrypted_ta_data that does not open.
 */
static void
test_personalization_data(void **state)
{
	static const char pdata[] = "forty bytes of personalization data....";
	struct fx *f = *state;
	struct jose_key *aik, *other_aik = NULL;
	json_t *eta, *etd, *body, *plain;
	uint8_t *got = NULL;
	size_t got_len = 0;
	char *cut;
	struct sess s;

	sess_open(f, &s, false);
	json_decref(do_gds(&s, f->tam));
	aik = create_sd(&s);
	/* the layout this TAM no longer sends */
	eta = make_encrypted_ta(f->sp_key, aik, ta_binary, sizeof(ta_binary));
	assert_int_equal(json_object_set_new(eta, "cipherpdata", json_string("AAAA")), 0);
	assert_install_refused(&s, aik, eta, NULL, "ERR_REQUEST_INVALID");
	/* its key wrapped to another AIK */
	assert_int_equal(jose_key_generate(JOSE_KTY_RSA, &other_aik, NULL), TAM_OK);
	assert_install_refused(&s, aik, NULL, make_encrypted_ta_data(other_aik, pdata),
	    "ERR_TA_INVALID");
	/* its ciphertext cut short of a whole block */
	etd = make_encrypted_ta_data(aik, pdata);
	cut = strdup(json_string_value(json_object_get(etd, "cipherdata")));
	assert_non_null(cut);
	cut[strlen(cut) - 4] = '\0';
	assert_int_equal(json_object_set_new(etd, "cipherdata", json_string(cut)), 0);
	free(cut);
	assert_install_refused(&s, aik, NULL, etd, "ERR_TA_INVALID");
	/* a member it does not know, or not an object */
	etd = make_encrypted_ta_data(aik, pdata);
	assert_int_equal(json_object_set_new(etd, "cipherpdata", json_string("AAAA")), 0);
	assert_install_refused(&s, aik, NULL, etd, "ERR_REQUEST_INVALID");
	assert_install_refused(&s, aik, NULL, json_string("x"), "ERR_REQUEST_INVALID");
	/* the genuine one: the TEE stores the data with the TA */
	body = do_request_data(&s, f->tam, "InstallTA", install_content(f, TAMID),
	    make_encrypted_ta(f->sp_key, aik, ta_binary, sizeof(ta_binary)),
	    make_encrypted_ta_data(aik, pdata), NULL, &plain);
	assert_string_equal(status_of(body), "pass");
	assert_ta_file(&s, ta_binary, sizeof(ta_binary));
	assert_int_equal(mock_tee_pdata(s.mt, TAID, &got, &got_len), TAM_OK);
	assert_int_equal(got_len, strlen(pdata));
	assert_memory_equal(got, pdata, got_len);
	free(got);
	json_decref(plain);
	json_decref(body);
	jose_key_free(other_aik);
	jose_key_free(aik);
	sess_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gds_cert_tee),
		cmocka_unit_test(test_gds_raw_key_tee),
		cmocka_unit_test(test_gds_refusals),
		cmocka_unit_test(test_untrusted_tam_refused),
		cmocka_unit_test(test_create_sd_wrong_dsihash),
		cmocka_unit_test(test_install_and_delete),
		cmocka_unit_test(test_sd_refusals),
		cmocka_unit_test(test_bundle_wrong_signer),
		cmocka_unit_test(test_personalization_data),
		cmocka_unit_test(test_other_tam_isolated),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_http_loopback_only),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
