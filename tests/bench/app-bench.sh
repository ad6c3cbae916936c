#!/usr/bin/env bash
# Desktop app benchmarks on a 100,000-photo library (see APP_BENCH_RESULTS.md):
#   - the library: 10,000 folders x 10 photos, hard links to 10 small real JPEGs
#     from ../shared/photos/cameras (so it costs no disk), indexed by the real
#     scanner (`photopro scan`)
#   - the real app under Xvfb via tauri-driver: cold start to first grid paint,
#     then idle RSS of the app and its WebKit processes
# The 10,000-folder grid's first paint and scroll frame times are measured by
# tests/e2e/browser.test.mjs (target/bench/grid-10000.json).
#   tests/bench/app-bench.sh   (the library is built once under target/bench/big; delete it to rebuild)
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$repo_root"
bench="$repo_root/target/bench/big"
profile="${PROFILE:-debug}"   # PROFILE=release measures a release build of the app
bin="$CARGO_TARGET_DIR/debug"
# One package per invocation: building them together unifies dependency
# features differently and would rebuild the Tauri stack each time.
cargo build --locked -p photopro-cli
cargo build --locked -p photopro-app
app="$bin/photopro-app"
if [ "$profile" = release ]; then
  cargo build --locked --release -p photopro-app
  app="$CARGO_TARGET_DIR/release/photopro-app"
fi
if [ ! -f "$bench/status.json" ]; then
rm -rf "$bench"
mkdir -p "$bench"
python3 - "$bench" "${PHOTOPRO_SHARED_PHOTOS:-$repo_root/../shared/photos}/cameras" <<'PY'
import os, shutil, sys
bench, cameras = sys.argv[1], sys.argv[2]
sources = sorted((os.path.getsize(os.path.join(cameras, n)), n) for n in os.listdir(cameras) if n.lower().endswith(".jpg"))
src_dir = os.path.join(bench, "sources")
os.makedirs(src_dir)
picked = []
for size, name in sources:
    if size > 20_000 and len(picked) < 10 and name not in ("beach.jpg",):
        dst = os.path.join(src_dir, name)
        shutil.copy(os.path.join(cameras, name), dst)
        picked.append(dst)
for folder in range(10_000):
    d = os.path.join(bench, "Shoots", f"Shoot {folder:05d}")
    os.makedirs(d)
    for i, src in enumerate(picked):
        os.link(src, os.path.join(d, f"IMG_{folder:05d}_{i:02d}.jpg"))
print(f"10,000 folders x {len(picked)} photos from {', '.join(os.path.basename(p) for p in picked)}")
PY
"$bin/photopro" --data-dir "$bench/data" library add "$bench/Shoots" >/dev/null
/usr/bin/time -f "scan: %e s wall, %M KB max RSS" "$bin/photopro" --data-dir "$bench/data" scan | tail -1
"$bin/photopro" --data-dir "$bench/data" status --json >"$bench/status.json"
fi
# Closing the window (end of the WebDriver session) quits the app.
echo '{"close_to_tray": false}' >"$bench/data/app.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("index:", s["photos"], "photos in", s["folders"], "folders")' "$bench/status.json"
PHOTOPRO_BENCH_DATA="$bench/data" PHOTOPRO_E2E_APP="$app" dbus-run-session -- xvfb-run -a -s "-screen 0 1440x900x24" \
  node tests/bench/app-bench.mjs
