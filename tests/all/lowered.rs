//! A trainer's step input is lowered into the plugin from the batch's own
//! buffers (`Runtime::train_view`, `predict_view`, fed by
//! `data::batch_to_plugin_columns`), not from a copy of it: the plugin
//! must get the same table, and so make the same model and predictions,
//! as from the copy (`Runtime::train`, `predict` of `data::batch_to_table`).

use crate::hostile_corpus::cancer;
use crate::model_session::{bound, trained};
use crate::support::*;
use sluice::data;
use sluice::runtime::view::{ColumnView, RowSource, TableView};
use sluice::runtime::{Plugin, StepContext, StepFailure, StepLimits, StepOutput};
use sluice::wit;
use std::sync::Arc;

/// `train_view` of `features` and `target` with the default params.
fn train_view(
    trainer: &Plugin,
    features: &TableView<'_>,
    target: &ColumnView<'_>,
) -> Result<StepOutput<wit::Trained>, StepFailure> {
    let ctx = StepContext::new("train", StepLimits::default(), 3);
    block_on(shared_runtime().train_view(trainer, &ctx, features, target, &[]))
}

/// The cancer table's batch (the features, then the label) as
/// `batch_to_plugin_columns` gives it: the features and the label.
fn cancer_columns() -> (Vec<data::PluginColumn>, data::PluginColumn) {
    let (table, target) = cancer();
    let batch =
        data::shared_batch(&Arc::new(table.clone()), Some(&Arc::new(target.clone()))).unwrap();
    let mut columns = data::batch_to_plugin_columns(&batch).unwrap();
    let label = columns.pop().unwrap();
    (columns, label)
}

#[test]
fn a_batch_lowered_from_its_own_buffers_trains_and_predicts_as_its_copy() {
    let rt = shared_runtime();
    let (table, target) = cancer();
    let (columns, label) = cancer_columns();
    assert_eq!(label.name(), target.name);
    // The f64 features are the batch's own values, not copies.
    assert!(
        columns
            .iter()
            .any(|c| matches!(c, data::PluginColumn::F64 { .. })),
        "{columns:?}"
    );
    let view = data::plugin_table(&columns);
    let ctx = StepContext::new("train", StepLimits::default(), 3);
    for name in ["logreg", "linear", "gbt"] {
        let trainer = rt.load(&plugin(name)).unwrap();
        let copied = block_on(rt.train(&trainer, &ctx, table, target, &[]))
            .unwrap()
            .value;
        let lowered = train_view(&trainer, &view, &label.view()).unwrap().value;
        assert_eq!(lowered.model, copied.model, "{name}: model bytes");
        assert_eq!(
            format!("{:?}", lowered.metrics),
            format!("{:?}", copied.metrics),
            "{name}: metrics"
        );
        let predicted = block_on(rt.predict(&trainer, &ctx, &copied.model, table))
            .unwrap()
            .value;
        let from_view = block_on(rt.predict_view(&trainer, &ctx, &copied.model, &view))
            .unwrap()
            .value;
        assert_eq!(
            format!("{from_view:?}"),
            format!("{predicted:?}"),
            "{name}: predictions"
        );
        // The views of a copied table lower it as the copy does.
        let of_copy = train_view(&trainer, &TableView::from(table), &ColumnView::from(target));
        assert_eq!(of_copy.unwrap().value.model, copied.model, "{name}");
    }
}

/// A table and its target, for `train_rows` to read from.
struct Rows(wit::Table, wit::Column);

impl RowSource for Rows {
    fn features(&self) -> TableView<'_> {
        TableView::from(&self.0)
    }

    fn target(&self) -> Option<ColumnView<'_>> {
        Some(ColumnView::from(&self.1))
    }
}

