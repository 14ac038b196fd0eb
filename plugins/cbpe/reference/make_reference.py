#!/usr/bin/env python3
"""Writes nannyml_reference.json: NannyML CBPE's estimates and thresholds on
fixed seeded data, for the cbpe plugin's parity tests (src/reference_tests.rs).

    python3 -m venv ~/.cache/sluice-tools/nannyml
    ~/.cache/sluice-tools/nannyml/bin/pip install nannyml statsmodels
    ~/.cache/sluice-tools/nannyml/bin/python plugins/cbpe/reference/make_reference.py

Every case stores its data (rounded to 6 decimals before use, so the stored
numbers are exactly what NannyML saw) and NannyML's numbers. The JSON is
flat, one "key": value per line, so the Rust test reads it by key.
"""

import json
import os
import pathlib
import warnings

# NannyML reports usage over the network unless told not to.
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"

import numpy as np
import pandas as pd
import sklearn
from sklearn.isotonic import IsotonicRegression

import nannyml as nml
from nannyml.calibration import (
    IsotonicCalibrator,
    _calculate_expected_calibration_error,
    _get_bin_index_edges,
    needs_calibration,
)
from sklearn.model_selection import StratifiedShuffleSplit

warnings.filterwarnings("ignore")

OUT = pathlib.Path(__file__).resolve().parent / "nannyml_reference.json"
METRICS = ["accuracy", "roc_auc", "f1", "precision", "recall", "specificity"]
REFERENCE_ROWS = 2000
CHUNK_SIZE = 300  # 6 full reference chunks and one of 200 rows
ANALYSIS_CHUNKS = 3


def make_case(seed, transform, shift, decimals=6):
    """Labels Bernoulli(p) with p from a Beta; the model's score is
    transform(p); the prediction thresholds the score at 0.5. The analysis
    rows draw p from a shifted Beta (covariate shift, no concept drift)."""
    rng = np.random.RandomState(seed)
    n_analysis = CHUNK_SIZE * ANALYSIS_CHUNKS
    p_ref = rng.beta(2.0, 2.0, REFERENCE_ROWS)
    p_ana = rng.beta(2.0 + shift, 2.0, n_analysis)
    y_ref = (rng.uniform(size=REFERENCE_ROWS) < p_ref).astype(int)
    y_ana = (rng.uniform(size=n_analysis) < p_ana).astype(int)
    s_ref = np.round(transform(p_ref), decimals)
    s_ana = np.round(transform(p_ana), decimals)
    return (
        pd.DataFrame({"score": s_ref, "pred": (s_ref >= 0.5).astype(int), "y": y_ref}),
        pd.DataFrame({"score": s_ana, "pred": (s_ana >= 0.5).astype(int), "y": y_ana}),
    )


def ece_stable(y_true, scores):
    """NannyML's needs_calibration ECEs, with a stable sort for ties (the
    plugin's choice; NannyML's argsort order for ties is numpy's)."""
    sss = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
    yt, before, after = [], [], []
    for train, test in sss.split(scores, y_true):
        reg = IsotonicRegression(out_of_bounds="clip", increasing=True)
        reg.fit(scores[train], y_true[train])
        yt.append(y_true[test])
        before.append(scores[test])
        after.append(reg.predict(scores[test]))
    yt, before, after = map(np.concatenate, (yt, before, after))
    edges = _get_bin_index_edges(len(before), 10)

    def ece(y, s):
        order = np.argsort(s, kind="stable")
        s, y = s[order], y[order]
        n = len(s)
        return float(sum((b - a) / n * abs(np.mean(s[a:b]) - np.mean(y[a:b])) for a, b in edges))

    first_test_rows = [int(i) for i in next(sss.split(scores, y_true))[1][:50]]
    return ece(yt, before), ece(yt, after), first_test_rows


