//! Reference values come from scikit-learn 1.9.1:
//! `LogisticRegression(C=..., fit_intercept=..., solver="newton-cholesky",
//! tol=1e-12, max_iter=1000)` on the data of [`synthetic`].

use super::*;
use sluice_sdk::codec::ByteWriter;
use sluice_sdk::testing::{self, assert_close};
use sluice_sdk::{ErrorKind, ParamValue, Values};

/// 40 rows, 3 features (two f64, one i64), 14 positives, not separable.
fn synthetic() -> (Table, Column) {
    let n = 40;
    let x1: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
    let x2: Vec<f64> = (0..n).map(|i| 3.0 * (1.7 * i as f64).cos()).collect();
    let x3: Vec<i64> = (0..n).map(|i| i % 5).collect();
    let y: Vec<i64> = (0..n)
        .map(|i| {
            let s = x1[i as usize] + 0.5 * x2[i as usize] - 0.3 * x3[i as usize] as f64
                + 0.8 * (3.1 * i as f64).sin();
            i64::from(s > 0.0)
        })
        .collect();
    let features = Table::new()
        .with(Column::f64("x1", x1))
        .with(Column::f64("x2", x2))
        .with(Column::i64("x3", x3));
    (features, Column::i64("y", y))
}

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&LogReg::describe(), pairs)
}

#[test]
fn matches_scikit_learn() {
    matches_scikit_learn_with(Solver::Newton, 1e-10, 1e-12, 20);
}

/// L-BFGS stops at `tol` (1e-8 on the mean gradient), short of Newton's
/// f64 precision: the coefficients are within 1e-6 of the optimum (2.2e-7
/// measured, at C = 100 where the objective is flattest), and
/// the train log loss (not the objective: no penalty, so not flat there)
/// within 1e-8.
#[test]
fn lbfgs_matches_scikit_learn() {
    matches_scikit_learn_with(Solver::Lbfgs, 1e-6, 1e-8, 100);
}

fn matches_scikit_learn_with(solver: Solver, coef_tol: f64, loss_tol: f64, max_iterations: usize) {
    let (x, y) = synthetic();
    let cases = [
        (
            1.0,
            true,
            [
                1.710_340_201_041_024_5,
                1.032_888_616_493_501_4,
                -0.757_315_160_542_376,
            ],
            0.328_067_406_175_654_44,
            0.248_113_077_192_595_6,
        ),
        (
            0.1,
            false,
            [
                0.404_204_757_480_262_24,
                0.540_955_560_178_443_8,
                -0.350_333_416_437_395_3,
            ],
            0.0,
            0.385_443_117_894_296_25,
        ),
        (
            100.0,
            true,
            [
                5.739_935_355_808_114_5,
                2.622_274_904_573_114,
                -1.865_359_307_888_785_1,
            ],
            0.855_664_463_906_940_2,
            0.177_054_558_637_252_78,
        ),
    ];
    for (c, fit_intercept, coef, intercept, log_loss) in cases {
        let opts = FitOptions {
            c,
            fit_intercept,
            solver,
            ..FitOptions::default()
        };
        let report = train(&x, &y, &opts).unwrap();
        assert!(report.fit.converged, "C={c}: {:?}", report.fit);
        for (a, b) in report.model.coef[0].iter().zip(coef) {
            assert_close(*a, b, coef_tol);
        }
        assert_close(report.model.intercept[0], intercept, coef_tol);
        assert_close(report.train_log_loss, log_loss, loss_tol);
        assert!(
            report.fit.iterations < max_iterations,
            "{}",
            report.fit.iterations
        );
    }
}

/// Every column of `x` as f64.
fn feature_columns(x: &Table) -> Vec<Vec<f64>> {
    x.columns()
        .iter()
        .map(|c| c.to_f64_lossy().unwrap())
        .collect()
}

#[test]
fn gradient_vanishes_at_optimum() {
    let (x, y) = synthetic();
    let (_, index) = Classes::from_target(&y).unwrap();
    let labels: Vec<f64> = index.iter().map(|&k| k as f64).collect();
    let cols = feature_columns(&x);
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let opts = FitOptions::default();
    let fit = binary::fit(&refs, &labels, &opts);
    let g = binary::gradient(&refs, &labels, &opts, &fit.coef, fit.intercept);
    assert!(g.iter().all(|g| g.abs() < 1e-8 * 40.0), "{g:?}");
    // And not at a perturbed point.
    let mut off = fit.coef.clone();
    off[0] += 0.01;
    let g = binary::gradient(&refs, &labels, &opts, &off, fit.intercept);
    assert!(g[0].abs() > 1e-3);
}

