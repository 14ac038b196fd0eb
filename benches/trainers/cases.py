#!/usr/bin/env python3
"""The cases of the trainer and explainer benchmark: each case's data, its
sluice steps and params, and (in sklearn_case.py) the scikit-learn
counterpart built from the same settings. One table, so the two sides
cannot drift apart.

    python cases.py list                      the case names, in run order
    python cases.py rows CASE ROWS            the rows the case runs on (a cap)
    python cases.py toml CASE DATADIR PLUGINS the case's sluice pipeline
"""

import json
import os
import sys

# The model the explainers explain: the binary logistic regression, whose
# predictions match scikit-learn's to 1e-8 (docs/standard-plugins.md), so
# the explanations can be compared number for number.
LOGREG = {"c": 1.0, "max_iter": 100, "tol": 1e-4, "solver": "lbfgs"}

# knn predicts every holdout row against every train row (brute force on
# both sides: scikit-learn's `auto` picks brute for 30 features), O(rows^2):
# capped at KNN_MAX_ROWS rows (default 20,000: 5,000 x 15,000 distances).
KNN_MAX_ROWS = int(os.environ.get("KNN_MAX_ROWS", "20000"))
# decision-tree grows to max_depth on both sides; capped like knn, default
# no cap (0).
TREE_MAX_ROWS = int(os.environ.get("TREE_MAX_ROWS", "0"))
# kernel-shap explains this many holdout rows (0..N-1), one step each, with
# SHAP's default coalition count 2 * 30 + 2048 and 50 background rows.
KSHAP_ROWS = int(os.environ.get("KSHAP_ROWS", "10"))
KSHAP_BACKGROUND = 50
KSHAP_NSAMPLES = 2 * 30 + 2048

CASES = {
    "gbt": {
        "data": "binary",
        "plugin": "gbt",
        "params": {
            "max_iter": 100,
            "learning_rate": 0.1,
            "max_leaf_nodes": 31,
            "min_samples_leaf": 20,
            "max_bins": 255,
        },
    },
    "decision-tree": {
        "data": "binary",
        "plugin": "decision-tree",
        "params": {"max_depth": 12, "min_samples_split": 2, "min_samples_leaf": 1},
        "max_rows": TREE_MAX_ROWS,
    },
    "knn": {
        "data": "binary",
        "plugin": "knn",
        "params": {"k": 5, "weights": "uniform"},
        "max_rows": KNN_MAX_ROWS,
    },
    "logreg": {"data": "binary", "plugin": "logreg", "params": LOGREG},
    "logreg-multinomial": {"data": "multiclass", "plugin": "logreg", "params": LOGREG},
    "linear": {"data": "regression", "plugin": "linear", "params": {"alpha": 0.0}},
    "ridge": {"data": "regression", "plugin": "linear", "params": {"alpha": 1.0}},
    "kernel-shap": {
        "data": "binary",
        "plugin": "logreg",
        "params": LOGREG,
        "explain": [
            (
                f"shap{row}",
                "kernel-shap",
                {"row": row, "background": KSHAP_BACKGROUND, "nsamples": KSHAP_NSAMPLES, "seed": 0},
            )
            for row in range(KSHAP_ROWS)
        ],
    },
    "partial-dependence": {
        "data": "binary",
        "plugin": "logreg",
        "params": LOGREG,
        "explain": [
            (
                "pd",
                "partial-dependence",
                {"features": "f00,f01", "grid_resolution": 10, "percentiles": [0.05, 0.95]},
            )
        ],
    },
    "permutation-importance": {
        "data": "binary",
        "plugin": "logreg",
        "params": LOGREG,
        "explain": [
            ("importance", "permutation-importance", {"n_repeats": 5, "seed": 1, "scoring": "accuracy"})
        ],
    },
}

TARGET = {"binary": "label", "multiclass": "label", "regression": "target"}


def case_rows(name, rows):
    cap = CASES[name].get("max_rows", 0)
    return min(rows, cap) if cap else rows


def toml_value(value):
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def table(params):
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in params.items()) + " }"


def pipeline(name, datadir, plugins):
    case = CASES[name]
    data, target = case["data"], TARGET[case["data"]]
    limits = "{ memory_mib = 4096, timeout_ms = 3600000, model_calls = 1000000 }"
    lines = [
        f"# The {name} case of benches/trainers (written by cases.py).",
        "[pipeline]",
        f'name = "trainers-{name}"',
        'version = "dev"',
        "seed = 42",
        f"plugin_dirs = [{json.dumps(plugins)}]",
        "",
        "[datasets.data]",
        f"path = {json.dumps(f'{datadir}/{data}.parquet')}",
        f'target = "{target}"',
        # Not stratified: generate.py's holdout.npy is this split.
        "split = { holdout = 0.25, seed = 7, stratify = false }",
        "",
    ]
    params = dict(case["params"])
    if case["plugin"] in ("gbt", "decision-tree", "knn"):
        params["mode"] = "regression" if data == "regression" else "classification"
    lines += [
        "[[steps]]",
        'id = "train"',
        f'plugin = "{case["plugin"]}"',
        'input = "data"',
        f"params = {table(params)}",
        f"limits = {limits}",
        "",
    ]
    if data == "binary":
        evaluate = ("holdout-eval", {"target": target, "positive": "1"})
    elif data == "multiclass":
        evaluate = ("classification-eval", {"target": target, "average": "macro"})
    else:
        evaluate = ("regression-eval", {"target": target})
    steps = [("evaluate", *evaluate)] + case.get("explain", [])
    for step_id, plugin, step_params in steps:
        lines += [
            "[[steps]]",
            f'id = "{step_id}"',
            f'plugin = "{plugin}"',
            'input = "data"',
            'model = "train"',
            'on = "holdout"',
            f"params = {table(step_params)}",
            f"limits = {limits}",
            "",
        ]
    return "\n".join(lines)


def main():
    command = sys.argv[1]
    if command == "list":
        print(" ".join(CASES))
    elif command == "rows":
        print(case_rows(sys.argv[2], int(sys.argv[3])))
    elif command == "toml":
        print(pipeline(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(f"cases.py: unknown command {command}")


if __name__ == "__main__":
    main()
