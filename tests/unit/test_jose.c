// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/jose: key formats and policy, RFC 7638 thumbprints,
 * flattened JWS (with the RFC 7515 A.2/A.3 vectors and alg-confusion
 * attacks), JWE in both forms (with the RFC 7516 A.2 vector), the uniform
 * decryption failure, garbage and mutated input, and shared keys used from
 * several threads at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "tam/jose.h"
#include "tam/util.h"

#define DECRYPT_MSG "JWE decryption failed"

/* Keys made once for the whole group: key generation is slow under valgrind. */
struct fixture {
	struct jose_key *rsa;      /* RSA-2048, private */
	struct jose_key *rsa2;     /* another RSA-2048, private */
	struct jose_key *rsa_pub;  /* public half of rsa */
	struct jose_key *ec;       /* P-256, private */
	struct jose_key *ec2;      /* another P-256, private */
	struct jose_key *ec_pub;   /* public half of ec */
	EVP_PKEY *rsa1024;         /* below policy */
	EVP_PKEY *p384;            /* off policy */
};

/* ---- RFC vectors ---- */

/* RFC 7638 §3.1 (extra members alg and kid do not enter the thumbprint). */
static const char rfc7638_jwk[] =
    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4"
    "cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5J"
    "sGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8K"
    "JZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
    "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\","
    "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
static const char rfc7638_thumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* RFC 7515 A.2: RSA key, payload, and the (deterministic) RS256 signature. */
static const char rfc7515_rsa_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qP"
    "CJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9"
    "wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665x"
    "smtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2"
    "ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\","
    "\"e\":\"AQAB\","
    "\"d\":\"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgv"
    "fTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfF"
    "NS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehN"
    "YTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_"
    "RQyGWSeWjnczT0QU91p1DhOVRuOopznQ\","
    "\"p\":\"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3Kh"
    "ooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtld"
    "C-KDV5z-y2XDwGUc\","
    "\"q\":\"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7"
    "zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF"
    "6689rjcJIDEz9RWdc\","
    "\"dp\":\"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9Ykxvux"
    "dBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mb"
    "r1C1XsmvkxHQAdYo0\","
    "\"dq\":\"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719r"
    "rmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3"
    "nssTdlqvd0tIiTHU\","
    "\"qi\":\"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2Mo"
    "wX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-"
    "ZQwVK0JKSHuLFkuQ3U\"}";
static const char rfc7515_payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
static const char rfc7515_payload_b64[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19y"
    "b290Ijp0cnVlfQ";
static const char rfc7515_rs256_protected[] = "eyJhbGciOiJSUzI1NiJ9";
static const char rfc7515_rs256_sig[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5"
    "YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h"
    "6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZE"
    "Sc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0ig"
    "cN_IoypGlUPQGe77Rw";

/* RFC 7515 A.3: P-256 key and an ES256 signature over the same payload. */
static const char rfc7515_ec_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";
static const char rfc7515_es256_protected[] = "eyJhbGciOiJFUzI1NiJ9";
static const char rfc7515_es256_sig[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 7516 A.2: RSA1_5 + A128CBC-HS256, "Live long and prosper." */
static const char rfc7516_rsa_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95"
    "GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRd"
    "hS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7L"
    "jJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0K"
    "QB0GaDWFLN-aEAw3vRw\","
    "\"e\":\"AQAB\","
    "\"d\":\"VFCWOqXr8nvZNyaaJLXdnNPXZKRaWCjkU5Q2egQQpTBMwhprMzWzpR8Sxq1OPThh_J6MUD8Z35wk"
    "y9b8eEO0pwNS8xlh1lOFRRBoNqDIKVOku0aZb-rynq8cxjDTLZQ6Fz7jSjR1Klop-YKaUHc9GsEofQqYruPh"
    "zSA-QgajZGPbE_0ZaVDJHfyd7UUBUKunFMScbflYAAOYJqVIVwaYR5zWEEceUjNnTNo_CVSj-VvXLO5VZfCU"
    "AVLgW4dpf1SrtZjSt34YLsRarSb127reG_DUwg9Ch-KyvjT1SkHgUWRVGcyly7uvVGRSDwsXypdrNinPA4jl"
    "hoNdizK2zF2CWQ\","
    "\"p\":\"9gY2w6I6S6L0juEKsbeDAwpd9WMfgqFoeA9vEyEUuk4kLwBKcoe1x4HG68ik918hdDSE9vDQSccA"
    "3xXHOAFOPJ8R9EeIAbTi1VwBYnbTp87X-xcPWlEPkrdoUKW60tgs1aNd_Nnc9LEVVPMS390zbFxt8TN_biaB"
    "gelNgbC95sM\","
    "\"q\":\"uKlCKvKv_ZJMVcdIs5vVSU_6cPtYI1ljWytExV_skstvRSNi9r66jdd9-yBhVfuG4shsp2j7rGnI"
    "io901RBeHo6TPKWVVykPu1iYhQXw1jIABfw-MVsN-3bQ76WLdt2SDxsHs7q7zPyUyHXmps7ycZ5c72wGkUwN"
    "OjYelmkiNS0\","
    "\"dp\":\"w0kZbV63cVRvVX6yk3C8cMxo2qCM4Y8nsq1lmMSYhG4EcL6FWbX5h9yuvngs4iLEFk6eALoUS4v"
    "IWEwcL4txw9LsWH_zKI-hwoReoP77cOdSL4AVcraHawlkpyd2TWjE5evgbhWtOxnZee3cXJBkAi64Ik6jZx"
    "bvk-RR3pEhnCs\","
    "\"dq\":\"o_8V14SezckO6CNLKs_btPdFiO9_kC1DsuUTd2LAfIIVeMZ7jn1Gus_Ff7B7IVx3p5KuBGOVF8L"
    "-qifLb6nQnLysgHDh132NDioZkhH7mI7hPG-PYE_odApKdnqECHWw0J-F0JWnUd6D2B_1TvF9mXA2Qx-iGY"
    "n8OVV1Bsmp6qU\","
    "\"qi\":\"eNho5yRBEBxhGBtQRww9QirZsB66TrfFReG_CcteI1aCneT0ELGhYlRlCtUkTRclIfuEPmNsNDP"
    "bLoLqqCVznFbvdB7x-Tl-m0l_eFTj2KiqwGqE9PZB9nNTwMVvH3VRRSLWACvPnSiwP8N5Usy-WRXS-V7Tbp"
    "xIhvepTfE0NNo\"}";
static const char rfc7516_protected[] = "eyJhbGciOiJSU0ExXzUiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0";
static const char rfc7516_ek[] =
    "UGhIOguC7IuEvf_NPVaXsGMoLOmwvc1GyqlIKOK1nN94nHPoltGRhWhw7Zx0-kFm1NJn8LE9XShH59_i8J0P"
    "H5ZZyNfGy2xGdULU7sHNF6Gp2vPLgNZ__deLKxGHZ7PcHALUzoOegEI-8E66jX2E4zyJKx-YxzZIItRzC5h"
    "lRirb6Y5Cl_p-ko3YvkkysZIFNPccxRU7qve1WYPxqbb2Yw8kZqa2rMWI5ng8OtvzlV7elprCbuPhcCdZ6XD"
    "P0_F8rkXds2vE4X-ncOIM8hAYHHi29NX0mcKiRaD0-D-ljQTP-cFPgwCp6X-nZZd9OHBv-B3oWh2TbqmScq"
    "XMR4gp_A";
static const char rfc7516_iv[] = "AxY8DCtDaGlsbGljb3RoZQ";
static const char rfc7516_ct[] = "KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY";
static const char rfc7516_tag[] = "9hH0vgRfYgPnAHOd8stkvw";

/* A P-256 key (made for these tests) whose x coordinate starts with a zero byte. */
static const char ec_short_x[] = "APtN0opcJkV3W53UJbG5VQGXo6LYjsK68BgjN4S_FlE";
static const char ec_short_x_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"APtN0opcJkV3W53UJbG5VQGXo6LYjsK68BgjN4S_FlE\","
    "\"y\":\"rf-ktH5V3Ih6aT5e_3bWdfACGSMcYwpJZElPQp1QMDM\","
    "\"d\":\"nElTBHiZMFXE0X2pE17Dp6q4A-7MKlGOxhyUZyPMTyI\"}";

static const char *const jwe_algs[] = { JOSE_ALG_RSA1_5, JOSE_ALG_RSA_OAEP };
static const char *const jwe_encs[] = { JOSE_ENC_A128CBC_HS256, JOSE_ENC_A256CBC_HS512,
	JOSE_ENC_A128GCM, JOSE_ENC_A256GCM };
static const size_t jwe_cek_lens[] = { 32, 64, 16, 32 };

/* ---- helpers ---- */

static struct jose_key *
jwk_key(const char *json)
{
	struct jose_key *k = NULL;
	struct tam_err e = { 0 };

	assert_int_equal(jose_key_from_jwk(json, strlen(json), &k, &e), 0);
	assert_non_null(k);
	return k;
}

static int
jwk_rc(const char *json)
{
	struct jose_key *k = NULL;
	struct tam_err e = { 0 };
	int rc;

	rc = jose_key_from_jwk(json, strlen(json), &k, &e);
	assert_null(k);
	assert_int_equal(e.code, rc);
	return rc;
}

static char *
b64(const void *p, size_t n)
{
	char *s = NULL;

	assert_int_equal(tam_b64url_encode(p, n, &s), 0);
	return s;
}

static uint8_t *
unb64(const char *s, size_t *n)
{
	uint8_t *p = NULL;

	assert_int_equal(tam_b64url_decode(s, strlen(s), &p, n), 0);
	return p;
}

static void
set_str(json_t *o, const char *name, const char *s)
{
	assert_int_equal(json_object_set_new(o, name, json_string(s)), 0);
}

static void
set_b64(json_t *o, const char *name, const void *p, size_t n)
{
	char *s = b64(p, n);

	set_str(o, name, s);
	free(s);
}

/* Flip one bit of the decoded member name (byte idx, modulo its length). */
static void
flip_member(json_t *o, const char *name, size_t idx)
{
	size_t n = 0;
	uint8_t *p = unb64(json_string_value(json_object_get(o, name)), &n);

	assert_true(n > 0);
	p[idx % n] ^= 0x01;
	set_b64(o, name, p, n);
	free(p);
}

/* Flip one bit of the last decoded byte of member name. */
static void
flip_last(json_t *o, const char *name)
{
	size_t n = 0;
	uint8_t *p = unb64(json_string_value(json_object_get(o, name)), &n);

	assert_true(n > 0);
	p[n - 1] ^= 0x80;
	set_b64(o, name, p, n);
	free(p);
}

/* The object holding encrypted_key: the recipient in general form, else o. */
static json_t *
ek_holder(json_t *jwe)
{
	json_t *r = json_object_get(jwe, "recipients");

	return r != NULL ? json_array_get(r, 0) : jwe;
}

static json_t *
load(const char *s)
{
	json_t *o = json_loads(s, 0, NULL);

	assert_non_null(o);
	return o;
}

/* A flattened JWS with the given raw protected header, payload and signature. */
static json_t *
raw_jws(const char *hdr, const char *payload, const char *sig_b64)
{
	json_t *o = json_object();

	assert_non_null(o);
	set_b64(o, "protected", hdr, strlen(hdr));
	set_b64(o, "payload", payload, strlen(payload));
	set_str(o, "signature", sig_b64);
	return o;
}

static int
parse_rc(const json_t *o)
{
	struct jose_jws *jws = NULL;
	struct tam_err e = { 0 };
	int rc;

	rc = jose_jws_parse(o, &jws, &e);
	assert_null(jws);
	if (rc != 0)
		assert_int_equal(e.code, rc);
	return rc;
}

static int
verify_rc(const json_t *o, const struct jose_key *k)
{
	struct jose_jws *jws = NULL;
	struct tam_err e = { 0 };
	int rc;

	assert_int_equal(jose_jws_parse(o, &jws, &e), 0);
	rc = jose_jws_verify(jws, k, &e);
	if (rc != 0)
		assert_int_equal(e.code, rc);
	jose_jws_free(jws);
	return rc;
}

static json_t *
sign(const struct jose_key *k, const char *alg, const char *payload)
{
	struct tam_err e = { 0 };
	json_t *o = NULL;

	assert_int_equal(jose_jws_sign(k, alg, NULL, NULL, (const uint8_t *)payload,
	    strlen(payload), &o, &e), 0);
	assert_non_null(o);
	return o;
}

static json_t *
encrypt(const struct jose_key *k, const char *alg, const char *enc,
    enum jose_jwe_form form, const void *pt, size_t len)
{
	struct tam_err e = { 0 };
	json_t *o = NULL;

	assert_int_equal(jose_jwe_encrypt(k, alg, enc, form, pt, len, &o, &e), 0);
	assert_non_null(o);
	return o;
}

static int
decrypt_rc(const struct jose_key *k, const json_t *jwe)
{
	struct tam_err e = { 0 };
	uint8_t *pt = NULL;
	size_t n = 7;
	int rc;

	rc = jose_jwe_decrypt(k, jwe, &pt, &n, &e);
	if (rc == 0) {
		free(pt);
		return 0;
	}
	assert_null(pt);
	assert_int_equal(n, 0);
	assert_int_equal(e.code, rc);
	return rc;
}

/* Decryption must fail exactly like every other cryptographic failure. */
static void
expect_decrypt_failure(const struct jose_key *k, const json_t *jwe)
{
	struct tam_err e = { 0 };
	uint8_t *pt = NULL;
	size_t n = 7;

	assert_int_equal(jose_jwe_decrypt(k, jwe, &pt, &n, &e), TAM_EDECRYPT);
	assert_int_equal(e.code, TAM_EDECRYPT);
	assert_string_equal(e.msg, DECRYPT_MSG);
	assert_null(pt);
	assert_int_equal(n, 0);
}

/* RSA-encrypt data to k with the given padding (the attacker's tool). */
static uint8_t *
rsa_wrap(const struct jose_key *k, int padding, const uint8_t *data, size_t len,
    size_t *outlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, jose_key_evp(k), NULL);
	uint8_t *out;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, padding), 1);
	*outlen = (size_t)EVP_PKEY_get_size(jose_key_evp(k));
	out = malloc(*outlen);
	assert_non_null(out);
	assert_int_equal(EVP_PKEY_encrypt(ctx, out, outlen, data, len), 1);
	EVP_PKEY_CTX_free(ctx);
	return out;
}

