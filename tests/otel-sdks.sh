#!/usr/bin/env bash
# Round trips from the real OpenTelemetry SDKs through the collector: the JS SDK with the OTLP
# HTTP JSON and protobuf exporters (tests/otel-node, pinned by its package-lock.json) and the
# Python SDK with the OTLP/HTTP protobuf exporter, gzip and deflate (tests/otel-python, pinned by
# requirements.txt, in a venv there). Installs only when the pins changed; downloads are cached
# under ${XDG_CACHE_HOME:-$HOME/.cache}/threadline/. Needs target/debug/threadline-collector.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/threadline"
mkdir -p "$cache"

stamp_of() { sha256sum "$1" | cut -d' ' -f1; }

node_dir=tests/otel-node
if [ "$(cat "$node_dir/node_modules/.threadline-stamp" 2>/dev/null)" != "$(stamp_of "$node_dir/package-lock.json")" ]; then
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error --cache "$cache/npm")
  stamp_of "$node_dir/package-lock.json" >"$node_dir/node_modules/.threadline-stamp"
fi

py_dir=tests/otel-python
if [ "$(cat "$py_dir/.venv/.threadline-stamp" 2>/dev/null)" != "$(stamp_of "$py_dir/requirements.txt")" ]; then
  python3 -m venv "$py_dir/.venv"
  "$py_dir/.venv/bin/pip" install --quiet --disable-pip-version-check --cache-dir "$cache/pip" -r "$py_dir/requirements.txt"
  stamp_of "$py_dir/requirements.txt" >"$py_dir/.venv/.threadline-stamp"
fi

cargo build -p threadline-collector
node --test "$node_dir/roundtrip.test.mjs"
"$py_dir/.venv/bin/python" "$py_dir/roundtrip.py"
