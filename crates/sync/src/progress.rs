//! Transfer progress and bandwidth limits, shared between the engine (which
//! knows what a pass will move), the remote's transfer threads (which move the
//! bytes) and whoever shows it (the CLI's status line, the app's Sync screen).
//!
//! A [`Meter`] is cheap to clone (an `Arc`); every method takes `&self` and is
//! safe to call from any thread. [`Meter::snapshot`] turns the counters into
//! a [`Progress`] with a rate averaged over the last seconds and an ETA.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which way bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Upload,
    Download,
}

/// One transfer in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Transfer {
    pub direction: Direction,
    /// The file's path below the sync folder (or its name when unknown).
    pub path: String,
    pub size: u64,
    pub done: u64,
}

/// What a pass has done and has left, for display.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Progress {
    /// Files this pass set out to transfer, and how many are finished (or failed).
    pub files_total: u64,
    pub files_done: u64,
    pub bytes_total: u64,
    pub bytes_done: u64,
    /// Bytes per second over the last few seconds (both directions).
    pub bytes_per_second: f64,
    /// Seconds until the planned transfers finish at the current rate.
    pub eta_seconds: Option<u64>,
    pub in_flight: Vec<Transfer>,
}

/// A token bucket shared by all transfer threads of one direction:
/// `bytes_per_second = 0` means unlimited.
#[derive(Debug, Default)]
struct Bucket {
    rate: u64,
    /// Bytes that may still be sent without waiting (may go negative: debt).
    tokens: f64,
    refilled: Option<Instant>,
}

impl Bucket {
    /// How long the caller must wait before moving `n` more bytes.
    fn take(&mut self, n: u64, now: Instant) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        let rate = self.rate as f64;
        // At most a quarter second of burst: limits stay smooth.
        let burst = (rate / 4.0).max(64.0 * 1024.0);
        if let Some(last) = self.refilled {
            self.tokens = (self.tokens + now.duration_since(last).as_secs_f64() * rate).min(burst);
        } else {
            self.tokens = burst.min(rate);
        }
        self.refilled = Some(now);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / rate)
        }
    }
}

#[derive(Debug, Default)]
struct State {
    files_total: u64,
    files_done: u64,
    bytes_total: u64,
    bytes_done: u64,
    next_id: u64,
    in_flight: BTreeMap<u64, Transfer>,
    /// (when, cumulative bytes) samples for the rate.
    samples: VecDeque<(Instant, u64)>,
    moved_total: u64,
    up: Bucket,
    down: Bucket,
}

/// Shared progress counters and bandwidth limits. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    state: Arc<Mutex<State>>,
}

/// Handle of one transfer registered with [`Meter::start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferId(u64);

const RATE_WINDOW: Duration = Duration::from_secs(5);

