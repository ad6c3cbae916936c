//! The HTTP/1.1 server and the middleware every request passes through.
//!
//! `axum::serve` has no header-read timeout and no connection cap, so one
//! host could hold thousands of idle connections until file handles ran out.
//! [`serve`] is hyper's HTTP/1 server over an accept loop that
//! - closes connections that do not send a request's headers within
//!   [`HttpSettings::header_read_timeout`] (this also bounds keep-alive idling),
//! - caps open connections in total and per client address (connections over
//!   a cap are accepted and closed at once, so they do not pile up in the
//!   kernel's backlog), and
//! - on shutdown stops accepting and lets in-flight requests finish.
//!
//! [`middleware`] gives every request an id (`x-request-id`), a tracing span,
//! the body limit, the request timeout, metrics, and turns every error the
//! framework produces on its own (404, 405, 413, unparsable paths…) into the
//! JSON `ErrorBody` shape.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tower_service::Service as _;
use tracing::Instrument as _;

use crate::error::{rejection_body, Error, REQUEST_ID};
use crate::limits::{retry_after_seconds, ClientAddr, HttpSettings, Limiter, BODY_LIMIT};
use crate::metrics::Metrics;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Per-instance shared state of the HTTP layer: settings, limiters, metrics.
#[derive(Debug)]
pub struct Hygiene {
    pub settings: HttpSettings,
    pub metrics: Metrics,
    pub pairing_attempts: Limiter,
    pub failed_auth: Limiter,
    pub pairing_codes: Limiter,
}

impl Hygiene {
    pub fn new(settings: HttpSettings) -> Hygiene {
        Hygiene {
            pairing_attempts: Limiter::new(settings.pairing_attempts),
            failed_auth: Limiter::new(settings.failed_auth),
            pairing_codes: Limiter::new(settings.pairing_codes),
            metrics: Metrics::default(),
            settings,
        }
    }

    /// The 429 for `limit`, counted in metrics and logged.
    pub fn refuse(&self, limit: &'static str, what: &'static str, wait: Duration) -> Error {
        self.metrics.record_rate_limited(limit);
        let retry_after_seconds = retry_after_seconds(wait);
        tracing::info!(limit, retry_after_seconds, "rate limited");
        Error::RateLimited {
            limit,
            what,
            retry_after_seconds,
        }
    }
}

/// Open connections per client address, released by [`AddressSlot`]'s drop.
#[derive(Debug, Default)]
struct AddressCounts(Mutex<HashMap<IpAddr, usize>>);

struct AddressSlot {
    counts: Arc<AddressCounts>,
    ip: IpAddr,
}

impl AddressCounts {
    fn acquire(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(ip).or_default();
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the
/// open connections' in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    hygiene: Arc<Hygiene>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = &hygiene.settings;
    let connections = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let per_address = Arc::new(AddressCounts::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .keep_alive(true);
    let builder = Arc::new(builder);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file handles (EMFILE) and the like: back off
                    // briefly instead of spinning; connections will close.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            hygiene
                .metrics
                .connections_refused_capacity
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "connection cap reached; closing");
            continue;
        };
        let Some(slot) = per_address.acquire(peer.ip(), settings.max_connections_per_address)
        else {
            hygiene
                .metrics
                .connections_refused_address
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "per-address connection cap reached; closing");
            continue;
        };
        let _ = stream.set_nodelay(true);
        hygiene
            .metrics
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        hygiene
            .metrics
            .connections_open
            .fetch_add(1, Ordering::Relaxed);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move { app.call(request).await }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        let hygiene = hygiene.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            hygiene
                .metrics
                .connections_open
                .fetch_sub(1, Ordering::Relaxed);
            drop((permit, slot));
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A client-chosen id is kept when it is short and plain; otherwise a new one is made.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// Request id, client address, body limit, timeout, JSON errors, metrics, logs.
pub async fn middleware(
    State(hygiene): State<Arc<Hygiene>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let client = ClientAddr::of(
        request.extensions().get::<ConnectInfo<SocketAddr>>(),
        request.headers(),
        hygiene.settings.trust_proxy,
    );
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_string();
    request.extensions_mut().insert(client);
    request.extensions_mut().insert(hygiene.clone());
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route, client = %client.key());
    let limit = hygiene.settings.max_body_bytes;
    let timeout = hygiene.settings.request_timeout;
    let too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64);
    let handled = async {
        if too_large {
            return Error::PayloadTooLarge {
                limit_bytes: limit as u64,
            }
            .into_response();
        }
        match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                hygiene
                    .metrics
                    .request_timeouts
                    .fetch_add(1, Ordering::Relaxed);
                Error::RequestTimeout {
                    seconds: timeout.as_secs(),
                }
                .into_response()
            }
        }
    };
    let mut response = REQUEST_ID
        .scope(id.clone(), BODY_LIMIT.scope(limit, handled))
        .instrument(span.clone())
        .await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        if !is_json(response.headers()) {
            response = as_json_error(response, &id).await;
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The client may still be sending; do not keep reading a body we refused.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let elapsed = started.elapsed();
    hygiene
        .metrics
        .record_request(method.as_str(), &route, status.as_u16(), elapsed);
    span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), ms, "answered");
        } else {
            tracing::debug!(status = status.as_u16(), ms, "answered");
        }
    });
    response
}

/// Rewrites a plain-text or empty error from the framework into `ErrorBody`,
/// keeping its status and headers (`Allow` on 405, for instance).
async fn as_json_error(response: Response, id: &str) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .unwrap_or_default();
    let body = rejection_body(
        parts.status,
        &String::from_utf8_lossy(&bytes),
        Some(id.to_string()),
    );
    let mut json = (parts.status, axum::Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}
