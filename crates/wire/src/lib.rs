//! Wire types shared by the hosted quota and storage API (`photopro-api`) and
//! its clients (the desktop sync engine, the admin CLI, tests).
//!
//! Everything here is plain data with serde derives, plus the pricing facts
//! that both sides must agree on (tiers, add-ons, R2 prices). Sizes are bytes
//! and always use **binary units**: 1 GiB = 2^30 bytes, 1 TiB = 2^40 bytes, so
//! "Free 25 GB" is 25 GiB = 26,843,545,600 bytes. Times are Unix seconds,
//! except files' modification times (`modified_at`), which are Unix milliseconds.
//!
//! ```
//! use photopro_wire::{Tier, GIB};
//!
//! assert_eq!(Tier::Free.limit_bytes(), Some(25 * GIB));
//! // The smallest tier that holds 30 GiB is Starter (100 GiB).
//! let plan = photopro_wire::smallest_plan_for(30 * GIB);
//! assert_eq!(plan.tier, Tier::Starter);
//! ```
//!
//! The `openapi` feature derives `utoipa::ToSchema` for the server's OpenAPI
//! document; clients do not need it.

pub mod names;
pub mod units;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// One gibibyte (2^30 bytes). Every "GB" in the product means this.
pub const GIB: u64 = 1 << 30;
/// One tebibyte (2^40 bytes). Every "TB" in the product means this.
pub const TIB: u64 = 1 << 40;
/// The largest single object S3 and R2 accept (5 TiB); larger uploads are refused.
pub const MAX_OBJECT_BYTES: u64 = 5 * TIB;
/// S3 multipart rules: every part but the last is at least 5 MiB, at most 10,000 parts.
pub const MIN_PART_BYTES: u64 = 5 << 20;
pub const MAX_PARTS: u64 = 10_000;
/// The latest file modification time the API accepts (`modified_at`, Unix
/// milliseconds): 3000-01-01T00:00:00Z. Later values are a 400.
pub const MAX_MODIFIED_AT_MS: i64 = 32_503_680_000_000;
/// The earliest accepted (`modified_at`, Unix milliseconds): 1601-01-01T00:00:00Z,
/// the Windows epoch. Scanned film is dated before 1970; earlier is a 400.
pub const MIN_MODIFIED_AT_MS: i64 = -11_644_473_600_000;

/// R2 Standard storage, US cents per TiB-month ($15.36 = $0.015 per GiB-month).
pub const STANDARD_CENTS_PER_TIB_MONTH: u64 = 1536;
/// R2 Infrequent Access storage, US cents per TiB-month ($10.24).
pub const INFREQUENT_ACCESS_CENTS_PER_TIB_MONTH: u64 = 1024;
/// R2 Infrequent Access retrieval, US cents per GiB read.
pub const INFREQUENT_ACCESS_RETRIEVAL_CENTS_PER_GIB: u64 = 1;
/// R2 Infrequent Access bills at least this many days of storage per object.
pub const INFREQUENT_ACCESS_MINIMUM_DAYS: u64 = 30;

/// A subscription tier. Caps are hard: there are no overages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    Free,
    Starter,
    Pro,
    Studio,
    Business,
    Enterprise,
    /// A negotiated limit, always set by an admin override.
    Custom,
}

impl Tier {
    /// The tiers with a published limit, smallest first.
    pub const PUBLISHED: [Tier; 6] = [
        Tier::Free,
        Tier::Starter,
        Tier::Pro,
        Tier::Studio,
        Tier::Business,
        Tier::Enterprise,
    ];

    /// The tier's storage cap in bytes; `None` for [`Tier::Custom`].
    pub fn limit_bytes(self) -> Option<u64> {
        Some(match self {
            Tier::Free => 25 * GIB,
            Tier::Starter => 100 * GIB,
            Tier::Pro => 500 * GIB,
            Tier::Studio => 2 * TIB,
            Tier::Business => 5 * TIB,
            Tier::Enterprise => 15 * TIB,
            Tier::Custom => return None,
        })
    }

