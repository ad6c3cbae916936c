//! The API's endpoints outside the sync protocol, for the app and the CLI
//! alike: pair a device, the organization's usage and settings, the
//! server's trash (list, rename, restore), and which plan to offer when the
//! storage fills up ([`upgrade_offer`]).
//!
//! Blocking, like [`crate::http::HttpRemote`] (which speaks the sync
//! protocol): the app calls it from a blocking task. Failures are
//! [`SyncError`]s whose [`SyncError::reason`] is a sentence naming the API
//! and what to do: `Unavailable` when it cannot be reached, `Refused` when it
//! said no (a 401 means pairing again), `Transient` for 429 / 5xx and
//! answers that cannot be read.

use crate::SyncError;
use photopro_wire as wire;
use serde::Serialize;
use std::time::Duration;

/// How long one call may take by default (the usage bar must not hang).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A client of the API's account endpoints, with this device's token when
/// it has one (pairing does not).
pub struct ApiClient {
    http: reqwest::blocking::Client,
    base: String,
    token: Option<String>,
}

/// The error with its causes ("error sending request: connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl ApiClient {
    /// A client of the API at `api_url` (trailing `/` ignored), calls ending
    /// after `timeout`.
    pub fn new(
        api_url: &str,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<ApiClient, SyncError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("PhotoPro-Storage/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                SyncError::Io(format!("cannot set up an HTTP client: {}", describe(&e)))
            })?;
        Ok(ApiClient {
            http,
            base: api_url.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
        })
    }

    /// The API's address, as used (without a trailing `/`).
    pub fn api_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<T, SyncError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().map_err(|e| {
            SyncError::Unavailable(format!("Cannot reach {}: {}", self.base, describe(&e)))
        })?;
        let status = response.status();
        if !status.is_success() {
            let message = response
                .json::<wire::ErrorBody>()
                .map(|body| body.message)
                .unwrap_or_else(|_| format!("The API at {} answered {status}", self.base));
            return Err(
                if status == reqwest::StatusCode::UNAUTHORIZED && self.token.is_some() {
                    SyncError::Refused(format!(
                    "The API did not accept this device's token ({message}). Pair the device again."
                ))
                } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error()
                {
                    SyncError::Transient {
                        message: format!("{message} ({status}); try again in a moment"),
                        retry_after_ms: None,
                    }
                } else if status == reqwest::StatusCode::NOT_FOUND {
                    SyncError::NotFound(message)
                } else {
                    SyncError::Refused(message)
                },
            );
        }
        response.json().map_err(|e| SyncError::Transient {
            message: format!("Unexpected answer from {}: {}", self.base, describe(&e)),
            retry_after_ms: None,
        })
    }

    /// `POST /v1/devices/pair`: trade a one-time pairing code for a device token.
    pub fn pair_device(
        &self,
        code: &str,
        device_name: &str,
    ) -> Result<wire::DeviceToken, SyncError> {
        let request = wire::PairDeviceRequest {
            pairing_code: code.trim().to_string(),
            device_name: device_name.to_string(),
        };
        self.send(self.http.post(self.url("/v1/devices/pair")).json(&request))
    }

    /// `GET /v1/usage`: what is stored, reserved and allowed.
    pub fn usage(&self) -> Result<wire::Usage, SyncError> {
        self.send(self.http.get(self.url("/v1/usage")))
    }

    /// `GET /v1/settings`: the organization's settings (its folder levels name the client).
    pub fn organization_settings(&self) -> Result<wire::OrganizationSettings, SyncError> {
        self.send(self.http.get(self.url("/v1/settings")))
    }

    /// `GET /v1/folders`: every folder, live and trashed.
    pub fn folders(&self) -> Result<Vec<wire::Folder>, SyncError> {
        let list: wire::FolderList = self.send(self.http.get(self.url("/v1/folders")))?;
        Ok(list.folders)
    }

    /// `GET /v1/assets`, every page: every file, live and trashed.
    pub fn assets(&self) -> Result<Vec<wire::Asset>, SyncError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("limit", "1000".to_string())];
            if let Some(after) = after.take() {
                query.push(("after", after));
            }
            let page: wire::AssetPage =
                self.send(self.http.get(self.url("/v1/assets")).query(&query))?;
            all.extend(page.assets);
            match page.next_after {
                Some(next) => after = Some(next.to_string()),
                None => return Ok(all),
            }
        }
    }

    /// `PATCH /v1/assets/{id}`: rename a file (metadata only).
    pub fn rename_asset(&self, id: &str, name: &str) -> Result<wire::Asset, SyncError> {
        let body = wire::RenameRequest {
            name: name.to_string(),
        };
        self.send(
            self.http
                .patch(self.url(&format!("/v1/assets/{id}")))
                .json(&body),
        )
    }

    /// `POST /v1/assets/{id}/restore`: bring a file back from the server's trash.
    pub fn restore_asset(&self, id: &str) -> Result<wire::Asset, SyncError> {
        self.send(
            self.http
                .post(self.url(&format!("/v1/assets/{id}/restore"))),
        )
    }
}

