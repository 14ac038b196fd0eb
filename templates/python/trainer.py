"""{{name}}: a sluice trainer in Python, the mean baseline. `train` learns
the mean of a numeric target; `predict` returns it (plus `offset`) for
every row as `prediction`. Build with `sluice build .`."""

import math

import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

NAME = "{{name}}"
PARAMS = [sdk.param("offset", "number", 0.0, "added to every prediction")]


def check_features(table, names):
    have = {c.name: c for c in table.columns}
    for n in names:
        if n not in have:
            sdk.fail("invalid-input", f"{NAME}: feature column '{n}' is missing")
        sdk.numbers(have[n], NAME)


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info(NAME, "0.1.0", "trainer", "Predicts the mean of the target.", PARAMS,
                        metrics=["mean"])

    def train(self, features, target, params):
        p = sdk.resolve(PARAMS, params)
        names = [c.name for c in features.columns]
        check_features(features, names)
        ys = [y for y in sdk.numbers(target, NAME) if not math.isnan(y)]
        if not ys:
            sdk.fail("invalid-input", f"{NAME}: target '{target.name}' has no values")
        mean = sum(ys) / len(ys) + p["offset"]
        model = sdk.dump_state({"features": names, "mean": mean})
        return t.Trained(model, [t.Metric("mean", mean)])

    def predict(self, model, features):
        m = sdk.load_state(model, NAME)
        if not isinstance(m, dict) or "mean" not in m:
            sdk.fail("invalid-input", f"{NAME}: not a model of this plugin")
        check_features(features, m["features"])
        return t.Table([sdk.f64_column("prediction", [m["mean"]] * sdk.num_rows(features))])
