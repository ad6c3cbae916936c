//! Every command the UI can invoke. Each is a few lines that call the library
//! crates; errors cross as [`AppError`].

use crate::error::{AppError, Result};
use crate::events;
use crate::state::{AppState, SyncStatus};
use crate::sync;
use crate::views::{self, ClientRule, FolderView, LibraryTree, SettingsView};
use photopro_index::{
    AssetDetails, AssetFilter, AssetId, FolderId, FoundAsset, Status, StripPhoto,
};
use photopro_library::organize::{self, Outcome, TrashEntry};
use photopro_library::{AppSettings, Config};
use photopro_sync::account::{ApiClient, UsageView, DEFAULT_TIMEOUT};
use photopro_sync::conflicts::Resolution;
use photopro_sync::disk::DiskFs;
use std::path::PathBuf;
use tauri::{AppHandle, Emitter, Runtime, State};

/// The index's id types serialize but do not deserialize: commands take raw ids.
fn ids(raw: Vec<i64>) -> Vec<AssetId> {
    raw.into_iter().map(AssetId).collect()
}

#[tauri::command]
pub fn open_folder(state: State<'_, AppState>, folder: Option<i64>) -> Result<FolderView> {
    let (sync_folder, rules) = (state.config()?.sync_folder, state.layout());
    views::folder_view(
        &state.reader(),
        folder.map(FolderId),
        &ClientRule {
            sync_folder: sync_folder.as_deref(),
            rules: &rules,
        },
    )
}

#[tauri::command]
pub fn library_tree(state: State<'_, AppState>) -> Result<Vec<LibraryTree>> {
    views::library_trees(&state.reader())
}

#[tauri::command]
pub fn library_status(state: State<'_, AppState>) -> Result<Status> {
    views::overview(&state.reader())
}

#[tauri::command]
pub fn folder_strip(state: State<'_, AppState>, folder: i64) -> Result<Vec<StripPhoto>> {
    Ok(state.reader().folder_strip(FolderId(folder), 8)?)
}

#[tauri::command]
pub fn asset_details(state: State<'_, AppState>, asset: i64) -> Result<AssetDetails> {
    let details = state.reader().asset(AssetId(asset))?;
    details.ok_or_else(|| AppError::Invalid(format!("Photo {asset} is no longer in the library")))
}

#[tauri::command]
pub fn find_assets(state: State<'_, AppState>, filter: AssetFilter) -> Result<Vec<FoundAsset>> {
    Ok(state.reader().find_assets(&filter)?)
}

#[tauri::command]
pub fn set_cover(state: State<'_, AppState>, folder: i64, asset: Option<i64>) -> Result<()> {
    Ok(state
        .writer()
        .set_folder_cover(FolderId(folder), asset.map(AssetId))?)
}

#[tauri::command]
pub fn move_assets(state: State<'_, AppState>, assets: Vec<i64>, to: i64) -> Result<Outcome> {
    Ok(organize::move_assets(
        &mut state.writer(),
        &ids(assets),
        FolderId(to),
    )?)
}

#[tauri::command]
pub fn copy_assets(state: State<'_, AppState>, assets: Vec<i64>, to: i64) -> Result<Outcome> {
    Ok(organize::copy_assets(
        &mut state.writer(),
        &ids(assets),
        FolderId(to),
    )?)
}

#[tauri::command]
pub fn move_folder(state: State<'_, AppState>, folder: i64, to: i64) -> Result<PathBuf> {
    Ok(organize::move_folder(
        &mut state.writer(),
        FolderId(folder),
        FolderId(to),
    )?)
}

#[tauri::command]
pub fn trash_assets(state: State<'_, AppState>, assets: Vec<i64>) -> Result<Outcome> {
    Ok(organize::trash_assets(&mut state.writer(), &ids(assets))?)
}

#[tauri::command]
pub fn trash_folder(state: State<'_, AppState>, folder: i64) -> Result<TrashEntry> {
    Ok(organize::trash_folder(
        &mut state.writer(),
        FolderId(folder),
    )?)
}

#[tauri::command]
pub fn list_trash(state: State<'_, AppState>) -> Result<Vec<TrashEntry>> {
    Ok(organize::list_trash(&state.reader())?)
}

/// Restores the item, then rescans so it is indexed again.
#[tauri::command]
pub fn restore_trash<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<PathBuf> {
    let restored = organize::restore_from_trash(&state.reader(), &id)?;
    events::start_scan(app);
    Ok(restored)
}

#[tauri::command]
pub fn delete_trash(state: State<'_, AppState>, id: String) -> Result<()> {
    Ok(organize::delete_from_trash(&state.reader(), &id)?)
}

/// Files dropped from the desktop onto a folder: copy them in, then index them.
#[tauri::command]
pub fn import_files<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    paths: Vec<PathBuf>,
    to: i64,
) -> Result<Outcome> {
    let outcome = organize::import_files(&state.reader(), &paths, FolderId(to))?;
    events::start_scan(app);
    Ok(outcome)
}

/// Add a folder on disk as a library (from the native folder dialog) and index it.
#[tauri::command]
pub fn add_library<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: PathBuf,
) -> Result<()> {
    let root = path
        .canonicalize()
        .map_err(|e| AppError::Invalid(format!("Cannot open {}: {e}", path.display())))?;
    state.writer().add_library(&root)?;
    events::start_scan(app);
    Ok(())
}

#[tauri::command]
pub fn remove_library(state: State<'_, AppState>, library: i64) -> Result<()> {
    Ok(state
        .writer()
        .remove_library(photopro_index::LibraryId(library))?)
}

