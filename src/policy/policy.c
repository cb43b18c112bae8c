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

/* May policy delete this TA: in our catalogue, not assigned, not refused lately? */
static bool
delete_candidate(const struct policy_in *in, const struct tam_ta_obs *ta)
{
	return ta->managed && !is_assigned(in->want, in->n_want, ta->taid) &&
	    !skipped(in->skip, in->n_skip, TAM_OP_DELETE_TA, ta->taid, ta->sdname);
}

/* Does another TA on the device, at a version we installed, require this one? */
static bool
required_on_device(const struct policy_in *in, const struct tam_ta_obs *ta)
{
	for (size_t i = 0; i < in->n_reqs; i++) {
		if (strcmp(in->reqs[i].taid, ta->taid) != 0)
			continue;
		for (size_t j = 0; j < in->observed->n_tas; j++) {
			const struct tam_ta_obs *o = &in->observed->tas[j];
			if (o != ta && o->ta_version_id == in->reqs[i].ta_version_id)
				return true;
		}
	}
	return false;
}

/*
 * Is a requirement met on the device? A minimum version can only be checked
 * against a version we installed; any other copy of the TA meets "any version".
 */
static bool
req_met(const struct tam_dev_state *observed, const struct tam_ta_req *r)
{
	const struct tam_ta_obs *have = tam_dev_state_ta(observed, r->taid);

	return have != NULL && (r->min_version_key == 0 ||
	    (have->ta_version_id != 0 && have->version_key >= r->min_version_key));
}

/*
 * The requirement of version vid the device does not meet yet, or NULL. One
 * that no assignment can meet is named first: that is what the version
 * really waits for; the others are met by TAs this same loop delivers.
 */
