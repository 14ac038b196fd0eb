//! Issue 22, point 2: datasets that grow. A dataset may be a directory of
//! files, read in name order and joined; its digest is the manifest of the
//! files, so a new file is a new dataset; a time window keeps the rows
//! near the newest time in the data.

use crate::support::*;
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use std::path::Path;
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;
/// 2024-01-01T00:00:00Z in milliseconds since 1970.
const JAN_1: i64 = 1_704_067_200_000;
/// Rows in each day's file.
const ROWS: i64 = 10;

/// Day `day`'s file (`day-0D.parquet` in `dir`): `ROWS` rows, with `ts`
/// in that day (milliseconds), a feature `x` and a label `y`.
fn write_day(dir: &Path, day: i64) {
    let ts = (0..ROWS).map(|i| JAN_1 + (day - 1) * DAY_MS + i * 60_000);
    let x = (0..ROWS).map(|i| (day * 100 + i) as f64);
    let y = (0..ROWS).map(|i| i % 2);
    let batch = RecordBatch::try_from_iter([
        ("ts", Arc::new(Int64Array::from_iter_values(ts)) as ArrayRef),
        ("x", Arc::new(Float64Array::from_iter_values(x))),
        ("y", Arc::new(Int64Array::from_iter_values(y))),
    ])
    .unwrap();
    let path = dir.join(format!("day-{day:02}.parquet"));
    sluice::data::write_table(&path, &batch).unwrap();
}

