//! In-memory implementations of the engine's traits, for the deterministic
//! simulation and for examples: a local file system, a remote, a merge-base
//! store and a clock. Faults (crashes, transient errors, lost responses) are
//! injected from a seeded generator, so a run replays exactly.
//!
//! Content is a string; its hash is the string itself, which keeps the
//! simulation's "no version was lost" bookkeeping exact and cheap.

use crate::engine::{Clock, SyncedStore};
use crate::model::*;
use crate::names::name_key;
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
        Faults { rng: Rng::new(1), enabled: false, crash: 0.0, transient: 0.0, lost_response: 0.0, partial_upload: 0.0 }
    }

    pub fn seeded(seed: u64, crash: f64, transient: f64, lost_response: f64, partial_upload: f64) -> Faults {
        Faults { rng: Rng::new(seed), enabled: true, crash, transient, lost_response, partial_upload }
    }

    fn roll(&mut self) -> Fault {
        if !self.enabled {
            return Fault::None;
        }
        if self.rng.chance(self.crash) {
            return if self.rng.chance(0.5) { Fault::CrashBefore } else { Fault::CrashAfter };
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
            Fault::Transient => {
                Err(SyncError::Transient { message: "503 Service Unavailable (injected)".into(), retry_after_ms: Some(1000) })
            }
            Fault::CrashAfter => {
                effect()?;
                Err(SyncError::Crashed)
            }
            Fault::LostResponse => {
                effect()?;
                Err(SyncError::Transient { message: "response lost (injected)".into(), retry_after_ms: None })
            }
        }
    }
}

/// Something whose mutating calls run under injected faults.
trait Faulty: Sized {
    fn faults(&mut self) -> &mut Faults;

    /// Run `effect` on `self` under one rolled fault.
    fn with_faults<T>(&mut self, effect: impl FnOnce(&mut Self) -> Result<T, SyncError>) -> Result<T, SyncError> {
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
}

/// An in-memory sync folder. Ids are never reused, like inodes on a quiet disk.
#[derive(Debug, Clone)]
pub struct MemFs {
    next_id: LocalId,
    nodes: BTreeMap<LocalId, MemNode<LocalId>>,
    /// Contents moved to the (OS or app) trash, by the user or the engine.
    pub trash: Vec<String>,
    pub faults: Faults,
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs { next_id: 1, nodes: BTreeMap::new(), trash: Vec::new(), faults: Faults::none() }
    }

    fn name_taken(&self, parent: Option<LocalId>, name: &str, except: Option<LocalId>) -> bool {
        // Local file systems here are case-sensitive (Linux): exact names collide.
        self.nodes.iter().any(|(id, n)| Some(*id) != except && n.parent == parent && n.name == name)
    }

    fn insert(&mut self, parent: Option<LocalId>, name: &str, kind: Kind, content: Option<String>) -> LocalId {
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.insert(id, MemNode { parent, name: name.to_string(), kind, content });
        id
    }

    fn is_dir(&self, id: Option<LocalId>) -> bool {
        id.is_none_or(|id| self.nodes.get(&id).is_some_and(|n| n.kind == Kind::Dir))
    }

    // ---- what the user does (no faults) ----------------------------------

    pub fn user_create_file(&mut self, parent: Option<LocalId>, name: &str, content: &str) -> Option<LocalId> {
        (self.is_dir(parent) && !self.name_taken(parent, name, None))
            .then(|| self.insert(parent, name, Kind::File, Some(content.into())))
    }

    pub fn user_create_dir(&mut self, parent: Option<LocalId>, name: &str) -> Option<LocalId> {
        (self.is_dir(parent) && !self.name_taken(parent, name, None)).then(|| self.insert(parent, name, Kind::Dir, None))
    }

    /// Overwrite in place (same id), returning the content it replaced.
    pub fn user_modify(&mut self, id: LocalId, content: &str) -> Option<String> {
        let node = self.nodes.get_mut(&id).filter(|n| n.kind == Kind::File)?;
        node.content.replace(content.to_string())
    }

