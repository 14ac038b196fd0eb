//! Hand-checked cases, error paths, model bytes, and parity with
//! scikit-learn 1.9.1 (`plugins/parity`).

use super::*;
use sluice_sdk::testing::{self, assert_close, int, text};
use sluice_sdk::{ErrorKind, ParamValue};

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&DecisionTree::describe(), pairs)
}

fn line(xs: &[f64]) -> Table {
    Table::new().with(Column::f64("x", xs.to_vec()))
}

fn classifier(max_depth: Option<usize>, min_leaf: usize) -> TreeOptions {
    TreeOptions {
        mode: Mode::Classification,
        grow: GrowOptions {
            max_depth,
            min_samples_split: 2,
            min_samples_leaf: min_leaf,
        },
    }
}

#[test]
fn one_split_separates_two_classes() {
    let x = line(&[1.0, 2.0, 3.0, 4.0]);
    let y = Column::strings("y", ["a", "a", "b", "b"]);
    let trained = DecisionTree::train(x, y, params(&[])).unwrap();
    assert_eq!(trained.metric_value("depth"), Some(1.0));
    assert_eq!(trained.metric_value("leaves"), Some(2.0));
    assert_eq!(trained.metric_value("train_accuracy"), Some(1.0));
    let model = TreeModel::from_bytes(&trained.model).unwrap();
    assert_eq!(model.tree.feature[0], Some(0));
    assert_eq!(model.tree.threshold[0], 2.5);
    let out = DecisionTree::predict(&trained.model, &line(&[2.4, 2.5, 2.6, -9.0])).unwrap();
    assert_eq!(out.names(), vec!["p_a", "p_b", "prediction"]);
    let pred = out.column("prediction").unwrap().as_str().unwrap();
    assert_eq!(pred, ["a", "a", "b", "a"]);
    assert_eq!(
        out.column("p_b").unwrap().as_f64().unwrap(),
        [0.0, 0.0, 1.0, 0.0]
    );
}

#[test]
fn ties_go_to_the_lowest_threshold_and_the_first_feature() {
    // y = 0 1 1 0: splitting after row 0 or after row 2 both score
    // -3 * (1 - 5/9); after row 1 scores -2 (worse, gini is higher).
    let x = line(&[1.0, 2.0, 3.0, 4.0]);
    let y = Column::i64("y", vec![0, 1, 1, 0]);
    let report = train(&x, &y, &classifier(Some(1), 1)).unwrap();
    assert_eq!(report.model.tree.threshold[0], 1.5);
    // min_samples_leaf = 2 leaves only the middle split.
    let report = train(&x, &y, &classifier(Some(1), 2)).unwrap();
    assert_eq!(report.model.tree.threshold[0], 2.5);

    // Two identical features: the first is used.
    let twins = Table::new()
        .with(Column::f64("b", vec![1.0, 2.0, 3.0, 4.0]))
        .with(Column::f64("a", vec![1.0, 2.0, 3.0, 4.0]));
    let report = train(
        &twins,
        &Column::i64("y", vec![0, 0, 1, 1]),
        &classifier(None, 1),
    )
    .unwrap();
    assert_eq!(report.model.tree.feature[0], Some(0));
}

#[test]
fn leaf_proportions_and_argmax_ties() {
    // max_depth 1: x <= 1.5 holds {a, b}, x > 1.5 holds {a, a, b}.
    let x = line(&[1.0, 1.0, 2.0, 2.0, 2.0]);
    let y = Column::strings("y", ["a", "b", "a", "a", "b"]);
    let trained = DecisionTree::train(x, y, params(&[("max_depth", int(1))])).unwrap();
    assert_eq!(trained.metric_value("train_accuracy"), Some(0.6));
    let out = DecisionTree::predict(&trained.model, &line(&[1.0, 2.0])).unwrap();
    let p_a = out.column("p_a").unwrap().as_f64().unwrap();
    assert_eq!(p_a[0], 0.5);
    assert_close(p_a[1], 2.0 / 3.0, 1e-15);
    // 0.5 / 0.5 goes to the first class.
    assert_eq!(
        out.column("prediction").unwrap().as_str().unwrap(),
        ["a", "a"]
    );
}

