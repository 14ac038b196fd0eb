//! Hyperparameter search in the host (`[steps.search]`): trials recorded
//! with params and scores, the best trained as the step's model, parallel
//! fits bounded by the tenant's concurrency, reproducible draws, failing
//! trials, bad declarations, and the step cache.

use crate::support::{
    data_dirs, json, plugin_dir, sluice, stderr, stdout, succeeded, write_pipeline,
};
use serde_json::Value;
use std::path::Path;

/// The imputed, standardized cancer data, then `train` as given.
fn pipeline(dir: &Path, name: &str, train: &str) -> std::path::PathBuf {
    write_pipeline(
        dir,
        name,
        &format!(
            r#"
[[steps]]
id = "impute"
plugin = "impute"
input = "cancer"
params = {{ strategy = "median" }}

[[steps]]
id = "scale"
plugin = "standardize"
input = "impute"

{train}
"#
        ),
    )
}

fn run_json(home: &Path, args: &[&str]) -> Value {
    json(&succeeded(
        sluice(home).args(args).output().unwrap(),
        &format!("sluice {args:?}"),
    ))
}

fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id || s["step_id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {report}"))
}

fn metric(step: &Value, name: &str) -> f64 {
    // `run --json` has a map, `runs show --json` a list of pairs.
    match &step["metrics"] {
        Value::Object(m) => m[name].as_f64(),
        Value::Array(pairs) => pairs
            .iter()
            .find(|p| p[0] == name)
            .and_then(|p| p[1].as_f64()),
        _ => None,
    }
    .unwrap_or_else(|| panic!("no metric {name} in {step}"))
}

const GRID: &str = r#"
[[steps]]
id = "train"
plugin = "logreg"
input = "scale"
params = { max_iter = 100 }

[steps.search]
folds = 4
metric = "log_loss"
params = { c = [0.001, 0.05, 1.0, 100.0] }
"#;

#[test]
fn a_grid_search_records_every_trial_and_trains_the_best() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path(), "grid", GRID);
    let run = run_json(home.path(), &["run", file.to_str().unwrap(), "--json"]);
    let run_id = run["run_id"].as_str().unwrap();
    let shown = run_json(home.path(), &["runs", "show", run_id, "--json"]);
    let train = step(&shown, "train");
    let trials = train["trials"].as_array().expect("trials recorded");
    assert_eq!(trials.len(), 4, "{train}");
    let cs: Vec<f64> = trials
        .iter()
        .map(|t| t["params"]["c"].as_f64().unwrap())
        .collect();
    assert_eq!(cs, vec![0.001, 0.05, 1.0, 100.0], "grid order");
    for t in trials {
        assert_eq!(t["status"], "succeeded", "{t}");
        assert_eq!(t["metric"], "log_loss");
        let folds: Vec<f64> = t["fold_scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(folds.len(), 4, "{t}");
        let mean = folds.iter().sum::<f64>() / 4.0;
        assert!((t["score"].as_f64().unwrap() - mean).abs() < 1e-12, "{t}");
        assert!(folds.iter().all(|s| *s > 0.0 && *s < 1.0), "{t}");
        assert!(t["metrics"]["iterations"].as_f64().is_some(), "{t}");
    }
    // Log loss is minimised: the best has the lowest mean, and only one is best.
    let best: Vec<&Value> = trials.iter().filter(|t| t["best"] == true).collect();
    assert_eq!(best.len(), 1, "{trials:?}");
    let lowest = trials
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best[0]["score"].as_f64().unwrap(), lowest);
    // A c this small under-fits, one this large over-fits: neither wins.
    let best_c = best[0]["params"]["c"].as_f64().unwrap();
    assert!(best_c == 0.05 || best_c == 1.0, "best c {best_c}");
    assert_eq!(metric(step(&run, "train"), "search_log_loss"), lowest);
    assert_eq!(metric(step(&run, "train"), "search_trials"), 4.0);
    assert_eq!(metric(step(&run, "train"), "search_failed"), 0.0);

    // The step's model is the one a plain fit with the best c makes.
    let plain = pipeline(
        dir.path(),
        "plain",
        &format!(
            "[[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"scale\"\nparams = {{ max_iter = 100, c = {best_c:?} }}\n"
        ),
    );
    let plain = run_json(home.path(), &["run", plain.to_str().unwrap(), "--json"]);
    assert_eq!(
        step(&run, "train")["outputs"]["model"],
        step(&plain, "train")["outputs"]["model"],
        "the searched step's model is trained with the best params on the whole train part"
    );

    // The `search` artifact says the same.
    let digest = step(&run, "train")["outputs"]["search"].as_str().unwrap();
    let report_path = dir.path().join("search.json");
    succeeded(
        sluice(home.path())
            .args(["artifacts", "get", digest, "--output"])
            .arg(&report_path)
            .output()
            .unwrap(),
        "artifacts get",
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["best_params"]["c"].as_f64().unwrap(), best_c);
    assert_eq!(report["trials"].as_array().unwrap().len(), 4);
    assert_eq!(report["search"]["validation"]["folds"], 4);
    assert_eq!(
        report["search"]["validation"]["stratify"], true,
        "classification metrics stratify"
    );

    // `runs show` lists the trials, the best marked.
    let out = succeeded(
        sluice(home.path())
            .args(["runs", "show", run_id])
            .output()
            .unwrap(),
        "runs show",
    );
    let text = stdout(&out);
    assert!(
        text.contains("search of step train: 4 trial(s), metric log_loss"),
        "{text}"
    );
    assert!(text.contains("c=100.0"), "{text}");
    let best_line = text
        .lines()
        .find(|l| l.contains(&format!("c={best_c:?} ")))
        .unwrap_or_else(|| panic!("no row for c={best_c:?}: {text}"));
    assert!(best_line.contains(" * "), "the best is marked: {best_line}");

    // `sluice run` names the best trial under its table.
    let out = succeeded(
        sluice(home.path())
            .args(["run", file.to_str().unwrap()])
            .output()
            .unwrap(),
        "run",
    );
    let text = stdout(&out);
    let expected = format!(
        "search of train: best trial {} {{\"c\":{best_c:?}}} with log_loss = ",
        best[0]["trial"]
    );
    assert!(
        text.contains(&expected) && text.contains("(4 trial(s), 0 failed;"),
        "{text}"
    );
}

