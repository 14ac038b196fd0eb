"""Writes the data files of tests/all/datafiles.rs: one small churn-like
table (seeded, made up) as pandas and R users write it.

    ~/.cache/sluice-tools/nannyml/bin/python tests/data/pandas/make.py

(any Python with pandas and pyarrow; the committed files were written by
pandas 3.1.1 and pyarrow 26.0.1). The same rows go into every file:

- churn.parquet: `DataFrame.to_parquet` (pyarrow), with a timestamp
  (datetime64, no time zone), a time-zone-aware timestamp, a date
  (`datetime.date` objects, Arrow date32), a category (Arrow dictionary)
  and a decimal (`decimal.Decimal` objects, Arrow decimal128) column.
- churn_r.csv: as R's `write.csv` and Excel on Windows write it: a UTF-8
  byte order mark, CRLF line ends, `;` between fields, text quoted (a note
  holds `;`, `"` and a line end), `NA` for missing, the ids with leading
  zeros.
- churn_duckdb.csv: as DuckDB's `COPY ... TO 'f.csv'` writes it: `,`,
  nothing quoted that need not be, an empty field for missing, timestamps
  as `2024-01-31 12:00:00`.
"""

import csv
import datetime as dt
import decimal
import pathlib
import random
import re

import pandas as pd
import pyarrow.parquet as pq

HERE = pathlib.Path(__file__).parent
ROWS = 80
rng = random.Random(23)

plans = ["basic", "plus", "pro"]
rows = []
start = dt.datetime(2023, 1, 1, 8, 30)
for i in range(ROWS):
    plan = plans[i % 3]
    tenure = rng.randint(1, 48)
    monthly = decimal.Decimal(rng.randint(999, 8999)) / 100
    signup = start + dt.timedelta(days=rng.randint(0, 700), seconds=rng.randint(0, 86399))
    last_seen = signup + dt.timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 600))
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20000))
    score = 2.0 - tenure / 12 + float(monthly) / 40 + (0.8 if plan == "basic" else 0)
    churned = 1 if score + rng.gauss(0, 0.6) > 1.0 else 0
    rows.append(
        {
            "customer_id": f"{i:05d}",
            "signup": signup,
            "last_seen": last_seen,
            "birth": birth,
            "plan": plan,
            "monthly": monthly,
            "tenure": tenure if i % 17 else None,
            "note": 'said "hi"; then\nleft' if i % 29 == 0 else ("" if i % 7 == 0 else "ok"),
            "churned": churned,
        }
    )

df = pd.DataFrame(rows)
df["signup"] = pd.to_datetime(df["signup"]).astype("datetime64[us]")
df["last_seen"] = pd.to_datetime(df["last_seen"]).dt.tz_localize("UTC").dt.tz_convert(
    "Europe/Paris"
)
df["plan"] = df["plan"].astype("category")
df["tenure"] = df["tenure"].astype("Int64")
df["note"] = df["note"].replace("", None)
df.to_parquet(HERE / "churn.parquet", engine="pyarrow", index=False)

# Check the types are the ones the tests are about.
schema = pq.read_schema(HERE / "churn.parquet")
kinds = {f.name: str(f.type) for f in schema}
assert kinds["signup"].startswith("timestamp["), kinds
assert "tz=Europe/Paris" in kinds["last_seen"], kinds
assert kinds["birth"] == "date32[day]", kinds
assert kinds["plan"].startswith("dictionary<"), kinds
assert kinds["monthly"].startswith("decimal128("), kinds

text = df.copy()
text["signup"] = text["signup"].dt.strftime("%Y-%m-%d %H:%M:%S")
text["last_seen"] = text["last_seen"].map(lambda t: t.isoformat())
text["birth"] = text["birth"].map(lambda d: d.isoformat())
r_csv = text.to_csv(
    sep=";",
    index=False,
    quoting=csv.QUOTE_NONNUMERIC,
    na_rep="NA",
    lineterminator="\r\n",
)
# R quotes text but not NA.
r_csv = re.sub(r'(?<=[;\n])"NA"(?=;|\r\n)', "NA", r_csv)
(HERE / "churn_r.csv").write_bytes(b"\xef\xbb\xbf" + r_csv.encode())
text.to_csv(HERE / "churn_duckdb.csv", index=False, na_rep="", lineterminator="\n")
print("wrote", ", ".join(p.name for p in sorted(HERE.glob("churn*"))))
