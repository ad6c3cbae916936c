import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FolderCard as FolderCardData } from "../types";

const folderStrip = vi.fn();
vi.mock("../api", () => ({
  api: { folderStrip: (folder: number) => folderStrip(folder) },
  errorMessage: (e: unknown) => String((e as { message: string }).message),
  thumbUrl: (id: number) => `thumb://localhost/grid/${id}`,
}));
const { FolderCard, forgetStrips } = await import("./FolderCard");

const folder: FolderCardData = {
  id: 4, name: "Smith Wedding", path: "/photos/Smith Wedding", photos: 12, files_total: 12, bytes_total: 48 << 20,
  first_taken: null, last_taken: null, cover: 1, client: null,
};
const card = () => render(<FolderCard folder={folder} index={0} focused={false} onOpen={vi.fn()} onFocus={vi.fn()} onPointerDown={vi.fn()} />);

describe("folder card hover strip", () => {
  afterEach(() => { cleanup(); forgetStrips(); folderStrip.mockReset(); });

  it("says why the strip could not load, and loads it on the next hover", async () => {
    folderStrip.mockRejectedValueOnce({ kind: "index", message: "The index is locked" });
    const first = card();
    fireEvent.mouseEnter(first.container.querySelector(".card")!);
    expect((await screen.findByTestId("strip-error")).textContent)
      .toBe("Could not load this folder's photos: The index is locked. Point at the card again to retry.");
    first.unmount();

    folderStrip.mockResolvedValueOnce([{ id: 2, name: "IMG_2.jpg" }, { id: 3, name: "IMG_3.jpg" }]);
    const second = card();
    fireEvent.mouseEnter(second.container.querySelector(".card")!);
    expect((await screen.findByTestId("hover-strip")).querySelectorAll("img")).toHaveLength(2);
    expect(screen.queryByTestId("strip-error")).toBeNull();
    expect(folderStrip).toHaveBeenCalledTimes(2);
  });
});
