use crate::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The user's settings, stored as JSON in the config directory. Unknown keys
/// are kept out; missing keys take their defaults, so old files keep working.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LibraryConfig"))]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Sync camera RAW originals too (off by default: they are large).
    pub sync_raw: bool,
    /// Extra name patterns (globs, case-insensitive) to skip entirely, on top of the built-in ones.
    pub skip_patterns: Vec<String>,
    /// Name patterns to index but keep out of sync.
    pub sync_exclude_patterns: Vec<String>,
    /// Media workers; 0 means one per CPU core.
    pub workers: usize,
    /// The folder kept in two-way sync with PhotoProOS Storage.
    pub sync_folder: Option<std::path::PathBuf>,
}

impl Config {
    /// Load from `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Config> {
        crate::json_file::load_or_default(path)
    }

    /// Save atomically (temp file + rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::json_file::save_atomic(path, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_default_and_bad_json_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
        std::fs::write(&path, b"{ not json").unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("config.json") && error.contains("not valid"),
            "{error}"
        );
        std::fs::write(&path, br#"{"sync_raw": true, "bogus": 1}"#).unwrap();
        assert!(Config::load(&path)
            .unwrap_err()
            .to_string()
            .contains("bogus"));
    }

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let config = Config {
            sync_raw: true,
            skip_patterns: vec!["*.bak".into()],
            ..Default::default()
        };
        config.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), config);
    }
}
