//! In-memory implementations of the engine's traits, for the deterministic
//! simulation and for examples: a local file system, a remote, a merge-base
//! store and a clock. Faults (crashes, transient errors, lost responses) are
//! injected from a seeded generator, so a run replays exactly.
//!
//! Content is a string; its hash is the string itself, which keeps the
//! simulation's "no version was lost" bookkeeping exact and cheap.

use crate::engine::{Clock, SyncedStore};
use crate::guard::DeletionLog;
use crate::model::*;
use crate::names::{name_key, validate};
use crate::{BatchIo, LocalFs, Remote, SyncError, TransferJob};
use std::collections::{BTreeMap, HashMap};

/// A small deterministic generator (xorshift64*), for faults and scenarios.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// What can go wrong with a mutating call.
#[derive(Debug, Clone)]
pub struct Faults {
    rng: Rng,
    pub enabled: bool,
    /// The process dies before (half the time) or after the call takes effect.
    pub crash: f64,
    /// A 5xx or 429 before the call takes effect.
    pub transient: f64,
    /// The call takes effect but its response is lost (a timeout).
    pub lost_response: f64,
    /// An upload is cut off part-way (nothing is stored).
    pub partial_upload: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    CrashBefore,
    CrashAfter,
    Transient,
    LostResponse,
}

impl Faults {
    pub fn none() -> Faults {
        Faults {
            rng: Rng::new(1),
            enabled: false,
            crash: 0.0,
            transient: 0.0,
            lost_response: 0.0,
            partial_upload: 0.0,
        }
    }

    pub fn seeded(
        seed: u64,
        crash: f64,
        transient: f64,
        lost_response: f64,
        partial_upload: f64,
    ) -> Faults {
        Faults {
            rng: Rng::new(seed),
            enabled: true,
            crash,
            transient,
            lost_response,
            partial_upload,
        }
    }

    fn roll(&mut self) -> Fault {
        if !self.enabled {
            return Fault::None;
        }
        if self.rng.chance(self.crash) {
            return if self.rng.chance(0.5) {
                Fault::CrashBefore
            } else {
                Fault::CrashAfter
            };
        }
        if self.rng.chance(self.transient) {
            return Fault::Transient;
        }
        if self.rng.chance(self.lost_response) {
            return Fault::LostResponse;
        }
        Fault::None
    }

    /// Run `effect` under a rolled fault.
    fn apply<T>(&mut self, effect: impl FnOnce() -> Result<T, SyncError>) -> Result<T, SyncError> {
        match self.roll() {
            Fault::None => effect(),
            Fault::CrashBefore => Err(SyncError::Crashed),
            Fault::Transient => Err(SyncError::Transient {
                message: "503 Service Unavailable (injected)".into(),
                retry_after_ms: Some(1000),
            }),
            Fault::CrashAfter => {
                effect()?;
                Err(SyncError::Crashed)
            }
            Fault::LostResponse => {
                effect()?;
                Err(SyncError::Transient {
                    message: "response lost (injected)".into(),
                    retry_after_ms: None,
                })
            }
        }
    }
}

/// Something whose mutating calls run under injected faults.
trait Faulty: Sized {
    fn faults(&mut self) -> &mut Faults;

