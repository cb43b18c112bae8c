// SPDX-License-Identifier: MIT
/*
 * Generate the published OTrP test vectors (docs/vectors/): for each
 * algorithm set, the real engine and the mock TEE exchange every message
 * pair in-process over a fresh database, and every message is written with
 * its keys, its signed TBS object, the plaintext of each encrypted member,
 * and what the receiver does with it.
 *
 *   vectors OUTDIR PKIDIR        (PKIDIR holds rsa/ and ec/ from pki/otrp-pki.sh)
 *
 * Determinism: this program, and only it (it is never linked into the
 * daemon), replaces OpenSSL's random generators with TEST-RAND fed from a
 * SHA-256 stream of a fixed seed, and gives the engine a fixed clock, so
 * every rid, CEK, IV, RSA padding, ECDSA nonce and ephemeral key, and so
 * every byte of output, is the same on every run. Those "random" values
 * are public: never use these keys.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "mock_tee.h"
#include "tam/engine.h"
#include "tam/jose.h"
#include "tam/log.h"
#include "tam/mgmt.h"
#include "tam/otrp.h"
#include "tam/pki.h"
#include "tam/store.h"
#include "tam/util.h"

#define TAID "8d82573a-926d-4754-9353-32dc29997f74"
#define POOL_BYTES (8u << 20)

struct set {
	const char *name;          /* directory under OUTDIR */
	const char *pki;           /* rsa or ec */
	const char *tee_alg;       /* what the TEE answers with (an RSA TAM key), NULL: RSA1_5 */
	const char *tee_enc;       /* its content encryption, NULL: A128CBC-HS256 */
	const char *summary;
};

static const struct set sets[] = {
	{ "rs256-rsa1_5-a128cbc", "rsa", NULL, NULL,
	    "RS256 signatures; RSA1_5 key wrap with A128CBC-HS256 both ways (the spec's mandatory set)" },
	{ "rs256-rsa-oaep-a256gcm", "rsa", JOSE_ALG_RSA_OAEP, JOSE_ENC_A256GCM,
	    "RS256; the TEE answers with RSA-OAEP and A256GCM, so the TAM uses them too" },
	{ "es256-ecdh-es-a128kw-a128cbc", "ec", NULL, NULL,
	    "ES256 signatures; ECDH-ES+A128KW with A128CBC-HS256 both ways (P-256 keys everywhere)" },
	{ "es256-ecdh-es-a128kw-a256gcm", "ec", NULL, JOSE_ENC_A256GCM,
	    "ES256; ECDH-ES+A128KW; the TEE answers with A256GCM, so the TAM uses it too" },
};

static uint8_t *pool;
static char work[256], out_root[1024], pki_root[1024];

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vectors: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/*
 * The engine's clock: an opening rid carries its expiry, so a fixed time
 * (2027-01-01, inside the published certificates' validity) keeps it the same.
 */
static int64_t
fixed_now(void)
{
	return 1798761600;
}

/* TEST-RAND everywhere, fed from SHA-256(seed || counter). */
static void
rand_reset(const char *seed)
{
	EVP_RAND_CTX *ctxs[3];
	OSSL_PARAM p[2];
	uint8_t block[64];

	for (size_t off = 0; off < POOL_BYTES; off += 32) {
		size_t n = (size_t)snprintf((char *)block, sizeof(block), "%s:%zu", seed, off / 32);
		tam_sha256(block, n, pool + off);
	}
	ctxs[0] = RAND_get0_primary(NULL);
	ctxs[1] = RAND_get0_public(NULL);
	ctxs[2] = RAND_get0_private(NULL);
	p[0] = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, pool, POOL_BYTES);
	p[1] = OSSL_PARAM_construct_end();
	for (size_t i = 0; i < 3; i++)
		if (ctxs[i] == NULL || EVP_RAND_CTX_set_params(ctxs[i], p) != 1)
			die("cannot feed the test random generator");
}

static void
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		die("command failed: %s", cmd);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *d = NULL;

	if (tam_file_read(path, 1 << 20, &d, len, NULL) != TAM_OK)
		die("cannot read %s", path);
	return d;
}

