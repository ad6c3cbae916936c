//! Reservation → presigned upload → completion, and the ways it can go wrong.

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, put_with_headers, Backend, TestEnv};

both_backends!(
    single_part_upload_commits_usage_and_downloads,
    multipart_upload_of_three_parts_round_trips,
    interrupted_multipart_upload_resumes_with_fresh_urls,
    replayed_completion_counts_bytes_once,
    completion_without_object_commits_nothing,
    completion_with_wrong_size_removes_object_and_releases,
    completion_with_wrong_content_of_the_right_size_removes_object,
    presigned_put_refuses_content_that_does_not_match_the_hash,
    expired_reservation_is_released_and_its_multipart_aborted,
    expired_presigned_url_is_refused_by_the_store,
    presigned_url_for_another_key_is_refused_by_the_store,
    cancelled_reservation_gives_bytes_back,
    quota_exceeded_answer_carries_upgrade_information,
    usage_warns_at_80_and_95_percent,
);

async fn single_part_upload_commits_usage_and_downloads(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(4096, 1);
    let reservation = env.reserve(&org, "IMG_0001.JPG", &data, None).await;
    assert!(matches!(
        reservation.upload,
        wire::UploadPlan::Single { .. }
    ));
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (0, 4096));

    let parts = env.upload(&reservation, &data).await;
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &parts)
        .await;
    assert_eq!(response.status(), 200);
    let asset: wire::Asset = response.json().await.unwrap();
    assert_eq!(asset.id, reservation.asset_id);
    assert_eq!(asset.size_bytes, 4096);

    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (4096, 0));
    assert_eq!(usage.classes[0].object_count, 1);
    assert_eq!(usage.top_folders[0].bytes, 4096);

    // The object key carries only IDs, never the name.
    let key = TestEnv::object_key(&org, &asset.id.to_string());
    assert_eq!(
        env.store.head(&key).await.unwrap().unwrap().size_bytes,
        4096
    );

    let download: wire::Download = env
        .get(&org.token, &format!("/v1/assets/{}/download", asset.id))
        .await
        .json()
        .await
        .unwrap();
    let fetched = env.http.get(&download.url).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), data.as_slice());
}

async fn multipart_upload_of_three_parts_round_trips(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(12 << 20, 2);
    let reservation = env.reserve(&org, "pano.tif", &data, None).await;
    let wire::UploadPlan::Multipart {
        part_size_bytes,
        parts,
    } = &reservation.upload
    else {
        panic!("expected a multipart plan for 12 MiB");
    };
    assert!(*part_size_bytes >= 5 << 20);
    assert_eq!(parts.len(), 3);
    assert_eq!(
        parts.iter().map(|part| part.size_bytes).sum::<u64>(),
        12 << 20
    );

    let completed = env.upload(&reservation, &data).await;
    // Completion must list every part (s3s-fs does not check ETags; see storage_class.rs).
    let response = env
        .complete_raw(
            &org,
            &reservation.reservation_id.to_string(),
            &completed[..2],
        )
        .await;
    assert_eq!(response.status(), 400);
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &completed)
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(env.usage(&org).await.used_bytes, 12 << 20);

    let download: wire::Download = env
        .get(
            &org.token,
            &format!("/v1/assets/{}/download", reservation.asset_id),
        )
        .await
        .json()
        .await
        .unwrap();
    let fetched = env
        .http
        .get(&download.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        fetched.as_ref() == data.as_slice(),
        "downloaded bytes differ"
    );
}

