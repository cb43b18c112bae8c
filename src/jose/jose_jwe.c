// SPDX-License-Identifier: MIT
/*
 * JWE in JSON serialization: RSA encryption through cjose, reshaped into the
 * two forms of jose.h, ECDH-ES+A128KW built here (cjose lacks it);
 * decryption written here over OpenSSL EVP so that it
 * has no padding oracle. cjose tells an RSA padding failure from a tag
 * failure and accepts unwrapped CEKs of any length; we instead follow
 * RFC 7516 §11.5 for both RSA algs: a random CEK is drawn first and silently
 * replaces the unwrapped one when the unwrap fails or has the wrong length,
 * so a bad key, bad padding and a bad tag all end in the same MAC check and
 * the same error. Only the structure (JSON, base64, headers, algs) is
 * reported precisely, because an attacker learns nothing from it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "jose_int.h"

#define WHAT "JWE"
#define DECRYPT_FAILED "JWE decryption failed"
#define MAX_CEK 64            /* A256CBC-HS512 */
#define MAX_IV_TAG 64         /* decoded iv and tag bound; real ones are 12..32 bytes */

enum jwe_kw {
	KW_NONE = 0,
	KW_RSA1_5,
	KW_RSA_OAEP,
	KW_ECDH_ES_A128KW,
};

/* Parts of a parsed JWE; pointers into the input JSON are borrowed. */
struct jwe_parts {
	json_t *hdr;                   /* decoded protected header; owned */
	json_t *all;                   /* protected and recipient parameters together; owned */
	const char *alg;               /* "alg", borrowed from hdr or the recipient header */
	const char *aad;               /* "protected" as received: the AAD; borrowed */
	size_t aadlen;
	enum jwe_kw kw;                /* key management alg */
	const struct jose_enc *enc;    /* content encryption */
	uint8_t *ek, *iv, *ct, *tag;   /* decoded members; owned */
	size_t eklen, ivlen, ctlen, taglen;
};

/* Header parameters we do not implement; RFC 7516 makes both must-understand. */
static const char *const refused_params[] = { "zip", "crit" };

static enum jwe_kw
kw_find(const char *s)
{
	if (s != NULL && strcmp(s, JOSE_ALG_RSA1_5) == 0)
		return KW_RSA1_5;
	if (s != NULL && strcmp(s, JOSE_ALG_RSA_OAEP) == 0)
		return KW_RSA_OAEP;
	if (s != NULL && strcmp(s, JOSE_ALG_ECDH_ES_A128KW) == 0)
		return KW_ECDH_ES_A128KW;
	return KW_NONE;
}

static void
parts_free(struct jwe_parts *p)
{
	json_decref(p->hdr);
	json_decref(p->all);
	free(p->ek);
	free(p->iv);
	jose_clear_free(p->ct, p->ctlen);
	free(p->tag);
}

static int
check_header(const json_t *h, const char *which, struct tam_err *err)
{
	size_t i;

	for (i = 0; h != NULL && i < sizeof(refused_params) / sizeof(refused_params[0]); i++)
		if (json_object_get(h, refused_params[i]) != NULL)
			return tam_err_set(err, TAM_EMALFORMED,
			    WHAT ": \"%s\" in the %s header is not supported",
			    refused_params[i], which);
	return TAM_OK;
}

