"""py-null-check: a sluice validator in Python.

Checks that the table has at least `min_rows` rows and that no column has
a larger fraction of nulls than `max_null_fraction`. Metrics: `rows`,
`columns`, `max_null_fraction` (the largest fraction seen).
"""

import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

PARAMS = [
    sdk.param("min_rows", "integer", 1, "fewest rows allowed", min=0),
    sdk.param("max_null_fraction", "number", 0.0, "largest fraction of nulls allowed in a column",
              min=0.0, max=1.0),
]


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info("py-null-check", "0.1.0", "validator",
                        "Checks the row count and the fraction of nulls per column (Python).", PARAMS,
                        metrics=["rows", "columns", "max_null_fraction"])

    def validate(self, data, reference, params):
        p = sdk.resolve(PARAMS, params)
        if not 0.0 <= p["max_null_fraction"] <= 1.0:
            sdk.fail("invalid-params", "param 'max_null_fraction' must be in 0..1")
        rows = sdk.num_rows(data)
        checks = [t.Check("rows", rows >= p["min_rows"], f"{rows} rows, need {p['min_rows']}")]
        worst = 0.0
        for col in data.columns:
            if len(col.values.value) != rows:
                sdk.fail("invalid-input", f"column '{col.name}' has {len(col.values.value)} rows, expected {rows}")
            nulls = 0 if col.valid is None else col.valid.count(False)
            fraction = nulls / rows if rows else 0.0
            worst = max(worst, fraction)
            checks.append(t.Check(f"nulls:{col.name}", fraction <= p["max_null_fraction"],
                                  f"{nulls} nulls in {rows} rows ({fraction:.4f}), allowed {p['max_null_fraction']}"))
        metrics = [t.Metric("rows", float(rows)), t.Metric("columns", float(len(data.columns))),
                   t.Metric("max_null_fraction", worst)]
        return t.ValidationReport(checks, metrics)
