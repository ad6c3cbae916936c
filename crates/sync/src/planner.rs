//! The pure planner: from the local, remote and synced trees to the next
//! operations. No IO, no clock, no randomness — the same inputs always give
//! the same plan, which is what lets the simulation replay a seed exactly.
//!
//! The planner only emits operations whose prerequisites already hold (a file
//! is uploaded once its folder exists remotely). The engine executes a plan,
//! observes both sides again and plans again, until a plan is empty. Every
//! operation therefore only has to be safe to interrupt: whatever it left
//! behind, the next observation sees and the next plan accounts for (an upload
//! whose response was lost shows up as an identical unsynced remote file and
//! is linked, not uploaded again).

use crate::model::*;
use crate::names::{
    collision_name, conflicted_copy_name, fit_name, name_key, nfc, split_extension, unique_name,
    Collision,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One step towards agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create the remote folder for a new local directory.
    CreateRemoteDir {
        local: LocalId,
        parent: Option<RemoteId>,
        name: String,
    },
    /// Upload a local file; `replaces` is the remote version it supersedes
    /// (trashed by the remote when the upload completes, if still at that hash).
    Upload {
        local: LocalId,
        parent: Option<RemoteId>,
        name: String,
        hash: Hash,
        replaces: Option<(RemoteId, Hash)>,
    },
    /// Move/rename a remote node to match a local move. Metadata only.
    MoveRemote {
        remote: RemoteId,
        local: LocalId,
        parent: Option<RemoteId>,
        name: String,
    },
    /// Move a remote node (whose local counterpart is gone) to the remote trash.
    TrashRemote {
        remote: RemoteId,
        local: LocalId,
        hash: Option<Hash>,
    },
    /// Create the local directory for a new remote folder.
    CreateLocalDir {
        remote: RemoteId,
        parent: Option<LocalId>,
        name: String,
    },
    /// Download a remote file; `replaces` is the local version it supersedes,
    /// replaced only if the local file still has that hash.
    Download {
        remote: RemoteId,
        parent: Option<LocalId>,
        name: String,
        hash: Hash,
        replaces: Option<(LocalId, Hash)>,
    },
    /// Move/rename a local node to match a remote move.
    MoveLocal {
        local: LocalId,
        remote: RemoteId,
        parent: Option<LocalId>,
        name: String,
    },
    /// Move a local node (whose remote counterpart was deleted) to the local trash.
    TrashLocal {
        local: LocalId,
        remote: RemoteId,
        hash: Option<Hash>,
    },
    /// Both sides already agree: record it as the new merge base.
    Record(SyncedNode),
    /// Drop a merge-base entry (both sides gone, or the pair is being re-created).
    Forget { local: LocalId },
    /// Keep both versions: forget the pair, then rename the local version to
    /// `new_name` (a conflicted copy, or a collision rename). It is then a
    /// new local file and is uploaded like any other.
    RenameLocalAside {
        local: LocalId,
        forget: bool,
        parent: Option<LocalId>,
        new_name: String,
        /// Why: a name collision (case, encoding, spelling, name in use —
        /// the label in `new_name` says which), not two edits of one file.
        collision: bool,
    },
    /// Step aside to a temporary name to break a cycle of renames arriving
    /// from the remote (`a ↔ b`); the pair is kept, and a later round moves
    /// the node to the name the remote has.
    RenameLocalTemporarily {
        local: LocalId,
        parent: Option<LocalId>,
        new_name: String,
    },
}

impl Op {
    pub fn is_deletion(&self) -> bool {
        matches!(self, Op::TrashRemote { .. } | Op::TrashLocal { .. })
    }
}

/// Knobs the planner needs from the engine.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// The device's display name, for conflicted-copy names.
    pub device_name: String,
    /// Today's date (`YYYY-MM-DD`), for conflicted-copy names.
    pub date: String,
    /// Local nodes that cannot sync now (a name some device cannot hold, a
    /// refusal waiting out its backoff): left alone like files still being
    /// written — never uploaded, moved, or taken as deleted.
    pub held_local: BTreeSet<LocalId>,
    /// Remote nodes that cannot sync now (not downloaded, moved or deleted here).
    pub held_remote: BTreeSet<RemoteId>,
}

