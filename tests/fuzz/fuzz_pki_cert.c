// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the certificate loaders: one certificate (PEM or DER,
 * as operators and TEEs hand them to us) and PEM chains, plus everything we
 * read out of a parsed certificate (TAM id, subject, key, digest).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tam/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *chain = NULL;
	struct jose_key *k = NULL;
	X509 *x = NULL;
	uint8_t md[32];
	char buf[256];

	if (pki_cert_load(data, size, &x, NULL) == TAM_OK) {
		if (pki_cert_tamid(x, buf, sizeof(buf), NULL) == TAM_OK)
			pki_cert_subject(x, buf, sizeof(buf));
		if (pki_cert_sha256(x, md) != TAM_OK)
			abort(); /* a parsed certificate always re-encodes */
		(void)pki_cert_not_after(x);
		(void)pki_cert_is_ca(x);
		(void)pki_cert_is_self_signed(x);
		if (pki_cert_public_key(x, &k, NULL) == TAM_OK)
			jose_key_free(k);
		X509_free(x);
	}
	if (pki_certs_from_pem(data, size, &chain, NULL) == TAM_OK)
		sk_X509_pop_free(chain, X509_free);
	return 0;
}
