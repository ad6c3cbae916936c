//! The few calls the app makes to the hosted API: pair this device, read the
//! organization's usage. Only this module and the commands serialize for the
//! wire; the types are `photopro-wire`'s, shared with the server.

use crate::error::{AppError, Result};
use photopro_wire as wire;
use serde::Serialize;

/// What the usage bar shows. Never a made-up number: without an API and a
/// device token the state is `not_connected`, and a failed request is
/// `unreachable` with the reason.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
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

/// The smallest published tier that holds what is stored now with room to grow.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
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

fn base(api_url: &str) -> &str {
    api_url.trim_end_matches('/')
}

/// Turn an error answer into a sentence (the API's own message when it sent one).
async fn failure(response: reqwest::Response) -> AppError {
    let status = response.status();
    match response.json::<wire::ErrorBody>().await {
        Ok(body) if status == reqwest::StatusCode::UNAUTHORIZED => AppError::Api(format!(
            "The API did not accept this device's token ({}). Pair the device again.",
            body.message
        )),
        Ok(body) => AppError::Api(body.message),
        Err(_) => AppError::Api(format!("The API answered {status}")),
    }
}

pub async fn fetch_usage(
    http: &reqwest::Client,
    api_url: &str,
    token: &str,
) -> Result<wire::Usage> {
    let response = http
        .get(format!("{}/v1/usage", base(api_url)))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| AppError::Api(format!("Cannot reach {api_url}: {}", describe(&e))))?;
    if !response.status().is_success() {
        return Err(failure(response).await);
    }
    response.json().await.map_err(|e| {
        AppError::Api(format!(
            "Unexpected answer from {api_url}: {}",
            describe(&e)
        ))
    })
}

/// The organization's settings (its folder layout names the client level).
pub async fn fetch_organization_settings(
    http: &reqwest::Client,
    api_url: &str,
    token: &str,
) -> Result<wire::OrganizationSettings> {
    let response = http
        .get(format!("{}/v1/settings", base(api_url)))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| AppError::Api(format!("Cannot reach {api_url}: {}", describe(&e))))?;
    if !response.status().is_success() {
        return Err(failure(response).await);
    }
    response.json().await.map_err(|e| {
        AppError::Api(format!(
            "Unexpected answer from {api_url}: {}",
            describe(&e)
        ))
    })
}

pub async fn pair_device(
    http: &reqwest::Client,
    api_url: &str,
    code: &str,
    device_name: &str,
) -> Result<wire::DeviceToken> {
    let request = wire::PairDeviceRequest {
        pairing_code: code.trim().to_string(),
        device_name: device_name.to_string(),
    };
    let response = http
        .post(format!("{}/v1/devices/pair", base(api_url)))
        .json(&request)
        .send()
        .await
        .map_err(|e| AppError::Api(format!("Cannot reach {api_url}: {}", describe(&e))))?;
    if !response.status().is_success() {
        return Err(failure(response).await);
    }
    response.json().await.map_err(|e| {
        AppError::Api(format!(
            "Unexpected answer from {api_url}: {}",
            describe(&e)
        ))
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
}
