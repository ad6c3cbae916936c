import { useState, type ReactNode } from "react";
import { api, errorMessage, thumbUrl } from "../api";
import { formatAgo, formatBytes, formatDay, plural } from "../format";
import { conflictSides, percent, resolutionHint, splitPath, syncHeadline, transferLine, type SyncAction, type Tone } from "../syncview";
import type { ConflictView, LibraryStatus, Resolution, SyncStatus, SyncTrashItem, TrashEntry } from "../types";
import type { Notice } from "./Browser";
import { AlertIcon, CheckCircleIcon, ClockIcon, CloudOffIcon, DownIcon, FolderPlusIcon, PauseCircleIcon, SyncingIcon, UpIcon } from "./icons";

/** A list loaded on demand: `null` while loading. */
export interface Loaded<T> {
  items: T[] | null;
  error: string | null;
}

interface Props {
  status: SyncStatus | null;
  library: LibraryStatus | null;
  trash: TrashEntry[];
  conflicts: Loaded<ConflictView>;
  syncTrash: Loaded<SyncTrashItem>;
  onChanged: () => void;
  onNotice: (n: Notice) => void;
  onChooseFolder: () => void;
  onOpenSettings: () => void;
}

const STATE_ICON: Partial<Record<string, ReactNode>> = {
  offline: <CloudOffIcon size={26} />,
  waiting: <ClockIcon size={26} />,
};

const TONE_ICON: Record<Tone, ReactNode> = {
  ok: <CheckCircleIcon size={26} />,
  busy: <SyncingIcon size={26} />,
  paused: <PauseCircleIcon size={26} />,
  warn: <AlertIcon size={26} />,
  danger: <AlertIcon size={26} />,
  idle: <FolderPlusIcon size={26} />,
};