static int
jwe_parse(const json_t *jwe, struct jwe_parts *p, struct tam_err *err)
{
	const json_t *r = jwe;    /* holds "header" and "encrypted_key" */
	const char *alg = NULL, *ralg = NULL, *enc, *key;
	json_t *recipients, *rhdr, *v;
	int rc;

	if (!json_is_object(jwe))
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": not a JSON object");
	if (json_object_get(jwe, "aad") != NULL)
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": \"aad\" is not supported");
	if (json_object_get(jwe, "unprotected") != NULL)
		return tam_err_set(err, TAM_EMALFORMED,
		    WHAT ": a shared \"unprotected\" header is not supported");
	recipients = json_object_get(jwe, "recipients");
	if (recipients != NULL) {
		if (!json_is_array(recipients) || json_array_size(recipients) != 1)
			return tam_err_set(err, TAM_EMALFORMED,
			    WHAT ": exactly one recipient is supported");
		if (json_object_get(jwe, "encrypted_key") != NULL ||
		    json_object_get(jwe, "header") != NULL)
			return tam_err_set(err, TAM_EMALFORMED,
			    WHAT ": mixes the general and the flattened form");
		r = json_array_get(recipients, 0);
		if (!json_is_object(r))
			return tam_err_set(err, TAM_EMALFORMED,
			    WHAT ": recipient is not an object");
	}
	if ((rc = jose_json_str(jwe, WHAT, "protected", true, &p->aad, &p->aadlen,
	    err)) != TAM_OK ||
	    (rc = jose_header_decode(p->aad, p->aadlen, WHAT, &p->hdr, err)) != TAM_OK ||
	    (rc = jose_json_obj(r, WHAT, "header", &rhdr, err)) != TAM_OK ||
	    (rc = check_header(p->hdr, "protected", err)) != TAM_OK ||
	    (rc = check_header(rhdr, "recipient", err)) != TAM_OK)
		return rc;
	/* RFC 7516 §7.2.1: header names must be disjoint across locations. */
	if (rhdr != NULL) {
		json_object_foreach(rhdr, key, v) {
			if (json_object_get(p->hdr, key) != NULL)
				return tam_err_set(err, TAM_EMALFORMED,
				    WHAT ": \"%s\" is in the protected and the recipient header",
				    jose_printable(key));
		}
		if (json_object_get(rhdr, "enc") != NULL)
			return tam_err_set(err, TAM_EMALFORMED,
			    WHAT ": \"enc\" must be in the protected header");
	}
	if ((rc = jose_json_str(p->hdr, WHAT, "alg", false, &alg, NULL, err)) != TAM_OK ||
	    (rhdr != NULL &&
	    (rc = jose_json_str(rhdr, WHAT, "alg", false, &ralg, NULL, err)) != TAM_OK) ||
	    (rc = jose_json_str(p->hdr, WHAT, "enc", true, &enc, NULL, err)) != TAM_OK)
		return rc;
	if (alg == NULL)
		alg = ralg;
	if (alg == NULL)
		return tam_err_set(err, TAM_EMALFORMED, WHAT ": \"alg\" is missing");
	if ((p->kw = kw_find(alg)) == KW_NONE)
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s is not allowed",
		    jose_printable(alg));
	p->alg = alg;
	if ((p->all = json_deep_copy(p->hdr)) == NULL ||
	    (rhdr != NULL && json_object_update(p->all, rhdr) != 0))
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if ((p->enc = jose_enc_find(enc)) == NULL)
		return tam_err_set(err, TAM_EALG, WHAT ": enc %s is not allowed",
		    jose_printable(enc));
	if ((rc = jose_json_b64(r, WHAT, "encrypted_key", JOSE_RSA_MAX_BYTES, &p->ek,
	    &p->eklen, err)) != TAM_OK ||
	    (rc = jose_json_b64(jwe, WHAT, "iv", MAX_IV_TAG, &p->iv, &p->ivlen,
	    err)) != TAM_OK ||
	    (rc = jose_json_b64(jwe, WHAT, "ciphertext", JOSE_MAX_CONTENT_BYTES + MAX_IV_TAG,
	    &p->ct, &p->ctlen, err)) != TAM_OK ||
	    (rc = jose_json_b64(jwe, WHAT, "tag", MAX_IV_TAG, &p->tag, &p->taglen,
	    err)) != TAM_OK)
		return rc;
	return TAM_OK;
}

/* 0xff when a == b, else 0, computed without branching on the values. */
static uint8_t
ct_eq_mask(size_t a, size_t b)
{
	size_t x = a ^ b;

	/* The top bit of x | -x is set exactly when x != 0. */
	return (uint8_t)(((x | (0 - x)) >> (sizeof(size_t) * CHAR_BIT - 1)) - 1);
}

/* 0xff when x is 0, else 0, without a branch. */
static uint8_t
ct_zero_mask(uint8_t x)
{
	return (uint8_t)((((unsigned)x | (0u - x)) >> (sizeof(unsigned) * CHAR_BIT - 1)) - 1);
}

/*
 * 0xff when em (n bytes, the raw RSA result) is a PKCS#1 v1.5 encryption
 * block 00 02 PS 00 M with non-zero PS and M exactly mlen bytes long; else
 * 0. Callers ensure n >= mlen + 11, so PS then has the 8 bytes it needs.
 * Every byte is read and no branch depends on them.
 */
static uint8_t
pkcs1_type2_mask(const uint8_t *em, size_t n, size_t mlen)
{
	uint8_t good = ct_zero_mask(em[0]) & ct_zero_mask((uint8_t)(em[1] ^ 2)), found = 0;
	size_t zero_at = 0;

	for (size_t i = 2; i < n; i++) {
		uint8_t first = ct_zero_mask(em[i]) & (uint8_t)~found;
		zero_at |= i & (size_t)(0 - (size_t)(first & 1));
		found |= first;
	}
	/* The first zero after 00 02 must be the byte right before the message. */
	return good & found & ct_eq_mask(zero_at, n - mlen - 1);
}