/* Unwrap the encrypted_key of jwe with k, as a test oracle. */
static uint8_t *
rsa_unwrap(const struct jose_key *k, int padding, const json_t *jwe, size_t *cek_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, jose_key_evp(k), NULL);
	const char *s = json_string_value(json_object_get(ek_holder((json_t *)jwe),
	    "encrypted_key"));
	uint8_t *ek, *cek;
	size_t eklen = 0;

	assert_non_null(ctx);
	assert_non_null(s);
	ek = unb64(s, &eklen);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, padding), 1);
	*cek_len = 512;
	cek = malloc(*cek_len);
	assert_non_null(cek);
	assert_int_equal(EVP_PKEY_decrypt(ctx, cek, cek_len, ek, eklen), 1);
	EVP_PKEY_CTX_free(ctx);
	free(ek);
	return cek;
}

/* JWK of a public key our policy refuses, written without the jose module. */
static char *
raw_pub_jwk(EVP_PKEY *pk)
{
	const char *names[2][2] = { { OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E },
		{ OSSL_PKEY_PARAM_EC_PUB_X, OSSL_PKEY_PARAM_EC_PUB_Y } };
	bool rsa = EVP_PKEY_is_a(pk, "RSA");
	char *v[2], *s;
	uint8_t buf[1024];
	json_t *o;
	int i, n;

	for (i = 0; i < 2; i++) {
		BIGNUM *bn = NULL;

		assert_int_equal(EVP_PKEY_get_bn_param(pk, names[rsa ? 0 : 1][i], &bn), 1);
		n = rsa ? BN_num_bytes(bn) : 48;
		assert_int_equal(BN_bn2binpad(bn, buf, n), n);
		v[i] = b64(buf, (size_t)n);
		BN_free(bn);
	}
	o = rsa ? json_pack("{ssssss}", "kty", "RSA", "n", v[0], "e", v[1])
		: json_pack("{ssssssss}", "kty", "EC", "crv", "P-384", "x", v[0], "y", v[1]);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	assert_non_null(s);
	json_decref(o);
	free(v[0]);
	free(v[1]);
	return s;
}

/* ---- fixture ---- */

static int
group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tam_err e = { 0 };

	if (f == NULL ||
	    jose_key_generate(JOSE_KTY_RSA, &f->rsa, &e) != 0 ||
	    jose_key_generate(JOSE_KTY_RSA, &f->rsa2, &e) != 0 ||
	    jose_key_generate(JOSE_KTY_EC_P256, &f->ec, &e) != 0 ||
	    jose_key_generate(JOSE_KTY_EC_P256, &f->ec2, &e) != 0 ||
	    jose_key_public(f->rsa, &f->rsa_pub, &e) != 0 ||
	    jose_key_public(f->ec, &f->ec_pub, &e) != 0)
		return -1;
	f->rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	f->p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (f->rsa1024 == NULL || f->p384 == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	jose_key_free(f->rsa);
	jose_key_free(f->rsa2);
	jose_key_free(f->rsa_pub);
	jose_key_free(f->ec);
	jose_key_free(f->ec2);
	jose_key_free(f->ec_pub);
	EVP_PKEY_free(f->rsa1024);
	EVP_PKEY_free(f->p384);
	free(f);
	return 0;
}

/* ---- keys ---- */

static void
test_key_generate(void **state)
{
	struct fixture *f = *state;
	struct jose_key *k = NULL;
	struct tam_err e = { 0 };

	assert_int_equal(jose_key_type(f->rsa), JOSE_KTY_RSA);
	assert_true(jose_key_is_private(f->rsa));
	assert_string_equal(jose_key_sig_alg(f->rsa), "RS256");
	assert_int_equal(EVP_PKEY_get_bits(jose_key_evp(f->rsa)), 2048);
	assert_int_equal(jose_key_type(f->ec), JOSE_KTY_EC_P256);
	assert_true(jose_key_is_private(f->ec));
	assert_string_equal(jose_key_sig_alg(f->ec), "ES256");
	assert_true(EVP_PKEY_is_a(jose_key_evp(f->ec), "EC"));
	assert_false(jose_key_is_private(f->rsa_pub));
	assert_false(jose_key_is_private(f->ec_pub));
	assert_true(jose_key_equal_public(f->rsa, f->rsa_pub));
	assert_true(jose_key_equal_public(f->ec, f->ec_pub));
	assert_false(jose_key_equal_public(f->rsa, f->rsa2));
	assert_false(jose_key_equal_public(f->ec, f->ec2));
	assert_false(jose_key_equal_public(f->rsa, f->ec));
	assert_int_equal(jose_key_generate(JOSE_KTY_NONE, &k, &e), TAM_EINVAL);
	assert_null(k);
	assert_int_equal(jose_key_type(NULL), JOSE_KTY_NONE);
	assert_null(jose_key_sig_alg(NULL));
	jose_key_free(NULL);
}

static void
check_pem_roundtrip(const struct jose_key *k)
{
	struct jose_key *back = NULL;
	struct tam_err e = { 0 };
	char *pem = NULL;

	assert_int_equal(jose_key_to_pem(k, true, &pem, &e), 0);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(jose_key_from_pem((uint8_t *)pem, strlen(pem), &back, &e), 0);
	assert_true(jose_key_is_private(back));
	assert_int_equal(jose_key_type(back), jose_key_type(k));
	assert_true(jose_key_equal_public(back, k));
	jose_key_free(back);
	free(pem);

	assert_int_equal(jose_key_to_pem(k, false, &pem, &e), 0);
	assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
	assert_null(strstr(pem, "PRIVATE"));
	assert_int_equal(jose_key_from_pem((uint8_t *)pem, strlen(pem), &back, &e), 0);
	assert_false(jose_key_is_private(back));
	assert_true(jose_key_equal_public(back, k));
	free(pem);
	assert_int_equal(jose_key_to_pem(back, true, &pem, &e), TAM_EINVAL);
	assert_null(pem);
	jose_key_free(back);
}

static void
test_key_pem(void **state)
{
	struct fixture *f = *state;
	struct jose_key *k = NULL;
	struct tam_err e = { 0 };
	const char garbage[] = "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n";
	char *data = NULL;
	BIO *bio;
	long n;

	check_pem_roundtrip(f->rsa);
	check_pem_roundtrip(f->ec);

	/* traditional ("BEGIN RSA PRIVATE KEY") form */
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, jose_key_evp(f->rsa),
	    NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_non_null(strstr(data, "BEGIN RSA PRIVATE KEY"));
	assert_int_equal(jose_key_from_pem((uint8_t *)data, (size_t)n, &k, &e), 0);
	assert_true(jose_key_is_private(k));
	assert_true(jose_key_equal_public(k, f->rsa));
	jose_key_free(k);
	k = NULL;
	BIO_free(bio);

	/* an encrypted key is refused without prompting for a passphrase */
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, jose_key_evp(f->ec),
	    EVP_aes_256_cbc(), (unsigned char *)"secret", 6, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_int_equal(jose_key_from_pem((uint8_t *)data, (size_t)n, &k, &e), TAM_EINVAL);
	assert_null(k);
	BIO_free(bio);

	/* RSA-1024 PEM: refused by policy */
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, f->rsa1024, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_int_equal(jose_key_from_pem((uint8_t *)data, (size_t)n, &k, &e),
	    TAM_EUNSUPPORTED);
	assert_int_equal(e.code, TAM_EUNSUPPORTED);
	assert_null(k);
	BIO_free(bio);

	assert_int_equal(jose_key_from_pem((const uint8_t *)garbage, strlen(garbage), &k,
	    &e), TAM_EINVAL);
	assert_int_equal(jose_key_from_pem((const uint8_t *)"", 0, &k, &e), TAM_EINVAL);
	assert_null(k);
}

static void
test_key_spki(void **state)
{
	struct fixture *f = *state;
	struct jose_key *k = NULL, *keys[2] = { f->rsa, f->ec };
	struct tam_err e = { 0 };
	uint8_t *der = NULL, *longer;
	size_t len = 0;
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(jose_key_to_spki(keys[i], &der, &len, &e), 0);
		assert_true(len > 64);
		assert_int_equal(der[0], 0x30);
		assert_int_equal(jose_key_from_spki(der, len, &k, &e), 0);
		assert_false(jose_key_is_private(k));
		assert_int_equal(jose_key_type(k), jose_key_type(keys[i]));
		assert_true(jose_key_equal_public(k, keys[i]));
		jose_key_free(k);
		k = NULL;
		/* trailing garbage and truncation */
		longer = malloc(len + 1);
		assert_non_null(longer);
		memcpy(longer, der, len);
		longer[len] = 0;
		assert_int_equal(jose_key_from_spki(longer, len + 1, &k, &e), TAM_EMALFORMED);
		assert_int_equal(jose_key_from_spki(der, len - 1, &k, &e), TAM_EMALFORMED);
		assert_null(k);
		free(longer);
		free(der);
	}
	assert_int_equal(jose_key_from_spki((const uint8_t *)"", 0, &k, &e), TAM_EMALFORMED);
	assert_int_equal(jose_key_from_evp(f->rsa1024, &k, &e), TAM_EUNSUPPORTED);
	assert_int_equal(jose_key_from_evp(f->p384, &k, &e), TAM_EUNSUPPORTED);
	assert_null(k);
	assert_int_equal(jose_key_from_evp(jose_key_evp(f->ec), &k, &e), 0);
	assert_true(jose_key_is_private(k));
	assert_true(jose_key_equal_public(k, f->ec));
	jose_key_free(k);
}

