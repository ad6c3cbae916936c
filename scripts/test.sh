#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test.
# Tests start their own servers (S3-compatible store, PostgreSQL, the API) on 127.0.0.1.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo_root/scripts/setup.sh" --test
cd "$repo_root"
# Plain `cargo test` builds the default members: every crate except the desktop app.
cargo test --locked --no-fail-fast "$@"
