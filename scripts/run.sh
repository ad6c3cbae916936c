#!/usr/bin/env bash
# The main job on the embedded default, no accounts needed: install what is
# missing, build, index a folder of photos (default ../shared/photos) and show
# what was found; then start the PhotoProOS Storage API on 127.0.0.1 (SQLite +
# its embedded S3-compatible store), connect this device to it, two-way sync a
# gallery copied from that folder, and show the organization's usage.
#   scripts/run.sh [FOLDER]
#   scripts/run.sh --app [FOLDER]
# --app does all that, then builds the UI and the desktop app, pairs the app with
# that API (device token in the session keychain when there is one, else in the
# data dir with PHOTOPRO_TOKEN_STORE=file) and opens its window on the indexed
# library; it runs until the window is closed. It needs a display (X11 or
# Wayland); without one: xvfb-run -a scripts/run.sh --app
# Everything lands in .photopro/ in the repository (PHOTOPRO_DATA_DIR overrides);
# run it again and only changes are re-read and re-synced.
set -euo pipefail
source "$(dirname "$0")/env.sh"
app=0
if [ "${1:-}" = "--app" ]; then app=1; shift; fi
if [ "$app" -eq 1 ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run.sh --app opens the desktop app's window, but there is no display here (DISPLAY and WAYLAND_DISPLAY are empty)." >&2
  echo "Run it from a desktop session, or on a virtual screen: xvfb-run -a scripts/run.sh --app" >&2
  echo "Without --app, scripts/run.sh shows the same library through the CLI." >&2
  exit 2
fi
"$repo_root/scripts/setup.sh"
if [ "$app" -eq 1 ]; then "$repo_root/scripts/app-setup.sh"; fi
cd "$repo_root"
folder="$(cd "${1:-${PHOTOPRO_SHARED_PHOTOS:-$repo_root/../shared/photos}}" && pwd)"
data_dir="${PHOTOPRO_DATA_DIR:-$repo_root/.photopro}"
api_dir="$data_dir/api"
listen="${PHOTOPRO_LISTEN:-127.0.0.1:8787}"
mkdir -p "$data_dir"

cargo build --release -p photopro-cli -p photopro-api
photopro="$CARGO_TARGET_DIR/release/photopro"
api="$CARGO_TARGET_DIR/release/photopro-api"

echo "== Index $folder"
"$photopro" --data-dir "$data_dir" library add "$folder"
"$photopro" --data-dir "$data_dir" scan
"$photopro" --data-dir "$data_dir" status | tail -n 12

echo "== PhotoProOS Storage API on http://$listen (embedded SQLite + S3 store in $api_dir)"
"$api" serve --data-dir "$api_dir" --listen "$listen" > "$data_dir/api.log" 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://$listen/health" >/dev/null 2>&1 && break
  kill -0 "$api_pid" 2>/dev/null || { cat "$data_dir/api.log"; exit 1; }
  sleep 0.1
done

if [ ! -s "$data_dir/device-token" ]; then
  org=$("$api" admin --data-dir "$api_dir" create-org --name "Demo Studio" --tier STARTER |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  "$api" admin --data-dir "$api_dir" issue-token --org "$org" --device-name "$(hostname)" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' > "$data_dir/new-token"
  "$photopro" --data-dir "$data_dir" connect "http://$listen" --token-file "$data_dir/new-token"
  rm -f "$data_dir/new-token"
fi

sync_folder="$data_dir/Sync"
if [ ! -d "$sync_folder" ]; then
  # A copy, so syncing never writes into the folder you pointed at.
  gallery=$(find "$folder" -mindepth 1 -maxdepth 1 -type d | sort | head -n 1)
  mkdir -p "$sync_folder"
  cp -rp "$gallery" "$sync_folder/"
fi
echo "== Two-way sync of $sync_folder"
"$photopro" --data-dir "$data_dir" sync --once --folder "$sync_folder"

echo "== Usage"
curl -fsS -H "Authorization: Bearer $(cat "$data_dir/device-token")" "http://$listen/v1/usage" |
  python3 -c 'import json,sys; u=json.load(sys.stdin); print(json.dumps({k: u[k] for k in u if k in ("used_bytes","limit_bytes","percent_used","reserved_bytes","warning","monthly_storage_cost_usd")}, indent=2))'
echo
echo "Index: $data_dir/index.db  Thumbnails: $data_dir/cache/thumbnails  Sync folder: $sync_folder"
if [ "$app" -eq 0 ]; then
  echo "Keep syncing in the foreground: $photopro --data-dir $data_dir sync   (with '$api serve --data-dir $api_dir' running)"
  echo "See it in the desktop app: scripts/run.sh --app"
  exit 0
fi

echo "== Desktop app: build the UI and the app (debug build, the one scripts/app-test.sh makes)"
(cd ui && npm run build)
cargo build --locked -p photopro-app
app_bin="$CARGO_TARGET_DIR/debug/photopro-app"

echo "== Pair the app with http://$listen"
# `photopro connect` above left the API address in $data_dir/app.json and the
# token in $data_dir/device-token. The app reads its token from the OS keychain
# (the Secret Service here), or from that file with PHOTOPRO_TOKEN_STORE=file.
token=$(cat "$data_dir/device-token")
store="${PHOTOPRO_TOKEN_STORE:-}"
# keyring's Secret Service entry: service com.photoproos.storage, user device-token.
key=(service com.photoproos.storage username device-token target default)
lookup() { timeout 10 secret-tool lookup "${key[@]}" 2>/dev/null || true; }
if [ -z "$store" ] && [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] && command -v secret-tool >/dev/null 2>&1; then
  existing=$(lookup)
  if [ -z "$existing" ]; then
    printf %s "$token" | timeout 30 secret-tool store --label="device-token@com.photoproos.storage:default" \
      "${key[@]}" application rust-keyring 2>/dev/null || true
    existing=$(lookup)
  fi
  if [ "$existing" = "$token" ]; then
    store=keychain
    echo "Device token in the session keychain (Secret Service: service com.photoproos.storage, user device-token)."
  elif [ -n "$existing" ]; then
    echo "The session keychain already holds another PhotoPro device token (a real pairing?): left alone."
  fi
fi
if [ -z "$store" ] || [ "$store" = file ]; then
  store=file
  echo "Device token in $data_dir/device-token (mode 0600), read by the app with PHOTOPRO_TOKEN_STORE=file (no usable session keychain, or asked for)."
fi
if [ "$store" = file ]; then export PHOTOPRO_TOKEN_STORE=file; else unset PHOTOPRO_TOKEN_STORE; fi
# Closing the demo's window ends this command (instead of hiding to the tray).
python3 - "$data_dir/app.json" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f: settings = json.load(f)
settings["close_to_tray"] = False
with open(path, "w") as f: json.dump(settings, f, indent=2)
PY

echo "== PhotoPro Storage on $data_dir (close the window to stop the app and the API)"
PHOTOPRO_DATA_DIR="$data_dir" "$app_bin"