/// `rows` rows of `columns` f64 features (and an i64 one) and a target:
/// 8 x (columns + 2) bytes a row.
fn wide_table(rows: usize, columns: usize) -> (wit::Table, wit::Column) {
    let wave = |k: f64| (0..rows).map(move |i| (i as f64 * k).sin() * 3.0 + k);
    let mut table: Vec<wit::Column> = (0..columns)
        .map(|j| wit::Column {
            name: format!("x{j}"),
            values: wit::Values::F64s(wave(0.1 + j as f64 * 0.37).collect()),
            valid: None,
        })
        .collect();
    table.push(wit::Column {
        name: "k".into(),
        values: wit::Values::I64s((0..rows as i64).map(|i| i % 17).collect()),
        valid: None,
    });
    let target = wit::Column {
        name: "y".into(),
        values: wit::Values::F64s(wave(0.71).collect()),
        valid: None,
    };
    (wit::Table { columns: table }, target)
}

#[test]
fn a_trainer_that_reads_rows_gets_its_table_a_block_at_a_time() {
    let rt = shared_runtime();
    let linear = rt.load(&plugin("linear")).unwrap();
    assert!(linear.reads_rows(), "{:?}", linear.imports);
    assert!(!rt.load(&plugin("logreg")).unwrap().reads_rows());
    // 12 MB of rows: more than the 6 MiB the calls may use, so only a
    // table read a block at a time fits.
    let (table, target) = wide_table(150_000, 8);
    let limits = StepLimits {
        memory_mib: 6,
        ..StepLimits::default()
    };
    let ctx = StepContext::new("train", limits, 3);
    let source = Arc::new(Rows(table.clone(), target.clone()));
    let read = block_on(rt.train_rows(&linear, &ctx, source, &[]))
        .unwrap()
        .value;
    let whole = block_on(rt.train(&linear, &ctx, &table, &target, &[])).unwrap_err();
    assert!(whole.to_string().contains("memory"), "{whole}");
    // The same model and metrics as the table passed whole (with room).
    let roomy = StepContext::new("train", StepLimits::default(), 3);
    let whole = block_on(rt.train(&linear, &roomy, &table, &target, &[]))
        .unwrap()
        .value;
    assert_eq!(read.model, whole.model, "model bytes");
    assert_eq!(
        format!("{:?}", read.metrics),
        format!("{:?}", whole.metrics)
    );
    // An error names the same column and row: a non-finite value in the
    // third read of the table.
    let (mut table, target) = wide_table(20_000, 3);
    if let wit::Values::F64s(v) = &mut table.columns[1].values {
        v[9_000] = f64::NAN;
    }
    let source = Arc::new(Rows(table.clone(), target.clone()));
    let read = block_on(rt.train_rows(&linear, &roomy, source, &[])).unwrap_err();
    let whole = block_on(rt.train(&linear, &roomy, &table, &target, &[])).unwrap_err();
    assert!(
        read.to_string()
            .contains("'x1' has a non-finite value (NaN) at row 9000"),
        "{read}"
    );
    assert_eq!(read.to_string(), whole.to_string());
    // A trainer that does not import `rows` gets the table whole.
    let logreg = rt.load(&plugin("logreg")).unwrap();
    let (table, target) = cancer();
    let source = Arc::new(Rows(table.clone(), target.clone()));
    let read = block_on(rt.train_rows(&logreg, &roomy, source, &[])).unwrap();
    let whole = block_on(rt.train(&logreg, &roomy, table, target, &[])).unwrap();
    assert_eq!(read.value.model, whole.value.model);
}