/// What the usage bar shows. Never a made-up number: without an API and a
/// device token the state is `not_connected`, and a failed request is
/// `unreachable` with the reason.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UsageView {
    NotConnected {
        reason: String,
    },
    Unreachable {
        api_url: String,
        message: String,
    },
    Connected {
        api_url: String,
        usage: wire::Usage,
        upgrade: Option<UpgradeOffer>,
    },
}

impl UsageView {
    /// Ask the API at `api_url` with the device's `token` (as read from where
    /// it is kept; `Err` says why it could not be read). Blocks for the call.
    pub fn read(api_url: Option<&str>, token: Result<Option<String>, String>) -> UsageView {
        let Some(api_url) = api_url.filter(|u| !u.is_empty()) else {
            return UsageView::NotConnected {
                reason: "No PhotoProOS account is connected. Pair this computer in Settings."
                    .into(),
            };
        };
        let token = match token {
            Ok(Some(token)) => token,
            Ok(None) => {
                return UsageView::NotConnected {
                    reason: "This computer is not paired yet. Pair it in Settings.".into(),
                }
            }
            Err(reason) => return UsageView::NotConnected { reason },
        };
        let usage = ApiClient::new(api_url, Some(&token), DEFAULT_TIMEOUT)
            .and_then(|client| client.usage());
        match usage {
            Ok(usage) => UsageView::Connected {
                upgrade: upgrade_offer(&usage),
                usage,
                api_url: api_url.to_string(),
            },
            Err(error) => UsageView::Unreachable {
                api_url: api_url.to_string(),
                message: error.reason().to_string(),
            },
        }
    }
}

/// The smallest published tier that holds what is stored now with room to grow.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpgradeOffer {
    pub tier: wire::Tier,
    pub limit_bytes: u64,
    pub monthly_price_cents: u64,
}

/// The tier to offer: the smallest one above the current plan and limit that
/// also leaves at least 20 % headroom over what is used and reserved. `None`
/// above Enterprise (add-ons are sold by a person, not a button).
pub fn upgrade_offer(usage: &wire::Usage) -> Option<UpgradeOffer> {
    let needed = (usage.used_bytes + usage.reserved_bytes).saturating_mul(6) / 5;
    let current = wire::Tier::PUBLISHED
        .iter()
        .position(|t| *t == usage.plan.tier);
    wire::Tier::PUBLISHED
        .into_iter()
        .enumerate()
        .find_map(|(rank, tier)| {
            let limit = tier.limit_bytes()?;
            let above_plan = current.is_none_or(|c| rank > c);
            (above_plan && limit > usage.limit_bytes && limit >= needed).then(|| UpgradeOffer {
                tier,
                limit_bytes: limit,
                monthly_price_cents: tier.monthly_price_cents().unwrap_or(0),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(limit: u64, used: u64) -> wire::Usage {
        wire::Usage {
            plan: wire::Plan {
                tier: wire::Tier::Free,
                add_ons: vec![],
            },
            used_bytes: used,
            reserved_bytes: 0,
            limit_bytes: limit,
            percent_used: used as f64 * 100.0 / limit as f64,
            warning: None,
            classes: vec![],
            trash_bytes: 0,
            monthly_storage_cost_usd: 0.0,
            top_folders: vec![],
        }
    }

    #[test]
    fn upgrade_offer_names_the_smallest_tier_that_fits_with_headroom() {
        let gib = wire::GIB;
        assert_eq!(
            upgrade_offer(&usage(25 * gib, 25 * gib)).unwrap().tier,
            wire::Tier::Starter
        );
        // 90 GiB used on a custom 95 GiB limit: Starter (100) lacks 20 % headroom, Pro fits.
        assert_eq!(
            upgrade_offer(&usage(95 * gib, 90 * gib)).unwrap().tier,
            wire::Tier::Pro
        );
        let enterprise = wire::Tier::Enterprise.limit_bytes().unwrap();
        assert_eq!(upgrade_offer(&usage(enterprise, enterprise)), None);
        let offer = upgrade_offer(&usage(100 * gib, 99 * gib)).unwrap();
        assert_eq!(
            (offer.tier, offer.monthly_price_cents),
            (wire::Tier::Pro, 1900)
        );
        // A Free plan with a small admin-set limit is offered Starter, never Free again.
        assert_eq!(
            upgrade_offer(&usage(50 << 20, 45 << 20)).unwrap().tier,
            wire::Tier::Starter
        );
    }

    #[test]
    fn the_usage_bar_says_why_it_is_not_connected() {
        let reason = |view: UsageView| match view {
            UsageView::NotConnected { reason } => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason(UsageView::read(None, Ok(Some("t".into())))).contains("Pair"));
        assert!(reason(UsageView::read(Some("http://x"), Ok(None))).contains("not paired"));
        assert_eq!(
            reason(UsageView::read(
                Some("http://x"),
                Err("keychain locked".into())
            )),
            "keychain locked"
        );
        // Nothing listens on port 9 (discard): unreachable, with the address.
        match UsageView::read(Some("http://127.0.0.1:9/"), Ok(Some("t".into()))) {
            UsageView::Unreachable { api_url, message } => {
                assert_eq!(api_url, "http://127.0.0.1:9/");
                assert!(
                    message.starts_with("Cannot reach http://127.0.0.1:9:"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
