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
    FolderSettings, FolderUsage, MaintenanceReport, Organization, OrganizationLevel,
    OrganizationSettings, PairDeviceRequest, PairingCode, PartUpload, Plan, QuotaExceeded,
    Replaces, Reservation, ReserveRequest, SetPlanRequest, StorageClass, StorageClassChange,
    StoredPart, Tier, UpdateFolderRequest, UploadPlan, UploadStatus, Usage, UsageWarning, GIB,
    INFREQUENT_ACCESS_CENTS_PER_TIB_MONTH, INFREQUENT_ACCESS_MINIMUM_DAYS, MAX_OBJECT_BYTES,
    MAX_PARTS, MIN_PART_BYTES, TIB,
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

const DAY: i64 = 24 * 3600;

/// Tunables. The defaults are production values; tests shrink some.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a single-part reservation (and its presigned URL) stays valid.
    pub reservation_ttl_seconds: i64,
    /// The same for multipart uploads, which can take hours on a slow uplink.
    pub multipart_reservation_ttl_seconds: i64,
    pub download_ttl_seconds: i64,
    pub pairing_code_ttl_seconds: i64,
    /// Uploads larger than this use multipart.
    pub multipart_threshold_bytes: u64,
    /// Smallest part size handed out (never below S3's 5 MiB).
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
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            reservation_ttl_seconds: 2 * 3600,
            multipart_reservation_ttl_seconds: 24 * 3600,
            download_ttl_seconds: 15 * 60,
            pairing_code_ttl_seconds: 10 * 60,
            multipart_threshold_bytes: 64 << 20,
            min_part_bytes: 16 << 20,
            journal_retention_seconds: 30 * DAY,
            admin_token_hash: None,
            max_single_copy_bytes: 5 * GIB,
            copy_part_bytes: 512 << 20,
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

fn encode_cursor(seq: i64) -> String {
    format!("v1.{seq}")
}

