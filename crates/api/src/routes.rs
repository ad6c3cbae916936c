//! The HTTP surface: one route table, thin handlers, and the OpenAPI
//! document generated from the same handlers.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use photopro_wire as wire;
use serde::Deserialize;
use utoipa::OpenApi;

use crate::auth;
use crate::error::{Error, Result};
use crate::http_server::Hygiene;
use crate::limits::ClientAddr;
use crate::service::{parse_id, price_list, Api, DeviceContext};

pub type AppState = Arc<Api>;

/// A JSON body whose rejections (malformed JSON, wrong types, negative or
/// overflowing sizes) become our 400 `ErrorBody` instead of axum's plain text.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct AppJson<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct AppQuery<T>(pub T);

/// Who is calling, for rate limits: the client address and the HTTP layer's
/// limiters (absent when the router is served without [`app`]'s middleware).
pub struct Client {
    pub hygiene: Option<Arc<Hygiene>>,
    pub addr: ClientAddr,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client {
            hygiene: parts.extensions.get::<Arc<Hygiene>>().cloned(),
            addr: parts
                .extensions
                .get::<ClientAddr>()
                .copied()
                .unwrap_or(ClientAddr(None)),
        })
    }
}

impl Client {
    /// Authenticates with `check`, counting failures against the address's
    /// failed-authentication budget; an address that used it up gets 429
    /// before its token is even looked at.
    async fn authenticate<T>(
        &self,
        check: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let key = self.addr.key();
        if let Some(hygiene) = &self.hygiene {
            if let Err(wait) = hygiene.failed_auth.check(&key) {
                return Err(hygiene.refuse(
                    "failed_auth",
                    "failed authentications from this address",
                    wait,
                ));
            }
        }
        let result = check.await;
        if let (Err(Error::Unauthorized), Some(hygiene)) = (&result, &self.hygiene) {
            hygiene.failed_auth.record(&key);
        }
        result
    }
}

fn bearer_header(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}

/// The authenticated device of a request (`Authorization: Bearer ppd_…`).
pub struct DeviceAuth(pub DeviceContext);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, api: &AppState) -> Result<Self> {
        let Ok(client) = Client::from_request_parts(parts, api).await;
        let header = bearer_header(parts);
        let context = client
            .authenticate(async { api.authenticate(auth::bearer(header)?).await })
            .await?;
        Ok(DeviceAuth(context))
    }
}

/// The admin credential (`Authorization: Bearer <admin token>`), separate from device tokens.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, api: &AppState) -> Result<Self> {
        let Ok(client) = Client::from_request_parts(parts, api).await;
        let header = bearer_header(parts);
        client
            .authenticate(async { api.check_admin(auth::bearer(header)?) })
            .await?;
        Ok(AdminAuth)
    }
}

/// The route table with the HTTP middleware ([`crate::http_server::middleware`]:
/// request ids, JSON errors, body limit, request timeout, metrics) and the
/// shared state of the rate limiters, configured by `api.settings.http`.
pub fn app(api: AppState) -> (Router, Arc<Hygiene>) {
    let hygiene = Arc::new(Hygiene::new(api.settings.http.clone()));
    let app = router(api)
        .layer(axum::extract::DefaultBodyLimit::max(
            hygiene.settings.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            hygiene.clone(),
            crate::http_server::middleware,
        ));
    (app, hygiene)
}

