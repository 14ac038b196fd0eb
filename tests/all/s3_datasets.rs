//! Issue 22, points 1 and 2: a dataset on an S3 prefix, read from the
//! Garage server the S3 tests share (`crate::s3::garage`), behaves as a
//! directory does (the same manifest digest for the same files, lineage,
//! caching, errors naming the object); a window by the objects' dates; an
//! `on_new_data` trigger that fires once on a new object.

use crate::dataset_dirs::{inputs, source};
use crate::s3::{Garage, garage};
use crate::support::*;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A client of the test bucket, built in this process.
fn bucket(g: &Garage) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(g.var("AWS_ENDPOINT"))
        .with_region(g.var("AWS_REGION"))
        .with_access_key_id(g.var("AWS_ACCESS_KEY_ID"))
        .with_secret_access_key(g.var("AWS_SECRET_ACCESS_KEY"))
        .with_allow_http(true)
        .with_bucket_name(g.bucket())
        .build()
        .expect("an S3 client for garage")
}

/// A fresh prefix of the test bucket: its key prefix and its URL.
fn fresh_prefix(g: &Garage) -> (String, String) {
    let prefix = format!("datasets/{}", uuid::Uuid::new_v4());
    let url = format!("s3://{}/{prefix}/", g.bucket());
    (prefix, url)
}

/// Put `bytes` at `key` in the test bucket.
fn put(g: &Garage, key: &str, bytes: &[u8]) {
    block_on(bucket(g).put(&ObjectPath::from(key), bytes.to_vec().into()))
        .unwrap_or_else(|e| panic!("putting {key}: {e}"));
}

/// Day `day`'s CSV (as the trigger tests write it), in `dir` and at
/// `prefix` in the bucket.
fn put_day(g: &Garage, dir: &Path, prefix: &str, day: u64) {
    crate::triggers::write_day(dir, day);
    let name = format!("day-{day:02}.csv");
    put(
        g,
        &format!("{prefix}/{name}"),
        &std::fs::read(dir.join(&name)).unwrap(),
    );
}

