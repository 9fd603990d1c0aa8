#!/usr/bin/env bash
# `npm test`: every check and test, on a fresh machine too (scripts/setup.sh installs what is
# missing). Lints, native tests of the core, wasm-bindgen tests of the web shell in headless
# Chromium, then end-to-end tests of the built package in Chromium against loopback servers, then
# the packed package built by real bundlers and loaded in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "format and lints (host and wasm32)"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
# Test builds link std (wasm-bindgen-test), which brings its own panic handler.
cargo clippy --target wasm32-unknown-unknown --all-targets --no-default-features --features events -- -D warnings
# The propagation-only build (no event pipeline).
cargo clippy --target wasm32-unknown-unknown --lib --no-default-features --features panic-trap -- -D warnings

step "the web shell's size and the import graph (no module circles)"
node scripts/shell-shape.mjs

step "native tests: the recorder's core, the collector over real HTTP and SQLite"
cargo test --workspace

step "threadline/node: its types (tsc), then against real Express, Fastify, pino, winston and OpenTelemetry"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/threadline"
if [ ! -f node/test/node_modules/.package-lock.json ] || [ node/test/package-lock.json -nt node/test/node_modules/.package-lock.json ]; then
  npm ci --prefix node/test --no-audit --no-fund --cache "$cache/npm"
fi
node/test/node_modules/.bin/tsc -p node/tsconfig.json
node --test --test-concurrency=1 node/test/*.test.mjs

step "threadline_correlation (python/) against real FastAPI under uvicorn and Flask under werkzeug"
venv=python/.venv
want="$(cat python/requirements-test.txt python/pyproject.toml | sha256sum)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --cache-dir "$cache/pip" \
    -r python/requirements-test.txt -e python
  echo "$want" >"$venv/.installed"
fi
(cd python && .venv/bin/mypy && .venv/bin/python -m pytest -q -p no:cacheprovider)

step "the collector with the real OpenTelemetry SDKs (Node and Python)"
bash tests/otel-sdks.sh

step "web shell tests in headless Chromium (wasm-bindgen-test)"
# If the runner ever stalls before its page has run a test, the attempt is cut off, what it left
# behind (its chromedriver and Chromium) is killed, and it is tried again. A run in which a test
# failed is never retried away.
cargo test --target wasm32-unknown-unknown --no-default-features --features events --no-run
log="$(mktemp)"
for attempt in 1 2 3; do
  if CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=60 \
    timeout --kill-after=10 180 cargo test --target wasm32-unknown-unknown --no-default-features --features events >"$log" 2>&1; then
    cat "$log"
    break
  fi
  cat "$log"
  if grep -q "test result: FAILED\|panicked at" "$log" || [ "$attempt" = 3 ]; then
    echo "web shell tests failed" >&2
    exit 1
  fi
  pkill -9 -f -- "--test-type=webdriver" || true
  pkill -9 -x chromedriver || true
  echo "web shell test runner stalled before running tests; retrying ($attempt/3)"
done
rm -f "$log"

step "build"
node scripts/build.mjs

step "end-to-end tests in headless Chromium"
# The real libraries of the coexistence matrix (tests/e2e/libs/package.json, pinned).
libs=tests/e2e/libs
if [ ! -f "$libs/node_modules/.package-lock.json" ] || [ "$libs/package-lock.json" -nt "$libs/node_modules/.package-lock.json" ]; then
  (cd "$libs" && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline)
fi
node --test --test-concurrency=1 tests/e2e/

step "packaging: the packed tarball built by Vite, webpack, Rollup, esbuild and Next.js; README snippets under tsc --strict"
# Each fixture's packages are installed once into ${XDG_CACHE_HOME:-~/.cache}/threadline/packaging/.
node --test --test-concurrency=1 tests/packaging/
