use crate::error::{MediaError, Result};
use crate::hash::ContentHash;
use crate::thumbnail::EncodedImage;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The two renderings kept per photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbnailSize {
    /// ~400 px, rendered by the scan: every indexed photo has one.
    Grid,
    /// ~1600 px, rendered the first time it is asked for.
    Preview,
}

impl ThumbnailSize {
    /// "grid thumbnail" / "preview", for messages.
    pub fn describe(self) -> &'static str {
        match self {
            ThumbnailSize::Grid => "grid thumbnail",
            ThumbnailSize::Preview => "preview",
        }
    }
}

/// Thumbnails on disk, addressed by content hash: `<root>/ab/abcdef…-grid.jpg`.
///
/// Content addressing means identical photos share one rendering and a moved or
/// renamed photo keeps its thumbnail with no work at all.
#[derive(Debug, Clone)]
pub struct ThumbnailCache {
    root: PathBuf,
}

/// Distinguishes the temp files of concurrent writers in one process (two
/// requests for the same preview may render it at once).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ThumbnailCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, hash: &ContentHash, size: ThumbnailSize) -> PathBuf {
        let hex = hash.to_hex();
        let suffix = match size {
            ThumbnailSize::Grid => "grid",
            ThumbnailSize::Preview => "preview",
        };
        self.root
            .join(&hex[..2])
            .join(format!("{hex}-{suffix}.jpg"))
    }

    /// Whether this rendering of this content already exists.
    pub fn contains(&self, hash: &ContentHash, size: ThumbnailSize) -> bool {
        self.path(hash, size).is_file()
    }

    /// The stored rendering, or `None` when it has not been made yet.
    pub fn read(&self, hash: &ContentHash, size: ThumbnailSize) -> Result<Option<Vec<u8>>> {
        let path = self.path(hash, size);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(MediaError::Io { path, source }),
        }
    }

    /// Write one rendering atomically (temp file + rename), so a crash never
    /// leaves a half-written JPEG that later looks valid, and a reader never
    /// sees one being written.
    pub fn store(
        &self,
        hash: &ContentHash,
        size: ThumbnailSize,
        image: &EncodedImage,
    ) -> Result<()> {
        let path = self.path(hash, size);
        let write_error = |source| MediaError::WriteThumbnail {
            path: path.clone(),
            source,
        };
        let dir = path.parent().expect("cache paths have a parent");
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let temp = dir.join(format!(
            ".{}.{}-{}.tmp",
            path.file_name().unwrap().to_string_lossy(),
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if let Err(error) = std::fs::write(&temp, &image.jpeg) {
            let _ = std::fs::remove_file(&temp);
            return Err(write_error(error));
        }
        std::fs::rename(&temp, &path).map_err(write_error)
    }
}
