//! The `photopro sync` daemon as a user runs it: a child process watching a
//! sync folder, against the real API (in this process, SQLite + embedded S3
//! store on 127.0.0.1). Two benchmarks:
//!
//! - `settle-latency`: how long after a dropped file becomes stable (last
//!   write + the 2 s settle time) its upload is visible at the API.
//! - `idle-daemon`: RSS and CPU of the daemon watching a large, fully synced
//!   library while nothing changes (after its initial sync, and after a
//!   restart), with `photopro-api serve` as a separate process.

use anyhow::{bail, Context, Result};
use photopro_sync::Remote;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The daemon's settle time: files modified less than this ago are held back.
const SETTLE: Duration = Duration::from_secs(2);

fn photopro_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = match given {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("photopro"),
    };
    if !path.is_file() {
        bail!("{} not found: build it with `cargo build --release -p photopro-cli` (or pass --photopro)", path.display());
    }
    Ok(path)
}

/// A scratch directory under `dir`, else on tmpfs (/dev/shm) when present so a
/// large library does not fill the disk, else the system temp dir.
fn scratch(dir: Option<PathBuf>) -> Result<tempfile::TempDir> {
    let base = dir.unwrap_or_else(|| {
        if Path::new("/dev/shm").is_dir() {
            "/dev/shm".into()
        } else {
            std::env::temp_dir()
        }
    });
    Ok(tempfile::Builder::new()
        .prefix("photopro-bench-")
        .tempdir_in(base)?)
}

fn set_settled(path: &Path) -> Result<()> {
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(an_hour_ago)?;
    Ok(())
}

