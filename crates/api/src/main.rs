//! `photopro-api`: glue between the command line and the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use photopro_api::limits::{HttpSettings, RateLimit};
use photopro_api::server::{build, spawn_maintenance, ServeOptions};
use photopro_api::store::StoreConfig;
use photopro_api::Settings;
use photopro_wire::{AddOn, CreateOrganizationRequest, SetPlanRequest, Tier};
use utoipa::OpenApi;

#[derive(Parser)]
#[command(
    name = "photopro-api",
    about = "PhotoProOS Storage quota and storage API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API. With no options: SQLite + embedded S3 store under --data-dir, on 127.0.0.1.
    Serve {
        #[arg(long, env = "PHOTOPRO_LISTEN", default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        #[arg(long, env = "PHOTOPRO_MAINTENANCE_SECONDS", default_value_t = 60)]
        maintenance_seconds: u64,
        /// Uploads larger than this many bytes use multipart (fault tests and benchmarks lower it).
        #[arg(long, env = "PHOTOPRO_MULTIPART_THRESHOLD_BYTES", default_value_t = Settings::default().multipart_threshold_bytes)]
        multipart_threshold_bytes: u64,
        /// Smallest multipart part handed out, in bytes (never below S3's 5 MiB).
        #[arg(long, env = "PHOTOPRO_MIN_PART_BYTES", default_value_t = Settings::default().min_part_bytes)]
        min_part_bytes: u64,
        #[command(flatten)]
        http: HttpArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Administer organizations directly in the database.
    Admin {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Args)]
struct Common {
    #[arg(long, env = "PHOTOPRO_DATA_DIR", default_value = "photopro-api-data")]
    data_dir: PathBuf,
    /// sqlite://path or postgres://user@host/db. Default: <data-dir>/photopro.db.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, env = "PHOTOPRO_DB_MAX_CONNECTIONS", default_value_t = 10)]
    db_max_connections: u32,
    /// S3-compatible endpoint (R2: https://<account>.r2.cloudflarestorage.com). Default: embedded store.
    #[arg(long, env = "PHOTOPRO_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    #[arg(long, env = "PHOTOPRO_S3_BUCKET", default_value = "photopro")]
    s3_bucket: String,
    #[arg(long, env = "PHOTOPRO_S3_ACCESS_KEY_ID", default_value = "")]
    s3_access_key_id: String,
    #[arg(
        long,
        env = "PHOTOPRO_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    s3_secret_access_key: String,
    /// R2 uses `auto`.
    #[arg(long, env = "PHOTOPRO_S3_REGION", default_value = "auto")]
    s3_region: String,
    #[arg(long, env = "PHOTOPRO_S3_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    s3_path_style: bool,
    #[arg(long, env = "PHOTOPRO_S3_STORAGE_CLASSES", default_value_t = true, action = clap::ArgAction::Set)]
    s3_storage_classes: bool,
    /// The admin credential. Default: generated into <data-dir>/admin-token.
    #[arg(long, env = "PHOTOPRO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// Timeouts, caps and rate limits of the HTTP server (see docs/api.md, "Production").
#[derive(Args)]
struct HttpArgs {
    /// Close connections that do not send a request's headers within this time (also the keep-alive idle limit).
    #[arg(long, env = "PHOTOPRO_HEADER_READ_TIMEOUT_SECONDS", default_value_t = HttpSettings::default().header_read_timeout.as_secs())]
    header_read_timeout_seconds: u64,
    /// Answer 503 request_timeout when a request takes longer than this.
    #[arg(long, env = "PHOTOPRO_REQUEST_TIMEOUT_SECONDS", default_value_t = HttpSettings::default().request_timeout.as_secs())]
    request_timeout_seconds: u64,
    /// Open connections across all clients (keep well below `ulimit -n`).
    #[arg(long, env = "PHOTOPRO_MAX_CONNECTIONS", default_value_t = HttpSettings::default().max_connections)]
    max_connections: usize,
    /// Open connections from one client address.
    #[arg(long, env = "PHOTOPRO_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = HttpSettings::default().max_connections_per_address)]
    max_connections_per_address: usize,
    /// Largest request body in bytes; larger ones get 413.
    #[arg(long, env = "PHOTOPRO_MAX_BODY_BYTES", default_value_t = HttpSettings::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Behind a proxy/balancer that sets X-Forwarded-For: take the client address from its last entry.
    #[arg(long, env = "PHOTOPRO_TRUST_PROXY", default_value_t = false, action = clap::ArgAction::Set)]
    trust_proxy: bool,
    /// Serve /metrics without the admin token (only where the public cannot reach it).
    #[arg(long, env = "PHOTOPRO_METRICS_PUBLIC", default_value_t = false, action = clap::ArgAction::Set)]
    metrics_public: bool,
    /// Pairing attempts per client address, AMOUNT/SECONDS (0: no limit).
    #[arg(long, env = "PHOTOPRO_RATE_PAIRING_ATTEMPTS", default_value_t = HttpSettings::default().pairing_attempts, value_parser = RateLimit::parse)]
    rate_pairing_attempts: RateLimit,
    /// Failed authentications per client address, AMOUNT/SECONDS (0: no limit).
    #[arg(long, env = "PHOTOPRO_RATE_FAILED_AUTH", default_value_t = HttpSettings::default().failed_auth, value_parser = RateLimit::parse)]
    rate_failed_auth: RateLimit,
    /// Pairing codes created per device, AMOUNT/SECONDS (0: no limit).
    #[arg(long, env = "PHOTOPRO_RATE_PAIRING_CODES", default_value_t = HttpSettings::default().pairing_codes, value_parser = RateLimit::parse)]
    rate_pairing_codes: RateLimit,
}

impl HttpArgs {
    fn settings(&self) -> HttpSettings {
        HttpSettings {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout_seconds.max(1)),
            max_connections: self.max_connections.max(1),
            max_connections_per_address: self.max_connections_per_address.max(1),
            max_body_bytes: self.max_body_bytes,
            trust_proxy: self.trust_proxy,
            metrics_public: self.metrics_public,
            pairing_attempts: self.rate_pairing_attempts,
            failed_auth: self.rate_failed_auth,
            pairing_codes: self.rate_pairing_codes,
        }
    }
}

