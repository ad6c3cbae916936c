//! What the shell keeps between commands: where the data lives, two index
//! connections (a reader for listings and thumbnails, a writer for changes;
//! scans open their own writer on a worker thread), the settings, the state
//! of the current scan, the sync daemon's slot, the organization's folder
//! layout (for client names), an HTTP client and the token store.

use crate::error::{AppError, Result};
use crate::secrets::TokenStore;
use photopro_index::{Index, LibraryId};
use photopro_library::{scan, AppSettings, Config, DataDirs};
use photopro_media::ThumbnailCache;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use tauri::{AppHandle, Emitter, Runtime};

/// Event carrying a fresh [`SyncStatus`] whenever it changes.
pub const STATUS_EVENT: &str = "sync-status";
/// Event telling the UI that folders or photos changed (scan finished, import).
pub const LIBRARY_EVENT: &str = "library-changed";

pub struct AppState {
    pub dirs: DataDirs,
    pub thumbnails: ThumbnailCache,
    reader: Mutex<Index>,
    writer: Mutex<Index>,
    settings: Mutex<AppSettings>,
    pub(crate) scan: Mutex<ScanState>,
    pub http: reqwest::Client,
    pub tokens: TokenStore,
    pub sync: crate::sync::SyncSlot,
    /// The organization's folder levels (`GET /v1/settings`), cached in `organization.json`.
    layout: Mutex<Vec<photopro_wire::OrganizationLevel>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanState {
    pub running: bool,
    /// Another scan was asked for while one ran: run again when it ends.
    #[serde(skip)]
    pub again: bool,
    pub files_seen: u64,
    pub processed: u64,
    pub queued: u64,
    pub last_error: Option<String>,
    pub last_finished: Option<i64>,
}

/// The state the tray, the status bar and the Sync screen show: the sync
/// daemon's own status when it runs, why it does not when it cannot, and the
/// library scan's progress.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SyncStatus {
    /// `paused`, `syncing`, `up_to_date`, `waiting`, `offline`, `storage_full`,
    /// `awaiting_approval`, `error`, `starting`, `stopped`, `indexing` or `not_set_up`.
    #[ts(
        type = "\"paused\" | \"syncing\" | \"up_to_date\" | \"waiting\" | \"offline\" | \"storage_full\" | \"awaiting_approval\" | \"error\" | \"starting\" | \"stopped\" | \"indexing\" | \"not_set_up\""
    )]
    pub state: String,
    pub paused: bool,
    /// A few words for the tray and the status bar ("Syncing 12 files").
    pub summary: String,
    pub indexing: Option<Indexing>,
    /// The library scan's last error.
    pub last_error: Option<String>,
    pub last_scan_finished: Option<i64>,
    /// The daemon's status (phase, one-line summary, transfers with progress
    /// and ETA, held-back deletions, last error); `None` when it is not running.
    pub sync: Option<photopro_sync::service::Status>,
    /// Why sync is not running, and what fixes it.
    pub setup: Option<crate::sync::SetupNeeded>,
    pub sync_folder: Option<PathBuf>,
    /// Order of computation: a status read later has a larger number. Events
    /// and command answers reach the webview by different paths and can
    /// arrive out of order; the UI keeps the status with the largest `seq`.
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct Indexing {
    pub files_seen: u64,
    pub processed: u64,
    pub queued: u64,
}

