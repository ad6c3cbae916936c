//! Standard ↔ Infrequent Access against SeaweedFS, which has storage classes.
//! The test fails (it does not skip) when `weed` is not installed.

use photopro_api::store::ObjectStore;
use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, seaweedfs, test_settings, Backend, TestEnv};

both_backends!(
    storage_class_round_trip_on_seaweedfs,
    optimized_folders_and_auto_archive_move_originals_to_infrequent_access,
    multipart_with_a_wrong_etag_is_refused_and_can_be_corrected,
    embedded_store_without_classes_says_so
);

async fn storage_class_round_trip_on_seaweedfs(backend: Backend) {
    let store_config = seaweedfs().clone();
    let env = TestEnv::start_with(backend, Some(store_config.clone()), test_settings()).await;
    let org = env.org(None).await;
    let data = bytes(3 << 20, 60);
    let asset = env.upload_asset(&org, "original.dng", &data, None).await;
    let key = TestEnv::object_key(&org, &asset.id.to_string());
    let direct = ObjectStore::new(&store_config);

    let response = env
        .http
        .put(env.url(&format!("/v1/assets/{}/storage-class", asset.id)))
        .bearer_auth(&org.token)
        .json(&serde_json::json!({"storage_class": "INFREQUENT_ACCESS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let change: wire::StorageClassChange = response.json().await.unwrap();
    assert_eq!(
        change.asset.storage_class,
        wire::StorageClass::InfrequentAccess
    );
    let head = direct.head(&key).await.unwrap().unwrap();
    assert_eq!(
        head.storage_class.as_deref(),
        Some("STANDARD_IA"),
        "the store itself reports the new class"
    );
    assert_eq!(head.size_bytes, 3 << 20);

    let usage = env.usage(&org).await;
    let ia = usage
        .classes
        .iter()
        .find(|class| class.storage_class == wire::StorageClass::InfrequentAccess)
        .unwrap();
    assert_eq!(ia.bytes, 3 << 20);
    let expected = (3u64 << 20) as f64 / (1u64 << 40) as f64 * 10.24;
    assert!((ia.monthly_cost_usd - expected).abs() < 1e-12);

    // Download from IA: the URL works and the retrieval cost is stated.
    let download: wire::Download = env
        .get(&org.token, &format!("/v1/assets/{}/download", asset.id))
        .await
        .json()
        .await
        .unwrap();
    assert!((download.retrieval_cost_usd - 3.0 / 1024.0 * 0.01).abs() < 1e-12);
    let fetched = env
        .http
        .get(&download.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(fetched.as_ref() == data.as_slice());

    // Back to Standard after 10 days: 20 days of the IA minimum are still owed.
    env.clock.advance(10 * 24 * 3600);
    let change: wire::StorageClassChange = env
        .http
        .put(env.url(&format!("/v1/assets/{}/storage-class", asset.id)))
        .bearer_auth(&org.token)
        .json(&serde_json::json!({"storage_class": "STANDARD"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(change.asset.storage_class, wire::StorageClass::Standard);
    assert!(change.minimum_duration_charge_usd > 0.0);
    assert!(change.retrieval_cost_usd > 0.0);
    let head = direct.head(&key).await.unwrap().unwrap();
    assert_ne!(head.storage_class.as_deref(), Some("STANDARD_IA"));
    assert_eq!(head.size_bytes, 3 << 20);
    // The change is journaled for other devices.
    let page: wire::ChangePage = env
        .get(&org.token, "/v1/changes")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 3);
}

async fn optimized_folders_and_auto_archive_move_originals_to_infrequent_access(backend: Backend) {
    let store_config = seaweedfs().clone();
    let env = TestEnv::start_with(backend, Some(store_config.clone()), test_settings()).await;
    let org = env.org(None).await;
    let direct = ObjectStore::new(&store_config);
    let mut settings: wire::OrganizationSettings = env
        .get(&org.token, "/v1/settings")
        .await
        .json()
        .await
        .unwrap();
    settings.auto_archive_after_months = Some(2);
    let response = env
        .http
        .put(env.url("/v1/settings"))
        .bearer_auth(&org.token)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let optimized: wire::Folder = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "Archive 2019", "settings": {"optimize_storage": true}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let cold = env
        .upload_asset(
            &org,
            "old.jpg",
            &bytes(1000, 62),
            Some(&optimized.id.to_string()),
        )
        .await;
    let warm = env
        .upload_asset(&org, "new.jpg", &bytes(1000, 63), None)
        .await;
    let class_in_store = |asset: &wire::Asset| {
        let key = TestEnv::object_key(&org, &asset.id.to_string());
        let direct = direct.clone();
        async move { direct.head(&key).await.unwrap().unwrap().storage_class }
    };

    // "Optimize storage" moves the folder's originals at the next pass; the rest stays.
    assert_eq!(env.api.run_maintenance().await.unwrap().assets_archived, 1);
    assert_eq!(class_in_store(&cold).await.as_deref(), Some("STANDARD_IA"));
    assert_ne!(class_in_store(&warm).await.as_deref(), Some("STANDARD_IA"));
    // One month on, nothing else is old enough; after two months auto-archive takes the rest.
    env.clock.advance(31 * 24 * 3600);
    assert_eq!(env.api.run_maintenance().await.unwrap().assets_archived, 0);
    env.clock.advance(30 * 24 * 3600);
    assert_eq!(env.api.run_maintenance().await.unwrap().assets_archived, 1);
    assert_eq!(class_in_store(&warm).await.as_deref(), Some("STANDARD_IA"));
    let asset: wire::Asset = env
        .get(&org.token, &format!("/v1/assets/{}", warm.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(asset.storage_class, wire::StorageClass::InfrequentAccess);
    assert_eq!(env.api.run_maintenance().await.unwrap().assets_archived, 0);
}

async fn embedded_store_without_classes_says_so(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let asset = env.upload_asset(&org, "a.jpg", &bytes(100, 61), None).await;
    let response = env
        .http
        .put(env.url(&format!("/v1/assets/{}/storage-class", asset.id)))
        .bearer_auth(&org.token)
        .json(&serde_json::json!({"storage_class": "INFREQUENT_ACCESS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(error_body(response).await.error, "conflict");
    let response = env
        .http
        .put(env.url(&format!("/v1/assets/{}/storage-class", asset.id)))
        .bearer_auth(&org.token)
        .json(&serde_json::json!({"storage_class": "GLACIER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

/// SeaweedFS checks part ETags at completion (s3s-fs does not), so this story
/// runs there: the store's refusal is a 400 and the reservation stays open.
async fn multipart_with_a_wrong_etag_is_refused_and_can_be_corrected(backend: Backend) {
    let env = TestEnv::start_with(backend, Some(seaweedfs().clone()), test_settings()).await;
    let org = env.org(None).await;
    let data = bytes(11 << 20, 64);
    let reservation = env.reserve(&org, "pano.tif", &data, None).await;
    let completed = env.upload(&reservation, &data).await;
    let id = reservation.reservation_id.to_string();
    let mut wrong = completed.clone();
    wrong[1].etag = "\"0123456789abcdef0123456789abcdef\"".into();
    let response = env.complete_raw(&org, &id, &wrong).await;
    assert_eq!(response.status(), 400, "a wrong ETag is refused");
    let usage = env.usage(&org).await;
    assert_eq!(
        (usage.used_bytes, usage.reserved_bytes),
        (0, 11 << 20),
        "nothing committed, still reserved"
    );
    let response = env.complete_raw(&org, &id, &completed).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (11 << 20, 0));
}
