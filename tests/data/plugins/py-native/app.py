"""py-tinystats: a validator whose metrics come from a dependency that
`sluice build` installs from requirements.txt (vendor/tinystats).

Metrics: `mean` and `sum_sq_dev` of the column `column` (nulls skipped).
"""

import fastmean as tinystats
import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

PARAMS = [sdk.param("column", "text", "", "the numeric column to summarise")]


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info("py-tinystats", "0.1.0", "validator",
                        "The mean of a column, computed by a pip dependency (Python).", PARAMS,
                        metrics=["mean", "sum_sq_dev"])

    def validate(self, data, reference, params):
        p = sdk.resolve(PARAMS, params)
        cols = [c for c in data.columns if c.name == p["column"]]
        if not cols:
            sdk.fail("invalid-params", f"no column '{p['column']}'")
        col = cols[0]
        xs = [x for i, x in enumerate(sdk.numbers(col, "py-tinystats"))
              if col.valid is None or col.valid[i]]
        metrics = [t.Metric("mean", float(tinystats.mean(xs))),
                   t.Metric("sum_sq_dev", float(tinystats.sum_sq_dev(xs)))]
        return t.ValidationReport([t.Check("rows", len(xs) > 0, f"{len(xs)} values")], metrics)
