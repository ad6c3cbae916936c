//! `thumb://localhost/<grid|preview>/<asset id>`: thumbnails straight from the
//! on-disk cache into `<img>` tags (on Windows the webview spells it
//! `http://thumb.localhost/...`). No base64 over IPC; the webview caches them
//! like any image. The index lookup (asset → content hash) is a prepared
//! statement; the file read happens off the main thread.

use crate::state::AppState;
use photopro_index::AssetId;
use photopro_media::{ContentHash, ThumbnailSize};
use tauri::http::{header, Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

pub const SCHEME: &str = "thumb";

/// Parse `/grid/42` into the size and asset id.
pub fn parse_path(path: &str) -> Option<(ThumbnailSize, AssetId)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let size = match parts.next()? {
        "grid" => ThumbnailSize::Grid,
        "preview" => ThumbnailSize::Preview,
        _ => return None,
    };
    let id = AssetId(parts.next()?.parse::<i64>().ok()?);
    parts.next().is_none().then_some((size, id))
}

/// The JPEG bytes for a request, or the status to answer with.
pub fn thumbnail(state: &AppState, path: &str) -> Result<Vec<u8>, StatusCode> {
    let (size, asset) = parse_path(path).ok_or(StatusCode::BAD_REQUEST)?;
    let hash = state
        .reader()
        .asset(asset)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .and_then(|a| a.content_hash)
        .ok_or(StatusCode::NOT_FOUND)?;
    let hash = ContentHash::from_hex(&hash).ok_or(StatusCode::NOT_FOUND)?;
    std::fs::read(state.thumbnails.path(&hash, size)).map_err(|_| StatusCode::NOT_FOUND)
}

pub fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    let path = request.uri().path().to_string();
    tauri::async_runtime::spawn_blocking(move || {
        let response = match thumbnail(&app.state::<AppState>(), &path) {
            Ok(bytes) => Response::builder()
                .header(header::CONTENT_TYPE, "image/jpeg")
                .header(header::CACHE_CONTROL, "max-age=300")
                .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
                .body(bytes),
            Err(status) => Response::builder().status(status).body(Vec::new()),
        };
        responder.respond(response.expect("static headers are valid"));
    });
}
