//! Promotion gates: small comparisons declared with a model, checked when
//! a version is promoted to an alias.
//!
//! ```text
//! evaluate.roc_auc >= 0.9                 a fixed bound
//! evaluate.log_loss <= 0.2
//! evaluate.roc_auc >= production - 0.005  relative to the version the alias
//!                                         `production` holds now (passes
//!                                         when the alias holds none)
//! ```

use serde::Serialize;
use std::collections::BTreeMap;

/// What a gate compares its metric with.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A number.
    Fixed(f64),
    /// The metric of the version an alias holds, plus an offset.
    Alias {
        /// The alias.
        alias: String,
        /// Added to the alias's metric (negative for `ALIAS - NUMBER`).
        offset: f64,
    },
}

/// A parsed gate: `METRIC >= BOUND` or `METRIC <= BOUND`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The gate as written.
    pub text: String,
    /// The metric compared, as `step.metric`.
    pub metric: String,
    /// `>=` (else `<=`).
    pub at_least: bool,
    /// What it is compared with.
    pub bound: Bound,
}

/// The outcome of one gate for one candidate.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    /// The gate as written.
    pub gate: String,
    /// Whether the candidate passed it.
    pub passed: bool,
    /// What was compared, with the figures (or why the metric is missing).
    pub detail: String,
}

/// Parses a gate; the error names the gate and says what is expected.
pub fn parse(text: &str) -> Result<Gate, String> {
    let (metric, op, rhs) = if let Some((l, r)) = text.split_once(">=") {
        (l, true, r)
    } else if let Some((l, r)) = text.split_once("<=") {
        (l, false, r)
    } else {
        return Err(format!(
            "gate `{text}`: expected `METRIC >= BOUND` or `METRIC <= BOUND`, where BOUND is a number or `ALIAS`, `ALIAS - NUMBER`, `ALIAS + NUMBER`"
        ));
    };
    let metric = metric.trim();
    if metric.is_empty() || metric.contains(char::is_whitespace) {
        return Err(format!(
            "gate `{text}`: the metric name `{metric}` is not a name like `evaluate.roc_auc`"
        ));
    }
    let rhs = rhs.trim();
    let bound = if let Ok(v) = rhs.parse::<f64>() {
        Bound::Fixed(v)
    } else {
        let (alias, offset) = match rhs.find(['+', '-']) {
            Some(i) => {
                let sign = if rhs.as_bytes()[i] == b'-' { -1.0 } else { 1.0 };
                let n: f64 = rhs[i + 1..].trim().parse().map_err(|_| {
                    format!("gate `{text}`: `{}` is not a number", rhs[i + 1..].trim())
                })?;
                (rhs[..i].trim(), sign * n)
            }
            None => (rhs, 0.0),
        };
        if alias.is_empty()
            || !alias
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "gate `{text}`: `{rhs}` is neither a number nor an alias (with an optional offset)"
            ));
        }
        Bound::Alias {
            alias: alias.to_string(),
            offset,
        }
    };
    Ok(Gate {
        text: text.trim().to_string(),
        metric: metric.to_string(),
        at_least: op,
        bound,
    })
}

/// The version an alias holds now and its metrics, if it holds one.
pub type HolderLookup<'a> = &'a dyn Fn(&str) -> Option<(i64, BTreeMap<String, f64>)>;

/// Check every gate for a candidate's metrics. `holder_metrics` gives the
/// metrics (and version) of the version an alias holds now.
pub fn check(
    gates: &[Gate],
    candidate: &BTreeMap<String, f64>,
    holder_metrics: HolderLookup<'_>,
) -> Vec<GateResult> {
    gates
        .iter()
        .map(|g| {
            let op = if g.at_least { ">=" } else { "<=" };
            let Some(&value) = candidate.get(&g.metric) else {
                return GateResult {
                    gate: g.text.clone(),
                    passed: false,
                    detail: format!("the candidate has no metric `{}`", g.metric),
                };
            };
            let (bound, what) = match &g.bound {
                Bound::Fixed(b) => (*b, format!("{b}")),
                Bound::Alias { alias, offset } => match holder_metrics(alias) {
                    None => {
                        return GateResult {
                            gate: g.text.clone(),
                            passed: true,
                            detail: format!("alias `{alias}` holds no version yet: nothing to compare with"),
                        };
                    }
                    Some((version, metrics)) => match metrics.get(&g.metric) {
                        Some(m) => (m + offset, format!("{alias} (v{version}) {m} {offset:+} = {}", m + offset)),
                        None => {
                            return GateResult {
                                gate: g.text.clone(),
                                passed: true,
                                detail: format!("{alias} (v{version}) has no metric `{}`: nothing to compare with", g.metric),
                            };
                        }
                    },
                },
            };
            let passed = if g.at_least { value >= bound } else { value <= bound };
            GateResult {
                gate: g.text.clone(),
                passed,
                detail: format!(
                    "{} = {value} {} {op} {what}",
                    g.metric,
                    if passed { "is" } else { "is not" }
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixed_and_relative_bounds() {
        let g = parse("evaluate.roc_auc >= 0.9").unwrap();
        assert_eq!(g.bound, Bound::Fixed(0.9));
        assert!(g.at_least);
        let g = parse("evaluate.roc_auc >= production - 0.005").unwrap();
        assert_eq!(
            g.bound,
            Bound::Alias {
                alias: "production".into(),
                offset: -0.005
            }
        );
        let g = parse("evaluate.log_loss <= staging").unwrap();
        assert!(!g.at_least);
        assert!(parse("auc > 0.9").is_err());
        assert!(parse("evaluate auc >= 1").is_err());
        assert!(parse("a >= prod - x").is_err());
    }

    #[test]
    fn checks_report_the_numbers() {
        let gates = vec![
            parse("e.auc >= 0.9").unwrap(),
            parse("e.auc >= production - 0.005").unwrap(),
        ];
        let cand: BTreeMap<String, f64> = [("e.auc".to_string(), 0.95)].into();
        let prod: BTreeMap<String, f64> = [("e.auc".to_string(), 0.96)].into();
        let r = check(&gates, &cand, &|_| Some((3, prod.clone())));
        assert!(r[0].passed);
        assert!(!r[1].passed, "{r:?}");
        assert!(
            r[1].detail.contains("production (v3) 0.96"),
            "{}",
            r[1].detail
        );
        let r = check(&gates, &cand, &|_| None);
        assert!(r[1].passed);
        let low: BTreeMap<String, f64> = [("e.auc".to_string(), 0.5)].into();
        assert!(!check(&gates, &low, &|_| None)[0].passed);
    }
}
