import { useCallback, useEffect, useRef, useState } from "react";
import { listen } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open } from "@tauri-apps/plugin-dialog";
import { api, errorMessage } from "./api";
import { Browser, type Notice } from "./components/Browser";
import { forgetStrips } from "./components/FolderCard";
import { SettingsScreen, type Theme } from "./components/SettingsScreen";
import { Sidebar, type Screen } from "./components/Sidebar";
import { SyncScreen, type Loaded } from "./components/SyncScreen";
import { plural } from "./format";
import { load, loadAll } from "./loads";
import { newerStatus } from "./syncview";
import type { ConflictView, FolderView, LibraryStatus, LibraryTree, SyncStatus, SyncTrashItem, TrashEntry, UsageView } from "./types";

/** What the user can do when the sidebar, totals, trash or status fail to load. */
const SIDE_RETRY = "PhotoPro tries again when the library changes; if this keeps happening, quit and reopen PhotoPro.";

function applyTheme(theme: Theme) {
  const dark = theme === "dark" || (theme === "system" && window.matchMedia?.("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

export function App() {
  const [screen, setScreen] = useState<Screen>("library");
  const [folder, setFolder] = useState<number | null>(null);
  const [view, setView] = useState<FolderView | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [trees, setTrees] = useState<LibraryTree[]>([]);
  const [status, setStatus] = useState<SyncStatus | null>(null);
  // Events and command answers arrive by different paths: keep the newest, not the last to arrive.
  const takeStatus = useCallback((next: SyncStatus) => setStatus((current) => newerStatus(current, next)), []);
  const [library, setLibrary] = useState<LibraryStatus | null>(null);
  const [trash, setTrash] = useState<TrashEntry[]>([]);
  const [usage, setUsage] = useState<UsageView | null>(null);
  const [conflicts, setConflicts] = useState<Loaded<ConflictView>>({ items: null, error: null });
  const [syncTrash, setSyncTrash] = useState<Loaded<SyncTrashItem>>({ items: null, error: null });
  const [notice, setNotice] = useState<Notice | null>(null);
  const [dropping, setDropping] = useState(false);
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem("theme") as Theme) ?? "system");
  const folderRef = useRef<number | null>(null);
  folderRef.current = view?.folder?.id ?? folder;

  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem("theme", theme);
    const media = window.matchMedia?.("(prefers-color-scheme: dark)");
    const follow = () => applyTheme(theme);
    media?.addEventListener?.("change", follow);
    return () => media?.removeEventListener?.("change", follow);
  }, [theme]);

  const loadFolder = useCallback((id: number | null) => {
    setLoading(true);
    api.openFolder(id).then(
      (v) => { setView(v); setError(null); },
      (e) => setError(errorMessage(e)),
    ).finally(() => setLoading(false));
  }, []);

  const showNotice = useCallback((n: Notice) => setNotice(n), []);
  const refreshSide = useCallback(() => {
    // What loaded before stays on screen; a failure is said, not swallowed.
    loadAll([
      load("the folder list", api.libraryTree, setTrees),
      load("the library totals", api.libraryStatus, setLibrary),
      load("the trash", api.listTrash, setTrash),
      load("the sync status", api.syncStatus, takeStatus),
    ], SIDE_RETRY).then((failure) => { if (failure) showNotice({ text: failure, error: true }); });
  }, [takeStatus, showNotice]);
  const refreshSync = useCallback(() => {
    api.listConflicts().then((items) => setConflicts({ items, error: null }), (e) => setConflicts({ items: [], error: errorMessage(e) }));
    api.listSyncTrash().then((items) => setSyncTrash({ items, error: null }), (e) => setSyncTrash({ items: [], error: errorMessage(e) }));
  }, []);
  const refreshUsage = useCallback(() => { api.usage().then(setUsage, (e) => setUsage({ state: "unreachable", api_url: "", message: errorMessage(e) })); }, []);

  const refreshAll = useCallback(() => {
    forgetStrips();
    loadFolder(folderRef.current);
    refreshSide();
    refreshSync();
    refreshUsage();
  }, [loadFolder, refreshSide, refreshSync, refreshUsage]);

  useEffect(() => { loadFolder(folder); }, [folder, loadFolder]);
  useEffect(() => {
    refreshSide();
    refreshSync();
    refreshUsage();
    const timer = setInterval(refreshUsage, 60_000);
    const unlisten = [
      listen<SyncStatus>("sync-status", (e) => takeStatus(e.payload)),
      listen("library-changed", () => refreshAll()),
      // A sync pass ended: conflicts, the sync trash and usage may have changed.
      listen("sync-pass", () => { refreshSync(); refreshUsage(); }),
    ];
    return () => { clearInterval(timer); unlisten.forEach((p) => p.then((u) => u())); };
  }, [refreshSide, refreshSync, refreshUsage, refreshAll]);

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), notice.undo ? 8000 : 4500);
    return () => clearTimeout(timer);
  }, [notice]);

  const openFolder = useCallback((id: number | null) => {
    setScreen("library");
    if (id === folderRef.current) loadFolder(id);
    else setFolder(id);
  }, [loadFolder]);

  const addLibrary = useCallback(() => {
    open({ directory: true, multiple: false, title: "Choose your photo library folder" }).then((path) => {
      if (typeof path === "string") api.addLibrary(path).then(() => { showNotice({ text: "Reading your library…" }); refreshAll(); }, (e) => showNotice({ text: errorMessage(e), error: true }));
    }, (e) => showNotice({ text: errorMessage(e), error: true }));
  }, [refreshAll, showNotice]);

  const chooseSyncFolder = useCallback(() => {
    open({ directory: true, multiple: false, title: "Choose the folder to keep in sync" }).then((path) => {
      if (typeof path === "string") api.setSyncFolder(path).then((folder) => { showNotice({ text: `Syncing ${folder}` }); refreshAll(); }, (e) => showNotice({ text: errorMessage(e), error: true }));
    }, (e) => showNotice({ text: errorMessage(e), error: true }));
  }, [refreshAll, showNotice]);

  // Files dropped from Finder / Explorer: onto a card or sidebar folder, or into the open folder.
  useEffect(() => {
    let highlighted: HTMLElement | null = null;
    const folderAt = (x: number, y: number) => {
      const scale = window.devicePixelRatio || 1;
      return document.elementFromPoint(x / scale, y / scale)?.closest<HTMLElement>("[data-drop-folder]") ?? null;
    };
    const highlight = (el: HTMLElement | null) => {
      if (el === highlighted) return;
      highlighted?.classList.remove("drop-target");
      el?.classList.add("drop-target");
      highlighted = el;
    };
    const unlisten = getCurrentWebview().onDragDropEvent((event) => {
      const p = event.payload;
      if (p.type === "enter" || p.type === "over") {
        setDropping(true);
        highlight(folderAt(p.position.x, p.position.y));
      } else if (p.type === "leave") {
        setDropping(false);
        highlight(null);
      } else if (p.type === "drop") {
        setDropping(false);
        const el = folderAt(p.position.x, p.position.y);
        highlight(null);
        const to = el ? Number(el.dataset.dropFolder) : folderRef.current;
        if (to == null || p.paths.length === 0) return;
        api.importFiles(p.paths, to).then((o) => {
          showNotice({ text: `Importing ${plural(o.done, "file")}${o.failed.length ? ` · ${o.failed.length} skipped: ${o.failed[0].error}` : ""}`, error: o.done === 0 && o.failed.length > 0 });
          refreshAll();
        }, (e) => showNotice({ text: errorMessage(e), error: true }));
      }
    });
    return () => { unlisten.then((u) => u()); };
  }, [refreshAll, showNotice]);

  return (
    <div className="app">
      <Sidebar screen={screen} trees={trees} currentFolder={view?.folder?.id ?? null} trashCount={trash.length} conflictCount={conflicts.items?.length ?? 0} usage={usage}
        onScreen={setScreen} onOpenFolder={openFolder} />
      <div className="main" style={{ position: "relative" }}>
        {screen === "library" && (
          <Browser view={view} loading={loading} error={error} trees={trees} onOpenFolder={openFolder}
            onChanged={refreshAll} onNotice={showNotice} onAddLibrary={addLibrary} />
        )}
        {screen === "sync" && <SyncScreen status={status} library={library} trash={trash} conflicts={conflicts} syncTrash={syncTrash}
          onChanged={refreshAll} onNotice={showNotice} onChooseFolder={chooseSyncFolder} onOpenSettings={() => setScreen("settings")} />}
        {screen === "settings" && <SettingsScreen trees={trees} theme={theme} syncFolder={status?.sync_folder ?? null} onTheme={setTheme} onChanged={refreshAll}
          onNotice={showNotice} onAddLibrary={addLibrary} onChooseSyncFolder={chooseSyncFolder} />}
        <footer className="statusbar" role="status" aria-live="polite">
          <span className={`dot ${status?.state ?? ""}`} />
          <span data-testid="status-summary">{status?.summary ?? "Starting…"}</span>
          <span className="spacer" />
          {library && <span>{plural(library.photos, "photo")} · {plural(library.galleries, "gallery", "galleries")}</span>}
        </footer>
        {dropping && <div className="drop-hint"><span>Drop on a folder to copy the files into it, or anywhere to add them to {view?.folder?.name ?? "this folder"}</span></div>}
      </div>
      {notice && (
        <div className={`toast ${notice.error ? "error" : ""}`} role={notice.error ? "alert" : "status"}>
          <span>{notice.text}</span>
          {notice.undo && <button onClick={() => { notice.undo?.(); setNotice(null); }}>Undo</button>}
        </div>
      )}
    </div>
  );
}