    /// Run `effect` on `self` under one rolled fault.
    fn with_faults<T>(
        &mut self,
        effect: impl FnOnce(&mut Self) -> Result<T, SyncError>,
    ) -> Result<T, SyncError> {
        let mut faults = std::mem::replace(self.faults(), Faults::none());
        let result = faults.apply(|| effect(self));
        *self.faults() = faults;
        result
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MemNode<P> {
    parent: Option<P>,
    name: String,
    kind: Kind,
    content: Option<String>,
    /// A writer still has the file open (local only): not yet stable.
    writing: bool,
    /// The file's modification time (Unix ms), if known.
    modified: Option<i64>,
}

/// An in-memory sync folder. Ids are never reused, like inodes on a quiet disk.
#[derive(Debug, Clone)]
pub struct MemFs {
    next_id: LocalId,
    nodes: BTreeMap<LocalId, MemNode<LocalId>>,
    /// Contents moved to the (OS or app) trash, by the user or the engine.
    pub trash: Vec<String>,
    pub faults: Faults,
    /// Contents the engine wrote while it was told the write failed (a
    /// crash after the call): it may not know this file holds them.
    pub unacknowledged: std::collections::HashSet<Hash>,
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs {
            next_id: 1,
            nodes: BTreeMap::new(),
            trash: Vec::new(),
            faults: Faults::none(),
            unacknowledged: Default::default(),
        }
    }

    /// Run a write of `content` under faults, noting it when it took effect
    /// but was reported as failed.
    fn write_with_faults(
        &mut self,
        content: String,
        effect: impl FnOnce(&mut Self) -> Result<LocalId, SyncError>,
    ) -> Result<LocalId, SyncError> {
        let mut written = false;
        let result = self.with_faults(|this| {
            let id = effect(this)?;
            written = true;
            Ok(id)
        });
        if written && result.is_err() {
            self.unacknowledged.insert(content);
        }
        result
    }

    fn name_taken(&self, parent: Option<LocalId>, name: &str, except: Option<LocalId>) -> bool {
        // Local file systems here are case-sensitive (Linux): exact names collide.
        self.nodes
            .iter()
            .any(|(id, n)| Some(*id) != except && n.parent == parent && n.name == name)
    }

    fn insert(
        &mut self,
        parent: Option<LocalId>,
        name: &str,
        kind: Kind,
        content: Option<String>,
    ) -> LocalId {
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.insert(
            id,
            MemNode {
                parent,
                name: name.to_string(),
                kind,
                content,
                writing: false,
                modified: None,
            },
        );
        id
    }

    fn is_dir(&self, id: Option<LocalId>) -> bool {
        id.is_none_or(|id| self.nodes.get(&id).is_some_and(|n| n.kind == Kind::Dir))
    }

    // ---- what the user does (no faults) ----------------------------------

    pub fn user_create_file(
        &mut self,
        parent: Option<LocalId>,
        name: &str,
        content: &str,
    ) -> Option<LocalId> {
        (self.is_dir(parent) && !self.name_taken(parent, name, None))
            .then(|| self.insert(parent, name, Kind::File, Some(content.into())))
    }

    pub fn user_create_dir(&mut self, parent: Option<LocalId>, name: &str) -> Option<LocalId> {
        (self.is_dir(parent) && !self.name_taken(parent, name, None))
            .then(|| self.insert(parent, name, Kind::Dir, None))
    }

    /// Set a file's modification time as a user's tool would (a scanner
    /// dating film to 1965, a camera with a wrong clock).
    pub fn user_set_modified(&mut self, id: LocalId, unix_ms: Option<i64>) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.modified = unix_ms;
        }
    }

    /// `path → modification time` of every file.
    pub fn modified_times(&self) -> BTreeMap<String, Option<i64>> {
        self.listing_of(|n| n.modified)
    }

    /// Overwrite in place (same id), returning the content it replaced.
    pub fn user_modify(&mut self, id: LocalId, content: &str) -> Option<String> {
        let node = self.nodes.get_mut(&id).filter(|n| n.kind == Kind::File)?;
        node.writing = false;
        node.content.replace(content.to_string())
    }

    /// A writer opens `id` (or a new file) and writes `partial`, then pauses
    /// with the file still open — longer than any settle time. Until
    /// [`MemFs::user_finish_writing`] the file is not stable: its snapshot
    /// has no hash, as the real file system reports a file its writer holds.
    /// Returns the file and the content it replaced (none for a new file).
    pub fn user_start_writing(
        &mut self,
        existing: Option<LocalId>,
        parent: Option<LocalId>,
        name: &str,
        partial: &str,
    ) -> Option<(LocalId, Option<String>)> {
        match existing {
            Some(id) => {
                let node = self.nodes.get_mut(&id).filter(|n| n.kind == Kind::File)?;
                node.writing = true;
                Some((id, node.content.replace(partial.to_string())))
            }
            None => {
                let id = self.user_create_file(parent, name, partial)?;
                self.nodes.get_mut(&id).unwrap().writing = true;
                Some((id, None))
            }
        }
    }

    /// The writer writes the rest and closes the file: it is `content` now.
    pub fn user_finish_writing(&mut self, id: LocalId, content: &str) -> bool {
        match self.nodes.get_mut(&id).filter(|n| n.writing) {
            Some(node) => {
                node.writing = false;
                node.content = Some(content.to_string());
                true
            }
            None => false,
        }
    }

    /// Files a writer still holds open.
    pub fn writing(&self) -> Vec<LocalId> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.writing)
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn user_rename(&mut self, id: LocalId, parent: Option<LocalId>, name: &str) -> bool {
        if !self.nodes.contains_key(&id)
            || !self.is_dir(parent)
            || self.name_taken(parent, name, Some(id))
        {
            return false;
        }
        let mut at = parent;
        while let Some(current) = at {
            if current == id {
                return false;
            }
            at = self.nodes[&current].parent;
        }
        let node = self.nodes.get_mut(&id).unwrap();
        node.parent = parent;
        node.name = name.to_string();
        true
    }

    /// Move file `id` over file `target`, whose version goes to the trash: how
    /// a conflict is resolved by keeping one version, or an export replaces
    /// a photo.
    pub fn user_move_over(&mut self, id: LocalId, target: LocalId) -> bool {
        let is_file = |n: Option<&MemNode<LocalId>>| n.is_some_and(|n| n.kind == Kind::File);
        if id == target || !is_file(self.nodes.get(&id)) || !is_file(self.nodes.get(&target)) {
            return false;
        }
        let replaced = self.nodes.remove(&target).unwrap();
        self.trash.extend(replaced.content);
        let node = self.nodes.get_mut(&id).unwrap();
        node.parent = replaced.parent;
        node.name = replaced.name;
        true
    }

    /// Delete to the trash (as Finder/Explorer do), subtree included.
    pub fn user_delete(&mut self, id: LocalId) {
        let children: Vec<LocalId> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.parent == Some(id))
            .map(|(c, _)| *c)
            .collect();
        for child in children {
            self.user_delete(child);
        }
        if let Some(node) = self.nodes.remove(&id) {
            self.trash.extend(node.content);
        }
    }

    pub fn ids(&self) -> Vec<(LocalId, Kind)> {
        self.nodes.iter().map(|(id, n)| (*id, n.kind)).collect()
    }

    pub fn name(&self, id: LocalId) -> Option<&str> {
        self.nodes.get(&id).map(|n| n.name.as_str())
    }

    /// The folder a node is in (`Some(None)`: the root), if it exists.
    pub fn parent(&self, id: LocalId) -> Option<Option<LocalId>> {
        self.nodes.get(&id).map(|n| n.parent)
    }

    pub fn content(&self, id: LocalId) -> Option<&str> {
        self.nodes.get(&id).and_then(|n| n.content.as_deref())
    }

    /// Every live file's content.
    pub fn contents(&self) -> impl Iterator<Item = &str> {
        self.nodes.values().filter_map(|n| n.content.as_deref())
    }

    /// `path → content` (None for directories), the shape compared for convergence.
    pub fn listing(&self) -> BTreeMap<String, Option<String>> {
        self.listing_of(|n| n.content.clone())
    }

    fn listing_of<T>(&self, what: impl Fn(&MemNode<LocalId>) -> T) -> BTreeMap<String, T> {
        let tree = LocalTree::from_nodes(self.nodes.iter().map(|(id, n)| LocalNode {
            id: *id,
            parent: n.parent,
            name: n.name.clone(),
            kind: n.kind,
            hash: n.content.clone(),
            size: 0,
        }));
        self.nodes
            .iter()
            .map(|(id, n)| (tree.path(*id).unwrap(), what(n)))
            .collect()
    }
}

