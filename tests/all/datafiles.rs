//! Issue 23, point 3: the data files people have. Parquet written by pandas
//! with timestamp, date, category and decimal columns, and CSV as R (with
//! Excel's byte order mark and CRLF) and DuckDB write it, each train end to
//! end; read options that are wrong, and values that are not what the
//! options say, are named. The files are in tests/data/pandas (see
//! make.py there).

use crate::support::*;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/data/pandas").join(name)
}

/// A churn pipeline in `dir` over `data`, the dataset given `keys` too:
/// drop the id and note, one-hot the plan, impute, standardize, logistic
/// regression, holdout evaluation.
fn churn_pipeline(dir: &Path, name: &str, data: &Path, keys: &str) -> PathBuf {
    let text = format!(
        r#"[pipeline]
name = "{name}"
version = "1"
seed = 1
plugin_dirs = [{plugins:?}]

[datasets.churn]
path = {data:?}
target = "churned"
{keys}

[datasets.churn.split]
holdout = 0.25
seed = 3
stratify = true

[[steps]]
id = "drop"
plugin = "select-columns"
input = "churn"
params = {{ drop = "customer_id,note" }}

[[steps]]
id = "encode"
plugin = "one-hot"
input = "drop"
params = {{ columns = "plan" }}

[[steps]]
id = "impute"
plugin = "impute"
input = "encode"
params = {{ strategy = "median" }}

[[steps]]
id = "scale"
plugin = "standardize"
input = "impute"

[[steps]]
id = "train"
plugin = "logreg"
input = "scale"

[[steps]]
id = "evaluate"
plugin = "holdout-eval"
input = "scale"
model = "train"
params = {{ target = "churned", positive = "1" }}
"#,
        plugins = plugin_dir().display().to_string(),
        data = data.display().to_string(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `sluice run --json` of `pipeline` in `home`: the report.
fn run(home: &Path, pipeline: &Path) -> (std::process::Output, serde_json::Value) {
    let out = sluice(home)
        .args(["run", "--json"])
        .arg(pipeline)
        .output()
        .unwrap();
    let report = json(&out);
    (out, report)
}

/// The dataset step's train and holdout parts as stored, joined, with
/// text columns as Utf8 (pandas writes large strings).
fn dataset_rows(home: &Path, report: &serde_json::Value) -> RecordBatch {
    let step = &report["steps"][0];
    assert_eq!(step["id"], "dataset:churn", "{report}");
    assert_eq!(step["status"], "succeeded", "{report}");
    let parts: Vec<RecordBatch> = ["train", "holdout"]
        .iter()
        .map(|part| stored_table(home, step["outputs"][part].as_str().unwrap()))
        .collect();
    let batch = arrow::compute::concat_batches(&parts[0].schema(), &parts).unwrap();
    let columns: Vec<(String, ArrayRef)> = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            let c = match c.data_type() {
                DataType::LargeUtf8 => arrow::compute::cast(c, &DataType::Utf8).unwrap(),
                _ => c.clone(),
            };
            (f.name().clone(), c)
        })
        .collect();
    RecordBatch::try_from_iter(columns).unwrap()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", batch.schema()))
}

fn ints(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    column(batch, name)
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

/// The whole pipeline ran, and the model was evaluated on the holdout.
fn trained(out: std::process::Output, report: &serde_json::Value, what: &str) {
    succeeded(out, what);
    let evaluate = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "evaluate")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(evaluate["status"], "succeeded", "{what}: {report}");
    assert!(
        evaluate["metrics"]["accuracy"].as_f64().unwrap() > 0.5,
        "{what}: {report}"
    );
}

/// Issue 23, point 3: the Parquet file pandas writes with a timestamp, a
/// time-zone-aware timestamp, a date, a category and a decimal column
/// trains end to end: the times reach plugins as seconds since 1970 UTC
/// (rounded down), the category as its text, the decimal as the nearest
/// f64.
#[test]
fn issue_23_pandas_parquet_with_times_categories_and_decimals_trains() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("churn.parquet");
    let p = churn_pipeline(dir.path(), "pandas", &data, "");
    let (out, report) = run(home.path(), &p);
    trained(out, &report, "a run over pandas' Parquet");
    let rows = dataset_rows(home.path(), &report);

    // What pandas wrote, read as it is.
    let raw = sluice::data::read_table(&data).unwrap();
    let schema = raw.schema();
    let kind = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert!(matches!(kind("signup"), DataType::Timestamp(_, None)));
    assert!(matches!(kind("last_seen"), DataType::Timestamp(_, Some(_))));
    assert_eq!(kind("birth"), DataType::Date32);
    assert!(matches!(kind("plan"), DataType::Dictionary(_, _)));
    assert!(matches!(kind("monthly"), DataType::Decimal128(_, _)));

    // The same rows, by id, with the types plugins receive.
    let ids = |b: &RecordBatch| -> Vec<String> {
        let c = arrow::compute::cast(column(b, "customer_id"), &DataType::Utf8).unwrap();
        c.as_string::<i32>()
            .iter()
            .map(|s| s.unwrap().to_owned())
            .collect()
    };
    let raw_ids = ids(&raw);
    let order: Vec<usize> = ids(&rows)
        .iter()
        .map(|id| raw_ids.iter().position(|r| r == id).unwrap())
        .collect();
    assert_eq!(order.len(), raw.num_rows());
    let seconds = |name: &str| -> Vec<Option<i64>> {
        let per_second = match kind(name) {
            DataType::Timestamp(unit, _) => match unit {
                arrow::datatypes::TimeUnit::Second => 1,
                arrow::datatypes::TimeUnit::Millisecond => 1_000,
                arrow::datatypes::TimeUnit::Microsecond => 1_000_000,
                arrow::datatypes::TimeUnit::Nanosecond => 1_000_000_000,
            },
            other => panic!("{other}"),
        };
        let ticks = arrow::compute::cast(column(&raw, name), &DataType::Int64).unwrap();
        let ticks = ticks.as_primitive::<Int64Type>();
        order
            .iter()
            .map(|&i| Some(ticks.value(i).div_euclid(per_second)))
            .collect()
    };
    for name in ["signup", "last_seen"] {
        assert_eq!(ints(&rows, name), seconds(name), "{name}");
    }
    let days = column(&raw, "birth").as_primitive::<arrow::datatypes::Date32Type>();
    let birth: Vec<Option<i64>> = order
        .iter()
        .map(|&i| Some(i64::from(days.value(i)) * 86_400))
        .collect();
    assert_eq!(ints(&rows, "birth"), birth);
    let plan = arrow::compute::cast(column(&raw, "plan"), &DataType::Utf8).unwrap();
    assert_eq!(column(&rows, "plan").data_type(), &DataType::Utf8);
    for (row, &i) in order.iter().enumerate() {
        assert_eq!(
            column(&rows, "plan").as_string::<i32>().value(row),
            plan.as_string::<i32>().value(i)
        );
    }
    let (DataType::Decimal128(_, scale), decimals) = (
        kind("monthly"),
        column(&raw, "monthly").as_primitive::<arrow::datatypes::Decimal128Type>(),
    ) else {
        unreachable!()
    };
    let monthly = column(&rows, "monthly").as_primitive::<Float64Type>();
    for (row, &i) in order.iter().enumerate() {
        let want = decimals.value(i) as f64 / 10f64.powi(i32::from(scale));
        assert_eq!(monthly.value(row), want, "row {row}");
    }
    // A nullable integer column (pandas' Int64) keeps its nulls.
    assert!(column(&rows, "tenure").null_count() > 0);
}

