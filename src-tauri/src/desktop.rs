//! Desktop integration that is not a command: showing the window, start at
//! login, notifications, composing the usage bar's state, and keeping the
//! organization's folder layout (client names on cards) current.

use crate::api::{self, UsageView};
use crate::state::AppState;
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

/// The usage bar's state from settings, the keychain and the API.
pub async fn usage_view(state: &AppState) -> UsageView {
    let Some(api_url) = state.settings().api_url.filter(|u| !u.is_empty()) else {
        return UsageView::NotConnected {
            reason: "No PhotoProOS account is connected. Pair this computer in Settings.".into(),
        };
    };
    let token = match state.tokens.get() {
        Ok(Some(token)) => token,
        Ok(None) => {
            return UsageView::NotConnected {
                reason: "This computer is not paired yet. Pair it in Settings.".into(),
            }
        }
        Err(error) => {
            return UsageView::NotConnected {
                reason: error.to_string(),
            }
        }
    };
    match api::fetch_usage(&state.http, &api_url, &token).await {
        Ok(usage) => UsageView::Connected {
            upgrade: api::upgrade_offer(&usage),
            usage,
            api_url,
        },
        Err(error) => UsageView::Unreachable {
            api_url,
            message: error.to_string(),
        },
    }
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
    crate::sync::notify(app, state, title, &warning.message);
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
    match api::fetch_organization_settings(&state.http, &api_url, &token).await {
        Ok(settings) => state.set_layout(&settings).unwrap_or(false),
        Err(error) => {
            tracing::debug!(%error, "organization settings not read");
            false
        }
    }
}
