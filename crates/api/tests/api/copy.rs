//! Content-addressed copy: a new asset from content the organization already
//! stores, without the client sending the bytes.

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, sha256_hex, Backend, Org, TestEnv};

both_backends!(
    copy_of_live_content_needs_no_bytes_and_is_journaled,
    copy_of_trashed_content_brings_it_back_under_a_new_asset,
    copy_of_unknown_content_is_content_unknown,
    copy_never_crosses_organizations,
    copy_over_the_cap_is_quota_exceeded_and_changes_nothing,
    copy_into_a_taken_name_is_a_conflict,
    copy_of_multipart_sized_content_is_assembled_from_part_copies,
    purging_one_of_two_assets_with_the_same_content_keeps_the_other,
    names_of_assets_from_before_the_name_check_are_back_filled,
);

impl TestEnv {
    pub async fn copy_raw(&self, org: &Org, body: &serde_json::Value) -> reqwest::Response {
        self.post(&org.token, "/v1/assets/copy", body).await
    }

    /// Copies content by hash (panics unless 201).
    pub async fn copy(
        &self,
        org: &Org,
        content_sha256: &str,
        name: &str,
        folder: Option<&str>,
    ) -> wire::Asset {
        let response = self
            .copy_raw(
                org,
                &serde_json::json!({"content_sha256": content_sha256, "folder_id": folder, "name": name}),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// The asset's bytes, through its presigned GET.
    pub async fn download_bytes(&self, org: &Org, asset_id: &str) -> Vec<u8> {
        let response = self
            .get(&org.token, &format!("/v1/assets/{asset_id}/download"))
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let download: wire::Download = response.json().await.unwrap();
        let fetched = self.http.get(&download.url).send().await.unwrap();
        assert_eq!(fetched.status(), 200);
        fetched.bytes().await.unwrap().to_vec()
    }

    pub async fn latest_cursor(&self, org: &Org) -> String {
        let cursor: wire::Cursor = self
            .get(&org.token, "/v1/changes/latest")
            .await
            .json()
            .await
            .unwrap();
        cursor.cursor
    }

    pub async fn changes_since(&self, org: &Org, cursor: &str) -> Vec<wire::Change> {
        let page: wire::ChangePage = self
            .get(&org.token, &format!("/v1/changes?cursor={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        page.changes
    }

    pub async fn asset_list(&self, org: &Org) -> Vec<wire::Asset> {
        let page: wire::AssetPage = self
            .get(&org.token, "/v1/assets")
            .await
            .json()
            .await
            .unwrap();
        page.assets
    }
}

async fn folder(env: &TestEnv, org: &Org, name: &str) -> String {
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": name}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let folder: wire::Folder = response.json().await.unwrap();
    folder.id.to_string()
}

async fn copy_of_live_content_needs_no_bytes_and_is_journaled(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(5000, 1);
    let original = env.upload_asset(&org, "IMG_0001.JPG", &data, None).await;
    let gallery = folder(&env, &org, "Client gallery").await;
    let cursor = env.latest_cursor(&org).await;

    let copy = env
        .copy(&org, &sha256_hex(&data), "IMG_0001.JPG", Some(&gallery))
        .await;
    assert_ne!(copy.id, original.id);
    assert_eq!(copy.folder_id.map(|id| id.to_string()), Some(gallery));
    assert_eq!(copy.name, "IMG_0001.JPG");
    assert_eq!(copy.size_bytes, 5000);
    assert_eq!(copy.content_sha256, original.content_sha256);
    assert_eq!(copy.storage_class, wire::StorageClass::Standard);
    assert_eq!(copy.trashed_at, None);

    // Its own object, under its own key; the copy counts like an upload.
    let key = TestEnv::object_key(&org, &copy.id.to_string());
    assert_eq!(
        env.store.head(&key).await.unwrap().unwrap().size_bytes,
        5000
    );
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (10_000, 0));
    assert_eq!(usage.classes[0].object_count, 2);
    assert_eq!(env.download_bytes(&org, &copy.id.to_string()).await, data);

    // Journaled as a creation, like a completed upload.
    let changes = env.changes_since(&org, &cursor).await;
    assert_eq!(
        changes,
        vec![wire::Change::AssetUpserted {
            at: copy.created_at,
            asset: copy.clone()
        }]
    );
}

async fn copy_of_trashed_content_brings_it_back_under_a_new_asset(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(3000, 2);
    let original = env.upload_asset(&org, "a.jpg", &data, None).await;
    let response = env
        .http
        .delete(env.url(&format!("/v1/assets/{}", original.id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The name of a trashed asset is free again; its content is still stored.
    let copy = env.copy(&org, &sha256_hex(&data), "a.jpg", None).await;
    assert_eq!(copy.trashed_at, None);
    assert_eq!(env.download_bytes(&org, &copy.id.to_string()).await, data);
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.trash_bytes), (6000, 3000));
}

async fn copy_of_unknown_content_is_content_unknown(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    env.upload_asset(&org, "a.jpg", &bytes(1000, 3), None).await;
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": sha256_hex(b"never uploaded"), "name": "b.jpg"}),
        )
        .await;
    assert_eq!(response.status(), 404);
    let error = error_body(response).await;
    assert_eq!(error.error, "content_unknown");
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (1000, 0));
    assert_eq!(env.asset_list(&org).await.len(), 1);

    // A purged asset's content is gone too.
    let data = bytes(700, 4);
    let purged = env.upload_asset(&org, "p.jpg", &data, None).await;
    for path in [
        format!("/v1/assets/{}", purged.id),
        format!("/v1/assets/{}/purge", purged.id),
    ] {
        let response = if path.ends_with("purge") {
            env.post(&org.token, &path, &serde_json::json!({})).await
        } else {
            env.http
                .delete(env.url(&path))
                .bearer_auth(&org.token)
                .send()
                .await
                .unwrap()
        };
        assert!(response.status().is_success(), "{path}");
    }
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": sha256_hex(&data), "name": "p.jpg"}),
        )
        .await;
    assert_eq!(error_body(response).await.error, "content_unknown");

    // A malformed hash is the client's mistake, not unknown content.
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": "ABC", "name": "b.jpg"}),
        )
        .await;
    assert_eq!(response.status(), 400);
}

