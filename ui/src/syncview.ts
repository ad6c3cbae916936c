// What the Sync screen says about a sync status, and how it formats progress
// (unit-tested in syncview.test.ts). Plain words: a photographer reads this.
import { formatAgo, formatBytes, plural } from "./format";
import type { ConflictView, Progress, Resolution, SyncStatus, Transfer } from "./types";

/** "a few seconds left", "42 s left", "2 min left", "about 1 h 10 min left" (as the daemon's summary says it). */
export function formatEta(seconds: number | null | undefined): string | null {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 10) return "a few seconds left";
  if (seconds < 60) return `${Math.round(seconds)} s left`;
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min left`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `about ${h} h ${m} min left`;
}

/** 5.2 MiB/s; null when nothing moves. */
export function formatRate(bytesPerSecond: number): string | null {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : null;
}

/** 0–100, never NaN, never above 100. */
export function percent(done: number, total: number): number {
  if (!(total > 0)) return done > 0 ? 100 : 0;
  return Math.max(0, Math.min(100, (done / total) * 100));
}

/** "12 MiB of 60 MiB · 5 MiB/s · 2 min left" for the whole pass. */
export function progressLine(p: Progress): string {
  const parts = [`${formatBytes(p.bytes_done)} of ${formatBytes(p.bytes_total)}`];
  const rate = formatRate(p.bytes_per_second);
  if (rate) parts.push(rate);
  const eta = p.bytes_done < p.bytes_total && p.bytes_per_second > 0 ? formatEta(p.eta_seconds) : null;
  if (eta) parts.push(eta);
  return parts.join(" · ");
}

/** A transfer's file name and its folder, from its path below the sync folder. */
export function splitPath(path: string): { name: string; folder: string } {
  const at = path.lastIndexOf("/");
  return at < 0 ? { name: path, folder: "" } : { name: path.slice(at + 1), folder: path.slice(0, at) };
}

export function transferLine(t: Transfer): string {
  return `${t.direction === "upload" ? "Uploading" : "Downloading"} · ${formatBytes(t.done)} of ${formatBytes(t.size)}`;
}

export type Tone = "ok" | "busy" | "paused" | "warn" | "danger" | "idle";
export type SyncAction = "pause" | "resume" | "sync_now" | "approve" | "choose_folder" | "open_settings";

export interface Headline {
  tone: Tone;
  title: string;
  detail: string;
  /** Shown as buttons, first is primary. */
  actions: SyncAction[];
}

const folderName = (path: string | null | undefined) => (path ? path.split(/[\\/]/).filter(Boolean).pop() ?? path : "your sync folder");

/**
 * The status to show: `next` unless `current` was read later. A `sync-status`
 * event and the answer to a `sync_status` call travel by different paths and
 * can arrive out of order; the last to arrive is not always the newest.
 */
export function newerStatus(current: SyncStatus | null, next: SyncStatus): SyncStatus {
  return current && current.seq > next.seq ? current : next;
}

/** The big line on the Sync screen, the sentence under it and what the user can do. */
export function syncHeadline(status: SyncStatus, now = Date.now()): Headline {
  const engine = status.sync;
  const folder = folderName(status.sync_folder ?? engine?.folder);
  if (status.paused) {
    return { tone: "paused", title: "Sync is paused", detail: "Nothing is uploaded or downloaded until you resume. Changes made meanwhile are picked up then.", actions: ["resume"] };
  }
  if (!engine) {
    if (status.setup?.needs === "folder") {
      return { tone: "idle", title: "Choose a sync folder", detail: "Pick the folder to keep in PhotoProOS Storage. Photos you put in it upload by themselves, and it stays the same on all your computers.", actions: ["choose_folder"] };
    }
    if (status.setup) {
      return { tone: "idle", title: "Sync is not set up", detail: status.setup.message, actions: ["open_settings"] };
    }
    return { tone: "busy", title: "Starting sync…", detail: "Looking at your sync folder and PhotoProOS Storage.", actions: [] };
  }
  const p = engine.progress;
  const left = Math.max(0, p.files_total - p.files_done);
  const last = engine.last_synced_at ? formatAgo(engine.last_synced_at, now) : null;
  switch (engine.phase) {
    case "starting":
      return { tone: "busy", title: "Starting sync…", detail: "Looking at your sync folder and PhotoProOS Storage.", actions: ["pause"] };
    case "syncing":
      return {
        tone: "busy",
        title: left > 0 ? `Syncing ${plural(left, "file")}` : "Syncing…",
        detail: left > 0 ? progressLine(p) : `Comparing ${folder} with PhotoProOS Storage.`,
        actions: ["pause"],
      };
    case "up_to_date":
      return { tone: "ok", title: "Up to date", detail: `Everything in ${folder} is safely in PhotoProOS Storage${last ? ` — last checked ${last}` : ""}.`, actions: ["sync_now", "pause"] };
    case "waiting":
      return { tone: "warn", title: `Waiting for ${plural(engine.unsettled, "file")} to finish copying`, detail: "They upload as soon as they stop changing — a card still importing, or an export still writing.", actions: ["pause"] };
    case "paused":
      return { tone: "paused", title: "Sync is paused", detail: "Nothing is uploaded or downloaded until you resume.", actions: ["resume"] };
    case "offline":
      return { tone: "warn", title: "Offline", detail: "PhotoProOS Storage can't be reached right now. Your photos are safe on this computer; sync retries by itself and catches up when the connection is back.", actions: ["sync_now", "pause"] };
    case "storage_full":
      return { tone: "danger", title: "Storage full", detail: "New photos stay on this computer until there is room. Upgrade your plan (see the storage bar) or empty the trash, then sync again.", actions: ["sync_now", "open_settings"] };
    case "awaiting_approval":
      return {
        tone: "warn",
        title: `${plural(engine.deletions_awaiting_approval, "deletion")} held back`,
        detail: `More files than usual were deleted at once, so they were not deleted from PhotoProOS Storage yet. If you meant it, delete them everywhere; if not, put them back in ${folder} and they stay.`,
        actions: ["approve", "pause"],
      };
    case "error":
      return { tone: "danger", title: "Sync stopped with a problem", detail: engine.last_error ?? "Something went wrong. Sync tries again by itself.", actions: ["sync_now"] };
    case "stopped":
      return { tone: "idle", title: "Sync stopped", detail: "Sync is not running.", actions: ["sync_now"] };
  }
}

/** Where each version of a conflicted photo came from, in words. */
export function conflictSides(c: ConflictView): { mine: string; theirs: string } {
  const theirsExists = c.copy_is_mine ? c.original_exists : true;
  return {
    mine: "Edited on this computer",
    theirs: !theirsExists ? "The other version is no longer there" : c.copy_is_mine ? "Edited on another computer" : `Edited on ${c.device}`,
  };
}

/** What a resolution does, said before the user clicks. */
export function resolutionHint(resolution: Resolution, c: ConflictView): string {
  const name = splitPath(c.original).name;
  switch (resolution) {
    case "keep_both": return `Keep both versions: the copy is renamed “${name.replace(/(\.[^.]*)?$/, ` (from ${c.device})$1`)}”.`;
    case "keep_mine": return `Keep your version as “${name}”; the other goes to the sync trash.`;
    case "keep_theirs": return `Keep the other version as “${name}”; yours goes to the sync trash.`;
  }
}
