//! Folders: the tree, its settings, moves, trash and restore.

use super::*;

/// Serializes the organization's tree mutations: every transaction that
/// moves, creates, trashes or restores a folder, moves or restores an asset,
/// or completes an upload into a folder takes the organization row first and
/// checks the tree inside the same transaction. On PostgreSQL this is the
/// row lock of an UPDATE, held to commit (so two crossing moves cannot both
/// pass their ancestry checks and form a cycle); on SQLite the single writer
/// connection and `BEGIN IMMEDIATE` already serialize, and this is a no-op
/// write. Taking it first, before any folder or asset row, keeps one lock
/// order (organization, then rows) and so no deadlocks between these.
pub(super) async fn lock_tree(tx: &mut Tx, organization_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE organizations SET journal_head = journal_head WHERE id = $1")
        .bind(organization_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether `folder_id` is a live (not trashed) folder of the organization, read in `tx`.
pub(super) async fn folder_is_live(
    tx: &mut Tx,
    organization_id: Uuid,
    folder_id: Uuid,
) -> Result<bool> {
    let trashed: Option<Option<i64>> =
        sqlx::query_scalar("SELECT trashed_at FROM folders WHERE id = $1 AND organization_id = $2")
            .bind(folder_id.to_string())
            .bind(organization_id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(matches!(trashed, Some(None)))
}

impl Api {
    pub(super) async fn live_folder(
        &self,
        organization_id: Uuid,
        folder_id: Uuid,
    ) -> Result<Folder> {
        let folder = self.folder_in(organization_id, folder_id).await?;
        if folder.trashed_at.is_some() {
            return Err(Error::NotFound("folder"));
        }
        Ok(folder)
    }

    pub(super) async fn folder_in(&self, organization_id: Uuid, folder_id: Uuid) -> Result<Folder> {
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
        lock_tree(&mut tx, ctx.organization_id).await?;
        // Again inside the transaction: the parent may have been trashed meanwhile.
        if let Some(parent_id) = request.parent_id {
            if !folder_is_live(&mut tx, ctx.organization_id, parent_id).await? {
                tx.rollback().await?;
                return Err(Error::NotFound("folder"));
            }
        }
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
        commit_with_change(
            tx,
            ctx.organization_id,
            now,
            &Change::FolderUpserted {
                at: now,
                folder: folder.clone(),
            },
        )
        .await?;
        Ok(folder)
    }

    /// Runs one folder UPDATE and journals the new state.
    pub(super) async fn update_folder_row(
        &self,
        ctx: &DeviceContext,
        folder_id: Uuid,
        apply: FolderUpdate,
    ) -> Result<Folder> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        lock_tree(&mut tx, ctx.organization_id).await?;
        let id = folder_id.to_string();
        let organization = ctx.organization_id.to_string();
        if let FolderUpdate::Move(Some(parent_id)) = &apply {
            // The ancestry check runs in the transaction that moves, after the
            // organization lock: no other move can change the tree in between.
            if let Err(error) = self
                .check_move(&mut tx, ctx.organization_id, folder_id, *parent_id)
                .await
            {
                tx.rollback().await?;
                return Err(error);
            }
        }
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
        commit_with_change(
            tx,
            ctx.organization_id,
            now,
            &Change::FolderUpserted {
                at: now,
                folder: folder.clone(),
            },
        )
        .await?;
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

    /// Moves a folder under a new parent (or the root). Refuses cycles: the
    /// check and the move are one transaction under the organization's tree
    /// lock (see [`lock_tree`]), so crossing moves cannot both pass.
    pub async fn move_folder(
        &self,
        ctx: &DeviceContext,
        folder_id: Uuid,
        parent_id: Option<Uuid>,
    ) -> Result<Folder> {
        self.live_folder(ctx.organization_id, folder_id).await?;
        self.update_folder_row(ctx, folder_id, FolderUpdate::Move(parent_id))
            .await
    }

    /// Inside a move's transaction: the new parent is live, and the folder
    /// is neither the parent nor one of its ancestors.
    async fn check_move(
        &self,
        tx: &mut Tx,
        organization_id: Uuid,
        folder_id: Uuid,
        parent_id: Uuid,
    ) -> Result<()> {
        if !folder_is_live(tx, organization_id, parent_id).await? {
            return Err(Error::NotFound("folder"));
        }
        // UNION (not UNION ALL) ends the walk even on a cyclic tree.
        let cycle: Option<String> = sqlx::query_scalar(
            "WITH RECURSIVE ancestors(id, parent_id) AS (\
             SELECT id, parent_id FROM folders WHERE id = $1 AND organization_id = $2 \
             UNION SELECT f.id, f.parent_id FROM folders f JOIN ancestors a ON f.id = a.parent_id \
             WHERE f.organization_id = $2) \
             SELECT id FROM ancestors WHERE id = $3 LIMIT 1",
        )
        .bind(parent_id.to_string())
        .bind(organization_id.to_string())
        .bind(folder_id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        if cycle.is_some() {
            return Err(Error::Conflict(
                "a folder cannot move into itself or its own subfolder".into(),
            ));
        }
        Ok(())
    }

    /// The folder and all folders below it, read in `tx`.
    pub(super) async fn subtree(
        &self,
        tx: &mut Tx,
        organization_id: Uuid,
        folder_id: Uuid,
    ) -> Result<Vec<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE tree(id) AS (SELECT id FROM folders WHERE id = $1 AND organization_id = $2 \
             UNION SELECT f.id FROM folders f JOIN tree t ON f.parent_id = t.id WHERE f.organization_id = $2) \
             SELECT id FROM tree",
        )
        .bind(folder_id.to_string())
        .bind(organization_id.to_string())
        .fetch_all(&mut **tx)
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

    pub(super) async fn set_folder_trash(
        &self,
        ctx: &DeviceContext,
        folder_id: Uuid,
        trash: bool,
    ) -> Result<Folder> {
        let now = self.now();
        let organization = ctx.organization_id.to_string();
        let mut tx = self.db.begin().await?;
        // The folder, its state and its subtree are read under the tree lock:
        // a folder moved in concurrently is either trashed with it or not
        // moved in at all.
        lock_tree(&mut tx, ctx.organization_id).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE id = $1 AND organization_id = $2"
        )))
        .bind(folder_id.to_string())
        .bind(&organization)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(Error::NotFound("folder"));
        };
        let folder = folder_from_row(&row)?;
        if folder.trashed_at.is_some() == trash {
            tx.rollback().await?;
            return Ok(folder);
        }
        let subtree = self
            .subtree(&mut tx, ctx.organization_id, folder_id)
            .await?;
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
}
