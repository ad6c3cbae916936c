//! The sync daemon: one background thread that keeps a sync folder and
//! PhotoProOS Storage in agreement, for the CLI's `photopro sync` and the
//! desktop app alike.
//!
//! It runs a pass ([`Engine::sync_once`]) when the folder changes (debounced),
//! when another device changed something (the API's change cursor moved,
//! polled cheaply), when a file that was still being written has settled,
//! periodically as a safety net, and when asked. Between passes it sleeps.
//! Everything it does is published as [`ServiceEvent`]s and as a [`Status`]
//! snapshot with transfer progress and ETA; a [`SyncHandle`] pauses, resumes,
//! approves held-back deletions, changes bandwidth limits and stops it.

use crate::disk::{DiskFs, HashKind};
use crate::engine::{backoff, Clock, Engine, EngineConfig, IndexStore, SyncReport};
use crate::http::HttpRemote;
use crate::progress::{Meter, Progress};
use crate::watch::{FolderWatch, Wake, Waker};
use crate::SyncError;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the daemon registers PhotoProOS Storage among the index's remotes.
pub const REMOTE_NAME: &str = "photoproos-storage";
pub const REMOTE_KIND: &str = "photopro";

/// The sync folder is changing: forget what was agreed for the old one (read
/// against another folder, it would look like every file was deleted, and
/// approving that would trash everything remotely). Returns how many pairs
/// were forgotten; the next pass links identical files again, transferring
/// nothing for content that matches.
pub fn forget_synced_state(index: &mut photopro_index::Index) -> Result<u64, SyncError> {
    let store = |e: photopro_index::IndexError| SyncError::Store(e.to_string());
    let remote = index.ensure_remote(REMOTE_NAME, REMOTE_KIND).map_err(store)?;
    index.clear_sync_base(remote).map_err(store)
}

/// The wall clock and real sleeps.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        now_unix()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration)
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Everything the daemon needs; the CLI and the app fill it from their settings.
pub struct ServiceConfig {
    pub folder: PathBuf,
    pub api_url: String,
    pub token: String,
    /// The library index holding the merge base (`sync_base`).
    pub index_path: PathBuf,
    /// The app trash for files deleted by sync (restorable).
    pub trash_dir: PathBuf,
    /// Journal of multipart uploads in flight (resume after restarts).
    pub resume_dir: PathBuf,
    pub device_name: String,
    /// Names never synced, on either side (OS litter, partial downloads, RAW
    /// when excluded…): neither uploaded, downloaded nor deleted.
    pub skip: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    /// A file must be unchanged this long before it is uploaded.
    pub settle: Duration,
    /// Quiet time after a burst of file-system events before a pass.
    pub debounce: Duration,
    /// A full pass at least this often, events or not.
    pub periodic: Duration,
    /// How often to ask the API whether another device changed something.
    pub remote_poll: Duration,
    /// Bandwidth limits in bytes per second, 0 = unlimited.
    pub upload_limit: u64,
    pub download_limit: u64,
    /// Files transferred at once.
    pub parallel: usize,
    /// Mass-deletion guard (see [`EngineConfig`]).
    pub max_deletions: usize,
    pub max_deletion_ratio: f64,
    /// Start paused (the user paused before quitting).
    pub paused: bool,
    /// Run one pass (waiting up to `once_wait` for files still being written)
    /// and stop, instead of watching.
    pub once: bool,
    pub once_wait: Duration,
}

impl ServiceConfig {
    pub fn new(folder: PathBuf, api_url: String, token: String, index_path: PathBuf, state_dir: PathBuf, device_name: String) -> Self {
        ServiceConfig {
            folder,
            api_url,
            token,
            index_path,
            trash_dir: state_dir.join("sync-trash"),
            resume_dir: state_dir.join("uploads-in-flight"),
            device_name,
            skip: Arc::new(|_| false),
            settle: Duration::from_secs(2),
            debounce: Duration::from_millis(500),
            periodic: Duration::from_secs(300),
            remote_poll: Duration::from_secs(15),
            upload_limit: 0,
            download_limit: 0,
            parallel: 8,
            max_deletions: 50,
            max_deletion_ratio: 0.2,
            paused: false,
            once: false,
            once_wait: Duration::from_secs(60),
        }
    }
}

/// What the daemon is doing, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Starting,
    Syncing,
    UpToDate,
    /// Files are still being written; they sync once they stop changing.
    Waiting,
    Paused,
    /// The API cannot be reached; retrying with backoff.
    Offline,
    /// An upload was refused for lack of space: files stay local until space appears.
    StorageFull,
    /// The mass-deletion guard holds deletions back until the user approves.
    AwaitingApproval,
    Error,
    Stopped,
}

