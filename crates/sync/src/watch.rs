//! Knowing when to sync: file-system events on the sync folder, debounced,
//! with a periodic full pass as the safety net (event queues overflow, and a
//! library larger than the inotify watch limit cannot be watched whole).

use notify::{RecursiveMode, Watcher};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Why the daemon should run a sync pass now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Something changed under the sync folder (after the debounce quiet period).
    Changed,
    /// The periodic pass is due (also the fallback when watching failed).
    Periodic,
    /// Someone asked through a [`Waker`] (pause, resume, "sync now", stop).
    Asked,
    /// The deadline given to [`FolderWatch::wait_until`] passed first.
    Deadline,
}

enum Signal {
    Fs,
    Asked,
}

/// Wakes a [`FolderWatch::wait`] from another thread.
#[derive(Clone)]
pub struct Waker(Sender<Signal>);

impl Waker {
    pub fn wake(&self) {
        let _ = self.0.send(Signal::Asked);
    }
}

/// A debounced watcher over one folder.
pub struct FolderWatch {
    _watcher: Option<notify::RecommendedWatcher>,
    events: Receiver<Signal>,
    waker: Sender<Signal>,
    debounce: Duration,
    period: Duration,
    last_pass: Instant,
    /// Why watching is unavailable, if it is (then only periodic passes run).
    pub degraded: Option<String>,
}

/// Whether an event is only about the engine's own temporary files.
fn only_temp_files(event: &notify::Event) -> bool {
    !event.paths.is_empty()
        && event.paths.iter().all(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(crate::disk::TEMP_PREFIX))
        })
}

