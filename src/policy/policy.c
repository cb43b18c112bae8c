// SPDX-License-Identifier: MIT
/*
 * The decision of what a device should do next. Kept free of I/O so that it
 * can be tested exhaustively over plain structs and reused by any front end.
 */
#include <string.h>

#include "tam/policy.h"

static int
is_assigned(const struct tam_assignment *want, size_t n, const char *taid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(want[i].taid, taid) == 0)
			return 1;
	return 0;
}

static int
skipped(const struct tam_op_key *skip, size_t n, enum tam_op_kind kind, const char *taid,
    const char *sdname)
{
	for (size_t i = 0; i < n; i++)
		if (skip[i].kind == kind && strcmp(skip[i].taid, taid) == 0 &&
		    strcmp(skip[i].sdname, sdname) == 0)
			return 1;
	return 0;
}

/*
 * Does an installed TA need UpdateTA to reach its assignment? Only a version
 * we installed can be compared; a newer one goes on, an older one only with
 * the operator's consent.
 */
static bool
wants_update(const struct tam_ta_obs *have, const struct tam_assignment *a)
{
	if (have->ta_version_id == 0 || have->ta_version_id == a->ta_version_id)
		return false;
	return a->version_key > have->version_key || a->allow_downgrade;
}

/* All strings in model structs are bounded arrays of the same size, so copies fit. */
#define COPY(dst, src) memcpy((dst), (src), sizeof(dst))

void
policy_next_op(const struct tam_dev_state *observed, const struct tam_assignment *want,
    size_t n_want, const struct tam_op_key *skip, size_t n_skip, struct tam_op *op)
{
	memset(op, 0, sizeof(*op));
	op->kind = TAM_OP_NONE;

	for (size_t i = 0; i < observed->n_tas; i++) {
		const struct tam_ta_obs *ta = &observed->tas[i];
		/* TAs we do not know (not in our catalogue) are left alone, not deleted. */
		if (!ta->managed || is_assigned(want, n_want, ta->taid) ||
		    skipped(skip, n_skip, TAM_OP_DELETE_TA, ta->taid, ta->sdname))
			continue;
		op->kind = TAM_OP_DELETE_TA;
		COPY(op->taid, ta->taid);
		COPY(op->sdname, ta->sdname);
		const struct tam_sd_obs *sd = tam_dev_state_sd(observed, ta->sdname);
		if (sd != NULL)
			COPY(op->spid, sd->spid);
		return;
	}

	const struct tam_assignment *waiting = NULL;
	for (size_t i = 0; i < n_want; i++) {
		const struct tam_assignment *a = &want[i];
		const struct tam_ta_obs *have = tam_dev_state_ta(observed, a->taid);
		enum tam_op_kind kind = TAM_OP_INSTALL_TA;
		if (have != NULL) {
			if (!wants_update(have, a))
				continue;
			kind = TAM_OP_UPDATE_TA;
		}
		if (tam_dev_state_sd(observed, a->sdname) == NULL) {
			if (skipped(skip, n_skip, TAM_OP_CREATE_SD, "", a->sdname))
				continue;
			op->kind = TAM_OP_CREATE_SD;
			op->sp_id = a->sp_id;
			COPY(op->spid, a->spid);
			COPY(op->sdname, a->sdname);
			return;
		}
		if (tam_dev_state_aik(observed, a->spid) == NULL) {
			if (waiting == NULL)
				waiting = a;
			continue;
		}
		if (skipped(skip, n_skip, kind, a->taid, a->sdname))
			continue;
		op->kind = kind;
		op->sp_id = a->sp_id;
		COPY(op->spid, a->spid);
		COPY(op->sdname, a->sdname);
		COPY(op->taid, a->taid);
		op->ta_version_id = a->ta_version_id;
		return;
	}
	if (waiting != NULL) {
		op->blocked = true;
		op->sp_id = waiting->sp_id;
		COPY(op->spid, waiting->spid);
		COPY(op->sdname, waiting->sdname);
		COPY(op->taid, waiting->taid);
	}
}
