#!/usr/bin/env python3
"""The scikit-learn (and SHAP) counterpart of one case of cases.py, on the
same train and holdout rows as sluice (generate.py's holdout.npy), with the
same settings, on THREADS threads (1: OMP/OpenBLAS/MKL at 1 and n_jobs=1;
more: that many BLAS/OpenMP threads and n_jobs=-1).

The timed step matches sluice's step: for a trainer, fit plus predicting
the holdout (sluice's trainer step predicts the holdout too); for an
explainer, the explain call(s) only. Prints one JSON object: step_s, the
holdout metric and, for explainers, the explanation.

    python sklearn_case.py CASE DATADIR THREADS
"""

import json
import os
import sys
import time

CASE, DATADIR, THREADS = sys.argv[1], sys.argv[2], int(sys.argv[3])
for var in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
    os.environ[var] = str(THREADS)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from cases import CASES, KSHAP_BACKGROUND, KSHAP_NSAMPLES, TARGET  # noqa: E402

N_JOBS = 1 if THREADS == 1 else -1


def build(plugin, params, data):
    classify = data != "regression"
    if plugin == "gbt":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(
            early_stopping=False,
            max_iter=params["max_iter"],
            learning_rate=params["learning_rate"],
            max_leaf_nodes=params["max_leaf_nodes"],
            min_samples_leaf=params["min_samples_leaf"],
            max_bins=params["max_bins"],
            l2_regularization=params.get("l2_regularization", 0.0),
            max_depth=params.get("max_depth") or None,
            random_state=0,
        )
    if plugin == "decision-tree":
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
        return cls(
            max_depth=params["max_depth"] or None,
            min_samples_split=params["min_samples_split"],
            min_samples_leaf=params["min_samples_leaf"],
            random_state=0,
        )
    if plugin == "knn":
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsClassifier if classify else KNeighborsRegressor
        return cls(n_neighbors=params["k"], weights=params["weights"], n_jobs=N_JOBS)
    if plugin == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=params["c"], max_iter=params["max_iter"], tol=params["tol"], solver="lbfgs"
        )
    if plugin == "linear":
        from sklearn.linear_model import LinearRegression, Ridge

        if params["alpha"] == 0:
            return LinearRegression()
        return Ridge(alpha=params["alpha"], solver="cholesky")
    raise SystemExit(f"sklearn_case.py: no counterpart for plugin {plugin}")


def explain(model, x_hold, y_hold, plugin, params, names):
    """Runs one explainer step's counterpart; returns its explanation as
    sluice's `global` list orders it."""
    if plugin == "permutation-importance":
        from sklearn.inspection import permutation_importance

        result = permutation_importance(
            model,
            x_hold,
            y_hold,
            n_repeats=params["n_repeats"],
            random_state=params["seed"],
            scoring=params["scoring"],
            n_jobs=N_JOBS,
        )
        return dict(zip(names, result.importances_mean.tolist()))
    if plugin == "partial-dependence":
        from sklearn.inspection import partial_dependence

        features = [names.index(f) for f in params["features"].split(",")]
        result = partial_dependence(
            model,
            x_hold,
            [tuple(features)] if len(features) == 2 else features,
            grid_resolution=params["grid_resolution"],
            percentiles=tuple(params["percentiles"]),
            kind="average",
            method="brute",
        )
        return result["average"][0].ravel().tolist()  # first feature slowest, as sluice
    if plugin == "kernel-shap":
        raise AssertionError("kernel-shap runs all its rows in one call")
    raise SystemExit(f"sklearn_case.py: no counterpart for explainer {plugin}")


def main():
    case = CASES[CASE]
    data = case["data"]
    frame = pd.read_parquet(f"{DATADIR}/{data}.parquet")
    hold = np.load(f"{DATADIR}/holdout.npy")
    target = TARGET[data]
    names = [c for c in frame.columns if c != target]
    x, y = frame[names].to_numpy(), frame[target].to_numpy()
    x_train, y_train, x_hold, y_hold = x[~hold], y[~hold], x[hold], y[hold]
    out = {"case": CASE, "threads": THREADS, "train_rows": len(y_train), "holdout_rows": len(y_hold)}
    with threadpool_limits(THREADS):
        model = build(case["plugin"], case["params"], data)
        t = time.perf_counter()
        model.fit(x_train, y_train)
        if data == "regression":
            predicted = model.predict(x_hold)
        else:
            proba = model.predict_proba(x_hold)
        fit_s = time.perf_counter() - t
        if data == "regression":
            from sklearn.metrics import r2_score

            out["metric"] = {"r2": float(r2_score(y_hold, predicted))}
        else:
            from sklearn.metrics import accuracy_score

            predicted = model.classes_[proba.argmax(axis=1)]
            out["metric"] = {"accuracy": float(accuracy_score(y_hold, predicted))}
        explainers = case.get("explain", [])
        if not explainers:
            out["step_s"] = fit_s
        elif explainers[0][1] == "kernel-shap":
            import shap

            rows = [p["row"] for _, _, p in explainers]
            background = shap.sample(x_hold, KSHAP_BACKGROUND, random_state=0)
            t = time.perf_counter()
            explainer = shap.KernelExplainer(lambda a: model.predict_proba(a)[:, 1], background)
            values = explainer.shap_values(
                x_hold[rows], nsamples=KSHAP_NSAMPLES, l1_reg=False, silent=True
            )
            out["step_s"] = time.perf_counter() - t
            out["explanation"] = [dict(zip(names, np.asarray(v).tolist())) for v in values]
        else:
            t = time.perf_counter()
            out["explanation"] = [
                explain(model, x_hold, y_hold, plugin, params, names)
                for _, plugin, params in explainers
            ]
            out["step_s"] = time.perf_counter() - t
        out["fit_s"] = fit_s
    print(json.dumps(out))


if __name__ == "__main__":
    main()
