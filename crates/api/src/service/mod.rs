//! The API's behaviour, independent of HTTP: every handler and every admin
//! CLI command is a thin call into [`Api`].
//!
//! Quota invariant: for every organization `used_bytes + reserved_bytes <=
//! limit_bytes` is only ever *established* by one conditional UPDATE (the
//! reservation), and completion moves exactly the reserved size from
//! `reserved_bytes` to `used_bytes` in the same transaction that flips the
//! reservation from `open` to `completed`. Every state change of a
//! reservation is a guarded `UPDATE … WHERE state = 'open'`, so a replayed or
//! racing completion, expiry or cancel can win only once.
//!
//! A copy (`POST /v1/assets/copy`) is a reservation the server fills itself:
//! the same conditional UPDATE holds the bytes, a server-side CopyObject
//! writes the new asset's own object, and the same completion transaction
//! commits it. Every asset keeps its own object, so purging one never touches
//! the bytes of another. A `replaces` precondition is checked when the
//! reservation is made and again inside the completion transaction, which
//! trashes the old version and creates the new one atomically.

use std::sync::Arc;

use base64::Engine as _;
use photopro_wire::{
    monthly_cost_usd, retrieval_cost_usd, smallest_plan_for, AddOn, Asset, AssetPage, Change,
    ChangePage, ClassUsage, CompleteRequest, CopyRequest, CreateFolderRequest,
    CreateOrganizationRequest, Cursor, Device, DeviceToken, Download, Folder, FolderList,
    FolderSettings, FolderUsage, MaintenanceReport, OpenUpload, OpenUploadList, Organization,
    OrganizationLevel, OrganizationSettings, PairDeviceRequest, PairingCode, PartUpload, PartUrls,
    PartUrlsRequest, Plan, QuotaExceeded, Replaces, Reservation, ReserveRequest, SetPlanRequest,
    StorageClass, StorageClassChange, StoredPart, Tier, UpdateFolderRequest, UploadPlan,
    UploadStatus, Usage, UsageWarning, GIB, INFREQUENT_ACCESS_CENTS_PER_TIB_MONTH,
    INFREQUENT_ACCESS_MINIMUM_DAYS, MAX_OBJECT_BYTES, MAX_PARTS, MIN_PART_BYTES, TIB,
};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::auth;
use crate::clock::Clock;
use crate::db::{get_u64, Db, Tx};
use crate::error::{Error, Result};
use crate::names::{name_key, validate_modified_at, validate_name, validate_sha256};
use crate::store::ObjectStore;

mod assets;
mod copies;
mod devices;
mod folders;
mod journal;
mod maintenance;
mod organizations;
mod uploads;
mod usage;

const DAY: i64 = 24 * 3600;

