//! A trainer's step input is lowered into the plugin from the batch's own
//! buffers (`Runtime::train_view`, `predict_view`, fed by
//! `data::batch_to_plugin_columns`), not from a copy of it: the plugin
//! must get the same table, and so make the same model and predictions,
//! as from the copy (`Runtime::train`, `predict` of `data::batch_to_table`).

use crate::hostile_corpus::cancer;
use crate::model_session::{bound, trained};
use crate::support::*;
use sluice::data;
use sluice::runtime::view::{ColumnView, TableView};
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
