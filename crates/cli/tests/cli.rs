//! The `photopro` binary end to end: real process, real files, isolated --data-dir.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared_photos() -> PathBuf {
    let path = std::env::var_os("PHOTOPRO_SHARED_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/photos"));
    std::fs::canonicalize(&path)
        .unwrap_or_else(|e| panic!("real test photos expected at {} ({e})", path.display()))
}

fn photopro(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_photopro"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn add_scan_status_ls_info() {
    let data = tempfile::tempdir().unwrap();
    let photos = shared_photos();
    let dji = photos.join("dji-phantom3");
    ok(photopro(
        data.path(),
        &["library", "add", dji.to_str().unwrap()],
    ));
    let scan = ok(photopro(data.path(), &["scan"]));
    assert!(scan.contains("19 files (0 unchanged, 19 read"), "{scan}");

    let status: Value =
        serde_json::from_str(&ok(photopro(data.path(), &["status", "--json"]))).unwrap();
    for key in [
        "assets",
        "folders",
        "bytes",
        "with_exif_time",
        "with_gps",
        "thumbnails",
        "errors",
        "error_files",
    ] {
        assert!(
            status.get(key).is_some(),
            "status --json lacks {key}: {status}"
        );
    }
    assert_eq!(status["assets"], 19);
    assert_eq!(status["folders"], 1);
    assert_eq!(status["with_gps"], 18);
    assert_eq!(status["with_exif_time"], 18);
    assert_eq!(status["thumbnails"], 18);
    assert_eq!(status["errors"], 0);
    assert_eq!(status["error_files"], Value::Array(vec![]));

    let rescan = ok(photopro(data.path(), &["scan", "--json"]));
    let report: Value = serde_json::from_str(&rescan).unwrap();
    assert_eq!(report[0]["report"]["unchanged"], 19);
    assert_eq!(report[0]["report"]["processed"], 0);

    let info: Value = serde_json::from_str(&ok(photopro(
        data.path(),
        &["info", "--json", dji.join("DJI_0023.JPG").to_str().unwrap()],
    )))
    .unwrap();
    assert_eq!(info["media"]["make"], "DJI");
    assert_eq!(info["thumb_state"], "ready");
    let human = ok(photopro(
        data.path(),
        &["info", dji.join("DJI_0023.JPG").to_str().unwrap()],
    ));
    assert!(
        human.contains("above take-off") && human.contains("DJI FC300S"),
        "{human}"
    );

    let ls: Value = serde_json::from_str(&ok(photopro(data.path(), &["ls", "--json"]))).unwrap();
    assert_eq!(ls[0]["files"].as_array().unwrap().len(), 19);
    let search = ok(photopro(data.path(), &["search", "meta : FC300S"]));
    assert_eq!(search.lines().count(), 18);
}

#[test]
fn clear_errors_for_bad_usage() {
    let data = tempfile::tempdir().unwrap();
    let out = photopro(data.path(), &["scan"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no libraries yet"));
    let out = photopro(data.path(), &["library", "add", "/definitely/not/here"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot find /definitely/not/here"));
    std::fs::write(data.path().join("config.json"), b"{oops").unwrap();
    let out = photopro(data.path(), &["config", "show"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json is not valid"));
    std::fs::remove_file(data.path().join("config.json")).unwrap();
    let out = photopro(data.path(), &["config", "add-skip", "[unclosed"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid file pattern"));
    assert!(
        !data.path().join("config.json").exists(),
        "a bad pattern is never saved"
    );
}

/// An unreadable file is indexed (size, time, identity) with its error, so it
/// is not forgotten. Root reads everything, so as root the scan runs as `nobody`.
#[test]
fn unreadable_file_is_indexed_with_its_error() {
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::Builder::new()
        .prefix("photopro-unreadable")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let library = work.path().join("library");
    let data = work.path().join("data");
    std::fs::create_dir_all(&library).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(
        shared_photos().join("dji-phantom3/DJI_0018.JPG"),
        library.join("readable.jpg"),
    )
    .unwrap();
    std::fs::copy(
        shared_photos().join("dji-phantom3/DJI_0019.JPG"),
        library.join("secret.jpg"),
    )
    .unwrap();
    std::fs::set_permissions(
        library.join("secret.jpg"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    for dir in [&library, &data] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let binary = env!("CARGO_BIN_EXE_photopro");
    let run = |args: &[&str]| -> Output {
        let mut command = if unsafe { libc::geteuid() } == 0 {
            // The binary sits under root's cache dir; copy it where `nobody` can run it.
            let copy = work.path().join("photopro");
            if !copy.exists() {
                std::fs::copy(binary, &copy).unwrap();
                std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(copy);
            c
        } else {
            Command::new(binary)
        };
        command
            .env("HOME", work.path())
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .output()
            .unwrap()
    };
    ok(run(&["library", "add", library.to_str().unwrap()]));
    ok(run(&["scan"]));
    let status: Value = serde_json::from_str(&ok(run(&["status", "--json"]))).unwrap();
    assert_eq!(
        status["assets"], 2,
        "the unreadable file is still indexed: {status}"
    );
    assert_eq!(status["errors"], 1);
    let error = &status["error_files"][0];
    assert!(error["path"].as_str().unwrap().ends_with("secret.jpg"));
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{error}"
    );
}
