//! Checks the plugin against NannyML's CBPE itself, from
//! `reference/nannyml_reference.json` (written by `make_reference.py`):
//! estimates, thresholds, alerts and the calibration decision on three
//! seeded cases (calibrated, overconfident and underconfident scores), each
//! with `calibrate` auto, isotonic and none; plus the pieces under them
//! (scikit-learn's isotonic regression, numpy's MT19937 permutations,
//! `StratifiedShuffleSplit`'s rows, the calibration errors).

use crate::calibration::{CalibrationVerdict, calibration_verdict, stratified_shuffle_splits};
use crate::mt19937::RandomState;
use crate::{Cbpe, Isotonic, Metric};
use sluice_sdk::testing::{self, int, text};
use sluice_sdk::{Column, Table, Validator};

const REFERENCE: &str = include_str!("../reference/nannyml_reference.json");

/// How far the plugin's numbers may be from NannyML's.
const TOLERANCE: f64 = 1e-6;

const CASES: [&str; 4] = ["calibrated", "overconfident", "underconfident", "coarse"];
const CHUNK: usize = 300;

/// The text of the value stored under `key` (the file has one
/// `"key": value` per line).
fn raw(key: &str) -> &'static str {
    let needle = format!("\"{key}\": ");
    let start = REFERENCE
        .find(&needle)
        .unwrap_or_else(|| panic!("no {key} in nannyml_reference.json"))
        + needle.len();
    let line = REFERENCE[start..].lines().next().unwrap();
    line.trim_end().trim_end_matches(',')
}

fn parse(text: &str) -> f64 {
    match text.trim() {
        "NaN" => f64::NAN,
        "true" => 1.0,
        "false" => 0.0,
        t => t.parse().unwrap_or_else(|e| panic!("{t}: {e}")),
    }
}

fn num(key: &str) -> f64 {
    parse(raw(key))
}

fn nums(key: &str) -> Vec<f64> {
    let text = raw(key);
    let inner = text.trim_start_matches('[').trim_end_matches(']');
    inner.split(',').map(parse).collect()
}

fn flag(key: &str) -> bool {
    num(key) == 1.0
}

fn close(ours: f64, theirs: f64, what: &str) {
    let ok = (ours.is_nan() && theirs.is_nan()) || (ours - theirs).abs() <= TOLERANCE;
    assert!(ok, "{what}: ours {ours}, NannyML {theirs}");
}

fn labels(values: Vec<f64>) -> Vec<i64> {
    values.into_iter().map(|v| v as i64).collect()
}

fn reference_table(case: &str) -> Table {
    Table::new()
        .with(Column::f64("p_1", nums(&format!("{case}/reference/score"))))
        .with(Column::i64(
            "prediction",
            labels(nums(&format!("{case}/reference/pred"))),
        ))
        .with(Column::i64(
            "y",
            labels(nums(&format!("{case}/reference/y"))),
        ))
}

