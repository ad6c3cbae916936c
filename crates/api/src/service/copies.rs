//! Content-addressed copies: a reservation the server fills itself with a server-side CopyObject.

use super::*;

impl Api {
    /// Creates an asset from content the organization already stores, live or
    /// in the trash, without the client sending the bytes: a reservation the
    /// server fills with a CopyObject into the new asset's own key, verified
    /// and committed like an upload. Content is looked up in the caller's
    /// organization only; unknown content is `ContentUnknown`.
    pub async fn copy(&self, ctx: &DeviceContext, request: &CopyRequest) -> Result<Asset> {
        validate_sha256(&request.content_sha256)?;
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
            Ok(true) => self.verify_copy(&reservation).await.err(),
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
    pub(super) async fn stored_content(
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

    /// Verifies a copied object like an upload ([`Api::verify_object`]:
    /// the store's whole-object SHA-256, else a read-back hash). A mismatch
    /// is the server's problem, never the client's: a 500, logged.
    pub(super) async fn verify_copy(&self, reservation: &OpenReservation) -> Result<()> {
        self.verify_object(reservation)
            .await
            .map_err(|error| match error {
                Error::ObjectMissing => Error::Internal("the copied object is missing".into()),
                Error::ObjectMismatch(message) => Error::Internal(format!(
                    "the copied object is not the requested content: {message}"
                )),
                other => other,
            })
    }

    // ------------------------------------------------------------ assets
}
