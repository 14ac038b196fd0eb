//! Reading datasets: CSV values that are not what their column holds,
//! damaged Parquet pages, files larger than a tenant may read.

use crate::support::*;
use std::path::{Path, PathBuf};

/// The example's breast cancer CSV, written to `dir/name` with the
/// `mean_radius` (first) field of some lines replaced: `(line, value)`,
/// line 1 being the header.
fn cancer_with(dir: &Path, name: &str, fields: &[(usize, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (line, value) in fields {
        let row = &mut lines[line - 1];
        let rest = row.split_once(',').unwrap().1.to_owned();
        *row = format!("{value},{rest}");
    }
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// `sluice run --json` of `pipeline` in `home`.
fn run(home: &Path, pipeline: &Path) -> std::process::Output {
    sluice(home)
        .args(["run", "--json"])
        .arg(pipeline)
        .output()
        .unwrap()
}

/// The error of the run's dataset step, which must have failed.
fn dataset_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    let report = json(out);
    let step = &report["steps"][0];
    assert_eq!(step["id"], "dataset:cancer", "{report}");
    assert_eq!(step["status"], "failed", "{report}");
    step["error"].as_str().unwrap().to_owned()
}

/// The `mean_radius` column of a run's dataset, train and holdout parts
/// read back from the store of `home` and joined.
fn radius(home: &Path, report: &serde_json::Value) -> arrow::array::ArrayRef {
    let step = &report["steps"][0];
    assert_eq!(step["status"], "succeeded", "{report}");
    let parts: Vec<arrow::array::ArrayRef> = ["train", "holdout"]
        .iter()
        .map(|part| {
            let digest = step["outputs"][part].as_str().unwrap();
            let out = sluice(home)
                .args(["artifacts", "get", digest, "-o", "-"])
                .output()
                .unwrap();
            let batch = sluice::data::read_parquet(&succeeded(out, "artifacts get").stdout);
            batch
                .unwrap()
                .column_by_name("mean_radius")
                .unwrap()
                .clone()
        })
        .collect();
    let parts: Vec<&dyn arrow::array::Array> = parts.iter().map(|a| a.as_ref()).collect();
    arrow::compute::concat(&parts).unwrap()
}

/// Issue 18, point 15: `NaN`, `nan`, `NA`, `N/A`, an empty field and the
/// infinities leave a CSV number column numeric (the first five missing,
/// as pandas reads them, the infinities infinite).
#[test]
fn nan_na_and_inf_in_a_csv_number_column_keep_it_numeric() {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type};
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = ["NaN", "nan", "NA", "", "N/A"];
    let fields: Vec<(usize, &str)> = missing
        .iter()
        .enumerate()
        .map(|(i, t)| (i + 2, *t))
        .collect();
    let data = cancer_with(dir.path(), "tokens.csv", &fields);
    let out = run(home.path(), &pipeline_reading(dir.path(), "tokens", &data));
    let report = json(&succeeded(
        out,
        "a run over NaN, nan, NA, N/A and an empty field",
    ));
    let column = radius(home.path(), &report);
    assert_eq!(column.data_type(), &DataType::Float64);
    assert_eq!(column.null_count(), missing.len());
    for token in ["inf", "-inf", "Infinity"] {
        let data = cancer_with(dir.path(), "inf.csv", &[(2, token)]);
        let p = pipeline_reading(dir.path(), "inf", &data);
        // What standardize makes of an infinity is its own affair: the
        // dataset step reads it as a number.
        let column = radius(home.path(), &json(&run(home.path(), &p)));
        let values = column.as_primitive::<Float64Type>();
        let infinite: Vec<f64> = values
            .iter()
            .flatten()
            .filter(|v| v.is_infinite())
            .collect();
        let want = if token.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        assert_eq!(infinite, [want], "{token}");
    }
}

/// Issue 18, point 15: a number column with a stray string, or with a
/// literal beyond f64 (`1e999`), fails the dataset step naming the file,
/// the line, the column and the value, instead of becoming text (or
/// infinity) and failing later with no line or value.
#[test]
fn a_stray_string_or_1e999_in_a_csv_number_column_fails_the_dataset_step() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (value, problem) in [
        (
            "oops",
            "\"oops\" is not a number, but 568 of the column's 569 values are",
        ),
        ("1e999", "\"1e999\" is beyond the range of a 64-bit float"),
    ] {
        let data = cancer_with(dir.path(), "stray.csv", &[(10, value)]);
        let out = run(home.path(), &pipeline_reading(dir.path(), "stray", &data));
        let err = dataset_error(&out);
        let want = format!(
            "`{}` line 10, column `mean_radius`: {problem}",
            data.display()
        );
        assert!(err.starts_with(&want), "{value}: {err}");
    }
}
