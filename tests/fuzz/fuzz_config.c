// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the configuration parser: an operator's file is
 * trusted more than a network peer, but a typo must still never crash the
 * daemon or a reload.
 */
#include <stddef.h>
#include <stdint.h>

#include "tam/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tam_config a, b;
	char diff[512];
	bool restart;

	tam_config_defaults(&a);
	b = a;
	if (tam_config_parse((const char *)data, size, "fuzz.conf", &b, NULL) == TAM_OK &&
	    tam_config_validate(&b, NULL) == TAM_OK)
		tam_config_diff(&a, &b, diff, sizeof(diff), &restart);
	return 0;
}
