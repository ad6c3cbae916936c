//! Server hygiene (issue 9, findings 7, 8 and 9): connections that send no
//! headers are closed, connection caps keep `/health` answering, rate limits
//! answer 429 with `Retry-After`, and every rejection is the JSON
//! `ErrorBody` with the request id. Plus `/metrics`, `/livez`, `/readyz`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use photopro_api::clock::ManualClock;
use photopro_api::db::Db;
use photopro_api::limits::{HttpSettings, RateLimit};
use photopro_api::store::{ObjectStore, StoreConfig};
use photopro_api::{Api, Settings};
use photopro_wire as wire;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::both_backends;
use crate::support::{database_url, test_settings, Backend, TestEnv, ADMIN_TOKEN};

fn settings_with(http: HttpSettings) -> Settings {
    Settings {
        http,
        ..test_settings()
    }
}

async fn start(http: HttpSettings) -> TestEnv {
    TestEnv::start_with(Backend::Sqlite, None, settings_with(http)).await
}

fn address(env: &TestEnv) -> SocketAddr {
    env.base
        .trim_start_matches("http://")
        .parse()
        .expect("base is http://ip:port")
}

/// A TCP connection to the API from the loopback address `from` (127.0.0.x).
async fn connect_from(env: &TestEnv, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(address(env)).await.unwrap()
}

/// An HTTP client whose connections come from `from` (127.0.0.x).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// Whether the server closes `stream` (EOF or reset) before `deadline` passes.
async fn closed_within(stream: &mut TcpStream, deadline: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let until = tokio::time::Instant::now() + deadline;
    loop {
        match tokio::time::timeout_at(until, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or similar before closing is fine; keep reading to the close.
            Ok(Ok(_)) => continue,
        }
    }
}

/// How many of `streams` the server closes within `deadline`, all watched at
/// once; the streams are handed back (still open unless closed).
async fn count_closed(streams: Vec<TcpStream>, deadline: Duration) -> (usize, Vec<TcpStream>) {
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in streams {
        tasks.spawn(async move {
            let closed = closed_within(&mut stream, deadline).await;
            (closed, stream)
        });
    }
    let mut closed = 0;
    let mut streams = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (was_closed, stream) = result.unwrap();
        closed += usize::from(was_closed);
        streams.push(stream);
    }
    (closed, streams)
}

fn assert_json_error(
    what: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    expected_status: u16,
    expected_code: &str,
) -> wire::ErrorBody {
    assert_eq!(
        status.as_u16(),
        expected_status,
        "{what}: {}",
        String::from_utf8_lossy(body)
    );
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: content-type {content_type:?}, body {:?}",
        String::from_utf8_lossy(body)
    );
    let error: wire::ErrorBody = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{what}: not an ErrorBody ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    assert_eq!(error.error, expected_code, "{what}: {error:?}");
    assert!(!error.message.is_empty(), "{what}: empty message");
    let header_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{what}: no x-request-id header"));
    assert_eq!(
        error.request_id.as_deref(),
        Some(header_id),
        "{what}: the body's request_id is the header's"
    );
    error
}

async fn expect_json_error(
    what: &str,
    response: reqwest::Response,
    expected_status: u16,
    expected_code: &str,
) -> (wire::ErrorBody, reqwest::header::HeaderMap) {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    let error = assert_json_error(
        what,
        status,
        &headers,
        &body,
        expected_status,
        expected_code,
    );
    (error, headers)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    headers
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds")
}

