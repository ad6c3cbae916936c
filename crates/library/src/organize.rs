//! Reorganizing the library on disk and in the index together: move and copy
//! photos, move folders, import files dropped from the desktop, and a trash
//! that can be restored.
//!
//! Every operation changes the disk first and the index second, so a crash in
//! between leaves a file the next scan finds (never an index row for a file
//! that is gone). Nothing is ever overwritten: a name already taken in the
//! destination gets a ` (2)`, ` (3)`… suffix, the way Finder and Explorer keep
//! both. Deleting moves files into `.photopro-trash/` at the library root (the
//! scanner skips `.photopro-*`), on the same volume, so trashing a shoot of
//! 5 GB is a rename, not a copy, and restoring is a rename back.

use crate::{LibraryError, Result};
use photopro_index::{AssetId, AssetRecord, FolderId, Index, IndexError, MediaFields, ThumbState};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The trash folder's name at each library root.
pub const TRASH_DIR: &str = ".photopro-trash";
const ENTRY_FILE: &str = "entry.json";
const ITEM_DIR: &str = "item";

/// What a bulk operation did: how many items succeeded and which failed, with why.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Outcome {
    pub done: u64,
    pub failed: Vec<Failure>,
    /// For deletions: the trash entries created, so the UI can offer Undo.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trash_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Failure {
    pub name: String,
    pub error: String,
}

impl Outcome {
    fn record(&mut self, name: &str, result: Result<()>) {
        match result {
            Ok(()) => self.done += 1,
            Err(error) => self.failed.push(Failure {
                name: name.to_string(),
                error: error.to_string(),
            }),
        }
    }
}

/// One item in the trash, as `entry.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrashEntry {
    /// Directory name under `.photopro-trash/`: unique, sortable by time.
    pub id: String,
    /// Where it was, absolute.
    pub original_path: PathBuf,
    /// A single photo ("file") or a whole folder ("folder").
    pub kind: String,
    pub name: String,
    pub bytes: u64,
    pub files: u64,
    /// Unix seconds.
    pub trashed_at: i64,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn not_found(what: &'static str, name: impl std::fmt::Display) -> LibraryError {
    LibraryError::Index(IndexError::NotFound {
        what,
        name: name.to_string(),
    })
}

/// `dir/name`, or `dir/stem (2).ext`, `dir/stem (3).ext`… whichever is free.
pub fn free_name(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let first = dir.join(name);
    if std::fs::symlink_metadata(&first).is_err() {
        return first;
    }
    let as_path = Path::new(name);
    let stem = as_path
        .file_stem()
        .unwrap_or(name)
        .to_string_lossy()
        .into_owned();
    let extension = as_path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){extension}")))
        .find(|candidate| std::fs::symlink_metadata(candidate).is_err())
        .expect("some suffix is free")
}

