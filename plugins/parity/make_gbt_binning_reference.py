#!/usr/bin/env python3
"""Bin thresholds and predictions of scikit-learn's histogram gradient
boosting at many training sizes, for sluice's `gbt` plugin.

Writes gbt_binning_reference.json next to this script. plugins/gbt's native
unit tests (`binning_parity_*`) build the same columns from the same integer
formulas, so the data need not be stored:

- u(i) = (7919 i + 13) mod 10007 and v(i) = (104729 i + 7) mod 65537, for
  rows i = 0 .. n-1;
- `distinct`: u / 7 (every value distinct);
- `ties`: (u mod 400) / 2 (at most 400 values, each repeated);
- `skewed`: floor((u mod 1000)^2 / 1000) (small values many times over,
  large ones once);
- target y = (v mod 97) + 10 [ties > 100] + skewed / 50.

For each size n the JSON holds `_find_binning_thresholds(column, 255)` of
each column (scikit-learn's default max_bins) and the predictions of
HistGradientBoostingRegressor(early_stopping=False, random_state=0) fitted
on the three columns, at rows 0, n/16, 2n/16, ... (integer division).

Run:
    ~/.cache/sluice-tools/evidently/bin/python plugins/parity/make_gbt_binning_reference.py
(any python with scikit-learn and numpy will do.)
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.ensemble._hist_gradient_boosting.binning import _find_binning_thresholds

HERE = pathlib.Path(__file__).resolve().parent
SIZES = [50, 97, 200, 255, 256, 300, 450, 640, 1000, 1530, 2500, 3001, 5000]


def columns(n):
    i = np.arange(n, dtype=np.int64)
    u = (7919 * i + 13) % 10007
    v = (104729 * i + 7) % 65537
    distinct = u / 7.0
    ties = (u % 400) / 2.0
    skewed = ((u % 1000) ** 2 // 1000).astype(np.float64)
    y = (v % 97).astype(np.float64) + 10.0 * (ties > 100) + skewed / 50.0
    return {"distinct": distinct, "ties": ties, "skewed": skewed}, y


def main():
    cases = []
    for n in SIZES:
        cols, y = columns(n)
        x = np.column_stack([cols["distinct"], cols["ties"], cols["skewed"]])
        reg = HistGradientBoostingRegressor(early_stopping=False, random_state=0).fit(x, y)
        probes = [k * n // 16 for k in range(16)]
        cases.append(
            {
                "n": n,
                "thresholds": {
                    name: _find_binning_thresholds(col, 255).tolist() for name, col in cols.items()
                },
                "probe_rows": probes,
                "predictions": reg.predict(x[probes]).tolist(),
                "target_spread": float(y.max() - y.min()),
            }
        )
    out = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "columns": "see make_gbt_binning_reference.py",
        "cases": cases,
    }
    path = HERE / "gbt_binning_reference.json"
    path.write_text(json.dumps(out) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
