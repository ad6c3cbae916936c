//! The local library index of PhotoProOS Storage: one SQLite database (WAL,
//! bundled SQLite) holding every library root, the folder tree, every asset
//! with its identity, content hash and photo metadata, tags, a full-text index
//! (FTS5) over names, folders, tags and metadata, an R*Tree over GPS positions,
//! and the per-remote state the sync engine fills.
//!
//! Folders and assets are identified by stable integer ids, never by path: a
//! path is an attribute that a rename changes. Paths are stored as the OS's own
//! bytes (`OsStr::as_encoded_bytes`), so names that are not valid UTF-8 survive
//! exactly; a lossy UTF-8 copy is kept for display and search.
//!
//! There is one writer: [`Index::open`] gives it, and writes are batched in
//! transactions through [`Index::write_batch`]. Readers on other threads open
//! their own connections with [`Index::open_read_only`].
//!
//! ```no_run
//! use photopro_index::Index;
//! let mut index = Index::open("index.db".as_ref()).unwrap();
//! let library = index.add_library("/home/ana/Shoots".as_ref()).unwrap();
//! let status = index.status().unwrap();
//! println!("{} assets in {} folders", status.assets, status.folders);
//! # let _ = library;
//! ```

mod find;
mod migrations;
mod organize;
mod queries;
mod sync_guard;

pub use find::*;
pub use organize::*;
pub use queries::*;
pub use sync_guard::*;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Errors from the index. The database path is carried where it helps the user.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot open the library index at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("library index error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the library index at {path} has schema version {found}, newer than this program understands ({supported}); update PhotoPro")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{0} is not inside any library; add it with `photopro library add`")]
    NotInLibrary(PathBuf),
    #[error("no such {what}: {name}")]
    NotFound { what: &'static str, name: String },
}

pub type Result<T, E = IndexError> = std::result::Result<T, E>;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }
        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
id_type!(LibraryId);
id_type!(FolderId);
id_type!(AssetId);

/// Path bytes as the OS holds them (WTF-8 on Windows).
pub fn os_bytes(name: &OsStr) -> &[u8] {
    name.as_encoded_bytes()
}

/// The inverse of [`os_bytes`], for bytes that came from it.
pub fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    // SAFETY: every byte string stored in the index came from `as_encoded_bytes`
    // on this platform (or is plain ASCII), which is what this accepts.
    PathBuf::from(unsafe { OsStr::from_encoded_bytes_unchecked(bytes) })
}

/// Join a library root and a '/'-separated relative path.
pub fn join_rel(root: &Path, rel: &[u8]) -> PathBuf {
    let mut path = root.to_path_buf();
    for part in rel.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
        path.push(bytes_to_path(part));
    }
    path
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The library index (one SQLite connection).
pub struct Index {
    conn: Connection,
    path: PathBuf,
}