static void
check_jwk_roundtrip(const struct jose_key *k)
{
	struct jose_key *pub = NULL, *priv = NULL;
	struct tam_err e = { 0 };
	struct jose_jws *jws = NULL;
	char *s = NULL, tp1[JOSE_THUMBPRINT_LEN], tp2[JOSE_THUMBPRINT_LEN];
	json_t *o, *signed_obj;
	bool rsa = jose_key_type(k) == JOSE_KTY_RSA;

	assert_int_equal(jose_key_to_jwk(k, false, &s, &e), 0);
	o = load(s);
	assert_int_equal(json_object_size(o), rsa ? 3 : 4);
	assert_null(json_object_get(o, "d"));
	if (!rsa) {
		assert_string_equal(json_string_value(json_object_get(o, "crv")), "P-256");
		assert_int_equal(json_string_length(json_object_get(o, "x")), 43);
		assert_int_equal(json_string_length(json_object_get(o, "y")), 43);
	}
	json_decref(o);
	assert_int_equal(jose_key_from_jwk(s, strlen(s), &pub, &e), 0);
	assert_false(jose_key_is_private(pub));
	assert_true(jose_key_equal_public(pub, k));
	free(s);

	assert_int_equal(jose_key_to_jwk(k, true, &s, &e), 0);
	o = load(s);
	assert_int_equal(json_object_size(o), rsa ? 9 : 5);
	assert_non_null(json_object_get(o, "d"));
	json_decref(o);
	assert_int_equal(jose_key_from_jwk(s, strlen(s), &priv, &e), 0);
	assert_true(jose_key_is_private(priv));
	assert_true(jose_key_equal_public(priv, k));
	free(s);

	/* the imported private key signs what the original verifies */
	signed_obj = sign(priv, jose_key_sig_alg(priv), "round trip");
	assert_int_equal(jose_jws_parse(signed_obj, &jws, &e), 0);
	assert_int_equal(jose_jws_verify(jws, k, &e), 0);
	jose_jws_free(jws);
	json_decref(signed_obj);

	assert_int_equal(jose_key_thumbprint(k, tp1, &e), 0);
	assert_int_equal(jose_key_thumbprint(pub, tp2, &e), 0);
	assert_int_equal(strlen(tp1), 43);
	assert_string_equal(tp1, tp2);
	assert_int_equal(jose_key_to_jwk(pub, true, &s, &e), TAM_EINVAL);
	assert_null(s);
	jose_key_free(pub);
	jose_key_free(priv);
}

static void
test_key_jwk(void **state)
{
	struct fixture *f = *state;

	check_jwk_roundtrip(f->rsa);
	check_jwk_roundtrip(f->ec);
}

static void
test_key_jwk_refused(void **state)
{
	struct fixture *f = *state;
	char *s, *good, *priv2;
	json_t *o, *o2;
	size_t n;
	uint8_t *y;
	struct tam_err e = { 0 };

	s = raw_pub_jwk(f->rsa1024);
	assert_int_equal(jwk_rc(s), TAM_EUNSUPPORTED);
	free(s);
	s = raw_pub_jwk(f->p384);
	assert_int_equal(jwk_rc(s), TAM_EUNSUPPORTED);
	free(s);

	assert_int_equal(jwk_rc("{\"kty\":\"oct\",\"k\":\"AAAA\"}"), TAM_EUNSUPPORTED);
	assert_int_equal(jwk_rc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}"),
	    TAM_EUNSUPPORTED);
	assert_int_equal(jwk_rc("{\"n\":\"AQAB\",\"e\":\"AQAB\"}"), TAM_EMALFORMED);
	assert_int_equal(jwk_rc("{\"kty\":7}"), TAM_EMALFORMED);
	assert_int_equal(jwk_rc("[\"RSA\"]"), TAM_EMALFORMED);
	assert_int_equal(jwk_rc("{\"kty\":\"RSA\""), TAM_EMALFORMED);
	assert_int_equal(jwk_rc(""), TAM_EMALFORMED);
	assert_int_equal(jwk_rc("{\"kty\":\"RSA\",\"n\":\"@@@@\",\"e\":\"AQAB\"}"),
	    TAM_EMALFORMED);
	assert_int_equal(jwk_rc("{\"kty\":\"RSA\",\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}"),
	    TAM_EMALFORMED);

	/* RSA private key without all CRT members, and multi-prime */
	assert_int_equal(jose_key_to_jwk(f->rsa, true, &good, &e), 0);
	o = load(good);
	assert_int_equal(json_object_del(o, "qi"), 0);
	s = json_dumps(o, 0);
	assert_int_equal(jwk_rc(s), TAM_EUNSUPPORTED);
	free(s);
	json_decref(o);
	o = load(good);
	assert_int_equal(json_object_set_new(o, "oth", json_array()), 0);
	s = json_dumps(o, 0);
	assert_int_equal(jwk_rc(s), TAM_EUNSUPPORTED);
	free(s);
	json_decref(o);

	/* private half of another key: the pairwise check catches it */
	assert_int_equal(jose_key_to_jwk(f->rsa2, true, &priv2, &e), 0);
	o = load(good);
	o2 = load(priv2);
	assert_int_equal(json_object_set(o, "d", json_object_get(o2, "d")), 0);
	s = json_dumps(o, 0);
	assert_int_equal(jwk_rc(s), TAM_EMALFORMED);
	free(s);
	json_decref(o);
	json_decref(o2);
	free(priv2);
	free(good);

	/* EC: a point off the curve, a short coordinate, a foreign d */
	assert_int_equal(jose_key_to_jwk(f->ec, true, &good, &e), 0);
	o = load(good);
	y = unb64(json_string_value(json_object_get(o, "y")), &n);
	assert_int_equal(n, 32);
	y[31] ^= 0x01;
	set_b64(o, "y", y, n);
	json_object_del(o, "d");
	s = json_dumps(o, 0);
	assert_int_equal(jwk_rc(s), TAM_EMALFORMED);
	free(s);
	set_b64(o, "y", y, 31);
	s = json_dumps(o, 0);
	assert_int_equal(jwk_rc(s), TAM_EMALFORMED);
	free(s);
	free(y);
	json_decref(o);
	assert_int_equal(jose_key_to_jwk(f->ec2, true, &priv2, &e), 0);
	o = load(good);
	o2 = load(priv2);
	assert_int_equal(json_object_set(o, "d", json_object_get(o2, "d")), 0);
	s = json_dumps(o, 0);
	assert_int_equal(jwk_rc(s), TAM_EMALFORMED);
	free(s);
	json_object_set_new(o, "crv", json_string("P-384"));
	s = json_dumps(o, 0);
	assert_int_equal(jwk_rc(s), TAM_EUNSUPPORTED);
	free(s);
	json_decref(o);
	json_decref(o2);
	free(priv2);
	free(good);
}

static void
test_key_thumbprint(void **state)
{
	struct fixture *f = *state;
	struct jose_key *k = jwk_key(rfc7638_jwk), *pub = NULL;
	struct tam_err e = { 0 };
	char tp[JOSE_THUMBPRINT_LEN], *s, *canon, *expect;
	uint8_t md[32];
	json_t *o, *req;

	assert_int_equal(jose_key_thumbprint(k, tp, &e), 0);
	assert_string_equal(tp, rfc7638_thumbprint);
	jose_key_free(k);

	/* EC: recompute from the JWK members by hand, sorted as RFC 7638 says */
	assert_int_equal(jose_key_to_jwk(f->ec, true, &s, &e), 0);
	o = load(s);
	req = json_pack("{sOsOsOsO}", "crv", json_object_get(o, "crv"), "kty",
	    json_object_get(o, "kty"), "x", json_object_get(o, "x"), "y",
	    json_object_get(o, "y"));
	assert_non_null(req);
	canon = json_dumps(req, JSON_SORT_KEYS | JSON_COMPACT);
	assert_int_equal(strncmp(canon, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", 31), 0);
	tam_sha256(canon, strlen(canon), md);
	expect = b64(md, sizeof(md));
	assert_int_equal(jose_key_thumbprint(f->ec, tp, &e), 0);
	assert_string_equal(tp, expect);
	assert_int_equal(jose_key_thumbprint(f->ec_pub, tp, &e), 0);
	assert_string_equal(tp, expect);
	assert_int_equal(jose_key_thumbprint(f->ec2, tp, &e), 0);
	assert_string_not_equal(tp, expect);
	free(expect);
	free(canon);
	json_decref(req);
	json_decref(o);
	free(s);

	/* a coordinate with a leading zero byte keeps its full 32-byte length */
	k = jwk_key(ec_short_x_jwk);
	assert_int_equal(jose_key_to_jwk(k, false, &s, &e), 0);
	o = load(s);
	assert_string_equal(json_string_value(json_object_get(o, "x")), ec_short_x);
	canon = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	tam_sha256(canon, strlen(canon), md);
	expect = b64(md, sizeof(md));
	assert_int_equal(jose_key_thumbprint(k, tp, &e), 0);
	assert_string_equal(tp, expect);
	free(expect);
	free(canon);
	json_decref(o);
	free(s);
	/* and cjose signs with it for a verifier that only has the public JWK */
	assert_int_equal(jose_key_public(k, &pub, &e), 0);
	o = sign(k, "ES256", "short x");
	assert_int_equal(verify_rc(o, pub), 0);
	json_decref(o);
	jose_key_free(pub);
	jose_key_free(k);
}

/* ---- JWS ---- */

static void
check_jws_roundtrip(const struct jose_key *k, const struct jose_key *pub,
    const struct jose_key *other)
{
	struct tam_err e = { 0 };
	struct jose_jws *jws = NULL;
	json_t *extra = load("{\"kid\":\"k-1\",\"x5c\":[\"MIIB\"],\"n\":7}");
	json_t *unprot = load("{\"route\":\"tee-1\"}");
	const char *alg = jose_key_sig_alg(k);
	const uint8_t msg[] = "{\"hello\":\"world\"}";
	const uint8_t *pl;
	json_t *o = NULL, *hdr;
	size_t n = 0;

	assert_int_equal(jose_jws_sign(k, alg, extra, unprot, msg, sizeof(msg) - 1, &o,
	    &e), 0);
	assert_int_equal(json_object_size(o), 4);
	assert_true(json_equal(json_object_get(o, "header"), unprot));
	assert_int_equal(jose_jws_parse(o, &jws, &e), 0);
	assert_string_equal(jose_jws_alg(jws), alg);
	assert_string_equal(jose_jws_kid(jws), "k-1");
	hdr = (json_t *)jose_jws_protected(jws);
	assert_int_equal(json_object_size(hdr), 4);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), alg);
	assert_int_equal(json_integer_value(json_object_get(hdr, "n")), 7);
	assert_true(json_equal(jose_jws_unprotected(jws), unprot));
	pl = jose_jws_payload_unverified(jws, &n);
	assert_int_equal(n, sizeof(msg) - 1);
	assert_memory_equal(pl, msg, n);
	assert_int_equal(pl[n], 0);
	assert_int_equal(jose_jws_verify(jws, pub, &e), 0);
	assert_int_equal(jose_jws_verify(jws, k, &e), 0);
	assert_int_equal(jose_jws_verify(jws, other, &e), TAM_ESIGNATURE);
	assert_int_equal(e.code, TAM_ESIGNATURE);
	jose_jws_free(jws);
	json_decref(o);

	/* no headers, empty payload */
	assert_int_equal(jose_jws_sign(k, alg, NULL, NULL, NULL, 0, &o, &e), 0);
	assert_int_equal(json_object_size(o), 3);
	assert_string_equal(json_string_value(json_object_get(o, "payload")), "");
	assert_int_equal(jose_jws_parse(o, &jws, &e), 0);
	assert_null(jose_jws_kid(jws));
	assert_null(jose_jws_unprotected(jws));
	jose_jws_payload_unverified(jws, &n);
	assert_int_equal(n, 0);
	assert_int_equal(jose_jws_verify(jws, pub, &e), 0);
	jose_jws_free(jws);
	json_decref(o);

	/* argument checks */
	assert_int_equal(jose_jws_sign(pub, alg, NULL, NULL, msg, 1, &o, &e), TAM_EINVAL);
	assert_int_equal(jose_jws_sign(k, alg, unprot, NULL, msg, 1, &o, &e), 0);
	json_decref(o);
	assert_int_equal(jose_jws_sign(k, alg, unprot, unprot, msg, 1, &o, &e), TAM_EINVAL);
	json_object_set_new(extra, "alg", json_string(alg));
	assert_int_equal(jose_jws_sign(k, alg, extra, NULL, msg, 1, &o, &e), TAM_EINVAL);
	json_object_del(extra, "alg");
	json_object_set_new(extra, "crit", json_pack("[s]", "n"));
	assert_int_equal(jose_jws_sign(k, alg, extra, NULL, msg, 1, &o, &e), TAM_EINVAL);
	assert_null(o);
	json_decref(extra);
	json_decref(unprot);
}

