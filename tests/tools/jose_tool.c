// SPDX-License-Identifier: MIT
/*
 * Our JOSE module on the command line, for cross-checks with independent
 * implementations (tests/e2e/test_jwcrypto.sh):
 *
 *   jose-tool encrypt KEY.pem ALG ENC general|flat   stdin plaintext -> JWE JSON
 *   jose-tool decrypt KEY.pem                        stdin JWE JSON  -> plaintext
 *   jose-tool sign KEY.pem ALG                       stdin payload   -> flattened JWS
 *   jose-tool verify KEY.pem                         stdin JWS JSON  -> payload
 *   jose-tool pem KEY                                the key (PEM or JWK) as PEM
 *
 * Exit 0 on success, 1 when the operation fails (message on stderr), 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tam/jose.h"
#include "tam/util.h"

#define TOOL_MAX_INPUT (1u << 24)

static int
slurp(uint8_t **out, size_t *len)
{
	size_t cap = 4096, n = 0, r;
	uint8_t *buf = malloc(cap), *nb;

	if (buf == NULL)
		return -1;
	while ((r = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap) {
			if (cap >= TOOL_MAX_INPUT || (nb = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

static int
fail(const char *what, const struct tam_err *e)
{
	fprintf(stderr, "jose-tool: %s: %s\n", what, e->msg);
	return 1;
}

int
main(int argc, char **argv)
{
	struct tam_err e = { 0 };
	struct jose_key *k = NULL;
	struct jose_jws *jws = NULL;
	uint8_t *pem = NULL, *in = NULL, *pt = NULL;
	size_t pemlen = 0, inlen = 0, ptlen = 0;
	const uint8_t *payload;
	json_t *o = NULL;
	char *text = NULL;
	int rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: jose-tool encrypt|decrypt|sign|verify KEY.pem ...\n");
		return 2;
	}
	if (tam_file_read(argv[2], 1 << 20, &pem, &pemlen, &e) != TAM_OK ||
	    (pemlen > 0 && pem[0] == '{' ? jose_key_from_jwk((const char *)pem, pemlen, &k, &e) :
	    jose_key_from_pem(pem, pemlen, &k, &e)) != TAM_OK)
		return fail(argv[2], &e);
	if (strcmp(argv[1], "pem") == 0 && argc == 3) {
		rc = jose_key_to_pem(k, jose_key_is_private(k), &text, &e) == TAM_OK ? 0 : fail("pem", &e);
		if (rc == 0)
			fputs(text, stdout);
		goto out;
	}
	if (slurp(&in, &inlen) != 0) {
		fprintf(stderr, "jose-tool: cannot read stdin\n");
		goto out;
	}
	if (strcmp(argv[1], "encrypt") == 0 && argc == 6) {
		if (jose_jwe_encrypt(k, argv[3], argv[4], strcmp(argv[5], "flat") == 0 ?
		    JOSE_JWE_FLAT_PROTECTED : JOSE_JWE_GENERAL, in, inlen, &o, &e) != TAM_OK) {
			rc = fail("encrypt", &e);
			goto out;
		}
	} else if (strcmp(argv[1], "sign") == 0 && argc == 4) {
		if (jose_jws_sign(k, argv[3], NULL, NULL, in, inlen, &o, &e) != TAM_OK) {
			rc = fail("sign", &e);
			goto out;
		}
	} else if ((strcmp(argv[1], "decrypt") == 0 || strcmp(argv[1], "verify") == 0) &&
	    argc == 3) {
		o = json_loadb((const char *)in, inlen, JSON_REJECT_DUPLICATES, NULL);
		if (o == NULL) {
			fprintf(stderr, "jose-tool: input is not JSON\n");
			goto out;
		}
		if (argv[1][0] == 'd') {
			if (jose_jwe_decrypt(k, o, &pt, &ptlen, &e) != TAM_OK) {
				rc = fail("decrypt", &e);
				goto out;
			}
			fwrite(pt, 1, ptlen, stdout);
		} else {
			if (jose_jws_parse(o, &jws, &e) != TAM_OK ||
			    jose_jws_verify(jws, k, &e) != TAM_OK) {
				rc = fail("verify", &e);
				goto out;
			}
			payload = jose_jws_payload_unverified(jws, &ptlen);
			fwrite(payload, 1, ptlen, stdout);
		}
		rc = 0;
		goto out;
	} else {
		fprintf(stderr, "jose-tool: bad arguments\n");
		rc = 2;
		goto out;
	}
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
		goto out;
	puts(text);
	rc = 0;
out:
	free(text);
	json_decref(o);
	jose_jws_free(jws);
	free(pt);
	free(in);
	free(pem);
	jose_key_free(k);
	return rc;
}
