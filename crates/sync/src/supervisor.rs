//! The daemon's supervisor, for the desktop app: decides when the sync
//! daemon ([`crate::service`]) starts, restarts or stops as the settings
//! change, holds the library (one engine per library: [`LibraryLock`]) and
//! its control channel while it runs, and — when a `photopro sync` daemon
//! holds the library — shows that daemon's status and takes the library
//! over once it quits. It also says what sync is doing in a few plain words
//! (the tray's line, notifications).
//!
//! It knows nothing of any UI: the app implements [`Host`] (where the
//! settings and the token come from, what to do when the status changes or
//! the daemon reports), so everything here runs in plain tests.
//!
//! Every (re)start or stop bumps a generation; events of a daemon being
//! replaced carry the old one and are dropped. Restarts are serialized; the
//! slot holding the daemon is locked only for moments, so readers never wait
//! for a daemon that is stopping.

use crate::control::{self, ControlServer, Request};
use crate::lock::LibraryLock;
use crate::service::{
    self, device, limit_bytes, service_config, PassSummary, Phase, ServiceEvent, Status, SyncHandle,
};
use photopro_library::{AppSettings, Config, DataDirs};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How often the supervisor asks the engine that holds the library (a
/// `photopro sync` daemon) for its status, and checks whether it has quit.
pub const ELSEWHERE_POLL: Duration = Duration::from_secs(2);

/// Why sync is not running, in words for the Sync screen, with what fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SetupNeeded {
    /// `pair` (no API address or token), `keychain` (the token cannot be read), `folder`,
    /// `elsewhere` (a `photopro sync` daemon already syncs this library).
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"pair\" | \"keychain\" | \"folder\" | \"elsewhere\"")
    )]
    pub needs: &'static str,
    pub message: String,
}

impl SetupNeeded {
    fn folder(message: impl std::fmt::Display) -> SetupNeeded {
        SetupNeeded {
            needs: "folder",
            message: message.to_string(),
        }
    }
}

/// What to sync with, as the settings and the token store hold it now.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `config.json` (the sync folder, filters), or why it cannot be read.
    pub config: Result<Config, String>,
    /// `app.json` (API address, device name, pause, limits).
    pub settings: AppSettings,
    /// The device token: `Ok(None)` before pairing, `Err` why it cannot be read.
    pub token: Result<Option<String>, String>,
}

/// The side of the app the supervisor talks to.
pub trait Host: Send + Sync + 'static {
    /// The settings and the token as they are now (read again for a take-over).
    fn inputs(&self) -> Inputs;
    /// What to show changed: the daemon's status, the holder's, or why sync is not running.
    fn status_changed(&self);
    /// The running daemon reported (its status is already recorded);
    /// `before` is the status it replaced.
    fn engine_event(&self, event: &ServiceEvent, before: Option<&Status>);
}

/// What the running daemon was started with; a change means a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StartKey {
    folder: PathBuf,
    api_url: String,
    token: String,
    device: String,
    filters: (bool, Vec<String>, Vec<String>),
}

#[derive(Default)]
struct Running {
    handle: Option<SyncHandle>,
    key: Option<StartKey>,
    /// One engine per library: held while this daemon runs.
    lock: Option<LibraryLock>,
    /// `photopro sync --once`, `pause`, … reach this daemon here.
    control: Option<ControlServer>,
}

struct Inner {
    dirs: DataDirs,
    /// Who this engine is to others (`sync.holder`, the control channel): "app".
    role: &'static str,
    poll: Duration,
    running: Mutex<Running>,
    /// The latest status the daemon (or the holder) published, kept after it stops.
    latest: Mutex<Option<Status>>,
    setup: Mutex<Option<SetupNeeded>>,
    /// Held while (re)starting or stopping, so two changes never interleave.
    restart: Mutex<()>,
    /// Bumped on every (re)start and stop: events from a replaced daemon are ignored.
    generation: AtomicU64,
}