#[test]
fn tiny_known_case() {
    // sklearn, C=1e6, X=[[0],[1],[2],[3]], y=[0,1,0,1]:
    // coef 0.9081831930459415, intercept -1.36227479
    let x = Table::new().with(Column::f64("x", vec![0.0, 1.0, 2.0, 3.0]));
    let y = Column::i64("y", vec![0, 1, 0, 1]);
    let opts = FitOptions {
        c: 1e6,
        ..FitOptions::default()
    };
    let report = train(&x, &y, &opts).unwrap();
    assert_close(report.model.coef[0][0], 0.908_183_193_045_941_5, 1e-6);
    assert_close(report.model.intercept[0], -1.362_274_79, 1e-6);
}

#[test]
fn separable_data_stays_finite() {
    let x = Table::new().with(Column::f64("x", (0..20).map(f64::from).collect()));
    let y = Column::bool("y", (0..20).map(|i| i >= 10).collect());
    let report = train(&x, &y, &FitOptions::default()).unwrap();
    assert!(report.fit.converged);
    assert_eq!(report.train_accuracy, 1.0);
    assert!(report.model.coef[0][0].is_finite() && report.model.coef[0][0] > 0.0);
}

#[test]
fn trainer_round_trip_and_predict_by_name() {
    let (x, y) = synthetic();
    let trained = LogReg::train(x.clone(), y.clone(), params(&[])).unwrap();
    assert_eq!(trained.metric_value("train_accuracy"), Some(0.9));
    assert_eq!(trained.metric_value("converged"), Some(1.0));
    assert!(trained.metric_value("iterations").unwrap() >= 1.0);

    let model = LogisticModel::from_bytes(&trained.model).unwrap();
    assert_eq!(model.to_bytes(), trained.model);
    assert_eq!(model.features, vec!["x1", "x2", "x3"]);
    assert_eq!(model.classes, Classes::I64(vec![0, 1]));

    // Reordered columns plus an extra one give the same predictions.
    let mut shuffled = Table::new().with(Column::strings("note", vec!["n"; 40]));
    for name in ["x3", "x1", "x2"] {
        shuffled.push(x.column(name).unwrap().clone());
    }
    let a = LogReg::predict(&trained.model, &x).unwrap();
    let b = LogReg::predict(&trained.model, &shuffled).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.names(), vec!["p_0", "p_1", "prediction"]);
    let p0 = a.column("p_0").unwrap().as_f64().unwrap();
    let p1 = a.column("p_1").unwrap().as_f64().unwrap();
    assert!(p0.iter().zip(p1).all(|(a, b)| (a + b - 1.0).abs() < 1e-15));
    let pred = a.column("prediction").unwrap().as_i64().unwrap();
    let truth = y.as_i64().unwrap();
    let correct = pred.iter().zip(truth).filter(|(a, b)| a == b).count();
    assert_eq!(correct, 36);

    let err = LogReg::predict(
        &trained.model,
        &Table::new().with(Column::f64("x1", vec![1.0])),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'x2'"), "{}", err.message);
}

#[test]
fn label_types_keep_their_type() {
    let x = Table::new().with(Column::f64("x", vec![0.0, 1.0, 2.0, 3.0]));
    let strings = Column::strings("y", ["no", "yes", "no", "yes"]);
    let t = LogReg::train(x.clone(), strings, params(&[])).unwrap();
    let out = LogReg::predict(&t.model, &x).unwrap();
    assert_eq!(out.names(), vec!["p_no", "p_yes", "prediction"]);
    assert!(out.column("prediction").unwrap().str_values().is_some());

    let floats = Column::f64("y", vec![2.0, 0.5, 2.0, 0.5]);
    let t = LogReg::train(x.clone(), floats, params(&[])).unwrap();
    let out = LogReg::predict(&t.model, &x).unwrap();
    assert_eq!(out.names(), vec!["p_0.5", "p_2", "prediction"]);
    assert!(out.column("prediction").unwrap().f64_values().is_some());

    let bools = Column::bool("y", vec![false, true, false, true]);
    let t = LogReg::train(x.clone(), bools, params(&[])).unwrap();
    let out = LogReg::predict(&t.model, &x).unwrap();
    assert_eq!(out.names(), vec!["p_false", "p_true", "prediction"]);
}

