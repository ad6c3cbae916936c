//! Media pipeline for PhotoProOS Storage: everything the library learns from a
//! photo's bytes.
//!
//! - [`hash`] — Dropbox's block `content_hash`, the one hash both remotes share.
//! - [`metadata`] — EXIF (capture time with offset, camera, lens, exposure, GPS)
//!   and XMP (DJI relative altitude, keywords, rating).
//! - [`thumbnail`] — grid thumbnails and previews, orientation applied, with a
//!   decompression-bomb guard; JPEG damage libjpeg recovers from still gives a
//!   picture (and a reported warning).
//! - [`ThumbnailCache`] — where renderings live on disk, keyed by content hash
//!   so a renamed or moved photo never needs a new thumbnail.
//!
//! [`analyze_file`] runs all of it over one file with a single read and
//! renders the grid thumbnail; [`cached_or_render`] serves either size from the
//! cache and renders what is missing (a preview, the first time it is opened)
//! from the original.
//!
//! ```no_run
//! use photopro_media::{analyze_file, FileKind, ThumbnailCache, ThumbnailSpec};
//! let cache = ThumbnailCache::new("/tmp/thumbs");
//! let analysis = analyze_file("DJI_0018.JPG".as_ref(), FileKind::Jpeg, &ThumbnailSpec::default(), &cache).unwrap();
//! println!("{} taken {:?}", analysis.content_hash, analysis.metadata.taken_at_local);
//! ```

mod cache;
mod error;
pub mod hash;
mod jpeg;
pub mod kind;
pub mod metadata;
pub mod thumbnail;

pub use cache::{ThumbnailCache, ThumbnailSize};
pub use error::{MediaError, Result};
pub use hash::{content_hash, ContentHash, ContentHasher};
pub use kind::FileKind;
pub use metadata::{read_metadata, GpsPosition, PhotoMetadata};
pub use thumbnail::{render, EncodedImage, PixelSource, Rendered, ThumbnailSpec};

use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

/// Files above this size are hashed as a stream and get no thumbnail: no photo
/// format we render is this large, and holding it in memory would break the
/// scanner's memory bound.
pub const MAX_IN_MEMORY_BYTES: u64 = 512 * 1024 * 1024;

/// What happened to a file's grid thumbnail (previews are rendered on demand,
/// see [`cached_or_render`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThumbnailOutcome {
    /// Rendered and written to the cache now.
    Stored,
    /// The cache already had a grid thumbnail for this content (a moved, renamed or duplicate photo).
    AlreadyCached,
    /// The format has nothing to show (HEIC/RAW without an embedded preview, non-photos).
    NotAvailable,
    /// Rendering failed; the message says why.
    Failed(String),
}

/// Everything one read of a file produced. The hash is always present; media
/// problems are reported in `media_error` without failing the analysis,
/// because a photo that cannot be decoded must still be indexed and synced.
#[derive(Debug)]
pub struct Analysis {
    pub size: u64,
    pub modified: Option<SystemTime>,
    pub content_hash: ContentHash,
    pub metadata: PhotoMetadata,
    /// Stored pixel size, before orientation.
    pub pixel_size: Option<(u32, u32)>,
    pub thumbnail: ThumbnailOutcome,
    /// What was wrong with the pixels or the metadata, for the user to see.
    pub media_error: Option<String>,
}

/// Read a file once, then hash it, read its metadata and render its grid
/// thumbnail into `cache` (skipped when the cache already holds this content).
/// The preview is not rendered here: [`cached_or_render`] makes it when it is
/// first asked for.
///
/// Fails only when the bytes themselves cannot be read consistently: the file
/// is unreadable, vanished, or changed while being read (size or modification
/// time differ before and after, or the read length differs from the size).
pub fn analyze_file(
    path: &Path,
    kind: FileKind,
    spec: &ThumbnailSpec,
    cache: &ThumbnailCache,
) -> Result<Analysis> {
    analyze_file_with_hook(path, kind, spec, cache, &mut |_| {})
}