/// The sync daemon of one library, started and stopped as the settings say.
/// Cheap to clone (shared).
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What to start with, or why not.
fn desired(dirs: &DataDirs, inputs: &Inputs) -> Result<(StartKey, Config), SetupNeeded> {
    let config = inputs.config.clone().map_err(SetupNeeded::folder)?;
    let Some(api_url) = inputs.settings.api_url.clone().filter(|u| !u.is_empty()) else {
        return Err(SetupNeeded {
            needs: "pair",
            message: "Pair this computer with your PhotoProOS account to start syncing.".into(),
        });
    };
    let token = match &inputs.token {
        Ok(Some(token)) => token.clone(),
        Ok(None) => {
            return Err(SetupNeeded {
                needs: "pair",
                message: "This computer is not paired yet. Pair it in Settings to start syncing."
                    .into(),
            })
        }
        Err(error) => {
            return Err(SetupNeeded {
                needs: "keychain",
                message: error.clone(),
            })
        }
    };
    let Some(folder) = config.sync_folder.clone() else {
        return Err(SetupNeeded::folder(
            "Choose the folder to keep in sync with PhotoProOS Storage.",
        ));
    };
    let key = StartKey {
        folder,
        api_url,
        token,
        device: device(dirs, &inputs.settings)
            .map_err(SetupNeeded::folder)?
            .name,
        filters: (
            config.sync_raw,
            config.skip_patterns.clone(),
            config.sync_exclude_patterns.clone(),
        ),
    };
    Ok((key, config))
}

