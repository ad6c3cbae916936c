//! The running engine's control channel: a second `photopro sync`, `sync
//! --once`, `pause`, `resume` or `sync --approve-deletions` on a library whose
//! engine already runs (see [`crate::lock`]) talks to that engine here instead
//! of starting another one.
//!
//! The protocol is one JSON object per line each way: a [`Request`], then a
//! [`Reply`]. A connection may carry several requests in turn.
//!
//! Transports, behind one interface ([`serve`] / [`connect`]):
//! - Linux and macOS: a Unix domain socket, `sync.sock` in the data directory,
//!   mode 0600. Socket paths are limited to about 104–108 bytes, so a longer
//!   one moves to `$XDG_RUNTIME_DIR` (else the temp directory) as
//!   `photopro-<hash of the data directory>.sock`.
//! - Windows: TCP on 127.0.0.1 with a random port and a random secret, both
//!   in `sync.endpoint` in the data directory (which only the user can read);
//!   a request without the secret is refused. On Linux this fallback runs when
//!   `PHOTOPRO_CONTROL_TRANSPORT=tcp` or `PHOTOPRO_PORTABLE=1` is set, so its
//!   code is tested here too.
//!
//! Stale endpoints (a killed daemon's socket file) are harmless: a client's
//! connect fails and it knows nobody is listening; the next holder of the
//! library lock replaces them.

use crate::service::{PassSummary, Status};
use crate::SyncError;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The endpoint file of the TCP transport.
pub const ENDPOINT_FILE: &str = "sync.endpoint";
/// The Unix socket's name in the data directory (when the path is short enough).
pub const SOCKET_FILE: &str = "sync.sock";
/// Longest socket path used as is (`sockaddr_un.sun_path` is 104 bytes on macOS, 108 on Linux).
const MAX_SOCKET_PATH: usize = 100;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    /// Run a pass now and answer when it (and any pass waiting for files
    /// still being written, up to a minute) has finished. With
    /// `approve_deletions`, that pass carries out held-back deletions.
    SyncNow {
        #[serde(default)]
        approve_deletions: bool,
    },
    Pause,
    Resume,
    /// Carry out the deletions the mass-deletion guard is holding back, next pass.
    ApproveDeletions,
    Stop,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(flatten)]
    request: Request,
}

/// The engine's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
    /// Who runs the engine: `daemon` (the CLI) or `app`.
    pub role: String,
    /// The engine's status after the request.
    #[serde(default)]
    pub status: Option<Status>,
    /// For [`Request::SyncNow`]: the work of the passes it waited for.
    #[serde(default)]
    pub pass: Option<PassSummary>,
    /// The engine is paused (it says so in its status once its current pass ends).
    #[serde(default)]
    pub paused: bool,
}

/// What the control channel drives: a running engine.
pub trait Controlled: Send + Sync + 'static {
    fn status(&self) -> Status;
    fn is_paused(&self) -> bool;
    fn pause(&self);
    fn resume(&self);
    fn approve_deletions(&self);
    /// Run a pass now (approving held-back deletions for it if asked);
    /// block until it has finished; the work it did.
    fn sync_now(&self, approve_deletions: bool) -> PassSummary;
    fn stop(&self);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    #[cfg(unix)]
    Unix,
    Tcp,
}

fn transport() -> Transport {
    #[cfg(test)]
    if tests::FORCE_TCP.with(|force| force.get()) {
        return Transport::Tcp;
    }
    #[cfg(unix)]
    {
        if std::env::var("PHOTOPRO_CONTROL_TRANSPORT").as_deref() == Ok("tcp")
            || crate::platform::portable()
        {
            Transport::Tcp
        } else {
            Transport::Unix
        }
    }
    #[cfg(not(unix))]
    {
        Transport::Tcp
    }
}

/// Where the Unix socket of the library in `dir` lives.
pub fn socket_path(dir: &Path) -> PathBuf {
    let direct = dir.join(SOCKET_FILE);
    if direct.as_os_str().len() <= MAX_SOCKET_PATH {
        return direct;
    }
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let hash = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
        hex::encode(&digest[..8])
    };
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    base.join(format!("photopro-{hash}.sock"))
}

trait Conn: std::io::Read + Write + Send {
    fn try_clone_conn(&self) -> std::io::Result<Box<dyn Conn>>;
    fn set_read_timeout_conn(&self, timeout: Option<Duration>) -> std::io::Result<()>;
}