async fn interrupted_multipart_upload_resumes_with_fresh_urls(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(12 << 20, 20);
    let reservation = env.reserve(&org, "pano.tif", &data, None).await;
    let wire::UploadPlan::Multipart {
        parts,
        part_size_bytes,
    } = &reservation.upload
    else {
        panic!()
    };
    // Part 2 goes up, then the device crashes and forgets the plan.
    let start = *part_size_bytes as usize;
    let sent = env
        .put_part(
            &reservation,
            2,
            data[start..start + parts[1].size_bytes as usize].to_vec(),
        )
        .await;
    assert!(sent.status().is_success());

    let response = env
        .get(
            &org.token,
            &format!("/v1/uploads/{}", reservation.reservation_id),
        )
        .await;
    assert_eq!(response.status(), 200);
    let status: wire::UploadStatus = response.json().await.unwrap();
    assert_eq!(
        status
            .uploaded_parts
            .iter()
            .map(|part| part.part_number)
            .collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(status.reservation.expires_at, reservation.expires_at);
    let wire::UploadPlan::Multipart { parts: fresh, .. } = &status.reservation.upload else {
        panic!()
    };
    assert_eq!(status.uploaded_parts[0].size_bytes, parts[1].size_bytes);
    // Keep the stored parts whose ETag the store reports (s3s-fs does not; S3, R2 and SeaweedFS do).
    let mut completed: Vec<wire::CompletedPart> = status
        .uploaded_parts
        .iter()
        .filter_map(|part| {
            Some(wire::CompletedPart {
                part_number: part.part_number,
                etag: part.etag.clone()?,
            })
        })
        .collect();
    let kept: Vec<u32> = completed.iter().map(|part| part.part_number).collect();
    for part in fresh
        .iter()
        .filter(|part| !kept.contains(&part.part_number))
    {
        let start = (part.part_number as u64 - 1) * part_size_bytes;
        let chunk = data[start as usize..(start + part.size_bytes) as usize].to_vec();
        let response = env.put_part(&reservation, part.part_number, chunk).await;
        let etag = response
            .headers()
            .get("etag")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        completed.push(wire::CompletedPart {
            part_number: part.part_number,
            etag,
        });
    }
    completed.sort_by_key(|part| part.part_number);
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &completed)
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(env.usage(&org).await.used_bytes, 12 << 20);
    // Completed: no more URLs for it.
    assert_eq!(
        env.get(
            &org.token,
            &format!("/v1/uploads/{}", reservation.reservation_id)
        )
        .await
        .status(),
        409
    );
}

async fn replayed_completion_counts_bytes_once(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(1000, 3);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    env.upload(&reservation, &data).await;
    let id = reservation.reservation_id.to_string();
    let first: wire::Asset = env.complete_raw(&org, &id, &[]).await.json().await.unwrap();
    for _ in 0..3 {
        let response = env.complete_raw(&org, &id, &[]).await;
        assert_eq!(response.status(), 200);
        let again: wire::Asset = response.json().await.unwrap();
        assert_eq!(again.id, first.id);
    }
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (1000, 0));
    let page: wire::AssetPage = env
        .get(&org.token, "/v1/assets")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.assets.len(), 1);
}

async fn completion_without_object_commits_nothing(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(1000, 4);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_body(response).await.error, "object_missing");
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (0, 1000));
    // The client may still upload and complete within the reservation's lifetime.
    env.upload(&reservation, &data).await;
    assert_eq!(
        env.complete_raw(&org, &reservation.reservation_id.to_string(), &[])
            .await
            .status(),
        200
    );
}

async fn completion_with_wrong_size_removes_object_and_releases(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(1000, 5);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    // The presigned URL cannot store other bytes, so plant a wrong-size object
    // behind the API's back, as a buggy or hostile store client could.
    let key = TestEnv::object_key(&org, &reservation.asset_id.to_string());
    let wrong = bytes(1500, 6);
    let presigned = env
        .store
        .presign_put(
            &key,
            wrong.len() as u64,
            &sha2_digest(&wrong),
            env.clock_now(),
            600,
        )
        .await
        .unwrap();
    assert!(
        put_with_headers(&env.http, &presigned.url, &presigned.headers, wrong)
            .await
            .status()
            .is_success()
    );

    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(error_body(response).await.error, "object_mismatch");
    assert!(
        env.store.head(&key).await.unwrap().is_none(),
        "the wrong object must be removed"
    );
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (0, 0));
    let page: wire::AssetPage = env
        .get(&org.token, "/v1/assets")
        .await
        .json()
        .await
        .unwrap();
    assert!(page.assets.is_empty());
}

