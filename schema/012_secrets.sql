-- SPDX-License-Identifier: MIT
-- Secrets every daemon sharing this database shares. The first is the key
-- that MACs the rid of a session's opening GetDeviceStateRequest, so that a
-- session is written only when its answer arrives, and any daemon can check
-- a rid another one issued. Made on first use (by whichever daemon comes
-- first); never shown by any command. Protect the database like the TAM key.
-- IF NOT EXISTS: a development database that took this migration under
-- another position takes it again, harmlessly.
CREATE TABLE IF NOT EXISTS secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