#[test]
fn trials_run_in_parallel_up_to_the_tenants_concurrency() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path(), "grid", GRID);
    for (tenant, concurrency) in [("narrow", 1), ("wide", 2)] {
        succeeded(
            sluice(home.path())
                .args(["tenants", "create", tenant])
                .arg(format!("concurrency={concurrency}"))
                .arg(data_dirs(&[]))
                .output()
                .unwrap(),
            "tenants create",
        );
        let run = json(&succeeded(
            sluice(home.path())
                .env("SLUICE_MAX_STEPS", "4")
                .args(["--tenant", tenant, "run", file.to_str().unwrap(), "--json"])
                .output()
                .unwrap(),
            "run",
        ));
        let shown = json(&succeeded(
            sluice(home.path())
                .args([
                    "--tenant",
                    tenant,
                    "runs",
                    "show",
                    run["run_id"].as_str().unwrap(),
                    "--json",
                ])
                .output()
                .unwrap(),
            "runs show",
        ));
        let log = step(&shown, "train")["log"].as_str().unwrap().to_string();
        let expected = format!(
            "at most {concurrency} fit(s) ran at once (tenant '{tenant}' may run {concurrency})"
        );
        assert!(log.contains(&expected), "{tenant}: {log}");
    }
}

#[test]
fn a_random_search_draws_the_same_trials_for_the_same_seed() {
    let _ = plugin_dir();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let body = r#"
[[steps]]
id = "train"
plugin = "gbt"
input = "scale"
params = { max_iter = 10, min_samples_leaf = 5 }

[steps.search]
method = "random"
trials = 6
holdout = 0.3
metric = "accuracy"
params = { learning_rate = { log_uniform = [0.01, 1.0] }, max_leaf_nodes = { int_uniform = [2, 8] }, max_depth = [0, 3] }
"#;
    let trials_of = |file: &Path| -> Vec<Value> {
        let run = run_json(
            home.path(),
            &["run", file.to_str().unwrap(), "--json", "--no-cache"],
        );
        let shown = run_json(
            home.path(),
            &["runs", "show", run["run_id"].as_str().unwrap(), "--json"],
        );
        step(&shown, "train")["trials"].as_array().unwrap().clone()
    };
    let file = pipeline(dir.path(), "random", body);
    let first = trials_of(&file);
    assert_eq!(first.len(), 6);
    for t in &first {
        let lr = t["params"]["learning_rate"].as_f64().unwrap();
        let leaves = t["params"]["max_leaf_nodes"].as_i64().unwrap();
        let depth = t["params"]["max_depth"].as_i64().unwrap();
        assert!((0.01..1.0).contains(&lr), "{t}");
        assert!((2..=8).contains(&leaves), "{t}");
        assert!(depth == 0 || depth == 3, "{t}");
        assert_eq!(t["fold_scores"].as_array().unwrap().len(), 1, "one holdout");
    }
    let distinct: std::collections::BTreeSet<String> = first
        .iter()
        .map(|t| t["params"]["learning_rate"].to_string())
        .collect();
    assert_eq!(distinct.len(), 6, "six different draws: {first:?}");
    let params = |ts: &[Value]| -> Vec<Value> { ts.iter().map(|t| t["params"].clone()).collect() };
    let scores = |ts: &[Value]| -> Vec<Value> { ts.iter().map(|t| t["score"].clone()).collect() };
    let again = trials_of(&file);
    assert_eq!(params(&first), params(&again), "same seed, same draws");
    assert_eq!(scores(&first), scores(&again), "and the same scores");

    // Another pipeline seed draws other points.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("seed = 1\n", "seed = 2\n");
    let reseeded = dir.path().join("reseeded.toml");
    std::fs::write(
        &reseeded,
        text.replace("name = \"random\"", "name = \"reseeded\""),
    )
    .unwrap();
    assert_ne!(params(&first), params(&trials_of(&reseeded)));
}

