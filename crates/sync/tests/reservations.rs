//! Reservations a killed client left behind, and a raised cap, against the
//! real API (in this process, with its embedded S3 store) over HTTP.
//!
//! Issue 10 item 8: killed uploads' reservations held 105 MB for 2 h, so the
//! organization showed "Storage full" at 93 % though new files fit; after the
//! cap was raised the running daemon took 295 s to notice.

use photopro_sync::disk::HashKind;
use photopro_sync::http::HttpRemote;
use photopro_sync::service::{start, Phase, ServiceConfig, ServiceEvent};
use photopro_sync::{Remote, SyncError};
use photopro_wire as wire;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

const ADMIN: &str = "ppa_reservations_test_admin";

fn api(
    data: &std::path::Path,
    configure: impl FnOnce(&mut photopro_api::server::ServeOptions),
) -> photopro_api::local::LocalApi {
    photopro_api::local::LocalApi::start(data.to_path_buf(), |options| {
        options.admin_token = Some(ADMIN.to_string());
        configure(options);
    })
    .unwrap()
}

fn usage(base: &str, token: &str) -> wire::Usage {
    reqwest::blocking::Client::new()
        .get(format!("{base}/v1/usage"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn open_uploads(base: &str, token: &str) -> Vec<wire::OpenUpload> {
    let list: wire::OpenUploadList = reqwest::blocking::Client::new()
        .get(format!("{base}/v1/uploads?state=open"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    list.uploads
}

/// A reservation as a client killed right after reserving leaves it.
fn reserve(base: &str, token: &str, name: &str, size: u64, seed: u8) -> wire::Reservation {
    let sha256 = HashKind::Sha256.of_bytes(&vec![seed; size as usize]);
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/v1/uploads"))
        .bearer_auth(token)
        .json(&serde_json::json!({"size_bytes": size, "content_sha256": sha256, "name": name}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().unwrap()
}

#[test]
fn leftover_reservations_are_cancelled_at_start_unless_resumable() {
    let data = tempfile::tempdir().unwrap();
    let api = api(data.path(), |options| {
        options.settings.multipart_threshold_bytes = 6 << 20;
        options.settings.min_part_bytes = 5 << 20;
    });
    let token = api
        .device_token("Smith Photography", Some(40 << 20))
        .unwrap();
    let other_device = api.device_token("Someone else", Some(40 << 20)).unwrap();
    let resume = tempfile::tempdir().unwrap();

    // A journaled multipart upload, interrupted after one part...
    let bytes: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let hash = HashKind::Sha256.of_bytes(&bytes);
    let mut first = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    first.snapshot().unwrap();
    first.fail_after_parts = Some(1);
    let error = first
        .upload(None, "panorama.tif", &bytes, &hash, None)
        .unwrap_err();
    assert!(matches!(error, SyncError::Transient { .. }), "{error:?}");
    drop(first);
    // ...and two single-part reservations a killed run never got to use.
    reserve(&api.base, &token, "IMG_0001.JPG", 4 << 20, 1);
    reserve(&api.base, &token, "IMG_0002.JPG", 5 << 20, 2);
    reserve(&api.base, &other_device, "theirs.jpg", 1 << 20, 3);
    assert_eq!(
        usage(&api.base, &token).reserved_bytes,
        (12 << 20) + (4 << 20) + (5 << 20)
    );

    let remote = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    let settled = remote.settle_leftover_reservations().unwrap();
    assert_eq!(
        (
            settled.resumable,
            settled.cancelled,
            settled.cancelled_bytes
        ),
        (1, 2, 9 << 20)
    );
    let left = open_uploads(&api.base, &token);
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].name.as_str(), left[0].multipart),
        ("panorama.tif", true)
    );
    assert_eq!(
        usage(&api.base, &token).reserved_bytes,
        12 << 20,
        "freed at once, not in 2 h"
    );
    // Only this device's reservations are touched.
    assert_eq!(open_uploads(&api.base, &other_device).len(), 1);

    // The journaled one still resumes where it stopped.
    let mut resumed = remote;
    resumed.snapshot().unwrap();
    let node = resumed
        .upload(None, "panorama.tif", &bytes, &hash, None)
        .unwrap();
    assert_eq!(
        resumed.bytes_sent,
        7 << 20,
        "resumed after the first 5 MiB part"
    );
    assert_eq!(resumed.download(&node.id, &hash).unwrap(), bytes);
    assert!(open_uploads(&api.base, &token).is_empty());
}

#[test]
fn the_daemon_cancels_leftovers_and_notices_a_raised_cap_within_seconds() {
    let data = tempfile::tempdir().unwrap();
    let api = api(data.path(), |_| {});
    // 6 MiB: room for one DJI photo (~3.4 MB) but not two — once the 3 MiB a
    // killed run left reserved is released.
    let token = api
        .device_token("Smith Photography", Some(6 << 20))
        .unwrap();
    reserve(&api.base, &token, "killed.jpg", 3 << 20, 9);
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("Sync");
    std::fs::create_dir_all(&folder).unwrap();
    let photos =
        std::path::PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("dji-phantom3");
    for name in ["DJI_0018.JPG", "DJI_0019.JPG"] {
        std::fs::copy(photos.join(name), folder.join(name)).unwrap();
    }
    let mut config = ServiceConfig::new(
        folder.clone(),
        api.base.clone(),
        token.clone(),
        work.path().join("index.db"),
        work.path().to_path_buf(),
        "Laptop".into(),
    );
    config.settle = Duration::ZERO;
    config.debounce = Duration::from_millis(100);
    let (sender, events) = channel();
    let sender = std::sync::Mutex::new(sender);
    let handle = start(config, move |event| {
        let _ = sender.lock().unwrap().send(event.clone());
    });
    // The phase is published before the pass's counts: check after every event.
    let mut heard = (Phase::Starting, 0usize);
    let mut wait_for = |what: &str, deadline: Duration, done: &dyn Fn(Phase, usize) -> bool| {
        let until = Instant::now() + deadline;
        while !done(heard.0, heard.1) {
            let left = until
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("timed out waiting for {what}"));
            match events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            {
                ServiceEvent::PassFinished(pass) => heard.1 += pass.uploads,
                ServiceEvent::Status(status) => heard.0 = status.phase,
            }
        }
    };
    wait_for(
        "storage full after one upload",
        Duration::from_secs(60),
        &|phase, n| phase == Phase::StorageFull && n == 1,
    );
    // The killed run's 3 MiB were released at start: the first photo fit.
    assert!(open_uploads(&api.base, &token).is_empty());

    // Raise the cap through the admin API, as support would.
    let admin = reqwest::blocking::Client::new();
    let organizations: Vec<wire::Organization> = admin
        .get(format!("{}/admin/v1/organizations", api.base))
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(organizations.len(), 1);
    let raised_at = Instant::now();
    let response = admin
        .put(format!(
            "{}/admin/v1/organizations/{}/plan",
            api.base, organizations[0].id
        ))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"tier": "CUSTOM", "limit_override_bytes": 100u64 << 20}))
        .send()
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    wait_for(
        "the second upload after the raise",
        Duration::from_secs(60),
        &|phase, n| phase == Phase::UpToDate && n == 2,
    );
    let noticed = raised_at.elapsed();
    eprintln!("raised cap noticed and the waiting file uploaded in {noticed:?}");
    assert!(
        noticed < Duration::from_secs(10),
        "took {noticed:?} (the periodic pass is 300 s, the cursor poll 15 s)"
    );
    handle.stop().unwrap();
}

