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

/// A regressor: `prediction = 2a + 0.5b + 0.05`, ignoring `c`.
fn toy_regressor(t: &Table) -> Result<Table, StepError> {
    let a = t.column("a")?.to_f64_lossy()?;
    let b = t.column("b")?.to_f64_lossy()?;
    Ok(Table::new().with(Column::f64(
        "prediction",
        a.iter()
            .zip(&b)
            .map(|(a, b)| 2.0 * a + 0.5 * b + 0.05)
            .collect(),
    )))
}

/// Rows i = 0..40: a = (7i mod 11) - 5, b = 3i mod 5, c = i mod 3 and
/// y = 2a + 0.5b + ((13i mod 7) - 3) / 10.
fn regression_data() -> (Table, Column) {
    let i = 0..40i64;
    let a: Vec<f64> = i.clone().map(|i| ((i * 7) % 11 - 5) as f64).collect();
    let b: Vec<f64> = i.clone().map(|i| ((i * 3) % 5) as f64).collect();
    let y: Vec<f64> = i
        .clone()
        .map(|i| 2.0 * a[i as usize] + 0.5 * b[i as usize] + ((i * 13) % 7 - 3) as f64 * 0.1)
        .collect();
    (
        Table::new()
            .with(Column::f64("a", a))
            .with(Column::f64("b", b))
            .with(Column::i64("c", i.map(|i| i % 3).collect())),
        Column::f64("y", y),
    )
}

fn scoring(name: &str) -> Params {
    params(&[("scoring", ParamValue::Text(name.into()))])
}

/// scikit-learn 1.9.1 on the regressor's predictions of
/// [`regression_data`]: `r2_score` 0.9990047233196693,
/// `-mean_squared_error` -0.04250000000000007, `-mean_absolute_error`
/// -0.17750000000000013. Importance is the drop of the score (a rise of
/// the error), as `sklearn.inspection.permutation_importance` reports it:
/// `a` and `b` matter, `c` is exactly 0.
#[test]
fn regression_scorings_match_scikit_learn() {
    model::set_native_predictor(Box::new(toy_regressor));
    let (x, y) = regression_data();
    for (name, baseline) in [
        ("r2", 0.999_004_723_319_669_3),
        ("neg_mean_squared_error", -0.042_500_000_000_000_07),
        ("neg_mean_absolute_error", -0.177_500_000_000_000_13),
    ] {
        let e = PermutationImportance::explain(x.clone(), Some(y.clone()), scoring(name)).unwrap();
        let got = e.metric_value("baseline_score").unwrap();
        assert!(
            (got - baseline).abs() < 1e-12,
            "{name}: {got} vs {baseline}"
        );
        let score = |f: &str| e.global.iter().find(|g| g.feature == f).unwrap().score;
        assert!(
            score("a") > score("b") && score("b") > 0.0,
            "{name}: {:?}",
            e.global
        );
        assert_eq!(score("c"), 0.0, "{name}");
    }
}

/// `roc_auc` of the classifier's `p_1`: scikit-learn's
/// `roc_auc_score(y, p)` is 0.8 here (every fifth label flipped).
#[test]
fn roc_auc_scoring_matches_scikit_learn() {
    model::set_native_predictor(Box::new(toy_model));
    let (x, _) = data();
    let y = Column::i64(
        "y",
        (0..50)
            .map(|i| i64::from((i % 2 == 0) != (i % 5 == 0)))
            .collect(),
    );
    let e = PermutationImportance::explain(x, Some(y), scoring("roc_auc")).unwrap();
    assert_eq!(e.metric_value("baseline_score"), Some(0.8));
    let score = |f: &str| e.global.iter().find(|g| g.feature == f).unwrap().score;
    assert!(score("a") > 0.0, "{:?}", e.global);
    assert_eq!(score("c"), 0.0);
}

/// A classification scoring on a regressor's continuous predictions, and a
/// regression scoring on a classifier, are refused before any shuffle, as
/// scikit-learn refuses them (it raises "Classification metrics can't
/// handle a mix of continuous and binary targets"), instead of reporting
/// importances of 0.
#[test]
fn scorings_that_do_not_fit_the_model_are_refused() {
    // Each scoring is refused as invalid params naming it and `words`.
    let refused = |x: &Table, y: &Column, names: [&str; 3], words: [&str; 2]| {
        for name in names {
            let err = PermutationImportance::explain(x.clone(), Some(y.clone()), scoring(name))
                .unwrap_err();
            assert_eq!(
                err.kind,
                ErrorKind::InvalidParams,
                "{name}: {}",
                err.message
            );
            assert!(
                err.message.contains(&format!("scoring '{name}'"))
                    && words.iter().all(|w| err.message.contains(w)),
                "{name}: {}",
                err.message
            );
        }
    };
    model::set_native_predictor(Box::new(toy_regressor));
    let (x, y) = regression_data();
    refused(
        &x,
        &y,
        ["accuracy", "log_loss", "roc_auc"],
        ["regressor", "r2"],
    );
    model::set_native_predictor(Box::new(toy_model));
    let (x, y) = data();
    refused(
        &x,
        &y,
        ["r2", "neg_mean_squared_error", "neg_mean_absolute_error"],
        ["classifier", "p_0, p_1"],
    );
    // roc_auc is binary, as scikit-learn's 'roc_auc' scorer.
    let three = Column::i64("y", (0..50).map(|i| i % 3).collect());
    let err = PermutationImportance::explain(x, Some(three), scoring("roc_auc")).unwrap_err();
    assert!(err.message.contains("3 classes"), "{}", err.message);
}