/// A pipeline in `dir` reading the directory `data` (`dataset` holds the
/// extra keys of `[datasets.daily]`), standardizing it.
fn pipeline(dir: &Path, data: &Path, dataset: &str) -> std::path::PathBuf {
    let _ = plugin_dir();
    let text = format!(
        "[pipeline]\nname = \"daily\"\nversion = \"1\"\nplugin_dirs = [{:?}]\n\n\
         [datasets.daily]\npath = {:?}\ntarget = \"y\"\n{dataset}\n\n\
         [[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"daily\"\n",
        plugin_dir().display().to_string(),
        data.display().to_string(),
    );
    let path = dir.join("daily.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `sluice run --json`, and its dataset step.
fn run(home: &Path, pipeline: &Path) -> (std::process::Output, serde_json::Value) {
    let out = sluice(home)
        .args(["run", "--json", "--allow-changed-version"])
        .arg(pipeline)
        .output()
        .unwrap();
    let step = if out.status.code() == Some(2) {
        serde_json::Value::Null
    } else {
        let report = json(&out);
        assert_eq!(report["steps"][0]["id"], "dataset:daily", "{report}");
        report["steps"][0].clone()
    };
    (out, step)
}

/// The inputs of the dataset step `step` of the run `out` reported, as
/// `sluice runs show` records them: name to digest, `source` first, then
/// the files by name (the order they are read in; a JSON object read back
/// here has its keys sorted).
pub fn inputs(home: &Path, out: &std::process::Output, step: &str) -> Vec<(String, String)> {
    let run_id = json(out)["run_id"].as_str().unwrap().to_owned();
    let shown = ok_json(home, &["runs", "show", &run_id, "--json"]);
    let step = shown["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == step || s["id"] == step)
        .unwrap_or_else(|| panic!("no dataset step in {shown}"))
        .clone();
    let mut inputs: Vec<(String, String)> = step["inputs"]
        .as_object()
        .unwrap_or_else(|| panic!("no inputs in {step}"))
        .iter()
        .map(|(name, digest)| (name.clone(), digest.as_str().unwrap().to_owned()))
        .collect();
    inputs.sort_by_key(|(name, _)| name != "source");
    inputs
}

/// The `source` input: the dataset's digest.
pub fn source(inputs: &[(String, String)]) -> String {
    inputs
        .iter()
        .find(|(n, _)| n == "source")
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| panic!("no source in {inputs:?}"))
}

#[test]
fn issue_22_a_new_file_in_a_dataset_directory_is_a_new_dataset() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daily");
    std::fs::create_dir(&data).unwrap();
    for day in 1..=3 {
        write_day(&data, day);
    }
    // Not the dataset's: another extension, a hidden file in progress.
    std::fs::write(data.join("notes.txt"), "not data").unwrap();
    std::fs::write(data.join(".day-04.parquet.tmp"), "half written").unwrap();
    let p = pipeline(dir.path(), &data, "files = \"*.parquet\"");

    let (out, first) = run(home.path(), &p);
    let out = succeeded(out, "first run");
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["metrics"]["rows"], 30.0, "{first}");
    assert_eq!(first["metrics"]["files"], 3.0, "{first}");
    let read = inputs(home.path(), &out, "dataset:daily");
    let names: Vec<&str> = read.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "source",
            "file:day-01.parquet",
            "file:day-02.parquet",
            "file:day-03.parquet"
        ],
        "lineage names every file read"
    );
    let day_1 = std::fs::read(data.join("day-01.parquet")).unwrap();
    assert!(
        read.contains(&(
            "file:day-01.parquet".into(),
            sluice::artifacts::ArtifactDigest::of(&day_1).to_string()
        )),
        "{read:?}"
    );

    // Nothing changed: the same digest, a cache hit.
    let (out, again) = run(home.path(), &p);
    let out = succeeded(out, "second run");
    assert_eq!(again["cached"], true, "{again}");
    assert_eq!(
        source(&inputs(home.path(), &out, "dataset:daily")),
        source(&read)
    );

    // A fourth day: a new digest, read again, its rows counted.
    write_day(&data, 4);
    let (out, grown) = run(home.path(), &p);
    let out = succeeded(out, "run after a new file");
    assert_eq!(grown["cached"], false, "{grown}");
    assert_eq!(grown["metrics"]["rows"], 40.0, "{grown}");
    assert_eq!(grown["metrics"]["files"], 4.0, "{grown}");
    let grown_inputs = inputs(home.path(), &out, "dataset:daily");
    assert_ne!(source(&grown_inputs), source(&read));
    assert!(
        grown_inputs.iter().any(|(n, _)| n == "file:day-04.parquet"),
        "{grown_inputs:?}"
    );

    // A file rewritten: another digest; removed: the three days' again.
    let mut text = RecordBatch::try_from_iter([
        ("ts", Arc::new(Int64Array::from(vec![JAN_1])) as ArrayRef),
        ("x", Arc::new(Float64Array::from(vec![0.5]))),
        ("y", Arc::new(Int64Array::from(vec![1]))),
    ])
    .unwrap();
    sluice::data::write_table(&data.join("day-02.parquet"), &text).unwrap();
    let (out, changed) = run(home.path(), &p);
    succeeded(out, "run after a changed file");
    assert_eq!(changed["cached"], false, "{changed}");
    assert_eq!(changed["metrics"]["rows"], 31.0, "{changed}");
    write_day(&data, 2);
    std::fs::remove_file(data.join("day-04.parquet")).unwrap();
    let (out, back) = run(home.path(), &p);
    let out = succeeded(out, "run after removing a file");
    assert_eq!(back["cached"], true, "the first three days again: {back}");
    assert_eq!(
        source(&inputs(home.path(), &out, "dataset:daily")),
        source(&read)
    );

    // A file whose column `x` is text: named, with the column.
    text = RecordBatch::try_from_iter([
        ("ts", Arc::new(Int64Array::from(vec![JAN_1])) as ArrayRef),
        ("x", Arc::new(StringArray::from(vec!["high"]))),
        ("y", Arc::new(Int64Array::from(vec![1]))),
    ])
    .unwrap();
    sluice::data::write_table(&data.join("day-05.parquet"), &text).unwrap();
    let (out, mismatched) = run(home.path(), &p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(mismatched["status"], "failed", "{mismatched}");
    let error = mismatched["error"].as_str().unwrap();
    assert!(
        error.contains(&data.join("day-05.parquet").display().to_string())
            && error.contains("column `x`")
            && error.contains("Utf8"),
        "{error}"
    );
}