impl FolderWatch {
    pub fn new(root: &Path, debounce: Duration, period: Duration) -> FolderWatch {
        let (tx, events) = channel();
        let waker = tx.clone();
        let mut degraded = None;
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Errors (including queue overflow) also wake the loop: a full pass
            // re-observes everything, so nothing is missed.
            // Reads (the engine hashing and uploading files) change nothing.
            if event
                .as_ref()
                .is_ok_and(|e| matches!(e.kind, notify::EventKind::Access(_)) || only_temp_files(e))
            {
                return;
            }
            let _ = tx.send(Signal::Fs);
        })
        .and_then(|mut w| w.watch(root, RecursiveMode::Recursive).map(|_| w));
        let watcher = match watcher {
            Ok(w) => Some(w),
            Err(error) => {
                degraded = Some(format!(
                    "watching {} failed ({error}); syncing every {}s instead",
                    root.display(),
                    period.as_secs()
                ));
                None
            }
        };
        FolderWatch {
            _watcher: watcher,
            events,
            waker,
            debounce,
            period,
            last_pass: Instant::now(),
            degraded,
        }
    }

    pub fn waker(&self) -> Waker {
        Waker(self.waker.clone())
    }

    /// A pass just ended: the next periodic pass is due a full period from
    /// now. (Counted from the wake instead, a pass longer than the period
    /// minus a minute — the first sync of a large library — was followed by
    /// a full re-listing within a minute of going idle.)
    pub fn pass_ended(&mut self) {
        self.last_pass = Instant::now();
    }

    /// Block until the next pass is due: after a burst of events has been quiet
    /// for the debounce time, when the period elapses, or when woken.
    pub fn wait(&mut self) -> Wake {
        self.wait_until(None)
    }

    /// As [`FolderWatch::wait`], but give up at `deadline` ([`Wake::Deadline`]).
    pub fn wait_until(&mut self, deadline: Option<Instant>) -> Wake {
        let until_periodic = self.period.saturating_sub(self.last_pass.elapsed());
        let (timeout, on_timeout) = match deadline {
            Some(at) if at.saturating_duration_since(Instant::now()) < until_periodic => {
                (at.saturating_duration_since(Instant::now()), Wake::Deadline)
            }
            _ => (until_periodic, Wake::Periodic),
        };
        let wake = match self.events.recv_timeout(timeout) {
            Ok(Signal::Asked) => Wake::Asked,
            Ok(Signal::Fs) => {
                // Swallow the burst until it has been quiet for `debounce`.
                loop {
                    match self.events.recv_timeout(self.debounce) {
                        Ok(Signal::Fs) => continue,
                        Ok(Signal::Asked) => break Wake::Asked,
                        Err(_) => break Wake::Changed,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => on_timeout,
            // Unreachable while `self.waker` lives; behave like a timeout.
            Err(RecvTimeoutError::Disconnected) => on_timeout,
        };
        if wake != Wake::Deadline {
            self.last_pass = Instant::now();
        }
        wake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_wakes_the_watch_after_the_burst() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = FolderWatch::new(
            dir.path(),
            Duration::from_millis(100),
            Duration::from_secs(3600),
        );
        assert!(watch.degraded.is_none(), "{:?}", watch.degraded);
        std::fs::create_dir(dir.path().join("Smith")).unwrap();
        for i in 0..20 {
            std::fs::write(dir.path().join("Smith").join(format!("IMG_{i}.jpg")), b"x").unwrap();
        }
        assert_eq!(watch.wait(), Wake::Changed);
    }

    #[test]
    fn the_periodic_pass_runs_without_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = FolderWatch::new(
            dir.path(),
            Duration::from_millis(10),
            Duration::from_millis(50),
        );
        assert_eq!(watch.wait(), Wake::Periodic);
    }

    #[test]
    fn the_periodic_pass_is_a_full_period_after_the_last_pass_ended() {
        let dir = tempfile::tempdir().unwrap();
        let period = Duration::from_millis(400);
        let mut watch = FolderWatch::new(dir.path(), Duration::from_millis(10), period);
        assert_eq!(watch.wait(), Wake::Periodic);
        // A pass taking most of the period (the first sync of a large library).
        let pass_started = Instant::now();
        std::thread::sleep(Duration::from_millis(300));
        watch.pass_ended();
        let ended = Instant::now();
        assert_eq!(watch.wait(), Wake::Periodic);
        assert!(
            ended.elapsed() >= period,
            "the next periodic pass came {:?} after the pass ended ({:?} after it started)",
            ended.elapsed(),
            pass_started.elapsed()
        );
    }

    #[test]
    fn a_waker_interrupts_the_wait_and_a_deadline_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = FolderWatch::new(
            dir.path(),
            Duration::from_millis(10),
            Duration::from_secs(3600),
        );
        let waker = watch.waker();
        std::thread::spawn(move || waker.wake());
        assert_eq!(watch.wait(), Wake::Asked);
        assert_eq!(
            watch.wait_until(Some(Instant::now() + Duration::from_millis(20))),
            Wake::Deadline
        );
    }

    #[test]
    fn the_engines_own_temp_files_do_not_wake_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = FolderWatch::new(
            dir.path(),
            Duration::from_millis(10),
            Duration::from_secs(3600),
        );
        std::fs::write(dir.path().join(".photopro-tmp-1"), b"x").unwrap();
        assert_eq!(
            watch.wait_until(Some(Instant::now() + Duration::from_millis(300))),
            Wake::Deadline
        );
    }

    #[test]
    fn reading_files_does_not_wake_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("IMG_1.jpg"), b"photo").unwrap();
        let mut watch = FolderWatch::new(
            dir.path(),
            Duration::from_millis(10),
            Duration::from_secs(3600),
        );
        for _ in 0..3 {
            std::fs::read(dir.path().join("IMG_1.jpg")).unwrap();
            std::fs::read_dir(dir.path()).unwrap().for_each(drop);
        }
        assert_eq!(
            watch.wait_until(Some(Instant::now() + Duration::from_millis(300))),
            Wake::Deadline
        );
    }

    #[test]
    fn an_unwatchable_folder_degrades_to_periodic_passes() {
        let watch = FolderWatch::new(
            Path::new("/definitely/not/here"),
            Duration::from_millis(10),
            Duration::from_millis(50),
        );
        assert!(watch
            .degraded
            .as_deref()
            .is_some_and(|d| d.contains("syncing every")));
    }
}
