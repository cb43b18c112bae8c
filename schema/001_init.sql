-- SPDX-License-Identifier: MIT
-- otrp-tamd schema, migration 1. Forward-only: later changes go in 002_*.sql.
-- Times are seconds since the epoch (UTC). Binary values are raw bytes (DER,
-- digests), never base64: encodings belong to the wire, not to the store.

-- Counters other processes watch to invalidate caches (e.g. trust anchors).
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('trust_anchor_generation', 0);

-- The TAM's own identity. The private key stays in its file; only the path is kept.
CREATE TABLE tam_identity (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	tamid       TEXT NOT NULL,
	key_path    TEXT NOT NULL,
	chain_pem   BLOB NOT NULL,             -- leaf first, then intermediates
	created     INTEGER NOT NULL
) STRICT;

-- CA certificates a TEE certificate chain must reach.
CREATE TABLE trust_anchors (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	cert        BLOB NOT NULL,             -- DER
	fingerprint BLOB NOT NULL UNIQUE,      -- SHA-256 of cert
	subject     TEXT NOT NULL,
	not_after   INTEGER NOT NULL,
	created     INTEGER NOT NULL
) STRICT;

CREATE TRIGGER trust_anchors_gen_ins AFTER INSERT ON trust_anchors BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'trust_anchor_generation';
END;
CREATE TRIGGER trust_anchors_gen_del AFTER DELETE ON trust_anchors BEGIN
	UPDATE meta SET value = value + 1 WHERE key = 'trust_anchor_generation';
END;

-- Service providers and the certificate that signs their TAs.
CREATE TABLE sps (
	id          INTEGER PRIMARY KEY,
	spid        TEXT NOT NULL UNIQUE,      -- OTrP spid, our namespace
	sdname      TEXT NOT NULL UNIQUE,      -- SD name used for this SP on every device
	cert        BLOB NOT NULL,             -- DER TA-signing certificate
	created     INTEGER NOT NULL
) STRICT;

CREATE TABLE tas (
	id          INTEGER PRIMARY KEY,
	sp_id       INTEGER NOT NULL REFERENCES sps(id),
	taid        TEXT NOT NULL UNIQUE,      -- OTrP taid (UUID text)
	name        TEXT NOT NULL,
	created     INTEGER NOT NULL
) STRICT;
CREATE INDEX tas_sp ON tas(sp_id);

-- One row per uploaded version: the SP-signed bundle and, computed once, its
-- AES-256-CBC encryption that every device receives (only the key wrap is per device).
CREATE TABLE ta_versions (
	id          INTEGER PRIMARY KEY,
	ta_id       INTEGER NOT NULL REFERENCES tas(id),
	version     TEXT NOT NULL,
	version_key INTEGER NOT NULL,          -- orderable form of version
	bundle      BLOB NOT NULL,             -- SP-signed flattened JWS, as uploaded
	digest      BLOB NOT NULL,             -- SHA-256 of bundle
	size        INTEGER NOT NULL,
	enc_key     BLOB NOT NULL,             -- 32-byte AES-256 TA key
	enc_iv      BLOB NOT NULL,             -- 16-byte IV
	enc_ta      BLOB NOT NULL,             -- AES-256-CBC(bundle), PKCS#7 padded
	created     INTEGER NOT NULL,
	created_by  TEXT NOT NULL,
	UNIQUE (ta_id, version),
	UNIQUE (ta_id, version_key)
) STRICT;

