//! The real local side: a sync folder on disk.
//!
//! Ids are file ids ([`crate::platform::file_id`]: the inode on Linux and
//! macOS, the NTFS file index on Windows). Writes land atomically (temp file
//! in the same folder, then a no-clobber rename,
//! [`crate::platform::rename_no_replace`]), so a reader never sees half a photo and an
//! existing file is never overwritten unless the engine asked to replace that
//! exact version. Deletions move files to an app trash folder, with a note of
//! where each came from, so `photopro trash restore` can put them back.
//!
//! A file modified less than `settle` ago is reported without a hash
//! ("unsettled"): the planner leaves it alone until it stops changing, so an
//! export or a card copy in progress is never uploaded half-written. A JPEG
//! must also be complete — end with its end-of-image marker (FF D9, trailing
//! padding allowed) — since a writer may pause longer than the settle time;
//! one that stays incomplete and unchanged for [`INCOMPLETE_JPEG_BOUND`] is
//! synced anyway, with a warning (some cameras append other trailing bytes).
//! Whether the writer still holds the file open is not checked: Linux has no
//! cheap way to tell.

use crate::model::*;
use crate::{platform, LocalFs, SyncError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Names the engine itself writes and never syncs.
pub const TEMP_PREFIX: &str = ".photopro-";

/// How long an incomplete JPEG must stay unchanged before it is synced anyway.
pub const INCOMPLETE_JPEG_BOUND: Duration = Duration::from_secs(600);

/// Does this file look like a JPEG still being written? Only files that
/// start like a JPEG (FF D8 FF) and do not end with the end-of-image marker
/// FF D9 (after any 00/FF padding) count; anything else is not judged.
pub fn jpeg_unfinished(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 3];
    if file.read_exact(&mut head).is_err() || head != [0xFF, 0xD8, 0xFF] {
        return false;
    }
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return false;
    };
    let tail_len = len.min(4096);
    let mut tail = vec![0u8; tail_len as usize];
    if file.seek(SeekFrom::End(-(tail_len as i64))).is_err() || file.read_exact(&mut tail).is_err()
    {
        return false;
    }
    while tail.len() > 2 && matches!(tail.last(), Some(0x00)) {
        tail.pop();
    }
    !tail.ends_with(&[0xFF, 0xD9])
}

fn is_jpeg_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".jpg") || lower.ends_with(".jpeg") || lower.ends_with(".jpe")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Fingerprint {
    inode: u64,
    size: u64,
    mtime_ns: i64,
}

/// A hash as the cache keeps it: 32 bytes for the usual 64-hex-digit hashes
/// (a third of the memory of the text, which matters at a million files).
#[derive(Debug, Clone, PartialEq, Eq)]
enum StoredHash {
    Binary([u8; 32]),
    Text(Box<str>),
}

impl StoredHash {
    fn pack(hash: &str) -> StoredHash {
        let mut bytes = [0u8; 32];
        match hex::decode_to_slice(hash, &mut bytes) {
            Ok(()) if hash.bytes().all(|b| !b.is_ascii_uppercase()) => StoredHash::Binary(bytes),
            _ => StoredHash::Text(hash.into()),
        }
    }

