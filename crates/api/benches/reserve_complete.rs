//! Reserve + upload + complete with 200 concurrent clients on loopback, on
//! SQLite and on PostgreSQL, against the embedded s3s-fs store.
//!
//! Run: `cargo bench -p photopro-api --bench reserve_complete` (optimized
//! build). Prints a Markdown table; fails if usage ever exceeds the cap.

#[path = "../tests/api/support.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use photopro_wire as wire;
use support::{bytes, reserve_body, Backend, TestEnv};

const CLIENTS: usize = 200;
const CYCLES_PER_CLIENT: usize = 10;
const OBJECT_BYTES: usize = 1024;

struct Sample {
    reserve: Duration,
    complete: Duration,
    cycle: Duration,
    refused: bool,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// `pace`: `None` is a closed loop (each client starts its next cycle at once,
/// which measures saturation); `Some(period)` starts one cycle per client per
/// period (an open, steady load of `CLIENTS / period` cycles per second).
async fn run(backend: Backend, pace: Option<Duration>) -> String {
    let env = Arc::new(TestEnv::start(backend).await);
    // The cap is 90 % of what the clients ask for, so the run also races at the cap.
    let requested = (CLIENTS * CYCLES_PER_CLIENT * OBJECT_BYTES) as u64;
    let limit = requested * 9 / 10;
    let org = Arc::new(env.org(Some(limit)).await);
    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (env, org, barrier) = (env.clone(), org.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            // Spread the clients' start times over the period so they do not arrive in lock-step.
            let mut ticker = pace.map(|period| {
                let offset = period.mul_f64(client as f64 / CLIENTS as f64);
                let mut ticker =
                    tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker
            });
            let mut samples = Vec::new();
            for cycle in 0..CYCLES_PER_CLIENT {
                if let Some(ticker) = ticker.as_mut() {
                    ticker.tick().await;
                }
                let data = bytes(OBJECT_BYTES, (client * CYCLES_PER_CLIENT + cycle) as u64);
                let begin = Instant::now();
                let response = env
                    .reserve_raw(&org.token, &reserve_body("IMG.JPG", &data, None))
                    .await;
                let reserve = begin.elapsed();
                if response.status() == 409 {
                    samples.push(Sample {
                        reserve,
                        complete: Duration::ZERO,
                        cycle: begin.elapsed(),
                        refused: true,
                    });
                    continue;
                }
                assert_eq!(response.status(), 201);
                let reservation: wire::Reservation = response.json().await.unwrap();
                let parts = env.upload(&reservation, &data).await;
                let before_complete = Instant::now();
                let response = env
                    .complete_raw(&org, &reservation.reservation_id.to_string(), &parts)
                    .await;
                assert_eq!(response.status(), 200);
                let complete = before_complete.elapsed();
                samples.push(Sample {
                    reserve,
                    complete,
                    cycle: begin.elapsed(),
                    refused: false,
                });
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    let wall = started.elapsed();
    let usage = env.usage(&org).await;
    assert!(
        usage.used_bytes <= limit,
        "over the cap: {} > {limit}",
        usage.used_bytes
    );
    assert_eq!(usage.reserved_bytes, 0);

    let completed: Vec<&Sample> = samples.iter().filter(|s| !s.refused).collect();
    let mut reserve: Vec<Duration> = samples.iter().map(|s| s.reserve).collect();
    let mut complete: Vec<Duration> = completed.iter().map(|s| s.complete).collect();
    let mut cycle: Vec<Duration> = completed.iter().map(|s| s.cycle).collect();
    reserve.sort();
    complete.sort();
    cycle.sort();
    let load = match pace {
        None => "closed loop (saturation)".to_string(),
        Some(period) => format!(
            "{:.0} cycles/s offered",
            CLIENTS as f64 / period.as_secs_f64()
        ),
    };
    format!(
        "| {:?} | {load} | {} | {} | {:.0} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {} / {} |",
        backend,
        completed.len(),
        samples.len() - completed.len(),
        completed.len() as f64 / wall.as_secs_f64(),
        percentile(&reserve, 0.5),
        percentile(&reserve, 0.99),
        percentile(&complete, 0.5),
        percentile(&complete, 0.99),
        percentile(&cycle, 0.5),
        percentile(&cycle, 0.99),
        usage.used_bytes,
        limit,
    )
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters by backend name.
    let filter: Option<String> = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    if std::path::Path::new("/dev/shm").is_dir()
        && std::env::var_os("PHOTOPRO_TEST_OBJECTS_IN").is_none()
    {
        std::env::set_var("PHOTOPRO_TEST_OBJECTS_IN", "/dev/shm");
    }
    // A small PostgreSQL pool: on two cores, more connections only add lock
    // and scheduler contention on the organization row (measured: 4 > 8 > 16).
    if std::env::var_os("PHOTOPRO_TEST_PG_POOL").is_none() {
        std::env::set_var("PHOTOPRO_TEST_PG_POOL", "4");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("{CLIENTS} concurrent clients x {CYCLES_PER_CLIENT} cycles, {OBJECT_BYTES}-byte objects, cap = 90 % of the requested bytes");
    println!();
    println!("| backend | load | completed | refused at cap | completions/s | reserve p50 / p99 ms | complete p50 / p99 ms | full cycle p50 / p99 ms | used / limit bytes |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if filter.as_deref().is_some_and(|f| {
            !format!("{backend:?}")
                .to_lowercase()
                .contains(&f.to_lowercase())
        }) {
            continue;
        }
        for pace in [
            None,
            Some(Duration::from_secs(1)),
            Some(Duration::from_millis(500)),
            Some(Duration::from_millis(333)),
        ] {
            println!("{}", runtime.block_on(run(backend, pace)));
        }
    }
}