static struct jose_key *
key_file(const char *path)
{
	struct jose_key *k = NULL;
	size_t len;
	uint8_t *d = slurp(path, &len);

	if (jose_key_from_pem(d, len, &k, NULL) != TAM_OK)
		die("%s: not a key", path);
	free(d);
	return k;
}

static void
write_json(const char *path, json_t *j)
{
	if (json_dump_file(j, path, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0)
		die("cannot write %s", path);
	json_decref(j);
}

/* A key as a private JWK object. */
static json_t *
jwk_of(const struct jose_key *k)
{
	char *text = NULL;
	json_t *j;

	if (jose_key_to_jwk(k, true, &text, NULL) != TAM_OK || (j = json_loads(text, 0, NULL)) == NULL)
		die("cannot export a key");
	free(text);
	return j;
}

/* Context of one set's run. */
struct run {
	const struct set *s;
	char dir[1024];
	struct store *st;
	struct mgmt m;
	struct pki_signer *signer;
	struct otrp_engine *engine;
	struct mock_tee *mt;
	struct jose_key *tam, *tee, *sp, *aik;
	char state[600];
	int step;
};

/* Decrypt a JWE found in a TBS body for the vector; NULL when it is absent. */
static json_t *
opened(const json_t *jwe, const struct jose_key *k, const char *path, const char *recipient)
{
	char alg[JOSE_ALG_MAX], enc[JOSE_ALG_MAX];
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *o;

	if (jwe == NULL)
		return NULL;
	if (jose_jwe_suite(jwe, alg, enc, NULL) != TAM_OK || jose_jwe_decrypt(k, jwe, &pt, &len,
	    NULL) != TAM_OK)
		die("%s does not decrypt with the %s key", path, recipient);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s%}", "path", path, "recipient", recipient, "alg", alg,
	    "enc", enc, "plaintext", (const char *)pt, len);
	free(pt);
	return o;
}

/* The AIK the mock TEE made for sp1 (after CreateSD). */
static const struct jose_key *
aik(struct run *r)
{
	char path[800];

	if (r->aik == NULL) {
		snprintf(path, sizeof(path), "%s/aik-sp1.pem", r->state);
		r->aik = key_file(path);
	}
	return r->aik;
}

