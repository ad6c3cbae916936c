//! Atomic replace: a new version trashes the old one in the transaction that
//! creates it, only if the old one is still the version the client saw.

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, reserve_body, sha256_hex, Backend, Org, TestEnv};

both_backends!(
    replace_by_upload_trashes_the_old_version_in_the_same_step,
    replace_with_a_stale_version_is_refused_at_reservation,
    replace_is_refused_at_completion_when_the_old_version_changed_meanwhile,
    replace_by_copy_needs_no_bytes,
    a_name_taken_between_reservation_and_completion_is_refused_at_completion,
);

fn replacing(name: &str, data: &[u8], old: &wire::Asset) -> serde_json::Value {
    let mut body = reserve_body(name, data, None);
    body["folder_id"] = serde_json::json!(old.folder_id);
    body["replaces"] =
        serde_json::json!({"asset_id": old.id, "content_sha256": old.content_sha256});
    body
}

async fn asset(env: &TestEnv, org: &Org, id: &str) -> reqwest::Response {
    env.get(&org.token, &format!("/v1/assets/{id}")).await
}

async fn replace_by_upload_trashes_the_old_version_in_the_same_step(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let shoot: wire::Folder = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "Smith"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let v1_data = bytes(2000, 1);
    let v1 = env
        .upload_asset(&org, "kitchen.jpg", &v1_data, Some(&shoot.id.to_string()))
        .await;

    // A replacement may take the replaced asset's name (in any case), not the
    // name of another live asset or folder there.
    let v2_data = bytes(3000, 2);
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "Pantry", "parent_id": shoot.id}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = env
        .reserve_raw(&org.token, &replacing("pantry", &v2_data, &v1))
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_body(response).await.error, "conflict");
    assert_eq!(env.usage(&org).await.reserved_bytes, 0);
    // A plain upload checks no names, as before.
    let plain = env
        .reserve(&org, "kitchen.jpg", &v2_data, Some(&shoot.id.to_string()))
        .await;
    let response = env
        .http
        .delete(env.url(&format!("/v1/uploads/{}", plain.reservation_id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let response = env
        .reserve_raw(&org.token, &replacing("kitchen.jpg", &v2_data, &v1))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let reservation: wire::Reservation = response.json().await.unwrap();
    // Until completion the old version is untouched.
    let current: wire::Asset = asset(&env, &org, &v1.id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current.trashed_at, None);

    let cursor = env.latest_cursor(&org).await;
    let parts = env.upload(&reservation, &v2_data).await;
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &parts)
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let v2: wire::Asset = response.json().await.unwrap();
    assert_eq!(
        (v2.name.as_str(), v2.folder_id),
        ("kitchen.jpg", Some(shoot.id))
    );
    assert_eq!(v2.content_sha256, sha256_hex(&v2_data));

    let old: wire::Asset = asset(&env, &org, &v1.id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        old.trashed_at,
        Some(v2.created_at),
        "trashed in the same step"
    );
    // Trashed bytes count until purged, as for any deletion.
    let usage = env.usage(&org).await;
    assert_eq!(
        (usage.used_bytes, usage.reserved_bytes, usage.trash_bytes),
        (5000, 0, 2000)
    );

    // One journal step: the old version leaves, then the new one arrives.
    let changes = env.changes_since(&org, &cursor).await;
    assert_eq!(
        changes,
        vec![
            wire::Change::AssetUpserted {
                at: v2.created_at,
                asset: old.clone()
            },
            wire::Change::AssetUpserted {
                at: v2.created_at,
                asset: v2.clone()
            },
        ]
    );
    // A replayed completion returns the same asset and changes nothing.
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &parts)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<wire::Asset>().await.unwrap(), v2);
    assert_eq!(env.usage(&org).await.used_bytes, 5000);

    // The old version is restorable, bytes intact.
    let response = env
        .post(
            &org.token,
            &format!("/v1/assets/{}/restore", v1.id),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let restored: wire::Asset = response.json().await.unwrap();
    assert_eq!(
        (restored.trashed_at, restored.folder_id),
        (None, Some(shoot.id))
    );
    assert_eq!(env.download_bytes(&org, &v1.id.to_string()).await, v1_data);
    assert_eq!(env.download_bytes(&org, &v2.id.to_string()).await, v2_data);
}

