//! Unit tests of the permutation-importance plugin, run natively (`cargo test -p permutation-importance`).

use super::*;
use sluice_sdk::testing;
use sluice_sdk::{ErrorKind, ParamValue};

/// A model that predicts 1 when `a > 0` and ignores everything else;
/// p_1 leans on `b` a little, so log loss sees `b` too.
fn toy_model(t: &Table) -> Result<Table, StepError> {
    let a = t.column("a")?.to_f64_lossy()?;
    let b = t.column("b")?.to_f64_lossy()?;
    let p: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(a, b)| if *a > 0.0 { 0.8 } else { 0.2 } + 0.1 * b)
        .collect();
    Ok(Table::new()
        .with(Column::f64("p_0", p.iter().map(|p| 1.0 - p).collect()))
        .with(Column::f64("p_1", p.clone()))
        .with(Column::i64(
            "prediction",
            a.iter().map(|&a| i64::from(a > 0.0)).collect(),
        )))
}

fn data() -> (Table, Column) {
    let n = 50;
    let a: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let b: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let c: Vec<i64> = (0..n).map(|i| i % 7).collect();
    let y: Vec<i64> = (0..n).map(|i| i64::from(i % 2 == 0)).collect();
    (
        Table::new()
            .with(Column::f64("a", a))
            .with(Column::f64("b", b))
            .with(Column::i64("c", c)),
        Column::i64("y", y),
    )
}

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&PermutationImportance::describe(), pairs)
}

#[test]
fn only_used_features_matter() {
    model::set_native_predictor(Box::new(toy_model));
    let (x, y) = data();
    let e = PermutationImportance::explain(x, Some(y), params(&[])).unwrap();
    assert_eq!(e.metric_value("baseline_score"), Some(1.0));
    assert_eq!(e.metric_value("features"), Some(3.0));
    assert_eq!(e.global[0].feature, "a");
    assert!(e.global[0].score > 0.3, "{:?}", e.global);
    // b and c do not change the predicted label: ties sorted by name.
    assert_eq!(e.global[1].feature, "b");
    assert_eq!(e.global[1].score, 0.0);
    assert_eq!(e.global[2].feature, "c");
    assert_eq!(e.global[2].score, 0.0);
}

#[test]
fn log_loss_sees_probability_features() {
    model::set_native_predictor(Box::new(toy_model));
    let (x, y) = data();
    let e = PermutationImportance::explain(
        x,
        Some(y),
        params(&[("scoring", ParamValue::Text("log_loss".into()))]),
    )
    .unwrap();
    let score = |f: &str| e.global.iter().find(|a| a.feature == f).unwrap().score;
    assert!(
        score("a") > score("b") && score("b") > 0.0,
        "{:?}",
        e.global
    );
    assert_eq!(score("c"), 0.0);
}

#[test]
fn deterministic_for_a_seed() {
    model::set_native_predictor(Box::new(toy_model));
    let (x, y) = data();
    let run = |seed: i64| {
        PermutationImportance::explain(
            x.clone(),
            Some(y.clone()),
            params(&[("seed", ParamValue::Integer(seed))]),
        )
        .unwrap()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7).global[0].score, run(8).global[0].score);
}

#[test]
fn needs_target_and_valid_params() {
    model::set_native_predictor(Box::new(toy_model));
    let (x, _) = data();
    let err = PermutationImportance::explain(x.clone(), None, params(&[])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    let err = PermutationImportance::explain(
        x,
        None,
        params(&[("scoring", ParamValue::Text("f1".into()))]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
}
