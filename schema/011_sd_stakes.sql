-- SPDX-License-Identifier: MIT
-- An SP's stake in a device comes only from what the TAM decided: an
-- assignment of its TA, or an SD the TAM itself created for it there (a
-- CreateSD it chose and the TEE confirmed). The SDs a device lists in its
-- DSI (device_sds) are evidence of its state and never again a reason for
-- an SP to see it or for an SP-wide assignment to reach it.
CREATE TABLE sd_stakes (
	device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	sp_id       INTEGER NOT NULL REFERENCES sps(id) ON DELETE CASCADE,
	created     INTEGER NOT NULL,
	PRIMARY KEY (device_id, sp_id)
) STRICT, WITHOUT ROWID;

-- SDs made before this migration: those a CreateSD of ours was answered for
-- and that the device still lists.
INSERT OR IGNORE INTO sd_stakes (device_id, sp_id, created)
SELECT r.device_id, r.sp_id, MIN(r.answered) FROM requests r
 JOIN sps s ON s.id = r.sp_id
 WHERE r.op = 'CreateSD' AND r.answered IS NOT NULL AND r.device_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM device_sds o WHERE o.device_id = r.device_id AND o.spid = s.spid)
 GROUP BY r.device_id, r.sp_id;

-- A TA version may require only TAs of its own SP: another SP's requirement
-- installed and pinned TAs their owner never chose. Requirements stored
-- before that rule are dropped, each with an audit record.
INSERT INTO audit (at, actor, action, object, detail)
SELECT CAST(strftime('%s', 'now') AS INTEGER), 'migration', 'ta.requires_dropped',
 t.taid, 'version=' || v.version || ' requires=' || n.taid || ' reason=another SP''s TA'
 FROM ta_version_requires r
 JOIN ta_versions v ON v.id = r.ta_version_id
 JOIN tas t ON t.id = v.ta_id
 JOIN tas n ON n.id = r.needs_ta_id
 WHERE n.sp_id <> t.sp_id;
DELETE FROM ta_version_requires WHERE EXISTS (
 SELECT 1 FROM ta_versions v JOIN tas t ON t.id = v.ta_id JOIN tas n ON n.id = ta_version_requires.needs_ta_id
  WHERE v.id = ta_version_requires.ta_version_id AND n.sp_id <> t.sp_id);
