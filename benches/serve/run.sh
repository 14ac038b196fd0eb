#!/usr/bin/env bash
# Serving benchmark (issue 20, point 12): the same model served by
# `sluice serve` and by `mlflow models serve`, driven by the same load
# generator with the same requests, on this machine.
#
#   benches/serve/run.sh [SECONDS]      (default 10 per measurement)
#
# 1. Trains pipelines/breast-cancer.toml with sluice and promotes v1 of
#    breast-cancer-logreg to production; fits the equivalent scikit-learn
#    pipeline on the very rows sluice trained on (the train part of its
#    split) and logs it with mlflow.sklearn.log_model (train_mlflow.py), in
#    a venv made once per machine (SERVE_BENCH_VENV, default
#    ~/.cache/sluice-serve-bench-venv: mlflow and scikit-learn, pinned).
# 2. Starts `sluice serve` and `mlflow models serve --env-manager local
#    --workers 2` (two uvicorn worker processes for the two cores, as
#    sluice's tokio runtime has a worker thread per core) on free ports of
#    127.0.0.1 and waits until both answer /ping.
# 3. Drives each with oha (installed once per machine with `cargo install
#    oha --locked` into ~/.cache/sluice-tools/oha; OHA overrides) for
#    SECONDS at concurrency 1, 16 and 64, POST /invocations with one
#    `dataframe_split` JSON body of 1 row and one of 100 rows, the two
#    servers alternating (the order swapped every measurement), the load
#    average printed before each. Fails unless every request of every
#    measurement got a 200 and the two servers predict the same labels for
#    all 569 rows. Prints requests/s, p50 and p99, the server's CPU time
#    per request (its process group's user + system time over the
#    measurement: the machine is shared, oha runs on the same two cores)
#    and the ratios.
#
# Builds the host and the plugins first (benches/common.sh) unless
# SLUICE_BIN and SLUICE_PLUGINS name a prebuilt host and plugin folder.
# SLUICE_SERVE_ARGS adds options to `sluice serve` (e.g. `--no-log`, to
# measure what the inference log costs).
# Only 127.0.0.1 is ever sent a request.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-10}"
# shellcheck source=../common.sh
. "$here/../common.sh"

venv="${SERVE_BENCH_VENV:-$HOME/.cache/sluice-serve-bench-venv}"
oha_root="$HOME/.cache/sluice-tools/oha"
oha="${OHA:-$oha_root/bin/oha}"
mlflow_version=3.17.2
sklearn_version=1.9.1
oha_version=1.16.0

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    # Each server runs in its own process group (setsid): the group goes
    # with it (MLflow's uvicorn workers are its children).
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$oha" ]; then
  echo "==> installing oha $oha_version into $oha_root (once per machine; takes minutes)"
  cargo install oha --version "$oha_version" --locked --root "$oha_root"
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "
import mlflow, sklearn, sys
sys.exit(mlflow.__version__ != '$mlflow_version' or sklearn.__version__ != '$sklearn_version')" 2>/dev/null ||
  "$venv/bin/pip" install -q "mlflow==$mlflow_version" "scikit-learn==$sklearn_version"
py="$venv/bin/python"

echo "==> training breast-cancer-logreg with sluice and with scikit-learn + MLflow"
home="$work/home"
"$sluice" --home "$home" run --json --plugin-dir "$plugins" pipelines/breast-cancer.toml >"$work/run.json"
"$sluice" --home "$home" models promote breast-cancer-logreg 1 --to production >/dev/null
train_digest="$("$py" -c '
import json, sys
run = json.load(open(sys.argv[1]))
assert run["status"] == "succeeded", run["status"]
print([s for s in run["steps"] if s["id"] == "dataset:cancer"][0]["outputs"]["train"])' "$work/run.json")"
"$sluice" --home "$home" artifacts get "$train_digest" -o "$work/train.parquet" >/dev/null
export MLFLOW_TRACKING_URI="sqlite:///$work/mlflow.db"
model_uri="$("$py" "$here/train_mlflow.py" "$work/train.parquet" benign \
  "$MLFLOW_TRACKING_URI" "$work/mlartifacts" 2>"$work/train_mlflow.log" | tail -n 1)" ||
  { cat "$work/train_mlflow.log"; exit 1; }
"$py" "$here/report.py" bodies pipelines/data/breast_cancer.csv benign "$work"