async fn completion_with_wrong_content_of_the_right_size_removes_object(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(1000, 18);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    // Same size, other bytes, planted with their own (valid) checksum: only the
    // SHA-256 the store reports on HEAD can tell.
    let key = TestEnv::object_key(&org, &reservation.asset_id.to_string());
    let other = bytes(1000, 19);
    let presigned = env
        .store
        .presign_put(&key, 1000, &sha2_digest(&other), env.clock_now(), 600)
        .await
        .unwrap();
    assert!(
        put_with_headers(&env.http, &presigned.url, &presigned.headers, other)
            .await
            .status()
            .is_success()
    );
    assert!(
        env.store
            .head(&key)
            .await
            .unwrap()
            .unwrap()
            .checksum_sha256
            .is_some(),
        "the store reports SHA-256 on HEAD"
    );

    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(error_body(response).await.error, "object_mismatch");
    assert!(env.store.head(&key).await.unwrap().is_none());
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (0, 0));
}

async fn presigned_put_refuses_content_that_does_not_match_the_hash(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(2048, 7);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    let wire::UploadPlan::Single { url, headers } = &reservation.upload else {
        panic!()
    };
    let forged = bytes(2048, 8);
    let response = put_with_headers(&env.http, url, headers, forged).await;
    assert!(
        response.status().is_client_error(),
        "store accepted wrong content: {}",
        response.status()
    );
    assert_eq!(env.usage(&org).await.used_bytes, 0);
}

async fn expired_reservation_is_released_and_its_multipart_aborted(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let small = bytes(1000, 9);
    let big = bytes(11 << 20, 10);
    let single = env.reserve(&org, "a.jpg", &small, None).await;
    let multi = env.reserve(&org, "b.tif", &big, None).await;
    let wire::UploadPlan::Multipart { parts, .. } = &multi.upload else {
        panic!()
    };
    // One part is uploaded, then the device vanishes.
    let first = env
        .put_part(&multi, 1, big[..parts[0].size_bytes as usize].to_vec())
        .await;
    assert!(first.status().is_success());
    assert_eq!(env.stored_parts_of(&org, &multi).await, Some(1));
    assert_eq!(env.usage(&org).await.reserved_bytes, 1000 + (11 << 20));

    // The single-part reservation expires first; the multipart one lives longer.
    env.clock
        .advance(env.api.settings.reservation_ttl_seconds + 1);
    let report = env.api.run_maintenance().await.unwrap();
    assert_eq!(
        (report.reservations_expired, report.bytes_released),
        (1, 1000)
    );
    assert_eq!(env.stored_parts_of(&org, &multi).await, Some(1));
    env.clock
        .advance(env.api.settings.multipart_reservation_ttl_seconds);
    let report = env.api.run_maintenance().await.unwrap();
    assert_eq!(report.reservations_expired, 1);
    assert_eq!(report.bytes_released, 11 << 20);
    assert_eq!(env.usage(&org).await.reserved_bytes, 0);

    // The multipart upload is aborted in the store (its stored part is gone), not just forgotten by the API.
    let left = env.stored_parts_of(&org, &multi).await;
    assert!(
        matches!(left, None | Some(0)),
        "multipart upload still holds parts: {left:?}"
    );
    let response = env
        .complete_raw(&org, &single.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 410);
    assert_eq!(error_body(response).await.error, "reservation_expired");
    // A second maintenance pass finds nothing left to do.
    assert_eq!(
        env.api
            .run_maintenance()
            .await
            .unwrap()
            .reservations_expired,
        0
    );
}

async fn expired_presigned_url_is_refused_by_the_store(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(1000, 11);
    // Reserve "three hours ago": the URL's signature window ended an hour ago.
    env.clock.advance(-3 * 3600);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    let wire::UploadPlan::Single { url, headers } = &reservation.upload else {
        panic!()
    };
    let response = put_with_headers(&env.http, url, headers, data).await;
    assert_eq!(response.status(), 403, "expired URL accepted");
}

