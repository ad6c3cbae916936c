//! The executor: observe both sides, plan, run the operations, record each
//! success in the merge base, repeat until a plan comes back empty.

use crate::guard::{DeletionLog, GuardCheck, DELETION_WINDOW_SECS};
use crate::model::*;
use crate::names::{date_of, portable};
use crate::planner::{plan, Op, PlanContext};
use crate::progress::Meter;
use crate::{BatchIo, LocalFs, Remote, SyncError, TransferDone, TransferJob};

/// What the engine remembers between runs: the merge base, and the
/// mass-deletion guard's window ([`crate::guard`]). Implementations persist
/// every change before returning ([`IndexStore`]: the index's `sync_base`
/// and `sync_deletions` tables; memory in the simulation).
pub trait SyncedStore {
    fn load(&self) -> Result<SyncedTree, SyncError>;
    fn put(&mut self, node: SyncedNode) -> Result<(), SyncError>;
    fn remove(&mut self, local: LocalId) -> Result<(), SyncError>;
    /// The guard's memory: recent deletions and its hold.
    fn deletion_log(&self) -> Result<DeletionLog, SyncError>;
    /// One deletion carried out at `at` (unix seconds); entries before
    /// `forget_before` may be dropped.
    fn note_deletion(&mut self, at: i64, forget_before: i64) -> Result<(), SyncError>;
    /// Hold deletions back since `since`, or (`None`) no longer.
    fn hold_deletions(&mut self, since: Option<i64>) -> Result<(), SyncError>;
    /// The user approved: forget the recent deletions and the hold.
    fn clear_deletion_log(&mut self) -> Result<(), SyncError>;
}

/// A wall clock, injected so the simulation controls time.
pub trait Clock {
    fn now_unix(&self) -> i64;
    /// Wait before retrying. The simulation's clock returns at once.
    fn sleep(&self, duration: std::time::Duration);
}

/// Exponential backoff with jitter, honouring the server's Retry-After:
/// 1 s, 2 s, 4 s … capped at 5 minutes, each ±25 %, never less than asked.
pub fn backoff(attempt: u32, retry_after_ms: Option<u64>, jitter_seed: u64) -> std::time::Duration {
    let base_ms = 1000u64.saturating_mul(1u64 << attempt.min(9)).min(300_000);
    // A cheap, deterministic spread in [0.75, 1.25): devices retrying together drift apart.
    let spread = 750 + (jitter_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) % 500;
    let with_jitter = base_ms * spread / 1000;
    std::time::Duration::from_millis(with_jitter.max(retry_after_ms.unwrap_or(0)))
}

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub device_name: String,
    /// Rounds of plan-and-execute in one `sync_once` before giving up for now.
    pub max_rounds: usize,
    /// Mass-deletion guard ([`crate::guard`]): hold deletions back for the
    /// user when more than this many would be carried out within
    /// `deletion_window_secs` (those already done plus those planned)…
    pub max_deletions: usize,
    /// …or more than this share of the synced files.
    pub max_deletion_ratio: f64,
    /// The guard's rolling window, in seconds.
    pub deletion_window_secs: i64,
    /// Keep a line per executed operation in the report (simulation replays).
    pub trace: bool,
}

impl EngineConfig {
    pub fn new(device_name: impl Into<String>) -> Self {
        EngineConfig {
            device_name: device_name.into(),
            max_rounds: 40,
            max_deletions: 50,
            max_deletion_ratio: 0.2,
            deletion_window_secs: DELETION_WINDOW_SECS,
            trace: false,
        }
    }
}

/// A file or folder the engine cannot sync, and why — listed once, not retried
/// every pass.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CannotSync {
    /// Path below the sync folder ('/'-separated); for a file only on the
    /// server, its path there.
    pub path: String,
    /// Why, and what the user can do about it.
    pub reason: String,
}

/// What a held file is keyed by: its id on the side where it failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum HeldKey {
    Local(LocalId),
    Remote(RemoteId),
}

#[derive(Debug, Clone)]
struct Held {
    /// Path and content when it failed: any change releases it at once.
    path: String,
    hash: Option<Hash>,
    reason: String,
    /// Refusals so far (the backoff doubles with each).
    attempts: u32,
    /// Unix seconds; until then it is left alone.
    retry_at: i64,
    /// Plan-again failures in a row (held after three).
    changed_meanwhile: u32,
}

/// Files held back after a failure that retrying at once cannot fix (the
/// server refused the name or size, the disk refused the write), each with its
/// own backoff: 1 minute, doubling up to 1 hour, and released at once when the
/// file changes (content, name or folder). The engine keeps it between runs;
/// a caller that builds an engine per pass hands it over with
/// [`Engine::with_held`] / [`Engine::take_held`].
#[derive(Debug, Clone, Default)]
pub struct HeldFiles {
    entries: std::collections::BTreeMap<HeldKey, Held>,
}