#[test]
fn failing_trials_are_recorded_and_the_search_goes_on() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // knn refuses more neighbours than training rows: that trial fails
    // on every fold. (A value outside a param's declared range, such as
    // logreg's c <= 0, is refused when the pipeline is planned.)
    let search_c = |name: &str, ks: &str| {
        pipeline(
            dir.path(),
            name,
            &format!(
                "[[steps]]\nid = \"train\"\nplugin = \"knn\"\ninput = \"scale\"\n\n\
                 [steps.search]\nfolds = 3\nmetric = \"accuracy\"\nparams = {{ k = {ks} }}\n"
            ),
        )
    };
    let file = search_c("failing", "[100000, 5]");
    let run = run_json(home.path(), &["run", file.to_str().unwrap(), "--json"]);
    let train = step(&run, "train");
    assert_eq!(train["status"], "succeeded", "{train}");
    assert_eq!(metric(train, "search_failed"), 1.0);
    let shown = run_json(
        home.path(),
        &["runs", "show", run["run_id"].as_str().unwrap(), "--json"],
    );
    let trials = step(&shown, "train")["trials"].as_array().unwrap().clone();
    assert_eq!(trials[0]["status"], "failed");
    let error = trials[0]["error"].as_str().unwrap();
    assert!(
        error.contains("fold 0") && error.contains("param 'k' is 100000 but there are only"),
        "{error}"
    );
    assert!(trials[0]["score"].is_null());
    assert_eq!(trials[1]["best"], true);

    // When every trial fails, the step fails and says why.
    let file = search_c("all-failing", "[100000, 200000]");
    let out = sluice(home.path())
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("none of the 2 trial(s) succeeded")
            && text.contains("trial 0: fold 0:")
            && text.contains("param 'k' is 100000 but there are only"),
        "{text}"
    );
}