impl Faulty for MemFs {
    fn faults(&mut self) -> &mut Faults {
        &mut self.faults
    }
}

impl LocalFs for MemFs {
    fn snapshot(&mut self) -> Result<LocalTree, SyncError> {
        Ok(LocalTree::from_nodes(self.nodes.iter().map(|(id, n)| {
            LocalNode {
                id: *id,
                parent: n.parent,
                name: n.name.clone(),
                kind: n.kind,
                hash: if n.writing { None } else { n.content.clone() },
                size: n.content.as_ref().map_or(0, |c| c.len() as u64),
            }
        })))
    }

    fn read(&mut self, id: LocalId, hash: &Hash) -> Result<Vec<u8>, SyncError> {
        if self.nodes.get(&id).is_some_and(|n| n.writing) {
            return Err(SyncError::Precondition(
                "the file is still being written".into(),
            ));
        }
        match self.nodes.get(&id).and_then(|n| n.content.as_ref()) {
            Some(content) if content == hash => Ok(content.as_bytes().to_vec()),
            Some(_) => Err(SyncError::Precondition(
                "file changed since it was observed".into(),
            )),
            None => Err(SyncError::Precondition("file vanished".into())),
        }
    }

    fn create_dir(&mut self, parent: Option<LocalId>, name: &str) -> Result<LocalId, SyncError> {
        self.with_faults(|this| {
            if !this.is_dir(parent) || this.name_taken(parent, name, None) {
                return Err(SyncError::Precondition(format!("{name} is taken")));
            }
            Ok(this.insert(parent, name, Kind::Dir, None))
        })
    }

    fn write_new_file(
        &mut self,
        parent: Option<LocalId>,
        name: &str,
        bytes: &[u8],
        _hash: &Hash,
    ) -> Result<LocalId, SyncError> {
        let content = String::from_utf8_lossy(bytes).into_owned();
        self.write_with_faults(content.clone(), |this| {
            if !this.is_dir(parent) || this.name_taken(parent, name, None) {
                return Err(SyncError::Precondition(format!("{name} is taken")));
            }
            Ok(this.insert(parent, name, Kind::File, Some(content)))
        })
    }

    fn replace_file(
        &mut self,
        id: LocalId,
        expected: &Hash,
        bytes: &[u8],
        _hash: &Hash,
    ) -> Result<LocalId, SyncError> {
        let content = String::from_utf8_lossy(bytes).into_owned();
        self.write_with_faults(content.clone(), |this| {
            let node = this
                .nodes
                .get(&id)
                .cloned()
                .ok_or(SyncError::Precondition("file vanished".into()))?;
            if node.content.as_ref() != Some(expected) || node.writing {
                return Err(SyncError::Precondition(
                    "file changed since it was observed".into(),
                ));
            }
            // Temp file + rename: the new content gets a new id, the old one is gone.
            this.nodes.remove(&id);
            Ok(this.insert(node.parent, &node.name, Kind::File, Some(content)))
        })
    }

