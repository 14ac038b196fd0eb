//! Bad pipeline files give clear errors, all at once, and run nothing.

use crate::support::*;

fn run_bad(body: &str) -> (String, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write_pipeline(dir.path(), "bad", body);
    let home = dir.path().join("home");
    let out = sluice(&home).arg("run").arg(&pipeline).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    // Nothing ran: no run recorded.
    let list = sluice(&home)
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(json(&list), serde_json::json!([]));
    (stderr(&out), pipeline, dir)
}

#[test]
fn every_problem_is_reported_together_with_file_and_step() {
    let (err, pipeline, _dir) = run_bad(
        r#"
[[steps]]
id = "scale"
plugin = "standardize"
input = "nowhere"
params = { colour = "blue" }

[[steps]]
id = "train"
plugin = "logreg"
input = "scale"
params = { c = "large" }

[[steps]]
id = "evaluate"
plugin = "holdout-eval"
input = "scale"
model = "scale"

[[steps]]
id = "ghost"
plugin = "no-such-plugin"
input = "cancer"
"#,
    );
    assert!(err.contains(&pipeline.display().to_string()), "{err}");
    for needle in [
        "step 'scale': input 'nowhere' is neither a dataset nor a step",
        "step 'scale': unknown param 'colour'",
        "step 'train': param 'c' must be a number",
        "step 'evaluate': model 'scale' is a transform step, not a trainer",
        "step 'evaluate': param 'target' (text) is required",
        "step 'ghost': plugin 'no-such-plugin' not found",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
}

#[test]
fn cycles_are_refused() {
    let (err, _, _dir) = run_bad(
        r#"
[[steps]]
id = "a"
plugin = "impute"
input = "b"

[[steps]]
id = "b"
plugin = "standardize"
input = "a"
"#,
    );
    assert!(err.contains("steps form a cycle: a -> b"), "{err}");
}

/// Issue 18, point 15: a cycle message names the steps on the cycle, not
/// the steps downstream of it that only wait for it.
#[test]
fn a_cycle_message_names_only_the_cycle() {
    let (err, _, _dir) = run_bad(
        r#"
[[steps]]
id = "downstream"
plugin = "standardize"
input = "b"

[[steps]]
id = "a"
plugin = "impute"
input = "b"

[[steps]]
id = "b"
plugin = "standardize"
input = "a"
"#,
    );
    let line = err
        .lines()
        .find(|l| l.contains("steps form a cycle"))
        .unwrap_or_else(|| panic!("no cycle in {err}"));
    assert!(
        line.contains("b -> a -> b") || line.contains("a -> b -> a"),
        "{line}"
    );
    assert!(!line.contains("downstream"), "{line}");
}

/// Issue 18, point 15: a step id that imitates a dataset step
/// (`dataset:d`) or holds other punctuation is refused when the pipeline
/// is loaded, before it can be recorded.
#[test]
fn step_ids_that_imitate_dataset_steps_are_refused() {
    for id in ["dataset:cancer", "a/b", "two words", "tab\tid"] {
        let (err, _, _dir) = run_bad(&format!(
            "[[steps]]\nid = \"{id}\"\nplugin = \"standardize\"\ninput = \"cancer\"\n"
        ));
        assert!(
            err.contains("a step id may hold only letters"),
            "{id}: {err}"
        );
    }
}

#[test]
fn syntax_errors_and_unknown_keys_name_the_file() {
    let (err, pipeline, _dir) =
        run_bad("[[steps]]\nid = \"a\"\nplugin = \"impute\"\ninput = \"cancer\"\nretries = 3\n");
    assert!(err.contains(&pipeline.display().to_string()), "{err}");
    assert!(err.contains("unknown field `retries`"), "{err}");
    let (err, _, _dir) = run_bad("[[steps]\nid = ");
    assert!(err.contains("bad.toml"), "{err}");
}

#[test]
fn limits_above_the_maximum_are_refused() {
    let (err, _, _dir) = run_bad(
        r#"
[[steps]]
id = "scale"
plugin = "standardize"
input = "cancer"
limits = { memory_mib = 999999 }
"#,
    );
    assert!(
        err.contains("step 'scale': limits.memory_mib must be between 1 and 4096"),
        "{err}"
    );
}

#[test]
fn registering_from_a_non_trainer_and_bad_gates_are_refused() {
    let (err, _, _dir) = run_bad(
        r#"
[models.m]
gates = ["evaluate.auc > 0.9"]

[[steps]]
id = "scale"
plugin = "standardize"
input = "cancer"
register = "m"
"#,
    );
    assert!(
        err.contains("step 'scale': `register` is only for trainers"),
        "{err}"
    );
    assert!(
        err.contains("[models.m]: gate `evaluate.auc > 0.9`"),
        "{err}"
    );
}

/// An embedder plans a pipeline from a string: the same checks as a file,
/// the errors naming the path it stands for, the step and the field.
#[test]
fn a_pipeline_planned_from_a_string_is_checked_as_a_file_is() {
    use sluice::pipeline::{PipelineError, Plan, PlanOptions};
    let dir = tempfile::tempdir().unwrap();
    let text = |body: &str| {
        let file = write_pipeline(dir.path(), "inline", body);
        std::fs::read_to_string(file).unwrap()
    };
    // Nothing is read from the path: it names the text in errors.
    let path = dir.path().join("not-written/inline.toml");
    let plan_of =
        |text: &str| Plan::from_str(text, &path, shared_runtime(), &PlanOptions::default());

    let unknown =
        text("[[steps]]\nid = \"a\"\nplugin = \"impute\"\ninput = \"cancer\"\nretries = 3\n");
    let err = plan_of(&unknown)
        .err()
        .expect("an unknown field is refused");
    assert!(matches!(err, PipelineError::Parse { .. }), "{err}");
    let err = err.to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("unknown field `retries`"), "{err}");

    let bad_param = text(
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\nparams = { nope = 1 }\n",
    );
    let err = plan_of(&bad_param)
        .err()
        .expect("an unknown param is refused");
    assert!(matches!(err, PipelineError::Invalid { .. }), "{err}");
    let err = err.to_string();
    assert!(err.contains("scale") && err.contains("nope"), "{err}");

    let good = text("[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n");
    let plan = plan_of(&good).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.path, path);
    assert_eq!(plan.definition, good);
    assert_eq!(
        plan.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["scale"]
    );
    // The same text read from a file plans the same.
    let file = dir.path().join("inline.toml");
    let from_file = sluice::pipeline::load_plan(&file, shared_runtime(), &PlanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_file.definition_sha256, plan.definition_sha256);
}

/// A declared rollout reading a monitor check the model does not have is
/// refused when the file is loaded, not when a retrained version has
/// passed its gates and its rollout cannot start.
#[test]
fn a_rollout_reading_a_missing_monitor_check_is_refused_at_load() {
    let (err, _, _dir) = run_bad(
        r#"
[models.m.rollout]
steps = [50, 100]
checks = ["performance.accuracy >= production - 0.01", "service.error_rate <= 0.01"]

[[steps]]
id = "train"
plugin = "logreg"
input = "cancer"
register = "m"
"#,
    );
    assert!(
        err.contains(
            "[models.m.rollout]: check `performance.accuracy >= production - 0.01` reads \
             monitor check `performance`, which the model's monitor does not have (its \
             checks: service)"
        ),
        "{err}"
    );
    assert!(!err.contains("`service.error_rate"), "{err}");
}
