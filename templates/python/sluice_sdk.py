"""Helpers for sluice plugins written in Python.

`sluice build` puts this module on the path of every Python plugin, so a
plugin can `import sluice_sdk`. It resolves params against the plugin's own
param specs (unknown names, wrong kinds, missing required params and values
outside a param's choices or range are invalid-params errors), raises step errors, and reads and writes columns.

Raise step errors with `fail`: any other exception that leaves a plugin
function traps (componentize-py prints the traceback through WASI, which
sluice does not grant), and the conformance suite reports the trap.
"""

import json
import math

from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports import types as t

KIND = {
    "number": t.ParamValue_Number,
    "integer": t.ParamValue_Integer,
    "flag": t.ParamValue_Flag,
    "text": t.ParamValue_Text,
    "numbers": t.ParamValue_Numbers,
}


def log(message, level=2):
    """Write to the step's log (0 error, 1 warn, 2 info, 3 debug, 4 trace).

    Python plugins are built without WASI, so `print` traps: log instead."""
    host.log(level, str(message))


def param(name, kind, default, doc, choices=(), min=None, max=None, min_inclusive=True,
          max_inclusive=True):
    """A param spec; `default=None` makes the param required. `choices` are
    the values a text param may take; `min` and `max` bound a number (each
    included unless `min_inclusive`/`max_inclusive` is False). The host
    checks pipelines against them before they run, and `resolve` again."""
    bounds = None
    if min is not None or max is not None:
        bounds = t.NumberRange(min, max, min_inclusive, max_inclusive)
    default = None if default is None else KIND[kind](default)
    return t.ParamSpec(name, kind, default, doc, list(choices), bounds)


def info(name, version, kind, doc, params=(), metrics=()):
    """The plugin's describe(); `metrics` names the metrics it may report
    (a `*` stands for any text), so the host can check promotion gates."""
    return t.PluginInfo(name, version, getattr(t.StepKind, kind.upper()), doc, list(params),
                        list(metrics))


def _refusal(spec, value):
    """Why `value` is not allowed by `spec`, or None."""
    if spec.choices and isinstance(value, str) and value not in spec.choices:
        return f"param '{spec.name}' is \"{value}\", not one of: {', '.join(spec.choices)}"
    r = spec.range
    if r is None or isinstance(value, (str, bool)):
        return None
    for x in value if isinstance(value, list) else [value]:
        low = r.min is None or (x >= r.min if r.min_inclusive else x > r.min)
        high = r.max is None or (x <= r.max if r.max_inclusive else x < r.max)
        if not (low and high) or x != x:
            return f"param '{spec.name}' is {x}, outside its range"
    return None


def fail(kind, message):
    """Raise a step error: kind is 'invalid-params', 'invalid-input' or 'internal'."""
    raise Err(t.StepError(getattr(t.ErrorKind, kind.upper().replace("-", "_")), message))


def resolve(specs, params):
    """The params as a dict name -> value, defaults filled in."""
    known = {s.name: s for s in specs}
    values = {}
    for p in params:
        spec = known.get(p.name)
        if spec is None:
            fail("invalid-params", f"unknown param '{p.name}'; known: {', '.join(known) or 'none'}")
        if not isinstance(p.value, KIND[spec.kind]):
            fail("invalid-params", f"param '{p.name}' must be a {spec.kind}")
        values[p.name] = p.value.value
        why = _refusal(spec, p.value.value)
        if why:
            fail("invalid-params", why)
    for spec in specs:
        if spec.name not in values:
            if spec.default is None:
                fail("invalid-params", f"param '{spec.name}' is required")
            values[spec.name] = spec.default.value
    return values


def numbers(column, plugin):
    """A numeric column as floats, nulls as NaN; strings and bools are invalid input."""
    v = column.values
    if not isinstance(v, (t.Values_F64s, t.Values_I64s)):
        fail("invalid-input", f"{plugin}: column '{column.name}' must be numeric (f64 or i64)")
    out = [float(x) for x in v.value]
    if column.valid is not None:
        out = [x if ok else math.nan for x, ok in zip(out, column.valid)]
    return out


def parse_names(text, param):
    """A comma-separated list of column names, blank entries skipped; a
    name given twice is an invalid-params error (as the Rust SDK's
    `columns::parse_names`)."""
    names = []
    for name in (s.strip() for s in text.split(",")):
        if not name:
            continue
        if name in names:
            fail("invalid-params", f"param '{param}' names column '{name}' twice")
        names.append(name)
    return names


KIND_NAME = {
    t.Values_F64s: "f64",
    t.Values_I64s: "i64",
    t.Values_Bools: "bool",
    t.Values_Strings: "string",
}


def numeric_columns(table, names, plugin):
    """The columns a numeric transform works on: the listed ones, or every
    numeric (f64 or i64) column when `names` is empty. A listed column that
    is missing, or not numeric, is an invalid-input error (as the Rust
    SDK's `columns::numeric_columns`)."""
    numeric = (t.Values_F64s, t.Values_I64s)
    if not names:
        return [c for c in table.columns if isinstance(c.values, numeric)]
    by_name = {c.name: c for c in table.columns}
    out = []
    for name in names:
        c = by_name.get(name)
        if c is None:
            fail("invalid-input", f"no column '{name}'; columns: {', '.join(by_name)}")
        if not isinstance(c.values, numeric):
            kind = KIND_NAME.get(type(c.values), "other")
            fail("invalid-input", f"column '{name}' is {kind}, {plugin} needs f64 or i64")
        out.append(c)
    return out


def num_rows(table):
    return len(table.columns[0].values.value) if table.columns else 0


def f64_column(name, values):
    """An f64 column; NaN values become nulls."""
    valid = [not math.isnan(x) for x in values]
    return t.Column(name, t.Values_F64s(list(values)), None if all(valid) else valid)


def dump_state(obj):
    """Serialize a fitted state or model deterministically."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def load_state(data, plugin):
    try:
        return json.loads(bytes(data).decode())
    except (ValueError, UnicodeDecodeError) as e:
        fail("invalid-input", f"{plugin}: the state is not one this plugin wrote: {e}")
