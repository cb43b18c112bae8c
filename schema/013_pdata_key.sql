-- SPDX-License-Identifier: MIT
-- Personalization data gets its own AES-256 key and IV: under its TA's, as
-- 008 sealed it, AES-CBC encrypted two plaintexts with one key and IV (equal
-- first blocks show, and whoever may open one opens both). Rows sealed
-- before keep NULL here until they are sealed again; until then they are
-- not sent.
ALTER TABLE ta_versions ADD COLUMN pdata_key BLOB;
ALTER TABLE ta_versions ADD COLUMN pdata_iv BLOB;