static void
test_jws_roundtrip(void **state)
{
	struct fixture *f = *state;

	check_jws_roundtrip(f->rsa, f->rsa_pub, f->rsa2);
	check_jws_roundtrip(f->ec, f->ec_pub, f->ec2);
}

static void
check_jws_tamper(const struct jose_key *k, const struct jose_key *pub)
{
	json_t *o = sign(k, jose_key_sig_alg(k), "pay me 10 EUR");
	json_t *t;
	char hdr[64];

	assert_int_equal(verify_rc(o, pub), 0);

	t = json_deep_copy(o);
	set_b64(t, "payload", "pay me 99 EUR", 13);
	assert_int_equal(verify_rc(t, pub), TAM_ESIGNATURE);
	json_decref(t);

	t = json_deep_copy(o);
	flip_member(t, "signature", 5);
	assert_int_equal(verify_rc(t, pub), TAM_ESIGNATURE);
	json_decref(t);

	t = json_deep_copy(o);
	flip_member(t, "signature", 63);
	assert_int_equal(verify_rc(t, pub), TAM_ESIGNATURE);
	json_decref(t);

	/* another protected header over the same signature */
	t = json_deep_copy(o);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"x\"}",
	    jose_key_sig_alg(k));
	set_b64(t, "protected", hdr, strlen(hdr));
	assert_int_equal(verify_rc(t, pub), TAM_ESIGNATURE);
	json_decref(t);

	/* a truncated signature */
	t = json_deep_copy(o);
	set_str(t, "signature", "AAAA");
	assert_int_equal(verify_rc(t, pub), TAM_ESIGNATURE);
	json_decref(t);
	json_decref(o);
}

static void
test_jws_tamper(void **state)
{
	struct fixture *f = *state;

	check_jws_tamper(f->rsa, f->rsa_pub);
	check_jws_tamper(f->ec, f->ec_pub);
}