/// The route table alone (see [`app`] for what serves it).
pub fn router(api: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/livez", get(health))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/tiers", get(tiers))
        .route("/v1/devices/pair", post(pair_device))
        .route("/v1/devices", get(list_devices))
        .route("/v1/devices/{id}", axum::routing::delete(revoke_device))
        .route("/v1/pairing-codes", post(create_pairing_code))
        .route("/v1/uploads", post(reserve).get(list_uploads))
        .route("/v1/uploads/{id}", get(upload_status).delete(cancel_upload))
        .route("/v1/uploads/{id}/complete", post(complete_upload))
        .route("/v1/uploads/{id}/parts", post(part_urls))
        .route("/v1/assets", get(list_assets))
        .route("/v1/assets/copy", post(copy_asset))
        .route(
            "/v1/assets/{id}",
            get(get_asset).patch(rename_asset).delete(trash_asset),
        )
        .route("/v1/assets/{id}/restore", post(restore_asset))
        .route("/v1/assets/{id}/move", post(move_asset))
        .route("/v1/assets/{id}/purge", post(purge_asset))
        .route("/v1/assets/{id}/storage-class", put(set_storage_class))
        .route("/v1/assets/{id}/download", get(download_asset))
        .route("/v1/folders", get(list_folders).post(create_folder))
        .route(
            "/v1/folders/{id}",
            get(get_folder).patch(update_folder).delete(trash_folder),
        )
        .route("/v1/folders/{id}/restore", post(restore_folder))
        .route("/v1/folders/{id}/move", post(move_folder))
        .route("/v1/changes", get(changes))
        .route("/v1/changes/latest", get(latest_cursor))
        .route("/v1/usage", get(usage))
        .route("/v1/settings", get(get_settings).put(put_settings))
        .route(
            "/admin/v1/organizations",
            get(admin_list_organizations).post(admin_create_organization),
        )
        .route("/admin/v1/organizations/{id}", get(admin_get_organization))
        .route("/admin/v1/organizations/{id}/plan", put(admin_set_plan))
        .route(
            "/admin/v1/organizations/{id}/devices",
            post(admin_issue_token),
        )
        .route(
            "/admin/v1/organizations/{id}/pairing-codes",
            post(admin_pairing_code),
        )
        .route(
            "/admin/v1/devices/{id}",
            axum::routing::delete(admin_revoke_device),
        )
        .route("/admin/v1/maintenance", post(admin_maintenance))
        .fallback(|| async { Error::NotFound("route") })
        .with_state(api)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "PhotoProOS Storage API", description = "Quota, presigned uploads and the change journal. \
        All sizes are bytes in binary units (1 GiB = 2^30 bytes, 1 TiB = 2^40 bytes); times are Unix seconds."),
    paths(
        health, readyz, tiers, pair_device, list_devices, revoke_device, create_pairing_code, reserve, list_uploads, upload_status, cancel_upload, part_urls,
        complete_upload, copy_asset, list_assets, get_asset, rename_asset, trash_asset, restore_asset, move_asset, purge_asset,
        set_storage_class, download_asset, list_folders, create_folder, get_folder, update_folder, trash_folder,
        restore_folder, move_folder, changes, latest_cursor, usage, get_settings, put_settings,
        admin_list_organizations, admin_create_organization, admin_get_organization, admin_set_plan,
        admin_issue_token, admin_pairing_code, admin_revoke_device, admin_maintenance
    ),
    components(schemas(wire::ErrorBody, wire::Change)),
    modifiers(&BearerSecurity, &CommonErrors)
)]
pub struct ApiDoc;

struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every operation can also answer these, with an `ErrorBody` (listed once
/// here instead of on every handler).
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for (mutation, operation) in [
                (false, &mut item.get),
                (true, &mut item.put),
                (true, &mut item.post),
                (false, &mut item.delete),
                (true, &mut item.patch),
            ]
            .into_iter()
            .filter_map(|(mutation, operation)| operation.as_mut().map(|op| (mutation, op)))
            {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description).into());
                };
                add("400", "bad_request: malformed JSON, parameters or values");
                if secured {
                    add(
                        "401",
                        "unauthorized: missing, invalid or revoked credentials",
                    );
                }
                add("404", "not_found");
                if secured && mutation {
                    // Found by the schemathesis run: PATCH /v1/folders/{id} answered an undocumented 409.
                    add(
                        "409",
                        "conflict: the name is taken in that folder, a folder would contain itself, \
                         or the object's state does not allow the change",
                    );
                }
                add("405", "method_not_allowed");
                add(
                    "413",
                    "payload_too_large: the body is over the server's limit",
                );
                add(
                    "415",
                    "unsupported_media_type: send JSON with Content-Type: application/json",
                );
                add(
                    "429",
                    "rate_limited: too many pairing attempts, failed authentications or pairing codes; \
                     wait the `Retry-After` seconds",
                );
                add("503", "request_timeout or not_ready");
            }
        }
    }
}

