//! What the shell tells the webview and the tray: the status (read and sent
//! in order), library changes, and the library scan that streams its
//! progress as statuses.

use crate::error::Result;
use crate::state::{AppState, ScanState};
use photopro_index::{Index, LibraryId};
use photopro_library::scan;
use tauri::{AppHandle, Emitter, Runtime};

/// Event carrying a fresh [`crate::state::SyncStatus`] whenever it changes.
pub const STATUS_EVENT: &str = "sync-status";
/// Event telling the UI that folders or photos changed (scan finished, import).
pub const LIBRARY_EVENT: &str = "library-changed";

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
