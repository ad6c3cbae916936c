//! The sync daemon inside the app: glue between
//! `photopro_sync::supervisor::Supervisor` (which decides when the daemon
//! starts, restarts or stops, and holds the library) and Tauri. Supervisor
//! news becomes the tray line and `sync-status` events; passes become
//! notifications, `sync-pass` events and library rescans.

use crate::error::{AppError, Result};
use crate::events;
use crate::state::AppState;
use photopro_sync::service::{PassSummary, Phase, ServiceEvent, Status};
use photopro_sync::supervisor::{self, Host, Inputs, SetupNeeded};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// Sent after every pass (its counts): the UI reloads conflicts, the sync trash and usage.
pub const PASS_EVENT: &str = "sync-pass";

/// The app as the supervisor's host.
struct Shell<R: Runtime>(AppHandle<R>);

impl<R: Runtime> Host for Shell<R> {
    fn inputs(&self) -> Inputs {
        inputs(&self.0.state::<AppState>())
    }

    fn status_changed(&self) {
        events::publish_status(&self.0, &self.0.state::<AppState>());
    }

    fn engine_event(&self, event: &ServiceEvent, before: Option<&Status>) {
        let (app, state) = (&self.0, self.0.state::<AppState>());
        match event {
            ServiceEvent::Status(status) => {
                if let Some((title, body)) = supervisor::storage_full_notice(status, before) {
                    crate::desktop::notify(app, &state, title, body);
                }
                events::publish_status(app, &state);
            }
            ServiceEvent::PassFinished(pass) => on_pass(app, &state, pass),
        }
    }
}

/// The settings and the keychain's token, as the supervisor reads them.
fn inputs(state: &AppState) -> Inputs {
    Inputs {
        config: state.config().map_err(|e| e.to_string()),
        settings: state.settings(),
        token: state.tokens.get().map_err(|e| e.to_string()),
    }
}

/// Record why sync cannot start, without starting it (apps built without the
/// desktop parts: tests, the fixture dumper).
pub fn note_setup(state: &AppState) {
    state.sync.supervisor.note_setup(&inputs(state));
}

/// Bring the daemon in line with the settings, on a worker thread (stopping
/// a daemon waits for its current transfer step; the UI must not).
pub fn apply<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    std::thread::spawn(move || apply_now(&app));
}

/// [`apply`], blocking (see `Supervisor::apply`).
pub fn apply_now<R: Runtime>(app: &AppHandle<R>) {
    let shell = Arc::new(Shell(app.clone()));
    app.state::<AppState>().sync.supervisor.apply(shell);
}

/// An event of the daemon started as `generation` (older ones are dropped),
/// as the supervisor passes them on (tests feed events through here).
#[cfg(test)]
pub(crate) fn on_event<R: Runtime>(app: &AppHandle<R>, generation: u64, event: &ServiceEvent) {
    let supervisor = app.state::<AppState>().sync.supervisor.clone();
    supervisor.event(generation, event, &Shell(app.clone()));
}

fn on_pass<R: Runtime>(app: &AppHandle<R>, state: &AppState, pass: &PassSummary) {
    let up_to_date = state
        .sync
        .latest()
        .is_some_and(|s| s.phase == Phase::UpToDate);
    for line in state.sync.uploads.pass(pass, up_to_date) {
        crate::desktop::notify(app, state, "Upload finished", &line);
    }
    if pass.conflicts > 0 {
        let line = supervisor::conflicts_line(pass.conflicts);
        crate::desktop::notify(app, state, "Choose which version to keep", &line);
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
        events::start_scan(app.clone());
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
            state.sync.supervisor.set_setup(SetupNeeded {
                needs: "folder",
                message: format!("The sync folder could not be changed: {error}"),
            });
            events::publish_status(&app, &state);
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
