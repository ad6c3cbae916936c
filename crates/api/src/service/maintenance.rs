//! Maintenance: expiry, purge, journal compaction and auto-archive; safe on every instance at once.

use super::*;

impl Api {
    /// One pass of housekeeping, safe to run on every instance at once (each
    /// step is a guarded update that only one runner can win): expire
    /// abandoned reservations, purge the trash past retention, compact the
    /// journal.
    pub async fn run_maintenance(&self) -> Result<MaintenanceReport> {
        let now = self.now();
        let mut report = MaintenanceReport::default();
        // Before expiry: the sweep must not race the expiry's own deletes
        // into counting them, and it needs nothing expiry does.
        self.sweep_orphans(now, &mut report).await?;

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
            super::folders::lock_tree(&mut tx, organization_id).await?;
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

    /// Moves Standard assets to Infrequent Access when their folder has
    /// "Optimize storage" on, or when they are older than the organization's
    /// auto-archive age. Only the store's copy changes; devices keep their
    /// thumbnails and previews, and fetch originals on demand.
    pub(super) async fn archive(&self, now: i64) -> Result<u64> {
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

    /// Releases the organization's open reservations that are past their
    /// expiry, at once (not at the next maintenance pass): a reservation
    /// nobody can complete any more never holds quota. Run before a new
    /// reservation is weighed against the cap, and before usage is reported.
    pub(super) async fn expire_due_reservations(&self, organization_id: Uuid) -> Result<u64> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE organization_id = $1 AND state = 'open' \
             AND expires_at <= $2 LIMIT 100"
        )))
        .bind(organization_id.to_string())
        .bind(self.now())
        .fetch_all(&self.db.pool)
        .await?;
        let mut released = 0;
        for row in &rows {
            let reservation = OpenReservation::from_row(row)?;
            // The bytes are released before the store is touched; a store
            // failure only leaves an object (or upload) for the orphan sweep,
            // and must not fail the request that triggered this.
            match self
                .release_and_clean(organization_id, &reservation, "expired")
                .await
            {
                Ok(true) => released += reservation.size,
                Ok(false) => {}
                Err(error @ Error::ObjectStore { .. }) => {
                    tracing::warn!(%error, key = %reservation.object_key, "expired reservation's object not cleaned; the sweep will");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(released)
    }

    /// The orphan sweep: lists each organization's prefix (`org/<id>/`) and
    /// removes every object that no asset (live or trashed) and no open
    /// reservation owns, matched by exact key from the rows (keys are never
    /// parsed), and aborts multipart uploads that no open reservation owns.
    /// Bytes a client PUT after its reservation was cancelled or expired, or
    /// left by a crash between a purge's row delete and its object delete,
    /// end here.
    ///
    /// Safe against uploads in flight: a page is listed *before* its keys are
    /// looked up, and a reservation row always exists before its key can be
    /// written, so an object being uploaded right now is owned by an open
    /// reservation when looked up; a key whose reservation is settled can
    /// never be owned again. Objects younger than `orphan_grace_seconds` are
    /// left alone anyway. Safe on several instances: each organization is
    /// claimed for one sweep interval by a guarded UPDATE, and deletes are
    /// idempotent.
    pub(super) async fn sweep_orphans(
        &self,
        now: i64,
        report: &mut MaintenanceReport,
    ) -> Result<()> {
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM organizations WHERE swept_at IS NULL OR swept_at <= $1 ORDER BY id LIMIT 100",
        )
        .bind(now - self.settings.orphan_sweep_interval_seconds)
        .fetch_all(&self.db.pool)
        .await?;
        for organization_id in due {
            let claimed = sqlx::query(
                "UPDATE organizations SET swept_at = $2 WHERE id = $1 AND (swept_at IS NULL OR swept_at <= $3)",
            )
            .bind(&organization_id)
            .bind(now)
            .bind(now - self.settings.orphan_sweep_interval_seconds)
            .execute(&self.db.pool)
            .await?
            .rows_affected()
                == 1;
            if claimed {
                // One organization's store trouble must not stop the rest of
                // maintenance; it is swept again next interval.
                if let Err(error) = self.sweep_organization(&organization_id, now, report).await {
                    tracing::warn!(%error, %organization_id, "orphan sweep failed for this organization");
                }
            }
        }
        Ok(())
    }

    async fn sweep_organization(
        &self,
        organization_id: &str,
        now: i64,
        report: &mut MaintenanceReport,
    ) -> Result<()> {
        let prefix = format!("org/{organization_id}/");
        let old_enough =
            |at: Option<i64>| at.is_some_and(|at| at <= now - self.settings.orphan_grace_seconds);
        let mut continuation = None;
        loop {
            let (objects, next) = self.store.list_page(&prefix, continuation).await?;
            let candidates: Vec<_> = objects
                .into_iter()
                .filter(|object| old_enough(object.last_modified))
                .collect();
            if !candidates.is_empty() {
                let keys: Vec<&str> = candidates.iter().map(|o| o.key.as_str()).collect();
                let owned = self.owned_keys(organization_id, &keys).await?;
                for object in candidates.iter().filter(|o| !owned.contains(&o.key)) {
                    self.store.delete(&object.key).await?;
                    tracing::info!(key = %object.key, bytes = object.size_bytes, "orphan object removed");
                    report.orphan_objects_removed += 1;
                    report.orphan_bytes_removed += object.size_bytes;
                }
            }
            match next {
                Some(token) => continuation = Some(token),
                None => break,
            }
        }
        if let Some(uploads) = self.store.list_multipart_uploads(&prefix).await? {
            for (key, upload_id, initiated) in uploads {
                if !old_enough(initiated) {
                    continue;
                }
                let owned: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM reservations WHERE organization_id = $1 AND object_key = $2 \
                     AND upload_id = $3 AND state = 'open'",
                )
                .bind(organization_id)
                .bind(&key)
                .bind(&upload_id)
                .fetch_optional(&self.db.pool)
                .await?;
                if owned.is_none() {
                    self.store.abort_multipart(&key, &upload_id).await?;
                    tracing::info!(%key, "orphan multipart upload aborted");
                    report.multipart_uploads_aborted += 1;
                }
            }
        }
        Ok(())
    }

    /// Which of `keys` an asset (live or trashed) or an open reservation of the organization owns.
    async fn owned_keys(
        &self,
        organization_id: &str,
        keys: &[&str],
    ) -> Result<std::collections::HashSet<String>> {
        let placeholders = (0..keys.len())
            .map(|index| format!("${}", index + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT object_key FROM assets WHERE organization_id = $1 AND object_key IN ({placeholders}) \
             UNION SELECT object_key FROM reservations WHERE organization_id = $1 AND state = 'open' \
             AND object_key IN ({placeholders})"
        );
        let mut query =
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(organization_id);
        for key in keys {
            query = query.bind(*key);
        }
        Ok(query.fetch_all(&self.db.pool).await?.into_iter().collect())
    }
}
