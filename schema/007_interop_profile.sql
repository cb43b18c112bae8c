-- SPDX-License-Identifier: MIT
-- Interop profiles. A device of the "aist" profile answers every request
-- with rid and tid "1", so its answers are matched to the one request
-- outstanding for the peer that opened the session on the profile's
-- endpoint; the session remembers both.
ALTER TABLE sessions ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';
ALTER TABLE sessions ADD COLUMN peer TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_peer ON sessions(peer) WHERE peer <> '';
