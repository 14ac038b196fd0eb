#!/usr/bin/env bash
# All tests: set-up on a fresh machine (wasm32-wasip2 target, plugins built
# from source), then every unit and integration test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-plugins.sh
echo "==> cargo test --release --workspace"
cargo test --release --workspace
