-- SPDX-License-Identifier: MIT
-- Devices of an interop profile that echoes no rid (aist) cannot be held
-- to a request by it: every answer accepted from them is remembered by the
-- SHA-256 of its signed payload, so a recorded answer cannot be played
-- again. Their payloads carry fresh JWEs, so no two honest answers match.
CREATE TABLE answers_seen (
	device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	digest      BLOB NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (device_id, digest)
) STRICT, WITHOUT ROWID;
