// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the OTrP response decoder: the first code that sees
 * a broker's POST body. Any input must be rejected cleanly or decoded, never
 * crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "tam/otrp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otrp_response *r = NULL;
	struct tam_err err;

	if (otrp_response_decode(data, size, &r, &err) == TAM_OK)
		otrp_response_free(r);
	return 0;
}
