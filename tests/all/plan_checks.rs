//! Checks that come before the run (issue 23, point 2): a param outside
//! the values its plugin's `describe()` allows (a misspelled choice, a
//! number out of range), in the file, a search or a `-P` override, and a
//! promotion gate naming a metric no step can give the model, are refused
//! when the pipeline is planned, naming the file, the step or model and
//! what is allowed; no run starts. `sluice plugin inspect` shows the
//! allowed values and the metrics a plugin reports.

use crate::cache::BODY;
use crate::support::*;
use std::path::{Path, PathBuf};

/// Runs `pipeline` with `extra` arguments: it must be refused as bad input
/// (exit 2) with no run recorded. Returns stderr.
fn refused(home: &Path, pipeline: &Path, extra: &[&str]) -> String {
    let out = sluice(home)
        .arg("run")
        .arg(pipeline)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("nothing was run"), "{err}");
    assert!(err.contains(&pipeline.display().to_string()), "{err}");
    // No run row: the plan failed before the run was recorded.
    let runs = ok_json(home, &["runs", "list", "--json"]);
    assert_eq!(runs, serde_json::json!([]), "{err}");
    err
}

fn pipeline(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut body = BODY.to_string();
    for (from, to) in edits {
        assert!(body.contains(from), "{from}");
        body = body.replace(from, to);
    }
    write_pipeline(dir, name, &body)
}

#[test]
fn a_misspelled_choice_is_refused_at_plan_time_with_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let p = pipeline(
        dir.path(),
        "misspelled",
        &[(
            "params = { n_repeats = 2, seed = 1 }",
            "params = { n_repeats = 2, seed = 1, scoring = \"acuracy\" }",
        )],
    );
    let err = refused(&home, &p, &[]);
    assert!(
        err.contains(
            "step 'explain': param 'scoring' is \"acuracy\", not one of: accuracy, log_loss, \
             roc_auc, r2, neg_mean_squared_error, neg_mean_absolute_error (did you mean \
             \"accuracy\"?)"
        ),
        "{err}"
    );
    assert!(err.contains("permutation-importance@"), "{err}");
}

#[test]
fn numbers_out_of_range_are_refused_in_the_file_a_search_and_an_override() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");

    // In the file: `c` must be > 0, `n_repeats` >= 1; both reported.
    let p = pipeline(
        dir.path(),
        "ranges",
        &[
            ("params = { c = 1.0 }", "params = { c = 0 }"),
            ("n_repeats = 2", "n_repeats = 0"),
        ],
    );
    let err = refused(&home, &p, &[]);
    assert!(
        err.contains("step 'train': param 'c' is 0, but must be > 0 (plugin logreg@"),
        "{err}"
    );
    assert!(
        err.contains("step 'explain': param 'n_repeats' is 0, but must be >= 1"),
        "{err}"
    );

    // In a search: every value of a grid is checked.
    let p = pipeline(
        dir.path(),
        "searched",
        &[(
            "params = { c = 1.0 }",
            "[steps.search]\nmetric = \"accuracy\"\nfolds = 2\nparams = { c = [0.5, -1.0] }",
        )],
    );
    let err = refused(&home, &p, &[]);
    assert!(
        err.contains("step 'train': search.params.c: a value is -1, but must be > 0"),
        "{err}"
    );

    // From the command line: the same check as the file's own params.
    let p = pipeline(dir.path(), "overridden", &[]);
    let err = refused(
        &home,
        &p,
        &["-P", "train.c=-0.5", "-P", "impute.strategy=mode"],
    );
    assert!(
        err.contains("step 'train': param 'c' is -0.5, but must be > 0"),
        "{err}"
    );
    assert!(
        err.contains(
            "step 'impute': param 'strategy' is \"mode\", not one of: mean, median, \
             most_frequent, constant"
        ),
        "{err}"
    );
    // In range, the same override runs.
    let report = ok_json(
        &home,
        &["run", p.to_str().unwrap(), "-P", "train.c=0.5", "--json"],
    );
    assert_eq!(report["status"], "succeeded", "{report}");
}

const GATED: &str = "[models.cancer]\ngates = [GATES]\n";

fn gated(dir: &Path, name: &str, gates: &str) -> PathBuf {
    let mut body = GATED.replace("GATES", gates);
    body.push_str(&BODY.replace(
        "params = { c = 1.0 }",
        "params = { c = 1.0 }\nregister = \"cancer\"",
    ));
    write_pipeline(dir, name, &body)
}