async fn replace_with_a_stale_version_is_refused_at_reservation(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let v1 = env.upload_asset(&org, "a.jpg", &bytes(1000, 3), None).await;
    let trashed = env.upload_asset(&org, "t.jpg", &bytes(1000, 4), None).await;
    let response = env
        .http
        .delete(env.url(&format!("/v1/assets/{}", trashed.id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let v2 = bytes(1500, 5);

    let stale = wire::Asset {
        content_sha256: sha256_hex(b"a version never stored"),
        ..v1.clone()
    };
    let unknown = wire::Asset {
        id: uuid::Uuid::new_v4(),
        ..v1.clone()
    };
    for (what, old) in [
        ("stale hash", &stale),
        ("trashed", &trashed),
        ("unknown id", &unknown),
    ] {
        let response = env
            .reserve_raw(&org.token, &replacing("a.jpg", &v2, old))
            .await;
        assert_eq!(response.status(), 412, "{what}");
        let error = error_body(response).await;
        assert_eq!(error.error, "precondition_failed", "{what}");
    }
    let response = env
        .reserve_raw(
            &org.token,
            &serde_json::json!({"size_bytes": 1500, "content_sha256": sha256_hex(&v2), "name": "a.jpg",
                "replaces": {"asset_id": v1.id, "content_sha256": "not hex"}}),
        )
        .await;
    assert_eq!(response.status(), 400);

    // Nothing held, nothing changed.
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (2000, 0));
    let current: wire::Asset = asset(&env, &org, &v1.id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current, v1);
}

async fn replace_is_refused_at_completion_when_the_old_version_changed_meanwhile(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let second_device: wire::DeviceToken = env
        .admin_post(
            &format!("/admin/v1/organizations/{}/devices", org.id),
            &serde_json::json!({"device_name": "Laptop"}),
        )
        .await;
    let laptop = Org {
        id: org.id.clone(),
        token: second_device.token,
        device_id: second_device.device_id.to_string(),
    };
    let v1 = env.upload_asset(&org, "a.jpg", &bytes(1000, 6), None).await;

    // Two devices edit the same version; both reserve a replacement.
    let ours = bytes(1200, 7);
    let response = env
        .reserve_raw(&org.token, &replacing("a.jpg", &ours, &v1))
        .await;
    assert_eq!(response.status(), 201);
    let ours_reservation: wire::Reservation = response.json().await.unwrap();
    let parts = env.upload(&ours_reservation, &ours).await;

    let theirs = bytes(1300, 8);
    let response = env
        .reserve_raw(&laptop.token, &replacing("a.jpg", &theirs, &v1))
        .await;
    assert_eq!(response.status(), 201);
    let theirs_reservation: wire::Reservation = response.json().await.unwrap();
    let their_parts = env.upload(&theirs_reservation, &theirs).await;
    let response = env
        .complete_raw(
            &laptop,
            &theirs_reservation.reservation_id.to_string(),
            &their_parts,
        )
        .await;
    assert_eq!(response.status(), 200);
    let their_version: wire::Asset = response.json().await.unwrap();
    let cursor = env.latest_cursor(&org).await;

    // Ours now replaces a version that is gone: nothing is created, and the
    // uploaded object is deleted at once with the reservation released.
    let response = env
        .complete_raw(&org, &ours_reservation.reservation_id.to_string(), &parts)
        .await;
    assert_eq!(response.status(), 412);
    let error = error_body(response).await;
    assert_eq!(error.error, "precondition_failed");
    assert!(error.message.contains("replace"), "{}", error.message);
    assert_eq!(
        asset(&env, &org, &ours_reservation.asset_id.to_string())
            .await
            .status(),
        404
    );
    let key = TestEnv::object_key(&org, &ours_reservation.asset_id.to_string());
    assert!(
        env.store.head(&key).await.unwrap().is_none(),
        "object cleaned up"
    );
    assert!(env.changes_since(&org, &cursor).await.is_empty());
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (1000 + 1300, 0));

    // The winner is live under the name; the old version is in the trash.
    let current: wire::Asset = asset(&env, &org, &their_version.id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((current.name.as_str(), current.trashed_at), ("a.jpg", None));
    let old: wire::Asset = asset(&env, &org, &v1.id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert!(old.trashed_at.is_some());

    // A retry of the refused completion finds the reservation released.
    let response = env
        .complete_raw(&org, &ours_reservation.reservation_id.to_string(), &parts)
        .await;
    assert_eq!(response.status(), 410);
}

async fn replace_by_copy_needs_no_bytes(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let v1 = env.upload_asset(&org, "a.jpg", &bytes(1000, 9), None).await;
    // The new version's content is already stored (an earlier edit, say).
    let edit = bytes(1400, 10);
    let earlier = env.upload_asset(&org, "edit.jpg", &edit, None).await;

    let stale = serde_json::json!({"content_sha256": sha256_hex(&edit), "name": "a.jpg",
        "replaces": {"asset_id": v1.id, "content_sha256": sha256_hex(b"not it")}});
    let response = env.copy_raw(&org, &stale).await;
    assert_eq!(response.status(), 412);
    assert_eq!(error_body(response).await.error, "precondition_failed");
    assert_eq!(env.usage(&org).await.used_bytes, 2400);

    let cursor = env.latest_cursor(&org).await;
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": sha256_hex(&edit), "name": "a.jpg",
                "replaces": {"asset_id": v1.id, "content_sha256": v1.content_sha256}}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let v2: wire::Asset = response.json().await.unwrap();
    assert_ne!(v2.id, earlier.id);
    assert_eq!(
        (v2.name.as_str(), v2.content_sha256.as_str()),
        ("a.jpg", earlier.content_sha256.as_str())
    );
    let old: wire::Asset = asset(&env, &org, &v1.id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old.trashed_at, Some(v2.created_at));
    assert_eq!(
        env.changes_since(&org, &cursor).await,
        vec![
            wire::Change::AssetUpserted {
                at: v2.created_at,
                asset: old
            },
            wire::Change::AssetUpserted {
                at: v2.created_at,
                asset: v2.clone()
            },
        ]
    );
    assert_eq!(env.download_bytes(&org, &v2.id.to_string()).await, edit);
    let usage = env.usage(&org).await;
    assert_eq!(
        (usage.used_bytes, usage.reserved_bytes, usage.trash_bytes),
        (3800, 0, 1000)
    );

    // Replaying the same copy: the old version is no longer live.
    let response = env
        .copy_raw(
            &org,
            &serde_json::json!({"content_sha256": sha256_hex(&edit), "name": "a.jpg",
                "replaces": {"asset_id": v1.id, "content_sha256": v1.content_sha256}}),
        )
        .await;
    assert_eq!(response.status(), 412);
    assert_eq!(env.usage(&org).await.used_bytes, 3800);
}

async fn a_name_taken_between_reservation_and_completion_is_refused_at_completion(
    backend: Backend,
) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let v1_data = bytes(900, 11);
    let v1 = env.upload_asset(&org, "IMG.JPG", &v1_data, None).await;
    // A new version under a new name: free when reserved...
    let v2_data = bytes(950, 12);
    let response = env
        .reserve_raw(&org.token, &replacing("IMG edited.JPG", &v2_data, &v1))
        .await;
    assert_eq!(response.status(), 201);
    let reservation: wire::Reservation = response.json().await.unwrap();
    let parts = env.upload(&reservation, &v2_data).await;
    // ...taken before completion.
    env.copy(&org, &sha256_hex(&v1_data), "img EDITED.jpg", None)
        .await;
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &parts)
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_body(response).await.error, "conflict");

    // Nothing happened: the old version is still live, the object is gone.
    let current: wire::Asset = asset(&env, &org, &v1.id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current, v1);
    let key = TestEnv::object_key(&org, &reservation.asset_id.to_string());
    assert!(
        env.store.head(&key).await.unwrap().is_none(),
        "object cleaned up"
    );
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (1800, 0));
    assert_eq!(env.asset_list(&org).await.len(), 2);
}
