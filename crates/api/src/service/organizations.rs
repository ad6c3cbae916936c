//! Organizations: creation, plans and limits, organization settings.

use super::*;

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
}