#[test]
fn a_gate_on_a_metric_no_step_gives_the_model_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");

    // A misspelled metric: the evaluator's metrics, and the likely one.
    let p = gated(dir.path(), "typo", r#""evaluate.acuracy >= 0.8""#);
    let err = refused(&home, &p, &[]);
    assert!(
        err.contains(
            "[models.cancer]: gate `evaluate.acuracy >= 0.8`: step `evaluate` (plugin \
             holdout-eval@"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "never reports metric `acuracy` (did you mean `evaluate.accuracy`?); it \
             reports: accuracy, roc_auc, log_loss, rows"
        ),
        "{err}"
    );

    // A step that is not there, and one that does not score the model.
    let p = gated(
        dir.path(),
        "steps",
        r#""evalute.accuracy >= 0.8", "impute.rows >= 1""#,
    );
    let err = refused(&home, &p, &[]);
    assert!(
        err.contains(
            "gate `evalute.accuracy >= 0.8`: the pipeline has no step `evalute`; a gate names \
             a metric as STEP.METRIC, where STEP trains or evaluates the model: `train`, \
             `evaluate`, `explain`"
        ),
        "{err}"
    );
    assert!(
        err.contains("gate `impute.rows >= 1`: step `impute` neither trains nor evaluates"),
        "{err}"
    );

    // Metrics each step can give pass: the trainer's, an evaluator's, an
    // explainer's.
    let p = gated(
        dir.path(),
        "fine",
        r#""evaluate.accuracy >= 0.8", "train.train_accuracy >= 0.5", "explain.baseline_score >= 0""#,
    );
    let report = ok_json(&home, &["run", p.to_str().unwrap(), "--json"]);
    assert_eq!(report["status"], "succeeded", "{report}");
}

#[test]
fn plugin_inspect_shows_allowed_values_and_metrics() {
    let home = tempfile::tempdir().unwrap();
    let out = succeeded(
        sluice(home.path())
            .args(["plugin", "inspect"])
            .arg(plugin("permutation-importance"))
            .output()
            .unwrap(),
        "plugin inspect",
    );
    let text = stdout(&out);
    assert!(text.contains("allowed"), "{text}");
    assert!(
        text.contains("one of: accuracy, log_loss, roc_auc, r2"),
        "{text}"
    );
    assert!(text.contains(">= 1"), "{text}");
    assert!(
        text.contains("metrics:  baseline_score, features"),
        "{text}"
    );

    let shown = ok_json(
        home.path(),
        &[
            "plugin",
            "inspect",
            "--json",
            plugin("logreg").to_str().unwrap(),
        ],
    );
    let param = |name: &str| {
        shown["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        param("solver")["choices"],
        serde_json::json!(["newton", "lbfgs"])
    );
    assert_eq!(param("c")["allowed"], "> 0");
    assert_eq!(param("c")["range"]["min"], 0.0);
    assert_eq!(param("c")["range"]["min_inclusive"], false);
    assert_eq!(param("fit_intercept")["allowed"], serde_json::Value::Null);
    assert!(
        shown["metrics"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("train_accuracy")),
        "{shown}"
    );
}

/// A step that ran out of time in the pipeline's last run is named before
/// the next run starts, with its time, its limit and how much the data
/// grew since (the dataset file, read then from the store).
#[test]
fn a_step_that_ran_out_of_time_is_named_before_the_next_run() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let data = dir.path().join("cancer.csv");
    std::fs::write(&data, &csv).unwrap();
    let tenant = data_dirs(&[dir.path()]);
    ok_json(
        home.path(),
        &["tenants", "set", "default", &tenant, "--json"],
    );
    let pipeline = dir.path().join("slow.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[pipeline]\nname = \"slow\"\nversion = \"dev\"\nseed = 1\nplugin_dirs = [{:?}, {:?}]\n\n\
             [datasets.cancer]\npath = \"cancer.csv\"\ntarget = \"benign\"\n\n\
             [[steps]]\nid = \"wait\"\nplugin = \"hostile\"\ninput = \"cancer\"\n\
             params = {{ attack = \"sleep\" }}\nlimits = {{ timeout_ms = 300 }}\n",
            plugin_dir().display().to_string(),
            test_plugin_dir().display().to_string(),
        ),
    )
    .unwrap();
    let run = || {
        sluice(home.path())
            .arg("run")
            .arg(&pipeline)
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        !stderr(&first).contains("warning: step"),
        "{}",
        stderr(&first)
    );

    // Three times the rows.
    let (header, rows) = csv.split_once('\n').unwrap();
    std::fs::write(&data, format!("{header}\n{rows}{rows}{rows}")).unwrap();
    let second = run();
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let err = stderr(&second);
    let warning = err
        .find("warning: step 'wait' ran out of time after 0.")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        err.contains("the data is 3.0x as large now") && err.contains("its time limit is 0.3 s"),
        "{err}"
    );
    // Before the run, not after it.
    assert!(warning < err.find("run failed").unwrap(), "{err}");
}
