#!/usr/bin/env python3
"""Seeded synthetic classification data for the end-to-end benchmark.

Writes ROWS x 30 f64 features (f00..f29) and an i64 `label` to a Parquet
file: 10 informative features (a noisy linear rule decides the label), 20
noise features, every feature with its own mean and scale (so
standardization matters), and 1% missing values in f00..f04 (so imputation
matters). numpy's PCG64 with SEED: the same arguments give the same file.

    python generate.py OUT.parquet [ROWS] [SEED]
"""

import sys

import numpy as np
import pandas as pd

FEATURES = 30
INFORMATIVE = 10
MISSING_COLUMNS = 5
MISSING_FRACTION = 0.01


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, FEATURES))
    weights = np.zeros(FEATURES)
    weights[:INFORMATIVE] = rng.uniform(-2.0, 2.0, INFORMATIVE)
    logit = z @ weights + rng.standard_normal(rows) * 1.5
    label = (logit > 0).astype(np.int64)
    means = rng.uniform(-50.0, 50.0, FEATURES)
    scales = rng.uniform(0.1, 100.0, FEATURES)
    x = z * scales + means
    data = {f"f{j:02d}": x[:, j] for j in range(FEATURES)}
    for j in range(MISSING_COLUMNS):
        holes = rng.random(rows) < MISSING_FRACTION
        data[f"f{j:02d}"][holes] = np.nan
    frame = pd.DataFrame(data)
    frame["label"] = label
    # NaN becomes a Parquet null.
    frame.to_parquet(out, index=False)
    print(f"wrote {out}: {rows} rows x {FEATURES} features, {label.mean():.3f} positive")


if __name__ == "__main__":
    main()