impl AppState {
    /// Open (creating if needed) the index and settings under `data_dir`, or the
    /// platform's directories when `None`.
    pub fn open(data_dir: Option<PathBuf>) -> Result<AppState> {
        let dirs = DataDirs::resolve(data_dir.as_deref())?;
        let writer = Index::open(&dirs.index_path())?;
        let reader = Index::open_read_only(&dirs.index_path())?;
        let settings = AppSettings::load(&AppSettings::path_for(&dirs.config_path()))?;
        let tokens = TokenStore::from_env(
            dirs.config_path()
                .parent()
                .expect("config file has a directory"),
        );
        let layout =
            photopro_library::layout::load_rules(&organization_path(&dirs)).unwrap_or_default();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .user_agent(concat!("PhotoPro-Storage/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AppError::Api(e.to_string()))?;
        Ok(AppState {
            thumbnails: ThumbnailCache::new(dirs.thumbnail_dir()),
            dirs,
            reader: Mutex::new(reader),
            writer: Mutex::new(writer),
            settings: Mutex::new(settings),
            scan: Mutex::new(ScanState::default()),
            http,
            tokens,
            sync: Default::default(),
            layout: Mutex::new(layout),
        })
    }

    pub fn reader(&self) -> MutexGuard<'_, Index> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn writer(&self) -> MutexGuard<'_, Index> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> AppSettings {
        self.settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn config(&self) -> Result<Config> {
        Ok(Config::load(&self.dirs.config_path())?)
    }

    /// Validate, persist, then adopt new settings.
    pub fn save_settings(&self, settings: AppSettings) -> Result<()> {
        settings.validate().map_err(AppError::Invalid)?;
        settings.save(&AppSettings::path_for(&self.dirs.config_path()))?;
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings;
        Ok(())
    }

    pub fn sync_status(&self) -> SyncStatus {
        let _in_order = self.sync.in_order();
        self.sync_status_in_order()
    }

    /// [`AppState::sync_status`] with [`crate::sync::SyncSlot::in_order`] held.
    fn sync_status_in_order(&self) -> SyncStatus {
        let paused = self.settings().paused;
        let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let indexing = scan.running.then_some(Indexing {
            files_seen: scan.files_seen,
            processed: scan.processed,
            queued: scan.queued,
        });
        let indexing_line = indexing.as_ref().map(|i| {
            if i.queued > 0 {
                format!("Indexing {} of {} new files", i.processed, i.queued)
            } else if i.files_seen > 0 {
                format!("Checking {} files", i.files_seen)
            } else {
                "Checking the library…".to_string()
            }
        });
        let engine = self.sync.latest();
        let setup = self.sync.setup();
        let (state, summary) = match (&engine, &setup, &scan.last_error) {
            // Without sync, a failed library scan is the news.
            (None, _, Some(_)) if !paused && indexing.is_none() => {
                ("error", "Indexing stopped with an error".to_string())
            }
            _ => crate::sync::tray_line(
                paused,
                engine.as_ref(),
                indexing_line.as_deref(),
                setup.as_ref(),
            ),
        };
        SyncStatus {
            state: state.into(),
            paused,
            summary,
            indexing,
            last_error: scan.last_error,
            last_scan_finished: scan.last_finished,
            sync: engine,
            setup,
            sync_folder: self.config().ok().and_then(|c| c.sync_folder),
            seq: self.sync.next_seq(),
        }
    }

    /// Pause or resume, persisted so it survives a restart, and passed to the daemon.
    pub fn set_paused(&self, paused: bool) -> Result<SyncStatus> {
        self.save_settings(AppSettings {
            paused,
            ..self.settings()
        })?;
        self.sync.with_handle(|handle| {
            if paused {
                handle.pause()
            } else {
                handle.resume()
            }
        });
        Ok(self.sync_status())
    }

    /// The organization's folder levels, as last read from the API.
    pub fn layout(&self) -> Vec<photopro_wire::OrganizationLevel> {
        self.layout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Adopt (and cache) the organization's settings; `true` when the layout changed.
    pub fn set_layout(&self, settings: &photopro_wire::OrganizationSettings) -> Result<bool> {
        let mut layout = self.layout.lock().unwrap_or_else(|e| e.into_inner());
        if *layout == settings.organization_rules {
            return Ok(false);
        }
        photopro_library::layout::save_rules(&organization_path(&self.dirs), settings)?;
        *layout = settings.organization_rules.clone();
        Ok(true)
    }

    fn scan_state(&self) -> MutexGuard<'_, ScanState> {
        self.scan.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn organization_path(dirs: &DataDirs) -> PathBuf {
    dirs.config_path().with_file_name("organization.json")
}

/// Tell the window(s) and the tray that the status changed.
/// Read and sent as one step: of two threads publishing at once (the daemon,
/// a scan, a command), the one that read the newer state also sends last.
pub fn publish_status<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    let _in_order = state.sync.in_order();
    let status = state.sync_status_in_order();
    #[cfg(test)]
    state.sync.before_publish(&status);
    crate::tray::show_status(app, &status);
    let _ = app.emit(STATUS_EVENT, status);
}

/// Scan every library on a worker thread (the scanner's own pool does the
/// work), streaming progress as [`STATUS_EVENT`] and ending with
/// [`LIBRARY_EVENT`]. A request during a scan queues exactly one more pass.
pub fn start_scan<R: Runtime>(app: AppHandle<R>) {
    use tauri::Manager;
    let state = app.state::<AppState>();
    {
        let mut scan = state.scan_state();
        if scan.running {
            scan.again = true;
            return;
        }
        *scan = ScanState {
            running: true,
            last_finished: scan.last_finished,
            ..ScanState::default()
        };
    }
    publish_status(&app, &state);
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        loop {
            let result = scan_all_libraries(&app, &state);
            let again = {
                let mut scan = state.scan_state();
                scan.last_error = result.err().map(|e| e.to_string());
                scan.last_finished = Some(unix_now());
                let again = std::mem::take(&mut scan.again);
                scan.running = again;
                again
            };
            publish_status(&app, &state);
            let _ = app.emit(LIBRARY_EVENT, ());
            if !again {
                break;
            }
        }
    });
}

fn scan_all_libraries<R: Runtime>(app: &AppHandle<R>, state: &AppState) -> Result<()> {
    let options = scan::ScanOptions::new(&state.config()?, &state.dirs)?;
    // The scan's writer is its own connection, so the UI keeps reading meanwhile.
    let mut index = Index::open(&state.dirs.index_path())?;
    let libraries: Vec<LibraryId> = index.libraries()?.into_iter().map(|l| l.id).collect();
    let mut last_publish = std::time::Instant::now();
    for library in libraries {
        scan::scan_library(&mut index, library, &options, &mut |progress| {
            {
                let mut scan = state.scan_state();
                scan.files_seen = progress.files_seen;
                scan.processed = progress.processed;
                scan.queued = progress.queued;
            }
            if last_publish.elapsed() > std::time::Duration::from_millis(250) {
                last_publish = std::time::Instant::now();
                publish_status(app, state);
            }
        })?;
    }
    Ok(())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