static const struct tam_ta_req *
unmet_req(const struct policy_in *in, int64_t vid)
{
	const struct tam_ta_req *first = NULL;

	for (size_t i = 0; i < in->n_reqs; i++) {
		const struct tam_ta_req *r = &in->reqs[i];
		if (r->ta_version_id != vid || req_met(in->observed, r))
			continue;
		const struct tam_assignment *dep = NULL;
		for (size_t j = 0; j < in->n_want && dep == NULL; j++)
			if (strcmp(in->want[j].taid, r->taid) == 0)
				dep = &in->want[j];
		if (dep == NULL || dep->version_key < r->min_version_key)
			return r;
		if (first == NULL)
			first = r;
	}
	return first;
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

/* Does an assignment want this SD? The SD of an SP is matched by spid, which survives a rename. */
static bool
sd_assigned(const struct policy_in *in, const struct tam_sd_obs *sd)
{
	for (size_t i = 0; i < in->n_want; i++)
		if (sd->spid[0] != '\0' ? strcmp(in->want[i].spid, sd->spid) == 0 :
		    strcmp(in->want[i].sdname, sd->sdname) == 0)
			return true;
	return false;
}

static bool
sd_holds_tas(const struct tam_dev_state *observed, const char *sdname)
{
	for (size_t i = 0; i < observed->n_tas; i++)
		if (strcmp(observed->tas[i].sdname, sdname) == 0)
			return true;
	return false;
}

static const struct tam_sd_want *
sd_want(const struct policy_in *in, const char *spid)
{
	for (size_t i = 0; i < in->n_sds; i++)
		if (spid[0] != '\0' && strcmp(in->sds[i].spid, spid) == 0)
			return &in->sds[i];
	return NULL;
}

/* The SD an SP has on the device: by spid (it may still carry an old name), else by name. */
static const struct tam_sd_obs *
sd_of_sp(const struct tam_dev_state *observed, const char *spid, const char *sdname)
{
	for (size_t i = 0; i < observed->n_sds; i++)
		if (strcmp(observed->sds[i].spid, spid) == 0)
			return &observed->sds[i];
	return tam_dev_state_sd(observed, sdname);
}

/* All strings in model structs are bounded arrays of the same size, so copies fit. */
#define COPY(dst, src) memcpy((dst), (src), sizeof(dst))

static void
delete_sd(const struct tam_sd_obs *sd, bool deleteta, struct tam_op *op)
{
	op->kind = TAM_OP_DELETE_SD;
	op->deleteta = deleteta;
	COPY(op->sdname, sd->sdname);
	COPY(op->spid, sd->spid);
}

/* Does the SD differ from what we want of it? Fills the UpdateSD that fixes it. */
static bool
update_sd(const struct tam_sd_obs *sd, const struct tam_sd_want *w, struct tam_op *op)
{
	bool rename = strcmp(sd->sdname, w->sdname) != 0;
	/* A certificate we did not put there is left alone: InstallTA brings the SP's own anyway. */
	bool recert = sd->spcert_known && memcmp(sd->spcert_fp, w->spcert_fp, 32) != 0;

	if (!rename && !recert && !w->renew_aik)
		return false;
	op->kind = TAM_OP_UPDATE_SD;
	op->sp_id = w->sp_id;
	COPY(op->spid, w->spid);
	COPY(op->sdname, sd->sdname);
	if (rename)
		COPY(op->new_sdname, w->sdname);
	op->add_spcert = op->del_spcert = recert;
	if (recert)
		COPY(op->old_spcert_fp, sd->spcert_fp);
	op->renew_aik = w->renew_aik;
	return true;
}

void
policy_next_op(const struct policy_in *in, struct tam_op *op)
{
	const struct tam_dev_state *observed = in->observed;

	memset(op, 0, sizeof(*op));
	op->kind = TAM_OP_NONE;

	/* An SD an operator purged goes at once, TAs and all, unless it was assigned again. */
	for (size_t i = 0; i < observed->n_sds; i++) {
		const struct tam_sd_obs *sd = &observed->sds[i];
		const struct tam_sd_want *w = sd_want(in, sd->spid);
		if (w == NULL || !w->purge || sd_assigned(in, sd) ||
		    skipped(in->skip, in->n_skip, TAM_OP_DELETE_SD, "", sd->sdname))
			continue;
		delete_sd(sd, true, op);
		return;
	}

	for (size_t i = 0; i < observed->n_tas; i++) {
		const struct tam_ta_obs *ta = &observed->tas[i];
		/*
		 * TAs we do not know (not in our catalogue) are left alone, not deleted.
		 * One that a TA staying on the device requires stays too; one that
		 * leaving TAs require goes after them, which nothing requires.
		 */
		if (!delete_candidate(in, ta) || required_on_device(in, ta))
			continue;
		op->kind = TAM_OP_DELETE_TA;
		COPY(op->taid, ta->taid);
		COPY(op->sdname, ta->sdname);
		const struct tam_sd_obs *sd = tam_dev_state_sd(observed, ta->sdname);
		if (sd != NULL)
			COPY(op->spid, sd->spid);
		return;
	}

	/* An SD nothing is assigned to and nothing lives in goes too (after its TAs did). */
	for (size_t i = 0; i < observed->n_sds; i++) {
		const struct tam_sd_obs *sd = &observed->sds[i];
		if (sd_assigned(in, sd) || sd_holds_tas(observed, sd->sdname) ||
		    skipped(in->skip, in->n_skip, TAM_OP_DELETE_SD, "", sd->sdname))
			continue;
		delete_sd(sd, false, op);
		return;
	}

	/* SDs that stay get their new name, certificate or AIK before anything goes into them. */
	for (size_t i = 0; i < observed->n_sds; i++) {
		const struct tam_sd_obs *sd = &observed->sds[i];
		const struct tam_sd_want *w = sd_want(in, sd->spid);
		if (w == NULL || skipped(in->skip, in->n_skip, TAM_OP_UPDATE_SD, "", sd->sdname))
			continue;
		if (update_sd(sd, w, op))
			return;
		memset(op, 0, sizeof(*op));
	}

	const struct tam_assignment *waiting = NULL;
	const struct tam_ta_req *waiting_on = NULL;
	for (size_t i = 0; i < in->n_want; i++) {
		const struct tam_assignment *a = &in->want[i];
		const struct tam_ta_obs *have = tam_dev_state_ta(observed, a->taid);
		enum tam_op_kind kind = TAM_OP_INSTALL_TA;
		if (have != NULL) {
			if (!wants_update(have, a))
				continue;
			kind = TAM_OP_UPDATE_TA;
		}
		/* What it requires goes first: an assignment further on may bring it now. */
		const struct tam_ta_req *r = unmet_req(in, a->ta_version_id);
		if (r != NULL) {
			if (waiting == NULL) {
				waiting = a;
				waiting_on = r;
			}
			continue;
		}
		const struct tam_sd_obs *sd = sd_of_sp(observed, a->spid, a->sdname);
		if (sd == NULL) {
			if (skipped(in->skip, in->n_skip, TAM_OP_CREATE_SD, "", a->sdname))
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
		if (skipped(in->skip, in->n_skip, kind, a->taid, sd->sdname))
			continue;
		op->kind = kind;
		op->sp_id = a->sp_id;
		COPY(op->spid, a->spid);
		COPY(op->sdname, sd->sdname);
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
		if (waiting_on != NULL)
			COPY(op->blocked_on, waiting_on->taid);
	}
}
