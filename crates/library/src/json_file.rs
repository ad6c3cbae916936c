//! Settings files: JSON, read leniently about absence, written atomically.

use crate::{LibraryError, Result};
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

/// Read `path`; a missing file is `T::default()`, a damaged one a clear error naming it.
pub(crate) fn load_or_default<T: DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LibraryError::BadConfig {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(LibraryError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Write `value` as pretty JSON through a temp file and a rename, so a crash
/// never leaves half a file.
pub(crate) fn save_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let temp = path.with_extension("json.tmp");
    std::fs::write(
        &temp,
        serde_json::to_vec_pretty(value).expect("settings serialize"),
    )
    .map_err(io)?;
    std::fs::rename(&temp, path).map_err(io)
}
