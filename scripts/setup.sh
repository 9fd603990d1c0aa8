#!/usr/bin/env bash
# Installs what building and testing Threadline needs, skipping whatever is already there:
# the wasm32 Rust target, the wasm-bindgen CLI of the version Cargo.toml pins, Debian's Chromium
# and chromedriver, a C compiler (the collector embeds SQLite), Python's venv and PostgreSQL 15
# (for the backend packages' tests), and the npm packages. Safe to run
# again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

want=$(sed -n 's/^wasm-bindgen = .*"=\([0-9.]*\)".*/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ] || ! command -v wasm-bindgen-test-runner >/dev/null; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes"
  # No --locked: the CLI's lock file names a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

packages=()
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || packages+=(chromium chromium-driver)
command -v cc >/dev/null || packages+=(gcc libc6-dev)
# The backend packages' tests: a Python virtual environment and a private PostgreSQL 15.
python3 -c "import ensurepip, venv" 2>/dev/null || packages+=(python3 python3-venv)
[ -x /usr/lib/postgresql/15/bin/initdb ] || packages+=(postgresql)
if [ "${#packages[@]}" -gt 0 ]; then
  say "installing Debian packages: ${packages[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi
