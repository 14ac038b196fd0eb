#!/usr/bin/env bash
# Install the toolchains `sluice build` uses for plugins in other languages,
# under ${SLUICE_TOOLS:-$HOME/.cache/sluice-tools}. Idempotent, and quick
# when everything is there already.
#   Python:     a venv with componentize-py and wheel (PyPI, pinned)
#   JavaScript: componentize-js, and esbuild (bundles a plugin's npm
#               dependencies), from scripts/toolchains/package-lock.json (npm ci)
#   Serving:    a venv with the clients the serving tests use, as users
#               have them: tritonclient[http] and MLflow's scoring-server
#               client (mlflow-skinny; it needs scipy to send a DataFrame),
#               pinned; and Prometheus (apt), which scrapes the server's
#               metrics in the tests
#   C:          clang, lld, wasi-libc, the wasm32 compiler-rt (apt, when missing);
#               `wit-bindgen c` and the component step run inside `sluice build`.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${SLUICE_TOOLS:-$HOME/.cache/sluice-tools}"
COMPONENTIZE_PY=0.25.1
WHEEL=0.45.1
mkdir -p "$TOOLS"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
apt_install() {
  echo "==> apt-get install $*"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
command -v python3 >/dev/null || apt_install python3 python3-venv
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm

# wheel: `sluice build` installs a plugin's requirements.txt with this pip,
# building local packages with the venv's setuptools (no build isolation).
if [ "$("$TOOLS/py/bin/componentize-py" --version 2>/dev/null | awk '{print $2}')" != "$COMPONENTIZE_PY" ] \
  || [ "$("$TOOLS/py/bin/pip" show wheel 2>/dev/null | awk '/^Version/ {print $2}')" != "$WHEEL" ]; then
  echo "==> componentize-py $COMPONENTIZE_PY and wheel $WHEEL into $TOOLS/py"
  python3 -m venv "$TOOLS/py" || { apt_install python3-venv && python3 -m venv "$TOOLS/py"; }
  "$TOOLS/py/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY" "wheel==$WHEEL"
fi

# The serving tests' clients (tests/serve/clients.py).
SERVE_CLIENTS="tritonclient[http]==2.73.0 mlflow-skinny==3.18.0 pandas==3.1.1 numpy==2.4.6 scipy==1.17.1"
if [ "$(cat "$TOOLS/serve-py/.pinned" 2>/dev/null)" != "$SERVE_CLIENTS" ]; then
  echo "==> serving clients into $TOOLS/serve-py: $SERVE_CLIENTS"
  rm -rf "$TOOLS/serve-py"
  python3 -m venv "$TOOLS/serve-py" || { apt_install python3-venv && python3 -m venv "$TOOLS/serve-py"; }
  # shellcheck disable=SC2086
  "$TOOLS/serve-py/bin/pip" install --quiet --disable-pip-version-check $SERVE_CLIENTS
  echo "$SERVE_CLIENTS" >"$TOOLS/serve-py/.pinned"
fi

command -v prometheus >/dev/null || apt_install prometheus

if ! cmp -s scripts/toolchains/package-lock.json "$TOOLS/js/package-lock.json" \
  || [ ! -d "$TOOLS/js/node_modules/@bytecodealliance/componentize-js" ] \
  || [ ! -x "$TOOLS/js/node_modules/.bin/esbuild" ]; then
  echo "==> componentize-js and esbuild into $TOOLS/js (npm ci)"
  mkdir -p "$TOOLS/js"
  cp scripts/toolchains/package.json scripts/toolchains/package-lock.json "$TOOLS/js/"
  (cd "$TOOLS/js" && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null \
  || [ ! -f /usr/lib/wasm32-wasi/libc.a ] \
  || ! ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; then
  apt_install clang lld wasi-libc libclang-rt-14-dev-wasm32
fi
