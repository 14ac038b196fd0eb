#!/usr/bin/env bash
# Hyperparameter search benchmark: the same 4 x 2 grid of gradient-boosted
# trees, 5-fold (pipeline.toml),
# run by sluice one fit at a time (a tenant with concurrency=1, the
# baseline) and in parallel (concurrency=2), and by scikit-learn's
# GridSearchCV with n_jobs=1 and 2 when a venv with scikit-learn is there
# (E2E_VENV, default ~/.cache/sluice-e2e-venv, made by benches/e2e/run.sh;
# SEARCH_NO_SKLEARN=1 skips it). Prints the median search time of REPEATS
# runs of each and the ratios.
#
#   benches/search/run.sh [REPEATS]      (default 5)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repeats="${1:-5}"
# shellcheck source=../common.sh
. "$here/../common.sh"
home="$work/home"
warm_plugins "$home" impute standardize gbt

# The search step's time (ms), median of $repeats runs as tenant $1.
search_ms() {
  local tenant="$1" times=()
  for _ in $(seq "$repeats"); do
    SLUICE_MAX_STEPS=2 "$sluice" --home "$home" --tenant "$tenant" run --json --no-cache \
      --allow-changed-version "$here/pipeline.toml" >"$work/run.json"
    times+=("$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([s for s in r["steps"] if s["id"]=="train"][0]["duration_ms"])' "$work/run.json")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((repeats + 1) / 2))p"
}

"$sluice" --home "$home" tenants create sequential concurrency=1 "allowed_dirs=$here/../../pipelines/data" >/dev/null
"$sluice" --home "$home" tenants create parallel concurrency=2 "allowed_dirs=$here/../../pipelines/data" >/dev/null
seq_ms="$(search_ms sequential)"
par_ms="$(search_ms parallel)"
best="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([s for s in r["steps"] if s["id"]=="train"][0]["metrics"]["search_roc_auc"])' "$work/run.json")"

echo "search of 8 trials x 5 folds (40 fits + the final fit), median of $repeats"
printf '%-44s %10s\n' "sluice, concurrency 1 (baseline)" "$seq_ms ms"
printf '%-44s %10s\n' "sluice, concurrency 2" "$par_ms ms"
python3 -c "import sys; print(f'speed-up from parallel trials: {int(sys.argv[1]) / int(sys.argv[2]):.2f}x  (best mean roc_auc {float(sys.argv[3]):.6f})')" "$seq_ms" "$par_ms" "$best"

if [ "${SEARCH_NO_SKLEARN:-0}" != 1 ] && [ -x "$venv/bin/python" ] &&
  "$venv/bin/python" -c "import sklearn, pandas" 2>/dev/null; then
  csv="$root/pipelines/data/breast_cancer.csv"
  export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
  sk1="$("$venv/bin/python" "$here/sklearn_search.py" "$csv" 1 "$repeats")"
  sk2="$("$venv/bin/python" "$here/sklearn_search.py" "$csv" 2 "$repeats")"
  python3 - "$seq_ms" "$par_ms" "$sk1" "$sk2" <<'PY'
import json, sys
seq, par = int(sys.argv[1]), int(sys.argv[2])
sk1, sk2 = json.loads(sys.argv[3]), json.loads(sys.argv[4])
for name, r in [("GridSearchCV, n_jobs 1", sk1), ("GridSearchCV, n_jobs 2", sk2)]:
    print(f"{'scikit-learn ' + name:<44} {r['seconds'] * 1000:7.0f} ms  (best {r['best_params']}, roc_auc {r['best_score']:.6f})")
print(f"sluice / scikit-learn time: {seq / (sk1['seconds'] * 1000):.2f}x sequential, "
      f"{par / (sk2['seconds'] * 1000):.2f}x parallel (below 1 = sluice faster)")
PY
else
  echo "(scikit-learn side skipped: no venv at $venv; run benches/e2e/run.sh once to make it)"
fi