#[test]
fn regression_by_hand() {
    // Candidates (proxy sum_l^2/n_l + sum_r^2/n_r): after 1 -> 1 + 49/3,
    // after 2 -> 2 + 18, after 3 -> 3 + 25: split at 6.5 into means 1, 5.
    let x = line(&[1.0, 2.0, 3.0, 10.0]);
    let y = Column::f64("y", vec![1.0, 1.0, 1.0, 5.0]);
    let trained = DecisionTree::train(x, y, params(&[("mode", text("regression"))])).unwrap();
    assert_eq!(trained.metric_value("depth"), Some(1.0));
    assert_eq!(trained.metric_value("leaves"), Some(2.0));
    assert_eq!(trained.metric_value("train_rmse"), Some(0.0));
    let model = TreeModel::from_bytes(&trained.model).unwrap();
    assert_eq!(model.tree.threshold[0], 6.5);
    let out = DecisionTree::predict(&trained.model, &line(&[0.0, 6.5, 7.0])).unwrap();
    assert_eq!(out.names(), vec!["prediction"]);
    assert_eq!(
        out.column("prediction").unwrap().as_f64().unwrap(),
        [1.0, 1.0, 5.0]
    );

    // A stump predicts the mean; RMSE is the standard deviation.
    let y = Column::i64("y", vec![0, 2, 4, 6]);
    let trained = DecisionTree::train(
        line(&[1.0, 2.0, 3.0, 4.0]),
        y,
        params(&[("mode", text("regression")), ("min_samples_split", int(5))]),
    )
    .unwrap();
    assert_eq!(trained.metric_value("leaves"), Some(1.0));
    assert_eq!(trained.metric_value("depth"), Some(0.0));
    assert_close(
        trained.metric_value("train_rmse").unwrap(),
        5f64.sqrt(),
        1e-15,
    );
}

#[test]
fn depth_limit_and_constant_features() {
    // Eight rows, eight classes: every split scores -(p - 1) - (7 - p) = -6,
    // so each node splits off its lowest row and the tree is a chain.
    let x = line(&(0..8).map(f64::from).collect::<Vec<_>>());
    let y = Column::i64("y", (0..8).collect());
    let full = train(&x, &y, &classifier(None, 1)).unwrap();
    assert_eq!(full.model.tree.depth(), 7);
    assert_eq!(full.model.tree.leaves(), 8);
    assert_eq!(full.model.tree.threshold[0], 0.5);
    assert_eq!(full.train_score, 1.0);
    // Depth 2: leaves {0}, {1}, {2..7}; the last predicts class 2 (ties to
    // the first class), so 3 of 8 rows are right.
    let two = train(&x, &y, &classifier(Some(2), 1)).unwrap();
    assert_eq!(two.model.tree.depth(), 2);
    assert_eq!(two.model.tree.leaves(), 3);
    assert_eq!(two.train_score, 0.375);

    // Constant features cannot split: one leaf.
    let flat = Table::new().with(Column::f64("c", vec![3.0; 4]));
    let report = train(
        &flat,
        &Column::i64("y", vec![0, 1, 0, 1]),
        &classifier(None, 1),
    )
    .unwrap();
    assert_eq!(report.model.tree.nodes(), 1);
    // Values within 1e-7 count as equal, as in scikit-learn.
    let near = line(&[1.0, 1.0 + 1e-9, 1.0, 1.0 + 1e-9]);
    let report = train(
        &near,
        &Column::i64("y", vec![0, 1, 0, 1]),
        &classifier(None, 1),
    )
    .unwrap();
    assert_eq!(report.model.tree.nodes(), 1);
}