#[tauri::command]
pub fn rescan<R: Runtime>(app: AppHandle<R>) {
    events::start_scan(app)
}

#[tauri::command]
pub fn sync_status(state: State<'_, AppState>) -> SyncStatus {
    state.sync_status()
}

#[tauri::command]
pub fn set_paused<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    paused: bool,
) -> Result<SyncStatus> {
    let status = state.set_paused(paused)?;
    events::publish_status(&app, &state);
    Ok(status)
}

#[tauri::command]
pub fn sync_now(state: State<'_, AppState>) {
    state.sync.with_handle(|h| h.sync_now());
}

/// Carry out the deletions the mass-deletion guard held back.
#[tauri::command]
pub fn approve_deletions(state: State<'_, AppState>) {
    state.sync.with_handle(|h| h.approve_deletions());
}

/// Choose the sync folder (from the native folder dialog); sync restarts on it.
#[tauri::command]
pub fn set_sync_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: PathBuf,
) -> Result<PathBuf> {
    let (folder, added, replaces) = sync::set_folder(&state, &path)?;
    if added {
        events::start_scan(app.clone());
    }
    if replaces {
        sync::switch_folder(&app);
    } else {
        sync::apply(&app);
    }
    Ok(folder)
}

/// Conflicted copies in the sync folder (none without one), with both versions' photos when indexed.
#[tauri::command]
pub fn list_conflicts(state: State<'_, AppState>) -> Result<Vec<views::ConflictView>> {
    let Some(folder) = sync::folder(&state)? else {
        return Ok(Vec::new());
    };
    let device = photopro_sync::service::device(&state.dirs, &state.settings())?;
    let conflicts = photopro_sync::conflicts::list(&folder, &device);
    Ok(views::conflict_views(&state.reader(), &folder, conflicts))
}

/// Keep both / mine / theirs; the losing version goes to the sync trash. Sync then carries it out.
#[tauri::command]
pub fn resolve_conflict<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    copy: String,
    resolution: Resolution,
) -> Result<PathBuf> {
    let folder = sync::folder(&state)?
        .ok_or_else(|| AppError::Invalid("No sync folder is set up.".into()))?;
    let device = photopro_sync::service::device(&state.dirs, &state.settings())?;
    let kept = photopro_sync::conflicts::resolve(
        &folder,
        &photopro_sync::service::trash_dir(&state.dirs),
        &copy,
        &device,
        resolution,
    )?;
    state.sync.with_handle(|h| h.sync_now());
    events::start_scan(app);
    Ok(kept)
}

/// Files sync moved aside (deleted on another device, replaced, the losing side of a conflict), newest first.
#[tauri::command]
pub fn list_sync_trash(state: State<'_, AppState>) -> Result<Vec<sync::TrashItem>> {
    let Some(folder) = sync::folder(&state)? else {
        return Ok(Vec::new());
    };
    let trash = photopro_sync::service::trash_dir(&state.dirs);
    Ok(DiskFs::new(folder, &trash)
        .trash_entries()
        .into_iter()
        .map(|entry| sync::TrashItem::new(&trash, entry))
        .collect())
}

#[tauri::command]
pub fn restore_sync_trash<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<PathBuf> {
    // Entry ids are "<seconds>-<inode>": nothing else may name a path.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(AppError::Invalid(format!(
            "{id:?} is not an item of the sync trash"
        )));
    }
    let folder = sync::folder(&state)?
        .ok_or_else(|| AppError::Invalid("No sync folder is set up.".into()))?;
    let restored =
        DiskFs::new(folder, photopro_sync::service::trash_dir(&state.dirs)).restore(&id)?;
    state.sync.with_handle(|h| h.sync_now());
    events::start_scan(app);
    Ok(restored)
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Result<SettingsView> {
    views::settings_view(&state)
}

#[tauri::command]
pub fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: AppSettings,
    filters: Config,
) -> Result<()> {
    // The sync folder and the paused flag have their own commands; a screen
    // holding an older copy of them must not undo those.
    let filters = Config {
        sync_folder: state.config()?.sync_folder,
        ..filters
    };
    let settings = AppSettings {
        paused: state.settings().paused,
        ..settings
    };
    filters.save(&state.dirs.config_path())?;
    crate::desktop::apply_start_at_login(&app, settings.start_at_login);
    state.save_settings(settings)?;
    // New limits apply at once; a new API address, device name or filters restart sync.
    sync::apply(&app);
    Ok(())
}

/// Trade a pairing code for a device token, kept in the keychain.
#[tauri::command]
pub async fn pair_device<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    api_url: String,
    code: String,
    device_name: String,
) -> Result<()> {
    state.save_settings(AppSettings {
        api_url: Some(api_url.clone()),
        device_name: Some(device_name.clone()),
        ..state.settings()
    })?;
    let pair =
        move || ApiClient::new(&api_url, None, DEFAULT_TIMEOUT)?.pair_device(&code, &device_name);
    let issued = crate::desktop::blocking(pair)
        .await?
        .map_err(AppError::api)?;
    state.tokens.set(&issued.token)?;
    sync::apply(&app);
    Ok(())
}

#[tauri::command]
pub fn sign_out<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Result<()> {
    state.tokens.clear()?;
    sync::apply(&app);
    Ok(())
}

#[tauri::command]
pub async fn usage<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Result<UsageView> {
    let view = crate::desktop::usage_view(&state).await;
    crate::desktop::notify_usage_warning(&app, &state, &view);
    if matches!(view, UsageView::Connected { .. })
        && crate::desktop::refresh_organization(&state).await
    {
        // The folder layout changed: cards name different clients.
        let _ = app.emit(events::LIBRARY_EVENT, ());
    }
    Ok(view)
}