    /// Monthly price in US cents; `None` for [`Tier::Custom`].
    pub fn monthly_price_cents(self) -> Option<u64> {
        Some(match self {
            Tier::Free => 0,
            Tier::Starter => 900,
            Tier::Pro => 1900,
            Tier::Studio => 4900,
            Tier::Business => 9900,
            Tier::Enterprise => 24900,
            Tier::Custom => return None,
        })
    }

    /// The wire spelling, also used as the database value.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "FREE",
            Tier::Starter => "STARTER",
            Tier::Pro => "PRO",
            Tier::Studio => "STUDIO",
            Tier::Business => "BUSINESS",
            Tier::Enterprise => "ENTERPRISE",
            Tier::Custom => "CUSTOM",
        }
    }

    /// Parses the wire spelling; anything else is an unknown tier.
    pub fn parse(text: &str) -> Option<Tier> {
        Tier::PUBLISHED
            .into_iter()
            .chain([Tier::Custom])
            .find(|tier| tier.as_str() == text)
    }
}

/// Extra capacity sold on top of Enterprise (15 TiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AddOn {
    #[serde(rename = "PLUS_10_TB")]
    Plus10Tb,
    #[serde(rename = "PLUS_20_TB")]
    Plus20Tb,
    #[serde(rename = "PLUS_50_TB")]
    Plus50Tb,
}

impl AddOn {
    pub const ALL: [AddOn; 3] = [AddOn::Plus10Tb, AddOn::Plus20Tb, AddOn::Plus50Tb];

    pub fn extra_bytes(self) -> u64 {
        match self {
            AddOn::Plus10Tb => 10 * TIB,
            AddOn::Plus20Tb => 20 * TIB,
            AddOn::Plus50Tb => 50 * TIB,
        }
    }

    pub fn monthly_price_cents(self) -> u64 {
        match self {
            AddOn::Plus10Tb => 15000,
            AddOn::Plus20Tb => 28000,
            AddOn::Plus50Tb => 65000,
        }
    }
}

/// A tier plus add-ons: what an organization pays for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Plan {
    pub tier: Tier,
    #[serde(default)]
    pub add_ons: Vec<AddOn>,
}

impl Plan {
    /// The plan's cap, or `None` for Custom (whose cap is the admin override).
    pub fn limit_bytes(&self) -> Option<u64> {
        let base = self.tier.limit_bytes()?;
        Some(
            self.add_ons
                .iter()
                .map(|add_on| add_on.extra_bytes())
                .sum::<u64>()
                + base,
        )
    }

    pub fn monthly_price_cents(&self) -> Option<u64> {
        let base = self.tier.monthly_price_cents()?;
        Some(
            self.add_ons
                .iter()
                .map(|add_on| add_on.monthly_price_cents())
                .sum::<u64>()
                + base,
        )
    }
}

