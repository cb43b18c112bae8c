// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the management API's request decoders: every JSON
 * body a client can send, and the digest headers of an upload. The first
 * byte picks the decoder, the rest is the input. A decoder either fails
 * cleanly or returns values within their documented bounds.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tam/api.h"
#include "tam/limits.h"
#include "tam/mgmt.h"
#include "tam/model.h"
#include "tam/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
bounded(const char *s, size_t max)
{
	assert(s == NULL || (s[0] != '\0' && strlen(s) < max));
}

/* Split s at the first two newlines into three header values ("-" is none). */
static void
digest(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *v[3] = { NULL, NULL, NULL }, *p;
	uint8_t out[32];
	bool found = false;

	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	for (int i = 0; i < 3 && p != NULL; i++) {
		char *nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		v[i] = strcmp(p, "-") == 0 ? NULL : p;
		p = nl != NULL ? nl + 1 : NULL;
	}
	if (api_decode_digest(v[0], v[1], v[2], out, &found) == 0 && !found)
		assert(v[2] == NULL);
	free(copy);
}

/* A requires= value of an upload: a plain TA id, and a version that orders. */
static void
require(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	struct store_ta_require r;
	int64_t key = 0;

	if (spec == NULL)
		return;
	memcpy(spec, data, size);
	spec[size] = '\0';
	if (mgmt_require_parse(spec, &r, NULL) == TAM_OK) {
		bounded(r.taid, TAM_TAID_MAX);
		assert(tam_valid_name(r.taid, TAM_TAID_MAX));
		assert(strncmp(spec, r.taid, strlen(r.taid)) == 0);
		if (r.min_version[0] == '\0') {
			assert(r.min_version_key == 0 && strchr(spec, '@') == NULL);
		} else {
			assert(tam_version_key(r.min_version, &key) == 0 && key == r.min_version_key);
			assert(strcmp(strchr(spec, '@') + 1, r.min_version) == 0);
		}
	}
	free(spec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_sp_create sp;
	struct api_device_enroll dev;
	struct api_assignment as;
	struct api_anchor_add an;
	struct api_token_create tok;
	struct api_sd_request sdr;

	if (size < 1)
		return 0;
	/* The selectors added last, so the corpus made for the seven others keeps its meaning. */
	if (data[0] == 0xfd) {
		require(data + 1, size - 1);
		return 0;
	}
	if (data[0] == 0xfe) {
		if (api_decode_sp_update(data + 1, size - 1, &sp, NULL) == TAM_OK) {
			assert(sp.spid == NULL && (sp.sdname != NULL || sp.certificate != NULL));
			bounded(sp.sdname, TAM_SDNAME_MAX);
			api_sp_create_clear(&sp);
		}
		return 0;
	}
	if (data[0] == 0xff) {
		if (api_decode_sd_request(data + 1, size - 1, &sdr, NULL) == TAM_OK) {
			bounded(sdr.sp, TAM_SPID_MAX);
			assert(sdr.action == STORE_SD_RENEW_AIK || sdr.action == STORE_SD_PURGE);
			api_sd_request_clear(&sdr);
		}
		return 0;
	}
	switch (data[0] % 7) {
	case 0:
		if (api_decode_sp_create(data + 1, size - 1, &sp, NULL) == TAM_OK) {
			bounded(sp.spid, TAM_SPID_MAX);
			bounded(sp.sdname, TAM_SDNAME_MAX);
			assert(sp.certificate != NULL);
			api_sp_create_clear(&sp);
		}
		break;
	case 1:
		if (api_decode_device_enroll(data + 1, size - 1, &dev, NULL) == TAM_OK) {
			bounded(dev.name, TAM_NAME_MAX);
			assert(dev.material != NULL);
			api_device_enroll_clear(&dev);
		}
		break;
	case 2:
	case 3:
		if (api_decode_assignment(data + 1, size - 1, data[0] % 7 == 3, &as, NULL) == TAM_OK) {
			bounded(as.taid, TAM_TAID_MAX);
			bounded(as.version, TAM_VERSION_MAX);
			assert(data[0] % 7 == 2 || (as.sp != NULL) != (as.n_devices > 0));
			assert(as.n_devices <= API_MAX_BULK_DEVICES);
			api_assignment_clear(&as);
		}
		break;
	case 4:
		if (api_decode_anchor_add(data + 1, size - 1, &an, NULL) == TAM_OK) {
			bounded(an.name, TAM_NAME_MAX);
			api_anchor_add_clear(&an);
		}
		break;
	case 5:
		if (api_decode_token_create(data + 1, size - 1, &tok, NULL) == TAM_OK) {
			assert(tok.admin != (tok.spid != NULL));
			assert(tok.expires_in >= 0);
			api_token_create_clear(&tok);
		}
		break;
	default:
		digest(data + 1, size - 1);
		break;
	}
	return 0;
}
