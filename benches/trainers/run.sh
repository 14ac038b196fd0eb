#!/usr/bin/env bash
# Trainer and explainer benchmark: each of sluice's trainers (gbt,
# decision-tree, knn, logreg binary and multinomial, linear and ridge) and
# explainers (kernel-shap, partial-dependence, permutation-importance)
# against its scikit-learn (or SHAP) counterpart with matching settings, on
# the same generated rows.
#
#   benches/trainers/run.sh [ROWS...]    (default 100000 1000000; x 30 features)
#
# Env: TRAINERS_ROUNDS (default 1) runs each case that many times, each
# side in turn (the side that goes first alternates), and reports the
# median and the fastest round of each side;
# TRAINERS_ONLY=gbt,knn runs a subset (case names: cases.py list);
# TRAINERS_ROWS="20000 100000" sets the row counts when none are given;
# KNN_MAX_ROWS (default 20000) and TREE_MAX_ROWS (default none) cap the
# rows of knn and decision-tree; KSHAP_ROWS (default 10) is how many rows
# kernel-shap explains; TRAINERS_VENV (default
# ~/.cache/sluice-trainers-venv) is the Python venv, made once per machine
# with pandas, pyarrow, scikit-learn, shap and threadpoolctl.
#
# Each case is a small pipeline written by cases.py (dataset with a 25%
# holdout, the trainer, its evaluator, the explainer steps) run once by
# `sluice run --json` on a fresh SLUICE_HOME whose compile cache is warm,
# then sklearn_case.py on 1 thread and on all cores, each under
# /usr/bin/time -v. generate.py writes the data once per row count into
# benches/trainers/data/ (git-ignored), with the holdout rows sluice's
# split picks, so both sides train and score on the same rows. Figures
# from one round move by 10-30% on a busy machine, and by up to 2x for
# the short fits on a VM whose free memory goes back to its host: use
# TRAINERS_ROUNDS=5 for a ratio to rely on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$#" -gt 0 ]; then
  all_rows=("$@")
else
  read -r -a all_rows <<<"${TRAINERS_ROWS:-100000 1000000}"
fi
# The case names first (cases.py needs no packages), to refuse a wrong
# TRAINERS_ONLY before building anything.
names="$(python3 "$here/cases.py" list)"
read -r -a all_cases <<<"$names"
if [ -n "${TRAINERS_ONLY:-}" ]; then
  IFS=, read -r -a cases <<<"$TRAINERS_ONLY"
  for name in "${cases[@]}"; do
    case " ${all_cases[*]} " in
      *" $name "*) ;;
      *) echo "TRAINERS_ONLY: no case '$name' (cases: ${all_cases[*]})" >&2; exit 2 ;;
    esac
  done
else
  cases=("${all_cases[@]}")
fi

rounds="${TRAINERS_ROUNDS:-1}"
case "$rounds" in
  '' | *[!0-9]* | 0) echo "TRAINERS_ROUNDS must be a whole number from 1, got '$rounds'" >&2; exit 2 ;;
esac

# shellcheck source=../common.sh
. "$here/../common.sh"
venv="${TRAINERS_VENV:-$HOME/.cache/sluice-trainers-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import pandas, pyarrow, sklearn, shap, threadpoolctl" 2>/dev/null ||
  "$venv/bin/pip" install -q pandas pyarrow scikit-learn shap threadpoolctl
py="$venv/bin/python"
nproc="$(nproc)"

# Data for ROWS rows into data/ROWS (once per row count).
data_for() {
  local dir="$here/data/$1"
  if [ ! -f "$dir/holdout.npy" ]; then
    "$py" "$here/generate.py" "$dir" "$1" 0 >&2
  fi
  echo "$dir"
}

warm_plugins "$work/home" gbt decision_tree knn logreg linear holdout_eval \
  classification_eval regression_eval kernel_shap partial_dependence permutation_importance
# A 1M-row trainer holds its input and more; the default tenant's caps are
# 2 GiB and 10 minutes a step.
"$sluice" tenants set --home "$work/home" default memory_mib=4096 timeout_ms=3600000 >/dev/null

# One sluice run of case NAME (ROWS rows) into BASE.{sluice.json,sluice.time,explanation.json}.
run_sluice() {
  local name="$1" case_rows="$2" base="$3"
  rm -rf "$work/run-home" && cp -r "$work/home" "$work/run-home"
  if ! /usr/bin/time -v -o "$base.sluice.time" \
    "$sluice" run --json --home "$work/run-home" "$work/$name.toml" \
    >"$base.sluice.json" 2>"$work/sluice.err"; then
    echo "sluice run of case $name ($case_rows rows) failed:" >&2
    cat "$work/sluice.err" >&2
    "$py" "$here/report.py" collect "$base.sluice.json" "$sluice" "$work/run-home" \
      "$base.explanation.json" || true
    exit 1
  fi
  "$py" "$here/report.py" collect "$base.sluice.json" "$sluice" "$work/run-home" \
    "$base.explanation.json"
  rm -rf "$work/run-home"
}

# scikit-learn's side of case NAME on DATA, on 1 thread and on all cores,
# into BASE.{sk1,skN}.{json,time}.
run_sklearn() {
  local name="$1" data="$2" base="$3" threads key
  for threads in 1 "$nproc"; do
    key=sk1
    [ "$threads" = 1 ] || key=skN
    /usr/bin/time -v -o "$base.$key.time" \
      "$py" "$here/sklearn_case.py" "$name" "$data" "$threads" >"$base.$key.json"
  done
}

results="$work/results"
mkdir -p "$results"
echo "sluice steps run on one core, but gbt from 20,000 rows, which spreads over the step slots" \
  "the tenant (concurrency 4) and the process ($nproc) can spare; scikit-learn runs on 1 thread" \
  "and on $nproc (n_jobs=-1)."
echo "knn is capped at ${KNN_MAX_ROWS:-20000} rows (brute force, rows^2);" \
  "kernel-shap explains ${KSHAP_ROWS:-10} holdout rows on both sides."
if [ "$rounds" -gt 1 ]; then
  echo "Each case runs $rounds rounds, the side that goes first alternating;" \
    "step and wall times are the median round's, with the fastest in brackets."
fi
for rows in "${all_rows[@]}"; do
  echo
  echo "==> $rows rows x 30 features"
  for name in "${cases[@]}"; do
    case_rows="$("$py" "$here/cases.py" rows "$name" "$rows")"
    data="$(data_for "$case_rows")"
    "$py" "$here/cases.py" toml "$name" "$data" "$plugins" >"$work/$name.toml"
    for round in $(seq "$rounds"); do
      base="$results/$name.$rows.r$round"
      if [ $((round % 2)) = 1 ]; then
        run_sluice "$name" "$case_rows" "$base"
        run_sklearn "$name" "$data" "$base"
      else
        run_sklearn "$name" "$data" "$base"
        run_sluice "$name" "$case_rows" "$base"
      fi
    done
    "$py" "$here/report.py" case "$results" "$name" "$rows"
  done
done

echo
echo "==> summary"
"$py" "$here/report.py" table "$results" "$nproc" "${all_rows[@]}"