/// Liveness (also `/livez`): the process is up and serving.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "The process is up", body = String)))]
async fn health() -> &'static str {
    "ok"
}

/// Readiness: the database answers and the object store is reachable.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready for traffic", body = String),
    (status = 503, description = "not_ready: the message names what is unreachable", body = wire::ErrorBody)))]
async fn readyz(State(api): State<AppState>) -> Result<&'static str> {
    let limit = std::time::Duration::from_secs(5);
    match tokio::time::timeout(limit, sqlx::query("SELECT 1").execute(&api.db.pool)).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: database");
            return Err(Error::NotReady("the database does not answer".into()));
        }
        Err(_) => {
            return Err(Error::NotReady(
                "the database did not answer within 5 s".into(),
            ))
        }
    }
    // A HEAD of a key that never exists: "not found" proves the store answers.
    match tokio::time::timeout(limit, api.store.head("readyz/probe")).await {
        Ok(Ok(_)) => Ok("ready"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: object store");
            Err(Error::NotReady("the object store does not answer".into()))
        }
        Err(_) => Err(Error::NotReady(
            "the object store did not answer within 5 s".into(),
        )),
    }
}

/// Prometheus text format; the admin token is required unless `--metrics-public`.
async fn metrics(
    State(api): State<AppState>,
    client: Client,
    parts: Parts,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let Some(hygiene) = client.hygiene.clone() else {
        return Err(Error::NotFound("route"));
    };
    if !hygiene.settings.metrics_public {
        let header = bearer_header(&parts);
        client
            .authenticate(async { api.check_admin(auth::bearer(header)?) })
            .await?;
    }
    let text = hygiene.metrics.render(&api).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[utoipa::path(get, path = "/v1/tiers", responses((status = 200, body = wire::PriceList)))]
async fn tiers() -> Json<wire::PriceList> {
    Json(price_list())
}

#[utoipa::path(post, path = "/v1/devices/pair", request_body = wire::PairDeviceRequest,
    responses((status = 201, body = wire::DeviceToken), (status = 401, body = wire::ErrorBody)))]
async fn pair_device(
    State(api): State<AppState>,
    client: Client,
    AppJson(request): AppJson<wire::PairDeviceRequest>,
) -> Result<(StatusCode, Json<wire::DeviceToken>)> {
    // Every attempt counts, so concurrent guesses cannot overshoot the budget.
    if let Some(hygiene) = &client.hygiene {
        if let Err(wait) = hygiene.pairing_attempts.acquire(&client.addr.key()) {
            return Err(hygiene.refuse(
                "pairing_attempts",
                "pairing attempts from this address",
                wait,
            ));
        }
    }
    Ok((StatusCode::CREATED, Json(api.pair_device(&request).await?)))
}

#[utoipa::path(get, path = "/v1/devices", security(("device" = [])), responses((status = 200, body = Vec<wire::Device>)))]
async fn list_devices(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
) -> Result<Json<Vec<wire::Device>>> {
    Ok(Json(api.list_devices(&ctx).await?))
}

