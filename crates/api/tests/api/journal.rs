//! The change journal: paging, convergence of two devices, and cursor reset.

use std::collections::BTreeMap;

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, Backend, TestEnv};

both_backends!(
    two_devices_converge_by_paging_the_journal,
    compacted_cursor_gets_a_reset_answer
);

/// Applies pages of changes until there are no more; returns the final cursor.
async fn follow(
    env: &TestEnv,
    token: &str,
    mut cursor: Option<String>,
    assets: &mut BTreeMap<uuid::Uuid, wire::Asset>,
    folders: &mut BTreeMap<uuid::Uuid, wire::Folder>,
) -> String {
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/changes?limit=2&cursor={cursor}"),
            None => "/v1/changes?limit=2".to_string(),
        };
        let response = env.get(token, &path).await;
        assert_eq!(response.status(), 200);
        let page: wire::ChangePage = response.json().await.unwrap();
        assert!(page.changes.len() <= 2);
        for change in page.changes {
            match change {
                wire::Change::AssetUpserted { asset, .. } => {
                    assets.insert(asset.id, asset);
                }
                wire::Change::AssetDeleted { asset_id, .. } => {
                    assets.remove(&asset_id);
                }
                wire::Change::FolderUpserted { folder, .. } => {
                    folders.insert(folder.id, folder);
                }
                wire::Change::FolderDeleted { folder_id, .. } => {
                    folders.remove(&folder_id);
                }
            }
        }
        cursor = Some(page.cursor);
        if !page.has_more {
            return cursor.unwrap();
        }
    }
}

