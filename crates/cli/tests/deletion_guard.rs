//! The mass-deletion guard against real processes: a running `photopro sync`
//! daemon and the real API (over HTTP, with its S3-compatible store) on
//! 127.0.0.1.
//!
//! Files deleted in slices while the daemon runs (a script, a failing disk,
//! a drive half unmounted) come in as many small passes. Each slice is under
//! the guard's threshold; together they are not: the guard counts deletions
//! over a rolling window (10 minutes), holds back those past the threshold,
//! and asks — and `photopro sync --approve-deletions` carries them out.
//!
//! Every wait polls an observable condition against a deadline.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

mod common;
use common::{ok, photopro, wait_until, LiveApi};

const ANSWER: Duration = Duration::from_secs(30);

/// Live assets on the API.
fn live_assets(base: &str, token: &str) -> usize {
    let http = reqwest::blocking::Client::new();
    let mut live = 0;
    let mut after: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000".to_string())];
        if let Some(after) = &after {
            query.push(("after", after.clone()));
        }
        let page: photopro_wire::AssetPage = http
            .get(format!("{base}/v1/assets"))
            .query(&query)
            .bearer_auth(token)
            .send()
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .unwrap();
        live += page
            .assets
            .iter()
            .filter(|a| a.trashed_at.is_none())
            .count();
        match page.next_after {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    live
}

/// `photopro sync`, the foreground daemon, with its output collected.
struct Daemon {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(data: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_photopro"))
            .arg("--data-dir")
            .arg(data)
            .arg("sync")
            .env_remove("PHOTOPRO_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut daemon = Daemon { child, lines };
        let up = wait_until(ANSWER, || {
            assert!(
                daemon.child.try_wait().unwrap().is_none(),
                "the daemon exited"
            );
            status(data).is_some()
        });
        assert!(up, "the daemon never answered:\n{}", daemon.said());
        daemon
    }

    fn said(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The running daemon's status, over its control channel.
fn status(data: &Path) -> Option<photopro_sync::service::Status> {
    let mut channel = photopro_sync::control::connect(data)?;
    channel
        .request(photopro_sync::control::Request::Status)
        .ok()?
        .status
}

fn name(i: usize) -> String {
    format!("IMG_{i:04}.jpg")
}

#[test]
fn deletions_in_slices_while_the_daemon_runs_are_held_once_over_the_threshold() {
    let api = LiveApi::start();
    let token = api.token();
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let folder = work.path().join("Sync");
    let token_file = work.path().join("token");
    std::fs::write(&token_file, &token).unwrap();
    ok(photopro(
        &data,
        &[
            "connect",
            &api.base,
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    ));
    // 300 small photos, settled (written a minute ago): the threshold is 50.
    let shoot: PathBuf = folder.join("Shoot");
    std::fs::create_dir_all(&shoot).unwrap();
    let a_minute_ago = SystemTime::now() - Duration::from_secs(60);
    for i in 0..300 {
        let path = shoot.join(name(i));
        std::fs::write(&path, format!("photo {i} ").repeat(100)).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(a_minute_ago)
            .unwrap();
    }
    ok(photopro(
        &data,
        &["sync", "--once", "--folder", folder.to_str().unwrap()],
    ));
    assert_eq!(live_assets(&api.base, &token), 300);
    let daemon = Daemon::start(&data);

    // Ten at a time, a pass after each: the first five slices (50) go through.
    for slice in 0..6 {
        for i in slice * 10..slice * 10 + 10 {
            std::fs::remove_file(shoot.join(name(i))).unwrap();
        }
        let pass = ok(photopro(&data, &["sync", "--once"]));
        if slice < 5 {
            assert_eq!(
                live_assets(&api.base, &token),
                300 - 10 * (slice + 1),
                "slice {slice}: {pass}"
            );
        } else {
            // The sixth makes 60 within 10 minutes: held back, and asked.
            assert!(
                pass.contains("Holding back 10 deletions (60 within 10 min")
                    && pass.contains("`photopro sync --approve-deletions`"),
                "{pass}"
            );
        }
    }
    assert_eq!(
        live_assets(&api.base, &token),
        250,
        "the server keeps the files past the threshold"
    );
    let asked = status(&data).expect("the daemon answers");
    assert_eq!(
        asked.phase,
        photopro_sync::service::Phase::AwaitingApproval,
        "{asked:?}"
    );
    assert!(
        asked
            .summary
            .contains("Holding back 10 deletions (60 within 10 min")
            && asked.summary.contains("photopro sync --approve-deletions"),
        "{}",
        asked.summary
    );

    // The command as printed: forwarded to the daemon, which carries them out.
    let approved = ok(photopro(&data, &["sync", "--approve-deletions"]));
    assert!(
        approved.contains("10 deleted"),
        "{approved}\n{}",
        daemon.said()
    );
    assert_eq!(live_assets(&api.base, &token), 240);
}
