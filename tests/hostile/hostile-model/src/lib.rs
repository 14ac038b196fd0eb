//! An explainer for tests of the `model` import, by its `mode` param:
//!
//! - `forever` (the default): calls the model without end, ignoring every
//!   error; `limits.model_calls` must stop it.
//! - `replacing`: probes `hold` and `predict-replacing`. It asks for
//!   predictions with nothing held, holds the features, then checks that
//!   `predict-replacing` with a column reversed answers exactly as
//!   `predict` on the table with that column reversed, for the first,
//!   second and last columns and for two at once, and that
//!   `predict-replacing-each` with every column reversed in turn answers
//!   as one `predict-replacing` per request. It fails on the first answer
//!   that differs. Its explanation lists the error of each bad request as
//!   an attribution (score 0), and the metric `compared`.

use sluice_sdk::{
    Column, Explainer, Explanation, ParamSpec, Params, PluginInfo, StepError, Table, Values, model,
};

pub struct HostileModel;

/// `column` with its rows in reverse order.
fn reversed(column: &Column) -> Column {
    let values = match &column.values {
        Values::F64(v) => Values::F64(v.iter().rev().copied().collect()),
        Values::I64(v) => Values::I64(v.iter().rev().copied().collect()),
        Values::Bool(v) => Values::Bool(v.iter().rev().copied().collect()),
        Values::Str(v) => Values::Str(v.iter().rev().cloned().collect()),
    };
    Column {
        name: column.name.clone(),
        values,
        valid: column
            .valid
            .as_ref()
            .map(|m| m.iter().rev().copied().collect()),
    }
}

fn probe(mut features: Table) -> Result<Explanation, StepError> {
    let mut explanation = Explanation::new();
    let mut refused = |columns: Vec<Column>| match model::predict_replacing(columns) {
        Ok(_) => Err(StepError::internal("a bad predict-replacing was answered")),
        Err(e) => {
            explanation.attribution(e.message, 0.0);
            Ok(())
        }
    };
    let n = features.num_columns();
    let rows = features.num_rows();
    if n < 3 {
        return Err(StepError::invalid_input("the probe needs three columns"));
    }
    refused(vec![reversed(&features.columns[0])])?;
    model::hold(&mut features)?;
    let first = features.columns[0].name.clone();
    refused(vec![Column::f64("no-such-column", vec![0.0; rows])])?;
    refused(vec![Column::f64(first.clone(), vec![0.0; rows + 1])])?;
    refused(vec![
        reversed(&features.columns[0]),
        reversed(&features.columns[0]),
    ])?;

    let mut compared = 0;
    for picked in [vec![0], vec![1], vec![n - 1], vec![n - 1, 0]] {
        let columns: Vec<Column> = picked
            .iter()
            .map(|&j| reversed(&features.columns[j]))
            .collect();
        let mut replaced = features.clone();
        for (&j, c) in picked.iter().zip(&columns) {
            replaced.columns[j] = c.clone();
        }
        let got = model::predict_replacing(columns)?;
        let want = model::predict(&replaced)?;
        if got != want {
            return Err(StepError::internal(format!(
                "predict-replacing of columns {picked:?} differs from predict"
            )));
        }
        compared += 1;
    }
    // All at once: the same answers, in order, and a bad request named by
    // its index.
    let requests: Vec<Vec<Column>> = (0..n)
        .map(|j| vec![reversed(&features.columns[j])])
        .collect();
    let each = model::predict_replacing_each(requests.clone())?;
    if each.len() != n {
        return Err(StepError::internal(format!(
            "{} answers to {n} requests",
            each.len()
        )));
    }
    for (j, (got, request)) in each.iter().zip(requests).enumerate() {
        if *got != model::predict_replacing(request)? {
            return Err(StepError::internal(format!(
                "predict-replacing-each request {j} differs from predict-replacing"
            )));
        }
    }
    compared += 1;
    let mut bad: Vec<Vec<Column>> = (0..n)
        .map(|j| vec![reversed(&features.columns[j])])
        .collect();
    bad[n - 1] = vec![Column::f64("no-such-column", vec![0.0; rows])];
    match model::predict_replacing_each(bad) {
        Ok(_) => {
            return Err(StepError::internal(
                "a bad predict-replacing-each was answered",
            ));
        }
        Err(e) => explanation.attribution(e.message, 0.0),
    }
    // Nothing replaced: the held table itself.
    if model::predict_replacing(Vec::new())? != model::predict(&features)? {
        return Err(StepError::internal("the held table changed"));
    }
    compared += 1;
    explanation.metric("compared", compared as f64);
    Ok(explanation)
}

impl Explainer for HostileModel {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "hostile-model",
            "0.1.0",
            "Calls the model forever, or probes hold and predict-replacing (tests only).",
        )
        .param(ParamSpec::text("mode", "forever", "forever or replacing"))
    }

    fn explain(
        features: Table,
        _target: Option<Column>,
        params: Params,
    ) -> Result<Explanation, StepError> {
        if params.text("mode")? == "replacing" {
            return probe(features);
        }
        let mut calls: u64 = 0;
        loop {
            let _ = std::hint::black_box(sluice_sdk::model::predict(&features));
            calls += 1;
            sluice_sdk::log::debug(format!("model call {calls}"));
        }
    }
}

sluice_sdk::export_explainer!(HostileModel);