/// A single-part PUT cut off (a dropped connection, a store that answers 5xx)
/// left its reservation open, and the retry took a second one: each failed
/// attempt held the file's size against the cap for 2 h more, in a daemon
/// that keeps running. The retry now reuses the reservation the failed
/// attempt made (journaled like a multipart upload's), and one renamed
/// meanwhile gives its old reservation up at once.
#[test]
fn a_failed_single_part_upload_is_retried_on_the_same_reservation() {
    let data = tempfile::tempdir().unwrap();
    let api = api(data.path(), |_| {});
    let token = api
        .device_token("Smith Photography", Some(40 << 20))
        .unwrap();
    let resume = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let hash = HashKind::Sha256.of_bytes(&bytes);
    let mut remote = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    remote.snapshot().unwrap();

    // Two attempts cut off before the store got the bytes.
    remote.fail_after_parts = Some(0);
    for attempt in 1..=2 {
        let error = remote
            .upload(None, "IMG_0001.JPG", &bytes, &hash, None)
            .unwrap_err();
        assert!(matches!(error, SyncError::Transient { .. }), "{error:?}");
        assert_eq!(
            usage(&api.base, &token).reserved_bytes,
            3 << 20,
            "after failed attempt {attempt}: one reservation, not one per attempt"
        );
    }
    assert_eq!(open_uploads(&api.base, &token).len(), 1);

    // The file was renamed before the next attempt: the old reservation
    // (made for the old name) is given up, not left to expire.
    let error = remote
        .upload(None, "Renamed.JPG", &bytes, &hash, None)
        .unwrap_err();
    assert!(matches!(error, SyncError::Transient { .. }), "{error:?}");
    let open = open_uploads(&api.base, &token);
    assert_eq!(
        open.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["Renamed.JPG"]
    );

    remote.fail_after_parts = None;
    let node = remote
        .upload(None, "Renamed.JPG", &bytes, &hash, None)
        .unwrap();
    assert_eq!(node.name, "Renamed.JPG");
    let after = usage(&api.base, &token);
    assert_eq!(
        (after.used_bytes, after.reserved_bytes),
        (3 << 20, 0),
        "the books hold the one file, nothing reserved"
    );
    assert!(open_uploads(&api.base, &token).is_empty());

    // A killed run's journaled single-part reservation is cancelled at the
    // next start (nothing of a single PUT can be resumed) and its journal
    // entry dropped.
    remote.fail_after_parts = Some(0);
    let other: Vec<u8> = bytes.iter().map(|b| b ^ 0x5a).collect();
    let other_hash = HashKind::Sha256.of_bytes(&other);
    remote
        .upload(None, "IMG_0002.JPG", &other, &other_hash, None)
        .unwrap_err();
    drop(remote);
    assert_eq!(usage(&api.base, &token).reserved_bytes, 3 << 20);
    let restarted = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    let settled = restarted.settle_leftover_reservations().unwrap();
    assert_eq!(
        (
            settled.resumable,
            settled.cancelled,
            settled.cancelled_bytes
        ),
        (0, 1, 3 << 20)
    );
    assert_eq!(usage(&api.base, &token).reserved_bytes, 0);
    assert_eq!(
        std::fs::read_dir(resume.path()).unwrap().count(),
        0,
        "the journal entry went with the reservation"
    );
}