/// A snapshot of the daemon for the tray, the status bar and the CLI.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub phase: Phase,
    /// One plain-language line ("Uploading 12 files — 2 min left").
    pub summary: String,
    pub progress: Progress,
    pub last_report: Option<PassSummary>,
    pub last_synced_at: Option<i64>,
    pub last_error: Option<String>,
    /// Files still being written (held back).
    pub unsettled: usize,
    /// The last pass stopped uploading because the storage is full.
    pub storage_full: bool,
    pub deletions_awaiting_approval: usize,
    /// Why live watching is off, if it is (periodic passes only).
    pub watch_degraded: Option<String>,
    /// Names that cannot be synced (not valid UTF-8).
    pub skipped: Vec<String>,
    pub folder: String,
}

/// The counts of one finished pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassSummary {
    pub uploads: usize,
    pub uploaded_bytes: u64,
    pub downloads: usize,
    pub downloaded_bytes: u64,
    pub moves: usize,
    pub deletions: usize,
    pub conflicts: usize,
    pub retryable_failures: usize,
    /// Folders (paths below the sync folder) and how many files were uploaded
    /// into each: "Smith Wedding finished uploading".
    pub uploaded_folders: Vec<(String, usize)>,
}

impl PassSummary {
    /// Add a later pass's work (the latest pass decides what is left to retry).
    pub fn merge(&mut self, later: &PassSummary) {
        self.uploads += later.uploads;
        self.uploaded_bytes += later.uploaded_bytes;
        self.downloads += later.downloads;
        self.downloaded_bytes += later.downloaded_bytes;
        self.moves += later.moves;
        self.deletions += later.deletions;
        self.conflicts += later.conflicts;
        self.retryable_failures = later.retryable_failures;
        self.uploaded_folders.extend(later.uploaded_folders.iter().cloned());
    }
}

impl From<&SyncReport> for PassSummary {
    fn from(r: &SyncReport) -> Self {
        PassSummary {
            uploads: r.uploads,
            uploaded_bytes: r.uploaded_bytes,
            downloads: r.downloads,
            downloaded_bytes: r.downloaded_bytes,
            moves: r.moves,
            deletions: r.deletions,
            conflicts: r.conflicts,
            retryable_failures: r.retryable_failures,
            uploaded_folders: r.uploaded_folders.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }
}

/// What listeners hear.
#[allow(clippy::large_enum_variant)] // one event at a time, passed by reference
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServiceEvent {
    /// The status changed (also sent about twice a second while transferring).
    Status(Status),
    /// A pass ended with this work done.
    PassFinished(PassSummary),
}

struct Shared {
    status: Mutex<Status>,
    paused: AtomicBool,
    stop: Arc<AtomicBool>,
    approve: AtomicBool,
    meter: Meter,
    waker: Mutex<Option<Waker>>,
    listener: Box<dyn Fn(&ServiceEvent) + Send + Sync>,
}

impl Shared {
    fn update(&self, change: impl FnOnce(&mut Status)) {
        let snapshot = {
            let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
            change(&mut status);
            status.progress = self.meter.snapshot();
            status.summary = summary_line(&status);
            status.clone()
        };
        (self.listener)(&ServiceEvent::Status(snapshot));
    }

    fn wake(&self) {
        if let Some(waker) = self.waker.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            waker.wake();
        }
    }
}

/// Control of a running daemon. Dropping it stops the daemon.
pub struct SyncHandle {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<Result<(), SyncError>>>,
}

