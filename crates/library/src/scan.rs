//! The scanner: walk library roots, compare with the index, read what changed.
//!
//! Three kinds of threads, connected by bounded channels so memory stays
//! bounded however large the tree:
//!
//! ```text
//! walkers (N, own read-only index connections) ──jobs──► media workers (M = cores)
//!      │  per-directory diff: unchanged / removed          │ hash + EXIF + thumbnails
//!      └────────────────────── events ──────────────────────┴──► writer (the caller's thread,
//!                                                                 the index's single writer,
//!                                                                 batched transactions)
//! ```
//!
//! The writer never sends on a bounded channel, so the pipeline cannot
//! deadlock: walkers wait for workers, workers wait for the writer, and the
//! writer only ever drains.

use crate::{Config, DataDirs, Filters, LibraryError, Result};
use crossbeam_channel::{bounded, Receiver, Sender};
use photopro_index::{
    bytes_to_path, join_rel, AssetId, AssetRecord, FolderId, Index, LibraryId, MediaFields,
    StoredFingerprint, ThumbState,
};
use photopro_media::{FileKind, MediaError, ThumbnailCache, ThumbnailOutcome, ThumbnailSpec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A callback run between reading a file and re-checking it; see [`ScanOptions::after_read_hook`].
pub type AfterReadHook = Arc<dyn Fn(&Path) + Send + Sync>;

/// How to scan.
#[derive(Clone)]
pub struct ScanOptions {
    pub filters: Filters,
    pub spec: ThumbnailSpec,
    pub cache: ThumbnailCache,
    /// Media workers (hash, EXIF, thumbnails).
    pub workers: usize,
    /// Directory walkers.
    pub walkers: usize,
    /// Rows per write transaction.
    pub batch_size: usize,
    /// Called after a file's bytes are read and before the scanner checks that
    /// the file did not change meanwhile. A test seam for "file changed or
    /// deleted while being read"; `None` in production.
    pub after_read_hook: Option<AfterReadHook>,
}

impl ScanOptions {
    pub fn new(config: &Config, dirs: &DataDirs) -> Result<ScanOptions> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(ScanOptions {
            filters: Filters::from_config(config)?,
            spec: ThumbnailSpec::default(),
            cache: ThumbnailCache::new(dirs.thumbnail_dir()),
            workers: if config.workers == 0 {
                cores
            } else {
                config.workers
            },
            walkers: cores.clamp(1, 4),
            batch_size: 500,
            after_read_hook: None,
        })
    }
}

/// Live counters, handed to the progress callback about ten times a second.
#[derive(Debug, Clone, Default)]
pub struct ScanProgress {
    pub directories: u64,
    pub files_seen: u64,
    pub unchanged: u64,
    pub queued: u64,
    pub queued_bytes: u64,
    pub processed: u64,
    pub processed_bytes: u64,
    pub removed: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// The walk has finished; `queued` is final.
    pub walk_done: bool,
}

/// What a finished scan did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScanReport {
    pub directories: u64,
    pub files_seen: u64,
    pub unchanged: u64,
    /// Files read (hashed, metadata, thumbnails) in this scan.
    pub processed: u64,
    pub processed_bytes: u64,
    pub thumbnails_rendered: u64,
    pub removed: u64,
    pub skipped: u64,
    pub errors: u64,
    pub elapsed_ms: u64,
}

#[derive(Default)]
struct Counters {
    directories: AtomicU64,
    files_seen: AtomicU64,
    unchanged: AtomicU64,
    queued: AtomicU64,
    queued_bytes: AtomicU64,
    skipped: AtomicU64,
}

/// The on-disk identity of a file at walk time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DiskFingerprint {
    size: u64,
    mtime_ns: i64,
    device: Option<u64>,
    inode: Option<u64>,
}

impl DiskFingerprint {
    fn of(meta: &std::fs::Metadata) -> DiskFingerprint {
        let mtime_ns = meta
            .modified()
            .ok()
            .map(|t| match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_nanos() as i64,
                Err(e) => -(e.duration().as_nanos() as i64),
            })
            .unwrap_or(0);
        let (device, inode) = file_identity(meta);
        DiskFingerprint {
            size: meta.len(),
            mtime_ns,
            device,
            inode,
        }
    }

    fn matches(&self, stored: &StoredFingerprint) -> bool {
        stored.complete
            && stored.size == self.size
            && stored.mtime_ns == self.mtime_ns
            && (stored.inode.is_none()
                || self.inode.is_none()
                || (stored.inode == self.inode && stored.device == self.device))
    }
}