impl Common {
    fn options(&self) -> ServeOptions {
        let mut options = ServeOptions::embedded(self.data_dir.clone());
        options.database_url = self.database_url.clone();
        options.max_db_connections = self.db_max_connections;
        options.admin_token = self.admin_token.clone();
        options.store = self.s3_endpoint.as_ref().map(|endpoint| StoreConfig {
            endpoint: endpoint.clone(),
            bucket: self.s3_bucket.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
            region: self.s3_region.clone(),
            force_path_style: self.s3_path_style,
            supports_storage_classes: self.s3_storage_classes,
        });
        options
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organization (prints it as JSON).
    CreateOrg {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "FREE", value_parser = parse_tier)]
        tier: Tier,
    },
    ListOrgs,
    /// Set tier, add-ons (Enterprise only) and an optional limit override in bytes.
    SetPlan {
        #[arg(long)]
        org: uuid::Uuid,
        #[arg(long, value_parser = parse_tier)]
        tier: Tier,
        #[arg(long = "add-on", value_parser = parse_add_on)]
        add_ons: Vec<AddOn>,
        #[arg(long)]
        limit_bytes: Option<u64>,
    },
    /// Issue a device token (printed once; only its hash is stored).
    IssueToken {
        #[arg(long)]
        org: uuid::Uuid,
        #[arg(long)]
        device_name: String,
    },
    /// Create a one-time pairing code for a new device.
    PairingCode {
        #[arg(long)]
        org: uuid::Uuid,
    },
    RevokeDevice {
        #[arg(long)]
        device: uuid::Uuid,
    },
    /// Run one maintenance pass (expire reservations, purge trash, compact journal).
    Maintenance,
}

fn parse_tier(text: &str) -> Result<Tier, String> {
    Tier::parse(&text.to_ascii_uppercase()).ok_or_else(|| format!("unknown tier {text:?}"))
}

fn parse_add_on(text: &str) -> Result<AddOn, String> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase()))
        .map_err(|_| format!("unknown add-on {text:?}"))
}

fn print(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Ctrl-C, or SIGTERM from a container runtime or load balancer drain.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Openapi => println!("{}", photopro_api::ApiDoc::openapi().to_pretty_json()?),
        Command::Serve {
            listen,
            maintenance_seconds,
            multipart_threshold_bytes,
            min_part_bytes,
            http,
            common,
        } => {
            let mut options = common.options();
            options.settings.multipart_threshold_bytes = multipart_threshold_bytes;
            options.settings.min_part_bytes = min_part_bytes;
            options.settings.http = http.settings();
            let built = build(options).await.context("starting the API")?;
            if let Some(embedded) = &built.embedded {
                tracing::info!(address = %embedded.address, "embedded object store (s3s-fs) running");
            }
            if let Some(path) = &built.admin_token_file {
                tracing::info!(path = %path.display(), "admin token");
            }
            spawn_maintenance(
                built.api.clone(),
                Duration::from_secs(maintenance_seconds.max(1)),
            );
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            tracing::info!(address = %listener.local_addr()?, "photopro-api listening");
            photopro_api::launch(listener, built.api.clone(), shutdown_signal()).await?;
        }
        Command::Admin { common, command } => {
            let mut options = common.options();
            let needs_store = matches!(command, AdminCommand::Maintenance);
            if options.store.is_none() && !needs_store {
                // Metadata commands never touch objects; do not start the embedded store for them.
                options.store = Some(StoreConfig {
                    endpoint: "http://127.0.0.1:9".into(),
                    bucket: "unused".into(),
                    access_key_id: String::new(),
                    secret_access_key: String::new(),
                    region: "auto".into(),
                    force_path_style: true,
                    supports_storage_classes: false,
                });
            }
            let api = build(options).await.context("opening the database")?.api;
            match command {
                AdminCommand::CreateOrg { name, tier } => print(
                    &api.create_organization(&CreateOrganizationRequest { name, tier })
                        .await?,
                )?,
                AdminCommand::ListOrgs => print(&api.list_organizations().await?)?,
                AdminCommand::SetPlan {
                    org,
                    tier,
                    add_ons,
                    limit_bytes,
                } => print(
                    &api.set_plan(
                        org,
                        &SetPlanRequest {
                            tier,
                            add_ons,
                            limit_override_bytes: limit_bytes,
                        },
                    )
                    .await?,
                )?,
                AdminCommand::IssueToken { org, device_name } => {
                    print(&api.issue_device_token(org, &device_name).await?)?
                }
                AdminCommand::PairingCode { org } => {
                    api.organization(org).await?;
                    print(&api.create_pairing_code(org).await?)?
                }
                AdminCommand::RevokeDevice { device } => {
                    api.revoke_device(None, device).await?;
                    println!("revoked");
                }
                AdminCommand::Maintenance => print(&api.run_maintenance().await?)?,
            }
        }
    }
    Ok(())
}