#[utoipa::path(delete, path = "/v1/devices/{id}", security(("device" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = wire::ErrorBody)))]
async fn revoke_device(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    api.revoke_device(Some(ctx.organization_id), parse_id(&id, "device")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/pairing-codes", security(("device" = [])), responses((status = 201, body = wire::PairingCode)))]
async fn create_pairing_code(
    State(api): State<AppState>,
    client: Client,
    DeviceAuth(ctx): DeviceAuth,
) -> Result<(StatusCode, Json<wire::PairingCode>)> {
    if let Some(hygiene) = &client.hygiene {
        if let Err(wait) = hygiene.pairing_codes.acquire(&ctx.device_id.to_string()) {
            return Err(hygiene.refuse(
                "pairing_codes",
                "pairing codes created by this device",
                wait,
            ));
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(api.create_pairing_code(ctx.organization_id).await?),
    ))
}

#[utoipa::path(post, path = "/v1/uploads", security(("device" = [])), request_body = wire::ReserveRequest,
    responses((status = 201, body = wire::Reservation),
        (status = 409, description = "quota_exceeded: the body carries used, limit, needed and the smallest plan that fits; \
            conflict (with `replaces` only): a live asset or folder already has this name in the folder (the replaced asset's name is free)", body = wire::ErrorBody),
        (status = 412, description = "precondition_failed: `replaces` names an asset that is not live with that content", body = wire::ErrorBody),
        (status = 400, body = wire::ErrorBody)))]
async fn reserve(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    AppJson(request): AppJson<wire::ReserveRequest>,
) -> Result<(StatusCode, Json<wire::Reservation>)> {
    Ok((
        StatusCode::CREATED,
        Json(api.reserve(&ctx, &request).await?),
    ))
}

#[derive(Debug, Deserialize)]
struct UploadsQuery {
    state: Option<String>,
}

#[utoipa::path(get, path = "/v1/uploads", security(("device" = [])), params(("state" = Option<String>, Query, description = "only `open` (the default)")),
    responses((status = 200, description = "The calling device's open reservations, oldest first, to resume or cancel", body = wire::OpenUploadList),
        (status = 400, body = wire::ErrorBody)))]
async fn list_uploads(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    AppQuery(query): AppQuery<UploadsQuery>,
) -> Result<Json<wire::OpenUploadList>> {
    if query.state.as_deref().is_some_and(|state| state != "open") {
        return Err(Error::bad_request("state must be `open`"));
    }
    Ok(Json(api.open_uploads(&ctx).await?))
}

#[utoipa::path(get, path = "/v1/uploads/{id}", security(("device" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Fresh URLs and the parts already stored, to resume", body = wire::UploadStatus),
        (status = 410, body = wire::ErrorBody)))]
