-- SPDX-License-Identifier: MIT
-- Personalization data of a TA version: opaque to the TAM (an SP may have
-- encrypted it already), sealed once with the version's TA key and IV, as
-- OTrP's encrypted_ta carries both under one key and one iv. Set at most
-- once, before any device received the version.
ALTER TABLE ta_versions ADD COLUMN pdata_size INTEGER;
ALTER TABLE ta_versions ADD COLUMN pdata_digest BLOB;
ALTER TABLE ta_versions ADD COLUMN pdata_enc BLOB;