// ------------------------------------------------------------------ finding 7: connections

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_no_headers_is_closed_after_the_timeout() {
    let env = start(HttpSettings {
        header_read_timeout: Duration::from_secs(1),
        ..HttpSettings::default()
    })
    .await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(address(&env)).await.unwrap();
    let mut partial = TcpStream::connect(address(&env)).await.unwrap();
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(10)).await,
        "a connection that sent nothing is still open after 10 s"
    );
    assert!(
        closed_within(&mut partial, Duration::from_secs(10)).await,
        "a connection that sent half its headers is still open after 10 s"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout: {:?}",
        started.elapsed()
    );
    // A kept-alive connection that goes quiet after a request is closed the same way.
    let mut kept = TcpStream::connect(address(&env)).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let n = kept.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut kept, Duration::from_secs(10)).await,
        "an idle kept-alive connection is still open after 10 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_idle_connections_from_one_address_do_not_stop_health() {
    // A long header timeout, so only the caps protect the server here.
    let env = start(HttpSettings {
        header_read_timeout: Duration::from_secs(60),
        max_connections: 400,
        max_connections_per_address: 50,
        ..HttpSettings::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(connect_from(&env, "127.0.0.2").await);
    }
    // The server closes everything over the per-address cap at once.
    let (closed, idle) = count_closed(idle, Duration::from_millis(500)).await;
    assert_eq!(
        closed, 250,
        "connections over the per-address cap of 50 are closed"
    );
    // Another address is served while the 50 idle ones stay open.
    let begin = Instant::now();
    let response = client_from("127.0.0.1")
        .get(env.url("/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/health answers while one address holds idle connections");
    assert_eq!(response.status(), 200);
    assert!(begin.elapsed() < Duration::from_secs(2));
    let metrics = env
        .http
        .get(env.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("photopro_http_connections_refused_total{cap=\"per_address\"} 250"),
        "{metrics}"
    );
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_connection_cap_frees_up_as_idle_connections_time_out() {
    let env = start(HttpSettings {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 20,
        max_connections_per_address: 1000,
        ..HttpSettings::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(connect_from(&env, "127.0.0.3").await);
    }
    let (closed_at_once, idle) = count_closed(idle, Duration::from_millis(300)).await;
    assert_eq!(
        closed_at_once, 20,
        "connections over the cap of 20 are closed at once"
    );
    // Once the idle ones time out, a new client gets in (polled against a deadline).
    let _idle = idle;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = client_from("127.0.0.1")
            .get(env.url("/health"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if matches!(&attempt, Ok(response) if response.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/health never answered: {attempt:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_arrives_times_out_with_json() {
    let env = start(HttpSettings {
        request_timeout: Duration::from_secs(1),
        ..HttpSettings::default()
    })
    .await;
    let org = env.org(None).await;
    let mut stream = TcpStream::connect(address(&env)).await.unwrap();
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"size_bytes\":",
        org.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0u8; 4096];
        loop {
            let n = stream.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
    assert!(text.contains("\"request_timeout\""), "{text}");
    assert!(text.contains("\"request_id\""), "{text}");
}

// ------------------------------------------------------------------ finding 8: rate limits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pairing_codes_are_limited_per_address() {
    let env = start(HttpSettings {
        pairing_attempts: RateLimit::new(5, 3600),
        ..HttpSettings::default()
    })
    .await;
    let org = env.org(None).await;
    let code: wire::PairingCode = env
        .post(&org.token, "/v1/pairing-codes", &serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let guesser = client_from("127.0.0.4");
    let guess = |code: String| {
        let request = guesser
            .post(env.url("/v1/devices/pair"))
            .json(&serde_json::json!({"pairing_code": code, "device_name": "Laptop"}));
        async move { request.send().await.unwrap() }
    };
    for attempt in 0..5 {
        let response = guess(format!("AAAA-AAA{attempt}")).await;
        assert_eq!(
            response.status(),
            401,
            "guess {attempt} is answered normally"
        );
    }
    let (error, headers) = expect_json_error(
        "6th guess",
        guess("AAAA-BBBB".into()).await,
        429,
        "rate_limited",
    )
    .await;
    let wait = retry_after(&headers);
    assert!(
        (600..=720).contains(&wait),
        "5 per hour: one more in ~12 min, got {wait} s"
    );
    assert!(
        error.message.contains("pairing attempts"),
        "{}",
        error.message
    );
    // Even the right code is refused from this address now.
    expect_json_error(
        "right code, limited address",
        guess(code.pairing_code.clone()).await,
        429,
        "rate_limited",
    )
    .await;
    // A good client from another address is unaffected.
    let response = client_from("127.0.0.5")
        .post(env.url("/v1/devices/pair"))
        .json(&serde_json::json!({"pairing_code": code.pairing_code, "device_name": "Laptop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_limited_per_address_and_good_clients_elsewhere_are_not() {
    let env = start(HttpSettings {
        failed_auth: RateLimit::new(10, 3600),
        ..HttpSettings::default()
    })
    .await;
    let org = env.org(None).await;
    let attacker = client_from("127.0.0.6");
    for attempt in 0..10 {
        let response = attacker
            .get(env.url("/v1/usage"))
            .bearer_auth(format!("ppd_guess{attempt}"))
            .send()
            .await
            .unwrap();
        expect_json_error("bad token", response, 401, "unauthorized").await;
    }
    let response = attacker
        .get(env.url("/v1/usage"))
        .bearer_auth("ppd_guess_again")
        .send()
        .await
        .unwrap();
    let (_, headers) = expect_json_error("11th bad token", response, 429, "rate_limited").await;
    assert!(retry_after(&headers) >= 300);
    // Bad admin tokens count against the same budget.
    let response = attacker
        .get(env.url("/admin/v1/organizations"))
        .bearer_auth("ppa_guess")
        .send()
        .await
        .unwrap();
    expect_json_error("admin guess", response, 429, "rate_limited").await;
    // The good device from another address works as before.
    let response = client_from("127.0.0.7")
        .get(env.url("/v1/usage"))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Successes do not use up the budget.
    let good = client_from("127.0.0.8");
    for _ in 0..30 {
        let response = good
            .get(env.url("/v1/usage"))
            .bearer_auth(&org.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let metrics = env
        .http
        .get(env.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("photopro_rate_limited_total{limit=\"failed_auth\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_the_client_address_only_behind_a_trusted_proxy() {
    for trust_proxy in [false, true] {
        let env = start(HttpSettings {
            failed_auth: RateLimit::new(3, 3600),
            trust_proxy,
            ..HttpSettings::default()
        })
        .await;
        let from = |forwarded: &'static str| {
            env.http
                .get(env.url("/v1/usage"))
                .bearer_auth("ppd_bad")
                .header("x-forwarded-for", forwarded)
                .send()
        };
        for _ in 0..3 {
            assert_eq!(from("203.0.113.1").await.unwrap().status(), 401);
        }
        assert_eq!(from("203.0.113.1").await.unwrap().status(), 429);
        // Another forwarded address is a different client only when the proxy is trusted.
        let other = from("10.0.0.1, 203.0.113.2").await.unwrap().status();
        assert_eq!(
            other,
            if trust_proxy { 401 } else { 429 },
            "trust_proxy = {trust_proxy}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_creating_many_pairing_codes_is_limited() {
    let env = start(HttpSettings {
        pairing_codes: RateLimit::new(3, 3600),
        ..HttpSettings::default()
    })
    .await;
    let org = env.org(None).await;
    for _ in 0..3 {
        let response = env
            .post(&org.token, "/v1/pairing-codes", &serde_json::json!({}))
            .await;
        assert_eq!(response.status(), 201);
    }
    let response = env
        .post(&org.token, "/v1/pairing-codes", &serde_json::json!({}))
        .await;
    let (error, headers) = expect_json_error("4th code", response, 429, "rate_limited").await;
    assert!(retry_after(&headers) >= 600);
    assert!(error.message.contains("pairing codes"), "{}", error.message);
    // Another device of the same organization has its own budget.
    let other: wire::DeviceToken = env
        .admin_post(
            &format!("/admin/v1/organizations/{}/devices", org.id),
            &serde_json::json!({"device_name": "Laptop"}),
        )
        .await;
    let response = env
        .post(&other.token, "/v1/pairing-codes", &serde_json::json!({}))
        .await;
    assert_eq!(response.status(), 201);
}

// ------------------------------------------------------------------ finding 9: JSON errors

async fn every_rejection_is_json_with_the_request_id(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let http = &env.http;

    let response = http.get(env.url("/v2/nothing")).send().await.unwrap();
    expect_json_error("unknown route", response, 404, "not_found").await;

    let response = http.put(env.url("/v1/tiers")).send().await.unwrap();
    let (_, headers) = expect_json_error("wrong method", response, 405, "method_not_allowed").await;
    assert!(headers.get("allow").is_some(), "405 keeps its Allow header");

    // Non-UTF-8 and non-UUID path ids.
    let response = env.get(&org.token, "/v1/assets/%FF%FE").await;
    expect_json_error("non-UTF-8 id", response, 400, "bad_request").await;
    let response = env.get(&org.token, "/v1/assets/not-a-uuid").await;
    let status = response.status().as_u16();
    let code = if status == 404 {
        "not_found"
    } else {
        "bad_request"
    };
    expect_json_error("non-UUID id", response, status, code).await;

    // A 10 MiB JSON body on a JSON route, and a 3 MiB body on the raw-body route.
    // (Over raw TCP: the server answers before the body is sent and closes,
    // which a client still writing may see as a broken pipe.)
    let answer = raw_post(&env, &org.token, "/v1/uploads", 10 << 20, false).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"payload_too_large\""), "{answer}");
    assert!(answer.contains("\"request_id\""), "{answer}");
    let response = http
        .post(env.url(&format!("/v1/uploads/{}/complete", uuid_like())))
        .bearer_auth(&org.token)
        .body(vec![b' '; 3 << 20])
        .send()
        .await
        .unwrap();
    expect_json_error("3 MiB complete body", response, 413, "payload_too_large").await;
    // Chunked (no Content-Length) over the limit: the extractor's limit answers.
    let answer = raw_post(&env, &org.token, "/v1/folders", 3 << 20, true).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"payload_too_large\""), "{answer}");
    assert!(answer.contains("\"request_id\""), "{answer}");

    let response = http
        .post(env.url("/v1/folders"))
        .bearer_auth(&org.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_json_error("bad JSON", response, 400, "bad_request").await;
    let response = http
        .post(env.url("/v1/folders"))
        .bearer_auth(&org.token)
        .header("content-type", "text/plain")
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .unwrap();
    expect_json_error(
        "wrong content type",
        response,
        415,
        "unsupported_media_type",
    )
    .await;

    let response = http.get(env.url("/v1/usage")).send().await.unwrap();
    expect_json_error("no token", response, 401, "unauthorized").await;

    // A sane client request id is kept; a wild one is replaced.
    let response = http
        .get(env.url("/v2/nothing"))
        .header("x-request-id", "sync-4f2a.7")
        .send()
        .await
        .unwrap();
    let (error, _) = expect_json_error("client id", response, 404, "not_found").await;
    assert_eq!(error.request_id.as_deref(), Some("sync-4f2a.7"));
    let response = http
        .get(env.url("/v2/nothing"))
        .header("x-request-id", "a b\"c")
        .send()
        .await
        .unwrap();
    let (error, _) = expect_json_error("wild id", response, 404, "not_found").await;
    assert_ne!(error.request_id.as_deref(), Some("a b\"c"));
    // Successes carry the id too.
    let response = env.get(&org.token, "/v1/usage").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-request-id").is_some());
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_string()
}

/// POSTs `len` bytes of JSON-ish body over a raw connection, with
/// Content-Length or `Transfer-Encoding: chunked`; returns the answer's text.
async fn raw_post(env: &TestEnv, token: &str, path: &str, len: usize, chunked: bool) -> String {
    let mut stream = TcpStream::connect(address(env)).await.unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {len}")
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\n{framing}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut body = b"{\"name\":\"".to_vec();
    body.resize(len, b'x');
    // The server may answer and close before the whole body is sent.
    for chunk in body.chunks(64 << 10) {
        let frame = if chunked {
            [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat()
        } else {
            chunk.to_vec()
        };
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n").await;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}

both_backends!(every_rejection_is_json_with_the_request_id);

// ------------------------------------------------------------------ operable

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_admin_token_and_report_requests_and_bytes() {
    let env = start(HttpSettings::default()).await;
    let org = env.org(None).await;
    env.upload_asset(&org, "IMG_0001.JPG", b"twelve bytes", None)
        .await;
    let response = env.http.get(env.url("/metrics")).send().await.unwrap();
    expect_json_error("metrics without token", response, 401, "unauthorized").await;
    let response = env
        .http
        .get(env.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    for expected in [
        "photopro_http_requests_total{method=\"POST\",route=\"/v1/uploads\",status=\"201\"} 1",
        "photopro_http_requests_total{method=\"POST\",route=\"/v1/uploads/{id}/complete\",status=\"200\"} 1",
        "photopro_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/uploads\",status=\"201\"} 1",
        "photopro_bytes_stored 12\n",
        "photopro_bytes_reserved 0\n",
        "photopro_reservations_open 0\n",
        "photopro_http_connections_open ",
        "photopro_maintenance_runs_total{outcome=\"ok\"} ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // An open reservation shows up at the next scrape.
    env.reserve(&org, "IMG_0002.JPG", b"0123456789", None).await;
    let text = env
        .http
        .get(env.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("photopro_reservations_open 1\n"), "{text}");
    assert!(text.contains("photopro_bytes_reserved 10\n"), "{text}");

    let public = start(HttpSettings {
        metrics_public: true,
        ..HttpSettings::default()
    })
    .await;
    let response = public
        .http
        .get(public.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_and_readiness() {
    let env = start(HttpSettings::default()).await;
    for path in ["/health", "/livez", "/readyz"] {
        let response = env.http.get(env.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    // The same database with an object store that does not answer: alive, not ready.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&database_url(Backend::Sqlite, dir.path()).await, 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let unreachable = StoreConfig {
        endpoint: "http://127.0.0.1:9".into(),
        bucket: "photopro".into(),
        access_key_id: "x".into(),
        secret_access_key: "y".into(),
        region: "auto".into(),
        force_path_style: true,
        supports_storage_classes: false,
    };
    let api = Arc::new(Api {
        db,
        store: ObjectStore::new(&unreachable),
        clock: Arc::new(ManualClock::starting_now()),
        settings: test_settings(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(photopro_api::launch(listener, api, async move {
        let _ = stopped.await;
    }));
    let response = env.http.get(format!("{base}/livez")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = env.http.get(format!("{base}/readyz")).send().await.unwrap();
    let (error, _) = expect_json_error("readyz", response, 503, "not_ready").await;
    assert!(error.message.contains("object store"), "{}", error.message);
    // Graceful shutdown: launch returns once asked to stop.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("launch returns after shutdown")
        .unwrap()
        .unwrap();
}

/// The document lists what every operation can answer (the schemathesis run
/// found `PATCH /v1/folders/{id}` answering an undocumented 409 conflict).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_common_errors() {
    let env = start(HttpSettings::default()).await;
    let doc: serde_json::Value = env
        .http
        .get(env.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/readyz"));
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let secured = operation
                .get("security")
                .and_then(|s| s.as_array())
                .is_some_and(|s| !s.is_empty());
            let mut expected = vec!["400", "404", "405", "413", "415", "429", "503"];
            if secured {
                expected.push("401");
                if ["post", "put", "patch"].contains(&method.as_str()) {
                    expected.push("409");
                }
            }
            for status in expected {
                let response = responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
}
