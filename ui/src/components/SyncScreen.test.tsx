import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ConflictView, SyncStatus } from "../types";

const calls: [string, unknown[]][] = [];
vi.mock("../api", () => {
  const record = (name: string) => (...args: unknown[]) => { calls.push([name, args]); return Promise.resolve(null); };
  return {
    api: { setPaused: record("setPaused"), syncNow: record("syncNow"), approveDeletions: record("approveDeletions"), resolveConflict: record("resolveConflict"), restoreSyncTrash: record("restoreSyncTrash"), rescan: record("rescan") },
    errorMessage: (e: unknown) => String(e),
    thumbUrl: (id: number) => `thumb://localhost/grid/${id}`,
  };
});
const { SyncScreen } = await import("./SyncScreen");

const MB = 2 ** 20;
const syncing: SyncStatus = {
  state: "syncing", paused: false, summary: "Syncing 3 files", indexing: null, last_error: null, last_scan_finished: null, setup: null,
  sync_folder: "/home/ana/PhotoPro",
  seq: 1,
  sync: {
    phase: "syncing", summary: "", last_report: null, last_synced_at: null, last_error: null, unsettled: 0, storage_full: false,
    deletions_awaiting_approval: 0, deletions_in_window: 0, watch_degraded: null, skipped: [], cannot_sync: [], waiting_for: [], folder: "/home/ana/PhotoPro",
    progress: {
      files_total: 5, files_done: 2, bytes_total: 40 * MB, bytes_done: 10 * MB, bytes_per_second: 2 * MB, eta_seconds: 15,
      in_flight: [
        { direction: "upload", path: "Smith, John/Smith Wedding/IMG_0412.jpg", size: 8 * MB, done: 2 * MB },
        { direction: "download", path: "Jones/IMG_7.jpg", size: 4 * MB, done: 3 * MB },
      ],
    },
  },
};
const conflict: ConflictView = {
  copy: "Smith Wedding/IMG_1 (conflicted copy 2026-11-26 from E2E).jpg", original: "Smith Wedding/IMG_1.jpg", original_exists: true,
  date: "2026-11-26", device: "E2E", copy_is_mine: true, copy_asset: 7, copy_hash: null, original_asset: 8, original_hash: null,
};
const props = {
  library: null, trash: [], onChanged: vi.fn(), onNotice: vi.fn(), onChooseFolder: vi.fn(), onOpenSettings: vi.fn(),
  conflicts: { items: [conflict], error: null }, syncTrash: { items: [], error: null },
};

afterEach(() => { cleanup(); calls.length = 0; });

describe("SyncScreen", () => {
  it("shows each transfer with its own progress, and the pass's ETA", () => {
    render(<SyncScreen status={syncing} {...props} />);
    expect(screen.getByTestId("sync-summary").textContent).toBe("Syncing 3 files");
    const rows = within(screen.getByTestId("transfers")).getAllByRole("listitem");
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain("IMG_0412.jpg");
    expect(rows[0].textContent).toContain("Uploading · 2 MiB of 8 MiB");
    expect((rows[0].querySelector(".progress > div") as HTMLElement).style.width).toBe("25%");
    expect(screen.getByRole("progressbar", { name: "Sync progress" }).getAttribute("aria-valuenow")).toBe("25");
    expect(screen.getByTestId("sync-detail").textContent).toBe("10 MiB of 40 MiB · 2 MiB/s · 15 s left");
    expect(screen.getByText("2 files of 5 done", { selector: ".head-note" })).toBeTruthy();
  });

  it("resolves a conflict with the button chosen and shows both versions", () => {
    render(<SyncScreen status={syncing} {...props} />);
    const item = screen.getByTestId("conflicts").querySelector("li")!;
    expect([...item.querySelectorAll("img")].map((i) => i.getAttribute("src"))).toEqual(["thumb://localhost/grid/7", "thumb://localhost/grid/8"]);
    fireEvent.click(within(item).getByText("Keep mine"));
    expect(calls).toEqual([["resolveConflict", [conflict.copy, "keep_mine"]]]);
  });

  it("offers to approve held-back deletions with the count, and loading / empty / error lists", () => {
    const held: SyncStatus = { ...syncing, state: "awaiting_approval", sync: { ...syncing.sync!, phase: "awaiting_approval", deletions_awaiting_approval: 64 } };
    render(<SyncScreen status={held} {...props} conflicts={{ items: null, error: null }} syncTrash={{ items: [], error: "Cannot read the trash" }} />);
    fireEvent.click(screen.getByTestId("approve-deletions"));
    expect(screen.getByTestId("approve-deletions").textContent).toBe("Delete 64 files everywhere");
    expect(calls).toEqual([["approveDeletions", []]]);
    expect(screen.getByRole("alert").textContent).toBe("Cannot read the trash");
    expect(document.querySelector("[aria-label=Conflicts] [aria-busy=true]")).toBeTruthy();
  });
});

describe("files sync leaves alone", () => {
  it("lists each file it cannot sync with its reason, and the files still being written", () => {
    const status: SyncStatus = {
      ...syncing,
      sync: {
        ...syncing.sync!,
        cannot_sync: [{ path: "Film/scan 1965.jpg", reason: "the file is unreadable: permission denied — give PhotoPro read access" }],
        waiting_for: ["Smith Wedding/IMG_0413.jpg"],
      },
    };
    render(<SyncScreen {...props} status={status} />);
    const cannot = screen.getByTestId("cannot-sync");
    expect(within(cannot).getByText("scan 1965.jpg")).toBeTruthy();
    expect(within(cannot).getByText(/permission denied — give PhotoPro read access/)).toBeTruthy();
    expect(within(screen.getByTestId("waiting-for")).getByText("IMG_0413.jpg")).toBeTruthy();
  });

  it("shows neither list when there is nothing in them", () => {
    render(<SyncScreen {...props} status={syncing} />);
    expect(screen.queryByTestId("cannot-sync")).toBeNull();
    expect(screen.queryByTestId("waiting-for")).toBeNull();
  });
});
