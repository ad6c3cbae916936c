-- Secrets shared by every API instance on this database (postgres). Keep in step
-- with the other backend's migrations: the same queries run on both.

-- 'cursor_key': the HMAC key that binds change cursors to their organization
-- (hex, 32 random bytes). Created by the first instance that needs it
-- (INSERT … ON CONFLICT DO NOTHING), so every instance signs alike.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The orphan sweep (maintenance) looks objects up by key in open reservations.
CREATE INDEX reservations_by_object_key ON reservations (object_key);
-- When the sweep last listed this organization's objects: one instance claims
-- an organization per sweep interval with a guarded UPDATE.
ALTER TABLE organizations ADD COLUMN swept_at BIGINT;
