//! The sync daemon inside the app: `photopro_sync::service` started with the
//! app's settings (API address, the device token from the keychain, the sync
//! folder, filters, bandwidth limits), restarted when one of them changes,
//! stopped on quit. Its events become the tray line, `sync-status` events for
//! the UI, library rescans when files changed on disk, and notifications.
//!
//! Everything here is glue: the daemon, conflicts and the sync trash are
//! `photopro-sync`'s; this module only decides when to start what, and says
//! it in the tray's words.

use crate::error::{AppError, Result};
use crate::state::{self, AppState};
use photopro_library::{AppSettings, Config, DataDirs};
use photopro_sync::control::{self, ControlServer, Request};
use photopro_sync::device::DeviceIdentity;
use photopro_sync::lock::LibraryLock;
use photopro_sync::service::{PassSummary, Phase, ServiceConfig, ServiceEvent, Status, SyncHandle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// Sent after every pass (its counts): the UI reloads conflicts, the sync trash and usage.
pub const PASS_EVENT: &str = "sync-pass";

/// Why sync is not running, in words for the Sync screen, with what fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SetupNeeded {
    /// `pair` (no API address or token), `keychain` (the token cannot be read), `folder`,
    /// `elsewhere` (a `photopro sync` daemon already syncs this library).
    #[ts(type = "\"pair\" | \"keychain\" | \"folder\" | \"elsewhere\"")]
    pub needs: &'static str,
    pub message: String,
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
    /// One engine per library: held while this app's daemon runs.
    lock: Option<LibraryLock>,
    /// `photopro sync --once`, `pause`, … reach this app's daemon here.
    control: Option<ControlServer>,
}

/// The daemon's slot in [`AppState`].
#[derive(Default)]
pub struct SyncSlot {
    running: Mutex<Running>,
    /// The latest status the daemon published (kept after it stops, for the screen).
    latest: Mutex<Option<Status>>,
    setup: Mutex<Option<SetupNeeded>>,
    /// Held while (re)starting or stopping, so two changes never interleave.
    restart: Mutex<()>,
    /// Bumped on every (re)start: events from a daemon being replaced are ignored.
    generation: AtomicU64,
    /// Files uploaded per folder since the last time sync was up to date.
    uploaded: Mutex<BTreeMap<String, usize>>,
    /// Notifications shown (or, without a notification host, that would have been), newest last.
    pub notified: Mutex<Vec<String>>,
    /// Held while a status is read and published (see [`SyncSlot::in_order`]).
    publishing: Mutex<()>,
    /// The `seq` of the last status read.
    seq: AtomicU64,
    /// Test seam: runs between reading a status and publishing it.
    #[cfg(test)]
    #[allow(clippy::type_complexity)]
    pub(crate) before_publish:
        Mutex<Option<std::sync::Arc<dyn Fn(&state::SyncStatus) + Send + Sync>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SyncSlot {
    pub fn latest(&self) -> Option<Status> {
        lock(&self.latest).clone()
    }

    pub fn setup(&self) -> Option<SetupNeeded> {
        lock(&self.setup).clone()
    }

    pub fn is_running(&self) -> bool {
        lock(&self.running).handle.is_some()
    }

    /// Held while a status is read (and, when published, sent): statuses are
    /// numbered in the order they were read and sent in that order.
    pub(crate) fn in_order(&self) -> MutexGuard<'_, ()> {
        lock(&self.publishing)
    }

    /// The next status's `seq` (call with [`SyncSlot::in_order`] held).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst) + 1
    }

    #[cfg(test)]
    pub(crate) fn before_publish(&self, status: &state::SyncStatus) {
        let hook = lock(&self.before_publish).clone();
        if let Some(hook) = hook {
            hook(status)
        }
    }

    /// Which daemon's events count now (see [`on_event`]).
    #[cfg(test)]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Call `f` with the running daemon, if any.
    pub fn with_handle(&self, f: impl FnOnce(&SyncHandle)) {
        if let Some(handle) = lock(&self.running).handle.as_ref() {
            f(handle)
        }
    }

    /// Stop the daemon (on quit); waits for the current transfer step.
    pub fn stop(&self) {
        let _one_at_a_time = lock(&self.restart);
        self.generation.fetch_add(1, Ordering::SeqCst);
        let (handle, control, library) = {
            let mut running = lock(&self.running);
            (
                running.handle.take(),
                running.control.take(),
                running.lock.take(),
            )
        };
        drop(control);
        if let Some(handle) = handle {
            if let Err(error) = handle.stop() {
                tracing::warn!(%error, "sync stopped with an error");
            }
        }
        // Only now may another process sync this library.
        drop(library);
    }
}

