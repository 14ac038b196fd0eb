//! `cbpe`: estimates a binary classifier's performance on current data
//! without labels, as NannyML's CBPE (confidence-based performance
//! estimation), and checks each estimate against thresholds learned from
//! the labelled reference.
//!
//! # Inputs
//!
//! - `data`, the current window: columns `prediction` (the predicted
//!   class; i64, f64, string or bool, compared as text with `positive`)
//!   and `p_<positive>` (the score of the positive class). Other columns
//!   are ignored. Rows whose score is null or NaN, or whose prediction is
//!   null, are left out.
//! - `reference`, required: the version's holdout predictions, the same two
//!   columns plus the true label column named by `target`. Rows with a
//!   null or NaN score, a null prediction or a null label are left out.
//!
//! # Params
//!
//! - `target` (text, required): the label column of the reference.
//! - `positive` (text, default `"1"`): the positive class, as text.
//! - `metrics` (text, default `"accuracy,roc_auc,f1"`): comma-separated,
//!   from `accuracy`, `roc_auc`, `f1`, `precision`, `recall`,
//!   `specificity`.
//! - `calibrate` (text, default `"auto"`): `auto` calibrates when NannyML's
//!   `needs_calibration` says so ([`calibration`]), `isotonic` always,
//!   `none` never.
//! - `chunk_size` (integer, default 0): rows per reference chunk for the
//!   thresholds; 0 means the number of usable current rows, or a sixth of
//!   the usable reference rows if that is fewer (so that the reference
//!   makes at least 6 chunks). Smaller chunks spread more: the bounds are
//!   then wider than the window's own spread, never narrower.
//! - `std_multiplier` (number, default 3): the `k` of the thresholds
//!   (NannyML's `StandardDeviationThreshold`).
//! - `min_rows` (integer, default 100): fewer usable current rows make the
//!   result inconclusive.
//!
//! # How
//!
//! 1. Calibration: an isotonic regression of the reference labels on the
//!    reference scores ([`isotonic`], scikit-learn's
//!    `IsotonicRegression(out_of_bounds="clip")`) maps every score to a
//!    probability, when `calibrate` asks for it.
//! 2. Estimate: each current row predicted positive is expected to be a
//!    true positive with its calibrated probability `p` and a false
//!    positive with `1 - p`; a row predicted negative a false negative with
//!    `p` and a true negative with `1 - p`. Accuracy is the mean
//!    probability of being right; precision, recall, F1 and specificity
//!    come from the summed expected confusion matrix (0 for a zero
//!    denominator); ROC AUC is the area under the expected ROC curve, every
//!    row a threshold, rows ordered by raw score ([`metric`]).
//! 3. Thresholds: the realized metric (against the labels, raw scores for
//!    ROC AUC) on each reference chunk of `chunk_size` rows in row order,
//!    the leftover rows a last, smaller chunk as NannyML keeps it; lower =
//!    mean - k std, upper = mean + k std (population std, ddof 0, chunks
//!    with an undefined value left out), clipped to `[0, 1]`
//!    ([`mod@thresholds`]).
//!
//! These are NannyML 0.13's formulas; `reference/README.md` says how the
//! parity tests check them against NannyML itself (1e-6). The one known
//! difference is in `calibrate = "auto"`: NannyML orders tied scores with
//! numpy's unstable sort when it computes the calibration errors, which
//! can tip a close call the other way ([`calibration`]).
//!
//! # Report
//!
//! One check `estimated_<metric>` per metric, failed when the estimate is
//! below the lower or above the upper threshold; the detail names the
//! estimate, the bounds, the reference's realized mean over chunks and the
//! row counts. An estimate or bound that is undefined (ROC AUC with no
//! expected positive, a metric undefined on every chunk) passes, as
//! NannyML raises no alert on NaN, and the detail says so. With fewer than
//! `min_rows` usable current rows (or none at all, whatever `min_rows`)
//! every check passes with the detail `inconclusive: N rows < min_rows
//! (M)`.
//!
//! Metrics: `estimated_<metric>`, `reference_<metric>` (realized over the
//! whole reference), `<metric>.lower`, `<metric>.upper` (each left out
//! when undefined), `rows` (usable current rows), `inconclusive` (0 or 1),
//! `calibrated` (0 or 1).
//!
//! # Errors
//!
//! No reference, a missing column (named, e.g. "the data has no column
//! `p_1` (the score of positive class `1`)"), a string score column, or a
//! reference without a usable row: invalid input. An unknown metric, an
//! unknown `calibrate`, a negative `chunk_size` or `min_rows`, or a
//! negative or non-finite `std_multiplier`: invalid params.

pub mod calibration;
pub mod isotonic;
pub mod metric;
pub mod mt19937;
mod rows;
pub mod thresholds;

#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod tests;

pub use calibration::{CalibrationVerdict, calibration_verdict};
pub use isotonic::Isotonic;
pub use metric::Metric;
pub use rows::{LabelledRows, ScoredRows};
pub use thresholds::{Thresholds, chunk_ranges, thresholds};

