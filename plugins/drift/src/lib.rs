//! `drift`: a validator for data drift between a reference table (the
//! validator's `reference` argument) and the current table (`data`), per
//! column and for the dataset, with Evidently's tests and defaults.
//!
//! # Tests
//!
//! With `method = "auto"` (the default) each column gets the test
//! Evidently's `get_default_stattest` picks. Here `n_ref` is the number of
//! usable reference values of the column and `distinct` the number of
//! distinct values in both samples together:
//!
//! | column | `n_ref <= 1000` | `n_ref > 1000` |
//! |---|---|---|
//! | numeric (f64; i64 with > 10 current values), `distinct > 5` | `ks` | `wasserstein` |
//! | numeric, `3..=5` distinct | `chisquare` | `jensenshannon` |
//! | numeric, `<= 2` distinct | `z` | `jensenshannon` |
//! | categorical (string, bool; i64 with <= 10 current values), `distinct > 2` | `chisquare` | `jensenshannon` |
//! | categorical, `<= 2` distinct | `z` | `jensenshannon` |
//!
//! An i64 column whose current values take at most 10 distinct values (a
//! class label, a 0/1 flag, a small count) is categorical, as Evidently's
//! type inference makes it (`INTEGER_CARDINALITY_LIMIT`): `auto` gives it
//! `chisquare` (`z` with at most two values) up to 1000 reference values
//! and `jensenshannon` above.
//!
//! - `ks`: two-sample two-sided Kolmogorov-Smirnov, `scipy.stats.ks_2samp`
//!   with `method='auto'`: the exact p-value (scipy's algorithms) when both
//!   samples have at most 10 000 values; above that the limiting Kolmogorov
//!   distribution at `sqrt(n m / (n + m)) D` (scipy uses the finite-n
//!   `kstwo` there, so p-values can differ slightly in that regime).
//! - `wasserstein`: Wasserstein-1 distance between the samples
//!   (`scipy.stats.wasserstein_distance`) divided by the reference's
//!   standard deviation (ddof 0), the divisor floored at 0.001.
//! - `chisquare`: `scipy.stats.chisquare` of the current counts against the
//!   reference proportions scaled to the current total, k - 1 degrees of
//!   freedom.
//! - `z`: two-proportion Z-test of the share of the last category in sorted
//!   order (`true` for bool, the larger value for numbers); the statistic
//!   is z, the p-value two-sided.
//! - `jensenshannon`: `scipy.spatial.distance.jensenshannon` (natural
//!   logarithm) of the two samples' shares, empty bins left at 0.
//! - `psi`: population stability index `Σ (r - c) ln(r / c)` of the
//!   shares, empty bins given a share of 0.0001 (or a millionth of the
//!   smallest non-empty share if that is smaller).
//!
//! For `jensenshannon` and `psi` the shares are per category, except for a
//! numeric column with more than 20 distinct reference values, which is
//! binned as Evidently's `get_binned_data` does (`binning = "evidently"`,
//! the default): `np.histogram_bin_edges` of both samples together with
//! `bins="sturges"` (about log2(n) + 1 equal-width bins between the
//! combined minimum and maximum), then `np.histogram` of each sample. With
//! `binning = "quantile"` it is cut instead into `psi_bins` quantile bins
//! of the reference (edges at the reference's i/`psi_bins` quantiles,
//! numpy's linear method, duplicate edges merged, outer bins open-ended),
//! which does not depend on the current sample's range.
//!
//! A column drifts when its p-value is `<= p_value` (ks) or `< p_value`
//! (chisquare, z), or its statistic is `>= threshold` (wasserstein,
//! jensenshannon, psi): Evidently's comparisons, test by test. The dataset
//! drifts when the share of drifted columns is `>= drift_share`.
//!
//! `reference/evidently_reference.json` pins these against Evidently
//! itself (see `reference/README.md`): default test, score and verdict per
//! column and the dataset's drift share, within 1e-9.
//!
//! # Params
//!
//! - `method` (text, default `"auto"`): `auto`, `ks`, `chisquare`, `z`,
//!   `wasserstein`, `jensenshannon` or `psi`; anything but `auto` is used
//!   for every column (`ks` and `wasserstein` need numeric columns, `z` at
//!   most two distinct values: otherwise an invalid-params error).
//! - `p_value` (number, default 0.05): significance level of p-value tests.
//! - `threshold` (number, default 0.1): distance threshold of wasserstein,
//!   jensenshannon and psi.
//! - `drift_share` (number, default 0.5): share of drifted columns at which
//!   the dataset drifts.
//! - `columns` (text, default `""`): comma-separated columns to test; empty
//!   means every column present in both tables, in the current table's
//!   order.
//! - `binning` (text, default `"evidently"`): how psi and jensenshannon
//!   bin a numeric column with more than 20 distinct reference values:
//!   `evidently` (Sturges histogram of both samples) or `quantile`
//!   (`psi_bins` quantile bins of the reference).
//! - `psi_bins` (integer, default 10): the number of bins of
//!   `binning = "quantile"`; unused otherwise.
//!
//! # Report
//!
//! One check `drift:<col>` per column, passed when the column does not
//! drift, its detail naming the test, statistic, p-value, threshold and
//! verdict (`ks: statistic 0.1357, p-value 0.0340 <= 0.05: drift (221
//! reference, 221 current values)`), then one check `dataset`, failed when
//! the dataset drifts. Metrics: `drift_share`, `drifted_columns`,
//! `columns`, and per column `<col>.statistic` and, for p-value tests,
//! `<col>.p_value`.
//!
//! # Edge cases
//!
//! - Nulls, NaN and ±inf are dropped per column (Evidently drops them too).
//! - A column with no usable value in the reference or in the current table
//!   cannot be tested: its check fails, it counts as drifted and it has no
//!   statistic metric.
//! - Constant columns give finite results: a constant numeric column has
//!   one or two distinct values, so `auto` uses `z`, which reports z = 0 and
//!   p-value 1 when both samples hold the same single value; `chisquare`
//!   with a single category reports 0 and p-value 1 (scipy would give NaN);
//!   `wasserstein` divides by at least 0.001.
//! - A category present in the current table but not in the reference makes
//!   the chi-squared statistic +inf with p-value 0 (drift), as in scipy.
//! - A missing reference, a requested column missing from either table,
//!   no column in common, or a column that is numeric in one table and
//!   categorical in the other is an invalid-input error.