/// Issue 23, point 3: CSV as DuckDB writes it and as R writes it for
/// Excel (byte order mark, CRLF, `;`, quoted text holding `;`, quotes and
/// a line end, `NA`) train end to end with `parse_dates`, `dtypes` and
/// `delimiter`, and read the same rows as pandas' Parquet file: the ids
/// keep their leading zeros, the times the same instants.
#[test]
fn issue_23_duckdb_and_r_csv_read_like_the_parquet_and_train() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = run(
        home.path(),
        &churn_pipeline(dir.path(), "parquet", &fixture("churn.parquet"), ""),
    );
    succeeded(out, "a run over pandas' Parquet");
    let parquet = dataset_rows(home.path(), &report);

    let dates = r#"parse_dates = ["signup", "last_seen", "birth"]"#;
    let keys = format!("{dates}\ndtypes = {{ customer_id = \"utf8\" }}");
    let p = churn_pipeline(dir.path(), "duckdb", &fixture("churn_duckdb.csv"), &keys);
    let (out, report) = run(home.path(), &p);
    trained(out, &report, "a run over DuckDB's CSV");
    let duckdb = dataset_rows(home.path(), &report);
    assert_eq!(duckdb.schema(), parquet.schema());
    for (name, (a, b)) in parquet
        .schema()
        .fields()
        .iter()
        .map(|f| f.name())
        .zip(parquet.columns().iter().zip(duckdb.columns()))
    {
        assert_eq!(a.as_ref(), b.as_ref(), "column {name}");
    }
    assert_eq!(
        column(&duckdb, "customer_id")
            .as_string::<i32>()
            .value(0)
            .len(),
        5
    );

    let keys = format!(
        "{dates}\ndelimiter = \";\"\ntime_unit = \"ms\"\n\
         dtypes = {{ customer_id = \"utf8\", signup = \"f64\" }}"
    );
    let p = churn_pipeline(dir.path(), "r", &fixture("churn_r.csv"), &keys);
    let (out, report) = run(home.path(), &p);
    trained(out, &report, "a run over R's CSV");
    let r = dataset_rows(home.path(), &report);
    assert_eq!(r.num_rows(), parquet.num_rows());
    for name in ["customer_id", "plan", "monthly", "tenure", "churned"] {
        assert_eq!(
            column(&r, name).as_ref(),
            column(&parquet, name).as_ref(),
            "{name}"
        );
    }
    // The note with `;`, `"` and a line end, and NA as missing.
    let note = column(&r, "note").as_string::<i32>();
    assert!(note.iter().any(|n| n == Some("said \"hi\"; then\nleft")));
    assert_eq!(note.null_count(), column(&parquet, "note").null_count());
    // Milliseconds, and for `signup` as f64.
    let ms: Vec<Option<i64>> = ints(&parquet, "birth")
        .iter()
        .map(|s| s.map(|s| s * 1000))
        .collect();
    assert_eq!(ints(&r, "birth"), ms);
    let signup: Vec<Option<f64>> = column(&r, "signup")
        .as_primitive::<Float64Type>()
        .iter()
        .collect();
    let want: Vec<Option<f64>> = ints(&parquet, "signup")
        .iter()
        .map(|s| s.map(|s| (s * 1000) as f64))
        .collect();
    assert_eq!(signup, want);
}

