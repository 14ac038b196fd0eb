"""{{name}}: a sluice explainer in Python. Scores every numeric feature by
its variance (normalized to sum to 1 when `normalize`). A real explainer
would call the model: `from wit_world.imports import model`, then
`model.predict(table)`. Build with `sluice build .`."""

import math

import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

NAME = "{{name}}"
PARAMS = [sdk.param("normalize", "flag", True, "scale the scores to sum to 1")]


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info(NAME, "0.1.0", "explainer", "Feature variance as importance.", PARAMS,
                        metrics=["features"])

    def explain(self, features, target, params):
        p = sdk.resolve(PARAMS, params)
        scores = []
        for col in features.columns:
            if not isinstance(col.values, (t.Values_F64s, t.Values_I64s)):
                continue
            xs = [x for x in sdk.numbers(col, NAME) if not math.isnan(x)]
            mean = sum(xs) / len(xs) if xs else 0.0
            # x * x, not x ** 2: a float power raises OverflowError past 1e308,
            # and an uncaught exception traps (see sluice_sdk).
            scores.append([col.name, sum((x - mean) * (x - mean) for x in xs) / len(xs) if xs else 0.0])
        total = sum(s for _, s in scores)
        if p["normalize"] and total > 0 and math.isfinite(total):
            scores = [[n, s / total] for n, s in scores]
        return t.Explanation([t.Attribution(n, s) for n, s in scores], [t.Metric("features", float(len(scores)))])