static void
test_jws_alg_attacks(void **state)
{
	struct fixture *f = *state;
	uint8_t mac[32];
	unsigned int maclen = sizeof(mac);
	char *pem = NULL, input[256], *sig;
	json_t *o, *es, *rs;
	struct tam_err e = { 0 };

	/* alg none with an empty signature */
	o = raw_jws("{\"alg\":\"none\"}", "x", "");
	assert_int_equal(parse_rc(o), TAM_EALG);
	json_decref(o);

	/* HS256 keyed with the RSA public key's PEM: the classic confusion attack */
	assert_int_equal(jose_key_to_pem(f->rsa, false, &pem, &e), 0);
	o = raw_jws("{\"alg\":\"HS256\"}", "admin", "AAAA");
	snprintf(input, sizeof(input), "%s.%s",
	    json_string_value(json_object_get(o, "protected")),
	    json_string_value(json_object_get(o, "payload")));
	assert_non_null(HMAC(EVP_sha256(), pem, (int)strlen(pem), (uint8_t *)input,
	    strlen(input), mac, &maclen));
	sig = b64(mac, maclen);
	set_str(o, "signature", sig);
	assert_int_equal(parse_rc(o), TAM_EALG);
	free(sig);
	free(pem);
	json_decref(o);

	o = raw_jws("{\"alg\":\"PS256\"}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EALG);
	json_decref(o);
	o = raw_jws("{\"alg\":\"RS512\"}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EALG);
	json_decref(o);
	o = raw_jws("{\"alg\":\"rs256\"}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EALG);
	json_decref(o);
	o = raw_jws("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	o = raw_jws("{\"alg\":\"ES256\",\"b64\":false}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	o = raw_jws("{\"alg\":\"RS256\",\"zip\":\"DEF\"}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	o = raw_jws("{\"typ\":\"JWT\"}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	o = raw_jws("{\"alg\":256}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);

	/* an alg that is allowed but does not fit the key */
	es = sign(f->ec, "ES256", "x");
	rs = sign(f->rsa, "RS256", "x");
	assert_int_equal(verify_rc(es, f->rsa_pub), TAM_EALG);
	assert_int_equal(verify_rc(rs, f->ec_pub), TAM_EALG);
	json_decref(es);
	json_decref(rs);
	assert_int_equal(jose_jws_sign(f->rsa, "ES256", NULL, NULL, (uint8_t *)"x", 1, &o,
	    &e), TAM_EALG);
	assert_int_equal(jose_jws_sign(f->ec, "RS256", NULL, NULL, (uint8_t *)"x", 1, &o,
	    &e), TAM_EALG);
	assert_int_equal(jose_jws_sign(f->rsa, "HS256", NULL, NULL, (uint8_t *)"x", 1, &o,
	    &e), TAM_EALG);
	assert_int_equal(jose_jws_sign(f->rsa, "none", NULL, NULL, (uint8_t *)"x", 1, &o,
	    &e), TAM_EALG);
	assert_int_equal(jose_jws_sign(f->rsa, NULL, NULL, NULL, (uint8_t *)"x", 1, &o,
	    &e), TAM_EALG);
	assert_null(o);
}

static void
test_jws_malformed(void **state)
{
	struct fixture *f = *state;
	json_t *good = sign(f->ec, "ES256", "x"), *o;
	const char *members[] = { "protected", "payload", "signature" };
	size_t i;

	assert_int_equal(parse_rc(NULL), TAM_EMALFORMED);
	o = load("[1,2]");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	for (i = 0; i < 3; i++) {
		o = json_deep_copy(good);
		json_object_del(o, members[i]);
		assert_int_equal(parse_rc(o), TAM_EMALFORMED);
		json_object_set_new(o, members[i], json_integer(1));
		assert_int_equal(parse_rc(o), TAM_EMALFORMED);
		set_str(o, members[i], "a+b/");
		assert_int_equal(parse_rc(o), TAM_EMALFORMED);
		json_decref(o);
	}
	o = json_deep_copy(good);
	json_object_set_new(o, "header", json_string("kid"));
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_object_set_new(o, "header", json_pack("{ss}", "alg", "ES256"));
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_object_set_new(o, "header", json_pack("{s[s]}", "crit", "x"));
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	o = json_deep_copy(good);
	set_str(o, "signature", "");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	set_b64(o, "protected", "[\"ES256\"]", 9);
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	set_b64(o, "protected", "{\"alg\":\"ES256\"", 14);
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	set_b64(o, "protected", "{\"alg\":\"ES256\",\"alg\":\"ES256\"}", 29);
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	set_str(o, "protected", "");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	o = json_deep_copy(good);
	json_object_set_new(o, "signatures", json_array());
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	/* kid in both headers; kid that is not a string */
	o = raw_jws("{\"alg\":\"ES256\",\"kid\":\"a\"}", "x", "AAAA");
	json_object_set_new(o, "header", json_pack("{ss}", "kid", "b"));
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	o = raw_jws("{\"alg\":\"ES256\",\"kid\":5}", "x", "AAAA");
	assert_int_equal(parse_rc(o), TAM_EMALFORMED);
	json_decref(o);
	json_decref(good);
	jose_jws_free(NULL);
	assert_null(jose_jws_alg(NULL));
}

static void
test_jws_rfc7515(void **state)
{
	struct jose_key *k = jwk_key(rfc7515_rsa_jwk), *pub = NULL, *ec, *ecpub = NULL;
	struct tam_err e = { 0 };
	struct jose_jws *jws = NULL;
	const uint8_t *pl;
	json_t *o;
	size_t n;

	(void)state;
	/* A.2: RS256 is deterministic, so our signature must be the RFC's */
	o = sign(k, "RS256", rfc7515_payload);
	assert_string_equal(json_string_value(json_object_get(o, "protected")),
	    rfc7515_rs256_protected);
	assert_string_equal(json_string_value(json_object_get(o, "payload")),
	    rfc7515_payload_b64);
	assert_string_equal(json_string_value(json_object_get(o, "signature")),
	    rfc7515_rs256_sig);
	json_decref(o);

	/* and the RFC's JWS verifies with the public key */
	assert_int_equal(jose_key_public(k, &pub, &e), 0);
	o = json_pack("{ssssss}", "protected", rfc7515_rs256_protected, "payload",
	    rfc7515_payload_b64, "signature", rfc7515_rs256_sig);
	assert_int_equal(jose_jws_parse(o, &jws, &e), 0);
	assert_int_equal(jose_jws_verify(jws, pub, &e), 0);
	pl = jose_jws_payload_unverified(jws, &n);
	assert_int_equal(n, strlen(rfc7515_payload));
	assert_memory_equal(pl, rfc7515_payload, n);
	jose_jws_free(jws);
	json_decref(o);

	/* A.3: ES256 is randomized; the RFC's signature must verify */
	ec = jwk_key(rfc7515_ec_jwk);
	assert_int_equal(jose_key_public(ec, &ecpub, &e), 0);
	o = json_pack("{ssssss}", "protected", rfc7515_es256_protected, "payload",
	    rfc7515_payload_b64, "signature", rfc7515_es256_sig);
	assert_int_equal(verify_rc(o, ecpub), 0);
	assert_int_equal(verify_rc(o, pub), TAM_EALG);
	flip_member(o, "signature", 40);
	assert_int_equal(verify_rc(o, ecpub), TAM_ESIGNATURE);
	json_decref(o);

	jose_key_free(k);
	jose_key_free(pub);
	jose_key_free(ec);
	jose_key_free(ecpub);
}

/* ---- JWE ---- */

/* Exactly the members jose.h documents for each form. */
static void
check_jwe_shape(const json_t *o, const char *alg, enum jose_jwe_form form)
{
	json_t *r, *rh;

	assert_int_equal(json_object_size(o), 5);
	assert_true(json_is_string(json_object_get(o, "protected")));
	assert_true(json_is_string(json_object_get(o, "iv")));
	assert_true(json_is_string(json_object_get(o, "ciphertext")));
	assert_true(json_is_string(json_object_get(o, "tag")));
	if (form == JOSE_JWE_GENERAL) {
		r = json_object_get(o, "recipients");
		assert_true(json_is_array(r));
		assert_int_equal(json_array_size(r), 1);
		r = json_array_get(r, 0);
		assert_int_equal(json_object_size(r), 2);
		assert_true(json_is_string(json_object_get(r, "encrypted_key")));
		rh = json_object_get(r, "header");
		assert_int_equal(json_object_size(rh), 1);
		assert_string_equal(json_string_value(json_object_get(rh, "alg")), alg);
	} else {
		assert_true(json_is_string(json_object_get(o, "encrypted_key")));
	}
}

static void
test_jwe_roundtrip(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = { 0, 1, 16, 1000 };
	struct tam_err e = { 0 };
	uint8_t msg[1000], *pt, *praw;
	size_t a, c, s, n, plen;
	json_t *o, *hdr;
	int form;

	for (n = 0; n < sizeof(msg); n++)
		msg[n] = (uint8_t)(n * 7 + 3);
	for (a = 0; a < 2; a++)
	for (c = 0; c < 4; c++)
	for (form = 0; form < 2; form++)
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		o = encrypt(f->rsa_pub, jwe_algs[a], jwe_encs[c], (enum jose_jwe_form)form,
		    msg, sizes[s]);
		check_jwe_shape(o, jwe_algs[a], (enum jose_jwe_form)form);
		praw = unb64(json_string_value(json_object_get(o, "protected")), &plen);
		hdr = json_loadb((const char *)praw, plen, 0, NULL);
		assert_non_null(hdr);
		assert_string_equal(json_string_value(json_object_get(hdr, "enc")), jwe_encs[c]);
		if (form == JOSE_JWE_GENERAL) {
			assert_int_equal(json_object_size(hdr), 1);
		} else {
			assert_int_equal(json_object_size(hdr), 2);
			assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
			    jwe_algs[a]);
		}
		json_decref(hdr);
		free(praw);
		pt = NULL;
		n = 12345;
		assert_int_equal(jose_jwe_decrypt(f->rsa, o, &pt, &n, &e), 0);
		assert_int_equal(n, sizes[s]);
		assert_non_null(pt);
		if (n > 0)
			assert_memory_equal(pt, msg, n);
		assert_int_equal(pt[n], 0);
		free(pt);
		expect_decrypt_failure(f->rsa2, o);
		json_decref(o);
	}
}

static void
test_jwe_cek_random(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[64];
	uint8_t *cek1, *cek2;
	size_t a, c, l1, l2;
	json_t *o1, *o2;

	for (a = 0; a < 2; a++)
	for (c = 0; c < 4; c++) {
		int pad = a == 0 ? RSA_PKCS1_PADDING : RSA_PKCS1_OAEP_PADDING;

		o1 = encrypt(f->rsa_pub, jwe_algs[a], jwe_encs[c], JOSE_JWE_GENERAL, "x", 1);
		o2 = encrypt(f->rsa_pub, jwe_algs[a], jwe_encs[c], JOSE_JWE_FLAT_PROTECTED,
		    "x", 1);
		cek1 = rsa_unwrap(f->rsa, pad, o1, &l1);
		cek2 = rsa_unwrap(f->rsa, pad, o2, &l2);
		assert_int_equal(l1, jwe_cek_lens[c]);
		assert_int_equal(l2, jwe_cek_lens[c]);
		assert_memory_not_equal(cek1, zero, l1);
		assert_memory_not_equal(cek1, cek2, l1);
		/* neither half of a CBC-HMAC key may be zero */
		if (c < 2) {
			assert_memory_not_equal(cek1, zero, l1 / 2);
			assert_memory_not_equal(cek1 + l1 / 2, zero, l1 / 2);
		}
		assert_string_not_equal(json_string_value(json_object_get(o1, "iv")),
		    json_string_value(json_object_get(o2, "iv")));
		free(cek1);
		free(cek2);
		json_decref(o1);
		json_decref(o2);
	}
}

static void
test_jwe_rfc7516(void **state)
{
	struct jose_key *k = jwk_key(rfc7516_rsa_jwk);
	struct tam_err e = { 0 };
	uint8_t *pt = NULL;
	size_t n = 0;
	json_t *o;

	(void)state;
	o = json_pack("{ssssssssss}", "protected", rfc7516_protected, "encrypted_key",
	    rfc7516_ek, "iv", rfc7516_iv, "ciphertext", rfc7516_ct, "tag", rfc7516_tag);
	assert_non_null(o);
	assert_int_equal(jose_jwe_decrypt(k, o, &pt, &n, &e), 0);
	assert_int_equal(n, 22);
	assert_string_equal((char *)pt, "Live long and prosper.");
	free(pt);
	json_decref(o);

	/* the same in general form */
	o = json_pack("{sss[{ss}]ssssss}", "protected", rfc7516_protected, "recipients",
	    "encrypted_key", rfc7516_ek, "iv", rfc7516_iv, "ciphertext", rfc7516_ct, "tag",
	    rfc7516_tag);
	assert_non_null(o);
	assert_int_equal(jose_jwe_decrypt(k, o, &pt, &n, &e), 0);
	assert_string_equal((char *)pt, "Live long and prosper.");
	free(pt);
	pt = NULL;

	/* the RFC's tag, one bit off */
	flip_member(o, "tag", 0);
	expect_decrypt_failure(k, o);
	json_decref(o);
	jose_key_free(k);
}

static void
check_jwe_tamper(const struct fixture *f, const char *alg, const char *enc,
    size_t cek_len, enum jose_jwe_form form)
{
	int pad = strcmp(alg, JOSE_ALG_RSA1_5) == 0 ? RSA_PKCS1_PADDING
						    : RSA_PKCS1_OAEP_PADDING;
	uint8_t block[256], *ek, *cek, *tmp;
	json_t *o = encrypt(f->rsa_pub, alg, enc, form, "attack at dawn", 14), *t;
	size_t eklen, ceklen, n;
	char *hdr;

	assert_int_equal(decrypt_rc(f->rsa, o), 0);

	t = json_deep_copy(o);
	flip_member(t, "tag", 3);
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);

	t = json_deep_copy(o);
	flip_last(t, "tag");
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);

	t = json_deep_copy(o);
	flip_last(t, "ciphertext");
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);

	t = json_deep_copy(o);
	flip_member(t, "ciphertext", 0);
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);

	t = json_deep_copy(o);
	flip_member(t, "iv", 5);
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);

	t = json_deep_copy(o);
	flip_member(ek_holder(t), "encrypted_key", 100);
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);

	/* the AAD is the protected member as received: re-encoding it must fail */
	t = json_deep_copy(o);
	tmp = unb64(json_string_value(json_object_get(t, "protected")), &n);
	hdr = malloc(n + 2);
	assert_non_null(hdr);
	hdr[0] = ' ';
	memcpy(hdr + 1, tmp, n);
	set_b64(t, "protected", hdr, n + 1);
	expect_decrypt_failure(f->rsa, t);
	free(hdr);
	free(tmp);
	json_decref(t);

	/* iv and tag of the wrong size */
	t = json_deep_copy(o);
	set_b64(t, "iv", "0123456789abcdef0", 17);
	expect_decrypt_failure(f->rsa, t);
	set_b64(t, "iv", "", 0);
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);
	t = json_deep_copy(o);
	set_b64(t, "tag", "0123456789abcde", 15);
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);
	t = json_deep_copy(o);
	set_str(t, "ciphertext", "");
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);

	/* an encrypted_key with invalid padding (first bytes 00 01, not 00 02) */
	assert_int_equal(tam_random(block, sizeof(block)), 0);
	block[0] = 0x00;
	block[1] = 0x01;
	ek = rsa_wrap(f->rsa, RSA_NO_PADDING, block, sizeof(block), &eklen);
	t = json_deep_copy(o);
	set_b64(ek_holder(t), "encrypted_key", ek, eklen);
	expect_decrypt_failure(f->rsa, t);
	json_decref(t);
	free(ek);

	/* the real CEK, validly padded, but one byte short or one byte long */
	cek = rsa_unwrap(f->rsa, pad, o, &ceklen);
	assert_int_equal(ceklen, cek_len);
	if (pad == RSA_PKCS1_PADDING) {
		/*
		 * The unwrap checks the 00 02 PS 00 CEK layout itself, in
		 * constant time: a block built by hand decrypts, the same block
		 * without a separator or with one a byte early does not.
		 */
		size_t ps = sizeof(block) - 3 - ceklen, i;

		block[0] = 0x00;
		block[1] = 0x02;
		for (i = 0; i < ps; i++)
			block[2 + i] = (uint8_t)(1 + i % 255);
		block[2 + ps] = 0x00;
		memcpy(block + 3 + ps, cek, ceklen);
		t = json_deep_copy(o);
		ek = rsa_wrap(f->rsa, RSA_NO_PADDING, block, sizeof(block), &eklen);
		set_b64(ek_holder(t), "encrypted_key", ek, eklen);
		assert_int_equal(decrypt_rc(f->rsa, t), 0);
		free(ek);
		block[2 + ps] = 0x5a;
		ek = rsa_wrap(f->rsa, RSA_NO_PADDING, block, sizeof(block), &eklen);
		set_b64(ek_holder(t), "encrypted_key", ek, eklen);
		expect_decrypt_failure(f->rsa, t);
		free(ek);
		block[2 + ps] = 0x5a;
		block[1 + ps] = 0x00;
		ek = rsa_wrap(f->rsa, RSA_NO_PADDING, block, sizeof(block), &eklen);
		set_b64(ek_holder(t), "encrypted_key", ek, eklen);
		expect_decrypt_failure(f->rsa, t);
		free(ek);
		/* fewer than eight padding bytes: the separator at index 9 */
		memset(block + 2, 0x11, sizeof(block) - 2);
		block[9] = 0x00;
		ek = rsa_wrap(f->rsa, RSA_NO_PADDING, block, sizeof(block), &eklen);
		set_b64(ek_holder(t), "encrypted_key", ek, eklen);
		expect_decrypt_failure(f->rsa, t);
		free(ek);
		json_decref(t);
	}
	ek = rsa_wrap(f->rsa, pad, cek, ceklen - 1, &eklen);
	t = json_deep_copy(o);
	set_b64(ek_holder(t), "encrypted_key", ek, eklen);
	expect_decrypt_failure(f->rsa, t);
	free(ek);
	tmp = malloc(ceklen + 1);
	assert_non_null(tmp);
	memcpy(tmp, cek, ceklen);
	tmp[ceklen] = 0;
	ek = rsa_wrap(f->rsa, pad, tmp, ceklen + 1, &eklen);
	set_b64(ek_holder(t), "encrypted_key", ek, eklen);
	expect_decrypt_failure(f->rsa, t);
	free(ek);
	free(tmp);
	/* positive control: the same CEK re-wrapped at its length decrypts */
	ek = rsa_wrap(f->rsa, pad, cek, ceklen, &eklen);
	set_b64(ek_holder(t), "encrypted_key", ek, eklen);
	assert_int_equal(decrypt_rc(f->rsa, t), 0);
	free(ek);
	/* a zero-length CEK, and an encrypted_key of the wrong size */
	ek = rsa_wrap(f->rsa, pad, cek, 0, &eklen);
	set_b64(ek_holder(t), "encrypted_key", ek, eklen);
	expect_decrypt_failure(f->rsa, t);
	set_b64(ek_holder(t), "encrypted_key", ek, eklen - 1);
	expect_decrypt_failure(f->rsa, t);
	set_b64(ek_holder(t), "encrypted_key", "", 0);
	expect_decrypt_failure(f->rsa, t);
	free(ek);
	json_decref(t);
	free(cek);
	json_decref(o);
}

/* Seal pt under key with A128GCM by hand into a flattened JWE (no encrypted_key). */
static json_t *
gcm_seal(const char *alg, const uint8_t key[16], const char *pt)
{
	char hdr[64];
	uint8_t iv[12], ct[64], tag[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const char *aad;
	json_t *o = json_object();
	int n = 0, m = 0;

	assert_non_null(ctx);
	assert_non_null(o);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"enc\":\"A128GCM\"}", alg);
	set_b64(o, "protected", hdr, strlen(hdr));
	aad = json_string_value(json_object_get(o, "protected"));
	assert_int_equal(tam_random(iv, sizeof(iv)), 0);
	assert_true(strlen(pt) < sizeof(ct));
	assert_int_equal(EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), key, iv, NULL), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad,
	    (int)strlen(aad)), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, ct, &n, (const uint8_t *)pt,
	    (int)strlen(pt)), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, ct + n, &m), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(ctx);
	set_b64(o, "iv", iv, sizeof(iv));
	set_b64(o, "ciphertext", ct, (size_t)(n + m));
	set_b64(o, "tag", tag, sizeof(tag));
	return o;
}

