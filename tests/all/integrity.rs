//! Issue 18 point 11, "corrupt objects are vouched for": one flipped byte
//! in a stored object. A `--no-cache` rerun writes the good bytes back, and
//! `sluice verify` re-hashes the stored outputs before it re-executes.

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

#[test]
fn verify_re_hashes_the_stored_outputs_before_re_executing() {
    let (home, _dir, _p, first) = first_run("verified-bytes");
    let home = home.path();
    let id = first["run_id"].as_str().unwrap();
    let model = output(&first, "train", "model");
    flip_a_byte(home, &model);

    let out = run(home, &["verify", id, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["reproduced"], false, "{v}");
    assert_eq!(v["stored_intact"], false, "{v}");
    let damaged = v["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{v}");
    assert_eq!(damaged[0]["step"], "train");
    assert_eq!(damaged[0]["output"], "model");
    assert_eq!(damaged[0]["digest"], model.to_hex());
    assert_eq!(damaged[0]["stored"]["state"], "corrupt");
    // The re-execution reproduced the model and so wrote it back.
    assert_eq!(damaged[0]["repaired"], true, "{v}");
    assert!(intact(home, &model));
    let row = v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == "train" && r["output"] == "model")
        .unwrap();
    assert_eq!(row["same"], true, "the digests still agree: {row}");
    assert_eq!(row["stored"]["state"], "corrupt");

    // In words, and for a missing object too.
    flip_a_byte(home, &model);
    let state = output(&first, "scale", "state");
    std::fs::remove_file(object_file(home, &state)).unwrap();
    let out = run(home, &["verify", id]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let line = |what: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("stored output `{what}`")))
            .unwrap_or_else(|| panic!("no line about {what}:\n{text}"))
            .to_owned()
    };
    let about_model = line("model");
    assert!(
        about_model.contains("step `train`")
            && about_model.contains(&model.to_hex())
            && about_model.contains("corrupt"),
        "{about_model}"
    );
    let about_state = line("state");
    assert!(
        about_state.contains("step `scale`")
            && about_state.contains(&state.to_hex())
            && about_state.contains("missing"),
        "{about_state}"
    );
    assert!(
        text.contains(&format!(
            "NOT verified: 2 stored output(s) of run {id} were corrupt or missing"
        )),
        "{text}"
    );
    // Clean again: verify vouches for it.
    let v = ok_json(home, &["verify", id, "--json"]);
    assert_eq!(v["reproduced"], true, "{v}");
}

#[test]
fn verify_of_a_run_that_never_finished_says_so() {
    let (home, _dir, _p, first) = first_run("unfinished");
    let home = home.path();
    let id = first["run_id"].as_str().unwrap();
    // As a run whose process was killed leaves it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(home.join("sluice.db"))
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?")
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let out = run(home, &["verify", id]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("run {id} never finished")) && err.contains("sluice resume"),
        "{err}"
    );
    assert!(
        stdout(&out).is_empty(),
        "nothing compared: {}",
        stdout(&out)
    );
}