/* One message into NN-<Name>.json, with everything needed to check it. */
static void
record(struct run *r, const char *body, size_t len, bool from_tam, const char *expected)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *jwsobj, *tbs, *inner, *enc, *v;
	struct jose_jws *jws = NULL;
	const uint8_t *payload;
	const char *name;
	size_t plen;
	char path[1200];

	if (doc == NULL || json_object_size(doc) != 1)
		die("step %d: not one named message", r->step);
	name = json_object_iter_key(json_object_iter(doc));
	jwsobj = json_object_iter_value(json_object_iter(doc));
	if (json_is_array(jwsobj))    /* GetDeviceStateResponse: [{"GetDeviceTEEStateResponse": jws}] */
		jwsobj = json_object_get(json_array_get(jwsobj, 0), "GetDeviceTEEStateResponse");
	if (jose_jws_parse(jwsobj, &jws, NULL) != TAM_OK ||
	    jose_jws_verify(jws, from_tam ? r->tam : r->tee, NULL) != TAM_OK)
		die("step %d: %s does not verify", r->step, name);
	payload = jose_jws_payload_unverified(jws, &plen);
	if ((tbs = json_loadb((const char *)payload, plen, 0, NULL)) == NULL)
		die("step %d: TBS is not JSON", r->step);
	inner = json_object_iter_value(json_object_iter(tbs));
	enc = json_array();
	if (from_tam) {
		if ((v = opened(json_object_get(inner, "content"), r->tee, "content", "tee")) != NULL)
			json_array_append_new(enc, v);
		if (json_object_get(inner, "encrypted_ta") != NULL) {
			/* Its key JWE holds 32 raw bytes: shown as base64url. */
			const json_t *eta = json_object_get(inner, "encrypted_ta");
			uint8_t *key = NULL, *ct = NULL, *ta = NULL, iv[16];
			size_t klen = 0, ctlen = 0, talen = 0;
			const char *data = json_string_value(json_object_get(eta, "ciphertadata"));
			char *b64 = NULL, alg[JOSE_ALG_MAX], encn[JOSE_ALG_MAX];
			if (data == NULL)
				data = json_string_value(json_object_get(eta, "ciphernewtadata"));
			if (jose_jwe_suite(json_object_get(eta, "key"), alg, encn, NULL) != TAM_OK ||
			    jose_jwe_decrypt(aik(r), json_object_get(eta, "key"), &key, &klen, NULL) !=
			    TAM_OK || klen != 32 ||
			    tam_hex_decode(json_string_value(json_object_get(eta, "iv")), 32, iv, 16) !=
			    TAM_OK || data == NULL ||
			    tam_b64_decode_any(data, strlen(data), &ct, &ctlen) != TAM_OK ||
			    otrp_bundle_open(ct, ctlen, key, iv, &ta, &talen, NULL) != TAM_OK ||
			    tam_b64url_encode(key, klen, &b64) != TAM_OK)
				die("step %d: encrypted_ta does not open", r->step);
			json_array_append_new(enc, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "path",
			    "encrypted_ta.key", "recipient", "aik-sp1", "alg", alg, "enc", encn,
			    "plaintext", b64, "plaintext_encoding", "base64url"));
			json_array_append_new(enc, json_pack("{s:s,s:s,s:s,s:s%}", "path",
			    json_object_get(eta, "ciphertadata") != NULL ? "encrypted_ta.ciphertadata" :
			    "encrypted_ta.ciphernewtadata", "cipher", "AES-256-CBC with PKCS#7 padding, "
			    "the key above and iv (hex)", "note", "the SP-signed TA bundle, as uploaded",
			    "plaintext", (const char *)ta, talen));
			free(b64);
			free(key);
			free(ct);
			free(ta);
		}
	} else {
		if ((v = opened(json_object_get(inner, "edsi"), r->tam, "edsi", "tam")) != NULL)
			json_array_append_new(enc, v);
		if ((v = opened(json_object_get(inner, "content"), r->tam, "content", "tam")) != NULL)
			json_array_append_new(enc, v);
	}
	snprintf(path, sizeof(path), "%s/%02d-%s.json", r->dir, r->step, name);
	write_json(path, json_pack("{s:i,s:s,s:s,s:s,s:s,s:s%,s:o,s:o,s:s}", "step", r->step,
	    "message", name, "direction", from_tam ? "TAM to TEE" : "TEE to TAM",
	    "signed_by", from_tam ? "tam" : "tee", "jws_alg", jose_jws_alg(jws),
	    "serialized", body, len, "tbs", tbs, "encrypted", enc, "expected", expected));
	jose_jws_free(jws);
	json_decref(doc);
	r->step++;
}

/* One whole session, every message recorded. */
static void
session(struct run *r)
{
	struct otrp_reply rep, next;
	struct tam_err err = { 0 };
	char *ans = NULL, expected[256];
	size_t alen = 0;

	if (otrp_engine_handle(r->engine, r->st, NULL, NULL, 0, &rep, &err) != TAM_OK)
		die("engine: %s", err.msg);
	while (!rep.done) {
		if (mock_tee_process(r->mt, (const uint8_t *)rep.body, rep.len, &ans, &alen, &err) !=
		    TAM_OK)
			die("mock TEE: %s", err.msg);
		snprintf(expected, sizeof(expected), "the TEE verifies it with the TAM certificate in "
		    "x5c (chaining to root/ca.crt), decrypts each member with its keys and answers %s"
		    " (%s)", mock_tee_last_response(r->mt), mock_tee_last_outcome(r->mt));
		record(r, rep.body, rep.len, true, expected);
		if (otrp_engine_handle(r->engine, r->st, NULL, (const uint8_t *)ans, alen, &next,
		    &err) != TAM_OK)
			die("engine: %s", err.msg);
		if (next.done)
			snprintf(expected, sizeof(expected), "the TAM verifies it with the TEE key, "
			    "decrypts with its own, records the result and ends the session (HTTP 204)");
		else
			snprintf(expected, sizeof(expected), "the TAM verifies it with the TEE key, "
			    "decrypts with its own, records the result and sends the next request");
		record(r, ans, alen, false, expected);
		free(ans);
		ans = NULL;
		otrp_reply_clear(&rep);
		rep = next;
	}
	otrp_reply_clear(&rep);
}

