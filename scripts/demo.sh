#!/usr/bin/env bash
# Everything a fresh machine with the Rust toolchain needs, then the example
# pipeline: wasm32-wasip2 target, plugins from source, the host, one run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-plugins.sh
echo "==> building the sluice host (release)"
cargo build --release -p sluice-cli
echo "==> sluice run pipelines/breast-cancer.toml"
./target/release/sluice run pipelines/breast-cancer.toml