/// A `photopro sync` daemon whose stdout lines are kept with their arrival time.
struct Daemon {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Daemon {
    fn start(photopro: &Path, data: &Path, folder: &Path) -> Result<Daemon> {
        let mut child = Command::new(photopro)
            .arg("--data-dir")
            .arg(data)
            .arg("sync")
            .arg("--folder")
            .arg(folder)
            .env_remove("PHOTOPRO_TOKEN")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(data.with_extension("daemon-stderr"))?)
            .spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = child.stdout.take().context("stdout")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Ok(Daemon { child, lines })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lines starting with `prefix` so far ("Syncing" starts a pass, "Up to date" ends one).
    fn lines_starting(&self, prefix: &str) -> Vec<(Instant, String)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| l.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// The `n`-th "Up to date" line, if it has come yet.
    fn up_to_date(&mut self, n: usize) -> Result<Option<(Instant, String)>> {
        if let Some(found) = self.lines_starting("Up to date").into_iter().nth(n - 1) {
            return Ok(Some(found));
        }
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the daemon exited ({status}): {:?}",
                self.lines.lock().unwrap()
            );
        }
        Ok(None)
    }

    fn wait_up_to_date(&mut self, n: usize, limit: Duration) -> Result<(Instant, String)> {
        let start = Instant::now();
        loop {
            if let Some(found) = self.up_to_date(n)? {
                return Ok(found);
            }
            if start.elapsed() > limit {
                bail!(
                    "no \"Up to date\" #{n} within {limit:?}: {:?}",
                    self.lines.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What /proc says about a process.
#[derive(Debug, Clone, Copy, Default)]
struct ProcSample {
    rss_kib: u64,
    hwm_kib: u64,
    anon_kib: u64,
    file_kib: u64,
    /// utime + stime, seconds.
    cpu_seconds: f64,
    threads: u64,
}

fn proc_sample(pid: u32) -> Result<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let after = &stat[stat.rfind(')').context("stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let utime: f64 = fields[11].parse()?;
    let stime: f64 = fields[12].parse()?;
    Ok(ProcSample {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        anon_kib: field("RssAnon:"),
        file_kib: field("RssFile:"),
        cpu_seconds: (utime + stime) / ticks,
        threads: field("Threads:"),
    })
}

/// inotify watches the process holds (one per watched directory).
fn inotify_watches(pid: u32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return 0;
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_to_string(fd.path()).ok())
        .map(|info| {
            info.lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count()
        })
        .sum()
}

fn read_sys(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn connect(photopro: &Path, data: &Path, base: &str, token: &str) -> Result<()> {
    std::fs::create_dir_all(data)?;
    let token_file = data.with_extension("token");
    std::fs::write(&token_file, token)?;
    let out = Command::new(photopro)
        .arg("--data-dir")
        .arg(data)
        .args(["connect", base, "--token-file"])
        .arg(&token_file)
        .output()?;
    if !out.status.success() {
        bail!("connect: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// `photopro-api serve` as its own process (so its CPU and memory are not the
/// bench's), with one organization and a device token made by `admin`.
struct ApiProcess {
    child: Child,
    base: String,
    token: String,
}

impl ApiProcess {
    fn start(binary: &Path, data: &Path) -> Result<ApiProcess> {
        let admin = |args: &[&str]| -> Result<String> {
            let out = Command::new(binary)
                .arg("admin")
                .arg("--data-dir")
                .arg(data)
                .args(args)
                .env("RUST_LOG", "warn")
                .output()?;
            if !out.status.success() {
                bail!(
                    "photopro-api admin {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let org = json_string(
            &admin(&["create-org", "--name", "Bench", "--tier", "business"])?,
            "id",
        )?;
        let token = json_string(
            &admin(&["issue-token", "--org", &org, "--device-name", "bench"])?,
            "token",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(binary)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data.with_extension("log"))?)
            .spawn()?;
        let mut api = ApiProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            token,
        };
        let start = Instant::now();
        while !health(port) {
            if let Some(status) = api.child.try_wait()? {
                bail!(
                    "photopro-api exited ({status}); see {}",
                    data.with_extension("log").display()
                );
            }
            if start.elapsed() > Duration::from_secs(30) {
                bail!("photopro-api did not answer /health within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(api)
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn health(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// The string value of `"key": "…"` in pretty-printed JSON.
fn json_string(json: &str, key: &str) -> Result<String> {
    let at = json
        .find(&format!("\"{key}\""))
        .with_context(|| format!("no {key} in {json}"))?;
    let rest = &json[at + key.len() + 2..];
    let start = rest.find('"').context("value")? + 1;
    let end = rest[start..].find('"').context("value end")?;
    Ok(rest[start..start + end].to_string())
}

fn load_average() -> String {
    read_sys("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------------ settle latency

/// Drop `files` photos one at a time into the watched folder (a real JPEG
/// copied in one write, then closed; unique bytes appended after its end
/// marker) and time when each becomes visible at the API.
pub fn settle_latency(
    files: usize,
    photos: Option<PathBuf>,
    photopro: Option<PathBuf>,
    dir: Option<PathBuf>,
) -> Result<()> {
    let photopro = photopro_binary(photopro)?;
    let photos_dir = photos.unwrap_or_else(|| {
        PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("aerial-12mp")
    });
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&photos_dir)
        .with_context(|| format!("reading {}", photos_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
        .collect();
    sources.sort();
    if sources.is_empty() {
        bail!("no JPEGs in {}", photos_dir.display());
    }

    let work = scratch(dir)?;
    let api = photopro_api::local::LocalApi::start(work.path().join("api"), |_| {})?;
    let token = api.device_token("Bench", None)?;
    let (data, folder) = (work.path().join("device"), work.path().join("Sync"));
    std::fs::create_dir_all(folder.join("Shoot"))?;
    connect(&photopro, &data, &api.base, &token)?;
    let mut remote = photopro_sync::http::HttpRemote::new(&api.base, &token)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut daemon = Daemon::start(&photopro, &data, &folder)?;
    daemon.wait_up_to_date(1, Duration::from_secs(60))?;

    let mut latencies = Vec::new();
    let mut pass_offsets = Vec::new();
    let mut sizes = 0u64;
    println!("settle latency: {files} photos dropped one at a time into a watched sync folder (load average {})", load_average());
    for i in 0..files {
        let mut bytes = std::fs::read(&sources[i % sources.len()])?;
        bytes.extend_from_slice(format!("photopro-bench-{i}").as_bytes());
        sizes += bytes.len() as u64;
        let name = format!("DROP_{i:03}.jpg");
        let path = folder.join("Shoot").join(&name);
        std::fs::write(&path, &bytes)?;
        // The last write is the file's mtime; it is stable `SETTLE` later.
        let stable = std::fs::metadata(&path)?.modified()? + SETTLE;
        let stable_instant = match stable.duration_since(SystemTime::now()) {
            Ok(ahead) => Instant::now() + ahead,
            Err(behind) => Instant::now() - behind.duration(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let seen = loop {
            let tree = remote.snapshot().map_err(|e| anyhow::anyhow!("{e}"))?;
            if tree
                .nodes
                .values()
                .any(|n| n.name == name && n.hash.is_some())
            {
                break (SystemTime::now(), Instant::now());
            }
            if Instant::now() > deadline {
                bail!(
                    "{name} not at the API within 60 s: {:?}",
                    daemon.lines.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let (seen, seen_instant) = seen;
        let latency = seen
            .duration_since(stable)
            .map(|d| d.as_secs_f64())
            .unwrap_or_else(|e| -e.duration().as_secs_f64());
        // The pass that uploaded it began at the last "Syncing" line before it was seen.
        let pass_start = daemon
            .lines_starting("Syncing")
            .into_iter()
            .map(|(at, _)| at)
            .rfind(|at| *at <= seen_instant);
        let pass_offset = pass_start.map(|at| {
            if at >= stable_instant {
                (at - stable_instant).as_secs_f64()
            } else {
                -(stable_instant - at).as_secs_f64()
            }
        });
        println!(
            "  {name}: at the API {:.3} s after it became stable ({:.3} s after the last write){}",
            latency,
            latency + SETTLE.as_secs_f64(),
            // Only when the daemon prints "Syncing…" as a pass starts.
            pass_offset.map_or(String::new(), |o| format!(
                "; its pass began {o:+.3} s from stable"
            ))
        );
        latencies.push(latency);
        pass_offsets.extend(pass_offset);
    }
    let mut sorted = latencies.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "stable → uploaded (complete at the API), {files} files of {:.1} MB average: p50 {:.3} s, p90 {:.3} s, max {:.3} s, min {:.3} s",
        sizes as f64 / files as f64 / 1e6,
        crate::percentile(&mut sorted.clone(), 0.5),
        crate::percentile(&mut sorted.clone(), 0.9),
        sorted[sorted.len() - 1],
        sorted[0]
    );
    if !pass_offsets.is_empty() {
        println!(
            "stable → start of the pass that uploaded it: p50 {:+.3} s, max {:+.3} s",
            crate::percentile(&mut pass_offsets.clone(), 0.5),
            crate::percentile(&mut pass_offsets.clone(), 1.0)
        );
    }
    println!(
        "daemon output lines during the run: {}",
        daemon.lines.lock().unwrap().len()
    );
    Ok(())
}

// ------------------------------------------------------------------ idle daemon

/// A library of `files` small files (`bytes` each, unique content) in folders
/// of 100, synced by the daemon; then its RSS and CPU over `idle` seconds of
/// nothing happening, and again after a restart on the synced state.
pub fn idle_daemon(
    files: usize,
    bytes: usize,
    idle: u64,
    photopro: Option<PathBuf>,
    dir: Option<PathBuf>,
    keep: bool,
) -> Result<()> {
    let photopro = photopro_binary(photopro)?;
    let api_binary = photopro.with_file_name("photopro-api");
    if !api_binary.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p photopro-api`",
            api_binary.display()
        );
    }
    let scratch_dir = scratch(dir)?;
    let work = scratch_dir.path().to_path_buf();
    // Removed when the bench ends, unless asked to keep it.
    let _scratch = if keep {
        let _ = scratch_dir.keep();
        None
    } else {
        Some(scratch_dir)
    };
    println!(
        "idle daemon: {files} files × {bytes} bytes in folders of 100 under {} (load average {}, fs.inotify.max_user_watches {}, max_user_instances {})",
        work.display(),
        load_average(),
        read_sys("/proc/sys/fs/inotify/max_user_watches"),
        read_sys("/proc/sys/fs/inotify/max_user_instances"),
    );
    let folder = work.join("Sync");
    let start = Instant::now();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..files {
        let dir = folder.join(format!("{}/Shoot {:04}", 2000 + i / 10_000, i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir)?;
        }
        let mut content = vec![0u8; bytes];
        for chunk in content.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        let path = dir.join(format!("IMG_{i:06}.jpg"));
        std::fs::write(&path, &content)?;
        set_settled(&path)?;
    }
    println!(
        "  library written in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let api = ApiProcess::start(&api_binary, &work.join("api"))?;
    let data = work.join("device");
    connect(&photopro, &data, &api.base, &api.token)?;

    // 1. The daemon's first run uploads everything.
    let start = Instant::now();
    let mut daemon = Daemon::start(&photopro, &data, &folder)?;
    let mut last_note = Instant::now();
    let (_, line) = loop {
        if let Some(found) = daemon.up_to_date(1)? {
            break found;
        }
        if start.elapsed() > Duration::from_secs(3 * 3600) {
            bail!("the initial sync did not finish within 3 h");
        }
        if last_note.elapsed() > Duration::from_secs(60) {
            let sample = proc_sample(daemon.pid())?;
            println!(
                "    … {:.0} s: daemon CPU {:.0} s, RSS {:.1} MB",
                start.elapsed().as_secs_f64(),
                sample.cpu_seconds,
                sample.rss_kib as f64 / 1024.0
            );
            last_note = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let line = daemon
        .lines_starting("")
        .into_iter()
        .map(|(_, l)| l)
        .rfind(|l| l.contains(" uploaded ("))
        .unwrap_or(line);
    let initial = proc_sample(daemon.pid())?;
    let api_after = proc_sample(api.child.id())?;
    println!(
        "  initial sync: {:.0} s ({line}); daemon CPU {:.0} s, peak RSS {:.1} MB; API CPU {:.0} s",
        start.elapsed().as_secs_f64(),
        initial.cpu_seconds,
        initial.hwm_kib as f64 / 1024.0,
        api_after.cpu_seconds
    );
    measure_idle("after the initial sync", &daemon, api.child.id(), idle)?;
    drop(daemon);

    // 2. A restart on the synced library (the app starting at login).
    let start = Instant::now();
    let mut daemon = Daemon::start(&photopro, &data, &folder)?;
    let (_, line) = daemon.wait_up_to_date(1, Duration::from_secs(3600))?;
    let first = proc_sample(daemon.pid())?;
    println!(
        "  restart: first pass {:.1} s ({line}); CPU {:.1} s, peak RSS {:.1} MB",
        start.elapsed().as_secs_f64(),
        first.cpu_seconds,
        first.hwm_kib as f64 / 1024.0
    );
    measure_idle("after a restart", &daemon, api.child.id(), idle)?;
    if keep {
        drop(daemon);
        println!("  kept {}: API data in api/, device data in device/ (connected to {}), sync folder Sync/", work.display(), api.base);
    }
    Ok(())
}

fn measure_idle(label: &str, daemon: &Daemon, api_pid: u32, idle: u64) -> Result<()> {
    let pid = daemon.pid();
    let lines_before = daemon.lines.lock().unwrap().len();
    let before = proc_sample(pid)?;
    let api_before = proc_sample(api_pid)?;
    let mut max_rss = before.rss_kib;
    let start = Instant::now();
    let started_at = Instant::now();
    while start.elapsed() < Duration::from_secs(idle) {
        std::thread::sleep(Duration::from_millis(500));
        max_rss = max_rss.max(proc_sample(pid)?.rss_kib);
    }
    let after = proc_sample(pid)?;
    let api_after = proc_sample(api_pid)?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = after.cpu_seconds - before.cpu_seconds;
    // A pass that moves nothing prints nothing; any line means the daemon did something.
    let printed: Vec<String> = daemon.lines.lock().unwrap()[lines_before..]
        .iter()
        .map(|(at, line)| {
            format!(
                "{:.1} s: {line}",
                at.saturating_duration_since(started_at).as_secs_f64()
            )
        })
        .collect();
    println!(
        "  idle {idle} s {label}: daemon RSS {:.1} MB (max {:.1}; anon {:.1}, file-backed {:.1}), CPU {:.2} s = {:.2} % of one core, {} threads, {} inotify watches; {} lines printed {:?}; API CPU meanwhile {:.2} s",
        after.rss_kib as f64 / 1024.0,
        max_rss as f64 / 1024.0,
        after.anon_kib as f64 / 1024.0,
        after.file_kib as f64 / 1024.0,
        cpu,
        100.0 * cpu / seconds,
        after.threads,
        inotify_watches(pid),
        printed.len(),
        printed,
        api_after.cpu_seconds - api_before.cpu_seconds
    );
    Ok(())
}
