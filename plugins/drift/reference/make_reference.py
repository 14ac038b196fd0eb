#!/usr/bin/env python3
"""Writes scipy_reference.json: drift statistics computed by scipy/numpy on
fixed samples of the example datasets (pipelines/data/*.csv).

The Rust unit tests of the `drift` plugin read the JSON and assert that
every statistic and p-value matches within 1e-6. See README.md beside this
script for how to regenerate it.
"""

import csv
import json
import math
import os

import numpy as np
import scipy
from scipy import spatial, special, stats

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "pipelines", "data")


def column(dataset, name):
    with open(os.path.join(DATA, dataset + ".csv"), newline="") as f:
        return [row[name] for row in csv.DictReader(f)]


def num(dataset, name):
    return [float(x) for x in column(dataset, name)]


def even(xs):
    return xs[0::2]


def odd(xs):
    return xs[1::2]


# ---- categorical counts, keyed and ordered like the plugin (sorted keys) ----


def keys_of(ref, cur):
    return sorted(set(ref) | set(cur))


def counts(ref, cur):
    keys = keys_of(ref, cur)
    r = np.array([ref.count(k) for k in keys], dtype=float)
    c = np.array([cur.count(k) for k in keys], dtype=float)
    return keys, r, c


def fill_zeroes(p):
    # Evidently's get_binned_data(feel_zeroes=True)
    p = p.copy()
    if (p == 0).any():
        m = p[p != 0].min()
        np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return p


def quantile_bins(ref, cur, k):
    """The plugin's binning for numeric PSI / Jensen-Shannon: interior edges
    at the reference's quantiles i/k (numpy's default 'linear'), duplicates
    removed, outer bins open; a value equal to an edge goes to the bin on
    the right."""
    edges = np.unique(np.quantile(np.array(ref), [i / k for i in range(1, k)]))
    nb = len(edges) + 1
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=nb)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=nb)
    return r.astype(float), c.astype(float)


def sturges_bins(ref, cur):
    """Evidently's binning for a numerical column (get_binned_data): a
    Sturges histogram of both samples together."""
    edges = np.histogram_bin_edges(np.array(ref + cur), bins="sturges")
    r = np.histogram(np.array(ref), edges)[0]
    c = np.histogram(np.array(cur), edges)[0]
    return r.astype(float), c.astype(float)


def binned_percents(ref, cur, numeric, binning, k, fill):
    if numeric and len(set(ref)) > 20:
        r, c = sturges_bins(ref, cur) if binning == "evidently" else quantile_bins(ref, cur, k)
    else:
        _, r, c = counts(ref, cur)
    r, c = r / len(ref), c / len(cur)
    # Evidently fills empty bins for psi but not for jensenshannon.
    return (fill_zeroes(r), fill_zeroes(c)) if fill else (r, c)


# ---- the tests ----


def ks(ref, cur, _k):
    res = stats.ks_2samp(ref, cur)  # method='auto': exact when n <= 10000
    return float(res.statistic), float(res.pvalue)


def wasserstein(ref, cur, _k):
    norm = max(float(np.std(ref)), 0.001)
    return float(stats.wasserstein_distance(ref, cur) / norm), None


def chisquare(ref, cur, _k):
    _, r, c = counts(ref, cur)
    f_exp = r * (len(cur) / len(ref))
    res = stats.chisquare(c, f_exp)
    return float(res.statistic), float(res.pvalue)


def z(ref, cur, _k):
    keys = keys_of(ref, cur)
    target = keys[-1]
    n1, n2 = len(ref), len(cur)
    p1 = ref.count(target) / n1
    p2 = cur.count(target) / n2
    pp = (p1 * n1 + p2 * n2) / (n1 + n2)
    zz = (p1 - p2) / math.sqrt(pp * (1 - pp) * (1.0 / n1 + 1.0 / n2))
    return float(zz), float(2 * stats.norm.sf(abs(zz)))


def jensenshannon(ref, cur, k, numeric, binning):
    r, c = binned_percents(ref, cur, numeric, binning, k, fill=False)
    return float(spatial.distance.jensenshannon(r, c)), None


def psi(ref, cur, k, numeric, binning):
    r, c = binned_percents(ref, cur, numeric, binning, k, fill=True)
    return float(np.sum((r - c) * np.log(r / c))), None


TESTS = {"ks": ks, "wasserstein": wasserstein, "chisquare": chisquare, "z": z}


def case(cases, name, test, ref, cur, numeric=True, bins=10, binning="evidently"):
    if test in ("jensenshannon", "psi"):
        statistic, p_value = {"jensenshannon": jensenshannon, "psi": psi}[test](
            ref, cur, bins, numeric, binning
        )
    else:
        statistic, p_value = TESTS[test](ref, cur, bins)
    cases.append(
        {
            "name": name,
            "test": test,
            "numeric": numeric,
            "binning": binning,
            "bins": bins,
            "ref": ref,
            "cur": cur,
            "statistic": statistic,
            "p_value": p_value,
        }
    )


