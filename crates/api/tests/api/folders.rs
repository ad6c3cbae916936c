//! The folder tree, settings, trash, restore and purge.

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, Backend, TestEnv};

both_backends!(
    folder_tree_renames_moves_and_refuses_cycles,
    trash_restore_and_purge_after_retention,
    organization_settings_round_trip
);

async fn folder(env: &TestEnv, token: &str, body: serde_json::Value) -> wire::Folder {
    let response = env.post(token, "/v1/folders", &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn folder_tree_renames_moves_and_refuses_cycles(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let year = folder(&env, &org.token, serde_json::json!({"name": "2025"})).await;
    let client = folder(
        &env,
        &org.token,
        serde_json::json!({"name": "Smith, John", "parent_id": year.id}),
    )
    .await;
    let gallery = folder(
        &env,
        &org.token,
        serde_json::json!({"name": "Residential", "parent_id": client.id,
        "settings": {"retention_days": 14, "optimize_storage": true}}),
    )
    .await;
    assert_eq!(
        gallery.settings,
        wire::FolderSettings {
            retention_days: Some(14),
            optimize_storage: true
        }
    );
    let asset = env
        .upload_asset(
            &org,
            "IMG.JPG",
            &bytes(100, 50),
            Some(&gallery.id.to_string()),
        )
        .await;
    let key_before = env
        .store
        .head(&TestEnv::object_key(&org, &asset.id.to_string()))
        .await
        .unwrap();

    // Rename the client folder: a metadata update; the object does not move.
    let response = env.http.patch(env.url(&format!("/v1/folders/{}", client.id))).bearer_auth(&org.token)
        .json(&serde_json::json!({"name": "Smith, Jane", "settings": {"retention_days": null, "optimize_storage": false}})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let renamed: wire::Folder = response.json().await.unwrap();
    assert_eq!(renamed.name, "Smith, Jane");
    assert!(env
        .store
        .head(&TestEnv::object_key(&org, &asset.id.to_string()))
        .await
        .unwrap()
        .is_some());
    assert!(key_before.is_some());

    // Moving a folder into its own subtree is refused; elsewhere it works.
    for target in [client.id, gallery.id] {
        let response = env
            .post(
                &org.token,
                &format!("/v1/folders/{}/move", client.id),
                &serde_json::json!({"parent_id": target}),
            )
            .await;
        assert_eq!(response.status(), 409);
    }
    let moved: wire::Folder = env
        .post(
            &org.token,
            &format!("/v1/folders/{}/move", gallery.id),
            &serde_json::json!({"parent_id": null}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved.parent_id, None);
    // Sibling names are unique (case-insensitively) among live folders.
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "residential"}),
        )
        .await;
    assert_eq!(response.status(), 409);
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "residential", "parent_id": year.id}),
        )
        .await;
    assert_eq!(response.status(), 201);
    // Bad settings are refused.
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "x", "settings": {"retention_days": 0}}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let listed: wire::FolderList = env
        .get(&org.token, "/v1/folders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.folders.len(), 4);
}

async fn trash_restore_and_purge_after_retention(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let shoot = folder(
        &env,
        &org.token,
        serde_json::json!({"name": "Shoot", "settings": {"retention_days": 7}}),
    )
    .await;
    let inner = folder(
        &env,
        &org.token,
        serde_json::json!({"name": "Selects", "parent_id": shoot.id}),
    )
    .await;
    let a = env
        .upload_asset(&org, "a.jpg", &bytes(1000, 51), Some(&shoot.id.to_string()))
        .await;
    let b = env
        .upload_asset(&org, "b.jpg", &bytes(2000, 52), Some(&inner.id.to_string()))
        .await;
    let loose = env
        .upload_asset(&org, "c.jpg", &bytes(3000, 53), None)
        .await;

    // Trashing a folder trashes its subtree; restore brings exactly that back.
    let trashed: wire::Folder = env
        .http
        .delete(env.url(&format!("/v1/folders/{}", shoot.id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(trashed.trashed_at.is_some());
    let b_now: wire::Asset = env
        .get(&org.token, &format!("/v1/assets/{}", b.id))
        .await
        .json()
        .await
        .unwrap();
    assert!(b_now.trashed_at.is_some());
    let usage = env.usage(&org).await;
    assert_eq!(
        (usage.used_bytes, usage.trash_bytes),
        (6000, 3000),
        "trash still counts against the cap"
    );
    let restored: wire::Folder = env
        .post(
            &org.token,
            &format!("/v1/folders/{}/restore", shoot.id),
            &serde_json::json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(restored.trashed_at.is_none());
    let b_now: wire::Asset = env
        .get(&org.token, &format!("/v1/assets/{}", b.id))
        .await
        .json()
        .await
        .unwrap();
    assert!(b_now.trashed_at.is_none());

    // Trash two assets: one in the 7-day folder, one at the root (organization default 30 days).
    for id in [a.id, loose.id] {
        let response = env
            .http
            .delete(env.url(&format!("/v1/assets/{id}")))
            .bearer_auth(&org.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    env.clock.advance(6 * 24 * 3600);
    assert_eq!(env.api.run_maintenance().await.unwrap().assets_purged, 0);
    env.clock.advance(2 * 24 * 3600);
    assert_eq!(env.api.run_maintenance().await.unwrap().assets_purged, 1);
    assert!(
        env.store
            .head(&TestEnv::object_key(&org, &a.id.to_string()))
            .await
            .unwrap()
            .is_none(),
        "purged object deleted"
    );
    assert_eq!(
        env.get(&org.token, &format!("/v1/assets/{}", a.id))
            .await
            .status(),
        404
    );
    assert_eq!(env.usage(&org).await.used_bytes, 5000);

    // The root asset can still be restored within its 30 days.
    let back: wire::Asset = env
        .post(
            &org.token,
            &format!("/v1/assets/{}/restore", loose.id),
            &serde_json::json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(back.trashed_at.is_none());
    // Purging a live asset is refused.
    assert_eq!(
        env.post(
            &org.token,
            &format!("/v1/assets/{}/purge", loose.id),
            &serde_json::json!({})
        )
        .await
        .status(),
        409
    );
    env.clock.advance(40 * 24 * 3600);
    env.api.run_maintenance().await.unwrap();
    assert_eq!(env.usage(&org).await.used_bytes, 5000);
}

async fn organization_settings_round_trip(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let defaults: wire::OrganizationSettings = env
        .get(&org.token, "/v1/settings")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(defaults, wire::OrganizationSettings::default());
    let wanted = wire::OrganizationSettings {
        organization_rules: vec![
            wire::OrganizationLevel::ByDate,
            wire::OrganizationLevel::ByClient,
            wire::OrganizationLevel::Custom("{style}".into()),
        ],
        trash_retention_days: 60,
        auto_archive_after_months: Some(6),
        upload_quality: wire::UploadQuality::High,
        auto_save: false,
    };
    let response = env
        .http
        .put(env.url("/v1/settings"))
        .bearer_auth(&org.token)
        .json(&wanted)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stored: wire::OrganizationSettings = env
        .get(&org.token, "/v1/settings")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, wanted);
    let bad = wire::OrganizationSettings {
        trash_retention_days: 0,
        ..wanted
    };
    let response = env
        .http
        .put(env.url("/v1/settings"))
        .bearer_auth(&org.token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
