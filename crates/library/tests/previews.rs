//! Previews are rendered on first request, not by the scan; grid thumbnails
//! are always there for an indexed photo, even after the cache lost them.

mod support;

use photopro_library::thumbnails::ThumbnailRequest;
use photopro_library::LibraryError;
use photopro_media::{thumbnail::probe_size, ContentHash, FileKind, ThumbnailSize};
use support::{shared_photos, Harness};

fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    probe_size(bytes, FileKind::Jpeg).unwrap()
}

/// A library holding one real 4000×2250 DJI photo, scanned.
fn scanned_photo() -> (Harness, tempfile::TempDir, std::path::PathBuf) {
    let tree = tempfile::tempdir().unwrap();
    let photo = tree.path().join("DJI_0018.JPG");
    std::fs::copy(shared_photos().join("dji-phantom3/DJI_0018.JPG"), &photo).unwrap();
    let mut harness = Harness::new();
    let report = harness.scan(tree.path());
    assert_eq!(report.thumbnails_rendered, 1);
    (harness, tree, photo)
}

fn serve(
    harness: &Harness,
    asset: photopro_index::AssetId,
    size: ThumbnailSize,
) -> photopro_library::Result<photopro_library::thumbnails::Served> {
    ThumbnailRequest::lookup(&harness.index, asset, size)?
        .serve(&harness.options.cache, &harness.options.spec)
}

#[test]
fn missing_preview_is_rendered_on_demand_cached_and_then_read_from_the_cache() {
    let (harness, _tree, photo) = scanned_photo();
    let asset = harness.asset(&photo);
    let hash = ContentHash::from_hex(asset.content_hash.as_deref().unwrap()).unwrap();
    let cache = &harness.options.cache;
    assert!(cache.contains(&hash, ThumbnailSize::Grid));
    assert!(
        !cache.contains(&hash, ThumbnailSize::Preview),
        "the scan renders no preview"
    );

    let first = serve(&harness, asset.id, ThumbnailSize::Preview).unwrap();
    assert!(first.rendered_now);
    assert_eq!(first.size, ThumbnailSize::Preview);
    assert_eq!(first.fallback, None);
    assert_eq!(jpeg_size(&first.jpeg), (1600, 900));
    assert_eq!(
        std::fs::read(cache.path(&hash, ThumbnailSize::Preview)).unwrap(),
        first.jpeg,
        "stored in the cache"
    );

    // The second request reads the cache: it works even with the original gone.
    std::fs::remove_file(&photo).unwrap();
    let second = serve(&harness, asset.id, ThumbnailSize::Preview).unwrap();
    assert!(!second.rendered_now);
    assert_eq!(second.jpeg, first.jpeg);
}

#[test]
fn a_preview_that_cannot_be_made_falls_back_to_the_grid_with_the_reason() {
    let (harness, _tree, photo) = scanned_photo();
    let asset = harness.asset(&photo);
    let hash = ContentHash::from_hex(asset.content_hash.as_deref().unwrap()).unwrap();

    // Changed since the scan: not rendered (it would be cached under the old content).
    let mut bytes = std::fs::read(&photo).unwrap();
    bytes.extend_from_slice(b"edited");
    std::fs::write(&photo, &bytes).unwrap();
    let served = serve(&harness, asset.id, ThumbnailSize::Preview).unwrap();
    assert_eq!(served.size, ThumbnailSize::Grid);
    // 1/8-scale decode (500×282), fitted to 400 px.
    assert_eq!(jpeg_size(&served.jpeg), (400, 226));
    let reason = served.fallback.unwrap();
    assert!(
        reason.contains("DJI_0018.JPG") && reason.contains("changed since it was indexed"),
        "{reason}"
    );
    assert!(!harness
        .options
        .cache
        .contains(&hash, ThumbnailSize::Preview));

    // Gone: the grid thumbnail again, and the reason names the file.
    std::fs::remove_file(&photo).unwrap();
    let served = serve(&harness, asset.id, ThumbnailSize::Preview).unwrap();
    assert_eq!(served.size, ThumbnailSize::Grid);
    let reason = served.fallback.unwrap();
    assert!(
        reason.contains("cannot read") && reason.contains("DJI_0018.JPG"),
        "{reason}"
    );

    // Gone, and the cache lost its grid thumbnail too: a clear error.
    std::fs::remove_file(harness.options.cache.path(&hash, ThumbnailSize::Grid)).unwrap();
    let error = serve(&harness, asset.id, ThumbnailSize::Preview).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, LibraryError::Media(_)) && message.contains("DJI_0018.JPG"),
        "{message}"
    );
}

#[test]
fn a_grid_thumbnail_lost_from_the_cache_is_rendered_again() {
    let (harness, _tree, photo) = scanned_photo();
    let asset = harness.asset(&photo);
    let hash = ContentHash::from_hex(asset.content_hash.as_deref().unwrap()).unwrap();
    let grid = harness.options.cache.path(&hash, ThumbnailSize::Grid);
    let scanned = std::fs::read(&grid).unwrap();
    std::fs::remove_file(&grid).unwrap();
    let served = serve(&harness, asset.id, ThumbnailSize::Grid).unwrap();
    assert!(served.rendered_now);
    assert_eq!(served.jpeg, scanned, "the same rendering as the scan's");
    assert!(grid.is_file());
}

#[test]
fn files_without_a_thumbnail_say_why_without_rereading() {
    let photos = shared_photos();
    let mut harness = Harness::new();
    harness.scan(&photos.join("exif-samples/heic"));
    let heic = harness.asset(&photos.join("exif-samples/heic/IMG_5195.HEIC"));
    for size in [ThumbnailSize::Grid, ThumbnailSize::Preview] {
        let error = serve(&harness, heic.id, size).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("IMG_5195.HEIC") && message.contains("heic"),
            "{message}"
        );
    }
    let unknown = serve(
        &harness,
        photopro_index::AssetId(999_999),
        ThumbnailSize::Grid,
    );
    assert!(unknown.unwrap_err().to_string().contains("no such asset"),);
}
