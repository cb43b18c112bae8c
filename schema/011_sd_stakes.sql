-- SPDX-License-Identifier: MIT
-- An SP's stake in a device comes only from what the TAM decided: an
-- assignment of its TA, or an SD the TAM itself created for it there (a
-- CreateSD it chose and the TEE confirmed). The SDs a device lists in its
-- DSI (device_sds) are evidence of its state and never again a reason for
-- an SP to see it or for an SP-wide assignment to reach it.
CREATE TABLE sd_stakes (
	device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	sdname      TEXT NOT NULL,             -- the SD the TAM created (its current name)
	sp_id       INTEGER NOT NULL REFERENCES sps(id) ON DELETE CASCADE,
	created     INTEGER NOT NULL,
	PRIMARY KEY (device_id, sdname)
) STRICT, WITHOUT ROWID;
CREATE INDEX sd_stakes_sp ON sd_stakes(sp_id, device_id);

-- SDs made before this migration: those the device still lists that the
-- audit trail says a CreateSD of ours made (it records passes only), under
-- that name or the name an UpdateSD of ours gave it. Requests are purged
-- an hour after they end; the audit is kept.
INSERT OR IGNORE INTO sd_stakes (device_id, sdname, sp_id, created)
SELECT o.device_id, o.sdname, s.id, CAST(strftime('%s', 'now') AS INTEGER)
 FROM device_sds o
 JOIN devices d ON d.id = o.device_id
 JOIN sps s ON s.spid = o.spid
 WHERE EXISTS (SELECT 1 FROM audit a WHERE a.object = 'device:' || lower(hex(d.did))
  AND ((a.action = 'sd.create' AND a.detail = 'sdname=' || o.sdname || ' spid=' || o.spid)
   OR (a.action = 'sd.update' AND a.detail LIKE 'sdname=% spid=' || o.spid || ' newsdname='
    || o.sdname || ' %')));

-- A TA version may require only TAs of its own SP: another SP's requirement
-- installed and pinned TAs their owner never chose. Requirements stored
-- before that rule are dropped, each with an audit record.
INSERT INTO audit (at, actor, action, object, detail)
SELECT CAST(strftime('%s', 'now') AS INTEGER), 'migration', 'ta.requires_dropped',
 t.taid, 'version=' || v.version || ' requires=' || n.taid || ' reason=other_sp'
 FROM ta_version_requires r
 JOIN ta_versions v ON v.id = r.ta_version_id
 JOIN tas t ON t.id = v.ta_id
 JOIN tas n ON n.id = r.needs_ta_id
 WHERE n.sp_id <> t.sp_id;
DELETE FROM ta_version_requires WHERE EXISTS (
 SELECT 1 FROM ta_versions v JOIN tas t ON t.id = v.ta_id JOIN tas n ON n.id = ta_version_requires.needs_ta_id
  WHERE v.id = ta_version_requires.ta_version_id AND n.sp_id <> t.sp_id);
