#!/usr/bin/env python3
"""Reference outputs from scikit-learn for sluice's one-hot, standardize
and impute transforms.

Writes encoder_reference.json next to this script: the small tables below
(so the Rust tests read the same data) and, per case, what scikit-learn
gives. The native unit tests of plugins/one-hot, plugins/standardize and
plugins/impute (`parity_with_scikit_learn_*`) fit the plugin on the same
table with the same params and compare column by column.

- one-hot: OneHotEncoder(sparse_output=False, max_categories=...,
  min_frequency=..., handle_unknown=...) on two categorical columns whose
  category counts tie at the max_categories cut. Output names are
  scikit-learn's `<col>_<category>` and `<col>_infrequent_sklearn`; sluice
  names them `<col>=<category>` and `<col>=infrequent`.
- standardize, impute: ColumnTransformer([("t", StandardScaler() or
  SimpleImputer(strategy=...), COLUMNS)], remainder="passthrough") with
  verbose_feature_names_out=False, on a numeric table with NaN in every
  column: the listed columns are transformed, the others pass unchanged
  (NaN included). NaN is written as null in the JSON.

Run:
    python3 -m venv /tmp/venv-parity
    /tmp/venv-parity/bin/pip install scikit-learn pandas
    /tmp/venv-parity/bin/python plugins/parity/make_encoder_reference.py
"""

import json
import math
import pathlib
import re

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = pathlib.Path(__file__).resolve().parent

# Counts: color a 1, b 2, c 2, d 3, e 3, f 5 (16 rows): ties at every cut.
# size (integers): 1 x4, 2 x4, 3 x4, 7 x2, 9 x2.
COLOR = list("fbdeafcefdebcfef")
SIZE = [1, 2, 3, 1, 2, 3, 7, 9, 1, 2, 3, 7, 9, 1, 2, 3]
# Rows to transform: known, rare and one unknown category per column.
NEW_COLOR = ["f", "a", "e", "d", "zz", "c"]
NEW_SIZE = [1, 9, 3, 7, 5, 2]

ONE_HOT_CASES = [
    {"max_categories": 3},
    {"max_categories": 4},
    {"max_categories": 1},
    {"min_frequency": 2},
    {"min_frequency": 3},
    {"min_frequency": 0.15},
    {"min_frequency": 2, "max_categories": 3},
    {"min_frequency": 0.2, "max_categories": 5},
    {"max_categories": 3, "handle_unknown": "infrequent_if_exist"},
    {"min_frequency": 1, "handle_unknown": "infrequent_if_exist"},
]

NAN = float("nan")
NUMERIC = {
    "x": [1.0, 2.0, NAN, 4.0, 10.0, 3.0, 2.0, NAN],
    "y": [5.0, NAN, 1.0, 1.0, 0.5, 2.0, 1.0, 8.0],
    "z": [100.0, 200.0, 300.0, NAN, 150.0, 150.0, 50.0, 0.0],
    "w": [NAN, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0],
}

COLUMN_CASES = [
    {"plugin": "standardize", "columns": ["x", "z"]},
    {"plugin": "standardize", "columns": ["w"]},
    {"plugin": "impute", "strategy": "mean", "columns": ["y", "w"]},
    {"plugin": "impute", "strategy": "median", "columns": ["x"]},
    {"plugin": "impute", "strategy": "most_frequent", "columns": ["w", "z"]},
]


def nulls(values):
    return [None if math.isnan(v) else float(v) for v in values]


def one_hot_case(params):
    # sluice's default (scikit-learn's is "error").
    params = {"handle_unknown": "ignore", **params}
    encoder = OneHotEncoder(sparse_output=False, **params)
    train = pd.DataFrame({"color": COLOR, "size": SIZE})
    encoder.fit(train)
    new = pd.DataFrame({"color": NEW_COLOR, "size": NEW_SIZE})
    names = list(encoder.get_feature_names_out())
    return {
        "params": params,
        "names": names,
        "train": {n: [float(v) for v in col] for n, col in zip(names, encoder.transform(train).T)},
        "new": {n: [float(v) for v in col] for n, col in zip(names, encoder.transform(new).T)},
    }


def column_case(case):
    if case["plugin"] == "standardize":
        inner = StandardScaler()
    else:
        inner = SimpleImputer(strategy=case["strategy"])
    transformer = ColumnTransformer(
        [("t", inner, case["columns"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    frame = pd.DataFrame(NUMERIC)
    out = transformer.fit_transform(frame)
    names = list(transformer.get_feature_names_out())
    return {**case, "output": {n: nulls(col) for n, col in zip(names, out.T)}}


def main():
    reference = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "one_hot": {
            "color": COLOR,
            "size": SIZE,
            "new_color": NEW_COLOR,
            "new_size": NEW_SIZE,
            "cases": [one_hot_case(p) for p in ONE_HOT_CASES],
        },
        "columns": {
            "table": {n: nulls(v) for n, v in NUMERIC.items()},
            "cases": [column_case(c) for c in COLUMN_CASES],
        },
    }
    path = HERE / "encoder_reference.json"
    # One line per list of values.
    text = re.sub(
        r"\[\s+([^\[\]{}]*?)\s+\]",
        lambda m: "[" + " ".join(m.group(1).split()) + "]",
        json.dumps(reference, indent=1),
    )
    path.write_text(text + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
