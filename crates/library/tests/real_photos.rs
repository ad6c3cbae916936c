//! The scanner over the real photos in `../shared/photos`: concrete values.

mod support;

use photopro_library::thumbnails::ThumbnailRequest;
use photopro_media::{FileKind, ThumbnailSize};
use support::{shared_photos, Harness};

#[test]
fn whole_shared_folder_counts() {
    let photos = shared_photos();
    let mut harness = Harness::new();
    let report = harness.scan(&photos);
    let status = harness.index.status().unwrap();

    // Independent count: every regular file except the one `.DS_Store`, which is skipped.
    let mut expected_files = 0;
    let mut stack = vec![photos.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if entry.file_name() != ".DS_Store" {
                expected_files += 1;
            }
        }
    }
    assert_eq!(expected_files, 200);
    assert_eq!(status.assets, 200);
    assert_eq!(report.files_seen, 200);
    assert_eq!(report.skipped, 1, ".DS_Store is skipped");
    assert_eq!(status.folders, 17);
    assert_eq!(status.photos, 187);
    assert_eq!(status.galleries, 15);
    assert_eq!(status.bytes, 165_636_632);
    assert_eq!(status.with_gps, 50);
    assert_eq!(status.with_exif_time, 145);
    assert_eq!(status.thumbnails, 182);
    assert_eq!(
        status.without_thumbnail, 5,
        "the HEIF files without an embedded preview"
    );
    // Its height is in a DNL marker (libjpeg-turbo alone refuses it): size and thumbnail, no error.
    let beach = photos.join("cameras/beach.jpg");
    assert_eq!(harness.error_for(&beach), None);
    let asset = harness.asset(&beach);
    assert_eq!(
        (asset.media.width, asset.media.height),
        (Some(200), Some(200))
    );
    assert_eq!(asset.thumb_state, "ready");
    // Damage libjpeg reads past: a thumbnail, and the damage reported for the file.
    for (name, damage) in [
        (
            "cameras/issue 121.jpg",
            "14 extraneous bytes before marker 0xdb",
        ),
        (
            "exif-samples/jpg/corrupted.jpg",
            "premature end of data segment",
        ),
    ] {
        let path = photos.join(name);
        assert_eq!(harness.asset(&path).thumb_state, "ready", "{name}");
        let error = harness.error_for(&path).unwrap_or_default();
        assert!(error.contains(damage), "{name}: {error}");
    }
    // Damaged EXIF is kept where readable and reported.
    let hp = photos.join("cameras/HP PhotoSmart C812.jpg");
    assert!(harness
        .error_for(&hp)
        .unwrap()
        .contains("EXIF partly unreadable"));
}

#[test]
fn dji_metadata_is_exact() {
    let photos = shared_photos();
    let mut harness = Harness::new();
    harness.scan(&photos.join("dji-phantom3"));
    let dji = harness.asset(&photos.join("dji-phantom3/DJI_0018.JPG"));
    let m = &dji.media;
    assert_eq!(m.make.as_deref(), Some("DJI"), "NUL padding trimmed");
    assert_eq!(m.model.as_deref(), Some("FC300S"));
    assert_eq!(m.taken_at_local.as_deref(), Some("2016-06-23T16:31:59"));
    assert_eq!(
        m.utc_offset_minutes, None,
        "DJI writes neither OffsetTime nor a GPS time stamp"
    );
    assert!(
        (m.latitude.unwrap() - 46.842607).abs() < 1e-6,
        "{:?}",
        m.latitude
    );
    assert!(
        (m.longitude.unwrap() - -91.994560).abs() < 1e-6,
        "{:?}",
        m.longitude
    );
    assert!((m.altitude.unwrap() - 198.309).abs() < 1e-3);
    assert_eq!(m.relative_altitude, Some(39.8));
    assert_eq!((m.width, m.height), (Some(4000), Some(2250)));
    assert_eq!(m.iso, Some(100));
    assert_eq!(m.exposure.as_deref(), Some("1/370"));
    assert_eq!(m.f_number, Some(2.8));
    assert_eq!(
        dji.content_hash.as_deref(),
        Some("30383e0f07cb2621569e1006e61b407b895157e1d6690e9c32e7cb8f29c82979")
    );
    assert_eq!(dji.kind, "jpeg");
    assert!(!dji.sync_excluded);

    // Capture time with its offset: the Canon aerials carry a GPS UTC stamp.
    harness.scan(&photos.join("aerial-12mp"));
    let canon = harness.asset(&photos.join("aerial-12mp/IMG_9354.jpg"));
    assert_eq!(
        canon.media.taken_at_local.as_deref(),
        Some("2014-10-19T13:20:51")
    );
    assert_eq!(canon.media.utc_offset_minutes, Some(-300));
    assert_eq!(canon.media.taken_at_utc, Some(1_413_742_851));

    // An iPhone HEIC: indexed with full EXIF, no thumbnail (no embedded JPEG), not an error.
    harness.scan(&photos.join("exif-samples/heic"));
    let heic = harness.asset(&photos.join("exif-samples/heic/IMG_5195.HEIC"));
    assert_eq!(heic.kind, "heic");
    assert_eq!(heic.media.model.as_deref(), Some("iPhone 11 Pro Max"));
    assert_eq!(
        heic.media.taken_at_local.as_deref(),
        Some("2021-04-11T15:47:53.054")
    );
    assert_eq!(heic.media.utc_offset_minutes, Some(-300));
    assert_eq!(heic.thumb_state, "none");
    assert_eq!(heic.media_error, None);
}

