-- SPDX-License-Identifier: MIT
-- UpdateSD and DeleteSD. A DSI never says which SP certificate an SD holds,
-- so the TAM remembers the one it put there; SDs made before this migration
-- hold their SP's only certificate.
ALTER TABLE device_sds ADD COLUMN spcert_fp BLOB;
UPDATE device_sds SET spcert_fp = (SELECT sha256(cert) FROM sps WHERE sps.spid = device_sds.spid);

-- What an UpdateSD or DeleteSD request asked for, to apply when the TEE says pass.
ALTER TABLE requests ADD COLUMN new_sdname TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN spcert_fp BLOB;
ALTER TABLE requests ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;

-- Operator requests for one SP's SD on one device that no assignment says:
-- a new TEE SP AIK, or deleting the SD with whatever TAs it holds. Carried
-- out at the device's next session, then dropped.
CREATE TABLE sd_requests (
	device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	sp_id       INTEGER NOT NULL REFERENCES sps(id) ON DELETE CASCADE,
	action      TEXT NOT NULL CHECK (action IN ('renew_aik', 'purge')),
	created     INTEGER NOT NULL,
	created_by  TEXT NOT NULL,
	PRIMARY KEY (device_id, sp_id, action)
) STRICT, WITHOUT ROWID;