# sluice checks a bearer token on every request, as it does in production
# (MLflow's server has no authentication to pay for).
token="$("$sluice" --home "$home" tenants token create default 2>/dev/null)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sluice_port="$(free_port)"
mlflow_port="$(free_port)"
# shellcheck disable=SC2086 # SLUICE_SERVE_ARGS is a list of options.
setsid "$sluice" --home "$home" serve --addr "127.0.0.1:$sluice_port" \
  --model breast-cancer-logreg ${SLUICE_SERVE_ARGS:-} >"$work/sluice-serve.log" 2>&1 &
pids+=("$!")
# MLflow starts uvicorn from PATH, as in an activated venv.
PATH="$venv/bin:$PATH" setsid "$venv/bin/mlflow" models serve -m "$model_uri" --env-manager local \
  --host 127.0.0.1 -p "$mlflow_port" --workers 2 >"$work/mlflow-serve.log" 2>&1 &
pids+=("$!")
wait_ready() {
  local name="$1" port="$2" log="$3" pid="$4"
  for _ in $(seq 600); do
    if curl -sf "http://127.0.0.1:$port/ping" >/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "$name did not answer /ping on 127.0.0.1:$port (exited, or not within 120 s):" >&2
  cat "$log" >&2
  exit 1
}
wait_ready sluice "$sluice_port" "$work/sluice-serve.log" "${pids[0]}"
wait_ready mlflow "$mlflow_port" "$work/mlflow-serve.log" "${pids[1]}"
echo "==> both ready: sluice on 127.0.0.1:$sluice_port, mlflow $mlflow_version on 127.0.0.1:$mlflow_port (--workers 2)"

# The two servers must give the same answers before their speed means anything.
invoke() {
  curl -sf "http://127.0.0.1:$1/invocations" -H 'content-type: application/json' \
    -H "authorization: Bearer $token" -d "@$2"
}
for body in one hundred all; do
  invoke "$sluice_port" "$work/$body.json" >"$work/sluice-$body.out"
  invoke "$mlflow_port" "$work/$body.json" >"$work/mlflow-$body.out"
done
"$py" "$here/report.py" agree "$work"

# CPU seconds (user + system) used so far by the live processes of process
# group $1: a server and, for MLflow, its uvicorn workers.
group_cpu() {
  python3 - "$1" <<'PY'
import os, sys
total = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if fields[2] == sys.argv[1]:
        total += int(fields[11]) + int(fields[12])
print(total / os.sysconf("SC_CLK_TCK"))
PY
}

# One measurement: oha for $seconds against server $1 with body $2 at
# concurrency $3; in $work/oha/SERVER-BODY-C.*: oha's JSON summary, the
# load average before, the CPU seconds the server used meanwhile.
mkdir -p "$work/oha"
measure() {
  local server="$1" body="$2" c="$3" port pgid before after
  port="$sluice_port" pgid="${pids[0]}"
  if [ "$server" = mlflow ]; then port="$mlflow_port" pgid="${pids[1]}"; fi
  local out="$work/oha/$server-$body-$c"
  uptime | sed 's/.*load average: //' >"$out.load"
  before="$(group_cpu "$pgid")"
  "$oha" -z "${seconds}s" -c "$c" --no-tui --output-format json \
    --wait-ongoing-requests-after-deadline -m POST -H 'content-type: application/json' \
    -H "authorization: Bearer $token" \
    -D "$work/$body.json" "http://127.0.0.1:$port/invocations" >"$out.json"
  after="$(group_cpu "$pgid")"
  python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$before" "$after" >"$out.cpu"
}
echo "==> warming up both servers (2 s each at concurrency 16)"
for server in sluice mlflow; do
  seconds=2 measure "$server" hundred 16
done
rm -f "$work"/oha/*
echo "==> measuring: ${seconds} s per server, body and concurrency"
swap=0
for body in one hundred; do
  for c in 1 16 64; do
    if [ "$swap" = 0 ]; then order="sluice mlflow"; else order="mlflow sluice"; fi
    swap=$((1 - swap))
    for server in $order; do
      echo "    $server, $body row(s), concurrency $c (load $(uptime | sed 's/.*load average: //'))"
      measure "$server" "$body" "$c"
    done
  done
done
echo
"$py" "$here/report.py" table "$work/oha"
