#!/usr/bin/env python3
"""Prints the "Standard plugins" table of docs/standard-plugins.md from what each plugin's
describe() says (params with their defaults and allowed values, the metrics it
reports), as `sluice plugin inspect --json` reports it.

    ./scripts/build-plugins.sh && cargo build --release -p sluice-cli
    python3 scripts/plugin-table.py > /tmp/table.md   # then paste into docs/standard-plugins.md

Rows: every plugins/* crate (not the hostile test plugins), validators, then
transforms, trainers and explainers, by name within each world.
"""

import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORLDS = ["validator", "transform", "trainer", "explainer"]


def crate_names():
    for manifest in sorted((ROOT / "plugins").glob("*/Cargo.toml")):
        for line in manifest.read_text().splitlines():
            if line.startswith("name = "):
                yield line.split('"')[1]
                break


def default_text(param):
    if param["required"]:
        return "required"
    kind, value = param["kind"], param["default"]
    if kind == "text":
        shown = json.dumps(value)
    elif kind == "number":
        shown = repr(float(value))
    elif kind == "flag":
        shown = "true" if value else "false"
    elif kind == "numbers":
        shown = repr([float(v) for v in value])
    else:
        shown = str(value)
    return f"`{shown}`"


def allowed_text(param):
    """`; one of: a, b` or `; >= 1`, or nothing when any value is allowed."""
    allowed = param.get("allowed")
    return f"; {allowed}" if allowed else ""


def main():
    sluice = ROOT / "target" / "release" / "sluice"
    rows = []
    with tempfile.TemporaryDirectory() as home:
        for name in crate_names():
            wasm = ROOT / "target" / "wasm32-wasip2" / "release" / f"{name.replace('-', '_')}.wasm"
            out = subprocess.run(
                [str(sluice), "plugin", "inspect", "--json", "--home", home, str(wasm)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows.append(json.loads(out))
    rows.sort(key=lambda p: (WORLDS.index(p["world"]), p["name"]))
    print("| plugin | world | what it does | params (default; allowed values) | metrics |")
    print("|---|---|---|---|---|")
    for p in rows:
        params = "<br>".join(
            f"`{q['name']}` {q['kind']} {default_text(q)}" + allowed_text(q) for q in p["params"]
        ) or "none"
        metrics = ", ".join(f"`{m}`" for m in p["metrics"]) or "none declared"
        print(f"| `{p['name']}` | {p['world']} | {p['doc']} | {params} | {metrics} |")


if __name__ == "__main__":
    sys.exit(main())
