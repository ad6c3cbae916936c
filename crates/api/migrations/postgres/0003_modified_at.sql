-- Files' modification times (PostgreSQL). Keep in step with migrations/sqlite:
-- the same queries run on both.

-- The file's modification time on the device that uploaded (or copied) it,
-- in Unix milliseconds; NULL when the device did not say (and for every row
-- written before this migration).
ALTER TABLE assets ADD COLUMN modified_at BIGINT;
-- What the reservation's asset gets at completion.
ALTER TABLE reservations ADD COLUMN modified_at BIGINT;