async fn copy_never_crosses_organizations(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let alice = env.org(None).await;
    let mallory = env.org(None).await;
    let secret = bytes(4000, 5);
    let stored = env.upload_asset(&alice, "secret.jpg", &secret, None).await;
    env.upload_asset(&mallory, "own.jpg", b"mallory's own", None)
        .await;

    // Knowing the hash is not enough: the content is looked up in Mallory's organization only.
    let response = env
        .copy_raw(
            &mallory,
            &serde_json::json!({"content_sha256": sha256_hex(&secret), "name": "stolen.jpg"}),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_body(response).await.error, "content_unknown");
    // Nor can Mallory name Alice's asset as the version to replace: it looks
    // exactly like a missing one.
    let response = env
        .copy_raw(
            &mallory,
            &serde_json::json!({"content_sha256": sha256_hex(b"mallory's own"), "name": "x.jpg",
                "replaces": {"asset_id": stored.id, "content_sha256": stored.content_sha256}}),
        )
        .await;
    assert_eq!(response.status(), 412);
    assert_eq!(error_body(response).await.error, "precondition_failed");

    let usage = env.usage(&mallory).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (13, 0));
    let names: Vec<String> = env
        .asset_list(&mallory)
        .await
        .into_iter()
        .map(|asset| asset.name)
        .collect();
    assert_eq!(names, vec!["own.jpg".to_string()]);
    // Alice's asset is untouched.
    let asset: wire::Asset = env
        .get(&alice.token, &format!("/v1/assets/{}", stored.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(asset, stored);
    assert_eq!(env.usage(&alice).await.used_bytes, 4000);
}

async fn copy_over_the_cap_is_quota_exceeded_and_changes_nothing(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(Some(1500)).await;
    let data = bytes(1000, 6);
    env.upload_asset(&org, "a.jpg", &data, None).await;
    let cursor = env.latest_cursor(&org).await;

    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": sha256_hex(&data), "name": "b.jpg"}),
        )
        .await;
    assert_eq!(response.status(), 409);
    let error = error_body(response).await;
    assert_eq!(error.error, "quota_exceeded");
    let quota = error
        .quota
        .expect("the same quota details as a reservation");
    assert_eq!(
        (
            quota.used_bytes,
            quota.reserved_bytes,
            quota.limit_bytes,
            quota.needed_bytes
        ),
        (1000, 0, 1500, 1000)
    );
    assert_eq!(quota.suggested_plan.tier, wire::Tier::Free);

    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (1000, 0));
    assert_eq!(env.asset_list(&org).await.len(), 1);
    assert!(env.changes_since(&org, &cursor).await.is_empty());

    // With room, the same copy goes through and fills the cap exactly.
    let response = env.put_plan(&org, 2000).await;
    assert_eq!(response.status(), 200);
    env.copy(&org, &sha256_hex(&data), "b.jpg", None).await;
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (2000, 0));
}

