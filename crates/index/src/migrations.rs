//! Versioned schema migrations. A shipped migration is never edited: change
//! the schema by appending a new entry. `PRAGMA user_version` records how many
//! have been applied.

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: libraries, folder tree, assets, tags, full-text search, GPS R*Tree,
    //    per-remote state for the sync engine, walk-level scan errors.
    r#"
    CREATE TABLE libraries (
        id                  INTEGER PRIMARY KEY,
        root_path           BLOB NOT NULL UNIQUE,
        added_at            INTEGER NOT NULL,
        last_scan_started   INTEGER,
        last_scan_finished  INTEGER
    );

    -- Folders form a tree per library. `rel_path` is the path below the library
    -- root as OS bytes with '/' separators ('' is the root itself); the id, not
    -- the path, is what everything else refers to.
    CREATE TABLE folders (
        id              INTEGER PRIMARY KEY,
        library_id      INTEGER NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
        parent_id       INTEGER REFERENCES folders(id) ON DELETE CASCADE,
        rel_path        BLOB NOT NULL,
        name            TEXT NOT NULL,
        cover_asset_id  INTEGER,
        client          TEXT,
        created_at      INTEGER NOT NULL,
        UNIQUE (library_id, rel_path)
    );
    CREATE INDEX folders_by_parent ON folders(parent_id);

    CREATE TABLE assets (
        id                  INTEGER PRIMARY KEY,
        folder_id           INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        name_raw            BLOB NOT NULL,
        name                TEXT NOT NULL,
        kind                TEXT NOT NULL,
        size                INTEGER NOT NULL,
        mtime_ns            INTEGER NOT NULL,
        device              INTEGER,
        inode               INTEGER,
        content_hash        TEXT,
        sync_excluded       INTEGER NOT NULL DEFAULT 0,
        taken_at_local      TEXT,
        utc_offset_minutes  INTEGER,
        taken_at_utc        INTEGER,
        make                TEXT,
        model               TEXT,
        lens                TEXT,
        focal_length_mm     REAL,
        iso                 INTEGER,
        exposure            TEXT,
        f_number            REAL,
        orientation         INTEGER,
        width               INTEGER,
        height              INTEGER,
        latitude            REAL,
        longitude           REAL,
        altitude            REAL,
        relative_altitude   REAL,
        rating              INTEGER,
        thumb_state         TEXT NOT NULL DEFAULT 'pending',
        media_error         TEXT,
        read_error          TEXT,
        indexed_at          INTEGER NOT NULL,
        UNIQUE (folder_id, name_raw)
    );
    CREATE INDEX assets_by_hash ON assets(content_hash);
    CREATE INDEX assets_by_time ON assets(taken_at_utc);
    CREATE INDEX assets_by_folder_time ON assets(folder_id, taken_at_local);

    -- Per-folder totals kept by triggers, so a listing of galleries with
    -- counts reads a handful of rows instead of every asset below.
    CREATE TABLE folder_stats (
        folder_id   INTEGER PRIMARY KEY REFERENCES folders(id) ON DELETE CASCADE,
        files       INTEGER NOT NULL,
        photos      INTEGER NOT NULL,
        bytes       INTEGER NOT NULL
    );
    CREATE TRIGGER folder_stats_insert AFTER INSERT ON assets BEGIN
        INSERT INTO folder_stats (folder_id, files, photos, bytes)
        VALUES (new.folder_id, 1, new.kind IN ('jpeg','png','tiff','webp','heic','raw'), new.size)
        ON CONFLICT(folder_id) DO UPDATE SET files = files + 1, photos = photos + excluded.photos,
            bytes = bytes + excluded.bytes;
    END;
    CREATE TRIGGER folder_stats_delete AFTER DELETE ON assets BEGIN
        UPDATE folder_stats SET files = files - 1,
            photos = photos - (old.kind IN ('jpeg','png','tiff','webp','heic','raw')),
            bytes = bytes - old.size
        WHERE folder_id = old.folder_id;
    END;
    CREATE TRIGGER folder_stats_update AFTER UPDATE OF folder_id, kind, size ON assets BEGIN
        UPDATE folder_stats SET files = files - 1,
            photos = photos - (old.kind IN ('jpeg','png','tiff','webp','heic','raw')),
            bytes = bytes - old.size
        WHERE folder_id = old.folder_id;
        INSERT INTO folder_stats (folder_id, files, photos, bytes)
        VALUES (new.folder_id, 1, new.kind IN ('jpeg','png','tiff','webp','heic','raw'), new.size)
        ON CONFLICT(folder_id) DO UPDATE SET files = files + 1, photos = photos + excluded.photos,
            bytes = bytes + excluded.bytes;
    END;

    CREATE TABLE tags (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE COLLATE NOCASE
    );
    CREATE TABLE asset_tags (
        asset_id    INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        tag_id      INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        source      TEXT NOT NULL,
        confidence  REAL,
        PRIMARY KEY (asset_id, tag_id)
    ) WITHOUT ROWID;
    CREATE INDEX asset_tags_by_tag ON asset_tags(tag_id);

    CREATE VIRTUAL TABLE assets_fts USING fts5(
        name, folder, tags, meta,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE VIRTUAL TABLE assets_geo USING rtree(id, min_lat, max_lat, min_lon, max_lon);

    CREATE TRIGGER assets_forget AFTER DELETE ON assets BEGIN
        DELETE FROM assets_fts WHERE rowid = old.id;
        DELETE FROM assets_geo WHERE id = old.id;
    END;

    -- Per-remote state of the sync engine. `remotes` are the configured
    -- remotes (PhotoProOS Storage, Dropbox) with their change cursor;
    -- `sync_base` is each remote's merge base: one row per node both sides
    -- agreed on, pairing the local file identity with the remote object id and
    -- recording where (remote parent + name) and what (hash) they agreed on.
    CREATE TABLE remotes (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,
        config      TEXT NOT NULL DEFAULT '{}',
        cursor      TEXT,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE sync_base (
        remote_id       INTEGER NOT NULL REFERENCES remotes(id) ON DELETE CASCADE,
        local_id        INTEGER NOT NULL,
        remote_node     TEXT NOT NULL,
        remote_parent   TEXT,
        name            TEXT NOT NULL,
        is_dir          INTEGER NOT NULL,
        hash            TEXT,
        updated_at      INTEGER NOT NULL,
        PRIMARY KEY (remote_id, local_id),
        UNIQUE (remote_id, remote_node)
    );

    -- Problems met while walking that belong to no indexed file (a symlink
    -- loop, an unreadable directory, a file that vanished mid-scan).
    CREATE TABLE scan_errors (
        library_id  INTEGER NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
        rel_path    BLOB NOT NULL,
        error       TEXT NOT NULL,
        seen_at     INTEGER NOT NULL,
        PRIMARY KEY (library_id, rel_path)
    );
    "#,
    // 2: what the sync engine knows of the sync folder's files, so a restart
    // does not read every photo again to hash it. A row is valid while the
    // file's inode, size and modification time are unchanged.
    r#"
    CREATE TABLE sync_file_hashes (
        hash_kind   TEXT NOT NULL,
        inode       INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        mtime_ns    INTEGER NOT NULL,
        hash        TEXT NOT NULL,
        PRIMARY KEY (hash_kind, inode)
    ) WITHOUT ROWID;
    "#,
    // 3: the sync engine's mass-deletion guard: deletions it carried out
    // recently (per second, per remote), counted over a rolling window, and
    // since when it holds deletions back for the user — kept here so that a
    // restart does not reset the window or lift the hold.
    r#"
    CREATE TABLE sync_deletions (
        remote_id   INTEGER NOT NULL REFERENCES remotes(id) ON DELETE CASCADE,
        at          INTEGER NOT NULL,
        count       INTEGER NOT NULL,
        PRIMARY KEY (remote_id, at)
    ) WITHOUT ROWID;
    ALTER TABLE remotes ADD COLUMN deletions_held_since INTEGER;
    "#,
];