impl Meter {
    pub fn new() -> Meter {
        Meter::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Bandwidth limits in bytes per second; 0 = unlimited. Takes effect at once,
    /// also for transfers in flight.
    pub fn set_limits(&self, upload_bytes_per_second: u64, download_bytes_per_second: u64) {
        let mut state = self.state();
        state.up.rate = upload_bytes_per_second;
        state.down.rate = download_bytes_per_second;
    }

    pub fn limits(&self) -> (u64, u64) {
        let state = self.state();
        (state.up.rate, state.down.rate)
    }

    /// A pass starts: it plans `files` transfers of `bytes` in all.
    pub fn begin_pass(&self, files: u64, bytes: u64) {
        let mut state = self.state();
        state.files_total = files;
        state.bytes_total = bytes;
        state.files_done = 0;
        state.bytes_done = 0;
        state.in_flight.clear();
    }

    /// Add to the current pass's plan (a later round of the same pass).
    pub fn add_planned(&self, files: u64, bytes: u64) {
        let mut state = self.state();
        state.files_total += files;
        state.bytes_total += bytes;
    }

    pub fn start(&self, direction: Direction, path: &str, size: u64) -> TransferId {
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        state.in_flight.insert(
            id,
            Transfer {
                direction,
                path: path.to_string(),
                size,
                done: 0,
            },
        );
        TransferId(id)
    }

    /// `n` more bytes of a transfer moved. Returns how long to pause to honour
    /// the bandwidth limit (the caller sleeps; see [`Meter::moved_and_throttle`]).
    pub fn moved(&self, id: TransferId, n: u64) -> Duration {
        let now = Instant::now();
        let mut state = self.state();
        let direction = match state.in_flight.get_mut(&id.0) {
            Some(transfer) => {
                transfer.done += n;
                transfer.direction
            }
            None => Direction::Upload,
        };
        state.bytes_done += n;
        state.moved_total += n;
        let total = state.moved_total;
        state.samples.push_back((now, total));
        while state.samples.len() > 2
            && state
                .samples
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
        {
            state.samples.pop_front();
        }
        match direction {
            Direction::Upload => state.up.take(n, now),
            Direction::Download => state.down.take(n, now),
        }
    }

    /// [`Meter::moved`], then sleep as the limit asks.
    pub fn moved_and_throttle(&self, id: TransferId, n: u64) {
        let wait = self.moved(id, n);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    /// `n` bytes of a transfer will not be sent after all (the remote had
    /// them: parts stored by an earlier run, or content it already holds):
    /// they leave the pass's total instead of counting as moved, so the
    /// progress ends at the bytes that really moved — what the pass summary
    /// reports.
    pub fn skipped(&self, id: TransferId, n: u64) {
        let mut state = self.state();
        let Some(transfer) = state.in_flight.get_mut(&id.0) else {
            return;
        };
        let n = n.min(transfer.size.saturating_sub(transfer.done));
        transfer.size -= n;
        state.bytes_total = state.bytes_total.saturating_sub(n);
    }

    /// A transfer ended (done or failed). A failed transfer's bytes leave the
    /// pass's count: they will be sent again.
    pub fn finish(&self, id: TransferId, ok: bool) {
        let mut state = self.state();
        if let Some(transfer) = state.in_flight.remove(&id.0) {
            if ok {
                state.files_done += 1;
            } else {
                // It did not happen: it leaves the plan (a later round plans it again).
                state.files_total = state.files_total.saturating_sub(1);
                state.bytes_total = state.bytes_total.saturating_sub(transfer.size);
            }
            if ok {
                // A transfer that reported no byte progress (an unthrottled
                // single request) counts whole at the end.
                let rest = transfer.size.saturating_sub(transfer.done);
                state.bytes_done += rest;
            } else {
                state.bytes_done = state.bytes_done.saturating_sub(transfer.done);
            }
        }
    }

    /// Whether this transfer needs byte-by-byte pacing (a limit is set).
    pub fn is_limited(&self, direction: Direction) -> bool {
        let state = self.state();
        match direction {
            Direction::Upload => state.up.rate > 0,
            Direction::Download => state.down.rate > 0,
        }
    }

    pub fn snapshot(&self) -> Progress {
        let state = self.state();
        let bytes_per_second = match (state.samples.front(), state.samples.back()) {
            (Some((first_at, first)), Some((last_at, last))) if last_at > first_at => {
                let since_last = Instant::now().duration_since(*last_at);
                if since_last > RATE_WINDOW {
                    0.0
                } else {
                    // Over at least a second: the first moments of a transfer
                    // (a burst into socket buffers) say little about its rate.
                    let span = (last_at.duration_since(*first_at) + since_last)
                        .max(Duration::from_secs(1));
                    (last - first) as f64 / span.as_secs_f64()
                }
            }
            _ => 0.0,
        };
        let remaining = state.bytes_total.saturating_sub(state.bytes_done);
        let eta_seconds = (bytes_per_second > 0.0 && remaining > 0)
            .then(|| (remaining as f64 / bytes_per_second).ceil() as u64);
        Progress {
            files_total: state.files_total,
            files_done: state.files_done,
            bytes_total: state.bytes_total,
            bytes_done: state
                .bytes_done
                .min(state.bytes_total.max(state.bytes_done)),
            bytes_per_second,
            eta_seconds: eta_seconds.or((remaining == 0).then_some(0)),
            in_flight: state.in_flight.values().cloned().collect(),
        }
    }
}

/// A reader that reports what passes through it to a [`Meter`] and paces
/// itself to the bandwidth limit: the body of a throttled upload, or the
/// consumer side of a download.
pub struct MeteredRead<R> {
    inner: R,
    meter: Meter,
    id: TransferId,
}

impl<R> MeteredRead<R> {
    pub fn new(inner: R, meter: Meter, id: TransferId) -> Self {
        MeteredRead { inner, meter, id }
    }
}

impl<R: std::io::Read> std::io::Read for MeteredRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Small steps keep a limited transfer smooth.
        let step = buf.len().min(64 * 1024);
        let n = self.inner.read(&mut buf[..step])?;
        if n > 0 {
            self.meter.moved_and_throttle(self.id, n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn progress_counts_files_and_bytes_and_forgets_failed_bytes() {
        let meter = Meter::new();
        meter.begin_pass(2, 300);
        let a = meter.start(Direction::Upload, "Smith/IMG_1.jpg", 100);
        let b = meter.start(Direction::Download, "Smith/IMG_2.jpg", 200);
        assert_eq!(meter.moved(a, 40), Duration::ZERO);
        meter.moved(b, 150);
        let mid = meter.snapshot();
        assert_eq!(
            (mid.files_done, mid.bytes_done, mid.in_flight.len()),
            (0, 190, 2)
        );
        assert!(mid.bytes_per_second > 0.0 && mid.eta_seconds.is_some());
        meter.finish(a, true);
        meter.finish(b, false);
        let end = meter.snapshot();
        assert_eq!(
            (end.files_done, end.bytes_done, end.in_flight.len()),
            (1, 100, 0)
        );
        assert_eq!(
            (end.files_total, end.bytes_total),
            (1, 100),
            "a failed transfer leaves the plan until planned again"
        );
    }

    #[test]
    fn a_limit_paces_the_bytes() {
        // Drive the bucket with a synthetic clock: each step happens after the
        // previous step's wait, as a transfer thread that sleeps would.
        let mut bucket = Bucket {
            rate: 1_000_000,
            ..Bucket::default()
        };
        let start = Instant::now();
        let mut now = start;
        for _ in 0..200 {
            now += bucket.take(10_000, now);
        }
        // 2 MB at 1 MB/s with a quarter second of burst: 1.75 s, not less.
        let elapsed = now.duration_since(start).as_secs_f64();
        assert!((1.74..1.77).contains(&elapsed), "{elapsed}");
        let meter = Meter::new();
        meter.set_limits(1_000_000, 0);
        let down = meter.start(Direction::Download, "d.jpg", 10_000_000);
        assert_eq!(
            meter.moved(down, 10_000_000),
            Duration::ZERO,
            "downloads are unlimited"
        );
        assert!(meter.is_limited(Direction::Upload) && !meter.is_limited(Direction::Download));
    }

    #[test]
    fn metered_read_passes_bytes_through_and_counts_them() {
        let meter = Meter::new();
        meter.begin_pass(1, 200_000);
        let id = meter.start(Direction::Download, "x.jpg", 200_000);
        let mut out = Vec::new();
        MeteredRead::new(std::io::Cursor::new(vec![7u8; 200_000]), meter.clone(), id)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 200_000);
        assert_eq!(meter.snapshot().bytes_done, 200_000);
    }
}
