//! `sluice runs show RUN --checks` and `--explain`: validator checks,
//! confusion matrices and top features, in the terminal and in JSON.

use crate::support::*;
use std::path::Path;

/// Runs `pipeline` in `home` (`--json`); its report, whatever its exit.
fn run(home: &Path, pipeline: &Path) -> serde_json::Value {
    let out = sluice(home)
        .arg("run")
        .arg(pipeline)
        .arg("--json")
        .output()
        .expect("run sluice");
    json(&out)
}

/// `sluice runs show RUN ARGS` in `home`, which must succeed; its stdout.
fn show(home: &Path, run: &str, args: &[&str]) -> String {
    let out = sluice(home)
        .args(["runs", "show", run])
        .args(args)
        .output()
        .expect("run sluice");
    stdout(&succeeded(out, &format!("runs show {args:?}")))
}

/// The cells of the table rows printed after the line holding `title`
/// (up to the table's bottom border), each row split on whitespace.
fn table_after(text: &str, title: &str) -> Vec<Vec<String>> {
    let start = text
        .find(title)
        .unwrap_or_else(|| panic!("no `{title}` in:\n{text}"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('╞'))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| {
            l.trim_matches('│')
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[test]
fn checks_table_names_each_check_with_its_outcome_failed_first() {
    let home = tempfile::tempdir().unwrap();
    // A ROC AUC no model reaches: the evaluate step's second check fails,
    // and is listed first.
    let pipeline = example_pipeline_in(
        home.path(),
        "strict",
        &[("min_roc_auc = 0.97", "min_roc_auc = 0.9999")],
    );
    let report = run(home.path(), &pipeline);
    assert_eq!(report["status"], "failed", "{report}");
    let id = report["run_id"].as_str().unwrap();
    let text = show(home.path(), id, &["--checks"]);

    let rows = table_after(
        &text,
        "checks of step evaluate (holdout-eval): 2 passed, 1 failed",
    );
    assert_eq!(rows[0][..3], ["roc_auc", "-", "FAILED"], "{text}");
    assert_eq!(rows[0][4..6], [">=", "0.9999"], "{text}");
    let auc: f64 = rows[0][3].parse().unwrap();
    assert!((0.9..0.9999).contains(&auc), "{text}");
    assert_eq!(rows[1][..3], ["accuracy", "-", "passed"], "{text}");
    let log_loss = rows
        .iter()
        .find(|r| r[0] == "log_loss")
        .expect("log_loss row");
    assert_eq!(log_loss[2], "passed", "{text}");
    assert_eq!(log_loss[4..6], ["<=", "1e300"], "{text}");
    assert!(
        !text.contains("0000000000"),
        "a bound in full digits:\n{text}"
    );

    let rows = table_after(
        &text,
        "checks of step validate (schema-check): 40 passed, 0 failed",
    );
    let range = rows
        .iter()
        .find(|r| r[..2] == ["range", "mean_radius"])
        .unwrap_or_else(|| panic!("no range check of mean_radius:\n{text}"));
    assert_eq!(range[2..3], ["passed"], "{text}");
    assert_eq!(range[4..6], ["[0,", "100]"], "{text}");

    // JSON: the run record with the same checks added.
    let value: serde_json::Value =
        serde_json::from_str(&show(home.path(), id, &["--checks", "--json"])).unwrap();
    assert_eq!(value["id"], id);
    assert!(value.get("explain").is_none(), "{value}");
    let checks = value["checks"].as_array().unwrap();
    let auc = checks
        .iter()
        .find(|c| c["step"] == "evaluate" && c["check"] == "roc_auc")
        .unwrap();
    assert_eq!(auc["passed"], false);
    assert_eq!(auc["bound"]["op"], ">=");
    assert_eq!(auc["bound"]["value"], 0.9999);
    assert_eq!(checks.iter().filter(|c| c["passed"] == false).count(), 1);
}

#[test]
fn explain_prints_the_confusion_matrix_and_the_top_features() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = example_pipeline_in(home.path(), "example", &[]);
    let report = run(home.path(), &pipeline);
    assert_eq!(report["status"], "succeeded", "{report}");
    let id = report["run_id"].as_str().unwrap();
    let holdout = stored_table(
        home.path(),
        &output_of(&report, "dataset:cancer", "holdout"),
    );
    let accuracy = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "evaluate")
        .unwrap()["metrics"]["accuracy"]
        .as_f64()
        .unwrap();

    let text = show(home.path(), id, &["--explain"]);
    let rows = table_after(&text, "confusion matrix of step evaluate (holdout-eval)");
    assert_eq!(rows.len(), 2, "two classes:\n{text}");
    let cells: Vec<Vec<u64>> = rows
        .iter()
        .map(|r| {
            r[1..r.len() - 1]
                .iter()
                .map(|c| c.parse().unwrap())
                .collect()
        })
        .collect();
    let total: u64 = cells.iter().flatten().sum();
    assert_eq!(total as usize, holdout.num_rows(), "{text}");
    let diagonal = cells[0][0] + cells[1][1];
    assert_eq!(diagonal as f64 / total as f64, accuracy, "{text}");

    let header = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let columns: Vec<&str> = header.lines().next().unwrap().split(',').collect();
    let features = table_after(
        &text,
        "top features of step explain (permutation-importance): 10 of 30",
    );
    assert_eq!(features.len(), 10, "{text}");
    for f in &features {
        assert!(
            columns.contains(&f[1].as_str()),
            "{} is no column:\n{text}",
            f[1]
        );
    }

    let value: serde_json::Value =
        serde_json::from_str(&show(home.path(), id, &["--explain", "--json"])).unwrap();
    assert!(value.get("checks").is_none(), "{value}");
    let confusion = &value["explain"]["confusion"][0];
    assert_eq!(confusion["labels"], serde_json::json!(["0", "1"]));
    assert_eq!(confusion["cells"], serde_json::json!(cells));
    let top = &value["explain"]["features"][0]["top"];
    assert_eq!(top[0]["feature"], features[0][1].as_str());
}

#[test]
fn a_run_without_evaluator_or_explainer_says_so() {
    let home = tempfile::tempdir().unwrap();
    let pipeline = write_pipeline(
        home.path(),
        "scale-only",
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    let report = run(home.path(), &pipeline);
    let id = report["run_id"].as_str().unwrap();
    let text = show(home.path(), id, &["--explain", "--checks"]);
    assert!(
        text.contains("no checks: the run has no validator step"),
        "{text}"
    );
    assert!(
        text.contains("nothing to explain: the run has no evaluator step")
            && text.contains("permutation-importance, kernel-shap"),
        "{text}"
    );
}

#[test]
fn a_regressor_gets_no_confusion_matrix_and_a_grid_keeps_its_order() {
    let home = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("pipelines/diabetes.toml"))
        .unwrap()
        .replace(
            "path = \"data/diabetes.csv\"",
            &format!(
                "path = {:?}",
                root()
                    .join("pipelines/data/diabetes.csv")
                    .display()
                    .to_string()
            ),
        )
        .replace(
            "plugin_dirs = [\"../target/wasm32-wasip2/release\"]",
            &format!("plugin_dirs = [{:?}]", plugin_dir().display().to_string()),
        );
    let pipeline = home.path().join("diabetes.toml");
    std::fs::write(&pipeline, text).unwrap();
    let report = run(home.path(), &pipeline);
    assert_eq!(report["status"], "succeeded", "{report}");
    let id = report["run_id"].as_str().unwrap();
    let text = show(home.path(), id, &["--explain"]);
    assert!(
        text.contains(
            "confusion matrix of step evaluate (regression-eval): not available: \
             the model of trainer step ridge is a regressor"
        ),
        "{text}"
    );
    let grid = table_after(
        &text,
        "partial dependence of step pdp (partial-dependence): 10 of 10 grid points",
    );
    let at: Vec<f64> = grid
        .iter()
        .map(|r| r[0].strip_prefix("bmi=").unwrap().parse().unwrap())
        .collect();
    assert_eq!(at.len(), 10, "{text}");
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "not in grid order:\n{text}"
    );
}
