#!/usr/bin/env bash
# End-to-end benchmark: sluice against pandas + scikit-learn on the same
# generated data, same steps, same hyperparameters, side by side.
#
#   benches/e2e/run.sh [ROWS]        (default 1,000,000 rows x 30 features)
#
# Builds the plugins and the host (no-ops when warm), makes a Python venv
# with pandas, pyarrow and scikit-learn (E2E_VENV, default
# ~/.cache/sluice-e2e-venv), generates the data once per row count into
# benches/e2e/data/ (git-ignored), then runs each side E2E_ROUNDS times
# (default 3, the order swapped every round) under /usr/bin/time -v and
# prints the median wall and CPU time, peak RSS and the holdout metrics.
# Each sluice run gets a fresh SLUICE_HOME (nothing cached) whose compile
# cache is warmed first (`sluice plugin inspect` compiles each plugin), as on any
# machine after the first run; its time includes reading the Parquet file,
# the split, and storing every artifact and the run record.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rows="${1:-1000000}"
solver="${E2E_SOLVER:-lbfgs}"
# shellcheck source=../common.sh
. "$here/../common.sh"
make_venv

mkdir -p "$here/data"
data="$here/data/classification.parquet"
stamp="$here/data/rows"
if [ ! -f "$data" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$rows" ]; then
  "$py" "$here/generate.py" "$data" "$rows" 0
  echo "$rows" >"$stamp"
fi

warm_plugins "$work/home" schema_check impute standardize logreg holdout_eval permutation_importance
# The pipeline's steps ask for 4 GiB of linear memory (a 1M-row transform
# holds its input and output); the default tenant's cap is 2 GiB.
"$sluice" tenants set --home "$work/home" default memory_mib=4096 >/dev/null

# Each side runs ROUNDS times (E2E_ROUNDS, default 3), the order swapped
# every round: on a VM whose freed memory goes back to the hypervisor, the
# side that runs second finds memory the first one just warmed up.
rounds="${E2E_ROUNDS:-3}"
run_sluice() {
  echo "==> sluice ($rows rows, round $1)"
  rm -rf "$work/run-home" && cp -r "$work/home" "$work/run-home"
  /usr/bin/time -v -o "$work/sluice.$1.time" \
    "$sluice" run --json --home "$work/run-home" "$here/pipeline.toml" >"$work/sluice.$1.json"
}
run_sklearn() {
  echo "==> pandas + scikit-learn ($rows rows, solver $solver, round $1)"
  /usr/bin/time -v -o "$work/sklearn.$1.time" \
    "$py" "$here/sklearn_pipeline.py" "$data" --solver "$solver" >"$work/sklearn.$1.json"
}
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    run_sluice "$round"; run_sklearn "$round"
  else
    run_sklearn "$round"; run_sluice "$round"
  fi
done

"$py" - "$work" "$rounds" <<'PY'
import json, re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def timed(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    wall = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): (\S+)", text))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, cpu, rss / 1024
side = {}
for name in ("sluice", "sklearn"):
    side[name] = [timed(f"{work}/{name}.{r}.time") for r in range(1, rounds + 1)]
sl = [json.load(open(f"{work}/sluice.{r}.json")) for r in range(1, rounds + 1)]
sk = [json.load(open(f"{work}/sklearn.{r}.json")) for r in range(1, rounds + 1)]
for run in sl:
    if run["status"] != "succeeded":
        sys.exit(f"sluice run {run['status']}: {json.dumps(run, indent=1)[:4000]}")
steps = {s["id"]: s for s in sl[-1]["steps"]}
ev = steps["evaluate"]["metrics"]
med = lambda name, i: statistics.median(t[i] for t in side[name])
each = lambda name, i: " / ".join(f"{t[i]:.2f}" for t in side[name])
print()
print(f"{'':28s}{'sluice':>14s}{'scikit-learn':>14s}")
print(f"{'wall time (s), median':28s}{med('sluice', 0):14.2f}{med('sklearn', 0):14.2f}")
print(f"{'CPU time, user+sys (s)':28s}{med('sluice', 1):14.2f}{med('sklearn', 1):14.2f}")
print(f"{'peak RSS (MiB)':28s}{max(t[2] for t in side['sluice']):14.0f}{max(t[2] for t in side['sklearn']):14.0f}")
print(f"{'holdout accuracy':28s}{ev.get('accuracy', float('nan')):14.5f}{sk[-1]['holdout']['accuracy']:14.5f}")
print(f"{'holdout ROC AUC':28s}{ev.get('roc_auc', float('nan')):14.5f}{sk[-1]['holdout']['roc_auc']:14.5f}")
print(f"{'logreg iterations':28s}{steps['train']['metrics'].get('iterations', 0):14.0f}{sk[-1]['iterations']:14d}")
print(f"wall time of each round (s): sluice {each('sluice', 0)}; scikit-learn {each('sklearn', 0)}")
print(f"speed-up (scikit-learn / sluice, medians): wall {med('sklearn', 0) / med('sluice', 0):.2f}x, "
      f"CPU {med('sklearn', 1) / med('sluice', 1):.2f}x")
print()
for r in range(rounds):
    print(f"round {r + 1} sluice steps (ms):      " + ", ".join(f"{s['id']} {s['duration_ms']}" for s in sl[r]["steps"]))
    print(f"round {r + 1} scikit-learn steps (s): " + ", ".join(f"{k} {v}" for k, v in sk[r]["steps_s"].items()))
PY