/// Rename, falling back to copy + remove across volumes.
fn move_path(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(_) if from.is_file() => {
            std::fs::copy(from, to).map_err(io_error(to))?;
            std::fs::File::open(to)
                .and_then(|f| f.sync_all())
                .map_err(io_error(to))?;
            std::fs::remove_file(from).map_err(io_error(from))
        }
        Err(source) => Err(LibraryError::Io {
            path: from.to_path_buf(),
            source,
        }),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Move photos into another folder of the same library.
pub fn move_assets(index: &mut Index, assets: &[AssetId], to: FolderId) -> Result<Outcome> {
    let destination = index.folder(to)?;
    let mut outcome = Outcome::default();
    for &asset in assets {
        let Some(details) = index.asset(asset)? else {
            outcome.record(&asset.to_string(), Err(not_found("photo", asset)));
            continue;
        };
        if details.folder == to {
            outcome.done += 1;
            continue;
        }
        let result = (|| {
            if details.library != destination.library {
                return Err(not_found(
                    "destination in the photo's library",
                    destination.path.display(),
                ));
            }
            let file_name = details
                .path
                .file_name()
                .ok_or_else(|| not_found("file name", details.path.display()))?;
            let target = free_name(&destination.path, file_name);
            move_path(&details.path, &target)?;
            let new_name =
                photopro_index::os_bytes(target.file_name().expect("has a name")).to_vec();
            if let Err(error) = index.move_asset_in_index(asset, to, &new_name) {
                // Put the file back so disk and index agree again.
                let _ = move_path(&target, &details.path);
                return Err(error.into());
            }
            Ok(())
        })();
        outcome.record(&details.name, result);
    }
    Ok(outcome)
}

/// The on-disk fingerprint the scanner compares: size, mtime (ns), device, inode.
fn fingerprint(meta: &std::fs::Metadata) -> (u64, i64, Option<u64>, Option<u64>) {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    #[cfg(unix)]
    let (device, inode) = {
        use std::os::unix::fs::MetadataExt;
        (Some(meta.dev()), Some(meta.ino()))
    };
    #[cfg(not(unix))]
    let (device, inode) = (None, None);
    (meta.len(), mtime_ns, device, inode)
}

/// Copy photos into another folder. The copy is indexed at once with the
/// original's metadata (same content, same hash, so the thumbnails are shared).
pub fn copy_assets(index: &mut Index, assets: &[AssetId], to: FolderId) -> Result<Outcome> {
    let destination = index.folder(to)?;
    let folder_display = String::from_utf8_lossy(&destination.rel_path).into_owned();
    let mut outcome = Outcome::default();
    for &asset in assets {
        let Some(details) = index.asset(asset)? else {
            outcome.record(&asset.to_string(), Err(not_found("photo", asset)));
            continue;
        };
        let result = (|| {
            let file_name = details
                .path
                .file_name()
                .ok_or_else(|| not_found("file name", details.path.display()))?;
            let target = free_name(&destination.path, file_name);
            std::fs::copy(&details.path, &target).map_err(io_error(&target))?;
            let meta = std::fs::metadata(&target).map_err(io_error(&target))?;
            let (size, mtime_ns, device, inode) = fingerprint(&meta);
            let thumb_state = match details.thumb_state.as_str() {
                "ready" => ThumbState::Ready,
                "none" => ThumbState::None,
                "error" => ThumbState::Error,
                _ => ThumbState::Pending,
            };
            let record = AssetRecord {
                folder: to,
                name_raw: photopro_index::os_bytes(target.file_name().expect("has a name"))
                    .to_vec(),
                kind: details.kind.clone(),
                size,
                mtime_ns,
                device,
                inode,
                content_hash: details.content_hash.clone(),
                sync_excluded: details.sync_excluded,
                media: MediaFields {
                    keywords: details.media.keywords.clone(),
                    ..details.media.clone()
                },
                thumb_state,
                media_error: details.media_error.clone(),
                read_error: details.read_error.clone(),
            };
            index.write_batch(|batch| batch.upsert_asset(&record, &folder_display))?;
            Ok(())
        })();
        outcome.record(&details.name, result);
    }
    Ok(outcome)
}

/// Move a folder (and everything in it) into another folder of its library.
pub fn move_folder(index: &mut Index, folder: FolderId, new_parent: FolderId) -> Result<PathBuf> {
    let moving = index.folder(folder)?;
    let parent = index.folder(new_parent)?;
    let leaf = moving
        .path
        .file_name()
        .ok_or_else(|| not_found("movable folder", moving.path.display()))?;
    let target = parent.path.join(leaf);
    if moving.parent == Some(new_parent) {
        return Ok(moving.path);
    }
    if target.exists() {
        return Err(not_found("free name in the destination", target.display()));
    }
    // Validate against the index before touching the disk (cycles, library roots).
    if moving.rel_path.is_empty()
        || parent.path.starts_with(&moving.path)
        || parent.library != moving.library
    {
        return Err(not_found(
            "destination outside the folder being moved",
            parent.path.display(),
        ));
    }
    std::fs::rename(&moving.path, &target).map_err(io_error(&moving.path))?;
    if let Err(error) = index.move_folder_in_index(folder, new_parent) {
        let _ = std::fs::rename(&target, &moving.path);
        return Err(error.into());
    }
    Ok(target)
}

/// Copy files from outside the library (a drop from Finder / Explorer) into a
/// folder. Only regular files are taken; the caller scans the library
/// afterwards so they are hashed, read and thumbnailed like any other file.
pub fn import_files(index: &Index, files: &[PathBuf], to: FolderId) -> Result<Outcome> {
    let destination = index.folder(to)?;
    let mut outcome = Outcome::default();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = (|| {
            if !file.is_file() {
                return Err(not_found(
                    "file (folders are imported by adding them as a library)",
                    file.display(),
                ));
            }
            let target = free_name(
                &destination.path,
                file.file_name().expect("files have names"),
            );
            std::fs::copy(file, &target).map_err(io_error(&target))?;
            Ok(())
        })();
        outcome.record(&name, result);
    }
    Ok(outcome)
}

