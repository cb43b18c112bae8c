-- SPDX-License-Identifier: MIT
-- TA bundles and their encryptions move to a table of their own, the blob
-- as the row's last column. SQLite expands a zeroblob() into memory unless
-- it ends the record, so only there can a large bundle be sized first and
-- then written in pieces (incremental blob I/O) with bounded memory.
CREATE TABLE ta_blobs (
	id          INTEGER PRIMARY KEY,
	version_id  INTEGER NOT NULL REFERENCES ta_versions(id) ON DELETE CASCADE,
	kind        TEXT NOT NULL CHECK (kind IN ('bundle', 'enc_ta')),
	data        BLOB NOT NULL,             -- keep last (see above)
	UNIQUE (version_id, kind)
) STRICT;

INSERT INTO ta_blobs (version_id, kind, data) SELECT id, 'bundle', bundle FROM ta_versions;
INSERT INTO ta_blobs (version_id, kind, data) SELECT id, 'enc_ta', enc_ta FROM ta_versions;
ALTER TABLE ta_versions DROP COLUMN bundle;
ALTER TABLE ta_versions DROP COLUMN enc_ta;
