#!/usr/bin/env bash
# Try the Linux installer as a user would: check the .deb's metadata and files,
# install it with dpkg, launch the installed /usr/bin/photopro-app once under
# Xvfb on a scratch data dir, wait for its window, stop it with SIGTERM, and
# remove the package again.
#   scripts/deb-check.sh PATH/TO/package.deb
# Called by scripts/app-test.sh after `tauri bundle --debug --bundles deb`.
set -euo pipefail
source "$(dirname "$0")/env.sh"

deb="${1:?usage: scripts/deb-check.sh PATH/TO/package.deb}"
[ -f "$deb" ] || { echo "deb-check: no package at $deb (build it with scripts/app-test.sh)" >&2; exit 1; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
fail() { echo "deb-check: $*" >&2; exit 1; }

# What tauri.conf.json promises.
conf_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$repo_root/tauri.conf.json" "$1"; }
product=$(conf_field productName)
version=$(conf_field version)

echo "== Metadata of $(basename "$deb")"
package=$(dpkg-deb -f "$deb" Package)
deb_version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -f "$deb" Package Version Architecture Depends; echo
[ -n "$package" ] || fail "$deb has no Package field"
[ "$deb_version" = "$version" ] || fail "$deb has version $deb_version, tauri.conf.json says $version"
contents=$(dpkg-deb -c "$deb" | awk '{ $1=$2=$3=$4=$5=""; sub(/^ +/, ""); print }')
for want in "usr/bin/photopro-app" "usr/share/applications/$product.desktop" \
            "usr/share/icons/hicolor/32x32/apps/photopro-app.png" \
            "usr/share/icons/hicolor/128x128/apps/photopro-app.png"; do
  grep -qxF "$want" <<<"$contents" || fail "$deb lacks $want (tauri.conf.json bundle section?)"
done
echo "files: /usr/bin/photopro-app, $product.desktop, icons 32x32 and 128x128"

installed=0
scratch=$(mktemp -d)
cleanup() {
  if [ "$installed" -eq 1 ]; then sudo_if_needed dpkg -r "$package" >/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

echo "== dpkg -i"
if ! sudo_if_needed dpkg -i "$deb"; then
  # Dependencies (WebKitGTK, GTK, appindicator) from Debian's own archive.
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -f -y -q --no-install-recommends
fi
installed=1
dpkg -s "$package" | grep -q '^Status: install ok installed' || fail "dpkg did not install $package"
desktop="/usr/share/applications/$product.desktop"
grep -qx 'Exec=photopro-app' "$desktop" || fail "$desktop does not start photopro-app"
[ -x /usr/bin/photopro-app ] || fail "/usr/bin/photopro-app is missing after dpkg -i"

echo "== Launch the installed app under Xvfb (data in $scratch)"
# Inside a private session bus and X display: start the app, wait for its
# window titled "$product", check it is still alive, SIGTERM it and wait.
started=$(date +%s)
PHOTOPRO_DATA_DIR="$scratch/data" PHOTOPRO_TOKEN_STORE=file RUST_LOG=info \
  dbus-run-session -- xvfb-run -a -s "-screen 0 1280x900x24" bash -c '
    product=$1 log=$2
    /usr/bin/photopro-app >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
      if xwininfo -root -tree 2>/dev/null | grep -qF "\"$product\""; then break; fi
      kill -0 "$pid" 2>/dev/null || { echo "the app exited before showing its window:"; cat "$log"; exit 1; }
      sleep 0.1
    done
    xwininfo -root -tree | grep -qF "\"$product\"" || { echo "no window titled \"$product\" after 60 s"; cat "$log"; kill -9 "$pid"; exit 1; }
    echo "window \"$product\" is up"
    sleep 2
    kill -0 "$pid" 2>/dev/null || { echo "the app died after showing its window:"; cat "$log"; exit 1; }
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "the app ignored SIGTERM for 10 s"; kill -9 "$pid"; exit 1; fi
    wait "$pid" && code=0 || code=$?
    echo "stopped by SIGTERM (exit status $code)"
    # It quits as the tray'"'"'s Quit does (exit 0, sync stopped), not killed by the signal (143).
    [ "$code" -eq 0 ] || { echo "the app was killed by SIGTERM instead of quitting cleanly:"; tail -n 20 "$log"; exit 1; }
    grep -q "PhotoPro Storage quit" "$log" || { echo "the app did not say it quit:"; tail -n 20 "$log"; exit 1; }
  ' bash "$product" "$scratch/app.log" || { echo "deb-check: the installed app did not start and stop cleanly (log above)" >&2; exit 1; }
echo "up and down in $(( $(date +%s) - started )) s"
[ -f "$scratch/data/index.db" ] || fail "the installed app did not create its index in $scratch/data"
echo "index created: $scratch/data/index.db"

echo "== dpkg -r"
sudo_if_needed dpkg -r "$package" >/dev/null
installed=0
[ ! -e /usr/bin/photopro-app ] || fail "/usr/bin/photopro-app is still there after dpkg -r $package"
echo "$package $version: built, installed, launched, removed"
