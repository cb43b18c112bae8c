// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the streamed JWS verifier that every TA upload goes
 * through, checked against the in-memory parser: the input is cut into
 * pieces (sizes from its first bytes) and must get the same verdict whole,
 * and a stream that verifies must also parse and verify in memory.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tam/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed P-256 key: fast, and the fuzzer can find its alg. */
static const char key_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static int
stream(const struct jose_key *k, const uint8_t *p, size_t n, size_t step)
{
	struct jose_jws_stream *s = NULL;
	int rc = TAM_OK;

	if (jose_jws_stream_new(k, &s, NULL) != TAM_OK)
		return TAM_ENOMEM;
	for (size_t i = 0; i < n && rc == TAM_OK; i += step)
		rc = jose_jws_stream_update(s, p + i, n - i < step ? n - i : step, NULL);
	if (rc == TAM_OK)
		rc = jose_jws_stream_final(s, NULL);
	jose_jws_stream_free(s);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jose_key *key;
	struct jose_jws *jws = NULL;
	size_t step;
	int whole, pieces;

	if (key == NULL && jose_key_from_jwk(key_jwk, strlen(key_jwk), &key, NULL) != TAM_OK)
		abort();
	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	whole = stream(key, data, size, size > 0 ? size : 1);
	pieces = stream(key, data, size, step);
	assert(whole == pieces);
	if (whole == TAM_OK) {
		assert(jose_jws_parse_compact((const char *)data, size, &jws, NULL) == TAM_OK);
		assert(jose_jws_verify(jws, key, NULL) == TAM_OK);
	}
	jose_jws_free(jws);
	return 0;
}