/*
 * Fill cek (ceklen bytes) with the unwrapped CEK, or with random bytes when
 * the unwrap fails or yields another length. Which one it was is never
 * branched on: the MAC check downstream is the only judge. Returns -1 only
 * on internal errors (no randomness, no memory).
 */
static int
unwrap_cek(const struct jose_key *k, enum jwe_kw kw, const uint8_t *ek,
    size_t eklen, uint8_t *cek, size_t ceklen)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *buf = NULL, good;
	size_t i, modlen, outlen;
	int ok, rc = -1;

	if (tam_random(cek, ceklen) != TAM_OK)
		return -1;
	modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	/* Keys are >= 2048 bits: room for 00 02, 8 bytes of PS, 00 and any CEK. */
	if (modlen < ceklen + 11)
		return -1;
	/* Zeroed, so that the selection below never reads undefined bytes. */
	buf = calloc(1, modlen);
	if (buf == NULL)
		return -1;
	/*
	 * RSA1_5 is unpadded here, in constant time, from the raw RSA result:
	 * OpenSSL 3.0's own PKCS#1 v1.5 unpadding reports bad padding on a
	 * different path (the error queue), a timing signal (the Marvin attack).
	 */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, kw == KW_RSA1_5 ? RSA_NO_PADDING
	    : RSA_PKCS1_OAEP_PADDING) != 1 ||
	    (kw == KW_RSA_OAEP &&
	    (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) != 1)))
		goto out;
	outlen = modlen;
	ok = EVP_PKEY_decrypt(ctx, buf, &outlen, ek, eklen);
	if (kw == KW_RSA1_5) {
		good = ct_eq_mask((size_t)ok, 1) & ct_eq_mask(outlen, modlen) &
		    pkcs1_type2_mask(buf, modlen, ceklen);
		/* With the length fixed, a valid message is the last ceklen bytes. */
		for (i = 0; i < ceklen; i++)
			cek[i] = (uint8_t)((buf[modlen - ceklen + i] & good) | (cek[i] & (uint8_t)~good));
	} else {
		good = ct_eq_mask((size_t)ok, 1) & ct_eq_mask(outlen, ceklen);
		for (i = 0; i < ceklen; i++)
			cek[i] = (uint8_t)((buf[i] & good) | (cek[i] & (uint8_t)~good));
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	jose_clear_free(buf, modlen);
	return rc;
}

