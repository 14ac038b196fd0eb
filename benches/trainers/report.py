#!/usr/bin/env python3
"""Collects and reports the trainer and explainer benchmark (run.sh).

    python report.py collect RUN.json SLUICE HOME OUT.json
        checks the sluice run succeeded (else prints the failed steps and
        exits 1) and saves its explainer steps' explanations
    python report.py case RESULTS CASE ROWS     one case's lines
    python report.py table RESULTS NPROC ROWS...  the closing table

RESULTS holds, per case, row count and round, CASE.ROWS.rROUND.{sluice,sk1,skN}.{json,time}
and CASE.ROWS.rROUND.explanation.json. With more than one round, times
are the median round's (the lower middle of an even count), the fastest
round's alongside.
"""

import glob
import json
import math
import re
import subprocess
import sys

from cases import CASES

MIB = 1024


def collect(run_path, sluice, home, out):
    text = open(run_path).read()
    try:
        run = json.loads(text)
    except json.JSONDecodeError:
        sys.exit(f"sluice run printed no run record:\n{text[:4000]}")
    if run.get("status") != "succeeded":
        failed = [s for s in run.get("steps", []) if s.get("status") != "succeeded"]
        sys.exit(
            f"sluice run {run.get('run_id')} {run.get('status')}:\n"
            + json.dumps(failed or run, indent=1)[:6000]
        )
    explanations = {}
    for step in run["steps"]:
        if step.get("kind") == "explainer":
            digest = step["outputs"]["explanation"]
            raw = subprocess.run(
                [sluice, "artifacts", "get", "--home", home, digest, "-o", "-"],
                check=True,
                capture_output=True,
            ).stdout
            explanations[step["id"]] = json.loads(raw)["global"]
    json.dump(explanations, open(out, "w"))


