//! Issue 9, findings 1, 2 and 6: the store can never hold bytes the API
//! accepted without proof, completed objects are write-once, and a failed
//! multipart completion is recoverable. Every story runs on SQLite and
//! PostgreSQL, against the embedded store and SeaweedFS.

use aws_sdk_s3::primitives::ByteStream;
use photopro_wire as wire;

use crate::support::{
    bytes, error_body, put_with_headers, seaweedfs, sha256_hex, test_settings, Backend, TestEnv,
};

#[derive(Debug, Clone, Copy)]
pub enum StoreKind {
    Embedded,
    SeaweedFs,
}

/// Runs a story on both backends and both stores, as four tests.
macro_rules! everywhere {
    ($($story:ident),* $(,)?) => { $(
        mod $story {
            use super::StoreKind::*;
            use $crate::support::Backend::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_embedded() { super::$story(Sqlite, Embedded).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_embedded() { super::$story(Postgres, Embedded).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_seaweedfs() { super::$story(Sqlite, SeaweedFs).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_seaweedfs() { super::$story(Postgres, SeaweedFs).await }
        }
    )* };
}

everywhere!(
    finding_1_wrong_bytes_under_a_signed_checksum_never_become_an_asset,
    bytes_the_store_took_without_a_checksum_are_read_back_and_refused,
    finding_2_a_completed_object_cannot_be_overwritten,
    an_expired_single_part_url_is_renewed,
    finding_6_a_missing_or_forged_part_is_a_400_and_the_upload_stays_resumable,
    a_part_url_only_takes_the_declared_bytes,
    cancel_answers_204_even_when_the_store_already_dropped_the_upload,
);

async fn start(backend: Backend, store: StoreKind) -> TestEnv {
    let config = match store {
        StoreKind::Embedded => None,
        StoreKind::SeaweedFs => Some(
            tokio::task::spawn_blocking(|| seaweedfs().clone())
                .await
                .unwrap(),
        ),
    };
    TestEnv::start_with(backend, config, test_settings()).await
}

fn single(reservation: &wire::Reservation) -> (&str, &[wire::HeaderPair]) {
    match &reservation.upload {
        wire::UploadPlan::Single { url, headers } => (url, headers),
        other => panic!("expected a single-part plan, got {other:?}"),
    }
}

async fn download(env: &TestEnv, org: &crate::support::Org, asset_id: &str) -> Vec<u8> {
    let download: wire::Download = env
        .get(&org.token, &format!("/v1/assets/{asset_id}/download"))
        .await
        .json()
        .await
        .unwrap();
    env.http
        .get(&download.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

async fn finding_1_wrong_bytes_under_a_signed_checksum_never_become_an_asset(
    backend: Backend,
    store: StoreKind,
) {
    let env = start(backend, store).await;
    let org = env.org(None).await;
    let data = bytes(100_000, 1);
    let wrong = bytes(100_000, 2);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    let (url, headers) = single(&reservation);
    let refused = put_with_headers(&env.http, url, headers, wrong.clone()).await;
    assert_eq!(refused.status(), 400, "the store refuses the wrong bytes");

    let id = reservation.reservation_id.to_string();
    let response = env.complete_raw(&org, &id, &[]).await;
    assert_ne!(response.status(), 200, "unproven bytes never complete");
    let status = response.status();
    let body = error_body(response).await;
    assert!(
        matches!(body.error.as_str(), "object_missing" | "object_mismatch"),
        "{status} {body:?}"
    );
    assert_eq!(env.usage(&org).await.used_bytes, 0);

    if body.error == "object_missing" {
        // Nothing was stored, the reservation is still open: the right bytes complete it.
        let sent = put_with_headers(&env.http, url, headers, data.clone()).await;
        assert!(sent.status().is_success(), "{}", sent.status());
        let response = env.complete_raw(&org, &id, &[]).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let asset: wire::Asset = response.json().await.unwrap();
        assert_eq!(download(&env, &org, &asset.id.to_string()).await, data);
    }
}

/// A store that kept bytes without checking them (here: written behind the
/// API's back, with no checksum) does not fool completion: the API reads the
/// object back, hashes it and refuses.
async fn bytes_the_store_took_without_a_checksum_are_read_back_and_refused(
    backend: Backend,
    store: StoreKind,
) {
    let env = start(backend, store).await;
    let org = env.org(None).await;
    let data = bytes(50_000, 3);
    let wrong = bytes(50_000, 4);
    let reservation = env.reserve(&org, "b.jpg", &data, None).await;
    let key = TestEnv::object_key(&org, &reservation.asset_id.to_string());
    raw_put(&env, &key, wrong).await;

    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(error_body(response).await.error, "object_mismatch");
    assert!(
        env.store.head(&key).await.unwrap().is_none(),
        "the stray object is removed"
    );
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (0, 0));
}

async fn finding_2_a_completed_object_cannot_be_overwritten(backend: Backend, store: StoreKind) {
    let env = start(backend, store).await;
    let org = env.org(None).await;
    let data = bytes(80_000, 5);
    let reservation = env.reserve(&org, "c.jpg", &data, None).await;
    let (url, headers) = single(&reservation);
    assert!(put_with_headers(&env.http, url, headers, data.clone())
        .await
        .status()
        .is_success());
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 200);
    let asset: wire::Asset = response.json().await.unwrap();

    // The old URL is still within its lifetime, but it can only create the key.
    let replay = put_with_headers(&env.http, url, headers, data.clone()).await;
    assert_eq!(
        replay.status(),
        412,
        "a replay of the same bytes is refused"
    );
    let other = bytes(80_000, 6);
    let forged = put_with_headers(&env.http, url, headers, other).await;
    assert!(forged.status().is_client_error(), "{}", forged.status());
    assert_eq!(download(&env, &org, &asset.id.to_string()).await, data);

    // A content-addressed copy of the original serves the original.
    let response = env
        .post(
            &org.token,
            "/v1/assets/copy",
            &serde_json::json!({"content_sha256": sha256_hex(&data), "name": "c copy.jpg"}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let copy: wire::Asset = response.json().await.unwrap();
    assert_eq!(download(&env, &org, &copy.id.to_string()).await, data);

    // Every upload writes its own key.
    let again = env.upload_asset(&org, "c.jpg", &data, None).await;
    assert_ne!(again.id, asset.id);
}

async fn an_expired_single_part_url_is_renewed(backend: Backend, store: StoreKind) {
    let env = start(backend, store).await;
    let org = env.org(None).await;
    let data = bytes(20_000, 7);
    // Reserve 20 minutes in the past: the URL (15 min) has expired, the reservation (2 h) has not.
    let real_now = env.api.now();
    env.clock.set(real_now - 20 * 60);
    let reservation = env.reserve(&org, "d.jpg", &data, None).await;
    env.clock.set(real_now);
    assert!(reservation.expires_at > real_now);
    let (url, headers) = single(&reservation);
    let expired = put_with_headers(&env.http, url, headers, data.clone()).await;
    assert_eq!(expired.status(), 403, "a URL lives minutes, not hours");

    let status: wire::UploadStatus = env
        .get(
            &org.token,
            &format!("/v1/uploads/{}", reservation.reservation_id),
        )
        .await
        .json()
        .await
        .unwrap();
    let (url, headers) = single(&status.reservation);
    let sent = put_with_headers(&env.http, url, headers, data.clone()).await;
    assert!(sent.status().is_success(), "{}", sent.status());
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 200);
}

async fn finding_6_a_missing_or_forged_part_is_a_400_and_the_upload_stays_resumable(
    backend: Backend,
    store: StoreKind,
) {
    let env = start(backend, store).await;
    let org = env.org(None).await;
    let data = bytes(11 << 20, 8);
    let reservation = env.reserve(&org, "pano.tif", &data, None).await;
    let wire::UploadPlan::Multipart {
        parts,
        part_size_bytes,
    } = &reservation.upload
    else {
        panic!("expected multipart")
    };
    assert_eq!(parts.len(), 3);
    assert!(
        parts.iter().all(|part| part.url.is_none()),
        "part URLs are asked for with the part's hash"
    );
    let chunk = |n: usize| {
        let start = (n - 1) * *part_size_bytes as usize;
        data[start..(start + parts[n - 1].size_bytes as usize)].to_vec()
    };
    let etag =
        |response: &reqwest::Response| response.headers()["etag"].to_str().unwrap().to_string();
    let one = env.put_part(&reservation, 1, chunk(1)).await;
    assert!(one.status().is_success());
    let etag_one = etag(&one);
    let three = env.put_part(&reservation, 3, chunk(3)).await;
    assert!(three.status().is_success());
    let etag_three = etag(&three);
    let made_up = "\"0123456789abcdef0123456789abcdef\"".to_string();
    let listed = |a: &str, b: &str, c: &str| {
        vec![
            wire::CompletedPart {
                part_number: 1,
                etag: a.into(),
            },
            wire::CompletedPart {
                part_number: 2,
                etag: b.into(),
            },
            wire::CompletedPart {
                part_number: 3,
                etag: c.into(),
            },
        ]
    };
    let id = reservation.reservation_id.to_string();

    // Part 2 is missing: a clear 400, and nothing is lost.
    let response = env
        .complete_raw(&org, &id, &listed(&etag_one, &made_up, &etag_three))
        .await;
    assert_eq!(response.status(), 400);
    let body = error_body(response).await;
    assert!(body.message.contains("part 2"), "{}", body.message);
    let response = env
        .complete_raw(&org, &id, &listed(&etag_one, &made_up, &etag_three))
        .await;
    assert_eq!(response.status(), 400, "a retry gets the same answer");

    let two = env.put_part(&reservation, 2, chunk(2)).await;
    assert!(two.status().is_success());
    let etag_two = etag(&two);
    // A made-up ETag for a stored part is refused too.
    let response = env
        .complete_raw(&org, &id, &listed(&made_up, &etag_two, &etag_three))
        .await;
    assert_eq!(response.status(), 400);
    assert!(error_body(response).await.message.contains("part 1"));

    let status: wire::UploadStatus = env
        .get(&org.token, &format!("/v1/uploads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status.uploaded_parts.len(), 3, "the upload is intact");

    let response = env
        .complete_raw(&org, &id, &listed(&etag_one, &etag_two, &etag_three))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let asset: wire::Asset = response.json().await.unwrap();
    assert_eq!(download(&env, &org, &asset.id.to_string()).await, data);
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (11 << 20, 0));
}

async fn a_part_url_only_takes_the_declared_bytes(backend: Backend, store: StoreKind) {
    let env = start(backend, store).await;
    let org = env.org(None).await;
    let data = bytes(11 << 20, 9);
    let reservation = env.reserve(&org, "big.tif", &data, None).await;
    let first = data[..5 << 20].to_vec();
    let mut tampered = first.clone();
    tampered[1000] ^= 0xff;
    let signed = env.part_url(&reservation, 1, &sha256_hex(&first)).await;
    assert!(
        signed
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("x-amz-checksum-sha256")),
        "{:?}",
        signed.headers
    );
    let refused = put_with_headers(
        &env.http,
        signed.url.as_deref().unwrap(),
        &signed.headers,
        tampered,
    )
    .await;
    assert_eq!(refused.status(), 400);
    let status: wire::UploadStatus = env
        .get(
            &org.token,
            &format!("/v1/uploads/{}", reservation.reservation_id),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        status.uploaded_parts.is_empty(),
        "{:?}",
        status.uploaded_parts
    );

    // Over HTTP: bad input is a 400, a single-part reservation has no part URLs.
    let path = format!("/v1/uploads/{}/parts", reservation.reservation_id);
    let bad = env
        .post(&org.token, &path, &serde_json::json!({"parts": [{"part_number": 4, "content_sha256": sha256_hex(&first)}]}))
        .await;
    assert_eq!(bad.status(), 400);
    let good = env
        .post(&org.token, &path, &serde_json::json!({"parts": [{"part_number": 1, "content_sha256": sha256_hex(&first)}]}))
        .await;
    assert_eq!(good.status(), 200);
    let urls: wire::PartUrls = good.json().await.unwrap();
    assert_eq!(urls.parts.len(), 1);
    assert!(urls.expires_at <= env.api.now() + 15 * 60);
}

async fn cancel_answers_204_even_when_the_store_already_dropped_the_upload(
    backend: Backend,
    store: StoreKind,
) {
    let env = start(backend, store).await;
    let org = env.org(None).await;
    let data = bytes(11 << 20, 10);
    let reservation = env.reserve(&org, "gone.tif", &data, None).await;
    let (key, upload_id): (String, Option<String>) =
        sqlx::query_as("SELECT object_key, upload_id FROM reservations WHERE id = $1")
            .bind(reservation.reservation_id.to_string())
            .fetch_one(&env.api.db.pool)
            .await
            .unwrap();
    env.store
        .abort_multipart(&key, &upload_id.unwrap())
        .await
        .unwrap();
    let response = env
        .http
        .delete(env.url(&format!("/v1/uploads/{}", reservation.reservation_id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(env.usage(&org).await.reserved_bytes, 0);
}

/// Writes an object straight into the store, without any checksum.
async fn raw_put(env: &TestEnv, key: &str, data: Vec<u8>) {
    use aws_sdk_s3::config::{Credentials, Region};
    let config = &env.store_config;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .credentials_provider(Credentials::new(
                &config.access_key_id,
                &config.secret_access_key,
                None,
                None,
                "test",
            ))
            .region(Region::new(config.region.clone()))
            .endpoint_url(&config.endpoint)
            .force_path_style(true)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .build(),
    );
    client
        .put_object()
        .bucket(&config.bucket)
        .key(key)
        .body(ByteStream::from(data))
        .send()
        .await
        .unwrap();
}