#[test]
fn bad_input_is_named() {
    let x = Table::new().with(Column::f64("x", vec![0.0, 1.0, 2.0]));
    let err = LogReg::train(x.clone(), Column::i64("y", vec![1, 1, 1]), params(&[])).unwrap_err();
    assert!(err.message.contains("found 1"), "{}", err.message);

    let nulls = Table::new().with(Column::f64("a", vec![0.0, 1.0, 2.0]).with_nulls(&[1]));
    let err = LogReg::train(nulls, Column::i64("y", vec![0, 1, 0]), params(&[])).unwrap_err();
    assert!(err.message.contains("'a'"), "{}", err.message);

    let text = Table::new().with(Column::strings("s", ["a", "b", "c"]));
    let err = LogReg::train(text, Column::i64("y", vec![0, 1, 0]), params(&[])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'s'"), "{}", err.message);

    let err = LogReg::train(
        x.clone(),
        Column::i64("y", vec![0, 1, 0]).with_nulls(&[0]),
        params(&[]),
    )
    .unwrap_err();
    assert!(err.message.contains("nulls"), "{}", err.message);

    let err = LogReg::train(
        x,
        Column::i64("y", vec![0, 1, 0]),
        params(&[("c", ParamValue::Number(0.0))]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
}

#[test]
fn model_bytes_round_trip_exactly() {
    let m = LogisticModel {
        features: vec!["a".into(), "b".into()],
        classes: Classes::Str(vec!["x".into(), "y".into()]),
        coef: vec![vec![0.1 + 0.2, -1e-310]],
        intercept: vec![std::f64::consts::PI],
    };
    let back = LogisticModel::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.coef[0][1].to_bits(), m.coef[0][1].to_bits());
    assert!(LogisticModel::from_bytes(b"LOGR\x01").is_err());
    assert!(LogisticModel::from_bytes(b"LOGR\x02").is_err());
}

#[test]
fn version_one_models_still_load() {
    // The bytes a binary model was stored as before multinomial support.
    let mut w = ByteWriter::new(*b"LOGR", 1);
    w.strs(&["a", "b"]);
    w.u8(1);
    w.i64s(&[3, 7]);
    w.f64s(&[0.5, -2.0]);
    w.f64(0.25);
    let old = w.finish();
    let model = LogisticModel::from_bytes(&old).unwrap();
    assert_eq!(model.classes, Classes::I64(vec![3, 7]));
    assert_eq!(model.coef, vec![vec![0.5, -2.0]]);
    assert_eq!(model.intercept, vec![0.25]);

    let x = Table::new()
        .with(Column::f64("b", vec![0.0, 1.0]))
        .with(Column::f64("a", vec![1.0, 0.0]));
    let out = LogReg::predict(&old, &x).unwrap();
    assert_eq!(out.names(), vec!["p_3", "p_7", "prediction"]);
    // Row 0: z = 0.5 + 0.25; row 1: z = -2 + 0.25.
    let p7 = out.column("p_7").unwrap().as_f64().unwrap();
    assert_close(p7[0], 1.0 / (1.0 + (-0.75f64).exp()), 1e-15);
    assert_close(p7[1], 1.0 / (1.0 + (1.75f64).exp()), 1e-15);
    assert_eq!(out.column("prediction").unwrap().as_i64().unwrap(), &[7, 3]);

    // A version 1 blob with three classes is corrupt.
    let mut w = ByteWriter::new(*b"LOGR", 1);
    w.strs(&["a"]);
    w.u8(1);
    w.i64s(&[0, 1, 2]);
    w.f64s(&[1.0]);
    w.f64(0.0);
    let err = LogisticModel::from_bytes(&w.finish()).unwrap_err();
    assert!(err.message.contains("two classes"), "{}", err.message);
}

/// 60 rows, 2 features, three string classes that overlap.
fn three_classes() -> (Table, Column) {
    let n = 60;
    let x1: Vec<f64> = (0..n).map(|i| (0.7 * i as f64).sin() * 2.0).collect();
    let x2: Vec<f64> = (0..n).map(|i| (1.3 * i as f64).cos() * 2.0).collect();
    let y: Vec<&str> = (0..n)
        .map(|i| {
            let s = x1[i] + 0.6 * (2.9 * i as f64).sin();
            if s < -0.7 {
                "low"
            } else if s > 0.7 || x2[i] > 1.5 {
                "high"
            } else {
                "mid"
            }
        })
        .collect();
    let features = Table::new()
        .with(Column::f64("x1", x1))
        .with(Column::f64("x2", x2));
    (features, Column::strings("y", y))
}

#[test]
fn multinomial_optimum_and_outputs() {
    let (x, y) = three_classes();
    let opts = FitOptions::default();
    let report = train(&x, &y, &opts).unwrap();
    assert!(report.fit.converged, "{:?}", report.fit);
    assert!(report.fit.iterations < 30, "{}", report.fit.iterations);
    let model = &report.model;
    assert_eq!(model.classes.texts(), vec!["high", "low", "mid"]);
    assert_eq!((model.coef.len(), model.intercept.len()), (3, 3));
    // The gauge: intercepts sum to zero, as scikit-learn's do.
    assert!(model.intercept.iter().sum::<f64>().abs() < 1e-9);
    // And the gradient vanishes there, but not nearby.
    let cols = feature_columns(&x);
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let (_, index) = Classes::from_target(&y).unwrap();
    let g = softmax::gradient(&refs, &index, 3, &opts, &model.coef, &model.intercept);
    assert!(g.iter().all(|g| g.abs() < 1e-8 * 60.0), "{g:?}");
    let mut off = model.coef.clone();
    off[1][0] += 0.01;
    let g = softmax::gradient(&refs, &index, 3, &opts, &off, &model.intercept);
    assert!(g[3].abs() > 1e-3, "{g:?}");

    let trained = LogReg::train(x.clone(), y.clone(), params(&[])).unwrap();
    let out = LogReg::predict(&trained.model, &x).unwrap();
    assert_eq!(out.names(), vec!["p_high", "p_low", "p_mid", "prediction"]);
    let p: Vec<&[f64]> = ["p_high", "p_low", "p_mid"]
        .iter()
        .map(|c| out.column(c).unwrap().as_f64().unwrap())
        .collect();
    let pred = out.column("prediction").unwrap().str_values().unwrap();
    for i in 0..60 {
        assert!((p[0][i] + p[1][i] + p[2][i] - 1.0).abs() < 1e-12);
        let best = classes::argmax(&[p[0][i], p[1][i], p[2][i]]);
        assert_eq!(pred[i], ["high", "low", "mid"][best]);
    }
    let acc = trained.metric_value("train_accuracy").unwrap();
    assert!(acc > 0.6 && acc < 1.0, "{acc}");
    // The outputs and train metrics made by class are the per-row ones.
    let back = LogisticModel::from_bytes(&trained.model).unwrap();
    let rows = back.predict_proba(&x).unwrap();
    for (i, row) in rows.iter().enumerate() {
        let by_class: Vec<f64> = p.iter().map(|p| p[i]).collect();
        assert_eq!(row, &by_class, "row {i}");
    }
    let correct: Vec<bool> = rows
        .iter()
        .zip(&index)
        .map(|(p, &k)| classes::argmax(p) == k)
        .collect();
    assert_eq!(acc, metrics::accuracy(&correct));
    assert_eq!(
        trained.metric_value("train_log_loss").unwrap(),
        metrics::multiclass_log_loss(&index, &rows)
    );
    assert_eq!(back.to_bytes(), trained.model);
}

/// Holdout accuracy equal to scikit-learn's and holdout log loss within
/// 1e-7 of it (`LogisticRegression(C=1.0, tol=1e-10)`: lbfgs, multinomial
/// on iris and wine), on the protocol of `plugins/parity`. Both fits reach
/// the same unique optimum; the tolerance covers lbfgs stopping slightly
/// short of it (measured gaps: 4e-9, 1.4e-8, 2e-10).
#[test]
fn parity_with_scikit_learn() {
    parity_with_scikit_learn_with(Solver::Newton);
}

/// The same with `solver = "lbfgs"`: the same tolerances hold.
#[test]
fn lbfgs_parity_with_scikit_learn() {
    parity_with_scikit_learn_with(Solver::Lbfgs);
}

fn parity_with_scikit_learn_with(solver: Solver) {
    for (name, target) in [
        ("breast_cancer", "benign"),
        ("iris", "species"),
        ("wine", "cultivar"),
    ] {
        let data = testing::standardize(testing::load(name, target, true));
        let opts = FitOptions {
            solver,
            ..FitOptions::default()
        };
        let report = train(&data.train, &data.train_target, &opts).unwrap();
        assert!(report.fit.converged, "{name}: {:?}", report.fit);
        let out = report.model.predict(&data.holdout).unwrap();
        let acc = testing::accuracy(&data.holdout_target, out.column("prediction").unwrap());
        let want = testing::reference(&format!("{name}/logreg_c1/accuracy"));
        assert_eq!(acc, want, "{name}");

        let proba = report.model.predict_proba(&data.holdout).unwrap();
        let truth = testing::class_index(&report.model.classes, &data.holdout_target);
        let ll = metrics::multiclass_log_loss(&truth, &proba);
        let want = testing::reference(&format!("{name}/logreg_c1/log_loss"));
        eprintln!(
            "{solver:?} {name}: holdout accuracy {acc}, log loss {ll} (scikit-learn {want}), {:?}",
            report.fit
        );
        assert!((ll - want).abs() < 1e-7, "{name}: log loss {ll} vs {want}");
    }
}

/// Both solvers reach the same multinomial optimum, with the intercepts'
/// gauge (sum zero) kept by L-BFGS too.
#[test]
fn lbfgs_multinomial_matches_newton() {
    let (x, y) = three_classes();
    let newton = train(&x, &y, &FitOptions::default()).unwrap();
    let opts = FitOptions {
        solver: Solver::Lbfgs,
        ..FitOptions::default()
    };
    let lbfgs = train(&x, &y, &opts).unwrap();
    assert!(lbfgs.fit.converged, "{:?}", lbfgs.fit);
    for (a, b) in lbfgs
        .model
        .coef
        .iter()
        .flatten()
        .zip(newton.model.coef.iter().flatten())
    {
        assert_close(*a, *b, 1e-6);
    }
    for (a, b) in lbfgs.model.intercept.iter().zip(&newton.model.intercept) {
        assert_close(*a, *b, 1e-6);
    }
    assert!(lbfgs.model.intercept.iter().sum::<f64>().abs() < 1e-9);
    assert_close(lbfgs.train_log_loss, newton.train_log_loss, 1e-8);
}

#[test]
fn solver_param() {
    let (x, y) = synthetic();
    let newton = LogReg::train(x.clone(), y.clone(), params(&[])).unwrap();
    let lbfgs = LogReg::train(
        x.clone(),
        y.clone(),
        params(&[("solver", ParamValue::Text("lbfgs".into()))]),
    )
    .unwrap();
    // Different optimisers, the same optimum to within tol.
    assert_ne!(newton.model, lbfgs.model);
    let (a, b) = (
        LogisticModel::from_bytes(&newton.model).unwrap(),
        LogisticModel::from_bytes(&lbfgs.model).unwrap(),
    );
    for (a, b) in a.coef[0].iter().zip(&b.coef[0]) {
        assert_close(*a, *b, 1e-7);
    }
    let err =
        LogReg::train(x, y, params(&[("solver", ParamValue::Text("sag".into()))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    assert!(
        err.message.contains("'newton' or 'lbfgs'"),
        "{}",
        err.message
    );
}

/// The binary `predict`, built by column, gives the same bits as the
/// classes' outputs of `predict_proba`.
#[test]
fn binary_predict_is_class_outputs_of_proba() {
    let (x, y) = synthetic();
    let report = train(&x, &y, &FitOptions::default()).unwrap();
    let fast = report.model.predict(&x).unwrap();
    let proba = report.model.predict_proba(&x).unwrap();
    let slow: Table = classes::class_outputs(&report.model.classes, &proba)
        .into_iter()
        .collect();
    assert_eq!(fast, slow);
    assert_eq!(fast.names(), vec!["p_0", "p_1", "prediction"]);
}

/// A non-finite feature value is found through the scores and named as
/// the column-by-column check names it; a model's missing feature before a
/// NaN is still reported first, as before.
#[test]
fn predict_names_non_finite_values_and_missing_features() {
    let (x, y) = synthetic();
    let report = train(&x, &y, &FitOptions::default()).unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut x1 = x.column("x1").unwrap().f64_values().unwrap().to_vec();
        x1[7] = bad;
        let t = Table::new()
            .with(Column::f64("x1", x1))
            .with(x.column("x2").unwrap().clone())
            .with(x.column("x3").unwrap().clone());
        let err = report.model.predict(&t).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(
            err.message.contains("column 'x1' has a non-finite value")
                && err.message.contains("row 7"),
            "{}",
            err.message
        );
    }
    // x2 has a NaN, x3 is missing: the first feature in the model's order
    // with a problem is named, x2.
    let mut x2 = x.column("x2").unwrap().f64_values().unwrap().to_vec();
    x2[3] = f64::NAN;
    let t = Table::new()
        .with(x.column("x1").unwrap().clone())
        .with(Column::f64("x2", x2));
    let err = report.model.predict(&t).unwrap_err();
    assert!(
        err.message.contains("column 'x2' has a non-finite value"),
        "{}",
        err.message
    );
    // Without the NaN, the missing x3 is named.
    let t = Table::new()
        .with(x.column("x1").unwrap().clone())
        .with(x.column("x2").unwrap().clone());
    let err = report.model.predict(&t).unwrap_err();
    assert!(
        err.message.contains("needs feature 'x3'"),
        "{}",
        err.message
    );
}

/// `column` with its rows reversed then rotated by `k`: a stand-in for an
/// explainer's shuffle.
fn scrambled(column: &Column, k: usize) -> Column {
    let mut order: Vec<usize> = (0..column.len()).rev().collect();
    order.rotate_left(k % column.len().max(1));
    let values = match &column.values {
        Values::F64(v) => Values::F64(order.iter().map(|&i| v[i]).collect()),
        Values::I64(v) => Values::I64(order.iter().map(|&i| v[i]).collect()),
        other => panic!("unexpected {other:?}"),
    };
    Column {
        name: column.name.clone(),
        values,
        valid: None,
    }
}

/// `predict` on `table` with `columns` in place of those of the same name.
fn predict_on_replaced(
    model: &[u8],
    table: &Table,
    columns: &[Column],
) -> Result<Table, StepError> {
    let mut replaced = table.clone();
    for c in columns {
        let j = replaced
            .columns
            .iter()
            .position(|h| h.name == c.name)
            .unwrap();
        replaced.columns[j] = c.clone();
    }
    LogReg::predict(model, &replaced)
}

/// Breast cancer, standardized, and a binary model trained on it with the
/// default params.
fn cancer_model() -> (testing::Split, Vec<u8>) {
    let data = testing::standardize(testing::load("breast_cancer", "benign", true));
    let model = LogReg::train(data.train.clone(), data.train_target.clone(), params(&[]))
        .unwrap()
        .model;
    (data, model)
}

/// A held model answers `predict-replacing` with the very bits `predict`
/// gives on the replaced table, whichever feature is replaced (in a group
/// of four, or one of the last ones), and when it is not replaced at all.
/// Breast cancer has 30 features: groups 0-27, then 28 and 29.
#[test]
fn held_binary_model_answers_exactly_as_predict() {
    let (data, model) = cancer_model();
    let table = data.holdout.clone();
    let mut held = LogReg::hold(model.clone(), table.clone()).unwrap();
    assert_eq!(
        held.predict_replacing(Vec::new()).unwrap(),
        LogReg::predict(&model, &table).unwrap()
    );
    let names: Vec<String> = table.names().iter().map(|s| s.to_string()).collect();
    let mut cases: Vec<Vec<Column>> = [0, 1, 3, 4, 13, 27, 28, 29]
        .iter()
        .map(|&j| vec![scrambled(&table.columns[j], j + 1)])
        .collect();
    // Two at once, the later one first.
    cases.push(vec![
        scrambled(&table.columns[29], 5),
        scrambled(&table.columns[6], 7),
    ]);
    for columns in cases {
        let got = held.predict_replacing(columns.clone()).unwrap();
        let want = predict_on_replaced(&model, &table, &columns).unwrap();
        let what: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(got, want, "replacing {what:?}");
        // A shuffle changes the answer, so the comparison can fail.
        assert_ne!(got, LogReg::predict(&model, &table).unwrap(), "{what:?}");
    }
    // Not a held column, twice the same one, a wrong length: named.
    let short = Column::f64(&names[2], vec![0.0; 3]);
    for (columns, message) in [
        (
            vec![Column::f64("nope", vec![0.0; table.num_rows()])],
            "'nope' is not in the held table",
        ),
        (vec![short], "has 3 rows"),
    ] {
        let err = held.predict_replacing(columns).unwrap_err();
        assert!(err.message.contains(message), "{}", err.message);
    }
    // What predict refuses, a held model refuses alike: a non-finite value
    // and a null.
    let mut bad = table.columns[5].clone();
    if let Values::F64(v) = &mut bad.values {
        v[3] = f64::NAN;
    }
    let err = held.predict_replacing(vec![bad.clone()]).unwrap_err();
    let want = predict_on_replaced(&model, &table, &[bad]).unwrap_err();
    assert_eq!(err.message, want.message);
    let mut nulls = table.columns[9].clone();
    nulls.valid = Some((0..table.num_rows()).map(|i| i != 2).collect());
    let err = held.predict_replacing(vec![nulls.clone()]).unwrap_err();
    assert_eq!(
        err.message,
        predict_on_replaced(&model, &table, &[nulls])
            .unwrap_err()
            .message
    );
    // And after those the held table is as it was.
    assert_eq!(
        held.predict_replacing(Vec::new()).unwrap(),
        LogReg::predict(&model, &table).unwrap()
    );
}

/// Asked for `prediction` alone, a held binary model gives the labels
/// `predict` gives without computing probabilities, whatever is replaced;
/// other outputs are picked from the whole answer, in the order asked.
#[test]
fn held_binary_model_answers_the_outputs_asked_for() {
    let (data, model) = cancer_model();
    let table = data.holdout.clone();
    let mut held = LogReg::hold(model.clone(), table.clone()).unwrap();
    let prediction = vec!["prediction".to_string()];
    for columns in [
        Vec::new(),
        vec![scrambled(&table.columns[0], 1)],
        vec![scrambled(&table.columns[29], 2)],
    ] {
        let whole = held.predict_replacing(columns.clone()).unwrap();
        let alone = held.predict_outputs(columns.clone(), &prediction).unwrap();
        assert_eq!(alone.names(), ["prediction"]);
        assert_eq!(alone.columns[0], *whole.column("prediction").unwrap());
        let names: Vec<String> = whole.names().iter().rev().map(|s| s.to_string()).collect();
        let reordered = held.predict_outputs(columns, &names).unwrap();
        assert_eq!(
            reordered.names(),
            whole.names().into_iter().rev().collect::<Vec<_>>()
        );
    }
    // A feature replaced so that every row's score is about 0 (within
    // rounding), in both directions: each label then comes from the
    // score summed exactly as predict sums it, and must be predict's.
    let logistic = LogisticModel::from_bytes(&model).unwrap();
    let k = 5;
    let w = logistic.coef[0][k];
    let j = table.position(&logistic.features[k]).unwrap();
    let z = LogReg::predict(&model, &table).unwrap();
    let p1 = z.columns[1].f64_values().unwrap();
    let old = table.columns[j].f64_values().unwrap();
    for tilt in [0.0, 1e-12, -1e-12, 1e-7, -1e-7] {
        let zeroing: Vec<f64> = old
            .iter()
            .zip(p1)
            .map(|(&x, &p)| x - ((p / (1.0 - p)).ln() + tilt) / w)
            .collect();
        let column = Column::f64(table.columns[j].name.clone(), zeroing);
        let want = predict_on_replaced(&model, &table, std::slice::from_ref(&column)).unwrap();
        let got = held.predict_outputs(vec![column], &prediction).unwrap();
        assert_eq!(
            got.columns[0],
            *want.column("prediction").unwrap(),
            "tilt {tilt}"
        );
    }
    let err = held
        .predict_outputs(Vec::new(), &["p_2".to_string()])
        .unwrap_err();
    assert!(err.message.contains("no column 'p_2'"), "{}", err.message);
}

/// The labels from scores alone are those of the probabilities, at and
/// around 0 too, where `exp(-z)` rounds to 1 and `p_1` to 0.5.
#[test]
fn binary_labels_are_those_of_the_probabilities() {
    let model = LogisticModel::from_bytes(&cancer_model().1).unwrap();
    let mut z = vec![0.0, -0.0, 0.5, -0.5, 30.0, -30.0, 800.0, -800.0];
    for e in [-300, -17, -16, -15, -8, -7, -6, -5] {
        let x = 10f64.powi(e);
        z.extend([x, -x, x * 1.1, -x * 1.1, x * 0.9, -x * 0.9]);
    }
    z.extend([
        f64::EPSILON / 2.0,
        f64::EPSILON,
        2.0 * f64::EPSILON,
        1e-6,
        1e-6 + 1e-18,
    ]);
    let want = model.binary_outputs(z.clone());
    let got = model.binary_labels(&z);
    assert_eq!(got, *want.column("prediction").unwrap());
    // Both labels occur, so the comparison can fail.
    let labels: std::collections::BTreeSet<String> =
        (0..z.len()).filter_map(|i| got.value_text(i)).collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
}

/// Models the fast way does not cover (three classes; an i64 feature) are
/// held the general way, with the same answers as `predict`.
#[test]
fn other_held_models_answer_as_predict() {
    let (features, target) = three_classes();
    let model = LogReg::train(features.clone(), target, params(&[]))
        .unwrap()
        .model;
    let mut held = LogReg::hold(model.clone(), features.clone()).unwrap();
    let columns = vec![scrambled(&features.columns[0], 3)];
    assert_eq!(
        held.predict_replacing(columns.clone()).unwrap(),
        predict_on_replaced(&model, &features, &columns).unwrap()
    );

    let (features, target) = synthetic(); // x3 is i64
    let model = LogReg::train(features.clone(), target, params(&[]))
        .unwrap()
        .model;
    let mut held = LogReg::hold(model.clone(), features.clone()).unwrap();
    for j in 0..3 {
        let columns = vec![scrambled(&features.columns[j], j + 2)];
        assert_eq!(
            held.predict_replacing(columns.clone()).unwrap(),
            predict_on_replaced(&model, &features, &columns).unwrap()
        );
    }
}

/// Row by row, what `binary::sigmoids` and `binary::loss_and_residuals`
/// compute over slices: the references they are tested against.
///
/// `1 / (1 + exp(-z))`: `1 / (1 + e)` for `z >= 0`, `e / (1 + e)` below,
/// with `e = exp(-|z|)`.
fn sigmoid(z: f64) -> f64 {
    let e = sluice_sdk::math::exp(-z.abs());
    let numerator = if z >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

/// `log(1 + exp(z))` without overflow.
fn softplus(z: f64) -> f64 {
    let e = sluice_sdk::math::exp(-z.abs());
    z.max(0.0) + ln_1p_of(e, 1.0 + e)
}

/// `ln(1 + e)` for `e` in `[0, 1]`, from `u = 1 + e`: `ln(u) * e / (u -
/// 1)`, where the quotient corrects the rounding of `u` (Goldberg, "What
/// every computer scientist should know about floating-point arithmetic",
/// theorem 4); `e` itself when `u` rounds to 1.
fn ln_1p_of(e: f64, u: f64) -> f64 {
    let corrected = sluice_sdk::math::ln(u) * (e / (u - 1.0));
    if u == 1.0 { e } else { corrected }
}

/// The reference loss's `ln(1 + e)` stays within a few ulps of `ln_1p`
/// over `[0, 1]`, tiny values included.
#[test]
fn ln_1p_of_matches_ln_1p() {
    let mut worst = 0.0f64;
    let mut e = 1.0f64;
    while e > 1e-300 {
        for x in [e, e * 0.7319, e * 0.5000001] {
            let want = x.ln_1p();
            let got = ln_1p_of(x, 1.0 + x);
            let ulps = ((got - want) / (want * f64::EPSILON)).abs();
            worst = worst.max(ulps);
            assert!(
                ulps <= 4.0,
                "ln_1p({x:e}): {got:e} vs {want:e}, {ulps} ulps"
            );
        }
        e *= 0.93;
    }
    assert_eq!(ln_1p_of(0.0, 1.0), 0.0);
    eprintln!("ln_1p_of: at most {worst} ulps from ln_1p");
}

#[test]
fn sigmoids_and_loss_match_the_row_by_row_functions() {
    // Scores across the range, with the extremes where exp underflows and
    // 1 + e rounds to 1.
    let mut z: Vec<f64> = (0..2001).map(|i| (i as f64 - 1000.0) / 25.0).collect();
    z.extend([
        -800.0, -745.5, -40.0, -1e-300, 0.0, -0.0, 1e-300, 40.0, 745.5, 800.0,
    ]);
    let y: Vec<f64> = (0..z.len()).map(|i| (i % 3 == 0) as u8 as f64).collect();
    let p = binary::sigmoids(&z);
    let mut resid = vec![0.0; z.len()];
    let loss = binary::loss_and_residuals(&z, &y, &mut resid);
    let mut terms = Vec::new();
    for i in 0..z.len() {
        assert_eq!(p[i].to_bits(), sigmoid(z[i]).to_bits(), "sigmoid({})", z[i]);
        assert_eq!(
            resid[i].to_bits(),
            (p[i] - y[i]).to_bits(),
            "residual at {}",
            z[i]
        );
        terms.push(softplus(z[i]) - y[i] * z[i]);
    }
    // The same terms, summed in another order.
    let want: f64 = terms.iter().sum();
    assert!(
        (loss - want).abs() <= 1e-12 * want.abs(),
        "{loss} vs {want}"
    );
    // And close to the textbook values.
    for (i, &z) in z.iter().enumerate() {
        let reference = 1.0 / (1.0 + (-z).exp());
        assert!(
            (p[i] - reference).abs() <= 4.0 * f64::EPSILON * reference.max(1e-300),
            "{z}"
        );
    }
}
