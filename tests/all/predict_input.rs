//! Issue 23, point 7: `sluice predict` on the rows users have. A column the
//! pipeline drops before anything reads it need not be in the input; one
//! the chain reads is named when missing. JSON lines in and out.

use crate::support::*;
use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use std::path::Path;

/// The breast-cancer table as JSON lines: an `id` column first, without
/// the target and without the columns in `without`.
fn json_lines(path: &Path, without: &[&str]) {
    let csv = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out = String::new();
    for (id, line) in lines.enumerate() {
        let mut row = serde_json::Map::new();
        row.insert("id".into(), (1000 + id).into());
        for (name, value) in header.iter().zip(line.split(',')) {
            if *name != "benign" && !without.contains(name) {
                row.insert((*name).into(), value.parse::<f64>().unwrap().into());
            }
        }
        out += &serde_json::Value::Object(row).to_string();
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

fn read(path: &Path) -> RecordBatch {
    sluice::data::read_table(path).unwrap()
}

#[test]
fn predict_needs_only_the_columns_the_chain_reads_and_takes_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let pipeline = write_pipeline(
        dir.path(),
        "dropping",
        "[[steps]]\nid = \"drop\"\nplugin = \"select-columns\"\ninput = \"cancer\"\n\
         params = { drop = \"mean_radius,mean_texture\" }\n\n\
         [[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"drop\"\n\n\
         [[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"scale\"\nregister = \"cancer\"\n",
    );
    succeeded(
        sluice(&home).arg("run").arg(&pipeline).output().unwrap(),
        "run",
    );

    // Every raw column, as the model was trained.
    let full = dir.path().join("full.parquet");
    succeeded(
        sluice(&home)
            .args(["predict", "cancer", "--input"])
            .arg(root().join("pipelines/data/breast_cancer.csv"))
            .arg("-o")
            .arg(&full)
            .output()
            .unwrap(),
        "predict with every column",
    );
    let full = read(&full);

    // JSON lines without the two dropped columns: the same predictions,
    // the id kept in front, JSON lines out.
    let rows = dir.path().join("rows.jsonl");
    json_lines(&rows, &["mean_radius", "mean_texture"]);
    let out = dir.path().join("out.jsonl");
    succeeded(
        sluice(&home)
            .args(["predict", "cancer", "--keep", "id", "--input"])
            .arg(&rows)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap(),
        "predict without the dropped columns",
    );
    let got = read(&out);
    assert_eq!(got.schema().field(0).name(), "id");
    let ids: Vec<i64> = got.column(0).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(
        ids,
        (1000..1000 + full.num_rows() as i64).collect::<Vec<_>>()
    );
    assert_eq!(got.num_columns(), full.num_columns() + 1);
    for (i, field) in full.schema().fields().iter().enumerate() {
        let column = got.column_by_name(field.name()).unwrap();
        let column = arrow::compute::cast(column, field.data_type()).unwrap();
        assert_eq!(&column, full.column(i), "column {}", field.name());
    }

    // A column the chain reads is named; the dropped ones are not.
    let fewer = dir.path().join("fewer.jsonl");
    json_lines(&fewer, &["mean_radius", "mean_texture", "worst_area"]);
    let refused = dir.path().join("refused.csv");
    let out = sluice(&home)
        .args(["predict", "cancer", "--input"])
        .arg(&fewer)
        .arg("-o")
        .arg(&refused)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("lacks 1 feature column(s)") && err.contains("worst_area"),
        "{err}"
    );
    assert!(!err.contains("mean_radius"), "{err}");
    assert!(!refused.exists());
}