int
jose_jwe_decrypt(const struct jose_key *k, const json_t *jwe, uint8_t **pt,
    size_t *len, struct tam_err *err)
{
	struct jwe_parts p;
	uint8_t cek[MAX_CEK];
	int rc;

	if (pt == NULL || len == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jwe_decrypt: no output");
	*pt = NULL;
	*len = 0;
	if (k == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jwe_decrypt: no key");
	memset(&p, 0, sizeof(p));
	if ((rc = jwe_parse(jwe, &p, err)) != TAM_OK)
		goto out;
	if ((p.kw == KW_ECDH_ES_A128KW) != (k->kty == JOSE_KTY_EC_P256)) {
		rc = tam_err_set(err, TAM_EALG, WHAT ": alg %s needs %s key", jose_printable(p.alg),
		    p.kw == KW_ECDH_ES_A128KW ? "a P-256" : "an RSA");
		goto out;
	}
	if (!k->priv) {
		rc = tam_err_set(err, TAM_EINVAL, WHAT ": decryption needs a private key");
		goto out;
	}
	/* From here on every failure takes the one path below, with one message. */
	if (p.ivlen != p.enc->iv_len || p.taglen != p.enc->tag_len ||
	    p.enc->cek_len > sizeof(cek))
		goto fail;
	if (p.kw == KW_ECDH_ES_A128KW ? jose_ecdh_unwrap(k, p.alg, p.all, p.ek, p.eklen, cek,
	    p.enc->cek_len) != 0 : unwrap_cek(k, p.kw, p.ek, p.eklen, cek, p.enc->cek_len) != 0)
		goto fail;
	if (jose_aead_decrypt(p.enc, cek, p.aad, p.aadlen, p.iv, p.ct, p.ctlen, p.tag,
	    pt, len) != 0)
		goto fail;
	rc = TAM_OK;
	goto out;
fail:
	rc = tam_err_set(err, TAM_EDECRYPT, DECRYPT_FAILED);
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	parts_free(&p);
	return rc;
}

int
jose_jwe_suite(const json_t *jwe, char alg[JOSE_ALG_MAX], char enc[JOSE_ALG_MAX],
    struct tam_err *err)
{
	struct jwe_parts p;
	int rc;

	memset(&p, 0, sizeof(p));
	alg[0] = enc[0] = '\0';
	if ((rc = jwe_parse(jwe, &p, err)) == TAM_OK) {
		/* Both are allow-listed names, all shorter than JOSE_ALG_MAX. */
		snprintf(alg, JOSE_ALG_MAX, "%s", p.alg);
		snprintf(enc, JOSE_ALG_MAX, "%s", p.enc->name);
	}
	parts_free(&p);
	return rc;
}

/* A string member of cjose's JSON output, shared into our object. */
static int
copy_member(json_t *dst, const char *dname, const json_t *src, const char *sname)
{
	json_t *v = json_object_get(src, sname);

	if (!json_is_string(v))
		return -1;
	return json_object_set(dst, dname, v);
}

/* Turn cjose's flattened output into the form jose.h promises. */
static int
reshape(const json_t *c, const char *alg, enum jose_jwe_form form, json_t **out,
    struct tam_err *err)
{
	json_t *o, *recipients = NULL, *r = NULL;

	*out = NULL;
	o = json_object();
	if (o == NULL || copy_member(o, "protected", c, "protected") != 0)
		goto fail;
	if (form == JOSE_JWE_GENERAL) {
		recipients = json_array();
		r = json_object();
		/* json_object_set_new() consumes the header even when it fails. */
		if (recipients == NULL || r == NULL ||
		    json_object_set_new(r, "header", json_pack("{ss}", "alg", alg)) != 0 ||
		    copy_member(r, "encrypted_key", c, "encrypted_key") != 0 ||
		    json_array_append(recipients, r) != 0 ||
		    json_object_set(o, "recipients", recipients) != 0)
			goto fail;
	} else if (copy_member(o, "encrypted_key", c, "encrypted_key") != 0) {
		goto fail;
	}
	if (copy_member(o, "iv", c, "iv") != 0 ||
	    copy_member(o, "ciphertext", c, "ciphertext") != 0 ||
	    copy_member(o, "tag", c, "tag") != 0)
		goto fail;
	json_decref(r);
	json_decref(recipients);
	*out = o;
	return TAM_OK;
fail:
	json_decref(r);
	json_decref(recipients);
	json_decref(o);
	return tam_err_set(err, TAM_ECRYPTO, WHAT ": cannot reshape cjose's output");
}

/* base64url of n bytes as a new JSON string. */
static json_t *
b64_json(const uint8_t *p, size_t n)
{
	char *s = NULL;
	json_t *j;

	if (tam_b64url_encode(p, n, &s) != TAM_OK)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

/* The whole JWE for ECDH-ES+A128KW, in either form: cjose cannot make it. */
static int
ecdh_encrypt(const struct jose_key *recipient, const char *alg, const struct jose_enc *enc,
    enum jose_jwe_form form, const uint8_t *pt, size_t len, json_t **out, struct tam_err *err)
{
	uint8_t cek[MAX_CEK], iv[MAX_IV_TAG], tag[MAX_IV_TAG], *ek = NULL, *ct = NULL;
	size_t eklen = 0, ctlen = 0;
	json_t *epk = NULL, *prot = NULL, *o = NULL;
	char *ptext = NULL, *pb64 = NULL;
	int rc;

	if ((rc = tam_random(cek, enc->cek_len)) != TAM_OK ||
	    (rc = tam_random(iv, enc->iv_len)) != TAM_OK) {
		rc = tam_err_set(err, rc, "no randomness");
		goto out;
	}
	if ((rc = jose_ecdh_wrap(recipient, alg, cek, enc->cek_len, &epk, &ek, &eklen,
	    err)) != TAM_OK)
		goto out;
	prot = form == JOSE_JWE_GENERAL ? json_pack("{s:s}", "enc", enc->name) :
	    json_pack("{s:s,s:s,s:O}", "alg", alg, "enc", enc->name, "epk", epk);
	if (prot == NULL || (ptext = json_dumps(prot, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    tam_b64url_encode((const uint8_t *)ptext, strlen(ptext), &pb64) != TAM_OK) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	if (jose_aead_encrypt(enc, cek, pb64, strlen(pb64), iv, pt, len, &ct, &ctlen, tag) != 0) {
		rc = tam_err_set(err, TAM_ECRYPTO, WHAT ": content encryption failed");
		goto out;
	}
	o = json_pack("{s:s,s:o,s:o,s:o}", "protected", pb64, "iv", b64_json(iv, enc->iv_len),
	    "ciphertext", b64_json(ct, ctlen), "tag", b64_json(tag, enc->tag_len));
	if (o != NULL && form == JOSE_JWE_GENERAL &&
	    json_object_set_new(o, "recipients", json_pack("[{s:{s:s,s:O},s:o}]", "header",
	    "alg", alg, "epk", epk, "encrypted_key", b64_json(ek, eklen))) != 0) {
		json_decref(o);
		o = NULL;
	} else if (o != NULL && form != JOSE_JWE_GENERAL &&
	    json_object_set_new(o, "encrypted_key", b64_json(ek, eklen)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	*out = o;
	rc = TAM_OK;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	free(ek);
	free(ct);
	free(ptext);
	free(pb64);
	json_decref(prot);
	json_decref(epk);
	return rc;
}

int
jose_jwe_encrypt(const struct jose_key *recipient, const char *alg,
    const char *enc, enum jose_jwe_form form, const uint8_t *pt, size_t len,
    json_t **out, struct tam_err *err)
{
	cjose_jwe_recipient_t rec;
	cjose_jwe_t *cj = NULL;
	cjose_err cerr = { 0 };
	json_t *prot = NULL, *rhdr = NULL, *exported = NULL;
	const uint8_t *data = pt != NULL ? pt : (const uint8_t *)"";
	char *js = NULL;
	int rc;

	if (out == NULL)
		return tam_err_set(err, TAM_EINVAL, "jose_jwe_encrypt: no output");
	*out = NULL;
	if (recipient == NULL || (pt == NULL && len > 0))
		return tam_err_set(err, TAM_EINVAL, "jose_jwe_encrypt: bad arguments");
	if (kw_find(alg) == KW_NONE)
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s is not allowed",
		    jose_printable(alg));
	if ((kw_find(alg) == KW_ECDH_ES_A128KW) != (recipient->kty == JOSE_KTY_EC_P256))
		return tam_err_set(err, TAM_EALG, WHAT ": alg %s does not fit the recipient's key",
		    jose_printable(alg));
	if (jose_enc_find(enc) == NULL)
		return tam_err_set(err, TAM_EALG, WHAT ": enc %s is not allowed",
		    jose_printable(enc));
	if (form != JOSE_JWE_GENERAL && form != JOSE_JWE_FLAT_PROTECTED)
		return tam_err_set(err, TAM_EINVAL, WHAT ": unknown form %d", (int)form);
	if (len > JOSE_MAX_CONTENT_BYTES)
		return tam_err_set(err, TAM_ETOO_LARGE, WHAT ": plaintext longer than %u bytes",
		    JOSE_MAX_CONTENT_BYTES);
	if (kw_find(alg) == KW_ECDH_ES_A128KW)
		return ecdh_encrypt(recipient, alg, jose_enc_find(enc), form, data, len, out, err);
	/* cjose_header_t is json_t (cjose/header.h); fresh objects per call. */
	if (form == JOSE_JWE_GENERAL) {
		prot = json_pack("{ss}", "enc", enc);
		rhdr = json_pack("{ss}", "alg", alg);
		if (prot == NULL || rhdr == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		rec.jwk = recipient->jwk;
		rec.unprotected_header = (cjose_header_t *)rhdr;
		cj = cjose_jwe_encrypt_multi(&rec, 1, (cjose_header_t *)prot, NULL, data,
		    len, &cerr);
	} else {
		prot = json_pack("{ssss}", "alg", alg, "enc", enc);
		if (prot == NULL) {
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
			goto out;
		}
		cj = cjose_jwe_encrypt(recipient->jwk, (cjose_header_t *)prot, data, len,
		    &cerr);
	}
	if (cj == NULL || (js = cjose_jwe_export_json(cj, &cerr)) == NULL) {
		rc = tam_err_set(err, TAM_ECRYPTO, WHAT ": cjose: %s", jose_cjose_msg(&cerr));
		goto out;
	}
	exported = json_loads(js, 0, NULL);
	if (exported == NULL) {
		rc = tam_err_set(err, TAM_ECRYPTO, WHAT ": cjose wrote invalid JSON");
		goto out;
	}
	rc = reshape(exported, alg, form, out, err);
out:
	json_decref(exported);
	free(js);
	cjose_jwe_release(cj);
	json_decref(rhdr);
	json_decref(prot);
	return rc;
}
