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
//! - `each`: probes `predict-each` the same way. With the features held,
//!   each column permuted by seed `j + 1` must answer as `predict` on the
//!   table with the column shuffled by the SDK
//!   (`random::shuffled(column, SplitMix64::new(j + 1))`): with every
//!   output, with `prediction` only, and with every output in reverse
//!   order; all in one call. Then one request that replaces the first
//!   column and permutes the second, and five bad requests (a permuted
//!   column not held, one permuted twice, one both replaced and permuted,
//!   an output asked twice, one the model lacks).
//! - `each-long`: holds the features and sends one `predict-each` of
//!   300,000 requests, which keeps the host answering for minutes: the
//!   explainer's time limit must still hold while it waits.
//! - `many-metrics`: returns 200,000 distinct metrics.

use sluice_sdk::model::PredictionRequest;
use sluice_sdk::random::{SplitMix64, shuffled};
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

/// `table` with only the columns named in `names`, in that order.
fn only(table: &Table, names: &[String]) -> Table {
    let mut out = Table::new();
    for name in names {
        let column = table.columns.iter().find(|c| c.name == *name);
        out.push(column.expect("asked for a column predict gives").clone());
    }
    out
}

fn probe_each(mut features: Table) -> Result<Explanation, StepError> {
    let mut explanation = Explanation::new();
    let n = features.num_columns();
    if n < 2 {
        return Err(StepError::invalid_input("the probe needs two columns"));
    }
    let full = model::predict(&features)?;
    let all: Vec<String> = full.columns.iter().map(|c| c.name.clone()).collect();
    let reversed_names: Vec<String> = all.iter().rev().cloned().collect();
    let kinds = [Vec::new(), vec!["prediction".to_string()], reversed_names];
    model::hold(&mut features)?;
    let mut requests = Vec::new();
    let mut wants = Vec::new();
    for j in 0..n {
        let seed = j as u64 + 1;
        let mut table = features.clone();
        table.columns[j] = shuffled(&features.columns[j], &mut SplitMix64::new(seed));
        let want = model::predict(&table)?;
        for outputs in &kinds {
            let name = features.columns[j].name.clone();
            requests.push(
                PredictionRequest::new()
                    .permute(name, seed)
                    .outputs(outputs.clone()),
            );
            wants.push(if outputs.is_empty() {
                want.clone()
            } else {
                only(&want, outputs)
            });
        }
    }
    // One answer per request: the SDK checks the host's count.
    let answers = model::predict_each(requests)?;
    let mut compared = 0;
    for (i, (got, want)) in answers.iter().zip(&wants).enumerate() {
        if got != want {
            return Err(StepError::internal(format!(
                "predict-each request {i} differs from predict on the shuffled table"
            )));
        }
        compared += 1;
    }
    let (first, second) = (
        features.columns[0].name.clone(),
        features.columns[1].name.clone(),
    );
    let mut table = features.clone();
    table.columns[0] = reversed(&features.columns[0]);
    table.columns[1] = shuffled(&features.columns[1], &mut SplitMix64::new(7));
    let mixed = PredictionRequest::new()
        .replace(reversed(&features.columns[0]))
        .permute(second.clone(), 7);
    if model::predict_each(vec![mixed])? != vec![model::predict(&table)?] {
        return Err(StepError::internal(
            "predict-each replacing and permuting differs from predict",
        ));
    }
    compared += 1;
    let bad = [
        PredictionRequest::new().permute("no-such-column", 1),
        PredictionRequest::new()
            .permute(first.clone(), 1)
            .permute(first.clone(), 2),
        PredictionRequest::new()
            .replace(reversed(&features.columns[0]))
            .permute(first, 1),
        PredictionRequest::new().outputs(["prediction", "prediction"]),
        // Last: a trainer that holds the table finds this one, and its
        // error drops what it held.
        PredictionRequest::new().outputs(["no-such-output"]),
    ];
    for request in bad {
        match model::predict_each(vec![request]) {
            Ok(_) => return Err(StepError::internal("a bad predict-each was answered")),
            Err(e) => explanation.attribution(e.message, 0.0),
        }
    }
    explanation.metric("compared", compared as f64);
    Ok(explanation)
}

/// One `predict-each` of 300,000 requests for the prediction alone.
fn each_long(mut features: Table) -> Result<Explanation, StepError> {
    model::hold(&mut features)?;
    let request = PredictionRequest {
        outputs: vec!["prediction".into()],
        ..PredictionRequest::default()
    };
    let answers = model::predict_each(vec![request; 300_000])?;
    let mut explanation = Explanation::new();
    explanation.metric("answers", answers.len() as f64);
    Ok(explanation)
}

impl Explainer for HostileModel {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "hostile-model",
            "0.1.0",
            "Calls the model forever, or probes hold and predict-replacing (tests only).",
        )
        .param(ParamSpec::text(
            "mode",
            "forever",
            "forever, replacing, each, each-long or many-metrics",
        ))
    }

    fn explain(
        features: Table,
        _target: Option<Column>,
        params: Params,
    ) -> Result<Explanation, StepError> {
        match params.text("mode")? {
            "replacing" => return probe(features),
            "each" => return probe_each(features),
            "each-long" => return each_long(features),
            "many-metrics" => {
                // 200,000 distinct metrics: each would be a database row.
                let mut explanation = Explanation::new();
                for i in 0..200_000 {
                    explanation.metric(format!("m{i}"), f64::from(i));
                }
                return Ok(explanation);
            }
            _ => {}
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
