#!/usr/bin/env bash
# Build every Wasm component of the repository from source: the standard
# plugins (plugins/*) and the hostile test plugins (tests/hostile/*), into
# target/wasm32-wasip2/release/NAME.wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "==> rustup target add wasm32-wasip2"
  rustup target add wasm32-wasip2
fi
pkgs=()
for dir in plugins/*/ tests/hostile/*/; do
  [ -f "$dir/Cargo.toml" ] || continue
  pkgs+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1)")
done
echo "==> building ${#pkgs[@]} plugin components (wasm32-wasip2, release)"
cargo build --release --target wasm32-wasip2 "${pkgs[@]}"