    fn unpack(&self) -> Hash {
        match self {
            StoredHash::Binary(bytes) => hex::encode(bytes),
            StoredHash::Text(text) => text.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct CachedHash {
    size: u64,
    mtime_ns: i64,
    hash: StoredHash,
}

/// A trashed file and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SyncTrashEntry"))]
pub struct TrashEntry {
    pub id: String,
    pub original: String,
    pub trashed_at: i64,
}

pub struct DiskFs {
    root: PathBuf,
    trash_dir: PathBuf,
    settle: Duration,
    paths: HashMap<LocalId, PathBuf>,
    /// What each file's content hashed to, by inode, valid while its size and
    /// modification time are unchanged.
    hashes: HashMap<u64, CachedHash>,
    /// Inodes whose cache entry changed since [`DiskFs::take_hash_changes`].
    dirty: std::collections::HashSet<u64>,
    skip: Box<dyn Fn(&str) -> bool + Send>,
    hash_kind: HashKind,
    /// Names that could not be synced (not UTF-8), reported to the user.
    pub skipped: Vec<PathBuf>,
    /// Files seen still changing in the last snapshot (left for a later pass).
    pub unsettled: usize,
    /// When the first of those will have been quiet for the settle time, if
    /// nothing touches it again: the moment to look again.
    pub settles_in: Option<Duration>,
    /// Settled files of the current walk whose content is not known yet:
    /// (position in the snapshot, fingerprint, path).
    to_hash: Vec<(usize, Fingerprint, PathBuf)>,
    /// JPEGs of the last snapshot waiting to be finished by their writer
    /// (paths below the root): "waiting for NAME to finish writing".
    pub waiting_for: Vec<String>,
    /// Files synced although they looked unfinished (after
    /// [`INCOMPLETE_JPEG_BOUND`] unchanged), for the user to check.
    pub warnings: Vec<String>,
    /// Files dated in the future: when each fingerprint was first seen, so
    /// "unchanged for the settle time" is measured by observation instead.
    first_seen: HashMap<u64, (Fingerprint, SystemTime)>,
}

fn io(error: std::io::Error, what: &Path) -> SyncError {
    match error.kind() {
        std::io::ErrorKind::AlreadyExists => {
            SyncError::Precondition(format!("{} already exists", what.display()))
        }
        std::io::ErrorKind::NotFound => {
            SyncError::Precondition(format!("{} vanished", what.display()))
        }
        _ => SyncError::Io(format!("{}: {error}", what.display())),
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    platform::mtime_ns(meta)
}

/// The file's identity ([`platform::file_id`]): its [`LocalId`].
fn file_id(path: &Path, meta: &std::fs::Metadata) -> Result<LocalId, SyncError> {
    platform::file_id(path, meta).map_err(|e| io(e, path))
}

/// Which content hash identifies a file: each remote compares its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// Dropbox's block `content_hash` (also the library index's hash).
    ContentHash,
    /// Plain SHA-256, which S3-compatible stores verify on upload (PhotoProOS Storage).
    Sha256,
}

impl HashKind {
    pub fn of_bytes(self, bytes: &[u8]) -> Hash {
        match self {
            HashKind::ContentHash => photopro_media::content_hash(bytes).to_hex(),
            HashKind::Sha256 => {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(bytes))
            }
        }
    }

    fn of_file(self, path: &Path) -> Result<Hash, SyncError> {
        let mut file = std::fs::File::open(path).map_err(|e| io(e, path))?;
        match self {
            HashKind::ContentHash => Ok(photopro_media::hash::content_hash_reader(file)
                .map_err(|e| io(e, path))?
                .to_hex()),
            HashKind::Sha256 => {
                use sha2::Digest;
                let mut hasher = sha2::Sha256::new();
                std::io::copy(&mut file, &mut hasher).map_err(|e| io(e, path))?;
                Ok(hex::encode(hasher.finalize()))
            }
        }
    }
}

impl DiskFs {
    pub fn new(root: impl Into<PathBuf>, trash_dir: impl Into<PathBuf>) -> DiskFs {
        DiskFs {
            root: root.into(),
            trash_dir: trash_dir.into(),
            settle: Duration::from_secs(2),
            paths: HashMap::new(),
            hashes: HashMap::new(),
            skip: Box::new(|_| false),
            hash_kind: HashKind::ContentHash,
            skipped: Vec::new(),
            unsettled: 0,
            settles_in: None,
            to_hash: Vec::new(),
            dirty: Default::default(),
            waiting_for: Vec::new(),
            warnings: Vec::new(),
            first_seen: HashMap::new(),
        }
    }

    /// The hash the remote compares (see [`HashKind`]).
    pub fn with_hash(mut self, kind: HashKind) -> Self {
        self.hash_kind = kind;
        self
    }

    /// How long a file must stay unchanged before it is synced.
    pub fn with_settle_time(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Names to leave out of sync entirely (OS litter, partial downloads).
    pub fn with_skip(mut self, skip: impl Fn(&str) -> bool + Send + 'static) -> Self {
        self.skip = Box::new(skip);
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How long a file must stay unchanged before it is synced.
    pub fn settle_time(&self) -> Duration {
        self.settle
    }

    fn dir_path(&self, parent: Option<LocalId>) -> Result<PathBuf, SyncError> {
        match parent {
            None => Ok(self.root.clone()),
            Some(id) => self.path_of(id),
        }
    }

    /// The current path of an id, checking the inode is still the one observed.
    fn path_of(&self, id: LocalId) -> Result<PathBuf, SyncError> {
        let path = self
            .paths
            .get(&id)
            .ok_or_else(|| SyncError::Precondition(format!("#{id} not observed")))?;
        let meta = std::fs::symlink_metadata(path).map_err(|e| io(e, path))?;
        if file_id(path, &meta)? != id {
            return Err(SyncError::Precondition(format!(
                "{} was replaced",
                path.display()
            )));
        }
        Ok(path.clone())
    }

    fn temp_path(&self, dir: &Path) -> PathBuf {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        dir.join(format!("{TEMP_PREFIX}{}-{n}.tmp", std::process::id()))
    }

    fn write_temp(&self, dir: &Path, bytes: &[u8]) -> Result<PathBuf, SyncError> {
        use std::io::Write;
        let temp = self.temp_path(dir);
        let mut file = std::fs::File::create(&temp).map_err(|e| io(e, &temp))?;
        file.write_all(bytes)
            .and_then(|_| file.sync_all())
            .map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                io(e, &temp)
            })?;
        Ok(temp)
    }

    fn walk(
        &mut self,
        dir: &Path,
        parent: Option<LocalId>,
        now: SystemTime,
        out: &mut Vec<LocalNode>,
    ) -> Result<(), SyncError> {
        let entries = std::fs::read_dir(dir).map_err(|e| io(e, dir))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(e, dir))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                self.skipped.push(path);
                continue;
            };
            if name.starts_with(TEMP_PREFIX) || (self.skip)(&name) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.is_dir() && !meta.is_file() {
                continue;
            }
            let Ok(id) = platform::file_id(&path, &meta) else {
                continue;
            };
            if meta.is_dir() {
                self.paths.insert(id, path.clone());
                out.push(LocalNode {
                    id,
                    parent,
                    name,
                    kind: Kind::Dir,
                    hash: None,
                    size: 0,
                });
                self.walk(&path, Some(id), now, out)?;
            } else if meta.is_file() {
                let fingerprint = Fingerprint {
                    inode: id,
                    size: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                };
                let modified = meta.modified().unwrap_or(now);
                let age = match now.duration_since(modified) {
                    Ok(age) => age,
                    // Dated in the future (a camera clock set wrong): measure
                    // how long it has been unchanged by watching it instead.
                    Err(_) => {
                        let seen = self.first_seen.entry(id).or_insert((fingerprint, now));
                        if seen.0 != fingerprint {
                            *seen = (fingerprint, now);
                        }
                        now.duration_since(seen.1).unwrap_or(Duration::ZERO)
                    }
                };
                let settled = age >= self.settle;
                let cached = self.cached(&fingerprint);
                let unfinished = cached.is_none()
                    && settled
                    && meta.len() > 0
                    && is_jpeg_name(&name)
                    && jpeg_unfinished(&path);
                if unfinished && age >= INCOMPLETE_JPEG_BOUND {
                    self.warnings.push(format!(
                        "{}: synced although it does not end like a complete JPEG (unchanged for {} min)",
                        path.display(),
                        INCOMPLETE_JPEG_BOUND.as_secs() / 60
                    ));
                }
                // Content we know (the engine wrote it, or hashed it unchanged
                // before) needs no settling; unknown content must stop changing first.
                let hash = if let Some(hash) = cached {
                    Some(hash)
                } else if !settled {
                    self.unsettled += 1;
                    let wait = self.settle - age;
                    self.settles_in = Some(self.settles_in.map_or(wait, |w| w.min(wait)));
                    None
                } else if unfinished && age < INCOMPLETE_JPEG_BOUND {
                    // Its writer paused (longer than the settle time): wait for
                    // the rest, looking again every settle period.
                    self.unsettled += 1;
                    let relative = path.strip_prefix(&self.root).unwrap_or(&path);
                    self.waiting_for.push(relative.display().to_string());
                    let wait = self.settle.max(Duration::from_millis(500));
                    self.settles_in = Some(self.settles_in.map_or(wait, |w| w.min(wait)));
                    None
                } else {
                    // Hashed after the walk, several files at once.
                    self.to_hash.push((out.len(), fingerprint, path.clone()));
                    None
                };
                self.paths.insert(id, path);
                out.push(LocalNode {
                    id,
                    parent,
                    name,
                    kind: Kind::File,
                    hash,
                    size: meta.len(),
                });
            }
        }
        Ok(())
    }

    /// Drop the id → path map, needed only from a snapshot to the end of its
    /// pass (an idle daemon keeps only the hash cache).
    pub fn release_pass_memory(&mut self) {
        self.paths = HashMap::new();
    }

    /// Hashes remembered from an earlier run (the index's `sync_file_hashes`):
    /// a restart does not read every photo again.
    pub fn remember_hashes(&mut self, rows: impl IntoIterator<Item = photopro_index::FileHashRow>) {
        for row in rows {
            self.hashes.insert(
                row.inode,
                CachedHash {
                    size: row.size,
                    mtime_ns: row.mtime_ns,
                    hash: StoredHash::pack(&row.hash),
                },
            );
        }
    }

    /// What changed in the hash cache since last asked: rows to store and
    /// inodes to forget. `None` when nothing changed.
    pub fn take_hash_changes(&mut self) -> Option<(Vec<photopro_index::FileHashRow>, Vec<u64>)> {
        if self.dirty.is_empty() {
            return None;
        }
        let (mut upserts, mut deletes) = (Vec::new(), Vec::new());
        for inode in std::mem::take(&mut self.dirty) {
            match self.hashes.get(&inode) {
                Some(c) => upserts.push(photopro_index::FileHashRow {
                    inode,
                    size: c.size,
                    mtime_ns: c.mtime_ns,
                    hash: c.hash.unpack(),
                }),
                None => deletes.push(inode),
            }
        }
        Some((upserts, deletes))
    }

    fn cached(&self, f: &Fingerprint) -> Option<Hash> {
        self.hashes
            .get(&f.inode)
            .filter(|c| c.size == f.size && c.mtime_ns == f.mtime_ns)
            .map(|c| c.hash.unpack())
    }

    fn cache(&mut self, f: Fingerprint, hash: StoredHash) {
        self.hashes.insert(
            f.inode,
            CachedHash {
                size: f.size,
                mtime_ns: f.mtime_ns,
                hash,
            },
        );
        self.dirty.insert(f.inode);
    }

    /// The name of this file system's hash kind, for remembering hashes.
    pub fn hash_kind_name(&self) -> &'static str {
        match self.hash_kind {
            HashKind::ContentHash => "content_hash",
            HashKind::Sha256 => "sha256",
        }
    }

    /// Hash the files the walk found new or changed, on every core: a new
    /// shoot of 1,000 photos is hashed at disk speed, not at one core's.
    fn hash_new_files(&mut self, nodes: &mut [LocalNode]) {
        let jobs = std::mem::take(&mut self.to_hash);
        if jobs.is_empty() {
            return;
        }
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(jobs.len())
            .min(8);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let kind = self.hash_kind;
        let results: Vec<(usize, Fingerprint, Hash)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        while let Some((at, fingerprint, path)) =
                            jobs.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                        {
                            // Unreadable right now: left without a hash (unsettled) rather than guessed.
                            if let Ok(hash) = kind.of_file(path) {
                                done.push((*at, *fingerprint, hash));
                            }
                        }
                        done
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        for (at, fingerprint, hash) in results {
            self.cache(fingerprint, StoredHash::pack(&hash));
            nodes[at].hash = Some(hash);
        }
    }

    /// Move one file into the app trash with a note of where it came from.
    pub fn trash_path(&self, path: &Path) -> Result<TrashEntry, SyncError> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| io(e, path))?;
        let id = file_id(path, &meta)?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let entry_id = format!("{now}-{id}");
        let entry_dir = self.trash_dir.join(&entry_id);
        std::fs::create_dir_all(&entry_dir).map_err(|e| io(e, &entry_dir))?;
        // '/'-separated on every platform, so an entry reads the same everywhere.
        let original = path
            .strip_prefix(&self.root)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let entry = TrashEntry {
            id: entry_id,
            original,
            trashed_at: now,
        };
        std::fs::write(
            entry_dir.join("entry.json"),
            serde_json::to_vec_pretty(&entry).expect("serializes"),
        )
        .map_err(|e| io(e, &entry_dir))?;
        let name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let target = entry_dir.join(name);
        if std::fs::rename(path, &target).is_err() {
            // Another file system: copy, then remove the original.
            std::fs::copy(path, &target).map_err(|e| io(e, &target))?;
            std::fs::remove_file(path).map_err(|e| io(e, path))?;
        }
        Ok(entry)
    }

    /// Everything in the app trash, newest first.
    pub fn trash_entries(&self) -> Vec<TrashEntry> {
        let mut entries: Vec<TrashEntry> = std::fs::read_dir(&self.trash_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("entry.json")).ok())
            .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
            .collect();
        entries.sort_by(|a, b| b.trashed_at.cmp(&a.trashed_at).then(b.id.cmp(&a.id)));
        entries
    }

    /// Put a trashed file back where it was (or next to it if the name is taken now).
    pub fn restore(&self, id: &str) -> Result<PathBuf, SyncError> {
        let entry_dir = self.trash_dir.join(id);
        let entry: TrashEntry = std::fs::read(entry_dir.join("entry.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| SyncError::NotFound(format!("trash entry {id}")))?;
        let parts: Vec<&str> = entry
            .original
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        if parts.contains(&"..") {
            return Err(SyncError::Precondition(format!(
                "trash entry {id} points outside the sync folder ({})",
                entry.original
            )));
        }
        let file_name = parts.last().copied().unwrap_or("restored");
        let mut target = parts.iter().fold(self.root.clone(), |path, p| path.join(p));
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        }
        let trashed = entry_dir.join(file_name);
        // Never over a file that took the name meanwhile: next to it instead.
        loop {
            if target.exists() {
                let name =
                    crate::names::unique_name(file_name, |n| target.with_file_name(n).exists());
                target = target.with_file_name(name);
            }
            match rename_no_clobber(&trashed, &target) {
                Err(SyncError::Precondition(_)) if trashed.exists() && target.exists() => continue,
                other => other?,
            }
            break;
        }
        let _ = std::fs::remove_dir_all(&entry_dir);
        Ok(target)
    }
}

