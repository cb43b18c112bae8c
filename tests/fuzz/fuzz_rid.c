// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for stateless rids: anyone may send an answer with any
 * rid and tid, and the MAC check is the only thing between it and the
 * database. Input: a tid, a NUL, then the rid. A rid that checks must be one
 * the fixed key made for that tid, with the expiry and flags it carries.
 */
#include <stdlib.h>
#include <string.h>

#include "tam/otrp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[OTRP_RID_KEY_LEN] = { 0x5a, 0x01, 0x02, 0x03 };
	char tid[TAM_RID_MAX], rid[TAM_RID_MAX], again[TAM_RID_MAX];
	const uint8_t *nul = memchr(data, 0, size);
	size_t tl, rl;
	int64_t expires = 0;
	unsigned flags = 0;

	if (nul == NULL)
		return 0;
	tl = (size_t)(nul - data);
	rl = size - tl - 1;
	if (tl >= sizeof(tid) || rl >= sizeof(rid))
		return 0;
	memcpy(tid, data, tl);
	tid[tl] = '\0';
	memcpy(rid, nul + 1, rl);
	rid[rl] = '\0';
	if (otrp_rid_check(key, rid, tid, &expires, &flags) != TAM_OK)
		return 0;
	/* whatever checks is exactly what the key makes for it */
	if (otrp_rid_make(key, tid, expires, flags, again) != TAM_OK || strcmp(again, rid) != 0)
		abort();
	return 0;
}