static void
run_set(const struct set *s)
{
	struct otrp_engine_cfg cfg = { 0 };
	struct mock_tee_cfg mcfg = { 0 };
	struct run r = { 0 };
	char pki[1100], key[1200], path[1200], db[1300], *bundle;
	uint8_t *chain, *cert;
	size_t chain_len, cert_len;
	json_t *jws = NULL;
	int64_t id;
	static const char ta1[] = "Hello from a TA, version 1.0";
	static const char ta2[] = "Hello from a TA, version 1.1";

	r.s = s;
	rand_reset(s->name);
	snprintf(r.dir, sizeof(r.dir), "%s/%s", out_root, s->name);
	sh("rm -rf '%s' && mkdir -p '%s/keys'", r.dir, r.dir);
	snprintf(pki, sizeof(pki), "%s/%s", pki_root, s->pki);
	/* Keys are used from a private copy: the TAM key must be mode 0600. */
	snprintf(path, sizeof(path), "%s/run-%s", work, s->name);
	sh("mkdir -p '%s' && cp '%s/tam/tam.key' '%s/tam.key' && chmod 0600 '%s/tam.key'", path, pki,
	    path, path);
	snprintf(key, sizeof(key), "%s/tam.key", path);
	snprintf(r.state, sizeof(r.state), "%s/state", path);
	snprintf(db, sizeof(db), "%s/tamd.db", path);
	if (store_open(db, STORE_CREATE, &r.st, NULL) != TAM_OK)
		die("cannot create the database");
	r.m.st = r.st;
	r.m.actor = "vectors";
	snprintf(path, sizeof(path), "%s/tam/tam-chain.pem", pki);
	chain = slurp(path, &chain_len);
	if (mgmt_identity_set(&r.m, key, chain, chain_len, NULL, NULL) != TAM_OK ||
	    pki_signer_load(key, chain, chain_len, NULL, &r.signer, NULL) != TAM_OK)
		die("TAM identity");
	free(chain);
	snprintf(path, sizeof(path), "%s/tee/ca.crt", pki);
	cert = slurp(path, &cert_len);
	if (mgmt_anchor_add(&r.m, "tee-ca", cert, cert_len, NULL) != TAM_OK)
		die("anchor");
	free(cert);
	snprintf(path, sizeof(path), "%s/sp/sp1.crt", pki);
	cert = slurp(path, &cert_len);
	if (mgmt_sp_add(&r.m, "sp1", NULL, cert, cert_len, NULL) != TAM_OK)
		die("SP");
	free(cert);
	snprintf(path, sizeof(path), "%s/sp/sp1.key", pki);
	r.sp = key_file(path);
	snprintf(path, sizeof(path), "%s/tam/tam.key", pki);
	r.tam = key_file(path);
	snprintf(path, sizeof(path), "%s/tee/tee1.key", pki);
	r.tee = key_file(path);
	if (jose_jws_sign(r.sp, jose_key_sig_alg(r.sp), NULL, NULL, (const uint8_t *)ta1,
	    strlen(ta1), &jws, NULL) != TAM_OK || (bundle = json_dumps(jws, JSON_COMPACT)) == NULL ||
	    mgmt_ta_add(&r.m, "sp1", TAID, "1.0", "hello", (uint8_t *)bundle, strlen(bundle), &id,
	    NULL) != TAM_OK)
		die("TA 1.0");
	free(bundle);
	json_decref(jws);
	snprintf(path, sizeof(path), "%s/tee/tee1.crt", pki);
	cert = slurp(path, &cert_len);
	if (mgmt_device_enroll(&r.m, "tee1", NULL, cert, cert_len, &id, NULL) != TAM_OK ||
	    mgmt_assign(&r.m, "tee1", TAID, NULL, false, NULL) != TAM_OK)
		die("device");
	free(cert);
	cfg.signer = r.signer;
	cfg.request_ttl = 600;
	cfg.now = fixed_now;
	cfg.auto_register = false;
	if (otrp_engine_new(&cfg, &r.engine, NULL) != TAM_OK)
		die("engine");
	{
		char tee_key[1200], tee_cert[1200], tee_ca[1200], anchor[1200];
		snprintf(tee_key, sizeof(tee_key), "%s/tee/tee1.key", pki);
		snprintf(tee_cert, sizeof(tee_cert), "%s/tee/tee1.crt", pki);
		snprintf(tee_ca, sizeof(tee_ca), "%s/tee/ca.crt", pki);
		snprintf(anchor, sizeof(anchor), "%s/root/ca.crt", pki);
		mcfg.state_dir = r.state;
		mcfg.key_path = tee_key;
		mcfg.cert_path = tee_cert;
		mcfg.cacert_path = tee_ca;
		mcfg.tam_anchor_path = anchor;
		mcfg.tee_name = "tee1";
		mcfg.jwe_alg = s->tee_alg;
		mcfg.jwe_enc = s->tee_enc;
		if (mock_tee_open(&mcfg, &r.mt, NULL) != TAM_OK)
			die("mock TEE");
	}
	/* 1: GetDeviceState, CreateSD, InstallTA */
	session(&r);
	/* 2: a newer version: UpdateTA */
	if (jose_jws_sign(r.sp, jose_key_sig_alg(r.sp), NULL, NULL, (const uint8_t *)ta2,
	    strlen(ta2), &jws, NULL) != TAM_OK || (bundle = json_dumps(jws, JSON_COMPACT)) == NULL ||
	    mgmt_ta_add(&r.m, "sp1", TAID, "1.1", NULL, (uint8_t *)bundle, strlen(bundle), &id,
	    NULL) != TAM_OK)
		die("TA 1.1");
	free(bundle);
	json_decref(jws);
	session(&r);
	/* 3: the SP's SD renamed: UpdateSD */
	if (mgmt_sp_update(&r.m, "sp1", "sp1.bank", NULL, 0, NULL) != TAM_OK)
		die("SP update");
	session(&r);
	/* 4: unassigned: DeleteTA, then DeleteSD */
	if (mgmt_unassign(&r.m, "tee1", TAID, NULL) != TAM_OK)
		die("unassign");
	session(&r);

	snprintf(path, sizeof(path), "%s/keys/tam.jwk", r.dir);
	write_json(path, jwk_of(r.tam));
	snprintf(path, sizeof(path), "%s/keys/tee.jwk", r.dir);
	write_json(path, jwk_of(r.tee));
	snprintf(path, sizeof(path), "%s/keys/sp.jwk", r.dir);
	write_json(path, jwk_of(r.sp));
	snprintf(path, sizeof(path), "%s/keys/aik-sp1.jwk", r.dir);
	write_json(path, jwk_of(aik(&r)));
	sh("cp '%s/tam/tam-chain.pem' '%s/tee/tee1.crt' '%s/root/ca.crt' '%s/keys/'", pki, pki, pki,
	    r.dir);
	snprintf(path, sizeof(path), "%s/set.json", r.dir);
	write_json(path, json_pack("{s:s,s:s,s:i,s:s}", "set", s->name, "summary", s->summary,
	    "messages", r.step, "seed", s->name));

	mock_tee_close(r.mt);
	otrp_engine_free(r.engine);
	pki_signer_free(r.signer);
	store_close(r.st);
	jose_key_free(r.tam);
	jose_key_free(r.tee);
	jose_key_free(r.sp);
	jose_key_free(r.aik);
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: vectors OUTDIR PKIDIR\n");
		return 2;
	}
	snprintf(out_root, sizeof(out_root), "%s", argv[1]);
	snprintf(pki_root, sizeof(pki_root), "%s", argv[2]);
	tam_log_set_level(TAM_LOG_ERROR);
	/* Before anything draws a random byte: the test generator, never the system's. */
	if (RAND_set_DRBG_type(NULL, "TEST-RAND", NULL, NULL, NULL) != 1)
		die("OpenSSL has no TEST-RAND");
	if ((pool = malloc(POOL_BYTES)) == NULL)
		die("out of memory");
	snprintf(work, sizeof(work), "/tmp/otrp-vectors.XXXXXX");
	if (mkdtemp(work) == NULL)
		die("mkdtemp: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		run_set(&sets[i]);
	sh("rm -rf '%s'", work);
	free(pool);
	return 0;
}