async fn upload_status(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::UploadStatus>> {
    Ok(Json(
        api.upload_status(&ctx, parse_id(&id, "reservation")?)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/v1/uploads/{id}", security(("device" = [])), params(("id" = String, Path)), responses((status = 204)))]
async fn cancel_upload(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    api.cancel_reservation(&ctx, parse_id(&id, "reservation")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/uploads/{id}/parts", security(("device" = [])), params(("id" = String, Path)),
    request_body = wire::PartUrlsRequest,
    responses((status = 200, description = "Presigned part URLs, each bound to the declared SHA-256 of its part", body = wire::PartUrls),
        (status = 400, body = wire::ErrorBody), (status = 409, body = wire::ErrorBody), (status = 410, body = wire::ErrorBody)))]
async fn part_urls(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::PartUrlsRequest>,
) -> Result<Json<wire::PartUrls>> {
    Ok(Json(
        api.part_urls(&ctx, parse_id(&id, "reservation")?, &request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/uploads/{id}/complete", security(("device" = [])), params(("id" = String, Path)),
    request_body = wire::CompleteRequest,
    responses((status = 200, body = wire::Asset),
        (status = 409, description = "object_missing (retry later); conflict: a replacement's name was taken meanwhile (reservation released, object deleted)", body = wire::ErrorBody),
        (status = 412, description = "precondition_failed: the replaced asset changed since the reservation; nothing was created, \
            the reservation is released and the object deleted", body = wire::ErrorBody),
        (status = 410, description = "reservation_expired", body = wire::ErrorBody),
        (status = 422, description = "object_mismatch: wrong size or checksum; the object was removed", body = wire::ErrorBody)))]
async fn complete_upload(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<wire::Asset>> {
    // The body is optional: a single-part completion may send nothing at all.
    let request: wire::CompleteRequest = if body.iter().all(u8::is_ascii_whitespace) {
        wire::CompleteRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))?
    };
    Ok(Json(
        api.complete(&ctx, parse_id(&id, "reservation")?, &request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/assets/copy", security(("device" = [])), request_body = wire::CopyRequest,
    responses((status = 201, description = "A new asset with content the organization already stores; no bytes were sent", body = wire::Asset),
        (status = 404, description = "content_unknown: the organization stores no such content, upload it; not_found: unknown folder", body = wire::ErrorBody),
        (status = 409, description = "quota_exceeded (the copy counts against the cap like an upload); conflict: the name is taken", body = wire::ErrorBody),
        (status = 412, description = "precondition_failed: `replaces` names an asset that is not live with that content", body = wire::ErrorBody),
        (status = 400, body = wire::ErrorBody)))]
async fn copy_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    AppJson(request): AppJson<wire::CopyRequest>,
) -> Result<(StatusCode, Json<wire::Asset>)> {
    Ok((StatusCode::CREATED, Json(api.copy(&ctx, &request).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ListQuery {
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/assets", security(("device" = [])), params(ListQuery), responses((status = 200, body = wire::AssetPage)))]
async fn list_assets(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<Json<wire::AssetPage>> {
    Ok(Json(
        api.list_assets(&ctx, query.after, query.limit.unwrap_or(500))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/assets/{id}", security(("device" = [])), params(("id" = String, Path)),
    responses((status = 200, body = wire::Asset), (status = 404, body = wire::ErrorBody)))]
async fn get_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Asset>> {
    Ok(Json(api.asset(&ctx, parse_id(&id, "asset")?).await?))
}

#[utoipa::path(patch, path = "/v1/assets/{id}", security(("device" = [])), params(("id" = String, Path)),
    request_body = wire::RenameRequest, responses((status = 200, body = wire::Asset)))]
async fn rename_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::RenameRequest>,
) -> Result<Json<wire::Asset>> {
    Ok(Json(
        api.rename_asset(&ctx, parse_id(&id, "asset")?, &request.name)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/v1/assets/{id}", security(("device" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "Moved to the trash", body = wire::Asset)))]
async fn trash_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Asset>> {
    Ok(Json(api.trash_asset(&ctx, parse_id(&id, "asset")?).await?))
}

#[utoipa::path(post, path = "/v1/assets/{id}/restore", security(("device" = [])), params(("id" = String, Path)), responses((status = 200, body = wire::Asset)))]
async fn restore_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Asset>> {
    Ok(Json(
        api.restore_asset(&ctx, parse_id(&id, "asset")?).await?,
    ))
}

#[utoipa::path(post, path = "/v1/assets/{id}/move", security(("device" = [])), params(("id" = String, Path)),
    request_body = wire::MoveRequest, responses((status = 200, body = wire::Asset)))]
async fn move_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::MoveRequest>,
) -> Result<Json<wire::Asset>> {
    Ok(Json(
        api.move_asset(&ctx, parse_id(&id, "asset")?, request.parent_id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/assets/{id}/purge", security(("device" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted for good"), (status = 409, body = wire::ErrorBody)))]
async fn purge_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    api.purge_asset(&ctx, parse_id(&id, "asset")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/v1/assets/{id}/storage-class", security(("device" = [])), params(("id" = String, Path)),
    request_body = wire::SetStorageClassRequest, responses((status = 200, body = wire::StorageClassChange)))]
async fn set_storage_class(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::SetStorageClassRequest>,
) -> Result<Json<wire::StorageClassChange>> {
    Ok(Json(
        api.set_storage_class(&ctx, parse_id(&id, "asset")?, request.storage_class)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/assets/{id}/download", security(("device" = [])), params(("id" = String, Path)), responses((status = 200, body = wire::Download)))]
async fn download_asset(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Download>> {
    Ok(Json(api.download(&ctx, parse_id(&id, "asset")?).await?))
}

#[utoipa::path(get, path = "/v1/folders", security(("device" = [])), responses((status = 200, body = wire::FolderList)))]
async fn list_folders(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
) -> Result<Json<wire::FolderList>> {
    Ok(Json(api.list_folders(&ctx).await?))
}

#[utoipa::path(post, path = "/v1/folders", security(("device" = [])), request_body = wire::CreateFolderRequest,
    responses((status = 201, body = wire::Folder), (status = 409, body = wire::ErrorBody)))]
async fn create_folder(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    AppJson(request): AppJson<wire::CreateFolderRequest>,
) -> Result<(StatusCode, Json<wire::Folder>)> {
    Ok((
        StatusCode::CREATED,
        Json(api.create_folder(&ctx, &request).await?),
    ))
}

#[utoipa::path(get, path = "/v1/folders/{id}", security(("device" = [])), params(("id" = String, Path)), responses((status = 200, body = wire::Folder)))]
async fn get_folder(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Folder>> {
    Ok(Json(api.folder(&ctx, parse_id(&id, "folder")?).await?))
}

#[utoipa::path(patch, path = "/v1/folders/{id}", security(("device" = [])), params(("id" = String, Path)),
    request_body = wire::UpdateFolderRequest, responses((status = 200, body = wire::Folder)))]
async fn update_folder(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::UpdateFolderRequest>,
) -> Result<Json<wire::Folder>> {
    Ok(Json(
        api.update_folder(&ctx, parse_id(&id, "folder")?, &request)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/v1/folders/{id}", security(("device" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The folder and its contents are in the trash", body = wire::Folder)))]
async fn trash_folder(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Folder>> {
    Ok(Json(
        api.trash_folder(&ctx, parse_id(&id, "folder")?).await?,
    ))
}

#[utoipa::path(post, path = "/v1/folders/{id}/restore", security(("device" = [])), params(("id" = String, Path)), responses((status = 200, body = wire::Folder)))]
async fn restore_folder(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Folder>> {
    Ok(Json(
        api.restore_folder(&ctx, parse_id(&id, "folder")?).await?,
    ))
}

#[utoipa::path(post, path = "/v1/folders/{id}/move", security(("device" = [])), params(("id" = String, Path)),
    request_body = wire::MoveRequest, responses((status = 200, body = wire::Folder)))]
async fn move_folder(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::MoveRequest>,
) -> Result<Json<wire::Folder>> {
    Ok(Json(
        api.move_folder(&ctx, parse_id(&id, "folder")?, request.parent_id)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ChangesQuery {
    /// From a previous page or `/v1/changes/latest`; omit to read from the beginning.
    cursor: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/changes", security(("device" = [])), params(ChangesQuery),
    responses((status = 200, body = wire::ChangePage),
        (status = 410, description = "cursor_reset: list assets and folders again, then continue from /v1/changes/latest", body = wire::ErrorBody)))]
async fn changes(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    AppQuery(query): AppQuery<ChangesQuery>,
) -> Result<Json<wire::ChangePage>> {
    Ok(Json(
        api.changes(&ctx, query.cursor.as_deref(), query.limit.unwrap_or(500))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/changes/latest", security(("device" = [])), responses((status = 200, body = wire::Cursor)))]
async fn latest_cursor(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
) -> Result<Json<wire::Cursor>> {
    Ok(Json(api.latest_cursor(&ctx).await?))
}

#[utoipa::path(get, path = "/v1/usage", security(("device" = [])), responses((status = 200, body = wire::Usage)))]
async fn usage(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
) -> Result<Json<wire::Usage>> {
    Ok(Json(api.usage(&ctx).await?))
}

#[utoipa::path(get, path = "/v1/settings", security(("device" = [])), responses((status = 200, body = wire::OrganizationSettings)))]
async fn get_settings(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
) -> Result<Json<wire::OrganizationSettings>> {
    Ok(Json(api.organization_settings(ctx.organization_id).await?))
}

#[utoipa::path(put, path = "/v1/settings", security(("device" = [])), request_body = wire::OrganizationSettings,
    responses((status = 200, body = wire::OrganizationSettings)))]
async fn put_settings(
    State(api): State<AppState>,
    DeviceAuth(ctx): DeviceAuth,
    AppJson(request): AppJson<wire::OrganizationSettings>,
) -> Result<Json<wire::OrganizationSettings>> {
    Ok(Json(api.set_organization_settings(&ctx, &request).await?))
}

#[utoipa::path(get, path = "/admin/v1/organizations", security(("admin" = [])), responses((status = 200, body = Vec<wire::Organization>)))]
async fn admin_list_organizations(
    State(api): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<Vec<wire::Organization>>> {
    Ok(Json(api.list_organizations().await?))
}

#[utoipa::path(post, path = "/admin/v1/organizations", security(("admin" = [])), request_body = wire::CreateOrganizationRequest,
    responses((status = 201, body = wire::Organization)))]
async fn admin_create_organization(
    State(api): State<AppState>,
    _admin: AdminAuth,
    AppJson(request): AppJson<wire::CreateOrganizationRequest>,
) -> Result<(StatusCode, Json<wire::Organization>)> {
    Ok((
        StatusCode::CREATED,
        Json(api.create_organization(&request).await?),
    ))
}

#[utoipa::path(get, path = "/admin/v1/organizations/{id}", security(("admin" = [])), params(("id" = String, Path)), responses((status = 200, body = wire::Organization)))]
async fn admin_get_organization(
    State(api): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<wire::Organization>> {
    Ok(Json(
        api.organization(parse_id(&id, "organization")?).await?,
    ))
}

#[utoipa::path(put, path = "/admin/v1/organizations/{id}/plan", security(("admin" = [])), params(("id" = String, Path)),
    request_body = wire::SetPlanRequest, responses((status = 200, body = wire::Organization)))]
async fn admin_set_plan(
    State(api): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::SetPlanRequest>,
) -> Result<Json<wire::Organization>> {
    Ok(Json(
        api.set_plan(parse_id(&id, "organization")?, &request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/admin/v1/organizations/{id}/devices", security(("admin" = [])), params(("id" = String, Path)),
    request_body = wire::IssueTokenRequest, responses((status = 201, body = wire::DeviceToken)))]
async fn admin_issue_token(
    State(api): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
    AppJson(request): AppJson<wire::IssueTokenRequest>,
) -> Result<(StatusCode, Json<wire::DeviceToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            api.issue_device_token(parse_id(&id, "organization")?, &request.device_name)
                .await?,
        ),
    ))
}

#[utoipa::path(post, path = "/admin/v1/organizations/{id}/pairing-codes", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 201, body = wire::PairingCode)))]
async fn admin_pairing_code(
    State(api): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<wire::PairingCode>)> {
    let organization_id = parse_id(&id, "organization")?;
    api.organization(organization_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(api.create_pairing_code(organization_id).await?),
    ))
}

#[utoipa::path(delete, path = "/admin/v1/devices/{id}", security(("admin" = [])), params(("id" = String, Path)), responses((status = 204)))]
async fn admin_revoke_device(
    State(api): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    api.revoke_device(None, parse_id(&id, "device")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/v1/maintenance", security(("admin" = [])), responses((status = 200, body = wire::MaintenanceReport)))]
async fn admin_maintenance(
    State(api): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<wire::MaintenanceReport>> {
    let result = api.run_maintenance().await;
    crate::server::maintenance_stats().record(&result, api.now());
    Ok(Json(result?))
}
