import { api, errorMessage } from "../api";
import { formatAgo, formatBytes, plural } from "../format";
import type { LibraryStatus, SyncStatus, TrashEntry } from "../types";
import type { Notice } from "./Browser";

interface Props {
  status: SyncStatus | null;
  library: LibraryStatus | null;
  trash: TrashEntry[];
  onChanged: () => void;
  onNotice: (n: Notice) => void;
}

export function SyncScreen({ status, library, trash, onChanged, onNotice }: Props) {
  const indexing = status?.indexing;
  const fail = (e: unknown) => onNotice({ text: errorMessage(e), error: true });
  return (
    <div className="content">
      <div className="panel">
        <h1>Sync &amp; trash</h1>
        <section aria-label="Status">
          <div className="row" style={{ justifyContent: "space-between" }}>
            <h2 style={{ margin: 0 }} data-testid="sync-summary">{status?.summary ?? "…"}</h2>
            {status && (
              <button className="btn" data-testid="pause-toggle" onClick={() => api.setPaused(!status.paused).then(onChanged, fail)}>
                {status.paused ? "Resume syncing" : "Pause syncing"}
              </button>
            )}
          </div>
          {indexing && indexing.queued > 0 && (
            <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={indexing.queued} aria-valuenow={indexing.processed}>
              <div style={{ width: `${(indexing.processed / Math.max(1, indexing.queued)) * 100}%` }} />
            </div>
          )}
          <p className="hint">
            {status?.last_scan_finished ? `Library last checked ${formatAgo(status.last_scan_finished)}. ` : ""}
            {library ? `${plural(library.photos, "photo")} in ${plural(library.galleries, "gallery", "galleries")}, ${formatBytes(library.bytes)} on this computer.` : ""}
          </p>
          {status?.last_error && <div className="message error">{status.last_error}</div>}
          {status && !status.sync_engine && (
            <div className="message">
              Cloud sync is not connected in this version of the app: your photos are indexed and organized on this computer, and nothing is uploaded from here.
              Transfers, conflicts and their progress will appear here when sync arrives.
            </div>
          )}
          <div className="row" style={{ marginTop: 12 }}>
            <button className="btn" onClick={() => api.rescan().then(onChanged, fail)}>Check library for changes</button>
          </div>
        </section>
        {library && library.errors > 0 && (
          <section aria-label="Problems">
            <h2>{plural(library.errors, "file")} could not be read</h2>
            <ul className="list">
              {library.error_files.slice(0, 20).map((f) => (
                <li key={f.path}><div className="grow"><div>{f.path.split(/[\\/]/).pop()}</div><div className="sub" title={f.path}>{f.error}</div></div></li>
              ))}
            </ul>
          </section>
        )}
        <section aria-label="Trash">
          <h2>Trash</h2>
          <p className="hint">Deleted photos and folders stay here until you delete them for good. Restoring puts them back where they were.</p>
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
      </div>
    </div>
  );
}
