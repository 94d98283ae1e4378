#!/usr/bin/env bash
# Installs the Node test client (socket.io-client 4, pinned in tests/node/package-lock.json) from npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../tests/node"
command -v node >/dev/null || { echo "node is required for the browser-protocol test" >&2; exit 1; }
if [ ! -d node_modules/socket.io-client ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
fi
