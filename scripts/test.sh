#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test.
# Tests start their own servers (S3-compatible store, PostgreSQL, the API) on 127.0.0.1.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo_root/scripts/setup.sh" --test
"$repo_root/scripts/app-setup.sh" --driver
cd "$repo_root"
# Gates: formatting and lints (warnings are errors) on every crate (the app's
# lints run in app-test.sh, once the UI it embeds is built).
# One package set per invocation, as below: mixing them unifies features differently.
cargo fmt --all --check
cargo clippy --locked --all-targets -- -D warnings
# No unguarded Unix-only code in what ships (CI has no Windows toolchain).
"$repo_root/scripts/check-portable.sh"
# Plain `cargo test` builds the default members: every crate except the desktop app.
cargo test --locked --no-fail-fast "$@"
# Again with the portable (std-only) platform code Windows runs: the platform,
# lock, control, trash and conflict unit tests, the disk and daemon suites and
# the one-engine-per-library end-to-end tests (~20 s; nothing is rebuilt).
PHOTOPRO_PORTABLE=1 cargo test --locked --no-fail-fast --lib -- platform:: lock:: control:: disk:: conflicts::
PHOTOPRO_PORTABLE=1 cargo test --locked --no-fail-fast --test local_fs_conformance --test service --test single_engine
# The API fuzzed from its OpenAPI document (schemathesis) against a real `photopro-api serve`.
"$repo_root/scripts/api-fuzz.sh"
# The desktop app: UI unit tests, mock-runtime commands, Playwright in chromium,
# and the real app through tauri-driver under Xvfb (screenshots in target/screenshots/).
"$repo_root/scripts/app-test.sh"
