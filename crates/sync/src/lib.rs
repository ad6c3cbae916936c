//! The two-way sync engine of PhotoProOS Storage.
//!
//! For each remote it compares three trees — local, remote, and synced (the
//! merge base) — with a pure [`planner`], and an [`engine`] executes the plan,
//! recording every completed operation in the merge base so that a crash at
//! any instant resumes correctly: the next observation sees what was done.
//!
//! IO sits behind two small traits with written contracts, [`LocalFs`] and
//! [`Remote`]; [`memory`] implements both in memory (with fault injection) for
//! the deterministic simulation in `tests/simulation.rs`.
//!
//! Around the engine: [`service`] is the daemon the CLI and the app run,
//! [`supervisor`] decides for the app when it starts, restarts and stops (and
//! words its state), and [`account`] is the one client of the API's other
//! endpoints (pairing, usage, settings, the server's trash).
//!
//! ```
//! use photopro_sync::{engine::{Engine, EngineConfig}, memory::{MemFs, MemRemote, MemStore, FixedClock}};
//! let mut fs = MemFs::new();
//! fs.user_create_file(None, "IMG_0001.jpg", "bytes-1");
//! let mut remote = MemRemote::new();
//! let mut engine = Engine::new(EngineConfig::new("Studio Mac"), MemStore::default(), FixedClock(1_764_115_200)).unwrap();
//! let report = engine.sync_once(&mut fs, &mut remote).unwrap();
//! assert!(report.converged && report.uploads == 1);
//! ```

pub mod account;
pub mod conflicts;
pub mod control;
pub mod device;
pub mod disk;
pub mod engine;
pub mod guard;
pub mod http;
pub mod lock;
pub mod memory;
pub mod model;
pub mod names;
pub mod planner;
pub mod platform;
pub mod progress;
pub mod service;
pub mod supervisor;
pub mod watch;

use model::*;

