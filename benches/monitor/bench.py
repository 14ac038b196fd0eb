#!/usr/bin/env python3
"""Helpers of benches/monitor/run.sh (run in the Evidently venv: numpy,
pandas, pyarrow, requests, evidently 0.7.23).

    bench.py generate OUT.csv                write the training data: 10,000 rows
                                             x f01..f30 and a binary `y`
    bench.py pipeline OUT.toml CSV PLUGINS NAME WINDOW CHECKS...
                                             write a pipeline training logreg
                                             on CSV, registering NAME, with a
                                             monitor of WINDOW and CHECKS (none:
                                             no monitor)
    bench.py send PORT MODEL REQUESTS ROWS THREADS
                                             send REQUESTS OIP v2 requests of
                                             ROWS rows each (f01 shifted by +0.5,
                                             f02 scaled x2) from THREADS threads
    bench.py bodies OUT N                    N single-row OIP v2 bodies, one a line
                                             (oha -Z), drawn like the training rows
    bench.py sluice-drift DIR                read DIR/monitor-*.json (`sluice
                                             monitor run --json`) and DIR/wall-*
                                             and write DIR/sluice.json
    bench.py evidently REF.parquet CUR.parquet RUNS OUT.json
                                             Evidently's DataDriftPreset, timed
    bench.py serve-table DIR OUT.json        oha's summaries DIR/oha/ROUND-MODE.json
                                             as rows of OUT.json
    bench.py windows SHOW.json SINCE_MS      the windows `sluice monitor show
                                             --json` recorded since SINCE_MS
    bench.py summary DIR ROWS                the tables of both parts (exit 1 when
                                             the two disagree, a request failed or
                                             the window did not hold ROWS rows)
"""

import json
import os
import sys
import threading
import time

FEATURES = [f"f{j:02d}" for j in range(1, 31)]
TRAIN_ROWS = 10_000
SEED = 20261204


def features_like_training(rng, rows):
    """Rows drawn as the training rows are: each feature its own mean and
    scale, all independent."""
    import numpy as np

    means = np.linspace(-3.0, 3.0, len(FEATURES))
    scales = np.linspace(0.5, 2.0, len(FEATURES))
    return rng.standard_normal((rows, len(FEATURES))) * scales + means, means, scales


