#!/usr/bin/env bash
# All tests: set-up on a fresh machine (wasm32-wasip2 target, plugins built
# from source, Garage for the S3 tests: built once per machine and cached,
# Chromium for the HTML report's), then every unit and integration test of
# the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
# Garage first: its build directory (temporary, about 1.5 GB) is gone before
# the workspace's target/ fills up, so the two never take disk at once.
echo "==> garage (a real S3-compatible server for the S3 tests)"
./scripts/garage.sh install
./scripts/build-plugins.sh
# Headless Chromium: the monitor report's tests open the HTML page in it and
# count the charts its script drew (tests/all/browser.rs).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "==> apt-get install chromium (headless, for the HTML report tests)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# The public API's docs: every intra-doc link resolves and none points at a
# private item (the lints are in the root Cargo.toml). The release profile,
# so the build scripts and proc macros it compiles serve `cargo test` too.
echo "==> cargo doc (the public API's doc links)"
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps -p sluice -p sluice-sdk -p sluice-determ
# The install a user runs (cargo install, then the standard plugins beside
# the binary), into a scratch prefix: build-plugins.sh has just built the
# binary, so cargo install reuses it. tests/all/install.rs checks the rest.
echo "==> scripts/install.sh into a scratch prefix"
prefix="$(mktemp -d)"
SLUICE_PLUGINS_BUILT=1 SLUICE_HOME="$prefix/home" ./scripts/install.sh --root "$prefix" >/dev/null
(cd "$prefix" && SLUICE_HOME="$prefix/home" XDG_DATA_HOME="$prefix/data" bin/sluice plugin inspect logreg >/dev/null)
rm -rf "$prefix"
echo "==> cargo test --release --workspace"
# The plugins are built: the tests need not run build-plugins.sh again.
export SLUICE_PLUGINS_BUILT=1
cargo test --release --workspace