#[cfg(unix)]
fn file_identity(meta: &std::fs::Metadata) -> (Option<u64>, Option<u64>) {
    use std::os::unix::fs::MetadataExt;
    (Some(meta.dev()), Some(meta.ino()))
}

#[cfg(not(unix))]
fn file_identity(_meta: &std::fs::Metadata) -> (Option<u64>, Option<u64>) {
    // Windows' file index needs an open handle; size + mtime carry change detection there.
    (None, None)
}

struct Job {
    folder_rel: Vec<u8>,
    name: Vec<u8>,
    kind: FileKind,
    disk: DiskFingerprint,
}

enum Event {
    /// A directory was listed: forget what vanished from it.
    Listed {
        rel: Vec<u8>,
        removed_assets: Vec<AssetId>,
        removed_folders: Vec<FolderId>,
    },
    /// A problem that belongs to no indexed file.
    WalkError { rel: Vec<u8>, error: String },
    /// A file was read (or failed to be read).
    File(Box<FileResult>),
}

struct FileResult {
    job: Job,
    outcome: std::result::Result<photopro_media::Analysis, MediaError>,
}

/// Scan one library root and bring the index up to date.
pub fn scan_library(
    index: &mut Index,
    library: LibraryId,
    options: &ScanOptions,
    progress: &mut dyn FnMut(&ScanProgress),
) -> Result<ScanReport> {
    let started = Instant::now();
    let root = index
        .libraries()?
        .into_iter()
        .find(|l| l.id == library)
        .map(|l| l.root)
        .ok_or_else(|| photopro_index::IndexError::NotFound {
            what: "library",
            name: library.to_string(),
        })?;
    if !root.is_dir() {
        return Err(LibraryError::NotADirectory(root));
    }
    index.mark_scan_started(library)?;

    let counters = Arc::new(Counters::default());
    let (job_tx, job_rx) = bounded::<Job>(options.workers * 4);
    let (event_tx, event_rx) = bounded::<Event>(1024);
    let queue = Arc::new(DirQueue::new(b"".to_vec()));
    let index_path = index.path().to_path_buf();

    let mut walkers = Vec::new();
    for _ in 0..options.walkers.max(1) {
        let walker = Walker {
            root: root.clone(),
            library,
            reader: Index::open_read_only(&index_path)?,
            filters: options.filters.clone(),
            queue: queue.clone(),
            counters: counters.clone(),
            jobs: job_tx.clone(),
            events: event_tx.clone(),
        };
        walkers.push(
            std::thread::Builder::new()
                .name("photopro-walk".into())
                .spawn(move || walker.run())
                .map_err(|e| LibraryError::Worker(e.to_string()))?,
        );
    }
    drop(job_tx);

    let mut workers = Vec::new();
    for _ in 0..options.workers.max(1) {
        let jobs = job_rx.clone();
        let events = event_tx.clone();
        let root = root.clone();
        let spec = options.spec;
        let cache = options.cache.clone();
        let hook = options.after_read_hook.clone();
        workers.push(
            std::thread::Builder::new()
                .name("photopro-media".into())
                .spawn(move || media_worker(root, jobs, events, spec, cache, hook))
                .map_err(|e| LibraryError::Worker(e.to_string()))?,
        );
    }
    drop(job_rx);
    drop(event_tx);

    let mut writer = Writer {
        library,
        options,
        folders: HashMap::new(),
        pending: Vec::new(),
        report: ScanReport::default(),
        processed_bytes: 0,
    };
    let mut last_progress = Instant::now() - Duration::from_secs(1);
    let result = loop {
        match event_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => {
                writer.pending.push(event);
                if writer.pending.len() >= options.batch_size {
                    if let Err(e) = writer.flush(index) {
                        break Err(e);
                    }
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if let Err(e) = writer.flush(index) {
                    break Err(e);
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break writer.flush(index),
        }
        if last_progress.elapsed() >= Duration::from_millis(100) {
            last_progress = Instant::now();
            progress(&writer.progress(&counters, started, queue.is_done()));
        }
    };
    // On a writer failure, stop feeding: dropping the receiver makes every
    // sender fail, so walkers and workers wind down instead of blocking.
    drop(event_rx);
    queue.abort();
    for handle in walkers.into_iter().chain(workers) {
        let _ = handle.join();
    }
    result?;
    index.mark_scan_finished(library)?;
    progress(&writer.progress(&counters, started, true));

    let mut report = writer.report;
    report.directories = counters.directories.load(Ordering::Relaxed);
    report.files_seen = counters.files_seen.load(Ordering::Relaxed);
    report.unchanged = counters.unchanged.load(Ordering::Relaxed);
    report.skipped = counters.skipped.load(Ordering::Relaxed);
    report.processed_bytes = writer.processed_bytes;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Scan every library in the index, one after another.
pub fn scan_all(
    index: &mut Index,
    options: &ScanOptions,
    progress: &mut dyn FnMut(&ScanProgress),
) -> Result<Vec<(PathBuf, Result<ScanReport>)>> {
    let mut out = Vec::new();
    for library in index.libraries()? {
        let result = scan_library(index, library.id, options, progress);
        out.push((library.root, result));
    }
    Ok(out)
}

/// A shared stack of directories to list, with termination detection: the
/// walk is over when the stack is empty and no walker is mid-directory.
struct DirQueue {
    state: Mutex<(Vec<Vec<u8>>, usize, bool)>,
    ready: Condvar,
}

impl DirQueue {
    fn new(first: Vec<u8>) -> DirQueue {
        DirQueue {
            state: Mutex::new((vec![first], 0, false)),
            ready: Condvar::new(),
        }
    }

    fn push(&self, dirs: Vec<Vec<u8>>) {
        if dirs.is_empty() {
            return;
        }
        let mut state = self.state.lock().unwrap();
        state.0.extend(dirs);
        self.ready.notify_all();
    }

    /// The next directory, or `None` when the walk is complete.
    fn pop(&self) -> Option<Vec<u8>> {
        let mut state = self.state.lock().unwrap();
        loop {
            if state.2 {
                return None;
            }
            if let Some(dir) = state.0.pop() {
                state.1 += 1;
                return Some(dir);
            }
            if state.1 == 0 {
                state.2 = true;
                self.ready.notify_all();
                return None;
            }
            state = self.ready.wait(state).unwrap();
        }
    }

    fn finished_one(&self) {
        let mut state = self.state.lock().unwrap();
        state.1 -= 1;
        if state.1 == 0 && state.0.is_empty() {
            self.ready.notify_all();
        }
    }

    fn abort(&self) {
        let mut state = self.state.lock().unwrap();
        state.2 = true;
        self.ready.notify_all();
    }

    fn is_done(&self) -> bool {
        let state = self.state.lock().unwrap();
        state.2 || (state.0.is_empty() && state.1 == 0)
    }
}

struct Walker {
    root: PathBuf,
    library: LibraryId,
    reader: Index,
    filters: Filters,
    queue: Arc<DirQueue>,
    counters: Arc<Counters>,
    jobs: Sender<Job>,
    events: Sender<Event>,
}

impl Walker {
    fn run(self) {
        while let Some(rel) = self.queue.pop() {
            let keep_going = self.list(rel);
            self.queue.finished_one();
            if !keep_going {
                self.queue.abort();
                return;
            }
        }
    }

    /// List one directory and diff it against the index. Returns false when
    /// the writer has gone away and the walk should stop.
    fn list(&self, rel: Vec<u8>) -> bool {
        self.counters.directories.fetch_add(1, Ordering::Relaxed);
        let dir = join_rel(&self.root, &rel);
        let child_rel = |name: &[u8]| {
            let mut child = rel.clone();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(name);
            child
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                // An unreadable directory is reported, and what the index knows
                // under it is kept: it may well still be there.
                let error = format!("cannot list folder: {error}");
                return self.events.send(Event::WalkError { rel, error }).is_ok();
            }
        };
        let folder = self.reader.folder_id(self.library, &rel).ok().flatten();
        let mut known: HashMap<Vec<u8>, StoredFingerprint> = match folder {
            Some(id) => self
                .reader
                .folder_fingerprints(id)
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.name.clone(), f))
                .collect(),
            None => HashMap::new(),
        };
        let mut known_children: HashMap<Vec<u8>, FolderId> = match folder {
            Some(id) => self
                .reader
                .child_folders(id)
                .unwrap_or_default()
                .into_iter()
                .map(|(id, name)| (name, id))
                .collect(),
            None => HashMap::new(),
        };
        let mut subdirs = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    let error = format!("cannot read folder entry: {error}");
                    if self
                        .events
                        .send(Event::WalkError {
                            rel: rel.clone(),
                            error,
                        })
                        .is_err()
                    {
                        return false;
                    }
                    continue;
                }
            };
            let name_os = entry.file_name();
            let name = photopro_index::os_bytes(&name_os).to_vec();
            if self.filters.skips(&name) {
                // Left in `known` / `known_children`, so a name indexed before a
                // new pattern started skipping it leaves the index.
                self.counters.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(error) => {
                    let error = format!("cannot stat: {error}");
                    if self
                        .events
                        .send(Event::WalkError {
                            rel: child_rel(&name),
                            error,
                        })
                        .is_err()
                    {
                        return false;
                    }
                    continue;
                }
            };
            if file_type.is_symlink() {
                // Links are not followed (a sync would duplicate or escape the
                // library). A link that cannot even be resolved is worth telling.
                self.counters.skipped.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = std::fs::metadata(entry.path()) {
                    let error = if error.raw_os_error() == Some(40) {
                        "symbolic link loop (not followed)".to_string()
                    } else {
                        format!("broken symbolic link (not followed): {error}")
                    };
                    if self
                        .events
                        .send(Event::WalkError {
                            rel: child_rel(&name),
                            error,
                        })
                        .is_err()
                    {
                        return false;
                    }
                }
                continue;
            }
            if file_type.is_dir() {
                known_children.remove(&name);
                subdirs.push(child_rel(&name));
                continue;
            }
            if !file_type.is_file() {
                // FIFOs, sockets, devices: nothing to index, and opening a FIFO would block.
                self.counters.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.counters.files_seen.fetch_add(1, Ordering::Relaxed);
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(error) => {
                    let error = format!("vanished or unreadable while scanning: {error}");
                    if self
                        .events
                        .send(Event::WalkError {
                            rel: child_rel(&name),
                            error,
                        })
                        .is_err()
                    {
                        return false;
                    }
                    continue;
                }
            };
            let disk = DiskFingerprint::of(&meta);
            if let Some(stored) = known.remove(&name) {
                if disk.matches(&stored) {
                    self.counters.unchanged.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            self.counters.queued.fetch_add(1, Ordering::Relaxed);
            self.counters
                .queued_bytes
                .fetch_add(disk.size, Ordering::Relaxed);
            let kind = FileKind::from_name(&name);
            if self
                .jobs
                .send(Job {
                    folder_rel: rel.clone(),
                    name,
                    kind,
                    disk,
                })
                .is_err()
            {
                return false;
            }
        }
        self.queue.push(subdirs);
        let removed_assets: Vec<AssetId> = known.into_values().map(|f| f.id).collect();
        let removed_folders: Vec<FolderId> = known_children.into_values().collect();
        self.events
            .send(Event::Listed {
                rel,
                removed_assets,
                removed_folders,
            })
            .is_ok()
    }
}