/// Why an operation (or a whole run) failed, sorted by what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// Try again later (network, 5xx, 429). `retry_after_ms` when the server said.
    #[error("temporary failure: {message}")]
    Transient {
        message: String,
        retry_after_ms: Option<u64>,
    },
    /// The world changed since the snapshot (file edited, name taken, node moved):
    /// plan again.
    #[error("changed meanwhile: {0}")]
    Precondition(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The remote refused this operation for this file (a 400: its name, size
    /// or time is not acceptable). Retrying cannot help until the file changes.
    #[error("refused: {0}")]
    Refused(String),
    /// The hard cap: no retry until space appears.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The remote cannot be reached at all: stop this run.
    #[error("remote unavailable: {0}")]
    Unavailable(String),
    /// The content read does not match the hash expected.
    #[error("content does not match its hash: {0}")]
    Corrupt(String),
    #[error("local file system: {0}")]
    Io(String),
    /// The merge base could not be read or written: stop, never guess.
    #[error("sync state store: {0}")]
    Store(String),
    /// Simulation only: the process "died" here.
    #[error("crashed (simulated)")]
    Crashed,
}

impl SyncError {
    /// The reason alone, without the kind's prefix: for messages that already
    /// say what failed ("Cannot reach https://…: connection refused").
    pub fn reason(&self) -> &str {
        match self {
            SyncError::Transient { message, .. } => message,
            SyncError::Precondition(reason)
            | SyncError::NotFound(reason)
            | SyncError::Refused(reason)
            | SyncError::StorageFull(reason)
            | SyncError::Unavailable(reason)
            | SyncError::Corrupt(reason)
            | SyncError::Io(reason)
            | SyncError::Store(reason) => reason,
            SyncError::Crashed => "crashed (simulated)",
        }
    }
}

/// The local side: a sync folder.
///
/// Contract: ids are stable across renames and moves; every mutating method
/// checks its precondition and fails with [`SyncError::Precondition`] rather
/// than overwrite or delete something it was not told about.
pub trait LocalFs {
    /// Every file and directory below the sync root, with content hashes.
    fn snapshot(&mut self) -> Result<LocalTree, SyncError>;
    /// The bytes of a file, failing with `Precondition` unless they still hash to `hash`.
    fn read(&mut self, id: LocalId, hash: &Hash) -> Result<Vec<u8>, SyncError>;
    /// Create a directory; `Precondition` if the name is taken.
    fn create_dir(&mut self, parent: Option<LocalId>, name: &str) -> Result<LocalId, SyncError>;
    /// Write a new file atomically (temp file + rename); `Precondition` if the name is taken.
    fn write_new_file(
        &mut self,
        parent: Option<LocalId>,
        name: &str,
        bytes: &[u8],
        hash: &Hash,
    ) -> Result<LocalId, SyncError>;
    /// Atomically replace a file's content, only if it still hashes to `expected`.
    /// Returns the file's (possibly new) id.
    fn replace_file(
        &mut self,
        id: LocalId,
        expected: &Hash,
        bytes: &[u8],
        hash: &Hash,
    ) -> Result<LocalId, SyncError>;
    /// Rename/move; `Precondition` if the target name is taken.
    fn rename(&mut self, id: LocalId, parent: Option<LocalId>, name: &str)
        -> Result<(), SyncError>;
    /// Move to the recoverable trash: a file only if it still hashes to `hash`,
    /// a directory only if it is empty.
    fn trash(&mut self, id: LocalId, hash: Option<&Hash>) -> Result<(), SyncError>;
    /// A file's modification time (Unix ms), if this file system keeps one.
    fn modified(&mut self, _id: LocalId) -> Option<i64> {
        None
    }
    /// Give a file the modification time it had on the device it came from.
    fn set_modified(&mut self, _id: LocalId, _unix_ms: i64) -> Result<(), SyncError> {
        Ok(())
    }
}

/// The remote side (PhotoProOS Storage through the API, or memory).
///
/// Contract: ids are stable; names are compared with [`names::name_key`]
/// (case-insensitive, Unicode-normalized); deletions go to a restorable trash.
pub trait Remote {
    /// Every live node.
    fn snapshot(&mut self) -> Result<RemoteTree, SyncError>;
    fn create_dir(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
    ) -> Result<RemoteNode, SyncError>;
    /// Store `bytes` as a new file. With `replaces = (id, hash)`, the old version
    /// goes to the trash in the same step — only if it still has `hash`
    /// (`Precondition` otherwise, and nothing is stored).
    fn upload(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        bytes: &[u8],
        hash: &Hash,
        replaces: Option<&(RemoteId, Hash)>,
    ) -> Result<RemoteNode, SyncError>;
    /// Content-addressed shortcut: if the remote already stores content with this
    /// hash (live or in the trash), create the file from it without sending any
    /// bytes and return it; `Ok(None)` if it does not. Same preconditions as `upload`.
    fn upload_known(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        hash: &Hash,
        replaces: Option<&(RemoteId, Hash)>,
    ) -> Result<Option<RemoteNode>, SyncError>;
    /// Move/rename. Metadata only: no bytes move.
    fn move_node(
        &mut self,
        id: &RemoteId,
        parent: Option<&RemoteId>,
        name: &str,
    ) -> Result<RemoteNode, SyncError>;
    /// To the trash: a file only if it still has `hash`, a folder only if empty.
    fn trash(&mut self, id: &RemoteId, hash: Option<&Hash>) -> Result<(), SyncError>;
    /// A file's bytes, verified against `hash`.
    fn download(&mut self, id: &RemoteId, hash: &Hash) -> Result<Vec<u8>, SyncError>;

    /// Where this remote reports byte progress and takes bandwidth limits from.
    fn meter(&self) -> Option<&progress::Meter> {
        None
    }

    /// Whether the node `id` (just uploaded or about to be downloaded) came
    /// back from the remote's trash — a file restored on some device, or
    /// content this device put back from its sync trash — so the pass counts
    /// it as a restore, not as an upload or a download. Only for messages.
    fn is_restore(&self, _id: &RemoteId) -> bool {
        false
    }

    /// Run independent uploads and downloads, possibly several at once. The
    /// caller guarantees the jobs do not depend on each other (their parents
    /// exist, their names differ). Bytes to upload come from `io.read(i)` and
    /// every job's outcome goes to `io.done(i, …)`, both on the calling thread,
    /// in any order. When `done` returns an error, no further job starts;
    /// jobs already running still report, and that first error is returned.
    ///
    /// The default runs the jobs one after another through `upload_known`,
    /// `upload` and `download`.
    fn transfer_batch(
        &mut self,
        jobs: &[TransferJob],
        io: &mut dyn BatchIo,
    ) -> Result<(), SyncError> {
        transfer_in_order(self, jobs, io)
    }
}

/// A batch one job after another: the default of [`Remote::transfer_batch`].
pub fn transfer_in_order<R: Remote + ?Sized>(
    remote: &mut R,
    jobs: &[TransferJob],
    io: &mut dyn BatchIo,
) -> Result<(), SyncError> {
    for (i, job) in jobs.iter().enumerate() {
        let outcome = transfer_one(remote, job, || io.read(i));
        io.done(i, outcome)?;
    }
    Ok(())
}

/// One job of a batch through the plain methods: the content-addressed
/// shortcut first, then the bytes (from `read`) if the remote lacks them.
pub fn transfer_one<R: Remote + ?Sized>(
    remote: &mut R,
    job: &TransferJob,
    read: impl FnOnce() -> Result<Vec<u8>, SyncError>,
) -> Result<TransferDone, SyncError> {
    let meter = remote.meter().cloned();
    let transfer = meter
        .as_ref()
        .map(|m| m.start(job.direction(), job.path(), job.size()));
    let outcome = match job {
        TransferJob::Upload {
            parent,
            name,
            hash,
            replaces,
            ..
        } => match remote.upload_known(parent.as_ref(), name, hash, replaces.as_ref()) {
            Ok(Some(node)) => {
                // Nothing goes over the wire: not part of the pass's bytes.
                if let (Some(meter), Some(id)) = (&meter, transfer) {
                    meter.skipped(id, job.size());
                }
                Ok(TransferDone::Uploaded { node, sent: 0 })
            }
            Ok(None) => read().and_then(|bytes| {
                let node = remote.upload(parent.as_ref(), name, &bytes, hash, replaces.as_ref())?;
                Ok(TransferDone::Uploaded {
                    node,
                    sent: bytes.len() as u64,
                })
            }),
            Err(error) => Err(error),
        },
        TransferJob::Download { id, hash, .. } => {
            remote
                .download(id, hash)
                .map(|bytes| TransferDone::Downloaded {
                    bytes,
                    modified: None,
                })
        }
    };
    if let (Some(meter), Some(transfer)) = (&meter, transfer) {
        meter.finish(transfer, outcome.is_ok());
    }
    outcome
}

/// One transfer of a batch handed to [`Remote::transfer_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferJob {
    Upload {
        path: String,
        parent: Option<RemoteId>,
        name: String,
        hash: Hash,
        size: u64,
        replaces: Option<(RemoteId, Hash)>,
        /// The local file's modification time (Unix ms), kept with the remote copy.
        modified: Option<i64>,
    },
    Download {
        path: String,
        id: RemoteId,
        hash: Hash,
        size: u64,
    },
}