/*
 * The fallback CEK must be unpredictable: content sealed under an all-zero
 * CEK, with an encrypted_key that does not unwrap, must not decrypt.
 */
static void
test_jwe_fallback_cek(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[16];
	uint8_t block[256], *ek;
	struct tam_err e = { 0 };
	size_t a, eklen, n = 0;
	uint8_t *pt = NULL;
	json_t *o;

	for (a = 0; a < 2; a++) {
		int pad = a == 0 ? RSA_PKCS1_PADDING : RSA_PKCS1_OAEP_PADDING;

		o = gcm_seal(jwe_algs[a], zero, "forged");
		/* positive control: with the zero CEK really wrapped, it decrypts */
		ek = rsa_wrap(f->rsa, pad, zero, sizeof(zero), &eklen);
		set_b64(o, "encrypted_key", ek, eklen);
		free(ek);
		assert_int_equal(jose_jwe_decrypt(f->rsa, o, &pt, &n, &e), 0);
		assert_string_equal((char *)pt, "forged");
		free(pt);
		pt = NULL;
		/* bad padding, wrong size, empty: the fallback key is not zero */
		assert_int_equal(tam_random(block, sizeof(block)), 0);
		block[0] = 0x00;
		block[1] = 0x01;
		ek = rsa_wrap(f->rsa, RSA_NO_PADDING, block, sizeof(block), &eklen);
		set_b64(o, "encrypted_key", ek, eklen);
		expect_decrypt_failure(f->rsa, o);
		set_b64(o, "encrypted_key", ek, 100);
		expect_decrypt_failure(f->rsa, o);
		set_b64(o, "encrypted_key", ek, 0);
		expect_decrypt_failure(f->rsa, o);
		free(ek);
		json_decref(o);
	}
}

static void
test_jwe_tamper(void **state)
{
	struct fixture *f = *state;
	size_t a, c;

	for (a = 0; a < 2; a++)
		for (c = 0; c < 4; c++)
			check_jwe_tamper(f, jwe_algs[a], jwe_encs[c], jwe_cek_lens[c],
			    (enum jose_jwe_form)((a + c) % 2));
}

/* Re-encode the protected header of jwe as the given JSON text. */
static void
set_protected(json_t *jwe, const char *hdr)
{
	set_b64(jwe, "protected", hdr, strlen(hdr));
}

static void
test_jwe_rejects(void **state)
{
	struct fixture *f = *state;
	json_t *g = encrypt(f->rsa_pub, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
	    JOSE_JWE_GENERAL, "x", 1);
	json_t *fl = encrypt(f->rsa_pub, JOSE_ALG_RSA_OAEP, JOSE_ENC_A256GCM,
	    JOSE_JWE_FLAT_PROTECTED, "x", 1);
	json_t *t, *r;
	struct tam_err e = { 0 };
	char big[1400];

	t = json_deep_copy(g);
	set_str(t, "aad", "AAAA");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);
	t = json_deep_copy(fl);
	json_object_set_new(t, "unprotected", json_object());
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);

	t = json_deep_copy(g);
	set_protected(t, "{\"enc\":\"A128CBC-HS256\",\"zip\":\"DEF\"}");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	set_protected(t, "{\"enc\":\"A128CBC-HS256\",\"crit\":[\"exp\"],\"exp\":1}");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	set_protected(t, "{\"enc\":\"A128CBC-HS256\",\"alg\":\"RSA1_5\"}");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	set_protected(t, "{\"enc\":\"A128CBC-HS256\",\"alg\":\"RSA-OAEP\"}");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	set_protected(t, "{\"enc\":\"A192CBC-HS384\"}");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EALG);
	set_protected(t, "{\"enc\":5}");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	set_protected(t, "{}");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	set_protected(t, "[]");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	set_str(t, "protected", "");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);

	/* recipient header: zip, enc, off-list and missing alg */
	t = json_deep_copy(g);
	r = json_object_get(ek_holder(t), "header");
	json_object_set_new(r, "zip", json_string("DEF"));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_object_del(r, "zip");
	json_object_set_new(r, "enc", json_string("A128CBC-HS256"));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_object_del(r, "enc");
	json_object_set_new(r, "alg", json_string("dir"));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EALG);
	json_object_set_new(r, "alg", json_string("RSA-OAEP-256"));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EALG);
	json_object_set_new(r, "alg", json_string("ECDH-ES+A128KW"));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EALG);
	json_object_set_new(r, "alg", json_integer(1));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_object_del(r, "alg");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_object_set_new(ek_holder(t), "header", json_string("x"));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);

	/* recipients: two, none, not an array, mixed with flattened members */
	t = json_deep_copy(g);
	r = json_object_get(t, "recipients");
	json_array_append_new(r, json_deep_copy(json_array_get(r, 0)));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_array_clear(r);
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_object_set_new(t, "recipients", json_object());
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);
	t = json_deep_copy(g);
	set_str(t, "encrypted_key", "AAAA");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);
	t = json_deep_copy(g);
	json_array_set_new(json_object_get(t, "recipients"), 0, json_string("r"));
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);

	/* absurd sizes and bad base64 */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t = json_deep_copy(fl);
	set_str(t, "encrypted_key", big);
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);
	t = json_deep_copy(fl);
	set_str(t, "iv", big);
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);
	t = json_deep_copy(fl);
	set_str(t, "tag", "!!!!");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_object_del(t, "tag");
	assert_int_equal(decrypt_rc(f->rsa, t), TAM_EMALFORMED);
	json_decref(t);

	/* keys that cannot decrypt */
	assert_int_equal(decrypt_rc(f->ec, fl), TAM_EALG);
	assert_int_equal(decrypt_rc(f->rsa_pub, fl), TAM_EINVAL);
	assert_int_equal(decrypt_rc(NULL, fl), TAM_EINVAL);

	/* encryption arguments */
	assert_int_equal(jose_jwe_encrypt(f->ec_pub, JOSE_ALG_RSA_OAEP, JOSE_ENC_A256GCM,
	    JOSE_JWE_GENERAL, (uint8_t *)"x", 1, &t, &e), TAM_EALG);
	assert_int_equal(jose_jwe_encrypt(f->rsa_pub, "dir", JOSE_ENC_A256GCM,
	    JOSE_JWE_GENERAL, (uint8_t *)"x", 1, &t, &e), TAM_EALG);
	assert_int_equal(jose_jwe_encrypt(f->rsa_pub, "RSA-OAEP-256", JOSE_ENC_A256GCM,
	    JOSE_JWE_GENERAL, (uint8_t *)"x", 1, &t, &e), TAM_EALG);
	assert_int_equal(jose_jwe_encrypt(f->rsa_pub, JOSE_ALG_RSA1_5, "A192GCM",
	    JOSE_JWE_GENERAL, (uint8_t *)"x", 1, &t, &e), TAM_EALG);
	assert_int_equal(jose_jwe_encrypt(f->rsa_pub, JOSE_ALG_RSA1_5, JOSE_ENC_A128GCM,
	    (enum jose_jwe_form)7, (uint8_t *)"x", 1, &t, &e), TAM_EINVAL);
	assert_int_equal(jose_jwe_encrypt(f->rsa_pub, JOSE_ALG_RSA1_5, JOSE_ENC_A128GCM,
	    JOSE_JWE_GENERAL, NULL, 1, &t, &e), TAM_EINVAL);
	assert_null(t);
	json_decref(g);
	json_decref(fl);
}

/* ---- garbage and mutation ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
test_garbage(void **state)
{
	struct fixture *f = *state;
	static const char *const texts[] = {
		"null", "true", "1", "\"jws\"", "[]", "{}", "[{}]",
		"{\"protected\":null,\"payload\":null,\"signature\":null}",
		"{\"protected\":\"\",\"payload\":\"\",\"signature\":\"\"}",
		"{\"protected\":\"e30\",\"recipients\":[null],\"iv\":\"\",\"ciphertext\":\"\",\"tag\":\"\"}",
		"{\"protected\":\"e30\",\"recipients\":\"x\",\"iv\":1,\"ciphertext\":[],\"tag\":{}}",
		("{\"protected\":\"eyJhbGciOiJSU0ExXzUiLCJlbmMiOiJBMTI4R0NNIn0\",\"encrypted_key\":\"\","
		"\"iv\":\"\",\"ciphertext\":\"\",\"tag\":\"\"}"),
		"{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\",\"signature\":\"A\"}",
		"{\"protected\":\"=\",\"payload\":\"=\",\"signature\":\"=\"}",
	};
	struct jose_jws *jws = NULL;
	struct tam_err e = { 0 };
	uint8_t *pt = NULL;
	size_t i, n = 0;
	json_t *o;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		o = json_loads(texts[i], JSON_DECODE_ANY, NULL);
		assert_non_null(o);
		assert_int_not_equal(jose_jws_parse(o, &jws, &e), 0);
		assert_null(jws);
		assert_int_not_equal(jose_jwe_decrypt(f->rsa, o, &pt, &n, &e), 0);
		assert_null(pt);
		json_decref(o);
	}
	assert_int_equal(jose_jwe_decrypt(f->rsa, NULL, &pt, &n, &e), TAM_EMALFORMED);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_int_not_equal(jose_key_from_jwk(texts[i], strlen(texts[i]),
		    &(struct jose_key *){ NULL }, &e), 0);
}

/*
 * Mutate the serialized objects at random. Whatever still parses must not
 * crash, and must never verify or decrypt to anything but the original.
 */
static void
test_mutation(void **state)
{
	struct fixture *f = *state;
	static const char alphabet[] = "AZaz09-_+/=.\"{}[],:\\ \x01\xff";
	const char msg[] = "mutation";
	json_t *objs[3], *o;
	struct jose_jws *jws;
	struct tam_err e = { 0 };
	char *text, *copy;
	uint8_t *pt;
	size_t len, i, j, n;
	int round;

	objs[0] = encrypt(f->rsa_pub, JOSE_ALG_RSA1_5, JOSE_ENC_A128CBC_HS256,
	    JOSE_JWE_GENERAL, msg, strlen(msg));
	objs[1] = encrypt(f->rsa_pub, JOSE_ALG_RSA_OAEP, JOSE_ENC_A256GCM,
	    JOSE_JWE_FLAT_PROTECTED, msg, strlen(msg));
	objs[2] = sign(f->ec, "ES256", msg);
	for (i = 0; i < 3; i++) {
		text = json_dumps(objs[i], JSON_COMPACT);
		assert_non_null(text);
		len = strlen(text);
		for (round = 0; round < 150; round++) {
			copy = strdup(text);
			assert_non_null(copy);
			for (j = 0; j < 1 + rng() % 3; j++)
				copy[rng() % len] = alphabet[rng() % (sizeof(alphabet) - 1)];
			o = json_loadb(copy, len, 0, NULL);
			free(copy);
			if (o == NULL)
				continue;
			if (i < 2) {
				pt = NULL;
				n = 0;
				if (jose_jwe_decrypt(f->rsa, o, &pt, &n, &e) == 0) {
					assert_int_equal(n, strlen(msg));
					assert_memory_equal(pt, msg, n);
					free(pt);
				} else {
					assert_null(pt);
				}
			} else {
				jws = NULL;
				if (jose_jws_parse(o, &jws, &e) == 0 &&
				    jose_jws_verify(jws, f->ec_pub, &e) == 0) {
					const uint8_t *pl = jose_jws_payload_unverified(jws, &n);

					assert_int_equal(n, strlen(msg));
					assert_memory_equal(pl, msg, n);
				}
				jose_jws_free(jws);
			}
			json_decref(o);
		}
		free(text);
		json_decref(objs[i]);
	}
}

/* ---- threads ---- */

