#!/usr/bin/env bash
# Install sluice for this user from this clone: the `sluice` binary (cargo
# install) into PREFIX/bin, and the standard plugins, built from source,
# into PREFIX/share/sluice/plugins, where the binary finds them by name
# (`plugin = "logreg"`, no plugin_dirs). Test-only hostile plugins are never
# installed.
#
#   ./scripts/install.sh [--root PREFIX] [--binary FILE]
#
#   --root PREFIX   where to install (default: cargo install's, ~/.cargo)
#   --binary FILE   install this built `sluice` instead of running cargo
#                   install (the tests use the one they built)
set -euo pipefail
cd "$(dirname "$0")/.."
root="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}"
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "${SLUICE_PLUGINS_BUILT:-}" ]; then
  ./scripts/build-plugins.sh
fi
if [ -n "$binary" ]; then
  mkdir -p "$root/bin"
  install -m 755 "$binary" "$root/bin/sluice.new"
  mv "$root/bin/sluice.new" "$root/bin/sluice"
else
  echo "==> cargo install --locked --path host/cli --root $root"
  cargo install --locked --path host/cli --root "$root"
fi
plugins="$root/share/sluice/plugins"
echo "==> the standard plugins into $plugins"
# Every component build-plugins.sh put in target/wasm32-wasip2/release (the
# hostile ones go to test-plugins/); each must load before any is copied.
"$root/bin/sluice" plugin add --force --to "$plugins" target/wasm32-wasip2/release
echo "installed: $root/bin/sluice (put $root/bin on your PATH); \`sluice plugin list\` shows the plugins"