/// Tunables. The defaults are production values; tests shrink some.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a single-part reservation holds its bytes.
    pub reservation_ttl_seconds: i64,
    /// The same for multipart uploads, which can take hours on a slow uplink.
    pub multipart_reservation_ttl_seconds: i64,
    /// How long a presigned upload URL (PUT or part) stays valid, capped by
    /// the reservation's own expiry. Minutes, not hours: a leaked URL is
    /// soon useless; clients renew with `GET /v1/uploads/{id}` or
    /// `POST /v1/uploads/{id}/parts`.
    pub upload_url_ttl_seconds: i64,
    pub download_ttl_seconds: i64,
    pub pairing_code_ttl_seconds: i64,
    /// Uploads larger than this use multipart. Default 16 MiB.
    ///
    /// Why 16 MiB: a single-part PUT cannot resume, so a crash, a kill or a
    /// lost connection sends the whole file again; multipart resumes at the
    /// parts the store lacks. Multipart costs, per file, one CreateMultipart,
    /// one API call and one PUT per part, ListParts and CompleteMultipart at
    /// completion (parts run 4 at once, so the round trips overlap), and
    /// above all a read-back at completion: a multipart object carries no
    /// whole-object SHA-256, so the API streams it back and hashes it (~8 s
    /// per GiB, BENCHMARKS.md), where a single-part PUT is verified by one
    /// HEAD. At 16 MiB JPEGs and HEICs (5–15 MB) stay one PUT and one HEAD,
    /// while RAWs and videos — the files whose restart hurts — resume: at a
    /// 10 Mbit/s studio uplink a crash now costs at most ~13 s of sending
    /// (16 MiB) instead of ~54 s (the old 64 MiB), and the read-back of a
    /// 16 MiB object (~0.13 s) stays small next to sending it. Below ~10 MiB
    /// the extra requests and read-back would tax the most common photo size
    /// to save seconds.
    pub multipart_threshold_bytes: u64,
    /// Smallest part size handed out (never below S3's 5 MiB). Default 8 MiB:
    /// a file just over the threshold is 3 parts, a 50 MB RAW or clip 6, a
    /// 1 GiB video 128 (one part-URL call each, a few ms of API time); a
    /// crash re-sends at most the 4 parts in flight (32 MiB). Larger files
    /// get larger parts to stay within S3's 10,000 ([`part_size_for`]).
    pub min_part_bytes: u64,
    /// Journal entries older than this are compacted; older cursors get "reset".
    pub journal_retention_seconds: i64,
    /// SHA-256 hex of the admin credential; `None` disables the admin API.
    pub admin_token_hash: Option<String>,
    /// Copies up to this size are one CopyObject (S3 and R2 allow 5 GiB);
    /// larger ones are assembled from part copies.
    pub max_single_copy_bytes: u64,
    /// Smallest part of a multipart copy (raised to stay within 10,000 parts).
    pub copy_part_bytes: u64,
    /// Timeouts, connection caps, body limit and rate limits of the HTTP server.
    pub http: crate::limits::HttpSettings,
    /// The orphan sweep lists an organization's objects at most this often.
    pub orphan_sweep_interval_seconds: i64,
    /// Objects and multipart uploads younger than this are never swept, even
    /// when no row owns them (yet).
    pub orphan_grace_seconds: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            reservation_ttl_seconds: 2 * 3600,
            multipart_reservation_ttl_seconds: 24 * 3600,
            upload_url_ttl_seconds: 15 * 60,
            download_ttl_seconds: 15 * 60,
            pairing_code_ttl_seconds: 10 * 60,
            multipart_threshold_bytes: 16 << 20,
            min_part_bytes: 8 << 20,
            journal_retention_seconds: 30 * DAY,
            admin_token_hash: None,
            max_single_copy_bytes: 5 * GIB,
            copy_part_bytes: 512 << 20,
            http: crate::limits::HttpSettings::default(),
            orphan_sweep_interval_seconds: 6 * 3600,
            orphan_grace_seconds: 15 * 60,
        }
    }
}

/// The authenticated caller of a device endpoint.
#[derive(Debug, Clone, Copy)]
pub struct DeviceContext {
    pub organization_id: Uuid,
    pub device_id: Uuid,
}

/// Everything a request needs. Cheap to share behind an `Arc`.
pub struct Api {
    pub db: Db,
    pub store: ObjectStore,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
}

const ASSET_COLUMNS: &str =
    "id, folder_id, name, size_bytes, content_sha256, storage_class, class_changed_at, created_at, updated_at, trashed_at, modified_at";
const FOLDER_COLUMNS: &str =
    "id, parent_id, name, retention_days, optimize_storage, created_at, updated_at, trashed_at";
const RESERVATION_COLUMNS: &str =
    "id, asset_id, object_key, folder_id, name, size_bytes, content_sha256, upload_id, \
     part_size_bytes, state, expires_at, replaces_asset_id, replaces_sha256, check_name, modified_at";
const ORGANIZATION_COLUMNS: &str =
    "id, name, tier, add_ons, limit_override_bytes, limit_bytes, used_bytes, reserved_bytes, created_at";

