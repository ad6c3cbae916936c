// Typed wrappers around the Rust commands (src-tauri/src/commands.rs).
import { convertFileSrc, invoke } from "@tauri-apps/api/core";
import type {
  AppError, AppSettings, AssetDetails, AssetFilter, LibraryConfig, FolderView, FoundAsset, LibraryStatus,
  LibraryTree, Outcome, SettingsView, StripPhoto, SyncStatus, TrashEntry, UsageView,
  ConflictView, Resolution, SyncTrashItem,
} from "./types";

export const api = {
  openFolder: (folder: number | null) => invoke<FolderView>("open_folder", { folder }),
  libraryTree: () => invoke<LibraryTree[]>("library_tree"),
  libraryStatus: () => invoke<LibraryStatus>("library_status"),
  folderStrip: (folder: number) => invoke<StripPhoto[]>("folder_strip", { folder }),
  assetDetails: (asset: number) => invoke<AssetDetails>("asset_details", { asset }),
  findAssets: (filter: AssetFilter) => invoke<FoundAsset[]>("find_assets", { filter }),
  setCover: (folder: number, asset: number | null) => invoke<void>("set_cover", { folder, asset }),
  moveAssets: (assets: number[], to: number) => invoke<Outcome>("move_assets", { assets, to }),
  copyAssets: (assets: number[], to: number) => invoke<Outcome>("copy_assets", { assets, to }),
  moveFolder: (folder: number, to: number) => invoke<string>("move_folder", { folder, to }),
  trashAssets: (assets: number[]) => invoke<Outcome>("trash_assets", { assets }),
  trashFolder: (folder: number) => invoke<TrashEntry>("trash_folder", { folder }),
  listTrash: () => invoke<TrashEntry[]>("list_trash"),
  restoreTrash: (id: string) => invoke<string>("restore_trash", { id }),
  deleteTrash: (id: string) => invoke<void>("delete_trash", { id }),
  importFiles: (paths: string[], to: number) => invoke<Outcome>("import_files", { paths, to }),
  addLibrary: (path: string) => invoke<void>("add_library", { path }),
  removeLibrary: (library: number) => invoke<void>("remove_library", { library }),
  rescan: () => invoke<void>("rescan"),
  syncStatus: () => invoke<SyncStatus>("sync_status"),
  setPaused: (paused: boolean) => invoke<SyncStatus>("set_paused", { paused }),
  syncNow: () => invoke<void>("sync_now"),
  approveDeletions: () => invoke<void>("approve_deletions"),
  setSyncFolder: (path: string) => invoke<string>("set_sync_folder", { path }),
  listConflicts: () => invoke<ConflictView[]>("list_conflicts"),
  resolveConflict: (copy: string, resolution: Resolution) => invoke<string>("resolve_conflict", { copy, resolution }),
  listSyncTrash: () => invoke<SyncTrashItem[]>("list_sync_trash"),
  restoreSyncTrash: (id: string) => invoke<string>("restore_sync_trash", { id }),
  getSettings: () => invoke<SettingsView>("get_settings"),
  saveSettings: (settings: AppSettings, filters: LibraryConfig) => invoke<void>("save_settings", { settings, filters }),
  pairDevice: (apiUrl: string, code: string, deviceName: string) => invoke<void>("pair_device", { apiUrl, code, deviceName }),
  signOut: () => invoke<void>("sign_out"),
  usage: () => invoke<UsageView>("usage"),
};

/** The thumbnail URL for an asset: the `thumb:` scheme the shell serves from the cache. */
export function thumbUrl(asset: number, size: "grid" | "preview" = "grid", version?: string | null): string {
  // convertFileSrc("", scheme) gives the platform's base ("thumb://localhost/" or
  // "http://thumb.localhost/" on Windows); the path is ours. `version` (a content
  // hash) makes the URL change when the file does, past the webview's cache.
  const base = convertFileSrc("", "thumb");
  return `${base.endsWith("/") ? base : base + "/"}${size}/${asset}${version ? `?v=${version.slice(0, 16)}` : ""}`;
}

/** A plain-language message from whatever a command threw. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) return String((error as AppError).message);
  return String(error);
}
