import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, errorMessage } from "../api";
import { beginDrag, consumeDragClick, type DragPayload } from "../dnd";
import { plural } from "../format";
import type { AssetFilter, FolderCard as FolderCardData, FolderView, FoundAsset, LibraryTree } from "../types";
import { moveFocus, updateSelection } from "../virtual";
import { FolderPicker, Viewer } from "./Dialogs";
import { FolderCard } from "./FolderCard";
import { FilterIcon, SearchIcon, TrashIcon } from "./icons";
import { PhotoTile, type TilePhoto } from "./PhotoTile";
import { VirtualGrid } from "./VirtualGrid";

export interface Notice {
  text: string;
  error?: boolean;
  undo?: () => void;
}

interface Props {
  view: FolderView | null;
  loading: boolean;
  error: string | null;
  trees: LibraryTree[];
  onOpenFolder: (id: number | null) => void;
  onChanged: () => void;
  onNotice: (notice: Notice) => void;
  onAddLibrary: () => void;
}

const PHOTO_KINDS = new Set(["jpeg", "png", "tiff", "webp", "heic", "raw"]);
const CARD_MIN = 228;
const TILE_MIN = 156;
const GAP = 16;
const cardHeight = (w: number) => (w * 3) / 4 + 64;
/** Cards with a client line are one line taller (all cards of a grid share one height). */
const cardHeightWithClient = (w: number) => (w * 3) / 4 + 82;
const tileHeight = (w: number) => w;

const emptyFilter: AssetFilter = { text: "", taken_from: "", taken_to: "", camera: "", has_gps: false, tag: "", within: null, limit: null };
const filterActive = (f: AssetFilter) => Boolean(f.text?.trim() || f.taken_from || f.taken_to || f.camera?.trim() || f.has_gps || f.tag?.trim());