fn uuid_column(row: &AnyRow, column: &str) -> Result<Uuid> {
    let text: String = row.try_get(column)?;
    Uuid::parse_str(&text).map_err(|e| Error::Internal(format!("bad uuid in {column}: {e}")))
}

fn optional_uuid_column(row: &AnyRow, column: &str) -> Result<Option<Uuid>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        Uuid::parse_str(&text).map_err(|e| Error::Internal(format!("bad uuid in {column}: {e}")))
    })
    .transpose()
}

fn asset_from_row(row: &AnyRow) -> Result<Asset> {
    let class: String = row.try_get("storage_class")?;
    Ok(Asset {
        id: uuid_column(row, "id")?,
        folder_id: optional_uuid_column(row, "folder_id")?,
        name: row.try_get("name")?,
        size_bytes: get_u64(row, "size_bytes")?,
        content_sha256: row.try_get("content_sha256")?,
        storage_class: StorageClass::from_s3(&class)
            .ok_or_else(|| Error::Internal("bad storage class".into()))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        trashed_at: row.try_get("trashed_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

fn folder_from_row(row: &AnyRow) -> Result<Folder> {
    let retention: Option<i64> = row.try_get("retention_days")?;
    let optimize: i64 = row.try_get("optimize_storage")?;
    Ok(Folder {
        id: uuid_column(row, "id")?,
        parent_id: optional_uuid_column(row, "parent_id")?,
        name: row.try_get("name")?,
        settings: FolderSettings {
            retention_days: retention.map(|days| days as u32),
            optimize_storage: optimize != 0,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        trashed_at: row.try_get("trashed_at")?,
    })
}

fn organization_from_row(row: &AnyRow) -> Result<Organization> {
    let tier: String = row.try_get("tier")?;
    let add_ons: String = row.try_get("add_ons")?;
    let limit_override: Option<i64> = row.try_get("limit_override_bytes")?;
    Ok(Organization {
        id: uuid_column(row, "id")?,
        name: row.try_get("name")?,
        plan: Plan {
            tier: Tier::parse(&tier).ok_or_else(|| Error::Internal("bad tier".into()))?,
            add_ons: serde_json::from_str(&add_ons).map_err(|e| Error::Internal(e.to_string()))?,
        },
        limit_override_bytes: limit_override.map(|bytes| bytes as u64),
        limit_bytes: get_u64(row, "limit_bytes")?,
        used_bytes: get_u64(row, "used_bytes")?,
        reserved_bytes: get_u64(row, "reserved_bytes")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Parses an ID from a URL. A malformed ID is "not found": it names nothing.
pub fn parse_id(text: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| Error::NotFound(what))
}

fn object_key(organization_id: Uuid, asset_id: Uuid) -> String {
    // Keys carry only IDs: a rename or move never touches the object, and a
    // key can never be steered by user input.
    format!("org/{organization_id}/obj/{asset_id}")
}

/// Change cursors are opaque and bound to their organization:
/// `v2.<seq>.<mac>`, where `mac` is the first 16 bytes (hex) of
/// HMAC-SHA256(key, "photopro-cursor:v2:<organization id>:<seq>"). The key is
/// 32 random bytes kept in the database (`server_secrets.cursor_key`), made by
/// the first instance that needs it, so every instance on one database
/// accepts the others' cursors. Another organization's cursor, an altered one
/// and the unsigned `v1.` form are refused with `cursor_reset` (410): the
/// device lists everything again rather than silently skipping entries.
fn encode_cursor(key: &[u8; 32], organization_id: Uuid, seq: i64) -> String {
    format!("v2.{seq}.{}", cursor_mac(key, organization_id, seq))
}

fn decode_cursor(key: &[u8; 32], organization_id: Uuid, cursor: &str) -> Result<i64> {
    let (seq, mac) = cursor
        .strip_prefix("v2.")
        .and_then(|rest| rest.split_once('.'))
        .ok_or(Error::CursorReset)?;
    let seq = seq
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or(Error::CursorReset)?;
    let expected = cursor_mac(key, organization_id, seq);
    // Constant-time comparison: the MAC must not be guessable byte by byte.
    let same = mac.len() == expected.len()
        && mac
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    if !same {
        return Err(Error::CursorReset);
    }
    Ok(seq)
}

fn cursor_mac(key: &[u8; 32], organization_id: Uuid, seq: i64) -> String {
    let message = format!("photopro-cursor:v2:{organization_id}:{seq}");
    hex::encode(&hmac_sha256(key, message.as_bytes())[..16])
}

/// HMAC-SHA256 (RFC 2104) for a 32-byte key.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (index, byte) in key.iter().enumerate() {
        inner_pad[index] ^= byte;
        outer_pad[index] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

impl Api {
    /// The deployment's cursor key (see [`encode_cursor`]), created on first use.
    async fn cursor_key(&self) -> Result<[u8; 32]> {
        let read = || {
            sqlx::query_scalar::<_, String>(
                "SELECT value FROM server_secrets WHERE name = 'cursor_key'",
            )
            .fetch_optional(&self.db.pool)
        };
        let stored = match read().await? {
            Some(value) => value,
            None => {
                let mut fresh = [0u8; 32];
                getrandom::fill(&mut fresh).map_err(|e| {
                    Error::Internal(format!("no randomness for the cursor key: {e}"))
                })?;
                // Several instances may race here: the first insert wins and
                // everyone reads the winner's key.
                sqlx::query(
                    "INSERT INTO server_secrets (name, value, created_at) VALUES ('cursor_key', $1, $2) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(hex::encode(fresh))
                .bind(self.now())
                .execute(&self.db.pool)
                .await?;
                read()
                    .await?
                    .ok_or_else(|| Error::Internal("the cursor key vanished".into()))?
            }
        };
        let bytes = hex::decode(&stored)
            .ok()
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| {
                Error::Internal("server_secrets.cursor_key is not 32 bytes of hex".into())
            })?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(key)
    }
}

/// Appends one change to the organization's journal inside `tx`.
///
/// The sequence number comes from the organization row, whose row lock is
/// held until commit, so an organization's entries commit in sequence order
/// and a reader can never see entry n+1 before entry n (a global sequence
/// would allow that on PostgreSQL and make devices skip changes).
async fn append_change(
    tx: &mut Tx,
    organization_id: Uuid,
    now: i64,
    change: &Change,
) -> Result<i64> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE organizations SET journal_head = journal_head + 1 WHERE id = $1 RETURNING journal_head",
    )
    .bind(organization_id.to_string())
    .fetch_one(&mut **tx)
    .await?;
    insert_change(tx, organization_id, seq, now, change).await
}

/// Appends `change` to the organization's journal and commits `tx`: the one
/// way a mutation and its journal entry become visible together.
async fn commit_with_change(
    mut tx: Tx,
    organization_id: Uuid,
    now: i64,
    change: &Change,
) -> Result<i64> {
    let seq = append_change(&mut tx, organization_id, now, change).await?;
    tx.commit().await?;
    Ok(seq)
}

/// Writes journal entry `seq`, already taken from the organization row by the caller.
async fn insert_change(
    tx: &mut Tx,
    organization_id: Uuid,
    seq: i64,
    now: i64,
    change: &Change,
) -> Result<i64> {
    let body = serde_json::to_string(change).map_err(|e| Error::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO journal (organization_id, seq, created_at, body) VALUES ($1, $2, $3, $4)",
    )
    .bind(organization_id.to_string())
    .bind(seq)
    .bind(now)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(seq)
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Whether a live asset (other than `except`) or a live folder of the
/// organization already has this sibling name in `folder_id` (`None`: the
/// root). Files and folders share one namespace, case- and width-insensitive.
async fn name_taken<'e, E>(
    executor: E,
    organization_id: Uuid,
    folder_id: Option<Uuid>,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let taken: Option<String> = sqlx::query_scalar(
        "SELECT id FROM assets WHERE organization_id = $1 AND COALESCE(folder_id, '') = $2 AND name_key = $3 \
         AND trashed_at IS NULL AND id <> $4 \
         UNION ALL SELECT id FROM folders WHERE organization_id = $1 AND COALESCE(parent_id, '') = $2 \
         AND name_key = $3 AND trashed_at IS NULL LIMIT 1",
    )
    .bind(organization_id.to_string())
    .bind(folder_id.map(|id| id.to_string()).unwrap_or_default())
    .bind(name_key(name))
    .bind(except.map(|id| id.to_string()).unwrap_or_default())
    .fetch_optional(executor)
    .await?;
    Ok(taken.is_some())
}

fn replaced_changed_error() -> Error {
    Error::PreconditionFailed(
        "the asset to replace is no longer live with the expected content (changed, trashed or deleted)".into(),
    )
}

fn folder_trashed_error(folder_id: Uuid) -> Error {
    Error::Conflict(format!(
        "the destination folder {folder_id} was moved to the trash while this file was uploading, so the \
         upload was not kept and its space is free again; restore the folder (POST /v1/folders/{folder_id}/restore) \
         and upload the file again, or upload it to another folder"
    ))
}

fn name_taken_error() -> Error {
    Error::Conflict("an asset or folder with this name already exists here".into())
}

fn validate_settings(settings: &OrganizationSettings) -> Result<()> {
    if settings.organization_rules.len() > 6 {
        return Err(Error::bad_request("at most 6 organization levels"));
    }
    for level in &settings.organization_rules {
        if let OrganizationLevel::Custom(pattern) = level {
            if pattern.trim().is_empty()
                || pattern.len() > 200
                || pattern.chars().any(|c| c.is_control())
            {
                return Err(Error::bad_request(
                    "a custom level needs a pattern of 1-200 printable characters",
                ));
            }
        }
    }
    if !(1..=3650).contains(&settings.trash_retention_days) {
        return Err(Error::bad_request(
            "trash_retention_days must be between 1 and 3650",
        ));
    }
    if settings
        .auto_archive_after_months
        .is_some_and(|months| !(1..=120).contains(&months))
    {
        return Err(Error::bad_request(
            "auto_archive_after_months must be between 1 and 120",
        ));
    }
    Ok(())
}

fn validate_folder_settings(settings: &FolderSettings) -> Result<()> {
    if settings
        .retention_days
        .is_some_and(|days| !(1..=3650).contains(&days))
    {
        return Err(Error::bad_request(
            "retention_days must be between 1 and 3650",
        ));
    }
    Ok(())
}

enum AssetUpdate {
    None,
    Rename(String),
    OptionalText(Option<String>),
}

enum FolderUpdate {
    Rename(String),
    Settings(FolderSettings),
    Move(Option<Uuid>),
}

/// A reservation row.
struct OpenReservation {
    id: Uuid,
    asset_id: Uuid,
    object_key: String,
    folder_id: Option<Uuid>,
    name: String,
    size: u64,
    content_sha256: String,
    upload_id: Option<String>,
    part_size: Option<u64>,
    state: String,
    expires_at: i64,
    /// The asset this one replaces and the content it must still have.
    replaces: Option<(Uuid, String)>,
    /// Whether completion must find the name free (copies and replacements).
    check_name: bool,
    /// The file's modification time (Unix milliseconds) the asset gets.
    modified_at: Option<i64>,
}

/// An object holding some content, found by hash for a copy.
struct StoredContent {
    object_key: String,
    size: u64,
}

/// What a new reservation (upload or copy) is for.
struct NewReservation {
    folder_id: Option<Uuid>,
    name: String,
    size: u64,
    content_sha256: String,
    replaces: Option<(Uuid, String)>,
    check_name: bool,
    modified_at: Option<i64>,
}

impl OpenReservation {
    fn from_row(row: &AnyRow) -> Result<OpenReservation> {
        let part_size: Option<i64> = row.try_get("part_size_bytes")?;
        let replaces_sha256: Option<String> = row.try_get("replaces_sha256")?;
        let replaces = optional_uuid_column(row, "replaces_asset_id")?.zip(replaces_sha256);
        Ok(OpenReservation {
            id: uuid_column(row, "id")?,
            asset_id: uuid_column(row, "asset_id")?,
            object_key: row.try_get("object_key")?,
            folder_id: optional_uuid_column(row, "folder_id")?,
            name: row.try_get("name")?,
            size: get_u64(row, "size_bytes")?,
            content_sha256: row.try_get("content_sha256")?,
            upload_id: row.try_get("upload_id")?,
            part_size: part_size.map(|bytes| bytes as u64),
            state: row.try_get("state")?,
            expires_at: row.try_get("expires_at")?,
            replaces,
            check_name: row.try_get::<i64, _>("check_name")? != 0,
            modified_at: row.try_get("modified_at")?,
        })
    }
}

/// Bytes for people, in binary units ("25 GiB", "1.5 TiB", "900 KiB"): the
/// one convention, [`photopro_wire::units::format_bytes`].
pub fn human_bytes(bytes: u64) -> String {
    photopro_wire::units::format_bytes(bytes)
}

/// The part size for a multipart upload: at least `min_part` (and S3's 5 MiB),
/// large enough to stay within 10,000 parts, rounded up to a whole MiB.
pub fn part_size_for(size: u64, min_part: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS).max(min_part).max(MIN_PART_BYTES);
    needed.div_ceil(1 << 20) * (1 << 20)
}

/// All add-ons, for the price list.
pub fn price_list() -> photopro_wire::PriceList {
    photopro_wire::PriceList {
        tiers: Tier::PUBLISHED
            .into_iter()
            .map(|tier| photopro_wire::TierPrice {
                tier,
                limit_bytes: tier.limit_bytes().unwrap_or(0),
                monthly_price_cents: tier.monthly_price_cents().unwrap_or(0),
            })
            .collect(),
        add_ons: AddOn::ALL
            .into_iter()
            .map(|add_on| photopro_wire::AddOnPrice {
                add_on,
                extra_bytes: add_on.extra_bytes(),
                monthly_price_cents: add_on.monthly_price_cents(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Invariant: every multipart plan respects S3's limits (parts of at
        /// least 5 MiB, at most 10,000 of them) for every accepted size.
        #[test]
        fn part_sizes_respect_s3_limits(size in MIN_PART_BYTES..=MAX_OBJECT_BYTES, min_part in 0u64..(64 << 20)) {
            let part = part_size_for(size, min_part);
            proptest::prop_assert!(part >= MIN_PART_BYTES);
            proptest::prop_assert!(size.div_ceil(part) <= MAX_PARTS);
        }
    }

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(26_843_545_600), "25 GiB");
        assert_eq!(human_bytes(3 * TIB / 2), "1.5 TiB");
        assert_eq!(human_bytes(10_000), "9.8 KiB");
        assert_eq!(human_bytes(12), "12 B");
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = [7u8; 32];
        let org = Uuid::new_v4();
        assert_eq!(
            decode_cursor(&key, org, &encode_cursor(&key, org, 42)).unwrap(),
            42
        );
        let other_org = encode_cursor(&key, Uuid::new_v4(), 42);
        let other_key = encode_cursor(&[8u8; 32], org, 42);
        let forged = encode_cursor(&key, org, 42).replacen("v2.42.", "v2.41.", 1);
        for bad in [
            "", "42", "v1.", "v1.-3", "v1.x", "v1.42", "v2.1", "v2.-1.00", &other_org, &other_key,
            &forged,
        ] {
            assert!(
                matches!(decode_cursor(&key, org, bad), Err(Error::CursorReset)),
                "{bad}"
            );
        }
    }

    #[test]
    fn hmac_matches_an_independent_implementation() {
        // Python's hmac:
        // hmac.new(bytes(range(32)), b"abc", "sha256").hexdigest()
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"abc")),
            "f0133729c4163dede81e21cd47839256da58171238c8a0d874397c73b14e1e47"
        );
    }
}
