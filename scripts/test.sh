#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test.
# Tests start their own servers (S3-compatible store, PostgreSQL, the API) on 127.0.0.1.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo_root/scripts/setup.sh" --test
"$repo_root/scripts/app-setup.sh" --driver
cd "$repo_root"
# Plain `cargo test` builds the default members: every crate except the desktop app.
cargo test --locked --no-fail-fast "$@"
# The desktop app: UI unit tests, mock-runtime commands, Playwright in chromium,
# and the real app through tauri-driver under Xvfb (screenshots in target/screenshots/).
"$repo_root/scripts/app-test.sh"
