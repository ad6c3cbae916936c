//! Read queries: status totals, folder listings, asset details, search.

use crate::{
    bytes_to_path, join_rel, subtree_bounds, AssetId, FolderId, Index, LibraryId, MediaFields,
    Result,
};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use std::path::PathBuf;

/// A child folder as listed: id, name, path bytes, cover, photo count.
type ChildFolderRow = (FolderId, String, Vec<u8>, Option<AssetId>, i64);

/// Totals over the whole index, as `photopro status --json` prints them.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LibraryStatus"))]
pub struct Status {
    pub libraries: u64,
    pub assets: u64,
    pub photos: u64,
    pub folders: u64,
    /// Folders that directly hold at least one photo.
    pub galleries: u64,
    pub bytes: u64,
    pub with_exif_time: u64,
    pub with_gps: u64,
    pub thumbnails: u64,
    pub without_thumbnail: u64,
    pub raw_files: u64,
    pub sync_excluded: u64,
    pub errors: u64,
    pub error_files: Vec<ErrorFile>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorFile {
    pub path: String,
    pub error: String,
}

/// One row of a folder listing: a child folder with recursive totals.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FolderSummary {
    pub id: FolderId,
    pub name: String,
    pub path: PathBuf,
    /// Photos directly in this folder (it is a gallery when this is > 0).
    pub photos: u64,
    /// Files in this folder and everything below it.
    pub files_total: u64,
    pub bytes_total: u64,
    pub first_taken: Option<String>,
    pub last_taken: Option<String>,
    pub cover: Option<AssetId>,
}

/// A file row in a listing.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssetSummary {
    pub id: AssetId,
    pub name: String,
    pub kind: String,
    pub size: u64,
    pub taken_at_local: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumb_state: String,
    pub content_hash: Option<String>,
    pub error: Option<String>,
}

/// Everything the index holds about one asset.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssetDetails {
    pub id: AssetId,
    pub folder: FolderId,
    pub library: LibraryId,
    pub path: PathBuf,
    pub name: String,
    pub kind: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub device: Option<u64>,
    pub inode: Option<u64>,
    pub content_hash: Option<String>,
    pub sync_excluded: bool,
    pub media: MediaFields,
    pub thumb_state: String,
    pub media_error: Option<String>,
    pub read_error: Option<String>,
    pub tags: Vec<String>,
}

const ASSET_DETAIL_COLUMNS: &str = "a.id, a.folder_id, f.library_id, l.root_path, f.rel_path, a.name_raw, a.kind, a.size,
    a.mtime_ns, a.device, a.inode, a.content_hash, a.sync_excluded, a.taken_at_local, a.utc_offset_minutes,
    a.taken_at_utc, a.make, a.model, a.lens, a.focal_length_mm, a.iso, a.exposure, a.f_number, a.orientation,
    a.width, a.height, a.latitude, a.longitude, a.altitude, a.relative_altitude, a.rating, a.thumb_state,
    a.media_error, a.read_error";

impl Index {
    pub fn status(&self) -> Result<Status> {
        let mut status: Status = self.conn().query_row(
            "SELECT
                (SELECT count(*) FROM libraries),
                count(*),
                coalesce(sum(kind IN ('jpeg','png','tiff','webp','heic','raw')), 0),
                (SELECT count(*) FROM folders),
                (SELECT count(DISTINCT folder_id) FROM assets WHERE kind IN ('jpeg','png','tiff','webp','heic','raw')),
                coalesce(sum(size), 0),
                count(taken_at_local),
                count(latitude),
                coalesce(sum(thumb_state = 'ready'), 0),
                coalesce(sum(thumb_state IN ('none', 'error') AND kind IN ('jpeg','png','tiff','webp','heic','raw')), 0),
                coalesce(sum(kind = 'raw'), 0),
                coalesce(sum(sync_excluded), 0)
             FROM assets",
            [],
            |r| {
                Ok(Status {
                    libraries: r.get::<_, i64>(0)? as u64,
                    assets: r.get::<_, i64>(1)? as u64,
                    photos: r.get::<_, i64>(2)? as u64,
                    folders: r.get::<_, i64>(3)? as u64,
                    galleries: r.get::<_, i64>(4)? as u64,
                    bytes: r.get::<_, i64>(5)? as u64,
                    with_exif_time: r.get::<_, i64>(6)? as u64,
                    with_gps: r.get::<_, i64>(7)? as u64,
                    thumbnails: r.get::<_, i64>(8)? as u64,
                    without_thumbnail: r.get::<_, i64>(9)? as u64,
                    raw_files: r.get::<_, i64>(10)? as u64,
                    sync_excluded: r.get::<_, i64>(11)? as u64,
                    ..Default::default()
                })
            },
        )?;
        status.error_files = self.error_files()?;
        status.errors = status.error_files.len() as u64;
        Ok(status)
    }

