//! Unit tests of the kernel-shap plugin, run natively (`cargo test -p kernel-shap`).

use super::*;
use sluice_sdk::testing::{self, int};
use sluice_sdk::{ErrorKind, ParamValue};
use std::sync::atomic::Ordering;

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    testing::params(&KernelShap::describe(), pairs)
}

/// A linear model `w . x + b` over the named columns.
fn linear(
    names: Vec<String>,
    w: Vec<f64>,
    b: f64,
) -> impl Fn(&Table) -> Result<Vec<f64>, StepError> {
    move |t: &Table| {
        let mut out = vec![b; t.num_rows()];
        for (name, wi) in names.iter().zip(&w) {
            let x = t.column(name)?.to_f64_lossy()?;
            out.iter_mut().zip(x).for_each(|(o, x)| *o += wi * x);
        }
        Ok(out)
    }
}

/// `m` features `x0..`, `n` rows of deterministic, varied values.
fn table(m: usize, n: usize) -> (Table, Vec<String>) {
    let names: Vec<String> = (0..m).map(|j| format!("x{j}")).collect();
    let mut t = Table::new();
    for (j, name) in names.iter().enumerate() {
        let v = (0..n)
            .map(|i| ((i * (j + 3) * 7 + j * 5) % 11) as f64 / 2.0 - 1.5)
            .collect();
        t.push(Column::f64(name.clone(), v));
    }
    (t, names)
}

fn value(e: &Explanation, f: &str) -> f64 {
    e.global.iter().find(|a| a.feature == f).unwrap().score
}

/// The exact SHAP values of a linear model: w_i (x_i - mean_i).
fn check_linear(e: &Explanation, t: &Table, rows: &[usize], row: usize, w: &[f64], b: f64) {
    let mut base = b;
    let mut fx = b;
    for (j, wj) in w.iter().enumerate() {
        let x = t.columns[j].to_f64_lossy().unwrap();
        let mean = rows.iter().map(|&i| x[i]).sum::<f64>() / rows.len() as f64;
        let expected = wj * (x[row] - mean);
        let got = value(e, &t.columns[j].name);
        assert!(
            (got - expected).abs() < 1e-9,
            "{}: {got} vs {expected}",
            t.columns[j].name
        );
        base += wj * mean;
        fx += wj * x[row];
    }
    let base_value = e.metric_value("base_value").unwrap();
    let prediction = e.metric_value("prediction").unwrap();
    assert!((base_value - base).abs() < 1e-9);
    assert!((prediction - fx).abs() < 1e-9);
    let sum: f64 = e.global.iter().map(|a| a.score).sum();
    assert!((sum - (prediction - base_value)).abs() < 1e-9);
}

