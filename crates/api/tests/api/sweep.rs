//! Nothing escapes the books: bytes PUT through presigned URLs of cancelled
//! or purged uploads are swept; open reservations are listed, cancelled and
//! expired at once; usage counts reserved bytes.

use photopro_wire as wire;

use crate::both_backends;
use crate::support::*;

both_backends!(
    bytes_put_after_cancel_or_purge_are_swept,
    open_reservations_are_listed_and_release_at_once,
    stale_multipart_uploads_are_aborted_on_seaweedfs,
);

/// Every object under the organization's prefix: (key, size).
async fn stored(env: &TestEnv, org: &Org) -> Vec<(String, u64)> {
    let prefix = format!("org/{}/", org.id);
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = env.store.list_page(&prefix, token).await.unwrap();
        all.extend(page.into_iter().map(|o| (o.key, o.size_bytes)));
        match next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    all.sort();
    all
}

async fn cancel(env: &TestEnv, org: &Org, reservation_id: &str) -> reqwest::StatusCode {
    env.http
        .delete(env.url(&format!("/v1/uploads/{reservation_id}")))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Finding 3: reserve, cancel (or complete, trash and purge), then PUT with
/// the still-valid presigned URL. Before the sweep, a 1 MiB organization held
/// many MiB nobody counted; after one maintenance pass the store holds
/// exactly what the books say.
async fn bytes_put_after_cancel_or_purge_are_swept(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(Some(1 << 20)).await;
    let size = 900 << 10;
    let mut strays = 0u64;
    let mut stray_bytes = 0u64;
    for round in 0..20u64 {
        let data = bytes(size, round);
        let reservation = env
            .reserve(&org, &format!("IMG_{round:04}.JPG"), &data, None)
            .await;
        let wire::UploadPlan::Single { url, headers } = &reservation.upload else {
            panic!("900 KiB is a single-part upload");
        };
        if round % 5 == 4 {
            // Complete, trash and purge; then PUT the same URL again.
            env.upload(&reservation, &data).await;
            let response = env
                .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
                .await;
            assert_eq!(response.status(), 200);
            let asset = reservation.asset_id;
            let trashed = env
                .http
                .delete(env.url(&format!("/v1/assets/{asset}")))
                .bearer_auth(&org.token)
                .send()
                .await
                .unwrap();
            assert!(trashed.status().is_success());
            let purged = env
                .post(
                    &org.token,
                    &format!("/v1/assets/{asset}/purge"),
                    &serde_json::json!({}),
                )
                .await;
            assert!(purged.status().is_success(), "{}", purged.status());
        } else {
            assert_eq!(
                cancel(&env, &org, &reservation.reservation_id.to_string()).await,
                204
            );
        }
        // The URL is still valid for its TTL: whatever the store accepts now
        // is outside the books until the sweep removes it.
        let put = put_with_headers(&env.http, url, headers, data.clone()).await;
        if put.status().is_success() {
            strays += 1;
            stray_bytes += size as u64;
        }
    }
    // One asset the books do count.
    let kept = env
        .upload_asset(&org, "kept.jpg", &bytes(1000, 99), None)
        .await;
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (1000, 0));
    assert_eq!(stored(&env, &org).await.len() as u64, strays + 1);

    // A fresh stray (inside the grace age) survives this pass; older ones do not.
    env.clock
        .advance(env.api.settings.orphan_grace_seconds + 60);
    let report = env.api.run_maintenance().await.unwrap();
    assert_eq!(report.orphan_objects_removed, strays, "{report:?}");
    assert_eq!(report.orphan_bytes_removed, stray_bytes, "{report:?}");
    let left = stored(&env, &org).await;
    assert_eq!(
        left,
        vec![(TestEnv::object_key(&org, &kept.id.to_string()), 1000)],
        "the store holds exactly what the books say"
    );
    assert_eq!(
        left.iter().map(|(_, size)| size).sum::<u64>(),
        env.usage(&org).await.used_bytes
    );
    // The kept asset still downloads.
    let download = env
        .get(&org.token, &format!("/v1/assets/{}/download", kept.id))
        .await;
    assert_eq!(download.status(), 200);
}