fn media_worker(
    root: PathBuf,
    jobs: Receiver<Job>,
    events: Sender<Event>,
    spec: ThumbnailSpec,
    cache: ThumbnailCache,
    hook: Option<AfterReadHook>,
) {
    for job in jobs {
        let mut path = join_rel(&root, &job.folder_rel);
        path.push(bytes_to_path(&job.name));
        let outcome = match &hook {
            Some(hook) => {
                photopro_media::analyze_file_with_hook(&path, job.kind, &spec, &cache, &mut |p| {
                    hook(p)
                })
            }
            None => photopro_media::analyze_file(&path, job.kind, &spec, &cache),
        };
        if events
            .send(Event::File(Box::new(FileResult { job, outcome })))
            .is_err()
        {
            return;
        }
    }
}

struct Writer<'a> {
    library: LibraryId,
    options: &'a ScanOptions,
    /// Folder ids by relative path (folders are few next to files).
    folders: HashMap<Vec<u8>, FolderId>,
    pending: Vec<Event>,
    report: ScanReport,
    processed_bytes: u64,
}

impl Writer<'_> {
    fn progress(&self, counters: &Counters, started: Instant, walk_done: bool) -> ScanProgress {
        ScanProgress {
            directories: counters.directories.load(Ordering::Relaxed),
            files_seen: counters.files_seen.load(Ordering::Relaxed),
            unchanged: counters.unchanged.load(Ordering::Relaxed),
            queued: counters.queued.load(Ordering::Relaxed),
            queued_bytes: counters.queued_bytes.load(Ordering::Relaxed),
            processed: self.report.processed,
            processed_bytes: self.processed_bytes,
            removed: self.report.removed,
            errors: self.report.errors,
            elapsed: started.elapsed(),
            walk_done,
        }
    }

    fn flush(&mut self, index: &mut Index) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.pending);
        let library = self.library;
        let folders = &mut self.folders;
        let report = &mut self.report;
        let processed_bytes = &mut self.processed_bytes;
        let filters = &self.options.filters;
        index.write_batch(|batch| {
            let folder_id = |batch: &mut photopro_index::Batch<'_>,
                             folders: &mut HashMap<Vec<u8>, FolderId>,
                             rel: &[u8]|
             -> photopro_index::Result<FolderId> {
                if let Some(id) = folders.get(rel) {
                    return Ok(*id);
                }
                let id = batch.ensure_folder(library, rel)?;
                folders.insert(rel.to_vec(), id);
                Ok(id)
            };
            for event in events {
                match event {
                    Event::Listed {
                        rel,
                        removed_assets,
                        removed_folders,
                    } => {
                        folder_id(batch, folders, &rel)?;
                        for id in removed_assets {
                            batch.delete_asset(id)?;
                            report.removed += 1;
                        }
                        for id in removed_folders {
                            report.removed += batch.delete_folder_tree(id)?;
                            folders.retain(|_, v| *v != id);
                        }
                    }
                    Event::WalkError { rel, error } => {
                        report.errors += 1;
                        batch.record_scan_error(library, &rel, &error)?;
                    }
                    Event::File(result) => {
                        let FileResult { job, outcome } = *result;
                        let folder = folder_id(batch, folders, &job.folder_rel)?;
                        let folder_display = String::from_utf8_lossy(&job.folder_rel).into_owned();
                        let sync_excluded = filters.sync_excluded(&job.name, job.kind);
                        let mut record = AssetRecord {
                            folder,
                            name_raw: job.name.clone(),
                            kind: job.kind.as_str().to_string(),
                            size: job.disk.size,
                            mtime_ns: job.disk.mtime_ns,
                            device: job.disk.device,
                            inode: job.disk.inode,
                            content_hash: None,
                            sync_excluded,
                            media: MediaFields::default(),
                            thumb_state: ThumbState::Pending,
                            media_error: None,
                            read_error: None,
                        };
                        match outcome {
                            Ok(analysis) => {
                                report.processed += 1;
                                *processed_bytes += analysis.size;
                                if analysis.thumbnail == ThumbnailOutcome::Stored {
                                    report.thumbnails_rendered += 1;
                                }
                                record.size = analysis.size;
                                record.content_hash = Some(analysis.content_hash.to_hex());
                                record.thumb_state = match analysis.thumbnail {
                                    ThumbnailOutcome::Stored | ThumbnailOutcome::AlreadyCached => {
                                        ThumbState::Ready
                                    }
                                    ThumbnailOutcome::NotAvailable => ThumbState::None,
                                    ThumbnailOutcome::Failed(_) => ThumbState::Error,
                                };
                                if analysis.media_error.is_some() {
                                    report.errors += 1;
                                }
                                record.media_error = analysis.media_error;
                                record.media = media_fields(analysis.metadata, analysis.pixel_size);
                            }
                            Err(MediaError::Io { source, .. })
                                if source.kind() == std::io::ErrorKind::NotFound =>
                            {
                                // Deleted between the walk and the read: it is gone, so it
                                // leaves the index, and the user learns why it flickered.
                                report.errors += 1;
                                let mut rel = job.folder_rel.clone();
                                if !rel.is_empty() {
                                    rel.push(b'/');
                                }
                                rel.extend_from_slice(&job.name);
                                batch.record_scan_error(
                                    library,
                                    &rel,
                                    "deleted while the scan was reading it",
                                )?;
                                if let Some(id) = batch.asset_id(folder, &job.name)? {
                                    batch.delete_asset(id)?;
                                }
                                continue;
                            }
                            Err(error) => {
                                // Unreadable or changing: still indexed (so it can still be
                                // synced once readable), without a hash, with the reason.
                                report.errors += 1;
                                record.read_error = Some(error.to_string());
                            }
                        }
                        batch.upsert_asset(&record, &folder_display)?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(())
    }
}

fn media_fields(m: photopro_media::PhotoMetadata, pixel_size: Option<(u32, u32)>) -> MediaFields {
    MediaFields {
        taken_at_local: m.taken_at_local,
        utc_offset_minutes: m.utc_offset_minutes,
        taken_at_utc: m.taken_at_utc,
        make: m.make,
        model: m.model,
        lens: m.lens,
        focal_length_mm: m.focal_length_mm,
        iso: m.iso,
        exposure: m.exposure,
        f_number: m.f_number,
        orientation: Some(m.orientation),
        width: pixel_size.map(|s| s.0),
        height: pixel_size.map(|s| s.1),
        latitude: m.gps.map(|g| g.latitude),
        longitude: m.gps.map(|g| g.longitude),
        altitude: m.gps.and_then(|g| g.altitude),
        relative_altitude: m.relative_altitude,
        rating: m.rating,
        keywords: m.keywords,
    }
}
