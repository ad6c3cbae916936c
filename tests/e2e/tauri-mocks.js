// Bundled by browser.test.mjs (esbuild) and injected before the UI loads:
// @tauri-apps/api/mocks stand in for the Rust side, answering each command
// with what the real command answered for the E2E library (fixture.json,
// written by `cargo run -p photopro-app --example ui_fixture`). Commands that
// change things are recorded in window.__calls; their effect on disk and in the
// index is checked by the Rust tests and the real-app layer (app.test.mjs).
import { emit } from "@tauri-apps/api/event";
import { mockConvertFileSrc, mockIPC, mockWindows } from "@tauri-apps/api/mocks";

window.__installTauriMocks = (fixture) => {
  const calls = (window.__calls = []);
  // A test may hold back `sync_status` answers (window.__held: their resolvers),
  // as a busy webview delivers a command's answer after later events.
  window.__holdSyncStatus = false;
  window.__held = [];
  mockWindows("main");
  // Windows spelling of custom schemes (http://thumb.localhost/...) so the test can serve thumbnails.
  mockConvertFileSrc("windows");
  const answers = fixture.responses;
  const answer = (key) => {
    if (key in answers) return structuredClone(answers[key]);
    throw { kind: "not_found", message: `The E2E fixture has no answer for ${key}` };
  };
  mockIPC((cmd, args = {}) => {
    calls.push({ cmd, args: JSON.parse(JSON.stringify(args)) });
    switch (cmd) {
      case "open_folder": return answer(`open_folder:${args.folder ?? "null"}`);
      case "folder_strip": return answer(`folder_strip:${args.folder}`);
      case "asset_details": return answer(`asset_details:${args.asset}`);
      case "find_assets": {
        // The browser layer filters the captured listings by name; the index's
        // own search is tested in Rust (photopro-index find.rs).
        const text = (args.filter?.text ?? "").toLowerCase();
        return Object.entries(answers)
          .filter(([k]) => k.startsWith("open_folder:") && k !== "open_folder:null")
          .flatMap(([, v]) => v.photos.map((p) => ({ ...p, folder: v.folder.id, folder_name: v.folder.name })))
          .filter((p) => p.name.toLowerCase().includes(text));
      }
      case "move_assets": case "copy_assets": case "trash_assets":
        return { done: args.assets.length, failed: [], ...(cmd === "trash_assets" ? { trash_ids: args.assets.map(String) } : {}) };
      case "move_folder": return "/moved";
      case "import_files": return { done: args.paths.length, failed: [] };
      case "sync_status":
        if (window.__holdSyncStatus) return new Promise((resolve) => window.__held.push(resolve));
        return answer(cmd);
      case "set_paused": return { ...answers.sync_status, paused: args.paused, state: args.paused ? "paused" : answers.sync_status.state, summary: args.paused ? "Paused" : answers.sync_status.summary };
      case "rescan": case "set_cover": case "save_settings": case "restore_trash": case "delete_trash":
      case "sync_now": case "approve_deletions": return null;
      case "resolve_conflict": case "restore_sync_trash": case "set_sync_folder": return "/done";
      default:
        if (cmd.startsWith("plugin:")) return null;
        return answer(cmd);
    }
  }, { shouldMockEvents: true });
  window.__emit = emit;
};
