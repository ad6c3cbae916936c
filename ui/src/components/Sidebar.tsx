import { useEffect, useMemo, useRef, useState } from "react";
import type { LibraryTree, UsageView } from "../types";
import { ChevronIcon, FolderIcon, GearIcon, PhotosIcon, SyncIcon } from "./icons";
import { UsageBar } from "./UsageBar";

export type Screen = "library" | "sync" | "settings";

/** Height of one tree row in px (fixed, so the tree can be windowed). */
const TREE_ROW = 26;

interface Props {
  screen: Screen;
  trees: LibraryTree[];
  currentFolder: number | null;
  trashCount: number;
  conflictCount: number;
  usage: UsageView | null;
  onScreen: (screen: Screen) => void;
  onOpenFolder: (id: number) => void;
}

export function Sidebar({ screen, trees, currentFolder, trashCount, conflictCount, usage, onScreen, onOpenFolder }: Props) {
  const [collapsed, setCollapsed] = useState<Set<number>>(new Set());
  const rows = useMemo(() => {
    const out: { id: number; name: string; depth: number; photos: number; hasChildren: boolean; root: boolean }[] = [];
    for (const tree of trees) {
      const hidden = new Set<number>();
      const children = new Set(tree.folders.map((f) => f.parent).filter((p): p is number => p != null));
      for (const node of tree.folders) {
        if (node.parent != null && (hidden.has(node.parent) || collapsed.has(node.parent))) {
          hidden.add(node.id);
          continue;
        }
        out.push({
          id: node.id,
          name: node.depth === 0 ? tree.name : node.name,
          depth: node.depth,
          photos: node.photos,
          hasChildren: children.has(node.id),
          root: node.depth === 0,
        });
      }
    }
    return out;
  }, [trees, collapsed]);
  // The tree is windowed like the grids: a library of 10,000 folders renders ~40 rows.
  const treeRef = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 600 });
  useEffect(() => {
    const el = treeRef.current;
    if (!el) return;
    const update = () => setViewport({ top: el.scrollTop, height: el.clientHeight });
    update();
    el.addEventListener("scroll", update, { passive: true });
    const observer = new ResizeObserver(update);
    observer.observe(el);
    return () => { el.removeEventListener("scroll", update); observer.disconnect(); };
  }, []);
  const first = Math.max(0, Math.floor(viewport.top / TREE_ROW) - 10);
  const last = Math.min(rows.length, Math.ceil((viewport.top + viewport.height) / TREE_ROW) + 10);

  const toggle = (id: number) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <nav className="sidebar" aria-label="Sidebar">
      <div className="brand"><img src="/icon.svg" alt="" />PhotoPro Storage</div>
      <div className="nav">
        <button aria-current={screen === "library" ? "page" : undefined} onClick={() => onScreen("library")}><PhotosIcon />Library</button>
        <button aria-current={screen === "sync" ? "page" : undefined} onClick={() => onScreen("sync")}>
          <SyncIcon />Sync &amp; trash
          {conflictCount > 0
            ? <span className="badge alert" data-testid="conflict-badge">{conflictCount} to review</span>
            : trashCount > 0 && <span className="badge">{trashCount} in trash</span>}
        </button>
        <button aria-current={screen === "settings" ? "page" : undefined} onClick={() => onScreen("settings")}><GearIcon />Settings</button>
      </div>
      <div className="section-title">Folders</div>
      <div className="tree" role="tree" aria-label="Folders" ref={treeRef}>
        {rows.length === 0 && <div style={{ padding: "4px 12px", color: "var(--text-3)", fontSize: 12.5 }}>No library yet</div>}
        <div style={{ height: first * TREE_ROW }} aria-hidden="true" />
        {rows.slice(first, last).map((row) => (
          <button
            key={row.id}
            role="treeitem"
            aria-level={row.depth + 1}
            aria-expanded={row.hasChildren ? !collapsed.has(row.id) : undefined}
            aria-current={screen === "library" && currentFolder === row.id ? "true" : undefined}
            data-drop-folder={row.id}
            data-tree-folder={row.id}
            style={{ paddingLeft: 8 + row.depth * 14 }}
            onClick={() => onOpenFolder(row.id)}
            onKeyDown={(e) => {
              if (e.key === "ArrowRight" && collapsed.has(row.id)) toggle(row.id);
              if (e.key === "ArrowLeft" && row.hasChildren && !collapsed.has(row.id)) toggle(row.id);
            }}
          >
            <span
              onClick={(e) => { e.stopPropagation(); if (row.hasChildren) toggle(row.id); }}
              style={{ width: 12, display: "inline-flex", visibility: row.hasChildren ? "visible" : "hidden" }}
            >
              <ChevronIcon open={!collapsed.has(row.id)} />
            </span>
            {row.root ? <PhotosIcon /> : <FolderIcon />}
            <span className="name">{row.name}</span>
            {row.photos > 0 && <span className="count">{row.photos}</span>}
          </button>
        ))}
        <div style={{ height: (rows.length - last) * TREE_ROW }} aria-hidden="true" />
      </div>
      <UsageBar usage={usage} onOpenSettings={() => onScreen("settings")} />
    </nav>
  );
}