def generate(out):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    x, means, scales = features_like_training(rng, TRAIN_ROWS)
    z = (x - means) / scales
    logit = 1.5 * z[:, 0] - 1.0 * z[:, 1] + 0.8 * z[:, 2] - 0.5 * z[:, 3]
    y = (rng.random(TRAIN_ROWS) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["y"] = y
    frame.to_csv(out, index=False, float_format="%.17g")
    print(f"    wrote {out}: {TRAIN_ROWS} rows x {len(FEATURES)} features, {y.mean():.3f} positive")


def pipeline(out, csv, plugins, name, window, checks):
    lines = [
        "# Written by benches/monitor/bench.py: logistic regression on the",
        "# generated training data, registered as a monitored model.",
        "[pipeline]",
        f'name = "{name}"',
        'version = "1"',
        "seed = 42",
        f"plugin_dirs = [{json.dumps(plugins)}]",
        "",
        "[datasets.data]",
        f"path = {json.dumps(csv)}",
        'target = "y"',
        "",
        "[datasets.data.split]",
        "holdout = 0.25",
        "seed = 7",
        "stratify = true",
        "",
        f"[models.{name}]",
        "gates = []",
        "",
    ]
    if checks:
        lines += [f"[models.{name}.monitoring]", f'window = "{window}"', ""]
        for kind in checks:
            lines += [f"[[models.{name}.monitoring.checks]]", f'kind = "{kind}"', ""]
    lines += [
        "[[steps]]",
        'id = "train"',
        'plugin = "logreg"',
        'input = "data"',
        "params = { c = 1.0, max_iter = 100 }",
        f'register = "{name}"',
        "",
    ]
    with open(out, "w") as f:
        f.write("\n".join(lines))


def oip_body(block):
    return {
        "inputs": [
            {"name": c, "shape": [len(block)], "datatype": "FP64", "data": block[:, j].tolist()}
            for j, c in enumerate(FEATURES)
        ]
    }


def send(port, model, requests_n, rows, threads):
    import numpy as np
    import requests

    url = f"http://127.0.0.1:{port}/v2/models/{model}/infer"
    rng = np.random.default_rng(SEED + 1)
    x, means, _ = features_like_training(rng, requests_n * rows)
    # The drift to find: f01's mean moved by 0.5, f02 twice as spread.
    x[:, 0] += 0.5
    x[:, 1] = means[1] + (x[:, 1] - means[1]) * 2.0
    bodies = [json.dumps(oip_body(x[i * rows : (i + 1) * rows])) for i in range(requests_n)]
    next_i, lock, failures, answered = [0], threading.Lock(), [], [0]

    def worker():
        session = requests.Session()
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= requests_n or failures:
                return
            r = session.post(url, data=bodies[i], headers={"content-type": "application/json"}, timeout=60)
            if r.status_code != 200:
                failures.append(f"request {i}: {r.status_code} {r.text[:300]}")
                return
            out = r.json()["outputs"]
            if out[0]["shape"][0] != rows:
                failures.append(f"request {i}: {out[0]['shape']} rows answered")
                return
            with lock:
                answered[0] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    if failures:
        sys.exit("sending the logged rows failed: " + "; ".join(failures))
    print(f"    {answered[0]} requests of {rows} rows answered 200 in {elapsed:.1f} s "
          f"({answered[0] * rows / elapsed:,.0f} rows/s, {threads} threads)")


def bodies(out, n):
    """n single-row bodies drawn as the training rows are (no drift), one
    a line, for oha -Z; and the first alone in OUT.first."""
    import numpy as np

    rng = np.random.default_rng(SEED + 2)
    x, _, _ = features_like_training(rng, n)
    lines = [json.dumps(oip_body(x[i : i + 1])) for i in range(n)]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(out + ".first", "w") as f:
        f.write(lines[0])


def drift_result(evaluation):
    versions = evaluation["versions"]
    assert len(versions) == 1, f"expected one version with traffic, got {len(versions)}"
    drift = [r for r in versions[0]["results"] if r["kind"] == "drift"]
    assert len(drift) == 1, versions[0]["results"]
    return versions[0], drift[0]


def drifted_features(result):
    """The features whose drift condition failed (`drift:NAME`)."""
    return sorted(c["name"].split(":", 1)[1] for c in result.get("conditions", [])
                  if c["name"].startswith("drift:") and not c["passed"])


def sluice_drift(work):
    runs = []
    for i in range(1, 100):
        path = os.path.join(work, f"monitor-{i}.json")
        if not os.path.exists(path):
            break
        with open(path) as f:
            evaluation = json.load(f)
        with open(os.path.join(work, f"wall-{i}")) as f:
            wall = float(f.read())
        version, drift = drift_result(evaluation)
        runs.append({
            "wall_s": wall,
            "read_ms": evaluation["timings"]["read_ms"],
            "total_ms": evaluation["timings"]["total_ms"],
            "drift_ms": drift["elapsed_ms"],
            "rows": drift["rows"],
            "version_rows": version["rows"],
            "status": drift["status"],
            "drifted": drifted_features(drift),
            "metrics": {k: v for k, v in drift["metrics"].items() if not k.startswith("score") and ":" not in k},
            "detail": drift["detail"],
        })
        print(f"    run {i}: wall {wall:.3f} s, read {runs[-1]['read_ms']:.0f} ms, drift check "
              f"{runs[-1]['drift_ms']:.0f} ms, total {runs[-1]['total_ms']:.0f} ms, "
              f"{drift['rows']:,} rows, {drift['status']}")
    if not runs:
        sys.exit(f"no monitor-*.json in {work}")
    if any(r["rows"] != runs[0]["rows"] for r in runs) or any(r["drifted"] != runs[0]["drifted"] for r in runs):
        sys.exit("the runs disagree on rows or drifted features")
    with open(os.path.join(work, "sluice.json"), "w") as f:
        json.dump(runs, f, indent=1)
    print(f"    drifted per sluice: {runs[0]['drifted']}")


def evidently(ref_path, cur_path, runs, out):
    import numpy as np
    import pandas as pd
    from threadpoolctl import threadpool_info
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref = pd.read_parquet(ref_path)[FEATURES]
    log = pd.read_parquet(cur_path)
    # The window's answered rows, as the monitor reads them.
    cur = log.loc[log["status"] == 200, [f"input.{c}" for c in FEATURES]]
    cur.columns = FEATURES
    print(f"    reference {len(ref):,} x {ref.shape[1]}, current {len(cur):,} x {cur.shape[1]}")
    pools = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
    print(f"    numpy {np.__version__}, pandas {pd.__version__}; thread pools: {pools or 'none loaded'}")
    timings, drifted, methods, share = [], None, None, None
    for i in range(runs):
        started = time.perf_counter()
        snapshot = Report([DataDriftPreset()], include_tests=True).run(current_data=cur, reference_data=ref)
        d = snapshot.dict()
        timings.append(time.perf_counter() - started)
        status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"]}
        got, got_methods = [], set()
        for m in d["metrics"]:
            cfg = m["config"]
            if cfg["type"].endswith("ValueDrift"):
                got_methods.add(cfg["method"])
                if status[m["id"]] == "FAIL":
                    got.append(cfg["column"])
            elif cfg["type"].endswith("DriftedColumnsCount"):
                share = m["value"]
        drifted, methods = sorted(got), sorted(got_methods)
        print(f"    Evidently run {i + 1}: {timings[-1]:.2f} s")
        if timings[-1] > 20 and i + 1 < runs:
            print("    (longer than 20 s: one run is enough)")
            break
    with open(out, "w") as f:
        json.dump({"seconds": timings, "drifted": drifted, "methods": methods, "share": share,
                   "pools": pools, "ref_rows": len(ref), "cur_rows": len(cur)}, f, indent=1)
    print(f"    drifted per Evidently: {drifted} (methods {methods})")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def summary(work, expected_rows):
    expected_rows = int(expected_rows)
    with open(os.path.join(work, "sluice.json")) as f:
        sl = json.load(f)
    with open(os.path.join(work, "evidently.json")) as f:
        ev = json.load(f)
    ok = True
    print(f"Part A: drift over the window, {expected_rows:,} logged rows x 30 features")
    print(f"  {'':30s} {'runs':>4s} {'median s':>9s} {'min s':>7s} {'max s':>7s}")
    walls = [r["wall_s"] for r in sl]
    print(f"  {'sluice monitor run (wall)':30s} {len(walls):4d} {median(walls):9.3f} {min(walls):7.3f} {max(walls):7.3f}")
    for key, label in [("read_ms", "  of which: reading the window"), ("drift_ms", "  of which: the drift check"),
                       ("total_ms", "  evaluation total")]:
        xs = [r[key] / 1000 for r in sl]
        print(f"  {label:30s} {len(xs):4d} {median(xs):9.3f} {min(xs):7.3f} {max(xs):7.3f}")
    es = ev["seconds"]
    print(f"  {'Evidently DataDriftPreset':30s} {len(es):4d} {median(es):9.3f} {min(es):7.3f} {max(es):7.3f}")
    ratio_wall = median(es) / median(walls)
    ratio_check = median(es) / (median([r["drift_ms"] for r in sl]) / 1000)
    print(f"  Evidently / sluice: {ratio_wall:.1f}x (whole `sluice monitor run`), "
          f"{ratio_check:.1f}x (the drift check alone)")
    print(f"  rows judged by sluice: {sl[0]['rows']:,}; by Evidently: {ev['cur_rows']:,} "
          f"against {ev['ref_rows']:,} reference rows")
    print(f"  drifted per sluice:    {sl[0]['drifted']}")
    print(f"  drifted per Evidently: {ev['drifted']} ({', '.join(ev['methods'])})")
    if sl[0]["drifted"] != ev["drifted"]:
        print("  DISAGREE on the drifted columns")
        ok = False
    else:
        print("  they agree")
    if sl[0]["rows"] != expected_rows or ev["cur_rows"] != expected_rows:
        print(f"  the window held {sl[0]['rows']:,} rows for sluice, {ev['cur_rows']:,} for Evidently, "
              f"not the {expected_rows:,} sent")
        ok = False
    target = "met" if median(walls) < 2.0 else "MISSED"
    print(f"  target (< 2 s): {target}")
    path = os.path.join(work, "serve.json")
    if os.path.exists(path):
        with open(path) as f:
            rows = json.load(f)
        print()
        print("Part B: serving throughput, monitors on (10 s window: drift, prediction_drift, service) vs off")
        print(f"  {'round':>5s} {'monitors':>8s} {'requests/s':>11s} {'p50 ms':>7s} {'p99 ms':>7s} {'requests':>9s}")
        for r in rows:
            print(f"  {r['round']:5d} {r['mode']:>8s} {r['rps']:11,.0f} {r['p50']:7.2f} {r['p99']:7.2f} {r['n']:9d}")
            if r["bad"]:
                print(f"        non-200 answers or errors: {r['bad']}")
                ok = False
        on = [r["rps"] for r in rows if r["mode"] == "on"]
        off = [r["rps"] for r in rows if r["mode"] == "off"]
        print(f"  median on {median(on):,.0f}, off {median(off):,.0f} requests/s: on / off = {median(on) / median(off):.3f} "
              f"(per round: {', '.join(f'{a / b:.3f}' for a, b in zip(on, off))})")
        with open(os.path.join(work, "windows.json")) as f:
            windows = json.load(f)
        print(f"  windows the server's monitor recorded during the on rounds: {windows}")
        print(f"  target (on within 5% of off): {'met' if median(on) >= 0.95 * median(off) else 'MISSED'}")
    if not ok:
        sys.exit(1)


def serve_table(work, out):
    """oha's summaries ROUND-MODE.json into out (a list of rows)."""
    rows = []
    for file in sorted(os.listdir(os.path.join(work, "oha"))):
        if not file.endswith(".json"):
            continue
        rnd, mode = file[: -len(".json")].split("-")
        with open(os.path.join(work, "oha", file)) as f:
            r = json.load(f)
        codes = r.get("statusCodeDistribution", {})
        errors = r.get("errorDistribution", {})
        p = r["latencyPercentiles"]
        rows.append({"round": int(rnd), "mode": mode, "rps": r["summary"]["requestsPerSec"],
                     "p50": p["p50"] * 1000, "p99": p["p99"] * 1000, "n": sum(codes.values()),
                     "bad": "" if set(codes) == {"200"} and not errors else f"{codes} {errors}"})
    rows.sort(key=lambda r: (r["round"], r["mode"] != "on"))
    with open(out, "w") as f:
        json.dump(rows, f, indent=1)


def windows(path, since_ms):
    """How many windows `sluice monitor show --json` recorded since since_ms,
    and the statuses of their checks."""
    with open(path) as f:
        shown = json.load(f)
    records = shown["results"] if isinstance(shown, dict) and "results" in shown else shown
    ends, statuses, rows = set(), {}, []
    for r in records:
        if r.get("window_end_ms", 0) >= since_ms:
            ends.add(r["window_end_ms"])
            statuses.setdefault(r["check"], []).append(r["status"])
            if r["kind"] == "drift":
                rows.append(r["rows"])
    return {"windows": len(ends), "drift_rows": sorted(rows),
            "checks": {k: {s: v.count(s) for s in sorted(set(v))} for k, v in statuses.items()}}


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "generate":
        generate(*args)
    elif cmd == "pipeline":
        pipeline(args[0], args[1], args[2], args[3], args[4], args[5:])
    elif cmd == "send":
        send(int(args[0]), args[1], int(args[2]), int(args[3]), int(args[4]))
    elif cmd == "bodies":
        bodies(args[0], int(args[1]))
    elif cmd == "sluice-drift":
        sluice_drift(*args)
    elif cmd == "evidently":
        evidently(args[0], args[1], int(args[2]), args[3])
        # pyarrow's threads sometimes abort the interpreter's exit
        # ("terminate called without an active exception"): the work is
        # written, leave without tearing them down.
        sys.stdout.flush()
        os._exit(0)
    elif cmd == "serve-table":
        serve_table(*args)
    elif cmd == "windows":
        print(json.dumps(windows(args[0], int(args[1]))))
    elif cmd == "summary":
        summary(*args)
    else:
        sys.exit(__doc__)