    /// Every per-file problem: read errors, media errors, and walk errors.
    pub fn error_files(&self) -> Result<Vec<ErrorFile>> {
        let mut out = Vec::new();
        let mut statement = self.conn().prepare(
            "SELECT l.root_path, f.rel_path, a.name_raw, coalesce(a.read_error, a.media_error)
             FROM assets a JOIN folders f ON f.id = a.folder_id JOIN libraries l ON l.id = f.library_id
             WHERE a.read_error IS NOT NULL OR a.media_error IS NOT NULL
             UNION ALL
             SELECT l.root_path, e.rel_path, NULL, e.error
             FROM scan_errors e JOIN libraries l ON l.id = e.library_id",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let root = bytes_to_path(&row.get::<_, Vec<u8>>(0)?);
            let mut path = join_rel(&root, &row.get::<_, Vec<u8>>(1)?);
            if let Some(name) = row.get::<_, Option<Vec<u8>>>(2)? {
                path.push(bytes_to_path(&name));
            }
            out.push(ErrorFile {
                path: path.to_string_lossy().into_owned(),
                error: row.get(3)?,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Child folders of `folder` with recursive totals, sorted by name.
    pub fn list_child_folders(&self, folder: FolderId) -> Result<Vec<FolderSummary>> {
        let (library, root): (LibraryId, Vec<u8>) = self.conn().query_row(
            "SELECT f.library_id, l.root_path FROM folders f JOIN libraries l ON l.id = f.library_id WHERE f.id = ?1",
            [folder],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let root = bytes_to_path(&root);
        let mut children = self.conn().prepare_cached(
            "SELECT f.id, f.name, f.rel_path, f.cover_asset_id, coalesce(s.photos, 0)
             FROM folders f LEFT JOIN folder_stats s ON s.folder_id = f.id
             WHERE f.parent_id = ?1 ORDER BY f.name COLLATE NOCASE",
        )?;
        let rows: Vec<ChildFolderRow> = children
            .query_map([folder], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        // Totals over the subtree come from the trigger-maintained folder_stats;
        // first/last capture times are one index probe per folder.
        let mut totals = self.conn().prepare_cached(
            "SELECT coalesce(sum(s.files), 0), coalesce(sum(s.bytes), 0),
                    min((SELECT min(a.taken_at_local) FROM assets a WHERE a.folder_id = f.id AND a.taken_at_local IS NOT NULL)),
                    max((SELECT max(a.taken_at_local) FROM assets a WHERE a.folder_id = f.id))
             FROM folders f LEFT JOIN folder_stats s ON s.folder_id = f.id
             WHERE f.library_id = ?1 AND (f.id = ?2 OR (f.rel_path >= ?3 AND f.rel_path < ?4))",
        )?;
        let mut first_photo = self.conn().prepare_cached(
            "SELECT id FROM assets WHERE folder_id = ?1 AND thumb_state = 'ready'
             ORDER BY taken_at_local, name LIMIT 1",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, name, rel, cover, photos) in rows {
            let (low, high) = subtree_bounds(&rel).expect("child folders are never the root");
            let (files, bytes, first, last): (i64, i64, Option<String>, Option<String>) = totals
                .query_row(params![library, id, low, high], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
            let cover = match cover {
                Some(cover) => Some(cover),
                None => first_photo.query_row([id], |r| r.get(0)).optional()?,
            };
            out.push(FolderSummary {
                id,
                name,
                path: join_rel(&root, &rel),
                photos: photos as u64,
                files_total: files as u64,
                bytes_total: bytes as u64,
                first_taken: first,
                last_taken: last,
                cover,
            });
        }
        Ok(out)
    }

    /// Files directly in a folder, sorted by capture time then name.
    pub fn list_assets(&self, folder: FolderId) -> Result<Vec<AssetSummary>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT id, name, kind, size, taken_at_local, width, height, thumb_state, content_hash,
                    coalesce(read_error, media_error)
             FROM assets WHERE folder_id = ?1 ORDER BY taken_at_local IS NULL, taken_at_local, name",
        )?;
        let rows = statement.query_map([folder], |r| {
            Ok(AssetSummary {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
                taken_at_local: r.get(4)?,
                width: r.get(5)?,
                height: r.get(6)?,
                thumb_state: r.get(7)?,
                content_hash: r.get(8)?,
                error: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The asset at `folder` / `name`, if indexed.
    pub fn asset_by_name(&self, folder: FolderId, name: &[u8]) -> Result<Option<AssetDetails>> {
        let sql = format!(
            "SELECT {ASSET_DETAIL_COLUMNS} FROM assets a JOIN folders f ON f.id = a.folder_id
             JOIN libraries l ON l.id = f.library_id WHERE a.folder_id = ?1 AND a.name_raw = ?2"
        );
        let details = self
            .conn()
            .query_row(&sql, params![folder, name], asset_details)
            .optional()?;
        details.map(|d| self.with_tags(d)).transpose()
    }

    pub fn asset(&self, id: AssetId) -> Result<Option<AssetDetails>> {
        let sql = format!(
            "SELECT {ASSET_DETAIL_COLUMNS} FROM assets a JOIN folders f ON f.id = a.folder_id
             JOIN libraries l ON l.id = f.library_id WHERE a.id = ?1"
        );
        let details = self
            .conn()
            .query_row(&sql, [id], asset_details)
            .optional()?;
        details.map(|d| self.with_tags(d)).transpose()
    }

    fn with_tags(&self, mut details: AssetDetails) -> Result<AssetDetails> {
        let mut statement = self.conn().prepare_cached(
            "SELECT t.name FROM asset_tags at JOIN tags t ON t.id = at.tag_id WHERE at.asset_id = ?1 ORDER BY t.name",
        )?;
        details.tags = statement
            .query_map([details.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        details.media.keywords = details.tags.clone();
        Ok(details)
    }

    /// Full-text search over names, folders, tags and metadata (FTS5 syntax).
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<AssetId>> {
        let mut statement = self
            .conn()
            .prepare_cached("SELECT rowid FROM assets_fts WHERE assets_fts MATCH ?1 LIMIT ?2")?;
        let rows = statement.query_map(params![query, limit], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Assets whose GPS position lies in the box (R*Tree).
    pub fn assets_in_box(
        &self,
        min_lat: f64,
        max_lat: f64,
        min_lon: f64,
        max_lon: f64,
        limit: u32,
    ) -> Result<Vec<AssetId>> {
        let mut statement = self.conn().prepare_cached(
            "SELECT id FROM assets_geo WHERE min_lat >= ?1 AND max_lat <= ?2 AND min_lon >= ?3 AND max_lon <= ?4 LIMIT ?5",
        )?;
        let rows = statement
            .query_map(params![min_lat, max_lat, min_lon, max_lon, limit], |r| {
                r.get(0)
            })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Per-folder counts for every folder of a library (for `photopro status`).
    pub fn folder_counts(&self, library: LibraryId) -> Result<Vec<(PathBuf, u64, u64)>> {
        let root: Vec<u8> = self.conn().query_row(
            "SELECT root_path FROM libraries WHERE id = ?1",
            [library],
            |r| r.get(0),
        )?;
        let root = bytes_to_path(&root);
        let mut statement = self.conn().prepare(
            "SELECT f.rel_path, count(a.id), coalesce(sum(a.size), 0) FROM folders f
             LEFT JOIN assets a ON a.folder_id = f.id WHERE f.library_id = ?1 GROUP BY f.id ORDER BY f.rel_path",
        )?;
        let rows = statement.query_map([library], |r| {
            Ok((
                join_rel(&root, &r.get::<_, Vec<u8>>(0)?),
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn asset_details(r: &Row<'_>) -> rusqlite::Result<AssetDetails> {
    let root = bytes_to_path(&r.get::<_, Vec<u8>>(3)?);
    let name_raw: Vec<u8> = r.get(5)?;
    let mut path = join_rel(&root, &r.get::<_, Vec<u8>>(4)?);
    path.push(bytes_to_path(&name_raw));
    Ok(AssetDetails {
        id: r.get(0)?,
        folder: r.get(1)?,
        library: r.get(2)?,
        path,
        name: String::from_utf8_lossy(&name_raw).into_owned(),
        kind: r.get(6)?,
        size: r.get::<_, i64>(7)? as u64,
        mtime_ns: r.get(8)?,
        device: r.get::<_, Option<i64>>(9)?.map(|v| v as u64),
        inode: r.get::<_, Option<i64>>(10)?.map(|v| v as u64),
        content_hash: r.get(11)?,
        sync_excluded: r.get(12)?,
        media: MediaFields {
            taken_at_local: r.get(13)?,
            utc_offset_minutes: r.get(14)?,
            taken_at_utc: r.get(15)?,
            make: r.get(16)?,
            model: r.get(17)?,
            lens: r.get(18)?,
            focal_length_mm: r.get(19)?,
            iso: r.get(20)?,
            exposure: r.get(21)?,
            f_number: r.get(22)?,
            orientation: r.get(23)?,
            width: r.get(24)?,
            height: r.get(25)?,
            latitude: r.get(26)?,
            longitude: r.get(27)?,
            altitude: r.get(28)?,
            relative_altitude: r.get(29)?,
            rating: r.get(30)?,
            keywords: Vec::new(),
        },
        thumb_state: r.get(31)?,
        media_error: r.get(32)?,
        read_error: r.get(33)?,
        tags: Vec::new(),
    })
}
