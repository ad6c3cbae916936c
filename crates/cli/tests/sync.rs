//! `photopro connect` + `photopro sync --once` as real processes, two devices
//! (two data dirs, two index databases, two sync folders) against the real API
//! and its S3-compatible store on 127.0.0.1.

use std::path::Path;

mod common;
use common::{ok, photopro, LiveApi};

/// Copy with the original modification time, as a card reader would leave it
/// (files modified moments ago are held back until they settle).
fn copy_settled(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let modified = std::fs::metadata(from).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

#[test]
fn two_devices_sync_through_the_cli() {
    let api = LiveApi::start();
    let work = tempfile::tempdir().unwrap();
    let token_file = work.path().join("token");
    std::fs::write(&token_file, api.token()).unwrap();
    let photos =
        std::path::PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("dji-phantom3");
    let (data_a, data_b) = (work.path().join("data-a"), work.path().join("data-b"));
    let (sync_a, sync_b) = (work.path().join("Sync A"), work.path().join("Sync B"));
    std::fs::create_dir_all(sync_a.join("Brighton Beach")).unwrap();
    copy_settled(
        &photos.join("DJI_0021.JPG"),
        &sync_a.join("Brighton Beach/DJI_0021.JPG"),
    );
    copy_settled(
        &photos.join("DJI_0022.JPG"),
        &sync_a.join("Brighton Beach/DJI_0022.JPG"),
    );

    for data in [&data_a, &data_b] {
        let out = ok(photopro(
            data,
            &[
                "connect",
                &api.base,
                "--token-file",
                token_file.to_str().unwrap(),
            ],
        ));
        assert!(out.contains("mode 0600"));
    }
    let up = ok(photopro(
        &data_a,
        &["sync", "--once", "--folder", sync_a.to_str().unwrap()],
    ));
    assert!(up.contains("Up to date: 2 uploaded"), "{up}");
    let down = ok(photopro(
        &data_b,
        &["sync", "--once", "--folder", sync_b.to_str().unwrap()],
    ));
    assert!(down.contains("2 downloaded"), "{down}");
    assert_eq!(
        std::fs::read(sync_b.join("Brighton Beach/DJI_0022.JPG")).unwrap(),
        std::fs::read(photos.join("DJI_0022.JPG")).unwrap()
    );

    // The merge base lives in each device's index: a second run has nothing to do.
    let again = ok(photopro(&data_a, &["sync", "--once"]));
    assert!(
        again.contains("Up to date: 0 uploaded (0 B), 0 downloaded"),
        "{again}"
    );

    // Rename on B: one move, zero bytes, and A follows.
    std::fs::rename(
        sync_b.join("Brighton Beach"),
        sync_b.join("2016 Brighton Beach"),
    )
    .unwrap();
    let renamed = ok(photopro(&data_b, &["sync", "--once"]));
    assert!(
        renamed.contains("0 uploaded (0 B), 0 downloaded (0 B), 1 moved"),
        "{renamed}"
    );
    ok(photopro(&data_a, &["sync", "--once"]));
    assert!(sync_a.join("2016 Brighton Beach/DJI_0021.JPG").is_file());

    // A deletion on B lands in A's sync trash and comes back with `trash restore`.
    std::fs::remove_file(sync_b.join("2016 Brighton Beach/DJI_0021.JPG")).unwrap();
    ok(photopro(&data_b, &["sync", "--once"]));
    ok(photopro(&data_a, &["sync", "--once"]));
    assert!(!sync_a.join("2016 Brighton Beach/DJI_0021.JPG").exists());
    let trash = ok(photopro(&data_a, &["trash"]));
    let id = trash.split_whitespace().next().unwrap().to_string();
    assert!(
        trash.contains("2016 Brighton Beach/DJI_0021.JPG"),
        "{trash}"
    );
    ok(photopro(&data_a, &["trash", "restore", &id]));
    assert!(sync_a.join("2016 Brighton Beach/DJI_0021.JPG").is_file());
    // The restored photo goes back up as a restore (its content is in the
    // server's trash: nothing is sent), not as "0 uploaded".
    let restored = ok(photopro(&data_a, &["sync", "--once"]));
    assert!(
        restored.contains("0 uploaded (0 B), 0 downloaded (0 B), 1 restored (0 B), 0 moved"),
        "{restored}"
    );

    // Paused means paused.
    ok(photopro(&data_a, &["pause"]));
    assert!(ok(photopro(&data_a, &["sync", "--once"])).contains("Paused"));
    ok(photopro(&data_a, &["resume"]));
    assert!(ok(photopro(&data_a, &["conflicts"])).contains("No conflicted copies"));
}

#[test]
fn sync_without_connecting_says_what_to_do() {
    let work = tempfile::tempdir().unwrap();
    let out = photopro(
        &work.path().join("data"),
        &[
            "sync",
            "--once",
            "--folder",
            work.path().join("Sync").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("photopro connect"));
}

/// Write `bytes` as if edited a minute ago (settled, so sync takes it at once).
fn edit(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(earlier)
        .unwrap();
}

#[test]
fn a_conflict_keeps_both_and_keep_mine_carries_to_the_other_device() {
    let api = LiveApi::start();
    let work = tempfile::tempdir().unwrap();
    let token_file = work.path().join("token");
    std::fs::write(&token_file, api.token()).unwrap();
    let (data_a, data_b) = (work.path().join("data-a"), work.path().join("data-b"));
    let (sync_a, sync_b) = (work.path().join("Sync A"), work.path().join("Sync B"));
    for (data, device) in [(&data_a, "Studio Mac"), (&data_b, "Laptop")] {
        ok(photopro(
            data,
            &[
                "connect",
                &api.base,
                "--token-file",
                token_file.to_str().unwrap(),
            ],
        ));
        // The device name is a setting of the app; the test sets it in app.json.
        let settings_path = data.join("app.json");
        let mut settings: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&settings_path).unwrap()).unwrap();
        settings["device_name"] = serde_json::json!(device);
        std::fs::write(&settings_path, serde_json::to_vec(&settings).unwrap()).unwrap();
    }
    std::fs::create_dir_all(sync_a.join("Smith Wedding")).unwrap();
    edit(&sync_a.join("Smith Wedding/IMG_0001.jpg"), b"original");
    ok(photopro(
        &data_a,
        &["sync", "--once", "--folder", sync_a.to_str().unwrap()],
    ));
    ok(photopro(
        &data_b,
        &["sync", "--once", "--folder", sync_b.to_str().unwrap()],
    ));

    // Both retouch the same photo before either syncs.
    edit(
        &sync_a.join("Smith Wedding/IMG_0001.jpg"),
        b"retouched on the Studio Mac",
    );
    edit(
        &sync_b.join("Smith Wedding/IMG_0001.jpg"),
        b"retouched on the Laptop",
    );
    ok(photopro(&data_a, &["sync", "--once"]));
    let b_pass = ok(photopro(&data_b, &["sync", "--once"]));
    assert!(b_pass.contains("1 conflicts"), "{b_pass}");
    ok(photopro(&data_a, &["sync", "--once"]));
    let copy = format!(
        "Smith Wedding/IMG_0001 (conflicted copy {} from Laptop).jpg",
        today()
    );
    for sync in [&sync_a, &sync_b] {
        assert_eq!(
            std::fs::read(sync.join("Smith Wedding/IMG_0001.jpg")).unwrap(),
            b"retouched on the Studio Mac"
        );
        assert_eq!(
            std::fs::read(sync.join(&copy)).unwrap(),
            b"retouched on the Laptop",
            "both versions kept"
        );
    }
    let listed = ok(photopro(&data_b, &["conflicts"]));
    assert!(
        listed.contains(&copy) && listed.contains("this computer's version"),
        "{listed}"
    );
    assert!(ok(photopro(&data_a, &["conflicts"])).contains("another device's version"));

    // The Laptop keeps its own version; the Studio Mac follows; nothing is lost.
    ok(photopro(
        &data_b,
        &["conflicts", "resolve", &copy, "--keep", "mine"],
    ));
    let b_pass = ok(photopro(&data_b, &["sync", "--once"]));
    let a_pass = ok(photopro(&data_a, &["sync", "--once"]));
    for (sync, data) in [(&sync_a, &data_a), (&sync_b, &data_b)] {
        let listing: Vec<_> = std::fs::read_dir(sync.join("Smith Wedding"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            std::fs::read(sync.join("Smith Wedding/IMG_0001.jpg"))
                .ok()
                .as_deref(),
            Some(&b"retouched on the Laptop"[..]),
            "{}: {listing:?}\nB: {b_pass}\nA: {a_pass}",
            sync.display()
        );
        assert!(!sync.join(&copy).exists());
        assert!(ok(photopro(data, &["conflicts"])).contains("No conflicted copies"));
        let trash = ok(photopro(data, &["trash"]));
        assert!(
            trash.contains("Smith Wedding/IMG_0001.jpg"),
            "the Studio Mac's version is in the trash: {trash}"
        );
    }
}

fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    photopro_sync::names::date_of(seconds)
}
