//! Bad input never crashes or stops a scan: each problem is a per-file error
//! that `status` shows, and the file stays indexed wherever it still exists.

mod support;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use support::{shared_photos, Harness};

fn write_truncated(from: &Path, to: &Path, fraction: f64) {
    let bytes = std::fs::read(from).unwrap();
    std::fs::write(to, &bytes[..(bytes.len() as f64 * fraction) as usize]).unwrap();
}

/// A real JPEG whose frame header claims 60000×60000 pixels (3.6 gigapixels).
fn write_decompression_bomb(from: &Path, to: &Path) {
    let mut bytes = std::fs::read(from).unwrap();
    let mut at = 2;
    loop {
        let marker = bytes[at + 1];
        let length = usize::from(bytes[at + 2]) << 8 | usize::from(bytes[at + 3]);
        if (0xC0..=0xC2).contains(&marker) {
            // SOF: length(2) precision(1) height(2) width(2)
            bytes[at + 5..at + 7].copy_from_slice(&60000u16.to_be_bytes());
            bytes[at + 7..at + 9].copy_from_slice(&60000u16.to_be_bytes());
            break;
        }
        at += 2 + length;
    }
    std::fs::write(to, bytes).unwrap();
}

#[test]
fn every_kind_of_bad_file_is_a_per_file_error_and_the_scan_finishes() {
    let photos = shared_photos();
    let good = photos.join("dji-phantom3/DJI_0019.JPG");
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().join("Shoots");
    let gallery = root.join("Smith Residence");
    std::fs::create_dir_all(&gallery).unwrap();

    std::fs::copy(
        photos.join("exif-samples/jpg/corrupted.jpg"),
        gallery.join("corrupted.jpg"),
    )
    .unwrap();
    support::copy_tree(
        &photos.join("exif-samples/jpg/invalid"),
        &root.join("invalid"),
    );
    write_truncated(&good, &gallery.join("truncated.jpg"), 0.6);
    std::fs::write(gallery.join("zero.jpg"), b"").unwrap();
    write_decompression_bomb(
        &photos.join("exif-samples/jpg/orientation/landscape_1.jpg"),
        &gallery.join("bomb.jpg"),
    );
    std::fs::write(
        gallery.join("not-a-photo.jpg"),
        b"this is a text file with a .jpg name",
    )
    .unwrap();
    let latin1 = gallery.join(std::ffi::OsStr::from_bytes(b"caf\xe9 terrace.jpg"));
    std::fs::copy(&good, &latin1).unwrap();
    std::os::unix::fs::symlink(root.join("loop-b"), root.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(root.join("loop-a"), root.join("loop-b")).unwrap();
    std::os::unix::fs::symlink(root.join("missing.jpg"), root.join("dangling.jpg")).unwrap();
    let fifo = std::ffi::CString::new(gallery.join("pipe.jpg").as_os_str().as_bytes()).unwrap();
    assert_eq!(
        unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) },
        0,
        "a FIFO must not hang the scan"
    );
    std::fs::copy(&good, gallery.join("deleted-mid-scan.jpg")).unwrap();
    std::fs::copy(&good, gallery.join("growing.jpg")).unwrap();
    std::fs::copy(&good, gallery.join("fine.jpg")).unwrap();

    let mut harness = Harness::new();
    // The test seam fires after a file's bytes are read: delete one file and
    // append to another at exactly that moment.
    harness.options.after_read_hook = Some(Arc::new(|path: &Path| {
        let name = path.file_name().unwrap().to_string_lossy();
        if name == "deleted-mid-scan.jpg" {
            std::fs::remove_file(path).unwrap();
        } else if name == "growing.jpg" {
            use std::io::Write;
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .unwrap()
                .write_all(b"more bytes")
                .unwrap();
        }
    }));
    let report = harness.scan(&root);
    assert!(report.errors >= 6, "{report:?}");

    let error = |name: &str| {
        harness
            .error_for(&gallery.join(name))
            .unwrap_or_else(|| panic!("{name} should have an error"))
    };
    assert!(error("truncated.jpg").contains("truncated JPEG"));
    assert!(error("zero.jpg").contains("empty file"));
    assert!(
        error("bomb.jpg").contains("safety limit"),
        "{}",
        error("bomb.jpg")
    );
    assert!(error("not-a-photo.jpg").contains("not a JPEG"));
    assert!(error("deleted-mid-scan.jpg").contains("deleted while the scan was reading it"));
    assert!(error("growing.jpg").contains("changed while it was being read"));
    let loop_error = harness.error_for(&root.join("loop-a")).unwrap();
    assert!(loop_error.contains("symbolic link loop"), "{loop_error}");
    assert!(harness
        .error_for(&root.join("dangling.jpg"))
        .unwrap()
        .contains("broken symbolic link"));
    assert_eq!(harness.error_for(&gallery.join("fine.jpg")), None);

    // Still indexed, with a content hash, so they can still be synced.
    for name in [
        "truncated.jpg",
        "zero.jpg",
        "bomb.jpg",
        "not-a-photo.jpg",
        "corrupted.jpg",
    ] {
        let asset = harness.asset(&gallery.join(name));
        assert!(asset.content_hash.is_some(), "{name} keeps its hash");
    }
    let zero = harness.asset(&gallery.join("zero.jpg"));
    assert_eq!(
        zero.content_hash.as_deref(),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    // The file that changed while being read is indexed without a hash and is read again next time.
    let growing = harness.asset(&gallery.join("growing.jpg"));
    assert!(growing.content_hash.is_none() && growing.read_error.is_some());
    // A non-UTF-8 name survives byte for byte, with full metadata.
    let cafe = harness.asset(&latin1);
    assert_eq!(
        cafe.path.as_os_str().as_bytes(),
        latin1.as_os_str().as_bytes()
    );
    assert_eq!(cafe.name, "caf\u{FFFD} terrace.jpg");
    assert_eq!(cafe.media.make.as_deref(), Some("DJI"));
    // The deleted file is not indexed; the FIFO was skipped, not opened.
    let status = harness.index.status().unwrap();
    assert!(!status
        .error_files
        .iter()
        .any(|e| e.path.ends_with("pipe.jpg")));
    // corrupted.jpg's entropy data ends early: libjpeg decodes what is there
    // (a thumbnail) and the damage is reported for the file. The exif-samples
    // "invalid" files decode cleanly (their damage is in places we do not read).
    assert_eq!(
        harness.asset(&gallery.join("corrupted.jpg")).thumb_state,
        "ready"
    );
    assert!(error("corrupted.jpg").contains("premature end of data segment"));
    for entry in std::fs::read_dir(root.join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpg") {
            assert_eq!(
                harness.asset(&path).thumb_state,
                "ready",
                "{}",
                path.display()
            );
        }
    }

    // A second scan after the growth stopped reads exactly that file again.
    harness.options.after_read_hook = None;
    let again = harness.scan(&root);
    assert!(harness
        .asset(&gallery.join("growing.jpg"))
        .content_hash
        .is_some());
    assert!(harness.error_for(&gallery.join("growing.jpg")).is_none());
    assert!(
        harness
            .error_for(&gallery.join("deleted-mid-scan.jpg"))
            .is_none(),
        "old walk errors are cleared"
    );
    assert!(again.processed >= 1);
}

#[test]
fn unreadable_folder_keeps_what_the_index_knew() {
    if unsafe { libc::geteuid() } == 0 {
        // Root reads everything; the CLI test covers unreadable files as an unprivileged user.
        let photos = shared_photos();
        let tree = tempfile::tempdir().unwrap();
        std::fs::copy(
            photos.join("dji-phantom3/DJI_0020.JPG"),
            tree.path().join("a.jpg"),
        )
        .unwrap();
        let mut harness = Harness::new();
        harness.scan(tree.path());
        assert_eq!(harness.index.status().unwrap().assets, 1);
        return;
    }
    let photos = shared_photos();
    let tree = tempfile::tempdir().unwrap();
    let locked = tree.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::copy(
        photos.join("dji-phantom3/DJI_0020.JPG"),
        locked.join("a.jpg"),
    )
    .unwrap();
    let mut harness = Harness::new();
    harness.scan(tree.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    harness.scan(tree.path());
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        harness.index.status().unwrap().assets,
        1,
        "nothing forgotten because a folder could not be listed"
    );
    assert!(harness
        .error_for(&locked)
        .unwrap()
        .contains("cannot list folder"));
}