impl Index {
    /// Open (creating if needed) the index for writing and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Index> {
        let open_error = |source| IndexError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(open_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32000;",
        )
        .map_err(open_error)?;
        let mut index = Index {
            conn,
            path: path.to_path_buf(),
        };
        index.migrate()?;
        Ok(index)
    }

    /// A read-only connection for another thread (WAL lets it read while the writer writes).
    pub fn open_read_only(path: &Path) -> Result<Index> {
        let open_error = |source| IndexError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(open_error)?;
        Ok(Index {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version this build writes.
    pub fn supported_schema_version() -> i64 {
        migrations::MIGRATIONS.len() as i64
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let current = self.schema_version()?;
        let supported = Self::supported_schema_version();
        if current > supported {
            return Err(IndexError::TooNew {
                path: self.path.clone(),
                found: current,
                supported,
            });
        }
        for (number, sql) in migrations::MIGRATIONS
            .iter()
            .enumerate()
            .skip(current as usize)
        {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", number as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    // ---- libraries -------------------------------------------------------

    /// Register a library root (idempotent). The path should be absolute.
    pub fn add_library(&mut self, root: &Path) -> Result<LibraryId> {
        let bytes = os_bytes(root.as_os_str());
        self.conn.execute(
            "INSERT INTO libraries (root_path, added_at) VALUES (?1, ?2) ON CONFLICT(root_path) DO NOTHING",
            params![bytes, now_unix()],
        )?;
        let id: LibraryId = self.conn.query_row(
            "SELECT id FROM libraries WHERE root_path = ?1",
            [bytes],
            |r| r.get(0),
        )?;
        self.ensure_folder(id, b"")?;
        Ok(id)
    }

    /// Forget a library and everything indexed under it (files on disk are untouched).
    pub fn remove_library(&mut self, id: LibraryId) -> Result<()> {
        let tx = self.conn.transaction()?;
        // Delete leaf-first so the cascade stays shallow.
        tx.execute(
            "DELETE FROM assets WHERE folder_id IN (SELECT id FROM folders WHERE library_id = ?1)",
            [id],
        )?;
        tx.execute("DELETE FROM folders WHERE library_id = ?1", [id])?;
        tx.execute("DELETE FROM libraries WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    pub fn libraries(&self) -> Result<Vec<Library>> {
        let mut statement = self.conn.prepare(
            "SELECT id, root_path, added_at, last_scan_started, last_scan_finished FROM libraries ORDER BY id",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(Library {
                id: r.get(0)?,
                root: bytes_to_path(&r.get::<_, Vec<u8>>(1)?),
                added_at: r.get(2)?,
                last_scan_started: r.get(3)?,
                last_scan_finished: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The library whose root contains `path` (the deepest one if roots nest).
    pub fn library_for_path(&self, path: &Path) -> Result<(Library, Vec<u8>)> {
        let mut best: Option<(Library, Vec<u8>)> = None;
        for library in self.libraries()? {
            if let Ok(rest) = path.strip_prefix(&library.root) {
                let rel = rel_bytes(rest);
                if best
                    .as_ref()
                    .is_none_or(|(b, _)| b.root.as_os_str().len() < library.root.as_os_str().len())
                {
                    best = Some((library, rel));
                }
            }
        }
        best.ok_or_else(|| IndexError::NotInLibrary(path.to_path_buf()))
    }

    pub fn mark_scan_started(&mut self, id: LibraryId) -> Result<()> {
        self.conn.execute(
            "UPDATE libraries SET last_scan_started = ?2 WHERE id = ?1",
            params![id, now_unix()],
        )?;
        self.conn
            .execute("DELETE FROM scan_errors WHERE library_id = ?1", [id])?;
        Ok(())
    }

    pub fn mark_scan_finished(&mut self, id: LibraryId) -> Result<()> {
        self.conn.execute(
            "UPDATE libraries SET last_scan_finished = ?2 WHERE id = ?1",
            params![id, now_unix()],
        )?;
        // Fold the write-ahead log back into the database after a burst of
        // writes, so later readers do not wade through a large WAL.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    // ---- folders ---------------------------------------------------------

    pub fn folder_id(&self, library: LibraryId, rel_path: &[u8]) -> Result<Option<FolderId>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM folders WHERE library_id = ?1 AND rel_path = ?2")?
            .query_row(params![library, rel_path], |r| r.get(0))
            .optional()?)
    }

    /// The folder's id, creating it and any missing ancestors.
    pub fn ensure_folder(&mut self, library: LibraryId, rel_path: &[u8]) -> Result<FolderId> {
        if let Some(id) = self.folder_id(library, rel_path)? {
            return Ok(id);
        }
        self.write_batch(|batch| batch.ensure_folder(library, rel_path))
    }

    /// Child folders of a folder: (id, name bytes).
    pub fn child_folders(&self, folder: FolderId) -> Result<Vec<(FolderId, Vec<u8>)>> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT id, rel_path FROM folders WHERE parent_id = ?1")?;
        let rows = statement.query_map([folder], |r| {
            let rel: Vec<u8> = r.get(1)?;
            let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(b"").to_vec();
            Ok((r.get(0)?, name))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What the index knows about the files of one folder, for change detection.
    pub fn folder_fingerprints(&self, folder: FolderId) -> Result<Vec<StoredFingerprint>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, name_raw, size, mtime_ns, device, inode, content_hash IS NOT NULL FROM assets WHERE folder_id = ?1",
        )?;
        let rows = statement.query_map([folder], |r| {
            Ok(StoredFingerprint {
                id: r.get(0)?,
                name: r.get(1)?,
                size: r.get::<_, i64>(2)? as u64,
                mtime_ns: r.get(3)?,
                device: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                inode: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                complete: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Run `work` in one transaction: the unit of batching for the single writer.
    pub fn write_batch<T>(&mut self, work: impl FnOnce(&mut Batch<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let mut batch = Batch { tx };
        let value = work(&mut batch)?;
        batch.tx.commit()?;
        Ok(value)
    }
}

/// One merge-base row of a remote (see the sync engine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncBaseRow {
    pub local_id: u64,
    pub remote_node: String,
    pub remote_parent: Option<String>,
    pub name: String,
    pub is_dir: bool,
    pub hash: Option<String>,
}

/// A sync-folder file's content hash, valid while its identity, size and
/// modification time are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHashRow {
    pub inode: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: String,
}

/// A configured remote.
pub type RemoteKey = i64;

impl Index {
    /// The id of a configured remote, registering it on first use.
    pub fn ensure_remote(&mut self, name: &str, kind: &str) -> Result<RemoteKey> {
        self.conn.execute(
            "INSERT INTO remotes (name, kind, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO NOTHING",
            params![name, kind, now_unix()],
        )?;
        Ok(self
            .conn
            .query_row("SELECT id FROM remotes WHERE name = ?1", [name], |r| {
                r.get(0)
            })?)
    }

    pub fn sync_base(&self, remote: RemoteKey) -> Result<Vec<SyncBaseRow>> {
        let mut statement = self.conn.prepare(
            "SELECT local_id, remote_node, remote_parent, name, is_dir, hash FROM sync_base WHERE remote_id = ?1",
        )?;
        let rows = statement.query_map([remote], |r| {
            Ok(SyncBaseRow {
                local_id: r.get::<_, i64>(0)? as u64,
                remote_node: r.get(1)?,
                remote_parent: r.get(2)?,
                name: r.get(3)?,
                is_dir: r.get(4)?,
                hash: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Return this connection's page cache to the allocator (`PRAGMA
    /// shrink_memory`): an idle daemon need not hold 32 MB of pages.
    pub fn release_memory(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA shrink_memory;")?;
        Ok(())
    }

    /// The remembered content hashes of the sync folder's files (`kind`: which hash).
    pub fn sync_file_hashes(&self, kind: &str) -> Result<Vec<FileHashRow>> {
        let mut statement = self.conn.prepare(
            "SELECT inode, size, mtime_ns, hash FROM sync_file_hashes WHERE hash_kind = ?1",
        )?;
        let rows = statement.query_map([kind], |r| {
            Ok(FileHashRow {
                inode: r.get::<_, i64>(0)? as u64,
                size: r.get::<_, i64>(1)? as u64,
                mtime_ns: r.get(2)?,
                hash: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Store `upserts` and forget `deletes` (inodes) among the remembered hashes
    /// of `kind`, in one transaction.
    pub fn update_sync_file_hashes(
        &mut self,
        kind: &str,
        upserts: &[FileHashRow],
        deletes: &[u64],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO sync_file_hashes (hash_kind, inode, size, mtime_ns, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for row in upserts {
                insert.execute(params![
                    kind,
                    row.inode as i64,
                    row.size as i64,
                    row.mtime_ns,
                    row.hash
                ])?;
            }
            let mut delete =
                tx.prepare("DELETE FROM sync_file_hashes WHERE hash_kind = ?1 AND inode = ?2")?;
            for inode in deletes {
                delete.execute(params![kind, *inode as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Record one merge-base row (replacing whatever paired either side before).
    pub fn put_sync_base(&mut self, remote: RemoteKey, row: &SyncBaseRow) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM sync_base WHERE remote_id = ?1 AND (local_id = ?2 OR remote_node = ?3)",
            params![remote, row.local_id as i64, row.remote_node],
        )?;
        tx.execute(
            "INSERT INTO sync_base (remote_id, local_id, remote_node, remote_parent, name, is_dir, hash, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![remote, row.local_id as i64, row.remote_node, row.remote_parent, row.name, row.is_dir, row.hash, now_unix()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Forget everything agreed with `remote` (its merge base and change
    /// cursor): the next sync compares both sides afresh, linking identical
    /// files. For a sync folder that moved or was replaced, whose old base
    /// would otherwise read as every file deleted.
    pub fn clear_sync_base(&mut self, remote: RemoteKey) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let removed = tx.execute("DELETE FROM sync_base WHERE remote_id = ?1", [remote])?;
        tx.execute("UPDATE remotes SET cursor = NULL WHERE id = ?1", [remote])?;
        tx.commit()?;
        Ok(removed as u64)
    }

    pub fn remove_sync_base(&mut self, remote: RemoteKey, local_id: u64) -> Result<()> {
        self.conn.execute(
            "DELETE FROM sync_base WHERE remote_id = ?1 AND local_id = ?2",
            params![remote, local_id as i64],
        )?;
        Ok(())
    }

    pub fn remote_cursor(&self, remote: RemoteKey) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT cursor FROM remotes WHERE id = ?1", [remote], |r| {
                r.get(0)
            })?)
    }

    pub fn set_remote_cursor(&mut self, remote: RemoteKey, cursor: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE remotes SET cursor = ?2 WHERE id = ?1",
            params![remote, cursor],
        )?;
        Ok(())
    }
}

/// Turn a relative `Path` into '/'-separated bytes.
pub fn rel_bytes(rel: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for component in rel.components() {
        if let std::path::Component::Normal(part) = component {
            if !out.is_empty() {
                out.push(b'/');
            }
            out.extend_from_slice(os_bytes(part));
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Library {
    pub id: LibraryId,
    pub root: PathBuf,
    pub added_at: i64,
    pub last_scan_started: Option<i64>,
    pub last_scan_finished: Option<i64>,
}

/// The cheap identity of a file as last indexed: if size, mtime and file
/// identity all match the disk, the file is unchanged and is not read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFingerprint {
    pub id: AssetId,
    pub name: Vec<u8>,
    pub size: u64,
    pub mtime_ns: i64,
    pub device: Option<u64>,
    pub inode: Option<u64>,
    /// The file was read successfully (it has a content hash).
    pub complete: bool,
}

/// Thumbnail state of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThumbState {
    /// Not attempted yet.
    Pending,
    /// Grid thumbnail and preview are in the cache.
    Ready,
    /// Nothing to show (e.g. HEIC without an embedded preview, non-photo files).
    None,
    /// Rendering failed; `media_error` says why.
    Error,
}

impl ThumbState {
    pub fn as_str(self) -> &'static str {
        match self {
            ThumbState::Pending => "pending",
            ThumbState::Ready => "ready",
            ThumbState::None => "none",
            ThumbState::Error => "error",
        }
    }
}

/// Photo metadata as the index stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediaFields {
    pub taken_at_local: Option<String>,
    pub utc_offset_minutes: Option<i32>,
    pub taken_at_utc: Option<i64>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens: Option<String>,
    pub focal_length_mm: Option<f64>,
    pub iso: Option<u32>,
    pub exposure: Option<String>,
    pub f_number: Option<f64>,
    pub orientation: Option<u8>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub altitude: Option<f64>,
    pub relative_altitude: Option<f64>,
    pub rating: Option<i32>,
    pub keywords: Vec<String>,
}

/// One file to insert or update.
#[derive(Debug, Clone)]
pub struct AssetRecord {
    pub folder: FolderId,
    pub name_raw: Vec<u8>,
    pub kind: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub device: Option<u64>,
    pub inode: Option<u64>,
    pub content_hash: Option<String>,
    pub sync_excluded: bool,
    pub media: MediaFields,
    pub thumb_state: ThumbState,
    pub media_error: Option<String>,
    pub read_error: Option<String>,
}

/// A write transaction of the single writer.
pub struct Batch<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Batch<'_> {
    /// Insert or update an asset (keyed by folder + name) with its search and GPS rows.
    pub fn upsert_asset(&mut self, record: &AssetRecord, folder_display: &str) -> Result<AssetId> {
        let m = &record.media;
        let name = String::from_utf8_lossy(&record.name_raw);
        let id: AssetId = self
            .tx
            .prepare_cached(
                "INSERT INTO assets (folder_id, name_raw, name, kind, size, mtime_ns, device, inode, content_hash,
                    sync_excluded, taken_at_local, utc_offset_minutes, taken_at_utc, make, model, lens, focal_length_mm,
                    iso, exposure, f_number, orientation, width, height, latitude, longitude, altitude,
                    relative_altitude, rating, thumb_state, media_error, read_error, indexed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                    ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)
                 ON CONFLICT(folder_id, name_raw) DO UPDATE SET
                    kind = excluded.kind, size = excluded.size, mtime_ns = excluded.mtime_ns,
                    device = excluded.device, inode = excluded.inode, content_hash = excluded.content_hash,
                    sync_excluded = excluded.sync_excluded, taken_at_local = excluded.taken_at_local,
                    utc_offset_minutes = excluded.utc_offset_minutes, taken_at_utc = excluded.taken_at_utc,
                    make = excluded.make, model = excluded.model, lens = excluded.lens,
                    focal_length_mm = excluded.focal_length_mm, iso = excluded.iso, exposure = excluded.exposure,
                    f_number = excluded.f_number, orientation = excluded.orientation, width = excluded.width,
                    height = excluded.height, latitude = excluded.latitude, longitude = excluded.longitude,
                    altitude = excluded.altitude, relative_altitude = excluded.relative_altitude,
                    rating = excluded.rating, thumb_state = excluded.thumb_state,
                    media_error = excluded.media_error, read_error = excluded.read_error,
                    indexed_at = excluded.indexed_at
                 RETURNING id",
            )?
            .query_row(
                params![
                    record.folder,
                    record.name_raw,
                    name,
                    record.kind,
                    record.size as i64,
                    record.mtime_ns,
                    record.device.map(|v| v as i64),
                    record.inode.map(|v| v as i64),
                    record.content_hash,
                    record.sync_excluded,
                    m.taken_at_local,
                    m.utc_offset_minutes,
                    m.taken_at_utc,
                    m.make,
                    m.model,
                    m.lens,
                    m.focal_length_mm,
                    m.iso,
                    m.exposure,
                    m.f_number,
                    m.orientation,
                    m.width,
                    m.height,
                    m.latitude,
                    m.longitude,
                    m.altitude,
                    m.relative_altitude,
                    m.rating,
                    record.thumb_state.as_str(),
                    record.media_error,
                    record.read_error,
                    now_unix(),
                ],
                |r| r.get(0),
            )?;

        // Keywords from the file itself are tags with source 'xmp'; tags from
        // other sources (the user, the AI tagger) are left alone.
        self.tx
            .prepare_cached("DELETE FROM asset_tags WHERE asset_id = ?1 AND source = 'xmp'")?
            .execute([id])?;
        for keyword in &m.keywords {
            self.tx
                .prepare_cached("INSERT INTO tags (name) VALUES (?1) ON CONFLICT(name) DO NOTHING")?
                .execute([keyword])?;
            self.tx
                .prepare_cached(
                    "INSERT INTO asset_tags (asset_id, tag_id, source) SELECT ?1, id, 'xmp' FROM tags WHERE name = ?2
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![id, keyword])?;
        }
        self.refresh_search_row(id, &name, folder_display)?;

        self.tx
            .prepare_cached("DELETE FROM assets_geo WHERE id = ?1")?
            .execute([id])?;
        if let (Some(lat), Some(lon)) = (m.latitude, m.longitude) {
            self.tx
                .prepare_cached("INSERT INTO assets_geo (id, min_lat, max_lat, min_lon, max_lon) VALUES (?1, ?2, ?2, ?3, ?3)")?
                .execute(params![id, lat, lon])?;
        }
        Ok(id)
    }

    /// Rebuild the full-text row of an asset from its current columns and tags.
    fn refresh_search_row(&mut self, id: AssetId, name: &str, folder_display: &str) -> Result<()> {
        let (tags, meta): (String, String) = self.tx.prepare_cached(
            "SELECT coalesce((SELECT group_concat(t.name, ' ') FROM asset_tags at JOIN tags t ON t.id = at.tag_id WHERE at.asset_id = a.id), ''),
                    concat_ws(' ', a.make, a.model, a.lens, a.taken_at_local, a.kind)
             FROM assets a WHERE a.id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        self.tx
            .prepare_cached("DELETE FROM assets_fts WHERE rowid = ?1")?
            .execute([id])?;
        self.tx
            .prepare_cached("INSERT INTO assets_fts (rowid, name, folder, tags, meta) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![id, name, folder_display, tags, meta])?;
        Ok(())
    }

    pub fn asset_id(&self, folder: FolderId, name: &[u8]) -> Result<Option<AssetId>> {
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM assets WHERE folder_id = ?1 AND name_raw = ?2")?
            .query_row(params![folder, name], |r| r.get(0))
            .optional()?)
    }

    pub fn delete_asset(&mut self, id: AssetId) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM assets WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// Remove a folder, its subfolders and their assets from the index.
    pub fn delete_folder_tree(&mut self, folder: FolderId) -> Result<u64> {
        let (library, rel): (LibraryId, Vec<u8>) = match self
            .tx
            .query_row(
                "SELECT library_id, rel_path FROM folders WHERE id = ?1",
                [folder],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
        {
            Some(found) => found,
            None => return Ok(0),
        };
        let (low, high) = subtree_bounds(&rel).unwrap_or((Vec::new(), Vec::new()));
        let whole_library = rel.is_empty();
        let removed = self.tx.execute(
            "DELETE FROM assets WHERE folder_id IN (SELECT id FROM folders WHERE library_id = ?1
               AND (?5 OR id = ?2 OR (rel_path >= ?3 AND rel_path < ?4)))",
            params![library, folder, low, high, whole_library],
        )?;
        self.tx.execute(
            "DELETE FROM folders WHERE library_id = ?1 AND (?5 OR id = ?2 OR (rel_path >= ?3 AND rel_path < ?4))",
            params![library, folder, low, high, whole_library],
        )?;
        Ok(removed as u64)
    }

    pub fn record_scan_error(
        &mut self,
        library: LibraryId,
        rel_path: &[u8],
        error: &str,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO scan_errors (library_id, rel_path, error, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(library_id, rel_path) DO UPDATE SET error = excluded.error, seen_at = excluded.seen_at",
            )?
            .execute(params![library, rel_path, error, now_unix()])?;
        Ok(())
    }

    /// Ensure a folder exists inside this transaction.
    pub fn ensure_folder(&mut self, library: LibraryId, rel_path: &[u8]) -> Result<FolderId> {
        if let Some(id) = self
            .tx
            .prepare_cached("SELECT id FROM folders WHERE library_id = ?1 AND rel_path = ?2")?
            .query_row(params![library, rel_path], |r| r.get(0))
            .optional()?
        {
            return Ok(id);
        }
        let parent = match rel_path.iter().rposition(|&b| b == b'/') {
            Some(slash) => Some(self.ensure_folder(library, &rel_path[..slash])?),
            None if rel_path.is_empty() => None,
            None => Some(self.ensure_folder(library, b"")?),
        };
        let name_bytes = rel_path.rsplit(|&b| b == b'/').next().unwrap_or(b"");
        self.tx
            .prepare_cached(
                "INSERT INTO folders (library_id, parent_id, rel_path, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![library, parent, rel_path, String::from_utf8_lossy(name_bytes), now_unix()])?;
        Ok(FolderId(self.tx.last_insert_rowid()))
    }
}

/// The half-open range `[rel/, rel0)` holds exactly the rel_paths strictly
/// below `rel` ('0' is the byte after '/'). `None` for the library root, where
/// every other folder is below.
pub(crate) fn subtree_bounds(rel: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if rel.is_empty() {
        return None;
    }
    let mut low = rel.to_vec();
    low.push(b'/');
    let mut high = rel.to_vec();
    high.push(b'0');
    Some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(folder: FolderId, name: &[u8]) -> AssetRecord {
        AssetRecord {
            folder,
            name_raw: name.to_vec(),
            kind: "jpeg".into(),
            size: 10,
            mtime_ns: 1,
            device: Some(1),
            inode: Some(2),
            content_hash: Some("ab".repeat(32)),
            sync_excluded: false,
            media: MediaFields {
                make: Some("DJI".into()),
                latitude: Some(46.84),
                longitude: Some(-91.99),
                keywords: vec!["Smith residence".into()],
                ..Default::default()
            },
            thumb_state: ThumbState::Ready,
            media_error: None,
            read_error: None,
        }
    }

    fn count(index: &Index, sql: &str) -> i64 {
        index.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn migrations_apply_once_and_reopen_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        let index = Index::open(&path).unwrap();
        assert_eq!(
            index.schema_version().unwrap(),
            Index::supported_schema_version()
        );
        let mode: String = index
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(index);
        let index = Index::open(&path).unwrap();
        assert_eq!(
            index.schema_version().unwrap(),
            Index::supported_schema_version()
        );
        index
            .conn()
            .pragma_update(None, "user_version", 999)
            .unwrap();
        drop(index);
        assert!(matches!(
            Index::open(&path),
            Err(IndexError::TooNew { found: 999, .. })
        ));
    }

    #[test]
    fn folders_form_a_tree_and_deleting_one_removes_its_subtree_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("i.db")).unwrap();
        let library = index.add_library(Path::new("/shoots")).unwrap();
        let gallery = index.ensure_folder(library, b"2025/January/Smith").unwrap();
        let sibling = index
            .ensure_folder(library, b"2025/January/Smithers")
            .unwrap();
        let january = index.folder_id(library, b"2025/January").unwrap().unwrap();
        let children: Vec<_> = index
            .child_folders(january)
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(children.len(), 2);
        index
            .write_batch(|b| {
                b.upsert_asset(&record(gallery, b"a.jpg"), "2025/January/Smith")?;
                b.upsert_asset(&record(sibling, b"b.jpg"), "2025/January/Smithers")?;
                b.delete_folder_tree(gallery)
            })
            .unwrap();
        // "Smith" and its contents are gone; "Smithers" (same prefix, not below) stays.
        assert_eq!(
            index.folder_id(library, b"2025/January/Smith").unwrap(),
            None
        );
        assert_eq!(
            index.folder_id(library, b"2025/January/Smithers").unwrap(),
            Some(sibling)
        );
        assert_eq!(index.status().unwrap().assets, 1);
        // The trigger kept the search and GPS tables in step with assets.
        assert_eq!(count(&index, "SELECT count(*) FROM assets_fts"), 1);
        assert_eq!(count(&index, "SELECT count(*) FROM assets_geo"), 1);
        // The trigger-kept totals agree with a count over the assets themselves.
        assert_eq!(
            count(&index, "SELECT sum(files) FROM folder_stats"),
            count(&index, "SELECT count(*) FROM assets")
        );
        let summary = index.list_child_folders(january).unwrap();
        assert_eq!(summary.len(), 1);
        assert_eq!((summary[0].photos, summary[0].files_total), (1, 1));
        let top = index
            .list_child_folders(index.folder_id(library, b"").unwrap().unwrap())
            .unwrap();
        assert_eq!(top[0].files_total, 1, "totals are recursive");
    }

    #[test]
    fn upsert_updates_in_place_and_search_finds_names_tags_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("i.db")).unwrap();
        let library = index.add_library(Path::new("/shoots")).unwrap();
        let folder = index.ensure_folder(library, b"Twilight").unwrap();
        let first = index
            .write_batch(|b| b.upsert_asset(&record(folder, b"kitchen-01.jpg"), "Twilight"))
            .unwrap();
        let mut changed = record(folder, b"kitchen-01.jpg");
        changed.size = 99;
        changed.media.keywords = vec!["twilight exterior".into()];
        let second = index
            .write_batch(|b| b.upsert_asset(&changed, "Twilight"))
            .unwrap();
        assert_eq!(first, second, "the id is stable across updates");
        assert_eq!(index.asset(first).unwrap().unwrap().size, 99);
        assert_eq!(index.search("kitchen", 10).unwrap(), vec![first]);
        assert_eq!(index.search("tags : exterior", 10).unwrap(), vec![first]);
        assert!(
            index.search("tags : Smith", 10).unwrap().is_empty(),
            "replaced keywords are gone"
        );
        assert_eq!(index.search("folder : twilight", 10).unwrap(), vec![first]);
        assert_eq!(
            index.assets_in_box(46.0, 47.0, -92.0, -91.0, 10).unwrap(),
            vec![first]
        );
        assert!(
            index.search("\"unbalanced", 10).is_err(),
            "bad FTS syntax is an error, not a crash"
        );
    }

    #[test]
    fn sync_base_rows_pair_one_to_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("i.db")).unwrap();
        let remote = index.ensure_remote("photopro", "photopro").unwrap();
        assert_eq!(index.ensure_remote("photopro", "photopro").unwrap(), remote);
        let row = SyncBaseRow {
            local_id: 7,
            remote_node: "r1".into(),
            remote_parent: None,
            name: "a.jpg".into(),
            is_dir: false,
            hash: Some("h".into()),
        };
        index.put_sync_base(remote, &row).unwrap();
        // Re-pairing either side replaces the old row.
        let moved = SyncBaseRow {
            local_id: 8,
            ..row.clone()
        };
        index.put_sync_base(remote, &moved).unwrap();
        assert_eq!(index.sync_base(remote).unwrap(), vec![moved]);
        index.remove_sync_base(remote, 8).unwrap();
        assert!(index.sync_base(remote).unwrap().is_empty());
        index.set_remote_cursor(remote, Some("c42")).unwrap();
        assert_eq!(index.remote_cursor(remote).unwrap().as_deref(), Some("c42"));
        // A new sync folder starts from nothing agreed.
        let other = index.ensure_remote("dropbox", "dropbox").unwrap();
        index.put_sync_base(remote, &row).unwrap();
        index.put_sync_base(other, &row).unwrap();
        assert_eq!(index.clear_sync_base(remote).unwrap(), 1);
        assert!(
            index.sync_base(remote).unwrap().is_empty()
                && index.remote_cursor(remote).unwrap().is_none()
        );
        assert_eq!(
            index.sync_base(other).unwrap().len(),
            1,
            "other remotes keep theirs"
        );
    }

    #[test]
    fn non_utf8_names_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("i.db")).unwrap();
        let library = index.add_library(Path::new("/shoots")).unwrap();
        let folder = index.ensure_folder(library, b"caf\xe9").unwrap();
        let id = index
            .write_batch(|b| b.upsert_asset(&record(folder, b"\xff\xfe.jpg"), "caf\u{FFFD}"))
            .unwrap();
        let details = index.asset(id).unwrap().unwrap();
        assert_eq!(
            details.path.as_os_str().as_encoded_bytes(),
            b"/shoots/caf\xe9/\xff\xfe.jpg"
        );
        assert_eq!(
            index.folder_fingerprints(folder).unwrap()[0].name,
            b"\xff\xfe.jpg"
        );
        let (found, rel) = index.library_for_path(&details.path).unwrap();
        assert_eq!((found.id, rel), (library, b"caf\xe9/\xff\xfe.jpg".to_vec()));
    }
}
