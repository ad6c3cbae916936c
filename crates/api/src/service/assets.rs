//! Assets: reads, renames, moves, trash, restore, purge, storage classes and downloads.

use super::*;

impl Api {
    pub async fn asset(&self, ctx: &DeviceContext, asset_id: Uuid) -> Result<Asset> {
        let row = self.asset_row(ctx.organization_id, asset_id).await?;
        asset_from_row(&row)
    }

    pub(super) async fn asset_row(&self, organization_id: Uuid, asset_id: Uuid) -> Result<AnyRow> {
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
    pub(super) async fn update_asset(
        &self,
        ctx: &DeviceContext,
        asset_id: Uuid,
        sql: &'static str,
        binds: AssetUpdate,
    ) -> Result<Asset> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        // Tree lock first (organization, then the asset row): a move or
        // restore cannot interleave with a folder being trashed.
        super::folders::lock_tree(&mut tx, ctx.organization_id).await?;
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
        commit_with_change(
            tx,
            ctx.organization_id,
            now,
            &Change::AssetUpserted {
                at: now,
                asset: asset.clone(),
            },
        )
        .await?;
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
            // The target folder is checked again in the transaction, under
            // the tree lock: it may have been trashed since the check above.
            "UPDATE assets SET folder_id = $4, updated_at = $3 WHERE id = $1 AND organization_id = $2 AND trashed_at IS NULL \
             AND ($4 IS NULL OR EXISTS (SELECT 1 FROM folders f WHERE f.id = $4 AND f.organization_id = $2 AND f.trashed_at IS NULL))",
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
        // Whether the folder is live is decided in the UPDATE itself, under
        // the tree lock, so a folder trashed meanwhile never gets a live asset.
        let sql = "UPDATE assets SET trashed_at = NULL, updated_at = $3, folder_id = CASE WHEN folder_id IS NULL \
             OR EXISTS (SELECT 1 FROM folders f WHERE f.id = assets.folder_id AND f.organization_id = $2 AND f.trashed_at IS NULL) \
             THEN folder_id ELSE NULL END WHERE id = $1 AND organization_id = $2";
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

    pub(super) async fn purge(&self, organization_id: Uuid, asset_id: Uuid) -> Result<Option<u64>> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        super::folders::lock_tree(&mut tx, organization_id).await?;
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
        commit_with_change(
            tx,
            organization_id,
            now,
            &Change::AssetDeleted { at: now, asset_id },
        )
        .await?;
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

    pub(super) async fn change_class(
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
        commit_with_change(
            tx,
            ctx.organization_id,
            now,
            &Change::AssetUpserted {
                at: now,
                asset: asset.clone(),
            },
        )
        .await?;
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
}