/// `rename` that refuses to replace an existing target ([`platform::rename_no_replace`]).
fn rename_no_clobber(from: &Path, to: &Path) -> Result<(), SyncError> {
    platform::rename_no_replace(from, to).map_err(|e| io(e, to))
}

impl LocalFs for DiskFs {
    fn snapshot(&mut self) -> Result<LocalTree, SyncError> {
        std::fs::create_dir_all(&self.root).map_err(|e| io(e, &self.root))?;
        self.paths.clear();
        self.skipped.clear();
        self.unsettled = 0;
        self.settles_in = None;
        self.waiting_for.clear();
        self.warnings.clear();
        let mut nodes = Vec::new();
        let root = self.root.clone();
        self.to_hash.clear();
        self.walk(&root, None, SystemTime::now(), &mut nodes)?;
        self.hash_new_files(&mut nodes);
        // Forget hashes of files that no longer exist, so the cache stays bounded.
        let live: std::collections::HashSet<u64> = nodes.iter().map(|n| n.id).collect();
        let gone: Vec<u64> = self
            .hashes
            .keys()
            .filter(|inode| !live.contains(inode))
            .copied()
            .collect();
        for inode in gone {
            self.hashes.remove(&inode);
            self.dirty.insert(inode);
        }
        self.first_seen.retain(|inode, _| live.contains(inode));
        Ok(LocalTree::from_nodes(nodes))
    }

