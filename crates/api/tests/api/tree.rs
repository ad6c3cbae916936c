//! Tree integrity under concurrency: crossing folder moves never form a
//! cycle, nothing live ends up inside a trashed folder (moves, restores and
//! upload completions racing a trash), and names are limited after NFC.

use std::collections::HashMap;

use photopro_wire as wire;
use uuid::Uuid;

use crate::both_backends;
use crate::support::*;

both_backends!(
    crossing_moves_never_form_a_cycle,
    nothing_live_lands_in_a_trashed_folder,
    completing_into_a_trashed_folder_is_refused_and_released,
    names_are_limited_after_nfc,
);

async fn create_folder(env: &TestEnv, org: &Org, name: &str, parent: Option<Uuid>) -> wire::Folder {
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": name, "parent_id": parent}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn folders(env: &TestEnv, org: &Org) -> HashMap<Uuid, wire::Folder> {
    let list: wire::FolderList = env
        .get(&org.token, "/v1/folders")
        .await
        .json()
        .await
        .unwrap();
    list.folders.into_iter().map(|f| (f.id, f)).collect()
}

/// Walks up from `id`; panics if the root is not reached (a cycle).
fn assert_reaches_root(tree: &HashMap<Uuid, wire::Folder>, id: Uuid) {
    let mut at = Some(id);
    for _ in 0..=tree.len() {
        match at {
            None => return,
            Some(current) => at = tree[&current].parent_id,
        }
    }
    panic!("folder {id} is in a cycle: {tree:?}");
}

