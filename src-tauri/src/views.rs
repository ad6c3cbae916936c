//! The shapes the screens ask for, composed from index queries. No logic
//! beyond putting query results side by side.

use crate::error::Result;
use photopro_index::{
    AssetSummary, FolderId, FolderInfo, FolderNode, FolderSummary, Index, Library, Status,
};
use photopro_library::layout::{client_of, ClientRole};
use photopro_wire::OrganizationLevel;
use serde::Serialize;
use std::path::Path;

/// One open folder: where it is, its subfolders as cards, its photos.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct FolderView {
    pub folder: Option<FolderInfo>,
    /// Library root first; empty when no library exists yet.
    pub ancestry: Vec<FolderInfo>,
    pub folders: Vec<FolderCard>,
    pub photos: Vec<AssetSummary>,
}

/// A folder card: the index's totals, and the client when the folder layout names one.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct FolderCard {
    #[serde(flatten)]
    pub summary: FolderSummary,
    pub client: Option<ClientRole>,
}

/// Where the client comes from: the organization's folder levels apply to
/// the sync folder, which mirrors the organization's storage
/// (`photopro_library::layout`). Folders elsewhere have no client.
pub struct ClientRule<'a> {
    pub sync_folder: Option<&'a Path>,
    pub rules: &'a [OrganizationLevel],
}

impl ClientRule<'_> {
    fn client(&self, path: &Path) -> Option<ClientRole> {
        let rel = path.strip_prefix(self.sync_folder?).ok()?;
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        client_of(&rel.join("/"), self.rules)
    }
}

/// `None` opens the home screen: the root of the first library.
pub fn folder_view(
    index: &Index,
    folder: Option<FolderId>,
    clients: &ClientRule<'_>,
) -> Result<FolderView> {
    let folder = match folder {
        Some(id) => Some(id),
        None => match index.libraries()?.first() {
            Some(library) => index.folder_id(library.id, b"")?,
            None => None,
        },
    };
    let Some(folder) = folder else {
        return Ok(FolderView {
            folder: None,
            ancestry: Vec::new(),
            folders: Vec::new(),
            photos: Vec::new(),
        });
    };
    let mut ancestry = index.folder_ancestry(folder)?;
    Ok(FolderView {
        // One pass over the subtree; a folder of folders shows a photo from below it.
        folders: index
            .folder_cards(folder)?
            .into_iter()
            .map(|summary| FolderCard {
                client: clients.client(&summary.path),
                summary,
            })
            .collect(),
        photos: index.list_assets(folder)?,
        folder: ancestry.pop().inspect(|f| ancestry.push(f.clone())),
        ancestry,
    })
}

/// The sidebar: each library with its folder tree.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct LibraryTree {
    pub library: Library,
    pub root: FolderId,
    pub name: String,
    pub folders: Vec<FolderNode>,
}

pub fn library_trees(index: &Index) -> Result<Vec<LibraryTree>> {
    let mut out = Vec::new();
    for library in index.libraries()? {
        let Some(root) = index.folder_id(library.id, b"")? else {
            continue;
        };
        out.push(LibraryTree {
            name: index.folder(root)?.name,
            root,
            folders: index.folder_tree(library.id)?,
            library,
        });
    }
    Ok(out)
}

/// Totals for the status bar and the empty state.
pub fn overview(index: &Index) -> Result<Status> {
    let mut status = index.status()?;
    // The per-file error list can be long; the UI asks for it separately.
    status.error_files.truncate(50);
    Ok(status)
}

/// Settings as the Settings screen edits them; the token itself never leaves Rust.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct SettingsView {
    pub app: photopro_library::AppSettings,
    pub filters: photopro_library::Config,
    pub paired: bool,
    pub token_store: &'static str,
    pub token_error: Option<String>,
    pub data_dir: std::path::PathBuf,
    pub version: &'static str,
}

pub fn settings_view(state: &crate::state::AppState) -> Result<SettingsView> {
    let token = state.tokens.get();
    Ok(SettingsView {
        app: state.settings(),
        filters: state.config()?,
        paired: matches!(token, Ok(Some(_))),
        token_store: state.tokens.describe(),
        token_error: token.err().map(|e| e.to_string()),
        data_dir: state
            .dirs
            .index_path()
            .parent()
            .map(std::path::PathBuf::from)
            .unwrap_or_default(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The indexed photo at `path` and its content hash, if the path lies in a
/// library and was scanned.
pub fn asset_at(index: &Index, path: &Path) -> Option<(photopro_index::AssetId, Option<String>)> {
    let (library, rel) = index.library_for_path(path).ok()?;
    let (dir, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(at) => (&rel[..at], &rel[at + 1..]),
        None => (&rel[..0], &rel[..]),
    };
    let folder = index.folder_id(library.id, dir).ok()??;
    let details = index.asset_by_name(folder, name).ok()??;
    Some((details.id, details.content_hash))
}

/// A conflicted copy with both versions' photos (asset and content hash, so a
/// thumbnail URL changes when the file does), when the sync folder is indexed.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ConflictView {
    #[serde(flatten)]
    pub conflict: photopro_sync::conflicts::Conflict,
    pub copy_asset: Option<photopro_index::AssetId>,
    pub copy_hash: Option<String>,
    pub original_asset: Option<photopro_index::AssetId>,
    pub original_hash: Option<String>,
}

pub fn conflict_views(
    index: &Index,
    folder: &Path,
    conflicts: Vec<photopro_sync::conflicts::Conflict>,
) -> Vec<ConflictView> {
    conflicts
        .into_iter()
        .map(|conflict| {
            let (copy_asset, copy_hash) = asset_at(index, &folder.join(&conflict.copy)).unzip();
            let (original_asset, original_hash) =
                asset_at(index, &folder.join(&conflict.original)).unzip();
            ConflictView {
                conflict,
                copy_asset,
                copy_hash: copy_hash.flatten(),
                original_asset,
                original_hash: original_hash.flatten(),
            }
        })
        .collect()
}