impl SyncHandle {
    pub fn status(&self) -> Status {
        let mut status = self.shared.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        status.progress = self.shared.meter.snapshot();
        status.summary = summary_line(&status);
        status
    }

    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
        self.shared.wake();
    }

    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
        self.shared.wake();
    }

    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    /// Run a pass now.
    pub fn sync_now(&self) {
        self.shared.wake();
    }

    /// Carry out the deletions the mass-deletion guard held back, next pass.
    pub fn approve_deletions(&self) {
        self.shared.approve.store(true, Ordering::SeqCst);
        self.shared.wake();
    }

    /// Bandwidth limits in bytes per second (0 = unlimited), at once.
    pub fn set_limits(&self, upload: u64, download: u64) {
        self.shared.meter.set_limits(upload, download);
    }

    /// Whether the daemon thread has ended (a `once` run finished, or it failed to start).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stop after the current transfer step and wait for the thread.
    pub fn stop(mut self) -> Result<(), SyncError> {
        self.shutdown()
    }

    /// Wait for a `once` run to end.
    pub fn join(self) -> Result<(), SyncError> {
        self.finish().1
    }

    /// Wait for a `once` run to end; its last status and its outcome.
    pub fn finish(mut self) -> (Status, Result<(), SyncError>) {
        let outcome = match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| Err(SyncError::Io("the sync thread panicked".into()))),
            None => Ok(()),
        };
        (self.status(), outcome)
    }

    fn shutdown(&mut self) -> Result<(), SyncError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake();
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| Err(SyncError::Io("the sync thread panicked".into()))),
            None => Ok(()),
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn format_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// "2 min left", "about 1 h 10 min left", "a few seconds left".
pub fn eta_words(seconds: u64) -> String {
    match seconds {
        0..=9 => "a few seconds left".into(),
        10..=59 => format!("{seconds} s left"),
        60..=3599 => format!("{} min left", seconds.div_ceil(60)),
        _ => format!("about {} h {} min left", seconds / 3600, (seconds % 3600) / 60),
    }
}

fn summary_line(status: &Status) -> String {
    let p = &status.progress;
    match status.phase {
        Phase::Starting => "Starting…".into(),
        Phase::Syncing if p.files_total > p.files_done => {
            let left = p.files_total - p.files_done;
            let mut line = format!(
                "Syncing {left} file{} — {} of {}",
                if left == 1 { "" } else { "s" },
                format_bytes(p.bytes_done),
                format_bytes(p.bytes_total)
            );
            if let Some(eta) = p.eta_seconds.filter(|_| p.bytes_per_second > 0.0) {
                line.push_str(&format!(", {}/s, {}", format_bytes(p.bytes_per_second as u64), eta_words(eta)));
            }
            line
        }
        Phase::Syncing => "Syncing…".into(),
        Phase::UpToDate => "Up to date".into(),
        Phase::Waiting => format!(
            "Waiting for {} file{} still being written",
            status.unsettled,
            if status.unsettled == 1 { "" } else { "s" }
        ),
        Phase::Paused => "Paused".into(),
        Phase::Offline => "Offline — will retry".into(),
        Phase::StorageFull => "Storage full — files stay on this computer. Upgrade to keep syncing.".into(),
        Phase::AwaitingApproval => format!(
            "Holding back {} deletions — confirm to carry them out",
            status.deletions_awaiting_approval
        ),
        Phase::Error => format!("Sync error: {}", status.last_error.as_deref().unwrap_or("unknown")),
        Phase::Stopped => "Stopped".into(),
    }
}

/// Start the daemon on its own thread. `listener` hears every event (from
/// that thread, or the progress ticker's); keep it quick.
pub fn start(config: ServiceConfig, listener: impl Fn(&ServiceEvent) + Send + Sync + 'static) -> SyncHandle {
    let meter = Meter::new();
    meter.set_limits(config.upload_limit, config.download_limit);
    let status = Status {
        phase: Phase::Starting,
        summary: String::new(),
        progress: Progress::default(),
        last_report: None,
        last_synced_at: None,
        last_error: None,
        unsettled: 0,
        storage_full: false,
        deletions_awaiting_approval: 0,
        watch_degraded: None,
        skipped: Vec::new(),
        folder: config.folder.display().to_string(),
    };
    let shared = Arc::new(Shared {
        status: Mutex::new(status),
        paused: AtomicBool::new(config.paused),
        stop: Arc::new(AtomicBool::new(false)),
        approve: AtomicBool::new(false),
        meter,
        waker: Mutex::new(None),
        listener: Box::new(listener),
    });
    let for_thread = shared.clone();
    let thread = std::thread::Builder::new()
        .name("photopro-sync".into())
        .spawn(move || {
            let result = run(config, &for_thread);
            let error = result.as_ref().err().map(|e| e.to_string());
            for_thread.update(|s| {
                s.phase = if error.is_some() { Phase::Error } else { Phase::Stopped };
                if error.is_some() {
                    s.last_error = error;
                }
            });
            result
        })
        .expect("spawning the sync thread");
    SyncHandle { shared, thread: Some(thread) }
}

