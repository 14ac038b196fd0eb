//! `sluice plugin test`: the conformance suite passes the plugins of every
//! language, and fails (naming the check) a plugin that breaks the rules.

use crate::support::*;
use sluice::conformance::{SuiteOptions, SuiteReport, run_suite};
use sluice::wit;

fn suite(name: &str, options: &SuiteOptions) -> SuiteReport {
    let rt = shared_runtime();
    let p = rt
        .load(&plugin(name))
        .unwrap_or_else(|e| panic!("load {name}: {e}"));
    block_on(run_suite(rt, &p, options))
}

fn assert_passes(name: &str, options: &SuiteOptions) {
    let report = suite(name, options);
    let failed: Vec<_> = report.failed().collect();
    assert!(failed.is_empty(), "{name} fails conformance: {failed:#?}");
    // Every check of its world ran.
    for check in [
        "describe",
        "params.defaults",
        "params.unknown",
        "input.empty-table",
        "input.zero-rows",
        "input.nulls",
        "input.column-types",
        "deterministic",
    ] {
        assert!(
            report.checks.iter().any(|c| c.name == check),
            "{name}: no {check} check in {:?}",
            report.checks
        );
    }
}

#[test]
fn python_plugins_pass_the_suite() {
    for name in ["py-null-check", "py-clip", "py-naive-bayes"] {
        assert_passes(name, &SuiteOptions::default());
    }
}

#[test]
fn javascript_plugins_pass_the_suite() {
    for name in ["js-range-check", "js-log-transform"] {
        assert_passes(name, &SuiteOptions::default());
    }
}

#[test]
fn c_and_rust_plugins_pass_the_suite() {
    for name in ["c-robust-scale", "standardize", "logreg"] {
        assert_passes(name, &SuiteOptions::default());
    }
    // A model validator, against a model trained by the suite.
    let trainer = shared_runtime().load(&plugin("logreg")).unwrap();
    let options = SuiteOptions {
        model: Some(trainer),
        params: vec![wit::Param {
            name: "target".into(),
            value: wit::ParamValue::Text("label".into()),
        }],
        table: None,
    };
    assert_passes("holdout-eval", &options);
}

/// Every trainer gets the `holding` check: those built with the Rust SDK
/// export `holding` and answer as `predict`; the Python one does not
/// export it, and passes saying so.
#[test]
fn trainers_pass_the_holding_check() {
    for (name, exports) in [
        ("logreg", true),
        ("gbt", true),
        ("knn", true),
        ("decision-tree", true),
        ("linear", true),
        ("py-naive-bayes", false),
    ] {
        // linear's default (alpha = 0) is singular on the suite's table.
        let params = match name {
            "linear" => vec![wit::Param {
                name: "alpha".into(),
                value: wit::ParamValue::Number(1.0),
            }],
            _ => Vec::new(),
        };
        let options = SuiteOptions {
            params,
            ..SuiteOptions::default()
        };
        let report = suite(name, &options);
        let check = report
            .checks
            .iter()
            .find(|c| c.name == "holding")
            .unwrap_or_else(|| panic!("{name}: no holding check in {:?}", report.checks));
        assert!(check.passed, "{name}: {check:?}");
        let says = if exports {
            "answers as predict"
        } else {
            "no holding export"
        };
        assert!(check.detail.contains(says), "{name}: {}", check.detail);
    }
}

/// A trainer whose `predict-replacing` ignores the new columns fails the
/// `holding` check, naming the feature.
#[test]
fn a_trainer_that_holds_a_stale_table_fails_holding() {
    let report = suite("hostile-trainer", &SuiteOptions::default());
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1, "{:#?}", report.checks);
    assert_eq!(failed[0].name, "holding");
    assert!(
        failed[0]
            .detail
            .contains("reversed: predict-replacing gave a different table than predict"),
        "{}",
        failed[0].detail
    );
}

#[test]
fn a_transform_that_ignores_its_state_fails_wrong_types() {
    // identity hands strings back where it was fitted on numbers.
    let report = suite("identity", &SuiteOptions::default());
    let failed: Vec<_> = report.failed().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["input.wrong-types"], "{:#?}", report.checks);
}

#[test]
fn a_required_param_not_given_fails_the_param_checks() {
    let report = suite("holdout-eval", &SuiteOptions::default());
    let defaults = report
        .checks
        .iter()
        .find(|c| c.name == "params.defaults")
        .unwrap();
    assert!(!defaults.passed);
    assert!(
        defaults.detail.contains("--param target=VALUE"),
        "{}",
        defaults.detail
    );
}

