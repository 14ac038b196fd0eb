//! One column's two samples (usable values only) and the drift test run on
//! them: the counts a categorical test compares, the choice of `auto`, and
//! each method's statistic and p-value. Not for reporting: the per-column
//! verdict and the table's report are [`crate::report`].

use std::collections::BTreeMap;

use sluice_sdk::{Column, StepError, Values};

use crate::stats::{self, Counts, Outcome};
use crate::{Binning, Method};

/// `v` in ascending order. A monitor's stored reference comes with its
/// columns sorted: finding that out costs one read, where an unsorted
/// sample stops the read at its first descent.
fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    if !v.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        stats::sort(&mut v);
    }
    v
}

/// The usable values of one column: nulls, NaN and ±inf dropped; numbers
/// in ascending order.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Numeric(Vec<f64>),
    Categorical(Vec<String>),
}

impl Sample {
    pub fn from_column(column: &Column) -> Sample {
        let keep = |i: usize| !column.is_null(i);
        match column.values() {
            // Numbers are sorted once, here: every test walks them in order.
            Values::F64(v) => Sample::Numeric(sorted(
                v.iter()
                    .enumerate()
                    .filter(|&(i, x)| keep(i) && x.is_finite())
                    // -0.0 and 0.0 are one value.
                    .map(|(_, &x)| x + 0.0)
                    .collect(),
            )),
            Values::I64(v) => Sample::Numeric(sorted(
                v.iter()
                    .enumerate()
                    .filter(|&(i, _)| keep(i))
                    .map(|(_, &x)| x as f64)
                    .collect(),
            )),
            Values::Bool(v) => Sample::Categorical(
                v.iter()
                    .enumerate()
                    .filter(|&(i, _)| keep(i))
                    .map(|(_, &b)| b.to_string())
                    .collect(),
            ),
            Values::Str(v) => Sample::Categorical(
                v.iter()
                    .enumerate()
                    .filter(|&(i, _)| keep(i))
                    .map(|(_, s)| s.clone())
                    .collect(),
            ),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Sample::Numeric(v) => v.len(),
            Sample::Categorical(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counts per distinct numeric value of both samples, in ascending order:
/// one walk over both sorted samples.
pub fn numeric_counts(reference: &[f64], current: &[f64]) -> Counts {
    let (r, c) = (stats::ascending(reference), stats::ascending(current));
    let mut counts = Counts {
        reference: Vec::new(),
        current: Vec::new(),
    };
    let (mut i, mut j) = (0, 0);
    while i < r.len() || j < c.len() {
        let x = match (r.get(i), c.get(j)) {
            (Some(a), Some(b)) if a.total_cmp(b).is_le() => *a,
            (Some(_), Some(b)) => *b,
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => unreachable!("the loop stops when both are walked"),
        };
        let run = |xs: &[f64], at: &mut usize| {
            let start = *at;
            while *at < xs.len() && xs[*at].total_cmp(&x).is_eq() {
                *at += 1;
            }
            (*at - start) as f64
        };
        counts.reference.push(run(&r, &mut i));
        counts.current.push(run(&c, &mut j));
    }
    counts
}

/// Counts per distinct text value of both samples, in sorted order.
pub fn text_counts(reference: &[String], current: &[String]) -> Counts {
    let mut map: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for r in reference {
        map.entry(r).or_default().0 += 1.0;
    }
    for c in current {
        map.entry(c).or_default().1 += 1.0;
    }
    Counts {
        reference: map.values().map(|v| v.0).collect(),
        current: map.values().map(|v| v.1).collect(),
    }
}

/// How many distinct values the two samples hold together (one walk over
/// both sorted samples, nothing allocated when they are sorted).
pub fn distinct_in_both(reference: &[f64], current: &[f64]) -> usize {
    let (r, c) = (stats::ascending(reference), stats::ascending(current));
    let (mut i, mut j, mut distinct) = (0, 0, 0);
    let mut last: Option<f64> = None;
    while i < r.len() || j < c.len() {
        let x = match (r.get(i), c.get(j)) {
            (Some(a), Some(b)) if a.total_cmp(b).is_le() => {
                i += 1;
                *a
            }
            (_, Some(b)) => {
                j += 1;
                *b
            }
            (Some(a), None) => {
                i += 1;
                *a
            }
            (None, None) => unreachable!("the loop stops when both are walked"),
        };
        if last.is_none_or(|l| l.total_cmp(&x).is_ne()) {
            distinct += 1;
            last = Some(x);
        }
    }
    distinct
}

fn distinct_numeric(xs: &[f64]) -> usize {
    let v = stats::ascending(xs);
    v.chunk_by(|a, b| a.total_cmp(b).is_eq()).count()
}

/// Evidently types an integer column with at most this many distinct
/// values as categorical (`INTEGER_CARDINALITY_LIMIT` of its
/// `infer_column_type`).
pub const INTEGER_CATEGORY_LIMIT: usize = 10;

/// Whether Evidently, inferring column types, would call this column
/// categorical although the plugin reads it as numbers: an i64 column with
/// at most [`INTEGER_CATEGORY_LIMIT`] distinct non-null values. Evidently
/// takes the type from the current table, so pass the current column.
pub fn integer_codes(current: &Column) -> bool {
    match current.values() {
        Values::I64(v) => {
            let mut seen: Vec<i64> = Vec::new();
            for (i, &x) in v.iter().enumerate() {
                if !current.is_null(i) && !seen.contains(&x) {
                    if seen.len() == INTEGER_CATEGORY_LIMIT {
                        return false;
                    }
                    seen.push(x);
                }
            }
            true
        }
        _ => false,
    }
}

/// Evidently's default test for a column (see the crate docs);
/// `integer_codes` (see [`integer_codes`]) makes a numeric column choose
/// as a categorical one.
pub fn auto_method(reference: &Sample, current: &Sample, integer_codes: bool) -> Method {
    let n_ref = reference.len();
    match (reference, current) {
        (Sample::Numeric(r), Sample::Numeric(c)) if integer_codes => {
            let distinct = distinct_in_both(r, c);
            match (n_ref <= 1000, distinct) {
                (true, d) if d > 2 => Method::ChiSquare,
                (true, _) => Method::Z,
                (false, _) => Method::JensenShannon,
            }
        }
        (Sample::Numeric(r), Sample::Numeric(c)) => {
            let distinct = distinct_in_both(r, c);
            match (n_ref <= 1000, distinct) {
                (true, d) if d > 5 => Method::Ks,
                (true, d) if d > 2 => Method::ChiSquare,
                (true, _) => Method::Z,
                (false, d) if d > 5 => Method::Wasserstein,
                (false, _) => Method::JensenShannon,
            }
        }
        (Sample::Categorical(r), Sample::Categorical(c)) => {
            let distinct = text_counts(r, c).reference.len();
            match (n_ref <= 1000, distinct) {
                (true, d) if d > 2 => Method::ChiSquare,
                (true, _) => Method::Z,
                (false, _) => Method::JensenShannon,
            }
        }
        _ => Method::Ks, // unreachable: kinds are checked before
    }
}

/// Runs `method` (not `Auto`) on one column's samples.
pub fn run_test(
    name: &str,
    method: Method,
    reference: &Sample,
    current: &Sample,
    binning: Binning,
) -> Result<Outcome, StepError> {
    let counts = || match (reference, current) {
        (Sample::Numeric(r), Sample::Numeric(c)) => numeric_counts(r, c),
        (Sample::Categorical(r), Sample::Categorical(c)) => text_counts(r, c),
        _ => unreachable!("column kinds are checked before"),
    };
    let binned = || match (reference, current) {
        (Sample::Numeric(r), Sample::Numeric(c)) if distinct_numeric(r) > 20 => match binning {
            Binning::Evidently => stats::histogram_bin_counts(r, c),
            Binning::Quantile { bins } => stats::quantile_bin_counts(r, c, bins),
        },
        _ => counts(),
    };
    let numeric = |test: &str| match (reference, current) {
        (Sample::Numeric(r), Sample::Numeric(c)) => Ok((r, c)),
        _ => Err(StepError::invalid_params(format!(
            "method '{test}' needs a numeric column; '{name}' is categorical"
        ))),
    };
    Ok(match method {
        Method::Ks => {
            let (r, c) = numeric("ks")?;
            stats::ks_2samp(r, c)
        }
        Method::Wasserstein => {
            let (r, c) = numeric("wasserstein")?;
            stats::wasserstein_normed(r, c)
        }
        Method::ChiSquare => stats::chisquare(&counts()),
        Method::Z => {
            let counts = counts();
            if counts.reference.len() > 2 {
                return Err(StepError::invalid_params(format!(
                    "method 'z' needs a column with at most 2 distinct values; '{name}' has {}",
                    counts.reference.len()
                )));
            }
            stats::z_test(&counts)
        }
        Method::JensenShannon => stats::jensenshannon(&binned()),
        Method::Psi => stats::psi(&binned()),
        Method::Auto => {
            return run_test(
                name,
                // The column's type is not known here: a column read as
                // numbers is taken as numeric ([`crate::column_drift`]
                // asks `integer_codes`).
                auto_method(reference, current, false),
                reference,
                current,
                binning,
            );
        }
    })
}
