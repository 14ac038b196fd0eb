#!/usr/bin/env python3
"""Seeded daily batches of a churn-like task, for pipelines/continuous.

    python3 generate.py DIR --day N             # DIR/day-NN.csv, N's labelled batch
    python3 generate.py DIR --day N --traffic   # DIR/traffic-NN.csv, N's live rows
    python3 generate.py DIR --day N --labelled  # DIR/labelled-NN.csv, live rows and outcomes

Each row is a customer on a day (March 2026) with four features and a label:

    date             the day, 2026-03-NN (the dataset's time column)
    tenure           months as a customer (integer, 1..72)
    monthly_charges  the monthly bill (number)
    support_calls    calls to support this month (integer, 0..)
    usage_gb         data used this month (number)
    churned          1 if the customer left (the label)

Days 1 to 3 are alike. From day 4 a competitor's offer and a price rise
change things: monthly_charges moves up by 25 (a feature shift the
monitor's drift check sees) and the relation between the features and
churn changes (concept drift: the bill and heavy use weigh more). Day
5's labels come through a broken join: 30% of them are flipped. On
day 6 the support system's export breaks upstream: support_calls is
empty (null) in every row of the batch; `--fixed` writes that day as it
should have been (the upstream's backfill). On day 8 the batch export
starts writing usage_gb in megabytes (times 1024) while the live feed
still sends gigabytes: every value is plausible, so the batch passes its
checks and trains a model that fits its own holdout well, but answers
live rows badly; `--fixed` writes gigabytes.

Live rows come without their label (it is what the model predicts).
`--labelled` writes another sample of the day's live rows with the
outcome, as label feedback would bring it later (at once, in compressed
time): the rows a canary is judged on. The standard library only; the
same day and flags give the same bytes on every machine.
"""

import argparse
import math
import os
import random
import sys

ROWS = 2000
TRAFFIC_ROWS = 1000


def normal(rng):
    """A standard normal draw (Box-Muller), from two uniforms."""
    u = max(rng.random(), 1e-300)
    v = rng.random()
    return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * v)


def rows(day, traffic, labelled=False):
    """The day's rows: (tenure, monthly_charges, support_calls, usage_gb, churned)."""
    rng = random.Random(day * 1000 + (13 if labelled else 7 if traffic else 0))
    # Day 5's labels come through a broken join: some are wrong.
    mislabel = random.Random(day * 1000 + 99) if day == 5 and not traffic else None
    drifted = day >= 4
    out = []
    for _ in range(TRAFFIC_ROWS if traffic else ROWS):
        tenure = 1 + int(rng.random() * 72)
        charges = 65.0 + 20.0 * normal(rng) + (25.0 if drifted else 0.0)
        charges = round(min(max(charges, 18.0), 200.0), 2)
        calls = int(-math.log(1.0 - rng.random()) * 1.5)
        usage = round(max(40.0 + 15.0 * normal(rng), 0.0), 1)
        t, c, s, u = (tenure - 36) / 20, (charges - 65) / 20, calls - 1.5, (usage - 40) / 15
        if drifted:
            score = -0.3 - 0.8 * t + 1.8 * c + 0.9 * s + 0.9 * u
        else:
            score = -0.5 - 1.2 * t + 0.8 * c + 0.9 * s - 0.3 * u
        churned = int(rng.random() < 1.0 / (1.0 + math.exp(-score)))
        if mislabel and mislabel.random() < 0.3:
            churned = 1 - churned
        out.append((tenure, charges, calls, usage, churned))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="where to write the day's file")
    parser.add_argument("--day", type=int, required=True, help="the day, 1..99")
    parser.add_argument("--traffic", action="store_true", help="the day's live rows (no label) instead")
    parser.add_argument(
        "--labelled", action="store_true", help="live rows with their outcome instead"
    )
    parser.add_argument(
        "--fixed", action="store_true", help="day 6 or 8 without the upstream's bug"
    )
    args = parser.parse_args()
    if not 1 <= args.day <= 99:
        sys.exit("--day must lie in 1..99")
    if args.traffic and args.labelled:
        sys.exit("give one of --traffic and --labelled")
    live = args.traffic or args.labelled
    broken = args.day == 6 and not live and not args.fixed
    megabytes = args.day == 8 and not live and not args.fixed
    kind = "traffic" if args.traffic else "labelled" if args.labelled else "day"
    name = f"{kind}-{args.day:02}.csv"
    date = f"2026-03-{args.day:02}"
    label = "" if args.traffic else ",churned"
    lines = [f"date,tenure,monthly_charges,support_calls,usage_gb{label}"]
    for tenure, charges, calls, usage, churned in rows(args.day, live, args.labelled):
        calls = "" if broken else calls
        usage = round(usage * 1024, 1) if megabytes else usage
        y = "" if args.traffic else f",{churned}"
        lines.append(f"{date},{tenure},{charges},{calls},{usage}{y}")
    # Written under a hidden name, then renamed: a watcher never reads half a file.
    path = f"{args.dir}/{name}"
    tmp = f"{args.dir}/.{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    print(path)


if __name__ == "__main__":
    main()
