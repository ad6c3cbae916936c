//! The hosted quota and storage API of PhotoProOS Storage (`photopro-api`).
//!
//! It is the only holder of object-store credentials and the authority on
//! organizations, tiers, usage and object metadata. Devices reserve room
//! under their organization's hard cap, upload straight to the store with
//! presigned URLs, and complete; the API verifies the object and commits the
//! bytes. A per-organization change journal lets several devices converge.
//! It runs on SQLite plus an embedded S3 store with zero configuration, and on
//! PostgreSQL plus R2 in production (several instances behind a balancer).
//!
//! ```no_run
//! # async fn demo() -> photopro_api::Result<()> {
//! use photopro_api::server::{ServeOptions, build};
//!
//! // The embedded default: SQLite file + in-process s3s-fs under ./data.
//! let built = build(ServeOptions::embedded("./data".into())).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! photopro_api::launch(listener, built.api.clone(), std::future::pending()).await.unwrap();
//! # Ok(()) }
//! ```
//!
//! Code map: [`service`] holds the behaviour, [`routes`] the HTTP table and
//! OpenAPI, [`db`] the SQLite/PostgreSQL pool and migrations, [`store`] the
//! S3 client, [`embedded`] the zero-config object store, [`server`] wiring
//! for the binary.

pub mod auth;
pub mod clock;
pub mod db;
pub mod embedded;
pub mod embedded_store;
pub mod error;
pub mod http_server;
pub mod limits;
pub mod local;
pub mod metrics;
pub mod names;
pub mod routes;
pub mod server;
pub mod service;
pub mod store;

pub use error::{Error, Result};
pub use routes::{app, router, ApiDoc, AppState};
pub use service::{Api, DeviceContext, Settings};

use std::future::Future;

/// Serves the API on `listener` until `shutdown` resolves, with the timeouts,
/// connection caps, body limit and rate limits of `api.settings.http` (see
/// [`http_server`]). Tests bring their own listener on `127.0.0.1:0`; the
/// binary binds the configured address.
pub async fn launch(
    listener: tokio::net::TcpListener,
    api: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (app, hygiene) = app(api);
    http_server::serve(listener, app, hygiene, shutdown).await
}