/// The cheapest published plan whose cap is at least `total_bytes`.
///
/// Beyond Enterprise it adds the cheapest mix of add-ons; beyond a petabyte of
/// add-ons it answers Custom, because that is a sales conversation.
pub fn smallest_plan_for(total_bytes: u64) -> Plan {
    if let Some(tier) = Tier::PUBLISHED
        .into_iter()
        .find(|tier| tier.limit_bytes().is_some_and(|limit| limit >= total_bytes))
    {
        return Plan {
            tier,
            add_ons: Vec::new(),
        };
    }
    let extra = total_bytes - 15 * TIB;
    if extra > 1024 * TIB {
        return Plan {
            tier: Tier::Custom,
            add_ons: Vec::new(),
        };
    }
    // Few combinations matter: 50 TiB is cheapest per TiB, the small ones fill the rest.
    let max_fifties = extra.div_ceil(50 * TIB);
    let mut best: Option<(u64, u64, [u64; 3])> = None;
    for fifties in 0..=max_fifties {
        for twenties in 0..=3u64 {
            for tens in 0..=2u64 {
                let bytes = fifties * 50 * TIB + twenties * 20 * TIB + tens * 10 * TIB;
                if bytes < extra {
                    continue;
                }
                let price = fifties * 65000 + twenties * 28000 + tens * 15000;
                if best.is_none_or(|(best_price, best_bytes, _)| {
                    (price, bytes) < (best_price, best_bytes)
                }) {
                    best = Some((price, bytes, [tens, twenties, fifties]));
                }
            }
        }
    }
    let [tens, twenties, fifties] = best.map(|(_, _, counts)| counts).unwrap_or([0, 0, 0]);
    let mut add_ons = Vec::new();
    add_ons.extend(std::iter::repeat_n(AddOn::Plus10Tb, tens as usize));
    add_ons.extend(std::iter::repeat_n(AddOn::Plus20Tb, twenties as usize));
    add_ons.extend(std::iter::repeat_n(AddOn::Plus50Tb, fifties as usize));
    Plan {
        tier: Tier::Enterprise,
        add_ons,
    }
}

/// Published prices, as returned by `GET /v1/tiers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PriceList {
    pub tiers: Vec<TierPrice>,
    pub add_ons: Vec<AddOnPrice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TierPrice {
    pub tier: Tier,
    pub limit_bytes: u64,
    pub monthly_price_cents: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AddOnPrice {
    pub add_on: AddOn,
    pub extra_bytes: u64,
    pub monthly_price_cents: u64,
}

/// The R2 storage class of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StorageClass {
    Standard,
    InfrequentAccess,
}

impl StorageClass {
    /// The S3 `x-amz-storage-class` value; also the database value.
    pub fn as_s3(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::InfrequentAccess => "STANDARD_IA",
        }
    }

    pub fn from_s3(text: &str) -> Option<StorageClass> {
        match text {
            "STANDARD" => Some(StorageClass::Standard),
            "STANDARD_IA" => Some(StorageClass::InfrequentAccess),
            _ => None,
        }
    }

    /// Storage price in US cents per TiB-month.
    pub fn cents_per_tib_month(self) -> u64 {
        match self {
            StorageClass::Standard => STANDARD_CENTS_PER_TIB_MONTH,
            StorageClass::InfrequentAccess => INFREQUENT_ACCESS_CENTS_PER_TIB_MONTH,
        }
    }
}

/// Monthly storage cost in US dollars of `bytes` in `class` at R2 prices.
pub fn monthly_cost_usd(bytes: u64, class: StorageClass) -> f64 {
    bytes as f64 / TIB as f64 * class.cents_per_tib_month() as f64 / 100.0
}

/// Retrieval cost in US dollars of reading `bytes` back from Infrequent Access.
pub fn retrieval_cost_usd(bytes: u64, class: StorageClass) -> f64 {
    match class {
        StorageClass::Standard => 0.0,
        StorageClass::InfrequentAccess => {
            bytes as f64 / GIB as f64 * INFREQUENT_ACCESS_RETRIEVAL_CENTS_PER_GIB as f64 / 100.0
        }
    }
}

// ---------------------------------------------------------------- errors

/// Every non-2xx answer has this body. `error` is a stable machine code
/// (`quota_exceeded`, `not_found`, `unauthorized`, `cursor_reset`,
/// `conflict`, `precondition_failed`, `content_unknown`, …);
/// `message` is for humans and never contains internals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    /// Present with `quota_exceeded`: what the client needs for an upgrade prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaExceeded>,
    /// The request's id (also the `x-request-id` response header): quote it
    /// when reporting a problem; the server's logs carry the same id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Why a reservation did not fit, and what plan would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuotaExceeded {
    pub used_bytes: u64,
    pub reserved_bytes: u64,
    pub limit_bytes: u64,
    pub needed_bytes: u64,
    /// The cheapest plan whose cap holds `used + reserved + needed`.
    pub suggested_plan: Plan,
}