#[test]
fn orientation_is_applied_to_thumbnails() {
    let photos = shared_photos();
    let mut harness = Harness::new();
    let folder = photos.join("exif-samples/jpg/orientation");
    harness.scan(&folder);
    for shape in ["landscape", "portrait"] {
        for orientation in 1..=8u8 {
            let asset = harness.asset(&folder.join(format!("{shape}_{orientation}.jpg")));
            assert_eq!(asset.media.orientation, Some(orientation));
            let size_of = |size| {
                let bytes = ThumbnailRequest::lookup(&harness.index, asset.id, size)
                    .unwrap()
                    .serve(&harness.options.cache, &harness.options.spec)
                    .unwrap()
                    .jpeg;
                photopro_media::thumbnail::probe_size(&bytes, FileKind::Jpeg).unwrap()
            };
            // Every file shows the same upright picture: 600×450 or 450×600 after rotation.
            let (grid, preview) = if shape == "landscape" {
                ((400, 300), (600, 450))
            } else {
                ((300, 400), (450, 600))
            };
            assert_eq!(
                size_of(ThumbnailSize::Grid),
                grid,
                "{shape}_{orientation} grid"
            );
            assert_eq!(
                size_of(ThumbnailSize::Preview),
                preview,
                "{shape}_{orientation} preview"
            );
        }
    }
}

#[test]
fn twelve_megapixel_previews_are_1600px() {
    let photos = shared_photos();
    let mut harness = Harness::new();
    harness.scan(&photos.join("aerial-12mp"));
    let asset = harness.asset(&photos.join("aerial-12mp/IMG_9360.jpg"));
    let hash =
        photopro_media::ContentHash::from_hex(asset.content_hash.as_deref().unwrap()).unwrap();
    assert!(
        !harness
            .options
            .cache
            .contains(&hash, ThumbnailSize::Preview),
        "the scan renders grid thumbnails only"
    );
    let preview = ThumbnailRequest::lookup(&harness.index, asset.id, ThumbnailSize::Preview)
        .unwrap()
        .serve(&harness.options.cache, &harness.options.spec)
        .unwrap()
        .jpeg;
    assert_eq!(
        photopro_media::thumbnail::probe_size(&preview, FileKind::Jpeg),
        Some((1600, 1200))
    );
    let grid = std::fs::read(harness.options.cache.path(&hash, ThumbnailSize::Grid)).unwrap();
    assert_eq!(
        photopro_media::thumbnail::probe_size(&grid, FileKind::Jpeg),
        Some((400, 300))
    );
}

#[test]
fn search_and_map_queries_answer_from_the_index() {
    let photos = shared_photos();
    let mut harness = Harness::new();
    harness.scan(&photos);
    // "DJI" anywhere also matches the LICENSE file in the `dji-phantom3` folder.
    assert_eq!(harness.index.search("DJI", 100).unwrap().len(), 19);
    let dji_hits = harness.index.search("meta : DJI", 100).unwrap();
    assert_eq!(dji_hits.len(), 18, "the 18 DJI files match by make");
    let fc300 = harness.index.search("FC300S", 100).unwrap();
    assert_eq!(fc300.len(), 18);
    // Brighton Beach, Duluth: the DJI shoot's bounding box holds its 18 photos and nothing else.
    let in_box = harness
        .index
        .assets_in_box(46.83, 46.85, -92.01, -91.98, 100)
        .unwrap();
    assert_eq!(in_box.len(), 18);
    let nowhere = harness
        .index
        .assets_in_box(-1.0, 1.0, -1.0, 1.0, 100)
        .unwrap();
    assert!(nowhere.is_empty());
}
