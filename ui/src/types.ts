// The shapes the Rust commands and events exchange with the UI are generated
// from the Rust definitions into ./generated (src-tauri/src/bindings.rs; run
// `cargo test -p photopro-app --lib export_ts_bindings` after changing one).
// Only shapes that exist on this side alone are written here.
export type * from "./generated";
import type { SyncStatus } from "./generated";

/** The word `SyncStatus.state` holds. */
export type SyncState = SyncStatus["state"];

/** What every command rejects with: `AppError` serialized by hand in src-tauri/src/error.rs. */
export interface AppError {
  kind: string;
  message: string;
}