mod report;
mod sample;
pub mod special;
pub mod stats;

#[cfg(test)]
mod reference_tests;

#[cfg(test)]
mod evidently_tests;
#[cfg(test)]
mod test_json;

pub use report::{ColumnDrift, column_drift, detect};
pub use sample::{
    INTEGER_CATEGORY_LIMIT, Sample, auto_method, integer_codes, numeric_counts, run_test,
    text_counts,
};
use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, ValidationReport, Validator};

/// A drift test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Auto,
    Ks,
    ChiSquare,
    Z,
    Wasserstein,
    JensenShannon,
    Psi,
}

impl Method {
    pub fn parse(text: &str) -> Option<Method> {
        Some(match text.trim() {
            "auto" => Method::Auto,
            "ks" => Method::Ks,
            "chisquare" => Method::ChiSquare,
            "z" => Method::Z,
            "wasserstein" => Method::Wasserstein,
            "jensenshannon" => Method::JensenShannon,
            "psi" => Method::Psi,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Ks => "ks",
            Method::ChiSquare => "chisquare",
            Method::Z => "z",
            Method::Wasserstein => "wasserstein",
            Method::JensenShannon => "jensenshannon",
            Method::Psi => "psi",
        }
    }

    /// Whether the test gives a p-value (else a distance).
    pub fn has_p_value(self) -> bool {
        matches!(self, Method::Ks | Method::ChiSquare | Method::Z)
    }

    /// Whether a p-value of this test means drift at significance `level`:
    /// `p <= level` for ks, `p < level` for chisquare and z, as Evidently
    /// compares them.
    pub fn p_value_drifts(self, p: f64, level: f64) -> bool {
        match self {
            Method::ChiSquare | Method::Z => p < level,
            _ => p <= level,
        }
    }
}

/// How `psi` and `jensenshannon` bin a numeric column with more than 20
/// distinct reference values (fewer distinct values are counted per value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binning {
    /// Evidently's `get_binned_data`: a Sturges histogram of both samples
    /// together ([`stats::histogram_bin_counts`]).
    Evidently,
    /// `bins` quantile bins of the reference
    /// ([`stats::quantile_bin_counts`]).
    Quantile { bins: usize },
}

