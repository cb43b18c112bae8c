// SPDX-License-Identifier: MIT
/*
 * Stateless rids. The GetDeviceStateRequest that opens a session is the one
 * message anyone may make the TAM send (an empty POST), so nothing about it
 * is written down: its rid carries its own expiry and flags, and an HMAC over
 * them and the session's tid under a key the daemons sharing the database
 * share. The answer proves the rid is ours and current; its transaction then
 * writes the session and the request, already answered, so the same rid
 * cannot be answered twice.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tam/otrp.h"

#define RID_PREFIX "o."               /* random rids are plain base64url: no dot */
#define RID_MAC_LEN 16                /* 128 bits of HMAC-SHA256 */
#define RID_RAW_LEN (8 + 1 + RID_MAC_LEN)
static const char RID_DOMAIN[] = "otrp-tamd opening rid v1";

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* HMAC-SHA256(key, domain || 0 || tid || 0 || expires || flags), cut to RID_MAC_LEN. */
static int
rid_mac(const uint8_t key[OTRP_RID_KEY_LEN], const char *tid, const uint8_t facts[9],
    uint8_t out[RID_MAC_LEN])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	uint8_t full[32];
	size_t len = 0;
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	int rc = TAM_ECRYPTO;

	if (hmac == NULL || (ctx = EVP_MAC_CTX_new(hmac)) == NULL)
		goto out;
	if (EVP_MAC_init(ctx, key, OTRP_RID_KEY_LEN, params) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)RID_DOMAIN, sizeof(RID_DOMAIN)) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)tid, strlen(tid) + 1) != 1 ||
	    EVP_MAC_update(ctx, facts, 9) != 1 ||
	    EVP_MAC_final(ctx, full, &len, sizeof(full)) != 1 || len != sizeof(full))
		goto out;
	memcpy(out, full, RID_MAC_LEN);
	rc = TAM_OK;
out:
	tam_wipe(full, sizeof(full));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	return rc;
}

int
otrp_rid_make(const uint8_t key[OTRP_RID_KEY_LEN], const char *tid, int64_t expires,
    unsigned flags, char out[TAM_RID_MAX])
{
	uint8_t raw[RID_RAW_LEN];
	char *b64 = NULL;
	int rc;

	if (!tam_valid_name(tid, TAM_RID_MAX) || expires <= 0 || flags > 0xff)
		return TAM_EINVAL;
	put_be64(raw, (uint64_t)expires);
	raw[8] = (uint8_t)flags;
	if ((rc = rid_mac(key, tid, raw, raw + 9)) != TAM_OK ||
	    (rc = tam_b64url_encode(raw, sizeof(raw), &b64)) != TAM_OK)
		return rc;
	if (strlen(RID_PREFIX) + strlen(b64) >= TAM_RID_MAX) {
		free(b64);
		return TAM_EINVAL;
	}
	memcpy(out, RID_PREFIX, strlen(RID_PREFIX));
	memcpy(out + strlen(RID_PREFIX), b64, strlen(b64) + 1);
	free(b64);
	return TAM_OK;
}

bool
otrp_rid_is_stateless(const char *rid)
{
	return strncmp(rid, RID_PREFIX, strlen(RID_PREFIX)) == 0;
}

/*
 * base64url leaves unused bits in the last character: decoding alone would
 * let several spellings of one rid through, so only the one we write passes.
 */
static bool
canonical(const uint8_t *raw, size_t len, const char *b64)
{
	char *again = NULL;
	bool same;

	if (tam_b64url_encode(raw, len, &again) != TAM_OK)
		return false;
	same = strcmp(again, b64) == 0;
	free(again);
	return same;
}

int
otrp_rid_check(const uint8_t key[OTRP_RID_KEY_LEN], const char *rid, const char *tid,
    int64_t *expires, unsigned *flags)
{
	uint8_t *raw = NULL, mac[RID_MAC_LEN];
	size_t len = 0;
	int rc = TAM_ERID_UNKNOWN;

	if (!otrp_rid_is_stateless(rid) || !tam_valid_name(tid, TAM_RID_MAX))
		return TAM_ERID_UNKNOWN;
	rid += strlen(RID_PREFIX);
	if (tam_b64url_decode(rid, strlen(rid), &raw, &len) != TAM_OK)
		return TAM_ERID_UNKNOWN;
	if (len != RID_RAW_LEN || !canonical(raw, len, rid))
		goto out;
	if (rid_mac(key, tid, raw, mac) != TAM_OK) {
		rc = TAM_ECRYPTO;
		goto out;
	}
	if (!tam_secure_eq(mac, raw + 9, RID_MAC_LEN) || get_be64(raw) > INT64_MAX)
		goto out;
	*expires = (int64_t)get_be64(raw);
	*flags = raw[8];
	rc = TAM_OK;
out:
	free(raw);
	return rc;
}
