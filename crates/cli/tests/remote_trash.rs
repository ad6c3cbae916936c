//! `photopro trash --remote`: the server's trash listed (name, folder, size,
//! when), restored one by one or in bulk, a name collision keeping both, and
//! the next sync bringing the restored files down — counted as restores.
//! Real processes against the real API and its S3-compatible store.

use std::path::{Path, PathBuf};

mod common;
use common::{ok, photopro, LiveApi};

fn photos() -> PathBuf {
    PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
    }))
    .join("dji-phantom3")
}

/// Copy with the original modification time (a fresh file waits to settle).
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
fn the_servers_trash_is_listed_and_restored_in_bulk_keeping_both_on_a_collision() {
    let api = LiveApi::start();
    let work = tempfile::tempdir().unwrap();
    let token_file = work.path().join("token");
    std::fs::write(&token_file, api.token()).unwrap();
    let data = work.path().join("data");
    let sync = work.path().join("Sync");
    let beach = sync.join("Brighton Beach");
    std::fs::create_dir_all(&beach).unwrap();
    for name in ["DJI_0018.JPG", "DJI_0019.JPG", "DJI_0020.JPG"] {
        copy_settled(&photos().join(name), &beach.join(name));
    }
    ok(photopro(
        &data,
        &[
            "connect",
            &api.base,
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    ));
    let up = ok(photopro(
        &data,
        &["sync", "--once", "--folder", sync.to_str().unwrap()],
    ));
    assert!(up.contains("3 uploaded"), "{up}");
    let empty = ok(photopro(&data, &["trash", "--remote"]));
    assert!(empty.contains("The server's trash is empty"), "{empty}");

    // Two deleted here go to the server's trash; a new photo then takes one
    // of the names.
    std::fs::remove_file(beach.join("DJI_0018.JPG")).unwrap();
    std::fs::remove_file(beach.join("DJI_0019.JPG")).unwrap();
    let deleted = ok(photopro(&data, &["sync", "--once"]));
    assert!(deleted.contains("2 deleted"), "{deleted}");
    copy_settled(&photos().join("DJI_0021.JPG"), &beach.join("DJI_0019.JPG"));
    ok(photopro(&data, &["sync", "--once"]));

    let listed = ok(photopro(&data, &["trash", "--remote"]));
    assert!(listed.contains("2 files in the server's trash"), "{listed}");
    for name in ["DJI_0018.JPG", "DJI_0019.JPG"] {
        let line = listed
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} listed: {listed}"));
        assert!(
            line.contains("\tBrighton Beach\t")
                && line.contains(" MiB\t")
                && line.contains("trashed 20"),
            "name, folder, size in binary units, when: {line}"
        );
    }
    let filtered = ok(photopro(
        &data,
        &[
            "trash",
            "--remote",
            "--folder",
            "Elsewhere",
            "--since",
            "1d",
        ],
    ));
    assert!(filtered.contains("empty (for this filter)"), "{filtered}");

    // One by path; one not there.
    let missing = photopro(
        &data,
        &["trash", "--remote", "--restore", "Brighton Beach/nope.jpg"],
    );
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stdout)
            .contains("Not restored Brighton Beach/nope.jpg: it is not in the server's trash"),
        "{}",
        String::from_utf8_lossy(&missing.stdout)
    );
    let one = ok(photopro(
        &data,
        &[
            "trash",
            "--remote",
            "--restore",
            "Brighton Beach/DJI_0018.JPG",
        ],
    ));
    assert!(
        one.contains("Restored Brighton Beach/DJI_0018.JPG\n"),
        "{one}"
    );

    // The rest in bulk: the name is taken by the new photo, so both are kept.
    let all = ok(photopro(
        &data,
        &["trash", "--remote", "--restore-all", "--since", "1d"],
    ));
    assert!(
        all.contains(
            "Restored Brighton Beach/DJI_0019.JPG as Brighton Beach/DJI_0019 (restored).JPG (a file named DJI_0019.JPG is there now; both are kept)"
        ),
        "{all}"
    );
    assert!(all.contains("1 restored."), "{all}");
    let after = ok(photopro(&data, &["trash", "--remote"]));
    assert!(after.contains("The server's trash is empty"), "{after}");

    // The next sync brings both back. (A one-shot run lists the server
    // afresh and cannot tell a restored file from a new one; a running
    // daemon, following the change journal, counts them as restores.)
    let down = ok(photopro(&data, &["sync", "--once"]));
    assert!(down.contains("Up to date"), "{down}");
    for (local, original) in [
        ("DJI_0018.JPG", "DJI_0018.JPG"),
        ("DJI_0019 (restored).JPG", "DJI_0019.JPG"),
        ("DJI_0019.JPG", "DJI_0021.JPG"),
        ("DJI_0020.JPG", "DJI_0020.JPG"),
    ] {
        assert_eq!(
            std::fs::read(beach.join(local)).unwrap(),
            std::fs::read(photos().join(original)).unwrap(),
            "{local}"
        );
    }
}
