import { describe, expect, it } from "vitest";
import { gridLayout, moveFocus, updateSelection } from "./virtual";

const base = { gap: 16, minCellWidth: 220, cellHeight: (w: number) => w * 0.75 + 64, overscan: 1 };

describe("gridLayout", () => {
  it("renders only the rows near the viewport of a 10,000-card grid", () => {
    const layout = gridLayout({ ...base, count: 10_000, width: 1180, scrollTop: 50_000, viewportHeight: 800 });
    expect(layout.columns).toBe(5);
    expect(layout.rows).toBe(2000);
    expect(layout.end - layout.start).toBeLessThanOrEqual(layout.columns * 8);
    expect(layout.start % layout.columns).toBe(0);
    expect(layout.offsetY).toBe((layout.start / layout.columns) * layout.rowHeight);
    expect(layout.offsetY).toBeLessThanOrEqual(50_000);
    expect(layout.offsetY + (layout.end - layout.start) / layout.columns * layout.rowHeight).toBeGreaterThanOrEqual(50_800);
  });
  it("clamps at the ends and never has zero columns", () => {
    const top = gridLayout({ ...base, count: 7, width: 100, scrollTop: 0, viewportHeight: 500 });
    expect(top.columns).toBe(1);
    expect(top.start).toBe(0);
    expect(top.end).toBeLessThanOrEqual(7);
    const past = gridLayout({ ...base, count: 3, width: 1180, scrollTop: 99_999, viewportHeight: 500 });
    expect(past.start).toBeLessThanOrEqual(past.end);
    expect(past.end).toBe(3);
    expect(gridLayout({ ...base, count: 0, width: 1180, scrollTop: 0, viewportHeight: 500 }).totalHeight).toBe(0);
  });
  it("fills the width exactly", () => {
    const layout = gridLayout({ ...base, count: 10, width: 1000, scrollTop: 0, viewportHeight: 500 });
    expect(layout.cellWidth * layout.columns + base.gap * (layout.columns - 1)).toBeCloseTo(1000);
  });
});

describe("keyboard and selection", () => {
  it("moves focus like a grid", () => {
    expect(moveFocus("ArrowDown", 2, 10, 4)).toBe(6);
    expect(moveFocus("ArrowDown", 8, 10, 4)).toBe(9);
    expect(moveFocus("ArrowUp", 1, 10, 4)).toBe(0);
    expect(moveFocus("End", 0, 10, 4)).toBe(9);
    expect(moveFocus("x", 0, 10, 4)).toBeNull();
    expect(moveFocus("ArrowRight", 0, 0, 4)).toBeNull();
  });
  it("selects like Finder", () => {
    const ids = [10, 11, 12, 13];
    let s = updateSelection(new Set(), ids, 11, null, { toggle: false, range: false });
    expect([...s.selected]).toEqual([11]);
    s = updateSelection(s.selected, ids, 13, s.anchor, { toggle: false, range: true });
    expect([...s.selected].sort()).toEqual([11, 12, 13]);
    s = updateSelection(s.selected, ids, 12, s.anchor, { toggle: true, range: false });
    expect([...s.selected].sort()).toEqual([11, 13]);
    s = updateSelection(s.selected, ids, 10, s.anchor, { toggle: false, range: false });
    expect([...s.selected]).toEqual([10]);
  });
});
