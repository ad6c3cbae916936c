// The real app (WebKitGTK webview, Rust commands, thumb: protocol, real index
// of ../shared/photos, real API) driven through tauri-driver + WebKitWebDriver.
// Run under Xvfb by scripts/app-test.sh, after browser.test.mjs (this test
// moves a photo, so it comes last). Speaks the W3C WebDriver protocol with
// fetch: no client library needed.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const e2e = join(root, "target/e2e");
const shots = join(root, "target/screenshots");
const benchDir = join(root, "target/bench");
mkdirSync(shots, { recursive: true });
mkdirSync(benchDir, { recursive: true });
const app = process.env.PHOTOPRO_E2E_APP;
const data = join(e2e, "data");
const photopro = join(dirname(app), "photopro");
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

let driver, base, session;

async function wd(method, path, body) {
  const response = await fetch(`${base}${path}`, { method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value)}`);
  return json.value;
}
const s = (path) => `/session/${session}${path}`;
/** Run a function in the page (WebDriver takes a function body as a string). */
const run = (fn, ...args) => wd("POST", s("/execute/sync"), { script: `return (${fn.toString()}).apply(null, arguments);`, args });
/** Poll a condition in the page (bounded; WebDriver has no event to wait on). */
async function until(script, what, timeoutMs = 30_000, ...args) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await run(script, ...args);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const find = async (css) => ({ [ELEMENT]: (await wd("POST", s("/element"), { using: "css selector", value: css }))[ELEMENT] });
const pointer = (actions) => wd("POST", s("/actions"), { actions: [{ type: "pointer", id: "mouse", parameters: { pointerType: "mouse" }, actions }] });
/** Screenshot after two presented frames, so the capture shows the settled page. */
const screenshot = async (name) => {
  await wd("POST", s("/execute/async"), { args: [], script: "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));" });
  writeFileSync(join(shots, `${name}.png`), Buffer.from(await wd("GET", s("/screenshot")), "base64"));
};
const photosIn = (folder) => JSON.parse(execFileSync(photopro, ["--data-dir", data, "ls", "--json", folder], { encoding: "utf8" }))[0].files.map((f) => f.name);

before(async () => {
  assert.ok(app && existsSync(app), "PHOTOPRO_E2E_APP points at the built app");
  const port = await freePort();
  const native = await freePort();
  base = `http://127.0.0.1:${port}`;
  driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(native)], {
    env: { ...process.env, PHOTOPRO_DATA_DIR: data, PHOTOPRO_TOKEN_STORE: "file", RUST_LOG: "warn" },
    // A log file, not our stdout: the app inherits these descriptors, and a
    // pipe held open by it would keep the test runner waiting.
    stdio: ["ignore", openSync(join(e2e, "tauri-driver.log"), "w"), openSync(join(e2e, "tauri-driver.log"), "a")],
  });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/status`)).ok) break; } catch {}
    if (i > 200) throw new Error("tauri-driver did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  const started = performance.now();
  session = (await wd("POST", "/session", { capabilities: { alwaysMatch: { "tauri:options": { application: app } } } })).sessionId;
  await until(() => {
    const imgs = [...document.querySelectorAll(".card .cover > img")];
    return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, "the first grid with covers");
  const coldStartMs = Math.round(performance.now() - started);
  writeFileSync(join(benchDir, "app-cold-start.json"), JSON.stringify({ coldStartToFirstGridPaintMs: coldStartMs, note: "WebDriver session request (process spawn) to every visible cover decoded, debug build, Xvfb" }, null, 2));
  console.log(`cold start to first grid paint: ${coldStartMs} ms`);
});

/** Our app processes: this binary, started with our data dir. */
function appProcesses() {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === app
        && readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`PHOTOPRO_DATA_DIR=${data}`);
    } catch { return false; }
  }).map(Number);
}

after(async () => {
  if (session) await wd("DELETE", s("")).catch(() => {});
  driver?.kill();
  // Closing the window quits the app (close_to_tray is off for the E2E data dir).
  const deadline = Date.now() + 15_000;
  while (appProcesses().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const left = appProcesses();
  left.forEach((pid) => process.kill(pid));
  assert.deepEqual(left, [], "the app quit when its window closed");
});

test("the real app shows the indexed folders with covers from the thumb: protocol", async () => {
  const fixture = JSON.parse(readFileSync(join(e2e, "fixture.json"), "utf8"));
  const names = await run(() => [...document.querySelectorAll(".card .name")].map((n) => n.textContent));
  assert.deepEqual(names, fixture.responses["open_folder:null"].folders.map((f) => f.name));
  const src = await run(() => document.querySelector(".card .cover > img").src);
  assert.match(src, /^thumb:\/\/localhost\/grid\/\d+$/);
  assert.match(await run(() => document.querySelector('.card[aria-label^="dji-phantom3"] .stats').textContent), /^18 photos · 23 Jun 2016/);
  await screenshot("app-01-home");
});

test("hovering a card shows the strip; opening it shows the photos", async () => {
  const card = await find('.card[aria-label^="cameras"]');
  await pointer([{ type: "pointerMove", origin: card, x: 0, y: 0 }]);
  await until(() => {
    const strip = document.querySelector("[data-testid=hover-strip]");
    const imgs = [...(strip?.querySelectorAll("img") ?? [])];
    return imgs.length > 1 && imgs.every((i) => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 20 && getComputedStyle(i).opacity === "1")
      && getComputedStyle(strip).opacity === "1";
  }, "the hover strip, visible");
  await screenshot("app-02-hover-strip");
  const dji = await find('.card[aria-label^="dji-phantom3"]');
  await pointer([
    { type: "pointerMove", origin: dji, x: 0, y: 0 },
    { type: "pointerDown", button: 0 }, { type: "pointerUp", button: 0 },
    { type: "pointerDown", button: 0 }, { type: "pointerUp", button: 0 },
  ]);
  await until(() => document.querySelectorAll(".tile img").length === 18 && [...document.querySelectorAll(".tile img")].every((i) => i.complete && i.naturalWidth > 0), "18 photo tiles");
  assert.equal(await run(() => document.querySelector(".crumbs [aria-current=page]").textContent), "dji-phantom3");
  await screenshot("app-03-folder");
});

test("dragging a photo onto another folder moves it on disk and in the index", async () => {
  const before = photosIn(join(e2e, "Shoots/dji-phantom3"));
  const name = await run(() => document.querySelector(".tile[data-photo]").getAttribute("aria-label").split(",")[0]);
  assert.ok(before.includes(name));
  const tile = await find(".tile[data-photo]");
  const targetId = await run(() => [...document.querySelectorAll(".tree [data-tree-folder]")].find((b) => b.querySelector(".name").textContent === "aerial-12mp").dataset.treeFolder);
  const target = await find(`.tree [data-tree-folder="${targetId}"]`);
  await pointer([
    { type: "pointerMove", origin: tile, x: 0, y: 0 },
    { type: "pointerDown", button: 0 },
    { type: "pointerMove", origin: tile, x: 30, y: 20, duration: 100 },
    { type: "pointerMove", origin: target, x: 0, y: 0, duration: 300 },
  ]);
  await until(() => document.querySelector(".drop-target") !== null, "a highlighted drop target");
  await screenshot("app-04-dragging");
  await pointer([{ type: "pointerUp", button: 0 }]);
  await until(() => document.querySelector(".toast")?.textContent.includes("Moved 1 item"), "the move confirmation");
  assert.ok(existsSync(join(e2e, "Shoots/aerial-12mp", name)), "the file moved on disk");
  assert.ok(!existsSync(join(e2e, "Shoots/dji-phantom3", name)));
  assert.ok(photosIn(join(e2e, "Shoots/aerial-12mp")).includes(name), "the index lists it in the new folder");
  assert.ok(!photosIn(join(e2e, "Shoots/dji-phantom3")).includes(name));
  await until(() => document.querySelectorAll(".tile").length === 18, "the moved photo gone from the grid");
});

test("the usage bar matches the API", async () => {
  const api = JSON.parse(readFileSync(join(data, "app.json"), "utf8")).api_url;
  const token = readFileSync(join(data, "device-token"), "utf8");
  const usage = await (await fetch(`${api}/v1/usage`, { headers: { authorization: `Bearer ${token}` } })).json();
  await until(() => document.querySelector("[data-testid=usage]")?.dataset.state === "connected", "usage from the API");
  const shown = await run(() => {
    const bar = document.querySelector("[data-testid=usage]");
    return { used: Number(bar.dataset.used), limit: Number(bar.dataset.limit), text: bar.textContent };
  });
  assert.equal(shown.used, usage.used_bytes);
  assert.equal(shown.limit, usage.limit_bytes);
  assert.match(shown.text, /Starter/);
});

test("pausing changes the status everywhere and is saved", async () => {
  const sync = await find(".nav button:nth-child(2)");
  await wd("POST", s(`/element/${sync[ELEMENT]}/click`), {});
  await until(() => document.querySelector("[data-testid=pause-toggle]") !== null, "the sync screen");
  const toggle = await find("[data-testid=pause-toggle]");
  await wd("POST", s(`/element/${toggle[ELEMENT]}/click`), {});
  await until(() => document.querySelector("[data-testid=status-summary]").textContent === "Paused", "the paused status");
  assert.equal(await run(() => document.querySelector("[data-testid=sync-summary]").textContent), "Paused");
  assert.equal(JSON.parse(readFileSync(join(data, "app.json"), "utf8")).paused, true);
  await screenshot("app-05-sync-paused");
  await wd("POST", s(`/element/${toggle[ELEMENT]}/click`), {});
  await until(() => document.querySelector("[data-testid=status-summary]").textContent === "Library up to date", "resumed");
  const settings = await find(".nav button:nth-child(3)");
  await wd("POST", s(`/element/${settings[ELEMENT]}/click`), {});
  await until(() => document.querySelector(".panel h1")?.textContent === "Settings", "the settings screen");
  await screenshot("app-06-settings");
});
