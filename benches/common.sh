# Sourced by the bench scripts (benches/*/run.sh), after `set -euo pipefail`
# and with $here set to the script's folder: builds the plugins and the
# host (no-ops when warm; neither when SLUICE_BIN and SLUICE_PLUGINS name a
# prebuilt host and plugin folder) and sets
#   root    the repository
#   venv    the Python venv with pandas, pyarrow and scikit-learn
#           (E2E_VENV, default ~/.cache/sluice-e2e-venv; made by make_venv)
#   work    a scratch folder, removed on exit
#   sluice  the host binary
#   plugins the folder of the built plugins (.wasm)
root="$(cd "$here/../.." && pwd)"
venv="${E2E_VENV:-$HOME/.cache/sluice-e2e-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
if [ -n "${SLUICE_BIN:-}" ] && [ -n "${SLUICE_PLUGINS:-}" ]; then
  sluice="$SLUICE_BIN"
  plugins="$SLUICE_PLUGINS"
else
  ./scripts/build-plugins.sh >/dev/null
  cargo build --release -p sluice-cli >/dev/null 2>&1 || cargo build --release -p sluice-cli
  sluice="$root/target/release/sluice"
  plugins="$root/target/wasm32-wasip2/release"
fi

# Make the venv (once per machine) and set $py to its python.
make_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -c "import pandas, pyarrow, sklearn" 2>/dev/null ||
    "$venv/bin/pip" install -q pandas pyarrow scikit-learn
  py="$venv/bin/python"
}

# Compile plugins into the compile cache of home $1, as any machine has
# them after a first run: warm_plugins HOME PLUGIN...
warm_plugins() {
  local home="$1"
  shift
  for plugin in "$@"; do
    "$sluice" plugin inspect --home "$home" "$plugins/$plugin.wasm" >/dev/null
  done
}
