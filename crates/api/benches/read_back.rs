//! What completion's read-back verification costs: a streaming GET of the
//! object from the embedded store, hashed with SHA-256 (the path taken when
//! the store reports no whole-object checksum, and always for multipart).
//!
//! Run: `cargo bench -p photopro-api --bench read_back` (optimized), or with
//! `--profile dev` for a quick upper bound (sha2 is optimized even there).
//! `PHOTOPRO_READ_BACK_MIB` sets the object size (default 512 MiB).

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use photopro_api::embedded::EmbeddedStore;
use photopro_api::store::ObjectStore;
use sha2::{Digest, Sha256};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mib: usize = std::env::var("PHOTOPRO_READ_BACK_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::start(dir.path(), 0, "bench", "bench-secret-0123456789")
        .await
        .unwrap();
    let store = ObjectStore::new(&embedded.config);
    store.ensure_bucket().await.unwrap();

    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<u8> = (0..mib << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let expected: [u8; 32] = Sha256::digest(&data).into();
    let config = &embedded.config;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &config.access_key_id,
                &config.secret_access_key,
                None,
                None,
                "bench",
            ))
            .region(aws_sdk_s3::config::Region::new(config.region.clone()))
            .endpoint_url(&config.endpoint)
            .force_path_style(true)
            .build(),
    );
    client
        .put_object()
        .bucket(&config.bucket)
        .key("bench/object")
        .body(ByteStream::from(data))
        .send()
        .await
        .unwrap();

    println!("| object | run | read-back + SHA-256 | MiB/s | s per GiB |");
    println!("|---|---|---|---|---|");
    for run in 1..=3 {
        let start = Instant::now();
        let (size, sha256) = store.read_sha256("bench/object").await.unwrap().unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!((size, sha256), ((mib as u64) << 20, expected));
        println!(
            "| {mib} MiB | {run} | {:.0} ms | {:.0} | {:.2} |",
            elapsed * 1000.0,
            mib as f64 / elapsed,
            elapsed * 1024.0 / mib as f64
        );
    }
    let start = Instant::now();
    store.head("bench/object").await.unwrap().unwrap();
    println!(
        "\nHEAD (the path when the store reports the checksum): {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
}