#define THREADS 4
#define ROUNDS 10

static void *
worker(void *arg)
{
	struct fixture *f = arg;
	struct jose_key *keys[2] = { f->rsa, f->ec };
	struct jose_key *pubs[2] = { f->rsa_pub, f->ec_pub };
	struct jose_jws *jws;
	struct tam_err e;
	uint8_t *pt;
	size_t n, failures = 0;
	json_t *o;
	int r, i;

	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < 2; i++) {
			o = NULL;
			jws = NULL;
			if (jose_jws_sign(keys[i], jose_key_sig_alg(keys[i]), NULL, NULL,
			    (const uint8_t *)"t", 1, &o, &e) != 0 ||
			    jose_jws_parse(o, &jws, &e) != 0 ||
			    jose_jws_verify(jws, pubs[i], &e) != 0)
				failures++;
			jose_jws_free(jws);
			json_decref(o);
		}
		o = NULL;
		pt = NULL;
		if (jose_jwe_encrypt(f->rsa_pub, jwe_algs[r % 2], jwe_encs[r % 4],
		    (enum jose_jwe_form)(r % 2), (const uint8_t *)"thread", 6, &o, &e) != 0 ||
		    jose_jwe_decrypt(f->rsa, o, &pt, &n, &e) != 0 || n != 6 ||
		    memcmp(pt, "thread", 6) != 0)
			failures++;
		free(pt);
		json_decref(o);
	}
	return (void *)(uintptr_t)failures;
}

static void
test_threads(void **state)
{
	pthread_t t[THREADS];
	void *ret;
	size_t failures = 0;
	int i;

	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, *state), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		failures += (size_t)(uintptr_t)ret;
	}
	assert_int_equal(failures, 0);
}

/* Feed s to a new stream in pieces of step bytes; the final result. */
static int
stream_rc(const struct jose_key *k, const char *s, size_t len, size_t step, uint64_t *plen)
{
	struct jose_jws_stream *st = NULL;
	struct tam_err e = { 0 };
	int rc = TAM_OK;

	assert_int_equal(jose_jws_stream_new(k, &st, &e), 0);
	for (size_t i = 0; i < len && rc == TAM_OK; i += step)
		rc = jose_jws_stream_update(st, (const uint8_t *)s + i, len - i < step ? len - i : step,
		    &e);
	if (rc == TAM_OK)
		rc = jose_jws_stream_final(st, &e);
	/* once failed, it stays failed with the same code */
	if (rc != TAM_OK) {
		assert_int_equal(jose_jws_stream_update(st, (const uint8_t *)"a", 1, &e), rc);
		assert_int_equal(jose_jws_stream_final(st, &e), rc);
		assert_int_equal(e.code, rc);
	}
	if (plen != NULL)
		*plen = jose_jws_stream_payload_len(st);
	jose_jws_stream_free(st);
	return rc;
}

/* Compact serialization of a flattened JWS object; malloc'd. */
static char *
compact_of(const json_t *o)
{
	const char *p = json_string_value(json_object_get(o, "protected"));
	const char *l = json_string_value(json_object_get(o, "payload"));
	const char *g = json_string_value(json_object_get(o, "signature"));
	size_t n = strlen(p) + strlen(l) + strlen(g) + 3;
	char *out = malloc(n);

	assert_non_null(out);
	snprintf(out, n, "%s.%s.%s", p, l, g);
	return out;
}

static void
test_jws_stream(void **state)
{
	struct fixture *f = *state;
	static const size_t steps[] = { 1, 3, 7, 64, 4096, 1 << 20 };
	struct jose_key *rfc = jwk_key(rfc7515_rsa_jwk), *rfcpub = NULL, *ec = jwk_key(rfc7515_ec_jwk);
	struct jose_jws *jws = NULL;
	char buf[4096], *c;
	uint8_t *payload;
	uint64_t plen = 0;
	json_t *o;

	/* RFC 7515 A.2 and A.3, whole and in pieces */
	assert_int_equal(jose_key_public(rfc, &rfcpub, NULL), 0);
	snprintf(buf, sizeof(buf), "%s.%s.%s", rfc7515_rs256_protected, rfc7515_payload_b64,
	    rfc7515_rs256_sig);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(stream_rc(rfcpub, buf, strlen(buf), steps[i], &plen), TAM_OK);
		assert_int_equal(plen, strlen(rfc7515_payload));
	}
	assert_int_equal(jose_jws_parse_compact(buf, strlen(buf), &jws, NULL), TAM_OK);
	assert_int_equal(jose_jws_verify(jws, rfcpub, NULL), TAM_OK);
	jose_jws_free(jws);
	assert_int_equal(stream_rc(ec, buf, strlen(buf), 5, NULL), TAM_EALG);
	snprintf(buf, sizeof(buf), "%s.%s.%s", rfc7515_es256_protected, rfc7515_payload_b64,
	    rfc7515_es256_sig);
	assert_int_equal(stream_rc(ec, buf, strlen(buf), 9, NULL), TAM_OK);
	assert_int_equal(stream_rc(rfcpub, buf, strlen(buf), 9, NULL), TAM_EALG);

	/* our own signatures of payloads of every length class, RSA and EC */
	payload = malloc(100003);
	assert_non_null(payload);
	for (size_t i = 0; i < 100003; i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	for (size_t n = 1; n <= 100003; n = n * 10 + 1) {
		for (int k = 0; k < 2; k++) {
			const struct jose_key *key = k == 0 ? f->rsa : f->ec;
			assert_int_equal(jose_jws_sign(key, k == 0 ? "RS256" : "ES256", NULL, NULL,
			    payload, n, &o, NULL), 0);
			c = compact_of(o);
			assert_int_equal(stream_rc(k == 0 ? f->rsa_pub : f->ec_pub, c, strlen(c), 4093,
			    &plen), TAM_OK);
			assert_int_equal(plen, n);
			/* another key of the same type: a signature that does not verify */
			assert_int_equal(stream_rc(k == 0 ? f->rsa2 : f->ec2, c, strlen(c), 100, NULL),
			    TAM_ESIGNATURE);
			/* one payload character changed */
			c[strlen(json_string_value(json_object_get(o, "protected"))) + 2] ^= 0x01;
			assert_int_equal(stream_rc(key, c, strlen(c), 100, NULL), TAM_ESIGNATURE);
			free(c);
			json_decref(o);
		}
	}
	free(payload);

	/* what is not one compact JWS fails, as early as it shows */
	assert_int_equal(jose_jws_sign(f->rsa, "RS256", NULL, NULL, (const uint8_t *)"ta", 2, &o,
	    NULL), 0);
	c = compact_of(o);
	const char *prot = json_string_value(json_object_get(o, "protected"));
	const char *pay = json_string_value(json_object_get(o, "payload"));
	const char *sig = json_string_value(json_object_get(o, "signature"));
	struct stream_case { const char *what; int want; } cases[8];
	char in[8][1024];
	snprintf(in[0], sizeof(in[0]), "%s.%s.%s\n", prot, pay, sig);
	cases[0] = (struct stream_case){ "trailing newline", TAM_EMALFORMED };
	snprintf(in[1], sizeof(in[1]), "%s.%s.%s.%s", prot, pay, sig, sig);
	cases[1] = (struct stream_case){ "four parts", TAM_EMALFORMED };
	snprintf(in[2], sizeof(in[2]), "%s.%s", prot, pay);
	cases[2] = (struct stream_case){ "two parts", TAM_EMALFORMED };
	snprintf(in[3], sizeof(in[3]), "eyJhbGciOiJub25lIn0.%s.%s", pay, sig);
	cases[3] = (struct stream_case){ "alg none", TAM_EALG };
	snprintf(in[4], sizeof(in[4]), "eyJhbGciOiJSUzI1NiIsImNyaXQiOlsieCJdfQ.%s.%s", pay, sig);
	cases[4] = (struct stream_case){ "crit header", TAM_EMALFORMED };
	snprintf(in[5], sizeof(in[5]), "%s.%sAA.%s", prot, pay, sig);
	cases[5] = (struct stream_case){ "payload of 4n+1 chars", TAM_EMALFORMED };
	snprintf(in[6], sizeof(in[6]), "%s.%s.%.40s", prot, pay, sig);
	cases[6] = (struct stream_case){ "short signature", TAM_ESIGNATURE };
	snprintf(in[7], sizeof(in[7]), "{\"protected\":\"%s\"}", prot);
	cases[7] = (struct stream_case){ "JSON form", TAM_EMALFORMED };
	for (size_t i = 0; i < 8; i++) {
		int got = stream_rc(f->rsa, in[i], strlen(in[i]), 3, NULL);
		if (got != cases[i].want)
			fail_msg("%s: %s, wanted %s", cases[i].what, tam_err_name(got),
			    tam_err_name(cases[i].want));
		/* the in-memory parser refuses the same inputs (or their signature) */
		if (jose_jws_parse_compact(in[i], strlen(in[i]), &jws, NULL) == TAM_OK) {
			assert_int_not_equal(jose_jws_verify(jws, f->rsa, NULL), TAM_OK);
			jose_jws_free(jws);
		}
	}
	/* a header that never ends is refused before it fills memory */
	char *longhdr = malloc(70000);
	assert_non_null(longhdr);
	memset(longhdr, 'A', 70000);
	assert_int_equal(stream_rc(f->rsa, longhdr, 70000, 4096, NULL), TAM_EMALFORMED);
	free(longhdr);
	assert_int_equal(stream_rc(f->rsa, "", 0, 1, NULL), TAM_EMALFORMED);
	free(c);
	json_decref(o);
	jose_key_free(rfc);
	jose_key_free(rfcpub);
	jose_key_free(ec);
}

