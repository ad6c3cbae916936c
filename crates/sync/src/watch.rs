//! Knowing when to sync: file-system events on the sync folder, debounced,
//! with a periodic full pass as the safety net (event queues overflow, and a
//! library larger than the inotify watch limit cannot be watched whole).

use notify::{RecursiveMode, Watcher};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Why the daemon should run a sync pass now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Something changed under the sync folder (after the debounce quiet period).
    Changed,
    /// The periodic pass is due (also the fallback when watching failed).
    Periodic,
}

/// A debounced watcher over one folder.
pub struct FolderWatch {
    _watcher: Option<notify::RecommendedWatcher>,
    events: Receiver<()>,
    debounce: Duration,
    period: Duration,
    last_pass: Instant,
    /// Why watching is unavailable, if it is (then only periodic passes run).
    pub degraded: Option<String>,
}

impl FolderWatch {
    pub fn new(root: &Path, debounce: Duration, period: Duration) -> FolderWatch {
        let (tx, events) = channel();
        let mut degraded = None;
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Errors (including queue overflow) also wake the loop: a full pass
            // re-observes everything, so nothing is missed.
            let _ = event;
            let _ = tx.send(());
        })
        .and_then(|mut w| w.watch(root, RecursiveMode::Recursive).map(|_| w));
        let watcher = match watcher {
            Ok(w) => Some(w),
            Err(error) => {
                degraded = Some(format!("watching {} failed ({error}); syncing every {}s instead", root.display(), period.as_secs()));
                None
            }
        };
        FolderWatch { _watcher: watcher, events, debounce, period, last_pass: Instant::now(), degraded }
    }

    /// Block until the next pass is due: after a burst of events has been quiet
    /// for the debounce time, or when the period elapses.
    pub fn wait(&mut self) -> Wake {
        loop {
            let until_periodic = self.period.saturating_sub(self.last_pass.elapsed());
            match self.events.recv_timeout(until_periodic) {
                Ok(()) => {
                    // Swallow the burst until it has been quiet for `debounce`.
                    loop {
                        match self.events.recv_timeout(self.debounce) {
                            Ok(()) => continue,
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                    self.last_pass = Instant::now();
                    return Wake::Changed;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.last_pass = Instant::now();
                    return Wake::Periodic;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::park_timeout(until_periodic);
                    self.last_pass = Instant::now();
                    return Wake::Periodic;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_wakes_the_watch_after_the_burst() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = FolderWatch::new(dir.path(), Duration::from_millis(100), Duration::from_secs(3600));
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
        let mut watch = FolderWatch::new(dir.path(), Duration::from_millis(10), Duration::from_millis(50));
        assert_eq!(watch.wait(), Wake::Periodic);
    }

    #[test]
    fn an_unwatchable_folder_degrades_to_periodic_passes() {
        let watch = FolderWatch::new(Path::new("/definitely/not/here"), Duration::from_millis(10), Duration::from_millis(50));
        assert!(watch.degraded.as_deref().is_some_and(|d| d.contains("syncing every")));
    }
}
