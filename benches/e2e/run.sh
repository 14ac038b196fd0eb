#!/usr/bin/env bash
# End-to-end benchmark: sluice against pandas + scikit-learn on the same
# generated data, same steps, same hyperparameters, side by side.
#
#   benches/e2e/run.sh [ROWS]        (default 1,000,000 rows x 30 features)
#
# Builds the plugins and the host (no-ops when warm), makes a Python venv
# with pandas, pyarrow and scikit-learn (E2E_VENV, default
# ~/.cache/sluice-e2e-venv), generates the data once per row count into
# benches/e2e/data/ (git-ignored), then runs each side once under
# /usr/bin/time -v and prints wall time, peak RSS and the holdout metrics.
# The sluice side runs with a fresh SLUICE_HOME whose compile cache is
# warmed first (`sluice plugin inspect` compiles each plugin), as on any
# machine after the first run; its time includes reading the Parquet file,
# the split, and storing every artifact and the run record.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows="${1:-1000000}"
venv="${E2E_VENV:-$HOME/.cache/sluice-e2e-venv}"
solver="${E2E_SOLVER:-lbfgs}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
./scripts/build-plugins.sh >/dev/null
cargo build --release -p sluice >/dev/null 2>&1 || cargo build --release -p sluice
sluice="$root/target/release/sluice"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import pandas, pyarrow, sklearn" 2>/dev/null ||
  "$venv/bin/pip" install -q pandas pyarrow scikit-learn
py="$venv/bin/python"

mkdir -p "$here/data"
data="$here/data/classification.parquet"
stamp="$here/data/rows"
if [ ! -f "$data" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$rows" ]; then
  "$py" "$here/generate.py" "$data" "$rows" 0
  echo "$rows" >"$stamp"
fi

# Peak RSS (KiB) and wall time from /usr/bin/time -v.
peak_kib() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
wall() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1"; }
# CPU seconds (user + system): less sensitive than wall time to other
# processes on a shared machine.
cpu() { awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$1"; }

for plugin in schema_check impute standardize logreg holdout_eval permutation_importance; do
  "$sluice" plugin inspect --home "$work/home" "$root/target/wasm32-wasip2/release/$plugin.wasm" >/dev/null
done
# The pipeline's steps ask for 4 GiB of linear memory (a 1M-row transform
# holds its input and output); the default tenant's cap is 2 GiB.
"$sluice" tenants set --home "$work/home" default memory_mib=4096 >/dev/null
echo "==> sluice ($rows rows)"
/usr/bin/time -v -o "$work/sluice.time" \
  "$sluice" run --json --home "$work/home" "$here/pipeline.toml" >"$work/sluice.json"
echo "==> pandas + scikit-learn ($rows rows, solver $solver)"
/usr/bin/time -v -o "$work/sklearn.time" \
  "$py" "$here/sklearn_pipeline.py" "$data" --solver "$solver" >"$work/sklearn.json"

"$py" - "$work" "$(peak_kib "$work/sluice.time")" "$(peak_kib "$work/sklearn.time")" \
  "$(wall "$work/sluice.time")" "$(wall "$work/sklearn.time")" \
  "$(cpu "$work/sluice.time")" "$(cpu "$work/sklearn.time")" <<'PY'
import json, sys
work, sl_kib, sk_kib, sl_wall, sk_wall, sl_cpu, sk_cpu = sys.argv[1:]
sl = json.load(open(f"{work}/sluice.json"))
sk = json.load(open(f"{work}/sklearn.json"))
if sl["status"] != "succeeded":
    sys.exit(f"sluice run {sl['status']}: {json.dumps(sl, indent=1)[:4000]}")
def seconds(text):
    parts = [float(p) for p in text.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
steps = {s["id"]: s for s in sl["steps"]}
ev = steps["evaluate"]["metrics"]
sl_s, sk_s = seconds(sl_wall), seconds(sk_wall)
print()
print(f"{'':28s}{'sluice':>14s}{'scikit-learn':>14s}")
print(f"{'wall time (s)':28s}{sl_s:14.2f}{sk_s:14.2f}")
print(f"{'CPU time, user+sys (s)':28s}{float(sl_cpu):14.2f}{float(sk_cpu):14.2f}")
print(f"{'peak RSS (MiB)':28s}{int(sl_kib)/1024:14.0f}{int(sk_kib)/1024:14.0f}")
print(f"{'holdout accuracy':28s}{ev.get('accuracy', float('nan')):14.5f}{sk['holdout']['accuracy']:14.5f}")
print(f"{'holdout ROC AUC':28s}{ev.get('roc_auc', float('nan')):14.5f}{sk['holdout']['roc_auc']:14.5f}")
print(f"{'logreg iterations':28s}{steps['train']['metrics'].get('iterations', 0):14.0f}{sk['iterations']:14d}")
print(f"speed-up (scikit-learn / sluice): wall {sk_s / sl_s:.2f}x, CPU {float(sk_cpu) / float(sl_cpu):.2f}x")
print()
print("sluice steps (ms):      " + ", ".join(f"{s['id']} {s['duration_ms']}" for s in sl["steps"]))
print("scikit-learn steps (s): " + ", ".join(f"{k} {v}" for k, v in sk["steps_s"].items()))
PY
