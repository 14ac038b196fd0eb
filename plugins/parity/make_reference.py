#!/usr/bin/env python3
"""Reference holdout metrics from scikit-learn for sluice's trainer plugins.

Writes sklearn_reference.json next to this script. The plugins' native unit
tests (plugins/{linear,knn,decision-tree}) repeat the exact same split and
standardization, train the sluice plugin and compare their holdout metric
with the numbers written here.

Protocol (the Rust tests implement the same, keep them in sync):

- Data: ../../pipelines/data/<name>.csv; the target column is removed from
  the features, every other column is a feature, in file order.
- Split: data row i (0-based, header excluded) is holdout when i % 4 == 3,
  train otherwise. Deterministic, no shuffling, no stratification.
- Standardization (knn, linear/ridge, logreg only): each feature minus its
  train mean, divided by its train standard deviation (ddof 0; a std of 0 is
  replaced by 1), applied to train and holdout alike. Trees use raw features.
- Metrics on the holdout rows: accuracy for classifiers; R2 and RMSE for
  regressors. Trees also record depth and leaf count, and the metric's
  min / max over random_state 0..29 (`*_seed_min`, `*_seed_max`): how much
  scikit-learn's own random tie-breaking between features moves it.

Run:
    python3 -m venv /tmp/venv-parity
    /tmp/venv-parity/bin/pip install scikit-learn pandas
    /tmp/venv-parity/bin/python plugins/parity/make_reference.py
"""

import json
import math
import pathlib

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import log_loss, accuracy_score, mean_squared_error, r2_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent.parent / "pipelines" / "data"

# Trees: scikit-learn visits features in a random order (random_state) and
# keeps the first of equally good splits, so on exact ties the tree depends
# on the seed. Besides random_state=0, the reference records the metric's
# range over these seeds: the spread tie-breaking alone causes.
TIE_SEEDS = range(30)

DATASETS = {
    "breast_cancer": ("benign", "classification"),
    "iris": ("species", "classification"),
    "wine": ("cultivar", "classification"),
    "diabetes": ("progression", "regression"),
}


def load(name):
    target, _ = DATASETS[name]
    df = pd.read_csv(DATA / f"{name}.csv")
    x = df.drop(columns=[target]).to_numpy(dtype=np.float64)
    y = df[target].to_numpy()
    holdout = np.arange(len(df)) % 4 == 3
    return x[~holdout], y[~holdout], x[holdout], y[holdout]


def standardize(x_train, x_hold):
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0, ddof=0)
    std[std == 0.0] = 1.0
    return (x_train - mean) / std, (x_hold - mean) / std


def regression_metrics(y, pred):
    return {
        "r2": float(r2_score(y, pred)),
        "rmse": float(math.sqrt(mean_squared_error(y, pred))),
    }


def main():
    results = {}
    rows = {}
    for name, (_, task) in DATASETS.items():
        x_tr, y_tr, x_ho, y_ho = load(name)
        rows[name] = {"train": int(len(y_tr)), "holdout": int(len(y_ho))}
        s_tr, s_ho = standardize(x_tr, x_ho)

        def put(key, values):
            for metric, value in values.items():
                results[f"{name}/{key}/{metric}"] = value

        if task == "classification":
            for weights in ["uniform", "distance"]:
                knn = KNeighborsClassifier(n_neighbors=5, weights=weights).fit(s_tr, y_tr)
                put(
                    f"knn_k5_{weights}",
                    {"accuracy": float(accuracy_score(y_ho, knn.predict(s_ho)))},
                )
            for label, depth in [("depth5", 5), ("unlimited", None)]:
                tree = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(x_tr, y_tr)
                values = {
                    "accuracy": float(accuracy_score(y_ho, tree.predict(x_ho))),
                    "depth": int(tree.get_depth()),
                    "leaves": int(tree.get_n_leaves()),
                }
                spread = [
                    accuracy_score(
                        y_ho,
                        DecisionTreeClassifier(max_depth=depth, random_state=seed)
                        .fit(x_tr, y_tr)
                        .predict(x_ho),
                    )
                    for seed in TIE_SEEDS
                ]
                values["accuracy_seed_min"] = float(min(spread))
                values["accuracy_seed_max"] = float(max(spread))
                put(f"tree_{label}", values)
            # Binary on breast cancer, multinomial (lbfgs, softmax) on iris
            # and wine; tightly converged so the holdout log loss is the
            # optimum's to ~1e-9, not lbfgs's stopping point.
            logreg = LogisticRegression(C=1.0, max_iter=10000, tol=1e-10).fit(s_tr, y_tr)
            put(
                "logreg_c1",
                {
                    "accuracy": float(accuracy_score(y_ho, logreg.predict(s_ho))),
                    "log_loss": float(log_loss(y_ho, logreg.predict_proba(s_ho))),
                },
            )
        else:
            y_tr = y_tr.astype(np.float64)
            y_ho = y_ho.astype(np.float64)
            put("linear", regression_metrics(y_ho, LinearRegression().fit(s_tr, y_tr).predict(s_ho)))
            put("ridge_alpha1", regression_metrics(y_ho, Ridge(alpha=1.0).fit(s_tr, y_tr).predict(s_ho)))
            for weights in ["uniform", "distance"]:
                knn = KNeighborsRegressor(n_neighbors=5, weights=weights).fit(s_tr, y_tr)
                put(f"knn_k5_{weights}", regression_metrics(y_ho, knn.predict(s_ho)))
            for label, depth in [("depth5", 5), ("unlimited", None)]:
                tree = DecisionTreeRegressor(max_depth=depth, random_state=0).fit(x_tr, y_tr)
                values = regression_metrics(y_ho, tree.predict(x_ho))
                values["depth"] = int(tree.get_depth())
                values["leaves"] = int(tree.get_n_leaves())
                spread = [
                    regression_metrics(
                        y_ho,
                        DecisionTreeRegressor(max_depth=depth, random_state=seed)
                        .fit(x_tr, y_tr)
                        .predict(x_ho),
                    )
                    for seed in TIE_SEEDS
                ]
                for metric in ["r2", "rmse"]:
                    values[f"{metric}_seed_min"] = min(v[metric] for v in spread)
                    values[f"{metric}_seed_max"] = max(v[metric] for v in spread)
                put(f"tree_{label}", values)

    out = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "split": "data row i (0-based) is holdout when i % 4 == 3",
        "standardize": "knn, linear, ridge, logreg: train mean / train std (ddof 0, 0 -> 1); trees: raw",
        "rows": rows,
        "results": dict(sorted(results.items())),
    }
    path = HERE / "sklearn_reference.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    for key, value in out["results"].items():
        print(f"{key:45s} {value}")


if __name__ == "__main__":
    main()
