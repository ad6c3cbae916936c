//! The database: SQLite (embedded default) or PostgreSQL (production),
//! behind one sqlx `Any` pool so every query is written once.
//!
//! The SQL sticks to what both dialects share: `$n` placeholders (SQLite
//! accepts them), BIGINT for every number and boolean, TEXT for IDs and JSON,
//! `RETURNING`, partial and expression indexes, `WITH RECURSIVE`.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::error::{Error, Result};
use crate::names::name_key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

pub type Tx = Transaction<'static, Any>;

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    ///
    /// SQLite gets a single connection: it has one writer anyway, and queueing
    /// in the pool is fair and fast, whereas several connections contending for
    /// the write lock fall into SQLite's busy-wait back-off (up to 100 ms
    /// sleeps) and wreck tail latency.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::bad_request(
                "database URL must start with sqlite: or postgres:",
            ));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let options = match backend {
            Backend::Sqlite => options.max_connections(1).after_connect(|connection, _| {
                Box::pin(async move {
                    connection
                        .execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options.max_connections(max_connections),
        };
        let pool = options.connect(url).await?;
        Ok(Db { pool, backend })
    }

    /// Opens (creating if needed) a SQLite file.
    pub async fn open_sqlite_file(path: &Path) -> Result<Db> {
        Db::connect(&format!("sqlite://{}?mode=rwc", path.display()), 1).await
    }

    /// Applies the migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        self.backfill_asset_name_keys().await
    }

    /// Fills `assets.name_key` (added by migration 0002) for rows written
    /// before it. The key is Unicode normalization, which SQL cannot do, so
    /// it is computed here; idempotent, and safe on several instances at once.
    async fn backfill_asset_name_keys(&self) -> Result<()> {
        loop {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT id, name FROM assets WHERE name_key IS NULL LIMIT 500")
                    .fetch_all(&self.pool)
                    .await?;
            if rows.is_empty() {
                return Ok(());
            }
            for (id, name) in rows {
                sqlx::query(
                    "UPDATE assets SET name_key = $2 WHERE id = $1 AND name = $3 AND name_key IS NULL",
                )
                .bind(id)
                .bind(name_key(&name))
                .bind(&name)
                    .execute(&self.pool)
                    .await?;
            }
        }
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`) so a read-then-write never has to upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// Reads a non-negative BIGINT column as u64.
pub fn get_u64(row: &AnyRow, column: &str) -> Result<u64> {
    use sqlx::Row;
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| Error::Internal(format!("negative value in {column}")))
}
