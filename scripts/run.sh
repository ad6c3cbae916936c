#!/usr/bin/env bash
# The main job on the embedded default, no accounts needed: install what is
# missing, build, index a folder of photos (default ../shared/photos) and show
# what was found; then start the PhotoProOS Storage API on 127.0.0.1 (SQLite +
# its embedded S3-compatible store), connect this device to it, two-way sync a
# gallery copied from that folder, and show the organization's usage.
#   scripts/run.sh [FOLDER]
# Everything lands in .photopro/ in the repository (PHOTOPRO_DATA_DIR overrides);
# run it again and only changes are re-read and re-synced.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo_root/scripts/setup.sh"
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
echo "Keep syncing in the foreground: $photopro --data-dir $data_dir sync   (with '$api serve --data-dir $api_dir' running)"