/// The plan for one round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub ops: Vec<Op>,
}

struct View<'a> {
    local: &'a LocalTree,
    remote: &'a RemoteTree,
    synced: &'a SyncedTree,
    local_children: HashMap<Option<LocalId>, Vec<LocalId>>,
    remote_children: HashMap<Option<RemoteId>, Vec<RemoteId>>,
    /// Children by name key, so collision checks stay O(1) in 10,000-photo folders.
    local_by_key: HashMap<(Option<LocalId>, String), Vec<LocalId>>,
    remote_by_key: HashMap<(Option<RemoteId>, String), Vec<RemoteId>>,
}

impl<'a> View<'a> {
    fn new(local: &'a LocalTree, remote: &'a RemoteTree, synced: &'a SyncedTree) -> Self {
        let mut local_children: HashMap<Option<LocalId>, Vec<LocalId>> = HashMap::new();
        let mut local_by_key: HashMap<(Option<LocalId>, String), Vec<LocalId>> = HashMap::new();
        for node in local.nodes.values() {
            local_children.entry(node.parent).or_default().push(node.id);
            local_by_key
                .entry((node.parent, name_key(&node.name)))
                .or_default()
                .push(node.id);
        }
        let mut remote_children: HashMap<Option<RemoteId>, Vec<RemoteId>> = HashMap::new();
        let mut remote_by_key: HashMap<(Option<RemoteId>, String), Vec<RemoteId>> = HashMap::new();
        for node in remote.nodes.values() {
            remote_children
                .entry(node.parent.clone())
                .or_default()
                .push(node.id.clone());
            remote_by_key
                .entry((node.parent.clone(), name_key(&node.name)))
                .or_default()
                .push(node.id.clone());
        }
        View {
            local,
            remote,
            synced,
            local_children,
            remote_children,
            local_by_key,
            remote_by_key,
        }
    }

