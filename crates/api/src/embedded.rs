//! The embedded S3-compatible store for the zero-configuration default: an
//! in-process `s3s-fs` server on 127.0.0.1 that keeps objects under a data
//! directory. It checks signatures and checksums like a real store (see
//! [`crate::embedded_store`] for what it adds to `s3s-fs` to be as strict as
//! R2), but has no storage classes.

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::store::StoreConfig;

/// A running embedded store. Dropping it stops the server.
pub struct EmbeddedStore {
    pub address: SocketAddr,
    pub config: StoreConfig,
    task: JoinHandle<()>,
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EmbeddedStore {
    /// Starts the store on `127.0.0.1:port` (0 picks a free port), with
    /// objects under `root`. The credentials are made up per data directory.
    pub async fn start(
        root: &Path,
        port: u16,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<EmbeddedStore> {
        std::fs::create_dir_all(root)
            .map_err(|e| Error::Internal(format!("create {}: {e}", root.display())))?;
        let filesystem = crate::embedded_store::StrictFileSystem::new(root)
            .map_err(|e| Error::Internal(format!("s3s-fs in {}: {e}", root.display())))?;
        let mut builder = S3ServiceBuilder::new(filesystem);
        builder.set_auth(SimpleAuth::from_single(
            access_key_id.to_string(),
            secret_access_key.to_string(),
        ));
        let service = builder.build();

        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| Error::Internal(format!("bind embedded store: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        let config = StoreConfig {
            endpoint: format!("http://{address}"),
            bucket: "photopro".to_string(),
            access_key_id: access_key_id.to_string(),
            secret_access_key: secret_access_key.to_string(),
            region: "us-east-1".to_string(),
            force_path_style: true,
            supports_storage_classes: false,
        };
        Ok(EmbeddedStore {
            address,
            config,
            task,
        })
    }
}