    fn rename(
        &mut self,
        id: LocalId,
        parent: Option<LocalId>,
        name: &str,
    ) -> Result<(), SyncError> {
        self.with_faults(|this| {
            if this.user_rename(id, parent, name) {
                Ok(())
            } else {
                Err(SyncError::Precondition(format!("cannot move to {name}")))
            }
        })
    }

    fn modified(&mut self, id: LocalId) -> Option<i64> {
        self.nodes.get(&id).and_then(|n| n.modified)
    }

    fn set_modified(&mut self, id: LocalId, unix_ms: i64) -> Result<(), SyncError> {
        self.user_set_modified(id, Some(unix_ms));
        Ok(())
    }

    fn trash(&mut self, id: LocalId, hash: Option<&Hash>) -> Result<(), SyncError> {
        self.with_faults(|this| {
            let node = this
                .nodes
                .get(&id)
                .ok_or(SyncError::Precondition("already gone".into()))?;
            if node.kind == Kind::Dir && this.nodes.values().any(|n| n.parent == Some(id)) {
                return Err(SyncError::Precondition("folder is not empty".into()));
            }
            if node.kind == Kind::File && node.content.as_ref() != hash {
                return Err(SyncError::Precondition(
                    "file changed since it was observed".into(),
                ));
            }
            let node = this.nodes.remove(&id).unwrap();
            this.trash.extend(node.content);
            Ok(())
        })
    }
}

/// An in-memory remote with a trash, a storage cap and upload accounting.
/// Nodes hold content hashes; the bytes live once per hash in `blobs`. By
/// default the hash of some bytes is the bytes themselves read as text (the
/// simulation's convention); `with_hasher` plugs in a real content hash.
#[derive(Debug, Clone)]
pub struct MemRemote {
    next_id: u64,
    nodes: BTreeMap<RemoteId, MemNode<RemoteId>>,
    blobs: HashMap<Hash, Vec<u8>>,
    hasher: fn(&[u8]) -> Hash,
    pub trash: Vec<String>,
    pub faults: Faults,
    /// Hard cap in bytes over live + trashed content, if any.
    pub limit_bytes: Option<u64>,
    /// Completed uploads per content.
    pub uploads: HashMap<String, usize>,
    pub uploaded_bytes: u64,
    pub partial_uploads: usize,
    /// Nodes stored from content only the trash held (restores), as the
    /// real remote reports them.
    restores: std::collections::HashSet<RemoteId>,
    /// Contents whose upload or copy took effect while the client was told
    /// it failed (a crash after the call, a lost response): the client may
    /// not know the remote holds them.
    pub unacknowledged: std::collections::HashSet<Hash>,
    /// The device making the calls (what the API knows from its token):
    /// reservations belong to it.
    pub device: String,
    /// Open reservations, as the API keeps them: every upload holds its
    /// bytes under the cap before they are sent and until it completes, is
    /// cancelled, or its client's next start cancels it.
    reservations: Vec<MemReservation>,
    /// The books, kept as the API keeps them (counters moved by each
    /// operation, not recomputed): bytes of stored files, live or trashed,
    /// and bytes held by open reservations. [`MemRemote::check_books`]
    /// compares them with what is stored.
    used_bytes: u64,
    reserved_bytes: u64,
}

/// An open reservation: who holds it, for which content and place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MemReservation {
    device: String,
    hash: Hash,
    size: u64,
    /// Folder, name and replaced version, as the client asked.
    placement: String,
}

impl Default for MemRemote {
    fn default() -> Self {
        Self::new()
    }
}

impl MemRemote {
    pub fn new() -> MemRemote {
        MemRemote {
            next_id: 1,
            nodes: BTreeMap::new(),
            blobs: HashMap::new(),
            hasher: |bytes| String::from_utf8_lossy(bytes).into_owned(),
            trash: Vec::new(),
            faults: Faults::none(),
            limit_bytes: None,
            uploads: HashMap::new(),
            uploaded_bytes: 0,
            partial_uploads: 0,
            restores: Default::default(),
            unacknowledged: Default::default(),
            device: String::new(),
            reservations: Vec::new(),
            used_bytes: 0,
            reserved_bytes: 0,
        }
    }

    /// Use a real content hash (the one the local side computes).
    pub fn with_hasher(mut self, hasher: fn(&[u8]) -> Hash) -> Self {
        self.hasher = hasher;
        self
    }

    fn name_taken(&self, parent: Option<&RemoteId>, name: &str, except: Option<&RemoteId>) -> bool {
        let key = name_key(name);
        self.nodes.iter().any(|(id, n)| {
            Some(id) != except && n.parent.as_ref() == parent && name_key(&n.name) == key
        })
    }

