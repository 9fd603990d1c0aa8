#!/usr/bin/env bash
# `npm test`: every check and test, on a fresh machine too (scripts/setup.sh installs what is
# missing). Lints, native tests of the core, wasm-bindgen tests of the web shell in headless
# Chromium, then end-to-end tests of the built package in Chromium against loopback servers.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "format and lints (host and wasm32)"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
# Test builds link std (wasm-bindgen-test), which brings its own panic handler.
cargo clippy --target wasm32-unknown-unknown --all-targets --no-default-features -- -D warnings

step "native tests of the core"
cargo test

step "web shell tests in headless Chromium (wasm-bindgen-test)"
CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=120 cargo test --target wasm32-unknown-unknown --no-default-features

step "build"
node scripts/build.mjs

step "end-to-end tests in headless Chromium"
node --test --test-concurrency=1 tests/e2e/
