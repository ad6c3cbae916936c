//! The executor: observe both sides, plan, run the operations, record each
//! success in the merge base, repeat until a plan comes back empty.

use crate::model::*;
use crate::names::date_of;
use crate::planner::{plan, Op, PlanContext};
use crate::progress::Meter;
use crate::{BatchIo, LocalFs, Remote, SyncError, TransferDone, TransferJob};

/// What the engine remembers between runs: the merge base. Implementations
/// persist every change before returning ([`IndexStore`]: the index's
/// `sync_base` table; memory in the simulation).
pub trait SyncedStore {
    fn load(&self) -> Result<SyncedTree, SyncError>;
    fn put(&mut self, node: SyncedNode) -> Result<(), SyncError>;
    fn remove(&mut self, local: LocalId) -> Result<(), SyncError>;
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
    /// Mass-deletion guard: pause when a round would delete more than this many files…
    pub max_deletions: usize,
    /// …or more than this share of the synced files.
    pub max_deletion_ratio: f64,
    /// Keep a line per executed operation in the report (simulation replays).
    pub trace: bool,
}

impl EngineConfig {
    pub fn new(device_name: impl Into<String>) -> Self {
        EngineConfig { device_name: device_name.into(), max_rounds: 40, max_deletions: 50, max_deletion_ratio: 0.2, trace: false }
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
    pub conflicts: usize,
    pub retryable_failures: usize,
    /// Deletions held back by the mass-deletion guard, waiting for the user.
    pub deletions_awaiting_approval: usize,
    /// An upload was refused because the storage is full.
    pub storage_full: bool,
    /// Folders (parent paths below the sync root, "" for the root) and how
    /// many files were stored remotely into each during this run.
    pub uploaded_folders: std::collections::BTreeMap<String, usize>,
    /// With `EngineConfig::trace`: each operation and its outcome.
    pub log: Vec<String>,
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
        self.retryable_failures += later.retryable_failures;
        self.deletions_awaiting_approval = later.deletions_awaiting_approval;
        self.storage_full = later.storage_full;
        for (folder, files) in later.uploaded_folders {
            *self.uploaded_folders.entry(folder).or_default() += files;
        }
        self.log.extend(later.log);
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
    /// Where planned transfers are announced for progress display.
    meter: Option<Meter>,
    /// Names kept out of sync on both sides (see [`Engine::with_ignore`]).
    ignore: Option<Ignore>,
    /// Set from another thread to end the run at the next step.
    cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// A name filter: `true` keeps a file or folder (and all below it) out of sync.
pub type Ignore = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl<S: SyncedStore, C: Clock> Engine<S, C> {
    /// Fails only if the merge base cannot be read: an unreadable merge base
    /// must never be mistaken for "nothing was ever synced".
    pub fn new(config: EngineConfig, store: S, clock: C) -> Result<Self, SyncError> {
        let synced = store.load()?;
        Ok(Engine { config, store, clock, synced, deletions_approved: false, meter: None, ignore: None, cancel: None })
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
        self.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub fn synced(&self) -> &SyncedTree {
        &self.synced
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Let the next run carry out the deletions the guard held back.
    pub fn approve_deletions(&mut self) {
        self.deletions_approved = true;
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
    pub fn sync_once(&mut self, fs: &mut dyn LocalFs, remote: &mut dyn Remote) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let context = PlanContext { device_name: self.config.device_name.clone(), date: date_of(self.clock.now_unix()) };
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
            let mut plan = plan(&local, &remote_tree, &self.synced, &context);
            if plan.ops.is_empty() {
                report.converged = true;
                return Ok(report);
            }
            let deletions = plan.ops.iter().filter(|op| op.is_deletion()).count();
            let synced_files = self.synced.iter().filter(|s| s.kind == Kind::File).count().max(1);
            let too_many = deletions > self.config.max_deletions
                || (deletions > 5 && deletions as f64 / synced_files as f64 > self.config.max_deletion_ratio);
            if too_many && !self.deletions_approved {
                report.deletions_awaiting_approval = deletions;
                plan.ops.retain(|op| !op.is_deletion());
                if plan.ops.is_empty() {
                    return Ok(report);
                }
            }
            if let Some(meter) = &self.meter {
                let (files, bytes) = plan.ops.iter().fold((0u64, 0u64), |(files, bytes), op| match op {
                    Op::Upload { local: id, .. } => (files + 1, bytes + local.get(id).map_or(0, |n| n.size)),
                    Op::Download { remote: id, .. } => (files + 1, bytes + remote_tree.get(id).map_or(0, |n| n.size)),
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
                    Op::CreateRemoteDir { .. } | Op::CreateLocalDir { .. } | Op::Record(_) => {
                        self.run_one(op, &remote_tree, fs, remote, &mut report, &mut round)?
                    }
                    _ => {
                        self.run_batch(std::mem::take(&mut batch), &local, &remote_tree, fs, remote, &mut report, &mut round)?;
                        self.run_one(op, &remote_tree, fs, remote, &mut report, &mut round)?;
                    }
                }
            }
            self.run_batch(batch, &local, &remote_tree, fs, remote, &mut report, &mut round)?;
            if !round.progressed && report.storage_full {
                return Ok(report);
            }
            if round.transient {
                // Back off before the next round: no retry storm against a
                // struggling server, and Retry-After is respected.
                let wait = backoff(failed_rounds, round.retry_after_ms, report.rounds as u64 ^ self.clock.now_unix() as u64);
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
        if report.deletions_awaiting_approval == 0 {
            self.deletions_approved = false;
        }
        Ok(report)
    }

    /// Sort one operation's outcome: counted and planned around, or (for what
    /// stops the whole run) returned.
    fn absorb(&self, outcome: Result<(), SyncError>, round: &mut Round, report: &mut SyncReport) -> Result<(), SyncError> {
        match outcome {
            Ok(()) => round.progressed = true,
            Err(fatal @ (SyncError::Crashed | SyncError::Unavailable(_) | SyncError::Store(_))) => return Err(fatal),
            // One clear state, no retry storm: stop uploading until space appears.
            Err(SyncError::StorageFull(_)) => report.storage_full = true,
            Err(SyncError::Transient { retry_after_ms: after, .. }) => {
                report.retryable_failures += 1;
                round.transient = true;
                round.retry_after_ms = round.retry_after_ms.max(after);
            }
            Err(_) => report.retryable_failures += 1,
        }
        Ok(())
    }

    fn run_one(
        &mut self,
        op: Op,
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
        let outcome = self.execute(op, remote_tree, fs, remote, report);
        if let Some(described) = described {
            report.log.push(format!("{described} -> {outcome:?}"));
        }
        self.absorb(outcome, round, report)
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
                Op::Upload { local: id, parent, name, hash, replaces } => TransferJob::Upload {
                    path: local.path(*id).unwrap_or_else(|| name.clone()),
                    parent: parent.clone(),
                    name: name.clone(),
                    hash: hash.clone(),
                    size: local.get(id).map_or(0, |n| n.size),
                    replaces: replaces.clone(),
                    modified: fs.modified(*id),
                },
                Op::Download { remote: id, name, hash, .. } => TransferJob::Download {
                    path: remote_tree.path(id).unwrap_or_else(|| name.clone()),
                    id: id.clone(),
                    hash: hash.clone(),
                    size: remote_tree.get(id).map_or(0, |n| n.size),
                },
                other => unreachable!("only transfers are batched, not {other:?}"),
            })
            .collect();
        let mut io = BatchExecutor { engine: self, ops: &ops, jobs: &jobs, remote_tree, fs, report, round };
        remote.transfer_batch(&jobs, &mut io)
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
            Op::CreateRemoteDir { local: id, parent, name } => {
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
            Op::MoveRemote { remote: id, local: local_id, parent, name } => {
                let moved = remote.move_node(&id, parent.as_ref(), &name)?;
                report.moves += 1;
                let base = self.synced.by_local(local_id).cloned().ok_or(SyncError::Precondition("pair vanished".into()))?;
                self.record(SyncedNode { parent: moved.parent, name: moved.name, ..base })?;
            }
            Op::TrashRemote { remote: id, local: local_id, hash } => {
                remote.trash(&id, hash.as_ref())?;
                report.deletions += 1;
                self.forget(local_id)?;
            }
            Op::CreateLocalDir { remote: id, parent, name } => {
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
            Op::MoveLocal { local: id, remote: remote_id, parent, name } => {
                fs.rename(id, parent, &name)?;
                report.moves += 1;
                // The merge base takes the remote's location; if the local name had
                // to differ, the next round sees a local rename and carries it over.
                let node = &remote_tree.nodes[&remote_id];
                let base = self.synced.by_local(id).cloned().ok_or(SyncError::Precondition("pair vanished".into()))?;
                self.record(SyncedNode { parent: node.parent.clone(), name: node.name.clone(), ..base })?;
            }
            Op::TrashLocal { local: id, remote: _, hash } => {
                fs.trash(id, hash.as_ref())?;
                report.deletions += 1;
                self.forget(id)?;
            }
            Op::Record(node) => self.record(node)?,
            Op::Forget { local: id } => self.forget(id)?,
            Op::Upload { .. } | Op::Download { .. } => unreachable!("transfers run in batches"),
            Op::RenameLocalAside { local: id, forget, parent, new_name } => {
                // Forget first: if we crash between the two steps, the next plan
                // sees two unsynced versions and renames one aside exactly once.
                if forget {
                    self.forget(id)?;
                }
                report.conflicts += 1;
                fs.rename(id, parent, &new_name)?;
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
            (Op::Upload { local: id, hash, .. }, TransferDone::Uploaded { node, sent }) => {
                if sent > 0 {
                    report.uploads += 1;
                    report.uploaded_bytes += sent;
                }
                self.record(SyncedNode {
                    local: *id,
                    remote: node.id,
                    parent: node.parent,
                    name: node.name,
                    kind: Kind::File,
                    hash: Some(hash.clone()),
                })
            }
            (Op::Download { remote: id, parent, name, hash, replaces }, TransferDone::Downloaded { bytes, modified }) => {
                let written = match replaces {
                    Some((local_id, expected)) => fs.replace_file(*local_id, expected, &bytes, hash)?,
                    None => fs.write_new_file(*parent, name, &bytes, hash)?,
                };
                if let Some(unix_ms) = modified {
                    // The photo keeps the time it was taken or edited, not the
                    // time it arrived. Failing to set it loses nothing.
                    let _ = fs.set_modified(written, unix_ms);
                }
                report.downloads += 1;
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
            (op, done) => Err(SyncError::Io(format!("transfer result {done:?} does not fit {op:?}"))),
        }
    }
}

/// Drop ignored nodes and everything below them.
fn prune_local(tree: &mut LocalTree, ignore: &(dyn Fn(&str) -> bool + Send + Sync)) {
    let ignored: std::collections::HashSet<LocalId> = tree.nodes.values().filter(|n| ignore(&n.name)).map(|n| n.id).collect();
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
    let ignored: std::collections::HashSet<RemoteId> =
        tree.nodes.values().filter(|n| ignore(&n.name)).map(|n| n.id.clone()).collect();
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
    jobs: &'a [TransferJob],
    remote_tree: &'a RemoteTree,
    fs: &'a mut dyn LocalFs,
    report: &'a mut SyncReport,
    round: &'a mut Round,
}

impl<S: SyncedStore, C: Clock> BatchIo for BatchExecutor<'_, S, C> {
    fn read(&mut self, job: usize) -> Result<Vec<u8>, SyncError> {
        match &self.ops[job] {
            Op::Upload { local: id, hash, .. } => self.fs.read(*id, hash),
            other => Err(SyncError::Io(format!("no bytes to read for {other:?}"))),
        }
    }

    fn done(&mut self, job: usize, outcome: Result<TransferDone, SyncError>) -> Result<(), SyncError> {
        let op = &self.ops[job];
        let outcome = outcome.and_then(|done| self.engine.complete_transfer(op, done, self.remote_tree, self.fs, self.report));
        if outcome.is_ok() {
            if let TransferJob::Upload { path, .. } = &self.jobs[job] {
                let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
                *self.report.uploaded_folders.entry(folder.to_string()).or_default() += 1;
            }
        }
        if self.engine.config.trace {
            self.report.log.push(format!("{op:?} -> {outcome:?}"));
        }
        self.engine.absorb(outcome, self.round, self.report)?;
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
        let rows = self.index.sync_base(self.remote).map_err(|e| SyncError::Store(e.to_string()))?;
        Ok(SyncedTree::from_nodes(rows.into_iter().map(|row| SyncedNode {
            local: row.local_id,
            remote: row.remote_node,
            parent: row.remote_parent,
            name: row.name,
            kind: if row.is_dir { Kind::Dir } else { Kind::File },
            hash: row.hash,
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
        self.index.put_sync_base(self.remote, &row).map_err(|e| SyncError::Store(e.to_string()))
    }

    fn remove(&mut self, local: LocalId) -> Result<(), SyncError> {
        self.index.remove_sync_base(self.remote, local).map_err(|e| SyncError::Store(e.to_string()))
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
            assert!(first >= Duration::from_millis(750) && first < Duration::from_millis(1250), "{first:?}");
            let later = backoff(4, None, seed);
            assert!(later >= Duration::from_millis(12_000) && later < Duration::from_millis(20_000));
            assert!(backoff(30, None, seed) <= Duration::from_millis(375_000));
            assert!(backoff(0, Some(30_000), seed) >= Duration::from_secs(30));
        }
        assert_ne!(backoff(3, None, 1), backoff(3, None, 2), "jitter spreads devices apart");
    }
}
