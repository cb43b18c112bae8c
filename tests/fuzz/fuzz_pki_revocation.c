// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the revocation parsers: CRL files of
 * trust.anchor_dir (PEM or DER) and the OCSP responses of identity.ocsp_dir
 * (DER), as the staple builder and a relying party read them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tam/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static X509 *self;
	STACK_OF(X509_CRL) *crls = NULL;
	STACK_OF(X509) *chain;
	struct pki_trust *t = NULL;
	json_t *good = NULL;
	const uint8_t *ders[1] = { data };
	size_t lens[1] = { size };

	if (pki_crls_load(data, size, &crls, NULL) == TAM_OK) {
		if (sk_X509_CRL_num(crls) < 1)
			abort(); /* success means at least one CRL */
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	}
	/* A throw-away certificate to look the responses up for. */
	if (self == NULL) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		self = X509_new();
		if (k == NULL || self == NULL || X509_set_pubkey(self, k) != 1 ||
		    X509_sign(self, k, EVP_sha256()) == 0)
			abort();
		EVP_PKEY_free(k);
	}
	if ((chain = sk_X509_new_null()) == NULL || sk_X509_push(chain, self) <= 0)
		abort();
	/* Only good answers pass, and at most one per certificate. */
	if (pki_ocsp_staple(chain, ders, lens, 1, 1700000000, &good, NULL) == TAM_OK &&
	    json_array_size(good) != 1)
		abort();
	if (good == NULL || json_array_size(good) > 1)
		abort();
	json_decref(good);
	if (pki_trust_new(&t, NULL) == TAM_OK) {
		/* The anchors are empty: no response can be trusted. */
		if (pki_ocsp_check(t, data, size, self, self, chain, 1700000000, NULL) == TAM_OK)
			abort();
		pki_trust_free(t);
	}
	sk_X509_free(chain);
	return 0;
}
