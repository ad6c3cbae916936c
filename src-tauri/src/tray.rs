//! The tray: a status line ("Up to date", "Syncing 12 files", "Paused",
//! "Offline", "Storage full", errors), pause / resume, sync now, open, quit. Closing the window
//! hides it here instead of quitting, so the app keeps running in the tray.

use crate::state::{AppState, SyncStatus};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

pub const TRAY_ID: &str = "main";

/// The menu items whose text follows the status.
struct TrayItems<R: Runtime> {
    status: MenuItem<R>,
    pause: MenuItem<R>,
    sync_now: MenuItem<R>,
    /// What the tray shows now (the daemon reports twice a second while transferring).
    shown: std::sync::Mutex<Option<(String, bool, bool)>>,
}

/// The tray with its menu; `on_menu` is told which item was chosen (by id:
/// `pause`, `sync_now`, `open`, `quit`).
pub fn create<R: Runtime>(
    app: &AppHandle<R>,
    on_menu: fn(&AppHandle<R>, &str),
) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause syncing", true, None::<&str>)?;
    let sync_now = MenuItem::with_id(app, "sync_now", "Sync now", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open PhotoPro Storage", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit PhotoPro Storage", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &pause,
            &sync_now,
            &open,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("PhotoPro Storage")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| on_menu(app, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(TrayItems {
        status,
        pause,
        sync_now,
        shown: Default::default(),
    });
    show_status(app, &app.state::<AppState>().sync_status());
    Ok(())
}

/// Mirror the status in the tray (no-op when there is no tray, as in tests).
///
/// Called from the sync and scan threads too. Menu and tray calls made off
/// the main thread wait for it, and the main thread may be waiting for those
/// threads (stopping sync on quit): so the update is posted to the main
/// thread, never waited for.
pub fn show_status<R: Runtime>(app: &AppHandle<R>, status: &SyncStatus) {
    let Some(items) = app.try_state::<TrayItems<R>>() else {
        return;
    };
    let running = status.sync.is_some();
    let now = (status.summary.clone(), status.paused, running);
    let unchanged = {
        let mut shown = items.shown.lock().unwrap_or_else(|e| e.into_inner());
        shown.replace(now.clone()) == Some(now)
    };
    if unchanged {
        return;
    }
    let (line, pause, sync_now) = (
        items.status.clone(),
        items.pause.clone(),
        items.sync_now.clone(),
    );
    let (summary, paused) = (status.summary.clone(), status.paused);
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        let _ = line.set_text(&summary);
        let _ = pause.set_text(if paused {
            "Resume syncing"
        } else {
            "Pause syncing"
        });
        let _ = sync_now.set_enabled(running && !paused);
        if let Some(tray) = handle.tray_by_id(TRAY_ID) {
            let _ = tray.set_tooltip(Some(format!("PhotoPro Storage — {summary}")));
        }
    });
}
