#!/usr/bin/env python3
"""Seeded synthetic data for the trainer and explainer benchmark.

Writes three Parquet files of ROWS x 30 f64 features (f00..f29, standard
normal, 10 informative) into OUTDIR, and the holdout rows sluice's split
picks:

- binary.parquet: i64 `label` 0/1 (a noisy linear rule);
- multiclass.parquet: i64 `label` 0/1/2 (the argmax of three noisy linear
  scores);
- regression.parquet: f64 `target` (linear plus a little curvature and
  noise);
- holdout.npy: a bool per row, True for the rows that `[datasets.*.split]
  holdout = 0.25, seed = 7` (not stratified) puts in the holdout: the same
  splitmix64 Fisher-Yates as host/src/data/split.rs, so scikit-learn trains
  and scores on exactly the rows sluice does.

numpy's PCG64 with SEED: the same arguments give the same files.

    python generate.py OUTDIR [ROWS] [SEED]
"""

import os
import sys

import numpy as np
import pandas as pd

FEATURES = 30
INFORMATIVE = 10
HOLDOUT = 0.25
SPLIT_SEED = 7
MASK64 = (1 << 64) - 1


def holdout_mask(rows, fraction=HOLDOUT, seed=SPLIT_SEED):
    """sluice's split (host/src/data/split.rs) for one group of rows."""
    state = seed
    order = list(range(rows))
    for i in range(rows - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        j = (z * (i + 1)) >> 64
        order[i], order[j] = order[j], order[i]
    take = int(np.floor(rows * fraction + 0.5))  # Rust's f64::round, half away from zero
    mask = np.zeros(rows, dtype=bool)
    mask[order[:take]] = True
    return mask


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, FEATURES))
    features = {f"f{j:02d}": z[:, j] for j in range(FEATURES)}

    w = np.zeros(FEATURES)
    w[:INFORMATIVE] = rng.uniform(-2.0, 2.0, INFORMATIVE)
    label = (z @ w + rng.standard_normal(rows) * 1.5 > 0).astype(np.int64)
    pd.DataFrame({**features, "label": label}).to_parquet(f"{out}/binary.parquet", index=False)

    w3 = np.zeros((FEATURES, 3))
    w3[:INFORMATIVE] = rng.uniform(-1.5, 1.5, (INFORMATIVE, 3))
    scores = z @ w3 + rng.gumbel(size=(rows, 3))
    classes = scores.argmax(axis=1).astype(np.int64)
    frame = pd.DataFrame({**features, "label": classes})
    frame.to_parquet(f"{out}/multiclass.parquet", index=False)

    wr = np.zeros(FEATURES)
    wr[:INFORMATIVE] = rng.uniform(-3.0, 3.0, INFORMATIVE)
    target = z @ wr + 1.5 * np.sin(2 * z[:, 0]) + z[:, 1] * z[:, 2] + rng.standard_normal(rows)
    pd.DataFrame({**features, "target": target}).to_parquet(
        f"{out}/regression.parquet", index=False
    )

    np.save(f"{out}/holdout.npy", holdout_mask(rows))
    counts = np.bincount(classes, minlength=3) / rows
    print(
        f"wrote {out}: {rows} rows x {FEATURES} features; binary {label.mean():.3f} positive, "
        f"multiclass {' / '.join(f'{c:.3f}' for c in counts)}, regression target sd {target.std():.2f}"
    )


if __name__ == "__main__":
    main()