// ---------------------------------------------------------------- devices

/// `POST /v1/devices/pair`: trade a one-time pairing code for a device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PairDeviceRequest {
    pub pairing_code: String,
    pub device_name: String,
}

/// A freshly issued device token. The token is shown once; the server keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeviceToken {
    pub organization_id: Uuid,
    pub device_id: Uuid,
    pub token: String,
}

/// A short-lived, single-use code that lets one more device join the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PairingCode {
    pub pairing_code: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Device {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

// ---------------------------------------------------------------- uploads

/// `POST /v1/uploads`: ask to upload `size_bytes` bytes as a new asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReserveRequest {
    pub size_bytes: u64,
    /// SHA-256 of the content, lowercase hex. Single-part uploads must match it byte for byte.
    pub content_sha256: String,
    /// The asset's display name (a file name, never a path).
    pub name: String,
    /// The folder to place the asset in; `None` is the organization's root.
    #[serde(default)]
    pub folder_id: Option<Uuid>,
    /// A new version of a file: at completion, in the same transaction that
    /// creates the new asset, this asset goes to the trash (restorable).
    /// Refused with 412 `precondition_failed` if it is not live with exactly
    /// this content, at reservation or at completion. With `replaces` the name
    /// must be free in the folder except for this asset's own (409 `conflict`);
    /// a plain upload checks no names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replaces>,
    /// The file's modification time on the uploading device, in Unix
    /// **milliseconds** (not seconds, unlike the API's other times), so other
    /// devices can give their copy the same mtime. Stored on the asset
    /// ([`Asset::modified_at`]) at completion. Must be in
    /// `0..=`[`MAX_MODIFIED_AT_MS`] (year 3000), else 400 `bad_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<i64>,
}

/// The version an upload or a copy replaces, as the client last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Replaces {
    pub asset_id: Uuid,
    /// The content the client expects the asset to have (lowercase hex SHA-256).
    pub content_sha256: String,
}

/// `POST /v1/assets/copy`: a new asset from content the organization already
/// stores (live or in the trash), without sending the bytes again. The answer
/// is the new [`Asset`] (201), or 404 `content_unknown` when the organization
/// holds no such content: upload it with `POST /v1/uploads` instead. The
/// name must be free in the folder (409 `conflict`), the copy must fit under
/// the cap (409 `quota_exceeded`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CopyRequest {
    /// SHA-256 of the content, lowercase hex.
    pub content_sha256: String,
    /// The folder to place the new asset in; `None` is the organization's root.
    #[serde(default)]
    pub folder_id: Option<Uuid>,
    /// The new asset's display name (a file name, never a path).
    pub name: String,
    /// As for [`ReserveRequest::replaces`]: trash this version in the same step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replaces>,
    /// The new asset's file modification time, in Unix **milliseconds**, as
    /// for [`ReserveRequest::modified_at`]. Never taken from the asset the
    /// content was copied from: left out, the new asset's is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<i64>,
}

/// A granted reservation: bytes are held against the cap until completion or expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Reservation {
    pub reservation_id: Uuid,
    pub asset_id: Uuid,
    pub size_bytes: u64,
    pub expires_at: i64,
    pub upload: UploadPlan,
}

/// `GET /v1/uploads/{id}`: an open reservation with fresh URLs, to resume after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UploadStatus {
    pub reservation: Reservation,
    /// Multipart parts the store already holds: skip them and list them at
    /// completion. A store that does not report a part's ETag (`None`) needs
    /// that part sent again.
    pub uploaded_parts: Vec<StoredPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StoredPart {
    pub part_number: u32,
    pub size_bytes: u64,
    pub etag: Option<String>,
}

