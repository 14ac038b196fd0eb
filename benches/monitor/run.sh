#!/usr/bin/env bash
# Monitoring benchmark (issue 21, point 9): a drift check over a window of
# 1,000,000 logged rows x 30 features in under 2 s, the same computation
# with Evidently beside it as a ratio; and serving throughput with monitors
# on within 5% of off.
#
#   benches/monitor/run.sh [SECONDS]     (default 30 per throughput measurement)
#
# Part A, the drift check:
# 1. Generates seeded training data (bench.py generate: 10,000 rows x
#    f01..f30, a binary `y` drawn from a logistic of f01..f04), trains a
#    logistic regression on its train part (holdout 0.25) with a pipeline
#    whose model `bench` has a monitor of window 1d with one `drift` check
#    (Evidently's defaults: wasserstein for numeric columns with more than
#    1,000 reference values), and promotes v1 to production.
# 2. Starts `sluice serve --no-auth` on a free port of 127.0.0.1 and sends
#    it 1,000,000 rows: 1,000 OIP v2 requests of 1,000 rows from 2 Python
#    threads, with f01's mean moved by +0.5 and f02 spread twice as wide
#    (the drift to find). SIGTERM: the server writes the log and exits.
# 3. Times `sluice monitor run bench --window 1d --dry-run --json` 3 times
#    (wall clock, and its own timings: reading the window, the drift
#    check, the total) and reads which features it found drifted.
# 4. Exports the log (`sluice serve logs bench -o cur.parquet`) and runs
#    Evidently 0.7.23's `Report([DataDriftPreset()])` with the same
#    reference (the exact train part sluice trained on, from the store)
#    and the log's answered rows as current, timed (3 runs, 1 if a run
#    takes over 20 s). Fails unless both find the same drifted columns.
#
# Part B, throughput with monitors on and off: the same pipeline trained
# into two homes, one whose model has a monitor of window 10s (drift,
# prediction_drift, service: the server evaluates it every 10 s during the
# load), one without (the trained models are checked to be the same
# bytes). The inference log is on in both. One server at a time, oha for
# SECONDS at concurrency 16 with single-row OIP v2 bodies (10,000 rows
# drawn like the training rows, no drift, one body a line: oha -Z), after
# 3 s of warm-up, on/off alternating 3 times (the order swapped each round);
# then the windows the monitored server recorded.
#
# Evidently runs in the venv of plugins/drift/reference (EVIDENTLY_VENV,
# default ~/.cache/sluice-tools/evidently: evidently 0.7.23, pandas 2.3.3,
# numpy 2.4.6, pyarrow, requests; make_evidently_reference.py creates it),
# with numpy's BLAS and OpenMP pools at 2 threads, the cores sluice has.
# oha as benches/serve/run.sh installs it (OHA overrides). Builds the host
# and the plugins first (benches/common.sh) unless SLUICE_BIN and
# SLUICE_PLUGINS name a prebuilt host and plugin folder.
# MONITOR_BENCH_REQUESTS (default 1000) shrinks part A for a quick try.
# Only 127.0.0.1 is ever sent a request.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-30}"
requests="${MONITOR_BENCH_REQUESTS:-1000}"
rows_per_request=1000
rounds=3
# shellcheck source=../common.sh
. "$here/../common.sh"

# Python's numerical pools on as many threads as sluice has cores.
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 NUMEXPR_NUM_THREADS=2

evidently_venv="${EVIDENTLY_VENV:-$HOME/.cache/sluice-tools/evidently}"
py="$evidently_venv/bin/python"
oha="${OHA:-$HOME/.cache/sluice-tools/oha/bin/oha}"
bench="$here/bench.py"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

