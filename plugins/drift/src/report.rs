//! The drift verdict on each column ([`ColumnDrift`]) and the whole
//! table's validation report ([`detect`]): which columns are compared, and
//! the checks and details the host shows. Not for the tests themselves:
//! [`crate::sample`] and [`crate::stats`].

use sluice_sdk::{Column, StepError, Table, ValidationReport};

use crate::stats::Outcome;
use crate::{Method, Options, Sample, auto_method, integer_codes, run_test};

/// The drift verdict on one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDrift {
    pub name: String,
    /// The test that ran (never `Auto`); `None` when the column was empty.
    pub method: Option<Method>,
    pub outcome: Option<Outcome>,
    pub drift: bool,
    pub detail: String,
}

fn num(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if x != 0.0 && x.abs() < 1e-4 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// Tests one column of the reference against the same column of the
/// current table.
pub fn column_drift(
    reference: &Column,
    current: &Column,
    options: &Options,
) -> Result<ColumnDrift, StepError> {
    let name = current.name().to_string();
    let r = Sample::from_column(reference);
    let c = Sample::from_column(current);
    if matches!(
        (&r, &c),
        (Sample::Numeric(_), Sample::Categorical(_)) | (Sample::Categorical(_), Sample::Numeric(_))
    ) {
        return Err(StepError::invalid_input(format!(
            "column '{name}' is {} in the reference but {} in the current table",
            reference.kind(),
            current.kind()
        )));
    }
    let sizes = format!("({} reference, {} current values)", r.len(), c.len());
    if r.is_empty() || c.is_empty() {
        let which = if r.is_empty() {
            "reference"
        } else {
            "current table"
        };
        return Ok(ColumnDrift {
            name,
            method: None,
            outcome: None,
            drift: true,
            detail: format!(
                "not tested: no non-null finite values in the {which} {sizes}; counted as drifted"
            ),
        });
    }
    let method = match options.method {
        Method::Auto => auto_method(&r, &c, integer_codes(current)),
        m => m,
    };
    let outcome = run_test(&name, method, &r, &c, options.binning)?;
    let (drift, verdict) = match outcome.p_value {
        Some(p) => {
            let drift = method.p_value_drifts(p, options.p_value);
            // Shows the comparison this test makes ("<" for chisquare, z).
            let inclusive = method.p_value_drifts(options.p_value, options.p_value);
            let cmp = match (drift, inclusive) {
                (true, true) => "<=",
                (true, false) => "<",
                (false, true) => ">",
                (false, false) => ">=",
            };
            (
                drift,
                format!(
                    "statistic {}, p-value {} {cmp} {}",
                    num(outcome.statistic),
                    num(p),
                    options.p_value
                ),
            )
        }
        None => {
            let drift = outcome.statistic >= options.threshold;
            let cmp = if drift { ">=" } else { "<" };
            (
                drift,
                format!(
                    "statistic {} {cmp} {}",
                    num(outcome.statistic),
                    options.threshold
                ),
            )
        }
    };
    let word = if drift { "drift" } else { "no drift" };
    Ok(ColumnDrift {
        name,
        method: Some(method),
        outcome: Some(outcome),
        drift,
        detail: format!("{}: {verdict}: {word} {sizes}", method.name()),
    })
}

/// Tests every selected column and builds the report.
pub fn detect(
    data: &Table,
    reference: &Table,
    options: &Options,
) -> Result<ValidationReport, StepError> {
    let names: Vec<String> = if options.columns.is_empty() {
        data.names()
            .into_iter()
            .filter(|n| reference.contains(n))
            .map(str::to_string)
            .collect()
    } else {
        for n in &options.columns {
            for (table, what) in [(data, "current table"), (reference, "reference")] {
                if !table.contains(n) {
                    return Err(StepError::invalid_input(format!(
                        "column '{n}' is not in the {what}; its columns: {}",
                        table.names().join(", ")
                    )));
                }
            }
        }
        options.columns.clone()
    };
    if names.is_empty() {
        return Err(StepError::invalid_input(format!(
            "the current table and the reference have no column in common \
             (current: {}; reference: {})",
            data.names().join(", "),
            reference.names().join(", ")
        )));
    }

    let mut report = ValidationReport::new();
    let mut results = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let result = column_drift(reference.column(n)?, data.column(n)?, options)?;
        report.check(format!("drift:{n}"), !result.drift, result.detail.clone());
        results.push(result);
        sluice_sdk::progress(i as u64 + 1, names.len() as u64);
    }
    let drifted = results.iter().filter(|r| r.drift).count();
    let share = drifted as f64 / names.len() as f64;
    let dataset_drift = share >= options.drift_share;
    report.check(
        "dataset",
        !dataset_drift,
        format!(
            "{drifted} of {} columns drifted (share {}) {} {}: {}",
            names.len(),
            num(share),
            if dataset_drift { ">=" } else { "<" },
            options.drift_share,
            if dataset_drift {
                "dataset drift"
            } else {
                "no dataset drift"
            }
        ),
    );
    report.metric("drift_share", share);
    report.metric("drifted_columns", drifted as f64);
    report.metric("columns", names.len() as f64);
    for r in &results {
        if let Some(o) = r.outcome {
            report.metric(format!("{}.statistic", r.name), o.statistic);
            if let Some(p) = o.p_value {
                report.metric(format!("{}.p_value", r.name), p);
            }
        }
    }
    Ok(report)
}
