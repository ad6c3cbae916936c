//! Wiring for `photopro-api serve` and `admin`: turns options into a ready
//! [`Api`], starting the embedded object store when no S3 endpoint is given.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth;
use crate::clock::{Clock, SystemClock};
use crate::db::Db;
use crate::embedded::EmbeddedStore;
use crate::error::{Error, Result};
use crate::service::{Api, Settings};
use crate::store::{ObjectStore, StoreConfig};

/// Everything `serve` can be told. `None` means "use the embedded default".
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `<data_dir>/photopro.db`.
    pub database_url: Option<String>,
    pub max_db_connections: u32,
    /// An external S3-compatible store (R2 in production); default: embedded s3s-fs.
    pub store: Option<StoreConfig>,
    pub embedded_store_port: u16,
    /// The admin credential; default: generated once into `<data_dir>/admin-token`.
    pub admin_token: Option<String>,
    pub settings: Settings,
}

impl ServeOptions {
    pub fn embedded(data_dir: PathBuf) -> ServeOptions {
        ServeOptions {
            data_dir,
            database_url: None,
            max_db_connections: 10,
            store: None,
            embedded_store_port: 0,
            admin_token: None,
            settings: Settings::default(),
        }
    }
}

pub struct Built {
    pub api: Arc<Api>,
    /// Keeps the embedded store alive; `None` with an external store.
    pub embedded: Option<EmbeddedStore>,
    /// Where the generated admin token was written, if it was generated.
    pub admin_token_file: Option<PathBuf>,
}

/// Connects and migrates the database, opens or starts the object store.
pub async fn build(options: ServeOptions) -> Result<Built> {
    build_with_clock(options, Arc::new(SystemClock)).await
}

pub async fn build_with_clock(options: ServeOptions, clock: Arc<dyn Clock>) -> Result<Built> {
    std::fs::create_dir_all(&options.data_dir)
        .map_err(|e| Error::Internal(format!("create {}: {e}", options.data_dir.display())))?;
    let db = match &options.database_url {
        Some(url) => Db::connect(url, options.max_db_connections).await?,
        None => Db::open_sqlite_file(&options.data_dir.join("photopro.db")).await?,
    };
    db.migrate().await?;

    let (store_config, embedded) = match &options.store {
        Some(config) => (config.clone(), None),
        None => {
            // The embedded store lives only as long as this process, so fresh
            // random credentials each start are fine.
            let secret = hex::encode(auth::random_bytes::<16>()?);
            let embedded = EmbeddedStore::start(
                &options.data_dir.join("objects"),
                options.embedded_store_port,
                "photopro-local",
                &secret,
            )
            .await?;
            (embedded.config.clone(), Some(embedded))
        }
    };
    let store = ObjectStore::new(&store_config);
    if embedded.is_some() {
        store.ensure_bucket().await?;
    }

    let mut settings = options.settings.clone();
    let mut admin_token_file = None;
    let admin_token = match &options.admin_token {
        Some(token) => token.clone(),
        None => {
            let path = options.data_dir.join("admin-token");
            let token = match std::fs::read_to_string(&path) {
                Ok(token) => token.trim().to_string(),
                Err(_) => {
                    let token = format!("ppa_{}", hex::encode(auth::random_bytes::<32>()?));
                    write_secret_file(&path, &token)?;
                    token
                }
            };
            admin_token_file = Some(path);
            token
        }
    };
    settings.admin_token_hash = Some(auth::hash_secret(&admin_token));
    let api = Arc::new(Api {
        db,
        store,
        clock,
        settings,
    });
    Ok(Built {
        api,
        embedded,
        admin_token_file,
    })
}

fn write_secret_file(path: &std::path::Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::Internal(format!("write {}: {e}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Runs maintenance every `interval` until the process ends. Every instance
/// may run it; the steps are guarded so concurrent runs do not double-apply.
pub fn spawn_maintenance(api: Arc<Api>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            let result = api.run_maintenance().await;
            maintenance_stats().record(&result, api.now());
            match result {
                Ok(report) if report != Default::default() => {
                    tracing::info!(?report, "maintenance")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "maintenance failed"),
            }
        }
    })
}

/// What this process's maintenance passes did, for `/metrics`.
#[derive(Debug, Default, Clone)]
pub struct MaintenanceSnapshot {
    pub runs: u64,
    pub failures: u64,
    pub last_run_unix: i64,
    /// Every numeric field of [`photopro_wire::MaintenanceReport`], summed.
    pub totals: std::collections::BTreeMap<String, u64>,
}

/// The shared place where maintenance passes (the periodic loop and
/// `POST /admin/v1/maintenance`) leave their reports.
#[derive(Debug, Default)]
pub struct MaintenanceStats(std::sync::Mutex<MaintenanceSnapshot>);

impl MaintenanceStats {
    pub fn record(&self, result: &Result<photopro_wire::MaintenanceReport>, now: i64) {
        let mut stats = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(report) => {
                stats.runs += 1;
                stats.last_run_unix = now;
                // Through JSON so that counters added to the report later are exported too.
                if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(report) {
                    for (field, value) in fields {
                        if let Some(n) = value.as_u64() {
                            *stats.totals.entry(field).or_default() += n;
                        }
                    }
                }
            }
            Err(_) => stats.failures += 1,
        }
    }

    pub fn snapshot(&self) -> MaintenanceSnapshot {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The process-wide [`MaintenanceStats`].
pub fn maintenance_stats() -> &'static MaintenanceStats {
    static STATS: std::sync::OnceLock<MaintenanceStats> = std::sync::OnceLock::new();
    STATS.get_or_init(MaintenanceStats::default)
}