-- Devices (one TEE each). Known by certificate (did = SHA-256 of the DER
-- certificate) or by an operator-enrolled raw public key (did = SHA-256 of
-- the DER SubjectPublicKeyInfo).
CREATE TABLE devices (
	id          INTEGER PRIMARY KEY,
	did         BLOB NOT NULL UNIQUE,      -- 32 bytes
	name        TEXT UNIQUE,               -- optional operator label
	key_kind    TEXT NOT NULL CHECK (key_kind IN ('cert', 'rawkey')),
	cert        BLOB,                      -- DER leaf, key_kind = 'cert'
	chain       BLOB,                      -- DER intermediates, concatenated
	spki        BLOB NOT NULL,             -- DER public key
	thumbprint  TEXT NOT NULL UNIQUE,      -- RFC 7638 of spki
	profile     TEXT NOT NULL DEFAULT 'default',
	state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'decommissioned')),
	tee_name    TEXT NOT NULL DEFAULT '',
	tee_ver     TEXT NOT NULL DEFAULT '',
	dsi         BLOB,                      -- last verified DSI, exact bytes
	dsihash     BLOB,                      -- SHA-256 of dsi
	created     INTEGER NOT NULL,
	last_seen   INTEGER                    -- last verified response
) STRICT;

-- Observed state, replaced as a whole from each verified DSI.
CREATE TABLE device_sds (
	device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	sdname      TEXT NOT NULL,
	spid        TEXT NOT NULL,
	PRIMARY KEY (device_id, sdname)
) STRICT, WITHOUT ROWID;

CREATE TABLE device_tas (
	device_id     INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	taid          TEXT NOT NULL,
	sdname        TEXT NOT NULL,
	taname        TEXT NOT NULL,
	ta_version_id INTEGER REFERENCES ta_versions(id),   -- what we installed, if known
	PRIMARY KEY (device_id, taid)
) STRICT, WITHOUT ROWID;

CREATE TABLE device_spaiks (
	device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	spid        TEXT NOT NULL,
	spki        BLOB NOT NULL,             -- DER public key of the TEE SP AIK
	PRIMARY KEY (device_id, spid)
) STRICT, WITHOUT ROWID;

-- Desired state: this TA (pinned version, or the latest when NULL) belongs on this device.
CREATE TABLE assignments (
	device_id     INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	ta_id         INTEGER NOT NULL REFERENCES tas(id),
	ta_version_id INTEGER REFERENCES ta_versions(id),
	created       INTEGER NOT NULL,
	created_by    TEXT NOT NULL,
	PRIMARY KEY (device_id, ta_id)
) STRICT, WITHOUT ROWID;

-- One OTrP conversation: starts with the empty POST, ends with 204 or an error.
CREATE TABLE sessions (
	id          INTEGER PRIMARY KEY,
	tid         TEXT NOT NULL UNIQUE,
	device_id   INTEGER REFERENCES devices(id) ON DELETE SET NULL,
	created     INTEGER NOT NULL,
	ended       INTEGER,
	result      TEXT
) STRICT;
CREATE INDEX sessions_device ON sessions(device_id);

-- Every request the TAM sent; a rid is answerable once, before it expires.
CREATE TABLE requests (
	rid           TEXT PRIMARY KEY,
	session_id    INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	device_id     INTEGER REFERENCES devices(id) ON DELETE CASCADE,
	response      TEXT NOT NULL,           -- name of the expected response message
	op            TEXT NOT NULL,           -- operation kind
	sp_id         INTEGER REFERENCES sps(id),
	spid          TEXT NOT NULL DEFAULT '',
	sdname        TEXT NOT NULL DEFAULT '',
	taid          TEXT NOT NULL DEFAULT '',
	ta_version_id INTEGER REFERENCES ta_versions(id),
	created       INTEGER NOT NULL,
	expires       INTEGER NOT NULL,
	answered      INTEGER,                 -- time the one accepted answer arrived
	cancelled     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX requests_device ON requests(device_id) WHERE answered IS NULL;
-- Child key of the session cascade: without it every purged session scans all requests.
CREATE INDEX requests_session ON requests(session_id);
CREATE INDEX requests_expires ON requests(expires);

CREATE TABLE audit (
	id          INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL,
	actor       TEXT NOT NULL,             -- who: "cli:<user>", "device:<did>", "tamd"
	action      TEXT NOT NULL,             -- what: "sp.add", "ta.install", ...
	object      TEXT NOT NULL,             -- which record
	detail      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_at ON audit(at);