/// This device's identity (shared with `photopro`): its id and the name it
/// signs conflicted copies with — the name chosen at pairing, else the host
/// name with a suffix of the id.
pub fn device(dirs: &DataDirs, settings: &AppSettings) -> Result<DeviceIdentity> {
    Ok(DeviceIdentity::load_or_create(
        &DeviceIdentity::path_for(&dirs.config_path()),
        settings.device_name.as_deref(),
    )?)
}

/// The sync trash, shared with `photopro trash` (beside the index).
pub fn trash_dir(dirs: &DataDirs) -> PathBuf {
    photopro_sync::service::trash_dir(dirs)
}

/// A sync-trash entry with its size, for the Sync screen.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(rename = "SyncTrashItem")]
pub struct TrashItem {
    #[serde(flatten)]
    pub entry: photopro_sync::disk::TrashEntry,
    pub bytes: Option<u64>,
}

impl TrashItem {
    pub fn new(trash_dir: &Path, entry: photopro_sync::disk::TrashEntry) -> TrashItem {
        let name = entry.original.rsplit('/').next().unwrap_or_default();
        let bytes = std::fs::metadata(trash_dir.join(&entry.id).join(name))
            .ok()
            .map(|m| m.len());
        TrashItem { entry, bytes }
    }
}

/// The sync folder, if one is chosen.
pub fn folder(state: &AppState) -> Result<Option<PathBuf>> {
    Ok(state.config()?.sync_folder)
}

fn limit(kib: Option<u32>) -> u64 {
    kib.map_or(0, |k| k as u64 * 1024)
}

/// What to start with, or why not.
fn desired(state: &AppState) -> std::result::Result<(StartKey, Config, AppSettings), SetupNeeded> {
    let settings = state.settings();
    let config = state.config().map_err(|e| SetupNeeded {
        needs: "folder",
        message: e.to_string(),
    })?;
    let Some(api_url) = settings.api_url.clone().filter(|u| !u.is_empty()) else {
        return Err(SetupNeeded {
            needs: "pair",
            message: "Pair this computer with your PhotoProOS account to start syncing.".into(),
        });
    };
    let token = match state.tokens.get() {
        Ok(Some(token)) => token,
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
                message: error.to_string(),
            })
        }
    };
    let Some(folder) = config.sync_folder.clone() else {
        return Err(SetupNeeded {
            needs: "folder",
            message: "Choose the folder to keep in sync with PhotoProOS Storage.".into(),
        });
    };
    let key = StartKey {
        folder,
        api_url,
        token,
        device: device(&state.dirs, &settings)
            .map_err(|e| SetupNeeded {
                needs: "folder",
                message: e.to_string(),
            })?
            .name,
        filters: (
            config.sync_raw,
            config.skip_patterns.clone(),
            config.sync_exclude_patterns.clone(),
        ),
    };
    Ok((key, config, settings))
}

/// Record why sync cannot start, without starting it (apps built without the
/// desktop parts: tests, the fixture dumper).
pub fn note_setup(state: &AppState) {
    *lock(&state.sync.setup) = desired(state).err();
}

/// Bring the daemon in line with the settings, on a worker thread (stopping
/// a daemon waits for its current transfer step; the UI must not).
pub fn apply<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    std::thread::spawn(move || apply_now(&app));
}

