//! `thumb://localhost/<grid|preview>/<asset id>`: thumbnails straight from the
//! on-disk cache into `<img>` tags (on Windows the webview spells it
//! `http://thumb.localhost/...`). No base64 over IPC; the webview caches them
//! like any image. The scan makes grid thumbnails; a preview is rendered from
//! the original on its first request (`photopro_library::thumbnails`). The
//! index is held only for the lookup; reading and rendering happen off the
//! main thread.

use crate::state::AppState;
use photopro_index::AssetId;
use photopro_library::thumbnails::ThumbnailRequest;
use photopro_library::LibraryError;
use photopro_media::{ThumbnailSize, ThumbnailSpec};
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

/// The JPEG bytes for a request, or the status and the reason to answer with.
pub fn thumbnail(state: &AppState, path: &str) -> Result<Vec<u8>, (StatusCode, String)> {
    let (size, asset) = parse_path(path).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            format!("not a thumbnail address: {path}"),
        )
    })?;
    let request = ThumbnailRequest::lookup(&state.reader(), asset, size);
    let served = request.and_then(|r| r.serve(&state.thumbnails, &ThumbnailSpec::default()));
    match served {
        Ok(served) => {
            if let Some(reason) = &served.fallback {
                tracing::warn!(%reason, "preview unavailable, serving the grid thumbnail");
            }
            Ok(served.jpeg)
        }
        Err(error @ LibraryError::Index(photopro_index::IndexError::Sqlite(_))) => {
            Err((StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))
        }
        Err(error) => Err((StatusCode::NOT_FOUND, error.to_string())),
    }
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
            Err((status, message)) => Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(message.into_bytes()),
        };
        responder.respond(response.expect("static headers are valid"));
    });
}
