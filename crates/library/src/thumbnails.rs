//! Thumbnails by asset id, for the app's `thumb://` protocol: the grid
//! thumbnail the scan rendered, and the preview, rendered from the original
//! the first time it is asked for and cached from then on.
//!
//! Two steps, so a caller sharing one index connection holds it only for the
//! lookup, never while a preview renders:
//!
//! ```no_run
//! # fn demo(index: &photopro_index::Index, cache: &photopro_media::ThumbnailCache) -> photopro_library::Result<()> {
//! use photopro_library::thumbnails::ThumbnailRequest;
//! use photopro_media::{ThumbnailSize, ThumbnailSpec};
//! let request = ThumbnailRequest::lookup(index, photopro_index::AssetId(42), ThumbnailSize::Preview)?;
//! let served = request.serve(cache, &ThumbnailSpec::default())?;
//! std::fs::write("/tmp/42.jpg", &served.jpeg).unwrap();
//! # Ok(()) }
//! ```

use crate::{LibraryError, Result};
use photopro_index::{AssetId, Index, IndexError};
use photopro_media::{ContentHash, FileKind, ThumbnailCache, ThumbnailSize, ThumbnailSpec};
use std::path::PathBuf;

/// What the index says about one asset's thumbnail, read in one query.
#[derive(Debug, Clone)]
pub struct ThumbnailRequest {
    pub size: ThumbnailSize,
    /// The original file.
    pub path: PathBuf,
    pub kind: FileKind,
    pub content_hash: ContentHash,
    /// The scan made a grid thumbnail (`thumb_state = ready`).
    pub grid_ready: bool,
    /// Why the scan made none, when it did not.
    pub media_error: Option<String>,
}

/// The JPEG to answer with.
#[derive(Debug, Clone)]
pub struct Served {
    pub jpeg: Vec<u8>,
    /// The size served: the grid thumbnail stands in for a preview that cannot be made.
    pub size: ThumbnailSize,
    /// Rendered from the original now (it was not in the cache).
    pub rendered_now: bool,
    /// Why the requested preview could not be made, when the grid thumbnail came instead.
    pub fallback: Option<String>,
}

impl ThumbnailRequest {
    /// Look the asset up. Fails when it is not indexed, or was never read
    /// (no content hash: unreadable or changing during the last scan).
    pub fn lookup(index: &Index, asset: AssetId, size: ThumbnailSize) -> Result<ThumbnailRequest> {
        let details = index.asset(asset)?.ok_or_else(|| IndexError::NotFound {
            what: "asset",
            name: asset.to_string(),
        })?;
        let content_hash = details
            .content_hash
            .as_deref()
            .and_then(ContentHash::from_hex)
            .ok_or_else(|| LibraryError::NoThumbnail {
                path: details.path.clone(),
                reason: match &details.read_error {
                    Some(error) => format!("the file could not be read ({error})"),
                    None => "the file has not been read yet".to_string(),
                },
            })?;
        Ok(ThumbnailRequest {
            size,
            kind: FileKind::parse(&details.kind).unwrap_or(FileKind::Other),
            content_hash,
            grid_ready: details.thumb_state == "ready",
            media_error: details.media_error,
            path: details.path,
        })
    }

    /// The JPEG for this request: from the cache, or rendered from the
    /// original now and stored (a preview opened for the first time, a grid
    /// thumbnail whose cache file was removed).
    ///
    /// A preview that cannot be made (original gone, changed since the scan,
    /// undecodable) is answered with the grid thumbnail and the reason in
    /// [`Served::fallback`]; with no grid thumbnail either, the error says
    /// which file and why.
    pub fn serve(&self, cache: &ThumbnailCache, spec: &ThumbnailSpec) -> Result<Served> {
        if self.size == ThumbnailSize::Grid
            && !self.grid_ready
            && !cache.contains(&self.content_hash, ThumbnailSize::Grid)
        {
            // The scan already tried and said why; do not re-read the original on every request.
            return Err(LibraryError::NoThumbnail {
                path: self.path.clone(),
                reason: self
                    .media_error
                    .clone()
                    .unwrap_or_else(|| format!("{} files have no thumbnail", self.kind.as_str())),
            });
        }
        let rendered = photopro_media::cached_or_render(
            &self.path,
            self.kind,
            &self.content_hash,
            self.size,
            spec,
            cache,
        );
        match rendered {
            Ok(rendered) => Ok(Served {
                jpeg: rendered.jpeg,
                size: self.size,
                rendered_now: rendered.rendered_now,
                fallback: None,
            }),
            Err(error) if self.size == ThumbnailSize::Preview => {
                match cache.read(&self.content_hash, ThumbnailSize::Grid)? {
                    Some(jpeg) => Ok(Served {
                        jpeg,
                        size: ThumbnailSize::Grid,
                        rendered_now: false,
                        fallback: Some(error.to_string()),
                    }),
                    None => Err(error.into()),
                }
            }
            Err(error) => Err(error.into()),
        }
    }
}