#[test]
fn plugin_test_exit_codes_and_report() {
    let home = tempfile::tempdir().unwrap();
    let ok = sluice(home.path())
        .args(["plugin", "test"])
        .arg(plugin("c-robust-scale"))
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    let out = stdout(&ok);
    for check in [
        "describe",
        "params.unknown",
        "input.wrong-types",
        "round-trip",
        "deterministic",
    ] {
        assert!(out.contains(check), "no {check} in\n{out}");
    }
    assert!(out.contains("10 of 10 checks passed"), "{out}");

    // A panicking fit: the input checks fail as traps, exit 1.
    let trap = sluice(home.path())
        .args(["plugin", "test", "--json", "--param", "attack=panic"])
        .arg(plugin("hostile"))
        .output()
        .unwrap();
    assert_eq!(trap.status.code(), Some(1), "{}", stderr(&trap));
    let report = json(&trap);
    assert_eq!(report["passed"], false);
    let input = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "input.column-types")
        .unwrap();
    assert_eq!(input["passed"], false);
    assert!(
        input["detail"].as_str().unwrap().contains("trapped"),
        "{input}"
    );

    // Not a component, and a param the plugin does not declare: exit 2.
    let junk = home.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap();
    let bad = sluice(home.path())
        .args(["plugin", "test"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("junk.wasm"), "{}", stderr(&bad));
    let bad = sluice(home.path())
        .args(["plugin", "test", "--param", "nope=1"])
        .arg(plugin("c-robust-scale"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("no param 'nope'"), "{}", stderr(&bad));
}

/// `--input`: a plugin for string columns (ordinal-encode) fails
/// `input.wrong-types` on the generated numeric table (it has no string
/// column to encode, so numbers as strings are just more categories), and
/// passes it on a table of the user's with a string column, whose strings
/// given back as numbers are refused. The round trip encodes that table.
#[test]
fn plugin_test_input_runs_the_checks_on_the_users_table() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("colors.csv");
    std::fs::write(&data, "color,size\nred,1\nblue,2\ngreen,3\nred,4\nblue,5\n").unwrap();
    let check = |report: &serde_json::Value, name: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report}"))
            .clone()
    };
    let generated = sluice(home.path())
        .args(["plugin", "test", "--json"])
        .arg(plugin("ordinal-encode"))
        .output()
        .unwrap();
    assert_eq!(generated.status.code(), Some(1), "{}", stderr(&generated));
    let generated = json(&generated);
    assert_eq!(check(&generated, "input.wrong-types")["passed"], false);
    assert!(generated["input"].is_null(), "{generated}");

    let mine = sluice(home.path())
        .args(["plugin", "test", "--json", "--input"])
        .arg(&data)
        .arg(plugin("ordinal-encode"))
        .output()
        .unwrap();
    assert_eq!(
        mine.status.code(),
        Some(0),
        "{}{}",
        stdout(&mine),
        stderr(&mine)
    );
    let mine = json(&mine);
    let wrong = check(&mine, "input.wrong-types");
    assert_eq!(wrong["passed"], true, "{mine}");
    assert!(
        wrong["detail"].as_str().unwrap().contains("column 'color'"),
        "{wrong}"
    );
    let round = check(&mine, "round-trip");
    assert!(
        round["detail"]
            .as_str()
            .unwrap()
            .contains("5 rows out for 5 rows in"),
        "{round}"
    );
    assert_eq!(mine["input"], data.display().to_string());
    assert!(
        mine["checks_on_input"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "round-trip"),
        "{mine}"
    );

    // A file it cannot read: bad input, named.
    let bad = sluice(home.path())
        .args(["plugin", "test", "--input", "nope.csv"])
        .arg(plugin("ordinal-encode"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("--input nope.csv"),
        "{}",
        stderr(&bad)
    );
}

/// `--target` names the column of `--input` a trainer trains on; a column
/// that is not there is named with the ones that are.
#[test]
fn plugin_test_target_names_the_trainers_column_of_the_input() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("churn.csv");
    let mut csv = String::from("tenure,spend,churned\n");
    for i in 0..40 {
        let churned = i % 3 == 0;
        let tenure = if churned { i % 7 } else { 10 + i % 13 };
        csv += &format!("{tenure},{}.5,{}\n", 20 + (i * 7) % 31, churned as i64);
    }
    std::fs::write(&data, csv).unwrap();
    let test = |target: &str| {
        sluice(home.path())
            .args(["plugin", "test", "--json", "--input"])
            .arg(&data)
            .args(["--target", target])
            .arg(plugin("logreg"))
            .output()
            .unwrap()
    };
    let out = test("churned");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let report = json(&out);
    let round = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "round-trip")
        .unwrap();
    assert_eq!(round["passed"], true, "{report}");
    assert!(
        round["detail"].as_str().unwrap().contains("40 rows"),
        "{round}"
    );

    let out = test("nope");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--target nope: no such column (its columns: tenure, spend, churned)"),
        "{}",
        stderr(&out)
    );
}
