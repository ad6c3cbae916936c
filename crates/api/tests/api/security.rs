//! Bad input and security: each item of the issue is its own test, on both backends.

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, reserve_body, Backend, TestEnv, ADMIN_TOKEN};

both_backends!(
    negative_size_is_refused,
    zero_size_is_stored,
    absurd_size_is_refused,
    overflowing_size_is_refused,
    unknown_tier_is_refused,
    malformed_json_is_refused,
    missing_token_is_refused,
    invalid_token_is_refused,
    revoked_token_is_refused,
    device_token_is_not_an_admin_credential,
    other_organizations_assets_are_not_found,
    other_organizations_folders_and_uploads_are_not_found,
    names_with_dot_dot_are_refused,
    names_with_slashes_are_refused,
    names_with_nul_are_refused,
    names_with_unicode_lookalikes_are_refused,
    ids_that_are_paths_are_not_found,
    pairing_code_is_single_use_and_expires,
);

async fn assert_bad_request(env: &TestEnv, token: &str, body: serde_json::Value) {
    let response = env.reserve_raw(token, &body).await;
    assert_eq!(response.status(), 400, "{body}");
    let error = error_body(response).await;
    assert_eq!(error.error, "bad_request");
}

fn with_size(size: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"size_bytes": size, "content_sha256": "a".repeat(64), "name": "a.jpg"})
}

async fn negative_size_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    assert_bad_request(&env, &org.token, with_size(serde_json::json!(-1))).await;
    assert_bad_request(&env, &org.token, with_size(serde_json::json!(i64::MIN))).await;
    assert_eq!(env.usage(&org).await.reserved_bytes, 0);
}

/// A 0-byte file (a placeholder, an empty sidecar) is a file like any other:
/// reserved, stored, listed with size 0, and it holds no bytes of the cap.
async fn zero_size_is_stored(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let reservation = env.reserve(&org, "empty.xmp", &[], None).await;
    let wire::UploadPlan::Single { url, headers } = &reservation.upload else {
        panic!("0 bytes is one PUT: {:?}", reservation.upload);
    };
    // Every signed header as given, content-length: 0 included (as the sync
    // client sends them; an HTTP client left to itself may omit it for an
    // empty body, and the signature then does not match).
    let mut put = reqwest::Client::new().put(url).body(Vec::<u8>::new());
    for header in headers {
        put = put.header(&header.name, &header.value);
    }
    let stored = put.send().await.unwrap();
    assert!(stored.status().is_success(), "{}", stored.status());
    let response = env
        .complete_raw(&org, &reservation.reservation_id.to_string(), &[])
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let asset: wire::Asset = response.json().await.unwrap();
    assert_eq!(asset.size_bytes, 0);
    let usage = env.usage(&org).await;
    assert_eq!(usage.reserved_bytes, 0);
}

async fn absurd_size_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    // Over the 5 TiB object limit, and bigger than any cap: 400, not a quota answer.
    assert_bad_request(
        &env,
        &org.token,
        with_size(serde_json::json!((5u64 << 40) + 1)),
    )
    .await;
    assert_bad_request(&env, &org.token, with_size(serde_json::json!(u64::MAX))).await;
    assert_bad_request(&env, &org.token, with_size(serde_json::json!(1.5))).await;
    assert_eq!(env.usage(&org).await.reserved_bytes, 0);
}

async fn overflowing_size_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    for raw in [
        "18446744073709551616",
        "1e30",
        "\"100\"",
        "99999999999999999999999999999",
    ] {
        let body = format!(
            r#"{{"size_bytes": {raw}, "content_sha256": "{}", "name": "a.jpg"}}"#,
            "a".repeat(64)
        );
        let response = env
            .http
            .post(env.url("/v1/uploads"))
            .bearer_auth(&org.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{raw}");
        assert_eq!(error_body(response).await.error, "bad_request");
    }
}