/// How to send the bytes: one presigned PUT, or presigned parts of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadPlan {
    Single {
        url: String,
        /// Headers the PUT must carry exactly (they are part of the signature).
        headers: Vec<HeaderPair>,
    },
    Multipart {
        part_size_bytes: u64,
        parts: Vec<PartUpload>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeaderPair {
    pub name: String,
    pub value: String,
}

/// One part of a multipart upload. In a [`Reservation`]'s plan it only says
/// which bytes the part holds (`url` is absent): every part URL is bound to
/// the part's SHA-256, so the client asks for it with
/// `POST /v1/uploads/{id}/parts` ([`PartUrlsRequest`]), declaring the hash,
/// and gets this back with `url` and the `headers` the PUT must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartUpload {
    pub part_number: u32,
    pub size_bytes: u64,
    /// The presigned PUT for this part (only in a [`PartUrls`] answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers the PUT must carry exactly (they are part of the signature,
    /// e.g. `x-amz-checksum-sha256`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderPair>,
}

/// `POST /v1/uploads/{id}/parts`: presigned URLs for parts of an open
/// multipart upload, each bound to the SHA-256 the client declares for that
/// part's bytes (the store refuses other bytes with 400 `BadDigest`). Ask
/// again for a fresh URL whenever one has expired; URLs live minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartUrlsRequest {
    pub parts: Vec<PartChecksum>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartChecksum {
    pub part_number: u32,
    /// SHA-256 of this part's bytes, lowercase hex.
    pub content_sha256: String,
}

/// The answer to [`PartUrlsRequest`]: the parts asked for, with URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartUrls {
    pub parts: Vec<PartUpload>,
    /// When these URLs stop working (Unix seconds).
    pub expires_at: i64,
}

/// `POST /v1/uploads/{id}/complete`. Multipart uploads list every part's ETag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CompleteRequest {
    #[serde(default)]
    pub parts: Vec<CompletedPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CompletedPart {
    pub part_number: u32,
    pub etag: String,
}

// ---------------------------------------------------------------- assets and folders

/// A stored photo (or any file). Its object key is derived from `id`, never from names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Asset {
    pub id: Uuid,
    pub folder_id: Option<Uuid>,
    pub name: String,
    pub size_bytes: u64,
    pub content_sha256: String,
    pub storage_class: StorageClass,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set while the asset is in the trash; it is purged after the retention period.
    pub trashed_at: Option<i64>,
    /// The file's modification time on the device that uploaded (or copied)
    /// it, in Unix **milliseconds**: give a downloaded file this mtime.
    /// `null` when the uploader did not say. Renames, moves, trash and storage
    /// class changes leave it as it is (they change `updated_at`).
    #[serde(default)]
    pub modified_at: Option<i64>,
}

/// A folder or gallery. Folders form a tree per organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Folder {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub settings: FolderSettings,
    pub created_at: i64,
    pub updated_at: i64,
    pub trashed_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FolderSettings {
    /// Days a trashed asset of this folder stays restorable; `None` uses the organization default.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// "Optimize storage": originals may live in Infrequent Access.
    #[serde(default)]
    pub optimize_storage: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateFolderRequest {
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    pub name: String,
    #[serde(default)]
    pub settings: FolderSettings,
}

/// `PATCH /v1/folders/{id}`: any field left out is unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateFolderRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub settings: Option<FolderSettings>,
}

/// `PATCH /v1/assets/{id}`: rename. A rename is metadata only; no bytes move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RenameRequest {
    pub name: String,
}

/// `POST /v1/assets/{id}/move` and `/v1/folders/{id}/move`: `None` is the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MoveRequest {
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

/// One page of the live (untrashed and trashed) assets, ordered by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AssetPage {
    pub assets: Vec<Asset>,
    /// Pass as `after` for the next page; `None` when this was the last page.
    pub next_after: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FolderList {
    pub folders: Vec<Folder>,
}

