//! One sync engine per library, and devices that know who they are — real
//! `photopro` processes against the real API (over HTTP, with its S3-compatible
//! store) on 127.0.0.1.
//!
//! - A daemon runs; `photopro sync --once` on the same data directory asks the
//!   daemon for a pass instead of running a second engine (which multiplied
//!   files into conflicted copies of conflicted copies).
//! - `pause`, `resume` and `sync --once --approve-deletions` reach the daemon.
//! - A second daemon refuses; a daemon killed with SIGKILL leaves no lock behind.
//! - Two computers with one host name get different device names, and
//!   `conflicts resolve --keep mine` keeps this device's version.
//!
//! Every wait polls an observable condition against a deadline that fails the test.
//! With `PHOTOPRO_CONTROL_TRANSPORT=tcp` the same tests run over the control
//! channel's Windows transport (loopback TCP with a secret).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;
use common::{ok, wait_until, LiveApi};

const CONVERGE: Duration = Duration::from_secs(90);

/// `photopro --data-dir DATA ARGS` on a computer whose host name is `Studio`.
fn command(data: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_photopro"));
    command
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("PHOTOPRO_TOKEN")
        .env("PHOTOPRO_HOSTNAME", "Studio");
    command
}

fn photopro(data: &Path, args: &[&str]) -> Output {
    command(data, args).output().unwrap()
}

fn photos() -> Vec<PathBuf> {
    let dir = PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
    }))
    .join("dji-phantom3");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("jpg")))
        .collect();
    all.sort();
    // Drone photos of ~3 MiB: large enough that two engines' uploads overlap
    // (before the lock, this turned 10 photos into 60 conflicted copies).
    all.truncate(10);
    all
}

/// Copy with the original modification time (settled: sync takes it at once).
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

/// Write `bytes` as if edited a minute ago.
fn edit(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    let earlier = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(earlier)
        .unwrap();
}

/// Every file below `root`, as relative paths.
fn files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                found.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found.sort();
    found
}