async fn unknown_tier_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let response = env
        .http
        .put(env.url(&format!("/admin/v1/organizations/{}/plan", org.id)))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"tier": "PLATINUM"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = env
        .http
        .post(env.url("/admin/v1/organizations"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"name": "X", "tier": "free"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Add-ons only on Enterprise; Custom needs a limit.
    for plan in [
        serde_json::json!({"tier": "PRO", "add_ons": ["PLUS_10_TB"]}),
        serde_json::json!({"tier": "CUSTOM"}),
    ] {
        let response = env
            .http
            .put(env.url(&format!("/admin/v1/organizations/{}/plan", org.id)))
            .bearer_auth(ADMIN_TOKEN)
            .json(&plan)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{plan}");
    }
    let organization: wire::Organization = env
        .http
        .get(env.url(&format!("/admin/v1/organizations/{}", org.id)))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(organization.plan.tier, wire::Tier::Free);
}

async fn malformed_json_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    for body in ["{not json", "", "[]", "{\"size_bytes\": 10}", "null"] {
        let response = env
            .http
            .post(env.url("/v1/uploads"))
            .bearer_auth(&org.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body:?}");
        assert_eq!(error_body(response).await.error, "bad_request");
    }
    let response = env
        .http
        .post(env.url("/v1/folders"))
        .bearer_auth(&org.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

async fn missing_token_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let response = env.http.get(env.url("/v1/usage")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_body(response).await.error, "unauthorized");
    let response = env
        .http
        .post(env.url("/v1/uploads"))
        .json(&with_size(serde_json::json!(10)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = env
        .http
        .get(env.url("/v1/usage"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

async fn invalid_token_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let mut tampered = org.token.clone();
    tampered.pop();
    tampered.push('x');
    for token in [tampered.as_str(), "ppd_", "garbage", ADMIN_TOKEN] {
        let response = env.get(token, "/v1/usage").await;
        assert_eq!(response.status(), 401, "{token}");
    }
}

async fn revoked_token_is_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    assert_eq!(env.get(&org.token, "/v1/usage").await.status(), 200);
    let response = env
        .http
        .delete(env.url(&format!("/v1/devices/{}", org.device_id)))
        .bearer_auth(&org.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(env.get(&org.token, "/v1/usage").await.status(), 401);
    assert_eq!(
        env.reserve_raw(&org.token, &reserve_body("a.jpg", b"x", None))
            .await
            .status(),
        401
    );
}

async fn device_token_is_not_an_admin_credential(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let response = env.get(&org.token, "/admin/v1/organizations").await;
    assert_eq!(response.status(), 401);
    let response = env
        .http
        .get(env.url("/admin/v1/organizations"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = env
        .get("wrong-admin-token", "/admin/v1/organizations")
        .await;
    assert_eq!(response.status(), 401);
}

/// Another organization's IDs answer exactly like IDs that do not exist.
async fn other_organizations_assets_are_not_found(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let alice = env.org(None).await;
    let mallory = env.org(None).await;
    let asset = env
        .upload_asset(&alice, "secret.jpg", &bytes(500, 21), None)
        .await;
    let unknown = uuid::Uuid::new_v4();
    for (method, path, body) in [
        ("GET", "/v1/assets/{}", None),
        ("GET", "/v1/assets/{}/download", None),
        ("DELETE", "/v1/assets/{}", None),
        (
            "PATCH",
            "/v1/assets/{}",
            Some(serde_json::json!({"name": "mine.jpg"})),
        ),
        ("POST", "/v1/assets/{}/restore", None),
        ("POST", "/v1/assets/{}/purge", None),
        (
            "POST",
            "/v1/assets/{}/move",
            Some(serde_json::json!({"parent_id": null})),
        ),
        (
            "PUT",
            "/v1/assets/{}/storage-class",
            Some(serde_json::json!({"storage_class": "INFREQUENT_ACCESS"})),
        ),
    ] {
        let mut answers = Vec::new();
        for id in [asset.id, unknown] {
            let url = env.url(&path.replace("{}", &id.to_string()));
            let mut request = env
                .http
                .request(method.parse().unwrap(), url)
                .bearer_auth(&mallory.token)
                // The same request id for both, so the bodies can be compared whole.
                .header("x-request-id", "probe");
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            answers.push((response.status(), response.text().await.unwrap()));
        }
        assert_eq!(answers[0].0, 404, "{method} {path}");
        assert_eq!(
            answers[0], answers[1],
            "{method} {path} must not tell a foreign ID from a missing one"
        );
        assert!(!answers[0].1.contains(&asset.id.to_string()));
    }
    // Nothing changed for the owner, and the other organization's lists are empty.
    let owned: wire::Asset = env
        .get(&alice.token, &format!("/v1/assets/{}", asset.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(owned, asset);
    let page: wire::AssetPage = env
        .get(&mallory.token, "/v1/assets")
        .await
        .json()
        .await
        .unwrap();
    assert!(page.assets.is_empty());
    let changes: wire::ChangePage = env
        .get(&mallory.token, "/v1/changes")
        .await
        .json()
        .await
        .unwrap();
    assert!(changes.changes.is_empty());
}

async fn other_organizations_folders_and_uploads_are_not_found(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let alice = env.org(None).await;
    let mallory = env.org(None).await;
    let folder: wire::Folder = env
        .post(
            &alice.token,
            "/v1/folders",
            &serde_json::json!({"name": "Smith residence"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let folder_id = folder.id.to_string();
    for (method, path) in [
        ("GET", format!("/v1/folders/{folder_id}")),
        ("DELETE", format!("/v1/folders/{folder_id}")),
    ] {
        let response = env
            .http
            .request(method.parse().unwrap(), env.url(&path))
            .bearer_auth(&mallory.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
    }
    // Uploading into, creating under, or moving into a foreign folder.
    let response = env
        .reserve_raw(
            &mallory.token,
            &reserve_body("a.jpg", b"abc", Some(&folder_id)),
        )
        .await;
    assert_eq!(response.status(), 404);
    let response = env
        .post(
            &mallory.token,
            "/v1/folders",
            &serde_json::json!({"name": "x", "parent_id": folder_id}),
        )
        .await;
    assert_eq!(response.status(), 404);
    let own = env.upload_asset(&mallory, "m.jpg", b"mallory", None).await;
    let response = env
        .post(
            &mallory.token,
            &format!("/v1/assets/{}/move", own.id),
            &serde_json::json!({"parent_id": folder_id}),
        )
        .await;
    assert_eq!(response.status(), 404);
    // Completing or cancelling another organization's reservation.
    let data = bytes(100, 22);
    let reservation = env.reserve(&alice, "a.jpg", &data, Some(&folder_id)).await;
    env.upload(&reservation, &data).await;
    let id = reservation.reservation_id.to_string();
    assert_eq!(env.complete_raw(&mallory, &id, &[]).await.status(), 404);
    let response = env
        .http
        .delete(env.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(&mallory.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(env.usage(&mallory).await.used_bytes, 7);
    // The owner's upload is untouched and completes.
    assert_eq!(env.complete_raw(&alice, &id, &[]).await.status(), 200);
    // Revoking another organization's device.
    let response = env
        .http
        .delete(env.url(&format!("/v1/devices/{}", alice.device_id)))
        .bearer_auth(&mallory.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(env.get(&alice.token, "/v1/usage").await.status(), 200);
}

async fn assert_name_refused(env: &TestEnv, token: &str, name: &str) {
    let response = env
        .reserve_raw(token, &reserve_body(name, b"abc", None))
        .await;
    assert_eq!(response.status(), 400, "upload name {name:?}");
    let response = env
        .post(token, "/v1/folders", &serde_json::json!({"name": name}))
        .await;
    assert_eq!(response.status(), 400, "folder name {name:?}");
}

async fn names_with_dot_dot_are_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    for name in [
        "..",
        ".",
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "...",
        ". .",
    ] {
        assert_name_refused(&env, &org.token, name).await;
    }
}

async fn names_with_slashes_are_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    for name in ["a/b.jpg", "/abs.jpg", "dir\\x.jpg", "org/other/obj/x"] {
        assert_name_refused(&env, &org.token, name).await;
    }
}

async fn names_with_nul_are_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    for name in ["a\0.jpg", "\0", "line\nbreak.jpg"] {
        assert_name_refused(&env, &org.token, name).await;
    }
}

async fn names_with_unicode_lookalikes_are_refused(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    for name in [
        "a\u{FF0F}b",
        "a\u{2215}b",
        "a\u{2044}b",
        "\u{2024}\u{2024}",
        "\u{FF0E}\u{FF0E}",
        "gpj\u{202E}.exe",
        "x\u{200B}y",
    ] {
        assert_name_refused(&env, &org.token, name).await;
    }
    // Look-alike siblings collide instead of coexisting.
    assert_eq!(
        env.post(
            &org.token,
            "/v1/folders",
            &serde_json::json!({"name": "Kitchen"})
        )
        .await
        .status(),
        201
    );
    for twin in ["KITCHEN", "\u{FF2B}itchen"] {
        assert_eq!(
            env.post(
                &org.token,
                "/v1/folders",
                &serde_json::json!({"name": twin})
            )
            .await
            .status(),
            409,
            "{twin}"
        );
    }
}

async fn ids_that_are_paths_are_not_found(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    for id in [
        "..%2F..%2Fadmin",
        "%2E%2E",
        "not-a-uuid",
        "org%2Fx%2Fobj%2Fy",
        "%00",
    ] {
        let response = env.get(&org.token, &format!("/v1/assets/{id}")).await;
        assert_eq!(response.status(), 404, "{id}");
        let response = env
            .get(&org.token, &format!("/v1/assets/{id}/download"))
            .await;
        assert_eq!(response.status(), 404, "{id}");
    }
}

async fn pairing_code_is_single_use_and_expires(backend: Backend) {
    let env = TestEnv::start(backend).await;
    let org = env.org(None).await;
    let code: wire::PairingCode = env
        .post(&org.token, "/v1/pairing-codes", &serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let pair = |code: String| {
        let env = &env;
        async move {
            env.http
                .post(env.url("/v1/devices/pair"))
                .json(&serde_json::json!({"pairing_code": code, "device_name": "Laptop"}))
                .send()
                .await
                .unwrap()
        }
    };
    let response = pair(code.pairing_code.to_lowercase()).await;
    assert_eq!(response.status(), 201);
    let token: wire::DeviceToken = response.json().await.unwrap();
    assert_eq!(token.organization_id.to_string(), org.id);
    assert_eq!(env.get(&token.token, "/v1/usage").await.status(), 200);
    assert_eq!(
        pair(code.pairing_code.clone()).await.status(),
        401,
        "a pairing code works once"
    );
    let devices: Vec<wire::Device> = env
        .get(&org.token, "/v1/devices")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(devices.len(), 2);
    let laptop = devices
        .iter()
        .find(|device| device.id == token.device_id)
        .unwrap();
    assert_eq!(laptop.name, "Laptop");
    assert!(laptop.last_seen_at.is_some() && laptop.revoked_at.is_none());

    let late: wire::PairingCode = env
        .post(&org.token, "/v1/pairing-codes", &serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    env.clock
        .advance(env.api.settings.pairing_code_ttl_seconds + 1);
    assert_eq!(
        pair(late.pairing_code).await.status(),
        401,
        "an expired pairing code is refused"
    );
    assert_eq!(pair("AAAA-BBBB".into()).await.status(), 401);
}
