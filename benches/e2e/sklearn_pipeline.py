#!/usr/bin/env python3
"""The end-to-end benchmark's pipeline in pandas + scikit-learn: the same
steps and hyperparameters as pipeline.toml.

validate (columns, types, null fraction, rows) -> stratified 25% holdout
(seed 7) -> median imputation -> standardization -> LogisticRegression(C=1,
max_iter=100) -> holdout accuracy / ROC AUC / log loss -> permutation
importance (5 repeats, accuracy) on the holdout. Single-threaded, as sluice
runs each step on one thread.

Prints one JSON object: per-step seconds, total seconds and the holdout
metrics.

    python sklearn_pipeline.py DATA.parquet [--solver lbfgs|newton-cholesky]
"""

import argparse
import json
import os
import time

# One thread for BLAS too, as sluice runs each step on one thread.
for var in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.inspection import permutation_importance  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

TARGET = "label"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--solver", default="lbfgs")
    args = parser.parse_args()
    steps = {}
    start = time.perf_counter()

    def lap(name, t0):
        steps[name] = round(time.perf_counter() - t0, 3)
        return time.perf_counter()

    t = time.perf_counter()
    frame = pd.read_parquet(args.data)
    t = lap("read", t)

    # validate: the same checks as the schema-check step.
    assert len(frame) >= 1000, "too few rows"
    assert frame[TARGET].dtype == np.int64, "label must be i64"
    for column in frame.columns:
        if column != TARGET:
            assert frame[column].dtype == np.float64, f"{column} must be f64"
    null_fraction = frame.isna().mean().max()
    assert null_fraction <= 0.05, f"null fraction {null_fraction}"
    t = lap("validate", t)

    x = frame.drop(columns=[TARGET])
    y = frame[TARGET].to_numpy()
    x_train, x_hold, y_train, y_hold = train_test_split(
        x, y, test_size=0.25, random_state=7, stratify=y
    )
    t = lap("split", t)

    imputer = SimpleImputer(strategy="median").fit(x_train)
    x_train, x_hold = imputer.transform(x_train), imputer.transform(x_hold)
    t = lap("impute", t)

    scaler = StandardScaler().fit(x_train)
    x_train, x_hold = scaler.transform(x_train), scaler.transform(x_hold)
    t = lap("standardize", t)

    model = LogisticRegression(C=1.0, max_iter=100, solver=args.solver).fit(x_train, y_train)
    t = lap("train", t)

    proba = model.predict_proba(x_hold)[:, 1]
    metrics = {
        "accuracy": float(accuracy_score(y_hold, model.predict(x_hold))),
        "roc_auc": float(roc_auc_score(y_hold, proba)),
        "log_loss": float(log_loss(y_hold, proba)),
    }
    t = lap("evaluate", t)

    permutation_importance(
        model, x_hold, y_hold, n_repeats=5, random_state=1, scoring="accuracy"
    )
    t = lap("explain", t)

    print(
        json.dumps(
            {
                "total_s": round(time.perf_counter() - start, 3),
                "steps_s": steps,
                "holdout": metrics,
                "iterations": int(model.n_iter_[0]),
                "solver": args.solver,
            }
        )
    )


if __name__ == "__main__":
    main()
