//! Desktop integration that is not a command: showing the window, start at
//! login, notifications, composing the usage bar's state, and keeping the
//! organization's folder layout (client names on cards) current.

use crate::state::AppState;
use photopro_sync::account::{ApiClient, UsageView, DEFAULT_TIMEOUT};
use std::sync::atomic::{AtomicU32, Ordering};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_notification::NotificationExt as _;

pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Register or unregister the login item (when the plugin is present).
pub fn apply_start_at_login<R: Runtime>(app: &AppHandle<R>, enabled: bool) {
    if app
        .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_none()
    {
        return;
    }
    let launcher = app.autolaunch();
    let result = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    if let Err(error) = result {
        tracing::warn!(%error, "cannot change start at login");
    }
}

/// The usage bar's state from settings, the keychain and the API
/// (`UsageView::read`, on a blocking thread).
pub async fn usage_view(state: &AppState) -> UsageView {
    let api_url = state.settings().api_url;
    let token = state.tokens.get().map_err(|e| e.to_string());
    blocking(move || UsageView::read(api_url.as_deref(), token))
        .await
        .unwrap_or_else(|error| UsageView::NotConnected {
            reason: error.to_string(),
        })
}

/// Run blocking work (the API client, the keychain) off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> crate::error::Result<T> {
    Ok(tauri::async_runtime::spawn_blocking(work).await?)
}

/// The highest warning threshold already notified in this session.
static LAST_WARNED_PERCENT: AtomicU32 = AtomicU32::new(0);

/// Notify once per threshold crossed (80 %, 95 %) when notifications are on.
pub fn notify_usage_warning<R: Runtime>(app: &AppHandle<R>, state: &AppState, view: &UsageView) {
    let UsageView::Connected { usage, .. } = view else {
        return;
    };
    let Some(warning) = &usage.warning else {
        return;
    };
    if !state.settings().notifications
        || LAST_WARNED_PERCENT.fetch_max(warning.threshold_percent, Ordering::SeqCst)
            >= warning.threshold_percent
    {
        return;
    }
    let title = if warning.threshold_percent >= 95 {
        "Storage almost full"
    } else {
        "Storage filling up"
    };
    notify(app, state, title, &warning.message);
}

/// Show a notification when the user wants them (and a notification host
/// exists); the last 50 are kept in `state.sync.notified`.
pub fn notify<R: Runtime>(app: &AppHandle<R>, state: &AppState, title: &str, body: &str) {
    if !state.settings().notifications {
        return;
    }
    {
        let mut notified = state
            .sync
            .notified
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        notified.push(format!("{title}: {body}"));
        let excess = notified.len().saturating_sub(50);
        notified.drain(..excess);
    }
    show_notification(app, title, body);
}

/// A desktop notification, when the app has a notification host (not in tests).
pub fn show_notification<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if app
        .try_state::<tauri_plugin_notification::Notification<R>>()
        .is_some()
    {
        let _ = app
            .notification()
            .builder()
            .title(format!("PhotoPro Storage — {title}"))
            .body(body)
            .show();
    }
}

/// Read the organization's settings from the API and adopt its folder layout;
/// `true` when it changed (cards then show different clients).
pub async fn refresh_organization(state: &AppState) -> bool {
    let Some(api_url) = state.settings().api_url.filter(|u| !u.is_empty()) else {
        return false;
    };
    let Ok(Some(token)) = state.tokens.get() else {
        return false;
    };
    let read = blocking(move || {
        ApiClient::new(&api_url, Some(&token), DEFAULT_TIMEOUT)?.organization_settings()
    });
    match read
        .await
        .and_then(|r| r.map_err(crate::error::AppError::api))
    {
        Ok(settings) => state.set_layout(&settings).unwrap_or(false),
        Err(error) => {
            tracing::debug!(%error, "organization settings not read");
            false
        }
    }
}
