//! Issue 10, items 2, 3, 4, 5 and 7 end to end: real `photopro sync --once`
//! processes on two devices (two data dirs and sync folders) against the real
//! API and its S3-compatible store on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

mod common;
use common::{ok, photopro, LiveApi};

/// Two devices connected to one organization.
struct Two {
    _work: tempfile::TempDir,
    _api: LiveApi,
    data: [PathBuf; 2],
    sync: [PathBuf; 2],
}

impl Two {
    fn new() -> Two {
        let api = LiveApi::start();
        let work = tempfile::tempdir().unwrap();
        let token_file = work.path().join("token");
        std::fs::write(
            &token_file,
            api.api.device_token("Smith Photography", None).unwrap(),
        )
        .unwrap();
        let data = [work.path().join("data-a"), work.path().join("data-b")];
        let sync = [work.path().join("Sync A"), work.path().join("Sync B")];
        for (data, device) in data.iter().zip(["Studio", "Laptop"]) {
            ok(photopro(
                data,
                &[
                    "connect",
                    &api.base,
                    "--token-file",
                    token_file.to_str().unwrap(),
                ],
            ));
            // The device name is a setting of the app (app.json).
            let settings_path = data.join("app.json");
            let mut settings: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&settings_path).unwrap()).unwrap();
            settings["device_name"] = serde_json::json!(device);
            std::fs::write(&settings_path, serde_json::to_vec(&settings).unwrap()).unwrap();
        }
        for dir in &sync {
            std::fs::create_dir_all(dir).unwrap();
        }
        Two {
            _work: work,
            _api: api,
            data,
            sync,
        }
    }

    fn sync_once(&self, device: usize) -> String {
        ok(photopro(
            &self.data[device],
            &[
                "sync",
                "--once",
                "--folder",
                self.sync[device].to_str().unwrap(),
            ],
        ))
    }

    fn names(&self, device: usize) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.sync[device])
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }
}

/// Write `bytes` as if edited a minute ago (settled, so sync takes it at once).
fn edit(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    set_mtime(path, SystemTime::now() - Duration::from_secs(60));
}

fn set_mtime(path: &Path, when: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

fn a_real_jpeg() -> Vec<u8> {
    let photos = std::env::var("PHOTOPRO_SHARED_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/photos")
        });
    let mut found: Vec<PathBuf> = walk_jpegs(&photos);
    found.sort();
    let path = found
        .into_iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 400_000))
        .expect("a JPEG over 400 KB among the test photos (set PHOTOPRO_SHARED_PHOTOS)");
    std::fs::read(path).unwrap()
}

fn walk_jpegs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_jpegs(&path));
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg"))
        {
            out.push(path);
        }
    }
    out
}

/// Item 2: a decomposed (NFD) name, as macOS writes it, is stored in NFC and
/// is no rename: one upload, then quiet.
#[test]
fn a_decomposed_accent_syncs_once_then_is_up_to_date() {
    let two = Two::new();
    edit(&two.sync[0].join("Cafe\u{301}.jpg"), b"espresso");
    let first = two.sync_once(0);
    assert!(first.contains("Up to date: 1 uploaded"), "{first}");
    for _ in 0..2 {
        let again = two.sync_once(0);
        assert!(
            again.contains("Up to date: 0 uploaded (0 B), 0 downloaded (0 B), 0 moved"),
            "{again}"
        );
    }
    two.sync_once(1);
    assert_eq!(two.names(1), ["Caf\u{e9}.jpg"]);
}

/// Item 3: both devices edit a photo with a 251-byte name; the conflicted copy
/// still fits, both versions reach both devices, and `conflicts` lists it.
#[test]
fn a_conflict_on_a_long_name_resolves_with_a_copy_that_fits() {
    let two = Two::new();
    let long = format!("{}.jpg", "x".repeat(247));
    assert_eq!(long.len(), 251);
    edit(&two.sync[0].join(&long), b"original");
    two.sync_once(0);
    two.sync_once(1);
    edit(&two.sync[0].join(&long), b"studio's edit");
    edit(&two.sync[1].join(&long), b"laptop's edit");
    two.sync_once(0);
    let second = two.sync_once(1);
    assert!(second.contains("1 conflicts"), "{second}");
    assert!(!second.contains("to retry"), "{second}");
    two.sync_once(0);
    for device in 0..2 {
        let names = two.names(device);
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| n.len() <= 255), "{names:?}");
        let copy = names.iter().find(|n| **n != long).unwrap();
        assert!(copy.ends_with(" from Laptop).jpg"), "{copy}");
        assert_eq!(
            std::fs::read(two.sync[device].join(copy)).unwrap(),
            b"laptop's edit"
        );
        assert_eq!(
            std::fs::read(two.sync[device].join(&long)).unwrap(),
            b"studio's edit"
        );
    }
    let listed = ok(photopro(&two.data[1], &["conflicts"]));
    assert!(!listed.contains("No conflicted copies"), "{listed}");
}