async fn two_devices_converge_by_paging_the_journal(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let code: wire::PairingCode = env
        .post(&org.token, "/v1/pairing-codes", &serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let laptop: wire::DeviceToken = env
        .http
        .post(env.url("/v1/devices/pair"))
        .json(&serde_json::json!({"pairing_code": code.pairing_code, "device_name": "Laptop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let (mut assets, mut folders) = (BTreeMap::new(), BTreeMap::new());
    let cursor = follow(&env, &laptop.token, None, &mut assets, &mut folders).await;
    assert!(assets.is_empty());

    let shoot: wire::Folder = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "2025"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let gallery: wire::Folder = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "Smith residence", "parent_id": shoot.id}),
        )
        .await
        .json()
        .await
        .unwrap();
    let mut uploaded = Vec::new();
    for n in 0..5 {
        uploaded.push(
            env.upload_asset(
                &org,
                &format!("IMG_{n}.JPG"),
                &bytes(300 + n, 30 + n as u64),
                Some(&gallery.id.to_string()),
            )
            .await,
        );
    }
    // A rename is a metadata change only; a move too; one goes to the trash and is purged.
    let response = env
        .http
        .patch(env.url(&format!("/v1/assets/{}", uploaded[0].id)))
        .bearer_auth(&org.token)
        .json(&serde_json::json!({"name": "kitchen.jpg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        env.post(
            &org.token,
            &format!("/v1/assets/{}/move", uploaded[1].id),
            &serde_json::json!({"parent_id": null})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        env.http
            .delete(env.url(&format!("/v1/assets/{}", uploaded[2].id)))
            .bearer_auth(&org.token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        env.post(
            &org.token,
            &format!("/v1/assets/{}/purge", uploaded[2].id),
            &serde_json::json!({})
        )
        .await
        .status(),
        204
    );

    let cursor = follow(&env, &laptop.token, Some(cursor), &mut assets, &mut folders).await;
    // The laptop's view equals the server's listing.
    let page: wire::AssetPage = env
        .get(&laptop.token, "/v1/assets?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.assets.len(), 2);
    let mut listed = page.assets;
    let mut after = page.next_after;
    while let Some(id) = after {
        let page: wire::AssetPage = env
            .get(&laptop.token, &format!("/v1/assets?limit=2&after={id}"))
            .await
            .json()
            .await
            .unwrap();
        listed.extend(page.assets);
        after = page.next_after;
    }
    assert_eq!(assets.values().cloned().collect::<Vec<_>>(), listed);
    assert_eq!(assets.len(), 4);
    assert_eq!(assets[&uploaded[0].id].name, "kitchen.jpg");
    assert_eq!(assets[&uploaded[1].id].folder_id, None);
    let listed_folders: wire::FolderList = env
        .get(&laptop.token, "/v1/folders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        folders.values().cloned().collect::<Vec<_>>().len(),
        listed_folders.folders.len()
    );
    assert_eq!(folders[&gallery.id].parent_id, Some(shoot.id));

    // Nothing new: an empty page with the same cursor, which is also the latest.
    let page: wire::ChangePage = env
        .get(&laptop.token, &format!("/v1/changes?cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(page.changes.is_empty() && !page.has_more);
    assert_eq!(page.cursor, cursor);
    let latest: wire::Cursor = env
        .get(&laptop.token, "/v1/changes/latest")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(latest.cursor, cursor);
}

async fn compacted_cursor_gets_a_reset_answer(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let first = env.upload_asset(&org, "a.jpg", &bytes(100, 40), None).await;
    let old: wire::Cursor = env
        .get(&org.token, "/v1/changes/latest")
        .await
        .json()
        .await
        .unwrap();
    let page: wire::ChangePage = env
        .get(&org.token, "/v1/changes")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.changes.len(), 1);

    // A month later, after more changes, the journal is compacted.
    env.clock.advance(31 * 24 * 3600);
    let response = env
        .post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "February"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let report = env.api.run_maintenance().await.unwrap();
    assert_eq!(report.journal_entries_compacted, 1);

    let recent: wire::ChangePage = env
        .get(&org.token, &format!("/v1/changes?cursor={}", old.cursor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        recent.changes.len(),
        1,
        "the cursor at the floor still works"
    );

    // A cursor from before the compaction, or no cursor, must start over.
    for path in [
        "/v1/changes?cursor=v1.0".to_string(),
        "/v1/changes".to_string(),
        "/v1/changes?cursor=bogus".to_string(),
        "/v1/changes?cursor=v1.999999".to_string(),
    ] {
        let response = env.get(&org.token, &path).await;
        assert_eq!(response.status(), 410, "{path}");
        let error = error_body(response).await;
        assert_eq!(error.error, "cursor_reset");
        assert!(error.message.contains("/v1/changes/latest"));
    }
    // The reset path works: list everything, then continue from the latest cursor.
    let listing: wire::AssetPage = env
        .get(&org.token, "/v1/assets")
        .await
        .json()
        .await
        .unwrap();
    assert!(listing.assets.iter().any(|asset| asset.id == first.id));
    let latest: wire::Cursor = env
        .get(&org.token, "/v1/changes/latest")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        env.get(&org.token, &format!("/v1/changes?cursor={}", latest.cursor))
            .await
            .status(),
        200
    );
}

crate::both_backends!(cursors_are_bound_to_their_organization);

/// Finding 9: another organization's cursor was accepted and silently
/// skipped entries. Now it, an altered cursor and the old unsigned `v1.`
/// form get 410 `cursor_reset`; a cursor works on every instance.
async fn cursors_are_bound_to_their_organization(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let second = env.second_instance().await;
    let (a, b) = (env.org(None).await, env.org(None).await);
    for org in [&a, &b] {
        for name in ["one", "two", "three"] {
            let response = env
                .post(
                    &org.token,
                    "/v1/folders",
                    &serde_json::json!({"name": name}),
                )
                .await;
            assert_eq!(response.status(), 201);
        }
    }
    let latest: wire::Cursor = env
        .get(&a.token, "/v1/changes/latest")
        .await
        .json()
        .await
        .unwrap();
    let first_page: wire::ChangePage = env
        .get(&a.token, "/v1/changes?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first_page.changes.len(), 1);
    let seq = |cursor: &str| cursor.split('.').nth(1).unwrap().to_string();
    let forged = latest
        .cursor
        .replacen(&format!(".{}.", seq(&latest.cursor)), ".0.", 1);
    for cursor in [
        first_page.cursor.clone(),
        latest.cursor.clone(),
        forged,
        "v1.1".to_string(),
        "v1.0".to_string(),
    ] {
        let response = env
            .get(&b.token, &format!("/v1/changes?cursor={cursor}"))
            .await;
        assert_eq!(response.status(), 410, "{cursor} for another organization");
        assert_eq!(error_body(response).await.error, "cursor_reset");
    }
    // Its own cursor works, on another instance too, and skips nothing.
    let response = env
        .http
        .get(format!(
            "{}/v1/changes?cursor={}",
            second.base, first_page.cursor
        ))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: wire::ChangePage = response.json().await.unwrap();
    assert_eq!(page.changes.len(), 2);
    assert_eq!(page.cursor, latest.cursor);
}
