// The real app on the 100,000-photo library (tests/bench/app-bench.sh):
// cold start to first grid paint, then idle RSS after the launch scan.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const data = process.env.PHOTOPRO_BENCH_DATA;
const app = process.env.PHOTOPRO_E2E_APP;
const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(await freePort())], {
  env: { ...process.env, PHOTOPRO_DATA_DIR: data, PHOTOPRO_TOKEN_STORE: "file", RUST_LOG: "warn" },
  stdio: ["ignore", openSync(join(dirname(data), "tauri-driver.log"), "w"), openSync(join(dirname(data), "tauri-driver.log"), "a")],
});
async function wd(method, path, body) {
  const r = await fetch(`${base}${path}`, { method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(j.value)}`);
  return j.value;
}
for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/status`)).ok) break; } catch {}
  if (i > 200) throw new Error("tauri-driver did not start");
  await new Promise((r) => setTimeout(r, 50));
}
let session;
const run = (fn) => wd("POST", `/session/${session}/execute/sync`, { script: `return (${fn.toString()})();`, args: [] });
async function until(fn, what, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await run(fn);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const started = performance.now();
session = (await wd("POST", "/session", { capabilities: { alwaysMatch: { "tauri:options": { application: app } } } })).sessionId;
await until(() => {
  const imgs = [...document.querySelectorAll(".card .cover > img")];
  return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
}, "first grid paint");
const coldStartMs = Math.round(performance.now() - started);
const cards = await run(() => Number(document.querySelector(".group-title span").textContent.replace(/,/g, "")));
const inDom = await run(() => document.querySelectorAll(".card").length);
await until(() => document.querySelector("[data-testid=status-summary]")?.textContent === "Library up to date", "the launch scan", 600_000);
const scanDoneMs = Math.round(performance.now() - started);

// Idle: nothing to do for 20 s, then sum RSS over the app and its WebKit children.
await new Promise((r) => setTimeout(r, 20_000));
const procsNow = () => readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map((pid) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const name = /Name:\s+(.*)/.exec(status)[1];
    const ppid = Number(/PPid:\s+(\d+)/.exec(status)[1]);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { pid: Number(pid), name, ppid, rss };
  } catch { return null; }
}).filter(Boolean);
const procs = procsNow();
const appProc = procs.find((p) => p.name.startsWith("photopro-app"));
const tree = new Set([appProc.pid]);
for (let changed = true; changed;) {
  changed = false;
  for (const p of procs) if (!tree.has(p.pid) && tree.has(p.ppid)) { tree.add(p.pid); changed = true; }
}
const members = procs.filter((p) => tree.has(p.pid)).map((p) => ({ name: p.name, rssMiB: Math.round(p.rss / 102.4) / 10 }));

// Scroll the 10,000-card grid in the real webview: one 120 px step per frame for 3 s.
const scroll = await wd("POST", `/session/${session}/execute/async`, { args: [], script: `
  const done = arguments[arguments.length - 1];
  const scroller = document.querySelector(".content");
  const frames = [];
  let last = performance.now();
  const start = last;
  const step = (now) => {
    frames.push(now - last);
    last = now;
    scroller.scrollTop += 120;
    if (now - start < 3000) requestAnimationFrame(step);
    else {
      const f = frames.slice(1).sort((a, b) => a - b);
      const pct = (p) => Math.round(f[Math.min(f.length - 1, Math.floor(f.length * p / 100))] * 10) / 10;
      done({ frames: f.length, scrolledPx: scroller.scrollTop, p50Ms: pct(50), p95Ms: pct(95), maxMs: Math.round(f[f.length - 1] * 10) / 10, over20Ms: f.filter((x) => x > 20).length, cardsInDom: document.querySelectorAll(".card").length });
    }
  };
  requestAnimationFrame(step);` });

const result = {
  library: { photos: 100_000, folders: cards },
  coldStartToFirstGridPaintMs: coldStartMs,
  cardsInDom: inDom,
  launchScanDoneMs: scanDoneMs,
  scrollInWebKit: scroll,
  idleRss: { totalMiB: Math.round(members.reduce((s, m) => s + m.rssMiB, 0)), processes: members },
  build: app.includes("/release/") ? "release" : "debug",
  webkit: execFileSync("dpkg-query", ["-W", "-f", "${Version}", "libwebkit2gtk-4.1-0"], { encoding: "utf8" }),
  load: execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).trim(),
};
mkdirSync(join(root, "target/bench"), { recursive: true });
writeFileSync(join(root, `target/bench/app-100k-${result.build}.json`), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
await wd("DELETE", `/session/${session}`).catch(() => {});
driver.kill();
// The bench data dir has close_to_tray off, so closing the window ended the app.
for (let i = 0; i < 150 && procsNow().some((p) => p.pid === appProc.pid); i++) await new Promise((r) => setTimeout(r, 100));
if (procsNow().some((p) => p.pid === appProc.pid)) process.kill(appProc.pid);
