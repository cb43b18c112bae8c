// SPDX-License-Identifier: MIT
/*
 * Helpers for the plain data types in model.h.
 */
#include <stdlib.h>
#include <string.h>

#include "tam/model.h"

void
tam_dev_state_free(struct tam_dev_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_aiks; i++)
		free(s->aiks[i].spki);
	free(s->aiks);
	free(s->sds);
	free(s->tas);
	s->aiks = NULL;
	s->sds = NULL;
	s->tas = NULL;
	s->n_aiks = s->n_sds = s->n_tas = 0;
}

const struct tam_sd_obs *
tam_dev_state_sd(const struct tam_dev_state *s, const char *sdname)
{
	for (size_t i = 0; i < s->n_sds; i++)
		if (strcmp(s->sds[i].sdname, sdname) == 0)
			return &s->sds[i];
	return NULL;
}

struct tam_ta_obs *
tam_dev_state_ta(const struct tam_dev_state *s, const char *taid)
{
	for (size_t i = 0; i < s->n_tas; i++)
		if (strcmp(s->tas[i].taid, taid) == 0)
			return &s->tas[i];
	return NULL;
}

struct tam_spaik_obs *
tam_dev_state_aik(const struct tam_dev_state *s, const char *spid)
{
	for (size_t i = 0; i < s->n_aiks; i++)
		if (strcmp(s->aiks[i].spid, spid) == 0)
			return &s->aiks[i];
	return NULL;
}

const char *
tam_op_kind_name(enum tam_op_kind k)
{
	switch (k) {
	case TAM_OP_NONE: return "none";
	case TAM_OP_CREATE_SD: return "CreateSD";
	case TAM_OP_INSTALL_TA: return "InstallTA";
	case TAM_OP_DELETE_TA: return "DeleteTA";
	case TAM_OP_UPDATE_TA: return "UpdateTA";
	case TAM_OP_DELETE_SD: return "DeleteSD";
	case TAM_OP_UPDATE_SD: return "UpdateSD";
	}
	return "unknown";
}

int
tam_op_kind_parse(const char *s, enum tam_op_kind *out)
{
	static const enum tam_op_kind all[] = {
		TAM_OP_NONE, TAM_OP_CREATE_SD, TAM_OP_INSTALL_TA, TAM_OP_DELETE_TA, TAM_OP_UPDATE_TA,
		TAM_OP_DELETE_SD, TAM_OP_UPDATE_SD,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = tam_op_kind_name(all[i]);
		size_t j = 0;
		while (n[j] != '\0' && n[j] == s[j])
			j++;
		if (n[j] == '\0' && s[j] == '\0') {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

int
tam_version_key(const char *s, int64_t *key)
{
	int64_t k = 0;
	int parts = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		int64_t v = 0;
		int digits = 0;
		if (parts == 3)
			return -1;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s - '0');
			if (++digits > 5 || v > 65535)
				return -1;
			s++;
		}
		if (digits == 0)
			return -1;
		k = (k << 16) | v;
		parts++;
		if (*s == '.') {
			s++;
			if (*s == '\0')
				return -1;
		} else if (*s != '\0') {
			return -1;
		}
	}
	while (parts++ < 3)
		k <<= 16;
	*key = k;
	return 0;
}
