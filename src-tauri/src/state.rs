//! What the shell keeps between commands: where the data lives, two index
//! connections (a reader for listings and thumbnails, a writer for changes;
//! scans open their own writer on a worker thread), the settings, the state
//! of the current scan, the sync daemon's slot, the organization's folder
//! layout (for client names) and the token store.

use crate::error::{AppError, Result};
use crate::secrets::TokenStore;
use photopro_index::Index;
use photopro_library::{AppSettings, Config, DataDirs};
use photopro_media::ThumbnailCache;
use photopro_sync::service::Status;
use photopro_sync::supervisor::{self, FinishedUploads, SetupNeeded, Supervisor};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

pub struct AppState {
    pub dirs: DataDirs,
    pub thumbnails: ThumbnailCache,
    reader: Mutex<Index>,
    writer: Mutex<Index>,
    settings: Mutex<AppSettings>,
    pub(crate) scan: Mutex<ScanState>,
    pub tokens: TokenStore,
    pub sync: SyncSlot,
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
    pub setup: Option<SetupNeeded>,
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
        let supervisor = Supervisor::new(dirs.clone(), "app");
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
        Ok(AppState {
            thumbnails: ThumbnailCache::new(dirs.thumbnail_dir()),
            dirs,
            reader: Mutex::new(reader),
            writer: Mutex::new(writer),
            settings: Mutex::new(settings),
            scan: Mutex::new(ScanState::default()),
            tokens,
            sync: SyncSlot::new(supervisor),
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

    /// [`AppState::sync_status`] with [`SyncSlot::in_order`] held.
    pub(crate) fn sync_status_in_order(&self) -> SyncStatus {
        let paused = self.settings().paused;
        let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let indexing = scan.running.then_some(Indexing {
            files_seen: scan.files_seen,
            processed: scan.processed,
            queued: scan.queued,
        });
        let indexing_line = indexing
            .as_ref()
            .map(|i| supervisor::indexing_line(i.files_seen, i.processed, i.queued));
        let engine = self.sync.latest();
        let setup = self.sync.setup();
        let (state, summary) = match (&engine, &setup, &scan.last_error) {
            // Without sync, a failed library scan is the news.
            (None, _, Some(_)) if !paused && indexing.is_none() => {
                ("error", "Indexing stopped with an error".to_string())
            }
            _ => supervisor::status_line(
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

    pub(crate) fn scan_state(&self) -> MutexGuard<'_, ScanState> {
        self.scan.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn organization_path(dirs: &DataDirs) -> PathBuf {
    dirs.config_path().with_file_name("organization.json")
}

/// The sync daemon's slot: its supervisor (`photopro-sync`), and what the
/// shell keeps around it — uploads to announce, notifications shown, and the
/// order statuses are published in.
pub struct SyncSlot {
    pub supervisor: Supervisor,
    /// Files uploaded per folder since sync was last up to date.
    pub uploads: FinishedUploads,
    /// Notifications shown (or, without a notification host, that would have been), newest last.
    pub notified: Mutex<Vec<String>>,
    /// Held while a status is read and published (see [`SyncSlot::in_order`]).
    publishing: Mutex<()>,
    /// The `seq` of the last status read.
    seq: AtomicU64,
    /// Test seam: runs between reading a status and publishing it.
    #[cfg(test)]
    #[allow(clippy::type_complexity)]
    pub(crate) before_publish: Mutex<Option<std::sync::Arc<dyn Fn(&SyncStatus) + Send + Sync>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SyncSlot {
    pub fn new(supervisor: Supervisor) -> SyncSlot {
        SyncSlot {
            supervisor,
            uploads: FinishedUploads::default(),
            notified: Mutex::default(),
            publishing: Mutex::default(),
            seq: AtomicU64::new(0),
            #[cfg(test)]
            before_publish: Mutex::default(),
        }
    }

    pub fn latest(&self) -> Option<Status> {
        self.supervisor.latest()
    }

    pub fn setup(&self) -> Option<SetupNeeded> {
        self.supervisor.setup()
    }

    pub fn is_running(&self) -> bool {
        self.supervisor.is_running()
    }

    /// Call `f` with the running daemon, if any.
    pub fn with_handle(&self, f: impl FnOnce(&photopro_sync::service::SyncHandle)) {
        self.supervisor.with_handle(f)
    }

    /// Stop the daemon (on quit); waits for the current transfer step.
    pub fn stop(&self) {
        self.supervisor.stop()
    }

    /// Which daemon's events count now.
    #[cfg(test)]
    pub(crate) fn generation(&self) -> u64 {
        self.supervisor.generation()
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
    pub(crate) fn before_publish(&self, status: &SyncStatus) {
        let hook = lock(&self.before_publish).clone();
        if let Some(hook) = hook {
            hook(status)
        }
    }
}
