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
use crate::engine::{
    backoff, CannotSync, Clock, Engine, EngineConfig, HeldFiles, IndexStore, SyncReport,
};
use crate::http::HttpRemote;
use crate::progress::{Meter, Progress};
use crate::watch::{FolderWatch, Wake, Waker};
use crate::SyncError;
use photopro_wire::units::{format_bytes, format_rate};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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
    let remote = index
        .ensure_remote(REMOTE_NAME, REMOTE_KIND)
        .map_err(store)?;
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
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
    /// While the storage is full: how often to ask the API whether room
    /// appeared (a raised cap or space freed elsewhere), which the change
    /// journal does not show.
    pub storage_full_poll: Duration,
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
    pub fn new(
        folder: PathBuf,
        api_url: String,
        token: String,
        index_path: PathBuf,
        state_dir: PathBuf,
        device_name: String,
    ) -> Self {
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
            storage_full_poll: Duration::from_secs(3),
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

/// Where sync keeps its state for the library in `dirs`: beside the index
/// (the lock, the control socket, multipart journals).
pub fn state_dir(dirs: &photopro_library::DataDirs) -> PathBuf {
    let index = dirs.index_path();
    index
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

/// The sync trash, shared by the daemon, `photopro trash` and the app.
pub fn trash_dir(dirs: &photopro_library::DataDirs) -> PathBuf {
    state_dir(dirs).join("sync-trash")
}

/// A bandwidth setting in KiB/s (`None` = unlimited) in bytes per second (0 = unlimited).
pub fn limit_bytes(kib: Option<u32>) -> u64 {
    kib.map_or(0, |k| k as u64 * 1024)
}

/// This device's identity (shared with `photopro`): its id and the name it
/// signs conflicted copies with — the name chosen at pairing, else the host
/// name with a suffix of the id.
pub fn device(
    dirs: &photopro_library::DataDirs,
    settings: &photopro_library::AppSettings,
) -> Result<crate::device::DeviceIdentity, SyncError> {
    crate::device::DeviceIdentity::load_or_create(
        &crate::device::DeviceIdentity::path_for(&dirs.config_path()),
        settings.device_name.as_deref(),
    )
}

/// The daemon's configuration from the library's settings, the API address,
/// the token and this device's identity — the one way `photopro sync` and
/// the app both build it.
pub fn service_config(
    dirs: &photopro_library::DataDirs,
    config: &photopro_library::Config,
    settings: &photopro_library::AppSettings,
    api_url: String,
    token: String,
) -> Result<ServiceConfig, SyncError> {
    let device = device(dirs, settings)?;
    ServiceConfig::from_settings(dirs, config, settings, api_url, token, &device)
}

impl ServiceConfig {
    /// The daemon's configuration from the library's settings — the one way
    /// `photopro sync` and the app both build it.
    pub fn from_settings(
        dirs: &photopro_library::DataDirs,
        config: &photopro_library::Config,
        settings: &photopro_library::AppSettings,
        api_url: String,
        token: String,
        device: &crate::device::DeviceIdentity,
    ) -> Result<ServiceConfig, SyncError> {
        let folder = config.sync_folder.clone().ok_or_else(|| {
            SyncError::Precondition(
                "no sync folder yet: choose one (`photopro sync --folder DIR`, or in the app)"
                    .into(),
            )
        })?;
        let filters = photopro_library::Filters::from_config(config)
            .map_err(|e| SyncError::Io(format!("the sync filters in config.json: {e}")))?;
        let mut service = ServiceConfig::new(
            folder,
            api_url,
            token,
            dirs.index_path(),
            state_dir(dirs),
            device.name.clone(),
        );
        service.trash_dir = trash_dir(dirs);
        // Litter and partial files, RAW originals unless RAW sync is on, and the
        // user's keep-out-of-sync patterns: never uploaded, downloaded or deleted.
        service.skip = Arc::new(move |name: &str| {
            let name = name.as_bytes();
            filters.skips(name)
                || filters.sync_excluded(name, photopro_media::FileKind::from_name(name))
        });
        service.upload_limit = limit_bytes(settings.upload_limit_kib);
        service.download_limit = limit_bytes(settings.download_limit_kib);
        service.paused = settings.paused;
        Ok(service)
    }
}

/// What the daemon is doing, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "EngineStatus"))]
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
    /// With deletions held back: how many fell within the guard's window
    /// (carried out in it plus held back), which tripped it.
    #[serde(default)]
    pub deletions_in_window: usize,
    /// Why live watching is off, if it is (periodic passes only).
    pub watch_degraded: Option<String>,
    /// Names that cannot be synced (not valid UTF-8).
    pub skipped: Vec<String>,
    /// Files and folders that cannot sync, each with its reason ("N files can't sync").
    pub cannot_sync: Vec<CannotSync>,
    /// Photos waiting to be finished by their writer (paths below the folder).
    pub waiting_for: Vec<String>,
    pub folder: String,
}

/// The counts of one finished pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PassSummary {
    pub uploads: usize,
    pub uploaded_bytes: u64,
    pub downloads: usize,
    pub downloaded_bytes: u64,
    pub moves: usize,
    pub deletions: usize,
    pub conflicts: usize,
    /// Files whose last attempt failed and will be retried.
    pub retryable_failures: usize,
    /// Folders (paths below the sync folder) and how many files were uploaded
    /// into each: "Smith Wedding finished uploading".
    pub uploaded_folders: Vec<(String, usize)>,
    /// Files renamed because another holds the same name (both kept).
    #[serde(default)]
    pub collisions: usize,
    /// Files put back from a trash (restored), not counted as uploads or downloads.
    #[serde(default)]
    pub restores: usize,
    /// The bytes of those restores.
    #[serde(default)]
    pub restored_bytes: u64,
    /// The files behind `retryable_failures` (a few), each with its error.
    #[serde(default)]
    pub to_retry: Vec<CannotSync>,
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
        self.to_retry = later.to_retry.clone();
        self.restores += later.restores;
        self.collisions += later.collisions;
        self.restored_bytes += later.restored_bytes;
        self.uploaded_folders
            .extend(later.uploaded_folders.iter().cloned());
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
            // Files, not attempts: "4 to retry" for 4 files, not 160 for 40 rounds.
            retryable_failures: if r.to_retry.is_empty() {
                r.retryable_failures
            } else {
                r.to_retry.len()
            },
            restores: r.restores,
            collisions: r.collisions,
            restored_bytes: r.restored_bytes,
            to_retry: r.to_retry.clone(),
            uploaded_folders: r
                .uploaded_folders
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
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

/// Passes started and finished, for [`SyncControl::sync_now_and_wait`].
#[derive(Default)]
struct Passes {
    started: u64,
    finished: u64,
    /// The latest passes' work, by number.
    recent: VecDeque<(u64, PassSummary)>,
    /// The daemon thread has ended.
    ended: bool,
}

struct Shared {
    status: Mutex<Status>,
    passes: Mutex<Passes>,
    passes_changed: Condvar,
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

    fn passes(&self) -> std::sync::MutexGuard<'_, Passes> {
        self.passes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pass_started(&self) {
        self.passes().started += 1;
    }

    /// A pass ended (`work` is `None` when it failed as a whole).
    fn pass_finished(&self, work: Option<&PassSummary>) {
        let mut passes = self.passes();
        passes.finished = passes.started;
        let number = passes.finished;
        passes
            .recent
            .push_back((number, work.cloned().unwrap_or_default()));
        while passes.recent.len() > 16 {
            passes.recent.pop_front();
        }
        drop(passes);
        self.passes_changed.notify_all();
    }

    fn ended(&self) {
        self.passes().ended = true;
        self.passes_changed.notify_all();
    }

    fn snapshot(&self) -> Status {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        status.progress = self.meter.snapshot();
        status.summary = summary_line(&status);
        status
    }

    fn wake(&self) {
        if let Some(waker) = self
            .waker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            waker.wake();
        }
    }
}