fn trash_root(index: &Index, library: photopro_index::LibraryId) -> Result<PathBuf> {
    let root = index
        .libraries()?
        .into_iter()
        .find(|l| l.id == library)
        .ok_or_else(|| not_found("library", library))?
        .root;
    Ok(root.join(TRASH_DIR))
}

fn new_entry_dir(trash: &Path) -> Result<(String, PathBuf)> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    for n in 0u32.. {
        let id = format!("{millis:015}-{n:03}");
        let dir = trash.join(&id);
        match std::fs::create_dir_all(trash).and_then(|()| std::fs::create_dir(&dir)) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(LibraryError::Io { path: dir, source }),
        }
    }
    unreachable!("some entry id is free")
}

fn write_entry(dir: &Path, entry: &TrashEntry) -> Result<()> {
    let path = dir.join(ENTRY_FILE);
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(entry).expect("entries serialize"),
    )
    .map_err(io_error(&path))
}

fn tree_size(path: &Path) -> (u64, u64) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| tree_size(&e.path()))
                    .fold((0, 0), |(b, f), (b2, f2)| (b + b2, f + f2))
            })
            .unwrap_or((0, 0)),
        Ok(meta) => (meta.len(), 1),
        Err(_) => (0, 0),
    }
}

/// Move photos to the trash (restorable) and out of the index.
pub fn trash_assets(index: &mut Index, assets: &[AssetId]) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    for &asset in assets {
        let Some(details) = index.asset(asset)? else {
            outcome.record(&asset.to_string(), Err(not_found("photo", asset)));
            continue;
        };
        let result = (|| {
            let (id, dir) = new_entry_dir(&trash_root(index, details.library)?)?;
            let file_name = details
                .path
                .file_name()
                .ok_or_else(|| not_found("file name", details.path.display()))?;
            let entry = TrashEntry {
                id,
                original_path: details.path.clone(),
                kind: "file".into(),
                name: details.name.clone(),
                bytes: details.size,
                files: 1,
                trashed_at: unix_now(),
            };
            write_entry(&dir, &entry)?;
            if let Err(error) = move_path(&details.path, &dir.join(ITEM_DIR).join(file_name)) {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(error);
            }
            index.write_batch(|batch| batch.delete_asset(asset))?;
            Ok(entry.id)
        })();
        match result {
            Ok(id) => {
                outcome.done += 1;
                outcome.trash_ids.push(id);
            }
            Err(error) => outcome.failed.push(Failure {
                name: details.name.clone(),
                error: error.to_string(),
            }),
        }
    }
    Ok(outcome)
}