export function SyncScreen({ status, library, trash, conflicts, syncTrash, onChanged, onNotice, onChooseFolder, onOpenSettings }: Props) {
  const [busy, setBusy] = useState<string | null>(null);
  const fail = (e: unknown) => onNotice({ text: errorMessage(e), error: true });
  const run = (key: string, action: () => Promise<unknown>, done?: string) => {
    setBusy(key);
    action().then(() => { if (done) onNotice({ text: done }); onChanged(); }, fail).finally(() => setBusy(null));
  };

  if (!status) {
    return (
      <div className="content" aria-busy="true">
        <div className="panel"><h1>Sync</h1><div className="skeleton" style={{ height: 132 }} /></div>
      </div>
    );
  }
  const headline = syncHeadline(status);
  const engine = status.sync;
  const progress = engine?.progress;
  const transferring = engine?.phase === "syncing" && progress && progress.files_total > progress.files_done;
  const held = engine?.deletions_awaiting_approval ?? 0;

  const button = (action: SyncAction, primary: boolean) => {
    switch (action) {
      case "pause":
      case "resume":
        return <button key={action} className={`btn ${primary ? "primary" : ""}`} data-testid="pause-toggle" disabled={busy === "pause"}
          onClick={() => run("pause", () => api.setPaused(action === "pause"))}>{action === "pause" ? "Pause syncing" : "Resume syncing"}</button>;
      case "sync_now":
        return <button key={action} className={`btn ${primary ? "primary" : ""}`} data-testid="sync-now" disabled={busy === "sync_now"}
          onClick={() => run("sync_now", api.syncNow, "Syncing now")}>Sync now</button>;
      case "approve":
        return <button key={action} className="btn primary danger-fill" data-testid="approve-deletions" disabled={busy === "approve"}
          onClick={() => run("approve", api.approveDeletions, `Deleting ${plural(held, "file")} from PhotoProOS Storage`)}>Delete {plural(held, "file")} everywhere</button>;
      case "choose_folder":
        return <button key={action} className="btn primary" data-testid="choose-sync-folder" onClick={onChooseFolder}>Choose sync folder…</button>;
      case "open_settings":
        return <button key={action} className={`btn ${primary ? "primary" : ""}`} onClick={onOpenSettings}>Open Settings</button>;
    }
  };

  return (
    <div className="content">
      <div className="panel">
        <h1>Sync</h1>
        <section className={`sync-hero tone-${headline.tone}`} aria-label="Sync status" data-state={status.state}>
          <div className="hero-icon">{(!status.paused && STATE_ICON[status.state]) || TONE_ICON[headline.tone]}</div>
          <div className="grow">
            <h2 data-testid="sync-summary">{headline.title}</h2>
            <p data-testid="sync-detail">{headline.detail}</p>
            {transferring && progress && (
              <div className="progress big" role="progressbar" aria-label="Sync progress" aria-valuemin={0} aria-valuemax={100}
                aria-valuenow={Math.round(percent(progress.bytes_done, progress.bytes_total))}>
                <div style={{ width: `${percent(progress.bytes_done, progress.bytes_total)}%` }} />
              </div>
            )}
            {engine?.last_error && (headline.tone === "warn" || headline.tone === "danger") && engine.phase !== "error" && (
              <p className="detail-small" title={engine.last_error}>Details: {engine.last_error}</p>
            )}
            {engine?.watch_degraded && <p className="detail-small">{engine.watch_degraded}</p>}
          </div>
          <div className="hero-actions">{headline.actions.map((a, i) => button(a, i === 0))}</div>
        </section>

        {progress && progress.in_flight.length > 0 && (
          <section aria-label="Transfers">
            <h2 className="section-head">Transfers <span className="pill">{progress.in_flight.length} in progress</span>
              <span className="head-note">{plural(progress.files_done, "file")} of {progress.files_total.toLocaleString("en-US")} done</span></h2>
            <ul className="list transfers" data-testid="transfers">
              {progress.in_flight.map((t) => {
                const { name, folder } = splitPath(t.path);
                return (
                  <li key={`${t.direction}:${t.path}`}>
                    <span className={`dir ${t.direction}`} title={t.direction === "upload" ? "Uploading" : "Downloading"}>{t.direction === "upload" ? <UpIcon /> : <DownIcon />}</span>
                    <div className="grow">
                      <div className="row-line"><span className="name">{name}</span><span className="sub">{folder}</span></div>
                      <div className="progress thin"><div style={{ width: `${percent(t.done, t.size)}%` }} /></div>
                      <div className="sub">{transferLine(t)}</div>
                    </div>
                  </li>
                );
              })}
            </ul>
          </section>
        )}

        {status.sync_folder && <section aria-label="Sync folder" className="facts">
          <div className="fact">
            <span>Sync folder</span>
            <strong title={status.sync_folder ?? undefined} data-testid="sync-folder">{status.sync_folder ?? "Not chosen yet"}</strong>
            <button className="btn" onClick={onChooseFolder}>{status.sync_folder ? "Change…" : "Choose…"}</button>
          </div>
          {engine?.last_report && (
            <div className="fact">
              <span>Last pass</span>
              <strong data-testid="last-pass">{passLine(engine.last_report)}</strong>
              {engine.last_synced_at && <span className="muted">fully synced {formatAgo(engine.last_synced_at)}</span>}
            </div>
          )}
        </section>}

        {engine && engine.waiting_for.length > 0 && (
          <section aria-label="Still being written">
            <h2 className="section-head">Still being written <span className="pill">{engine.waiting_for.length}</span></h2>
            <p className="hint">These sync once whatever is writing them (a card reader, an export) has finished.</p>
            <ul className="list" data-testid="waiting-for">
              {engine.waiting_for.map((path) => {
                const { name, folder } = splitPath(path);
                return <li key={path}><div className="grow"><div className="row-line"><span className="name">{name}</span><span className="sub">{folder}</span></div></div></li>;
              })}
            </ul>
          </section>
        )}

        {engine && engine.cannot_sync.length > 0 && (
          <section aria-label="Can't sync">
            <h2 className="section-head">Can’t sync <span className="pill">{engine.cannot_sync.length}</span></h2>
            <p className="hint">Sync leaves these alone until they change; each says why and what to do.</p>
            <ul className="list" data-testid="cannot-sync">
              {engine.cannot_sync.map((item) => {
                const { name, folder } = splitPath(item.path);
                return (
                  <li key={item.path}>
                    <div className="grow">
                      <div className="row-line"><span className="name">{name}</span><span className="sub">{folder}</span></div>
                      <div className="sub">{item.reason}</div>
                    </div>
                  </li>
                );
              })}
            </ul>
          </section>
        )}

        {status.sync_folder && <ConflictList conflicts={conflicts} busy={busy} run={run} />}

        {status.sync_folder && <section aria-label="Removed by sync">
          <h2 className="section-head">Removed by sync {syncTrash.items && syncTrash.items.length > 0 && <span className="pill">{syncTrash.items.length}</span>}</h2>
          <p className="hint">Files sync took out of your sync folder — deleted on another computer, or the version you did not keep in a conflict. Restore puts a file back and syncs it again.</p>
          <Listing loaded={syncTrash} empty="Nothing has been removed by sync." testid="sync-trash">
            {(entry) => {
              const { name, folder } = splitPath(entry.original);
              return (
                <li key={entry.id}>
                  <div className="grow">
                    <div>{name}</div>
                    <div className="sub" title={entry.original}>{[folder || "Sync folder", entry.bytes != null ? formatBytes(entry.bytes) : null, `removed ${formatAgo(entry.trashed_at)}`].filter(Boolean).join(" · ")}</div>
                  </div>
                  <button className="btn" disabled={busy === `restore:${entry.id}`}
                    onClick={() => run(`restore:${entry.id}`, () => api.restoreSyncTrash(entry.id), `Restored “${name}”`)}>Restore</button>
                </li>
              );
            }}
          </Listing>
        </section>}

        <section aria-label="Trash">
          <h2 className="section-head">Deleted in PhotoPro {trash.length > 0 && <span className="pill">{trash.length}</span>}</h2>
          <p className="hint">Photos and folders you deleted here stay until you delete them for good. Restoring puts them back where they were.</p>
          {trash.length === 0 ? (
            <div className="message">The trash is empty.</div>
          ) : (
            <ul className="list" data-testid="trash-list">
              {trash.map((entry) => (
                <li key={entry.id}>
                  <div className="grow">
                    <div>{entry.name} <span className="pill">{entry.kind === "folder" ? plural(entry.files, "file") : "Photo"}</span></div>
                    <div className="sub" title={entry.original_path}>{formatBytes(entry.bytes)} · from {entry.original_path} · deleted {formatAgo(entry.trashed_at)}</div>
                  </div>
                  <button className="btn" onClick={() => api.restoreTrash(entry.id).then(() => { onNotice({ text: `Restored “${entry.name}”` }); onChanged(); }, fail)}>Restore</button>
                  <button className="btn danger" onClick={() => api.deleteTrash(entry.id).then(onChanged, fail)}>Delete for good</button>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section aria-label="Library">
          <h2 className="section-head">Library on this computer</h2>
          <p className="hint">
            {status.indexing ? `${status.summary}. ` : status.last_scan_finished ? `Last checked ${formatAgo(status.last_scan_finished)}. ` : ""}
            {library ? `${plural(library.photos, "photo")} in ${plural(library.galleries, "gallery", "galleries")}, ${formatBytes(library.bytes)}.` : ""}
          </p>
          {status.indexing && status.indexing.queued > 0 && (
            <div className="progress" role="progressbar" aria-label="Indexing" aria-valuemin={0} aria-valuemax={status.indexing.queued} aria-valuenow={status.indexing.processed}>
              <div style={{ width: `${percent(status.indexing.processed, status.indexing.queued)}%` }} />
            </div>
          )}
          {status.last_error && <div className="message error" style={{ marginBottom: 12 }}>{status.last_error}</div>}
          <button className="btn" onClick={() => api.rescan().then(onChanged, fail)}>Check library for changes</button>
          {library && library.errors > 0 && (
            <>
              <h3 className="subhead">{plural(library.errors, "file")} could not be read</h3>
              <ul className="list">
                {library.error_files.slice(0, 20).map((f) => (
                  <li key={f.path}><div className="grow"><div>{f.path.split(/[\\/]/).pop()}</div><div className="sub" title={f.path}>{f.error}</div></div></li>
                ))}
              </ul>
            </>
          )}
        </section>
      </div>
    </div>
  );
}

function passLine(r: NonNullable<NonNullable<SyncStatus["sync"]>["last_report"]>): string {
  const parts = [
    r.uploads ? `${plural(r.uploads, "file")} uploaded (${formatBytes(r.uploaded_bytes)})` : null,
    r.downloads ? `${plural(r.downloads, "file")} downloaded (${formatBytes(r.downloaded_bytes)})` : null,
    r.restores ? `${plural(r.restores, "file")} restored` : null,
    r.moves ? `${plural(r.moves, "move")}` : null,
    r.deletions ? `${plural(r.deletions, "deletion")}` : null,
    r.conflicts ? `${plural(r.conflicts, "conflict")}` : null,
    r.collisions ? `${plural(r.collisions, "file")} renamed (same name as another; both kept)` : null,
    r.retryable_failures
      ? `${plural(r.retryable_failures, "file")} to retry${r.to_retry?.length ? ` (${r.to_retry.slice(0, 3).map((f) => `${f.path}: ${f.reason}`).join("; ")})` : ""}`
      : null,
  ].filter(Boolean);
  return parts.length ? parts.join(" · ") : "Nothing to do";
}

function ConflictList({ conflicts, busy, run }: { conflicts: Loaded<ConflictView>; busy: string | null; run: (key: string, action: () => Promise<unknown>, done?: string) => void }) {
  const count = conflicts.items?.length ?? 0;
  return (
    <section aria-label="Conflicts" className={count > 0 ? "attention" : ""}>
      <h2 className="section-head">Conflicts {count > 0 && <span className="pill warn">{count} to review</span>}</h2>
      <p className="hint">When a photo is changed on two computers before they sync, PhotoPro keeps both versions side by side. Choose which one to keep — the other goes to “Removed by sync”, so nothing is lost.</p>
      <Listing loaded={conflicts} empty="No conflicts. Every photo has one version." testid="conflicts">
        {(c) => {
          const { name, folder } = splitPath(c.original);
          const sides = conflictSides(c);
          const choose = (resolution: Resolution, label: string) => (
            <button className={`btn ${resolution === "keep_mine" ? "primary" : ""}`} title={resolutionHint(resolution, c)} disabled={busy === `conflict:${c.copy}`}
              data-resolution={resolution}
              onClick={() => run(`conflict:${c.copy}`, () => api.resolveConflict(c.copy, resolution), `${label}: “${name}”`)}>{label}</button>
          );
          return (
            <li key={c.copy} className="conflict" data-copy={c.copy}>
              <div className="grow">
                <div className="name">{name}</div>
                <div className="sub">{folder || "Sync folder"} · changed on two computers {formatDay(c.date) ? `on ${formatDay(c.date)}` : ""}</div>
                <div className="versions">
                  {[true, false].map((mine) => {
                    const fromCopy = mine === c.copy_is_mine;
                    const asset = fromCopy ? c.copy_asset : c.original_asset;
                    const hash = fromCopy ? c.copy_hash : c.original_hash;
                    return <Version key={`${mine}:${asset}:${hash}`} asset={asset} hash={hash} tag={mine ? "Mine" : "Theirs"} text={mine ? sides.mine : sides.theirs} mine={mine} />;
                  })}
                </div>
              </div>
              <div className="choices">
                {choose("keep_both", "Keep both")}
                {choose("keep_mine", "Keep mine")}
                {choose("keep_theirs", "Keep theirs")}
              </div>
            </li>
          );
        }}
      </Listing>
    </section>
  );
}

function Version({ asset, hash, tag, text, mine = false }: { asset: number | null | undefined; hash: string | null | undefined; tag: string; text: string; mine?: boolean }) {
  const [failed, setFailed] = useState(false);
  return (
    <figure className={`version ${mine ? "mine" : ""}`}>
      <div className="thumb">
        {asset != null && !failed
          ? <img src={thumbUrl(asset, "grid", hash)} alt={`${tag}: ${text}`} draggable={false} onError={() => setFailed(true)} />
          : <span>No preview yet</span>}
      </div>
      <figcaption><span className={`tag ${mine ? "mine" : ""}`}>{tag}</span>{text}</figcaption>
    </figure>
  );
}

function Listing<T>({ loaded, empty, testid, children }: { loaded: Loaded<T>; empty: string; testid: string; children: (item: T) => ReactNode }) {
  if (loaded.error) return <div className="message error" role="alert">{loaded.error}</div>;
  if (!loaded.items) return <div className="skeleton" style={{ height: 44 }} aria-busy="true" />;
  if (loaded.items.length === 0) return <div className="message" data-testid={`${testid}-empty`}>{empty}</div>;
  return <ul className="list" data-testid={testid}>{loaded.items.map(children)}</ul>;
}
