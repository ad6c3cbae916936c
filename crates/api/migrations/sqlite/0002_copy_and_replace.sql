-- Content-addressed copy and atomic replace (SQLite). Keep in step with
-- migrations/postgres: the same queries run on both.

-- The sibling-name key of an asset (NFKC + lowercase, computed in Rust like
-- folders.name_key). NULL only for rows written before this migration until
-- Db::migrate back-fills them.
ALTER TABLE assets ADD COLUMN name_key TEXT;
CREATE INDEX assets_live_name
    ON assets (organization_id, COALESCE(folder_id, ''), name_key) WHERE trashed_at IS NULL;
-- Copies find stored content by hash, within one organization only.
CREATE INDEX assets_content ON assets (organization_id, content_sha256);

-- A reservation (upload or copy) may replace a version: the asset it trashes
-- at completion, and the content that asset must still have.
ALTER TABLE reservations ADD COLUMN replaces_asset_id TEXT;
ALTER TABLE reservations ADD COLUMN replaces_sha256 TEXT;
-- 1 when completion must find the name free (copies and replacements; plain
-- uploads never checked names and still do not).
ALTER TABLE reservations ADD COLUMN check_name BIGINT NOT NULL DEFAULT 0;