/// [`apply`], blocking: start, restart, or only update limits and pause.
/// Restarts are serialized; the daemon's slot is locked only for moments, so
/// commands never wait for a daemon that is stopping.
pub fn apply_now<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let slot = &state.sync;
    let _one_at_a_time = lock(&slot.restart);
    match desired(&state) {
        Err(setup) => {
            *lock(&slot.setup) = Some(setup);
            slot.generation.fetch_add(1, Ordering::SeqCst);
            let (old, control, library) = {
                let mut running = lock(&slot.running);
                running.key = None;
                (
                    running.handle.take(),
                    running.control.take(),
                    running.lock.take(),
                )
            };
            *lock(&slot.latest) = None;
            drop(control);
            if let Some(old) = old {
                let _ = old.stop();
            }
            drop(library);
        }
        Ok((key, config, settings)) => {
            *lock(&slot.setup) = None;
            let unchanged = {
                let running = lock(&slot.running);
                match running
                    .handle
                    .as_ref()
                    .filter(|_| running.key.as_ref() == Some(&key))
                {
                    Some(handle) => {
                        handle.set_limits(
                            limit(settings.upload_limit_kib),
                            limit(settings.download_limit_kib),
                        );
                        if settings.paused != handle.is_paused() {
                            if settings.paused {
                                handle.pause()
                            } else {
                                handle.resume()
                            }
                        }
                        true
                    }
                    None => false,
                }
            };
            if !unchanged {
                let generation = slot.generation.fetch_add(1, Ordering::SeqCst) + 1;
                let (old, control) = {
                    let mut running = lock(&slot.running);
                    running.key = None;
                    (running.handle.take(), running.control.take())
                };
                *lock(&slot.latest) = None;
                // Before a new one takes the endpoint's place.
                drop(control);
                if let Some(old) = old {
                    let _ = old.stop();
                }
                // One engine per library: a `photopro sync` daemon may hold it.
                let state_dir = photopro_sync::service::state_dir(&state.dirs);
                let held = lock(&slot.running).lock.is_some();
                let library = if held {
                    None
                } else {
                    match LibraryLock::try_acquire(&state_dir, "app") {
                        Ok(Ok(library)) => Some(library),
                        Ok(Err(holder)) => {
                            // Show what that engine says instead of starting a second one.
                            *lock(&slot.latest) = control::connect(&state_dir)
                                .and_then(|mut engine| engine.request(Request::Status).ok())
                                .and_then(|reply| reply.status);
                            *lock(&slot.setup) = Some(SetupNeeded {
                                needs: "elsewhere",
                                message: format!("{holder} is syncing this library; quit it to sync from PhotoPro."),
                            });
                            state::publish_status(app, &state);
                            watch_elsewhere(app.clone(), generation, state_dir);
                            return;
                        }
                        Err(error) => {
                            *lock(&slot.setup) = Some(SetupNeeded {
                                needs: "folder",
                                message: error.to_string(),
                            });
                            state::publish_status(app, &state);
                            return;
                        }
                    }
                };
                match service_config(&state.dirs, &key, &config, &settings) {
                    Ok(service) => {
                        let listener_app = app.clone();
                        let handle = photopro_sync::service::start(service, move |event| {
                            on_event(&listener_app, generation, event)
                        });
                        let server = control::serve(
                            &state_dir,
                            "app",
                            std::sync::Arc::new(handle.control()),
                        )
                        .map_err(|error| tracing::warn!(%error, "sync control channel"))
                        .ok();
                        let mut running = lock(&slot.running);
                        if library.is_some() {
                            running.lock = library;
                        }
                        running.control = server;
                        running.handle = Some(handle);
                        running.key = Some(key);
                    }
                    Err(error) => {
                        *lock(&slot.setup) = Some(SetupNeeded {
                            needs: "folder",
                            message: error.to_string(),
                        })
                    }
                }
            }
        }
    }
    state::publish_status(app, &state);
}

