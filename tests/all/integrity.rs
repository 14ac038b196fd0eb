//! Issue 18 point 11, "corrupt objects are vouched for": one flipped byte
//! in a stored object. A `--no-cache` rerun writes the good bytes back,
//! `sluice verify` re-hashes the stored outputs before it re-executes,
//! `sluice store check` names what a damaged object affects and `--repair`
//! removes it so the cache recomputes it, and promotion refuses a version
//! whose bytes went bad.

use crate::cache::BODY;
use crate::support::*;
use serde_json::Value;
use sluice::artifacts::ArtifactDigest;
use std::path::{Path, PathBuf};

const MODEL: &str = "integrity-logreg";

fn run(home: &Path, args: &[&str]) -> std::process::Output {
    sluice(home).args(args).output().expect("run sluice")
}

/// A home with one run of the pipeline; its report and the pipeline file.
fn first_run(name: &str) -> (tempfile::TempDir, tempfile::TempDir, PathBuf, Value) {
    let home = home_with_shared_cache();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), name, BODY);
    let report = ok_json(home.path(), &["run", p.to_str().unwrap(), "--json"]);
    (home, dir, p, report)
}

/// [`first_run`], with its trainer registered as [`MODEL`] v1; the
/// home, the pipeline file and the run's id and report.
fn registered_run(name: &str) -> (tempfile::TempDir, tempfile::TempDir, PathBuf, String, Value) {
    let (home, dir, p, report) = first_run(name);
    let id = report["run_id"].as_str().unwrap().to_owned();
    ok_json(
        home.path(),
        &[
            "models", "register", &id, "train", "--name", MODEL, "--json",
        ],
    );
    (home, dir, p, id, report)
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

#[test]
fn store_check_names_what_a_corrupt_object_affects_and_repair_removes_it() {
    let (home, _dir, p, id, first) = registered_run("checked");
    let home = home.path();
    let p = p.to_str().unwrap();
    let id = id.as_str();
    let clean = ok_json(home, &["store", "check", "--json"]);
    assert_eq!(clean["ok"], true, "{clean}");
    assert!(clean["checked"].as_u64().unwrap() >= 5, "{clean}");

    // scale's fitted state: an output of the run, held by the model.
    let state = output(&first, "scale", "state");
    flip_a_byte(home, &state);
    let out = run(home, &["store", "check", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let damaged = report["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{report}");
    let d = &damaged[0];
    assert_eq!(d["digest"], state.to_hex());
    assert_eq!(d["integrity"]["state"], "corrupt");
    let steps = d["steps"].as_array().unwrap();
    assert!(
        steps.iter().any(|s| s["run_id"] == id
            && s["step_id"] == "scale"
            && s["role"] == "output"
            && s["name"] == "state"),
        "{d}"
    );
    let models = d["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{d}");
    assert_eq!(models[0]["model"], MODEL);
    assert_eq!(models[0]["version"], 1);
    assert!(
        models[0]["field"].as_str().unwrap().ends_with(".state"),
        "{d}"
    );
    assert_eq!(report["reruns"][0]["pipeline_path"], p, "{report}");

    // In words, without --json.
    let out = run(home, &["store", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    for needle in [
        format!("artifact {state}: corrupt"),
        format!("output `state` of step `scale` in run {id}"),
        format!("model {MODEL} v1 holds it"),
        format!("sluice run {p}"),
        "DAMAGED: 1 artifact(s)".to_owned(),
    ] {
        assert!(text.contains(&needle), "no `{needle}` in:\n{text}");
    }

    // --repair removes it; the next (cached) run recomputes exactly what
    // is gone, and the store is whole again.
    let repaired = ok_json(home, &["store", "check", "--repair", "--json"]);
    assert_eq!(repaired["damaged"][0]["removed"], true, "{repaired}");
    assert!(!object_file(home, &state).exists());
    let out = run(home, &["store", "check"]);
    assert_eq!(out.status.code(), Some(1), "missing until rerun");
    assert!(stdout(&out).contains("missing"), "{}", stdout(&out));
    let again = ok_json(home, &["run", p, "--json"]);
    let cached = cached_steps(&again);
    assert!(!cached.contains(&"scale".to_owned()), "{again}");
    assert!(cached.contains(&"impute".to_owned()), "{again}");
    assert!(intact(home, &state));
    let whole = ok_json(home, &["store", "check", "--json"]);
    assert_eq!(whole["ok"], true, "{whole}");
}

#[test]
fn promote_refuses_a_version_whose_model_or_state_bytes_are_corrupt() {
    let (home, _dir, p, _, first) = registered_run("promoted");
    let home = home.path();
    let p = p.to_str().unwrap();
    let promote = |force: bool| {
        let mut args = vec!["models", "promote", MODEL, "1", "--to", "production"];
        if force {
            args.extend(["--force", "--reason", "trust me"]);
        }
        run(home, &args)
    };
    let aliases = || {
        ok_json(home, &["models", "list", "--json"])[0]["aliases"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };

    let model = output(&first, "train", "model");
    let state = output(&first, "scale", "state");
    for (digest, part) in [
        (&model, "its model"),
        (&state, "fitted state of step `scale`"),
    ] {
        flip_a_byte(home, digest);
        for force in [false, true] {
            let out = promote(force);
            assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("cannot promote {MODEL} v1 to `production`"))
                    && err.contains(part)
                    && err.contains(&digest.to_hex())
                    && err.contains("corrupt"),
                "{err}"
            );
        }
        assert!(aliases().is_empty(), "the alias moved");
        ok_json(home, &["run", p, "--no-cache", "--json"]);
    }
    succeeded(promote(false), "promote of the repaired version");
    assert_eq!(aliases()["production"], 1);
}
