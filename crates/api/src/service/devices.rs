//! Devices: tokens, authentication, pairing codes, listing and revocation.

use super::*;

impl Api {
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

    pub(super) async fn insert_device(
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
}
