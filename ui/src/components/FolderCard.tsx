import { memo, useState } from "react";
import { api, thumbUrl } from "../api";
import { formatBytes, formatDateRange, plural } from "../format";
import { loadFailure } from "../loads";
import type { FolderCard as FolderCardData, StripPhoto } from "../types";
import { ClipIcon, FolderIcon, PersonIcon } from "./icons";

// Hover strips are fetched once per folder per session; a failed fetch is
// forgotten, so the next hover asks again.
const strips = new Map<number, Promise<StripPhoto[]>>();
function loadStrip(folder: number) {
  let strip = strips.get(folder);
  if (!strip) {
    strip = api.folderStrip(folder);
    strips.set(folder, strip);
    strip.catch(() => strips.delete(folder));
  }
  return strip;
}
export function forgetStrips() {
  strips.clear();
}

interface Props {
  folder: FolderCardData;
  index: number;
  focused: boolean;
  onOpen: (id: number) => void;
  onFocus: (index: number) => void;
  onPointerDown: (e: React.PointerEvent, folder: FolderCardData) => void;
}

export const FolderCard = memo(function FolderCard({ folder, index, focused, onOpen, onFocus, onPointerDown }: Props) {
  const [strip, setStrip] = useState<StripPhoto[] | null>(null);
  const [stripError, setStripError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const dates = formatDateRange(folder.first_taken, folder.last_taken);
  const client = folder.client?.role === "of" ? folder.client.name : null;
  const counts = folder.photos > 0
    ? plural(folder.photos, "photo")
    : folder.files_total > 0 ? plural(folder.files_total, "file") + " inside" : "Empty";
  const showStrip = () => {
    if (strip === null && folder.files_total > 0) {
      loadStrip(folder.id).then(
        (s) => { setStrip(s.filter((p) => p.id !== folder.cover).slice(0, 5)); setStripError(null); },
        (e) => setStripError(loadFailure([{ what: "this folder's photos", error: e }], "Point at the card again to retry.")),
      );
    }
  };
  return (
    <div
      className="card"
      role="gridcell"
      tabIndex={focused ? 0 : -1}
      data-folder-card={folder.id}
      data-drop-folder={folder.id}
      aria-label={`${folder.name}, ${counts}${dates ? ", " + dates : ""}${client ? ", for " + client : ""}`}
      onDoubleClick={() => onOpen(folder.id)}
      onClick={() => onFocus(index)}
      onKeyDown={(e) => { if (e.key === "Enter") onOpen(folder.id); }}
      onMouseEnter={showStrip}
      onFocus={showStrip}
      onPointerDown={(e) => onPointerDown(e, folder)}
    >
      <div className="cover">
        {folder.cover != null ? (
          <img
            src={thumbUrl(folder.cover)}
            alt=""
            draggable={false}
            loading="lazy"
            decoding="async"
            className={loaded ? "loaded" : ""}
            onLoad={() => setLoaded(true)}
          />
        ) : (
          <div className="empty"><FolderIcon size={34} /></div>
        )}
        <span className="clip" title={folder.photos > 0 ? "Gallery" : "Folder"}><ClipIcon />{folder.photos > 0 ? folder.photos : folder.files_total > 0 ? folder.files_total : ""}</span>
        {strip && strip.length > 0 && (
          <div className="strip" data-testid="hover-strip">
            {strip.map((p) => <img key={p.id} src={thumbUrl(p.id)} alt={p.name} draggable={false} />)}
          </div>
        )}
        {stripError && <div className="strip strip-error" role="note" data-testid="strip-error">{stripError}</div>}
      </div>
      <div className="meta">
        <div className="name" title={`${folder.path} · ${formatBytes(folder.bytes_total)}`}>{folder.name}</div>
        {client && <div className="client" data-testid="card-client" title={`Client: ${client}`}><PersonIcon />{client}</div>}
        {folder.client?.role === "client" && <div className="client is-client" data-testid="card-client"><PersonIcon />Client</div>}
        <div className="stats">
          {[counts, dates].filter(Boolean).join(" · ")}
        </div>
      </div>
    </div>
  );
});