fn decode_cursor(cursor: &str) -> Result<i64> {
    cursor
        .strip_prefix("v1.")
        .and_then(|seq| seq.parse::<i64>().ok())
        .filter(|seq| *seq >= 0)
        .ok_or(Error::CursorReset)
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

impl Api {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    // ------------------------------------------------------------ organizations (admin)

    pub async fn create_organization(
        &self,
        request: &CreateOrganizationRequest,
    ) -> Result<Organization> {
        let name = validate_name(&request.name)?;
        let limit = request.tier.limit_bytes().ok_or_else(|| {
            Error::bad_request(
                "a CUSTOM organization is created on a tier, then given a limit override",
            )
        })?;
        let id = Uuid::new_v4();
        let now = self.now();
        let settings =
            serde_json::to_string(&OrganizationSettings::default()).expect("settings serialize");
        sqlx::query(
            "INSERT INTO organizations (id, name, tier, add_ons, limit_bytes, settings, created_at) \
             VALUES ($1, $2, $3, '[]', $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(request.tier.as_str())
        .bind(limit as i64)
        .bind(settings)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        self.organization(id).await
    }

    pub async fn organization(&self, id: Uuid) -> Result<Organization> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(Error::NotFound("organization"))?;
        organization_from_row(&row)
    }

    pub async fn list_organizations(&self) -> Result<Vec<Organization>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ORGANIZATION_COLUMNS} FROM organizations ORDER BY created_at, id"
        )))
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(organization_from_row).collect()
    }

    /// Sets tier, add-ons and the admin override. Lowering the limit below
    /// current usage is allowed (nothing is deleted); new uploads then fail.
    pub async fn set_plan(&self, id: Uuid, request: &SetPlanRequest) -> Result<Organization> {
        if !request.add_ons.is_empty() && request.tier != Tier::Enterprise {
            return Err(Error::bad_request(
                "add-ons are sold on top of ENTERPRISE only",
            ));
        }
        if request.add_ons.len() > 100 {
            return Err(Error::bad_request("too many add-ons"));
        }
        if request
            .limit_override_bytes
            .is_some_and(|bytes| bytes > 1 << 60)
        {
            return Err(Error::bad_request("limit_override_bytes is absurdly large"));
        }
        let plan = Plan {
            tier: request.tier,
            add_ons: request.add_ons.clone(),
        };
        let limit = match (request.limit_override_bytes, plan.limit_bytes()) {
            (Some(bytes), _) => bytes,
            (None, Some(bytes)) => bytes,
            (None, None) => {
                return Err(Error::bad_request(
                    "a CUSTOM tier needs limit_override_bytes",
                ))
            }
        };
        let result = sqlx::query(
            "UPDATE organizations SET tier = $2, add_ons = $3, limit_override_bytes = $4, limit_bytes = $5 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(request.tier.as_str())
        .bind(serde_json::to_string(&request.add_ons).expect("add-ons serialize"))
        .bind(request.limit_override_bytes.map(|bytes| bytes as i64))
        .bind(limit as i64)
        .execute(&self.db.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(Error::NotFound("organization"));
        }
        self.organization(id).await
    }

    // ------------------------------------------------------------ devices and pairing

    /// Issues a device token directly (admin CLI / admin API).
    pub async fn issue_device_token(
        &self,
        organization_id: Uuid,
        device_name: &str,
    ) -> Result<DeviceToken> {
        let name = validate_name(device_name)?;
        self.organization(organization_id).await?;
        let mut tx = self.db.begin().await?;
        let token = self.insert_device(&mut tx, organization_id, &name).await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn insert_device(
        &self,
        tx: &mut Tx,
        organization_id: Uuid,
        name: &str,
    ) -> Result<DeviceToken> {
        let device_id = Uuid::new_v4();
        let token = auth::new_device_token()?;
        sqlx::query("INSERT INTO devices (id, organization_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(device_id.to_string())
            .bind(organization_id.to_string())
            .bind(name)
            .bind(auth::hash_secret(&token))
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        Ok(DeviceToken {
            organization_id,
            device_id,
            token,
        })
    }

    /// Resolves a bearer token to its device. Revoked and unknown tokens look the same.
    pub async fn authenticate(&self, token: &str) -> Result<DeviceContext> {
        if !token.starts_with(auth::DEVICE_TOKEN_PREFIX) {
            return Err(Error::Unauthorized);
        }
        let row = sqlx::query("SELECT id, organization_id, last_seen_at FROM devices WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(auth::hash_secret(token))
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(Error::Unauthorized)?;
        let context = DeviceContext {
            device_id: uuid_column(&row, "id")?,
            organization_id: uuid_column(&row, "organization_id")?,
        };
        // "Last seen" is for humans: refresh it at most every five minutes so
        // authentication stays a read on the hot path.
        let last_seen: Option<i64> = row.try_get("last_seen_at")?;
        let now = self.now();
        if last_seen.is_none_or(|seen| now - seen >= 300) {
            sqlx::query("UPDATE devices SET last_seen_at = $2 WHERE id = $1")
                .bind(context.device_id.to_string())
                .bind(now)
                .execute(&self.db.pool)
                .await?;
        }
        Ok(context)
    }

    pub fn check_admin(&self, token: &str) -> Result<()> {
        match &self.settings.admin_token_hash {
            Some(expected) if auth::hashes_equal(expected, &auth::hash_secret(token)) => Ok(()),
            _ => Err(Error::Unauthorized),
        }
    }

    pub async fn create_pairing_code(&self, organization_id: Uuid) -> Result<PairingCode> {
        let code = auth::new_pairing_code()?;
        let now = self.now();
        let expires_at = now + self.settings.pairing_code_ttl_seconds;
        sqlx::query("INSERT INTO pairing_codes (code_hash, organization_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(auth::hash_secret(&auth::normalize_pairing_code(&code)))
            .bind(organization_id.to_string())
            .bind(now)
            .bind(expires_at)
            .execute(&self.db.pool)
            .await?;
        Ok(PairingCode {
            pairing_code: code,
            expires_at,
        })
    }

    /// Trades a pairing code for a device token; the code is spent atomically.
    pub async fn pair_device(&self, request: &PairDeviceRequest) -> Result<DeviceToken> {
        let name = validate_name(&request.device_name)?;
        let code_hash = auth::hash_secret(&auth::normalize_pairing_code(&request.pairing_code));
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let organization: Option<String> = sqlx::query_scalar(
            "UPDATE pairing_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING organization_id",
        )
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let organization_id = parse_id(&organization.ok_or(Error::Unauthorized)?, "organization")?;
        let token = self.insert_device(&mut tx, organization_id, &name).await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn list_devices(&self, ctx: &DeviceContext) -> Result<Vec<Device>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_seen_at, revoked_at FROM devices WHERE organization_id = $1 ORDER BY created_at, id",
        )
        .bind(ctx.organization_id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Device {
                    id: uuid_column(row, "id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes a device of the caller's organization (a device may revoke itself).
    pub async fn revoke_device(
        &self,
        organization_id: Option<Uuid>,
        device_id: Uuid,
    ) -> Result<()> {
        let result = match organization_id {
            Some(organization_id) => {
                sqlx::query("UPDATE devices SET revoked_at = $3 WHERE id = $1 AND organization_id = $2 AND revoked_at IS NULL")
                    .bind(device_id.to_string())
                    .bind(organization_id.to_string())
                    .bind(self.now())
                    .execute(&self.db.pool)
                    .await?
            }
            None => {
                sqlx::query("UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(device_id.to_string())
                    .bind(self.now())
                    .execute(&self.db.pool)
                    .await?
            }
        };
        if result.rows_affected() == 0 {
            return Err(Error::NotFound("device"));
        }
        Ok(())
    }

    // ------------------------------------------------------------ uploads

    /// Reserves room for an upload and returns presigned URLs for exactly one key.
    pub async fn reserve(
        &self,
        ctx: &DeviceContext,
        request: &ReserveRequest,
    ) -> Result<Reservation> {
        let size = request.size_bytes;
        if size == 0 {
            return Err(Error::bad_request("size_bytes must be at least 1"));
        }
        if size > MAX_OBJECT_BYTES {
            return Err(Error::bad_request(
                "size_bytes exceeds the 5 TiB object limit",
            ));
        }
        let sha256 = validate_sha256(&request.content_sha256)?;
        let name = validate_name(&request.name)?;
        let modified_at = validate_modified_at(request.modified_at)?;
        // Plain uploads have never checked names, and clients rely on it
        // (upload the new version, then trash the old one); a replacement
        // checks, so that it is the replaced asset's name it takes.
        let check_name = request.replaces.is_some();
        let replaces = self
            .check_target(
                ctx.organization_id,
                request.folder_id,
                &name,
                request.replaces.as_ref(),
                check_name,
            )
            .await?;
        let now = self.now();
        let reservation = self
            .hold(
                ctx,
                NewReservation {
                    folder_id: request.folder_id,
                    name,
                    size,
                    content_sha256: request.content_sha256.clone(),
                    replaces,
                    check_name,
                    modified_at,
                },
                now,
            )
            .await?;

        // Talk to the store only after the bytes are held; if that fails, give them back.
        match self
            .plan_upload(
                reservation.id,
                &reservation.object_key,
                size,
                &sha256,
                now,
                reservation.expires_at - now,
            )
            .await
        {
            Ok(upload) => Ok(Reservation {
                reservation_id: reservation.id,
                asset_id: reservation.asset_id,
                size_bytes: size,
                expires_at: reservation.expires_at,
                upload,
            }),
            Err(error) => {
                let _ = self
                    .release(ctx.organization_id, reservation.id, "released")
                    .await;
                Err(error)
            }
        }
    }

    /// Checks where a new asset is to go, before any bytes are held: the
    /// folder is live, the version it replaces (if any) is live with the
    /// expected content, and (if `check_name`) the name is free, the replaced
    /// asset's own name counting as free. The completion transaction checks
    /// the last two again.
    async fn check_target(
        &self,
        organization_id: Uuid,
        folder_id: Option<Uuid>,
        name: &str,
        replaces: Option<&Replaces>,
        check_name: bool,
    ) -> Result<Option<(Uuid, String)>> {
        if let Some(folder_id) = folder_id {
            self.live_folder(organization_id, folder_id).await?;
        }
        let replaces = match replaces {
            Some(replaces) => {
                validate_sha256(&replaces.content_sha256)?;
                // Missing, another organization's, trashed or changed: one
                // answer, so a foreign ID reveals nothing.
                let current: Option<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT content_sha256, trashed_at FROM assets WHERE id = $1 AND organization_id = $2",
                )
                .bind(replaces.asset_id.to_string())
                .bind(organization_id.to_string())
                .fetch_optional(&self.db.pool)
                .await?;
                if !matches!(&current, Some((sha256, None)) if *sha256 == replaces.content_sha256) {
                    return Err(replaced_changed_error());
                }
                Some((replaces.asset_id, replaces.content_sha256.clone()))
            }
            None => None,
        };
        if check_name
            && name_taken(
                &self.db.pool,
                organization_id,
                folder_id,
                name,
                replaces.as_ref().map(|(id, _)| *id),
            )
            .await?
        {
            return Err(name_taken_error());
        }
        Ok(replaces)
    }

    /// Records an open reservation and holds its bytes under the cap, in one
    /// transaction; nothing is held if the cap refuses.
    async fn hold(
        &self,
        ctx: &DeviceContext,
        new: NewReservation,
        now: i64,
    ) -> Result<OpenReservation> {
        let reservation_id = Uuid::new_v4();
        let asset_id = Uuid::new_v4();
        let key = object_key(ctx.organization_id, asset_id);
        let ttl = if new.size > self.settings.multipart_threshold_bytes {
            self.settings.multipart_reservation_ttl_seconds
        } else {
            self.settings.reservation_ttl_seconds
        };
        let expires_at = now + ttl;
        let size = new.size;

        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO reservations (id, organization_id, device_id, asset_id, object_key, folder_id, name, size_bytes, \
             content_sha256, state, created_at, expires_at, replaces_asset_id, replaces_sha256, check_name, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13, $14, $15)",
        )
        .bind(reservation_id.to_string())
        .bind(ctx.organization_id.to_string())
        .bind(ctx.device_id.to_string())
        .bind(asset_id.to_string())
        .bind(&key)
        .bind(new.folder_id.map(|id| id.to_string()))
        .bind(&new.name)
        .bind(size as i64)
        .bind(&new.content_sha256)
        .bind(now)
        .bind(expires_at)
        .bind(new.replaces.as_ref().map(|(id, _)| id.to_string()))
        .bind(new.replaces.as_ref().map(|(_, sha256)| sha256.clone()))
        .bind(new.check_name as i64)
        .bind(new.modified_at)
        .execute(&mut *tx)
        .await?;
        // The whole cap check is this one statement: atomic on both backends
        // (PostgreSQL re-evaluates the WHERE after waiting for the row lock).
        // It runs last so the organization row stays locked only until commit.
        let granted = sqlx::query(
            "UPDATE organizations SET reserved_bytes = reserved_bytes + $2 \
             WHERE id = $1 AND used_bytes + reserved_bytes + $2 <= limit_bytes",
        )
        .bind(ctx.organization_id.to_string())
        .bind(size as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !granted {
            tx.rollback().await?;
            let row = sqlx::query(
                "SELECT used_bytes, reserved_bytes, limit_bytes FROM organizations WHERE id = $1",
            )
            .bind(ctx.organization_id.to_string())
            .fetch_one(&self.db.pool)
            .await?;
            let used = get_u64(&row, "used_bytes")?;
            let reserved = get_u64(&row, "reserved_bytes")?;
            return Err(Error::QuotaExceeded(Box::new(QuotaExceeded {
                used_bytes: used,
                reserved_bytes: reserved,
                limit_bytes: get_u64(&row, "limit_bytes")?,
                needed_bytes: size,
                suggested_plan: smallest_plan_for(
                    used.saturating_add(reserved).saturating_add(size),
                ),
            })));
        }
        tx.commit().await?;
        Ok(OpenReservation {
            id: reservation_id,
            asset_id,
            object_key: key,
            folder_id: new.folder_id,
            name: new.name,
            size,
            content_sha256: new.content_sha256,
            upload_id: None,
            part_size: None,
            state: "open".into(),
            expires_at,
            replaces: new.replaces,
            check_name: new.check_name,
            modified_at: new.modified_at,
        })
    }

    async fn plan_upload(
        &self,
        reservation_id: Uuid,
        key: &str,
        size: u64,
        sha256: &[u8; 32],
        now: i64,
        ttl: i64,
    ) -> Result<UploadPlan> {
        if size <= self.settings.multipart_threshold_bytes {
            let presigned = self.store.presign_put(key, size, sha256, now, ttl).await?;
            return Ok(UploadPlan::Single {
                url: presigned.url,
                headers: presigned.headers,
            });
        }
        let part_size = part_size_for(size, self.settings.min_part_bytes);
        let upload_id = self.store.create_multipart(key).await?;
        sqlx::query("UPDATE reservations SET upload_id = $2, part_size_bytes = $3 WHERE id = $1")
            .bind(reservation_id.to_string())
            .bind(&upload_id)
            .bind(part_size as i64)
            .execute(&self.db.pool)
            .await?;
        self.presign_parts(key, &upload_id, size, part_size, now, ttl)
            .await
    }

    async fn presign_parts(
        &self,
        key: &str,
        upload_id: &str,
        size: u64,
        part_size: u64,
        now: i64,
        ttl: i64,
    ) -> Result<UploadPlan> {
        let part_count = size.div_ceil(part_size);
        let mut parts = Vec::with_capacity(part_count as usize);
        for index in 0..part_count {
            let part_number = index as u32 + 1;
            let part_bytes = part_size.min(size - index * part_size);
            let presigned = self
                .store
                .presign_part(key, upload_id, part_number, part_bytes, now, ttl)
                .await?;
            parts.push(PartUpload {
                part_number,
                size_bytes: part_bytes,
                url: presigned.url,
            });
        }
        Ok(UploadPlan::Multipart {
            part_size_bytes: part_size,
            parts,
        })
    }

    /// Moves an open reservation to `state` and gives its bytes back. Returns
    /// whether this call did it (false if something else settled it first).
    async fn release(
        &self,
        organization_id: Uuid,
        reservation_id: Uuid,
        state: &str,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let size: Option<i64> = sqlx::query_scalar(
            "UPDATE reservations SET state = $3 WHERE id = $1 AND organization_id = $2 AND state = 'open' RETURNING size_bytes",
        )
        .bind(reservation_id.to_string())
        .bind(organization_id.to_string())
        .bind(state)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(size) = size else {
            tx.rollback().await?;
            return Ok(false);
        };
        sqlx::query("UPDATE organizations SET reserved_bytes = reserved_bytes - $2 WHERE id = $1")
            .bind(organization_id.to_string())
            .bind(size)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Releases a reservation and cleans the store of whatever was uploaded.
    async fn release_and_clean(
        &self,
        organization_id: Uuid,
        reservation: &OpenReservation,
        state: &str,
    ) -> Result<bool> {
        let released = self.release(organization_id, reservation.id, state).await?;
        if released {
            if let Some(upload_id) = &reservation.upload_id {
                self.store
                    .abort_multipart(&reservation.object_key, upload_id)
                    .await?;
            }
            self.store.delete(&reservation.object_key).await?;
        }
        Ok(released)
    }

    async fn load_reservation(
        &self,
        organization_id: Uuid,
        reservation_id: Uuid,
    ) -> Result<OpenReservation> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = $1 AND organization_id = $2"
        )))
        .bind(reservation_id.to_string())
        .bind(organization_id.to_string())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(Error::NotFound("reservation"))?;
        OpenReservation::from_row(&row)
    }

    /// Verifies the uploaded object and commits its bytes to usage.
    ///
    /// Safe to retry: a replay of a completed reservation returns the same
    /// asset and never counts the bytes twice.
    pub async fn complete(
        &self,
        ctx: &DeviceContext,
        reservation_id: Uuid,
        request: &CompleteRequest,
    ) -> Result<Asset> {
        let reservation = self
            .load_reservation(ctx.organization_id, reservation_id)
            .await?;
        match reservation.state.as_str() {
            "open" => {}
            "completed" => return self.completed_asset(ctx, reservation.asset_id).await,
            _ => return Err(Error::ReservationExpired),
        }
        let now = self.now();
        if reservation.expires_at <= now {
            self.release_and_clean(ctx.organization_id, &reservation, "expired")
                .await?;
            return Err(Error::ReservationExpired);
        }

        if let Some(upload_id) = &reservation.upload_id {
            let part_size = reservation.part_size.unwrap_or(MIN_PART_BYTES);
            let expected_parts = reservation.size.div_ceil(part_size);
            let numbers_ok = request.parts.len() as u64 == expected_parts
                && request
                    .parts
                    .iter()
                    .enumerate()
                    .all(|(index, part)| part.part_number as usize == index + 1)
                && request
                    .parts
                    .iter()
                    .all(|part| !part.etag.is_empty() && part.etag.len() <= 200);
            if !numbers_ok {
                return Err(Error::bad_request(format!(
                    "list all {expected_parts} parts in order with their ETags"
                )));
            }
            let parts: Vec<(u32, String)> = request
                .parts
                .iter()
                .map(|part| (part.part_number, part.etag.clone()))
                .collect();
            if let Err(error) = self
                .store
                .complete_multipart(&reservation.object_key, upload_id, &parts)
                .await
            {
                // A retry after a crash finds the upload already assembled.
                // Otherwise the reservation stays open: the client can fix its
                // part list (or upload a missing part) and complete again.
                let assembled = self
                    .store
                    .head(&reservation.object_key)
                    .await?
                    .is_some_and(|head| head.size_bytes == reservation.size);
                if !assembled {
                    return Err(error);
                }
            }
        } else if !request.parts.is_empty() {
            return Err(Error::bad_request(
                "a single-part upload has no parts to list",
            ));
        }

        let head = self
            .store
            .head(&reservation.object_key)
            .await?
            .ok_or(Error::ObjectMissing)?;
        let expected_checksum = hex::decode(&reservation.content_sha256)
            .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
            .unwrap_or_default();
        let mismatch = if head.size_bytes != reservation.size {
            Some(format!(
                "expected {} bytes, found {}",
                reservation.size, head.size_bytes
            ))
        } else if reservation.upload_id.is_none()
            && head
                .checksum_sha256
                .as_deref()
                .is_some_and(|checksum| checksum != expected_checksum)
        {
            Some("the SHA-256 does not match".to_string())
        } else {
            None
        };
        if let Some(message) = mismatch {
            // Usage is not committed and the stray object is removed.
            self.release_and_clean(ctx.organization_id, &reservation, "released")
                .await?;
            return Err(Error::ObjectMismatch(message));
        }

        match self
            .commit_or_release(ctx.organization_id, &reservation, now)
            .await?
        {
            Some(asset) => Ok(asset),
            None => {
                // Someone settled it while we were verifying: a racing completion won, or it expired.
                let settled = self
                    .load_reservation(ctx.organization_id, reservation_id)
                    .await?;
                match settled.state.as_str() {
                    "completed" => self.completed_asset(ctx, settled.asset_id).await,
                    _ => Err(Error::ReservationExpired),
                }
            }
        }
    }

    /// [`Api::commit_reservation`]; when its precondition or name check
    /// refuses, the reservation is released and its object deleted at once
    /// (not left for the expiry sweep): nothing is created, nothing stays held.
    async fn commit_or_release(
        &self,
        organization_id: Uuid,
        reservation: &OpenReservation,
        now: i64,
    ) -> Result<Option<Asset>> {
        match self
            .commit_reservation(organization_id, reservation, now)
            .await
        {
            Err(error @ (Error::PreconditionFailed(_) | Error::Conflict(_))) => {
                self.release_and_clean(organization_id, reservation, "released")
                    .await?;
                Err(error)
            }
            other => other,
        }
    }

    /// Commits a verified object: in one transaction, flips the reservation
    /// `open → completed`, moves its bytes from reserved to used, trashes the
    /// version it replaces (re-checking that it is still live with the
    /// expected content), re-checks the name (copies and replacements only),
    /// creates the asset and journals both. `None` if something else settled
    /// the reservation first.
    async fn commit_reservation(
        &self,
        organization_id: Uuid,
        reservation: &OpenReservation,
        now: i64,
    ) -> Result<Option<Asset>> {
        let mut tx = self.db.begin().await?;
        let flipped = sqlx::query(
            "UPDATE reservations SET state = 'completed' WHERE id = $1 AND state = 'open'",
        )
        .bind(reservation.id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !flipped {
            tx.rollback().await?;
            return Ok(None);
        }
        // One statement moves the bytes from reserved to used and takes the
        // journal sequence number. The organization row stays locked from
        // here to commit, so creations in one organization serialize: the
        // precondition and the name check below cannot race another creation.
        let seq: i64 = sqlx::query_scalar(
            "UPDATE organizations SET used_bytes = used_bytes + $2, reserved_bytes = reserved_bytes - $2, \
             journal_head = journal_head + 1 WHERE id = $1 RETURNING journal_head",
        )
        .bind(organization_id.to_string())
        .bind(reservation.size as i64)
        .fetch_one(&mut *tx)
        .await?;
        let replaced = match &reservation.replaces {
            Some((old_id, old_sha256)) => {
                // To the trash exactly as DELETE /v1/assets/{id} does: restorable, still counted.
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE assets SET trashed_at = $3, updated_at = $3 WHERE id = $1 AND organization_id = $2 \
                     AND trashed_at IS NULL AND content_sha256 = $4 RETURNING {ASSET_COLUMNS}"
                )))
                .bind(old_id.to_string())
                .bind(organization_id.to_string())
                .bind(now)
                .bind(old_sha256)
                .fetch_optional(&mut *tx)
                .await?;
                match row {
                    Some(row) => Some(asset_from_row(&row)?),
                    None => {
                        tx.rollback().await?;
                        return Err(replaced_changed_error());
                    }
                }
            }
            None => None,
        };
        if reservation.check_name
            && name_taken(
                &mut *tx,
                organization_id,
                reservation.folder_id,
                &reservation.name,
                None,
            )
            .await?
        {
            tx.rollback().await?;
            return Err(name_taken_error());
        }
        let asset = Asset {
            id: reservation.asset_id,
            folder_id: reservation.folder_id,
            name: reservation.name.clone(),
            size_bytes: reservation.size,
            content_sha256: reservation.content_sha256.clone(),
            storage_class: StorageClass::Standard,
            created_at: now,
            updated_at: now,
            trashed_at: None,
            modified_at: reservation.modified_at,
        };
        sqlx::query(
            "INSERT INTO assets (id, organization_id, folder_id, name, name_key, size_bytes, content_sha256, object_key, \
             storage_class, class_changed_at, created_at, updated_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'STANDARD', $9, $9, $9, $10)",
        )
        .bind(asset.id.to_string())
        .bind(organization_id.to_string())
        .bind(asset.folder_id.map(|id| id.to_string()))
        .bind(&asset.name)
        .bind(name_key(&asset.name))
        .bind(asset.size_bytes as i64)
        .bind(&asset.content_sha256)
        .bind(&reservation.object_key)
        .bind(now)
        .bind(asset.modified_at)
        .execute(&mut *tx)
        .await?;
        // The old version leaves before the new one arrives, so a device
        // applying the journal in order never sees two live assets with one name.
        let created = Change::AssetUpserted {
            at: now,
            asset: asset.clone(),
        };
        match replaced {
            Some(old) => {
                insert_change(
                    &mut tx,
                    organization_id,
                    seq,
                    now,
                    &Change::AssetUpserted {
                        at: now,
                        asset: old,
                    },
                )
                .await?;
                append_change(&mut tx, organization_id, now, &created).await?;
            }
            None => {
                insert_change(&mut tx, organization_id, seq, now, &created).await?;
            }
        }
        tx.commit().await?;
        Ok(Some(asset))
    }

    /// The asset of an already completed reservation, for replays. If it has
    /// been purged since, say so rather than "not found", which would suggest
    /// the upload never happened.
    async fn completed_asset(&self, ctx: &DeviceContext, asset_id: Uuid) -> Result<Asset> {
        match self.asset(ctx, asset_id).await {
            Err(Error::NotFound(_)) => Err(Error::Conflict(
                "this upload completed earlier; its asset has since been deleted".into(),
            )),
            other => other,
        }
    }

    /// An open reservation with freshly signed URLs and the parts the store
    /// already holds, so a device that crashed mid-upload can resume.
    pub async fn upload_status(
        &self,
        ctx: &DeviceContext,
        reservation_id: Uuid,
    ) -> Result<UploadStatus> {
        let reservation = self
            .load_reservation(ctx.organization_id, reservation_id)
            .await?;
        let now = self.now();
        match reservation.state.as_str() {
            "open" if reservation.expires_at > now => {}
            "completed" => return Err(Error::Conflict("the upload is already completed".into())),
            _ => return Err(Error::ReservationExpired),
        }
        let ttl = reservation.expires_at - now;
        let (upload, uploaded_parts) = match &reservation.upload_id {
            None => {
                let sha256 = validate_sha256(&reservation.content_sha256)?;
                let presigned = self
                    .store
                    .presign_put(&reservation.object_key, reservation.size, &sha256, now, ttl)
                    .await?;
                (
                    UploadPlan::Single {
                        url: presigned.url,
                        headers: presigned.headers,
                    },
                    Vec::new(),
                )
            }
            Some(upload_id) => {
                let part_size = reservation.part_size.unwrap_or(MIN_PART_BYTES);
                let plan = self
                    .presign_parts(
                        &reservation.object_key,
                        upload_id,
                        reservation.size,
                        part_size,
                        now,
                        ttl,
                    )
                    .await?;
                let stored = self
                    .store
                    .stored_parts(&reservation.object_key, upload_id)
                    .await?
                    .unwrap_or_default();
                let uploaded = stored
                    .into_iter()
                    .map(|(part_number, size_bytes, etag)| StoredPart {
                        part_number,
                        size_bytes,
                        etag,
                    })
                    .collect();
                (plan, uploaded)
            }
        };
        Ok(UploadStatus {
            reservation: Reservation {
                reservation_id,
                asset_id: reservation.asset_id,
                size_bytes: reservation.size,
                expires_at: reservation.expires_at,
                upload,
            },
            uploaded_parts,
        })
    }

    /// Gives up a reservation early (the client decided not to upload).
    pub async fn cancel_reservation(
        &self,
        ctx: &DeviceContext,
        reservation_id: Uuid,
    ) -> Result<()> {
        let reservation = self
            .load_reservation(ctx.organization_id, reservation_id)
            .await?;
        if reservation.state == "completed" {
            return Err(Error::Conflict(
                "the upload is already completed; delete the asset instead".into(),
            ));
        }
        self.release_and_clean(ctx.organization_id, &reservation, "released")
            .await?;
        Ok(())
    }

    // ------------------------------------------------------------ content-addressed copy

    /// Creates an asset from content the organization already stores, live or
    /// in the trash, without the client sending the bytes: a reservation the
    /// server fills with a CopyObject into the new asset's own key, verified
    /// and committed like an upload. Content is looked up in the caller's
    /// organization only; unknown content is `ContentUnknown`.
    pub async fn copy(&self, ctx: &DeviceContext, request: &CopyRequest) -> Result<Asset> {
        let sha256 = validate_sha256(&request.content_sha256)?;
        let name = validate_name(&request.name)?;
        let modified_at = validate_modified_at(request.modified_at)?;
        let replaces = self
            .check_target(
                ctx.organization_id,
                request.folder_id,
                &name,
                request.replaces.as_ref(),
                true,
            )
            .await?;
        let source = self
            .stored_content(ctx.organization_id, &request.content_sha256)
            .await?
            .ok_or(Error::ContentUnknown)?;
        let reservation = self
            .hold(
                ctx,
                NewReservation {
                    folder_id: request.folder_id,
                    name,
                    size: source.size,
                    content_sha256: request.content_sha256.clone(),
                    replaces,
                    check_name: true,
                    modified_at,
                },
                self.now(),
            )
            .await?;

        // No transaction is open while the store copies.
        let failure = match self
            .store
            .copy_object(
                &source.object_key,
                &reservation.object_key,
                source.size,
                self.settings.max_single_copy_bytes,
                part_size_for(source.size, self.settings.copy_part_bytes),
            )
            .await
        {
            // Purged between the lookup and the copy: as if it had never been there.
            Ok(false) => Some(Error::ContentUnknown),
            Err(error) => Some(error),
            Ok(true) => self.verify_copy(&reservation, &sha256).await.err(),
        };
        if let Some(error) = failure {
            self.release_and_clean(ctx.organization_id, &reservation, "released")
                .await?;
            return Err(error);
        }
        match self
            .commit_or_release(ctx.organization_id, &reservation, self.now())
            .await?
        {
            Some(asset) => Ok(asset),
            // Only expiry can settle a copy's reservation behind its back
            // (the copy outlived the reservation's lifetime); it cleaned up.
            None => Err(Error::ReservationExpired),
        }
    }

    /// Where the organization stores this content: any of its assets with the
    /// hash, live or trashed (a purged asset has no row). Standard-class
    /// copies first (reading Infrequent Access costs), live ones next.
    async fn stored_content(
        &self,
        organization_id: Uuid,
        content_sha256: &str,
    ) -> Result<Option<StoredContent>> {
        let row = sqlx::query(
            "SELECT object_key, size_bytes FROM assets WHERE organization_id = $1 AND content_sha256 = $2 \
             ORDER BY CASE WHEN storage_class = 'STANDARD' THEN 0 ELSE 1 END, \
             CASE WHEN trashed_at IS NULL THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(organization_id.to_string())
        .bind(content_sha256)
        .fetch_optional(&self.db.pool)
        .await?;
        row.map(|row| {
            Ok(StoredContent {
                object_key: row.try_get("object_key")?,
                size: get_u64(&row, "size_bytes")?,
            })
        })
        .transpose()
    }

    /// HEADs a copied object: its size (and SHA-256, where the store reports a
    /// whole-object checksum) must be the source's. A mismatch is the
    /// server's problem, never the client's: a 500, logged.
    async fn verify_copy(&self, reservation: &OpenReservation, sha256: &[u8; 32]) -> Result<()> {
        let head = self
            .store
            .head(&reservation.object_key)
            .await?
            .ok_or_else(|| Error::Internal("the copied object is missing".into()))?;
        if head.size_bytes != reservation.size {
            return Err(Error::Internal(format!(
                "the copied object has {} bytes, expected {}",
                head.size_bytes, reservation.size
            )));
        }
        let expected = base64::engine::general_purpose::STANDARD.encode(sha256);
        // Multipart objects carry a checksum of checksums ("…-N"), not the content's.
        if head
            .checksum_sha256
            .as_deref()
            .is_some_and(|checksum| !checksum.contains('-') && checksum != expected)
        {
            return Err(Error::Internal(
                "the copied object's SHA-256 is not the requested content's".into(),
            ));
        }
        Ok(())
    }

    // ------------------------------------------------------------ assets

    pub async fn asset(&self, ctx: &DeviceContext, asset_id: Uuid) -> Result<Asset> {
        let row = self.asset_row(ctx.organization_id, asset_id).await?;
        asset_from_row(&row)
    }

    async fn asset_row(&self, organization_id: Uuid, asset_id: Uuid) -> Result<AnyRow> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_COLUMNS}, object_key FROM assets WHERE id = $1 AND organization_id = $2"
        )))
        .bind(asset_id.to_string())
        .bind(organization_id.to_string())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(Error::NotFound("asset"))
    }

    pub async fn list_assets(
        &self,
        ctx: &DeviceContext,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<AssetPage> {
        let limit = limit.clamp(1, 1000);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        )))
        .bind(ctx.organization_id.to_string())
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(limit as i64 + 1)
        .fetch_all(&self.db.pool)
        .await?;
        let mut assets: Vec<Asset> = rows.iter().map(asset_from_row).collect::<Result<_>>()?;
        let next_after = if assets.len() > limit as usize {
            assets.truncate(limit as usize);
            assets.last().map(|asset| asset.id)
        } else {
            None
        };
        Ok(AssetPage { assets, next_after })
    }

    /// Applies `update` to one asset row and journals the new state, atomically.
    async fn update_asset(
        &self,
        ctx: &DeviceContext,
        asset_id: Uuid,
        sql: &'static str,
        binds: AssetUpdate,
    ) -> Result<Asset> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut query = sqlx::query(sql)
            .bind(asset_id.to_string())
            .bind(ctx.organization_id.to_string())
            .bind(now);
        match binds {
            AssetUpdate::None => {}
            AssetUpdate::Rename(name) => {
                let key = name_key(&name);
                query = query.bind(name).bind(key);
            }
            AssetUpdate::OptionalText(text) => query = query.bind(text),
        }
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::NotFound("asset"));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1"
        )))
        .bind(asset_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let asset = asset_from_row(&row)?;
        append_change(
            &mut tx,
            ctx.organization_id,
            now,
            &Change::AssetUpserted {
                at: now,
                asset: asset.clone(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(asset)
    }

    /// Renames an asset: metadata only, the object key never changes.
    pub async fn rename_asset(
        &self,
        ctx: &DeviceContext,
        asset_id: Uuid,
        name: &str,
    ) -> Result<Asset> {
        let name = validate_name(name)?;
        self.update_asset(
            ctx,
            asset_id,
            "UPDATE assets SET name = $4, name_key = $5, updated_at = $3 WHERE id = $1 AND organization_id = $2",
            AssetUpdate::Rename(name),
        )
        .await
    }

    pub async fn move_asset(
        &self,
        ctx: &DeviceContext,
        asset_id: Uuid,
        folder_id: Option<Uuid>,
    ) -> Result<Asset> {
        if let Some(folder_id) = folder_id {
            self.live_folder(ctx.organization_id, folder_id).await?;
        }
        self.update_asset(
            ctx,
            asset_id,
            "UPDATE assets SET folder_id = $4, updated_at = $3 WHERE id = $1 AND organization_id = $2 AND trashed_at IS NULL",
            AssetUpdate::OptionalText(folder_id.map(|id| id.to_string())),
        )
        .await
    }

    /// Moves an asset to the trash. Idempotent.
    pub async fn trash_asset(&self, ctx: &DeviceContext, asset_id: Uuid) -> Result<Asset> {
        let current = self.asset(ctx, asset_id).await?;
        if current.trashed_at.is_some() {
            return Ok(current);
        }
        self.update_asset(
            ctx,
            asset_id,
            "UPDATE assets SET trashed_at = $3, updated_at = $3 WHERE id = $1 AND organization_id = $2 AND trashed_at IS NULL",
            AssetUpdate::None,
        )
        .await
    }

    /// Restores an asset from the trash; if its folder is gone or trashed it lands at the root.
    pub async fn restore_asset(&self, ctx: &DeviceContext, asset_id: Uuid) -> Result<Asset> {
        let current = self.asset(ctx, asset_id).await?;
        if current.trashed_at.is_none() {
            return Ok(current);
        }
        let folder_alive = match current.folder_id {
            Some(folder_id) => self
                .live_folder(ctx.organization_id, folder_id)
                .await
                .is_ok(),
            None => true,
        };
        let sql = if folder_alive {
            "UPDATE assets SET trashed_at = NULL, updated_at = $3 WHERE id = $1 AND organization_id = $2"
        } else {
            "UPDATE assets SET trashed_at = NULL, folder_id = NULL, updated_at = $3 WHERE id = $1 AND organization_id = $2"
        };
        self.update_asset(ctx, asset_id, sql, AssetUpdate::None)
            .await
    }

    /// Deletes a trashed asset for good, now: the row, its usage and its object.
    pub async fn purge_asset(&self, ctx: &DeviceContext, asset_id: Uuid) -> Result<()> {
        let asset = self.asset(ctx, asset_id).await?;
        if asset.trashed_at.is_none() {
            return Err(Error::Conflict(
                "only trashed assets can be purged; trash it first".into(),
            ));
        }
        self.purge(ctx.organization_id, asset_id).await?;
        Ok(())
    }

    async fn purge(&self, organization_id: Uuid, asset_id: Uuid) -> Result<Option<u64>> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM assets WHERE id = $1 AND organization_id = $2 AND trashed_at IS NOT NULL RETURNING size_bytes, object_key",
        )
        .bind(asset_id.to_string())
        .bind(organization_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = deleted else {
            tx.rollback().await?;
            return Ok(None);
        };
        let size: i64 = row.try_get("size_bytes")?;
        let key: String = row.try_get("object_key")?;
        sqlx::query("UPDATE organizations SET used_bytes = used_bytes - $2 WHERE id = $1")
            .bind(organization_id.to_string())
            .bind(size)
            .execute(&mut *tx)
            .await?;
        append_change(
            &mut tx,
            organization_id,
            now,
            &Change::AssetDeleted { at: now, asset_id },
        )
        .await?;
        tx.commit().await?;
        // The row is gone first: a crash or a store failure here leaves an
        // orphan object (costs a little), never a row pointing at nothing. The
        // purge itself has happened, so a store failure is logged, not returned.
        if let Err(error) = self.store.delete(&key).await {
            tracing::warn!(%error, %asset_id, "purged asset's object could not be deleted; it is orphaned");
        }
        Ok(Some(size as u64))
    }

    /// Changes an asset's storage class with a self-copy in the store.
    pub async fn set_storage_class(
        &self,
        ctx: &DeviceContext,
        asset_id: Uuid,
        class: StorageClass,
    ) -> Result<StorageClassChange> {
        self.change_class(ctx.organization_id, asset_id, class)
            .await
    }

    async fn change_class(
        &self,
        organization_id: Uuid,
        asset_id: Uuid,
        class: StorageClass,
    ) -> Result<StorageClassChange> {
        let ctx = &DeviceContext {
            organization_id,
            device_id: Uuid::nil(),
        };
        let row = self.asset_row(ctx.organization_id, asset_id).await?;
        let asset = asset_from_row(&row)?;
        if asset.trashed_at.is_some() {
            return Err(Error::Conflict(
                "restore the asset before changing its storage class".into(),
            ));
        }
        let changed_at: i64 = row.try_get("class_changed_at")?;
        if asset.storage_class == class {
            return Ok(StorageClassChange {
                asset,
                minimum_duration_charge_usd: 0.0,
                retrieval_cost_usd: 0.0,
            });
        }
        if !self.store.supports_storage_classes() {
            return Err(Error::Conflict(
                "this deployment's object store has no storage classes".into(),
            ));
        }
        let key: String = row.try_get("object_key")?;
        self.store.set_storage_class(&key, class).await?;
        let now = self.now();
        let (minimum_charge, retrieval) = if asset.storage_class == StorageClass::InfrequentAccess {
            let days_stored = ((now - changed_at).max(0) / DAY) as u64;
            let days_left = INFREQUENT_ACCESS_MINIMUM_DAYS.saturating_sub(days_stored);
            let charge = asset.size_bytes as f64 / TIB as f64
                * INFREQUENT_ACCESS_CENTS_PER_TIB_MONTH as f64
                / 100.0
                * days_left as f64
                / 30.0;
            (
                charge,
                retrieval_cost_usd(asset.size_bytes, StorageClass::InfrequentAccess),
            )
        } else {
            (0.0, 0.0)
        };
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE assets SET storage_class = $3, class_changed_at = $4, updated_at = $4 WHERE id = $1 AND organization_id = $2",
        )
        .bind(asset_id.to_string())
        .bind(ctx.organization_id.to_string())
        .bind(class.as_s3())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let asset = Asset {
            storage_class: class,
            updated_at: now,
            ..asset
        };
        append_change(
            &mut tx,
            ctx.organization_id,
            now,
            &Change::AssetUpserted {
                at: now,
                asset: asset.clone(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(StorageClassChange {
            asset,
            minimum_duration_charge_usd: minimum_charge,
            retrieval_cost_usd: retrieval,
        })
    }

    pub async fn download(&self, ctx: &DeviceContext, asset_id: Uuid) -> Result<Download> {
        let row = self.asset_row(ctx.organization_id, asset_id).await?;
        let asset = asset_from_row(&row)?;
        let key: String = row.try_get("object_key")?;
        let now = self.now();
        let ttl = self.settings.download_ttl_seconds;
        let presigned = self.store.presign_get(&key, now, ttl).await?;
        Ok(Download {
            url: presigned.url,
            expires_at: now + ttl,
            storage_class: asset.storage_class,
            retrieval_cost_usd: retrieval_cost_usd(asset.size_bytes, asset.storage_class),
        })
    }

    // ------------------------------------------------------------ folders

    async fn live_folder(&self, organization_id: Uuid, folder_id: Uuid) -> Result<Folder> {
        let folder = self.folder_in(organization_id, folder_id).await?;
        if folder.trashed_at.is_some() {
            return Err(Error::NotFound("folder"));
        }
        Ok(folder)
    }

    async fn folder_in(&self, organization_id: Uuid, folder_id: Uuid) -> Result<Folder> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE id = $1 AND organization_id = $2"
        )))
        .bind(folder_id.to_string())
        .bind(organization_id.to_string())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(Error::NotFound("folder"))?;
        folder_from_row(&row)
    }

    pub async fn folder(&self, ctx: &DeviceContext, folder_id: Uuid) -> Result<Folder> {
        self.folder_in(ctx.organization_id, folder_id).await
    }

    pub async fn list_folders(&self, ctx: &DeviceContext) -> Result<FolderList> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE organization_id = $1 ORDER BY created_at, id"
        )))
        .bind(ctx.organization_id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        Ok(FolderList {
            folders: rows.iter().map(folder_from_row).collect::<Result<_>>()?,
        })
    }

    pub async fn create_folder(
        &self,
        ctx: &DeviceContext,
        request: &CreateFolderRequest,
    ) -> Result<Folder> {
        let name = validate_name(&request.name)?;
        validate_folder_settings(&request.settings)?;
        if let Some(parent_id) = request.parent_id {
            self.live_folder(ctx.organization_id, parent_id).await?;
        }
        let now = self.now();
        let folder = Folder {
            id: Uuid::new_v4(),
            parent_id: request.parent_id,
            name,
            settings: request.settings.clone(),
            created_at: now,
            updated_at: now,
            trashed_at: None,
        };
        let mut tx = self.db.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO folders (id, organization_id, parent_id, name, name_key, retention_days, optimize_storage, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(folder.id.to_string())
        .bind(ctx.organization_id.to_string())
        .bind(folder.parent_id.map(|id| id.to_string()))
        .bind(&folder.name)
        .bind(name_key(&folder.name))
        .bind(folder.settings.retention_days.map(i64::from))
        .bind(folder.settings.optimize_storage as i64)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => {
                return Err(Error::Conflict(
                    "a folder with this name already exists here".into(),
                ))
            }
            other => {
                other?;
            }
        }
        append_change(
            &mut tx,
            ctx.organization_id,
            now,
            &Change::FolderUpserted {
                at: now,
                folder: folder.clone(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(folder)
    }

    /// Runs one folder UPDATE and journals the new state.
    async fn update_folder_row(
        &self,
        ctx: &DeviceContext,
        folder_id: Uuid,
        apply: FolderUpdate,
    ) -> Result<Folder> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let id = folder_id.to_string();
        let organization = ctx.organization_id.to_string();
        let result = match &apply {
            FolderUpdate::Rename(name) => {
                sqlx::query("UPDATE folders SET name = $3, name_key = $4, updated_at = $5 WHERE id = $1 AND organization_id = $2 AND trashed_at IS NULL")
                    .bind(&id).bind(&organization).bind(name).bind(name_key(name)).bind(now)
                    .execute(&mut *tx).await
            }
            FolderUpdate::Settings(settings) => {
                sqlx::query("UPDATE folders SET retention_days = $3, optimize_storage = $4, updated_at = $5 WHERE id = $1 AND organization_id = $2")
                    .bind(&id).bind(&organization).bind(settings.retention_days.map(i64::from)).bind(settings.optimize_storage as i64).bind(now)
                    .execute(&mut *tx).await
            }
            FolderUpdate::Move(parent) => {
                sqlx::query("UPDATE folders SET parent_id = $3, updated_at = $4 WHERE id = $1 AND organization_id = $2 AND trashed_at IS NULL")
                    .bind(&id).bind(&organization).bind(parent.map(|p| p.to_string())).bind(now)
                    .execute(&mut *tx).await
            }
        };
        let result = match result {
            Err(error) if is_unique_violation(&error) => {
                return Err(Error::Conflict(
                    "a folder with this name already exists there".into(),
                ))
            }
            other => other?,
        };
        if result.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::NotFound("folder"));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE id = $1"
        )))
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        let folder = folder_from_row(&row)?;
        append_change(
            &mut tx,
            ctx.organization_id,
            now,
            &Change::FolderUpserted {
                at: now,
                folder: folder.clone(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(folder)
    }

    pub async fn update_folder(
        &self,
        ctx: &DeviceContext,
        folder_id: Uuid,
        request: &UpdateFolderRequest,
    ) -> Result<Folder> {
        let name = request.name.as_deref().map(validate_name).transpose()?;
        if let Some(settings) = &request.settings {
            validate_folder_settings(settings)?;
        }
        let mut folder = self.folder(ctx, folder_id).await?;
        if let Some(name) = name {
            folder = self
                .update_folder_row(ctx, folder_id, FolderUpdate::Rename(name))
                .await?;
        }
        if let Some(settings) = &request.settings {
            folder = self
                .update_folder_row(ctx, folder_id, FolderUpdate::Settings(settings.clone()))
                .await?;
        }
        Ok(folder)
    }

    /// Moves a folder under a new parent (or the root). Refuses cycles.
    pub async fn move_folder(
        &self,
        ctx: &DeviceContext,
        folder_id: Uuid,
        parent_id: Option<Uuid>,
    ) -> Result<Folder> {
        self.live_folder(ctx.organization_id, folder_id).await?;
        if let Some(parent_id) = parent_id {
            self.live_folder(ctx.organization_id, parent_id).await?;
            if self
                .subtree(ctx.organization_id, folder_id)
                .await?
                .contains(&parent_id)
            {
                return Err(Error::Conflict(
                    "a folder cannot move into itself or its own subfolder".into(),
                ));
            }
        }
        self.update_folder_row(ctx, folder_id, FolderUpdate::Move(parent_id))
            .await
    }

    /// The folder and all folders below it.
    async fn subtree(&self, organization_id: Uuid, folder_id: Uuid) -> Result<Vec<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE tree(id) AS (SELECT id FROM folders WHERE id = $1 AND organization_id = $2 \
             UNION SELECT f.id FROM folders f JOIN tree t ON f.parent_id = t.id WHERE f.organization_id = $2) \
             SELECT id FROM tree",
        )
        .bind(folder_id.to_string())
        .bind(organization_id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        ids.iter().map(|id| parse_id(id, "folder")).collect()
    }

    /// Trashes a folder with everything below it, stamping one time so a
    /// restore brings back exactly what this trash took.
    pub async fn trash_folder(&self, ctx: &DeviceContext, folder_id: Uuid) -> Result<Folder> {
        self.set_folder_trash(ctx, folder_id, true).await
    }

    /// Restores a trashed folder and what was trashed with it. If its parent
    /// is still in the trash, it lands at the root.
    pub async fn restore_folder(&self, ctx: &DeviceContext, folder_id: Uuid) -> Result<Folder> {
        self.set_folder_trash(ctx, folder_id, false).await
    }

    async fn set_folder_trash(
        &self,
        ctx: &DeviceContext,
        folder_id: Uuid,
        trash: bool,
    ) -> Result<Folder> {
        let folder = self.folder(ctx, folder_id).await?;
        if folder.trashed_at.is_some() == trash {
            return Ok(folder);
        }
        let subtree = self.subtree(ctx.organization_id, folder_id).await?;
        let now = self.now();
        let organization = ctx.organization_id.to_string();
        let mut tx = self.db.begin().await?;
        if !trash {
            if let Some(parent_id) = folder.parent_id {
                let parent_trashed: Option<Option<i64>> =
                    sqlx::query_scalar("SELECT trashed_at FROM folders WHERE id = $1")
                        .bind(parent_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                if !matches!(parent_trashed, Some(None)) {
                    sqlx::query("UPDATE folders SET parent_id = NULL WHERE id = $1")
                        .bind(folder_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        let stamp = folder.trashed_at;
        for id in &subtree {
            let id = id.to_string();
            let folder_sql = if trash {
                "UPDATE folders SET trashed_at = $3, updated_at = $3 WHERE id = $1 AND organization_id = $2 AND trashed_at IS NULL"
            } else {
                "UPDATE folders SET trashed_at = NULL, updated_at = $3 WHERE id = $1 AND organization_id = $2 AND trashed_at = $4"
            };
            let mut query = sqlx::query(folder_sql)
                .bind(&id)
                .bind(&organization)
                .bind(now);
            if !trash {
                query = query.bind(stamp);
            }
            let changed = query.execute(&mut *tx).await;
            match changed {
                Err(error) if is_unique_violation(&error) => {
                    return Err(Error::Conflict(
                        "a live folder with the same name is in the way of the restore".into(),
                    ))
                }
                other => {
                    other?;
                }
            }
            let asset_sql = if trash {
                "UPDATE assets SET trashed_at = $3, updated_at = $3 WHERE folder_id = $1 AND organization_id = $2 AND trashed_at IS NULL RETURNING id"
            } else {
                "UPDATE assets SET trashed_at = NULL, updated_at = $3 WHERE folder_id = $1 AND organization_id = $2 AND trashed_at = $4 RETURNING id"
            };
            let mut query = sqlx::query_scalar::<_, String>(asset_sql)
                .bind(&id)
                .bind(&organization)
                .bind(now);
            if !trash {
                query = query.bind(stamp);
            }
            let asset_ids = query.fetch_all(&mut *tx).await?;
            for asset_id in asset_ids {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1"
                )))
                .bind(&asset_id)
                .fetch_one(&mut *tx)
                .await?;
                let asset = asset_from_row(&row)?;
                append_change(
                    &mut tx,
                    ctx.organization_id,
                    now,
                    &Change::AssetUpserted { at: now, asset },
                )
                .await?;
            }
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {FOLDER_COLUMNS} FROM folders WHERE id = $1"
            )))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
            let changed_folder = folder_from_row(&row)?;
            append_change(
                &mut tx,
                ctx.organization_id,
                now,
                &Change::FolderUpserted {
                    at: now,
                    folder: changed_folder,
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.folder(ctx, folder_id).await
    }

    // ------------------------------------------------------------ journal

    /// Changes after `cursor`, oldest first, at most `limit`.
    pub async fn changes(
        &self,
        ctx: &DeviceContext,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<ChangePage> {
        let limit = limit.clamp(1, 1000);
        let row =
            sqlx::query("SELECT journal_head, journal_floor FROM organizations WHERE id = $1")
                .bind(ctx.organization_id.to_string())
                .fetch_one(&self.db.pool)
                .await?;
        let head: i64 = row.try_get("journal_head")?;
        let floor: i64 = row.try_get("journal_floor")?;
        let after = match cursor {
            Some(cursor) => decode_cursor(cursor)?,
            None => 0,
        };
        // Entries at or below the floor were compacted away: the device missed
        // changes it can no longer get, so it must list everything again.
        if after < floor || after > head {
            return Err(Error::CursorReset);
        }
        let rows = sqlx::query("SELECT seq, body FROM journal WHERE organization_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(ctx.organization_id.to_string())
            .bind(after)
            .bind(limit as i64 + 1)
            .fetch_all(&self.db.pool)
            .await?;
        let has_more = rows.len() > limit as usize;
        let mut last = after;
        let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.iter().take(limit as usize) {
            last = row.try_get("seq")?;
            let body: String = row.try_get("body")?;
            changes.push(serde_json::from_str(&body).map_err(|e| Error::Internal(e.to_string()))?);
        }
        Ok(ChangePage {
            changes,
            cursor: encode_cursor(last),
            has_more,
        })
    }

    pub async fn latest_cursor(&self, ctx: &DeviceContext) -> Result<Cursor> {
        let head: i64 = sqlx::query_scalar("SELECT journal_head FROM organizations WHERE id = $1")
            .bind(ctx.organization_id.to_string())
            .fetch_one(&self.db.pool)
            .await?;
        Ok(Cursor {
            cursor: encode_cursor(head),
        })
    }

    // ------------------------------------------------------------ usage and settings

    pub async fn usage(&self, ctx: &DeviceContext) -> Result<Usage> {
        let organization = self.organization(ctx.organization_id).await?;
        let id = ctx.organization_id.to_string();
        let class_rows = sqlx::query(
            "SELECT storage_class, COUNT(*) AS objects, CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes \
             FROM assets WHERE organization_id = $1 GROUP BY storage_class",
        )
        .bind(&id)
        .fetch_all(&self.db.pool)
        .await?;
        let trash_bytes: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM assets WHERE organization_id = $1 AND trashed_at IS NOT NULL",
        )
        .bind(&id)
        .fetch_one(&self.db.pool)
        .await?;
        let folder_rows = sqlx::query(
            "SELECT a.folder_id AS folder_id, MAX(f.name) AS name, CAST(SUM(a.size_bytes) AS BIGINT) AS bytes, COUNT(*) AS assets \
             FROM assets a LEFT JOIN folders f ON f.id = a.folder_id \
             WHERE a.organization_id = $1 AND a.trashed_at IS NULL GROUP BY a.folder_id ORDER BY bytes DESC LIMIT 10",
        )
        .bind(&id)
        .fetch_all(&self.db.pool)
        .await?;

        let limit = organization.limit_bytes;
        let percent = |bytes: u64| {
            if limit == 0 {
                100.0
            } else {
                bytes as f64 * 100.0 / limit as f64
            }
        };
        let mut classes = Vec::new();
        for class in [StorageClass::Standard, StorageClass::InfrequentAccess] {
            let row = class_rows.iter().find(|row| {
                row.try_get::<String, _>("storage_class").ok().as_deref() == Some(class.as_s3())
            });
            let (bytes, objects) = match row {
                Some(row) => (get_u64(row, "bytes")?, get_u64(row, "objects")?),
                None => (0, 0),
            };
            classes.push(photopro_wire::ClassUsage {
                storage_class: class,
                bytes,
                object_count: objects,
                percent_of_limit: percent(bytes),
                monthly_cost_usd: monthly_cost_usd(bytes, class),
            });
        }
        let percent_used = percent(organization.used_bytes);
        let warning = [95u32, 80]
            .into_iter()
            .find(|threshold| percent_used >= *threshold as f64)
            .map(|threshold| UsageWarning {
                threshold_percent: threshold,
                message: format!(
                    "{percent_used:.0} % of your {} is used; uploads stop at the cap",
                    human_bytes(organization.limit_bytes)
                ),
            });
        let top_folders = folder_rows
            .iter()
            .map(|row| {
                Ok(FolderUsage {
                    folder_id: optional_uuid_column(row, "folder_id")?,
                    name: row
                        .try_get::<Option<String>, _>("name")?
                        .unwrap_or_else(|| "(root)".to_string()),
                    bytes: get_u64(row, "bytes")?,
                    asset_count: get_u64(row, "assets")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Usage {
            plan: organization.plan,
            used_bytes: organization.used_bytes,
            reserved_bytes: organization.reserved_bytes,
            limit_bytes: limit,
            percent_used,
            warning,
            monthly_storage_cost_usd: classes
                .iter()
                .map(|class: &ClassUsage| class.monthly_cost_usd)
                .sum(),
            classes,
            trash_bytes: trash_bytes as u64,
            top_folders,
        })
    }

    pub async fn organization_settings(
        &self,
        organization_id: Uuid,
    ) -> Result<OrganizationSettings> {
        let text: String = sqlx::query_scalar("SELECT settings FROM organizations WHERE id = $1")
            .bind(organization_id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(Error::NotFound("organization"))?;
        serde_json::from_str(&text).map_err(|e| Error::Internal(e.to_string()))
    }

    pub async fn set_organization_settings(
        &self,
        ctx: &DeviceContext,
        settings: &OrganizationSettings,
    ) -> Result<OrganizationSettings> {
        validate_settings(settings)?;
        sqlx::query("UPDATE organizations SET settings = $2, trash_retention_days = $3, auto_archive_days = $4 WHERE id = $1")
            .bind(ctx.organization_id.to_string())
            .bind(serde_json::to_string(settings).expect("settings serialize"))
            .bind(i64::from(settings.trash_retention_days))
            .bind(settings.auto_archive_after_months.map(|months| i64::from(months) * 30))
            .execute(&self.db.pool)
            .await?;
        Ok(settings.clone())
    }

    // ------------------------------------------------------------ maintenance

    /// One pass of housekeeping, safe to run on every instance at once (each
    /// step is a guarded update that only one runner can win): expire
    /// abandoned reservations, purge the trash past retention, compact the
    /// journal.
    pub async fn run_maintenance(&self) -> Result<MaintenanceReport> {
        let now = self.now();
        let mut report = MaintenanceReport::default();

        let expired = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT organization_id, {RESERVATION_COLUMNS} FROM reservations WHERE state = 'open' AND expires_at <= $1 LIMIT 1000"
        )))
        .bind(now)
        .fetch_all(&self.db.pool)
        .await?;
        for row in &expired {
            let organization_id = uuid_column(row, "organization_id")?;
            let reservation = OpenReservation::from_row(row)?;
            if self
                .release_and_clean(organization_id, &reservation, "expired")
                .await?
            {
                report.reservations_expired += 1;
                report.bytes_released += reservation.size;
            }
        }

        // Retention is decided in SQL (folder days, else the organization's),
        // so a backlog of not-yet-due trash can never hide due items behind a LIMIT.
        let due: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.id, a.organization_id FROM assets a JOIN organizations o ON o.id = a.organization_id \
             LEFT JOIN folders f ON f.id = a.folder_id \
             WHERE a.trashed_at IS NOT NULL AND a.trashed_at + COALESCE(f.retention_days, o.trash_retention_days) * 86400 <= $1 \
             LIMIT 1000",
        )
        .bind(now)
        .fetch_all(&self.db.pool)
        .await?;
        for (asset_id, organization_id) in &due {
            if self
                .purge(
                    parse_id(organization_id, "organization")?,
                    parse_id(asset_id, "asset")?,
                )
                .await?
                .is_some()
            {
                report.assets_purged += 1;
            }
        }

        // Trashed folders go once they are empty and past the organization's retention.
        let folders = sqlx::query(
            "SELECT f.id AS id, f.organization_id AS organization_id FROM folders f JOIN organizations o ON o.id = f.organization_id \
             WHERE f.trashed_at IS NOT NULL AND f.trashed_at + COALESCE(f.retention_days, o.trash_retention_days) * 86400 <= $1 \
             AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.folder_id = f.id) \
             AND NOT EXISTS (SELECT 1 FROM folders c WHERE c.parent_id = f.id) LIMIT 1000",
        )
        .bind(now)
        .fetch_all(&self.db.pool)
        .await?;
        for row in &folders {
            let organization_id = uuid_column(row, "organization_id")?;
            let folder_id = uuid_column(row, "id")?;
            let mut tx = self.db.begin().await?;
            let deleted = sqlx::query("DELETE FROM folders WHERE id = $1 AND trashed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.folder_id = $1)")
                .bind(folder_id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 1 {
                append_change(
                    &mut tx,
                    organization_id,
                    now,
                    &Change::FolderDeleted { at: now, folder_id },
                )
                .await?;
            }
            tx.commit().await?;
        }

        if self.store.supports_storage_classes() {
            report.assets_archived = self.archive(now).await?;
        }

        // Compact the journal: drop old entries and raise each organization's floor past them.
        let cutoff = now - self.settings.journal_retention_seconds;
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE organizations SET journal_floor = (SELECT MAX(j.seq) FROM journal j WHERE j.organization_id = organizations.id AND j.created_at < $1) \
             WHERE EXISTS (SELECT 1 FROM journal j WHERE j.organization_id = organizations.id AND j.created_at < $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        report.journal_entries_compacted = sqlx::query("DELETE FROM journal WHERE created_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(report)
    }
}

impl Api {
    /// Moves Standard assets to Infrequent Access when their folder has
    /// "Optimize storage" on, or when they are older than the organization's
    /// auto-archive age. Only the store's copy changes; devices keep their
    /// thumbnails and previews, and fetch originals on demand.
    async fn archive(&self, now: i64) -> Result<u64> {
        let rows = sqlx::query(
            "SELECT a.id AS id, a.organization_id AS organization_id \
             FROM assets a JOIN organizations o ON o.id = a.organization_id LEFT JOIN folders f ON f.id = a.folder_id \
             WHERE a.storage_class = 'STANDARD' AND a.trashed_at IS NULL \
             AND (f.optimize_storage = 1 OR a.created_at + o.auto_archive_days * 86400 <= $1) LIMIT 500",
        )
        .bind(now)
        .fetch_all(&self.db.pool)
        .await?;
        let mut archived = 0;
        for row in &rows {
            let (organization_id, asset_id) = (
                uuid_column(row, "organization_id")?,
                uuid_column(row, "id")?,
            );
            match self
                .change_class(organization_id, asset_id, StorageClass::InfrequentAccess)
                .await
            {
                Ok(_) => archived += 1,
                // Trashed or purged since the scan: nothing to do.
                Err(Error::NotFound(_) | Error::Conflict(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(archived)
    }
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

/// Bytes for people, in binary units ("25 GiB", "1.5 TiB", "900 KiB").
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", TIB),
        ("GiB", GIB),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if value.fract() < 0.05 {
                format!("{value:.0} {unit}")
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
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
        assert_eq!(human_bytes(12), "12 bytes");
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        for bad in ["", "42", "v1.", "v1.-3", "v1.x", "v2.1"] {
            assert!(
                matches!(decode_cursor(bad), Err(Error::CursorReset)),
                "{bad}"
            );
        }
    }
}