impl Supervisor {
    /// The supervisor of the library in `dirs`, known to other engines as `role`.
    pub fn new(dirs: DataDirs, role: &'static str) -> Supervisor {
        Supervisor {
            inner: Arc::new(Inner {
                dirs,
                role,
                poll: ELSEWHERE_POLL,
                running: Default::default(),
                latest: Default::default(),
                setup: Default::default(),
                restart: Default::default(),
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// How often to look at another holder of the library (tests: less than 2 s).
    pub fn with_poll(self, poll: Duration) -> Supervisor {
        let inner = Arc::try_unwrap(self.inner)
            .unwrap_or_else(|_| panic!("Supervisor::with_poll is for a supervisor not shared yet"));
        Supervisor {
            inner: Arc::new(Inner { poll, ..inner }),
        }
    }

    fn state_dir(&self) -> PathBuf {
        service::state_dir(&self.inner.dirs)
    }

    /// The latest status of the daemon, or of the engine holding the library.
    pub fn latest(&self) -> Option<Status> {
        lock(&self.inner.latest).clone()
    }

    /// Why sync is not running, if it is not.
    pub fn setup(&self) -> Option<SetupNeeded> {
        lock(&self.inner.setup).clone()
    }

    /// Record why sync cannot run (a failure of the caller's, such as a
    /// sync folder that could not be changed).
    pub fn set_setup(&self, setup: SetupNeeded) {
        *lock(&self.inner.setup) = Some(setup);
    }

    pub fn is_running(&self) -> bool {
        lock(&self.inner.running).handle.is_some()
    }

    /// Which daemon's events count now (see [`Supervisor::event`]).
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// Call `f` with the running daemon, if any.
    pub fn with_handle(&self, f: impl FnOnce(&SyncHandle)) {
        if let Some(handle) = lock(&self.inner.running).handle.as_ref() {
            f(handle)
        }
    }

    /// Record why sync cannot start, without starting it (apps built without
    /// the desktop parts: tests, the fixture dumper).
    pub fn note_setup(&self, inputs: &Inputs) {
        *lock(&self.inner.setup) = desired(&self.inner.dirs, inputs).err();
    }

    /// Take the daemon out of the slot and stop it (waits for the current
    /// transfer step); the library is released last.
    fn stop_running(&self, release_library: bool) {
        let (handle, control, library) = {
            let mut running = lock(&self.inner.running);
            running.key = None;
            let library = if release_library {
                running.lock.take()
            } else {
                None
            };
            (running.handle.take(), running.control.take(), library)
        };
        // Before a new one takes the endpoint's place.
        drop(control);
        if let Some(handle) = handle {
            if let Err(error) = handle.stop() {
                tracing::warn!(%error, "sync stopped with an error");
            }
        }
        // Only now may another process sync this library.
        drop(library);
    }

    /// Stop the daemon (on quit, or before the sync folder changes).
    pub fn stop(&self) {
        let _one_at_a_time = lock(&self.inner.restart);
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.stop_running(true);
    }

    /// Bring the daemon in line with `host`'s settings, blocking: start,
    /// restart (API, token, device, folder, filters changed), stop (nothing
    /// to sync with), or only pass new limits and pause to the running one.
    /// Tells `host` the status changed when done.
    pub fn apply(&self, host: Arc<dyn Host>) {
        self.apply_inner(&host);
        host.status_changed();
    }

    fn apply_inner(&self, host: &Arc<dyn Host>) {
        let inner = &self.inner;
        let _one_at_a_time = lock(&inner.restart);
        let inputs = host.inputs();
        let (key, config) = match desired(&inner.dirs, &inputs) {
            Ok(wanted) => wanted,
            Err(setup) => {
                *lock(&inner.setup) = Some(setup);
                inner.generation.fetch_add(1, Ordering::SeqCst);
                self.stop_running(true);
                *lock(&inner.latest) = None;
                return;
            }
        };
        let settings = inputs.settings;
        *lock(&inner.setup) = None;
        {
            let running = lock(&inner.running);
            if let Some(handle) = running
                .handle
                .as_ref()
                .filter(|_| running.key.as_ref() == Some(&key))
            {
                handle.set_limits(
                    limit_bytes(settings.upload_limit_kib),
                    limit_bytes(settings.download_limit_kib),
                );
                if settings.paused != handle.is_paused() {
                    if settings.paused {
                        handle.pause()
                    } else {
                        handle.resume()
                    }
                }
                return;
            }
        }
        let generation = inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.stop_running(false);
        *lock(&inner.latest) = None;
        // One engine per library: a `photopro sync` daemon may hold it.
        let state_dir = self.state_dir();
        let library = if lock(&inner.running).lock.is_some() {
            None
        } else {
            match LibraryLock::try_acquire(&state_dir, inner.role) {
                Ok(Ok(library)) => Some(library),
                Ok(Err(holder)) => {
                    // Show what that engine says instead of starting a second one.
                    *lock(&inner.latest) = holder_status(&state_dir);
                    *lock(&inner.setup) = Some(SetupNeeded {
                        needs: "elsewhere",
                        message: format!(
                            "{holder} is syncing this library; quit it to sync from PhotoPro."
                        ),
                    });
                    self.watch_elsewhere(host.clone(), generation);
                    return;
                }
                Err(error) => {
                    *lock(&inner.setup) = Some(SetupNeeded::folder(error));
                    return;
                }
            }
        };
        let mut config = config;
        config.sync_folder = Some(key.folder.clone());
        match service_config(
            &inner.dirs,
            &config,
            &settings,
            key.api_url.clone(),
            key.token.clone(),
        ) {
            Ok(service) => {
                let (supervisor, listener) = (self.clone(), host.clone());
                let handle = service::start(service, move |event| {
                    supervisor.event(generation, event, &*listener)
                });
                let server = control::serve(&state_dir, inner.role, Arc::new(handle.control()))
                    .map_err(|error| tracing::warn!(%error, "sync control channel"))
                    .ok();
                let mut running = lock(&inner.running);
                if library.is_some() {
                    running.lock = library;
                }
                running.control = server;
                running.handle = Some(handle);
                running.key = Some(key);
            }
            Err(error) => *lock(&inner.setup) = Some(SetupNeeded::folder(error)),
        }
    }

    /// While another process syncs the library, show its status as it
    /// changes, and take the library over as soon as that process quits.
    /// Ends when sync restarts or stops here (the generation moves on).
    fn watch_elsewhere(&self, host: Arc<dyn Host>, generation: u64) {
        let supervisor = self.clone();
        std::thread::spawn(move || {
            let inner = &supervisor.inner;
            let state_dir = supervisor.state_dir();
            loop {
                std::thread::sleep(inner.poll);
                if supervisor.generation() != generation {
                    return;
                }
                match LibraryLock::holder(&state_dir) {
                    Ok(None) => {
                        // Only if nothing restarted sync meanwhile (that restart decides).
                        if supervisor.generation() == generation {
                            supervisor.apply(host);
                        }
                        return;
                    }
                    Ok(Some(_)) => {
                        let status = holder_status(&state_dir);
                        let changed = {
                            let mut latest = lock(&inner.latest);
                            if supervisor.generation() != generation {
                                return;
                            }
                            let as_json = |s: &Option<Status>| serde_json::to_value(s).ok();
                            let changed = as_json(&latest) != as_json(&status);
                            if changed {
                                *latest = status;
                            }
                            changed
                        };
                        if changed {
                            host.status_changed();
                        }
                    }
                    Err(error) => tracing::debug!(%error, "checking who syncs the library"),
                }
            }
        });
    }

    /// An event of the daemon started as `generation`: its status is
    /// recorded and `host` hears of it; events of a replaced daemon are dropped.
    pub fn event(&self, generation: u64, event: &ServiceEvent, host: &dyn Host) {
        if self.generation() != generation {
            return;
        }
        let before = match event {
            ServiceEvent::Status(status) => {
                // Checked again under the lock that a restart clears: a replaced
                // daemon's last words never land after the restart's reset.
                let mut latest = lock(&self.inner.latest);
                if self.generation() != generation {
                    return;
                }
                latest.replace(status.clone())
            }
            ServiceEvent::PassFinished(_) => None,
        };
        host.engine_event(event, before.as_ref());
    }
}

/// What the engine holding the library says, if it answers.
fn holder_status(state_dir: &std::path::Path) -> Option<Status> {
    control::connect(state_dir)
        .and_then(|mut engine| engine.request(Request::Status).ok())
        .and_then(|reply| reply.status)
}

/// The library scan's progress in a few words ("Indexing 3 of 40 new files").
pub fn indexing_line(files_seen: u64, processed: u64, queued: u64) -> String {
    if queued > 0 {
        format!("Indexing {processed} of {queued} new files")
    } else if files_seen > 0 {
        format!("Checking {files_seen} files")
    } else {
        "Checking the library…".to_string()
    }
}

/// The tray's words for a state, with its one-word name: "Up to date",
/// "Syncing 12 files", "Paused", …
pub fn status_line(
    paused: bool,
    engine: Option<&Status>,
    indexing: Option<&str>,
    setup: Option<&SetupNeeded>,
) -> (&'static str, String) {
    if paused {
        return ("paused", "Paused".into());
    }
    let Some(status) = engine else {
        if let Some(indexing) = indexing {
            return ("indexing", indexing.to_string());
        }
        return match setup {
            Some(_) => ("not_set_up", "Sync is not set up".into()),
            None => ("starting", "Starting…".into()),
        };
    };
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match status.phase {
        Phase::Starting => ("starting", "Starting…".into()),
        Phase::Syncing => {
            let p = &status.progress;
            let left = p.files_total.saturating_sub(p.files_done);
            if left > 0 {
                (
                    "syncing",
                    format!("Syncing {}", plural(left, "file", "files")),
                )
            } else {
                ("syncing", "Syncing…".into())
            }
        }
        Phase::UpToDate => match indexing {
            Some(indexing) => ("indexing", indexing.to_string()),
            None => ("up_to_date", "Up to date".into()),
        },
        Phase::Waiting => (
            "waiting",
            format!(
                "Waiting for {} to finish copying",
                plural(status.unsettled as u64, "file", "files")
            ),
        ),
        Phase::Paused => ("paused", "Paused".into()),
        Phase::Offline => ("offline", "Offline".into()),
        Phase::StorageFull => ("storage_full", "Storage full".into()),
        Phase::AwaitingApproval => (
            "awaiting_approval",
            format!(
                "{} held back",
                plural(
                    status.deletions_awaiting_approval as u64,
                    "deletion",
                    "deletions"
                )
            ),
        ),
        Phase::Error => (
            "error",
            format!(
                "Sync error: {}",
                status.last_error.as_deref().unwrap_or("unknown")
            ),
        ),
        Phase::Stopped => ("stopped", "Sync stopped".into()),
    }
}

/// Files uploaded per folder since sync was last up to date, for the
/// "finished uploading" notifications.
#[derive(Default)]
pub struct FinishedUploads {
    uploaded: Mutex<BTreeMap<String, usize>>,
}

impl FinishedUploads {
    /// Count a finished pass; once sync is up to date, the lines to notify
    /// (see [`finished_uploading`]) and the count starts again.
    pub fn pass(&self, pass: &PassSummary, up_to_date: bool) -> Vec<String> {
        let mut uploaded = lock(&self.uploaded);
        for (folder, count) in &pass.uploaded_folders {
            *uploaded.entry(folder.clone()).or_default() += count;
        }
        if up_to_date {
            finished_uploading(&std::mem::take(&mut *uploaded))
        } else {
            Vec::new()
        }
    }
}

/// "Smith Wedding finished uploading — 240 files", one line per folder (at
/// most three; more become one summary line).
pub fn finished_uploading(folders: &BTreeMap<String, usize>) -> Vec<String> {
    let name = |path: &str| {
        path.rsplit('/')
            .find(|p| !p.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| "Your sync folder".into())
    };
    let files = |n: usize| {
        if n == 1 {
            "1 file".to_string()
        } else {
            format!("{n} files")
        }
    };
    if folders.len() > 3 {
        let total: usize = folders.values().sum();
        return vec![format!(
            "{} folders finished uploading — {}",
            folders.len(),
            files(total)
        )];
    }
    folders
        .iter()
        .map(|(path, n)| format!("{} finished uploading — {}", name(path), files(*n)))
        .collect()
}

/// The notification for conflicted copies made by a pass.
pub fn conflicts_line(n: usize) -> String {
    if n == 1 {
        "A photo was changed on two computers. Both versions are kept — choose one in PhotoPro."
            .into()
    } else {
        format!("{n} photos were changed on two computers. Both versions are kept — choose in PhotoPro.")
    }
}

/// The notification when uploads stop for lack of space, once per transition.
pub fn storage_full_notice(
    status: &Status,
    before: Option<&Status>,
) -> Option<(&'static str, &'static str)> {
    (status.phase == Phase::StorageFull && before.map(|s| s.phase) != Some(Phase::StorageFull))
        .then_some((
        "Storage full",
        "New photos stay on this computer until there is room. Upgrade your plan to keep syncing.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    fn status(phase: Phase) -> Status {
        Status {
            phase,
            summary: String::new(),
            progress: Progress {
                files_total: 12,
                files_done: 2,
                ..Progress::default()
            },
            last_report: None,
            last_synced_at: None,
            last_error: Some("connection refused".into()),
            unsettled: 1,
            storage_full: false,
            deletions_awaiting_approval: 60,
            deletions_in_window: 60,
            watch_degraded: None,
            skipped: vec![],
            cannot_sync: vec![],
            waiting_for: vec![],
            folder: "/Sync".into(),
        }
    }

    #[test]
    fn the_tray_says_what_sync_is_doing_in_a_few_words() {
        let line = |phase| status_line(false, Some(&status(phase)), None, None).1;
        assert_eq!(line(Phase::UpToDate), "Up to date");
        assert_eq!(line(Phase::Syncing), "Syncing 10 files");
        assert_eq!(line(Phase::Offline), "Offline");
        assert_eq!(line(Phase::StorageFull), "Storage full");
        assert_eq!(line(Phase::Error), "Sync error: connection refused");
        assert_eq!(line(Phase::AwaitingApproval), "60 deletions held back");
        assert_eq!(line(Phase::Waiting), "Waiting for 1 file to finish copying");
        assert_eq!(
            status_line(true, Some(&status(Phase::Syncing)), None, None),
            ("paused", "Paused".into())
        );
        assert_eq!(
            status_line(
                false,
                Some(&status(Phase::UpToDate)),
                Some("Checking 40 files"),
                None
            )
            .1,
            "Checking 40 files"
        );
        let setup = SetupNeeded::folder("");
        assert_eq!(status_line(false, None, None, Some(&setup)).0, "not_set_up");
        assert_eq!(status_line(false, None, None, None).1, "Starting…");
        assert_eq!(indexing_line(40, 0, 0), "Checking 40 files");
        assert_eq!(indexing_line(40, 3, 12), "Indexing 3 of 12 new files");
    }

    #[test]
    fn finished_uploads_are_named_by_their_folder() {
        let mut folders = BTreeMap::new();
        folders.insert("Smith, John/Smith Wedding".to_string(), 240);
        folders.insert(String::new(), 1);
        assert_eq!(
            finished_uploading(&folders),
            [
                "Your sync folder finished uploading — 1 file",
                "Smith Wedding finished uploading — 240 files"
            ]
        );
        for i in 0..4 {
            folders.insert(format!("Shoot {i}"), 10);
        }
        assert_eq!(
            finished_uploading(&folders),
            ["6 folders finished uploading — 281 files"]
        );
        // Counted across passes until sync is up to date, then said once.
        let tally = FinishedUploads::default();
        let pass = PassSummary {
            uploaded_folders: [("Shoot".to_string(), 2)].into_iter().collect(),
            ..PassSummary::default()
        };
        assert!(tally.pass(&pass, false).is_empty());
        assert_eq!(
            tally.pass(&pass, true),
            ["Shoot finished uploading — 4 files"]
        );
        assert!(tally.pass(&PassSummary::default(), true).is_empty());
        assert!(conflicts_line(1).starts_with("A photo was changed"));
        assert!(conflicts_line(3).starts_with("3 photos were changed"));
        let full = status(Phase::StorageFull);
        assert!(storage_full_notice(&full, Some(&status(Phase::Syncing))).is_some());
        assert!(storage_full_notice(&full, Some(&full)).is_none());
    }

    /// A host whose settings the test changes, counting what it hears.
    struct TestHost {
        inputs: Mutex<Inputs>,
        changed: AtomicUsize,
        events: AtomicUsize,
    }

    impl Host for TestHost {
        fn inputs(&self) -> Inputs {
            lock(&self.inputs).clone()
        }
        fn status_changed(&self) {
            self.changed.fetch_add(1, Ordering::SeqCst);
        }
        fn engine_event(&self, _event: &ServiceEvent, _before: Option<&Status>) {
            self.events.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A library with a sync folder, paired with an API nobody answers on
    /// (port 9, discard): the daemon runs and says it is offline.
    fn library() -> (tempfile::TempDir, DataDirs, Arc<TestHost>) {
        let temp = tempfile::tempdir().unwrap();
        let dirs = DataDirs::resolve(Some(&temp.path().join("data"))).unwrap();
        let folder = temp.path().join("Sync");
        std::fs::create_dir_all(&folder).unwrap();
        let config = Config {
            sync_folder: Some(folder),
            ..Config::default()
        };
        let settings = AppSettings {
            api_url: Some("http://127.0.0.1:9".into()),
            ..AppSettings::default()
        };
        let host = Arc::new(TestHost {
            inputs: Mutex::new(Inputs {
                config: Ok(config),
                settings,
                token: Ok(Some("ppd_test".into())),
            }),
            changed: AtomicUsize::new(0),
            events: AtomicUsize::new(0),
        });
        (temp, dirs, host)
    }

    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(20), "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_daemon_restarts_when_what_it_syncs_with_changes_and_not_for_limits() {
        let (_temp, dirs, host) = library();
        let supervisor = Supervisor::new(dirs.clone(), "app");
        let state_dir = service::state_dir(&dirs);
        supervisor.apply(host.clone());
        assert!(supervisor.is_running(), "{:?}", supervisor.setup());
        assert_eq!(
            LibraryLock::holder(&state_dir).unwrap().unwrap().role,
            "app"
        );
        let first = supervisor.generation();
        eventually("the daemon reports", || {
            host.events.load(Ordering::SeqCst) > 0
        });

        // Limits and pause go to the running daemon: no restart.
        lock(&host.inputs).settings.upload_limit_kib = Some(100);
        lock(&host.inputs).settings.paused = true;
        supervisor.apply(host.clone());
        assert_eq!(supervisor.generation(), first);
        supervisor.with_handle(|h| assert!(h.is_paused()));

        // A new keep-out-of-sync pattern changes what is synced: restart.
        if let Ok(config) = &mut lock(&host.inputs).config {
            config.sync_exclude_patterns.push("*.tmp".into());
        }
        supervisor.apply(host.clone());
        let second = supervisor.generation();
        assert!(second > first);
        assert!(supervisor.is_running());
        // The replaced daemon's last words are dropped.
        let before = supervisor.latest().map(|s| s.phase);
        supervisor.event(first, &ServiceEvent::Status(status(Phase::Error)), &*host);
        assert_eq!(supervisor.latest().map(|s| s.phase), before);

        // Signed out: stopped, the library released, and why it is said.
        lock(&host.inputs).token = Ok(None);
        supervisor.apply(host.clone());
        assert!(!supervisor.is_running());
        assert_eq!(supervisor.setup().unwrap().needs, "pair");
        assert!(LibraryLock::holder(&state_dir).unwrap().is_none());
        assert!(host.changed.load(Ordering::SeqCst) >= 4);
    }

    #[test]
    fn a_daemon_holding_the_library_is_watched_and_the_library_taken_over_when_it_quits() {
        let (_temp, dirs, host) = library();
        let state_dir = service::state_dir(&dirs);
        let cli = LibraryLock::try_acquire(&state_dir, "cli")
            .unwrap()
            .unwrap();
        let supervisor = Supervisor::new(dirs, "app").with_poll(Duration::from_millis(50));
        supervisor.apply(host.clone());
        assert!(!supervisor.is_running());
        let setup = supervisor.setup().unwrap();
        assert_eq!(setup.needs, "elsewhere");
        assert!(
            setup.message.contains("quit it to sync from PhotoPro"),
            "{}",
            setup.message
        );
        std::thread::sleep(Duration::from_millis(200));
        assert!(!supervisor.is_running(), "never two engines on one library");

        drop(cli);
        eventually("the app takes the library over", || supervisor.is_running());
        assert_eq!(supervisor.setup(), None);
        assert_eq!(
            LibraryLock::holder(&state_dir).unwrap().unwrap().role,
            "app"
        );
        supervisor.stop();
        assert!(!supervisor.is_running());
        assert!(LibraryLock::holder(&state_dir).unwrap().is_none());
    }
}