export function Browser({ view, loading, error, trees, onOpenFolder, onChanged, onNotice, onAddLibrary }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const [filter, setFilter] = useState<AssetFilter>(emptyFilter);
  const [showFilters, setShowFilters] = useState(false);
  const [results, setResults] = useState<FoundAsset[] | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [anchor, setAnchor] = useState<number | null>(null);
  const [focus, setFocus] = useState<{ zone: "folders" | "photos"; index: number }>({ zone: "folders", index: 0 });
  const [columns, setColumns] = useState({ folders: 1, photos: 1 });
  const [picker, setPicker] = useState<null | "move" | "copy">(null);
  const [viewing, setViewing] = useState<number | null>(null);

  const folderId = view?.folder?.id ?? null;
  const searching = filterActive(filter);
  const folders = searching ? [] : view?.folders ?? [];
  const hasClients = useMemo(() => folders.some((f) => f.client), [folders]);
  const photos: TilePhoto[] = searching ? results ?? [] : view?.photos ?? [];
  const photoIds = useMemo(() => photos.map((p) => p.id), [photos]);
  const photoCount = useMemo(() => photos.filter((p) => PHOTO_KINDS.has(p.kind)).length, [photos]);

  // A new folder starts with nothing selected, at the top.
  useEffect(() => {
    setSelected(new Set());
    setAnchor(null);
    setFocus({ zone: "folders", index: 0 });
    scroller.current?.scrollTo({ top: 0 });
  }, [folderId]);

  // Search is answered by the index, debounced while typing.
  useEffect(() => {
    if (!searching) {
      setResults(null);
      return;
    }
    const timer = setTimeout(() => {
      api.findAssets({ ...filter, within: folderId, limit: 2000 }).then(setResults, (e) => onNotice({ text: errorMessage(e), error: true }));
    }, 150);
    return () => clearTimeout(timer);
  }, [filter, folderId, searching, onNotice]);

  const report = useCallback((verb: string, outcome: { done: number; failed: { name: string; error: string }[] }, undo?: () => void) => {
    const failed = outcome.failed.length;
    onNotice({
      text: `${verb} ${plural(outcome.done, "item")}${failed ? ` · ${failed} could not be: ${outcome.failed[0].error}` : ""}`,
      error: failed > 0 && outcome.done === 0,
      undo,
    });
    onChanged();
  }, [onNotice, onChanged]);

  const dropOnFolder = useCallback((to: number, payload: DragPayload, copy: boolean) => {
    if (payload.kind === "assets") {
      const action = copy ? api.copyAssets(payload.ids, to) : api.moveAssets(payload.ids, to);
      action.then((o) => { report(copy ? "Copied" : "Moved", o); setSelected(new Set()); }, (e) => onNotice({ text: errorMessage(e), error: true }));
    } else {
      api.moveFolder(payload.id, to).then(() => report("Moved", { done: 1, failed: [] }), (e) => onNotice({ text: errorMessage(e), error: true }));
    }
  }, [report, onNotice]);

  const trashSelection = useCallback(() => {
    const ids = [...selected];
    if (ids.length === 0) return;
    api.trashAssets(ids).then((o) => {
      setSelected(new Set());
      const restore = o.trash_ids ?? [];
      report("Moved to trash:", o, restore.length ? () => {
        Promise.all(restore.map((id) => api.restoreTrash(id))).then(
          () => onNotice({ text: `Restored ${plural(restore.length, "photo")}` }),
          (e) => onNotice({ text: errorMessage(e), error: true }),
        );
      } : undefined);
    }, (e) => onNotice({ text: errorMessage(e), error: true }));
  }, [selected, report, onNotice]);

  const trashFolder = useCallback((folder: FolderCardData) => {
    api.trashFolder(folder.id).then((entry) => {
      report("Moved to trash:", { done: 1, failed: [] }, () => {
        api.restoreTrash(entry.id).then(() => onNotice({ text: `Restored “${entry.name}”` }), (e) => onNotice({ text: errorMessage(e), error: true }));
      });
    }, (e) => onNotice({ text: errorMessage(e), error: true }));
  }, [report, onNotice]);

  const onPhotoClick = useCallback((e: React.MouseEvent, photo: TilePhoto, index: number) => {
    if (consumeDragClick()) return;
    const next = updateSelection(selected, photoIds, photo.id, anchor, { toggle: e.ctrlKey || e.metaKey, range: e.shiftKey });
    setSelected(next.selected);
    setAnchor(next.anchor);
    setFocus({ zone: "photos", index });
  }, [selected, photoIds, anchor]);

  const onPhotoPointerDown = useCallback((e: React.PointerEvent, photo: TilePhoto) => {
    beginDrag(e, () => {
      const ids = selected.has(photo.id) ? [...selected] : [photo.id];
      return { kind: "assets", ids, label: ids.length === 1 ? photo.name : `${ids.length} photos` };
    }, dropOnFolder);
  }, [selected, dropOnFolder]);

  const onCardPointerDown = useCallback((e: React.PointerEvent, folder: FolderCardData) => {
    beginDrag(e, () => ({ kind: "folder", id: folder.id, label: folder.name }), dropOnFolder);
  }, [dropOnFolder]);

  const onCardFocus = useCallback((index: number) => {
    if (!consumeDragClick()) setFocus({ zone: "folders", index });
  }, []);

  // Keep the focused cell in view and focused (it may have been virtualized away).
  useEffect(() => {
    const sc = scroller.current;
    if (!sc) return;
    const selector = focus.zone === "folders" ? `[data-folder-card="${folders[focus.index]?.id}"]` : `[data-photo="${photos[focus.index]?.id}"]`;
    const el = sc.querySelector<HTMLElement>(selector);
    if (el && sc.contains(document.activeElement)) {
      el.focus({ preventScroll: true });
      el.scrollIntoView({ block: "nearest" });
    }
  }, [focus, folders, photos]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if ((e.target as HTMLElement).closest("input, .dialog, .viewer")) return;
    const list = focus.zone === "folders" ? folders : photos;
    const next = moveFocus(e.key, focus.index, list.length, columns[focus.zone]);
    if (next !== null) {
      e.preventDefault();
      if (focus.zone === "folders" && e.key === "ArrowDown" && focus.index + columns.folders >= folders.length && photos.length) {
        setFocus({ zone: "photos", index: 0 });
      } else if (focus.zone === "photos" && e.key === "ArrowUp" && focus.index < columns.photos && folders.length) {
        setFocus({ zone: "folders", index: folders.length - 1 });
      } else {
        setFocus({ zone: focus.zone, index: next });
        if (focus.zone === "photos" && e.shiftKey) {
          const s = updateSelection(selected, photoIds, photos[next].id, anchor ?? photos[focus.index].id, { toggle: false, range: true });
          setSelected(s.selected);
          setAnchor(s.anchor);
        }
      }
      return;
    }
    if (e.key === "Enter" && focus.zone === "photos" && photos[focus.index]) setViewing(photos[focus.index].id);
    else if (e.key === " " && focus.zone === "photos" && photos[focus.index]) {
      e.preventDefault();
      const s = updateSelection(selected, photoIds, photos[focus.index].id, anchor, { toggle: true, range: false });
      setSelected(s.selected);
      setAnchor(s.anchor);
    } else if ((e.key === "Backspace" || (e.altKey && e.key === "ArrowUp")) && view?.folder?.parent != null) onOpenFolder(view.folder.parent);
    else if ((e.ctrlKey || e.metaKey) && e.key === "a") {
      e.preventDefault();
      setSelected(new Set(photoIds));
    } else if (e.key === "Escape") setSelected(new Set());
    else if (e.key === "Delete") {
      if (selected.size) trashSelection();
      else if (focus.zone === "folders" && folders[focus.index]) trashFolder(folders[focus.index]);
    }
  };

  useEffect(() => {
    const slash = (e: KeyboardEvent) => {
      if (e.key === "/" && !(e.target as HTMLElement).closest("input, textarea")) {
        e.preventDefault();
        searchBox.current?.focus();
      }
    };
    window.addEventListener("keydown", slash);
    return () => window.removeEventListener("keydown", slash);
  }, []);

  const setColumnsFolders = useCallback((n: number) => setColumns((c) => (c.folders === n ? c : { ...c, folders: n })), []);
  const setColumnsPhotos = useCallback((n: number) => setColumns((c) => (c.photos === n ? c : { ...c, photos: n })), []);

  const renderCard = useCallback((folder: FolderCardData, index: number) => (
    <FolderCard key={folder.id} folder={folder} index={index} focused={focus.zone === "folders" && focus.index === index}
      onOpen={onOpenFolder} onFocus={onCardFocus} onPointerDown={onCardPointerDown} />
  ), [focus, onOpenFolder, onCardFocus, onCardPointerDown]);
  const renderTile = useCallback((photo: TilePhoto, index: number) => (
    <PhotoTile key={photo.id} photo={photo} index={index} selected={selected.has(photo.id)} focused={focus.zone === "photos" && focus.index === index}
      onClick={onPhotoClick} onOpen={(p) => setViewing(p.id)} onPointerDown={onPhotoPointerDown} />
  ), [selected, focus, onPhotoClick, onPhotoPointerDown]);

  const ancestry = view?.ancestry ?? [];
  const noLibrary = !loading && !error && view && !view.folder;

  return (
    <div className="main">
      <div className="toolbar">
        <div className="crumbs" aria-label="Breadcrumbs" role="navigation">
          {ancestry.map((f, i) => (
            <span key={f.id} style={{ display: "contents" }}>
              {i > 0 && <span className="sep">›</span>}
              <button aria-current={i === ancestry.length - 1 ? "page" : undefined} data-drop-folder={f.id} data-crumb={f.id} onClick={() => onOpenFolder(f.id)} title={f.path}>
                {f.name}
              </button>
            </span>
          ))}
          {ancestry.length === 0 && <button aria-current="page">Library</button>}
        </div>
        <div className="search">
          <SearchIcon />
          <input
            ref={searchBox}
            type="search"
            placeholder={view?.folder ? `Search in ${view.folder.name}` : "Search"}
            aria-label="Search photos by name, folder, camera or tag"
            value={filter.text ?? ""}
            onChange={(e) => setFilter({ ...filter, text: e.target.value })}
            onKeyDown={(e) => { if (e.key === "Escape") setFilter(emptyFilter); }}
          />
        </div>
        <button className="btn" aria-pressed={showFilters} onClick={() => setShowFilters(!showFilters)}><FilterIcon />Filters</button>
      </div>
      {showFilters && (
        <div className="filters" role="search" aria-label="Filters">
          <label>From<input type="date" value={filter.taken_from ?? ""} onChange={(e) => setFilter({ ...filter, taken_from: e.target.value })} /></label>
          <label>To<input type="date" value={filter.taken_to ?? ""} onChange={(e) => setFilter({ ...filter, taken_to: e.target.value })} /></label>
          <label>Camera<input type="text" placeholder="e.g. Canon, DJI" value={filter.camera ?? ""} onChange={(e) => setFilter({ ...filter, camera: e.target.value })} /></label>
          <label>Tag<input type="text" placeholder="e.g. kitchen" value={filter.tag ?? ""} onChange={(e) => setFilter({ ...filter, tag: e.target.value })} /></label>
          <label className="check"><input type="checkbox" checked={filter.has_gps ?? false} onChange={(e) => setFilter({ ...filter, has_gps: e.target.checked })} />Has location</label>
          {searching && <button className="btn ghost" onClick={() => setFilter(emptyFilter)}>Clear</button>}
        </div>
      )}
      {selected.size > 0 && (
        <div className="selection-bar" role="toolbar" aria-label="Selection">
          <strong>{plural(selected.size, "photo")} selected</strong>
          <button className="btn" onClick={() => setPicker("move")}>Move to…</button>
          <button className="btn" onClick={() => setPicker("copy")}>Copy to…</button>
          <button className="btn danger" onClick={trashSelection}><TrashIcon />Delete</button>
          <button className="btn ghost" onClick={() => setSelected(new Set())}>Clear</button>
        </div>
      )}
      <div className="content" ref={scroller} onKeyDown={onKeyDown}>
        {error ? (
          <div className="state error" role="alert">
            <h2>Something went wrong</h2>
            <p>{error}</p>
            <button className="btn" onClick={() => onOpenFolder(folderId)}>Try again</button>
          </div>
        ) : loading && !view ? (
          <div style={{ display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(228px, 1fr))", gap: 16 }} aria-busy="true" aria-label="Loading">
            {Array.from({ length: 8 }, (_, i) => <div key={i} className="skeleton" style={{ aspectRatio: "4 / 3.9" }} />)}
          </div>
        ) : noLibrary ? (
          <div className="state">
            <h2>Add your photo library</h2>
            <p>Choose the folder where your shoots live. PhotoPro reads it, makes previews and shows every gallery here. Your files stay where they are.</p>
            <button className="btn primary" onClick={onAddLibrary}>Choose folder…</button>
          </div>
        ) : (
          <>
            {folders.length > 0 && (
              <section aria-label="Folders" style={{ marginBottom: 28 }}>
                <h2 className="group-title">Folders <span>{folders.length.toLocaleString("en-US")}</span></h2>
                <VirtualGrid items={folders} scroller={scroller} minCellWidth={CARD_MIN} gap={GAP} cellHeight={hasClients ? cardHeightWithClient : cardHeight}
                  render={renderCard} label="Folders" onColumns={setColumnsFolders} />
              </section>
            )}
            {photos.length > 0 && (
              <section aria-label="Photos">
                <h2 className="group-title">
                  {searching ? "Results" : photoCount > 0 ? "Photos" : "Files"} <span>{(photoCount || photos.length).toLocaleString("en-US")}{searching && results?.length === 2000 ? "+ (showing the first 2,000)" : ""}
                    {photoCount > 0 && photos.length > photoCount ? ` · ${plural(photos.length - photoCount, "other file")}` : ""}</span>
                </h2>
                <VirtualGrid items={photos} scroller={scroller} minCellWidth={TILE_MIN} gap={10} cellHeight={tileHeight}
                  render={renderTile} label="Photos" onColumns={setColumnsPhotos} />
              </section>
            )}
            {folders.length === 0 && photos.length === 0 && !loading && (
              searching ? (
                results === null ? <div className="state" aria-busy="true">Searching…</div> : (
                  <div className="state"><h2>No matches</h2><p>Nothing in {view?.folder?.name ?? "the library"} matches these filters.</p>
                    <button className="btn" onClick={() => setFilter(emptyFilter)}>Clear search</button></div>
                )
              ) : (
                <div className="state"><h2>This folder is empty</h2><p>Drag photos here from Finder or Explorer, or move photos in from another folder.</p></div>
              )
            )}
          </>
        )}
      </div>
      {picker && (
        <FolderPicker
          title={picker === "move" ? `Move ${plural(selected.size, "photo")} to…` : `Copy ${plural(selected.size, "photo")} to…`}
          trees={trees}
          exclude={picker === "move" ? folderId : null}
          onClose={() => setPicker(null)}
          onPick={(to) => {
            setPicker(null);
            dropOnFolder(to, { kind: "assets", ids: [...selected], label: "" }, picker === "copy");
          }}
        />
      )}
      {viewing !== null && (
        <Viewer
          assetId={viewing}
          folderCover={view?.folder?.cover ?? null}
          onClose={() => setViewing(null)}
          onStep={(d) => {
            const i = photoIds.indexOf(viewing);
            if (i >= 0 && photoIds[i + d] !== undefined) setViewing(photoIds[i + d]);
          }}
          onSetCover={(asset) => {
            if (folderId == null) return;
            api.setCover(folderId, asset).then(() => { onNotice({ text: "Cover updated" }); onChanged(); }, (e) => onNotice({ text: errorMessage(e), error: true }));
          }}
        />
      )}
    </div>
  );
}