/// Control of a running daemon. Dropping it stops the daemon.
pub struct SyncHandle {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<Result<(), SyncError>>>,
}

/// A second, shareable grip on a running daemon (for the control channel,
/// [`crate::control`]): everything [`SyncHandle`] does except owning the thread.
#[derive(Clone)]
pub struct SyncControl {
    shared: Arc<Shared>,
}

impl SyncControl {
    /// Run a pass now and wait until it has finished — and, while files are
    /// still being written, for the passes that take them, up to `settle_for`.
    /// Returns at once when paused, and when the daemon stops. The work done.
    /// With `approve_deletions`, the held-back deletions are carried out by
    /// one of the passes waited for.
    pub fn sync_now_and_wait(&self, settle_for: Duration, approve_deletions: bool) -> PassSummary {
        let shared = &self.shared;
        let mut passes = shared.passes();
        // The next pass to start is one that sees everything up to now (no
        // pass starts while `passes` is held, so it also sees the approval).
        let first = passes.started + 1;
        if approve_deletions {
            shared.approve.store(true, Ordering::SeqCst);
        }
        shared.wake();
        let deadline = Instant::now() + settle_for;
        let mut next = first;
        let mut work = PassSummary::default();
        loop {
            while passes.finished >= next {
                if let Some((_, pass)) = passes.recent.iter().find(|(n, _)| *n == next) {
                    work.merge(pass);
                }
                next += 1;
            }
            if next > first {
                let unsettled = shared
                    .status
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .unsettled;
                // The daemon runs the next pass itself when the youngest file settles.
                if unsettled == 0 || Instant::now() >= deadline {
                    return work;
                }
            }
            if passes.ended
                || shared.paused.load(Ordering::SeqCst)
                || shared.stop.load(Ordering::SeqCst)
            {
                return work;
            }
            passes = shared
                .passes_changed
                .wait_timeout(passes, Duration::from_millis(250))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl crate::control::Controlled for SyncControl {
    fn status(&self) -> Status {
        self.shared.snapshot()
    }
    fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }
    fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
        self.shared.wake();
    }
    fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
        self.shared.wake();
    }
    fn approve_deletions(&self) {
        self.shared.approve.store(true, Ordering::SeqCst);
        self.shared.wake();
    }
    fn sync_now(&self, approve_deletions: bool) -> PassSummary {
        self.sync_now_and_wait(Duration::from_secs(60), approve_deletions)
    }
    fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake();
    }
}

