//! The tray: a status line, pause / resume, open, quit. Closing the window
//! hides it here instead of quitting, so the app keeps running in the tray.

use crate::state::{self, AppState, SyncStatus};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

pub const TRAY_ID: &str = "main";

/// The menu items whose text follows the status.
struct TrayItems<R: Runtime> {
    status: MenuItem<R>,
    pause: MenuItem<R>,
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause syncing", true, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open PhotoPro Storage", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit PhotoPro Storage", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[&status, &PredefinedMenuItem::separator(app)?, &pause, &open, &PredefinedMenuItem::separator(app)?, &quit],
    )?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("PhotoPro Storage")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| handle_menu(app, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(TrayItems { status, pause });
    show_status(app, &app.state::<AppState>().sync_status());
    Ok(())
}

/// What each tray menu item does (also called directly by tests: a tray host
/// cannot be clicked under Xvfb).
pub fn handle_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        "pause" => {
            let state = app.state::<AppState>();
            let paused = !state.settings().paused;
            if let Err(error) = state.set_paused(paused) {
                tracing::error!(%error, "cannot save the paused setting");
            }
            state::publish_status(app, &state);
        }
        "open" => crate::desktop::show_main_window(app),
        "quit" => app.exit(0),
        _ => {}
    }
}

/// Mirror the status in the tray (no-op when there is no tray, as in tests).
pub fn show_status<R: Runtime>(app: &AppHandle<R>, status: &SyncStatus) {
    if let Some(items) = app.try_state::<TrayItems<R>>() {
        let _ = items.status.set_text(&status.summary);
        let _ = items.pause.set_text(if status.paused { "Resume syncing" } else { "Pause syncing" });
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(format!("PhotoPro Storage — {}", status.summary)));
    }
}
