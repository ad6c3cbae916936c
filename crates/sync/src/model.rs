//! The three observed trees the planner compares: local, remote, and synced
//! (the merge base: the last state both sides agreed on).
//!
//! Nodes are identified by stable ids, never by path: a local node by its file
//! identity (inode / file id), a remote node by the id the remote gave it. A
//! rename or move changes a node's parent and name, not its id, which is what
//! makes a moved folder of 1,000 photos one metadata operation.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Stable identity of a local file or directory (inode on Unix).
pub type LocalId = u64;
/// Stable identity of a remote object or folder.
pub type RemoteId = String;
/// Content hash of a file (hex). Equal hashes mean equal bytes.
pub type Hash = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    File,
    Dir,
}

/// A node of the local tree. `parent: None` is the sync root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalNode {
    pub id: LocalId,
    pub parent: Option<LocalId>,
    pub name: String,
    pub kind: Kind,
    /// Files: the content hash, or `None` while the file is still changing
    /// (not yet stable; the planner leaves it alone). `None` for a directory.
    pub hash: Option<Hash>,
    pub size: u64,
}

/// A node of the remote tree. `parent: None` is the remote root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteNode {
    pub id: RemoteId,
    pub parent: Option<RemoteId>,
    pub name: String,
    pub kind: Kind,
    pub hash: Option<Hash>,
    pub size: u64,
}

/// The merge base for one node: what both sides agreed on last time.
/// Location is recorded in remote terms (parent remote id + name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedNode {
    pub local: LocalId,
    pub remote: RemoteId,
    pub parent: Option<RemoteId>,
    pub name: String,
    pub kind: Kind,
    pub hash: Option<Hash>,
}

/// A tree as a map from id to node, ordered so iteration (and therefore the
/// plan) is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree<Id: Ord, Node> {
    pub nodes: BTreeMap<Id, Node>,
}

pub type LocalTree = Tree<LocalId, LocalNode>;
pub type RemoteTree = Tree<RemoteId, RemoteNode>;

impl<Id: Ord + Clone, Node> Tree<Id, Node> {
    pub fn new() -> Self {
        Tree {
            nodes: BTreeMap::new(),
        }
    }
    pub fn get(&self, id: &Id) -> Option<&Node> {
        self.nodes.get(id)
    }
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl LocalTree {
    pub fn from_nodes(nodes: impl IntoIterator<Item = LocalNode>) -> Self {
        Tree {
            nodes: nodes.into_iter().map(|n| (n.id, n)).collect(),
        }
    }

    /// '/'-joined path of a node below the root.
    pub fn path(&self, id: LocalId) -> Option<String> {
        let mut parts = Vec::new();
        let mut at = Some(id);
        let mut guard = 0;
        while let Some(current) = at {
            let node = self.nodes.get(&current)?;
            parts.push(node.name.as_str());
            at = node.parent;
            guard += 1;
            if guard > 10_000 {
                return None;
            }
        }
        parts.reverse();
        Some(parts.join("/"))
    }
}

impl RemoteTree {
    pub fn from_nodes(nodes: impl IntoIterator<Item = RemoteNode>) -> Self {
        Tree {
            nodes: nodes.into_iter().map(|n| (n.id.clone(), n)).collect(),
        }
    }

    pub fn path(&self, id: &RemoteId) -> Option<String> {
        let mut parts = Vec::new();
        let mut at = Some(id.clone());
        let mut guard = 0;
        while let Some(current) = at {
            let node = self.nodes.get(&current)?;
            parts.push(node.name.clone());
            at = node.parent.clone();
            guard += 1;
            if guard > 10_000 {
                return None;
            }
        }
        parts.reverse();
        Some(parts.join("/"))
    }
}

/// The merge base, indexed both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncedTree {
    by_local: BTreeMap<LocalId, SyncedNode>,
    by_remote: BTreeMap<RemoteId, LocalId>,
}

impl SyncedTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_nodes(nodes: impl IntoIterator<Item = SyncedNode>) -> Self {
        let mut tree = Self::new();
        for node in nodes {
            tree.insert(node);
        }
        tree
    }

    /// Insert or replace, keeping the pairing one-to-one.
    pub fn insert(&mut self, node: SyncedNode) {
        if let Some(old) = self.by_local.remove(&node.local) {
            self.by_remote.remove(&old.remote);
        }
        if let Some(old_local) = self.by_remote.remove(&node.remote) {
            self.by_local.remove(&old_local);
        }
        self.by_remote.insert(node.remote.clone(), node.local);
        self.by_local.insert(node.local, node);
    }

    pub fn remove_local(&mut self, local: LocalId) -> Option<SyncedNode> {
        let node = self.by_local.remove(&local)?;
        self.by_remote.remove(&node.remote);
        Some(node)
    }

    pub fn by_local(&self, local: LocalId) -> Option<&SyncedNode> {
        self.by_local.get(&local)
    }

    pub fn by_remote(&self, remote: &RemoteId) -> Option<&SyncedNode> {
        self.by_remote
            .get(remote)
            .and_then(|l| self.by_local.get(l))
    }

    pub fn iter(&self) -> impl Iterator<Item = &SyncedNode> {
        self.by_local.values()
    }

    pub fn len(&self) -> usize {
        self.by_local.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_local.is_empty()
    }
}