def main():
    cases = {
        # Scores are the true probabilities: calibrated already.
        "calibrated": make_case(7, lambda p: p, shift=1.0),
        # Overconfident scores (logit doubled): calibration is needed.
        "overconfident": make_case(11, lambda p: 1 / (1 + ((1 - p) / p) ** 2), shift=1.5),
        # Underconfident scores squeezed towards 0.5.
        "underconfident": make_case(13, lambda p: 0.5 + (p - 0.5) * 0.4, shift=-1.0),
        # Overconfident scores on a grid of 0.02: many tied scores.
        "coarse": make_case(17, lambda p: np.round(1 / (1 + ((1 - p) / p) ** 1.5) * 50) / 50, shift=0.5, decimals=2),
    }
    values = {}
    for name, (ref, ana) in cases.items():
        values[f"{name}/reference/score"] = ref["score"].tolist()
        values[f"{name}/reference/pred"] = ref["pred"].tolist()
        values[f"{name}/reference/y"] = ref["y"].tolist()
        values[f"{name}/analysis/score"] = ana["score"].tolist()
        values[f"{name}/analysis/pred"] = ana["pred"].tolist()

        y = ref["y"].to_numpy()
        s = ref["score"].to_numpy()
        values[f"{name}/needs_calibration"] = bool(needs_calibration(y, s, IsotonicCalibrator()))
        before, after, test_rows = ece_stable(y, s)
        values[f"{name}/ece_before_stable_sort"] = before
        values[f"{name}/ece_after_stable_sort"] = after
        values[f"{name}/split_test_rows_first_50"] = test_rows

        reg = IsotonicRegression(out_of_bounds="clip").fit(s, y)
        grid = np.linspace(-0.05, 1.05, 45)
        values[f"{name}/isotonic/grid"] = grid.tolist()
        values[f"{name}/isotonic/predict"] = reg.predict(grid).tolist()

        for mode in ["auto", "isotonic", "none"]:
            kwargs = {}
            if mode == "none":
                from nannyml.calibration import NoopCalibrator

                kwargs["calibrator"] = NoopCalibrator()
            estimator = nml.CBPE(
                problem_type="classification_binary",
                y_pred_proba="score",
                y_pred="pred",
                y_true="y",
                metrics=METRICS,
                chunk_size=CHUNK_SIZE,
                **kwargs,
            )
            if mode == "isotonic":
                # Calibrate whatever needs_calibration says.
                import nannyml.performance_estimation.confidence_based.cbpe as cbpe_module

                original = cbpe_module.needs_calibration
                cbpe_module.needs_calibration = lambda **kw: True
                try:
                    estimator.fit(ref)
                finally:
                    cbpe_module.needs_calibration = original
            else:
                estimator.fit(ref)
            values[f"{name}/{mode}/calibrated"] = bool(
                estimator.needs_calibration and mode != "none"
            )
            result = estimator.estimate(ana).filter(period="analysis").to_df()
            for metric in METRICS:
                values[f"{name}/{mode}/{metric}/estimated"] = result[(metric, "value")].tolist()
                values[f"{name}/{mode}/{metric}/lower"] = float(result[(metric, "lower_threshold")].iloc[0])
                values[f"{name}/{mode}/{metric}/upper"] = float(result[(metric, "upper_threshold")].iloc[0])
                values[f"{name}/{mode}/{metric}/alert"] = [bool(a) for a in result[(metric, "alert")]]

    values["numpy/RandomState(42).permutation(10)"] = np.random.RandomState(42).permutation(10).tolist()
    rs = np.random.RandomState(3)
    values["numpy/RandomState(3).permutation(1000)[:20]"] = rs.permutation(1000)[:20].tolist()

    meta = {
        "nannyml": nml.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "reference_rows": REFERENCE_ROWS,
        "chunk_size": CHUNK_SIZE,
        "analysis_chunks": ANALYSIS_CHUNKS,
    }
    lines = ["{", f'  "meta": {json.dumps(meta)},', '  "values": {']
    items = list(values.items())
    for k, (key, value) in enumerate(items):
        comma = "," if k + 1 < len(items) else ""
        lines.append(f"    {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines += ["  }", "}"]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
