//! The one error type that crosses the IPC boundary. It serializes as
//! `{ "kind": "...", "message": "..." }` so the UI can branch on `kind` and
//! show `message` (already plain language) as is.

use serde::ser::SerializeStruct;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Index(#[from] photopro_index::IndexError),
    #[error(transparent)]
    Library(#[from] photopro_library::LibraryError),
    /// The hosted API answered with an error or could not be reached.
    #[error("{0}")]
    Api(String),
    /// Sync: resolving a conflict, restoring from the sync trash.
    #[error("{}", sync_message(.0))]
    Sync(#[from] photopro_sync::SyncError),
    /// The keychain (or the file fallback) failed.
    #[error("{0}")]
    Secrets(String),
    /// The request itself does not make sense (bad URL, empty selection, …).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
}

/// The sync crate's errors in words for a person.
fn sync_message(error: &photopro_sync::SyncError) -> String {
    use photopro_sync::SyncError::*;
    match error {
        NotFound(what) => format!("{what} is no longer there."),
        Precondition(why) => format!("Nothing was changed: {why}."),
        Io(why) => format!("The sync folder could not be changed: {why}"),
        other => other.to_string(),
    }
}

impl AppError {
    /// A failed call to the hosted API (`photopro_sync::account`): its sentence as is.
    pub fn api(error: photopro_sync::SyncError) -> AppError {
        AppError::Api(error.reason().to_string())
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Index(photopro_index::IndexError::NotFound { .. }) => "not_found",
            AppError::Index(_) => "index",
            AppError::Library(photopro_library::LibraryError::Index(
                photopro_index::IndexError::NotFound { .. },
            )) => "not_found",
            AppError::Library(_) => "library",
            AppError::Sync(photopro_sync::SyncError::NotFound(_)) => "not_found",
            AppError::Sync(_) => "sync",
            AppError::Api(_) => "api",
            AppError::Secrets(_) => "secrets",
            AppError::Invalid(_) => "invalid",
            AppError::Tauri(_) => "internal",
        }
    }
}

impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}