#[test]
fn enumeration_uses_the_shapley_kernel() {
    let plan = coalitions(4, 10_000, &mut SplitMix64::new(0));
    assert_eq!(plan.masks.len(), 14);
    let mut distinct = plan.masks.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 14);
    // Kernel (M-1) / (C(M,s) s (M-s)): size 1 and 3 -> 1/4, size 2 -> 1/8.
    for (mask, w) in plan.masks.iter().zip(&plan.weights) {
        let s = mask.iter().filter(|b| **b).count();
        let kernel = 3.0 / (binom(4, s) * (s * (4 - s)) as f64);
        assert!(
            (w / plan.weights[0] - kernel / 0.25).abs() < 1e-12,
            "{mask:?}"
        );
    }
    // Weights sum to 1, the first coalitions are {0} and its complement.
    assert!((plan.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(plan.masks[0], vec![true, false, false, false]);
    assert_eq!(plan.masks[1], vec![false, true, true, true]);
    assert_eq!(binom(12, 5), 792.0);
}

#[test]
fn linear_model_exact_enumeration() {
    let (t, names) = table(4, 8);
    let (w, b) = (vec![1.5, -2.0, 0.5, 3.0], 0.7);
    let calls = testing::install_model(linear(names, w.clone(), b));
    let e = KernelShap::explain(t.clone(), None, params(&[("row", int(2))])).unwrap();
    check_linear(&e, &t, &(0..8).collect::<Vec<_>>(), 2, &w, b);
    assert_eq!(e.metric_value("nsamples"), Some(14.0));
    // The base, the row and every coalition in one call.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Sorted by |value|, largest first.
    let abs: Vec<f64> = e.global.iter().map(|a| a.score.abs()).collect();
    assert!(abs.windows(2).all(|p| p[0] >= p[1]), "{abs:?}");
}

#[test]
fn linear_model_sampled_and_background_subset() {
    // 12 features: 4094 coalitions > 100, so size 1 is enumerated (24
    // coalitions) and 76 more are sampled; a linear model is still
    // solved exactly. 60 rows > 50: the background is a seeded sample.
    let (t, names) = table(12, 60);
    let w: Vec<f64> = (0..12).map(|j| j as f64 - 5.5).collect();
    testing::install_model(linear(names, w.clone(), -1.0));
    let settings = Settings {
        row: 7,
        background: 50,
        nsamples: 100,
        seed: 11,
        output: String::new(),
    };
    let e = kernel_shap(&t, &settings, model::predict).unwrap();
    assert_eq!(e.metric_value("nsamples"), Some(100.0));
    let mut rng = SplitMix64::new(11);
    let mut rows = rng.sample(60, 50);
    rows.sort_unstable();
    check_linear(&e, &t, &rows, 7, &w, -1.0);
}

#[test]
fn interaction_is_split_and_constants_score_zero() {
    // f = a*b + 2c; background {x, 0}: v(S) = (f(x) + f(z_S)) / 2, so
    // the Shapley values are half those against 0: a 0.25, b 0.25, c 1.
    let t = Table::new()
        .with(Column::f64("a", vec![1.0, 0.0]))
        .with(Column::i64("b", vec![1, 0]))
        .with(Column::strings("id", ["same", "same"]))
        .with(Column::f64("c", vec![1.0, 0.0]));
    testing::install_model(|t: &Table| {
        let a = t.column("a")?.to_f64_lossy()?;
        let b = t.column("b")?.to_f64_lossy()?;
        let c = t.column("c")?.to_f64_lossy()?;
        assert!(t.column("id")?.as_str()?.iter().all(|s| s == "same"));
        Ok((0..a.len()).map(|i| a[i] * b[i] + 2.0 * c[i]).collect())
    });
    let e = KernelShap::explain(t, None, params(&[])).unwrap();
    assert!((value(&e, "a") - 0.25).abs() < 1e-12);
    assert!((value(&e, "b") - 0.25).abs() < 1e-12);
    assert!((value(&e, "c") - 1.0).abs() < 1e-12);
    assert_eq!(value(&e, "id"), 0.0);
    assert_eq!(e.global[0].feature, "c");
    assert_eq!(e.global[3].feature, "id");
    assert_eq!(e.metric_value("base_value"), Some(1.5));
    assert_eq!(e.metric_value("prediction"), Some(3.0));
    assert_eq!(e.metric_value("nsamples"), Some(6.0));
}

#[test]
fn big_batches_are_chunked() {
    // 5000 background rows x 14 coalitions = 70000 rows: two calls.
    let (t, names) = table(4, 5000);
    let (w, b) = (vec![0.5, 1.0, -1.0, 2.0], 0.0);
    let calls = testing::install_model(linear(names, w.clone(), b));
    let e = KernelShap::explain(
        t.clone(),
        None,
        params(&[("row", int(3)), ("background", int(5000))]),
    )
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    check_linear(&e, &t, &(0..5000).collect::<Vec<_>>(), 3, &w, b);
}

#[test]
fn deterministic_for_a_seed_and_p1_by_default() {
    let (t, _) = table(10, 80);
    model::set_native_predictor(Box::new(|t: &Table| {
        let cols: Vec<Vec<f64>> = t
            .columns()
            .iter()
            .map(|c| c.to_f64_lossy().unwrap())
            .collect();
        let z: Vec<f64> = (0..t.num_rows())
            .map(|i| (0..9).map(|j| cols[j][i] * cols[j + 1][i]).sum::<f64>())
            .collect();
        let p: Vec<f64> = z.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
        Ok(Table::new()
            .with(Column::f64("p_0", p.iter().map(|p| 1.0 - p).collect()))
            .with(Column::f64("p_1", p.clone()))
            .with(Column::i64(
                "prediction",
                p.iter().map(|&p| i64::from(p > 0.5)).collect(),
            )))
    }));
    let run = |seed: i64, output: &str| {
        KernelShap::explain(
            t.clone(),
            None,
            params(&[
                ("seed", int(seed)),
                ("nsamples", int(150)),
                ("output", ParamValue::Text(output.into())),
            ]),
        )
        .unwrap()
    };
    let e = run(5, "");
    assert_eq!(e, run(5, ""));
    assert_eq!(e, run(5, "p_1"));
    assert_ne!(e, run(6, ""));
    assert_eq!(e.metric_value("nsamples"), Some(150.0));
    let sum: f64 = e.global.iter().map(|a| a.score).sum();
    let fx = e.metric_value("prediction").unwrap();
    assert!((sum - (fx - e.metric_value("base_value").unwrap())).abs() < 1e-12);
    let p0 = run(5, "p_0");
    assert!((p0.metric_value("prediction").unwrap() - (1.0 - fx)).abs() < 1e-12);
}

#[test]
fn bad_params_and_outputs() {
    let (t, names) = table(3, 5);
    testing::install_model(linear(names, vec![1.0, 1.0, 1.0], 0.0));
    let err = KernelShap::explain(t.clone(), None, params(&[("row", int(5))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    let err = KernelShap::explain(t.clone(), None, params(&[("background", int(0))])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidParams);
    let err = KernelShap::explain(
        t.clone(),
        None,
        params(&[("output", ParamValue::Text("p_9".into()))]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("'p_9'"), "{}", err.message);
    model::clear_native_predictor();
    let err = KernelShap::explain(t, None, params(&[])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
}

#[test]
fn a_table_passed_without_its_rows_is_read_where_needed_to_the_same_bits() {
    let (t, names) = table(6, 300);
    testing::install_model(linear(names, vec![1.0, -2.0, 0.5, 3.0, 0.0, 1.5], 0.25));
    let mut empty = Table::new();
    for column in t.columns() {
        empty.push(column.rows(0..0));
    }
    for (row, background) in [(0, 50), (299, 20), (7, 400)] {
        let p = || {
            params(&[
                ("row", int(row)),
                ("background", int(background)),
                ("nsamples", int(100)),
                ("seed", int(3)),
            ])
        };
        let whole = KernelShap::explain(t.clone(), None, p()).unwrap();
        sluice_sdk::rows::set_native_rows(t.clone(), None);
        let read = KernelShap::explain(empty.clone(), None, p());
        sluice_sdk::rows::clear_native_rows();
        assert_eq!(read.unwrap(), whole, "row {row}, background {background}");
    }
    // The same error past the last row.
    sluice_sdk::rows::set_native_rows(t.clone(), None);
    let read = KernelShap::explain(empty, None, params(&[("row", int(300))])).unwrap_err();
    sluice_sdk::rows::clear_native_rows();
    let whole = KernelShap::explain(t, None, params(&[("row", int(300))])).unwrap_err();
    assert_eq!(read.message, whole.message);
}

#[test]
fn stacked_blocks_keep_kinds_and_masks() {
    let a = Table::new()
        .with(Column::f64("x", vec![1.0]))
        .with(Column::strings("s", vec!["a"]));
    let b = Table::new()
        .with(Column::f64("x", vec![2.0]))
        .with(Column::strings("s", vec!["b"]).with_nulls(&[0]));
    let stacked = stack(vec![a, b]);
    assert_eq!(stacked.column("x").unwrap().as_f64().unwrap(), &[1.0, 2.0]);
    let s = stacked.column("s").unwrap();
    assert_eq!(s.valid(), Some(&[true, false][..]));
    assert_eq!(s.value_text(0).as_deref(), Some("a"));
    assert_eq!(stack(Vec::new()).num_columns(), 0);
}
