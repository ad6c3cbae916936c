#!/usr/bin/env bash
# Tests of the desktop app, from UI logic to the real app in a real webview:
#   1. UI unit tests (Vitest) and the production UI build (tsc + Vite)
#   2. Rust commands on Tauri's mock runtime (cargo test -p photopro-app)
#   3. an E2E library: ../shared/photos copied, indexed by `photopro scan`,
#      and the hosted API (`photopro-api serve`) with real uploads for the usage bar
#      (the real-app layer then syncs against it: uploads, the cap, a conflict
#      with a second device run by the `photopro` CLI)
#   4. the UI in Debian's chromium (Playwright) replaying the real commands' answers
#   5. the real app (WebKitGTK) through tauri-driver + WebKitWebDriver under Xvfb
#   6. the Linux installer: the .deb bundled from that same debug build, installed
#      with dpkg, launched once from /usr/bin under Xvfb, removed (scripts/deb-check.sh)
# Screenshots of every screen: target/screenshots/. Run scripts/app-setup.sh first
# (scripts/app-setup.sh --driver also installs tauri-driver for step 5).
#   scripts/app-test.sh [--no-driver] [--no-deb] [--only-real-app] [--repeat N]
# --only-real-app skips steps 1 (but builds the UI), 2 and 4 (for repeated runs of
# the real-app layer); --repeat N runs the real-app layer N times on fresh E2E data
# and stops at the first failure.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

run_driver=1
run_deb=1
only_real_app=0
repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-driver) run_driver=0 ;;
    --no-deb) run_deb=0 ;;
    --only-real-app) only_real_app=1 ;;
    --repeat) repeat="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*"; }
e2e="$repo_root/target/e2e"
shots="$repo_root/target/screenshots"
rm -rf "$shots"
mkdir -p "$shots"

if [ "$only_real_app" -eq 1 ]; then
  step "UI build"
  (cd ui && npm run build)
else
  step "UI unit tests and build"
  (cd ui && npx vitest run && npm run build)

  step "Lints of the app (warnings are errors), now that the UI it embeds is built"
  cargo clippy --locked -p photopro-app --all-targets -- -D warnings

  step "Rust commands on the mock runtime"
  cargo test --locked -p photopro-app

  step "The UI's TypeScript types match the Rust ones (the tests above rewrote ui/src/generated)"
  if [ -n "$(git status --porcelain -- ui/src/generated)" ]; then
    git status --short -- ui/src/generated >&2
    git --no-pager diff --stat -- ui/src/generated >&2
    echo "ui/src/generated is stale: run \`cargo test -p photopro-app --lib export_ts_bindings\` and commit ui/src/generated" >&2
    exit 1
  fi

  step "The device token in a real keychain (gnome-keyring in a private D-Bus session)"
  cargo build --locked -p photopro-app --example keychain_roundtrip
  keyring_home=$(mktemp -d)
  HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/.local/share" dbus-run-session -- sh -c \
    'printf photopro-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "$1"' \
    sh "$CARGO_TARGET_DIR/debug/examples/keychain_roundtrip"
  rm -rf "$keyring_home"
fi

step "Binaries: photopro (scan), photopro-api (usage), the app and its fixture dumper"
# One package per invocation: building them together unifies dependency
# features differently and would rebuild the Tauri stack every time.
cargo build --locked -p photopro-cli
cargo build --locked -p photopro-api
cargo build --locked -p photopro-app
cargo build --locked -p photopro-app --example ui_fixture
bin="$CARGO_TARGET_DIR/debug"

api_pid=
cleanup() { if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
for run in $(seq 1 "$repeat"); do
  if [ "$repeat" -gt 1 ]; then step "Run $run of $repeat"; fi
  step "E2E library from ../shared/photos"
  rm -rf "$e2e"
  mkdir -p "$e2e"
  cp -r "${PHOTOPRO_SHARED_PHOTOS:-$repo_root/../shared/photos}" "$e2e/Shoots"
  "$bin/photopro" --data-dir "$e2e/data" library add "$e2e/Shoots" >/dev/null
  "$bin/photopro" --data-dir "$e2e/data" scan >/dev/null

  step "Hosted API with real uploads"
  api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export PHOTOPRO_E2E_API="http://127.0.0.1:$api_port"
  "$bin/photopro-api" serve --data-dir "$e2e/api" --listen "127.0.0.1:$api_port" >"$e2e/api.log" 2>&1 &
  api_pid=$!
  node tests/e2e/api-seed.mjs "$bin/photopro-api" "$e2e" "$PHOTOPRO_E2E_API"

  step "Fixture: the real commands' answers for the browser layer"
  PHOTOPRO_TOKEN_STORE=file "$bin/examples/ui_fixture" "$e2e/data" "$e2e/fixture.json"

  if [ "$only_real_app" -eq 0 ]; then
    step "UI in chromium (Playwright) — screenshots, hover, drag and drop, 10,000-folder grid"
    node --test --test-concurrency=1 tests/e2e/browser.test.mjs
  fi

  if [ "$run_driver" -eq 1 ]; then
    step "The real app through tauri-driver under Xvfb"
    if ! command -v tauri-driver >/dev/null 2>&1; then
      echo "tauri-driver is missing: run scripts/app-setup.sh --driver" >&2
      exit 1
    fi
    PHOTOPRO_E2E_APP="$bin/photopro-app" dbus-run-session -- xvfb-run -a -s "-screen 0 1440x900x24" \
      node --test --test-concurrency=1 tests/e2e/app.test.mjs
  fi

  cleanup
  api_pid=
done

if [ "$run_deb" -eq 1 ]; then
  step "The Linux installer: .deb of this debug build, installed with dpkg, launched once under Xvfb"
  # `tauri bundle` packages the binary `cargo build -p photopro-app` made above
  # (same features, so nothing is compiled; ~20 s, mostly compressing). The
  # updater artifacts need the release signing key (docs/installers.md): off here.
  rm -rf "$CARGO_TARGET_DIR/debug/bundle/deb"
  ui/node_modules/.bin/tauri bundle --debug --bundles deb --ci \
    --config '{"bundle":{"createUpdaterArtifacts":false}}'
  debs=("$CARGO_TARGET_DIR"/debug/bundle/deb/*.deb)
  scripts/deb-check.sh "${debs[0]}"
fi

step "Done. Screenshots:"
ls "$shots"