    fn local_named(&self, parent: Option<LocalId>, key: &str) -> &[LocalId] {
        self.local_by_key
            .get(&(parent, key.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn remote_named(&self, parent: &Option<RemoteId>, key: &str) -> &[RemoteId] {
        self.remote_by_key
            .get(&(parent.clone(), key.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The remote folder a local parent corresponds to: `Some(None)` is the root,
    /// `None` means the local folder has no remote counterpart (yet).
    fn remote_parent_of(&self, local_parent: Option<LocalId>) -> Option<Option<RemoteId>> {
        match local_parent {
            None => Some(None),
            Some(id) => self
                .synced
                .by_local(id)
                .filter(|s| s.kind == Kind::Dir)
                .map(|s| Some(s.remote.clone())),
        }
    }

    fn local_parent_of(&self, remote_parent: &Option<RemoteId>) -> Option<Option<LocalId>> {
        match remote_parent {
            None => Some(None),
            Some(id) => self
                .synced
                .by_remote(id)
                .filter(|s| s.kind == Kind::Dir && self.local.get(&s.local).is_some())
                .map(|s| Some(s.local)),
        }
    }

    fn local_children(&self, parent: Option<LocalId>) -> &[LocalId] {
        self.local_children
            .get(&parent)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn remote_children(&self, parent: &Option<RemoteId>) -> &[RemoteId] {
        self.remote_children
            .get(parent)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Derive the next operations. See the module documentation.
pub fn plan(
    local: &LocalTree,
    remote: &RemoteTree,
    synced: &SyncedTree,
    context: &PlanContext,
) -> Plan {
    let view = View::new(local, remote, synced);
    let mut ops = Vec::new();
    // Names claimed by this round's renames-aside and downloads, per local parent,
    // so two operations of one round never pick the same name.
    let mut claimed: BTreeMap<Option<LocalId>, BTreeSet<String>> = BTreeMap::new();

    plan_synced_pairs(&view, context, &mut ops, &mut claimed);
    plan_new_local(&view, context, &mut ops, &mut claimed);
    plan_new_remote(&view, context, &mut ops, &mut claimed);
    Plan { ops }
}

fn local_name_taken(
    view: &View<'_>,
    claimed: &BTreeMap<Option<LocalId>, BTreeSet<String>>,
    parent: Option<LocalId>,
    name: &str,
) -> bool {
    let key = name_key(name);
    !view.local_named(parent, &key).is_empty()
        || view
            .remote_parent_of(parent)
            .is_some_and(|rp| !view.remote_named(&rp, &key).is_empty())
        || claimed.get(&parent).is_some_and(|set| set.contains(&key))
}

fn claim(
    claimed: &mut BTreeMap<Option<LocalId>, BTreeSet<String>>,
    parent: Option<LocalId>,
    name: &str,
) {
    claimed.entry(parent).or_default().insert(name_key(name));
}

fn plan_synced_pairs(
    view: &View<'_>,
    context: &PlanContext,
    ops: &mut Vec<Op>,
    claimed: &mut BTreeMap<Option<LocalId>, BTreeSet<String>>,
) {
    for base in view.synced.iter() {
        if view.local.get(&base.local).is_some_and(is_unsettled) {
            // Still being written (a Lightroom export, a card copy): leave it alone.
            continue;
        }
        if context.held_local.contains(&base.local) || context.held_remote.contains(&base.remote) {
            // Cannot sync now (listed for the user): neither side is touched.
            continue;
        }
        let local = view.local.get(&base.local).filter(|n| n.kind == base.kind);
        let remote = view
            .remote
            .get(&base.remote)
            .filter(|n| n.kind == base.kind);
        match (local, remote) {
            (None, None) => ops.push(Op::Forget { local: base.local }),
            (None, Some(remote)) => {
                // Deleted locally. An unchanged remote file follows into the trash;
                // a remote file changed meanwhile wins over the deletion (it is
                // downloaded again as new), because losing an edit is worse.
                match base.kind {
                    Kind::File if remote.hash == base.hash => ops.push(Op::TrashRemote {
                        remote: remote.id.clone(),
                        local: base.local,
                        hash: remote.hash.clone(),
                    }),
                    Kind::File => ops.push(Op::Forget { local: base.local }),
                    Kind::Dir => {
                        let children = view.remote_children(&Some(remote.id.clone()));
                        if children.is_empty() {
                            ops.push(Op::TrashRemote {
                                remote: remote.id.clone(),
                                local: base.local,
                                hash: None,
                            });
                        } else if !children.iter().all(|c| following_local_deletion(view, c)) {
                            // Something new or changed lives in it: keep the folder.
                            ops.push(Op::Forget { local: base.local });
                        }
                        // Otherwise its children are trashed this round; the empty folder next round.
                    }
                }
            }
            (Some(local), None) => match base.kind {
                Kind::File if local.hash == base.hash => ops.push(Op::TrashLocal {
                    local: local.id,
                    remote: base.remote.clone(),
                    hash: local.hash.clone(),
                }),
                Kind::File => ops.push(Op::Forget { local: base.local }),
                Kind::Dir => {
                    let children = view.local_children(Some(local.id));
                    if children.is_empty() {
                        ops.push(Op::TrashLocal {
                            local: local.id,
                            remote: base.remote.clone(),
                            hash: None,
                        });
                    } else if !children.iter().all(|c| following_remote_deletion(view, *c)) {
                        ops.push(Op::Forget { local: base.local });
                    }
                }
            },
            (Some(local), Some(remote)) => {
                plan_pair(view, context, base, local, remote, ops, claimed)
            }
        }
    }
}

/// A file whose content is not known yet because it is still changing.
fn is_unsettled(node: &LocalNode) -> bool {
    node.kind == Kind::File && node.hash.is_none()
}

/// Will this remote child be trashed because its local counterpart was deleted unchanged?
fn following_local_deletion(view: &View<'_>, remote: &RemoteId) -> bool {
    let Some(base) = view.synced.by_remote(remote) else {
        return false;
    };
    let node = &view.remote.nodes[remote];
    view.local.get(&base.local).is_none()
        && match node.kind {
            Kind::File => node.hash == base.hash,
            Kind::Dir => view
                .remote_children(&Some(remote.clone()))
                .iter()
                .all(|c| following_local_deletion(view, c)),
        }
}

fn following_remote_deletion(view: &View<'_>, local: LocalId) -> bool {
    let Some(base) = view.synced.by_local(local) else {
        return false;
    };
    let node = &view.local.nodes[&local];
    view.remote.get(&base.remote).is_none()
        && match node.kind {
            Kind::File => node.hash == base.hash,
            Kind::Dir => view
                .local_children(Some(local))
                .iter()
                .all(|c| following_remote_deletion(view, *c)),
        }
}

fn plan_pair(
    view: &View<'_>,
    context: &PlanContext,
    base: &SyncedNode,
    local: &LocalNode,
    remote: &RemoteNode,
    ops: &mut Vec<Op>,
    claimed: &mut BTreeMap<Option<LocalId>, BTreeSet<String>>,
) {
    // Content first: a conflict makes location moot.
    if base.kind == Kind::File {
        let local_changed = local.hash != base.hash;
        let remote_changed = remote.hash != base.hash;
        match (local_changed, remote_changed) {
            (true, true) if local.hash == remote.hash => {
                ops.push(Op::Record(SyncedNode {
                    hash: local.hash.clone(),
                    ..base.clone()
                }));
                return;
            }
            (true, true) => {
                // Keep both: the local edit steps aside as a conflicted copy (and is
                // uploaded next round); the remote version then downloads in its place.
                let aside = conflicted_copy_name(&local.name, &context.date, &context.device_name);
                let new_name =
                    unique_name(&aside, |n| local_name_taken(view, claimed, local.parent, n));
                claim(claimed, local.parent, &new_name);
                ops.push(Op::RenameLocalAside {
                    local: local.id,
                    forget: true,
                    parent: local.parent,
                    new_name,
                    collision: false,
                });
                return;
            }
            (true, false) => {
                // Replace in place (where the remote version is); a local move, if
                // any, is carried over by the next round.
                ops.push(Op::Upload {
                    local: local.id,
                    parent: remote.parent.clone(),
                    name: remote.name.clone(),
                    hash: local.hash.clone().unwrap_or_default(),
                    replaces: Some((remote.id.clone(), remote.hash.clone().unwrap_or_default())),
                });
                return;
            }
            (false, true) => {
                let Some(parent) = view.local_parent_of(&remote.parent) else {
                    return;
                };
                ops.push(Op::Download {
                    remote: remote.id.clone(),
                    parent,
                    name: remote.name.clone(),
                    hash: remote.hash.clone().unwrap_or_default(),
                    replaces: Some((local.id, local.hash.clone().unwrap_or_default())),
                });
                return;
            }
            (false, false) => {}
        }
    }

    // Location, compared in NFC: the remote stores `Café` composed whatever
    // this file system calls it (macOS writes it decomposed), so that alone is
    // no rename.
    let base_location = (base.parent.clone(), nfc(&base.name));
    let remote_location = (remote.parent.clone(), nfc(&remote.name));
    let Some(local_remote_parent) = view.remote_parent_of(local.parent) else {
        // Moved into a local folder not yet created remotely: wait for it.
        return;
    };
    let local_location = (local_remote_parent, nfc(&local.name));
    let local_moved = local_location != base_location;
    let remote_moved = remote_location != base_location;
    if !local_moved && !remote_moved {
        return;
    }
    if local_location == remote_location {
        ops.push(Op::Record(SyncedNode {
            parent: remote.parent.clone(),
            name: remote.name.clone(),
            ..base.clone()
        }));
        return;
    }
    if local_moved && !remote_moved {
        if would_create_cycle_remote(view, &remote.id, &local_location.0) {
            // The two sides moved folders into each other. The remote's tree has no
            // cycle, so this local move yields: the folder goes back where the
            // remote has it, and every device ends with the remote's arrangement.
            if let Some(parent) = view.local_parent_of(&remote.parent) {
                if !would_create_cycle_local(view, local.id, parent) {
                    let holders: Vec<LocalId> = view
                        .local_named(parent, &name_key(&remote.name))
                        .iter()
                        .copied()
                        .filter(|c| *c != local.id)
                        .collect();
                    let blocking = holders
                        .iter()
                        .copied()
                        .find(|h| would_create_cycle_local(view, *h, Some(local.id)));
                    if let Some(holder_node) = blocking.and_then(|h| view.local.get(&h)) {
                        // The name is held by the folder this one sits in, which
                        // the remote moves into this one (it took this one's name
                        // locally): neither can move first. That folder steps
                        // aside to a temporary name (its merge base unchanged, so
                        // no rename reaches the remote); next round this one
                        // takes the name, and the round after the other lands
                        // where the remote has it.
                        let (stem, extension) = split_extension(&holder_node.name);
                        let temp = fit_name(stem, " (renaming)", extension);
                        let new_name = unique_name(&temp, |n| {
                            local_name_taken(view, claimed, holder_node.parent, n)
                        });
                        claim(claimed, holder_node.parent, &new_name);
                        ops.push(Op::RenameLocalTemporarily {
                            local: holder_node.id,
                            parent: holder_node.parent,
                            new_name,
                        });
                    } else {
                        ops.push(Op::MoveLocal {
                            local: local.id,
                            remote: remote.id.clone(),
                            parent,
                            name: remote.name.clone(),
                        });
                    }
                }
            }
            return;
        }
        let key = name_key(&local.name);
        let holders: Vec<&RemoteId> = view
            .remote_named(&local_location.0, &key)
            .iter()
            .filter(|c| *c != &remote.id)
            .collect();
        if !holders.is_empty()
            && holders.iter().all(|c| {
                view.synced
                    .by_remote(c)
                    .is_some_and(|pair| view.local.get(&pair.local).is_none())
            })
        {
            // The name is held by nodes deleted locally, which go to the remote
            // trash this round (a conflict resolved by keeping this version):
            // move next round, once the name is free.
            return;
        }
        if !holders.is_empty()
            && holders
                .iter()
                .all(|h| remote_vacating_target(view, context, h).is_some())
        {
            // The name is being vacated this round by nodes renamed away locally
            // (a swap `a → tmp, b → a, tmp → b`, or a chain of renames): wait for
            // it — unless this is a cycle, which its smallest id breaks through a
            // temporary name.
            let target = (local_location.0.clone(), key.clone());
            if let Chain::Cycle(members) = remote_chain(view, context, &remote.id, target) {
                if members.iter().min() == Some(&remote.id) {
                    let (stem, extension) = split_extension(&remote.name);
                    let temp = fit_name(stem, " (renaming)", extension);
                    let parent = remote.parent.clone();
                    let name = unique_name(&temp, |n| {
                        !view.remote_named(&parent, &name_key(n)).is_empty()
                    });
                    ops.push(Op::MoveRemote {
                        remote: remote.id.clone(),
                        local: local.id,
                        parent,
                        name,
                    });
                }
            }
            return;
        }
        if !holders.is_empty() {
            // The remote already holds that name (for it, `Photo.JPG` is `photo.jpg`):
            // this node steps aside locally, and the next round moves it remotely.
            let holder = &view.remote.nodes[holders[0]].name;
            let aside = collision_name(&local.name, Collision::between(&local.name, holder));
            let new_name =
                unique_name(&aside, |n| local_name_taken(view, claimed, local.parent, n));
            claim(claimed, local.parent, &new_name);
            ops.push(Op::RenameLocalAside {
                local: local.id,
                forget: false,
                parent: local.parent,
                new_name,
                collision: true,
            });
            return;
        }
        ops.push(Op::MoveRemote {
            remote: remote.id.clone(),
            local: local.id,
            parent: local_location.0,
            name: local.name.clone(),
        });
        return;
    }
    // The remote moved (alone, or both to different places: the remote wins, so
    // every device lands on the same answer).
    let Some(parent) = view.local_parent_of(&remote.parent) else {
        return;
    };
    if would_create_cycle_local(view, local.id, parent) {
        return;
    }
    // The name is held only by local nodes whose remote side is gone, which go
    // to the trash this round (the other device kept this version): move next
    // round, once the name is free, rather than inventing a name.
    let holders: Vec<LocalId> = view
        .local_named(parent, &name_key(&remote.name))
        .iter()
        .copied()
        .filter(|c| *c != local.id)
        .collect();
    if !holders.is_empty()
        && holders.iter().all(|c| {
            view.synced
                .by_local(*c)
                .is_some_and(|pair| view.remote.get(&pair.remote).is_none())
        })
    {
        return;
    }
    if !holders.is_empty()
        && holders
            .iter()
            .all(|h| local_vacating_target(view, context, *h).is_some())
    {
        // The name is being vacated here this round (another device swapped or
        // chained renames): wait, or break a cycle through a temporary name.
        let target = (parent, name_key(&remote.name));
        if let Chain::Cycle(members) = local_chain(view, context, local.id, target) {
            if members.iter().min() == Some(&local.id) {
                let (stem, extension) = split_extension(&local.name);
                let temp = fit_name(stem, " (renaming)", extension);
                let new_name =
                    unique_name(&temp, |n| local_name_taken(view, claimed, local.parent, n));
                claim(claimed, local.parent, &new_name);
                ops.push(Op::RenameLocalTemporarily {
                    local: local.id,
                    parent: local.parent,
                    new_name,
                });
            }
        }
        return;
    }
    // If another local node holds the name (a swap, or a new local file), take the
    // first free variant; the next round renames the remote to match.
    let local_taken = |name: &str| {
        let key = name_key(name);
        view.local_named(parent, &key)
            .iter()
            .any(|c| *c != local.id)
            || claimed.get(&parent).is_some_and(|set| set.contains(&key))
    };
    let name = unique_name(&remote.name, local_taken);
    claim(claimed, parent, &name);
    ops.push(Op::MoveLocal {
        local: local.id,
        remote: remote.id.clone(),
        parent,
        name,
    });
}

/// Where a renamed chain of names leads.
enum Chain<Id> {
    /// Its last name is free: the nodes move one after another, no help needed.
    Free,
    /// It ends at a name that stays taken (or in another cycle).
    Blocked,
    /// It comes back to where it started: these nodes swap names.
    Cycle(Vec<Id>),
}

/// A synced remote node whose local side was renamed or moved (and the remote
/// side not): it leaves its remote name this round or soon. Its destination
/// as (remote parent, name key).
fn remote_vacating_target(
    view: &View<'_>,
    context: &PlanContext,
    id: &RemoteId,
) -> Option<(Option<RemoteId>, String)> {
    let pair = view.synced.by_remote(id)?;
    let remote = view.remote.get(id).filter(|n| n.kind == pair.kind)?;
    let local = view
        .local
        .get(&pair.local)
        .filter(|n| n.kind == pair.kind)?;
    if is_unsettled(local) || context.held_local.contains(&local.id) {
        return None;
    }
    let parent = view.remote_parent_of(local.parent)?;
    let base = (pair.parent.clone(), nfc(&pair.name));
    let local_location = (parent, nfc(&local.name));
    let remote_unmoved = (remote.parent.clone(), nfc(&remote.name)) == base;
    (local_location != base && remote_unmoved)
        .then(|| (local_location.0, name_key(&local_location.1)))
}

/// A synced local node whose remote side was renamed or moved: it leaves its
/// local name. Its destination as (local parent, name key).
fn local_vacating_target(
    view: &View<'_>,
    context: &PlanContext,
    id: LocalId,
) -> Option<(Option<LocalId>, String)> {
    let pair = view.synced.by_local(id)?;
    let local = view.local.get(&id).filter(|n| n.kind == pair.kind)?;
    let remote = view
        .remote
        .get(&pair.remote)
        .filter(|n| n.kind == pair.kind)?;
    if is_unsettled(local) || context.held_remote.contains(&remote.id) {
        return None;
    }
    let parent = view.local_parent_of(&remote.parent)?;
    let base = (pair.parent.clone(), nfc(&pair.name));
    let remote_location = (remote.parent.clone(), nfc(&remote.name));
    let there = (parent, name_key(&remote.name));
    (remote_location != base && (local.parent, name_key(&local.name)) != there).then_some(there)
}

/// Follow the names a rename of `start` onto `target` displaces, remotely.
fn remote_chain(
    view: &View<'_>,
    context: &PlanContext,
    start: &RemoteId,
    mut target: (Option<RemoteId>, String),
) -> Chain<RemoteId> {
    let mut members = vec![start.clone()];
    for _ in 0..=view.remote.len() {
        let last = members.last().unwrap().clone();
        let holders: Vec<&RemoteId> = view
            .remote_named(&target.0, &target.1)
            .iter()
            .filter(|h| **h != last)
            .collect();
        match holders.as_slice() {
            [] => return Chain::Free,
            [h] if *h == start => return Chain::Cycle(members),
            [h] if !members.contains(*h) => match remote_vacating_target(view, context, h) {
                Some(next) => {
                    members.push((*h).clone());
                    target = next;
                }
                None => return Chain::Blocked,
            },
            _ => return Chain::Blocked,
        }
    }
    Chain::Blocked
}

/// Follow the names a rename of `start` onto `target` displaces, locally.
fn local_chain(
    view: &View<'_>,
    context: &PlanContext,
    start: LocalId,
    mut target: (Option<LocalId>, String),
) -> Chain<LocalId> {
    let mut members = vec![start];
    for _ in 0..=view.local.len() {
        let last = *members.last().unwrap();
        let holders: Vec<LocalId> = view
            .local_named(target.0, &target.1)
            .iter()
            .copied()
            .filter(|h| *h != last)
            .collect();
        match holders.as_slice() {
            [] => return Chain::Free,
            [h] if *h == start => return Chain::Cycle(members),
            [h] if !members.contains(h) => match local_vacating_target(view, context, *h) {
                Some(next) => {
                    members.push(*h);
                    target = next;
                }
                None => return Chain::Blocked,
            },
            _ => return Chain::Blocked,
        }
    }
    Chain::Blocked
}

fn would_create_cycle_remote(
    view: &View<'_>,
    node: &RemoteId,
    new_parent: &Option<RemoteId>,
) -> bool {
    let mut at = new_parent.clone();
    while let Some(current) = at {
        if &current == node {
            return true;
        }
        at = view.remote.get(&current).and_then(|n| n.parent.clone());
    }
    false
}

fn would_create_cycle_local(view: &View<'_>, node: LocalId, new_parent: Option<LocalId>) -> bool {
    let mut at = new_parent;
    while let Some(current) = at {
        if current == node {
            return true;
        }
        at = view.local.get(&current).and_then(|n| n.parent);
    }
    false
}

fn plan_new_local(
    view: &View<'_>,
    context: &PlanContext,
    ops: &mut Vec<Op>,
    claimed: &mut BTreeMap<Option<LocalId>, BTreeSet<String>>,
) {
    for node in view.local.nodes.values() {
        if view
            .synced
            .by_local(node.id)
            .is_some_and(|s| s.kind == node.kind)
            || is_unsettled(node)
            || context.held_local.contains(&node.id)
        {
            continue;
        }
        let Some(remote_parent) = view.remote_parent_of(node.parent) else {
            continue;
        };
        let key = name_key(&node.name);

        // Another local sibling with the same key (Photo.JPG / photo.jpg) that is
        // synced, or comes first by name, keeps the name; this one steps aside.
        let rival = view
            .local_named(node.parent, &key)
            .iter()
            .map(|c| &view.local.nodes[c])
            .find(|other| {
                other.id != node.id
                    && (view.synced.by_local(other.id).is_some() || other.name < node.name)
            });
        if let Some(rival) = rival {
            let aside = collision_name(&node.name, Collision::between(&node.name, &rival.name));
            let new_name = unique_name(&aside, |n| local_name_taken(view, claimed, node.parent, n));
            claim(claimed, node.parent, &new_name);
            ops.push(Op::RenameLocalAside {
                local: node.id,
                forget: false,
                parent: node.parent,
                new_name,
                collision: true,
            });
            continue;
        }

        let same_name = view
            .remote_named(&remote_parent, &key)
            .first()
            .map(|c| &view.remote.nodes[c]);
        match same_name {
            None => match node.kind {
                Kind::Dir => ops.push(Op::CreateRemoteDir {
                    local: node.id,
                    parent: remote_parent,
                    name: node.name.clone(),
                }),
                Kind::File => ops.push(Op::Upload {
                    local: node.id,
                    parent: remote_parent,
                    name: node.name.clone(),
                    hash: node.hash.clone().unwrap_or_default(),
                    replaces: None,
                }),
            },
            Some(remote) => {
                let remote_pair = view.synced.by_remote(&remote.id);
                if remote_pair.is_some_and(|pair| view.local.get(&pair.local).is_none()) {
                    // The name is held by a node whose pair is dissolving this round.
                    continue;
                }
                let remote_synced = remote_pair.is_some();
                let identical = remote.kind == node.kind
                    && (node.kind == Kind::Dir || remote.hash == node.hash);
                if !remote_synced && identical {
                    // The same thing arrived on both sides (or an earlier upload's
                    // response was lost): link them, transfer nothing.
                    ops.push(Op::Record(SyncedNode {
                        local: node.id,
                        remote: remote.id.clone(),
                        parent: remote.parent.clone(),
                        name: remote.name.clone(),
                        kind: node.kind,
                        hash: node.hash.clone(),
                    }));
                } else {
                    // Different content under the same name, or the name is held by
                    // another synced node: keep both, this one under a new name.
                    let aside =
                        conflicted_copy_name(&node.name, &context.date, &context.device_name);
                    let new_name =
                        unique_name(&aside, |n| local_name_taken(view, claimed, node.parent, n));
                    claim(claimed, node.parent, &new_name);
                    ops.push(Op::RenameLocalAside {
                        local: node.id,
                        forget: false,
                        parent: node.parent,
                        new_name,
                        collision: false,
                    });
                }
            }
        }
    }
}

fn plan_new_remote(
    view: &View<'_>,
    context: &PlanContext,
    ops: &mut Vec<Op>,
    claimed: &mut BTreeMap<Option<LocalId>, BTreeSet<String>>,
) {
    for node in view.remote.nodes.values() {
        if view
            .synced
            .by_remote(&node.id)
            .is_some_and(|s| s.kind == node.kind)
            || context.held_remote.contains(&node.id)
        {
            continue;
        }
        let Some(local_parent) = view.local_parent_of(&node.parent) else {
            continue;
        };
        let key = name_key(&node.name);
        // A remote rival with the same key: the first by id keeps the name on
        // every device (the remote should never hold both, but be deterministic).
        let remote_rival = view
            .remote_named(&node.parent, &key)
            .iter()
            .any(|other| other < &node.id);
        let local_sibling = view
            .local_named(local_parent, &key)
            .first()
            .map(|c| &view.local.nodes[c]);
        if let Some(sibling) = local_sibling {
            match view.synced.by_local(sibling.id) {
                // An unsynced local node of that name: plan_new_local links them or
                // renames the local one aside; the download happens next round.
                None => continue,
                // Its pair is dissolving this round (the remote side is gone): wait
                // for the next observation instead of guessing.
                Some(pair) if view.remote.get(&pair.remote).is_none() => continue,
                Some(_) => {}
            }
        }
        let name = if local_sibling.is_some()
            || remote_rival
            || claimed.get(&local_parent).is_some_and(|s| s.contains(&key))
        {
            let aside = conflicted_copy_name(&node.name, &context.date, "PhotoPro Storage");
            unique_name(&aside, |n| local_name_taken(view, claimed, local_parent, n))
        } else {
            node.name.clone()
        };
        claim(claimed, local_parent, &name);
        match node.kind {
            Kind::Dir => ops.push(Op::CreateLocalDir {
                remote: node.id.clone(),
                parent: local_parent,
                name,
            }),
            Kind::File => ops.push(Op::Download {
                remote: node.id.clone(),
                parent: local_parent,
                name,
                hash: node.hash.clone().unwrap_or_default(),
                replaces: None,
            }),
        }
    }
}
