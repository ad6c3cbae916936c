//! Usage: bytes used and reserved, per storage class and folder, with warnings and the upgrade offer.

use super::*;

impl Api {
    pub async fn usage(&self, ctx: &DeviceContext) -> Result<Usage> {
        // Reservations past their expiry hold nothing any more.
        self.expire_due_reservations(ctx.organization_id).await?;
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
        // What the cap check weighs: stored bytes and bytes held for uploads in progress.
        let percent_used = percent(organization.used_bytes + organization.reserved_bytes);
        let warning = [95u32, 80]
            .into_iter()
            .find(|threshold| percent_used >= *threshold as f64)
            .map(|threshold| UsageWarning {
                threshold_percent: threshold,
                message: if organization.reserved_bytes > 0 {
                    format!(
                        "{percent_used:.0} % of your {} is used or held for uploads in progress ({} reserved); \
                         uploads stop at the cap",
                        human_bytes(organization.limit_bytes),
                        human_bytes(organization.reserved_bytes)
                    )
                } else {
                    format!(
                        "{percent_used:.0} % of your {} is used; uploads stop at the cap",
                        human_bytes(organization.limit_bytes)
                    )
                },
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
}
