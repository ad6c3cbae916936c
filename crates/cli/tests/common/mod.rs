//! What the `photopro` end-to-end tests share: the real API in this process
//! (with its embedded S3-compatible store) on 127.0.0.1, running the CLI as a
//! real process, and waiting on a condition against a deadline.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

/// A running API with its embedded S3 store, in this process.
pub struct LiveApi {
    _data: tempfile::TempDir,
    pub api: photopro_api::local::LocalApi,
    pub base: String,
}

impl LiveApi {
    pub fn start() -> LiveApi {
        let data = tempfile::tempdir().unwrap();
        let api = photopro_api::local::LocalApi::start(data.path().to_path_buf(), |_| {}).unwrap();
        LiveApi {
            _data: data,
            base: api.base.clone(),
            api,
        }
    }

    /// A device token of a fresh organization, "Smith Photography".
    pub fn token(&self) -> String {
        self.api.device_token("Smith Photography", None).unwrap()
    }
}

/// `photopro --data-dir DATA ARGS`, with no token from the environment.
pub fn photopro(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_photopro"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("PHOTOPRO_TOKEN")
        .output()
        .unwrap()
}

/// The standard output of a command that must have succeeded.
pub fn ok(output: Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "failed: {text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// Poll `ready` every 20 ms until it holds; false if `limit` passes first.
pub fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Incompressible, reproducible bytes.
pub fn noise(len: u64, mut seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len as usize];
    for chunk in bytes.chunks_mut(8) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
    }
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A file as a card reader leaves it: written a while ago, so the daemon
/// does not hold it back as "still being written".
pub fn write_settled(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
}
