//! The PhotoPro Storage desktop app: a thin Tauri shell over the library
//! crates. It registers the commands the web UI (`ui/`) invokes
//! ([`commands`]), serves thumbnails from the on-disk cache through the
//! `thumb:` URI scheme ([`protocol`]), runs the sync daemon of
//! `photopro-sync` with the app's settings ([`sync`]), keeps a tray with the
//! sync status and pause / resume ([`tray`]), stores the device token in the
//! OS keychain ([`secrets`]) and checks for signed updates
//! (tauri-plugin-updater). All behaviour lives in `photopro-index`,
//! `photopro-library` and `photopro-sync`; nothing here touches SQLite or the
//! disk layout directly.
//!
//! [`build_app`] takes any runtime, so tests drive the real commands on
//! Tauri's mock runtime:
//!
//! ```no_run
//! let state = photopro_app::state::AppState::open(Some("/tmp/photopro-data".into())).unwrap();
//! let app = photopro_app::build_app(tauri::test::mock_builder(), tauri::generate_context!(test = true), state, false).unwrap();
//! # let _ = app;
//! ```

pub mod commands;
mod desktop;
pub mod error;
mod events;
pub mod protocol;
pub mod secrets;
pub mod state;
pub mod sync;
pub mod tray;
mod views;

#[cfg(test)]
mod bindings;
#[cfg(test)]
mod tests;

pub use photopro_sync::account::{upgrade_offer, UpgradeOffer, UsageView};

use tauri::{App, Builder, Context, Manager, Runtime, WindowEvent};

/// Start the desktop app. `PHOTOPRO_DATA_DIR` puts the index, thumbnails and
/// settings under one directory (as `photopro --data-dir` does).
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let data_dir = std::env::var_os("PHOTOPRO_DATA_DIR").map(std::path::PathBuf::from);
    let state = match state::AppState::open(data_dir) {
        Ok(state) => state,
        Err(error) => {
            eprintln!("PhotoPro Storage cannot start: {error}");
            std::process::exit(1);
        }
    };
    let app = build_app(Builder::default(), tauri::generate_context!(), state, true)
        .expect("PhotoPro Storage failed to start");
    quit_on_termination_signals(app.handle());
    app.run(|app, event| {
        if let tauri::RunEvent::Exit = event {
            // Let the current transfer step finish, for a few seconds at most:
            // whatever is cut off resumes at the next start.
            let app = app.clone();
            let (done, stopped) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                app.state::<state::AppState>().sync.stop();
                let _ = done.send(());
            });
            match stopped.recv_timeout(std::time::Duration::from_secs(5)) {
                Ok(()) => tracing::info!("PhotoPro Storage quit; sync stopped cleanly"),
                Err(_) => tracing::warn!("PhotoPro Storage quit while sync was still stopping; it resumes at the next start"),
            }
        }
    });
}

/// What each tray menu item does (also called directly by tests: a tray host
/// cannot be clicked under Xvfb).
pub fn handle_tray_menu<R: Runtime>(app: &tauri::AppHandle<R>, id: &str) {
    match id {
        "pause" => {
            let state = app.state::<state::AppState>();
            let paused = !state.settings().paused;
            if let Err(error) = state.set_paused(paused) {
                tracing::error!(%error, "cannot save the paused setting");
            }
            events::publish_status(app, &state);
        }
        "sync_now" => app
            .state::<state::AppState>()
            .sync
            .with_handle(|h| h.sync_now()),
        "open" => desktop::show_main_window(app),
        "quit" => app.exit(0),
        _ => {}
    }
}

/// Logout, shutdown and `kill` send SIGTERM (a terminal SIGINT or SIGHUP):
/// quit as the tray's Quit does, so sync stops cleanly instead of the process
/// dying mid-step. (Windows asks running apps to close through their windows,
/// which Tauri already turns into the same exit.)
#[cfg(unix)]
fn quit_on_termination_signals<R: Runtime>(app: &tauri::AppHandle<R>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
        Ok(signals) => signals,
        Err(error) => {
            tracing::warn!(%error, "termination signals not handled; a kill ends sync mid-step");
            return;
        }
    };
    let app = app.clone();
    let _ = std::thread::Builder::new()
        .name("photopro-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                tracing::info!(signal, "asked to quit");
                app.exit(0);
            }
        });
}

#[cfg(not(unix))]
fn quit_on_termination_signals<R: Runtime>(_app: &tauri::AppHandle<R>) {}

/// Assemble the app on any runtime. `desktop` adds what only a real desktop
/// session has: single instance, tray, start at login, notifications, hiding
/// to the tray on close, and a scan of the libraries at launch.
pub fn build_app<R: Runtime>(
    mut builder: Builder<R>,
    context: Context<R>,
    state: state::AppState,
    desktop: bool,
) -> tauri::Result<App<R>> {
    if desktop {
        builder = builder
            // Must be the first plugin: a second launch only focuses the first.
            .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
                desktop::show_main_window(app)
            }))
            .plugin(tauri_plugin_autostart::init(
                tauri_plugin_autostart::MacosLauncher::LaunchAgent,
                None,
            ))
            .plugin(tauri_plugin_notification::init())
            .on_window_event(|window, event| {
                // Closing the window keeps PhotoPro running in the tray (unless the user turned that off).
                if let WindowEvent::CloseRequested { api, .. } = event {
                    let app = window.app_handle();
                    if app.tray_by_id(tray::TRAY_ID).is_some()
                        && app.state::<state::AppState>().settings().close_to_tray
                    {
                        api.prevent_close();
                        let _ = window.hide();
                    }
                }
            });
    }
    // Without the desktop parts (tests, the fixture dumper) sync never starts:
    // the status says why. On the desktop `sync::apply` finds out off the main
    // thread (the keychain may take a moment).
    if !desktop {
        sync::note_setup(&state);
    }
    builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(state)
        .register_asynchronous_uri_scheme_protocol(protocol::SCHEME, protocol::handle)
        .invoke_handler(tauri::generate_handler![
            commands::open_folder,
            commands::library_tree,
            commands::library_status,
            commands::folder_strip,
            commands::asset_details,
            commands::find_assets,
            commands::set_cover,
            commands::move_assets,
            commands::copy_assets,
            commands::move_folder,
            commands::trash_assets,
            commands::trash_folder,
            commands::list_trash,
            commands::restore_trash,
            commands::delete_trash,
            commands::import_files,
            commands::add_library,
            commands::remove_library,
            commands::rescan,
            commands::sync_status,
            commands::set_paused,
            commands::sync_now,
            commands::approve_deletions,
            commands::set_sync_folder,
            commands::list_conflicts,
            commands::resolve_conflict,
            commands::list_sync_trash,
            commands::restore_sync_trash,
            commands::get_settings,
            commands::save_settings,
            commands::pair_device,
            commands::sign_out,
            commands::usage,
        ])
        .setup(move |app| {
            if desktop {
                // A desktop without a tray host (some Linux sessions) still runs the app.
                if let Err(error) = tray::create(app.handle(), handle_tray_menu) {
                    tracing::warn!(%error, "no tray icon");
                }
                events::start_scan(app.handle().clone());
                sync::apply(app.handle());
            }
            Ok(())
        })
        .build(context)
}