#[test]
fn midpoint_threshold_as_scikit_learn() {
    let x = line(&[0.1, 0.2]);
    let report = train(
        &x,
        &Column::bool("y", vec![false, true]),
        &classifier(None, 1),
    )
    .unwrap();
    assert_eq!(report.model.tree.threshold[0], 0.1 / 2.0 + 0.2 / 2.0);
    // Adjacent floats: the midpoint rounds to the upper value, so the lower
    // one is used and the upper row still goes right.
    let a = 2f64.powi(60);
    let b = f64::from_bits(a.to_bits() + 1);
    let x = Table::new().with(Column::f64("x", vec![a, b]));
    let report = train(
        &x,
        &Column::bool("y", vec![false, true]),
        &classifier(None, 1),
    )
    .unwrap();
    assert_eq!(report.model.tree.threshold[0], a);
    let out = report.model.predict(&x).unwrap();
    assert_eq!(
        out.column("prediction").unwrap().as_bool().unwrap(),
        [false, true]
    );
}

#[test]
fn model_bytes_round_trip_exactly() {
    let x = Table::new()
        .with(Column::f64("a", vec![0.1, 0.3, 0.2, 0.7, 0.5]))
        .with(Column::i64("b", vec![1, 0, 1, 0, 1]));
    for (y, mode) in [
        (
            Column::strings("y", ["p", "q", "p", "r", "q"]),
            Mode::Classification,
        ),
        (
            Column::f64("y", vec![0.1, 0.2, 0.3, 0.4, 1e-310]),
            Mode::Regression,
        ),
    ] {
        let opts = TreeOptions {
            mode,
            grow: GrowOptions::default(),
        };
        let model = train(&x, &y, &opts).unwrap().model;
        let bytes = model.to_bytes();
        let back = TreeModel::from_bytes(&bytes).unwrap();
        assert_eq!(back, model);
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.predict(&x).unwrap(), model.predict(&x).unwrap());
    }
    // A child pointing back at its parent would loop: rejected.
    let model = train(
        &line(&[1.0, 2.0]),
        &Column::i64("y", vec![0, 1]),
        &classifier(None, 1),
    )
    .unwrap()
    .model;
    let mut bad = model.clone();
    bad.tree.left[0] = 0;
    let err = TreeModel::from_bytes(&bad.to_bytes()).unwrap_err();
    assert!(err.message.contains("child"), "{}", err.message);
    assert!(TreeModel::from_bytes(b"CART\x01").is_err());
}

#[test]
fn bad_input_and_params_are_named() {
    let x = line(&[0.0, 1.0, 2.0]);
    let y = Column::i64("y", vec![0, 1, 0]);
    for (name, value) in [
        ("mode", text("ranking")),
        ("max_depth", int(-1)),
        ("min_samples_split", int(1)),
        ("min_samples_leaf", int(0)),
    ] {
        let err = DecisionTree::train(x.clone(), y.clone(), params(&[(name, value)])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParams);
        assert!(err.message.contains(name), "{}", err.message);
    }
    let nulls = Table::new().with(Column::f64("a", vec![0.0, 1.0, 2.0]).with_nulls(&[1]));
    let err = DecisionTree::train(nulls, y.clone(), params(&[])).unwrap_err();
    assert!(err.message.contains("'a'"), "{}", err.message);
    let err = DecisionTree::train(
        x.clone(),
        Column::strings("y", ["a", "b", "c"]),
        params(&[("mode", text("regression"))]),
    )
    .unwrap_err();
    assert!(err.message.contains("'y'"), "{}", err.message);
    let err = DecisionTree::train(x.clone(), y.clone().with_nulls(&[2]), params(&[])).unwrap_err();
    assert!(err.message.contains("nulls"), "{}", err.message);

    let trained = DecisionTree::train(x, y, params(&[])).unwrap();
    let err = DecisionTree::predict(
        &trained.model,
        &Table::new().with(Column::f64("z", vec![1.0])),
    )
    .unwrap_err();
    assert!(err.message.contains("'x'"), "{}", err.message);
}