"$py" -c "
import evidently, numpy, pandas, pyarrow, requests, threadpoolctl, sys
sys.exit(evidently.__version__ != '0.7.23')" 2>/dev/null || {
  echo "no venv with evidently 0.7.23, pandas, pyarrow and requests at $evidently_venv:" >&2
  echo "run python3 plugins/drift/reference/make_evidently_reference.py once (it makes it), or set EVIDENTLY_VENV" >&2
  exit 1
}
[ -x "$oha" ] || {
  echo "no oha at $oha: benches/serve/run.sh installs it (or set OHA)" >&2
  exit 1
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server HOME LOG: `sluice serve` in its own process group on a free
# port, waiting (at most 60 s) until it says it is ready; sets $port and
# $server_pid.
start_server() {
  local home="$1" log="$2"
  port="$(free_port)"
  # A fresh log: an earlier server's `ready:` must not be read as this one's.
  rm -f "$log"
  setsid "$sluice" --home "$home" serve --no-auth --addr "127.0.0.1:$port" >"$log" 2>&1 &
  server_pid="$!"
  pids+=("$server_pid")
  for _ in $(seq 300); do
    if grep -qs '^ready:' "$log"; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "sluice serve did not get ready on 127.0.0.1:$port (exited, or not within 60 s):" >&2
  cat "$log" >&2
  exit 1
}

# stop_server: SIGTERM, then wait (at most 300 s) for it to have written
# its log and exited; fails unless it exited 0.
stop_server() {
  kill -TERM -- "-$server_pid"
  for _ in $(seq 1500); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "sluice serve did not exit within 300 s of SIGTERM" >&2
    exit 1
  fi
  local rc=0
  wait "$server_pid" || rc=$?
  local left=() pid
  for pid in "${pids[@]}"; do
    if [ "$pid" != "$server_pid" ]; then left+=("$pid"); fi
  done
  pids=("${left[@]}")
  if [ "$rc" != 0 ]; then
    echo "sluice serve exited $rc" >&2
    exit 1
  fi
}

# train HOME NAME WINDOW CHECKS...: the pipeline into HOME, v1 promoted;
# the run's JSON in HOME.run.json.
train() {
  local home="$1" name="$2" window="$3"
  shift 3
  "$py" "$bench" pipeline "$home.toml" "$work/data/train.csv" "$plugins" "$name" "$window" "$@"
  "$sluice" --home "$home" run --json "$home.toml" >"$home.run.json" ||
    { cat "$home.run.json" >&2; echo "sluice run $home.toml failed" >&2; exit 1; }
  "$sluice" --home "$home" models promote "$name" 1 --to production >/dev/null
}
step_output() {
  "$py" -c '
import json, sys
run = json.load(open(sys.argv[1]))
assert run["status"] == "succeeded", run["status"]
print([s for s in run["steps"] if s["id"] == sys.argv[2]][0]["outputs"][sys.argv[3]])' "$@"
}

mkdir -p "$work/data"
"$py" "$bench" generate "$work/data/train.csv"

echo "==> part A: training model bench (monitor: window 1d, drift)"
home="$work/drift"
train "$home" bench 1d drift
"$sluice" --home "$home" artifacts get "$(step_output "$home.run.json" dataset:data train)" \
  -o "$work/train.parquet" >/dev/null

echo "==> sending $requests requests of $rows_per_request rows (f01 +0.5, f02 x2)"
start_server "$home" "$work/serve-drift.log"
timeout 1200 "$py" "$bench" send "$port" bench "$requests" "$rows_per_request" 2
stop_server
tail -n 1 "$work/serve-drift.log" | sed 's/^/    server: /'

echo "==> sluice monitor run bench --window 1d --dry-run --json, 3 times"
for i in 1 2 3; do
  rc=0
  start="$(date +%s.%N)"
  timeout 600 "$sluice" --home "$home" monitor run bench --window 1d --dry-run --json \
    >"$work/monitor-$i.json" ||
    rc=$?
  end="$(date +%s.%N)"
  # Exit 1: a check failed, as it should with f01 and f02 drifted (124:
  # not within 10 minutes).
  if [ "$rc" -gt 1 ]; then
    echo "sluice monitor run exited $rc" >&2
    exit 1
  fi
  python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$start" "$end" >"$work/wall-$i"
done
"$py" "$bench" sluice-drift "$work"

echo "==> Evidently $("$py" -c 'import evidently; print(evidently.__version__)'): Report([DataDriftPreset()]), the same reference and rows"
"$sluice" --home "$home" serve logs bench -o "$work/cur.parquet" >/dev/null
timeout 3600 "$py" "$bench" evidently "$work/train.parquet" "$work/cur.parquet" 3 "$work/evidently.json"
# The 1M-row log is not needed any more: free the disk for part B.
rm -f "$work/cur.parquet"

echo "==> part B: the same model with a monitor (window 10s: drift, prediction_drift, service) and without"
train "$work/on" bench 10s drift prediction_drift service
train "$work/off" bench 10s
if [ "$(step_output "$work/on.run.json" train model)" != "$(step_output "$work/off.run.json" train model)" ]; then
  echo "the two homes trained different models" >&2
  exit 1
fi
"$py" "$bench" bodies "$work/bodies.txt" 10000
mkdir -p "$work/oha"
since_ms="$(($(date +%s) * 1000))"
measure() {
  local round="$1" mode="$2"
  start_server "$work/$mode" "$work/serve-$round-$mode.log"
  curl -sS --max-time 10 -f "http://127.0.0.1:$port/v2/models/bench/infer" \
    -H 'content-type: application/json' -d "@$work/bodies.txt.first" >/dev/null ||
    { echo "the $mode server did not answer:" >&2; cat "$work/serve-$round-$mode.log" >&2; exit 1; }
  local args=(--no-tui --output-format json --wait-ongoing-requests-after-deadline -c 16
    -m POST -H 'content-type: application/json' -Z "$work/bodies.txt"
    "http://127.0.0.1:$port/v2/models/bench/infer")
  "$oha" -z 3s "${args[@]}" >/dev/null
  echo "    round $round, monitors $mode: ${seconds} s at concurrency 16 (load $(uptime | sed 's/.*load average: //'))"
  "$oha" -z "${seconds}s" "${args[@]}" >"$work/oha/$round-$mode.json"
  stop_server
}
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then order="on off"; else order="off on"; fi
  for mode in $order; do
    measure "$round" "$mode"
  done
done
"$py" "$bench" serve-table "$work" "$work/serve.json"
"$sluice" --home "$work/on" monitor show bench --since 1h --json >"$work/show.json" 2>/dev/null
"$py" "$bench" windows "$work/show.json" "$since_ms" >"$work/windows.json"

echo
"$py" "$bench" summary "$work" "$((requests * rows_per_request))"