def main():
    cases = []
    sepal = num("iris", "sepal_length_cm")
    petal = num("iris", "petal_length_cm")
    alcohol = num("wine", "alcohol")
    magnesium = num("wine", "magnesium")
    bmi = num("diabetes", "bmi")
    bp = num("diabetes", "bp")
    radius = num("breast_cancer", "mean_radius")
    texture = num("breast_cancer", "mean_texture")
    area = num("breast_cancer", "mean_area")
    species = column("iris", "species")
    cultivar = column("wine", "cultivar")
    sex = column("diabetes", "sex")
    benign = [{"0": "false", "1": "true"}[b] for b in column("breast_cancer", "benign")]

    # Kolmogorov-Smirnov: equal sizes (square method), unequal (inside method),
    # no drift and strong drift (tiny p-values).
    case(cases, "iris sepal even/odd", "ks", even(sepal), odd(sepal))
    case(cases, "iris petal first 50/rest", "ks", petal[:50], petal[50:])
    case(cases, "iris sepal first 60/rest", "ks", sepal[:60], sepal[60:])
    case(cases, "wine alcohol first 100/rest", "ks", alcohol[:100], alcohol[100:])
    case(cases, "wine magnesium even/odd", "ks", even(magnesium), odd(magnesium))
    case(cases, "diabetes bmi even/odd", "ks", even(bmi), odd(bmi))
    case(cases, "diabetes bp first 300/rest", "ks", bp[:300], bp[300:])
    case(cases, "cancer radius even/odd", "ks", even(radius), odd(radius))
    case(cases, "cancer texture even/odd+1", "ks", even(texture), [x + 1.0 for x in odd(texture)])
    case(cases, "cancer area even/odd*1.15", "ks", even(area), [x * 1.15 for x in odd(area)])
    case(cases, "cancer radius first 500/last 69", "ks", radius[:500], radius[500:])
    case(cases, "small 7/5", "ks", sepal[:7], petal[:5])
    case(cases, "small 3/3 disjoint", "ks", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0])

    # Normed Wasserstein.
    case(cases, "iris sepal even/odd", "wasserstein", even(sepal), odd(sepal))
    case(cases, "wine alcohol first 100/rest", "wasserstein", alcohol[:100], alcohol[100:])
    case(cases, "diabetes bmi even/odd", "wasserstein", even(bmi), odd(bmi))
    case(cases, "cancer texture even/odd+1", "wasserstein", even(texture), [x + 1.0 for x in odd(texture)])
    case(cases, "cancer area even/odd*1.15", "wasserstein", even(area), [x * 1.15 for x in odd(area)])

    # Chi-squared.
    case(cases, "iris species even/odd", "chisquare", even(species), odd(species), numeric=False)
    case(cases, "iris species first 120/last 120", "chisquare", species[:120], species[30:], numeric=False)
    case(cases, "wine cultivar even/odd", "chisquare", even(cultivar), odd(cultivar), numeric=False)
    case(cases, "wine cultivar first 150/last 148", "chisquare", cultivar[:150], cultivar[30:], numeric=False)

    # Two-proportion Z-test.
    case(cases, "diabetes sex even/odd", "z", even(sex), odd(sex), numeric=False)
    case(cases, "cancer benign even/odd", "z", even(benign), odd(benign), numeric=False)
    case(cases, "cancer benign first 200/rest", "z", benign[:200], benign[200:], numeric=False)

    # Jensen-Shannon (natural log) on categories and on numeric bins: a Sturges
    # histogram of both samples (Evidently's, the default) or quantile bins.
    case(cases, "iris species even/odd", "jensenshannon", even(species), odd(species), numeric=False)
    case(cases, "wine cultivar first 120/rest", "jensenshannon", cultivar[:120], cultivar[60:], numeric=False)
    case(cases, "cancer benign first 200/rest", "jensenshannon", benign[:200], benign[200:], numeric=False)
    case(cases, "iris species first 50/rest", "jensenshannon", species[:50], species[50:], numeric=False)
    for binning in ("evidently", "quantile"):
        case(cases, "diabetes bmi even/odd", "jensenshannon", even(bmi), odd(bmi), binning=binning)
        case(
            cases,
            "cancer texture even/odd+1",
            "jensenshannon",
            even(texture),
            [x + 1.0 for x in odd(texture)],
            binning=binning,
        )

    # PSI on numeric bins (Sturges histogram or reference quantiles) and on
    # categories.
    for binning in ("evidently", "quantile"):
        case(cases, "diabetes bmi even/odd", "psi", even(bmi), odd(bmi), binning=binning)
        case(cases, "diabetes bp first 300/rest", "psi", bp[:300], bp[300:], binning=binning)
        case(
            cases,
            "cancer area even/odd*1.15",
            "psi",
            even(area),
            [x * 1.15 for x in odd(area)],
            bins=7,
            binning=binning,
        )
    case(cases, "wine cultivar first 120/rest", "psi", cultivar[:120], cultivar[60:], numeric=False)
    case(cases, "iris species first 50/rest", "psi", species[:50], species[50:], numeric=False)

    # The special functions on their own.
    special_cases = []
    for x, df in [(0.5, 1), (3.84, 1), (10.0, 2), (2.0, 5), (30.0, 10), (150.0, 99), (0.01, 3), (400.0, 40)]:
        special_cases.append({"fn": "chi2_sf", "x": x, "a": df, "value": float(stats.chi2.sf(x, df))})
    for x in [0.0, 0.5, 1.0, 1.96, 3.0, 5.0, 8.0, -1.0]:
        special_cases.append({"fn": "norm_sf", "x": x, "a": 0, "value": float(stats.norm.sf(x))})
    for x in [0.2, 0.5, 0.8, 1.0, 1.36, 2.0, 3.0]:
        special_cases.append({"fn": "kolmogorov_sf", "x": x, "a": 0, "value": float(special.kolmogorov(x))})

    out = {
        "generator": "make_reference.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": cases,
        "special": special_cases,
    }
    with open(os.path.join(HERE, "scipy_reference.json"), "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases and {len(special_cases)} special values")


if __name__ == "__main__":
    main()
