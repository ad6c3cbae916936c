//! The binary: `serve` with no configuration, `admin` commands, and the OpenAPI document.

use std::process::{Command, Stdio};
use std::time::Duration;

use photopro_wire as wire;

use crate::support::{bytes, put_with_headers, reserve_body};

const BIN: &str = env!("CARGO_BIN_EXE_photopro-api");

fn admin(data_dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let output = Command::new(BIN)
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `photopro-api serve` with no configuration: SQLite + embedded store, a full upload through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_no_configuration_runs_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let organization = admin(
        dir.path(),
        &[
            "create-org",
            "--name",
            "Smith Photography",
            "--tier",
            "starter",
        ],
    );
    let org_id = organization["id"].as_str().unwrap().to_string();
    assert_eq!(organization["limit_bytes"], 100u64 << 30);
    let plan = admin(
        dir.path(),
        &[
            "set-plan",
            "--org",
            &org_id,
            "--tier",
            "ENTERPRISE",
            "--add-on",
            "PLUS_10_TB",
        ],
    );
    assert_eq!(plan["limit_bytes"], 25u64 << 40);
    let token = admin(
        dir.path(),
        &["issue-token", "--org", &org_id, "--device-name", "Studio"],
    );
    let token = token["token"].as_str().unwrap().to_string();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Child(
        Command::new(BIN)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("PHOTOPRO_S3_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // `serve` logs "photopro-api listening" once its socket is bound: wait for
    // that line (and keep draining its log so it never blocks on a full pipe).
    let log = server.0.stderr.take().unwrap();
    let (listening, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
            if line.contains("photopro-api listening") {
                let _ = listening.send(());
            }
        }
    });
    ready
        .recv_timeout(Duration::from_secs(30))
        .expect("serve did not come up");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    assert!(dir.path().join("photopro.db").exists());
    assert!(dir.path().join("admin-token").exists());

    let data = bytes(2000, 70);
    let reservation: wire::Reservation = http
        .post(format!("{base}/v1/uploads"))
        .bearer_auth(&token)
        .json(&reserve_body("a.jpg", &data, None))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wire::UploadPlan::Single { url, headers } = &reservation.upload else {
        panic!()
    };
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the embedded store listens on loopback: {url}"
    );
    assert!(put_with_headers(&http, url, headers, data)
        .await
        .status()
        .is_success());
    let response = http
        .post(format!(
            "{base}/v1/uploads/{}/complete",
            reservation.reservation_id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let usage: wire::Usage = http
        .get(format!("{base}/v1/usage"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage.used_bytes, 2000);

    let openapi: serde_json::Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/uploads",
        "/v1/uploads/{id}/complete",
        "/v1/assets/copy",
        "/v1/changes",
        "/v1/usage",
        "/admin/v1/organizations",
    ] {
        assert!(openapi["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    assert!(openapi["components"]["schemas"]["QuotaExceeded"].is_object());
    assert!(openapi["components"]["schemas"]["CopyRequest"].is_object());
    assert!(openapi["components"]["schemas"]["Replaces"].is_object());

    // The admin token written on first start works for the admin API.
    let admin_token = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let response = http
        .get(format!("{base}/admin/v1/organizations"))
        .bearer_auth(admin_token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn admin_refuses_unknown_tier() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .arg("admin")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["create-org", "--name", "X", "--tier", "GOLD"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown tier"));
}
