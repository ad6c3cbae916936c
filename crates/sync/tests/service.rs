//! The daemon (`photopro_sync::service`) against the real API and its S3
//! store: it uploads a shoot once the files stop changing, publishes progress
//! and a final state, then stays quiet — no passes while nothing changes.

use photopro_sync::service::{start, Phase, ServiceConfig, ServiceEvent};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_daemon_uploads_a_settled_shoot_reports_progress_then_stays_idle() {
    let data = tempfile::tempdir().unwrap();
    let api = photopro_api::local::LocalApi::start(data.path().join("api"), |_| {}).unwrap();
    let token = api.device_token("Smith Photography", None).unwrap();
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("Sync");
    let mut config = ServiceConfig::new(
        folder.clone(),
        api.base.clone(),
        token,
        work.path().join("index.db"),
        work.path().to_path_buf(),
        "Studio Mac".into(),
    );
    config.settle = Duration::from_millis(500);
    config.debounce = Duration::from_millis(100);
    let events: Arc<Mutex<Vec<ServiceEvent>>> = Arc::default();
    let heard = events.clone();
    let handle = start(config, move |event| heard.lock().unwrap().push(event.clone()));
    wait_for("the first pass", Duration::from_secs(20), || handle.status().phase == Phase::UpToDate);

    std::fs::create_dir_all(folder.join("Smith Wedding")).unwrap();
    for i in 0..12 {
        std::fs::write(folder.join(format!("Smith Wedding/IMG_{i:04}.jpg")), vec![i as u8; 400_000 + i]).unwrap();
    }
    let uploaded = || {
        events.lock().unwrap().iter().filter_map(|e| match e {
            ServiceEvent::PassFinished(pass) => Some(pass.uploads),
            _ => None,
        }).sum::<usize>()
    };
    wait_for("12 uploads", Duration::from_secs(30), || uploaded() == 12);
    wait_for("up to date", Duration::from_secs(10), || handle.status().phase == Phase::UpToDate);
    {
        let events = events.lock().unwrap();
        let folders: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ServiceEvent::PassFinished(pass) if pass.uploads > 0 => Some(pass.uploaded_folders.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(folders.iter().map(|(_, n)| n).sum::<usize>(), 12);
        assert!(folders.iter().all(|(folder, _)| folder == "Smith Wedding"), "{folders:?}");
        assert!(
            events.iter().any(|e| matches!(e, ServiceEvent::Status(s) if s.phase == Phase::Waiting)),
            "files still being written were reported as waiting"
        );
    }
    let status = handle.status();
    assert_eq!((status.progress.files_done, status.progress.in_flight.len()), (status.progress.files_total, 0));

    // Idle: no file changes, no remote changes — no passes (reading files for
    // hashing and uploading must not wake the watcher).
    let passes = || events.lock().unwrap().iter().filter(|e| matches!(e, ServiceEvent::PassFinished(_))).count();
    let before = passes();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(passes(), before, "the daemon ran passes while nothing changed");

    // Pause is honoured at once; resume picks up what changed meanwhile.
    handle.pause();
    wait_for("paused", Duration::from_secs(5), || handle.status().phase == Phase::Paused);
    std::fs::write(folder.join("Smith Wedding/IMG_0100.jpg"), b"taken while paused").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(uploaded(), 12, "nothing uploads while paused");
    handle.resume();
    wait_for("the paused change to upload", Duration::from_secs(20), || uploaded() == 13);
    handle.stop().unwrap();
}
