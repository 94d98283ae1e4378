#!/usr/bin/env bash
# Installs what `make bench` needs beyond the venv: the Node load generator and B2 server
# (socket.io 4 + socket.io-client 4, pinned in bench/node/package-lock.json) and wrk (Debian).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/node"
command -v node >/dev/null || { echo "bench: node is required (the load generator)" >&2; exit 1; }
if [ ! -d node_modules/socket.io ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
fi
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -q wrk >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q wrk >/dev/null; }
fi
