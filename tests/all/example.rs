//! The example pipeline end to end, through the CLI, checked in the
//! database and the artifact store.

use crate::support::*;
use sluice::artifacts::{ArtifactDigest, ArtifactStore};
use sluice::meta::MetaStore;

fn run_example(home: &std::path::Path) -> serde_json::Value {
    let _ = plugin_dir();
    let out = sluice(home)
        .args(["run", "pipelines/breast-cancer.toml", "--json"])
        .output()
        .expect("run sluice");
    assert!(
        out.status.success(),
        "run failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    json(&out)
}

fn step<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {report}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn example_pipeline_runs_and_is_recorded() {
    let home = tempfile::tempdir().unwrap();
    let report = run_example(home.path());
    assert_eq!(report["status"], "succeeded");
    let run_id = report["run_id"].as_str().unwrap().to_string();
    for id in [
        "validate", "impute", "scale", "train", "evaluate", "explain",
    ] {
        assert_eq!(step(&report, id)["status"], "succeeded", "{id}: {report}");
    }
    let accuracy = step(&report, "evaluate")["metrics"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(accuracy >= 0.95, "holdout accuracy {accuracy}");
    let auc = step(&report, "evaluate")["metrics"]["roc_auc"]
        .as_f64()
        .unwrap();
    assert!(auc > 0.97 && auc <= 1.0, "roc auc {auc}");

    // The database holds the same run, its steps and metrics.
    let meta = MetaStore::open_path(&home.path().join("sluice.db"))
        .await
        .unwrap();
    let run = meta.get_run(&run_id).await.unwrap();
    assert_eq!(run.status.to_string(), "succeeded");
    assert_eq!(run.pipeline_name, "breast-cancer");
    let eval = run.steps.iter().find(|s| s.step_id == "evaluate").unwrap();
    let db_acc = eval
        .metrics
        .iter()
        .find(|(n, _)| n == "accuracy")
        .unwrap()
        .1;
    assert_eq!(db_acc, accuracy);
    assert_eq!(eval.plugin_name, "holdout-eval");
    assert_eq!(eval.plugin_sha256.len(), 64);

    // Every output is in the store and re-hashes to its name.
    let store = ArtifactStore::local(home.path()).unwrap();
    let mut count = 0;
    for s in report["steps"].as_array().unwrap() {
        for (_, d) in s["outputs"].as_object().unwrap() {
            let digest = ArtifactDigest::parse(d.as_str().unwrap()).unwrap();
            let bytes = store.get(&digest).await.unwrap();
            assert_eq!(ArtifactDigest::of(&bytes), digest);
            count += 1;
        }
    }
    assert!(count >= 10, "only {count} artifacts");

    // The explainer ranks features; the report is JSON in the store.
    let expl = step(&report, "explain")["outputs"]["explanation"]
        .as_str()
        .unwrap();
    let bytes = store
        .get(&ArtifactDigest::parse(expl).unwrap())
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["global"].as_array().unwrap().len(), 30);

    // runs list / show agree.
    let out = sluice(home.path())
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json(&out)[0]["id"], run_id.as_str());
    let out = sluice(home.path())
        .args(["runs", "show", &run_id[..12], "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["id"], run_id.as_str());
    let out = sluice(home.path())
        .args(["runs", "show", &run_id])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("evaluate"));

    // artifacts get writes the model bytes.
    let model = step(&report, "train")["outputs"]["model"].as_str().unwrap();
    let dest = home.path().join("model.bin");
    let out = sluice(home.path())
        .args(["artifacts", "get", model, "-o"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        ArtifactDigest::of(&std::fs::read(&dest).unwrap()).to_string(),
        model
    );
    // A unique prefix names it too, as `runs show` prints it (12
    // characters), in `artifacts get` and `lineage`.
    let out = sluice(home.path())
        .args(["artifacts", "get", &model[..12], "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, std::fs::read(&dest).unwrap());
    let tree = ok_json(home.path(), &["lineage", &model[..12], "--json"]);
    assert!(tree.to_string().contains(model), "{tree}");
    // Too short, not hex, or matching nothing: each says so.
    for (prefix, needle) in [
        ("abc", "unique prefix of at least 4"),
        ("xyz12345", "not an artifact digest"),
        ("0000000000", "has a digest starting `0000000000`"),
    ] {
        let out = sluice(home.path())
            .args(["lineage", prefix])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{prefix}");
        assert!(stderr(&out).contains(needle), "{prefix}: {}", stderr(&out));
    }
}

#[test]
fn rerun_produces_identical_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ra = run_example(a.path());
    let rb = run_example(b.path());
    let outputs = |r: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["outputs"].clone()))
            .collect()
    };
    assert_eq!(outputs(&ra), outputs(&rb));
    assert_ne!(ra["run_id"], rb["run_id"]);
}

