-- SPDX-License-Identifier: MIT
-- A TA version may need other TAs on the device (a shared library TA, say),
-- optionally at a minimum version. Set with the version, in the same
-- transaction, and never changed: a version's bytes and needs are one thing.
-- Policy installs what is needed first and deletes it last; a device's
-- assignments imply the latest version of every TA needed and not assigned.
CREATE TABLE ta_version_requires (
	ta_version_id   INTEGER NOT NULL REFERENCES ta_versions(id) ON DELETE CASCADE,
	needs_ta_id     INTEGER NOT NULL REFERENCES tas(id),
	min_version     TEXT,                  -- as the SP wrote it; NULL: any version
	min_version_key INTEGER NOT NULL DEFAULT 0,   -- its version_key; 0: any
	PRIMARY KEY (ta_version_id, needs_ta_id)
) STRICT, WITHOUT ROWID;