/// Open reservations are listed for the device that made them; cancelled and
/// expired ones release their bytes at once (no maintenance pass needed);
/// `percent_used` and the warnings count reserved bytes.
async fn open_reservations_are_listed_and_release_at_once(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(Some(10 << 20)).await;
    let other = env.org(Some(10 << 20)).await;
    let four = 4 << 20;
    let first = env.reserve(&org, "a.jpg", &bytes(four, 1), None).await;
    let second = env.reserve(&org, "b.jpg", &bytes(four, 2), None).await;
    env.reserve(&other, "c.jpg", &bytes(four, 3), None).await;

    let list = |org: &Org| {
        let (env, token) = (&env, org.token.clone());
        async move {
            let response = env.get(&token, "/v1/uploads?state=open").await;
            assert_eq!(response.status(), 200);
            response.json::<wire::OpenUploadList>().await.unwrap()
        }
    };
    let sorted = |mut ids: Vec<uuid::Uuid>| {
        ids.sort();
        ids
    };
    let open = list(&org).await;
    let ids: Vec<_> = open.uploads.iter().map(|u| u.reservation_id).collect();
    assert_eq!(
        sorted(ids),
        sorted(vec![first.reservation_id, second.reservation_id])
    );
    let a = open
        .uploads
        .iter()
        .find(|u| u.reservation_id == first.reservation_id)
        .unwrap();
    assert_eq!((a.name.as_str(), a.size_bytes), ("a.jpg", four as u64));
    assert_eq!(
        env.get(&org.token, "/v1/uploads?state=done").await.status(),
        400
    );

    let usage = env.usage(&org).await;
    assert_eq!(
        (usage.used_bytes, usage.reserved_bytes),
        (0, 2 * four as u64)
    );
    assert!(
        (usage.percent_used - 80.0).abs() < 1e-9,
        "{}",
        usage.percent_used
    );
    let warning = usage.warning.expect("80 % counting reserved bytes warns");
    assert_eq!(warning.threshold_percent, 80);
    assert!(warning.message.contains("reserved"), "{}", warning.message);

    // Full: a third 4 MiB does not fit until one is cancelled.
    let refused = env
        .reserve_raw(&org.token, &reserve_body("d.jpg", &bytes(four, 4), None))
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        cancel(&env, &org, &first.reservation_id.to_string()).await,
        204
    );
    assert_eq!(env.usage(&org).await.reserved_bytes, four as u64);
    let third = env.reserve(&org, "d.jpg", &bytes(four, 4), None).await;
    let ids: Vec<_> = list(&org)
        .await
        .uploads
        .iter()
        .map(|u| u.reservation_id)
        .collect();
    assert_eq!(
        sorted(ids),
        sorted(vec![second.reservation_id, third.reservation_id])
    );

    // Past their expiry they hold nothing, without a maintenance pass.
    env.clock
        .advance(env.api.settings.reservation_ttl_seconds + 1);
    let usage = env.usage(&org).await;
    assert_eq!(usage.reserved_bytes, 0);
    assert!(usage.warning.is_none());
    assert!(list(&org).await.uploads.is_empty());
    env.reserve(&org, "big.jpg", &bytes(9 << 20, 5), None).await;
    // The other organization's list was never mixed in.
    assert_eq!(list(&other).await.uploads.len(), 0, "expired as well");
}

/// Multipart uploads no open reservation owns are aborted by the sweep (on
/// SeaweedFS: the embedded s3s-fs store has no ListMultipartUploads); the
/// upload of an open reservation is left alone and still completes.
async fn stale_multipart_uploads_are_aborted_on_seaweedfs(backend: Backend) {
    let env = TestEnv::start_with(backend, Some(seaweedfs().clone()), test_settings()).await;
    let org = env.org(None).await;
    let data = bytes(12 << 20, 70);
    let open = env.reserve(&org, "pano.tif", &data, None).await;
    assert!(matches!(open.upload, wire::UploadPlan::Multipart { .. }));
    // An upload nothing owns, as a crash between CreateMultipartUpload and
    // recording its id would leave.
    let orphan_key = TestEnv::object_key(&org, &uuid::Uuid::new_v4().to_string());
    env.store.create_multipart(&orphan_key).await.unwrap();
    let prefix = format!("org/{}/", org.id);
    let keys = |uploads: Vec<(String, String, Option<i64>)>| {
        let mut keys: Vec<String> = uploads.into_iter().map(|(key, _, _)| key).collect();
        keys.sort();
        keys
    };
    let open_key = TestEnv::object_key(&org, &open.asset_id.to_string());
    let mut both = vec![open_key.clone(), orphan_key.clone()];
    both.sort();
    let before = env.store.list_multipart_uploads(&prefix).await.unwrap();
    assert_eq!(
        keys(before.expect("SeaweedFS lists multipart uploads")),
        both
    );

    env.clock
        .advance(env.api.settings.orphan_grace_seconds + 60);
    let report = env.api.run_maintenance().await.unwrap();
    assert_eq!(report.multipart_uploads_aborted, 1, "{report:?}");
    let after = env
        .store
        .list_multipart_uploads(&prefix)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(keys(after), vec![open_key]);

    let parts = env.upload(&open, &data).await;
    let response = env
        .complete_raw(&org, &open.reservation_id.to_string(), &parts)
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}
