# Sourced by the scripts: one cargo target directory outside the clone, so CI
# and every checkout reuse the same build.
export PATH="$HOME/.cargo/bin:$HOME/.local/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/photopro-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
