//! Iterating without version bumps (issue 23, point 1): a `dev` version's
//! definition may change from run to run; a failed run claims no version;
//! `-P STEP.PARAM=VALUE` sets a param for one run, recorded with it and
//! applied again by `verify`; `verify` plans a run from the definition it
//! recorded, whatever the file says now.

use crate::cache::BODY;
use crate::support::*;
use serde_json::Value;
use std::path::Path;

fn run(home: &Path, args: &[&str]) -> std::process::Output {
    sluice(home).args(args).output().expect("run sluice")
}

/// The ids of the steps a `run --json` report reused from the cache.
fn cached(report: &Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["cached"] == true)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn a_dev_version_changes_freely_and_a_failed_run_claims_no_version() {
    let home = home_with_shared_cache();
    let home = home.path();
    let dir = tempfile::tempdir().unwrap();

    // `dev`: every edit runs, each definition recorded under it.
    let p = write_pipeline(dir.path(), "drafted", BODY);
    edit(&p, "version = \"1\"\n", "version = \"dev\"\n");
    let p = p.to_str().unwrap();
    ok_json(home, &["run", p, "--json"]);
    edit(Path::new(p), "c = 1.0", "c = 0.3");
    ok_json(home, &["run", p, "--json"]);
    // No `version` at all is `dev` too.
    edit(Path::new(p), "version = \"dev\"\n", "");
    edit(Path::new(p), "c = 0.3", "c = 0.5");
    ok_json(home, &["run", p, "--json"]);
    let shown = ok_json(home, &["pipelines", "show", "drafted", "--json"]);
    let versions = shown["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{shown}");
    assert!(versions.iter().all(|v| v["version"] == "dev"), "{shown}");

    // A release: a run that failed does not fix its definition.
    let r = write_pipeline(dir.path(), "released", BODY);
    edit(
        &r,
        "params = { target = \"benign\" }",
        "params = { target = \"benign\", min_accuracy = 0.9999 }",
    );
    let r = r.to_str().unwrap();
    let out = run(home, &["run", r, "--json"]);
    assert_eq!(json(&out)["status"], "failed", "{}", stderr(&out));
    edit(Path::new(r), "min_accuracy = 0.9999", "min_accuracy = 0.5");
    assert_eq!(ok_json(home, &["run", r, "--json"])["status"], "succeeded");
    // Once one succeeded, the version is fixed.
    edit(Path::new(r), "c = 1.0", "c = 0.3");
    let out = run(home, &["run", r]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("-P STEP.PARAM=VALUE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn params_set_on_the_command_line_are_recorded_checked_and_replayed() {
    let home = home_with_shared_cache();
    let home = home.path();
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "tuned", BODY);
    let p = p.to_str().unwrap();
    let plain = ok_json(home, &["run", p, "--json"]);

    // A release version, its file unchanged: -P needs no new version.
    let set = ok_json(home, &["run", p, "-P", "train.c=0.3", "--json"]);
    assert_eq!(set["status"], "succeeded", "{set}");
    let id = set["run_id"].as_str().unwrap();
    assert_eq!(
        cached(&set),
        ["dataset:cancer", "impute", "scale"],
        "train and what reads its model ran again"
    );
    let shown = ok_json(home, &["runs", "show", id, "--json"]);
    assert_eq!(shown["overrides"], serde_json::json!(["train.c=0.3"]));
    let train = shown["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == "train")
        .unwrap();
    let params: Value = serde_json::from_str(train["params_json"].as_str().unwrap()).unwrap();
    assert_eq!(params["c"], 0.3, "{train}");
    assert_eq!(shown["pipeline_sha256"], plain_sha(home, &plain));

    // The same setting again reuses everything; `--set` is the long form.
    let again = ok_json(home, &["run", p, "--set", "train.c=0.3", "--json"]);
    assert_eq!(cached(&again).len(), 6, "{again}");

    // The file changes after the run: `verify` plans the run from the
    // definition it recorded, with its -P, and reproduces it.
    edit(Path::new(p), "c = 1.0", "c = 0.7");
    let verified = run(home, &["verify", id, "--json"]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert_eq!(json(&verified)["reproduced"], true, "{}", stdout(&verified));

    // Bad settings name themselves; nothing runs.
    let before = ok_json(home, &["runs", "list", "--json"])
        .as_array()
        .unwrap()
        .len();
    edit(Path::new(p), "c = 0.7", "c = 1.0");
    for (arg, says) in [
        ("nostep.c=1", "the pipeline has no step `nostep`"),
        ("train.bogus=1", "bogus"),
        ("trainc=1", "expected STEP.PARAM=VALUE"),
        ("train.c=high", "train"),
    ] {
        let out = run(home, &["run", p, "-P", arg]);
        assert_eq!(out.status.code(), Some(2), "{arg}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{arg}: {}", stderr(&out));
    }
    let after = ok_json(home, &["runs", "list", "--json"])
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "a refused -P recorded a run");
}

/// The definition sha256 the run `report` recorded.
fn plain_sha(home: &Path, report: &Value) -> Value {
    ok_json(
        home,
        &["runs", "show", report["run_id"].as_str().unwrap(), "--json"],
    )["pipeline_sha256"]
        .clone()
}