// ---------------------------------------------------------------- storage classes and downloads

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SetStorageClassRequest {
    pub storage_class: StorageClass,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StorageClassChange {
    pub asset: Asset,
    /// What leaving Infrequent Access before its 30-day minimum still costs.
    pub minimum_duration_charge_usd: f64,
    /// What reading the object out of Infrequent Access costs.
    pub retrieval_cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Download {
    pub url: String,
    pub expires_at: i64,
    pub storage_class: StorageClass,
    pub retrieval_cost_usd: f64,
}

// ---------------------------------------------------------------- journal

/// `GET /v1/changes?cursor=…`: journal entries after the cursor, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// Where to continue; store it only after applying `changes`.
    pub cursor: String,
    pub has_more: bool,
}

/// The latest cursor, for a device that has just listed everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Cursor {
    pub cursor: String,
}

/// One change. Upserts carry the full new state, so applying them is idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    AssetUpserted { at: i64, asset: Asset },
    AssetDeleted { at: i64, asset_id: Uuid },
    FolderUpserted { at: i64, folder: Folder },
    FolderDeleted { at: i64, folder_id: Uuid },
}

// ---------------------------------------------------------------- usage

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Usage {
    pub plan: Plan,
    pub used_bytes: u64,
    /// Held by open reservations (uploads in progress); counted against the cap.
    pub reserved_bytes: u64,
    pub limit_bytes: u64,
    /// `(used_bytes + reserved_bytes) / limit_bytes` in percent: what the cap
    /// check sees, so a new upload fits exactly when this leaves room for it.
    pub percent_used: f64,
    /// Present at 80 % and 95 % of the cap (the higher one wins), counting reserved bytes.
    pub warning: Option<UsageWarning>,
    pub classes: Vec<ClassUsage>,
    /// Bytes in the trash (they still count against the cap until purged).
    pub trash_bytes: u64,
    pub monthly_storage_cost_usd: f64,
    pub top_folders: Vec<FolderUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UsageWarning {
    pub threshold_percent: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClassUsage {
    pub storage_class: StorageClass,
    pub bytes: u64,
    pub object_count: u64,
    pub percent_of_limit: f64,
    pub monthly_cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FolderUsage {
    /// `None` is the organization root.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub folder_id: Option<Uuid>,
    pub name: String,
    /// Bytes of assets directly in this folder (trash excluded).
    pub bytes: u64,
    pub asset_count: u64,
}

// ---------------------------------------------------------------- organization settings

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OrganizationSettings {
    /// How new shoots are placed, outermost level first (e.g. year > client > property type).
    pub organization_rules: Vec<OrganizationLevel>,
    /// Days a trashed asset stays restorable unless its folder says otherwise.
    pub trash_retention_days: u32,
    /// Archive (move to Infrequent Access) folders untouched for this many months; `None` never.
    pub auto_archive_after_months: Option<u32>,
    pub upload_quality: UploadQuality,
    pub auto_save: bool,
}

impl Default for OrganizationSettings {
    fn default() -> Self {
        OrganizationSettings {
            organization_rules: vec![OrganizationLevel::ByDate],
            trash_retention_days: 30,
            auto_archive_after_months: None,
            upload_quality: UploadQuality::Original,
            auto_save: true,
        }
    }
}

/// One level of the folder layout for new shoots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "kind", content = "pattern", rename_all = "snake_case")]
pub enum OrganizationLevel {
    /// `2025 / January / Gallery`
    ByDate,
    /// `January 2025 / Gallery`
    ByMonth,
    /// `Smith, John / Gallery`
    ByClient,
    /// `Downtown / Gallery`
    ByArea,
    /// `Residential / Gallery`
    ByPropertyType,
    /// `Twilight / Gallery`
    ByStyle,
    /// A user pattern such as `{client} - {year}`.
    Custom(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UploadQuality {
    Original,
    High,
    Web,
}

// ---------------------------------------------------------------- admin

/// `POST /admin/v1/organizations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateOrganizationRequest {
    pub name: String,
    #[serde(default = "default_tier")]
    pub tier: Tier,
}

fn default_tier() -> Tier {
    Tier::Free
}

/// `PUT /admin/v1/organizations/{id}/plan`: tier, add-ons (Enterprise only) and an
/// optional limit override in bytes (required for Custom).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SetPlanRequest {
    pub tier: Tier,
    #[serde(default)]
    pub add_ons: Vec<AddOn>,
    #[serde(default)]
    pub limit_override_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub plan: Plan,
    pub limit_override_bytes: Option<u64>,
    pub limit_bytes: u64,
    pub used_bytes: u64,
    pub reserved_bytes: u64,
    pub created_at: i64,
}

/// `POST /admin/v1/organizations/{id}/devices`: issue a device token directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IssueTokenRequest {
    pub device_name: String,
}

/// `POST /admin/v1/maintenance`: what one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MaintenanceReport {
    pub reservations_expired: u64,
    pub bytes_released: u64,
    pub assets_purged: u64,
    /// Moved to Infrequent Access by "Optimize storage" folders or auto-archive.
    pub assets_archived: u64,
    pub journal_entries_compacted: u64,
    /// Objects in the store that no live asset, trashed asset or open
    /// reservation owned (older than the sweep's grace age), removed.
    #[serde(default)]
    pub orphan_objects_removed: u64,
    #[serde(default)]
    pub orphan_bytes_removed: u64,
    /// Multipart uploads no open reservation owned, aborted (with their parts).
    #[serde(default)]
    pub multipart_uploads_aborted: u64,
}

/// `GET /v1/uploads?state=open`: the calling device's open reservations,
/// oldest first (at most 1,000), to resume or cancel after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OpenUploadList {
    pub uploads: Vec<OpenUpload>,
}