impl Conn for std::net::TcpStream {
    fn try_clone_conn(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn set_read_timeout_conn(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

#[cfg(unix)]
impl Conn for std::os::unix::net::UnixStream {
    fn try_clone_conn(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn set_read_timeout_conn(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(timeout)
    }
}

enum Listener {
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
    Tcp(std::net::TcpListener),
}

impl Listener {
    fn accept(&self) -> std::io::Result<Box<dyn Conn>> {
        match self {
            #[cfg(unix)]
            Listener::Unix(l) => Ok(Box::new(l.accept()?.0)),
            Listener::Tcp(l) => Ok(Box::new(l.accept()?.0)),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TcpEndpoint {
    port: u16,
    secret: String,
}

/// The listening side; dropping it stops listening and removes the endpoint.
pub struct ControlServer {
    stop: Arc<AtomicBool>,
    /// What to remove on drop, and how to wake the accept loop.
    endpoint: PathBuf,
    wake: Box<dyn Fn() + Send + Sync>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        (self.wake)();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.endpoint);
    }
}

fn io_error(what: &Path, e: std::io::Error) -> SyncError {
    SyncError::Io(format!("control channel {}: {e}", what.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    {
        let mut options = std::fs::File::options();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)
}

/// Listen for clients of the library in `dir` on behalf of `target`. Call it
/// only while holding the library's [`crate::lock::LibraryLock`] (it replaces
/// whatever endpoint a previous holder left).
pub fn serve(
    dir: &Path,
    role: &str,
    target: Arc<dyn Controlled>,
) -> Result<ControlServer, SyncError> {
    let (listener, endpoint, secret, wake): (_, _, _, Box<dyn Fn() + Send + Sync>) =
        match transport() {
            #[cfg(unix)]
            Transport::Unix => {
                let path = socket_path(dir);
                // A previous holder's socket (it was killed): the lock is ours now.
                let _ = std::fs::remove_file(&path);
                let listener = std::os::unix::net::UnixListener::bind(&path)
                    .map_err(|e| io_error(&path, e))?;
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| io_error(&path, e))?;
                }
                let wake_path = path.clone();
                (
                    Listener::Unix(listener),
                    path,
                    None,
                    Box::new(move || {
                        let _ = std::os::unix::net::UnixStream::connect(&wake_path);
                    }),
                )
            }
            Transport::Tcp => {
                let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
                    .map_err(|e| io_error(Path::new("127.0.0.1"), e))?;
                let port = listener
                    .local_addr()
                    .map_err(|e| io_error(Path::new("127.0.0.1"), e))?
                    .port();
                let secret = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                let path = dir.join(ENDPOINT_FILE);
                let body = serde_json::to_vec(&TcpEndpoint {
                    port,
                    secret: secret.clone(),
                })
                .map_err(|e| SyncError::Io(e.to_string()))?;
                write_private(&path, &body).map_err(|e| io_error(&path, e))?;
                (
                    Listener::Tcp(listener),
                    path,
                    Some(secret),
                    Box::new(move || {
                        let _ = std::net::TcpStream::connect_timeout(
                            &([127, 0, 0, 1], port).into(),
                            Duration::from_secs(1),
                        );
                    }),
                )
            }
        };
    let stop = Arc::new(AtomicBool::new(false));
    let role = role.to_string();
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("photopro-control".into())
        .spawn(move || {
            let secret: Option<Arc<str>> = secret.map(Into::into);
            while !thread_stop.load(Ordering::SeqCst) {
                let Ok(conn) = listener.accept() else {
                    // Out of descriptors and the like: do not spin.
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                };
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let (target, role, secret) = (target.clone(), role.clone(), secret.clone());
                let _ = std::thread::Builder::new()
                    .name("photopro-control-client".into())
                    .spawn(move || handle_client(conn, &*target, &role, secret.as_deref()));
            }
        })
        .map_err(|e| SyncError::Io(format!("starting the control thread: {e}")))?;
    Ok(ControlServer {
        stop,
        endpoint,
        wake,
        thread: Some(thread),
    })
}

fn handle_client(conn: Box<dyn Conn>, target: &dyn Controlled, role: &str, secret: Option<&str>) {
    let Ok(mut writer) = conn.try_clone_conn() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = match serde_json::from_str::<Envelope>(&line) {
            Err(e) => refusal(role, format!("not a request ({e})")),
            Ok(envelope) if secret.is_some() && envelope.secret.as_deref() != secret => {
                refusal(role, "wrong or missing secret".into())
            }
            Ok(envelope) => {
                let pass = match envelope.request {
                    Request::Status => None,
                    Request::SyncNow { approve_deletions } => {
                        Some(target.sync_now(approve_deletions))
                    }
                    Request::Pause => {
                        target.pause();
                        None
                    }
                    Request::Resume => {
                        target.resume();
                        None
                    }
                    Request::ApproveDeletions => {
                        target.approve_deletions();
                        None
                    }
                    Request::Stop => {
                        target.stop();
                        None
                    }
                };
                Reply {
                    ok: true,
                    error: None,
                    role: role.to_string(),
                    status: Some(target.status()),
                    pass,
                    paused: target.is_paused(),
                }
            }
        };
        let Ok(mut bytes) = serde_json::to_vec(&reply) else {
            return;
        };
        bytes.push(b'\n');
        if writer
            .write_all(&bytes)
            .and_then(|_| writer.flush())
            .is_err()
        {
            return;
        }
    }
}

fn refusal(role: &str, error: String) -> Reply {
    Reply {
        ok: false,
        error: Some(error),
        role: role.to_string(),
        status: None,
        pass: None,
        paused: false,
    }
}

/// A connection to the engine running on a library.
pub struct ControlClient {
    reader: BufReader<Box<dyn Conn>>,
    writer: Box<dyn Conn>,
    secret: Option<String>,
}

/// Connect to the engine running on the library in `dir`; `None` when no
/// engine listens there (none runs, or it is a `--once` run, which does not).
pub fn connect(dir: &Path) -> Option<ControlClient> {
    let (conn, secret): (Box<dyn Conn>, Option<String>) = match transport() {
        #[cfg(unix)]
        Transport::Unix => (
            Box::new(std::os::unix::net::UnixStream::connect(socket_path(dir)).ok()?),
            None,
        ),
        Transport::Tcp => {
            let endpoint: TcpEndpoint =
                serde_json::from_slice(&std::fs::read(dir.join(ENDPOINT_FILE)).ok()?).ok()?;
            let stream = std::net::TcpStream::connect_timeout(
                &([127, 0, 0, 1], endpoint.port).into(),
                Duration::from_secs(2),
            )
            .ok()?;
            (Box::new(stream), Some(endpoint.secret))
        }
    };
    let writer = conn.try_clone_conn().ok()?;
    Some(ControlClient {
        reader: BufReader::new(conn),
        writer,
        secret,
    })
}

impl ControlClient {
    /// Send `request` and wait for the reply (a [`Request::SyncNow`] waits for its pass).
    pub fn request(&mut self, request: Request) -> Result<Reply, SyncError> {
        let lost = |e: std::io::Error| {
            SyncError::Unavailable(format!(
                "the running sync engine stopped answering ({e}); run the command again"
            ))
        };
        // Quick requests answer at once; a pass may take as long as its transfers.
        let timeout =
            (!matches!(request, Request::SyncNow { .. })).then_some(Duration::from_secs(30));
        self.reader
            .get_ref()
            .set_read_timeout_conn(timeout)
            .map_err(lost)?;
        let mut line = serde_json::to_vec(&Envelope {
            secret: self.secret.clone(),
            request,
        })
        .map_err(|e| SyncError::Io(e.to_string()))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .and_then(|_| self.writer.flush())
            .map_err(lost)?;
        let mut answer = String::new();
        match self.reader.read_line(&mut answer) {
            Ok(0) => {
                return Err(lost(std::io::Error::from(
                    std::io::ErrorKind::UnexpectedEof,
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(lost(e)),
        }
        let reply: Reply = serde_json::from_str(&answer)
            .map_err(|e| SyncError::Io(format!("the engine's reply is not understood: {e}")))?;
        match (&reply.ok, &reply.error) {
            (false, Some(error)) => Err(SyncError::Precondition(format!(
                "the running sync engine refused: {error}"
            ))),
            _ => Ok(reply),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;
    use crate::service::Phase;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<&'static str>>,
    }

    impl Controlled for Fake {
        fn status(&self) -> Status {
            let paused = self.calls.lock().unwrap().last() == Some(&"pause");
            Status {
                phase: if paused {
                    Phase::Paused
                } else {
                    Phase::UpToDate
                },
                summary: String::new(),
                progress: Progress::default(),
                last_report: None,
                last_synced_at: Some(1),
                last_error: None,
                unsettled: 0,
                storage_full: false,
                deletions_awaiting_approval: 0,
                deletions_in_window: 0,
                watch_degraded: None,
                skipped: vec![],
                cannot_sync: vec![],
                waiting_for: vec![],
                folder: "/Sync".into(),
            }
        }
        fn is_paused(&self) -> bool {
            self.calls.lock().unwrap().last() == Some(&"pause")
        }
        fn pause(&self) {
            self.calls.lock().unwrap().push("pause")
        }
        fn resume(&self) {
            self.calls.lock().unwrap().push("resume")
        }
        fn approve_deletions(&self) {
            self.calls.lock().unwrap().push("approve")
        }
        fn sync_now(&self, approve_deletions: bool) -> PassSummary {
            self.calls.lock().unwrap().push(if approve_deletions {
                "sync+approve"
            } else {
                "sync"
            });
            PassSummary {
                uploads: 3,
                ..PassSummary::default()
            }
        }
        fn stop(&self) {
            self.calls.lock().unwrap().push("stop")
        }
    }

    fn round_trip(dir: &Path) {
        let fake = Arc::new(Fake::default());
        assert!(connect(dir).is_none(), "nobody listens yet");
        let server = serve(dir, "daemon", fake.clone()).unwrap();
        // Under the portable switch (PHOTOPRO_PORTABLE=1), Windows' transport.
        if crate::platform::portable() {
            assert!(dir.join(ENDPOINT_FILE).exists(), "loopback TCP in use");
        }
        let mut client = connect(dir).expect("listening");
        let reply = client.request(Request::Pause).unwrap();
        assert_eq!(reply.role, "daemon");
        assert_eq!(reply.status.unwrap().phase, Phase::Paused);
        assert!(reply.paused);
        // One connection carries several requests; a second connection works meanwhile.
        let mut other = connect(dir).unwrap();
        other.request(Request::Resume).unwrap();
        let synced = client
            .request(Request::SyncNow {
                approve_deletions: false,
            })
            .unwrap();
        assert_eq!(synced.pass.unwrap().uploads, 3);
        client.request(Request::ApproveDeletions).unwrap();
        client
            .request(Request::SyncNow {
                approve_deletions: true,
            })
            .unwrap();
        client.request(Request::Stop).unwrap();
        assert_eq!(
            *fake.calls.lock().unwrap(),
            ["pause", "resume", "sync", "approve", "sync+approve", "stop"]
        );
        drop(server);
        assert!(connect(dir).is_none(), "the endpoint is gone");
    }

    #[test]
    fn requests_reach_the_engine_over_the_platform_transport() {
        let dir = tempfile::tempdir().unwrap();
        round_trip(dir.path());
    }

    #[cfg(unix)]
    #[test]
    fn a_data_dir_too_deep_for_a_socket_path_moves_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a".repeat(60)).join("b".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let path = socket_path(&deep);
        assert!(!path.starts_with(&deep) && path.as_os_str().len() <= MAX_SOCKET_PATH);
        assert_ne!(path, socket_path(dir.path()));
        round_trip(&deep);
    }

    #[test]
    fn the_tcp_fallback_wants_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(Fake::default());
        let _server = serve_tcp_for_test(dir.path(), fake.clone());
        let endpoint: TcpEndpoint =
            serde_json::from_slice(&std::fs::read(dir.path().join(ENDPOINT_FILE)).unwrap())
                .unwrap();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", endpoint.port)).unwrap();
        stream.write_all(b"{\"cmd\":\"stop\"}\n").unwrap();
        let mut answer = String::new();
        BufReader::new(&stream).read_line(&mut answer).unwrap();
        assert!(answer.contains("secret"), "{answer}");
        assert!(fake.calls.lock().unwrap().is_empty(), "refused, not obeyed");
        // With the secret from the endpoint file, the same request goes through.
        let mut client = connect_tcp_for_test(dir.path()).unwrap();
        client.request(Request::Stop).unwrap();
        assert_eq!(*fake.calls.lock().unwrap(), ["stop"]);
    }

    /// The Windows transport, on any platform.
    fn serve_tcp_for_test(dir: &Path, target: Arc<dyn Controlled>) -> ControlServer {
        with_tcp(|| serve(dir, "daemon", target)).unwrap()
    }

    fn connect_tcp_for_test(dir: &Path) -> Option<ControlClient> {
        with_tcp(|| connect(dir))
    }

    fn with_tcp<T>(f: impl FnOnce() -> T) -> T {
        FORCE_TCP.with(|force| force.set(true));
        let out = f();
        FORCE_TCP.with(|force| force.set(false));
        out
    }

    thread_local! {
        pub(super) static FORCE_TCP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
}
