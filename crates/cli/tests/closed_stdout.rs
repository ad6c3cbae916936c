//! `photopro status | head -1`: a reader that closes the pipe early ends the
//! command quietly (status 0), never a panic ("failed printing to stdout:
//! Broken pipe", status 101).

#![cfg(unix)]

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn shared_photos() -> PathBuf {
    let path = std::env::var_os("PHOTOPRO_SHARED_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/photos"));
    std::fs::canonicalize(&path)
        .unwrap_or_else(|e| panic!("real test photos expected at {} ({e})", path.display()))
}

/// A pipe whose read end is already closed: every write to it fails with
/// EPIPE, the way `head -1` leaves it once it has its line.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just opened and are owned only here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

fn run_into_closed_pipe(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_photopro"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn status_and_search_end_quietly_when_the_reader_goes_away() {
    let data = tempfile::tempdir().unwrap();
    let dji = shared_photos().join("dji-phantom3");
    let add = Command::new(env!("CARGO_BIN_EXE_photopro"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["library", "add", dji.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(add.status.success());
    let scan = Command::new(env!("CARGO_BIN_EXE_photopro"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["scan", "--json"])
        .output()
        .unwrap();
    assert!(scan.status.success());

    for args in [
        &["status"][..],
        &["status", "--json"],
        &["search", "DJI"],
        &["ls"],
    ] {
        let out = run_into_closed_pipe(data.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "photopro {args:?} into a closed pipe: {:?}\n{stderr}",
            out.status
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "photopro {args:?}: {stderr}"
        );
    }
}
