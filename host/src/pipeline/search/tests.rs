//! Unit tests of search: scores against scikit-learn, the grid order,
//! random draws and the errors of bad spaces.

use super::trials::{Space, grid, space};
use super::*;
use crate::data::SplitMix64;
use crate::pipeline::params::param_json;
use crate::wit;

fn col(name: &str, values: wit::Values) -> wit::Column {
    wit::Column {
        name: name.into(),
        values,
        valid: None,
    }
}

fn classifier_output(p1: &[f64]) -> wit::Table {
    wit::Table {
        columns: vec![
            col(
                "p_0",
                wit::Values::F64s(p1.iter().map(|p| 1.0 - p).collect()),
            ),
            col("p_1", wit::Values::F64s(p1.to_vec())),
            col(
                "prediction",
                wit::Values::I64s(p1.iter().map(|&p| i64::from(p >= 0.5)).collect()),
            ),
        ],
    }
}

#[test]
fn classification_scores_match_scikit_learn() {
    // sklearn: y = [0, 0, 1, 1, 1], p = [0.1, 0.6, 0.35, 0.8, 0.9]
    // accuracy_score 0.6, f1_score 0.666667, roc_auc_score 0.833333,
    // log_loss 0.479995 (computed by hand below as well).
    let truth = col("y", wit::Values::I64s(vec![0, 0, 1, 1, 1]));
    let out = classifier_output(&[0.1, 0.6, 0.35, 0.8, 0.9]);
    let s = |m| score(m, "1", &out, &truth).unwrap();
    assert!((s(Metric::Accuracy) - 0.6).abs() < 1e-12);
    assert!((s(Metric::F1) - 2.0 / 3.0).abs() < 1e-12);
    assert!((s(Metric::RocAuc) - 5.0 / 6.0).abs() < 1e-12);
    let expected = -(0.9f64.ln() + 0.4f64.ln() + 0.35f64.ln() + 0.8f64.ln() + 0.9f64.ln()) / 5.0;
    assert!((s(Metric::LogLoss) - expected).abs() < 1e-12);
    assert!((expected - 0.479_995).abs() < 1e-6);
    // A null label is left out.
    let mut truth = truth;
    truth.valid = Some(vec![true, true, true, true, false]);
    assert!((score(Metric::Accuracy, "1", &out, &truth).unwrap() - 0.5).abs() < 1e-12);
}

#[test]
fn regression_scores_match_scikit_learn() {
    let truth = col("y", wit::Values::F64s(vec![3.0, -0.5, 2.0, 7.0]));
    let out = wit::Table {
        columns: vec![col(
            "prediction",
            wit::Values::F64s(vec![2.5, 0.0, 2.0, 8.0]),
        )],
    };
    // sklearn's r2_score docs example: 0.948...; MSE 0.375.
    let r2 = score(Metric::R2, "1", &out, &truth).unwrap();
    assert!((r2 - 0.948_608_137_044_968).abs() < 1e-12);
    let rmse = score(Metric::Rmse, "1", &out, &truth).unwrap();
    assert!((rmse - 0.375f64.sqrt()).abs() < 1e-12);
    let mae = score(Metric::Mae, "1", &out, &truth).unwrap();
    assert!((mae - 0.5).abs() < 1e-12);
}

#[test]
fn a_wrong_output_is_named() {
    let truth = col("y", wit::Values::I64s(vec![0, 1]));
    let out = wit::Table {
        columns: vec![col("prediction", wit::Values::I64s(vec![0, 1]))],
    };
    let e = score(Metric::RocAuc, "1", &out, &truth).unwrap_err();
    assert!(e.contains("'p_1'") && e.contains("search.positive"), "{e}");
    let e = score(
        Metric::Accuracy,
        "1",
        &wit::Table { columns: vec![] },
        &truth,
    )
    .unwrap_err();
    assert!(e.contains("'prediction'"), "{e}");
    let one_class = col("y", wit::Values::I64s(vec![1, 1]));
    let e = score(
        Metric::RocAuc,
        "1",
        &classifier_output(&[0.2, 0.7]),
        &one_class,
    )
    .unwrap_err();
    assert!(e.contains("both classes"), "{e}");
}

#[test]
fn grid_order_and_random_draws() {
    let spaces = vec![
        (
            "a".to_string(),
            Space::Values(vec![
                wit::ParamValue::Integer(1),
                wit::ParamValue::Integer(2),
            ]),
        ),
        (
            "b".to_string(),
            Space::Values(vec![
                wit::ParamValue::Number(0.1),
                wit::ParamValue::Number(0.2),
                wit::ParamValue::Number(0.3),
            ]),
        ),
    ];
    let points = grid(&spaces);
    assert_eq!(points.len(), 6);
    let first: Vec<String> = points
        .iter()
        .map(|p| format!("{}/{}", param_json(&p[0].1), param_json(&p[1].1)))
        .collect();
    assert_eq!(first[0], "1/0.1");
    assert_eq!(first[1], "1/0.2");
    assert_eq!(first[3], "2/0.1");

    let mut rng = SplitMix64(7);
    let log = Space::Uniform {
        lo: 1e-3,
        hi: 10.0,
        log: true,
    };
    let ints = Space::IntUniform {
        lo: 2,
        hi: 4,
        as_number: false,
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let wit::ParamValue::Number(x) = log.draw(&mut rng) else {
            panic!("a number")
        };
        assert!((1e-3..10.0).contains(&x));
        let wit::ParamValue::Integer(i) = ints.draw(&mut rng) else {
            panic!("an integer")
        };
        seen.insert(i);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![2, 3, 4]);
}

#[test]
fn bad_spaces_are_explained() {
    let v = |s: &str| -> toml::Value { toml::from_str::<toml::Table>(s).unwrap()["x"].clone() };
    assert!(
        space("number", &v("x = 1.0"), false)
            .unwrap_err()
            .contains("list of values")
    );
    assert!(
        space("number", &v("x = []"), false)
            .unwrap_err()
            .contains("empty")
    );
    assert!(
        space("integer", &v("x = [1, 2.5]"), false)
            .unwrap_err()
            .contains("2.5")
    );
    assert!(
        space("number", &v("x = { uniform = [0, 1] }"), false)
            .unwrap_err()
            .contains("random")
    );
    assert!(
        space("number", &v("x = { log_uniform = [0, 1] }"), true)
            .unwrap_err()
            .contains("lo > 0")
    );
    assert!(
        space("text", &v("x = { uniform = [0, 1] }"), true)
            .unwrap_err()
            .contains("list of values")
    );
    assert!(
        space("number", &v("x = { normal = [0, 1] }"), true)
            .unwrap_err()
            .contains("unknown distribution")
    );
    assert!(space("integer", &v("x = { int_uniform = [1, 5] }"), true).is_ok());
}