/// How often the app asks the engine that holds the library (a `photopro
/// sync` daemon) for its status, and checks whether it has quit.
const ELSEWHERE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// While another process syncs the library, show its status as it changes,
/// and take the library over as soon as that process quits. Ends when the
/// app restarts or stops sync (the generation moves on).
fn watch_elsewhere<R: Runtime>(app: AppHandle<R>, generation: u64, state_dir: PathBuf) {
    std::thread::spawn(move || loop {
        std::thread::sleep(ELSEWHERE_POLL);
        let state = app.state::<AppState>();
        let slot = &state.sync;
        if slot.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        match LibraryLock::holder(&state_dir) {
            Ok(None) => {
                // Only if nothing restarted sync meanwhile (that restart decides).
                if slot.generation.load(Ordering::SeqCst) == generation {
                    apply_now(&app);
                }
                return;
            }
            Ok(Some(_)) => {
                let status = control::connect(&state_dir)
                    .and_then(|mut engine| engine.request(Request::Status).ok())
                    .and_then(|reply| reply.status);
                let changed = {
                    let mut latest = lock(&slot.latest);
                    if slot.generation.load(Ordering::SeqCst) != generation {
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
                    state::publish_status(&app, &state);
                }
            }
            Err(error) => tracing::debug!(%error, "checking who syncs the library"),
        }
    });
}

/// The daemon's configuration: `ServiceConfig::from_settings`, as `photopro sync` builds it.
fn service_config(
    dirs: &DataDirs,
    key: &StartKey,
    config: &Config,
    settings: &AppSettings,
) -> Result<ServiceConfig> {
    let mut config = config.clone();
    config.sync_folder = Some(key.folder.clone());
    let device = device(dirs, settings)?;
    Ok(ServiceConfig::from_settings(
        dirs,
        &config,
        settings,
        key.api_url.clone(),
        key.token.clone(),
        &device,
    )?)
}

pub(crate) fn on_event<R: Runtime>(app: &AppHandle<R>, generation: u64, event: &ServiceEvent) {
    let state = app.state::<AppState>();
    if state.sync.generation.load(Ordering::SeqCst) != generation {
        return;
    }
    match event {
        ServiceEvent::Status(status) => {
            let before = {
                // Checked again under the lock that a restart clears: a replaced
                // daemon's last words never land after the restart's reset.
                let mut latest = lock(&state.sync.latest);
                if state.sync.generation.load(Ordering::SeqCst) != generation {
                    return;
                }
                latest.replace(status.clone())
            };
            let was = before.map(|s| s.phase);
            if status.phase == Phase::StorageFull && was != Some(Phase::StorageFull) {
                notify(app, &state, "Storage full", "New photos stay on this computer until there is room. Upgrade your plan to keep syncing.");
            }
            state::publish_status(app, &state);
        }
        ServiceEvent::PassFinished(pass) => on_pass(app, &state, pass),
    }
}

fn on_pass<R: Runtime>(app: &AppHandle<R>, state: &AppState, pass: &PassSummary) {
    let up_to_date = state
        .sync
        .latest()
        .is_some_and(|s| s.phase == Phase::UpToDate);
    let finished = {
        let mut uploaded = lock(&state.sync.uploaded);
        for (folder, count) in &pass.uploaded_folders {
            *uploaded.entry(folder.clone()).or_default() += count;
        }
        if up_to_date {
            std::mem::take(&mut *uploaded)
        } else {
            BTreeMap::new()
        }
    };
    for line in finished_uploading(&finished) {
        notify(app, state, "Upload finished", &line);
    }
    if pass.conflicts > 0 {
        notify(
            app,
            state,
            "Choose which version to keep",
            &conflicts_line(pass.conflicts),
        );
    }
    if pass.uploads > 0 {
        // The usage moved: warn at 80 % / 95 % (once per threshold), as the usage bar does.
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let state = app.state::<AppState>();
            let view = crate::desktop::usage_view(&state).await;
            crate::desktop::notify_usage_warning(&app, &state, &view);
        });
    }
    let _ = app.emit(PASS_EVENT, pass);
    // Files came, went or were first seen (uploads are new local files): show
    // them in the library when the sync folder is part of one.
    if pass.uploads + pass.downloads + pass.moves + pass.deletions + pass.conflicts > 0
        && sync_folder_is_indexed(state)
    {
        state::start_scan(app.clone());
    }
}

