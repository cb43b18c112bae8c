-- SPDX-License-Identifier: MIT
-- The management API: bearer tokens, withdrawn TA versions, and the indexes
-- its scoped, paged lists need.

-- A token is "tam_<tokid>_<secret>". Only SHA-256(secret) is kept: the
-- secret is 256 random bits, shown once when the token is created.
CREATE TABLE api_tokens (
	id          INTEGER PRIMARY KEY,
	tokid       TEXT NOT NULL UNIQUE,      -- public part; the audit log's actor is "token:<tokid>"
	hash        BLOB NOT NULL CHECK (length(hash) = 32),
	role        TEXT NOT NULL CHECK (role IN ('admin', 'sp')),
	sp_id       INTEGER REFERENCES sps(id) ON DELETE CASCADE,
	description TEXT NOT NULL DEFAULT '',
	created     INTEGER NOT NULL,
	created_by  TEXT NOT NULL,
	expires     INTEGER,                   -- NULL: never
	revoked     INTEGER,                   -- NULL: valid
	last_used   INTEGER,
	CHECK ((role = 'sp') = (sp_id IS NOT NULL))
) STRICT;

-- A withdrawn version stays on record but is never installed again; "latest"
-- skips it.
ALTER TABLE ta_versions ADD COLUMN withdrawn INTEGER;
ALTER TABLE ta_versions ADD COLUMN withdrawn_by TEXT;

CREATE INDEX assignments_ta ON assignments(ta_id);
CREATE INDEX device_sds_spid ON device_sds(spid);
CREATE INDEX audit_actor ON audit(actor, id);
CREATE INDEX audit_object ON audit(object, id);