/// Everything `drift` needs from its params.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub method: Method,
    pub p_value: f64,
    pub threshold: f64,
    pub drift_share: f64,
    pub columns: Vec<String>,
    pub binning: Binning,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            method: Method::Auto,
            p_value: 0.05,
            threshold: 0.1,
            drift_share: 0.5,
            columns: Vec::new(),
            binning: Binning::Evidently,
        }
    }
}

impl Options {
    pub fn from_params(params: &Params) -> Result<Options, StepError> {
        let method_text = params.text("method")?;
        let method = Method::parse(method_text).ok_or_else(|| {
            StepError::invalid_params(format!(
                "param 'method': unknown test '{method_text}'; use auto, ks, chisquare, z, \
                 wasserstein, jensenshannon or psi"
            ))
        })?;
        let p_value = params.number("p_value")?;
        if !(p_value > 0.0 && p_value < 1.0) {
            return Err(StepError::invalid_params(format!(
                "param 'p_value' must lie in (0, 1), got {p_value}"
            )));
        }
        let threshold = params.number("threshold")?;
        if !(threshold.is_finite() && threshold >= 0.0) {
            return Err(StepError::invalid_params(format!(
                "param 'threshold' must be a finite number >= 0, got {threshold}"
            )));
        }
        let drift_share = params.number("drift_share")?;
        if !(0.0..=1.0).contains(&drift_share) {
            return Err(StepError::invalid_params(format!(
                "param 'drift_share' must lie in [0, 1], got {drift_share}"
            )));
        }
        let psi_bins = params.integer("psi_bins")?;
        if !(2..=10_000).contains(&psi_bins) {
            return Err(StepError::invalid_params(format!(
                "param 'psi_bins' must lie in [2, 10000], got {psi_bins}"
            )));
        }
        let binning = match params.text("binning")?.trim() {
            "evidently" => Binning::Evidently,
            "quantile" => Binning::Quantile {
                bins: psi_bins as usize,
            },
            other => {
                return Err(StepError::invalid_params(format!(
                    "param 'binning': unknown binning '{other}'; use evidently or quantile"
                )));
            }
        };
        let columns = params
            .text("columns")?
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Options {
            method,
            p_value,
            threshold,
            drift_share,
            columns,
            binning,
        })
    }
}

pub struct Drift;

impl Validator for Drift {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "drift",
            env!("CARGO_PKG_VERSION"),
            "Data drift of the current table against the reference, per column and for the \
             dataset, with Evidently's tests (KS, chi-squared, Z, normed Wasserstein, \
             Jensen-Shannon, PSI) and defaults.",
        )
        .metrics(&[
            "drift_share",
            "drifted_columns",
            "columns",
            "*.statistic",
            "*.p_value",
        ])
        .param(
            ParamSpec::text(
                "method",
                "auto",
                "auto (Evidently's choice per column), ks, chisquare, z, wasserstein, \
             jensenshannon or psi",
            )
            .choices(&[
                "auto",
                "ks",
                "chisquare",
                "z",
                "wasserstein",
                "jensenshannon",
                "psi",
            ]),
        )
        .param(
            ParamSpec::number(
                "p_value",
                0.05,
                "significance level: a p-value at or below it is drift (ks, chisquare, z)",
            )
            .above(0.0)
            .below(1.0),
        )
        .param(
            ParamSpec::number(
                "threshold",
                0.1,
                "distance at or above which a column drifts (wasserstein, jensenshannon, psi)",
            )
            .at_least(0.0),
        )
        .param(
            ParamSpec::number(
                "drift_share",
                0.5,
                "share of drifted columns at or above which the dataset drifts",
            )
            .range(0.0, 1.0),
        )
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to test; empty: every column present in both tables",
        ))
        .param(
            ParamSpec::text(
                "binning",
                "evidently",
                "binning of numeric psi and jensenshannon: evidently (Sturges histogram of both \
             samples, as Evidently) or quantile (psi_bins quantile bins of the reference)",
            )
            .choices(&["evidently", "quantile"]),
        )
        .param(
            ParamSpec::integer(
                "psi_bins",
                10,
                "number of quantile bins with binning = quantile",
            )
            .range(2.0, 10_000.0),
        )
    }

    fn validate(
        data: Table,
        reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError> {
        let options = Options::from_params(&params)?;
        let reference = reference.ok_or_else(|| {
            StepError::invalid_input("drift needs a reference table to compare the data with")
        })?;
        detect(&data, &reference, &options)
    }
}

sluice_sdk::export_validator!(Drift);

#[cfg(test)]
mod tests;
