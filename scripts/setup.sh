#!/usr/bin/env bash
# Installs what Layerlab needs on a Debian machine (run as root): npm packages, Chromium for the browser
# tests (when asked), and the VM image (built from Debian i386 packages when missing or out of date).
# Sourced by start.sh and test.sh; safe to run again (each step is skipped when already done).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: apt-get install ${missing[*]}"
  # One stale mirror index must not stop the install.
  apt-get update -q || apt-get update -q || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# npm packages: reinstall when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.layerlab-lock ] || [ "$(cat node_modules/.layerlab-lock)" != "$lock_hash" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.layerlab-lock
fi

if [ "${LAYERLAB_NEED_CHROMIUM:-0}" = 1 ]; then
  apt_install chromium
  # Registry tests: a real registry server, skopeo to push fixtures, htpasswd (bcrypt) for basic auth.
  apt_install docker-registry skopeo apache2-utils
  # Native suites: the agent fuzzer (clang's libFuzzer + ASan), the build check (strace, qemu-user-static),
  # the relay test's host server (python3), zstd fixtures.
  apt_install clang libclang-rt-14-dev strace qemu-user-static python3 zstd gcc-multilib
  # The differential suite and the benchmark's native figures: Debian's dockerd (started by them, each with
  # its own data root; the package's service is not needed), and the busybox the native image is made from.
  apt_install docker.io busybox-static
fi

bash vm/build.sh