use sluice_sdk::{
    ParamSpec, Params, PluginInfo, StepError, Table, ValidationReport, Validator, log,
};

/// When the scores are calibrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calibrate {
    /// When NannyML's `needs_calibration` says the scores benefit.
    Auto,
    /// Always (isotonic regression).
    Isotonic,
    /// Never: the scores are taken as probabilities.
    None,
}

impl Calibrate {
    pub fn parse(text: &str) -> Result<Calibrate, StepError> {
        match text.trim() {
            "auto" => Ok(Calibrate::Auto),
            "isotonic" => Ok(Calibrate::Isotonic),
            "none" => Ok(Calibrate::None),
            other => Err(StepError::invalid_params(format!(
                "param 'calibrate' must be 'auto', 'isotonic' or 'none', got '{other}'"
            ))),
        }
    }
}

/// The settings of one estimation.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub metrics: Vec<Metric>,
    pub calibrate: Calibrate,
    /// Rows per reference chunk; 0 means the number of current rows.
    pub chunk_size: usize,
    pub std_multiplier: f64,
    pub min_rows: usize,
}

/// One metric's estimate and thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricEstimate {
    pub metric: Metric,
    /// Estimated on the current rows; NaN when undefined.
    pub estimated: f64,
    /// Realized over the whole reference; NaN when undefined.
    pub reference: f64,
    pub thresholds: Thresholds,
}

/// What an estimation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimation {
    pub metrics: Vec<MetricEstimate>,
    /// Usable current rows.
    pub rows: usize,
    /// Usable reference rows.
    pub reference_rows: usize,
    /// The reference chunk size used.
    pub chunk_size: usize,
    /// Whether the scores were calibrated.
    pub calibrated: bool,
    /// Whether there were fewer than `min_rows` current rows, or none.
    pub inconclusive: bool,
}

/// Estimates the metrics of `current` from the calibration and thresholds
/// learned on `reference`.
pub fn estimate(reference: &LabelledRows, current: &ScoredRows, options: &Options) -> Estimation {
    let calibrate = match options.calibrate {
        Calibrate::Isotonic => true,
        Calibrate::None => false,
        Calibrate::Auto => {
            calibration_verdict(&reference.truth, &reference.scored.score).needs_calibration()
        }
    };
    let map = if calibrate {
        let targets: Vec<f64> = reference
            .truth
            .iter()
            .map(|&t| if t { 1.0 } else { 0.0 })
            .collect();
        Isotonic::fit(&reference.scored.score, &targets)
    } else {
        None
    };
    let calibrated: Vec<f64> = match &map {
        Some(map) => current.score.iter().map(|&s| map.predict(s)).collect(),
        None => current.score.clone(),
    };
    let chunk_size = if options.chunk_size == 0 {
        // As many rows as the window, but no more than a sixth of the
        // reference: fewer than 6 chunks give no spread to set bounds by
        // (NannyML warns below 6), and a window larger than the reference
        // would make one chunk with bounds of zero width.
        current.len().min(reference.scored.len() / 6).max(1)
    } else {
        options.chunk_size
    };
    let metrics = options
        .metrics
        .iter()
        .map(|&metric| MetricEstimate {
            metric,
            estimated: metric.estimate(&current.predicted, &calibrated, &current.score),
            reference: metric.realized(
                &reference.truth,
                &reference.scored.predicted,
                &reference.scored.score,
            ),
            thresholds: thresholds(
                metric,
                &reference.truth,
                &reference.scored.predicted,
                &reference.scored.score,
                chunk_size,
                options.std_multiplier,
            ),
        })
        .collect();
    Estimation {
        metrics,
        rows: current.len(),
        reference_rows: reference.len(),
        chunk_size,
        calibrated: map.is_some(),
        inconclusive: current.is_empty() || current.len() < options.min_rows,
    }
}

fn shown(x: f64) -> String {
    if x.is_nan() {
        "undefined".to_string()
    } else {
        format!("{x:.4}")
    }
}

