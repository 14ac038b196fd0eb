#!/usr/bin/env bash
# Build every Wasm component of the repository from source into
# target/wasm32-wasip2/release/NAME.wasm ('-' -> '_'): the Rust plugins
# (plugins/*) with cargo, and the plugins in other
# languages (a plugins/* folder with sluice-plugin.toml: Python, JavaScript,
# C) with `sluice build`, after scripts/setup-toolchains.sh. The hostile
# test plugins (tests/hostile/*) go to target/wasm32-wasip2/test-plugins,
# never beside the standard ones a user installs. A plugin whose inputs did
# not change is not rebuilt.
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
echo "==> building ${#pkgs[@]} plugin components (wasm32-wasip2, profile plugin)"
# The `plugin` profile (Cargo.toml) builds them without debug info.
cargo build --profile plugin --target wasm32-wasip2 "${pkgs[@]}"
out=target/wasm32-wasip2/release
test_out=target/wasm32-wasip2/test-plugins
mkdir -p "$out" "$test_out"
hostile=" $(for dir in tests/hostile/*/; do basename "$dir" | tr - _; done | tr '\n' ' ') "
for wasm in target/wasm32-wasip2/plugin/*.wasm; do
  name="$(basename "$wasm")"
  if [[ "$hostile" == *" ${name%.wasm} "* ]]; then
    dest="$test_out/$name"
    rm -f "$out/$name"
  else
    dest="$out/$name"
  fi
  cmp -s "$wasm" "$dest" || cp "$wasm" "$dest"
done

./scripts/setup-toolchains.sh
cargo build --release -p sluice-cli --bin sluice
for dir in plugins/*/; do
  [ -f "$dir/sluice-plugin.toml" ] || continue
  name="$(basename "$dir")"
  ./target/release/sluice build "$dir" -o "$out/${name//-/_}.wasm"
done
