-- SPDX-License-Identifier: MIT
-- UpdateTA replaces an installed TA version with the assigned one. Moving to
-- an older version needs an operator's explicit consent, kept per assignment.
ALTER TABLE assignments ADD COLUMN allow_downgrade INTEGER NOT NULL DEFAULT 0;