    fn is_dir(&self, id: Option<&RemoteId>) -> bool {
        id.is_none_or(|id| self.nodes.get(id).is_some_and(|n| n.kind == Kind::Dir))
    }

    /// The API's name policy: refused (400) or stored in NFC.
    fn stored_name(name: &str) -> Result<String, SyncError> {
        validate(name).map_err(|why| SyncError::Refused(format!("bad_request: {name:?}: {why}")))
    }

    /// The bytes of every stored file, live or trashed, counted from the files.
    pub fn stored_bytes(&self) -> u64 {
        let size = |hash: &String| self.blobs.get(hash).map_or(0, |b| b.len() as u64);
        self.nodes
            .values()
            .filter_map(|n| n.content.as_ref())
            .map(size)
            .sum::<u64>()
            + self.trash.iter().map(size).sum::<u64>()
    }

    /// The books as the API reports them: (used, reserved) bytes.
    pub fn usage(&self) -> (u64, u64) {
        (self.used_bytes, self.reserved_bytes)
    }

    /// Open reservations (all devices).
    pub fn open_reservations(&self) -> usize {
        self.reservations.len()
    }

    /// The books agree with the store: used bytes are the stored files',
    /// reserved bytes the open reservations'.
    pub fn check_books(&self) -> Result<(), String> {
        let held: u64 = self.reservations.iter().map(|r| r.size).sum();
        if (self.used_bytes, self.reserved_bytes) != (self.stored_bytes(), held) {
            return Err(format!(
                "the books say {} used and {} reserved; the store holds {} in files and {held} in {} reservations",
                self.used_bytes,
                self.reserved_bytes,
                self.stored_bytes(),
                self.reservations.len()
            ));
        }
        Ok(())
    }

    /// What the sync service does at start (`settle_leftover_reservations`):
    /// this device's open reservations, left by a run that was killed or
    /// crashed, are cancelled (the fake has no multipart upload to resume).
    /// Returns how many.
    pub fn settle_leftover_reservations(&mut self) -> usize {
        let device = self.device.clone();
        let before = self.reservations.len();
        self.reservations.retain(|r| r.device != device);
        self.reserved_bytes = self.reservations.iter().map(|r| r.size).sum();
        before - self.reservations.len()
    }

    /// Whether `size` more bytes fit under the cap, counting what is reserved.
    fn fits(&self, size: u64) -> bool {
        self.limit_bytes
            .is_none_or(|limit| self.used_bytes + self.reserved_bytes + size <= limit)
    }

    fn storage_full(&self, size: u64) -> SyncError {
        SyncError::StorageFull(format!(
            "{size} bytes needed; {} used and {} reserved of {}",
            self.used_bytes,
            self.reserved_bytes,
            self.limit_bytes.unwrap_or(u64::MAX)
        ))
    }

    /// Hold `size` bytes for an upload of `hash` to `placement`, as
    /// `POST /v1/uploads` does — or reuse this device's open reservation for
    /// the same content and place, as the HTTP remote does after a failed
    /// attempt (one for another place is cancelled first).
    fn hold(&mut self, hash: &Hash, size: u64, placement: String) -> Result<(), SyncError> {
        let device = self.device.clone();
        let mine = |r: &MemReservation| r.device == device && &r.hash == hash;
        if self
            .reservations
            .iter()
            .any(|r| mine(r) && r.placement == placement)
        {
            return Ok(());
        }
        if let Some(at) = self.reservations.iter().position(mine) {
            let stale = self.reservations.remove(at);
            self.reserved_bytes -= stale.size;
        }
        if !self.fits(size) {
            return Err(self.storage_full(size));
        }
        self.reservations.push(MemReservation {
            device,
            hash: hash.clone(),
            size,
            placement,
        });
        self.reserved_bytes += size;
        Ok(())
    }

    /// The reservation for `hash` at `placement` ends: completed (its bytes
    /// move to used) or released (given back).
    fn settle_reservation(&mut self, hash: &Hash, placement: &str, completed: bool) {
        let device = self.device.clone();
        if let Some(at) = self
            .reservations
            .iter()
            .position(|r| r.device == device && &r.hash == hash && r.placement == placement)
        {
            let reservation = self.reservations.remove(at);
            self.reserved_bytes -= reservation.size;
            if completed {
                self.used_bytes += reservation.size;
            }
        }
    }

    fn insert(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        kind: Kind,
        content: Option<String>,
    ) -> RemoteNode {
        let id = format!("r{:06}", self.next_id);
        self.next_id += 1;
        self.nodes.insert(
            id.clone(),
            MemNode {
                parent: parent.cloned(),
                name: name.into(),
                kind,
                content: content.clone(),
                writing: false,
                modified: None,
            },
        );
        RemoteNode {
            id,
            parent: parent.cloned(),
            name: name.into(),
            kind,
            size: content.as_ref().map_or(0, |c| c.len() as u64),
            hash: content,
        }
    }