/// The tree-parity tolerance: scikit-learn's split search is the same as
/// this plugin's, but it visits features in a random order
/// (`random_state`) and keeps the first of equally good splits, where this
/// plugin keeps the first column. Features giving the very same partition
/// (radius / perimeter / area in breast cancer; any two features separating
/// a two-row node) tie exactly, so the trees differ on ties, and
/// scikit-learn's own metric moves with the seed (the reference records its
/// min / max over random_state 0..29). So each case checks:
///
/// - depth and leaf count equal scikit-learn's exactly (tie choices change
///   thresholds and features, not how far the tree grows);
/// - the metric is inside scikit-learn's seed range widened by 0.02;
/// - except for the unlimited regression tree (326 leaves, mostly one-row
///   ones built by tied splits: scikit-learn's R2 spans -0.59 ..-0.36 over
///   seeds), the metric is within 0.02 of random_state=0's (accuracy: or
///   one holdout row, if that is more: iris 1/37, wine 1/44; RMSE: 2%).
fn check_tree(key: &str, metric: &str, got: f64, to_seed0: Option<f64>, trained: &Trained) {
    let want = testing::reference(&format!("{key}/{metric}"));
    let lo = testing::reference(&format!("{key}/{metric}_seed_min"));
    let hi = testing::reference(&format!("{key}/{metric}_seed_max"));
    let (depth, leaves) = (
        testing::reference(&format!("{key}/depth")),
        testing::reference(&format!("{key}/leaves")),
    );
    eprintln!(
        "{key}/{metric}: sluice {got}, sklearn {want} (seeds {lo} ..{hi}); depth {:?} vs {depth}, leaves {:?} vs {leaves}",
        trained.metric_value("depth"),
        trained.metric_value("leaves"),
    );
    let widen = if metric == "rmse" { 0.02 * want } else { 0.02 };
    assert!(
        got >= lo - widen && got <= hi + widen,
        "{key}/{metric}: {got} outside seed range"
    );
    if let Some(tol) = to_seed0 {
        assert!(
            (got - want).abs() <= tol + 1e-12,
            "{key}/{metric}: {got} vs {want}"
        );
    }
    assert_eq!(trained.metric_value("depth"), Some(depth), "{key}");
    assert_eq!(trained.metric_value("leaves"), Some(leaves), "{key}");
}

/// Holdout accuracy of `DecisionTreeClassifier(max_depth=5 | None,
/// random_state=0)` on raw breast cancer, iris and wine features; the
/// tolerances are at [`check_tree`].
#[test]
fn parity_with_scikit_learn_classifiers() {
    for (name, target) in [
        ("breast_cancer", "benign"),
        ("iris", "species"),
        ("wine", "cultivar"),
    ] {
        let data = testing::load(name, target, true);
        let one_row = 1.0 / data.holdout_target.len() as f64;
        for (key, depth) in [("depth5", 5), ("unlimited", 0)] {
            let trained = DecisionTree::train(
                data.train.clone(),
                data.train_target.clone(),
                params(&[("max_depth", int(depth))]),
            )
            .unwrap();
            let out = DecisionTree::predict(&trained.model, &data.holdout).unwrap();
            let accuracy =
                testing::accuracy(&data.holdout_target, out.column("prediction").unwrap());
            let key = format!("{name}/tree_{key}");
            check_tree(
                &key,
                "accuracy",
                accuracy,
                Some(one_row.max(0.02)),
                &trained,
            );
        }
    }
}

/// Holdout R2 and RMSE of `DecisionTreeRegressor(max_depth=5 | None,
/// random_state=0)` on raw diabetes features; the tolerances are at
/// [`check_tree`].
#[test]
fn parity_with_scikit_learn_regressor() {
    let data = testing::load("diabetes", "progression", false);
    for (key, depth) in [("depth5", 5), ("unlimited", 0)] {
        let trained = DecisionTree::train(
            data.train.clone(),
            data.train_target.clone(),
            params(&[("mode", text("regression")), ("max_depth", int(depth))]),
        )
        .unwrap();
        let out = DecisionTree::predict(&trained.model, &data.holdout).unwrap();
        let pred = out.column("prediction").unwrap().as_f64().unwrap();
        let (r2, rmse) = testing::r2_rmse(data.holdout_target.as_f64().unwrap(), pred);
        let key = format!("diabetes/tree_{key}");
        let bounded = depth > 0;
        let rmse_ref = testing::reference(&format!("{key}/rmse"));
        check_tree(&key, "r2", r2, bounded.then_some(0.02), &trained);
        check_tree(
            &key,
            "rmse",
            rmse,
            bounded.then_some(0.02 * rmse_ref),
            &trained,
        );
    }
}