/// Move a folder with everything below it to the trash and out of the index.
pub fn trash_folder(index: &mut Index, folder: FolderId) -> Result<TrashEntry> {
    let info = index.folder(folder)?;
    if info.rel_path.is_empty() {
        return Err(not_found(
            "folder inside the library (remove a library in Settings)",
            info.path.display(),
        ));
    }
    let (id, dir) = new_entry_dir(&trash_root(index, info.library)?)?;
    let (bytes, files) = tree_size(&info.path);
    let entry = TrashEntry {
        id,
        original_path: info.path.clone(),
        kind: "folder".into(),
        name: info.name.clone(),
        bytes,
        files,
        trashed_at: unix_now(),
    };
    write_entry(&dir, &entry)?;
    let leaf = info.path.file_name().expect("non-root folders have names");
    let item = dir.join(ITEM_DIR);
    std::fs::create_dir_all(&item).map_err(io_error(&item))?;
    std::fs::rename(&info.path, item.join(leaf)).map_err(io_error(&info.path))?;
    index.write_batch(|batch| batch.delete_folder_tree(folder))?;
    Ok(entry)
}

/// Everything in the trash of every library, newest first.
pub fn list_trash(index: &Index) -> Result<Vec<TrashEntry>> {
    let mut entries = Vec::new();
    for library in index.libraries()? {
        let Ok(dirs) = std::fs::read_dir(library.root.join(TRASH_DIR)) else {
            continue;
        };
        for dir in dirs.flatten() {
            let path = dir.path().join(ENTRY_FILE);
            if let Ok(entry) = std::fs::read(&path)
                .map_err(|_| ())
                .and_then(|b| serde_json::from_slice(&b).map_err(|_| ()))
            {
                entries.push(entry);
            }
        }
    }
    entries.sort_by(|a: &TrashEntry, b| b.id.cmp(&a.id));
    Ok(entries)
}

fn find_entry(index: &Index, id: &str) -> Result<(TrashEntry, PathBuf)> {
    if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
        return Err(not_found("trash item", id));
    }
    for library in index.libraries()? {
        let dir = library.root.join(TRASH_DIR).join(id);
        if let Ok(bytes) = std::fs::read(dir.join(ENTRY_FILE)) {
            let entry: TrashEntry =
                serde_json::from_slice(&bytes).map_err(|e| LibraryError::BadConfig {
                    path: dir.join(ENTRY_FILE),
                    message: e.to_string(),
                })?;
            return Ok((entry, dir));
        }
    }
    Err(not_found("trash item", id))
}

/// Put a trashed item back where it was (with a free name if that is taken).
/// Returns where it went; scan its library to index it again.
pub fn restore_from_trash(index: &Index, id: &str) -> Result<PathBuf> {
    let (entry, dir) = find_entry(index, id)?;
    let name = entry
        .original_path
        .file_name()
        .ok_or_else(|| not_found("file name", entry.original_path.display()))?;
    let parent = entry
        .original_path
        .parent()
        .ok_or_else(|| not_found("parent folder", entry.original_path.display()))?;
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let target = free_name(parent, name);
    move_path(&dir.join(ITEM_DIR).join(name), &target)?;
    std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
    Ok(target)
}