/// A pipeline `daily` in `dir` training a logistic regression on the
/// dataset `days` at `path` (`more`: its extra keys, then anything after).
fn pipeline(dir: &Path, path: &str, more: &str) -> std::path::PathBuf {
    let _ = plugin_dir();
    let text = format!(
        "[pipeline]\nname = \"daily\"\nversion = \"1\"\nseed = 1\nplugin_dirs = [{:?}]\n\n\
         [datasets.days]\npath = {path:?}\ntarget = \"y\"\n{more}\n\n\
         [[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"days\"\n",
        plugin_dir().display().to_string(),
    );
    let path = dir.join("daily.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `sluice run --json` against Garage: the output and the dataset step.
fn run(g: &Garage, home: &Path, pipeline: &Path) -> (std::process::Output, Value) {
    let out = g
        .sluice(home)
        .args(["run", "--json", "--allow-changed-version"])
        .arg(pipeline)
        .output()
        .unwrap();
    let step = if out.status.code() == Some(2) {
        Value::Null
    } else {
        let report = json(&out);
        assert_eq!(report["steps"][0]["id"], "dataset:days", "{report}");
        report["steps"][0].clone()
    };
    (out, step)
}

/// A fresh home, a directory for pipeline files, its `days` directory
/// and a fresh prefix (its key prefix and URL), both holding days 1 and 2.
fn two_days(
    g: &Garage,
) -> (
    tempfile::TempDir,
    tempfile::TempDir,
    std::path::PathBuf,
    String,
    String,
) {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("days");
    let (prefix, url) = fresh_prefix(g);
    put_day(g, &local, &prefix, 1);
    put_day(g, &local, &prefix, 2);
    (home, dir, local, prefix, url)
}

fn names(read: &[(String, String)]) -> Vec<&str> {
    read.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn issue_22_a_pipeline_on_an_s3_prefix_trains_is_cached_and_sees_new_objects() {
    let g = garage();
    let (home, dir, local, prefix, url) = two_days(g);
    // Not the dataset's: another extension, a hidden object, an object
    // under a deeper `/`.
    put(g, &format!("{prefix}/notes.txt"), b"not data");
    put(g, &format!("{prefix}/.day-03.csv"), b"x1,x2,y\n");
    put(g, &format!("{prefix}/old/day-00.csv"), b"x1,x2,y\n1,2,0\n");
    let p = pipeline(dir.path(), &url, "files = \"*.csv\"");

    let (out, first) = run(g, home.path(), &p);
    let out = succeeded(out, "first run on S3");
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["metrics"]["files"], 2.0, "{first}");
    assert_eq!(first["metrics"]["rows"], 400.0, "{first}");
    let report = json(&out);
    assert_eq!(
        report["steps"][1]["status"], "succeeded",
        "trained: {report}"
    );
    let read = inputs_of(home.path(), &out);
    assert_eq!(
        names(&read),
        ["source", "file:day-01.csv", "file:day-02.csv"],
        "lineage names every object read"
    );
    let day_1 = std::fs::read(local.join("day-01.csv")).unwrap();
    assert!(
        read.contains(&(
            "file:day-01.csv".into(),
            sluice::artifacts::ArtifactDigest::of(&day_1).to_string()
        )),
        "the digest of the bytes: {read:?}"
    );

    // The same files in a directory: the same manifest, the same digest.
    let beside = dir.path().join("local");
    std::fs::create_dir(&beside).unwrap();
    let local_p = pipeline(&beside, &local.display().to_string(), "files = \"*.csv\"");
    let (out, from_dir) = run(g, home.path(), &local_p);
    let out = succeeded(out, "the same files from a directory");
    assert_eq!(from_dir["cached"], true, "{from_dir}");
    assert_eq!(source(&inputs_of(home.path(), &out)), source(&read));

    // Nothing changed: a cache hit.
    let (out, again) = run(g, home.path(), &p);
    let out = succeeded(out, "second run on S3");
    assert_eq!(again["cached"], true, "{again}");
    assert_eq!(source(&inputs_of(home.path(), &out)), source(&read));

    // A new object: a new digest, read again.
    put_day(g, &local, &prefix, 3);
    let (out, grown) = run(g, home.path(), &p);
    let out = succeeded(out, "run after a new object");
    assert_eq!(grown["cached"], false, "{grown}");
    assert_eq!(grown["metrics"]["files"], 3.0, "{grown}");
    let grown_read = inputs_of(home.path(), &out);
    assert_ne!(source(&grown_read), source(&read));
    assert!(
        names(&grown_read).contains(&"file:day-03.csv"),
        "{grown_read:?}"
    );

    // An object rewritten with other bytes: another digest.
    put(
        g,
        &format!("{prefix}/day-01.csv"),
        b"x1,x2,y\n0.5,0.5,1\n0.1,0.2,0\n",
    );
    let (out, changed) = run(g, home.path(), &p);
    let out = succeeded(out, "run after a changed object");
    assert_eq!(changed["cached"], false, "{changed}");
    assert_eq!(changed["metrics"]["rows"], 402.0, "{changed}");
    assert_ne!(source(&inputs_of(home.path(), &out)), source(&grown_read));

    // An object that is not what its name says: named by its URL.
    put(g, &format!("{prefix}/day-04.csv"), b"x1,x2,y\n1,2\n\"open");
    let (out, broken) = run(g, home.path(), &p);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = broken["error"].as_str().unwrap();
    assert!(error.contains(&format!("{url}day-04.csv")), "{error}");
}

/// `sluice runs show`'s inputs of the dataset step `dataset:days`.
fn inputs_of(home: &Path, out: &std::process::Output) -> Vec<(String, String)> {
    inputs(home, out, "dataset:days")
}

#[test]
fn issue_22_a_window_by_object_date_keeps_the_newest_objects() {
    let g = garage();
    let (home, dir, local, prefix, url) = two_days(g);
    // The server's dates, to the second at least: well apart.
    std::thread::sleep(Duration::from_millis(3500));
    put_day(g, &local, &prefix, 3);
    put_day(g, &local, &prefix, 4);
    let p = pipeline(dir.path(), &url, "window = \"3s\"");
    let (out, step) = run(g, home.path(), &p);
    let out = succeeded(out, "windowed by date");
    assert_eq!(step["metrics"]["files"], 2.0, "{step}");
    assert_eq!(step["metrics"]["files_outside_window"], 2.0, "{step}");
    assert_eq!(step["metrics"]["rows"], 400.0, "{step}");
    let read = inputs_of(home.path(), &out);
    assert_eq!(
        names(&read),
        ["source", "file:day-03.csv", "file:day-04.csv"],
        "the two newest objects"
    );
}

#[test]
fn issue_22_an_s3_dataset_that_cannot_be_read_is_refused_naming_why() {
    let g = garage();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let refused = |p: &Path, run: Run| {
        let out = run
            .args(["run", "--json", "--allow-changed-version"])
            .arg(p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        stderr(&out)
    };

    let missing = pipeline(dir.path(), "s3://no-such-bucket-sluice/days/", "");
    let err = refused(&missing, g.sluice(home.path()));
    assert!(
        err.contains("dataset 'days'")
            && err.contains("bucket `no-such-bucket-sluice` does not exist"),
        "{err}"
    );

    let (prefix, url) = fresh_prefix(g);
    put(g, &format!("{prefix}/day-01.csv"), b"x1,x2,y\n1,2,0\n");
    let parquet = pipeline(dir.path(), &url, "files = \"*.parquet\"");
    let err = refused(&parquet, g.sluice(home.path()));
    assert!(
        err.contains(&format!("{url} has no object matching \"*.parquet\"")),
        "{err}"
    );

    // No credentials: said at once, not a wait on an instance role.
    let csv = pipeline(dir.path(), &url, "");
    let mut no_keys = g.sluice(home.path());
    no_keys.0.env_remove("AWS_ACCESS_KEY_ID");
    let err = refused(&csv, no_keys);
    assert!(err.contains("no S3 credentials"), "{err}");

    // A window by file dates needs files; a bad `time_unit` is named.
    let one_file = pipeline(dir.path(), &local_file(dir.path()), "window = \"2d\"");
    let err = refused(&one_file, g.sluice(home.path()));
    assert!(err.contains("`window` without `time_column`"), "{err}");
    let unit = pipeline(
        dir.path(),
        &url,
        "window = \"2d\"\ntime_unit = \"fortnights\"",
    );
    let err = refused(&unit, g.sluice(home.path()));
    assert!(err.contains("time_unit"), "{err}");
    let bad = pipeline(dir.path(), "s3:///days/", "");
    let err = refused(&bad, g.sluice(home.path()));
    assert!(err.contains("names no bucket"), "{err}");
}

fn local_file(dir: &Path) -> String {
    let path = dir.join("one.csv");
    std::fs::write(&path, "x1,x2,y\n1,2,0\n3,4,1\n").unwrap();
    path.display().to_string()
}

#[test]
fn issue_22_new_data_on_an_s3_prefix_fires_once() {
    let g = garage();
    let (home, dir, local, prefix, url) = two_days(g);
    let home = home.path().to_owned();
    let p = pipeline(
        dir.path(),
        &url,
        "\n[triggers.fresh]\non_new_data = \"days\"\ndebounce = \"1s\"\n",
    );
    let (out, _) = run(g, &home, &p);
    succeeded(out, "the run that arms the trigger");
    let once = || {
        succeeded(
            g.sluice(&home)
                .args(["triggers", "run", "--once"])
                .output()
                .unwrap(),
            "sluice triggers run --once",
        )
    };
    let history = || {
        let out = succeeded(
            g.sluice(&home)
                .args(["triggers", "history", "--limit", "100", "--json"])
                .output()
                .unwrap(),
            "sluice triggers history",
        );
        json(&out).as_array().unwrap().clone()
    };
    once();
    assert!(history().is_empty(), "the objects did not change");

    put_day(g, &local, &prefix, 3);
    once();
    assert!(history().is_empty(), "within the debounce");
    std::thread::sleep(Duration::from_millis(1200));
    once();
    let h = history();
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["state"], "succeeded", "{h:?}");
    assert!(
        h[0]["reason"].as_str().unwrap().contains("3 file(s)"),
        "{h:?}"
    );
    once();
    assert_eq!(history().len(), 1, "the same objects fire once");
}
