#!/usr/bin/env python3
"""Helpers of benches/serve/run.sh.

    report.py bodies CSV TARGET DIR   write DIR/{one,hundred,all}.json: MLflow
                                      `dataframe_split` bodies of the CSV's
                                      first row, first 100 rows, every row
                                      (the TARGET column dropped)
    report.py agree DIR               check DIR/sluice-B.out and
                                      DIR/mlflow-B.out predict the same
    report.py table DIR               the table of DIR's measurements (oha's
                                      JSON summary SERVER-BODY-C.json, the
                                      load average before in .load, the
                                      server's CPU seconds in .cpu); fails
                                      unless every request got a 200
"""

import csv
import json
import os
import sys

BODIES = {"one": 1, "hundred": 100}


def bodies(path, target, out):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    keep = [i for i, name in enumerate(header) if name != target]
    columns = [header[i] for i in keep]
    data = [[float(row[i]) for i in keep] for row in rows]
    for name, n in list(BODIES.items()) + [("all", len(data))]:
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump({"dataframe_split": {"columns": columns, "data": data[:n]}}, f)


def agree(out):
    for name in ["one", "hundred", "all"]:
        answers = {}
        for server in ["sluice", "mlflow"]:
            with open(os.path.join(out, f"{server}-{name}.out")) as f:
                answers[server] = json.load(f)["predictions"]
        sl, ml = answers["sluice"], answers["mlflow"]
        differ = [i for i, (a, b) in enumerate(zip(sl, ml)) if a != b]
        if len(sl) != len(ml) or differ:
            sys.exit(f"the servers disagree on body '{name}': {len(sl)} against {len(ml)} "
                     f"predictions, rows {differ[:20]} differ")
        print(f"    predictions agree: {len(sl)} row(s) of body '{name}'")


def table(out):
    results, failures = {}, []
    for file in sorted(os.listdir(out)):
        if not file.endswith(".json"):
            continue
        server, body, c = file[: -len(".json")].split("-")
        with open(os.path.join(out, file)) as f:
            r = json.load(f)
        stem = os.path.join(out, file[: -len(".json")])
        with open(stem + ".load") as f:
            load = f.read().strip()
        with open(stem + ".cpu") as f:
            cpu = float(f.read())
        codes = r.get("statusCodeDistribution", {})
        errors = r.get("errorDistribution", {})
        total = sum(codes.values())
        if set(codes) != {"200"} or errors or total == 0:
            failures.append(f"{server}, body {body}, concurrency {c}: status codes {codes}, errors {errors}")
        p = r["latencyPercentiles"]
        results[server, body, int(c)] = {
            "rps": r["summary"]["requestsPerSec"],
            "p50": p["p50"] * 1000,
            "p99": p["p99"] * 1000,
            "n": total,
            "cpu": cpu * 1000 / total if total else float("nan"),
            "load": load,
        }
    head = (f"{'server':8s} {'rows':>5s} {'conc':>5s} {'requests/s':>11s} {'p50 ms':>8s} "
            f"{'p99 ms':>8s} {'requests':>9s} {'CPU ms/req':>10s}  {'sluice/mlflow':>22s}  load before")
    print(head)
    print("-" * len(head))
    for body, rows in BODIES.items():
        for c in (1, 16, 64):
            sl, ml = results.get(("sluice", body, c)), results.get(("mlflow", body, c))
            for server, x in (("sluice", sl), ("mlflow", ml)):
                if x is None:
                    continue
                ratio = ""
                if server == "sluice" and ml is not None:
                    ratio = f"{sl['rps'] / ml['rps']:6.1f}x rps, p99 {sl['p99'] / ml['p99']:.3f}x"
                print(f"{server:8s} {rows:5d} {c:5d} {x['rps']:11.1f} {x['p50']:8.2f} {x['p99']:8.2f} "
                      f"{x['n']:9d} {x['cpu']:10.3f}  {ratio:>22s}  {x['load']}")
    print()
    sl, ml = results.get(("sluice", "one", 16)), results.get(("mlflow", "one", 16))
    if sl and ml:
        print(f"target 1, >= 10x MLflow's throughput at concurrency 16 (1 row): "
              f"{sl['rps'] / ml['rps']:.1f}x")
        sl100, ml100 = results.get(("sluice", "hundred", 16)), results.get(("mlflow", "hundred", 16))
        if sl100 and ml100:
            print(f"                                             (100 rows): {sl100['rps'] / ml100['rps']:.1f}x")
    p99 = [results[k]["p99"] for k in results if k[0] == "sluice" and k[1] == "one"]
    if p99:
        print(f"target 2, p99 < 5 ms for single-row requests: sluice's p99 "
              + ", ".join(f"{results['sluice', 'one', c]['p99']:.2f} ms at concurrency {c}"
                          for c in (1, 16, 64) if ("sluice", "one", c) in results))
    if failures:
        sys.exit("requests not answered 200:\n  " + "\n  ".join(failures))
    print("every request of every measurement was answered 200")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"bodies": bodies, "agree": agree, "table": table}[command](*args)
