"""py-naive-bayes: Gaussian naive Bayes, a sluice trainer in pure Python.

Semantics of scikit-learn's `GaussianNB`: per class, the prior is the
class frequency and each feature a normal distribution with the class's
mean and variance, plus `var_smoothing` times the largest feature variance.

- Features: numeric columns (f64 or i64) without nulls.
- Target: i64, bool, string or f64 labels without nulls, at least one class.
- `predict` returns `p_<class>` (f64) per class, then `prediction` in the
  target's type. Train metrics: `train_accuracy`, `classes`.
"""

import math

import wit_world
from wit_world.imports import types as t
import sluice_sdk as sdk

NAME = "py-naive-bayes"
PARAMS = [sdk.param("var_smoothing", "number", 1e-9, "fraction of the largest variance added to every variance",
                    min=0.0)]
TYPES = {t.Values_F64s: "f64", t.Values_I64s: "i64", t.Values_Bools: "bool", t.Values_Strings: "string"}
MAKE = {"f64": t.Values_F64s, "i64": t.Values_I64s, "bool": t.Values_Bools, "string": t.Values_Strings}


def label_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def features(table, names):
    by_name = {c.name: c for c in table.columns}
    cols = []
    for n in names:
        if n not in by_name:
            sdk.fail("invalid-input", f"{NAME}: feature column '{n}' is missing")
        xs = sdk.numbers(by_name[n], NAME)
        if any(math.isnan(x) or math.isinf(x) for x in xs):
            sdk.fail("invalid-input", f"{NAME}: feature column '{n}' has nulls or non-finite values")
        cols.append(xs)
    return cols


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return sdk.info(NAME, "0.1.0", "trainer", "Gaussian naive Bayes classifier (pure Python).", PARAMS,
                        metrics=["train_accuracy", "classes"])

    def train(self, table, target, params):
        p = sdk.resolve(PARAMS, params)
        if p["var_smoothing"] < 0:
            sdk.fail("invalid-params", "param 'var_smoothing' must be >= 0")
        names = [c.name for c in table.columns]
        if not names:
            sdk.fail("invalid-input", f"{NAME}: no feature columns")
        cols = features(table, names)
        labels = list(target.values.value)
        if len(labels) != len(cols[0]):
            sdk.fail("invalid-input", f"{NAME}: target '{target.name}' has {len(labels)} rows, features {len(cols[0])}")
        if target.valid is not None and not all(target.valid):
            sdk.fail("invalid-input", f"{NAME}: target '{target.name}' has nulls")
        if not labels:
            sdk.fail("invalid-input", f"{NAME}: no rows to train on")
        classes = sorted(set(labels))
        n = len(labels)

        def variance(xs):
            m = sum(xs) / len(xs)
            return sum((x - m) ** 2 for x in xs) / len(xs)

        eps = p["var_smoothing"] * max(variance(c) for c in cols)
        model = {"features": names, "target": target.name, "type": TYPES[type(target.values)],
                 "classes": classes, "priors": [], "means": [], "vars": []}
        for k in classes:
            rows = [i for i, y in enumerate(labels) if y == k]
            model["priors"].append(len(rows) / n)
            ms, vs = [], []
            for c in cols:
                xs = [c[i] for i in rows]
                ms.append(sum(xs) / len(xs))
                vs.append(variance(xs) + eps)
            model["means"].append(ms)
            model["vars"].append(vs)
        probs = predict_proba(model, cols)
        correct = sum(1 for i, y in enumerate(labels) if classes[argmax(probs[i])] == y)
        metrics = [t.Metric("train_accuracy", correct / n), t.Metric("classes", float(len(classes)))]
        return t.Trained(sdk.dump_state(model), metrics)

    def predict(self, model, table):
        m = sdk.load_state(model, NAME)
        if not isinstance(m, dict) or "classes" not in m:
            sdk.fail("invalid-input", f"{NAME}: not a model of this plugin")
        cols = features(table, m["features"])
        probs = predict_proba(m, cols)
        out = [sdk.f64_column(f"p_{label_text(k)}", [row[j] for row in probs]) for j, k in enumerate(m["classes"])]
        pred = [m["classes"][argmax(row)] for row in probs]
        out.append(t.Column("prediction", MAKE[m["type"]](pred), None))
        return t.Table(out)


def argmax(row):
    return max(range(len(row)), key=lambda j: (row[j], -j))


def predict_proba(m, cols):
    n = len(cols[0]) if cols else 0
    out = []
    for i in range(n):
        joint = []
        for prior, means, vs in zip(m["priors"], m["means"], m["vars"]):
            s = math.log(prior)
            for c, mu, v in zip(cols, means, vs):
                if v <= 0:
                    s += 0.0 if c[i] == mu else -math.inf
                else:
                    s += -0.5 * math.log(2 * math.pi * v) - (c[i] - mu) ** 2 / (2 * v)
            joint.append(s)
        top = max(joint)
        if top == -math.inf:
            out.append([1.0 / len(joint)] * len(joint))
            continue
        e = [math.exp(s - top) for s in joint]
        total = sum(e)
        out.append([x / total for x in e])
    return out
