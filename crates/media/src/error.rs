use std::path::PathBuf;

/// Everything that can go wrong while reading a photo's bytes, metadata or pixels.
///
/// Media errors are per-file and never fatal to a scan or a sync: the caller
/// records the message next to the asset and moves on.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("file changed while it was being read (size or modification time moved); it will be read again on the next scan")]
    ChangedWhileReading,
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not a decodable image: {0}")]
    Decode(String),
    #[error(
        "image is {width}×{height} = {pixels} pixels, above the safety limit of {limit} pixels"
    )]
    TooManyPixels {
        width: u64,
        height: u64,
        pixels: u64,
        limit: u64,
    },
    #[error("cannot write thumbnail {path}: {source}")]
    WriteThumbnail {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode thumbnail: {0}")]
    Encode(String),
    #[error("no {size} for {path}: {reason}")]
    NoRendering {
        path: PathBuf,
        size: &'static str,
        reason: String,
    },
    #[error("{path} changed since it was indexed; rescan the library to see the new version")]
    ChangedSinceIndexed { path: PathBuf },
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
