/* SPDX-License-Identifier: MIT */
/*
 * Policy answers one question: given a device's verified state and what was
 * assigned to it, which single operation comes next? Pure functions over the
 * plain structs of model.h: no I/O, no crypto, no wire formats.
 */
#ifndef TAM_POLICY_H
#define TAM_POLICY_H

#include <stddef.h>

#include "tam/model.h"

/* What policy decides from. Lists may be empty (NULL, 0). */
struct policy_in {
	const struct tam_dev_state *observed;   /* the device's verified state */
	const struct tam_assignment *want;      /* what operators assigned */
	size_t n_want;
	const struct tam_sd_want *sds;          /* what we want of each SP's SD */
	size_t n_sds;
	const struct tam_op_key *skip;          /* refused recently: never chosen */
	size_t n_skip;
	/* What the versions in want and those the device holds (ta_version_id) require. */
	const struct tam_ta_req *reqs;
	size_t n_reqs;
};

/*
 * Order, SD deletions before anything is created or installed:
 * 1. DeleteSD with deleteta for an SD an operator purged and nothing assigns;
 * 2. DeleteTA for a TA the device holds that is in our catalogue (managed)
 *    and not assigned (a TA we do not know is left alone), unless another TA
 *    the device holds, at a version we installed, requires it: dependents go
 *    first (nothing requires them), and what they required goes once they
 *    are gone or updated to versions that do not require it. TAs that
 *    require each other stay;
 * 3. DeleteSD for an SD no assignment uses and no TA lives in (every SD a
 *    TEE reports to us is ours);
 * 4. UpdateSD for an SD whose name or SP certificate is not what we want,
 *    or whose SP AIK an operator asked to renew: all changes in one request;
 * 5. per assignment, in order: CreateSD when the SP has no SD, InstallTA
 *    when the TA is missing and the SP's AIK is known, UpdateTA when the
 *    device holds another version we installed and the assigned one is newer
 *    (or older, with allow_downgrade). An SP's SD is found by spid, so a TA
 *    goes into the SD the SP has even if a rename was refused.
 *    An assignment whose version requires a TA the device lacks, or holds
 *    below the minimum version (or at a version we cannot compare), waits:
 *    the required TA's own assignment (explicit, or implied: the store adds
 *    those) comes first in this same loop. So dependencies are installed or
 *    updated before what needs them, whatever the order of want.
 * An assignment whose SP has an SD but no AIK is skipped. Writes TAM_OP_NONE
 * when nothing is left; then op->blocked says whether an assignment waits,
 * op->taid which, and op->blocked_on the required TA it waits for ("" when
 * it waits for its SP's AIK). Requirements that nothing can meet (no
 * version of the required TA is new enough, or TAs require each other) end
 * there, never in a loop: every step is a bounded pass over the arrays.
 */
void policy_next_op(const struct policy_in *in, struct tam_op *op);

#endif
