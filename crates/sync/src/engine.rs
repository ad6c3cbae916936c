//! The executor: observe both sides, plan, run the operations, record each
//! success in the merge base, repeat until a plan comes back empty.

use crate::model::*;
use crate::names::date_of;
use crate::planner::{plan, Op, PlanContext};
use crate::{LocalFs, Remote, SyncError};

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
}

impl<S: SyncedStore, C: Clock> Engine<S, C> {
    /// Fails only if the merge base cannot be read: an unreadable merge base
    /// must never be mistaken for "nothing was ever synced".
    pub fn new(config: EngineConfig, store: S, clock: C) -> Result<Self, SyncError> {
        let synced = store.load()?;
        Ok(Engine { config, store, clock, synced, deletions_approved: false })
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
    pub fn sync_once(&mut self, fs: &mut dyn LocalFs, remote: &mut dyn Remote) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let context = PlanContext { device_name: self.config.device_name.clone(), date: date_of(self.clock.now_unix()) };
        let mut failed_rounds = 0u32;
        for _ in 0..self.config.max_rounds {
            report.rounds += 1;
            let local = fs.snapshot()?;
            let remote_tree = remote.snapshot()?;
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
            let mut progressed = false;
            let mut retry_after_ms: Option<u64> = None;
            let mut transient = false;
            for op in plan.ops {
                let described = self.config.trace.then(|| format!("{op:?}"));
                let outcome = self.execute(op, &local, &remote_tree, fs, remote, &mut report);
                if let Some(described) = described {
                    report.log.push(format!("{described} -> {outcome:?}"));
                }
                match outcome {
                    Ok(()) => progressed = true,
                    Err(SyncError::Crashed) => return Err(SyncError::Crashed),
                    Err(SyncError::Unavailable(message)) => return Err(SyncError::Unavailable(message)),
                    Err(SyncError::Store(message)) => return Err(SyncError::Store(message)),
                    Err(SyncError::StorageFull(message)) => {
                        // One clear state, no retry storm: stop uploading until space appears.
                        report.storage_full = true;
                        let _ = message;
                    }
                    Err(SyncError::Transient { retry_after_ms: after, .. }) => {
                        report.retryable_failures += 1;
                        transient = true;
                        retry_after_ms = retry_after_ms.max(after);
                    }
                    Err(_) => report.retryable_failures += 1,
                }
            }
            if !progressed && report.storage_full {
                return Ok(report);
            }
            if transient {
                // Back off before the next round: no retry storm against a
                // struggling server, and Retry-After is respected.
                let wait = backoff(failed_rounds, retry_after_ms, report.rounds as u64 ^ self.clock.now_unix() as u64);
                failed_rounds += 1;
                self.clock.sleep(wait);
            } else {
                failed_rounds = 0;
            }
        }
        if report.deletions_awaiting_approval == 0 {
            self.deletions_approved = false;
        }
        Ok(report)
    }

    fn execute(
        &mut self,
        op: Op,
        local: &LocalTree,
        remote_tree: &RemoteTree,
        fs: &mut dyn LocalFs,
        remote: &mut dyn Remote,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        match op {
            Op::CreateRemoteDir { local: id, parent, name } => {
                let created = remote.create_dir(parent.as_ref(), &name)?;
                self.record(SyncedNode { local: id, remote: created.id, parent: created.parent, name: created.name, kind: Kind::Dir, hash: None })?;
            }
            Op::Upload { local: id, parent, name, hash, replaces } => {
                // Content the remote already holds (a copy, a file restored from the
                // trash, a version another device sent) is never sent again.
                let uploaded = match remote.upload_known(parent.as_ref(), &name, &hash, replaces.as_ref())? {
                    Some(node) => node,
                    None => {
                        let bytes = fs.read(id, &hash)?;
                        let node = remote.upload(parent.as_ref(), &name, &bytes, &hash, replaces.as_ref())?;
                        report.uploads += 1;
                        report.uploaded_bytes += bytes.len() as u64;
                        node
                    }
                };
                self.record(SyncedNode {
                    local: id,
                    remote: uploaded.id,
                    parent: uploaded.parent,
                    name: uploaded.name,
                    kind: Kind::File,
                    hash: Some(hash),
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
                self.record(SyncedNode { local: created, remote: id, parent: node.parent.clone(), name: node.name.clone(), kind: Kind::Dir, hash: None })?;
            }
            Op::Download { remote: id, parent, name, hash, replaces } => {
                let bytes = remote.download(&id, &hash)?;
                let written = match replaces {
                    Some((local_id, expected)) => fs.replace_file(local_id, &expected, &bytes, &hash)?,
                    None => fs.write_new_file(parent, &name, &bytes, &hash)?,
                };
                report.downloads += 1;
                report.downloaded_bytes += bytes.len() as u64;
                let node = &remote_tree.nodes[&id];
                self.record(SyncedNode { local: written, remote: id, parent: node.parent.clone(), name: node.name.clone(), kind: Kind::File, hash: Some(hash) })?;
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
        let _ = local;
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