#[test]
fn issue_22_a_window_keeps_the_days_before_the_newest() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daily");
    std::fs::create_dir(&data).unwrap();
    for day in 1..=4 {
        write_day(&data, day);
    }
    let p = pipeline(
        dir.path(),
        &data,
        "window = \"2d\"\ntime_column = \"ts\"\ntime_unit = \"ms\"",
    );
    let (out, step) = run(home.path(), &p);
    succeeded(out, "windowed run");
    // Days 3 and 4: two days back from the newest row (day 4, 00:09),
    // not from today, whose window holds none of 2024's rows.
    assert_eq!(step["metrics"]["rows"], 20.0, "{step}");
    assert_eq!(step["metrics"]["rows_outside_window"], 20.0, "{step}");

    // A fifth day moves the window on.
    write_day(&data, 5);
    let (out, step) = run(home.path(), &p);
    succeeded(out, "windowed run after a new day");
    assert_eq!(step["cached"], false, "{step}");
    assert_eq!(step["metrics"]["rows"], 20.0, "{step}");
    assert_eq!(step["metrics"]["rows_outside_window"], 30.0, "{step}");

    // Integers without a unit are not times.
    let p = pipeline(dir.path(), &data, "window = \"2d\"\ntime_column = \"ts\"");
    let (out, step) = run(home.path(), &p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = step["error"].as_str().unwrap();
    assert!(
        error.contains("time column `ts`") && error.contains("time_unit"),
        "{error}"
    );
}

#[test]
fn issue_22_a_directory_without_matching_files_is_named() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("empty");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("day-01.csv"), "x,y\n1,0\n").unwrap();
    let p = pipeline(dir.path(), &data, "files = \"*.parquet\"");
    let (out, _) = run(home.path(), &p);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "directory {} has no file matching \"*.parquet\"",
            data.display()
        )),
        "{err}"
    );
    // `files` on a file, and a window without its column, are named too.
    let file = pipeline(dir.path(), &data.join("day-01.csv"), "files = \"*.csv\"");
    let (out, _) = run(home.path(), &file);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("`files` picks files of a directory"));
    let no_column = pipeline(dir.path(), &data.join("day-01.csv"), "window = \"2d\"");
    let (out, _) = run(home.path(), &no_column);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`window` without `time_column` keeps the newest files"),
        "{err}"
    );
}

/// `window` without `time_column` keeps a directory's files modified
/// less than the span before the newest one (their dates set here, far
/// from the clock), and moves on when a newer file arrives.
#[test]
fn issue_22_a_window_by_file_date_keeps_the_newest_files() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daily");
    std::fs::create_dir(&data).unwrap();
    let date = |day: i64| {
        let path = data.join(format!("day-{day:02}.parquet"));
        let at =
            std::time::UNIX_EPOCH + std::time::Duration::from_millis((JAN_1 + day * DAY_MS) as u64);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    };
    for day in 1..=4 {
        write_day(&data, day);
        date(day);
    }
    let p = pipeline(dir.path(), &data, "window = \"2d\"");
    let (out, step) = run(home.path(), &p);
    let out = succeeded(out, "windowed by file date");
    assert_eq!(step["metrics"]["files"], 2.0, "{step}");
    assert_eq!(step["metrics"]["files_outside_window"], 2.0, "{step}");
    let read = inputs(home.path(), &out, "dataset:daily");
    let names: Vec<&str> = read.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["source", "file:day-03.parquet", "file:day-04.parquet"]
    );

    write_day(&data, 5);
    date(5);
    let (out, step) = run(home.path(), &p);
    let out = succeeded(out, "windowed by file date after a new day");
    assert_eq!(step["cached"], false, "{step}");
    let read = inputs(home.path(), &out, "dataset:daily");
    let names: Vec<&str> = read.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["source", "file:day-04.parquet", "file:day-05.parquet"]
    );
}

/// A tenant reads a directory's files only from its `allowed_dirs`, each
/// file by where it really is: a symlink out of the directory is refused.
#[test]
fn issue_22_a_directory_file_outside_the_tenants_dirs_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let data = dir.path().join("daily");
    std::fs::create_dir(&data).unwrap();
    write_day(&data, 1);
    write_day(outside.path(), 2);
    std::os::unix::fs::symlink(
        outside.path().join("day-02.parquet"),
        data.join("day-02.parquet"),
    )
    .unwrap();
    let p = pipeline(dir.path(), &data, "");
    let real = dir.path().canonicalize().unwrap();
    succeeded(
        sluice(home.path())
            .args(["tenants", "create", "acme"])
            .arg(format!("allowed_dirs={}", real.display()))
            .output()
            .unwrap(),
        "tenants create",
    );
    let out = sluice(home.path())
        .args(["--tenant", "acme", "run"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out) + &stdout(&out);
    assert!(
        err.contains("day-02.parquet") && err.contains("allowed_dirs"),
        "{err}"
    );
}