/// Live assets on the API, by name.
fn live_assets(base: &str, token: &str) -> Vec<String> {
    let http = reqwest::blocking::Client::new();
    let mut names = Vec::new();
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
        names.extend(
            page.assets
                .into_iter()
                .filter(|a| a.trashed_at.is_none())
                .map(|a| a.name),
        );
        match page.next_after {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    names.sort();
    names
}

fn connect(data: &Path, base: &str, token: &str) -> String {
    let token_file = data.with_extension("token");
    std::fs::write(&token_file, token).unwrap();
    ok(photopro(
        data,
        &[
            "connect",
            base,
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    ))
}

/// `photopro sync` (the foreground daemon), its stdout lines collected.
struct Daemon {
    child: Child,
    data: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: PathBuf,
}

impl Daemon {
    /// Start and wait until it answers on its control channel.
    fn start(data: &Path) -> Daemon {
        let stderr = data.with_extension("daemon-stderr");
        let mut child = command(data, &["sync"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
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
        let mut daemon = Daemon {
            child,
            data: data.to_path_buf(),
            lines,
            stderr,
        };
        let up = wait_until(CONVERGE, || {
            daemon.assert_running();
            photopro_sync::control::connect(&daemon.data)
                .is_some_and(|mut c| c.request(photopro_sync::control::Request::Status).is_ok())
        });
        assert!(up, "the daemon never answered:\n{}", daemon.report());
        daemon
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the daemon exited ({status}):\n{}", self.report());
        }
    }

    fn said(&self, text: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(text))
    }

    fn report(&self) -> String {
        format!(
            "daemon stdout:\n{}\ndaemon stderr:\n{}",
            self.lines.lock().unwrap().join("\n"),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// SIGKILL: nothing of the daemon's runs after it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A device with a sync folder chosen (one empty pass), connected to `api`.
fn device(work: &Path, name: &str, api: &LiveApi, token: &str) -> (PathBuf, PathBuf) {
    let (data, folder) = (
        work.join(format!("data-{name}")),
        work.join(format!("Sync {name}")),
    );
    connect(&data, &api.base, token);
    ok(photopro(
        &data,
        &["sync", "--once", "--folder", folder.to_str().unwrap()],
    ));
    (data, folder)
}

#[test]
fn a_once_run_beside_a_running_daemon_asks_the_daemon() {
    let api = LiveApi::start();
    let token = api.token();
    let work = tempfile::tempdir().unwrap();
    let (data_a, sync_a) = device(work.path(), "A", &api, &token);
    let (data_b, sync_b) = device(work.path(), "B", &api, &token);
    let mut daemon = Daemon::start(&data_a);

    // Ten new photos; the daemon sees them and so does the one-shot run
    // started at once, as the CLI's hints invite.
    std::fs::create_dir_all(sync_a.join("Smith Wedding")).unwrap();
    let photos = photos();
    assert_eq!(photos.len(), 10);
    for photo in &photos {
        copy_settled(
            photo,
            &sync_a
                .join("Smith Wedding")
                .join(photo.file_name().unwrap()),
        );
    }
    let once = ok(photopro(&data_a, &["sync", "--once"]));
    daemon.assert_running();

    let expected: Vec<String> = photos
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(live_assets(&api.base, &token), expected, "10 live assets");
    assert!(once.contains("asked it for a pass"), "{once}");
    assert!(once.contains("Up to date"), "{once}");
    ok(photopro(&data_b, &["sync", "--once"]));
    for sync in [&sync_a, &sync_b] {
        let found = files(sync);
        assert_eq!(found.len(), 10, "{}: {found:?}", sync.display());
    }
    // The daemon stays quiet: nothing more to do, nothing duplicated later.
    let again = ok(photopro(&data_a, &["sync", "--once"]));
    assert!(again.contains("0 uploaded"), "{again}");
    assert_eq!(files(&sync_a).len(), 10);
    assert_eq!(live_assets(&api.base, &token).len(), 10);
    drop(daemon);
}

#[test]
fn pause_resume_and_approval_reach_the_running_daemon() {
    let api = LiveApi::start();
    let token = api.token();
    let work = tempfile::tempdir().unwrap();
    let (data, sync) = device(work.path(), "A", &api, &token);
    // Six photos in a folder the photographer will cull as a whole, four kept.
    std::fs::create_dir_all(sync.join("Culled")).unwrap();
    for (i, photo) in photos().iter().enumerate() {
        let folder = if i < 6 {
            sync.join("Culled")
        } else {
            sync.clone()
        };
        copy_settled(photo, &folder.join(photo.file_name().unwrap()));
    }
    ok(photopro(&data, &["sync", "--once"]));
    assert_eq!(live_assets(&api.base, &token).len(), 10);
    let daemon = Daemon::start(&data);

    let paused = ok(photopro(&data, &["pause"]));
    assert!(paused.contains("the running sync daemon too"), "{paused}");
    let asked = ok(photopro(&data, &["sync", "--once"]));
    assert!(asked.contains("Paused"), "{asked}");
    let resumed = ok(photopro(&data, &["resume"]));
    assert!(resumed.contains("the running sync daemon too"), "{resumed}");
    ok(photopro(&data, &["sync", "--once"]));

    // Six of ten deleted at once: the folder moved out of the sync folder in
    // one rename, as dragging it to the system trash does. (Deleting the files
    // one by one could meet a pass of the daemon between two of them; the
    // rolling window then lets the first through and holds the rest, which is
    // the guard working but not what this test asserts.)
    std::fs::rename(sync.join("Culled"), work.path().join("Culled (outside)")).unwrap();
    let held = ok(photopro(&data, &["sync", "--once"]));
    assert!(
        held.contains("Holding back 6 deletions")
            && held.contains("`photopro sync --approve-deletions`"),
        "{held}"
    );
    assert_eq!(
        live_assets(&api.base, &token).len(),
        10,
        "nothing deleted yet"
    );
    assert!(
        wait_until(CONVERGE, || daemon
            .said("`photopro sync --approve-deletions`")),
        "the daemon names the command too:\n{}",
        daemon.report()
    );
    // The command as printed: forwarded to the daemon, which carries them out.
    let approved = ok(photopro(&data, &["sync", "--approve-deletions"]));
    assert!(approved.contains("6 deleted"), "{approved}");
    assert_eq!(live_assets(&api.base, &token).len(), 4);
}

#[test]
fn a_second_daemon_refuses_and_a_killed_one_leaves_no_lock() {
    let api = LiveApi::start();
    let token = api.token();
    let work = tempfile::tempdir().unwrap();
    let (data, sync) = device(work.path(), "A", &api, &token);
    let mut first = Daemon::start(&data);

    // A second daemon would run until killed: give it a deadline.
    let mut child = command(&data, &["sync"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exited = wait_until(Duration::from_secs(30), || {
        child.try_wait().unwrap().is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    let second = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        exited && !second.status.success(),
        "a second daemon must not run: {stderr}"
    );
    assert!(
        stderr.contains("already syncs this library") && stderr.contains("daemon"),
        "{stderr}"
    );
    first.assert_running();

    first.kill();
    // No stale lock: a one-shot run syncs by itself, and a new daemon starts.
    edit(&sync.join("after.jpg"), b"written after the crash");
    let once = ok(photopro(&data, &["sync", "--once"]));
    assert!(
        once.contains("Up to date: 1 uploaded") && !once.contains("asked it"),
        "{once}"
    );
    let _again = Daemon::start(&data);
    assert!(ok(photopro(&data, &["pause"])).contains("the running sync daemon too"));
}

#[test]
fn two_computers_with_one_host_name_know_whose_version_is_whose() {
    let api = LiveApi::start();
    let token = api.token();
    let work = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (work.path().join("data-a"), work.path().join("data-b"));
    let (sync_a, sync_b) = (work.path().join("Sync A"), work.path().join("Sync B"));
    // Both computers are called `Studio` (see `command`).
    let name = |out: String| {
        out.split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("no device name in {out}"))
            .to_string()
    };
    let name_a = name(connect(&data_a, &api.base, &token));
    let name_b = name(connect(&data_b, &api.base, &token));
    assert!(name_a.starts_with("Studio") && name_b.starts_with("Studio"));
    assert_ne!(name_a, name_b, "two devices, two names");

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
    edit(
        &sync_a.join("Smith Wedding/IMG_0001.jpg"),
        b"retouched on A",
    );
    edit(
        &sync_b.join("Smith Wedding/IMG_0001.jpg"),
        b"retouched on B",
    );
    ok(photopro(&data_a, &["sync", "--once"]));
    assert!(ok(photopro(&data_b, &["sync", "--once"])).contains("1 conflicts"));
    ok(photopro(&data_a, &["sync", "--once"]));

    let copy = format!(
        "Smith Wedding/IMG_0001 (conflicted copy {} from {name_b}).jpg",
        photopro_sync::names::date_of(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
        )
    );
    assert_eq!(
        std::fs::read(sync_a.join(&copy)).unwrap(),
        b"retouched on B"
    );
    let on_b = ok(photopro(&data_b, &["conflicts"]));
    assert!(on_b.contains("this computer's version"), "{on_b}");
    let on_a = ok(photopro(&data_a, &["conflicts"]));
    assert!(on_a.contains("another device's version"), "{on_a}");

    ok(photopro(
        &data_b,
        &["conflicts", "resolve", &copy, "--keep", "mine"],
    ));
    ok(photopro(&data_b, &["sync", "--once"]));
    ok(photopro(&data_a, &["sync", "--once"]));
    for sync in [&sync_a, &sync_b] {
        assert_eq!(
            std::fs::read(sync.join("Smith Wedding/IMG_0001.jpg")).unwrap(),
            b"retouched on B",
            "{}: {:?}",
            sync.display(),
            files(sync)
        );
        assert!(!sync.join(&copy).exists());
    }
}

/// A file restored from the server's trash comes down to a running daemon
/// counted as a restore ("1 restored"), not as a plain download, and
/// `photopro status` shows what the daemon says.
#[test]
fn a_restore_from_the_servers_trash_is_counted_as_a_restore_by_the_daemon() {
    let api = LiveApi::start();
    let token = api.token();
    let work = tempfile::tempdir().unwrap();
    let (data, sync) = device(work.path(), "A", &api, &token);
    let photo = &photos()[0];
    let name = photo.file_name().unwrap().to_str().unwrap().to_string();
    copy_settled(photo, &sync.join(&name));
    ok(photopro(&data, &["sync", "--once"]));
    let daemon = Daemon::start(&data);
    let status = ok(photopro(&data, &["status"]));
    assert!(
        status.contains(&format!("Sync (sync daemon, {}): ", sync.display())),
        "{status}"
    );

    std::fs::remove_file(sync.join(&name)).unwrap();
    ok(photopro(&data, &["sync", "--once"]));
    assert!(
        wait_until(CONVERGE, || daemon.said("1 deleted")),
        "the deletion reaches the server:\n{}",
        daemon.report()
    );
    let restored = ok(photopro(&data, &["trash", "--remote", "--restore", &name]));
    assert!(restored.contains(&format!("Restored {name}")), "{restored}");
    // Whichever of the daemon's passes brings it down (the one asked for
    // here, or one its watcher started), it says "restored": its view of the
    // server follows the change journal, which shows the file coming back.
    ok(photopro(&data, &["sync", "--once"]));
    assert!(
        wait_until(CONVERGE, || daemon.said("0 downloaded (0 B), 1 restored (")),
        "the daemon counts a restore:\n{}",
        daemon.report()
    );
    assert!(
        !daemon.said("1 downloaded"),
        "not a plain download:\n{}",
        daemon.report()
    );
    assert_eq!(
        std::fs::read(sync.join(&name)).unwrap(),
        std::fs::read(photo).unwrap()
    );
}
