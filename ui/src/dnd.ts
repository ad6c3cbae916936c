// Drag and drop inside the window with pointer events: a photo or folder
// dragged onto anything marked `data-drop-folder` moves there (Alt/Ctrl copies
// photos). Pointer events behave the same in every webview; HTML5 drag and
// drop does not once the shell takes over OS file drops.

export type DragPayload =
  | { kind: "assets"; ids: number[]; label: string }
  | { kind: "folder"; id: number; label: string };

export type DropHandler = (folder: number, payload: DragPayload, copy: boolean) => void;

let suppressClick = false;

/** True once, right after a drag ended: the click that follows is not a click. */
export function consumeDragClick(): boolean {
  const value = suppressClick;
  suppressClick = false;
  return value;
}

export function beginDrag(event: { button: number; clientX: number; clientY: number }, payload: () => DragPayload, onDrop: DropHandler) {
  if (event.button !== 0) return;
  const startX = event.clientX;
  const startY = event.clientY;
  let ghost: HTMLDivElement | null = null;
  let target: HTMLElement | null = null;
  let current: DragPayload | null = null;

  const targetAt = (x: number, y: number): HTMLElement | null => {
    const el = document.elementFromPoint(x, y);
    return (el?.closest("[data-drop-folder]") as HTMLElement | null) ?? null;
  };
  const move = (e: PointerEvent) => {
    if (!ghost) {
      if (Math.hypot(e.clientX - startX, e.clientY - startY) < 6) return;
      current = payload();
      ghost = document.createElement("div");
      ghost.className = "drag-ghost";
      ghost.textContent = current.label;
      ghost.setAttribute("role", "status");
      document.body.appendChild(ghost);
      document.body.dataset.dragging = current.kind;
    }
    ghost.style.left = `${e.clientX}px`;
    ghost.style.top = `${e.clientY}px`;
    const next = targetAt(e.clientX, e.clientY);
    const self = current?.kind === "folder" && next?.dataset.dropFolder === String(current.id);
    const valid = next && !self ? next : null;
    if (valid !== target) {
      target?.classList.remove("drop-target");
      valid?.classList.add("drop-target");
      target = valid;
    }
  };
  const up = (e: PointerEvent) => {
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", up);
    window.removeEventListener("keydown", key);
    if (!ghost || !current) return;
    ghost.remove();
    delete document.body.dataset.dragging;
    suppressClick = true;
    target?.classList.remove("drop-target");
    const folder = target ? Number(target.dataset.dropFolder) : NaN;
    if (Number.isFinite(folder)) onDrop(folder, current, e.altKey || e.ctrlKey || e.metaKey);
  };
  const key = (e: KeyboardEvent) => {
    if (e.key !== "Escape") return;
    target?.classList.remove("drop-target");
    target = null;
    up(new PointerEvent("pointerup"));
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
  window.addEventListener("keydown", key);
}
