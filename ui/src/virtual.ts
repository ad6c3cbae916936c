// Windowing for grids of fixed-size cells: only the rows in (or near) the
// viewport are rendered, so 10,000 folder cards cost what 30 do.

export interface GridLayout {
  columns: number;
  cellWidth: number;
  rowHeight: number;
  rows: number;
  totalHeight: number;
  /** First and one-past-last item index to render. */
  start: number;
  end: number;
  /** Pixel offset of the first rendered row. */
  offsetY: number;
}

export interface GridInput {
  count: number;
  width: number;
  minCellWidth: number;
  gap: number;
  /** Height of a cell for a given cell width (cards keep their aspect ratio). */
  cellHeight: (cellWidth: number) => number;
  scrollTop: number;
  viewportHeight: number;
  /** Extra rows above and below the viewport. */
  overscan?: number;
}

export function gridLayout(input: GridInput): GridLayout {
  const { count, gap, scrollTop, viewportHeight } = input;
  const width = Math.max(0, input.width);
  const columns = Math.max(1, Math.floor((width + gap) / (input.minCellWidth + gap)));
  const cellWidth = columns > 0 ? (width - gap * (columns - 1)) / columns : width;
  const rowHeight = Math.round(input.cellHeight(cellWidth)) + gap;
  const rows = Math.ceil(count / columns);
  const totalHeight = Math.max(0, rows * rowHeight - gap);
  const overscan = input.overscan ?? 2;
  const firstRow = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const lastRow = Math.min(rows, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return {
    columns,
    cellWidth,
    rowHeight,
    rows,
    totalHeight,
    start: Math.min(count, firstRow * columns),
    end: Math.min(count, lastRow * columns),
    offsetY: firstRow * rowHeight,
  };
}

/** Keyboard movement in a grid: the index the arrow / page / home / end key lands on. */
export function moveFocus(key: string, index: number, count: number, columns: number, pageRows = 4): number | null {
  if (count === 0) return null;
  const clamp = (i: number) => Math.max(0, Math.min(count - 1, i));
  switch (key) {
    case "ArrowRight": return clamp(index + 1);
    case "ArrowLeft": return clamp(index - 1);
    case "ArrowDown": return clamp(index + columns);
    case "ArrowUp": return clamp(index - columns);
    case "PageDown": return clamp(index + columns * pageRows);
    case "PageUp": return clamp(index - columns * pageRows);
    case "Home": return 0;
    case "End": return count - 1;
    default: return null;
  }
}

/** Selection with the platform's modifiers: click replaces, Ctrl/Cmd toggles, Shift extends from the anchor. */
export function updateSelection(
  selected: ReadonlySet<number>,
  ids: readonly number[],
  clicked: number,
  anchor: number | null,
  modifiers: { toggle: boolean; range: boolean },
): { selected: Set<number>; anchor: number } {
  if (modifiers.range && anchor != null) {
    const a = ids.indexOf(anchor);
    const b = ids.indexOf(clicked);
    if (a >= 0 && b >= 0) {
      const next = new Set(modifiers.toggle ? selected : []);
      for (let i = Math.min(a, b); i <= Math.max(a, b); i++) next.add(ids[i]);
      return { selected: next, anchor };
    }
  }
  if (modifiers.toggle) {
    const next = new Set(selected);
    if (next.has(clicked)) next.delete(clicked);
    else next.add(clicked);
    return { selected: next, anchor: clicked };
  }
  return { selected: new Set([clicked]), anchor: clicked };
}