async fn presigned_url_for_another_key_is_refused_by_the_store(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(1000, 12);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    let wire::UploadPlan::Single { url, headers } = &reservation.upload else {
        panic!()
    };
    let other_key = url.replace(
        &reservation.asset_id.to_string(),
        &uuid::Uuid::new_v4().to_string(),
    );
    assert_ne!(&other_key, url);
    let response = put_with_headers(&env.http, &other_key, headers, data.clone()).await;
    assert_eq!(
        response.status(),
        403,
        "URL re-aimed at another key was accepted"
    );
    let escape = url.replace(&format!("org/{}/obj/", org.id), "org/other/obj/");
    let response = put_with_headers(&env.http, &escape, headers, data).await;
    assert_eq!(response.status(), 403);
}

async fn cancelled_reservation_gives_bytes_back(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(Some(5000)).await;
    let data = bytes(4000, 13);
    let reservation = env.reserve(&org, "a.jpg", &data, None).await;
    assert_eq!(
        env.reserve_raw(
            &org.token,
            &crate::support::reserve_body("b.jpg", &data, None)
        )
        .await
        .status(),
        409
    );
    let response = env
        .http
        .delete(env.url(&format!("/v1/uploads/{}", reservation.reservation_id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(env.usage(&org).await.reserved_bytes, 0);
    env.upload_asset(&org, "b.jpg", &data, None).await;
}

async fn quota_exceeded_answer_carries_upgrade_information(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await; // FREE: 25 GiB
    let used = bytes(1000, 14);
    env.upload_asset(&org, "a.jpg", &used, None).await;
    let body = serde_json::json!({"size_bytes": 25u64 << 30, "content_sha256": "a".repeat(64), "name": "huge.mov"});
    let response = env.reserve_raw(&org.token, &body).await;
    assert_eq!(response.status(), 409);
    let error = error_body(response).await;
    assert_eq!(error.error, "quota_exceeded");
    let quota = error.quota.expect("quota details");
    assert_eq!(quota.used_bytes, 1000);
    assert_eq!(quota.limit_bytes, 26_843_545_600);
    assert_eq!(quota.needed_bytes, 25 << 30);
    assert_eq!(quota.suggested_plan.tier, wire::Tier::Starter);
    // Nothing was held by the refusal.
    assert_eq!(env.usage(&org).await.reserved_bytes, 0);
}

async fn usage_warns_at_80_and_95_percent(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(Some(10_000)).await;
    env.upload_asset(&org, "a.jpg", &bytes(7_900, 15), None)
        .await;
    assert!(env.usage(&org).await.warning.is_none());
    env.upload_asset(&org, "b.jpg", &bytes(200, 16), None).await;
    assert_eq!(env.usage(&org).await.warning.unwrap().threshold_percent, 80);
    env.upload_asset(&org, "c.jpg", &bytes(1_400, 17), None)
        .await;
    let usage = env.usage(&org).await;
    assert_eq!(usage.warning.unwrap().threshold_percent, 95);
    assert_eq!(usage.used_bytes, 9_500);
    assert!((usage.percent_used - 95.0).abs() < 1e-9);
}

fn sha2_digest(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

impl TestEnv {
    pub fn clock_now(&self) -> i64 {
        use photopro_api::clock::Clock;
        self.clock.now()
    }
}

impl TestEnv {
    /// Parts the store holds for a multipart reservation (`None`: no such upload).
    async fn stored_parts_of(
        &self,
        org: &crate::support::Org,
        reservation: &wire::Reservation,
    ) -> Option<usize> {
        let (key, upload_id): (String, Option<String>) =
            sqlx::query_as("SELECT object_key, upload_id FROM reservations WHERE id = $1")
                .bind(reservation.reservation_id.to_string())
                .fetch_one(&self.api.db.pool)
                .await
                .unwrap();
        assert_eq!(
            key,
            TestEnv::object_key(org, &reservation.asset_id.to_string())
        );
        let upload_id = upload_id.expect("a multipart reservation");
        self.store
            .stored_part_count(&key, &upload_id)
            .await
            .unwrap()
    }
}