    fn read(&mut self, id: LocalId, hash: &Hash) -> Result<Vec<u8>, SyncError> {
        let path = self.path_of(id)?;
        let bytes = std::fs::read(&path).map_err(|e| io(e, &path))?;
        if &self.hash_kind.of_bytes(&bytes) != hash {
            return Err(SyncError::Precondition(format!(
                "{} changed since it was observed",
                path.display()
            )));
        }
        Ok(bytes)
    }

    fn create_dir(&mut self, parent: Option<LocalId>, name: &str) -> Result<LocalId, SyncError> {
        let path = self.dir_path(parent)?.join(name);
        std::fs::create_dir(&path).map_err(|e| io(e, &path))?;
        let meta = std::fs::metadata(&path).map_err(|e| io(e, &path))?;
        let id = file_id(&path, &meta)?;
        self.paths.insert(id, path);
        Ok(id)
    }

    fn write_new_file(
        &mut self,
        parent: Option<LocalId>,
        name: &str,
        bytes: &[u8],
        hash: &Hash,
    ) -> Result<LocalId, SyncError> {
        let dir = self.dir_path(parent)?;
        let target = dir.join(name);
        let temp = self.write_temp(&dir, bytes)?;
        if let Err(e) = rename_no_clobber(&temp, &target) {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        let meta = std::fs::metadata(&target).map_err(|e| io(e, &target))?;
        let id = file_id(&target, &meta)?;
        self.cache(
            Fingerprint {
                inode: id,
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
            },
            StoredHash::pack(hash),
        );
        self.paths.insert(id, target);
        Ok(id)
    }

    fn replace_file(
        &mut self,
        id: LocalId,
        expected: &Hash,
        bytes: &[u8],
        hash: &Hash,
    ) -> Result<LocalId, SyncError> {
        let path = self.path_of(id)?;
        if &self.hash_kind.of_file(&path)? != expected {
            return Err(SyncError::Precondition(format!(
                "{} changed since it was observed",
                path.display()
            )));
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let temp = self.write_temp(&dir, bytes)?;
        // Replacing is the point here (std's rename replaces on every platform).
        if let Err(e) = std::fs::rename(&temp, &path) {
            let _ = std::fs::remove_file(&temp);
            return Err(io(e, &path));
        }
        let meta = std::fs::metadata(&path).map_err(|e| io(e, &path))?;
        let id = file_id(&path, &meta)?;
        self.cache(
            Fingerprint {
                inode: id,
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
            },
            StoredHash::pack(hash),
        );
        self.paths.insert(id, path);
        Ok(id)
    }

    fn rename(
        &mut self,
        id: LocalId,
        parent: Option<LocalId>,
        name: &str,
    ) -> Result<(), SyncError> {
        let from = self.path_of(id)?;
        let to = self.dir_path(parent)?.join(name);
        rename_no_clobber(&from, &to)?;
        // Children of a moved folder moved with it; the next snapshot re-learns their paths.
        self.paths.insert(id, to);
        Ok(())
    }

    fn modified(&mut self, id: LocalId) -> Option<i64> {
        let meta = std::fs::metadata(self.path_of(id).ok()?).ok()?;
        Some(mtime_ns(&meta).div_euclid(1_000_000))
    }

    fn set_modified(&mut self, id: LocalId, unix_ms: i64) -> Result<(), SyncError> {
        let path = self.path_of(id)?;
        let before = std::fs::metadata(&path).map_err(|e| io(e, &path))?;
        let known = self.cached(&Fingerprint {
            inode: id,
            size: before.len(),
            mtime_ns: mtime_ns(&before),
        });
        let when = if unix_ms >= 0 {
            SystemTime::UNIX_EPOCH + Duration::from_millis(unix_ms as u64)
        } else {
            SystemTime::UNIX_EPOCH - Duration::from_millis(unix_ms.unsigned_abs())
        };
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .map_err(|e| io(e, &path))?;
        file.set_modified(when).map_err(|e| io(e, &path))?;
        // The content is still the one the engine wrote: keep knowing its hash.
        let after = std::fs::metadata(&path).map_err(|e| io(e, &path))?;
        if let Some(hash) = known {
            self.cache(
                Fingerprint {
                    inode: id,
                    size: after.len(),
                    mtime_ns: mtime_ns(&after),
                },
                StoredHash::pack(&hash),
            );
        }
        Ok(())
    }

    fn trash(&mut self, id: LocalId, hash: Option<&Hash>) -> Result<(), SyncError> {
        let path = self.path_of(id)?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io(e, &path))?;
        if meta.is_dir() {
            // Only empty folders are removed; there is nothing in them to keep.
            return std::fs::remove_dir(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::DirectoryNotEmpty => {
                    SyncError::Precondition(format!("{} is not empty", path.display()))
                }
                _ => io(e, &path),
            });
        }
        if Some(&self.hash_kind.of_file(&path)?) != hash {
            return Err(SyncError::Precondition(format!(
                "{} changed since it was observed",
                path.display()
            )));
        }
        self.trash_path(&path)?;
        self.paths.remove(&id);
        Ok(())
    }
}