    fn node(&self, id: &RemoteId) -> RemoteNode {
        let n = &self.nodes[id];
        RemoteNode {
            id: id.clone(),
            parent: n.parent.clone(),
            name: n.name.clone(),
            kind: n.kind,
            hash: n.content.clone(),
            size: n.content.as_ref().map_or(0, |c| c.len() as u64),
        }
    }

    /// Store `content` as a new file, trashing `replaces` if it still has its hash.
    fn store(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        content: String,
        replaces: Option<&(RemoteId, Hash)>,
    ) -> Result<RemoteNode, SyncError> {
        if !self.is_dir(parent) {
            return Err(SyncError::Precondition("folder vanished".into()));
        }
        let name = &Self::stored_name(name)?;
        let replaced = match replaces {
            Some((old, old_hash)) => {
                let current = self
                    .nodes
                    .get(old)
                    .ok_or(SyncError::Precondition("replaced version vanished".into()))?;
                if current.content.as_ref() != Some(old_hash) {
                    return Err(SyncError::Precondition(
                        "remote version changed meanwhile".into(),
                    ));
                }
                Some(old.clone())
            }
            None => None,
        };
        if self.name_taken(parent, name, replaced.as_ref()) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        if let Some(old) = replaced {
            let node = self.nodes.remove(&old).unwrap();
            self.trash.extend(node.content);
        }
        Ok(self.insert(parent, name, Kind::File, Some(content)))
    }

    // ---- what another client does directly on the remote (no faults) ------

    pub fn other_client_upload(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        content: &str,
    ) -> Option<RemoteId> {
        let name = &Self::stored_name(name).ok()?;
        if !self.is_dir(parent) || self.name_taken(parent, name, None) {
            return None;
        }
        if !self.fits(content.len() as u64) {
            return None;
        }
        let hash = (self.hasher)(content.as_bytes());
        self.blobs.insert(hash.clone(), content.as_bytes().to_vec());
        self.used_bytes += content.len() as u64;
        Some(self.insert(parent, name, Kind::File, Some(hash)).id)
    }

    pub fn contents(&self) -> impl Iterator<Item = &str> {
        self.nodes.values().filter_map(|n| n.content.as_deref())
    }

    pub fn listing(&self) -> BTreeMap<String, Option<String>> {
        let tree = RemoteTree::from_nodes(self.nodes.keys().map(|id| self.node(id)));
        self.nodes
            .iter()
            .map(|(id, n)| (tree.path(id).unwrap(), n.content.clone()))
            .collect()
    }

    /// `path → modification time` of every file, as kept with each asset.
    pub fn modified_times(&self) -> BTreeMap<String, Option<i64>> {
        let tree = RemoteTree::from_nodes(self.nodes.keys().map(|id| self.node(id)));
        self.nodes
            .iter()
            .map(|(id, n)| (tree.path(id).unwrap(), n.modified))
            .collect()
    }

    /// One job of a batch, as the HTTP remote runs it: the modification time
    /// travels with the file (refused, as the API refuses it, outside 1601 to
    /// the year 3000), and comes back with a download.
    fn transfer(
        &mut self,
        job: &TransferJob,
        read: impl FnOnce() -> Result<Vec<u8>, SyncError>,
    ) -> Result<crate::TransferDone, SyncError> {
        if let TransferJob::Upload {
            modified: Some(ms), ..
        } = job
        {
            if !photopro_wire::names::modified_at_in_range(*ms) {
                return Err(SyncError::Refused(format!(
                    "bad_request: modified_at {ms} is outside 1601 to the year 3000"
                )));
            }
        }
        let outcome = crate::transfer_one(self, job, read);
        match (job, outcome) {
            (
                TransferJob::Upload { modified, .. },
                Ok(crate::TransferDone::Uploaded { node, sent }),
            ) => {
                if let Some(stored) = self.nodes.get_mut(&node.id) {
                    stored.modified = *modified;
                }
                Ok(crate::TransferDone::Uploaded { node, sent })
            }
            (
                TransferJob::Download { id, .. },
                Ok(crate::TransferDone::Downloaded { bytes, .. }),
            ) => Ok(crate::TransferDone::Downloaded {
                bytes,
                modified: self.nodes.get(id).and_then(|n| n.modified),
            }),
            (_, other) => other,
        }
    }
}

impl Faulty for MemRemote {
    fn faults(&mut self) -> &mut Faults {
        &mut self.faults
    }
}

impl Remote for MemRemote {
    fn snapshot(&mut self) -> Result<RemoteTree, SyncError> {
        Ok(RemoteTree::from_nodes(
            self.nodes.keys().map(|id| self.node(id)),
        ))
    }

