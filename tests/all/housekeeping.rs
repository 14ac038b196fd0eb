//! Housekeeping (issue 23, point 6): `runs delete` refuses a run a
//! registered version needs, naming the version; `runs prune` keeps the
//! newest runs and every run a version or its lineage needs, saying why;
//! `gc` then reclaims the bytes only the deleted runs held, while a kept
//! run still verifies and its model still predicts; an archived version
//! is hidden, audited and lets its run go, and a production version is
//! not archived; a rerun that makes the very same model reuses its
//! version; `[retention]` in the pipeline file is prune's default.

use crate::support::*;
use std::path::Path;
use std::process::Output;

const MODEL: &str = "hk-model";

const BODY: &str = r#"
[[steps]]
id = "scale"
plugin = "standardize"
input = "cancer"

[[steps]]
id = "train"
plugin = "logreg"
input = "scale"
params = { c = 1.0, max_iter = 50 }
register = "hk-model"

[[steps]]
id = "evaluate"
plugin = "holdout-eval"
input = "scale"
model = "train"
on = "holdout"
params = { target = "benign", min_accuracy = 0.5 }
"#;

fn run(home: &Path, args: &[&str]) -> Output {
    sluice(home).args(args).output().unwrap()
}

fn run_ids(home: &Path) -> Vec<String> {
    let mut ids: Vec<String> = ok_json(home, &["runs", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The files of the local artifact store, and their total size.
fn store_files(home: &Path) -> (usize, u64) {
    let (mut count, mut bytes) = (0, 0);
    let mut dirs = vec![home.join("artifacts")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                count += 1;
                bytes += meta.len();
            }
        }
    }
    (count, bytes)
}

#[test]
fn delete_and_prune_keep_what_versions_need_and_gc_reclaims_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let p = write_pipeline(dir.path(), "hk", BODY);
    let p = p.to_str().unwrap();

    // r1 registers v1, which goes to production.
    let r1 = ok_json(&home, &["run", p, "--json"]);
    assert_eq!(r1["registered"][0]["version"], 1, "{r1}");
    assert!(r1["registered"][0].get("reused").is_none(), "{r1}");
    let r1_id = r1["run_id"].as_str().unwrap().to_owned();
    ok_json(
        &home,
        &[
            "models",
            "promote",
            MODEL,
            "1",
            "--to",
            "production",
            "--json",
        ],
    );
    // r2 trains another model: v2, archived below.
    let r2 = ok_json(&home, &["run", p, "-P", "train.c=0.05", "--json"]);
    assert_eq!(r2["registered"][0]["version"], 2, "{r2}");
    let r2_id = r2["run_id"].as_str().unwrap().to_owned();
    // r3 trains a third model and fails its evaluation: nothing registered.
    let out = run(
        &home,
        &[
            "run",
            p,
            "-P",
            "train.c=0.01",
            "-P",
            "evaluate.min_accuracy=0.9999",
            "--json",
        ],
    );
    let r3 = json(&out);
    assert_eq!(r3["status"], "failed", "{r3}");
    let r3_id = r3["run_id"].as_str().unwrap().to_owned();
    let r3_model = output_of(&r3, "train", "model");
    // r4 repeats r1 from the cache: the same model, so v1 is reused.
    let r4 = ok_json(&home, &["run", p, "--json"]);
    assert_eq!(r4["registered"][0]["version"], 1, "{r4}");
    assert_eq!(r4["registered"][0]["reused"], true, "{r4}");
    let r4_id = r4["run_id"].as_str().unwrap().to_owned();
    let shown = ok_json(&home, &["models", "show", MODEL, "--json"]);
    assert_eq!(shown["versions"].as_array().unwrap().len(), 2, "{shown}");

    // Deleting r1 is refused, naming the version; nothing is deleted.
    let out = run(&home, &["runs", "delete", &r1_id]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&format!("model version {MODEL}:1 was registered from it")),
        "{}",
        stderr(&out)
    );
    assert_eq!(run_ids(&home).len(), 4);

    // Archiving the production version is refused, naming the alias.
    let out = run(&home, &["models", "archive", &format!("{MODEL}:1")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{MODEL}@production points at it")),
        "{}",
        stderr(&out)
    );
    // v2 is archived: hidden, audited, its run no longer kept.
    ok_json(
        &home,
        &[
            "models",
            "archive",
            &format!("{MODEL}:2"),
            "--reason",
            "worse",
            "--json",
        ],
    );
    let listed = ok_json(&home, &["models", "list", "--json"]);
    assert_eq!(listed[0]["versions"], 1, "{listed}");
    let all = ok_json(&home, &["models", "list", "--all", "--json"]);
    assert_eq!(all[0]["versions"], 2, "{all}");
    assert_eq!(all[0]["archived"], serde_json::json!([2]), "{all}");
    let history = ok_json(&home, &["models", "history", MODEL, "--json"]);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "archive" && e["to_version"] == 2 && e["reason"] == "worse"),
        "{history}"
    );
    let out = run(&home, &["models", "promote", MODEL, "2", "--to", "staging"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("archived"), "{}", stderr(&out));

    // A dry run says what prune would do, and does nothing.
    let dry = ok_json(
        &home,
        &["runs", "prune", "--keep-last", "1", "--dry-run", "--json"],
    );
    assert_eq!(run_ids(&home).len(), 4, "a dry run deleted runs");
    let ids = |v: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["run_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut expected = vec![r2_id.clone(), r3_id.clone()];
    expected.sort();
    assert_eq!(ids(&dry["deleted"]), expected, "{dry}");
    assert_eq!(ids(&dry["kept"]), std::slice::from_ref(&r1_id), "{dry}");
    assert!(
        dry["kept"][0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("{MODEL}:1")),
        "{dry}"
    );

    let before = store_files(&home);
    let pruned = ok_json(&home, &["runs", "prune", "--keep-last", "1", "--json"]);
    assert_eq!(ids(&pruned["deleted"]), expected, "{pruned}");
    let mut left = vec![r1_id.clone(), r4_id.clone()];
    left.sort();
    assert_eq!(run_ids(&home), left);
    // r4's steps cached from a deleted run now name r1, which made the
    // outputs.
    let r4_shown = ok_json(&home, &["runs", "show", &r4_id, "--json"]);
    for step in r4_shown["steps"].as_array().unwrap() {
        assert_eq!(step["cached_from"], r1_id.as_str(), "{step}");
    }
    assert_eq!(
        store_files(&home),
        before,
        "prune deletes records, not bytes"
    );

    // gc now reclaims what only the deleted runs held.
    let gc = ok_json(&home, &["gc", "--min-age", "0s", "--yes", "--json"]);
    assert!(gc["unreferenced"].as_u64().unwrap() >= 1, "{gc}");
    let after = store_files(&home);
    assert!(
        after.0 < before.0 && after.1 < before.1,
        "the store did not shrink: {before:?} -> {after:?}"
    );
    let out = run(&home, &["artifacts", "get", &r3_model, "-o", "-"]);
    assert!(!out.status.success(), "r3's model survived gc");

    // What was kept still works: r1 verifies, production predicts, and
    // the archived v2's model is still stored.
    let out = run(&home, &["verify", &r1_id, "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["reproduced"], true, "{}", stdout(&out));
    let input = root().join("pipelines/data/breast_cancer.csv");
    let predictions = dir.path().join("predictions.csv");
    let out = run(
        &home,
        &[
            "predict",
            &format!("{MODEL}@production"),
            "--input",
            input.to_str().unwrap(),
            "-o",
            predictions.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .count();
    assert_eq!(rows, 570, "a header and one prediction per row");
    let v2_model = output_of(&r2, "train", "model");
    let out = run(&home, &["artifacts", "get", &v2_model, "-o", "-"]);
    assert!(
        out.status.success(),
        "an archived version's model was deleted"
    );
    // v2's run is gone: r2 is not found.
    let out = run(&home, &["runs", "show", &r2_id]);
    assert_eq!(out.status.code(), Some(2));
}

/// A run that a kept run's cached steps reuse is kept; deleting both is
/// allowed; `[retention]` in the pipeline file is what a bare `prune`
/// applies, and a pipeline without it is left alone.
#[test]
fn retention_and_the_cache_decide_what_a_bare_prune_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let scratch = write_pipeline(
        dir.path(),
        "scratch",
        "[retention]\nkeep_runs = 1\n\n[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    let scratch = scratch.to_str().unwrap();
    // Other data: nothing of `other` is cached from `scratch`.
    let data = dir.path().join("more.csv");
    std::fs::write(&data, cancer_repeated(200_000)).unwrap();
    let other = pipeline_reading(dir.path(), "other", &data);
    let first = ok_json(&home, &["run", scratch, "--json"]);
    let first = first["run_id"].as_str().unwrap().to_owned();
    // Cached from `first`.
    let second = ok_json(&home, &["run", scratch, "--json"]);
    let second = second["run_id"].as_str().unwrap().to_owned();
    let other = other.to_str().unwrap();
    ok_json(&home, &["run", other, "--json"]);
    ok_json(&home, &["run", other, "--json"]);

    // Deleting `first` alone would leave `second`'s cached steps pointing
    // nowhere: refused, naming the step and the run.
    let out = run(&home, &["runs", "delete", &first]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("of kept run {second} reuses its outputs")),
        "{}",
        stderr(&out)
    );

    // keep_runs = 1 would delete `first`, but `second` (kept) needs it.
    let pruned = ok_json(&home, &["runs", "prune", "--json"]);
    assert_eq!(pruned["deleted"], serde_json::json!([]), "{pruned}");
    assert_eq!(pruned["kept"][0]["run_id"], first.as_str(), "{pruned}");
    assert!(
        pruned["kept"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("reuses its outputs"),
        "{pruned}"
    );
    assert_eq!(
        pruned["without_rule"],
        serde_json::json!(["other"]),
        "{pruned}"
    );
    let out = run(&home, &["runs", "prune"]);
    assert!(
        stdout(&out).contains("left alone (no [retention]"),
        "{}",
        stdout(&out)
    );

    // Deleting both at once leaves nothing pointing at a deleted run.
    let deleted = ok_json(&home, &["runs", "delete", &first, &second, "--json"]);
    assert_eq!(deleted["deleted"].as_array().unwrap().len(), 2, "{deleted}");
    assert_eq!(run_ids(&home).len(), 2, "the other pipeline's runs stay");
}

/// The run summary says a rerun reused a version, in words.
#[test]
fn a_rerun_with_the_same_model_says_it_reused_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let p = write_pipeline(dir.path(), "again", BODY);
    let p = p.to_str().unwrap();
    let first = succeeded(run(&home, &["run", p]), "first run");
    assert!(
        stdout(&first).contains(&format!("registered {MODEL}:1 from step train")),
        "{}",
        stdout(&first)
    );
    let again = succeeded(run(&home, &["run", p, "--no-cache"]), "second run");
    assert!(
        stdout(&again).contains(&format!("reused {MODEL}:1 (identical model)")),
        "{}",
        stdout(&again)
    );
    let shown = ok_json(&home, &["models", "show", MODEL, "--json"]);
    assert_eq!(shown["versions"].as_array().unwrap().len(), 1, "{shown}");
    // Another model is a new version.
    let other = ok_json(&home, &["run", p, "-P", "train.c=0.2", "--json"]);
    assert_eq!(other["registered"][0]["version"], 2, "{other}");
    assert!(other["registered"][0].get("reused").is_none(), "{other}");
}
