//! The change journal: pages of changes after a cursor.

use super::*;

impl Api {
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
        let key = self.cursor_key().await?;
        let after = match cursor {
            Some(cursor) => decode_cursor(&key, ctx.organization_id, cursor)?,
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
            cursor: encode_cursor(&key, ctx.organization_id, last),
            has_more,
        })
    }

    pub async fn latest_cursor(&self, ctx: &DeviceContext) -> Result<Cursor> {
        let head: i64 = sqlx::query_scalar("SELECT journal_head FROM organizations WHERE id = $1")
            .bind(ctx.organization_id.to_string())
            .fetch_one(&self.db.pool)
            .await?;
        let key = self.cursor_key().await?;
        Ok(Cursor {
            cursor: encode_cursor(&key, ctx.organization_id, head),
        })
    }

    // ------------------------------------------------------------ usage and settings
}
