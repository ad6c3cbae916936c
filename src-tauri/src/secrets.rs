//! Where the device token lives: the OS keychain (macOS Keychain, Windows
//! Credential Manager, the Secret Service on Linux) through `keyring`.
//!
//! keyring has no automatic fallback when no Secret Service is running (a
//! headless Linux box, CI). The fallback here is explicit and documented
//! (docs/app.md): with `PHOTOPRO_TOKEN_STORE=file` the token is kept in
//! `device-token` in the config directory, created with mode 0600. Without
//! that variable, a missing keychain is an error the user sees, never a
//! silent downgrade to a plain file.

use crate::error::{AppError, Result};
use std::path::{Path, PathBuf};

const SERVICE: &str = "com.photoproos.storage";
const ACCOUNT: &str = "device-token";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStore {
    Keychain,
    File(PathBuf),
}

impl TokenStore {
    /// The keychain, unless `PHOTOPRO_TOKEN_STORE=file` asks for the file fallback.
    pub fn from_env(config_dir: &Path) -> TokenStore {
        match std::env::var("PHOTOPRO_TOKEN_STORE").as_deref() {
            Ok("file") => TokenStore::File(config_dir.join("device-token")),
            _ => TokenStore::Keychain,
        }
    }

    /// Short description for Settings.
    pub fn describe(&self) -> &'static str {
        match self {
            TokenStore::Keychain => "system keychain",
            TokenStore::File(_) => "file (PHOTOPRO_TOKEN_STORE=file)",
        }
    }

    pub fn get(&self) -> Result<Option<String>> {
        match self {
            TokenStore::Keychain => match entry()?.get_password() {
                Ok(token) => Ok(Some(token)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(error) => Err(keychain_error(error)),
            },
            TokenStore::File(path) => match std::fs::read_to_string(path) {
                Ok(token) => Ok(Some(token.trim().to_string()).filter(|t| !t.is_empty())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(AppError::Secrets(format!(
                    "Cannot read {}: {e}",
                    path.display()
                ))),
            },
        }
    }

    pub fn set(&self, token: &str) -> Result<()> {
        match self {
            TokenStore::Keychain => entry()?.set_password(token).map_err(keychain_error),
            TokenStore::File(path) => write_private(path, token)
                .map_err(|e| AppError::Secrets(format!("Cannot write {}: {e}", path.display()))),
        }
    }

    pub fn clear(&self) -> Result<()> {
        match self {
            TokenStore::Keychain => match entry()?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(error) => Err(keychain_error(error)),
            },
            TokenStore::File(path) => match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(AppError::Secrets(format!(
                    "Cannot remove {}: {e}",
                    path.display()
                ))),
            },
        }
    }
}

fn entry() -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, ACCOUNT).map_err(keychain_error)
}

fn keychain_error(error: keyring::Error) -> AppError {
    AppError::Secrets(format!(
        "The system keychain is not available ({error}). On a computer without a keychain service, \
         start PhotoPro with PHOTOPRO_TOKEN_STORE=file to keep the device token in a private file instead."
    ))
}

/// Write a file only its owner can read (0600 from creation on Unix, so the
/// token is never briefly world-readable).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}