fn run(config: ServiceConfig, shared: &Shared) -> Result<(), SyncError> {
    let skip = config.skip.clone();
    let mut fs = DiskFs::new(&config.folder, &config.trash_dir)
        .with_hash(HashKind::Sha256)
        .with_settle_time(config.settle)
        .with_skip(move |name| skip(name));
    let mut remote = HttpRemote::new(&config.api_url, &config.token)?
        .with_resume_dir(&config.resume_dir)
        .with_meter(shared.meter.clone())
        .with_parallelism(config.parallel, 4);
    let mut index = photopro_index::Index::open(&config.index_path).map_err(|e| SyncError::Store(e.to_string()))?;
    let remote_key = index.ensure_remote(REMOTE_NAME, REMOTE_KIND).map_err(|e| SyncError::Store(e.to_string()))?;
    let remembered = index.sync_file_hashes(fs.hash_kind_name()).map_err(|e| SyncError::Store(e.to_string()))?;
    fs.remember_hashes(remembered);
    std::fs::create_dir_all(&config.folder).map_err(|e| SyncError::Io(format!("{}: {e}", config.folder.display())))?;
    let mut watch = (!config.once).then(|| FolderWatch::new(&config.folder, config.debounce, config.periodic));
    if let Some(watch) = &watch {
        *shared.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(watch.waker());
        shared.update(|s| s.watch_degraded = watch.degraded.clone());
    }

    let mut cursor: Option<String> = None;
    let mut offline_attempts = 0u32;
    let mut once_waited = Duration::ZERO;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        // When to ask the API whether another device changed something, and
        // when a pass is due regardless (a file settles, a retry, offline backoff).
        let mut poll_at: Option<Instant> = Some(Instant::now() + config.remote_poll);
        let mut pass_at: Option<Instant> = None;
        let mut run_pass = true;
        if shared.paused.load(Ordering::SeqCst) {
            shared.update(|s| s.phase = Phase::Paused);
            run_pass = false;
            poll_at = None;
        }
        if run_pass {
            shared.update(|s| s.phase = Phase::Syncing);
            let outcome = pass(&config, shared, &mut fs, &mut remote, &mut index, remote_key);
            fs.release_pass_memory();
            remote.release_pass_memory();
            if let Some((upserts, deletes)) = fs.take_hash_changes() {
                // Best effort: losing this only costs re-reading files after a restart.
                if let Err(error) = index.update_sync_file_hashes(fs.hash_kind_name(), &upserts, &deletes) {
                    shared.update(|s| s.last_error = Some(format!("remembering file hashes: {error}")));
                }
            }
            let _ = index.release_memory();
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim only returns free heap pages to the OS.
            unsafe {
                // The trees of a pass over a large library are freed; give the pages back.
                libc::malloc_trim(0);
            }
            match outcome {
                Ok(report) => {
                    offline_attempts = 0;
                    let summary = PassSummary::from(&report);
                    let converged = report.converged;
                    shared.update(|s| {
                        s.unsettled = fs.unsettled;
                        s.skipped = fs.skipped.iter().map(|p| p.display().to_string()).collect();
                        s.deletions_awaiting_approval = report.deletions_awaiting_approval;
                        s.storage_full = report.storage_full;
                        s.last_report = Some(summary.clone());
                        s.last_error = None;
                        s.phase = if report.storage_full {
                            Phase::StorageFull
                        } else if report.deletions_awaiting_approval > 0 {
                            Phase::AwaitingApproval
                        } else if fs.unsettled > 0 {
                            Phase::Waiting
                        } else if converged {
                            s.last_synced_at = Some(now_unix());
                            Phase::UpToDate
                        } else {
                            Phase::Syncing
                        };
                    });
                    // After the state: listeners see the new phase when the pass is reported.
                    (shared.listener)(&ServiceEvent::PassFinished(summary));
                    if !converged && report.retryable_failures > 0 {
                        // Some operations failed and will be retried; come back soon.
                        pass_at = Some(Instant::now() + backoff(0, None, now_unix() as u64));
                    }
                    if let Some(settles_in) = fs.settles_in {
                        // Look again the moment the youngest file has settled.
                        let at = Instant::now() + settles_in + Duration::from_millis(50);
                        pass_at = Some(pass_at.map_or(at, |n| n.min(at)));
                    }
                    cursor = remote.latest_cursor().ok();
                    if config.once {
                        let waiting = fs.settles_in.is_some() && once_waited < config.once_wait;
                        if converged && waiting {
                            let wait = fs.settles_in.unwrap_or_default() + Duration::from_millis(50);
                            std::thread::sleep(wait);
                            once_waited += wait;
                            continue;
                        }
                        return Ok(());
                    }
                }
                Err(SyncError::Unavailable(message)) => {
                    if config.once {
                        return Err(SyncError::Unavailable(message));
                    }
                    let wait = backoff(offline_attempts, None, now_unix() as u64).min(Duration::from_secs(60));
                    offline_attempts += 1;
                    shared.update(|s| {
                        s.phase = Phase::Offline;
                        s.last_error = Some(message.clone());
                    });
                    pass_at = Some(Instant::now() + wait);
                    poll_at = None;
                    cursor = None;
                }
                Err(error) => {
                    if config.once {
                        return Err(error);
                    }
                    shared.update(|s| {
                        s.phase = Phase::Error;
                        s.last_error = Some(error.to_string());
                    });
                    pass_at = Some(Instant::now() + Duration::from_secs(30));
                }
            }
        }
        // Sleep until something calls for a pass.
        let Some(watch) = watch.as_mut() else { return Ok(()) };
        loop {
            let deadline = match (poll_at, pass_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match watch.wait_until(deadline) {
                Wake::Changed | Wake::Asked => break,
                Wake::Periodic => {
                    // The safety net also re-lists the remote instead of trusting the journal.
                    remote.force_full_listing();
                    break;
                }
                Wake::Deadline => {
                    if shared.paused.load(Ordering::SeqCst) {
                        (poll_at, pass_at) = (None, None);
                        continue;
                    }
                    if pass_at.is_some_and(|at| Instant::now() >= at) {
                        break;
                    }
                    // The remote poll: pass only when another device changed something.
                    match (&cursor, remote.latest_cursor()) {
                        (Some(before), Ok(now)) if *before == now => {
                            poll_at = Some(Instant::now() + config.remote_poll);
                            continue;
                        }
                        _ => break,
                    }
                }
            }
        }
    }
}

