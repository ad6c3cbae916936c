use crate::error::{MediaError, Result};
use crate::hash::ContentHash;
use crate::thumbnail::Rendered;
use std::path::{Path, PathBuf};

/// The two renderings kept per photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbnailSize {
    Grid,
    Preview,
}

/// Thumbnails on disk, addressed by content hash: `<root>/ab/abcdef…-grid.jpg`.
///
/// Content addressing means identical photos share one rendering and a moved or
/// renamed photo keeps its thumbnail with no work at all.
#[derive(Debug, Clone)]
pub struct ThumbnailCache {
    root: PathBuf,
}

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

    /// Whether both renderings for this content already exist.
    pub fn contains(&self, hash: &ContentHash) -> bool {
        self.path(hash, ThumbnailSize::Grid).is_file()
            && self.path(hash, ThumbnailSize::Preview).is_file()
    }

    /// Write both renderings atomically (temp file + rename), so a crash never
    /// leaves a half-written JPEG that later looks valid.
    pub fn store(&self, hash: &ContentHash, rendered: &Rendered) -> Result<()> {
        for (size, image) in [
            (ThumbnailSize::Grid, &rendered.grid),
            (ThumbnailSize::Preview, &rendered.preview),
        ] {
            let path = self.path(hash, size);
            let write_error = |source| MediaError::WriteThumbnail {
                path: path.clone(),
                source,
            };
            let dir = path.parent().expect("cache paths have a parent");
            std::fs::create_dir_all(dir).map_err(write_error)?;
            let temp = dir.join(format!(
                ".{}.{}.tmp",
                path.file_name().unwrap().to_string_lossy(),
                std::process::id()
            ));
            std::fs::write(&temp, &image.jpeg).map_err(write_error)?;
            std::fs::rename(&temp, &path).map_err(write_error)?;
        }
        Ok(())
    }
}