async fn copy_into_a_taken_name_is_a_conflict(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(800, 7);
    env.upload_asset(&org, "a.jpg", &data, None).await;
    folder(&env, &org, "Shoot").await;
    let cursor = env.latest_cursor(&org).await;

    // Names are case-insensitive, and files and folders share one namespace.
    for name in ["a.jpg", "A.JPG", "shoot"] {
        let response = env
            .copy_raw(
                &org,
                &serde_json::json!({"content_sha256": sha256_hex(&data), "name": name}),
            )
            .await;
        assert_eq!(response.status(), 409, "{name}");
        assert_eq!(error_body(response).await.error, "conflict", "{name}");
    }
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (800, 0));
    assert!(env.changes_since(&org, &cursor).await.is_empty());

    // The same name in another folder is fine; a trashed folder is no target.
    let other = folder(&env, &org, "Other").await;
    env.copy(&org, &sha256_hex(&data), "a.jpg", Some(&other))
        .await;
    let response = env
        .http
        .delete(env.url(&format!("/v1/folders/{other}")))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": sha256_hex(&data), "name": "c.jpg", "folder_id": other}),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_body(response).await.error, "not_found");
}

async fn copy_of_multipart_sized_content_is_assembled_from_part_copies(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    // 12 MiB: uploaded in three parts, and copied as three 5 + 5 + 2 MiB part copies.
    let data = bytes(12 << 20, 8);
    let original = env.upload_asset(&org, "pano.tif", &data, None).await;
    let copy = env
        .copy(&org, &sha256_hex(&data), "pano copy.tif", None)
        .await;
    assert_eq!(copy.size_bytes, 12 << 20);
    assert_eq!(copy.content_sha256, original.content_sha256);
    assert_eq!(env.download_bytes(&org, &copy.id.to_string()).await, data);
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (24 << 20, 0));
}

async fn purging_one_of_two_assets_with_the_same_content_keeps_the_other(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(6000, 9);
    let first = env.upload_asset(&org, "first.jpg", &data, None).await;
    let second = env.copy(&org, &sha256_hex(&data), "second.jpg", None).await;

    // Purge the original (the copy's source): the copy keeps its bytes.
    let response = env
        .http
        .delete(env.url(&format!("/v1/assets/{}", first.id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = env
        .post(
            &org.token,
            &format!("/v1/assets/{}/purge", first.id),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert!(env
        .store
        .head(&TestEnv::object_key(&org, &first.id.to_string()))
        .await
        .unwrap()
        .is_none());
    assert_eq!(env.download_bytes(&org, &second.id.to_string()).await, data);
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (6000, 0));

    // The survivor is still a source for further copies.
    let third = env.copy(&org, &sha256_hex(&data), "third.jpg", None).await;
    assert_eq!(env.download_bytes(&org, &third.id.to_string()).await, data);

    // And purging through maintenance (retention) keeps the others as well.
    let response = env
        .http
        .delete(env.url(&format!("/v1/assets/{}", second.id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    env.clock.advance(31 * 24 * 3600);
    let report = env.api.run_maintenance().await.unwrap();
    assert_eq!(report.assets_purged, 1);
    assert!(env
        .store
        .head(&TestEnv::object_key(&org, &second.id.to_string()))
        .await
        .unwrap()
        .is_none());
    let head = env
        .store
        .head(&TestEnv::object_key(&org, &third.id.to_string()))
        .await
        .unwrap()
        .expect("the third copy's object survives");
    assert_eq!(head.size_bytes, 6000);
    assert_eq!(env.usage(&org).await.used_bytes, 6000);
}

/// Assets written before migration 0002 have no name key; start-up fills it,
/// so their names are taken like any other.
async fn names_of_assets_from_before_the_name_check_are_back_filled(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(400, 10);
    env.upload_asset(&org, "Küche.jpg", &data, None).await;
    sqlx::query("UPDATE assets SET name_key = NULL")
        .execute(&env.api.db.pool)
        .await
        .unwrap();
    env.api.db.migrate().await.unwrap();
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": sha256_hex(&data), "name": "KÜCHE.JPG"}),
        )
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_body(response).await.error, "conflict");
}

impl TestEnv {
    /// Sets a CUSTOM limit through the admin API.
    pub async fn put_plan(&self, org: &Org, limit_bytes: u64) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/admin/v1/organizations/{}/plan", org.id)))
            .bearer_auth(crate::support::ADMIN_TOKEN)
            .json(&serde_json::json!({"tier": "CUSTOM", "limit_override_bytes": limit_bytes}))
            .send()
            .await
            .unwrap()
    }
}
