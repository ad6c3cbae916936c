import { useEffect, useLayoutEffect, useRef, useState, type ReactNode, type RefObject } from "react";
import { gridLayout } from "../virtual";

interface Props<T> {
  items: readonly T[];
  /** The element that scrolls (the grid may sit below other content in it). */
  scroller: RefObject<HTMLElement | null>;
  minCellWidth: number;
  gap: number;
  cellHeight: (cellWidth: number) => number;
  render: (item: T, index: number) => ReactNode;
  label: string;
  onColumns?: (columns: number) => void;
}

/** A grid that renders only the rows near the viewport; heights are fixed per row so nothing jumps. */
export function VirtualGrid<T>({ items, scroller, minCellWidth, gap, cellHeight, render, label, onColumns }: Props<T>) {
  const ref = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ width: 0, scrollTop: 0, height: 800 });

  useLayoutEffect(() => {
    const el = ref.current;
    const sc = scroller.current;
    if (!el || !sc) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      const top = el.getBoundingClientRect().top - sc.getBoundingClientRect().top + sc.scrollTop;
      setView((v) => {
        const next = { width: el.clientWidth, scrollTop: sc.scrollTop - top, height: sc.clientHeight };
        return v.width === next.width && v.scrollTop === next.scrollTop && v.height === next.height ? v : next;
      });
    };
    const schedule = () => { if (!frame) frame = requestAnimationFrame(measure); };
    measure();
    sc.addEventListener("scroll", schedule, { passive: true });
    const observer = new ResizeObserver(schedule);
    observer.observe(el);
    observer.observe(sc);
    return () => {
      sc.removeEventListener("scroll", schedule);
      observer.disconnect();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [scroller]);

  const layout = gridLayout({
    count: items.length, width: view.width, minCellWidth, gap, cellHeight,
    scrollTop: view.scrollTop, viewportHeight: view.height, overscan: 2,
  });
  useEffect(() => onColumns?.(layout.columns), [layout.columns, onColumns]);

  const visible = [];
  for (let i = layout.start; i < layout.end; i++) visible.push(render(items[i], i));
  return (
    <div ref={ref} className="grid" role="grid" aria-label={label} aria-rowcount={layout.rows} style={{ height: layout.totalHeight }}>
      <div
        className="grid-window"
        style={{
          top: layout.offsetY,
          gridTemplateColumns: `repeat(${layout.columns}, minmax(0, 1fr))`,
          gridAutoRows: layout.rowHeight - gap,
          gap,
        }}
      >
        {visible}
      </div>
    </div>
  );
}
