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

/*
 * Order: first DeleteTA for any TA the device holds that is not assigned and
 * is in our catalogue (managed), then, per assignment (in the given order):
 * CreateSD when the SP's SD is missing, InstallTA when the TA is missing and
 * the SD and the SP's AIK are known, UpdateTA when the device holds another
 * version we installed and the assigned one is newer (or older, with
 * allow_downgrade). A TA whose installed version we do not know is left
 * alone. An assignment that cannot proceed (SD present but no AIK) is skipped. Writes TAM_OP_NONE when nothing is left;
 * then op->blocked says whether an assignment is waiting, and which.
 * Operations listed in skip (refused by the TEE recently) are never chosen.
 */
void policy_next_op(const struct tam_dev_state *observed,
    const struct tam_assignment *want, size_t n_want, const struct tam_op_key *skip,
    size_t n_skip, struct tam_op *op);

#endif