/// One open reservation: its bytes count as reserved until it is completed,
/// cancelled or expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OpenUpload {
    pub reservation_id: Uuid,
    pub asset_id: Uuid,
    pub folder_id: Option<Uuid>,
    pub name: String,
    pub size_bytes: u64,
    pub content_sha256: String,
    /// A multipart upload (resumable part by part).
    pub multipart: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_default_limit_is_the_seed_number_in_binary_units() {
        assert_eq!(Tier::Free.limit_bytes(), Some(26_843_545_600));
    }

    #[test]
    fn smallest_plan_walks_the_tiers_then_add_ons() {
        assert_eq!(smallest_plan_for(1).tier, Tier::Free);
        assert_eq!(smallest_plan_for(25 * GIB + 1).tier, Tier::Starter);
        assert_eq!(smallest_plan_for(3 * TIB).tier, Tier::Business);
        assert_eq!(smallest_plan_for(15 * TIB).tier, Tier::Enterprise);
        let plan = smallest_plan_for(24 * TIB);
        assert_eq!(
            plan,
            Plan {
                tier: Tier::Enterprise,
                add_ons: vec![AddOn::Plus10Tb]
            }
        );
        let plan = smallest_plan_for(60 * TIB);
        assert_eq!(
            plan,
            Plan {
                tier: Tier::Enterprise,
                add_ons: vec![AddOn::Plus50Tb]
            }
        );
        assert!(plan.limit_bytes().unwrap() >= 60 * TIB);
        assert_eq!(smallest_plan_for(u64::MAX).tier, Tier::Custom);
    }

    #[test]
    fn tier_spelling_round_trips_and_rejects_unknown() {
        for tier in Tier::PUBLISHED.into_iter().chain([Tier::Custom]) {
            assert_eq!(Tier::parse(tier.as_str()), Some(tier));
            let json = serde_json::to_string(&tier).unwrap();
            assert_eq!(json, format!("\"{}\"", tier.as_str()));
        }
        assert_eq!(Tier::parse("GOLD"), None);
        assert!(serde_json::from_str::<Tier>("\"GOLD\"").is_err());
    }

    proptest::proptest! {
        /// Invariant: the suggested plan always holds what was asked for, and no
        /// cheaper published tier would have (below a petabyte of add-ons).
        #[test]
        fn smallest_plan_holds_the_total(total in 1u64..(1100 * TIB)) {
            let plan = smallest_plan_for(total);
            if plan.tier != Tier::Custom {
                proptest::prop_assert!(plan.limit_bytes().unwrap() >= total);
                let price = plan.monthly_price_cents().unwrap();
                for tier in Tier::PUBLISHED {
                    if tier.limit_bytes().unwrap() >= total {
                        proptest::prop_assert!(tier.monthly_price_cents().unwrap() >= price);
                    }
                }
            }
        }
    }

    #[test]
    fn replaces_is_optional_on_the_wire() {
        let old: ReserveRequest =
            serde_json::from_str(r#"{"size_bytes": 1, "content_sha256": "00", "name": "a.jpg"}"#)
                .unwrap();
        assert_eq!((old.folder_id, &old.replaces), (None, &None));
        let json = serde_json::to_value(&old).unwrap();
        assert!(json.get("replaces").is_none(), "absent, not null: {json}");

        let copy: CopyRequest = serde_json::from_str(
            r#"{"content_sha256": "00", "folder_id": null, "name": "b.jpg",
                "replaces": {"asset_id": "6f1c1a52-8a43-4a8e-9c1e-0d5b3c2a9e11", "content_sha256": "11"}}"#,
        )
        .unwrap();
        let replaces = copy.replaces.expect("replaces");
        assert_eq!(replaces.content_sha256, "11");
        assert_eq!(
            replaces.asset_id.to_string(),
            "6f1c1a52-8a43-4a8e-9c1e-0d5b3c2a9e11"
        );
    }

    #[test]
    fn modified_at_is_optional_both_ways() {
        // Left out of requests when unknown; older clients send none.
        let reserve = ReserveRequest {
            size_bytes: 1,
            content_sha256: "00".into(),
            name: "a.jpg".into(),
            folder_id: None,
            replaces: None,
            modified_at: None,
        };
        let json = serde_json::to_value(&reserve).unwrap();
        assert!(json.get("modified_at").is_none());
        let back: ReserveRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, reserve);
        let with = ReserveRequest {
            modified_at: Some(1_700_000_000_123),
            ..reserve
        };
        let json = serde_json::to_value(&with).unwrap();
        assert_eq!(json["modified_at"], 1_700_000_000_123_i64);
        let copy: CopyRequest =
            serde_json::from_str(r#"{"content_sha256": "00", "name": "b.jpg", "modified_at": 5}"#)
                .unwrap();
        assert_eq!(copy.modified_at, Some(5));
        // An asset from a server that predates the field reads as "unknown".
        let asset: Asset = serde_json::from_str(
            r#"{"id": "6f1c1a52-8a43-4a8e-9c1e-0d5b3c2a9e11", "folder_id": null, "name": "a.jpg",
                "size_bytes": 1, "content_sha256": "00", "storage_class": "STANDARD",
                "created_at": 1, "updated_at": 1, "trashed_at": null}"#,
        )
        .unwrap();
        assert_eq!(asset.modified_at, None);
        // And it is always present (possibly null) in what the server sends.
        let json = serde_json::to_value(&asset).unwrap();
        assert!(json["modified_at"].is_null());
        assert!(json.as_object().unwrap().contains_key("modified_at"));
    }

    #[test]
    fn r2_prices_per_tib_month() {
        assert!((monthly_cost_usd(TIB, StorageClass::Standard) - 15.36).abs() < 1e-9);
        assert!((monthly_cost_usd(TIB, StorageClass::InfrequentAccess) - 10.24).abs() < 1e-9);
        assert!((retrieval_cost_usd(GIB, StorageClass::InfrequentAccess) - 0.01).abs() < 1e-9);
    }
}
