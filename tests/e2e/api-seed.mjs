// Prepare the hosted API for the E2E run with real data: an organization
// whose limit is set just above what we upload, real photos uploaded through
// reservations and presigned PUTs into the embedded object store, and this
// device's token in the app's data dir (the documented file fallback, 0600).
//   node api-seed.mjs PHOTOPRO_API_BIN E2E_DIR API_URL
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [bin, e2e, api] = process.argv.slice(2);
const admin = (...args) => JSON.parse(execFileSync(bin, ["admin", "--data-dir", join(e2e, "api"), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));

// The server may still be starting.
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${api}/health`)).ok) break;
  } catch {}
  if (i > 300) throw new Error(`the API at ${api} did not come up`);
  await new Promise((r) => setTimeout(r, 100));
}

const org = admin("create-org", "--name", "E2E Photography");
const photosDir = join(e2e, "Shoots", "aerial-12mp");
const photos = readdirSync(photosDir).filter((n) => n.toLowerCase().endsWith(".jpg")).sort();
const bytes = photos.map((n) => readFileSync(join(photosDir, n)));
const total = bytes.reduce((s, b) => s + b.length, 0);
// 86 % of the limit after the uploads: the 80 % warning shows, with an upgrade offer.
admin("set-plan", "--org", org.id, "--tier", "FREE", "--limit-bytes", String(Math.ceil(total / 0.86)));
const { token } = admin("issue-token", "--org", org.id, "--device-name", "E2E");
const auth = { authorization: `Bearer ${token}` };

for (const [i, body] of bytes.entries()) {
  const sha = createHash("sha256").update(body).digest("hex");
  const reserve = await fetch(`${api}/v1/uploads`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ size_bytes: body.length, content_sha256: sha, name: photos[i] }),
  });
  if (!reserve.ok) throw new Error(`reserve ${photos[i]}: ${reserve.status} ${await reserve.text()}`);
  const reservation = await reserve.json();
  if (reservation.upload.kind !== "single") throw new Error("expected a single-part upload");
  const headers = Object.fromEntries(reservation.upload.headers.map((h) => [h.name, h.value]));
  const put = await fetch(reservation.upload.url, { method: "PUT", headers, body });
  if (!put.ok) throw new Error(`PUT ${photos[i]}: ${put.status} ${await put.text()}`);
  const done = await fetch(`${api}/v1/uploads/${reservation.reservation_id}/complete`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ parts: [] }),
  });
  if (!done.ok) throw new Error(`complete ${photos[i]}: ${done.status} ${await done.text()}`);
}

const usage = await (await fetch(`${api}/v1/usage`, { headers: auth })).json();
const tokenFile = join(e2e, "data", "device-token");
writeFileSync(tokenFile, token, { mode: 0o600 });
chmodSync(tokenFile, 0o600);
// close_to_tray off: when the WebDriver session closes the window, the app quits.
writeFileSync(join(e2e, "data", "app.json"), JSON.stringify({ api_url: api, device_name: "E2E", close_to_tray: false }, null, 2));
writeFileSync(join(e2e, "usage.json"), JSON.stringify(usage, null, 2));
// The real-app test raises the limit and pairs a second device (app.test.mjs).
writeFileSync(join(e2e, "org.json"), JSON.stringify({ id: org.id, token, photos }, null, 2));
console.log(`uploaded ${photos.length} photos (${total} bytes); usage ${usage.used_bytes} of ${usage.limit_bytes} (${usage.percent_used.toFixed(1)} %)`);
