import { useEffect, useState } from "react";
import { check } from "@tauri-apps/plugin-updater";
import { api, errorMessage } from "../api";
import type { LibraryTree, SettingsView } from "../types";
import type { Notice } from "./Browser";

export type Theme = "system" | "light" | "dark";

interface Props {
  trees: LibraryTree[];
  theme: Theme;
  syncFolder: string | null;
  onTheme: (theme: Theme) => void;
  onChanged: () => void;
  onNotice: (n: Notice) => void;
  onAddLibrary: () => void;
  onChooseSyncFolder: () => void;
}

const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter(Boolean);

export function SettingsScreen({ trees, theme, syncFolder, onTheme, onChanged, onNotice, onAddLibrary, onChooseSyncFolder }: Props) {
  const [settings, setSettings] = useState<SettingsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pairing, setPairing] = useState({ apiUrl: "", code: "", deviceName: "" });
  const [busy, setBusy] = useState(false);
  const [update, setUpdate] = useState<string | null>(null);
  const load = () => api.getSettings().then((s) => {
    setSettings(s);
    setPairing((p) => ({ ...p, apiUrl: s.app.api_url ?? p.apiUrl, deviceName: s.app.device_name ?? p.deviceName }));
  }, (e) => setError(errorMessage(e)));
  useEffect(() => { load(); }, []);

  if (error) return <div className="content"><div className="state error" role="alert"><h2>Settings could not be loaded</h2><p>{error}</p></div></div>;
  if (!settings) return <div className="content" aria-busy="true" />;
  const save = (next: SettingsView) => {
    setSettings(next);
    api.saveSettings(next.app, next.filters).then(onChanged, (e) => onNotice({ text: errorMessage(e), error: true }));
  };
  const { app, filters } = settings;
  const limit = (v: string) => (v.trim() === "" ? null : Math.max(0, Math.round(Number(v))) || null);

  return (
    <div className="content">
      <div className="panel">
        <h1>Settings</h1>
        <section aria-label="Account">
          <h2>Account</h2>
          {settings.paired ? (
            <>
              <p className="hint">This computer is paired with <strong>{app.api_url}</strong>{app.device_name ? ` as “${app.device_name}”` : ""}. Its device token is kept in the {settings.token_store}.</p>
              <button className="btn" onClick={() => api.signOut().then(() => { load(); onChanged(); }, (e) => onNotice({ text: errorMessage(e), error: true }))}>Unpair this computer</button>
            </>
          ) : (
            <form onSubmit={(e) => {
              e.preventDefault();
              setBusy(true);
              api.pairDevice(pairing.apiUrl.trim(), pairing.code, pairing.deviceName.trim() || "This computer")
                .then(() => { onNotice({ text: "Paired. Your usage now comes from your account." }); load(); onChanged(); }, (e) => onNotice({ text: errorMessage(e), error: true }))
                .finally(() => setBusy(false));
            }}>
              <p className="hint">Pair this computer with your PhotoProOS account: create a pairing code on the web (or ask your admin) and enter it here. The device token is stored in the {settings.token_store}.</p>
              {settings.token_error && <div className="message error" style={{ marginBottom: 12 }}>{settings.token_error}</div>}
              <label className="field"><span>API address</span><input type="url" required placeholder="https://api.photoproos.com" value={pairing.apiUrl} onChange={(e) => setPairing({ ...pairing, apiUrl: e.target.value })} /></label>
              <label className="field"><span>Pairing code</span><input type="text" required placeholder="K7QX-M2RD" value={pairing.code} onChange={(e) => setPairing({ ...pairing, code: e.target.value })} /></label>
              <label className="field"><span>Name of this computer</span><input type="text" placeholder="Studio iMac" value={pairing.deviceName} onChange={(e) => setPairing({ ...pairing, deviceName: e.target.value })} /></label>
              <button className="btn primary" disabled={busy}>{busy ? "Pairing…" : "Pair this computer"}</button>
            </form>
          )}
        </section>
        <section aria-label="Sync folder">
          <h2>Sync folder</h2>
          <p className="hint">Everything in this folder is kept in PhotoProOS Storage and on your other computers. Photos you put in it upload by themselves; a folder in it becomes a gallery.</p>
          <div className="field"><span>Folder</span>
            <span className="row"><strong data-testid="settings-sync-folder" style={{ fontWeight: 550, wordBreak: "break-all" }}>{syncFolder ?? "Not chosen yet"}</strong>
              <button className="btn" onClick={onChooseSyncFolder}>{syncFolder ? "Change…" : "Choose…"}</button></span>
          </div>
        </section>
        <section aria-label="Library folders">
          <h2>Library folders</h2>
          <p className="hint">PhotoPro indexes these folders and everything inside them. Files are never moved unless you move them here.</p>
          <ul className="list">
            {trees.map((t) => (
              <li key={t.library.id}>
                <div className="grow"><div>{t.name}</div><div className="sub">{t.library.root}</div></div>
                <button className="btn" onClick={() => api.removeLibrary(t.library.id).then(onChanged, (e) => onNotice({ text: errorMessage(e), error: true }))}>Remove</button>
              </li>
            ))}
          </ul>
          <button className="btn" style={{ marginTop: 8 }} onClick={onAddLibrary}>Add folder…</button>
        </section>
        <section aria-label="Filters">
          <h2>What to sync</h2>
          <p className="hint">Skipped names are never indexed or synced. The RAW and “keep out of sync” choices mark photos in your library; the sync folder itself still syncs every file whose name is not skipped.</p>
          <label className="field"><span>Camera RAW files</span>
            <span><input type="checkbox" checked={filters.sync_raw} onChange={(e) => save({ ...settings, filters: { ...filters, sync_raw: e.target.checked } })} /> Sync RAW originals too (off: JPEGs and edits only)</span>
          </label>
          <label className="field"><span>Skip these names</span>
            <textarea rows={3} style={{ maxWidth: 420 }} placeholder="*.bak" defaultValue={filters.skip_patterns.join("\n")}
              onBlur={(e) => save({ ...settings, filters: { ...filters, skip_patterns: lines(e.target.value) } })} />
          </label>
          <label className="field"><span>Keep out of sync</span>
            <textarea rows={3} style={{ maxWidth: 420 }} placeholder="*_proof.jpg" defaultValue={filters.sync_exclude_patterns.join("\n")}
              onBlur={(e) => save({ ...settings, filters: { ...filters, sync_exclude_patterns: lines(e.target.value) } })} />
          </label>
        </section>
        <section aria-label="Bandwidth">
          <h2>Bandwidth</h2>
          <p className="hint">Keep sync from filling your connection: limits apply at once, also to transfers in progress. Leave empty for no limit.</p>
          <label className="field"><span>Upload limit (KiB/s)</span><input type="number" min={0} defaultValue={app.upload_limit_kib ?? ""} onBlur={(e) => save({ ...settings, app: { ...app, upload_limit_kib: limit(e.target.value) } })} /></label>
          <label className="field"><span>Download limit (KiB/s)</span><input type="number" min={0} defaultValue={app.download_limit_kib ?? ""} onBlur={(e) => save({ ...settings, app: { ...app, download_limit_kib: limit(e.target.value) } })} /></label>
        </section>
        <section aria-label="General">
          <h2>General</h2>
          <label className="field"><span>Start at login</span>
            <span><input type="checkbox" checked={app.start_at_login} onChange={(e) => save({ ...settings, app: { ...app, start_at_login: e.target.checked } })} /> Open PhotoPro in the tray when I log in</span>
          </label>
          <label className="field"><span>Closing the window</span>
            <span><input type="checkbox" checked={app.close_to_tray} onChange={(e) => save({ ...settings, app: { ...app, close_to_tray: e.target.checked } })} /> Keep PhotoPro running in the tray</span>
          </label>
          <label className="field"><span>Notifications</span>
            <span><input type="checkbox" checked={app.notifications} onChange={(e) => save({ ...settings, app: { ...app, notifications: e.target.checked } })} /> Tell me when a shoot finishes uploading, when storage runs low, and about conflicts</span>
          </label>
          <label className="field"><span>Appearance</span>
            <select value={theme} onChange={(e) => onTheme(e.target.value as Theme)} style={{ maxWidth: 200, padding: "5px 8px", borderRadius: 6, border: "1px solid var(--border)", background: "var(--surface)" }}>
              <option value="system">Match the system</option><option value="light">Light</option><option value="dark">Dark</option>
            </select>
          </label>
          <div className="field"><span>Version</span>
            <span className="row">{settings.version}
              <button className="btn" onClick={() => check().then(
                (u) => setUpdate(u ? `Version ${u.version} is available.` : "You have the latest version."),
                (e) => setUpdate(`Could not check for updates: ${errorMessage(e)}`))}>Check for updates</button>
              {update && <span>{update}</span>}
            </span>
          </div>
          <div className="field"><span>Data folder</span><span style={{ wordBreak: "break-all" }}>{settings.data_dir}</span></div>
        </section>
      </div>
    </div>
  );
}
