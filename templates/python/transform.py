"""{{name}}: a sluice transform in Python. `fit` learns the mean of every
numeric column; `apply` returns (x - mean) * scale for those columns and
passes the others through. Build with `sluice build .`."""

import math

import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

NAME = "{{name}}"
PARAMS = [sdk.param("scale", "number", 1.0, "factor applied after centering")]


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info(NAME, "0.1.0", "transform", "Centers numeric columns on their mean.", PARAMS)

    def fit(self, data, params):
        p = sdk.resolve(PARAMS, params)
        means = {}
        for col in data.columns:
            if isinstance(col.values, (t.Values_F64s, t.Values_I64s)):
                xs = [x for x in sdk.numbers(col, NAME) if not math.isnan(x)]
                means[col.name] = sum(xs) / len(xs) if xs else 0.0
        return sdk.dump_state({"means": means, "scale": p["scale"]})

    def apply(self, state, data):
        s = sdk.load_state(state, NAME)
        if not isinstance(s, dict) or "means" not in s:
            sdk.fail("invalid-input", f"{NAME}: the state is not one this plugin wrote")
        out = []
        for col in data.columns:
            if col.name not in s["means"]:
                out.append(col)
                continue
            m = s["means"][col.name]
            out.append(sdk.f64_column(col.name, [(x - m) * s["scale"] for x in sdk.numbers(col, NAME)]))
        return t.Table(out)
