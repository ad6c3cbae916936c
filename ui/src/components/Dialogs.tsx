import { useEffect, useRef, useState } from "react";
import { api, errorMessage, thumbUrl } from "../api";
import { formatBytes, formatDay } from "../format";
import type { AssetDetails, LibraryTree } from "../types";
import { FolderIcon, PhotosIcon } from "./icons";

/** Pick a destination folder for Move to… / Copy to…. */
export function FolderPicker({ title, trees, exclude, onPick, onClose }: {
  title: string;
  trees: LibraryTree[];
  exclude?: number | null;
  onPick: (folder: number) => void;
  onClose: () => void;
}) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <div className="overlay" role="dialog" aria-modal="true" aria-label={title} onKeyDown={(e) => e.key === "Escape" && onClose()} onClick={onClose}>
      <div className="dialog" onClick={(e) => e.stopPropagation()}>
        <header>{title}</header>
        <div className="body tree" role="tree">
          {trees.flatMap((tree) => tree.folders.map((node, i) => (
            <button
              key={node.id}
              ref={i === 0 ? first : undefined}
              role="treeitem"
              disabled={node.id === exclude}
              style={{ paddingLeft: 8 + node.depth * 14, opacity: node.id === exclude ? 0.45 : 1 }}
              data-pick-folder={node.id}
              onClick={() => onPick(node.id)}
            >
              {node.depth === 0 ? <PhotosIcon /> : <FolderIcon />}
              <span className="name">{node.depth === 0 ? tree.name : node.name}</span>
              {node.photos > 0 && <span className="count">{node.photos}</span>}
            </button>
          )))}
        </div>
        <footer><button className="btn" onClick={onClose}>Cancel</button></footer>
      </div>
    </div>
  );
}

/** Full-size preview with the photo's details. */
export function Viewer({ assetId, folderCover, onClose, onStep, onSetCover }: {
  assetId: number;
  folderCover: number | null;
  onClose: () => void;
  onStep: (delta: number) => void;
  onSetCover: (asset: number) => void;
}) {
  const [details, setDetails] = useState<AssetDetails | null>(null);
  const [error, setError] = useState<string | null>(null);
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    setDetails(null);
    api.assetDetails(assetId).then(setDetails, (e) => setError(errorMessage(e)));
  }, [assetId]);
  useEffect(() => root.current?.focus(), []);
  const m = details?.media;
  const camera = [m?.make, m?.model].filter(Boolean).join(" ");
  const exposure = [m?.exposure && `${m.exposure} s`, m?.f_number && `f/${m.f_number}`, m?.iso && `ISO ${m.iso}`, m?.focal_length_mm && `${m.focal_length_mm} mm`].filter(Boolean).join(" · ");
  return (
    <div
      className="viewer"
      role="dialog"
      aria-modal="true"
      aria-label={details?.name ?? "Photo"}
      tabIndex={-1}
      ref={root}
      onKeyDown={(e) => {
        if (e.key === "Escape") onClose();
        if (e.key === "ArrowRight") onStep(1);
        if (e.key === "ArrowLeft") onStep(-1);
      }}
    >
      <div className="stage" onClick={onClose}>
        <img src={thumbUrl(assetId, "preview")} alt={details?.name ?? ""} onClick={(e) => e.stopPropagation()} />
      </div>
      <aside>
        <div className="row" style={{ justifyContent: "space-between", marginBottom: 16 }}>
          <button className="btn" onClick={() => onStep(-1)} aria-label="Previous photo">←</button>
          <button className="btn" onClick={() => onStep(1)} aria-label="Next photo">→</button>
          <button className="btn" onClick={onClose}>Close</button>
        </div>
        {error && <div className="message error">{error}</div>}
        {details && (
          <>
            <h2>{details.name}</h2>
            <dl>
              {formatDay(m?.taken_at_local) && <><dt>Taken</dt><dd>{formatDay(m?.taken_at_local)} {m?.taken_at_local?.slice(11, 16)}</dd></>}
              {camera && <><dt>Camera</dt><dd>{camera}</dd></>}
              {m?.lens && <><dt>Lens</dt><dd>{m.lens}</dd></>}
              {exposure && <><dt>Exposure</dt><dd>{exposure}</dd></>}
              {m?.width && m?.height && <><dt>Size</dt><dd>{m.width} × {m.height} · {formatBytes(details.size)}</dd></>}
              {m?.latitude != null && m?.longitude != null && <><dt>Location</dt><dd>{m.latitude.toFixed(5)}, {m.longitude.toFixed(5)}</dd></>}
              {details.tags.length > 0 && <><dt>Tags</dt><dd>{details.tags.join(", ")}</dd></>}
              <dt>File</dt><dd>{details.path}</dd>
              {(details.media_error || details.read_error) && <><dt>Problem</dt><dd>{details.read_error ?? details.media_error}</dd></>}
            </dl>
            <button className="btn" disabled={folderCover === details.id} onClick={() => onSetCover(details.id)}>
              {folderCover === details.id ? "This is the folder's cover" : "Use as folder cover"}
            </button>
          </>
        )}
      </aside>
    </div>
  );
}
