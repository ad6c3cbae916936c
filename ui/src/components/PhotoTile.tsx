import { memo, useState } from "react";
import { thumbUrl } from "../api";
import { formatDay } from "../format";

export interface TilePhoto {
  id: number;
  name: string;
  thumb_state: string;
  taken_at_local: string | null;
  kind: string;
}

interface Props {
  photo: TilePhoto;
  index: number;
  selected: boolean;
  focused: boolean;
  onClick: (e: React.MouseEvent, photo: TilePhoto, index: number) => void;
  onOpen: (photo: TilePhoto) => void;
  onPointerDown: (e: React.PointerEvent, photo: TilePhoto) => void;
}

export const PhotoTile = memo(function PhotoTile({ photo, index, selected, focused, onClick, onOpen, onPointerDown }: Props) {
  const [loaded, setLoaded] = useState(false);
  const day = formatDay(photo.taken_at_local);
  return (
    <div
      className="tile"
      role="gridcell"
      aria-selected={selected}
      aria-label={`${photo.name}${day ? ", " + day : ""}`}
      tabIndex={focused ? 0 : -1}
      data-photo={photo.id}
      onClick={(e) => onClick(e, photo, index)}
      onDoubleClick={() => onOpen(photo)}
      onPointerDown={(e) => onPointerDown(e, photo)}
    >
      {photo.thumb_state === "ready" ? (
        <img src={thumbUrl(photo.id)} alt="" draggable={false} loading="lazy" decoding="async" className={loaded ? "loaded" : ""} onLoad={() => setLoaded(true)} />
      ) : (
        <div className="nothumb"><span><strong>{photo.name}</strong><br />{photo.thumb_state === "error" ? "No preview: the file could not be read" : "No preview"}</span></div>
      )}
      <div className="label">{photo.name}</div>
    </div>
  );
});