/// [`analyze_file`] with a callback between reading the bytes and checking that
/// the file did not change meanwhile: a seam for tests that need a file to
/// change at exactly that moment.
pub fn analyze_file_with_hook(
    path: &Path,
    kind: FileKind,
    spec: &ThumbnailSpec,
    cache: &ThumbnailCache,
    after_read: &mut dyn FnMut(&Path),
) -> Result<Analysis> {
    let io_error = |source: std::io::Error| MediaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let before = file.metadata().map_err(io_error)?;
    if !before.is_file() {
        return Err(io_error(std::io::Error::other("not a regular file")));
    }
    let size = before.len();
    let (content_hash, bytes) = if size > MAX_IN_MEMORY_BYTES {
        (
            hash::content_hash_reader(&mut file).map_err(io_error)?,
            None,
        )
    } else {
        let mut bytes = Vec::with_capacity(size as usize);
        // Read one byte past the expected size so growth is noticed.
        (&mut file)
            .take(size + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if bytes.len() as u64 != size {
            return Err(MediaError::ChangedWhileReading);
        }
        (content_hash(&bytes), Some(bytes))
    };
    after_read(path);
    let after = std::fs::metadata(path).map_err(io_error)?;
    if after.len() != size || after.modified().ok() != before.modified().ok() {
        return Err(MediaError::ChangedWhileReading);
    }

    let mut analysis = Analysis {
        size,
        modified: before.modified().ok(),
        content_hash,
        metadata: PhotoMetadata {
            orientation: 1,
            ..Default::default()
        },
        pixel_size: None,
        thumbnail: ThumbnailOutcome::NotAvailable,
        media_error: None,
    };
    if !kind.has_media() {
        return Ok(analysis);
    }
    let Some(bytes) = bytes else {
        let message = format!(
            "no thumbnail: file is larger than {} MiB",
            MAX_IN_MEMORY_BYTES >> 20
        );
        analysis.thumbnail = ThumbnailOutcome::Failed(message.clone());
        analysis.media_error = Some(message);
        return Ok(analysis);
    };
    if size == 0 {
        analysis.thumbnail = ThumbnailOutcome::Failed(MediaError::Empty.to_string());
        analysis.media_error = Some(MediaError::Empty.to_string());
        return Ok(analysis);
    }
    let outcome = read_metadata(&bytes);
    analysis.metadata = outcome.metadata;
    analysis.pixel_size = thumbnail::probe_size(&bytes, kind);
    let mut problems: Vec<String> = Vec::new();
    if cache.contains(&content_hash, ThumbnailSize::Grid) {
        analysis.thumbnail = ThumbnailOutcome::AlreadyCached;
    } else {
        match render(
            &bytes,
            kind,
            analysis.metadata.orientation,
            spec,
            ThumbnailSize::Grid,
        ) {
            Ok(Some(rendered)) => {
                if rendered.pixel_source == PixelSource::Decoded {
                    analysis.pixel_size = Some((rendered.source_width, rendered.source_height));
                }
                if let Some(warning) = &rendered.warning {
                    problems.push(format!(
                        "damaged JPEG, shown as far as it decodes: {warning}"
                    ));
                }
                analysis.thumbnail =
                    match cache.store(&content_hash, ThumbnailSize::Grid, &rendered.image) {
                        Ok(()) => ThumbnailOutcome::Stored,
                        Err(error) => ThumbnailOutcome::Failed(error.to_string()),
                    };
            }
            Ok(None) => analysis.thumbnail = ThumbnailOutcome::NotAvailable,
            Err(error) => analysis.thumbnail = ThumbnailOutcome::Failed(error.to_string()),
        }
    }
    if let ThumbnailOutcome::Failed(message) = &analysis.thumbnail {
        problems.push(message.clone());
    }
    problems.extend(outcome.problem);
    analysis.media_error = (!problems.is_empty()).then(|| problems.join("; "));
    if analysis.pixel_size.is_none() {
        analysis.pixel_size = analysis
            .metadata
            .exif_width
            .zip(analysis.metadata.exif_height);
    }
    Ok(analysis)
}

/// A rendering served by [`cached_or_render`].
#[derive(Debug, Clone)]
pub struct CachedRendering {
    pub jpeg: Vec<u8>,
    /// It was not in the cache: it was rendered from the original now (and stored).
    pub rendered_now: bool,
}

/// The `size` rendering of the photo at `path` whose content hash is
/// `content_hash`: from `cache`, or — when missing (a preview never opened
/// before, a cleared cache) — rendered now from the original and stored, so
/// the next call reads the cache.
///
/// The original must still hold the indexed content: a file changed since the
/// scan is refused ([`MediaError::ChangedSinceIndexed`]) rather than cached
/// under the old content's hash. Every error names the file and the reason.
pub fn cached_or_render(
    path: &Path,
    kind: FileKind,
    content_hash: &ContentHash,
    size: ThumbnailSize,
    spec: &ThumbnailSpec,
    cache: &ThumbnailCache,
) -> Result<CachedRendering> {
    if let Some(jpeg) = cache.read(content_hash, size)? {
        return Ok(CachedRendering {
            jpeg,
            rendered_now: false,
        });
    }
    let io_error = |source: std::io::Error| MediaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let no_rendering = |reason: String| MediaError::NoRendering {
        path: path.to_path_buf(),
        size: size.describe(),
        reason,
    };
    let length = std::fs::metadata(path).map_err(io_error)?.len();
    if length > MAX_IN_MEMORY_BYTES {
        return Err(no_rendering(format!(
            "the file is larger than {} MiB",
            MAX_IN_MEMORY_BYTES >> 20
        )));
    }
    let bytes = std::fs::read(path).map_err(io_error)?;
    if hash::content_hash(&bytes) != *content_hash {
        return Err(MediaError::ChangedSinceIndexed {
            path: path.to_path_buf(),
        });
    }
    let orientation = read_metadata(&bytes).metadata.orientation;
    let rendered = match render(&bytes, kind, orientation, spec, size) {
        Ok(Some(rendered)) => rendered,
        Ok(None) => {
            return Err(no_rendering(format!(
                "{} files without an embedded JPEG preview cannot be shown",
                kind.as_str()
            )))
        }
        Err(error) => return Err(no_rendering(error.to_string())),
    };
    cache.store(content_hash, size, &rendered.image)?;
    Ok(CachedRendering {
        jpeg: rendered.image.jpeg,
        rendered_now: true,
    })
}