#[test]
fn an_explainer_that_reads_rows_reads_only_those_it_needs() {
    let rt = shared_runtime();
    let kshap = rt.load(&plugin("kernel_shap")).unwrap();
    assert!(kshap.reads_rows(), "{:?}", kshap.imports);
    assert!(
        !rt.load(&plugin("permutation_importance"))
            .unwrap()
            .reads_rows()
    );
    let (table, target) = wide_table(150_000, 8);
    let linear = Arc::new(rt.load(&plugin("linear")).unwrap());
    let roomy = StepContext::new("train", StepLimits::default(), 3);
    let model = block_on(rt.train(&linear, &roomy, &table, &target, &[]))
        .unwrap()
        .value
        .model;
    let model = Arc::new(model);
    let integer = |name: &str, v: i64| wit::Param {
        name: name.into(),
        value: wit::ParamValue::Integer(v),
    };
    let params = [
        integer("row", 123_456),
        integer("background", 20),
        integer("nsamples", 50),
    ];
    // 12 MB of rows, and 6 MiB for the explainer: only the rows it reads
    // (its background sample and the row) fit.
    let mut small = bound("explain", &linear, &model, StepLimits::default(), None);
    small.limits = StepLimits {
        memory_mib: 6,
        ..StepLimits::default()
    };
    let source = Arc::new(Rows(table.clone(), target.clone()));
    let read = block_on(rt.explain_rows(&kshap, &small, source, &params))
        .unwrap()
        .value;
    let whole = block_on(rt.explain(&kshap, &small, &table, Some(&target), &params)).unwrap_err();
    assert!(whole.to_string().contains("memory"), "{whole}");
    let ctx = bound("explain", &linear, &model, StepLimits::default(), None);
    let whole = block_on(rt.explain(&kshap, &ctx, &table, Some(&target), &params))
        .unwrap()
        .value;
    assert_eq!(format!("{read:?}"), format!("{whole:?}"));
}

#[test]
fn a_view_of_a_plugin_of_another_world_is_refused_by_name() {
    let transform = shared_runtime().load(&plugin("standardize")).unwrap();
    let (table, target) = cancer();
    let err = train_view(
        &transform,
        &TableView::from(table),
        &ColumnView::from(target),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a trainer"), "{err}");
}

#[test]
fn an_explainer_gets_the_same_table_lowered_from_the_batch() {
    let rt = shared_runtime();
    let (table, target) = cancer();
    let (columns, label) = cancer_columns();
    let view = data::plugin_table(&columns);
    let (trainer, model) = trained(rt, "logreg");
    let explainer = rt.load(&plugin("permutation_importance")).unwrap();
    let ctx = bound("explain", &trainer, &model, StepLimits::default(), None);
    let params = [wit::Param {
        name: "n_repeats".into(),
        value: wit::ParamValue::Integer(2),
    }];
    let copied = block_on(rt.explain(&explainer, &ctx, table, Some(target), &params))
        .unwrap()
        .value;
    let lowered = block_on(rt.explain_view(&explainer, &ctx, &view, Some(&label.view()), &params))
        .unwrap()
        .value;
    assert_eq!(format!("{lowered:?}"), format!("{copied:?}"));
    assert_eq!(lowered.global.len(), table.columns.len());
    // A trainer is not an explainer.
    let err = block_on(rt.explain_view(&trainer, &ctx, &view, None, &params)).unwrap_err();
    assert!(err.to_string().contains("not an explainer"), "{err}");
}

#[test]
fn transforms_and_validators_get_the_same_tables_lowered_from_the_batch() {
    let rt = shared_runtime();
    let (table, _) = cancer();
    let (columns, _) = cancer_columns();
    let view = data::plugin_table(&columns);
    let ctx = StepContext::new("step", StepLimits::default(), 3);
    let standardize = rt.load(&plugin("standardize")).unwrap();
    let state = block_on(rt.fit(&standardize, &ctx, table, &[]))
        .unwrap()
        .value;
    let state_of_view = block_on(rt.fit_view(&standardize, &ctx, &view, &[]))
        .unwrap()
        .value;
    assert_eq!(state_of_view, state);
    let applied = block_on(rt.apply(&standardize, &ctx, &state, table))
        .unwrap()
        .value;
    let applied_to_view = block_on(rt.apply_view(&standardize, &ctx, &state, &view))
        .unwrap()
        .value;
    assert_eq!(format!("{applied_to_view:?}"), format!("{applied:?}"));
    // A validator, with a reference: the drift checks of the table
    // against itself.
    let drift = rt.load(&plugin("drift")).unwrap();
    let report = block_on(rt.validate(&drift, &ctx, table, Some(table), &[]))
        .unwrap()
        .value;
    let report_of_views = block_on(rt.validate_view(&drift, &ctx, &view, Some(&view), &[]))
        .unwrap()
        .value;
    assert_eq!(format!("{report_of_views:?}"), format!("{report:?}"));
    assert!(!report.checks.is_empty());
}