impl SyncHandle {
    pub fn status(&self) -> Status {
        self.shared.snapshot()
    }

    /// A shareable grip on this daemon, for the control channel.
    pub fn control(&self) -> SyncControl {
        SyncControl {
            shared: self.shared.clone(),
        }
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
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(SyncError::Io("the sync thread panicked".into()))),
            None => Ok(()),
        };
        (self.status(), outcome)
    }

    fn shutdown(&mut self) -> Result<(), SyncError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake();
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(SyncError::Io("the sync thread panicked".into()))),
            None => Ok(()),
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// "2 min left", "about 1 h 10 min left", "a few seconds left".
pub fn eta_words(seconds: u64) -> String {
    match seconds {
        0..=9 => "a few seconds left".into(),
        10..=59 => format!("{seconds} s left"),
        60..=3599 => format!("{} min left", seconds.div_ceil(60)),
        _ => format!(
            "about {} h {} min left",
            seconds / 3600,
            (seconds % 3600) / 60
        ),
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
                line.push_str(&format!(
                    ", {}, {}",
                    format_rate(p.bytes_per_second),
                    eta_words(eta)
                ));
            }
            line
        }
        Phase::Syncing => "Syncing…".into(),
        Phase::UpToDate if !status.cannot_sync.is_empty() => format!(
            "Up to date — {} file{} can't sync",
            status.cannot_sync.len(),
            if status.cannot_sync.len() == 1 {
                ""
            } else {
                "s"
            }
        ),
        Phase::UpToDate => "Up to date".into(),
        Phase::Waiting => match status.waiting_for.as_slice() {
            [one] if status.unsettled == 1 => format!("Waiting for {one} to finish writing"),
            _ => format!(
                "Waiting for {} file{} still being written",
                status.unsettled,
                if status.unsettled == 1 { "" } else { "s" }
            ),
        },
        Phase::Paused => "Paused".into(),
        Phase::Offline => "Offline — will retry".into(),
        Phase::StorageFull => {
            "Storage full — files stay on this computer. Upgrade to keep syncing.".into()
        }
        Phase::AwaitingApproval => format!(
            "Holding back {} deletions {} — approve them with `photopro sync --approve-deletions` or in the app",
            status.deletions_awaiting_approval,
            held_back_why(status)
        ),
        Phase::Error => format!(
            "Sync error: {}",
            status.last_error.as_deref().unwrap_or("unknown")
        ),
        Phase::Stopped => "Stopped".into(),
    }
}