#[test]
fn estimates_thresholds_and_alerts_match_nannyml() {
    let metrics = Metric::ALL.map(Metric::name).join(",");
    let mut worst: f64 = 0.0;
    for case in CASES {
        let score = nums(&format!("{case}/analysis/score"));
        let pred = labels(nums(&format!("{case}/analysis/pred")));
        for mode in ["auto", "isotonic", "none"] {
            let key = |metric: &str, what: &str| format!("{case}/{mode}/{metric}/{what}");
            for chunk in 0..score.len() / CHUNK {
                let rows = chunk * CHUNK..(chunk + 1) * CHUNK;
                let data = Table::new()
                    .with(Column::i64("prediction", pred[rows.clone()].to_vec()))
                    .with(Column::f64("p_1", score[rows].to_vec()));
                let params = testing::params(
                    &Cbpe::describe(),
                    &[
                        ("target", text("y")),
                        ("metrics", text(&metrics)),
                        ("calibrate", text(mode)),
                        ("chunk_size", int(0)),
                    ],
                );
                let report = Cbpe::validate(data, Some(reference_table(case)), params).unwrap();
                let calibrated = report.metric_value("calibrated") == Some(1.0);
                assert_eq!(
                    calibrated,
                    flag(&format!("{case}/{mode}/calibrated")),
                    "{case}/{mode}: calibrated"
                );
                for metric in Metric::ALL.map(Metric::name) {
                    let ours = report.metric_value(&format!("estimated_{metric}")).unwrap();
                    let theirs = nums(&key(metric, "estimated"))[chunk];
                    close(
                        ours,
                        theirs,
                        &format!("{case}/{mode}/{metric} chunk {chunk}"),
                    );
                    worst = worst.max((ours - theirs).abs());
                    for bound in ["lower", "upper"] {
                        let ours = report.metric_value(&format!("{metric}.{bound}")).unwrap();
                        let theirs = num(&key(metric, bound));
                        close(ours, theirs, &format!("{case}/{mode}/{metric}.{bound}"));
                        worst = worst.max((ours - theirs).abs());
                    }
                    let alert = nums(&key(metric, "alert"))[chunk] == 1.0;
                    let check = report.find_check(&format!("estimated_{metric}")).unwrap();
                    assert_eq!(
                        check.passed, !alert,
                        "{case}/{mode}/{metric} chunk {chunk}: {}",
                        check.detail
                    );
                }
            }
        }
    }
    eprintln!("largest deviation from NannyML: {worst:e}");
}

#[test]
fn the_calibration_decision_and_its_errors_match_nannyml() {
    for case in CASES {
        let truth: Vec<bool> = nums(&format!("{case}/reference/y"))
            .iter()
            .map(|&y| y == 1.0)
            .collect();
        let score = nums(&format!("{case}/reference/score"));
        let verdict = calibration_verdict(&truth, &score);
        assert_eq!(
            verdict.needs_calibration(),
            flag(&format!("{case}/needs_calibration")),
            "{case}: {verdict:?}"
        );
        let CalibrationVerdict::Tested(test) = verdict else {
            panic!("{case}: {verdict:?}");
        };
        // NannyML's ECEs with a stable sort for ties, as the plugin sorts.
        testing::assert_close(
            test.ece_before,
            num(&format!("{case}/ece_before_stable_sort")),
            1e-12,
        );
        testing::assert_close(
            test.ece_after,
            num(&format!("{case}/ece_after_stable_sort")),
            1e-12,
        );
        let splits = stratified_shuffle_splits(&truth, 10, 0.1, 42).unwrap();
        let first: Vec<f64> = splits[0].1[..50].iter().map(|&i| i as f64).collect();
        assert_eq!(
            first,
            nums(&format!("{case}/split_test_rows_first_50")),
            "{case}"
        );
    }
}

#[test]
fn isotonic_regression_matches_scikit_learn() {
    for case in CASES {
        let score = nums(&format!("{case}/reference/score"));
        let y = nums(&format!("{case}/reference/y"));
        let map = Isotonic::fit(&score, &y).unwrap();
        let grid = nums(&format!("{case}/isotonic/grid"));
        let expected = nums(&format!("{case}/isotonic/predict"));
        for (x, want) in grid.iter().zip(expected) {
            testing::assert_close(map.predict(*x), want, 1e-12);
        }
    }
}

#[test]
fn permutations_match_numpy_random_state() {
    let ten: Vec<f64> = RandomState::new(42)
        .permutation(10)
        .into_iter()
        .map(|i| i as f64)
        .collect();
    assert_eq!(ten, nums("numpy/RandomState(42).permutation(10)"));
    let thousand: Vec<f64> = RandomState::new(3).permutation(1000)[..20]
        .iter()
        .map(|&i| i as f64)
        .collect();
    assert_eq!(
        thousand,
        nums("numpy/RandomState(3).permutation(1000)[:20]")
    );
}
