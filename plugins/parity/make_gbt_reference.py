#!/usr/bin/env python3
"""Reference holdout metrics from scikit-learn for sluice's `gbt` plugin.

Writes gbt_reference.json next to this script. plugins/gbt's native unit
tests repeat the same split (raw features, no standardization), train the
sluice plugin with its default params and compare the holdout metric.

Protocol (same as make_reference.py, keep in sync):

- Data: ../../pipelines/data/<name>.csv; the target column is removed from
  the features, every other column is a feature, in file order.
- Split: data row i (0-based, header excluded) is holdout when i % 4 == 3.
- HistGradientBoostingClassifier (breast_cancer: binary log loss; iris and
  wine: multiclass, one tree per class per iteration, softmax) and
  HistGradientBoostingRegressor (diabetes, squared error) with
  early_stopping=False, random_state=0 and otherwise default params
  (max_iter 100, learning_rate 0.1, max_leaf_nodes 31, max_depth None,
  min_samples_leaf 20, l2_regularization 0, max_bins 255).
- Metrics on the holdout rows: accuracy (and log loss for multiclass); R2
  and RMSE.

Run:
    /tmp/venv-parity/bin/python plugins/parity/make_gbt_reference.py
"""

import json
import math
import pathlib

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent.parent / "pipelines" / "data"


def load(name, target):
    df = pd.read_csv(DATA / f"{name}.csv")
    x = df.drop(columns=[target]).to_numpy(dtype=np.float64)
    y = df[target].to_numpy()
    holdout = np.arange(len(df)) % 4 == 3
    return x[~holdout], y[~holdout], x[holdout], y[holdout]


def main():
    results = {}
    rows = {}

    x_tr, y_tr, x_ho, y_ho = load("breast_cancer", "benign")
    rows["breast_cancer"] = {"train": int(len(y_tr)), "holdout": int(len(y_ho))}
    clf = HistGradientBoostingClassifier(early_stopping=False, random_state=0).fit(x_tr, y_tr)
    results["breast_cancer/hgb_default/accuracy"] = float(accuracy_score(y_ho, clf.predict(x_ho)))
    results["breast_cancer/hgb_default/n_iter"] = int(clf.n_iter_)

    # Multiclass: one tree per class per iteration, softmax.
    for name, target in [("iris", "species"), ("wine", "cultivar")]:
        x_tr, y_tr, x_ho, y_ho = load(name, target)
        rows[name] = {"train": int(len(y_tr)), "holdout": int(len(y_ho))}
        clf = HistGradientBoostingClassifier(early_stopping=False, random_state=0).fit(x_tr, y_tr)
        results[f"{name}/hgb_default/accuracy"] = float(accuracy_score(y_ho, clf.predict(x_ho)))
        results[f"{name}/hgb_default/log_loss"] = float(log_loss(y_ho, clf.predict_proba(x_ho)))
        results[f"{name}/hgb_default/n_iter"] = int(clf.n_iter_)

    x_tr, y_tr, x_ho, y_ho = load("diabetes", "progression")
    y_tr = y_tr.astype(np.float64)
    y_ho = y_ho.astype(np.float64)
    rows["diabetes"] = {"train": int(len(y_tr)), "holdout": int(len(y_ho))}
    reg = HistGradientBoostingRegressor(early_stopping=False, random_state=0).fit(x_tr, y_tr)
    pred = reg.predict(x_ho)
    results["diabetes/hgb_default/r2"] = float(r2_score(y_ho, pred))
    results["diabetes/hgb_default/rmse"] = float(math.sqrt(mean_squared_error(y_ho, pred)))
    results["diabetes/hgb_default/n_iter"] = int(reg.n_iter_)

    out = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "split": "data row i (0-based) is holdout when i % 4 == 3",
        "features": "raw (no standardization)",
        "estimators": "HistGradientBoosting{Classifier,Regressor}(early_stopping=False, random_state=0), other params default",
        "rows": rows,
        "results": dict(sorted(results.items())),
    }
    path = HERE / "gbt_reference.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    for key, value in out["results"].items():
        print(f"{key:45s} {value}")


if __name__ == "__main__":
    main()
