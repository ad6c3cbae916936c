//! The photographer's library on disk: where PhotoPro keeps its data
//! ([`DataDirs`]), the user's settings ([`Config`]), which files are skipped or
//! kept out of sync ([`Filters`]), and the [`scan`] that walks library roots and
//! brings the index up to date.
//!
//! A scan re-reads only what changed: a file whose size, modification time and
//! file identity (device + inode) match the index is not opened. New and
//! changed files are hashed, their metadata read and grid thumbnails rendered
//! on a bounded pool of workers; one writer thread batches the results into
//! the index. Problems with single files are recorded per file and never stop
//! the scan. Previews are not part of a scan: [`thumbnails`] renders one from
//! the original the first time it is asked for, and caches it.
//!
//! ```no_run
//! use photopro_library::{scan::{scan_library, ScanOptions}, Config, DataDirs};
//! let dirs = DataDirs::resolve(None).unwrap();
//! let mut index = photopro_index::Index::open(&dirs.index_path()).unwrap();
//! let library = index.add_library("/home/ana/Shoots".as_ref()).unwrap();
//! let options = ScanOptions::new(&Config::default(), &dirs).unwrap();
//! let report = scan_library(&mut index, library, &options, &mut |_progress| {}).unwrap();
//! println!("{} files read, {} unchanged", report.processed, report.unchanged);
//! ```

mod app_settings;
mod config;
mod dirs;
mod filters;
mod json_file;
pub mod layout;
pub mod organize;
pub mod scan;
pub mod thumbnails;

pub use app_settings::AppSettings;
pub use config::Config;
pub use dirs::DataDirs;
pub use filters::Filters;

use std::path::PathBuf;

/// Errors of the library layer. Per-file problems are not errors here: they
/// are recorded in the index and reported by `status`.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Index(#[from] photopro_index::IndexError),
    #[error("cannot determine a home directory for PhotoPro's data; pass --data-dir")]
    NoHome,
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid: {message}")]
    BadConfig { path: PathBuf, message: String },
    #[error("invalid file pattern {pattern:?}: {message}")]
    BadPattern { pattern: String, message: String },
    #[error("library root {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("scan worker failed: {0}")]
    Worker(String),
    #[error(transparent)]
    Media(#[from] photopro_media::MediaError),
    #[error("no thumbnail for {path}: {reason}")]
    NoThumbnail { path: PathBuf, reason: String },
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;
