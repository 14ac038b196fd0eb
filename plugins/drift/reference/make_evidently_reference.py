#!/usr/bin/env python3
"""Writes evidently_reference.json: drift scores and verdicts computed by
Evidently itself on fixed samples of the example datasets
(pipelines/data/*.csv), for the Rust parity tests (src/evidently_tests.rs).

Run it with any python3: it creates (once) a venv under
~/.cache/sluice-tools/evidently with the pinned Evidently and re-executes
itself there. See README.md beside this script.

Evidently's current API is used: a Report of one ValueDrift metric per
column case (method None, i.e. Evidently's default choice, or an explicit
stattest), and DataDriftPreset for whole tables (share of drifted columns).
"""

import csv
import json
import os
import subprocess
import sys

# Pinned versions (pandas 3 breaks Evidently 0.7's imports).
PINS = ["evidently==0.7.23", "pandas==2.3.3", "numpy==2.4.6", "scipy==1.17.1"]
VENV = os.path.expanduser("~/.cache/sluice-tools/evidently")
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "pipelines", "data")


def ensure_venv():
    """Re-executes this script in the venv, creating it if needed."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([python, "-m", "pip", "install", "-q", *PINS])
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def column(dataset, name):
    with open(os.path.join(DATA, dataset + ".csv"), newline="") as f:
        return [row[name] for row in csv.DictReader(f)]


def num(dataset, name):
    return [float(x) for x in column(dataset, name)]


def even(xs):
    return xs[0::2]


def odd(xs):
    return xs[1::2]


def main():
    import evidently
    import numpy as np
    import pandas as pd
    import scipy
    from evidently import DataDefinition, Dataset, Report
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    # A resolved method comes back as its display name ("K-S p_value").
    names = {}
    for name, by_type in _registered_stat_tests.items():
        for st in by_type.values():
            names[st.display_name] = name
            names[name] = name

    def datasets(ref_cols, cur_cols, kinds):
        if all(k == "integer" for k in kinds.values()):
            # Integer columns: Evidently infers their type (categorical up
            # to 10 distinct values), as it does without a DataDefinition.
            return Dataset.from_pandas(pd.DataFrame(ref_cols)), Dataset.from_pandas(pd.DataFrame(cur_cols))
        numeric = [c for c, k in kinds.items() if k == "numeric"]
        categorical = [c for c, k in kinds.items() if k == "categorical"]
        dd = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        ref = Dataset.from_pandas(pd.DataFrame(ref_cols), data_definition=dd)
        cur = Dataset.from_pandas(pd.DataFrame(cur_cols), data_definition=dd)
        return ref, cur

    def value_drifts(snapshot):
        """Per column of the snapshot: method, score and verdict."""
        d = snapshot.dict()
        status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"]}
        out, share = {}, None
        for m in d["metrics"]:
            cfg = m["config"]
            if cfg["type"].endswith("ValueDrift"):
                out[cfg["column"]] = {
                    "method": names[cfg["method"]],
                    "threshold": cfg["threshold"],
                    "score": float(m["value"]),
                    "drift": status[m["id"]] == "FAIL",
                }
            elif cfg["type"].endswith("DriftedColumnsCount"):
                share = {
                    "count": m["value"]["count"],
                    "share": m["value"]["share"],
                    "dataset_drift": status[m["id"]] == "FAIL",
                }
        return out, share

    samples = {}

    def sample(name, values, kind):
        assert name not in samples, name
        samples[name] = {"kind": kind, "values": values}
        return name

    cases = []

    def case(name, ref, cur, methods):
        kind = samples[ref]["kind"]
        for method in methods:
            ref_ds, cur_ds = datasets(
                {"x": samples[ref]["values"]}, {"x": samples[cur]["values"]}, {"x": kind}
            )
            report = Report([ValueDrift(column="x", method=method)], include_tests=True)
            got, _ = value_drifts(report.run(current_data=cur_ds, reference_data=ref_ds))
            cases.append({"name": name, "ref": ref, "cur": cur, "requested": method or "auto", **got["x"]})

    numeric_methods = [None, "ks", "wasserstein", "psi", "jensenshannon"]
    categorical_methods = [None, "chisquare", "psi", "jensenshannon"]

    sepal = num("iris", "sepal_length_cm")
    petal = num("iris", "petal_length_cm")
    alcohol = num("wine", "alcohol")
    magnesium = num("wine", "magnesium")
    bmi = num("diabetes", "bmi")
    bp = num("diabetes", "bp")
    sex = num("diabetes", "sex")
    radius = num("breast_cancer", "mean_radius")
    texture = num("breast_cancer", "mean_texture")
    area = num("breast_cancer", "mean_area")
    worst_area = num("breast_cancer", "worst_area")
    species = column("iris", "species")
    cultivar = column("wine", "cultivar")
    benign = [{"0": "false", "1": "true"}[b] for b in column("breast_cancer", "benign")]

    # Numeric columns: the samples of make_reference.py.
    pairs = [
        ("iris sepal even/odd", even(sepal), odd(sepal)),
        ("iris petal first 50/rest", petal[:50], petal[50:]),
        ("wine alcohol first 100/rest", alcohol[:100], alcohol[100:]),
        ("wine magnesium even/odd", even(magnesium), odd(magnesium)),
        ("diabetes bmi even/odd", even(bmi), odd(bmi)),
        ("diabetes bp first 300/rest", bp[:300], bp[300:]),
        ("cancer radius even/odd", even(radius), odd(radius)),
        ("cancer texture even/odd+1", even(texture), [x + 1.0 for x in odd(texture)]),
        ("cancer area even/odd*1.15", even(area), [x * 1.15 for x in odd(area)]),
        ("small 7/5", sepal[:7], petal[:5]),
    ]
    for name, r, c in pairs:
        case(name, sample(name + " ref", r, "numeric"), sample(name + " cur", c, "numeric"), numeric_methods)

    # More than 1000 reference values: wasserstein by default, and
    # jensenshannon for a numeric column with few values.
    big_ref = area + worst_area
    big_cur = [x * 1.05 for x in odd(area)] + even(worst_area)
    case(
        "cancer area+worst_area 1138/569*1.05",
        sample("cancer area+worst_area ref", big_ref, "numeric"),
        sample("cancer area+worst_area cur", big_cur, "numeric"),
        numeric_methods,
    )
    case(
        "cancer area+worst_area 1138/same",
        "cancer area+worst_area ref",
        sample("cancer area+worst_area cur same", area + worst_area[::-1], "numeric"),
        [None],
    )
    case(
        "diabetes sex x3/first 300",
        sample("diabetes sex x3", sex * 3, "numeric"),
        sample("diabetes sex first 300", sex[:300], "numeric"),
        [None, "psi", "jensenshannon"],
    )
    # Few distinct numeric values: chisquare / z by default.
    case(
        "diabetes sex even/odd (numeric)",
        sample("diabetes sex even", even(sex), "numeric"),
        sample("diabetes sex odd", odd(sex), "numeric"),
        [None, "psi", "jensenshannon"],
    )
    species_num = [float(s) for s in species]
    case(
        "iris species first 120/last 120 (numeric)",
        sample("iris species first 120 (numeric)", species_num[:120], "numeric"),
        sample("iris species last 120 (numeric)", species_num[30:], "numeric"),
        [None, "psi", "jensenshannon"],
    )

    # Generated numeric samples for the binned tests (psi, jensenshannon):
    # sizes from 30 to 3000, ties, heavy duplicates, skew, outliers, a
    # current sample beyond the reference's range, and integral floats.
    # u(i) = (7919 i + 13) mod 10007 is the generator; no randomness.
    def u(n, offset=0):
        return [(7919 * (i + offset) + 13) % 10007 for i in range(n)]

    generated = [
        ("gen uniform 30/25", [x / 100 for x in u(30)], [x / 90 for x in u(25, 50)]),
        ("gen uniform 200/200 shifted", [x / 100 for x in u(200)], [x / 100 + 8 for x in u(200, 300)]),
        ("gen ties 500/400", [float(x % 40) for x in u(500)], [float(x % 45) for x in u(400, 700)]),
        ("gen skewed 1500/900", [(x % 1000) ** 2 / 1000 for x in u(1500)], [(x % 1100) ** 2 / 1000 for x in u(900, 2000)]),
        ("gen outlier 300/300", [x / 50 for x in u(299)] + [5000.0], [x / 50 for x in u(300, 400)]),
        ("gen beyond range 400/350", [x / 100 for x in u(400)], [x / 60 - 30 for x in u(350, 900)]),
        ("gen duplicates 3000/1200", [float(x % 25) * 0.5 for x in u(3000)], [float(x % 23) * 0.5 + 0.25 for x in u(1200, 5000)]),
        ("gen same 800/800", [x / 10 for x in u(800)], [x / 10 for x in u(800, 800)]),
    ]
    for name, r, c in generated:
        case(name, sample(name + " ref", r, "numeric"), sample(name + " cur", c, "numeric"), [None, "psi", "jensenshannon"])

    # Integer columns, types inferred by Evidently: categorical with at most
    # 10 distinct values in the current sample, numerical above.
    age = [int(x) for x in column("diabetes", "age")]
    decade = [a // 10 for a in age]
    sex_int = [int(x) for x in column("diabetes", "sex")]
    magnesium_int = [int(x) for x in column("wine", "magnesium")]
    int_pairs = [
        ("diabetes age decade even/odd (int)", even(decade), odd(decade), [None, "psi", "jensenshannon"]),
        ("diabetes age decade first 300/rest (int)", decade[:300], decade[300:], [None]),
        ("diabetes age decade x3/odd (int)", decade * 3, odd(decade), [None, "psi"]),
        ("diabetes sex even/odd (int)", even(sex_int), odd(sex_int), [None]),
        ("diabetes age even/odd (int)", even(age), odd(age), [None, "psi", "jensenshannon"]),
        ("wine magnesium first 100/rest (int)", magnesium_int[:100], magnesium_int[100:], [None, "psi"]),
    ]
    for name, r, c, methods in int_pairs:
        case(name, sample(name + " ref", r, "integer"), sample(name + " cur", c, "integer"), methods)

    # Categorical columns.
    cat_pairs = [
        ("iris species even/odd", even(species), odd(species), categorical_methods),
        ("iris species first 50/rest", species[:50], species[50:], categorical_methods),
        ("wine cultivar first 120/rest", cultivar[:120], cultivar[60:], categorical_methods),
        ("wine cultivar even/odd", even(cultivar), odd(cultivar), categorical_methods),
        ("cancer benign even/odd", even(benign), odd(benign), categorical_methods + ["z"]),
        ("cancer benign first 200/rest", benign[:200], benign[200:], categorical_methods + ["z"]),
        ("iris species x8/last 120", species * 8, species[30:], [None, "chisquare", "psi"]),
    ]
    for name, r, c, methods in cat_pairs:
        case(name, sample(name + " ref", r, "categorical"), sample(name + " cur", c, "categorical"), methods)

    # Whole tables: DataDriftPreset, Evidently's default choice per column,
    # then one method for every column.
    tables = []

    def table(name, dataset, cols, split, methods, shift=None, categorical=None):
        categorical = categorical or {}
        kinds = {c: "categorical" if c in categorical else "numeric" for c in cols}
        full = {c: categorical[c](column(dataset, c)) if c in categorical else num(dataset, c) for c in cols}
        ref_cols = {c: split[0](v) for c, v in full.items()}
        cur_cols = {c: split[1](v) for c, v in full.items()}
        for c, f in (shift or {}).items():
            cur_cols[c] = [f(x) for x in cur_cols[c]]
        for method in methods:
            ref_ds, cur_ds = datasets(ref_cols, cur_cols, kinds)
            report = Report([DataDriftPreset(method=method)], include_tests=True)
            columns, share = value_drifts(report.run(current_data=cur_ds, reference_data=ref_ds))
            tables.append(
                {
                    "name": name,
                    "requested": method or "auto",
                    "kinds": kinds,
                    "ref": ref_cols,
                    "cur": cur_cols,
                    "columns": columns,
                    **share,
                }
            )

    iris_cols = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm", "species"]
    table("iris even/odd", "iris", iris_cols, (even, odd), [None, "psi"])
    table("iris first 100/rest", "iris", iris_cols, (lambda v: v[:100], lambda v: v[100:]), [None, "jensenshannon"])
    wine_cols = ["alcohol", "malic_acid", "magnesium", "hue", "proline", "cultivar"]
    table("wine first 90/rest", "wine", wine_cols, (lambda v: v[:90], lambda v: v[90:]), [None, "psi"])
    cancer_cols = ["mean_radius", "mean_texture", "mean_area", "mean_smoothness", "benign"]
    table(
        "cancer even/odd, texture+1, area*1.15",
        "breast_cancer",
        cancer_cols,
        (even, odd),
        [None, "psi", "jensenshannon"],
        shift={"mean_texture": lambda x: x + 1.0, "mean_area": lambda x: x * 1.15},
        categorical={"benign": lambda v: [{"0": "false", "1": "true"}[b] for b in v]},
    )

    out = {
        "generator": "make_evidently_reference.py",
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "samples": samples,
        "cases": cases,
        "tables": tables,
    }
    path = os.path.join(HERE, "evidently_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} column cases, {len(tables)} tables, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    ensure_venv()
    main()
