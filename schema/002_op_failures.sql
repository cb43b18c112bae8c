-- SPDX-License-Identifier: MIT
-- Operations a TEE refused with a signed failure. Policy skips them until
-- retry_at, so one refusal cannot block everything after it; the delay
-- doubles with each refusal. A later success removes the row.
CREATE TABLE op_failures (
	device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	op          TEXT NOT NULL,             -- operation kind
	taid        TEXT NOT NULL DEFAULT '',
	sdname      TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL,             -- ERR_* code or text the TEE gave
	count       INTEGER NOT NULL,          -- refusals in a row
	last_failed INTEGER NOT NULL,
	retry_at    INTEGER NOT NULL,
	PRIMARY KEY (device_id, op, taid, sdname)
) STRICT, WITHOUT ROWID;