/// Read options that are wrong fail the run before it starts, each named
/// with its dataset; a `parse_dates` value that is not a time fails the
/// dataset step naming the file, the line and the column; a column of a
/// type no cast reaches names the dataset, the column and the type.
#[test]
fn issue_23_bad_read_options_and_values_are_named() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = "dtypes = { monthly = \"decimal\" }\ndelimiter = \";;\"\nencoding = \"utf-16\"";
    let p = churn_pipeline(dir.path(), "bad", &fixture("churn_duckdb.csv"), keys);
    let out = sluice(home.path()).arg("run").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "dataset 'churn': dtypes: column `monthly`: \"decimal\" is not a type: use \"f64\"",
        "dataset 'churn': `delimiter = \";;\"` must be one ASCII character",
        "dataset 'churn': `encoding = \"utf-16\"` (UTF-16LE) is not read",
    ] {
        assert!(err.contains(needle), "{needle}\n{err}");
    }

    // A date that is not one, on the line of customer 00003.
    let text = std::fs::read_to_string(fixture("churn_duckdb.csv")).unwrap();
    let at = text.find("\n00003,").unwrap() + 1;
    let line = text[..at].matches('\n').count() + 1;
    let (row, rest) = text[at..].split_once('\n').unwrap();
    let (id, after_id) = row.split_once(',').unwrap();
    let (_, after_signup) = after_id.split_once(',').unwrap();
    let broken = format!("{}{id},31/01/2024,{after_signup}\n{rest}", &text[..at]);
    let data = dir.path().join("broken.csv");
    std::fs::write(&data, broken).unwrap();
    let keys = "parse_dates = [\"signup\"]";
    let (out, report) = run(home.path(), &churn_pipeline(dir.path(), "d", &data, keys));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let step = &report["steps"][0];
    assert_eq!(step["status"], "failed", "{report}");
    let error = step["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "`{}` line {line}, column `signup`: \"31/01/2024\" is not a date or time",
            data.display()
        )),
        "{error}"
    );

    // A Parquet column of bytes: no cast gives plugins a type for it.
    let blob: ArrayRef =
        std::sync::Arc::new(arrow::array::BinaryArray::from(vec![&b"\x00"[..], b"\x01"]));
    let churned: ArrayRef = std::sync::Arc::new(arrow::array::Int64Array::from(vec![0, 1]));
    let batch = RecordBatch::try_from_iter([("blob", blob), ("churned", churned)]).unwrap();
    let data = dir.path().join("blob.parquet");
    std::fs::write(&data, sluice::data::write_parquet(&batch).unwrap()).unwrap();
    let (out, report) = run(home.path(), &churn_pipeline(dir.path(), "b", &data, ""));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "dataset 'churn' ({}), column `blob`: its type Binary is not one plugins receive",
            data.display()
        )),
        "{error}"
    );
    // `parse_dates` naming a column the file lacks.
    let keys = "parse_dates = [\"signed_up\"]";
    let p = churn_pipeline(dir.path(), "m", &fixture("churn.parquet"), keys);
    let (out, report) = run(home.path(), &p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(
        error.contains(
            "column `signed_up`: `parse_dates` names it, but there is no such column (columns: \
             customer_id, signup,"
        ),
        "{error}"
    );
}