#[test]
fn a_trial_past_its_time_limit_fails_alone() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 100,000 boosting iterations cannot finish in a second; 5 can. Every
    // fold fit runs under the step's limits, so the slow trial is stopped
    // on each fold and the search goes on without it.
    let file = pipeline(
        dir.path(),
        "timeout",
        r#"
[[steps]]
id = "train"
plugin = "gbt"
input = "scale"
params = { min_samples_leaf = 5 }
limits = { timeout_ms = 1000 }

[steps.search]
folds = 3
metric = "accuracy"
params = { max_iter = [100000, 5] }
"#,
    );
    let run = run_json(home.path(), &["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(step(&run, "train")["status"], "succeeded", "{run}");
    let shown = run_json(
        home.path(),
        &["runs", "show", run["run_id"].as_str().unwrap(), "--json"],
    );
    let trials = step(&shown, "train")["trials"].as_array().unwrap().clone();
    assert_eq!(trials[0]["status"], "failed", "{trials:?}");
    let error = trials[0]["error"].as_str().unwrap();
    assert!(
        error.contains("exceeded its time limit of 1000 ms"),
        "{error}"
    );
    assert_eq!(trials[1]["best"], true);
    assert!(trials[1]["score"].as_f64().unwrap() > 0.8, "{trials:?}");
}

#[test]
fn a_regression_search_minimises_rmse() {
    let _ = plugin_dir();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = crate::support::root().join("pipelines/data/diabetes.csv");
    let file = dir.path().join("knn.toml");
    std::fs::write(
        &file,
        format!(
            r#"[pipeline]
name = "knn-search"
version = "1"
seed = 5
plugin_dirs = [{:?}]

[datasets.diabetes]
path = {:?}
target = "progression"
[datasets.diabetes.split]
holdout = 0.2
seed = 3

[[steps]]
id = "scale"
plugin = "standardize"
input = "diabetes"

[[steps]]
id = "train"
plugin = "knn"
input = "scale"
params = {{ mode = "regression" }}

[steps.search]
folds = 5
metric = "rmse"
params = {{ k = [1, 5, 20], weights = ["uniform", "distance"] }}
"#,
            plugin_dir().display().to_string(),
            data.display().to_string()
        ),
    )
    .unwrap();
    let run = run_json(home.path(), &["run", file.to_str().unwrap(), "--json"]);
    let shown = run_json(
        home.path(),
        &["runs", "show", run["run_id"].as_str().unwrap(), "--json"],
    );
    let trials = step(&shown, "train")["trials"].as_array().unwrap().clone();
    assert_eq!(trials.len(), 6, "3 x 2 grid");
    let score = |t: &Value| t["score"].as_f64().unwrap();
    let best = trials.iter().find(|t| t["best"] == true).unwrap();
    assert!(trials.iter().all(|t| score(best) <= score(t)), "{trials:?}");
    // One neighbour is the noisiest on this data.
    assert_ne!(best["params"]["k"], 1, "{trials:?}");
    assert!(
        step(&shown, "train")["log"]
            .as_str()
            .unwrap()
            .contains("metric rmse")
    );
    assert!(
        score(best) > 30.0 && score(best) < 80.0,
        "rmse {}",
        score(best)
    );
}

#[test]
fn a_rerun_reuses_the_search_and_a_changed_grid_runs_it_again() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path(), "cached", GRID);
    let first = run_json(home.path(), &["run", file.to_str().unwrap(), "--json"]);
    let second = run_json(home.path(), &["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(step(&second, "train")["cached"], true, "{second}");
    assert_eq!(
        step(&first, "train")["outputs"],
        step(&second, "train")["outputs"]
    );
    // The reusing run lists the trials too.
    let shown = run_json(
        home.path(),
        &["runs", "show", second["run_id"].as_str().unwrap(), "--json"],
    );
    assert_eq!(step(&shown, "train")["trials"].as_array().unwrap().len(), 4);

    // One more grid value: the search runs again (a new version of the file).
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("version = \"1\"", "version = \"2\"")
        .replace("100.0]", "100.0, 10.0]");
    std::fs::write(&file, text).unwrap();
    let third = run_json(home.path(), &["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(step(&third, "train")["cached"], false);
    assert_eq!(metric(step(&third, "train"), "search_trials"), 5.0);
}

#[test]
fn bad_search_declarations_are_refused_before_anything_runs() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "params = { c = [0.1], nope = [1] }\nmetric = \"accuracy\"",
            "search.params: unknown param 'nope'",
        ),
        (
            "params = { c = { uniform = [0.1, 1.0] } }\nmetric = \"accuracy\"",
            "search.params.c (number param of plugin logreg",
        ),
        (
            "params = { c = [0.1] }\nmetric = \"precision_at_k\"",
            "search.metric \"precision_at_k\" is not one of accuracy, roc_auc",
        ),
        (
            "params = { c = [0.1] }\nmetric = \"accuracy\"\nfolds = 1",
            "search.folds must be 2 to 100",
        ),
        (
            "params = { c = [0.1] }\nmetric = \"accuracy\"\nfolds = 3\nholdout = 0.2",
            "set search.folds or search.holdout, not both",
        ),
        (
            "params = { c = [0.1] }\nmetric = \"accuracy\"\nmethod = \"random\"",
            "a random search needs search.trials",
        ),
        (
            "params = { max_iter = [1.5] }\nmetric = \"accuracy\"",
            "value `1.5` is not of kind integer",
        ),
        (
            "params = { c = [0.1] }\nmetric = \"accuracy\"\nmethod = \"bayes\"",
            "search.method must be \"grid\" or \"random\"",
        ),
    ];
    for (i, (search, expected)) in cases.iter().enumerate() {
        let file = pipeline(
            dir.path(),
            &format!("bad{i}"),
            &format!(
                "[[steps]]\nid = \"train\"\nplugin = \"logreg\"\ninput = \"scale\"\n\n[steps.search]\n{search}\n"
            ),
        );
        let out = sluice(home.path())
            .args(["run", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{search}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(expected) && err.contains("step 'train'"),
            "{search}: expected {expected:?} in\n{err}"
        );
        assert!(
            err.contains(&format!("bad{i}.toml")),
            "names the file: {err}"
        );
    }
    // A search on a transform.
    let file = pipeline(
        dir.path(),
        "transform",
        "[[steps]]\nid = \"more\"\nplugin = \"standardize\"\ninput = \"scale\"\n\n[steps.search]\nmetric = \"accuracy\"\nparams = { x = [1] }\n",
    );
    let out = sluice(home.path())
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`search` is only for trainers"),
        "{}",
        stderr(&out)
    );
    // Nothing ran.
    let runs = run_json(home.path(), &["runs", "list", "--json"]);
    assert_eq!(runs.as_array().unwrap().len(), 0, "{runs}");
}