def timed(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    wall = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, rss / MIB


def spearman(a, b):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        for rank, i in enumerate(order):
            r[i] = rank
        return r

    return pearson(ranks(a), ranks(b))


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = math.sqrt(sum((x - ma) ** 2 for x in a))
    vb = math.sqrt(sum((y - mb) ** 2 for y in b))
    return cov / (va * vb) if va and vb else float("nan")


def agreement(case, sluice_expl, sk):
    """How the explanations agree, in a few words."""
    plugin = case["explain"][0][1]
    ours = [sluice_expl[step_id] for step_id, _, _ in case["explain"]]
    theirs = sk["explanation"]
    if plugin == "partial-dependence":
        a = [p["score"] for p in ours[0]]
        b = theirs[0]
        worst = max(abs(x - y) for x, y in zip(a, b)) if len(a) == len(b) else float("nan")
        return f"PD {len(a)} points, max |diff| {worst:.1e}"
    if plugin == "permutation-importance":
        a = {p["feature"]: p["score"] for p in ours[0]}
        b = theirs[0]
        names = sorted(b)
        rho = spearman([a[n] for n in names], [b[n] for n in names])
        top_a = set(sorted(a, key=lambda n: -a[n])[:5])
        top_b = set(sorted(b, key=lambda n: -b[n])[:5])
        return f"spearman {rho:.3f}, top-5 shared {len(top_a & top_b)}/5"
    # kernel-shap: one explanation per row.
    rs, tops = [], 0
    for mine, other in zip(ours, theirs):
        a = {p["feature"]: p["score"] for p in mine}
        names = sorted(other)
        rs.append(pearson([a[n] for n in names], [other[n] for n in names]))
        tops += max(a, key=lambda n: abs(a[n])) == max(other, key=lambda n: abs(other[n]))
    return f"pearson mean {sum(rs) / len(rs):.3f}, top-1 same {tops}/{len(rs)}"


def median(values):
    """The median of `values`: the lower middle one of an even count, so
    that it is a round that happened."""
    return sorted(values)[(len(values) - 1) // 2]


def load_round(base, case, explain_ids):
    run = json.load(open(f"{base}.sluice.json"))
    steps = {s["id"]: s for s in run["steps"]}
    ids = explain_ids or ["train"]
    side = {
        "sluice": {
            "step_s": sum(steps[i]["duration_ms"] for i in ids) / 1000,
            "metric": steps["evaluate"]["metrics"],
            "time": timed(f"{base}.sluice.time"),
            "cached": any(s.get("cached") for s in run["steps"] if s["id"] in ids),
        }
    }
    for key in ("sk1", "skN"):
        side[key] = json.load(open(f"{base}.{key}.json"))
        side[key]["time"] = timed(f"{base}.{key}.time")
    return side


def load(results, name, rows):
    """Each side's figures over the rounds of one case: `step_s` and
    `time` (wall, peak RSS) the median round's, `fastest_s` the fastest
    round's step; the rest (metrics, explanations) the first round's."""
    rounds = sorted(
        glob.glob(f"{results}/{name}.{rows}.r*.sluice.json"),
        key=lambda p: int(p.rsplit(".r", 1)[1].split(".")[0]),
    )
    if not rounds:
        raise FileNotFoundError(f"{results}/{name}.{rows}.r*.sluice.json")
    case = CASES[name]
    explain_ids = [step_id for step_id, _, _ in case.get("explain", [])]
    bases = [p[: -len(".sluice.json")] for p in rounds]
    sides = [load_round(base, case, explain_ids) for base in bases]
    side = sides[0]
    for key in ("sluice", "sk1", "skN"):
        steps = [s[key]["step_s"] for s in sides]
        side[key]["step_s"] = median(steps)
        side[key]["fastest_s"] = min(steps)
        side[key]["time"] = (
            median([s[key]["time"][0] for s in sides]),
            median([s[key]["time"][1] for s in sides]),
        )
    side["sluice"]["cached"] = any(s["sluice"]["cached"] for s in sides)
    side["rounds"] = len(sides)
    agree = ""
    if explain_ids:
        agree = agreement(case, json.load(open(f"{bases[0]}.explanation.json")), side["sk1"])
    metric_name = "r2" if case["data"] == "regression" else "accuracy"
    return side, metric_name, agree


def ratio(a, b, width=6):
    """a / b, with three decimals below 0.1."""
    r = a / b if b else float("nan")
    return f"{r:{width}.3f}" if r < 0.1 else f"{r:{width}.2f}"


def work(name, side):
    case = CASES[name]
    sk = side["sk1"]
    rows = f"train {sk['train_rows']}, holdout {sk['holdout_rows']}"
    explain = case.get("explain")
    if not explain:
        return f"{rows}: fit + predict holdout"
    plugin, params = explain[0][1], explain[0][2]
    if plugin == "kernel-shap":
        return (
            f"{rows}: SHAP of {len(explain)} holdout rows, background {params['background']}, "
            f"{params['nsamples']} coalitions each"
        )
    if plugin == "partial-dependence":
        return f"{rows}: 2-D PD of {params['features']}, grid {params['grid_resolution']}^2, on the holdout"
    return f"{rows}: {params['n_repeats']} repeats x 30 features, {params['scoring']}, on the holdout"


def case_lines(results, name, rows):
    side, metric, agree = load(results, name, rows)
    sl, sk1, skn = side["sluice"], side["sk1"], side["skN"]
    several = side["rounds"] > 1
    print(f"  {name} ({work(name, side)})" + (f", {side['rounds']} rounds" if several else ""))
    for label, s in (("sluice", sl), ("sklearn 1 thread", sk1), (f"sklearn {skn['threads']} threads", skn)):
        fastest = f" ({s['fastest_s']:.3f})" if several else ""
        print(
            f"    {label:18s} step {s['step_s']:9.3f} s{fastest}   wall {s['time'][0]:8.2f} s   "
            f"peak RSS {s['time'][1]:7.0f} MiB   {metric} {s['metric'][metric]:.5f}"
        )
    print(
        f"    sluice / sklearn step: {ratio(sl['step_s'], sk1['step_s'], 0)}x (1 thread), "
        f"{ratio(sl['step_s'], skn['step_s'], 0)}x ({skn['threads']} threads)"
        + (
            f"; fastest rounds: {ratio(sl['fastest_s'], sk1['fastest_s'], 0)}x, "
            f"{ratio(sl['fastest_s'], skn['fastest_s'], 0)}x"
            if several
            else ""
        )
        + f"; wall: {ratio(sl['time'][0], sk1['time'][0], 0)}x, {ratio(sl['time'][0], skn['time'][0], 0)}x"
        + (f"; explanations: {agree}" if agree else "")
        + ("; WARNING: a sluice step was cached" if sl["cached"] else "")
    )


def table(results, nproc, all_rows, names):
    print()
    print("sluice / sklearn: above 1 means sluice is slower. Step = the trainer step (fit + predict")
    print(f"the holdout) or the explainer step(s); wall = the whole process; 1T / {nproc}T = scikit-learn")
    print(f"on 1 thread / {nproc} threads (n_jobs=-1). Peak RSS in MiB. Times are the median")
    print("round's; fast1T = sluice / sklearn on 1 thread, the fastest round of each.")
    head = (
        f"{'case':22s} {'rows':>8s} {'step s':>8s} {'1T s':>8s} {f'{nproc}T s':>8s} {'x1T':>6s} {f'x{nproc}T':>6s}"
        f" {'fast1T':>6s} {'wall s':>7s} {'1T':>7s} {f'{nproc}T':>7s} {'x1T':>6s} {f'x{nproc}T':>6s}"
        f" {'RSS':>6s} {'1T':>6s} {f'{nproc}T':>6s}"
        f"  metric sluice / sklearn"
    )
    print(head)
    print("-" * len(head))
    for rows in all_rows:
        for name in names:
            try:
                side, metric, agree = load(results, name, rows)
            except FileNotFoundError:
                continue
            sl, sk1, skn = side["sluice"], side["sk1"], side["skN"]
            shown = sk1["train_rows"] + sk1["holdout_rows"]
            print(
                f"{name:22s} {shown:8d} {sl['step_s']:8.3f} {sk1['step_s']:8.3f} {skn['step_s']:8.3f}"
                f" {ratio(sl['step_s'], sk1['step_s'])} {ratio(sl['step_s'], skn['step_s'])}"
                f" {ratio(sl['fastest_s'], sk1['fastest_s'])}"
                f" {sl['time'][0]:7.2f} {sk1['time'][0]:7.2f} {skn['time'][0]:7.2f}"
                f" {ratio(sl['time'][0], sk1['time'][0])} {ratio(sl['time'][0], skn['time'][0])}"
                f" {sl['time'][1]:6.0f} {sk1['time'][1]:6.0f} {skn['time'][1]:6.0f}"
                f"  {metric} {sl['metric'][metric]:.4f} / {sk1['metric'][metric]:.4f}"
                + (f"; {agree}" if agree else "")
            )


def main():
    command = sys.argv[1]
    if command == "collect":
        collect(*sys.argv[2:6])
    elif command == "case":
        case_lines(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "table":
        names = list(CASES)
        table(sys.argv[2], sys.argv[3], sys.argv[4:], names)
    else:
        sys.exit(f"report.py: unknown command {command}")


if __name__ == "__main__":
    main()
