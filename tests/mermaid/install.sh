#!/usr/bin/env bash
# Installs the pinned Mermaid parser (tests/mermaid/package-lock.json) into a
# cache folder keyed by the lock file's hash, once, and prints that folder:
# tests/graph.rs reads it from PIPEC_MERMAID_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
key=$(sha256sum "$here/package-lock.json" | cut -c1-16)
dir="$root/.pipec/npm/mermaid-$key"
if [ ! -f "$dir/.installed" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$here/package.json" "$here/package-lock.json" "$here/check.mjs" "$dir/"
  (cd "$dir" && npm ci --silent --no-audit --no-fund --ignore-scripts >&2)
  touch "$dir/.installed"
fi
cp "$here/check.mjs" "$dir/check.mjs"
echo "$dir"
