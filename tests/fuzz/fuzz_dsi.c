// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the decrypted-payload parsers: the DSI document and
 * the content object of a TEE response. They run only after decryption, but
 * a TEE (or anyone who can encrypt to the TAM key) controls their bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "tam/otrp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otrp_content c;
	struct otrp_dsi d;
	struct tam_err err;

	if (otrp_dsi_parse(data, size, &d, &err) == TAM_OK)
		otrp_dsi_clear(&d);
	/* As the AIST profile reads it: SDs without a name. */
	if (otrp_dsi_parse_flags(data, size, OTRP_DSI_NAMELESS_SD, &d, &err) == TAM_OK)
		otrp_dsi_clear(&d);
	if (otrp_content_parse(data, size, &c, &err) == TAM_OK) {
		if (c.dsi != NULL && otrp_dsi_parse(c.dsi, c.dsi_len, &d, &err) == TAM_OK)
			otrp_dsi_clear(&d);
		otrp_content_clear(&c);
	}
	return 0;
}
