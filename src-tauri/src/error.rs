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
    /// The keychain (or the file fallback) failed.
    #[error("{0}")]
    Secrets(String),
    /// The request itself does not make sense (bad URL, empty selection, …).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Index(photopro_index::IndexError::NotFound { .. }) => "not_found",
            AppError::Index(_) => "index",
            AppError::Library(photopro_library::LibraryError::Index(photopro_index::IndexError::NotFound { .. })) => "not_found",
            AppError::Library(_) => "library",
            AppError::Api(_) => "api",
            AppError::Secrets(_) => "secrets",
            AppError::Invalid(_) => "invalid",
            AppError::Tauri(_) => "internal",
        }
    }
}

impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}
