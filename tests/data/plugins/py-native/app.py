"""py-native: a validator that imports a dependency with a compiled
extension module (vendor/fastmean). `sluice build` refuses it before
componentize-py runs: Wasm cannot load the extension."""

import fastmean
import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info("py-native", "0.1.0", "validator",
                        "The mean of every row count, by a compiled dependency.", [])

    def validate(self, data, reference, params):
        n = float(sdk.num_rows(data))
        return t.ValidationReport([], [t.Metric("mean", float(fastmean.mean([n])))])
