-- SPDX-License-Identifier: MIT
-- Secrets every daemon sharing this database shares. The first is the key
-- that MACs the rid of a session's opening GetDeviceStateRequest, so that a
-- session is written only when its answer arrives, and any daemon can check
-- a rid another one issued. Made on first use (by whichever daemon comes
-- first); never shown by any command. Protect the database like the TAM key.
-- IF NOT EXISTS: migrations apply by position, and 011 and 012 come from
-- another branch; a database that took this one as 11 or 12 takes it again.
CREATE TABLE IF NOT EXISTS secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