impl HeldFiles {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What `sync_once` achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub rounds: usize,
    pub converged: bool,
    pub uploads: usize,
    pub uploaded_bytes: u64,
    pub downloads: usize,
    pub downloaded_bytes: u64,
    pub moves: usize,
    pub deletions: usize,
    /// Edits on two sides kept as a conflicted copy.
    pub conflicts: usize,
    /// Files renamed because another one holds the same name for the
    /// remote (case, Unicode encoding, spelling, name in use) — both kept;
    /// not conflicts.
    pub collisions: usize,
    pub retryable_failures: usize,
    /// The files behind `retryable_failures` (each once, at most
    /// [`MAX_RETRY_LISTED`]) with the error that will be retried: "N to
    /// retry" names them.
    pub to_retry: Vec<CannotSync>,
    /// Deletions held back by the mass-deletion guard, waiting for the user.
    pub deletions_awaiting_approval: usize,
    /// With deletions held back: the deletions within the guard's window
    /// that tripped it (those carried out in it plus those held back).
    pub deletions_in_window: usize,
    /// An upload was refused because the storage is full.
    pub storage_full: bool,
    /// Folders (parent paths below the sync root, "" for the root) and how
    /// many files were stored remotely into each during this run.
    pub uploaded_folders: std::collections::BTreeMap<String, usize>,
    /// With `EngineConfig::trace`: each operation and its outcome.
    pub log: Vec<String>,
    /// Files and folders that cannot sync, each once with its reason (as of
    /// the last round).
    pub cannot_sync: Vec<CannotSync>,
    /// Files put back from a trash (the remote's, or this device's sync
    /// trash): neither uploads nor downloads.
    pub restores: usize,
    /// Bytes moved for them (not in `uploaded_bytes` / `downloaded_bytes`).
    pub restored_bytes: u64,
    /// Transfers of the running batch, counted when it ends.
    finished: Vec<(RemoteId, Finished)>,
}

/// A finished transfer, before it is counted (see `Engine::run_batch`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Finished {
    Upload { sent: u64 },
    Download { bytes: u64 },
}

impl SyncReport {
    /// Add a later run's work to this one (the latest run decides the state flags).
    pub fn merge(&mut self, later: SyncReport) {
        self.rounds += later.rounds;
        self.converged = later.converged;
        self.uploads += later.uploads;
        self.uploaded_bytes += later.uploaded_bytes;
        self.downloads += later.downloads;
        self.downloaded_bytes += later.downloaded_bytes;
        self.moves += later.moves;
        self.deletions += later.deletions;
        self.conflicts += later.conflicts;
        self.collisions += later.collisions;
        self.restores += later.restores;
        self.restored_bytes += later.restored_bytes;
        self.retryable_failures += later.retryable_failures;
        for file in later.to_retry {
            note_retry(&mut self.to_retry, file);
        }
        self.deletions_awaiting_approval = later.deletions_awaiting_approval;
        self.deletions_in_window = later.deletions_in_window;
        self.storage_full = later.storage_full;
        for (folder, files) in later.uploaded_folders {
            *self.uploaded_folders.entry(folder).or_default() += files;
        }
        self.log.extend(later.log);
        self.cannot_sync = later.cannot_sync;
    }
}

/// At most this many files are listed behind "N to retry" (memory stays
/// bounded when a whole library fails).
pub const MAX_RETRY_LISTED: usize = 1000;

/// List `file` among those to retry: once per path (the latest reason wins),
/// sorted by path, at most [`MAX_RETRY_LISTED`].
fn note_retry(list: &mut Vec<CannotSync>, file: CannotSync) {
    match list.binary_search_by(|f| f.path.cmp(&file.path)) {
        Ok(at) => list[at].reason = file.reason,
        Err(at) if list.len() < MAX_RETRY_LISTED => list.insert(at, file),
        Err(_) => {}
    }
}

/// The sync engine for one device and one remote.
pub struct Engine<S: SyncedStore, C: Clock> {
    pub config: EngineConfig,
    store: S,
    clock: C,
    synced: SyncedTree,
    /// The user confirmed the deletions the guard held back.
    deletions_approved: bool,
    /// The guard's window and hold, as persisted in `store`.
    deletions: DeletionLog,
    /// Where planned transfers are announced for progress display.
    meter: Option<Meter>,
    /// Names kept out of sync on both sides (see [`Engine::with_ignore`]).
    ignore: Option<Ignore>,
    /// Set from another thread to end the run at the next step.
    cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Files held back after failures, with their backoff.
    held: HeldFiles,
}