impl TransferJob {
    pub fn direction(&self) -> progress::Direction {
        match self {
            TransferJob::Upload { .. } => progress::Direction::Upload,
            TransferJob::Download { .. } => progress::Direction::Download,
        }
    }
    /// Where the file is, below the sync folder (for progress display).
    pub fn path(&self) -> &str {
        match self {
            TransferJob::Upload { path, .. } | TransferJob::Download { path, .. } => path,
        }
    }
    pub fn size(&self) -> u64 {
        match self {
            TransferJob::Upload { size, .. } | TransferJob::Download { size, .. } => *size,
        }
    }
    pub fn hash(&self) -> &Hash {
        match self {
            TransferJob::Upload { hash, .. } | TransferJob::Download { hash, .. } => hash,
        }
    }
}

/// What a finished transfer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferDone {
    /// Stored remotely; `sent` bytes went over the wire (0 when the remote
    /// already had the content).
    Uploaded { node: RemoteNode, sent: u64 },
    /// The verified bytes of a download.
    Downloaded {
        bytes: Vec<u8>,
        /// The file's modification time on the device that uploaded it (Unix ms).
        modified: Option<i64>,
    },
}

/// The engine's side of [`Remote::transfer_batch`].
pub trait BatchIo {
    /// The bytes of upload job `job`, verified against its hash.
    fn read(&mut self, job: usize) -> Result<Vec<u8>, SyncError>;
    /// Job `job` ended. An error returned here stops the batch.
    fn done(
        &mut self,
        job: usize,
        outcome: Result<TransferDone, SyncError>,
    ) -> Result<(), SyncError>;
}
