//! A whole API in the current process on 127.0.0.1, driven from blocking
//! code: the embedded default (SQLite + in-process S3 store) on its own tokio
//! runtime. For clients' end-to-end tests and benchmarks, so they talk to the
//! real API over HTTP without each re-implementing its start-up.

use crate::server::{build, Built, ServeOptions};
use crate::store::StoreConfig;
use crate::{Error, Result};
use photopro_wire::{CreateOrganizationRequest, SetPlanRequest, Tier};
use std::path::PathBuf;

pub struct LocalApi {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The embedded object store's endpoint and credentials.
    pub store: StoreConfig,
    built: Built,
    runtime: tokio::runtime::Runtime,
}

impl LocalApi {
    /// Start on `data_dir`; `configure` may adjust the options (e.g. multipart thresholds).
    pub fn start(data_dir: PathBuf, configure: impl FnOnce(&mut ServeOptions)) -> Result<LocalApi> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("runtime: {e}")))?;
        let mut options = ServeOptions::embedded(data_dir);
        configure(&mut options);
        let built = runtime.block_on(build(options))?;
        let store = built
            .embedded
            .as_ref()
            .map(|e| e.config.clone())
            .ok_or_else(|| Error::Internal("no embedded store".into()))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| Error::Internal(format!("bind: {e}")))?;
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|e| Error::Internal(e.to_string()))?
        );
        let api = built.api.clone();
        runtime.spawn(async move { crate::launch(listener, api, std::future::pending()).await });
        Ok(LocalApi {
            base,
            store,
            built,
            runtime,
        })
    }

    /// A new organization (with a byte limit if given) and a device token in it.
    pub fn device_token(&self, organization: &str, limit_bytes: Option<u64>) -> Result<String> {
        let api = self.built.api.clone();
        let organization = organization.to_string();
        self.runtime.block_on(async move {
            let org = api
                .create_organization(&CreateOrganizationRequest {
                    name: organization,
                    tier: Tier::Business,
                })
                .await?;
            if let Some(limit) = limit_bytes {
                api.set_plan(
                    org.id,
                    &SetPlanRequest {
                        tier: Tier::Custom,
                        add_ons: Vec::new(),
                        limit_override_bytes: Some(limit),
                    },
                )
                .await?;
            }
            Ok(api.issue_device_token(org.id, "device").await?.token)
        })
    }
}
