//! Model-based property test: random sequences of reserve / upload / complete /
//! cancel / expire / trash / purge against the real API, SQLite and PostgreSQL,
//! compared step by step with a tiny model of the organization's usage.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use photopro_wire as wire;

use crate::support::{bytes, error_body, reserve_body, Backend, TestEnv};

const LIMIT: u64 = 10_000;

#[derive(Debug, Clone)]
enum Op {
    Reserve(u16),
    Upload(usize),
    Complete(usize),
    Cancel(usize),
    Expire,
    Trash(usize),
    Purge(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u16..4000).prop_map(Op::Reserve),
        3 => any::<usize>().prop_map(Op::Upload),
        3 => any::<usize>().prop_map(Op::Complete),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => Just(Op::Expire),
        1 => any::<usize>().prop_map(Op::Trash),
        1 => any::<usize>().prop_map(Op::Purge),
    ]
}

#[derive(Debug, PartialEq)]
enum State {
    Open,
    Completed,
    Gone,
}

struct Held {
    reservation: wire::Reservation,
    data: Vec<u8>,
    uploaded: bool,
    state: State,
}

struct Stored {
    id: uuid::Uuid,
    size: u64,
    trashed: bool,
    purged: bool,
}

/// Invariant: after every step, the API's used and reserved bytes equal the
/// model's, and used + reserved never exceeds the limit; every answer
/// (granted, refused, replayed, expired, missing) is the one the model predicts.
async fn run_case(backend: Backend, ops: Vec<Op>) {
    let env = TestEnv::start(backend).await;
    let org = env.org(Some(LIMIT)).await;
    let start = env.clock_now();
    let (mut held, mut stored): (Vec<Held>, Vec<Stored>) = (Vec::new(), Vec::new());
    let (mut used, mut reserved) = (0u64, 0u64);
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Reserve(size) => {
                let data = bytes(*size as usize, step as u64);
                let response = env
                    .reserve_raw(&org.token, &reserve_body("p.jpg", &data, None))
                    .await;
                if used + reserved + *size as u64 <= LIMIT {
                    assert_eq!(response.status(), 201, "step {step}");
                    reserved += *size as u64;
                    held.push(Held {
                        reservation: response.json().await.unwrap(),
                        data,
                        uploaded: false,
                        state: State::Open,
                    });
                } else {
                    assert_eq!(response.status(), 409, "step {step}");
                }
            }
            Op::Upload(i) if !held.is_empty() => {
                let index = i % held.len();
                let entry = &mut held[index];
                if entry.state == State::Open && !entry.uploaded {
                    env.upload(&entry.reservation, &entry.data).await;
                    entry.uploaded = true;
                }
            }
            Op::Complete(i) if !held.is_empty() => {
                let index = i % held.len();
                let entry = &mut held[index];
                let response = env
                    .complete_raw(&org, &entry.reservation.reservation_id.to_string(), &[])
                    .await;
                match (&entry.state, entry.uploaded) {
                    (State::Open, true) => {
                        assert_eq!(response.status(), 200, "step {step}");
                        entry.state = State::Completed;
                        let size = entry.data.len() as u64;
                        (used, reserved) = (used + size, reserved - size);
                        stored.push(Stored {
                            id: entry.reservation.asset_id,
                            size,
                            trashed: false,
                            purged: false,
                        });
                    }
                    (State::Open, false) => assert_eq!(
                        error_body(response).await.error,
                        "object_missing",
                        "step {step}"
                    ),
                    (State::Completed, _) => {
                        let purged = stored
                            .iter()
                            .any(|asset| asset.id == entry.reservation.asset_id && asset.purged);
                        assert_eq!(
                            response.status(),
                            if purged { 409 } else { 200 },
                            "replay, step {step}"
                        );
                    }
                    (State::Gone, _) => assert_eq!(response.status(), 410, "step {step}"),
                }
            }
            Op::Cancel(i) if !held.is_empty() => {
                let index = i % held.len();
                let entry = &mut held[index];
                let url = env.url(&format!("/v1/uploads/{}", entry.reservation.reservation_id));
                let response = env
                    .http
                    .delete(url)
                    .bearer_auth(&org.token)
                    .send()
                    .await
                    .unwrap();
                match entry.state {
                    State::Open => {
                        assert_eq!(response.status(), 204);
                        reserved -= entry.data.len() as u64;
                        entry.state = State::Gone;
                    }
                    State::Completed => assert_eq!(response.status(), 409),
                    State::Gone => assert_eq!(response.status(), 204),
                }
            }
            Op::Expire => {
                // Jump past every open reservation's expiry, sweep, and come back
                // to the real time so later presigned URLs stay valid for the store.
                env.clock
                    .advance(env.api.settings.reservation_ttl_seconds + 1);
                env.api.run_maintenance().await.unwrap();
                env.clock.set(start);
                for entry in held.iter_mut().filter(|entry| entry.state == State::Open) {
                    reserved -= entry.data.len() as u64;
                    entry.state = State::Gone;
                }
            }
            Op::Trash(j) if !stored.is_empty() => {
                let index = j % stored.len();
                let asset = &mut stored[index];
                let response = env
                    .http
                    .delete(env.url(&format!("/v1/assets/{}", asset.id)))
                    .bearer_auth(&org.token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), if asset.purged { 404 } else { 200 });
                asset.trashed = true;
            }
            Op::Purge(j) if !stored.is_empty() => {
                let index = j % stored.len();
                let asset = &mut stored[index];
                let response = env
                    .post(
                        &org.token,
                        &format!("/v1/assets/{}/purge", asset.id),
                        &serde_json::json!({}),
                    )
                    .await;
                let expected = match (asset.purged, asset.trashed) {
                    (true, _) => 404,
                    (false, true) => 204,
                    (false, false) => 409,
                };
                assert_eq!(response.status(), expected, "step {step}");
                if expected == 204 {
                    asset.purged = true;
                    used -= asset.size;
                }
            }
            _ => {}
        }
        let usage = env.usage(&org).await;
        assert_eq!(
            (usage.used_bytes, usage.reserved_bytes),
            (used, reserved),
            "after step {step}: {op:?}"
        );
        assert!(usage.used_bytes + usage.reserved_bytes <= LIMIT);
    }
}

fn check(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..40), |ops| {
            runtime.block_on(run_case(backend, ops));
            Ok(())
        })
        .unwrap();
}

#[test]
fn usage_matches_the_model_on_sqlite() {
    check(Backend::Sqlite);
}

#[test]
fn usage_matches_the_model_on_postgres() {
    check(Backend::Postgres);
}