/// A name filter: `true` keeps a file or folder (and all below it) out of sync.
pub type Ignore = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl<S: SyncedStore, C: Clock> Engine<S, C> {
    /// Fails only if the merge base cannot be read: an unreadable merge base
    /// must never be mistaken for "nothing was ever synced".
    pub fn new(config: EngineConfig, store: S, clock: C) -> Result<Self, SyncError> {
        let synced = store.load()?;
        let deletions = store.deletion_log()?;
        Ok(Engine {
            config,
            store,
            clock,
            synced,
            deletions_approved: false,
            deletions,
            meter: None,
            ignore: None,
            cancel: None,
            held: HeldFiles::default(),
        })
    }

    /// Continue the per-file backoff of an earlier engine (one per pass).
    pub fn with_held(mut self, held: HeldFiles) -> Self {
        self.held = held;
        self
    }

    /// The per-file backoff, for the next engine.
    pub fn take_held(&mut self) -> HeldFiles {
        std::mem::take(&mut self.held)
    }

    /// Announce each round's planned transfers (files, bytes) to `meter`; the
    /// remote reports the bytes as they move.
    pub fn with_meter(mut self, meter: Meter) -> Self {
        self.meter = Some(meter);
        self
    }

    /// Keep names matching `ignore` out of sync on *both* sides: such a local
    /// file is not uploaded, such a remote file is not downloaded, and neither
    /// is ever deleted because the other side does not show it. A file that
    /// was synced and becomes ignored is forgotten, not deleted.
    pub fn with_ignore(mut self, ignore: Ignore) -> Self {
        self.ignore = Some(ignore);
        self
    }

    /// End `sync_once` early once `cancel` is set (the app quitting): no new
    /// round, operation or transfer starts, and backoff waits are cut short.
    /// What was done is recorded; the rest happens next run.
    pub fn with_cancel(mut self, cancel: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.cancel = Some(cancel);
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub fn synced(&self) -> &SyncedTree {
        &self.synced
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Let the next run carry out the deletions the guard held back. That
    /// run starts a new window: what the user approved is not counted again.
    pub fn approve_deletions(&mut self) {
        self.deletions_approved = true;
    }

    /// The guard's window and hold.
    pub fn deletion_log(&self) -> &DeletionLog {
        &self.deletions
    }

    /// Whether the merge base holds `local` as a file. Deletions are counted
    /// in files (photos), for the guard and in every message: the folders
    /// that go with them are not counted ("Holding back 6 deletions" and
    /// then "6 deleted" for a folder of six photos, not 7).
    fn is_synced_file(&self, local: LocalId) -> bool {
        self.synced
            .by_local(local)
            .is_none_or(|node| node.kind == Kind::File)
    }

    fn deletes_a_file(&self, op: &Op) -> bool {
        match op {
            Op::TrashRemote { local, .. } | Op::TrashLocal { local, .. } => {
                self.is_synced_file(*local)
            }
            _ => false,
        }
    }

    /// A deletion was carried out: counted in the guard's window (unless
    /// the user approved this run's deletions).
    fn note_deletion(&mut self) -> Result<(), SyncError> {
        if self.deletions_approved {
            return Ok(());
        }
        let now = self.clock.now_unix();
        let forget_before = now.saturating_sub(self.config.deletion_window_secs);
        self.store.note_deletion(now, forget_before)?;
        self.deletions.note(now, forget_before);
        Ok(())
    }

    /// The mass-deletion guard for one round's plan: hold its deletions back
    /// (dropping them from the plan) when too many fall within the window.
    fn guard_deletions(
        &mut self,
        plan: &mut crate::planner::Plan,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        // As of this round.
        report.deletions_awaiting_approval = 0;
        report.deletions_in_window = 0;
        let planned = plan.ops.iter().filter(|op| self.deletes_a_file(op)).count();
        if planned == 0 {
            // Nothing left to delete (the files came back): no hold.
            if self.deletions.holding() {
                self.store.hold_deletions(None)?;
                self.deletions.holding_since = None;
            }
            return Ok(());
        }
        if self.deletions_approved {
            return Ok(());
        }
        let now = self.clock.now_unix();
        let check = GuardCheck {
            planned,
            recent: self
                .deletions
                .count_since(now.saturating_sub(self.config.deletion_window_secs)),
            synced_files: self.synced.iter().filter(|s| s.kind == Kind::File).count(),
            holding: self.deletions.holding(),
        };
        if !check.must_hold(self.config.max_deletions, self.config.max_deletion_ratio) {
            return Ok(());
        }
        if !self.deletions.holding() {
            self.store.hold_deletions(Some(now))?;
            self.deletions.holding_since = Some(now);
        }
        report.deletions_awaiting_approval = planned;
        report.deletions_in_window = check.in_window();
        plan.ops.retain(|op| !op.is_deletion());
        Ok(())
    }

    fn record(&mut self, node: SyncedNode) -> Result<(), SyncError> {
        self.store.put(node.clone())?;
        self.synced.insert(node);
        Ok(())
    }

    fn forget(&mut self, local: LocalId) -> Result<(), SyncError> {
        self.store.remove(local)?;
        self.synced.remove_local(local);
        Ok(())
    }

    /// Plan and execute until both sides agree (or `max_rounds`). Returns an
    /// error only for what stops the whole run (a crash in the simulation,
    /// an unreachable remote); failures of single operations are counted
    /// and the next round plans around them.
    ///
    /// Within a round, uploads and downloads are handed to the remote as
    /// batches ([`Remote::transfer_batch`]) that it may run concurrently; the
    /// operations between them run in plan order.
    pub fn sync_once(
        &mut self,
        fs: &mut dyn LocalFs,
        remote: &mut dyn Remote,
    ) -> Result<SyncReport, SyncError> {
        if self.deletions_approved {
            // Approval starts a new window and lifts the hold.
            self.store.clear_deletion_log()?;
            self.deletions = DeletionLog::default();
        }
        let result = self.run_rounds(fs, remote);
        // An approval is for one run.
        self.deletions_approved = false;
        result
    }

    fn run_rounds(
        &mut self,
        fs: &mut dyn LocalFs,
        remote: &mut dyn Remote,
    ) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let base_context = PlanContext {
            device_name: self.config.device_name.clone(),
            date: date_of(self.clock.now_unix()),
            ..PlanContext::default()
        };
        let mut failed_rounds = 0u32;
        if let Some(meter) = &self.meter {
            meter.begin_pass(0, 0);
        }
        for _ in 0..self.config.max_rounds {
            if self.cancelled() {
                return Ok(report);
            }
            report.rounds += 1;
            let mut local = fs.snapshot()?;
            let mut remote_tree = remote.snapshot()?;
            if let Some(ignore) = &self.ignore {
                prune_local(&mut local, ignore.as_ref());
                prune_remote(&mut remote_tree, ignore.as_ref());
            }
            let context = self.hold_back(&local, &remote_tree, &base_context, &mut report);
            let mut plan = plan(&local, &remote_tree, &self.synced, &context);
            if plan.ops.is_empty() {
                self.guard_deletions(&mut plan, &mut report)?;
                report.converged = true;
                return Ok(report);
            }
            self.guard_deletions(&mut plan, &mut report)?;
            if plan.ops.is_empty() {
                return Ok(report);
            }
            if let Some(meter) = &self.meter {
                let (files, bytes) =
                    plan.ops
                        .iter()
                        .fold((0u64, 0u64), |(files, bytes), op| match op {
                            Op::Upload { local: id, .. } => {
                                (files + 1, bytes + local.get(id).map_or(0, |n| n.size))
                            }
                            Op::Download { remote: id, .. } => {
                                (files + 1, bytes + remote_tree.get(id).map_or(0, |n| n.size))
                            }
                            _ => (files, bytes),
                        });
                meter.add_planned(files, bytes);
            }
            let mut round = Round::default();
            let mut batch: Vec<Op> = Vec::new();
            for op in plan.ops {
                match op {
                    Op::Upload { .. } | Op::Download { .. } => batch.push(op),
                    // Independent of this round's transfers: new folders and links
                    // never share a name with a transfer (the planner claims names).
                    Op::CreateRemoteDir { .. } | Op::CreateLocalDir { .. } | Op::Record(_) => self
                        .run_one(
                            op,
                            &local,
                            &remote_tree,
                            fs,
                            remote,
                            &mut report,
                            &mut round,
                        )?,
                    _ => {
                        self.run_batch(
                            std::mem::take(&mut batch),
                            &local,
                            &remote_tree,
                            fs,
                            remote,
                            &mut report,
                            &mut round,
                        )?;
                        self.run_one(
                            op,
                            &local,
                            &remote_tree,
                            fs,
                            remote,
                            &mut report,
                            &mut round,
                        )?;
                    }
                }
            }
            self.run_batch(
                batch,
                &local,
                &remote_tree,
                fs,
                remote,
                &mut report,
                &mut round,
            )?;
            if !round.progressed && report.storage_full {
                return Ok(report);
            }
            if round.transient {
                // Back off before the next round: no retry storm against a
                // struggling server, and Retry-After is respected.
                let wait = backoff(
                    failed_rounds,
                    round.retry_after_ms,
                    report.rounds as u64 ^ self.clock.now_unix() as u64,
                );
                failed_rounds += 1;
                if self.cancel.is_none() {
                    self.clock.sleep(wait);
                } else {
                    // In short steps, so that a cancel is not kept waiting.
                    let step = std::time::Duration::from_millis(250);
                    let mut left = wait;
                    while !left.is_zero() && !self.cancelled() {
                        self.clock.sleep(left.min(step));
                        left = left.saturating_sub(step);
                    }
                }
            } else {
                failed_rounds = 0;
            }
        }
        Ok(report)
    }

    /// This round's held-back nodes: names some device cannot hold (checked
    /// every round, no backoff needed: it costs nothing) and files backing off
    /// after a failure. Lists each once in `report.cannot_sync`.
    fn hold_back(
        &mut self,
        local: &LocalTree,
        remote_tree: &RemoteTree,
        base: &PlanContext,
        report: &mut SyncReport,
    ) -> PlanContext {
        let mut context = base.clone();
        let mut cannot = std::collections::BTreeMap::new();
        for node in local.nodes.values() {
            if let Err(why) = portable(&node.name) {
                context.held_local.insert(node.id);
                let path = local.path(node.id).unwrap_or_else(|| node.name.clone());
                cannot.insert(path, format!("{why}"));
            }
        }
        for node in remote_tree.nodes.values() {
            if let Err(why) = portable(&node.name) {
                context.held_remote.insert(node.id.clone());
                let path = remote_tree
                    .path(&node.id)
                    .unwrap_or_else(|| node.name.clone());
                cannot.insert(
                    path,
                    format!("on the server only, not downloaded: {why} (rename it there)"),
                );
            }
        }
        let now = self.clock.now_unix();
        self.held.entries.retain(|key, held| {
            let current = match key {
                HeldKey::Local(id) => local
                    .get(id)
                    .map(|n| (local.path(*id).unwrap_or_default(), n.hash.clone())),
                HeldKey::Remote(id) => remote_tree
                    .get(id)
                    .map(|n| (remote_tree.path(id).unwrap_or_default(), n.hash.clone())),
            };
            // Changed or gone: released at once, its history forgotten.
            current.is_some_and(|(path, hash)| path == held.path && hash == held.hash)
        });
        for (key, held) in &self.held.entries {
            if held.attempts == 0 || now >= held.retry_at {
                continue;
            }
            match key {
                HeldKey::Local(id) => context.held_local.insert(*id),
                HeldKey::Remote(id) => context.held_remote.insert(id.clone()),
            };
            cannot.entry(held.path.clone()).or_insert_with(|| {
                format!(
                    "{} (trying again in {} min, or as soon as it changes)",
                    held.reason,
                    (held.retry_at - now + 59) / 60
                )
            });
        }
        report.cannot_sync = cannot
            .into_iter()
            .map(|(path, reason)| CannotSync { path, reason })
            .collect();
        context
    }

    /// Remember how an operation on a file went, for its backoff: a success
    /// clears it; a refusal holds it at once; "changed meanwhile" three times
    /// in a row holds it too (something keeps getting in the way).
    fn note_outcome(&mut self, subject: Option<Subject>, outcome: &Result<(), SyncError>) {
        let Some(Subject { key, path, hash }) = subject else {
            return;
        };
        let reason = match outcome {
            Ok(()) => {
                self.held.entries.remove(&key);
                return;
            }
            Err(SyncError::Refused(message)) => format!("the server refused it: {message}"),
            Err(SyncError::Io(message)) => format!("this computer refused it: {message}"),
            Err(error @ (SyncError::Precondition(_) | SyncError::Corrupt(_))) => {
                let entry = self.held.entries.entry(key.clone()).or_insert(Held {
                    path: path.clone(),
                    hash: hash.clone(),
                    reason: String::new(),
                    attempts: 0,
                    retry_at: 0,
                    changed_meanwhile: 0,
                });
                entry.changed_meanwhile += 1;
                if entry.changed_meanwhile < 3 {
                    return;
                }
                format!("it failed three times in a row: {error}")
            }
            Err(_) => return,
        };
        let now = self.clock.now_unix();
        let entry = self.held.entries.entry(key).or_insert(Held {
            path: path.clone(),
            hash: hash.clone(),
            reason: String::new(),
            attempts: 0,
            retry_at: 0,
            changed_meanwhile: 0,
        });
        entry.path = path;
        entry.hash = hash;
        entry.reason = reason;
        entry.changed_meanwhile = 0;
        entry.retry_at = now + 60 * (1i64 << entry.attempts.min(6)).min(60);
        entry.attempts += 1;
    }

    /// Sort one operation's outcome: counted and planned around, or (for what
    /// stops the whole run) returned.
    fn absorb(
        &self,
        outcome: Result<(), SyncError>,
        path: Option<String>,
        round: &mut Round,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        if let (Ok(()), Some(path)) = (&outcome, &path) {
            // Done after all: no longer to retry.
            if let Ok(at) = report.to_retry.binary_search_by(|f| f.path.cmp(path)) {
                report.to_retry.remove(at);
            }
        }
        if let (Err(error), Some(path)) = (&outcome, path) {
            if !matches!(
                error,
                SyncError::Crashed
                    | SyncError::Unavailable(_)
                    | SyncError::Store(_)
                    | SyncError::StorageFull(_)
                    | SyncError::Refused(_)
            ) {
                note_retry(
                    &mut report.to_retry,
                    CannotSync {
                        path,
                        reason: error.to_string(),
                    },
                );
            }
        }
        match outcome {
            Ok(()) => round.progressed = true,
            Err(fatal @ (SyncError::Crashed | SyncError::Unavailable(_) | SyncError::Store(_))) => {
                return Err(fatal)
            }
            // One clear state, no retry storm: stop uploading until space appears.
            Err(SyncError::StorageFull(_)) => report.storage_full = true,
            // Listed as "can't sync" with its reason and backed off, not retried.
            Err(SyncError::Refused(_)) => {}
            Err(SyncError::Transient {
                retry_after_ms: after,
                ..
            }) => {
                report.retryable_failures += 1;
                round.transient = true;
                round.retry_after_ms = round.retry_after_ms.max(after);
            }
            Err(_) => report.retryable_failures += 1,
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn run_one(
        &mut self,
        op: Op,
        local: &LocalTree,
        remote_tree: &RemoteTree,
        fs: &mut dyn LocalFs,
        remote: &mut dyn Remote,
        report: &mut SyncReport,
        round: &mut Round,
    ) -> Result<(), SyncError> {
        if self.cancelled() {
            return Ok(());
        }
        let described = self.config.trace.then(|| format!("{op:?}"));
        let subject = subject_of(&op, local, remote_tree);
        let path = subject
            .as_ref()
            .map(|s| s.path.clone())
            .or_else(|| trashed_path(&op, local, remote_tree));
        let outcome = self.execute(op, remote_tree, fs, remote, report);
        self.note_outcome(subject, &outcome);
        if let Some(described) = described {
            report.log.push(format!("{described} -> {outcome:?}"));
        }
        self.absorb(outcome, path, round, report)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_batch(
        &mut self,
        ops: Vec<Op>,
        local: &LocalTree,
        remote_tree: &RemoteTree,
        fs: &mut dyn LocalFs,
        remote: &mut dyn Remote,
        report: &mut SyncReport,
        round: &mut Round,
    ) -> Result<(), SyncError> {
        if ops.is_empty() {
            return Ok(());
        }
        let jobs: Vec<TransferJob> = ops
            .iter()
            .map(|op| match op {
                Op::Upload {
                    local: id,
                    parent,
                    name,
                    hash,
                    replaces,
                } => TransferJob::Upload {
                    path: local.path(*id).unwrap_or_else(|| name.clone()),
                    parent: parent.clone(),
                    name: name.clone(),
                    hash: hash.clone(),
                    size: local.get(id).map_or(0, |n| n.size),
                    replaces: replaces.clone(),
                    // Out of what the API stores (before 1601, after 3000): sent as unknown.
                    modified: fs
                        .modified(*id)
                        .filter(|ms| photopro_wire::names::modified_at_in_range(*ms)),
                },
                Op::Download {
                    remote: id,
                    name,
                    hash,
                    ..
                } => TransferJob::Download {
                    path: remote_tree.path(id).unwrap_or_else(|| name.clone()),
                    id: id.clone(),
                    hash: hash.clone(),
                    size: remote_tree.get(id).map_or(0, |n| n.size),
                },
                other => unreachable!("only transfers are batched, not {other:?}"),
            })
            .collect();
        let subjects: Vec<_> = ops
            .iter()
            .map(|op| subject_of(op, local, remote_tree))
            .collect();
        let mut io = BatchExecutor {
            engine: self,
            ops: &ops,
            subjects,
            jobs: &jobs,
            remote_tree,
            fs,
            report,
            round,
        };
        let outcome = remote.transfer_batch(&jobs, &mut io);
        // Counted once the remote can say which were restores (it is busy
        // while the batch runs): a file back from a trash is a restore, not
        // an upload or a download.
        for (id, kind) in std::mem::take(&mut report.finished) {
            let restore = remote.is_restore(&id);
            match kind {
                Finished::Upload { sent } if restore => {
                    report.restores += 1;
                    report.uploaded_bytes -= sent;
                    report.restored_bytes += sent;
                }
                Finished::Upload { sent } if sent > 0 => report.uploads += 1,
                // Stored from content the remote already had: nothing moved.
                Finished::Upload { .. } => {}
                Finished::Download { bytes } if restore => {
                    report.restores += 1;
                    report.downloaded_bytes -= bytes;
                    report.restored_bytes += bytes;
                }
                Finished::Download { .. } => report.downloads += 1,
            }
        }
        outcome
    }

    fn execute(
        &mut self,
        op: Op,
        remote_tree: &RemoteTree,
        fs: &mut dyn LocalFs,
        remote: &mut dyn Remote,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        match op {
            Op::CreateRemoteDir {
                local: id,
                parent,
                name,
            } => {
                let created = remote.create_dir(parent.as_ref(), &name)?;
                self.record(SyncedNode {
                    local: id,
                    remote: created.id,
                    parent: created.parent,
                    name: created.name,
                    kind: Kind::Dir,
                    hash: None,
                })?;
            }
            Op::MoveRemote {
                remote: id,
                local: local_id,
                parent,
                name,
            } => {
                let moved = remote.move_node(&id, parent.as_ref(), &name)?;
                report.moves += 1;
                let base = self
                    .synced
                    .by_local(local_id)
                    .cloned()
                    .ok_or(SyncError::Precondition("pair vanished".into()))?;
                self.record(SyncedNode {
                    parent: moved.parent,
                    name: moved.name,
                    ..base
                })?;
            }
            Op::TrashRemote {
                remote: id,
                local: local_id,
                hash,
            } => {
                let file = self.is_synced_file(local_id);
                remote.trash(&id, hash.as_ref())?;
                self.forget(local_id)?;
                if file {
                    report.deletions += 1;
                    self.note_deletion()?;
                }
            }
            Op::CreateLocalDir {
                remote: id,
                parent,
                name,
            } => {
                let created = fs.create_dir(parent, &name)?;
                let node = &remote_tree.nodes[&id];
                self.record(SyncedNode {
                    local: created,
                    remote: id,
                    parent: node.parent.clone(),
                    name: node.name.clone(),
                    kind: Kind::Dir,
                    hash: None,
                })?;
            }
            Op::MoveLocal {
                local: id,
                remote: remote_id,
                parent,
                name,
            } => {
                fs.rename(id, parent, &name)?;
                report.moves += 1;
                // The merge base takes the remote's location; if the local name had
                // to differ, the next round sees a local rename and carries it over.
                let node = &remote_tree.nodes[&remote_id];
                let base = self
                    .synced
                    .by_local(id)
                    .cloned()
                    .ok_or(SyncError::Precondition("pair vanished".into()))?;
                self.record(SyncedNode {
                    parent: node.parent.clone(),
                    name: node.name.clone(),
                    ..base
                })?;
            }
            Op::TrashLocal {
                local: id,
                remote: _,
                hash,
            } => {
                let file = self.is_synced_file(id);
                fs.trash(id, hash.as_ref())?;
                self.forget(id)?;
                if file {
                    report.deletions += 1;
                    self.note_deletion()?;
                }
            }
            Op::Record(node) => self.record(node)?,
            Op::Forget { local: id } => self.forget(id)?,
            Op::Upload { .. } | Op::Download { .. } => unreachable!("transfers run in batches"),
            Op::RenameLocalAside {
                local: id,
                forget,
                parent,
                new_name,
                collision,
            } => {
                // Forget first: if we crash between the two steps, the next plan
                // sees two unsynced versions and renames one aside exactly once.
                if forget {
                    self.forget(id)?;
                }
                if collision {
                    report.collisions += 1;
                } else {
                    report.conflicts += 1;
                }
                fs.rename(id, parent, &new_name)?;
            }
            Op::RenameLocalTemporarily {
                local: id,
                parent,
                new_name,
            } => {
                // The merge base keeps the old location: the next round sees the
                // remote's rename and carries it out onto the name now free.
                fs.rename(id, parent, &new_name)?;
                report.moves += 1;
            }
        }
        Ok(())
    }

    /// Finish a transfer the remote completed: write what was downloaded and
    /// record the pair.
    fn complete_transfer(
        &mut self,
        op: &Op,
        done: TransferDone,
        remote_tree: &RemoteTree,
        fs: &mut dyn LocalFs,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        match (op, done) {
            (
                Op::Upload {
                    local: id, hash, ..
                },
                TransferDone::Uploaded { node, sent },
            ) => {
                report.uploaded_bytes += sent;
                report
                    .finished
                    .push((node.id.clone(), Finished::Upload { sent }));
                self.record(SyncedNode {
                    local: *id,
                    remote: node.id,
                    parent: node.parent,
                    name: node.name,
                    kind: Kind::File,
                    hash: Some(hash.clone()),
                })
            }
            (
                Op::Download {
                    remote: id,
                    parent,
                    name,
                    hash,
                    replaces,
                },
                TransferDone::Downloaded { bytes, modified },
            ) => {
                let written = match replaces {
                    Some((local_id, expected)) => {
                        fs.replace_file(*local_id, expected, &bytes, hash)?
                    }
                    None => fs.write_new_file(*parent, name, &bytes, hash)?,
                };
                if let Some(unix_ms) = modified {
                    // The photo keeps the time it was taken or edited, not the
                    // time it arrived. Failing to set it loses nothing.
                    let _ = fs.set_modified(written, unix_ms);
                }
                report.finished.push((
                    id.clone(),
                    Finished::Download {
                        bytes: bytes.len() as u64,
                    },
                ));
                report.downloaded_bytes += bytes.len() as u64;
                let node = &remote_tree.nodes[id];
                self.record(SyncedNode {
                    local: written,
                    remote: id.clone(),
                    parent: node.parent.clone(),
                    name: node.name.clone(),
                    kind: Kind::File,
                    hash: Some(hash.clone()),
                })
            }
            (op, done) => Err(SyncError::Io(format!(
                "transfer result {done:?} does not fit {op:?}"
            ))),
        }
    }
}

/// Drop ignored nodes and everything below them.
fn prune_local(tree: &mut LocalTree, ignore: &(dyn Fn(&str) -> bool + Send + Sync)) {
    let ignored: std::collections::HashSet<LocalId> = tree
        .nodes
        .values()
        .filter(|n| ignore(&n.name))
        .map(|n| n.id)
        .collect();
    if ignored.is_empty() {
        return;
    }
    let keep: std::collections::HashSet<LocalId> = tree
        .nodes
        .keys()
        .copied()
        .filter(|id| {
            let mut at = Some(*id);
            let mut guard = 0;
            while let Some(current) = at {
                if ignored.contains(&current) || guard > 10_000 {
                    return false;
                }
                at = tree.nodes.get(&current).and_then(|n| n.parent);
                guard += 1;
            }
            true
        })
        .collect();
    tree.nodes.retain(|id, _| keep.contains(id));
}

fn prune_remote(tree: &mut RemoteTree, ignore: &(dyn Fn(&str) -> bool + Send + Sync)) {
    let ignored: std::collections::HashSet<RemoteId> = tree
        .nodes
        .values()
        .filter(|n| ignore(&n.name))
        .map(|n| n.id.clone())
        .collect();
    if ignored.is_empty() {
        return;
    }
    let keep: std::collections::HashSet<RemoteId> = tree
        .nodes
        .keys()
        .filter(|id| {
            let mut at = Some((*id).clone());
            let mut guard = 0;
            while let Some(current) = at {
                if ignored.contains(&current) || guard > 10_000 {
                    return false;
                }
                at = tree.nodes.get(&current).and_then(|n| n.parent.clone());
                guard += 1;
            }
            true
        })
        .cloned()
        .collect();
    tree.nodes.retain(|id, _| keep.contains(id));
}

/// The file an operation is about, as the per-file backoff keys it.
struct Subject {
    key: HeldKey,
    path: String,
    hash: Option<Hash>,
}

fn subject_of(op: &Op, local: &LocalTree, remote_tree: &RemoteTree) -> Option<Subject> {
    let of_local = |id: LocalId| {
        local.get(&id).map(|n| Subject {
            key: HeldKey::Local(id),
            path: local.path(id).unwrap_or_default(),
            hash: n.hash.clone(),
        })
    };
    let of_remote = |id: &RemoteId| {
        remote_tree.get(id).map(|n| Subject {
            key: HeldKey::Remote(id.clone()),
            path: remote_tree.path(id).unwrap_or_default(),
            hash: n.hash.clone(),
        })
    };
    match op {
        Op::Upload { local: id, .. }
        | Op::MoveRemote { local: id, .. }
        | Op::CreateRemoteDir { local: id, .. }
        | Op::MoveLocal { local: id, .. }
        | Op::RenameLocalAside { local: id, .. }
        | Op::RenameLocalTemporarily { local: id, .. } => of_local(*id),
        Op::Download { remote: id, .. } | Op::CreateLocalDir { remote: id, .. } => of_remote(id),
        Op::TrashRemote { .. } | Op::TrashLocal { .. } | Op::Record(_) | Op::Forget { .. } => None,
    }
}

/// The path a trash operation is about (they are not held back, so they
/// have no [`Subject`]), for naming it among the files to retry.
fn trashed_path(op: &Op, local: &LocalTree, remote_tree: &RemoteTree) -> Option<String> {
    match op {
        Op::TrashRemote { remote: id, .. } => remote_tree.path(id),
        Op::TrashLocal { local: id, .. } => local.path(*id),
        _ => None,
    }
}

/// How a round went, for the decision to back off.
#[derive(Debug, Default)]
struct Round {
    progressed: bool,
    transient: bool,
    retry_after_ms: Option<u64>,
}

/// The engine's half of a transfer batch: reads upload bytes, and records
/// each finished transfer in the merge base the moment it is reported.
struct BatchExecutor<'a, S: SyncedStore, C: Clock> {
    engine: &'a mut Engine<S, C>,
    ops: &'a [Op],
    subjects: Vec<Option<Subject>>,
    jobs: &'a [TransferJob],
    remote_tree: &'a RemoteTree,
    fs: &'a mut dyn LocalFs,
    report: &'a mut SyncReport,
    round: &'a mut Round,
}

impl<S: SyncedStore, C: Clock> BatchIo for BatchExecutor<'_, S, C> {
    fn read(&mut self, job: usize) -> Result<Vec<u8>, SyncError> {
        match &self.ops[job] {
            Op::Upload {
                local: id, hash, ..
            } => self.fs.read(*id, hash),
            other => Err(SyncError::Io(format!("no bytes to read for {other:?}"))),
        }
    }

    fn done(
        &mut self,
        job: usize,
        outcome: Result<TransferDone, SyncError>,
    ) -> Result<(), SyncError> {
        let op = &self.ops[job];
        let outcome = outcome.and_then(|done| {
            self.engine
                .complete_transfer(op, done, self.remote_tree, self.fs, self.report)
        });
        if outcome.is_ok() {
            if let TransferJob::Upload { path, .. } = &self.jobs[job] {
                let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
                *self
                    .report
                    .uploaded_folders
                    .entry(folder.to_string())
                    .or_default() += 1;
            }
        }
        let subject = self.subjects[job].take();
        let path = subject.as_ref().map(|s| s.path.clone());
        self.engine.note_outcome(subject, &outcome);
        if self.engine.config.trace {
            self.report.log.push(format!("{op:?} -> {outcome:?}"));
        }
        self.engine.absorb(outcome, path, self.round, self.report)?;
        if self.engine.cancelled() {
            // Stop starting transfers; those running still report here.
            return Err(SyncError::Unavailable("sync is stopping".into()));
        }
        Ok(())
    }
}

/// The merge base in the library index (`sync_base`), one row per agreed node.
pub struct IndexStore<'a> {
    index: &'a mut photopro_index::Index,
    remote: photopro_index::RemoteKey,
}

impl<'a> IndexStore<'a> {
    pub fn new(index: &'a mut photopro_index::Index, remote: photopro_index::RemoteKey) -> Self {
        IndexStore { index, remote }
    }
}

impl SyncedStore for IndexStore<'_> {
    fn load(&self) -> Result<SyncedTree, SyncError> {
        let rows = self
            .index
            .sync_base(self.remote)
            .map_err(|e| SyncError::Store(e.to_string()))?;
        Ok(SyncedTree::from_nodes(rows.into_iter().map(|row| {
            SyncedNode {
                local: row.local_id,
                remote: row.remote_node,
                parent: row.remote_parent,
                name: row.name,
                kind: if row.is_dir { Kind::Dir } else { Kind::File },
                hash: row.hash,
            }
        })))
    }

    fn put(&mut self, node: SyncedNode) -> Result<(), SyncError> {
        let row = photopro_index::SyncBaseRow {
            local_id: node.local,
            remote_node: node.remote,
            remote_parent: node.parent,
            name: node.name,
            is_dir: node.kind == Kind::Dir,
            hash: node.hash,
        };
        self.index
            .put_sync_base(self.remote, &row)
            .map_err(|e| SyncError::Store(e.to_string()))
    }

    fn remove(&mut self, local: LocalId) -> Result<(), SyncError> {
        self.index
            .remove_sync_base(self.remote, local)
            .map_err(|e| SyncError::Store(e.to_string()))
    }

    fn deletion_log(&self) -> Result<DeletionLog, SyncError> {
        let kept = self
            .index
            .sync_deletions(self.remote)
            .map_err(|e| SyncError::Store(e.to_string()))?;
        Ok(DeletionLog {
            recent: kept.recent,
            holding_since: kept.held_since,
        })
    }

    fn note_deletion(&mut self, at: i64, forget_before: i64) -> Result<(), SyncError> {
        self.index
            .note_sync_deletion(self.remote, at, forget_before)
            .map_err(|e| SyncError::Store(e.to_string()))
    }

    fn hold_deletions(&mut self, since: Option<i64>) -> Result<(), SyncError> {
        self.index
            .set_sync_deletions_held(self.remote, since)
            .map_err(|e| SyncError::Store(e.to_string()))
    }

    fn clear_deletion_log(&mut self) -> Result<(), SyncError> {
        self.index
            .clear_sync_deletions(self.remote)
            .map_err(|e| SyncError::Store(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_is_capped_jittered_and_honours_retry_after() {
        for seed in 0..50 {
            let first = backoff(0, None, seed);
            assert!(
                first >= Duration::from_millis(750) && first < Duration::from_millis(1250),
                "{first:?}"
            );
            let later = backoff(4, None, seed);
            assert!(
                later >= Duration::from_millis(12_000) && later < Duration::from_millis(20_000)
            );
            assert!(backoff(30, None, seed) <= Duration::from_millis(375_000));
            assert!(backoff(0, Some(30_000), seed) >= Duration::from_secs(30));
        }
        assert_ne!(
            backoff(3, None, 1),
            backoff(3, None, 2),
            "jitter spreads devices apart"
        );
    }
}
