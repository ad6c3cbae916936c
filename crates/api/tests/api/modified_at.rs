//! Files' modification times: what the uploading (or copying) device says in
//! `modified_at` (Unix milliseconds) is what every other device reads back,
//! so a download lands with the mtime the file had where it came from.

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, reserve_body, Backend, Org, TestEnv};

both_backends!(
    modified_at_travels_from_reservation_to_asset_listing_and_journal,
    without_modified_at_the_asset_says_null,
    copy_carries_its_own_modified_at,
    replace_carries_the_new_versions_modified_at,
    bad_modified_at_is_a_bad_request_and_holds_nothing,
);

/// 2023-11-14T22:13:20.123Z, with milliseconds that seconds would lose.
const MTIME: i64 = 1_700_000_000_123;

fn with_modified_at(mut body: serde_json::Value, modified_at: i64) -> serde_json::Value {
    body["modified_at"] = serde_json::json!(modified_at);
    body
}

impl TestEnv {
    /// Reserve (with `body`), upload and complete; returns the asset.
    async fn upload_with(&self, org: &Org, body: &serde_json::Value, data: &[u8]) -> wire::Asset {
        let response = self.reserve_raw(&org.token, body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let reservation: wire::Reservation = response.json().await.unwrap();
        let parts = self.upload(&reservation, data).await;
        let response = self
            .complete_raw(org, &reservation.reservation_id.to_string(), &parts)
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// `GET /v1/assets/{id}` as raw JSON, to see the field as sent.
    async fn asset_json(&self, org: &Org, id: uuid::Uuid) -> serde_json::Value {
        let response = self.get(&org.token, &format!("/v1/assets/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Every `asset_upserted` of this asset in the journal since `cursor`.
    async fn upserts_of(&self, org: &Org, cursor: &str, id: uuid::Uuid) -> Vec<wire::Asset> {
        self.changes_since(org, cursor)
            .await
            .into_iter()
            .filter_map(|change| match change {
                wire::Change::AssetUpserted { asset, .. } if asset.id == id => Some(asset),
                _ => None,
            })
            .collect()
    }
}

async fn modified_at_travels_from_reservation_to_asset_listing_and_journal(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let cursor = env.latest_cursor(&org).await;
    let data = bytes(1500, 1);

    let body = with_modified_at(reserve_body("IMG_0001.JPG", &data, None), MTIME);
    let response = env.reserve_raw(&org.token, &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let reservation: wire::Reservation = response.json().await.unwrap();
    env.upload(&reservation, &data).await;
    let id = reservation.reservation_id.to_string();
    let response = env.complete_raw(&org, &id, &[]).await;
    assert_eq!(response.status(), 200);
    let asset: wire::Asset = response.json().await.unwrap();
    assert_eq!(asset.modified_at, Some(MTIME));
    // A replayed completion answers the same asset, mtime included.
    let replay: wire::Asset = env.complete_raw(&org, &id, &[]).await.json().await.unwrap();
    assert_eq!(replay, asset);

    let json = env.asset_json(&org, asset.id).await;
    assert_eq!(json["modified_at"], serde_json::json!(MTIME));
    let listed = env.asset_list(&org).await;
    assert_eq!(listed, vec![asset.clone()]);
    assert_eq!(
        env.upserts_of(&org, &cursor, asset.id).await,
        vec![asset.clone()]
    );

    // Metadata changes leave the file's mtime as it is (they move `updated_at`).
    let response = env
        .http
        .patch(env.url(&format!("/v1/assets/{}", asset.id)))
        .bearer_auth(&org.token)
        .json(&serde_json::json!({"name": "IMG_0001 (renamed).JPG"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let renamed: wire::Asset = response.json().await.unwrap();
    assert_eq!(renamed.modified_at, Some(MTIME));
    let response = env
        .http
        .delete(env.url(&format!("/v1/assets/{}", asset.id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let upserts = env.upserts_of(&org, &cursor, asset.id).await;
    assert_eq!(upserts.len(), 3);
    assert!(upserts[2].trashed_at.is_some());
    assert!(
        upserts.iter().all(|a| a.modified_at == Some(MTIME)),
        "{upserts:?}"
    );

    // Multipart uploads carry it too, and the boundaries are accepted.
    let big = bytes(12 << 20, 2);
    let body = with_modified_at(
        reserve_body("clip.mov", &big, None),
        wire::MAX_MODIFIED_AT_MS,
    );
    let clip = env.upload_with(&org, &body, &big).await;
    assert_eq!(clip.modified_at, Some(wire::MAX_MODIFIED_AT_MS));
    let epoch = bytes(10, 3);
    let body = with_modified_at(reserve_body("epoch.jpg", &epoch, None), 0);
    assert_eq!(
        env.upload_with(&org, &body, &epoch).await.modified_at,
        Some(0)
    );
}

async fn without_modified_at_the_asset_says_null(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let cursor = env.latest_cursor(&org).await;

    let asset = env.upload_asset(&org, "a.jpg", &bytes(800, 1), None).await;
    assert_eq!(asset.modified_at, None);
    // Present and null, not left out.
    let json = env.asset_json(&org, asset.id).await;
    assert!(
        json.as_object().unwrap().contains_key("modified_at"),
        "{json}"
    );
    assert!(json["modified_at"].is_null());
    let page: serde_json::Value = env
        .get(&org.token, "/v1/assets")
        .await
        .json()
        .await
        .unwrap();
    assert!(page["assets"][0]["modified_at"].is_null(), "{page}");
    assert!(page["assets"][0]
        .as_object()
        .unwrap()
        .contains_key("modified_at"));
    assert_eq!(env.upserts_of(&org, &cursor, asset.id).await, vec![asset]);
    // An explicit null is the same as leaving it out.
    let data = bytes(900, 2);
    let mut body = reserve_body("b.jpg", &data, None);
    body["modified_at"] = serde_json::Value::Null;
    assert_eq!(env.upload_with(&org, &body, &data).await.modified_at, None);

    // The OpenAPI document describes the field everywhere it travels.
    let openapi: serde_json::Value = env
        .http
        .get(env.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for schema in ["ReserveRequest", "CopyRequest", "Asset"] {
        let field = &openapi["components"]["schemas"][schema]["properties"]["modified_at"];
        let description = field["description"].as_str().unwrap_or_default();
        assert!(description.contains("milliseconds"), "{schema}: {field}");
    }
}

async fn copy_carries_its_own_modified_at(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(1200, 1);
    let source = env
        .upload_with(
            &org,
            &with_modified_at(reserve_body("a.jpg", &data, None), MTIME),
            &data,
        )
        .await;
    let cursor = env.latest_cursor(&org).await;

    let later = MTIME + 86_400_000;
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": source.content_sha256, "name": "b.jpg", "modified_at": later}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let copy: wire::Asset = response.json().await.unwrap();
    assert_eq!(copy.modified_at, Some(later));
    assert_eq!(
        env.asset_json(&org, copy.id).await["modified_at"],
        serde_json::json!(later)
    );
    assert_eq!(
        env.upserts_of(&org, &cursor, copy.id).await,
        vec![copy.clone()]
    );

    // Never inherited from the source: a copy that does not say has none.
    let silent = env.copy(&org, &source.content_sha256, "c.jpg", None).await;
    assert_eq!(silent.modified_at, None);

    // The source is untouched.
    let listed = env.asset_list(&org).await;
    let by_id = |id| listed.iter().find(|a| a.id == id).unwrap().modified_at;
    assert_eq!(by_id(source.id), Some(MTIME));
    assert_eq!(by_id(copy.id), Some(later));
    assert_eq!(by_id(silent.id), None);
}

async fn replace_carries_the_new_versions_modified_at(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let v1_data = bytes(1000, 1);
    let v1 = env
        .upload_with(
            &org,
            &with_modified_at(reserve_body("a.jpg", &v1_data, None), MTIME),
            &v1_data,
        )
        .await;
    let cursor = env.latest_cursor(&org).await;

    // By upload.
    let v2_data = bytes(1100, 2);
    let v2_mtime = MTIME + 60_000;
    let mut body = with_modified_at(reserve_body("a.jpg", &v2_data, None), v2_mtime);
    body["replaces"] = serde_json::json!({"asset_id": v1.id, "content_sha256": v1.content_sha256});
    let v2 = env.upload_with(&org, &body, &v2_data).await;
    assert_eq!(v2.modified_at, Some(v2_mtime));
    // The old version keeps its own, in the trash.
    let old: wire::Asset = serde_json::from_value(env.asset_json(&org, v1.id).await).unwrap();
    assert!(old.trashed_at.is_some());
    assert_eq!(old.modified_at, Some(MTIME));
    let changes = env.changes_since(&org, &cursor).await;
    let upserted: Vec<(uuid::Uuid, Option<i64>)> = changes
        .iter()
        .filter_map(|change| match change {
            wire::Change::AssetUpserted { asset, .. } => Some((asset.id, asset.modified_at)),
            _ => None,
        })
        .collect();
    assert_eq!(
        upserted,
        vec![(v1.id, Some(MTIME)), (v2.id, Some(v2_mtime))]
    );

    // By copy: back to v1's content as a third version, with the mtime the copy says.
    let v3_mtime = MTIME + 120_000;
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": v1.content_sha256, "name": "a.jpg", "modified_at": v3_mtime,
                "replaces": {"asset_id": v2.id, "content_sha256": v2.content_sha256}}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let v3: wire::Asset = response.json().await.unwrap();
    assert_eq!(v3.modified_at, Some(v3_mtime));
    let listed = env.asset_list(&org).await;
    let live: Vec<_> = listed.iter().filter(|a| a.trashed_at.is_none()).collect();
    assert_eq!(live, vec![&v3]);
    let v2_now = listed.iter().find(|a| a.id == v2.id).unwrap();
    assert!(v2_now.trashed_at.is_some());
    assert_eq!(v2_now.modified_at, Some(v2_mtime));
}

async fn bad_modified_at_is_a_bad_request_and_holds_nothing(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let data = bytes(700, 1);
    let source = env.upload_asset(&org, "a.jpg", &data, None).await;
    let before = env.usage(&org).await;

    let bad = [
        // Before 1601-01-01, the earliest date a file system gives a file.
        serde_json::json!(wire::MIN_MODIFIED_AT_MS - 1),
        serde_json::json!(i64::MIN),
        serde_json::json!(wire::MAX_MODIFIED_AT_MS + 1),
        serde_json::json!(i64::MAX),
        // Nanoseconds for "now", a typical unit mistake.
        serde_json::json!(1_700_000_000_123_000_000_i64),
        serde_json::json!(1.5),
        serde_json::json!("1700000000123"),
    ];
    for value in bad {
        let mut body = reserve_body("b.jpg", &data, None);
        body["modified_at"] = value.clone();
        let response = env.reserve_raw(&org.token, &body).await;
        assert_eq!(response.status(), 400, "reserve {value}");
        assert_eq!(
            error_body(response).await.error,
            "bad_request",
            "reserve {value}"
        );

        let body = serde_json::json!({"content_sha256": source.content_sha256, "name": "c.jpg",
            "modified_at": value});
        let response = env.copy_raw(&org, &body).await;
        assert_eq!(response.status(), 400, "copy {value}");
        assert_eq!(
            error_body(response).await.error,
            "bad_request",
            "copy {value}"
        );
    }
    // Nothing held, nothing created.
    let after = env.usage(&org).await;
    assert_eq!(after.reserved_bytes, 0);
    assert_eq!(after.used_bytes, before.used_bytes);
    assert_eq!(env.asset_list(&org).await, vec![source]);
}