#[test]
fn second_process_loads_from_the_compile_cache() {
    let home = tempfile::tempdir().unwrap();
    let wasm = plugin("logreg");
    let inspect = || {
        let out = sluice(home.path())
            .args(["plugin", "inspect", "--json"])
            .arg(&wasm)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)
    };
    let first = inspect();
    assert_eq!(first["compiled"], "compiled");
    assert_eq!(first["world"], "trainer");
    assert_eq!(first["name"], "logreg");
    assert_eq!(first["exports_holding"], true);
    let second = inspect();
    assert_eq!(second["compiled"], "cached", "{second}");
    let entries = std::fs::read_dir(home.path().join("cache/compiled"))
        .unwrap()
        .count();
    assert_eq!(entries, 1);
}

#[test]
fn failed_gate_fails_the_run_and_keeps_earlier_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let pipeline = write_pipeline(
        dir.path(),
        "strict",
        r#"
[[steps]]
id = "scale"
plugin = "standardize"
input = "cancer"

[[steps]]
id = "train"
plugin = "logreg"
input = "scale"

[[steps]]
id = "evaluate"
plugin = "holdout-eval"
input = "scale"
model = "train"
params = { target = "benign", min_accuracy = 0.999 }

[[steps]]
id = "explain"
plugin = "permutation-importance"
input = "scale"
model = "train"

[[steps]]
id = "after"
plugin = "standardize"
input = "evaluate"
"#,
    );
    let out = sluice(&home)
        .arg("run")
        .arg(&pipeline)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["status"], "failed");
    let steps = report["steps"].as_array().unwrap();
    let get = |id: &str| steps.iter().find(|s| s["id"] == id).unwrap();
    assert_eq!(get("train")["status"], "succeeded");
    assert_eq!(get("evaluate")["status"], "failed");
    assert!(
        get("evaluate")["error"]
            .as_str()
            .unwrap()
            .contains("accuracy")
    );
    // What depends on the failed step is skipped; an independent branch
    // still runs, so its work is not lost.
    assert_eq!(get("after")["status"], "skipped");
    assert_eq!(get("explain")["status"], "succeeded");
    // The model of the step before the failure is still there.
    let model = get("train")["outputs"]["model"].as_str().unwrap();
    let out = sluice(&home)
        .args(["artifacts", "get", model, "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!out.stdout.is_empty());
    let out = sluice(&home)
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out)[0]["status"], "failed");
}

/// The other example pipelines: multiclass with drift, kNN and Kernel
/// SHAP; regression with ridge, its evaluation and partial dependence.
#[test]
fn wine_and_diabetes_pipelines_run() {
    let home = tempfile::tempdir().unwrap();
    let _ = plugin_dir();
    let out = sluice(home.path())
        .args(["run", "pipelines/wine.toml", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let wine = json(&out);
    assert_eq!(step(&wine, "drift")["metrics"]["drifted_columns"], 0.0);
    assert!(
        step(&wine, "evaluate")["metrics"]["accuracy"]
            .as_f64()
            .unwrap()
            >= 0.9
    );
    assert_eq!(
        step(&wine, "shap")["metrics"]["nsamples"],
        f64::from(2 * 13 + 2048)
    );
    assert_eq!(wine["registered"][0]["name"], "wine-knn");

    let out = sluice(home.path())
        .args(["run", "pipelines/diabetes.toml", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let diabetes = json(&out);
    let r2 = step(&diabetes, "evaluate")["metrics"]["r2"]
        .as_f64()
        .unwrap();
    assert!(r2 > 0.3 && r2 < 0.8, "r2 {r2}");
    assert_eq!(step(&diabetes, "pdp")["metrics"]["grid_points"], 10.0);
}
