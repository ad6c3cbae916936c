//! 200 concurrent clients racing at the cap: the committed total never exceeds it.
//! Concurrent replacements of one version, and concurrent copies to one name,
//! settle once, across two API instances.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use photopro_wire as wire;

use crate::both_backends;
use crate::support::{bytes, error_body, reserve_body, sha256_hex, Backend, TestEnv};

both_backends!(
    two_hundred_clients_racing_at_the_cap_never_exceed_it,
    two_instances_on_one_database_share_the_cap,
    racing_replacements_of_one_version_settle_once,
    racing_copies_to_one_name_create_one_asset,
);

async fn two_hundred_clients_racing_at_the_cap_never_exceed_it(backend: Backend) {
    let env = Arc::new(TestEnv::start(backend).await);
    // Sizes 600..=1,595 bytes add up to ~219 KB, more than twice the limit.
    let limit: u64 = 100_000;
    let org = Arc::new(env.org(Some(limit)).await);
    let sizes: Vec<usize> = (0..200).map(|n| 600 + (n * 37) % 1000).collect();
    assert!(sizes.iter().sum::<usize>() as u64 > 2 * limit);

    // A watcher checks the invariant while the race runs.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (env, org, done) = (env.clone(), org.clone(), done.clone());
        tokio::spawn(async move {
            let mut checks = 0;
            while !done.load(Ordering::SeqCst) {
                let usage = env.usage(&org).await;
                assert!(
                    usage.used_bytes + usage.reserved_bytes <= limit,
                    "used + reserved over the cap: {usage:?}"
                );
                checks += 1;
            }
            checks
        })
    };

    let barrier = Arc::new(tokio::sync::Barrier::new(sizes.len()));
    let mut clients = Vec::new();
    for (n, size) in sizes.iter().copied().enumerate() {
        let (env, org, barrier) = (env.clone(), org.clone(), barrier.clone());
        clients.push(tokio::spawn(async move {
            let data = bytes(size, 1000 + n as u64);
            barrier.wait().await;
            let response = env
                .reserve_raw(
                    &org.token,
                    &reserve_body(&format!("IMG_{n}.JPG"), &data, None),
                )
                .await;
            match response.status().as_u16() {
                201 => {
                    let reservation: wire::Reservation = response.json().await.unwrap();
                    let parts = env.upload(&reservation, &data).await;
                    let response = env
                        .complete_raw(&org, &reservation.reservation_id.to_string(), &parts)
                        .await;
                    assert_eq!(response.status(), 200);
                    Some(size as u64)
                }
                409 => {
                    let error: wire::ErrorBody = response.json().await.unwrap();
                    assert_eq!(error.error, "quota_exceeded");
                    None
                }
                other => panic!(
                    "unexpected status {other}: {}",
                    response.text().await.unwrap()
                ),
            }
        }));
    }
    let mut committed = 0u64;
    let mut granted = 0;
    for client in clients {
        if let Some(size) = client.await.unwrap() {
            committed += size;
            granted += 1;
        }
    }
    done.store(true, Ordering::SeqCst);
    assert!(watcher.await.unwrap() > 0);

    let usage = env.usage(&org).await;
    assert!(committed <= limit, "committed {committed} > limit {limit}");
    assert_eq!(usage.used_bytes, committed);
    assert_eq!(usage.reserved_bytes, 0);
    assert!(granted > 50 && granted < 200, "granted {granted}");
    // Only a request that could not fit was refused: the leftover is smaller than the largest size.
    assert!(
        limit - committed < 1600,
        "refused although {} bytes were free",
        limit - committed
    );
    let page: wire::AssetPage = env
        .get(&org.token, "/v1/assets?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.assets.len(), granted);
    assert_eq!(
        page.assets
            .iter()
            .map(|asset| asset.size_bytes)
            .sum::<u64>(),
        committed
    );
}

