//! Real JPEGs that libjpeg-turbo's safe wrapper refused, decoded as far as
//! they decode, with what was wrong reported per file.

use photopro_media::{
    analyze_file, cached_or_render, thumbnail::probe_size, FileKind, MediaError, PixelSource,
    ThumbnailCache, ThumbnailOutcome, ThumbnailSize, ThumbnailSpec,
};
use std::path::{Path, PathBuf};

/// `../shared/photos` next to the repository (override with PHOTOPRO_SHARED_PHOTOS).
fn shared_photos() -> PathBuf {
    let path = std::env::var_os("PHOTOPRO_SHARED_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/photos"));
    let path = std::fs::canonicalize(&path).unwrap_or_else(|e| {
        panic!(
            "real test photos expected at {} ({e}); set PHOTOPRO_SHARED_PHOTOS",
            path.display()
        )
    });
    assert!(
        path.join("dji-phantom3").is_dir(),
        "{} does not hold the shared photos",
        path.display()
    );
    path
}

fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    probe_size(bytes, FileKind::Jpeg).unwrap()
}

fn analyze(path: &Path) -> (photopro_media::Analysis, ThumbnailCache, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cache = ThumbnailCache::new(dir.path());
    let analysis = analyze_file(path, FileKind::Jpeg, &ThumbnailSpec::default(), &cache).unwrap();
    (analysis, cache, dir)
}

#[test]
fn dnl_height_gives_size_and_thumbnail() {
    // Frame header height 0; the real height (200) is in a DNL segment after the scan.
    let path = shared_photos().join("cameras/beach.jpg");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(probe_size(&bytes, FileKind::Jpeg), Some((200, 200)));
    let (analysis, cache, _dir) = analyze(&path);
    assert_eq!(analysis.thumbnail, ThumbnailOutcome::Stored);
    assert_eq!(analysis.media_error, None, "DNL is valid JPEG, not damage");
    assert_eq!(analysis.pixel_size, Some((200, 200)));
    let grid = cache
        .read(&analysis.content_hash, ThumbnailSize::Grid)
        .unwrap()
        .unwrap();
    assert_eq!(jpeg_size(&grid), (200, 200));
}

#[test]
fn extraneous_bytes_before_a_marker_are_reported_not_fatal() {
    // 14 stray bytes before the DQT segment: libjpeg warns and reads on.
    let path = shared_photos().join("cameras/issue 121.jpg");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(probe_size(&bytes, FileKind::Jpeg), Some((164, 144)));
    let rendered = photopro_media::render(
        &bytes,
        FileKind::Jpeg,
        1,
        &ThumbnailSpec::default(),
        ThumbnailSize::Grid,
    )
    .unwrap()
    .unwrap();
    assert_eq!(rendered.pixel_source, PixelSource::Decoded);
    assert_eq!((rendered.image.width, rendered.image.height), (164, 144));
    let (analysis, _cache, _dir) = analyze(&path);
    assert_eq!(analysis.thumbnail, ThumbnailOutcome::Stored);
    let error = analysis.media_error.unwrap();
    assert!(
        error.contains("damaged JPEG") && error.contains("14 extraneous bytes before marker 0xdb"),
        "{error}"
    );
}

#[test]
fn entropy_data_ending_early_is_decoded_by_libjpeg_and_reported() {
    let path = shared_photos().join("exif-samples/jpg/corrupted.jpg");
    let (analysis, cache, _dir) = analyze(&path);
    assert_eq!(analysis.thumbnail, ThumbnailOutcome::Stored);
    assert_eq!(analysis.pixel_size, Some((3648, 2736)));
    let error = analysis.media_error.unwrap();
    assert!(error.contains("premature end of data segment"), "{error}");
    let grid = cache
        .read(&analysis.content_hash, ThumbnailSize::Grid)
        .unwrap()
        .unwrap();
    assert_eq!(jpeg_size(&grid), (400, 300));
}

#[test]
fn undecodable_files_name_the_file_and_the_reason() {
    let photos = shared_photos();
    let dir = tempfile::tempdir().unwrap();
    let cache = ThumbnailCache::new(dir.path().join("cache"));
    // Half a real photo: indexed with its hash, no thumbnail, the reason said.
    let cut = dir.path().join("cut.jpg");
    let good = std::fs::read(photos.join("dji-phantom3/DJI_0019.JPG")).unwrap();
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let analysis = analyze_file(&cut, FileKind::Jpeg, &ThumbnailSpec::default(), &cache).unwrap();
    assert!(matches!(analysis.thumbnail, ThumbnailOutcome::Failed(_)));
    assert!(analysis.media_error.unwrap().contains("truncated JPEG"));
    // Asked for its preview, the answer names the file and the reason.
    let error = cached_or_render(
        &cut,
        FileKind::Jpeg,
        &analysis.content_hash,
        ThumbnailSize::Preview,
        &ThumbnailSpec::default(),
        &cache,
    )
    .unwrap_err();
    assert!(matches!(error, MediaError::NoRendering { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("no preview for")
            && message.contains("cut.jpg")
            && message.contains("truncated JPEG"),
        "{message}"
    );
}