#[cfg(test)]
mod remembered_hash_tests {
    use super::*;
    use crate::LocalFs;

    #[test]
    fn remembered_hashes_spare_rereading_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Sync");
        std::fs::create_dir_all(&root).unwrap();
        let photo = root.join("IMG_1.jpg");
        std::fs::write(&photo, b"photo bytes").unwrap();
        let earlier = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&photo)
            .unwrap()
            .set_modified(earlier)
            .unwrap();

        let mut first = DiskFs::new(&root, dir.path().join("trash")).with_hash(HashKind::Sha256);
        first.snapshot().unwrap();
        let (rows, gone) = first.take_hash_changes().expect("new hashes to remember");
        assert_eq!((rows.len(), gone.len()), (1, 0));
        assert!(first.take_hash_changes().is_none(), "nothing changed since");

        // A restart that remembers: the stored hash is taken as is (proved by
        // remembering a deliberately wrong one), without reading the file.
        let mut wrong = rows.clone();
        wrong[0].hash = "remembered".into();
        let mut second = DiskFs::new(&root, dir.path().join("trash")).with_hash(HashKind::Sha256);
        second.remember_hashes(wrong);
        let tree = second.snapshot().unwrap();
        assert_eq!(
            tree.nodes.values().next().unwrap().hash.as_deref(),
            Some("remembered")
        );

        // Once the file changes (new mtime), it is read and hashed again.
        std::fs::write(&photo, b"edited photo bytes").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&photo)
            .unwrap()
            .set_modified(earlier + Duration::from_secs(1))
            .unwrap();
        let tree = second.snapshot().unwrap();
        assert_eq!(
            tree.nodes.values().next().unwrap().hash.as_deref(),
            Some(HashKind::Sha256.of_bytes(b"edited photo bytes").as_str())
        );
        let (rows, _) = second
            .take_hash_changes()
            .expect("the new hash to remember");
        assert_eq!(rows.len(), 1, "one row per file, not per version");

        // A deleted file is forgotten.
        std::fs::remove_file(&photo).unwrap();
        second.snapshot().unwrap();
        assert_eq!(
            second.take_hash_changes(),
            Some((vec![], vec![rows[0].inode]))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::jpeg_unfinished;

    #[test]
    fn a_jpeg_is_finished_at_its_end_of_image_marker() {
        let dir = tempfile::tempdir().unwrap();
        let check = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            jpeg_unfinished(&path)
        };
        let mut complete = vec![0xFF, 0xD8, 0xFF, 0xE0];
        complete.extend(std::iter::repeat_n(0x55, 10_000));
        complete.extend([0xFF, 0xD9]);
        assert!(!check("complete.jpg", &complete));
        assert!(check("truncated.jpg", &complete[..6_000]));
        let mut padded = complete.clone();
        padded.extend([0u8; 100]);
        assert!(!check("padded.jpg", &padded));
        // Not a JPEG at all (whatever its name): not judged.
        assert!(!check("notes.jpg", b"plain text"));
        assert!(!check("empty.jpg", b""));
    }
}

#[cfg(test)]
mod trash_tests {
    use super::*;

    #[test]
    fn a_restore_lands_beside_a_file_that_took_the_name_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Sync");
        std::fs::create_dir_all(root.join("Smith Wedding")).unwrap();
        let photo = root.join("Smith Wedding/IMG_1.jpg");
        std::fs::write(&photo, b"first").unwrap();
        let fs = DiskFs::new(&root, dir.path().join("trash"));
        let entry = fs.trash_path(&photo).unwrap();
        // The same text on every platform: '/' between folders.
        assert_eq!(entry.original, "Smith Wedding/IMG_1.jpg");
        assert!(!photo.exists());
        std::fs::write(&photo, b"second").unwrap();
        let restored = fs.restore(&entry.id).unwrap();
        assert_ne!(restored, photo);
        assert_eq!(restored.parent(), photo.parent());
        assert_eq!(std::fs::read(&photo).unwrap(), b"second", "not replaced");
        assert_eq!(std::fs::read(&restored).unwrap(), b"first");
        assert!(fs.trash_entries().is_empty());
    }
}
