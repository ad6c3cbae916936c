import { describe, expect, it } from "vitest";
import { conflictSides, formatEta, newerStatus, formatRate, percent, progressLine, resolutionHint, splitPath, syncHeadline, transferLine } from "./syncview";
import type { ConflictView, EngineStatus, Progress, SyncStatus } from "./types";

const MB = 2 ** 20;
const progress = (p: Partial<Progress> = {}): Progress => ({
  files_total: 0, files_done: 0, bytes_total: 0, bytes_done: 0, bytes_per_second: 0, eta_seconds: null, in_flight: [], ...p,
});
const engine = (e: Partial<EngineStatus> = {}): EngineStatus => ({
  phase: "up_to_date", summary: "", progress: progress(), last_report: null, last_synced_at: null, last_error: null,
  unsettled: 0, storage_full: false, deletions_awaiting_approval: 0, deletions_in_window: 0, watch_degraded: null, skipped: [], cannot_sync: [], waiting_for: [], folder: "/home/ana/PhotoPro", ...e,
});
const status = (s: Partial<SyncStatus> = {}): SyncStatus => ({
  state: "up_to_date", paused: false, summary: "Up to date", indexing: null, last_error: null, last_scan_finished: null,
  sync: engine(), setup: null, sync_folder: "/home/ana/PhotoPro", seq: 1, ...s,
});

describe("ETA, rate and progress", () => {
  it.each([
    [3, "a few seconds left"], [42, "42 s left"], [61, "2 min left"], [3600 + 600, "about 1 h 10 min left"],
    [null, null], [-1, null], [Number.NaN, null],
  ])("%s s → %s", (s, text) => expect(formatEta(s)).toBe(text));

  it("formats the rate and never divides by zero", () => {
    expect(formatRate(5 * MB)).toBe("5 MiB/s");
    expect(formatRate(0)).toBeNull();
    expect(percent(5, 10)).toBe(50);
    expect(percent(0, 0)).toBe(0);
    expect(percent(12, 10)).toBe(100);
    expect(percent(1, 0)).toBe(100);
  });

  it("says how much of the pass is done, how fast and how long is left", () => {
    expect(progressLine(progress({ bytes_total: 60 * MB, bytes_done: 12 * MB, bytes_per_second: 5 * MB, eta_seconds: 10 }))).toBe("12 MiB of 60 MiB · 5 MiB/s · 10 s left");
    expect(progressLine(progress({ bytes_total: 60 * MB, bytes_done: 12 * MB }))).toBe("12 MiB of 60 MiB");
    expect(progressLine(progress({ bytes_total: 60 * MB, bytes_done: 60 * MB, bytes_per_second: 1, eta_seconds: 0 }))).toBe("60 MiB of 60 MiB · 1 B/s");
  });

  it("splits a transfer's path into the file and its folder", () => {
    expect(splitPath("Smith, John/Smith Wedding/IMG_1.jpg")).toEqual({ name: "IMG_1.jpg", folder: "Smith, John/Smith Wedding" });
    expect(splitPath("IMG_1.jpg")).toEqual({ name: "IMG_1.jpg", folder: "" });
    expect(transferLine({ direction: "download", path: "a.jpg", size: 8 * MB, done: 2 * MB })).toBe("Downloading · 2 MiB of 8 MiB");
  });
});

describe("the Sync screen's headline", () => {
  it("is up to date with the folder named, and offers sync now and pause", () => {
    const h = syncHeadline(status({ sync: engine({ last_synced_at: 1_000 }) }), 1_000_000 + 120_000);
    expect(h.tone).toBe("ok");
    expect(h.title).toBe("Up to date");
    expect(h.detail).toMatch(/^Everything in PhotoPro is safely in PhotoProOS Storage/);
    expect(h.actions).toEqual(["sync_now", "pause"]);
  });

  it("counts the files left while syncing and shows the progress", () => {
    const h = syncHeadline(status({ sync: engine({ phase: "syncing", progress: progress({ files_total: 240, files_done: 40, bytes_total: 100 * MB, bytes_done: 20 * MB, bytes_per_second: 4 * MB, eta_seconds: 20 }) }) }));
    expect(h.title).toBe("Syncing 200 files");
    expect(h.detail).toBe("20 MiB of 100 MiB · 4 MiB/s · 20 s left");
    expect(h.actions).toEqual(["pause"]);
  });

  it.each([
    ["offline", "warn", "Offline", ["sync_now", "pause"]],
    ["storage_full", "danger", "Storage full", ["sync_now", "open_settings"]],
    ["error", "danger", "Sync stopped with a problem", ["sync_now"]],
  ] as const)("%s reads as %s: %s", (phase, tone, title, actions) => {
    const h = syncHeadline(status({ sync: engine({ phase, last_error: "connection refused" }) }));
    expect([h.tone, h.title, h.actions]).toEqual([tone, title, actions]);
  });

  it("puts the held-back deletion count on the approve action", () => {
    const h = syncHeadline(status({ sync: engine({ phase: "awaiting_approval", deletions_awaiting_approval: 64 }) }));
    expect(h.title).toBe("64 deletions held back");
    expect(h.actions[0]).toBe("approve");
  });

  it("is paused whatever the daemon last said, and says how to get going when not set up", () => {
    expect(syncHeadline(status({ paused: true, sync: engine({ phase: "syncing" }) })).actions).toEqual(["resume"]);
    const folder = syncHeadline(status({ sync: null, sync_folder: null, setup: { needs: "folder", message: "Choose…" } }));
    expect([folder.title, folder.actions]).toEqual(["Choose a sync folder", ["choose_folder"]]);
    const pair = syncHeadline(status({ sync: null, setup: { needs: "pair", message: "Pair this computer." } }));
    expect([pair.title, pair.detail, pair.actions]).toEqual(["Sync is not set up", "Pair this computer.", ["open_settings"]]);
    expect(syncHeadline(status({ sync: null })).title).toBe("Starting sync…");
  });
});

describe("statuses arriving out of order", () => {
  it("keeps the status read last, not the one that arrived last", () => {
    const answer = status({ seq: 6, state: "syncing", summary: "Syncing…" });
    const event = status({ seq: 7 });
    expect(newerStatus(null, answer)).toBe(answer);
    expect(newerStatus(answer, event)).toBe(event);
    // The answer to a `sync_status` call read before the event, arriving after it.
    expect(newerStatus(event, answer)).toBe(event);
    expect(newerStatus(event, status({ seq: 7 })).seq).toBe(7);
  });
});

describe("conflicts", () => {
  const conflict: ConflictView = {
    copy: "Smith Wedding/IMG_1 (conflicted copy 2026-11-26 from Studio iMac).jpg", original: "Smith Wedding/IMG_1.jpg",
    original_exists: true, date: "2026-11-26", device: "Studio iMac", copy_is_mine: false,
    copy_asset: null, copy_hash: null, original_asset: null, original_hash: null,
  };
  it("names where each version comes from", () => {
    expect(conflictSides(conflict)).toEqual({ mine: "Edited on this computer", theirs: "Edited on Studio iMac" });
    expect(conflictSides({ ...conflict, copy_is_mine: true, original_exists: false }).theirs).toBe("The other version is no longer there");
  });
  it("says what each choice does before it is made", () => {
    expect(resolutionHint("keep_both", conflict)).toBe("Keep both versions: the copy is renamed “IMG_1 (from Studio iMac).jpg”.");
    expect(resolutionHint("keep_mine", conflict)).toMatch(/sync trash/);
  });
});