/// Delete a trashed item for good.
pub fn delete_from_trash(index: &Index, id: &str) -> Result<()> {
    let (_, dir) = find_entry(index, id)?;
    std::fs::remove_dir_all(&dir).map_err(io_error(&dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{scan_library, ScanOptions};
    use crate::{Config, DataDirs};

    /// A real library on disk, scanned by the real scanner. The files are
    /// JPEG-named stand-ins: the scanner indexes them as photos with a media
    /// error, which is all these disk-and-index operations need.
    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
        index: Index,
        library: photopro_index::LibraryId,
        dirs: DataDirs,
    }

    fn fixture(layout: &[(&str, &[u8])]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Shoots");
        for (rel, bytes) in layout {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let dirs = DataDirs::resolve(Some(&dir.path().join("data"))).unwrap();
        let mut index = Index::open(&dirs.index_path()).unwrap();
        let library = index.add_library(&root).unwrap();
        let mut fixture = Fixture {
            _dir: dir,
            root,
            index,
            library,
            dirs,
        };
        fixture.rescan();
        fixture
    }

    impl Fixture {
        fn rescan(&mut self) -> crate::scan::ScanReport {
            let options = ScanOptions::new(&Config::default(), &self.dirs).unwrap();
            scan_library(&mut self.index, self.library, &options, &mut |_| {}).unwrap()
        }
        fn folder(&self, rel: &str) -> FolderId {
            self.index
                .folder_id(self.library, rel.as_bytes())
                .unwrap()
                .unwrap()
        }
        fn asset(&self, folder: &str, name: &str) -> AssetId {
            self.index
                .asset_by_name(self.folder(folder), name.as_bytes())
                .unwrap()
                .unwrap()
                .id
        }
    }

    const JPEG_ISH: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg";

    #[test]
    fn free_name_keeps_both_like_finder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            free_name(dir.path(), "a.jpg".as_ref()),
            dir.path().join("a.jpg")
        );
        std::fs::write(dir.path().join("a.jpg"), b"1").unwrap();
        std::fs::write(dir.path().join("a (2).jpg"), b"1").unwrap();
        assert_eq!(
            free_name(dir.path(), "a.jpg".as_ref()),
            dir.path().join("a (3).jpg")
        );
        std::fs::write(dir.path().join("README"), b"1").unwrap();
        assert_eq!(
            free_name(dir.path(), "README".as_ref()),
            dir.path().join("README (2)")
        );
    }

    #[test]
    fn moved_photos_change_folder_on_disk_and_in_the_index_and_a_rescan_sees_no_change() {
        let mut f = fixture(&[
            ("Smith/a.jpg", JPEG_ISH),
            ("Smith/b.jpg", JPEG_ISH),
            ("Jones/a.jpg", b"other"),
        ]);
        let a = f.asset("Smith", "a.jpg");
        let b = f.asset("Smith", "b.jpg");
        let jones = f.folder("Jones");
        let outcome = move_assets(&mut f.index, &[a, b], jones).unwrap();
        assert_eq!(
            outcome,
            Outcome {
                done: 2,
                ..Outcome::default()
            }
        );
        assert!(!f.root.join("Smith/a.jpg").exists());
        assert_eq!(
            std::fs::read(f.root.join("Jones/a.jpg")).unwrap(),
            b"other",
            "never overwrites"
        );
        assert_eq!(
            std::fs::read(f.root.join("Jones/a (2).jpg")).unwrap(),
            JPEG_ISH
        );
        assert_eq!(
            f.index.asset(a).unwrap().unwrap().path,
            f.root.join("Jones/a (2).jpg")
        );
        assert_eq!(f.index.asset(b).unwrap().unwrap().folder, jones);
        let report = f.rescan();
        assert_eq!(
            (report.processed, report.removed),
            (0, 0),
            "the index already matched the disk: {report:?}"
        );
        assert_eq!(f.asset("Jones", "a (2).jpg"), a, "ids survive the move");
    }

    #[test]
    fn copies_are_indexed_with_the_same_hash_and_a_rescan_agrees() {
        let mut f = fixture(&[("Smith/a.jpg", JPEG_ISH), ("Jones/x.jpg", b"x")]);
        let a = f.asset("Smith", "a.jpg");
        let jones = f.folder("Jones");
        let outcome = copy_assets(&mut f.index, &[a], jones).unwrap();
        assert_eq!(outcome.done, 1);
        let copy = f.index.asset(f.asset("Jones", "a.jpg")).unwrap().unwrap();
        assert_eq!(
            copy.content_hash,
            f.index.asset(a).unwrap().unwrap().content_hash
        );
        assert!(f.root.join("Smith/a.jpg").exists());
        let report = f.rescan();
        assert_eq!(report.processed, 0, "{report:?}");
    }

    #[test]
    fn folders_move_with_their_contents_and_cannot_move_into_themselves() {
        let mut f = fixture(&[
            ("Inbox/Smith/Kitchen/k.jpg", JPEG_ISH),
            ("2025/y.jpg", JPEG_ISH),
        ]);
        let smith = f.folder("Inbox/Smith");
        let kitchen = f.folder("Inbox/Smith/Kitchen");
        assert!(move_folder(&mut f.index, smith, kitchen).is_err());
        assert!(
            f.root.join("Inbox/Smith/Kitchen/k.jpg").exists(),
            "a refused move touches nothing"
        );
        let year = f.folder("2025");
        let target = move_folder(&mut f.index, smith, year).unwrap();
        assert_eq!(target, f.root.join("2025/Smith"));
        assert!(f.root.join("2025/Smith/Kitchen/k.jpg").exists());
        assert_eq!(f.folder("2025/Smith/Kitchen"), kitchen);
        let report = f.rescan();
        assert_eq!((report.processed, report.removed), (0, 0), "{report:?}");
    }

    #[test]
    fn trash_then_restore_brings_photos_and_folders_back_and_delete_is_final() {
        let mut f = fixture(&[
            ("Smith/a.jpg", JPEG_ISH),
            ("Jones/b.jpg", JPEG_ISH),
            ("Jones/c.jpg", JPEG_ISH),
        ]);
        let a = f.asset("Smith", "a.jpg");
        let trashed = trash_assets(&mut f.index, &[a]).unwrap();
        assert_eq!((trashed.done, trashed.trash_ids.len()), (1, 1));
        assert!(!f.root.join("Smith/a.jpg").exists());
        assert!(f.index.asset(a).unwrap().is_none());
        let jones = f.folder("Jones");
        let folder_entry = trash_folder(&mut f.index, jones).unwrap();
        assert_eq!(
            (folder_entry.files, folder_entry.kind.as_str()),
            (2, "folder")
        );
        assert!(f.index.folder_id(f.library, b"Jones").unwrap().is_none());
        assert_eq!(f.rescan().processed, 0, "the scanner skips the trash");

        let trash = list_trash(&f.index).unwrap();
        assert_eq!(trash.len(), 2);
        assert_eq!(trash[0].id, folder_entry.id, "newest first");
        std::fs::write(f.root.join("Smith/a.jpg"), b"a new file took the name").unwrap();
        let file_entry = trash.iter().find(|e| e.kind == "file").unwrap();
        assert_eq!(file_entry.id, trashed.trash_ids[0]);
        assert_eq!(
            restore_from_trash(&f.index, &file_entry.id).unwrap(),
            f.root.join("Smith/a (2).jpg")
        );
        assert_eq!(
            std::fs::read(f.root.join("Smith/a (2).jpg")).unwrap(),
            JPEG_ISH
        );
        restore_from_trash(&f.index, &folder_entry.id).unwrap();
        assert!(f.root.join("Jones/c.jpg").exists());
        f.rescan();
        assert!(f.index.folder_id(f.library, b"Jones").unwrap().is_some());
        assert!(list_trash(&f.index).unwrap().is_empty());

        let b = f.asset("Jones", "b.jpg");
        trash_assets(&mut f.index, &[b]).unwrap();
        let id = list_trash(&f.index).unwrap()[0].id.clone();
        delete_from_trash(&f.index, &id).unwrap();
        assert!(list_trash(&f.index).unwrap().is_empty());
        assert!(restore_from_trash(&f.index, &id).is_err());
        assert!(restore_from_trash(&f.index, "../../etc").is_err());
    }

    #[test]
    fn imports_copy_files_in_and_the_next_scan_indexes_them() {
        let mut f = fixture(&[("Smith/a.jpg", JPEG_ISH)]);
        let outside = tempfile::tempdir().unwrap();
        let dropped = outside.path().join("a.jpg");
        std::fs::write(&dropped, b"\xff\xd8\xff dropped").unwrap();
        let outcome = import_files(
            &f.index,
            &[dropped.clone(), outside.path().to_path_buf()],
            f.folder("Smith"),
        )
        .unwrap();
        assert_eq!(outcome.done, 1);
        assert_eq!(outcome.failed.len(), 1, "a folder is refused with a reason");
        assert!(
            dropped.exists(),
            "imports copy, never move the user's originals"
        );
        assert_eq!(f.rescan().processed, 1);
        f.asset("Smith", "a (2).jpg");
    }
}
