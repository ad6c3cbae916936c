#!/usr/bin/env bash
# The main job on the embedded default: install what is missing, build, index a
# folder of photos (default: ../shared/photos) and show what was found.
#   scripts/run.sh [FOLDER]
# The index, thumbnails and config go to .photopro/ in the repository
# (PHOTOPRO_DATA_DIR overrides); run it again and only changes are re-read.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo_root/scripts/setup.sh"
cd "$repo_root"
folder="${1:-$repo_root/../shared/photos}"
data_dir="${PHOTOPRO_DATA_DIR:-$repo_root/.photopro}"
cargo build --release -p photopro-cli
photopro="$CARGO_TARGET_DIR/release/photopro"
"$photopro" --data-dir "$data_dir" library add "$folder"
"$photopro" --data-dir "$data_dir" scan
"$photopro" --data-dir "$data_dir" status
echo
echo "Index: $data_dir/index.db  Thumbnails: $data_dir/cache/thumbnails"
echo "Try:   $photopro --data-dir $data_dir ls $folder"
