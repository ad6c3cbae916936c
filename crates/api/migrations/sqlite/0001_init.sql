-- Initial schema (SQLite). Keep in step with migrations/postgres: the same
-- queries run on both, so column names and types must agree.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    tier TEXT NOT NULL,
    add_ons TEXT NOT NULL DEFAULT '[]',
    limit_override_bytes BIGINT,
    limit_bytes BIGINT NOT NULL,
    used_bytes BIGINT NOT NULL DEFAULT 0,
    reserved_bytes BIGINT NOT NULL DEFAULT 0,
    journal_head BIGINT NOT NULL DEFAULT 0,
    journal_floor BIGINT NOT NULL DEFAULT 0,
    settings TEXT NOT NULL,
    -- Copies of two settings, so maintenance can select by them in SQL.
    trash_retention_days BIGINT NOT NULL DEFAULT 30,
    auto_archive_days BIGINT,
    created_at BIGINT NOT NULL,
    CHECK (used_bytes >= 0 AND reserved_bytes >= 0)
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE pairing_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE folders (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    parent_id TEXT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    retention_days BIGINT,
    optimize_storage BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    trashed_at BIGINT
);
CREATE UNIQUE INDEX folders_live_sibling_name
    ON folders (organization_id, COALESCE(parent_id, ''), name_key) WHERE trashed_at IS NULL;
CREATE INDEX folders_parent ON folders (organization_id, parent_id);

CREATE TABLE assets (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    folder_id TEXT,
    name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content_sha256 TEXT NOT NULL,
    object_key TEXT NOT NULL UNIQUE,
    storage_class TEXT NOT NULL,
    class_changed_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    trashed_at BIGINT
);
CREATE INDEX assets_folder ON assets (organization_id, folder_id);
CREATE INDEX assets_trashed ON assets (trashed_at) WHERE trashed_at IS NOT NULL;

CREATE TABLE reservations (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    device_id TEXT NOT NULL,
    asset_id TEXT NOT NULL UNIQUE,
    object_key TEXT NOT NULL,
    folder_id TEXT,
    name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content_sha256 TEXT NOT NULL,
    upload_id TEXT,
    part_size_bytes BIGINT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX reservations_open ON reservations (state, expires_at);

CREATE TABLE journal (
    organization_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (organization_id, seq)
);
CREATE INDEX journal_created ON journal (created_at);