/// One engine pass, with a ticker publishing progress while it runs.
fn pass(
    config: &ServiceConfig,
    shared: &Shared,
    fs: &mut DiskFs,
    remote: &mut HttpRemote,
    index: &mut photopro_index::Index,
    remote_key: photopro_index::RemoteKey,
) -> Result<SyncReport, SyncError> {
    let mut engine_config = EngineConfig::new(config.device_name.clone());
    engine_config.max_deletions = config.max_deletions;
    engine_config.max_deletion_ratio = config.max_deletion_ratio;
    let skip = config.skip.clone();
    let mut engine = Engine::new(engine_config, IndexStore::new(index, remote_key), SystemClock)?
        .with_meter(shared.meter.clone())
        .with_ignore(std::sync::Arc::new(move |name: &str| skip(name)))
        .with_cancel(shared.stop.clone());
    if shared.approve.swap(false, Ordering::SeqCst) {
        engine.approve_deletions();
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let ticker = scope.spawn(|| {
            let mut last: Option<Progress> = None;
            while !done.load(Ordering::SeqCst) {
                std::thread::park_timeout(Duration::from_millis(500));
                let now = shared.meter.snapshot();
                if last.as_ref() != Some(&now) && !done.load(Ordering::SeqCst) {
                    shared.update(|_| {});
                    last = Some(now);
                }
            }
        });
        let result = engine.sync_once(fs, remote);
        done.store(true, Ordering::SeqCst);
        // Do not wait out the ticker's half second: the next step may be due now.
        ticker.thread().unpark();
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_reads_like_a_person_wrote_it() {
        assert_eq!(eta_words(3), "a few seconds left");
        assert_eq!(eta_words(42), "42 s left");
        assert_eq!(eta_words(61), "2 min left");
        assert_eq!(eta_words(3600 + 600), "about 1 h 10 min left");
    }

    #[test]
    fn the_summary_line_names_files_bytes_and_time_left() {
        let mut status = Status {
            phase: Phase::Syncing,
            summary: String::new(),
            progress: Progress {
                files_total: 12,
                files_done: 2,
                bytes_total: 60 << 20,
                bytes_done: 10 << 20,
                bytes_per_second: 5.0 * (1 << 20) as f64,
                eta_seconds: Some(10),
                in_flight: vec![],
            },
            last_report: None,
            last_synced_at: None,
            last_error: None,
            unsettled: 0,
            storage_full: false,
            deletions_awaiting_approval: 0,
            watch_degraded: None,
            skipped: vec![],
            folder: "/Sync".into(),
        };
        assert_eq!(summary_line(&status), "Syncing 10 files — 10.0 MB of 60.0 MB, 5.0 MB/s, 10 s left");
        status.phase = Phase::StorageFull;
        assert!(summary_line(&status).contains("Upgrade"));
    }
}