    pub fn user_rename(&mut self, id: LocalId, parent: Option<LocalId>, name: &str) -> bool {
        if !self.nodes.contains_key(&id) || !self.is_dir(parent) || self.name_taken(parent, name, Some(id)) {
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
        let children: Vec<LocalId> = self.nodes.iter().filter(|(_, n)| n.parent == Some(id)).map(|(c, _)| *c).collect();
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

    pub fn content(&self, id: LocalId) -> Option<&str> {
        self.nodes.get(&id).and_then(|n| n.content.as_deref())
    }

    /// Every live file's content.
    pub fn contents(&self) -> impl Iterator<Item = &str> {
        self.nodes.values().filter_map(|n| n.content.as_deref())
    }

    /// `path → content` (None for directories), the shape compared for convergence.
    pub fn listing(&self) -> BTreeMap<String, Option<String>> {
        let tree = LocalTree::from_nodes(self.nodes.iter().map(|(id, n)| LocalNode {
            id: *id,
            parent: n.parent,
            name: n.name.clone(),
            kind: n.kind,
            hash: n.content.clone(),
            size: 0,
        }));
        self.nodes.iter().map(|(id, n)| (tree.path(*id).unwrap(), n.content.clone())).collect()
    }
}

impl Faulty for MemFs {
    fn faults(&mut self) -> &mut Faults {
        &mut self.faults
    }
}

impl LocalFs for MemFs {
    fn snapshot(&mut self) -> Result<LocalTree, SyncError> {
        Ok(LocalTree::from_nodes(self.nodes.iter().map(|(id, n)| LocalNode {
            id: *id,
            parent: n.parent,
            name: n.name.clone(),
            kind: n.kind,
            hash: n.content.clone(),
            size: n.content.as_ref().map_or(0, |c| c.len() as u64),
        })))
    }

    fn read(&mut self, id: LocalId, hash: &Hash) -> Result<Vec<u8>, SyncError> {
        match self.nodes.get(&id).and_then(|n| n.content.as_ref()) {
            Some(content) if content == hash => Ok(content.as_bytes().to_vec()),
            Some(_) => Err(SyncError::Precondition("file changed since it was observed".into())),
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

    fn write_new_file(&mut self, parent: Option<LocalId>, name: &str, bytes: &[u8], _hash: &Hash) -> Result<LocalId, SyncError> {
        self.with_faults(|this| {
            if !this.is_dir(parent) || this.name_taken(parent, name, None) {
                return Err(SyncError::Precondition(format!("{name} is taken")));
            }
            Ok(this.insert(parent, name, Kind::File, Some(String::from_utf8_lossy(bytes).into_owned())))
        })
    }

    fn replace_file(&mut self, id: LocalId, expected: &Hash, bytes: &[u8], _hash: &Hash) -> Result<LocalId, SyncError> {
        self.with_faults(|this| {
            let node = this.nodes.get(&id).cloned().ok_or(SyncError::Precondition("file vanished".into()))?;
            if node.content.as_ref() != Some(expected) {
                return Err(SyncError::Precondition("file changed since it was observed".into()));
            }
            // Temp file + rename: the new content gets a new id, the old one is gone.
            this.nodes.remove(&id);
            Ok(this.insert(node.parent, &node.name, Kind::File, Some(String::from_utf8_lossy(bytes).into_owned())))
        })
    }

    fn rename(&mut self, id: LocalId, parent: Option<LocalId>, name: &str) -> Result<(), SyncError> {
        self.with_faults(|this| {
            if this.user_rename(id, parent, name) {
                Ok(())
            } else {
                Err(SyncError::Precondition(format!("cannot move to {name}")))
            }
        })
    }

    fn trash(&mut self, id: LocalId, hash: Option<&Hash>) -> Result<(), SyncError> {
        self.with_faults(|this| {
            let node = this.nodes.get(&id).ok_or(SyncError::Precondition("already gone".into()))?;
            if node.kind == Kind::Dir && this.nodes.values().any(|n| n.parent == Some(id)) {
                return Err(SyncError::Precondition("folder is not empty".into()));
            }
            if node.kind == Kind::File && node.content.as_ref() != hash {
                return Err(SyncError::Precondition("file changed since it was observed".into()));
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
        }
    }

    /// Use a real content hash (the one the local side computes).
    pub fn with_hasher(mut self, hasher: fn(&[u8]) -> Hash) -> Self {
        self.hasher = hasher;
        self
    }

    fn name_taken(&self, parent: Option<&RemoteId>, name: &str, except: Option<&RemoteId>) -> bool {
        let key = name_key(name);
        self.nodes.iter().any(|(id, n)| Some(id) != except && n.parent.as_ref() == parent && name_key(&n.name) == key)
    }

    fn is_dir(&self, id: Option<&RemoteId>) -> bool {
        id.is_none_or(|id| self.nodes.get(id).is_some_and(|n| n.kind == Kind::Dir))
    }

    fn used_bytes(&self) -> u64 {
        let size = |hash: &String| self.blobs.get(hash).map_or(0, |b| b.len() as u64);
        self.nodes.values().filter_map(|n| n.content.as_ref()).map(size).sum::<u64>() + self.trash.iter().map(size).sum::<u64>()
    }

    fn insert(&mut self, parent: Option<&RemoteId>, name: &str, kind: Kind, content: Option<String>) -> RemoteNode {
        let id = format!("r{:06}", self.next_id);
        self.next_id += 1;
        self.nodes.insert(id.clone(), MemNode { parent: parent.cloned(), name: name.into(), kind, content: content.clone() });
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
        let replaced = match replaces {
            Some((old, old_hash)) => {
                let current = self.nodes.get(old).ok_or(SyncError::Precondition("replaced version vanished".into()))?;
                if current.content.as_ref() != Some(old_hash) {
                    return Err(SyncError::Precondition("remote version changed meanwhile".into()));
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

    pub fn other_client_upload(&mut self, parent: Option<&RemoteId>, name: &str, content: &str) -> Option<RemoteId> {
        if !self.is_dir(parent) || self.name_taken(parent, name, None) {
            return None;
        }
        let hash = (self.hasher)(content.as_bytes());
        self.blobs.insert(hash.clone(), content.as_bytes().to_vec());
        Some(self.insert(parent, name, Kind::File, Some(hash)).id)
    }

    pub fn contents(&self) -> impl Iterator<Item = &str> {
        self.nodes.values().filter_map(|n| n.content.as_deref())
    }

    pub fn listing(&self) -> BTreeMap<String, Option<String>> {
        let tree = RemoteTree::from_nodes(self.nodes.keys().map(|id| self.node(id)));
        self.nodes.iter().map(|(id, n)| (tree.path(id).unwrap(), n.content.clone())).collect()
    }
}

impl Faulty for MemRemote {
    fn faults(&mut self) -> &mut Faults {
        &mut self.faults
    }
}

impl Remote for MemRemote {
    fn snapshot(&mut self) -> Result<RemoteTree, SyncError> {
        Ok(RemoteTree::from_nodes(self.nodes.keys().map(|id| self.node(id))))
    }

    fn create_dir(&mut self, parent: Option<&RemoteId>, name: &str) -> Result<RemoteNode, SyncError> {
        self.with_faults(|this| {
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
        let known = self.contents().any(|c| c == hash) || self.trash.iter().any(|c| c == hash);
        if !known {
            return Ok(None);
        }
        self.with_faults(|this| this.store(parent, name, hash.clone(), replaces)).map(Some)
    }

    /// With faults enabled, behaves like a concurrent remote: a seeded number
    /// of jobs is in flight at once (their bytes read when they start), and
    /// they finish in a seeded order. When the engine stops the batch, each job
    /// still in flight may or may not have reached the remote, unreported.
    fn transfer_batch(&mut self, jobs: &[TransferJob], io: &mut dyn BatchIo) -> Result<(), SyncError> {
        if !self.faults.enabled {
            return crate::transfer_in_order(self, jobs, io);
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
            let outcome = crate::transfer_one(self, &jobs[i], || bytes.ok_or(SyncError::Io("no bytes".into())));
            if let Err(stop) = io.done(i, outcome) {
                for (i, bytes) in std::mem::take(&mut in_flight) {
                    if self.faults.rng.chance(0.5) {
                        let _ = crate::transfer_one(self, &jobs[i], || bytes.ok_or(SyncError::Io("no bytes".into())));
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
        if self.faults.enabled && self.faults.rng.chance(self.faults.partial_upload) {
            self.partial_uploads += 1;
            return Err(SyncError::Transient { message: "connection reset mid-upload (injected)".into(), retry_after_ms: None });
        }
        self.with_faults(|this| {
            let content = (this.hasher)(bytes);
            if &content != hash {
                return Err(SyncError::Corrupt("uploaded bytes do not match the declared hash".into()));
            }
            this.blobs.entry(content.clone()).or_insert_with(|| bytes.to_vec());
            if let Some(limit) = this.limit_bytes {
                if this.used_bytes() + bytes.len() as u64 > limit {
                    return Err(SyncError::StorageFull(format!("{} bytes needed, limit {limit}", bytes.len())));
                }
            }
            let node = this.store(parent, name, content.clone(), replaces)?;
            *this.uploads.entry(content).or_default() += 1;
            this.uploaded_bytes += bytes.len() as u64;
            Ok(node)
        })
    }

    fn move_node(&mut self, id: &RemoteId, parent: Option<&RemoteId>, name: &str) -> Result<RemoteNode, SyncError> {
        self.with_faults(|this| {
            if !this.nodes.contains_key(id) || !this.is_dir(parent) || this.name_taken(parent, name, Some(id)) {
                return Err(SyncError::Precondition(format!("cannot move to {name}")));
            }
            let mut at = parent.cloned();
            while let Some(current) = at {
                if &current == id {
                    return Err(SyncError::Precondition("cannot move a folder into itself".into()));
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
            let node = this.nodes.get(id).ok_or(SyncError::Precondition("already gone".into()))?;
            if node.kind == Kind::Dir && this.nodes.values().any(|n| n.parent.as_ref() == Some(id)) {
                return Err(SyncError::Precondition("folder is not empty".into()));
            }
            if node.kind == Kind::File && node.content.as_ref() != hash {
                return Err(SyncError::Precondition("remote version changed meanwhile".into()));
            }
            let node = this.nodes.remove(id).unwrap();
            this.trash.extend(node.content);
            Ok(())
        })
    }

    fn download(&mut self, id: &RemoteId, hash: &Hash) -> Result<Vec<u8>, SyncError> {
        match self.nodes.get(id).and_then(|n| n.content.as_ref()) {
            Some(content) if content == hash => {
                self.blobs.get(hash).cloned().ok_or_else(|| SyncError::Corrupt("blob missing".into()))
            }
            Some(_) => Err(SyncError::Precondition("remote version changed meanwhile".into())),
            None => Err(SyncError::Precondition("remote file vanished".into())),
        }
    }
}

/// The merge base in memory (it "persists" across simulated crashes because
/// the simulation keeps the store and rebuilds the engine from it).
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    nodes: BTreeMap<LocalId, SyncedNode>,
}

impl SyncedStore for MemStore {
    fn load(&self) -> Result<SyncedTree, SyncError> {
        Ok(SyncedTree::from_nodes(self.nodes.values().cloned()))
    }
    fn put(&mut self, node: SyncedNode) -> Result<(), SyncError> {
        self.nodes.retain(|_, n| n.remote != node.remote || n.local == node.local);
        self.nodes.insert(node.local, node);
        Ok(())
    }
    fn remove(&mut self, local: LocalId) -> Result<(), SyncError> {
        self.nodes.remove(&local);
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
