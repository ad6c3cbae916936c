//! A rescan reads only what changed: unchanged files are recognised by size,
//! modification time and file identity without being opened.

mod support;

use support::{copy_tree, shared_photos, Harness};

#[test]
fn rescan_touches_nothing_unchanged_and_exactly_what_changed() {
    let photos = shared_photos();
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().join("library");
    copy_tree(
        &photos.join("dji-phantom3"),
        &root.join("2016/Brighton Beach"),
    );
    copy_tree(
        &photos.join("exif-samples/jpg/orientation"),
        &root.join("2016/Orientation"),
    );
    let mut harness = Harness::new();

    let first = harness.scan(&root);
    assert_eq!(
        first.processed,
        19 + 17,
        "18 photos + LICENSE, 16 photos + README"
    );
    assert_eq!(first.unchanged, 0);
    let assets_after_first = harness.index.status().unwrap().assets;

    let second = harness.scan(&root);
    assert_eq!(
        (second.processed, second.unchanged, second.removed),
        (0, 36, 0)
    );
    assert_eq!(second.thumbnails_rendered, 0);

    // Change one file's content: exactly it is read again.
    let changed = root.join("2016/Brighton Beach/DJI_0021.JPG");
    let mut bytes = std::fs::read(&changed).unwrap();
    let hash_before = harness.asset(&changed).content_hash.unwrap();
    bytes.extend_from_slice(b"appended trailer");
    std::fs::write(&changed, bytes).unwrap();
    let third = harness.scan(&root);
    assert_eq!((third.processed, third.unchanged), (1, 35));
    assert_ne!(harness.asset(&changed).content_hash.unwrap(), hash_before);

    // Same bytes, new mtime: read again (it might have changed), but the
    // content-addressed thumbnail is reused, not re-rendered.
    let touched = root.join("2016/Orientation/portrait_5.jpg");
    let file = std::fs::File::options().write(true).open(&touched).unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(file);
    let fourth = harness.scan(&root);
    assert_eq!((fourth.processed, fourth.thumbnails_rendered), (1, 0));

    // A deleted file and a deleted folder leave the index.
    std::fs::remove_file(root.join("2016/Brighton Beach/DJI_0022.JPG")).unwrap();
    std::fs::remove_dir_all(root.join("2016/Orientation")).unwrap();
    let fifth = harness.scan(&root);
    assert_eq!(fifth.removed, 1 + 17);
    let status = harness.index.status().unwrap();
    assert_eq!(status.assets, assets_after_first - 18);
    assert!(status.error_files.is_empty(), "{:?}", status.error_files);
    let folders: Vec<String> = harness
        .index
        .folder_counts(harness.index.libraries().unwrap()[0].id)
        .unwrap()
        .into_iter()
        .map(|(p, _, _)| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(folders, vec!["", "2016", "2016/Brighton Beach"]);
}

#[test]
fn raw_files_are_indexed_but_excluded_from_sync_by_default() {
    let photos = shared_photos();
    let tree = tempfile::tempdir().unwrap();
    // A camera-raw container: the scanner classifies by extension and keeps it out of sync.
    std::fs::copy(
        photos.join("dji-phantom3/DJI_0018.JPG"),
        tree.path().join("DSC_0001.NEF"),
    )
    .unwrap();
    std::fs::copy(
        photos.join("dji-phantom3/DJI_0018.JPG"),
        tree.path().join("DSC_0001.jpg"),
    )
    .unwrap();
    std::fs::write(tree.path().join("DSC_0001.jpg.part"), b"partial copy").unwrap();
    std::fs::write(tree.path().join("Thumbs.db"), b"windows litter").unwrap();
    std::fs::create_dir(tree.path().join("Catalog Previews.lrdata")).unwrap();
    std::fs::write(
        tree.path().join("Catalog Previews.lrdata/preview.lrprev"),
        b"cache",
    )
    .unwrap();

    let mut harness = Harness::new();
    let report = harness.scan(tree.path());
    assert_eq!(report.skipped, 3);
    let raw = harness.asset(&tree.path().join("DSC_0001.NEF"));
    assert_eq!(raw.kind, "raw");
    assert!(raw.sync_excluded);
    // Its embedded JPEG preview becomes the thumbnail.
    assert_eq!(raw.thumb_state, "ready");
    assert!(
        !harness
            .asset(&tree.path().join("DSC_0001.jpg"))
            .sync_excluded
    );
    let status = harness.index.status().unwrap();
    assert_eq!(
        (status.assets, status.raw_files, status.sync_excluded),
        (2, 1, 1)
    );

    let opted_in = photopro_library::Config {
        sync_raw: true,
        ..Default::default()
    };
    let mut harness = Harness::with_config(opted_in);
    harness.scan(tree.path());
    assert!(
        !harness
            .asset(&tree.path().join("DSC_0001.NEF"))
            .sync_excluded
    );
}