/// Finding 4: X under Y and Y under X at once. Before, both could pass their
/// ancestry checks (4 of 30 trials) and both folders left the tree.
async fn crossing_moves_never_form_a_cycle(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let second = env.second_instance().await;
    let org = env.org(None).await;
    for trial in 0..40 {
        let x = create_folder(&env, &org, &format!("x{trial}"), None).await;
        let y = create_folder(&env, &org, &format!("y{trial}"), None).await;
        let move_to = |base: String, folder: Uuid, parent: Uuid| {
            let (http, token) = (env.http.clone(), org.token.clone());
            async move {
                http.post(format!("{base}/v1/folders/{folder}/move"))
                    .bearer_auth(token)
                    .json(&serde_json::json!({"parent_id": parent}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (a, b) = tokio::join!(
            tokio::spawn(move_to(env.base.clone(), x.id, y.id)),
            tokio::spawn(move_to(second.base.clone(), y.id, x.id)),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            matches!((a, b), (200, 409) | (409, 200)),
            "trial {trial}: exactly one move wins, got {a} and {b}"
        );
        let tree = folders(&env, &org).await;
        assert_reaches_root(&tree, x.id);
        assert_reaches_root(&tree, y.id);
    }
    // A direct cycle and a self-move are refused as before.
    let a = create_folder(&env, &org, "a", None).await;
    let b = create_folder(&env, &org, "b", Some(a.id)).await;
    let response = env
        .post(
            &org.token,
            &format!("/v1/folders/{}/move", a.id),
            &serde_json::json!({"parent_id": b.id}),
        )
        .await;
    assert_eq!(response.status(), 409);
    let response = env
        .post(
            &org.token,
            &format!("/v1/folders/{}/move", a.id),
            &serde_json::json!({"parent_id": a.id}),
        )
        .await;
    assert_eq!(response.status(), 409);
}

/// Trash F while moving an asset and a folder into it (and creating a
/// subfolder in it): afterwards nothing live is inside a trashed folder.
async fn nothing_live_lands_in_a_trashed_folder(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let second = env.second_instance().await;
    let org = env.org(None).await;
    for trial in 0..25 {
        let f = create_folder(&env, &org, &format!("f{trial}"), None).await;
        let g = create_folder(&env, &org, &format!("g{trial}"), None).await;
        let asset = env
            .upload_asset(&org, &format!("a{trial}.jpg"), &bytes(100, trial), None)
            .await;
        let send = |base: String, method: &'static str, path: String, body: serde_json::Value| {
            let (http, token) = (env.http.clone(), org.token.clone());
            async move {
                let request = match method {
                    "DELETE" => http.delete(format!("{base}{path}")),
                    _ => http.post(format!("{base}{path}")).json(&body),
                };
                request
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (trash, moved_asset, moved_folder, created) = tokio::join!(
            tokio::spawn(send(
                env.base.clone(),
                "DELETE",
                format!("/v1/folders/{}", f.id),
                serde_json::Value::Null
            )),
            tokio::spawn(send(
                second.base.clone(),
                "POST",
                format!("/v1/assets/{}/move", asset.id),
                serde_json::json!({"parent_id": f.id})
            )),
            tokio::spawn(send(
                env.base.clone(),
                "POST",
                format!("/v1/folders/{}/move", g.id),
                serde_json::json!({"parent_id": f.id})
            )),
            tokio::spawn(send(
                second.base.clone(),
                "POST",
                "/v1/folders".into(),
                serde_json::json!({"name": "sub", "parent_id": f.id})
            )),
        );
        assert_eq!(trash.unwrap(), 200);
        for status in [
            moved_asset.unwrap(),
            moved_folder.unwrap(),
            created.unwrap(),
        ] {
            assert!(matches!(status, 200 | 201 | 404), "trial {trial}: {status}");
        }
        let tree = folders(&env, &org).await;
        for folder in tree.values().filter(|f| f.trashed_at.is_none()) {
            if let Some(parent) = folder.parent_id {
                assert!(
                    tree[&parent].trashed_at.is_none(),
                    "trial {trial}: live folder {} in a trashed one",
                    folder.name
                );
            }
        }
        let asset: wire::Asset = env
            .get(&org.token, &format!("/v1/assets/{}", asset.id))
            .await
            .json()
            .await
            .unwrap();
        if asset.trashed_at.is_none() {
            if let Some(folder) = asset.folder_id {
                assert!(
                    tree[&folder].trashed_at.is_none(),
                    "trial {trial}: live asset in a trashed folder"
                );
            }
        }
    }
}

/// Finding 5: reserve into F, trash F, complete. Before: 200 and a live
/// asset inside a trashed folder (blocking its purge). Now: 409 saying the
/// folder went to the trash and how to restore it; nothing kept or held.
async fn completing_into_a_trashed_folder_is_refused_and_released(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let mut folders = Vec::new();
    // Single-part and multipart.
    for (index, data) in [bytes(2000, 1), bytes(12 << 20, 2)].into_iter().enumerate() {
        let folder = create_folder(&env, &org, &format!("Wedding {index}"), None).await;
        let folder_id = folder.id.to_string();
        folders.push(folder_id.clone());
        let reservation = env
            .reserve(&org, &format!("IMG_{index}.JPG"), &data, Some(&folder_id))
            .await;
        let parts = env.upload(&reservation, &data).await;
        let trashed = env
            .http
            .delete(env.url(&format!("/v1/folders/{folder_id}")))
            .bearer_auth(&org.token)
            .send()
            .await
            .unwrap();
        assert_eq!(trashed.status(), 200);
        let response = env
            .complete_raw(&org, &reservation.reservation_id.to_string(), &parts)
            .await;
        assert_eq!(response.status(), 409);
        let body = error_body(response).await;
        assert_eq!(body.error, "conflict");
        assert!(
            body.message.contains("trash") && body.message.contains("restore"),
            "{}",
            body.message
        );
        let key = TestEnv::object_key(&org, &reservation.asset_id.to_string());
        assert!(
            env.store.head(&key).await.unwrap().is_none(),
            "nothing left behind"
        );
        let asset = env
            .get(&org.token, &format!("/v1/assets/{}", reservation.asset_id))
            .await;
        assert_eq!(asset.status(), 404);
    }
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (0, 0));
    // Nothing blocks the trashed folder's purge.
    env.clock.advance(31 * 24 * 3600);
    env.api.run_maintenance().await.unwrap();
    for folder_id in folders {
        assert_eq!(
            env.get(&org.token, &format!("/v1/folders/{folder_id}"))
                .await
                .status(),
            404
        );
    }
}

/// 255 bytes of NFC UTF-8: a name of U+FB2C is 3 bytes each as sent and 6 as stored.
async fn names_are_limited_after_nfc(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let expanding = "\u{FB2C}".repeat(85);
    assert_eq!(expanding.len(), 255);
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": expanding}),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(error_body(response).await.message.contains("NFC"));
    let response = env
        .reserve_raw(&org.token, &reserve_body(&expanding, b"x", None))
        .await;
    assert_eq!(response.status(), 400);
    let fits = create_folder(&env, &org, &"\u{FB2C}".repeat(42), None).await;
    assert!(fits.name.len() <= 255);
}
