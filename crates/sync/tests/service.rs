//! The daemon (`photopro_sync::service`) against the real API and its S3
//! store: it uploads a shoot once the files stop changing, publishes progress
//! and a final state, then stays quiet — no passes while nothing changes.

use photopro_sync::service::{start, Phase, ServiceConfig, ServiceEvent};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What the daemon said so far, and a way to wait for the next thing it says.
struct Heard {
    events: Receiver<ServiceEvent>,
    all: Vec<ServiceEvent>,
}

impl Heard {
    /// Take events as they come until `done` holds for what was heard; fail
    /// the test at `deadline`.
    fn until(&mut self, what: &str, deadline: Duration, done: impl Fn(&[ServiceEvent]) -> bool) {
        let until = Instant::now() + deadline;
        while !done(&self.all) {
            let left = until.checked_duration_since(Instant::now()).unwrap_or_else(|| panic!("timed out waiting for {what}"));
            match self.events.recv_timeout(left) {
                Ok(event) => self.all.push(event),
                Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for {what}"),
                Err(RecvTimeoutError::Disconnected) => panic!("the daemon stopped while waiting for {what}"),
            }
        }
    }

    /// Nothing matching `unwanted` is said for `window`.
    fn quiet_for(&mut self, window: Duration, unwanted: impl Fn(&ServiceEvent) -> bool) -> Result<(), ServiceEvent> {
        let until = Instant::now() + window;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(event) if unwanted(&event) => return Err(event),
                Ok(event) => self.all.push(event),
                Err(_) => break,
            }
        }
        Ok(())
    }
}

fn last_phase(events: &[ServiceEvent]) -> Option<Phase> {
    events.iter().rev().find_map(|e| match e {
        ServiceEvent::Status(status) => Some(status.phase),
        _ => None,
    })
}

fn uploads(events: &[ServiceEvent]) -> usize {
    events.iter().filter_map(|e| match e {
        ServiceEvent::PassFinished(pass) => Some(pass.uploads),
        _ => None,
    }).sum()
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
    let (sender, events) = channel();
    let sender = std::sync::Mutex::new(sender);
    let handle = start(config, move |event| {
        let _ = sender.lock().unwrap().send(event.clone());
    });
    let mut heard = Heard { events, all: Vec::new() };
    heard.until("the first pass", Duration::from_secs(20), |e| last_phase(e) == Some(Phase::UpToDate));

    std::fs::create_dir_all(folder.join("Smith Wedding")).unwrap();
    for i in 0..12 {
        std::fs::write(folder.join(format!("Smith Wedding/IMG_{i:04}.jpg")), vec![i as u8; 400_000 + i]).unwrap();
    }
    heard.until("12 uploads, then up to date", Duration::from_secs(30), |e| {
        uploads(e) == 12 && last_phase(e) == Some(Phase::UpToDate)
    });
    {
        let events = &heard.all;
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
    let idle = heard.quiet_for(Duration::from_secs(2), |e| matches!(e, ServiceEvent::PassFinished(_)));
    assert!(idle.is_ok(), "the daemon ran passes while nothing changed: {idle:?}");

    // Pause is honoured at once; resume picks up what changed meanwhile.
    handle.pause();
    heard.until("paused", Duration::from_secs(5), |e| last_phase(e) == Some(Phase::Paused));
    std::fs::write(folder.join("Smith Wedding/IMG_0100.jpg"), b"taken while paused").unwrap();
    let paused = heard.quiet_for(Duration::from_secs(1), |e| matches!(e, ServiceEvent::PassFinished(_)));
    assert!(paused.is_ok() && uploads(&heard.all) == 12, "nothing uploads while paused: {paused:?}");
    handle.resume();
    heard.until("the paused change to upload", Duration::from_secs(20), |e| uploads(e) == 13);
    handle.stop().unwrap();
}