/// The checks and metrics of an estimation.
pub fn report(estimation: &Estimation, min_rows: usize) -> ValidationReport {
    let mut report = ValidationReport::new();
    let e = estimation;
    for m in &e.metrics {
        let name = m.metric.name();
        let t = &m.thresholds;
        let numbers = format!(
            "estimated {name} {} on {} rows, bounds [{}, {}] (reference mean {} over {} chunks \
             of {} rows, {} reference rows)",
            shown(m.estimated),
            e.rows,
            shown(t.lower),
            shown(t.upper),
            shown(t.mean),
            t.chunks.len(),
            e.chunk_size,
            e.reference_rows,
        );
        let (passed, detail) = if e.inconclusive {
            (
                true,
                format!(
                    "inconclusive: {} rows < min_rows ({min_rows}); {numbers}",
                    e.rows
                ),
            )
        } else if m.estimated.is_nan() || t.lower.is_nan() || t.upper.is_nan() {
            (true, format!("undefined, no alert: {numbers}"))
        } else if t.admits(m.estimated) {
            (true, format!("within bounds: {numbers}"))
        } else {
            (false, format!("outside bounds: {numbers}"))
        };
        report.check(format!("estimated_{name}"), passed, detail);
    }
    for m in &e.metrics {
        let name = m.metric.name();
        for (key, value) in [
            (format!("estimated_{name}"), m.estimated),
            (format!("reference_{name}"), m.reference),
            (format!("{name}.lower"), m.thresholds.lower),
            (format!("{name}.upper"), m.thresholds.upper),
        ] {
            if !value.is_nan() {
                report.metric(key, value);
            }
        }
    }
    report.metric("rows", e.rows as f64);
    report.metric("inconclusive", if e.inconclusive { 1.0 } else { 0.0 });
    report.metric("calibrated", if e.calibrated { 1.0 } else { 0.0 });
    report
}

fn non_negative(params: &Params, name: &str) -> Result<usize, StepError> {
    let value = params.integer(name)?;
    usize::try_from(value).map_err(|_| {
        StepError::invalid_params(format!("param '{name}' must be 0 or more, got {value}"))
    })
}

pub struct Cbpe;

impl Validator for Cbpe {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "cbpe",
            env!("CARGO_PKG_VERSION"),
            "Estimates a binary classifier's performance on current data without labels \
             (NannyML's CBPE: isotonic calibration on the reference, expected confusion \
             matrix) and checks it against mean +- k std of the reference chunks.",
        )
        .metrics(&[
            "estimated_*",
            "reference_*",
            "*.lower",
            "*.upper",
            "rows",
            "inconclusive",
            "calibrated",
        ])
        .param(ParamSpec::text_required(
            "target",
            "the label column of the reference",
        ))
        .param(ParamSpec::text(
            "positive",
            "1",
            "the positive class, as text; its score is the column p_<positive>",
        ))
        .param(ParamSpec::text(
            "metrics",
            "accuracy,roc_auc,f1",
            "comma list from accuracy, roc_auc, f1, precision, recall, specificity",
        ))
        .param(
            ParamSpec::text(
                "calibrate",
                "auto",
                "auto (NannyML's needs_calibration), isotonic (always) or none",
            )
            .choices(&["auto", "isotonic", "none"]),
        )
        .param(
            ParamSpec::integer(
                "chunk_size",
                0,
                "rows per reference chunk for the thresholds; 0: the current rows",
            )
            .at_least(0.0),
        )
        .param(
            ParamSpec::number(
                "std_multiplier",
                3.0,
                "thresholds at the reference chunks' mean +- this many standard deviations",
            )
            .at_least(0.0),
        )
        .param(
            ParamSpec::integer(
                "min_rows",
                100,
                "fewer usable current rows: inconclusive, the checks pass",
            )
            .at_least(0.0),
        )
    }

    fn validate(
        data: Table,
        reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError> {
        let target = params.text("target")?;
        let positive = params.text("positive")?;
        let std_multiplier = params.number("std_multiplier")?;
        if !std_multiplier.is_finite() || std_multiplier < 0.0 {
            return Err(StepError::invalid_params(format!(
                "param 'std_multiplier' must be a finite number >= 0, got {std_multiplier}"
            )));
        }
        let options = Options {
            metrics: Metric::parse_list(params.text("metrics")?)?,
            calibrate: Calibrate::parse(params.text("calibrate")?)?,
            chunk_size: non_negative(&params, "chunk_size")?,
            std_multiplier,
            min_rows: non_negative(&params, "min_rows")?,
        };
        let reference = reference.ok_or_else(|| {
            StepError::invalid_input(format!(
                "cbpe needs a reference: the version's holdout predictions with columns \
                 `prediction`, `p_{positive}` and the label `{target}`"
            ))
        })?;
        let reference = LabelledRows::from_table(&reference, target, positive)?;
        let current = ScoredRows::from_table(&data, positive, "data")?;
        let estimation = estimate(&reference, &current, &options);
        let chunks = chunk_ranges(estimation.reference_rows, estimation.chunk_size).len();
        if chunks < 6 {
            // NannyML warns below 6 chunks too: the bounds rest on few values.
            log::warn(format!(
                "cbpe: the reference makes only {chunks} chunks of {} rows; the thresholds \
                 rest on few values (set the param 'chunk_size' lower)",
                estimation.chunk_size
            ));
        }
        log::info(format!(
            "cbpe: {} current rows, {} reference rows in chunks of {}, calibrated {}",
            estimation.rows,
            estimation.reference_rows,
            estimation.chunk_size,
            estimation.calibrated
        ));
        Ok(report(&estimation, options.min_rows))
    }
}

sluice_sdk::export_validator!(Cbpe);
