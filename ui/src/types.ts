// Shapes the Rust commands return (serde's default field names).

export interface FolderInfo {
  id: number;
  library: number;
  parent: number | null;
  name: string;
  path: string;
  cover: number | null;
}

export interface FolderSummary {
  id: number;
  name: string;
  path: string;
  photos: number;
  files_total: number;
  bytes_total: number;
  first_taken: string | null;
  last_taken: string | null;
  cover: number | null;
  /** From the organization's folder layout (sync folder only): a client's folder, or filed under one. */
  client?: { role: "client" } | { role: "of"; name: string } | null;
}

export interface AssetSummary {
  id: number;
  name: string;
  kind: string;
  size: number;
  taken_at_local: string | null;
  width: number | null;
  height: number | null;
  thumb_state: string;
  content_hash: string | null;
  error: string | null;
}

export interface FoundAsset {
  id: number;
  name: string;
  kind: string;
  size: number;
  taken_at_local: string | null;
  width: number | null;
  height: number | null;
  thumb_state: string;
  folder: number;
  folder_name: string;
}

export interface FolderView {
  folder: FolderInfo | null;
  ancestry: FolderInfo[];
  folders: FolderSummary[];
  photos: AssetSummary[];
}

export interface FolderNode {
  id: number;
  parent: number | null;
  name: string;
  depth: number;
  photos: number;
}

export interface LibraryTree {
  library: { id: number; root: string; last_scan_finished: number | null };
  root: number;
  name: string;
  folders: FolderNode[];
}

export interface StripPhoto {
  id: number;
  name: string;
}

export interface LibraryStatus {
  libraries: number;
  assets: number;
  photos: number;
  folders: number;
  galleries: number;
  bytes: number;
  with_gps: number;
  thumbnails: number;
  errors: number;
  error_files: { path: string; error: string }[];
}

export interface AssetDetails {
  id: number;
  folder: number;
  path: string;
  name: string;
  kind: string;
  size: number;
  content_hash: string | null;
  media: {
    taken_at_local: string | null;
    make: string | null;
    model: string | null;
    lens: string | null;
    focal_length_mm: number | null;
    iso: number | null;
    exposure: string | null;
    f_number: number | null;
    width: number | null;
    height: number | null;
    latitude: number | null;
    longitude: number | null;
  };
  tags: string[];
  media_error: string | null;
  read_error: string | null;
}

export interface Outcome {
  done: number;
  failed: { name: string; error: string }[];
  /** Trash entries created by a delete (for Undo). */
  trash_ids?: string[];
}

export interface TrashEntry {
  id: string;
  original_path: string;
  kind: "file" | "folder";
  name: string;
  bytes: number;
  files: number;
  trashed_at: number;
}

export type SyncState =
  | "paused" | "syncing" | "up_to_date" | "waiting" | "offline" | "storage_full"
  | "awaiting_approval" | "error" | "starting" | "stopped" | "indexing" | "not_set_up";

export type Phase =
  | "starting" | "syncing" | "up_to_date" | "waiting" | "paused" | "offline"
  | "storage_full" | "awaiting_approval" | "error" | "stopped";

export interface Transfer {
  direction: "upload" | "download";
  /** Below the sync folder, '/'-separated. */
  path: string;
  size: number;
  done: number;
}

export interface Progress {
  files_total: number;
  files_done: number;
  bytes_total: number;
  bytes_done: number;
  bytes_per_second: number;
  eta_seconds: number | null;
  in_flight: Transfer[];
}

export interface PassSummary {
  uploads: number;
  uploaded_bytes: number;
  downloads: number;
  downloaded_bytes: number;
  moves: number;
  deletions: number;
  conflicts: number;
  retryable_failures: number;
  uploaded_folders: [string, number][];
}

/** The sync daemon's own status (photopro_sync::service::Status). */
export interface EngineStatus {
  phase: Phase;
  summary: string;
  progress: Progress;
  last_report: PassSummary | null;
  last_synced_at: number | null;
  last_error: string | null;
  unsettled: number;
  storage_full: boolean;
  deletions_awaiting_approval: number;
  watch_degraded: string | null;
  skipped: string[];
  folder: string;
}

export interface SyncStatus {
  state: SyncState;
  paused: boolean;
  /** A few words for the tray and the status bar. */
  summary: string;
  indexing: { files_seen: number; processed: number; queued: number } | null;
  last_error: string | null;
  last_scan_finished: number | null;
  sync: EngineStatus | null;
  setup: { needs: "pair" | "keychain" | "folder"; message: string } | null;
  sync_folder: string | null;
}

export interface Conflict {
  copy: string;
  original: string;
  original_exists: boolean;
  date: string;
  device: string;
  copy_is_mine: boolean;
  /** The indexed photos of both versions (when the sync folder is a library and was scanned). */
  copy_asset?: number | null;
  copy_hash?: string | null;
  original_asset?: number | null;
  original_hash?: string | null;
}

export type Resolution = "keep_both" | "keep_mine" | "keep_theirs";

export interface SyncTrashEntry {
  id: string;
  /** Where it was, below the sync folder. */
  original: string;
  trashed_at: number;
  bytes: number | null;
}

export type Tier = "FREE" | "STARTER" | "PRO" | "STUDIO" | "BUSINESS" | "ENTERPRISE" | "CUSTOM";

export interface Usage {
  plan: { tier: Tier; add_ons: string[] };
  used_bytes: number;
  reserved_bytes: number;
  limit_bytes: number;
  percent_used: number;
  warning: { threshold_percent: number; message: string } | null;
  classes: { storage_class: "STANDARD" | "INFREQUENT_ACCESS"; bytes: number; object_count: number; percent_of_limit: number; monthly_cost_usd: number }[];
  trash_bytes: number;
  monthly_storage_cost_usd: number;
}

export type UsageView =
  | { state: "not_connected"; reason: string }
  | { state: "unreachable"; api_url: string; message: string }
  | { state: "connected"; api_url: string; usage: Usage; upgrade: { tier: Tier; limit_bytes: number; monthly_price_cents: number } | null };

export interface AppSettings {
  api_url: string | null;
  paused: boolean;
  start_at_login: boolean;
  close_to_tray: boolean;
  notifications: boolean;
  upload_limit_kib: number | null;
  download_limit_kib: number | null;
  device_name: string | null;
}

export interface Filters {
  sync_raw: boolean;
  skip_patterns: string[];
  sync_exclude_patterns: string[];
  workers: number;
  /** Owned by the sync engine's settings; passed through unchanged. */
  sync_folder?: string | null;
}

export interface SettingsView {
  app: AppSettings;
  filters: Filters;
  paired: boolean;
  token_store: string;
  token_error: string | null;
  data_dir: string;
  version: string;
}

export interface AssetFilter {
  text?: string | null;
  taken_from?: string | null;
  taken_to?: string | null;
  camera?: string | null;
  has_gps?: boolean;
  tag?: string | null;
  within?: number | null;
  limit?: number | null;
}

export interface AppError {
  kind: string;
  message: string;
}