/* RFC 7518 Appendix C: ECDH-ES key agreement and Concat KDF, with the RFC's keys. */
static void
test_ecdh_rfc7518_appendix_c(void **state)
{
	static const char alice[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\","
	    "\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\","
	    "\"d\":\"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo\"}";
	static const char bob[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ\","
	    "\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\","
	    "\"d\":\"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw\"}";
	static const uint8_t want_z[32] = { 158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66,
		131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121,
		140, 254, 144, 196 };
	struct jose_key *a = NULL, *b = NULL, *bpub = NULL, *apub = NULL;
	uint8_t z[32], z2[32], key[16], *want = NULL;
	size_t wlen = 0;

	(void)state;
	assert_int_equal(jose_key_from_jwk(alice, strlen(alice), &a, NULL), 0);
	assert_int_equal(jose_key_from_jwk(bob, strlen(bob), &b, NULL), 0);
	assert_int_equal(jose_key_public(b, &bpub, NULL), 0);
	assert_int_equal(jose_key_public(a, &apub, NULL), 0);
	assert_int_equal(jose_ecdh_z(a, bpub, z, NULL), 0);
	assert_memory_equal(z, want_z, 32);
	/* both sides agree */
	assert_int_equal(jose_ecdh_z(b, apub, z2, NULL), 0);
	assert_memory_equal(z2, want_z, 32);
	assert_int_equal(jose_concat_kdf(z, 32, "A128GCM", (const uint8_t *)"Alice", 5,
	    (const uint8_t *)"Bob", 3, key, sizeof(key), NULL), 0);
	assert_int_equal(tam_b64url_decode("VqqN6vgjbSBcIijNcacQGg", 22, &want, &wlen), 0);
	assert_int_equal(wlen, 16);
	assert_memory_equal(key, want, 16);
	/* a public key cannot agree, nor can mixed key types */
	assert_int_not_equal(jose_ecdh_z(apub, bpub, z, NULL), 0);
	assert_int_not_equal(jose_concat_kdf(z, 32, "", NULL, 0, NULL, 0, key, 16, NULL), 0);
	free(want);
	jose_key_free(a);
	jose_key_free(b);
	jose_key_free(apub);
	jose_key_free(bpub);
}

static void
test_jwe_ecdh_roundtrip(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = { 0, 1, 16, 1000 };
	struct tam_err e = { 0 };
	uint8_t msg[1000], *pt;
	size_t c, s, n;
	json_t *o, *epk;
	int form;

	for (n = 0; n < sizeof(msg); n++)
		msg[n] = (uint8_t)(n * 5 + 1);
	for (c = 0; c < 4; c++)
	for (form = 0; form < 2; form++)
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		o = encrypt(f->ec_pub, JOSE_ALG_ECDH_ES_A128KW, jwe_encs[c], (enum jose_jwe_form)form,
		    msg, sizes[s]);
		/* a fresh ephemeral public key beside "alg", never its private half */
		epk = form == JOSE_JWE_GENERAL ?
		    json_object_get(json_object_get(json_array_get(json_object_get(o, "recipients"), 0),
		    "header"), "epk") : NULL;
		if (form == JOSE_JWE_GENERAL) {
			assert_non_null(epk);
			assert_string_equal(json_string_value(json_object_get(epk, "crv")), "P-256");
			assert_null(json_object_get(epk, "d"));
		}
		pt = NULL;
		assert_int_equal(jose_jwe_decrypt(f->ec, o, &pt, &n, &e), 0);
		assert_int_equal(n, sizes[s]);
		if (n > 0)
			assert_memory_equal(pt, msg, n);
		free(pt);
		expect_decrypt_failure(f->ec2, o);
		json_decref(o);
	}
	/* keys and algs must fit each other, both ways */
	assert_int_equal(jose_jwe_encrypt(f->rsa_pub, JOSE_ALG_ECDH_ES_A128KW, JOSE_ENC_A128GCM,
	    JOSE_JWE_GENERAL, msg, 1, &o, &e), TAM_EALG);
	o = encrypt(f->ec_pub, JOSE_ALG_ECDH_ES_A128KW, JOSE_ENC_A128CBC_HS256, JOSE_JWE_GENERAL,
	    msg, 10);
	assert_int_equal(jose_jwe_decrypt(f->rsa, o, &pt, &n, &e), TAM_EALG);
	json_decref(o);
	o = encrypt(f->rsa_pub, JOSE_ALG_RSA_OAEP, JOSE_ENC_A128CBC_HS256, JOSE_JWE_GENERAL, msg, 10);
	assert_int_equal(jose_jwe_decrypt(f->ec, o, &pt, &n, &e), TAM_EALG);
	json_decref(o);
}

/* A hostile epk: off the curve, another curve, with a private part, or absent. */
static void
test_jwe_ecdh_bad_epk(void **state)
{
	static const char p384_jwk[] = "{\"crv\":\"P-384\",\"kty\":\"EC\","
	    "\"x\":\"xNortyhXTYV6qsoBMJBgChnOFoFTau1GnV1_zOpGL6__2QqehkjSXLQbH7ZKsWK7\","
	    "\"y\":\"u-BFJ1Id-iO5CjA9d-CxqZrt802MEYjI4NQvrfNzkEhBd2X8yIRMYsvEUcixbBv4\"}";
	struct fixture *f = *state;
	struct tam_err e = { 0 };
	uint8_t msg[8] = "payload", *pt = NULL;
	char *jwk = NULL;
	json_t *o, *epk;
	size_t n = 0;

	o = encrypt(f->ec_pub, JOSE_ALG_ECDH_ES_A128KW, JOSE_ENC_A128CBC_HS256, JOSE_JWE_GENERAL,
	    msg, sizeof(msg));
	epk = json_object_get(json_object_get(json_array_get(json_object_get(o, "recipients"), 0),
	    "header"), "epk");
	/* y moved off the curve */
	json_object_set_new(epk, "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_int_equal(jose_jwe_decrypt(f->ec, o, &pt, &n, &e), TAM_EDECRYPT);
	assert_string_equal(e.msg, "JWE decryption failed");
	/* an ephemeral key with its private part */
	assert_int_equal(jose_key_to_jwk(f->ec2, true, &jwk, NULL), 0);
	json_object_set_new(json_object_get(json_array_get(json_object_get(o, "recipients"), 0),
	    "header"), "epk", json_loads(jwk, 0, NULL));
	assert_int_equal(jose_jwe_decrypt(f->ec, o, &pt, &n, &e), TAM_EDECRYPT);
	free(jwk);
	/* a P-384 point */
	json_object_set_new(json_object_get(json_array_get(json_object_get(o, "recipients"), 0),
	    "header"), "epk", json_loads(p384_jwk, 0, NULL));
	assert_int_equal(jose_jwe_decrypt(f->ec, o, &pt, &n, &e), TAM_EDECRYPT);
	/* none at all */
	json_object_del(json_object_get(json_array_get(json_object_get(o, "recipients"), 0),
	    "header"), "epk");
	assert_int_equal(jose_jwe_decrypt(f->ec, o, &pt, &n, &e), TAM_EDECRYPT);
	assert_null(pt);
	json_decref(o);
}

/*
 * A JWS signed through a shared prefix is the JWS jose_jws_sign makes of the
 * whole payload: byte for byte with RS256 (deterministic), verifying with
 * ES256, for every prefix length modulo 3 and tails long and empty.
 */
static void
test_jws_prefix(void **state)
{
	struct fixture *f = *state;
	static const size_t plens[] = { 0, 1, 2, 3, 4, 5, 100, 4097 };
	static const size_t tlens[] = { 0, 1, 2, 70, 1000 };
	struct tam_err e = { 0 };
	uint8_t buf[5200];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t a = 0; a < 2; a++) {
		const char *alg = a == 0 ? JOSE_ALG_RS256 : JOSE_ALG_ES256;
		struct jose_key *k = a == 0 ? f->rsa : f->ec;
		for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++) {
			struct jose_jws_prefix *p = NULL;
			assert_int_equal(jose_jws_prefix_new(alg, buf, plens[i], &p, &e), TAM_OK);
			for (size_t j = 0; j < sizeof(tlens) / sizeof(tlens[0]); j++) {
				char *tail = NULL, *sig = NULL, *payload;
				const char *head;
				size_t hlen = 0;
				json_t *want = NULL, *got;
				struct jose_jws *jws = NULL;
				const uint8_t *pl;
				size_t n = 0;

				assert_int_equal(jose_jws_prefix_sign(p, k, buf + plens[i], tlens[j],
				    &tail, &sig, &e), TAM_OK);
				head = jose_jws_prefix_head(p, &hlen);
				payload = malloc(hlen + strlen(tail) + 1);
				assert_non_null(payload);
				memcpy(payload, head, hlen);
				memcpy(payload + hlen, tail, strlen(tail) + 1);
				got = json_pack("{s:s,s:s,s:s}", "protected", jose_jws_prefix_protected(p),
				    "payload", payload, "signature", sig);
				assert_non_null(got);
				assert_int_equal(jose_jws_sign(k, alg, NULL, NULL, buf,
				    plens[i] + tlens[j], &want, &e), TAM_OK);
				assert_string_equal(json_string_value(json_object_get(got, "protected")),
				    json_string_value(json_object_get(want, "protected")));
				assert_string_equal(payload,
				    json_string_value(json_object_get(want, "payload")));
				if (a == 0)
					assert_string_equal(sig,
					    json_string_value(json_object_get(want, "signature")));
				assert_int_equal(jose_jws_parse(got, &jws, &e), TAM_OK);
				assert_int_equal(jose_jws_verify(jws, k, &e), TAM_OK);
				pl = jose_jws_payload_unverified(jws, &n);
				assert_int_equal(n, plens[i] + tlens[j]);
				assert_memory_equal(pl, buf, n);
				jose_jws_free(jws);
				json_decref(got);
				json_decref(want);
				free(payload);
				free(tail);
				free(sig);
			}
			jose_jws_prefix_free(p);
		}
	}
	/* fed in pieces, not kept: the same signature (RS256) and tail, no head */
	for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++) {
		struct jose_jws_prefix *p = NULL, *q = NULL;
		char *t1 = NULL, *s1 = NULL, *t2 = NULL, *s2 = NULL;
		size_t whole = plens[i] - plens[i] % 3, hlen = 0, qlen = 1;
		const char *head;

		assert_int_equal(jose_jws_prefix_new(JOSE_ALG_RS256, buf, plens[i], &p, &e), TAM_OK);
		head = jose_jws_prefix_head(p, &hlen);
		assert_int_equal(jose_jws_prefix_begin(JOSE_ALG_RS256, &q, &e), TAM_OK);
		assert_int_equal(jose_jws_prefix_sign(q, f->rsa, buf, 3, &t2, &s2, &e), TAM_EINVAL);
		for (size_t off = 0; off < hlen; off += 8)
			assert_int_equal(jose_jws_prefix_update(q, head + off, hlen - off < 8 ?
			    hlen - off : 8, &e), TAM_OK);
		assert_int_equal(jose_jws_prefix_update(q, "abc", 3, &e), TAM_ETOO_LARGE);
		assert_int_equal(jose_jws_prefix_finish(q, buf + whole, plens[i] - whole, &e), TAM_OK);
		assert_int_not_equal(jose_jws_prefix_update(q, "abcd", 4, &e), TAM_OK);
		assert_null(jose_jws_prefix_head(q, &qlen));
		assert_int_equal(qlen, hlen);
		assert_int_equal(jose_jws_prefix_sign(p, f->rsa, buf + plens[i], 70, &t1, &s1, &e),
		    TAM_OK);
		assert_int_equal(jose_jws_prefix_sign(q, f->rsa, buf + plens[i], 70, &t2, &s2, &e),
		    TAM_OK);
		assert_string_equal(t1, t2);
		assert_string_equal(s1, s2);
		free(t1);
		free(s1);
		free(t2);
		free(s2);
		jose_jws_prefix_free(p);
		jose_jws_prefix_free(q);
	}
	/* a key of the other type, a public key, an alg off the list */
	{
		struct jose_jws_prefix *p = NULL;
		char *tail = NULL, *sig = NULL;
		assert_int_equal(jose_jws_prefix_new(JOSE_ALG_RS256, buf, 10, &p, &e), TAM_OK);
		assert_int_equal(jose_jws_prefix_sign(p, f->ec, buf, 3, &tail, &sig, &e), TAM_EALG);
		assert_int_equal(jose_jws_prefix_sign(p, f->rsa_pub, buf, 3, &tail, &sig, &e),
		    TAM_EINVAL);
		assert_null(tail);
		assert_null(sig);
		jose_jws_prefix_free(p);
		assert_int_equal(jose_jws_prefix_new("HS256", buf, 10, &p, &e), TAM_EALG);
		assert_null(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jws_prefix),
		cmocka_unit_test(test_ecdh_rfc7518_appendix_c),
		cmocka_unit_test(test_key_generate),
		cmocka_unit_test(test_key_pem),
		cmocka_unit_test(test_key_spki),
		cmocka_unit_test(test_key_jwk),
		cmocka_unit_test(test_key_jwk_refused),
		cmocka_unit_test(test_key_thumbprint),
		cmocka_unit_test(test_jws_roundtrip),
		cmocka_unit_test(test_jws_tamper),
		cmocka_unit_test(test_jws_alg_attacks),
		cmocka_unit_test(test_jws_malformed),
		cmocka_unit_test(test_jws_rfc7515),
		cmocka_unit_test(test_jws_stream),
		cmocka_unit_test(test_jwe_roundtrip),
		cmocka_unit_test(test_jwe_ecdh_roundtrip),
		cmocka_unit_test(test_jwe_ecdh_bad_epk),
		cmocka_unit_test(test_jwe_cek_random),
		cmocka_unit_test(test_jwe_rfc7516),
		cmocka_unit_test(test_jwe_tamper),
		cmocka_unit_test(test_jwe_fallback_cek),
		cmocka_unit_test(test_jwe_rejects),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_mutation),
		cmocka_unit_test(test_threads),
	};

	/* jansson seeds its hash function lazily; do it before any thread starts. */
	json_object_seed(0);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
