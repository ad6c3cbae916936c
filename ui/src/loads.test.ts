import { describe, expect, it, vi } from "vitest";

vi.mock("./api", () => ({
  errorMessage: (e: unknown) => (e && typeof e === "object" && "message" in e ? String((e as { message: string }).message) : String(e)),
}));
const { load, loadAll, loadFailure } = await import("./loads");

const RETRY = "PhotoPro tries again when the library changes.";

describe("loads side by side", () => {
  it("applies what loaded and names every load that failed, with the first reason and the next step", async () => {
    const trees = vi.fn();
    const trash = vi.fn();
    const failure = await loadAll([
      load("the folder list", () => Promise.resolve(["tree"]), trees),
      load("the library totals", () => Promise.reject({ kind: "index", message: "The index at /data/index.db is locked." }), vi.fn()),
      load("the trash", () => Promise.resolve([]), trash),
      load("the sync status", () => Promise.reject(new Error("IPC closed")), vi.fn()),
    ], RETRY);
    expect(trees).toHaveBeenCalledWith(["tree"]);
    expect(trash).toHaveBeenCalledWith([]);
    expect(failure).toBe(
      "Could not load the library totals and the sync status: The index at /data/index.db is locked. PhotoPro tries again when the library changes.",
    );
  });

  it("says nothing when everything loaded", async () => {
    expect(await loadAll([load("the trash", () => Promise.resolve([]), vi.fn())], RETRY)).toBeNull();
    expect(loadFailure([], RETRY)).toBeNull();
  });

  it("lists three failures in words", () => {
    const error = { message: "gone" };
    expect(loadFailure([{ what: "a", error }, { what: "b", error }, { what: "c", error }], "Retry.")).toBe("Could not load a, b and c: gone. Retry.");
  });
});