/// Two API instances on one database (as behind a load balancer): clients
/// spread over both still cannot push the organization past its cap.
async fn two_instances_on_one_database_share_the_cap(backend: Backend) {
    let env = Arc::new(TestEnv::start(backend).await);
    let second = env.second_instance().await;
    let limit: u64 = 50_000;
    let org = Arc::new(env.org(Some(limit)).await);
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut clients = Vec::new();
    for n in 0..100usize {
        let (env, org, barrier) = (env.clone(), org.clone(), barrier.clone());
        let (base, other) = if n % 2 == 0 {
            (env.base.clone(), second.base.clone())
        } else {
            (second.base.clone(), env.base.clone())
        };
        clients.push(tokio::spawn(async move {
            let data = bytes(1000, 5000 + n as u64);
            barrier.wait().await;
            let response = env
                .http
                .post(format!("{base}/v1/uploads"))
                .bearer_auth(&org.token)
                .json(&reserve_body("a.jpg", &data, None))
                .send()
                .await
                .unwrap();
            if response.status() != 201 {
                assert_eq!(response.status(), 409);
                return 0;
            }
            let reservation: wire::Reservation = response.json().await.unwrap();
            let parts = env.upload(&reservation, &data).await;
            // Complete on the other instance than the one that reserved.
            let response = env
                .http
                .post(format!(
                    "{other}/v1/uploads/{}/complete",
                    reservation.reservation_id
                ))
                .bearer_auth(&org.token)
                .json(&serde_json::json!({"parts": parts}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            1000u64
        }));
    }
    let mut committed = 0;
    for client in clients {
        committed += client.await.unwrap();
    }
    let usage = env.usage(&org).await;
    assert_eq!(committed, limit, "exactly 50 of the 100 uploads fit");
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (limit, 0));
}

/// Twelve devices replace the same version at once, on two instances: the
/// completion transaction lets exactly one win; the others create nothing.
async fn racing_replacements_of_one_version_settle_once(backend: Backend) {
    let env = Arc::new(TestEnv::start(backend).await);
    let second = Arc::new(env.second_instance().await);
    let org = Arc::new(env.org(None).await);
    let v1 = env.upload_asset(&org, "a.jpg", &bytes(500, 1), None).await;
    let mut ready = Vec::new();
    for n in 0..12u64 {
        let data = bytes(600 + n as usize, 100 + n);
        let mut body = reserve_body("a.jpg", &data, None);
        body["replaces"] =
            serde_json::json!({"asset_id": v1.id, "content_sha256": v1.content_sha256});
        let response = env.reserve_raw(&org.token, &body).await;
        assert_eq!(response.status(), 201);
        let reservation: wire::Reservation = response.json().await.unwrap();
        let parts = env.upload(&reservation, &data).await;
        ready.push((reservation, parts, data.len() as u64));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(ready.len()));
    let mut clients = Vec::new();
    for (n, (reservation, parts, size)) in ready.into_iter().enumerate() {
        let (env, second, org, barrier) =
            (env.clone(), second.clone(), org.clone(), barrier.clone());
        clients.push(tokio::spawn(async move {
            let base = if n % 2 == 0 {
                env.base.clone()
            } else {
                second.base.clone()
            };
            barrier.wait().await;
            let response = env
                .http
                .post(format!(
                    "{base}/v1/uploads/{}/complete",
                    reservation.reservation_id
                ))
                .bearer_auth(&org.token)
                .json(&serde_json::json!({"parts": parts}))
                .send()
                .await
                .unwrap();
            match response.status().as_u16() {
                200 => Some(size),
                status => {
                    assert_eq!(status, 412);
                    assert_eq!(error_body(response).await.error, "precondition_failed");
                    None
                }
            }
        }));
    }
    let mut winners = Vec::new();
    for client in clients {
        winners.extend(client.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "exactly one replacement wins");
    let usage = env.usage(&org).await;
    assert_eq!(
        (usage.used_bytes, usage.reserved_bytes),
        (500 + winners[0], 0)
    );
    let live: Vec<wire::Asset> = env
        .asset_list(&org)
        .await
        .into_iter()
        .filter(|asset| asset.trashed_at.is_none())
        .collect();
    assert_eq!(live.len(), 1);
    assert_eq!(
        (live[0].name.as_str(), live[0].size_bytes),
        ("a.jpg", winners[0])
    );
}

/// Twelve copies to one name at once, on two instances: one asset, eleven 409s.
async fn racing_copies_to_one_name_create_one_asset(backend: Backend) {
    let env = Arc::new(TestEnv::start(backend).await);
    let second = Arc::new(env.second_instance().await);
    let org = Arc::new(env.org(None).await);
    let data = bytes(700, 2);
    env.upload_asset(&org, "original.jpg", &data, None).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(12));
    let mut clients = Vec::new();
    for n in 0..12 {
        let (env, second, org, barrier) =
            (env.clone(), second.clone(), org.clone(), barrier.clone());
        let sha256 = sha256_hex(&data);
        clients.push(tokio::spawn(async move {
            let base = if n % 2 == 0 {
                env.base.clone()
            } else {
                second.base.clone()
            };
            barrier.wait().await;
            let response = env
                .http
                .post(format!("{base}/v1/assets/copy"))
                .bearer_auth(&org.token)
                .json(&serde_json::json!({"content_sha256": sha256, "name": "copy.jpg"}))
                .send()
                .await
                .unwrap();
            match response.status().as_u16() {
                201 => 1,
                status => {
                    assert_eq!(status, 409);
                    assert_eq!(error_body(response).await.error, "conflict");
                    0
                }
            }
        }));
    }
    let mut created = 0;
    for client in clients {
        created += client.await.unwrap();
    }
    assert_eq!(created, 1);
    let usage = env.usage(&org).await;
    assert_eq!((usage.used_bytes, usage.reserved_bytes), (1400, 0));
    assert_eq!(env.asset_list(&org).await.len(), 2);
}