    fn create_dir(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
    ) -> Result<RemoteNode, SyncError> {
        self.with_faults(|this| {
            let name = &Self::stored_name(name)?;
            if !this.is_dir(parent) || this.name_taken(parent, name, None) {
                return Err(SyncError::Precondition(format!("{name} is taken")));
            }
            Ok(this.insert(parent, name, Kind::Dir, None))
        })
    }

    fn upload_known(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        hash: &Hash,
        replaces: Option<&(RemoteId, Hash)>,
    ) -> Result<Option<RemoteNode>, SyncError> {
        let live = self.contents().any(|c| c == hash);
        let trashed = self.trash.iter().any(|c| c == hash);
        if !live && !trashed {
            return Ok(None);
        }
        // The API holds a copy's bytes like an upload's: it must fit.
        let size = self.blobs.get(hash).map_or(0, |b| b.len() as u64);
        let mut stored = false;
        let result = self.with_faults(|this| {
            if !this.fits(size) {
                return Err(this.storage_full(size));
            }
            let node = this.store(parent, name, hash.clone(), replaces)?;
            this.used_bytes += size;
            stored = true;
            Ok(node)
        });
        if stored && result.is_err() {
            self.unacknowledged.insert(hash.clone());
        }
        let node = result?;
        if !live {
            // Back from the trash: a restore.
            self.restores.insert(node.id.clone());
        }
        Ok(Some(node))
    }

    fn is_restore(&self, id: &RemoteId) -> bool {
        self.restores.contains(id)
    }

    /// With faults enabled, behaves like a concurrent remote: a seeded number
    /// of jobs is in flight at once (their bytes read when they start), and
    /// they finish in a seeded order. When the engine stops the batch, each job
    /// still in flight may or may not have reached the remote, unreported.
    fn transfer_batch(
        &mut self,
        jobs: &[TransferJob],
        io: &mut dyn BatchIo,
    ) -> Result<(), SyncError> {
        if !self.faults.enabled {
            for (i, job) in jobs.iter().enumerate() {
                let outcome = self.transfer(job, || io.read(i));
                io.done(i, outcome)?;
            }
            return Ok(());
        }
        let window = 1 + self.faults.rng.below(4);
        let mut next = 0;
        let mut in_flight: Vec<(usize, Option<Vec<u8>>)> = Vec::new();
        loop {
            while in_flight.len() < window && next < jobs.len() {
                let i = next;
                next += 1;
                match &jobs[i] {
                    TransferJob::Upload { .. } => match io.read(i) {
                        Ok(bytes) => in_flight.push((i, Some(bytes))),
                        Err(error) => io.done(i, Err(error))?,
                    },
                    TransferJob::Download { .. } => in_flight.push((i, None)),
                }
            }
            if in_flight.is_empty() {
                return Ok(());
            }
            let (i, bytes) = in_flight.swap_remove(self.faults.rng.below(in_flight.len()));
            let outcome = self.transfer(&jobs[i], || bytes.ok_or(SyncError::Io("no bytes".into())));
            if let Err(stop) = io.done(i, outcome) {
                for (i, bytes) in std::mem::take(&mut in_flight) {
                    if self.faults.rng.chance(0.5) {
                        let _ = self
                            .transfer(&jobs[i], || bytes.ok_or(SyncError::Io("no bytes".into())));
                    }
                }
                return Err(stop);
            }
        }
    }

    fn upload(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        bytes: &[u8],
        hash: &Hash,
        replaces: Option<&(RemoteId, Hash)>,
    ) -> Result<RemoteNode, SyncError> {
        // The reservation comes first, and outlives whatever cuts the
        // upload off after it: a reset connection, a 5xx, a crash of the
        // client (`CrashBefore`) leave it open, holding its bytes, until a
        // retry reuses it or the client's next start cancels it.
        let placement = format!("{parent:?}\u{0}{name}\u{0}{replaces:?}");
        self.hold(hash, bytes.len() as u64, placement.clone())?;
        if self.faults.enabled && self.faults.rng.chance(self.faults.partial_upload) {
            self.partial_uploads += 1;
            return Err(SyncError::Transient {
                message: "connection reset mid-upload (injected)".into(),
                retry_after_ms: None,
            });
        }
        let mut stored = false;
        let result = self.with_faults(|this| {
            let content = (this.hasher)(bytes);
            if &content != hash {
                // The API's verification fails: the reservation is released.
                this.settle_reservation(hash, &placement, false);
                return Err(SyncError::Corrupt(
                    "uploaded bytes do not match the declared hash".into(),
                ));
            }
            this.blobs
                .entry(content.clone())
                .or_insert_with(|| bytes.to_vec());
            // A refused completion (name taken, replaced version changed,
            // folder gone) releases the reservation, as the API does.
            let node = match this.store(parent, name, content.clone(), replaces) {
                Ok(node) => node,
                Err(error) => {
                    this.settle_reservation(hash, &placement, false);
                    return Err(error);
                }
            };
            this.settle_reservation(hash, &placement, true);
            *this.uploads.entry(content).or_default() += 1;
            this.uploaded_bytes += bytes.len() as u64;
            stored = true;
            Ok(node)
        });
        if stored && result.is_err() {
            self.unacknowledged.insert(hash.clone());
        }
        result
    }

