//! The desktop app's own settings, next to the scanner's `config.json` in
//! `app.json`: the API to talk to, whether sync is paused, start at login,
//! notifications, bandwidth limits. The device token is deliberately not here:
//! it lives in the OS keychain (see the app's `secrets` module).

use crate::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct AppSettings {
    /// Base URL of the PhotoProOS Storage API, e.g. `https://api.photoproos.com`.
    pub api_url: Option<String>,
    /// The user paused sync from the tray or the app; survives restarts.
    pub paused: bool,
    /// Launch at login (opt-in).
    pub start_at_login: bool,
    /// Closing the window keeps PhotoPro running in the tray (sync continues);
    /// off, closing the window quits.
    pub close_to_tray: bool,
    /// Desktop notifications for finished uploads, cap warnings and conflicts.
    pub notifications: bool,
    /// Upload / download limits in KiB/s; `None` is unlimited.
    pub upload_limit_kib: Option<u32>,
    pub download_limit_kib: Option<u32>,
    /// The name this computer is registered under when paired.
    pub device_name: Option<String>,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            api_url: None,
            paused: false,
            start_at_login: false,
            close_to_tray: true,
            notifications: true,
            upload_limit_kib: None,
            download_limit_kib: None,
            device_name: None,
        }
    }
}

impl AppSettings {
    /// `app.json` beside the scanner's `config.json`.
    pub fn path_for(config_path: &Path) -> PathBuf {
        config_path.with_file_name("app.json")
    }

    /// Load; a missing file gives the defaults, a damaged one a clear error.
    pub fn load(path: &Path) -> Result<AppSettings> {
        crate::json_file::load_or_default(path)
    }

    /// Save atomically (temp file + rename) so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::json_file::save_atomic(path, self)
    }

    /// Check what the user typed before it is saved.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(url) = &self.api_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.starts_with('/') => {}
                _ => return Err(format!("The API address must start with https:// (or http:// for a local server): {url:?}")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_old_files_keep_working() {
        let dir = tempfile::tempdir().unwrap();
        let path = AppSettings::path_for(&dir.path().join("config.json"));
        assert_eq!(path, dir.path().join("app.json"));
        assert_eq!(AppSettings::load(&path).unwrap(), AppSettings::default());
        let settings = AppSettings {
            paused: true,
            api_url: Some("http://127.0.0.1:8787".into()),
            ..Default::default()
        };
        settings.save(&path).unwrap();
        assert_eq!(AppSettings::load(&path).unwrap(), settings);
        std::fs::write(&path, br#"{"paused": true}"#).unwrap();
        let loaded = AppSettings::load(&path).unwrap();
        assert!(
            loaded.paused && loaded.notifications && loaded.close_to_tray,
            "missing keys take defaults"
        );
        std::fs::write(&path, b"{oops").unwrap();
        assert!(AppSettings::load(&path)
            .unwrap_err()
            .to_string()
            .contains("app.json"));
    }

    #[test]
    fn api_url_must_be_http_or_https_with_a_host() {
        let with = |url: &str| {
            AppSettings {
                api_url: Some(url.into()),
                ..Default::default()
            }
            .validate()
        };
        assert!(with("https://api.photoproos.com").is_ok());
        assert!(with("http://127.0.0.1:8787").is_ok());
        assert!(with("ftp://x").is_err());
        assert!(with("https://").is_err());
        assert!(AppSettings::default().validate().is_ok());
    }
}