fn sync_folder_is_indexed(state: &AppState) -> bool {
    let Ok(Some(folder)) = folder(state) else {
        return false;
    };
    state
        .reader()
        .libraries()
        .map(|libraries| libraries.iter().any(|l| folder.starts_with(&l.root)))
        .unwrap_or(false)
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

pub fn conflicts_line(n: usize) -> String {
    if n == 1 {
        "A photo was changed on two computers. Both versions are kept — choose one in PhotoPro."
            .into()
    } else {
        format!("{n} photos were changed on two computers. Both versions are kept — choose in PhotoPro.")
    }
}

/// Show a notification when the user wants them (and a notification host exists).
pub fn notify<R: Runtime>(app: &AppHandle<R>, state: &AppState, title: &str, body: &str) {
    if !state.settings().notifications {
        return;
    }
    {
        let mut notified = lock(&state.sync.notified);
        notified.push(format!("{title}: {body}"));
        let excess = notified.len().saturating_sub(50);
        notified.drain(..excess);
    }
    crate::desktop::show_notification(app, title, body);
}

/// The tray's words for a state: "Up to date", "Syncing 12 files", "Paused", …
pub fn tray_line(
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

/// The sync folder changed: stop the daemon, forget what was agreed for the
/// old folder (read against the new one, it would look like every file was
/// deleted), start again. On a worker thread, like [`apply`].
pub fn switch_folder<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        state.sync.stop();
        let forgotten = {
            let mut index = state.writer();
            photopro_sync::service::forget_synced_state(&mut index)
        };
        if let Err(error) = forgotten {
            tracing::error!(%error, "cannot forget the old sync folder's merge base");
            *lock(&state.sync.setup) = Some(SetupNeeded {
                needs: "folder",
                message: format!("The sync folder could not be changed: {error}"),
            });
            state::publish_status(&app, &state);
            return;
        }
        apply_now(&app);
    });
}

/// Choose the sync folder: create it if needed, remember it (config.json, as
/// `photopro sync --folder`), and add it as a library unless one already
/// covers it, so what syncs can be browsed.
/// Returns the folder, whether it was added as a library, and whether it
/// replaces another sync folder.
pub fn set_folder(state: &AppState, path: &Path) -> Result<(PathBuf, bool, bool)> {
    std::fs::create_dir_all(path).map_err(|e| {
        AppError::Invalid(format!(
            "Cannot use {} as the sync folder: {e}",
            path.display()
        ))
    })?;
    let folder = path
        .canonicalize()
        .map_err(|e| AppError::Invalid(format!("Cannot use {}: {e}", path.display())))?;
    let mut config = state.config()?;
    let replaces = config
        .sync_folder
        .as_ref()
        .is_some_and(|old| *old != folder);
    config.sync_folder = Some(folder.clone());
    config.save(&state.dirs.config_path())?;
    let libraries = state.reader().libraries()?;
    let covered = libraries
        .iter()
        .any(|l| folder.starts_with(&l.root) || l.root.starts_with(&folder));
    if !covered {
        state.writer().add_library(&folder)?;
    }
    Ok((folder, !covered, replaces))
}

#[cfg(test)]
mod tests {
    use super::*;
    use photopro_sync::progress::Progress;

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
        let line = |phase| tray_line(false, Some(&status(phase)), None, None).1;
        assert_eq!(line(Phase::UpToDate), "Up to date");
        assert_eq!(line(Phase::Syncing), "Syncing 10 files");
        assert_eq!(line(Phase::Offline), "Offline");
        assert_eq!(line(Phase::StorageFull), "Storage full");
        assert_eq!(line(Phase::Error), "Sync error: connection refused");
        assert_eq!(line(Phase::AwaitingApproval), "60 deletions held back");
        assert_eq!(line(Phase::Waiting), "Waiting for 1 file to finish copying");
        assert_eq!(
            tray_line(true, Some(&status(Phase::Syncing)), None, None),
            ("paused", "Paused".into())
        );
        assert_eq!(
            tray_line(
                false,
                Some(&status(Phase::UpToDate)),
                Some("Checking 40 files"),
                None
            )
            .1,
            "Checking 40 files"
        );
        let setup = SetupNeeded {
            needs: "folder",
            message: String::new(),
        };
        assert_eq!(tray_line(false, None, None, Some(&setup)).0, "not_set_up");
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
    }
}
