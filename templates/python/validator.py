"""{{name}}: a sluice validator in Python. Checks the table has at least
`min_rows` rows; metric `rows`. Build with `sluice build .`."""

import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

PARAMS = [sdk.param("min_rows", "integer", 1, "fewest rows allowed", min=0)]


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info("{{name}}", "0.1.0", "validator", "Checks the row count.", PARAMS,
                        metrics=["rows"])

    def validate(self, data, reference, params):
        p = sdk.resolve(PARAMS, params)
        rows = sdk.num_rows(data)
        check = t.Check("rows", rows >= p["min_rows"], f"{rows} rows, need {p['min_rows']}")
        return t.ValidationReport([check], [t.Metric("rows", float(rows))])
