//! Issue 18 point 11, "corrupt objects are vouched for": one flipped byte
//! in a stored object. A `--no-cache` rerun writes the good bytes back.

use crate::cache::BODY;
use crate::support::*;
use serde_json::Value;
use sluice::artifacts::ArtifactDigest;
use std::path::{Path, PathBuf};

fn run(home: &Path, args: &[&str]) -> std::process::Output {
    sluice(home).args(args).output().expect("run sluice")
}

fn ok_json(home: &Path, args: &[&str]) -> Value {
    json(&succeeded(run(home, args), &format!("sluice {args:?}")))
}

/// A home with one run of the pipeline; its report and the pipeline file.
fn first_run(name: &str) -> (tempfile::TempDir, tempfile::TempDir, PathBuf, Value) {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), name, BODY);
    let report = ok_json(home.path(), &["run", p.to_str().unwrap(), "--json"]);
    (home, dir, p, report)
}

fn output(report: &Value, step: &str, name: &str) -> ArtifactDigest {
    let steps = report["steps"].as_array().unwrap();
    let step = steps.iter().find(|s| s["id"] == step).unwrap();
    ArtifactDigest::parse(step["outputs"][name].as_str().unwrap()).unwrap()
}

fn object_file(home: &Path, digest: &ArtifactDigest) -> PathBuf {
    let hex = digest.to_hex();
    home.join("artifacts/sha256").join(&hex[..2]).join(hex)
}

/// Flips one bit in the middle of the stored object, in place.
fn flip_a_byte(home: &Path, digest: &ArtifactDigest) {
    let file = object_file(home, digest);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
}

fn intact(home: &Path, digest: &ArtifactDigest) -> bool {
    std::fs::read(object_file(home, digest)).is_ok_and(|b| ArtifactDigest::of(&b) == *digest)
}

fn cached_steps(report: &Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["cached"] == true)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_no_cache_rerun_writes_the_good_bytes_over_a_flipped_byte() {
    let (home, _dir, p, first) = first_run("rewritten");
    let home = home.path();
    let p = p.to_str().unwrap();
    let model = output(&first, "train", "model");
    flip_a_byte(home, &model);
    assert!(!intact(home, &model));

    // The cache trusts an object that is there (`store check` is what
    // finds it): the cached rerun reads nothing.
    let cached = ok_json(home, &["run", p, "--json"]);
    assert!(
        cached_steps(&cached).contains(&"train".to_owned()),
        "{cached}"
    );
    assert!(!intact(home, &model));

    let again = ok_json(home, &["run", p, "--no-cache", "--json"]);
    assert_eq!(output(&again, "train", "model"), model);
    assert!(
        intact(home, &model),
        "the rerun left the corrupt object in place"
    );
}