/// Why deletions are held back, in parentheses: "(60 within 10 min, more
/// than the mass-deletion guard lets through without asking)".
pub fn held_back_why(status: &Status) -> String {
    if status.deletions_in_window == 0 {
        // A status from a daemon that does not say.
        return "(mass-deletion guard)".into();
    }
    format!(
        "({} within {} min, more than the mass-deletion guard lets through without asking)",
        status.deletions_in_window,
        crate::guard::DELETION_WINDOW_SECS / 60
    )
}

/// Start the daemon on its own thread. `listener` hears every event (from
/// that thread, or the progress ticker's); keep it quick.
pub fn start(
    config: ServiceConfig,
    listener: impl Fn(&ServiceEvent) + Send + Sync + 'static,
) -> SyncHandle {
    crate::platform::tune_allocator_for_a_daemon();
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
        deletions_in_window: 0,
        watch_degraded: None,
        skipped: Vec::new(),
        cannot_sync: Vec::new(),
        waiting_for: Vec::new(),
        folder: config.folder.display().to_string(),
    };
    let shared = Arc::new(Shared {
        status: Mutex::new(status),
        passes: Mutex::new(Passes::default()),
        passes_changed: Condvar::new(),
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
                s.phase = if error.is_some() {
                    Phase::Error
                } else {
                    Phase::Stopped
                };
                if error.is_some() {
                    s.last_error = error;
                }
            });
            for_thread.ended();
            result
        })
        .expect("spawning the sync thread");
    SyncHandle {
        shared,
        thread: Some(thread),
    }
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
    let mut index = photopro_index::Index::open(&config.index_path)
        .map_err(|e| SyncError::Store(e.to_string()))?;
    let remote_key = index
        .ensure_remote(REMOTE_NAME, REMOTE_KIND)
        .map_err(|e| SyncError::Store(e.to_string()))?;
    let remembered = index
        .sync_file_hashes(fs.hash_kind_name())
        .map_err(|e| SyncError::Store(e.to_string()))?;
    fs.remember_hashes(remembered);
    std::fs::create_dir_all(&config.folder)
        .map_err(|e| SyncError::Io(format!("{}: {e}", config.folder.display())))?;
    let mut watch =
        (!config.once).then(|| FolderWatch::new(&config.folder, config.debounce, config.periodic));
    if let Some(watch) = &watch {
        *shared.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(watch.waker());
        shared.update(|s| s.watch_degraded = watch.degraded.clone());
    }

    let mut cursor: Option<String> = None;
    // Free bytes under the cap when the last pass found the storage full.
    let mut full_free: Option<u64>;
    // Reservations a killed run left behind are settled once, before the first pass.
    let mut leftovers_settled = false;
    let mut offline_attempts = 0u32;
    // Files backing off after a refusal, kept from pass to pass.
    let mut held = HeldFiles::default();
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
        if run_pass && !leftovers_settled {
            // Cancelled at once, they stop holding quota (up to 24 h otherwise);
            // journaled ones are resumed by the pass. Offline: try again next time.
            if remote.settle_leftover_reservations().is_ok() {
                leftovers_settled = true;
            }
        }
        full_free = None;
        if run_pass {
            shared.update(|s| s.phase = Phase::Syncing);
            shared.pass_started();
            let outcome = pass(
                &config,
                shared,
                &mut fs,
                &mut remote,
                &mut index,
                remote_key,
                &mut held,
            );
            if let Some(watch) = watch.as_mut() {
                watch.pass_ended();
            }
            fs.release_pass_memory();
            remote.release_pass_memory();
            if let Some((upserts, deletes)) = fs.take_hash_changes() {
                // Best effort: losing this only costs re-reading files after a restart.
                if let Err(error) =
                    index.update_sync_file_hashes(fs.hash_kind_name(), &upserts, &deletes)
                {
                    shared.update(|s| {
                        s.last_error = Some(format!("remembering file hashes: {error}"))
                    });
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
                        s.cannot_sync = report.cannot_sync.clone();
                        s.waiting_for = fs.waiting_for.clone();
                        s.deletions_awaiting_approval = report.deletions_awaiting_approval;
                        s.deletions_in_window = report.deletions_in_window;
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
                    shared.pass_finished(Some(&summary));
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
                    if report.storage_full {
                        // Watch for room: checked every `storage_full_poll`.
                        full_free = remote.free_bytes().ok();
                        if full_free.is_some() {
                            let at = Instant::now() + config.storage_full_poll;
                            poll_at = Some(poll_at.map_or(at, |p| p.min(at)));
                        }
                    }
                    if config.once {
                        let waiting = fs.settles_in.is_some() && once_waited < config.once_wait;
                        if converged && waiting {
                            let wait =
                                fs.settles_in.unwrap_or_default() + Duration::from_millis(50);
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
                    let wait = backoff(offline_attempts, None, now_unix() as u64)
                        .min(Duration::from_secs(60));
                    offline_attempts += 1;
                    shared.update(|s| {
                        s.phase = Phase::Offline;
                        s.last_error = Some(message.clone());
                    });
                    shared.pass_finished(None);
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
                    shared.pass_finished(None);
                    pass_at = Some(Instant::now() + Duration::from_secs(30));
                }
            }
        }
        // Sleep until something calls for a pass.
        let Some(watch) = watch.as_mut() else {
            return Ok(());
        };
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
                    // Storage full: a raised cap or freed space means a pass now.
                    if let Some(before) = full_free {
                        if remote.free_bytes().is_ok_and(|now| now > before) {
                            break;
                        }
                    }
                    // The remote poll: pass only when another device changed something.
                    match (&cursor, remote.latest_cursor()) {
                        (Some(before), Ok(now)) if *before == now => {
                            let every = if full_free.is_some() {
                                config.storage_full_poll.min(config.remote_poll)
                            } else {
                                config.remote_poll
                            };
                            poll_at = Some(Instant::now() + every);
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
    held: &mut HeldFiles,
) -> Result<SyncReport, SyncError> {
    let mut engine_config = EngineConfig::new(config.device_name.clone());
    engine_config.max_deletions = config.max_deletions;
    engine_config.max_deletion_ratio = config.max_deletion_ratio;
    let skip = config.skip.clone();
    let mut engine = Engine::new(
        engine_config,
        IndexStore::new(index, remote_key),
        SystemClock,
    )?
    .with_meter(shared.meter.clone())
    .with_ignore(std::sync::Arc::new(move |name: &str| skip(name)))
    .with_cancel(shared.stop.clone())
    .with_held(std::mem::take(held));
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
        *held = engine.take_held();
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
            deletions_in_window: 0,
            watch_degraded: None,
            skipped: vec![],
            cannot_sync: vec![],
            waiting_for: vec![],
            folder: "/Sync".into(),
        };
        assert_eq!(
            summary_line(&status),
            "Syncing 10 files — 10 MiB of 60 MiB, 5 MiB/s, 10 s left"
        );
        status.phase = Phase::StorageFull;
        assert!(summary_line(&status).contains("Upgrade"));
        // Held-back deletions say how to approve them, not just "confirm".
        status.phase = Phase::AwaitingApproval;
        // …and how many over what time tripped the guard.
        status.deletions_awaiting_approval = 64;
        status.deletions_in_window = 312;
        assert_eq!(
            summary_line(&status),
            "Holding back 64 deletions (312 within 10 min, more than the mass-deletion guard lets through without asking) — approve them with `photopro sync --approve-deletions` or in the app"
        );
    }
}
