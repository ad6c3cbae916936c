//! Uploads: reservations under the cap, presigned URLs, completion (verify, then commit the bytes), status and cancel.

use std::collections::HashMap;

use super::*;

impl Api {
    /// Reserves room for an upload and returns presigned URLs for exactly one key.
    pub async fn reserve(
        &self,
        ctx: &DeviceContext,
        request: &ReserveRequest,
    ) -> Result<Reservation> {
        // 0 bytes is a valid file (a placeholder, an empty sidecar): stored like any other.
        let size = request.size_bytes;
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
        // Expired reservations give their bytes back before the cap is weighed.
        self.expire_due_reservations(ctx.organization_id).await?;
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
                self.url_ttl(now, reservation.expires_at),
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
    pub(super) async fn check_target(
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
    pub(super) async fn hold(
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

    /// How long an upload URL signed `now` lives: minutes, never past the reservation.
    pub(super) fn url_ttl(&self, now: i64, expires_at: i64) -> i64 {
        self.settings
            .upload_url_ttl_seconds
            .min(expires_at - now)
            .max(1)
    }

    pub(super) async fn plan_upload(
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
        Ok(part_plan(size, part_size))
    }

    /// Presigned URLs for parts of an open multipart upload, each bound to
    /// the SHA-256 the client declares for that part (`POST /v1/uploads/{id}/parts`).
    pub async fn part_urls(
        &self,
        ctx: &DeviceContext,
        reservation_id: Uuid,
        request: &PartUrlsRequest,
    ) -> Result<PartUrls> {
        let reservation = self
            .load_reservation(ctx.organization_id, reservation_id)
            .await?;
        let now = self.now();
        match reservation.state.as_str() {
            "open" if reservation.expires_at > now => {}
            "completed" => return Err(Error::Conflict("the upload is already completed".into())),
            _ => return Err(Error::ReservationExpired),
        }
        let Some(upload_id) = &reservation.upload_id else {
            return Err(Error::bad_request(
                "this is a single-part upload: its URL comes with the reservation (renew it with GET /v1/uploads/{id})",
            ));
        };
        let part_size = reservation.part_size.unwrap_or(MIN_PART_BYTES);
        let part_count = reservation.size.div_ceil(part_size);
        if request.parts.is_empty() || request.parts.len() as u64 > part_count {
            return Err(Error::bad_request(format!(
                "ask for between 1 and {part_count} parts"
            )));
        }
        let ttl = self.url_ttl(now, reservation.expires_at);
        let mut parts = Vec::with_capacity(request.parts.len());
        for part in &request.parts {
            let number = part.part_number as u64;
            if number == 0 || number > part_count {
                return Err(Error::bad_request(format!(
                    "part_number {number} is outside 1..={part_count}"
                )));
            }
            let sha256 = validate_sha256(&part.content_sha256)?;
            let size_bytes = part_size.min(reservation.size - (number - 1) * part_size);
            let presigned = self
                .store
                .presign_part(
                    &reservation.object_key,
                    upload_id,
                    part.part_number,
                    size_bytes,
                    &sha256,
                    now,
                    ttl,
                )
                .await?;
            parts.push(PartUpload {
                part_number: part.part_number,
                size_bytes,
                url: Some(presigned.url),
                headers: presigned.headers,
            });
        }
        Ok(PartUrls {
            parts,
            expires_at: now + ttl,
        })
    }

    /// Moves an open reservation to `state` and gives its bytes back. Returns
    /// whether this call did it (false if something else settled it first).
    pub(super) async fn release(
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
    pub(super) async fn release_and_clean(
        &self,
        organization_id: Uuid,
        reservation: &OpenReservation,
        state: &str,
    ) -> Result<bool> {
        let released = self.release(organization_id, reservation.id, state).await?;
        if released {
            // The books are settled; a store that fails now leaves an object
            // no reservation owns, which the maintenance sweep removes. The
            // caller's answer does not depend on it.
            if let Some(upload_id) = &reservation.upload_id {
                if let Err(error) = self
                    .store
                    .abort_multipart(&reservation.object_key, upload_id)
                    .await
                {
                    tracing::warn!(key = %reservation.object_key, %error, "abort multipart upload failed; left to the sweep");
                }
            }
            if let Err(error) = self.store.delete(&reservation.object_key).await {
                tracing::warn!(key = %reservation.object_key, %error, "delete object failed; left to the sweep");
            }
        }
        Ok(released)
    }

    pub(super) async fn load_reservation(
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
            self.assemble_parts(&reservation, upload_id, request)
                .await?;
        } else if !request.parts.is_empty() {
            return Err(Error::bad_request(
                "a single-part upload has no parts to list",
            ));
        }

        // Accept the object only when its bytes are proven to be the declared
        // content; otherwise usage is not committed and the object is removed.
        if let Err(error) = self.verify_object(&reservation).await {
            if matches!(error, Error::ObjectMismatch(_)) {
                self.release_and_clean(ctx.organization_id, &reservation, "released")
                    .await?;
            }
            return Err(error);
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

    /// Checks the listed parts against what the store holds (every part
    /// present, of the planned size, with the listed ETag) before asking the
    /// store to assemble them, so a missing or forged part is a 400 and the
    /// upload stays as it was: upload the part and complete again.
    async fn assemble_parts(
        &self,
        reservation: &OpenReservation,
        upload_id: &str,
        request: &CompleteRequest,
    ) -> Result<()> {
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
        let Some(stored) = self
            .store
            .stored_parts(&reservation.object_key, upload_id)
            .await?
        else {
            // A retry after a crash finds the upload already assembled; the
            // object is verified next.
            if self.store.head(&reservation.object_key).await?.is_some() {
                return Ok(());
            }
            return Err(Error::Conflict(
                "the store no longer holds this multipart upload; cancel it (DELETE /v1/uploads/{id}) and upload again".into(),
            ));
        };
        let stored: HashMap<u32, (u64, Option<String>)> = stored
            .into_iter()
            .map(|(number, size, etag)| (number, (size, etag)))
            .collect();
        for part in &request.parts {
            let number = part.part_number as u64;
            let planned = part_size.min(reservation.size - (number - 1) * part_size);
            match stored.get(&part.part_number) {
                None => {
                    return Err(Error::bad_request(format!(
                        "part {number} of {expected_parts} is not uploaded; upload it and complete again \
                         (GET /v1/uploads/{{id}} lists the parts the store holds)"
                    )))
                }
                Some((size, _)) if *size != planned => {
                    return Err(Error::bad_request(format!(
                        "part {number} holds {size} bytes, expected {planned}; upload it again and complete again"
                    )))
                }
                Some((_, Some(etag))) if unquote_etag(etag) != unquote_etag(&part.etag) => {
                    return Err(Error::bad_request(format!(
                        "part {number}'s ETag is not the stored part's; list the ETag the store answered for it"
                    )))
                }
                Some(_) => {}
            }
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
            // A racing completion may have assembled it; else the reservation
            // stays open and the client can correct its list.
            let assembled = self
                .store
                .head(&reservation.object_key)
                .await?
                .is_some_and(|head| head.size_bytes == reservation.size);
            if !assembled {
                return Err(error);
            }
        }
        Ok(())
    }

    /// Proves the object holds exactly the reservation's content: its size,
    /// and its SHA-256 from the whole-object checksum the store computed
    /// (single-part PUTs, where the store reports one) or else by reading it
    /// back and hashing it. `ObjectMismatch` when it does not; `ObjectMissing`
    /// when there is no object.
    pub(super) async fn verify_object(&self, reservation: &OpenReservation) -> Result<()> {
        let head = self
            .store
            .head(&reservation.object_key)
            .await?
            .ok_or(Error::ObjectMissing)?;
        if head.size_bytes != reservation.size {
            return Err(Error::ObjectMismatch(format!(
                "expected {} bytes, found {}",
                reservation.size, head.size_bytes
            )));
        }
        let expected = validate_sha256(&reservation.content_sha256)?;
        let expected_checksum = base64::engine::general_purpose::STANDARD.encode(expected);
        // A multipart object's checksum ("…-N") is a checksum of part checksums.
        let reported = head
            .checksum_sha256
            .as_deref()
            .filter(|checksum| !checksum.contains('-'));
        let matches = match reported {
            Some(checksum) => checksum == expected_checksum,
            None => match self.store.read_sha256(&reservation.object_key).await? {
                Some((size, sha256)) => size == reservation.size && sha256 == expected,
                None => return Err(Error::ObjectMissing),
            },
        };
        if matches {
            Ok(())
        } else {
            Err(Error::ObjectMismatch(format!(
                "the stored bytes' SHA-256 is not {}",
                reservation.content_sha256
            )))
        }
    }

    /// [`Api::commit_reservation`]; when its precondition or name check
    /// refuses, the reservation is released and its object deleted at once
    /// (not left for the expiry sweep): nothing is created, nothing stays held.
    pub(super) async fn commit_or_release(
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
    pub(super) async fn commit_reservation(
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
        // The folder must still be live: with the organization row locked
        // (the tree lock), a folder cannot be trashed between this check and
        // the commit. Refused, the reservation is released and its object
        // deleted by `commit_or_release`.
        if let Some(folder_id) = reservation.folder_id {
            if !super::folders::folder_is_live(&mut tx, organization_id, folder_id).await? {
                tx.rollback().await?;
                return Err(folder_trashed_error(folder_id));
            }
        }
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
    pub(super) async fn completed_asset(
        &self,
        ctx: &DeviceContext,
        asset_id: Uuid,
    ) -> Result<Asset> {
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
        let ttl = self.url_ttl(now, reservation.expires_at);
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
                (part_plan(reservation.size, part_size), uploaded)
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

    /// The open reservations of the calling device (`GET /v1/uploads?state=open`),
    /// oldest first: what a client that crashed left behind, to resume
    /// (`GET /v1/uploads/{id}`) or cancel (`DELETE /v1/uploads/{id}`).
    /// Expired ones are released first and not listed.
    pub async fn open_uploads(&self, ctx: &DeviceContext) -> Result<OpenUploadList> {
        self.expire_due_reservations(ctx.organization_id).await?;
        let rows = sqlx::query(
            "SELECT id, asset_id, folder_id, name, size_bytes, content_sha256, upload_id, created_at, expires_at \
             FROM reservations WHERE organization_id = $1 AND device_id = $2 AND state = 'open' \
             ORDER BY created_at, id LIMIT 1000",
        )
        .bind(ctx.organization_id.to_string())
        .bind(ctx.device_id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        let uploads = rows
            .iter()
            .map(|row| {
                Ok(OpenUpload {
                    reservation_id: uuid_column(row, "id")?,
                    asset_id: uuid_column(row, "asset_id")?,
                    folder_id: optional_uuid_column(row, "folder_id")?,
                    name: row.try_get("name")?,
                    size_bytes: get_u64(row, "size_bytes")?,
                    content_sha256: row.try_get("content_sha256")?,
                    multipart: row.try_get::<Option<String>, _>("upload_id")?.is_some(),
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(OpenUploadList { uploads })
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
}

/// The parts of a multipart upload (numbers and sizes; URLs are asked for per part).
fn part_plan(size: u64, part_size: u64) -> UploadPlan {
    let parts = (0..size.div_ceil(part_size))
        .map(|index| PartUpload {
            part_number: index as u32 + 1,
            size_bytes: part_size.min(size - index * part_size),
            url: None,
            headers: Vec::new(),
        })
        .collect();
    UploadPlan::Multipart {
        part_size_bytes: part_size,
        parts,
    }
}

/// An ETag without its quotes (stores differ in whether they quote).
fn unquote_etag(etag: &str) -> &str {
    etag.trim().trim_start_matches("W/").trim_matches('"')
}