    fn move_node(
        &mut self,
        id: &RemoteId,
        parent: Option<&RemoteId>,
        name: &str,
    ) -> Result<RemoteNode, SyncError> {
        self.with_faults(|this| {
            let name = &Self::stored_name(name)?;
            if !this.nodes.contains_key(id)
                || !this.is_dir(parent)
                || this.name_taken(parent, name, Some(id))
            {
                return Err(SyncError::Precondition(format!("cannot move to {name}")));
            }
            let mut at = parent.cloned();
            while let Some(current) = at {
                if &current == id {
                    return Err(SyncError::Precondition(
                        "cannot move a folder into itself".into(),
                    ));
                }
                at = this.nodes[&current].parent.clone();
            }
            let node = this.nodes.get_mut(id).unwrap();
            node.parent = parent.cloned();
            node.name = name.to_string();
            Ok(this.node(id))
        })
    }

    fn trash(&mut self, id: &RemoteId, hash: Option<&Hash>) -> Result<(), SyncError> {
        self.with_faults(|this| {
            let node = this
                .nodes
                .get(id)
                .ok_or(SyncError::Precondition("already gone".into()))?;
            if node.kind == Kind::Dir && this.nodes.values().any(|n| n.parent.as_ref() == Some(id))
            {
                return Err(SyncError::Precondition("folder is not empty".into()));
            }
            if node.kind == Kind::File && node.content.as_ref() != hash {
                return Err(SyncError::Precondition(
                    "remote version changed meanwhile".into(),
                ));
            }
            let node = this.nodes.remove(id).unwrap();
            this.trash.extend(node.content);
            Ok(())
        })
    }

    fn download(&mut self, id: &RemoteId, hash: &Hash) -> Result<Vec<u8>, SyncError> {
        match self.nodes.get(id).and_then(|n| n.content.as_ref()) {
            Some(content) if content == hash => self
                .blobs
                .get(hash)
                .cloned()
                .ok_or_else(|| SyncError::Corrupt("blob missing".into())),
            Some(_) => Err(SyncError::Precondition(
                "remote version changed meanwhile".into(),
            )),
            None => Err(SyncError::Precondition("remote file vanished".into())),
        }
    }
}

/// The merge base in memory (it "persists" across simulated crashes because
/// the simulation keeps the store and rebuilds the engine from it).
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    nodes: BTreeMap<LocalId, SyncedNode>,
    deletions: DeletionLog,
}

impl SyncedStore for MemStore {
    fn load(&self) -> Result<SyncedTree, SyncError> {
        Ok(SyncedTree::from_nodes(self.nodes.values().cloned()))
    }
    fn put(&mut self, node: SyncedNode) -> Result<(), SyncError> {
        self.nodes
            .retain(|_, n| n.remote != node.remote || n.local == node.local);
        self.nodes.insert(node.local, node);
        Ok(())
    }
    fn remove(&mut self, local: LocalId) -> Result<(), SyncError> {
        self.nodes.remove(&local);
        Ok(())
    }
    fn deletion_log(&self) -> Result<DeletionLog, SyncError> {
        Ok(self.deletions.clone())
    }
    fn note_deletion(&mut self, at: i64, forget_before: i64) -> Result<(), SyncError> {
        self.deletions.note(at, forget_before);
        Ok(())
    }
    fn hold_deletions(&mut self, since: Option<i64>) -> Result<(), SyncError> {
        self.deletions.holding_since = since;
        Ok(())
    }
    fn clear_deletion_log(&mut self) -> Result<(), SyncError> {
        self.deletions = DeletionLog::default();
        Ok(())
    }
}

impl SyncedStore for &mut MemStore {
    fn load(&self) -> Result<SyncedTree, SyncError> {
        (**self).load()
    }
    fn put(&mut self, node: SyncedNode) -> Result<(), SyncError> {
        (**self).put(node)
    }
    fn remove(&mut self, local: LocalId) -> Result<(), SyncError> {
        (**self).remove(local)
    }
    fn deletion_log(&self) -> Result<DeletionLog, SyncError> {
        (**self).deletion_log()
    }
    fn note_deletion(&mut self, at: i64, forget_before: i64) -> Result<(), SyncError> {
        (**self).note_deletion(at, forget_before)
    }
    fn hold_deletions(&mut self, since: Option<i64>) -> Result<(), SyncError> {
        (**self).hold_deletions(since)
    }
    fn clear_deletion_log(&mut self) -> Result<(), SyncError> {
        (**self).clear_deletion_log()
    }
}

/// A clock that says what it is told.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
    /// Simulated time: waiting costs nothing.
    fn sleep(&self, _duration: std::time::Duration) {}
}
