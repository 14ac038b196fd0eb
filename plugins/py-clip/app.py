"""py-clip: a sluice transform in Python that clips outliers.

`fit` learns, for every numeric column (or the ones listed in `columns`,
comma-separated: a missing or non-numeric one is invalid input), the
`lower` and `upper` quantiles (linear interpolation, nulls ignored);
`apply` clips those columns to the learned bounds and passes every other
column through. Nulls stay nulls.
"""

import math

import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

NAME = "py-clip"
PARAMS = [
    sdk.param("lower", "number", 0.01, "quantile of the lower bound, in 0..1",
              min=0.0, max=1.0),
    sdk.param("upper", "number", 0.99, "quantile of the upper bound, in 0..1",
              min=0.0, max=1.0),
    sdk.param("columns", "text", "", "comma-separated columns to clip; empty clips every numeric column"),
]


def quantile(sorted_values, q):
    if not sorted_values:
        return math.nan
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info(NAME, "0.1.0", "transform",
                        "Clips numeric columns to quantile bounds learned by fit (Python).", PARAMS)

    def fit(self, data, params):
        p = sdk.resolve(PARAMS, params)
        if not 0.0 <= p["lower"] <= p["upper"] <= 1.0:
            sdk.fail("invalid-params", "params must satisfy 0 <= lower <= upper <= 1")
        bounds = {}
        for col in sdk.numeric_columns(data, sdk.parse_names(p["columns"], "columns"), NAME):
            xs = sorted(x for x in sdk.numbers(col, NAME) if not math.isnan(x))
            bounds[col.name] = [quantile(xs, p["lower"]), quantile(xs, p["upper"])]
        return sdk.dump_state({"bounds": bounds})

    def apply(self, state, data):
        bounds = sdk.load_state(state, NAME).get("bounds")
        if not isinstance(bounds, dict):
            sdk.fail("invalid-input", f"{NAME}: the state has no bounds")
        out = []
        for col in data.columns:
            b = bounds.get(col.name)
            if b is None:
                out.append(col)
                continue
            lo, hi = b
            xs = sdk.numbers(col, NAME)
            out.append(sdk.f64_column(col.name, [x if math.isnan(x) or math.isnan(lo) else min(max(x, lo), hi) for x in xs]))
        return t.Table(out)