/// Item 4: a 0-byte file and a photo dated 1965 sync; a backslash name and a
/// name ending in a space are listed once each with the reason, not retried.
#[test]
fn empty_files_and_old_dates_sync_and_unsyncable_names_say_why() {
    let two = Two::new();
    edit(&two.sync[0].join("empty.xmp"), b"");
    let film = two.sync[0].join("film scan.jpg");
    edit(&film, b"scanned in 2026, taken in 1965");
    let jan_1965 = SystemTime::UNIX_EPOCH - Duration::from_secs(157_766_400);
    set_mtime(&film, jan_1965);
    edit(&two.sync[0].join("back\\slash.jpg"), b"one");
    edit(&two.sync[0].join("trailing space.jpg "), b"two");

    let out = two.sync_once(0);
    // (A 0-byte upload sends no bytes, so only the scan counts as uploaded.)
    assert!(out.contains("Up to date: 1 uploaded"), "{out}");
    assert!(!out.contains("to retry"), "{out}");
    assert!(out.contains("2 files can't sync:"), "{out}");
    assert!(
        out.contains("\"back\\\\slash.jpg\": the name contains a slash or backslash"),
        "{out}"
    );
    assert!(
        out.contains("\"trailing space.jpg \": the name starts or ends with a space"),
        "{out}"
    );
    // Listed once each, and the next run tries nothing.
    assert_eq!(out.matches("slash.jpg\"").count(), 1, "{out}");
    let again = two.sync_once(0);
    assert!(again.contains("Up to date: 0 uploaded"), "{again}");
    assert!(!again.contains("to retry"), "{again}");

    two.sync_once(1);
    assert_eq!(two.names(1), ["empty.xmp", "film scan.jpg"]);
    assert_eq!(
        std::fs::metadata(two.sync[1].join("empty.xmp"))
            .unwrap()
            .len(),
        0
    );
    let modified = std::fs::metadata(two.sync[1].join("film scan.jpg"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(modified, jan_1965, "the 1965 date travels");
}

/// Item 5: swapping two names through a temporary one ends with the swapped
/// names on both devices, no "(case conflict)" copies.
#[test]
fn swapping_two_names_ends_with_the_swapped_names() {
    let two = Two::new();
    edit(&two.sync[0].join("a.jpg"), b"first");
    edit(&two.sync[0].join("b.jpg"), b"second");
    two.sync_once(0);
    two.sync_once(1);
    let dir = &two.sync[0];
    std::fs::rename(dir.join("a.jpg"), dir.join("tmp.jpg")).unwrap();
    std::fs::rename(dir.join("b.jpg"), dir.join("a.jpg")).unwrap();
    std::fs::rename(dir.join("tmp.jpg"), dir.join("b.jpg")).unwrap();
    let out = two.sync_once(0);
    assert!(
        out.contains("0 uploaded (0 B)"),
        "renames move no bytes: {out}"
    );
    assert!(out.contains("0 conflicts"), "{out}");
    two.sync_once(1);
    for device in 0..2 {
        assert_eq!(two.names(device), ["a.jpg", "b.jpg"], "device {device}");
        assert_eq!(
            std::fs::read(two.sync[device].join("a.jpg")).unwrap(),
            b"second"
        );
        assert_eq!(
            std::fs::read(two.sync[device].join("b.jpg")).unwrap(),
            b"first"
        );
    }
}

/// Item 7: a writer pausing longer than the settle time (150 KB written, a
/// 3.5 s pause, then the rest) never gets the truncated JPEG uploaded.
#[test]
fn a_jpeg_whose_writer_pauses_is_uploaded_only_once_complete() {
    let two = Two::new();
    let photo = a_real_jpeg();
    let path = two.sync[0].join("IMG_0001.jpg");
    std::fs::write(&path, &photo[..150_000]).unwrap();
    // The pause has already outlasted the settle time when sync looks.
    set_mtime(&path, SystemTime::now() - Duration::from_millis(3_500));
    let mut running = Command::new(env!("CARGO_BIN_EXE_photopro"))
        .arg("--data-dir")
        .arg(&two.data[0])
        .args(["sync", "--once", "--folder", two.sync[0].to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (on its output, not a timer) until sync says it is waiting for the
    // writer; only then does the writer finish the file.
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(running.stdout.take().unwrap()));
    let mut out = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        out.push_str(&line);
        out.push('\n');
        if line.contains("Waiting for IMG_0001.jpg to finish writing") {
            break;
        }
    }
    assert!(
        out.contains("Waiting for IMG_0001.jpg to finish writing"),
        "{out}"
    );
    {
        use std::io::Write;
        let mut file = std::fs::File::options().append(true).open(&path).unwrap();
        file.write_all(&photo[150_000..]).unwrap();
    }
    for line in lines {
        out.push_str(&line.unwrap());
        out.push('\n');
    }
    assert!(running.wait().unwrap().success(), "{out}");
    assert!(
        out.contains("Up to date: 1 uploaded"),
        "one version only: {out}"
    );
    two.sync_once(1);
    assert_eq!(
        std::fs::read(two.sync[1].join("IMG_0001.jpg")).unwrap(),
        photo
    );
}
