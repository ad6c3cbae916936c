# Sourced by the scripts: one cargo target directory outside the clone, so CI
# and every checkout reuse the same build.
export PATH="$HOME/.cargo/bin:$HOME/.local/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/photopro-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches grow by gigabytes per build on this disk and buy CI nothing.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The shared real photos the tests read (never copied into the repository).
if [ -z "${PHOTOPRO_SHARED_PHOTOS:-}" ]; then
  for candidate in "$repo_root/../shared/photos" /work/shared/photos; do
    if [ -d "$candidate" ]; then export PHOTOPRO_SHARED_PHOTOS="$(cd "$candidate" && pwd)"; break; fi
  done
fi
