//! A rollout as declared (`[models.NAME.rollout]`) or given on the command
//! line, and its checks: comparisons of the candidate's monitor numbers
//! with production's on the same window.
//!
//! ```text
//! service.error_rate <= 0.01                 a fixed bound
//! performance.accuracy >= production - 0.01  production's value on the window, minus 0.01
//! service.p99_ms <= 1.2 * production         a factor of production's value
//! drift.drift_share <= 0.5
//! ```
//!
//! The left side names a monitor check and one of its numbers
//! (`CHECK.METRIC`, optionally prefixed `candidate.`); the right side is a
//! number, or `production` (the same number of the version production
//! holds) plus or minus a number, or times a factor: the grammar of
//! promotion gates, with factors.

use serde::{Deserialize, Serialize};

/// A rollout's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutSpec {
    /// The candidate's share of the alias's traffic at each step, in
    /// percent, increasing; the last may be 100.
    #[serde(default = "default_steps")]
    pub steps: Vec<f64>,
    /// How long each step lasts at least, and the span each judgement
    /// looks at (`90s`, `10m`).
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Fewer candidate requests than this in an interval: inconclusive
    /// (the rollout holds and says so).
    #[serde(default = "default_min_requests")]
    pub min_requests: u64,
    /// Failed intervals (in all) before the rollout rolls back.
    #[serde(default = "default_failure_limit")]
    pub failure_limit: u32,
    /// The checks of each interval (see the module docs).
    #[serde(default = "default_checks")]
    pub checks: Vec<String>,
}

impl Default for RolloutSpec {
    fn default() -> Self {
        RolloutSpec {
            steps: default_steps(),
            interval: default_interval(),
            min_requests: default_min_requests(),
            failure_limit: default_failure_limit(),
            checks: default_checks(),
        }
    }
}

fn default_steps() -> Vec<f64> {
    vec![10.0, 50.0, 100.0]
}

fn default_interval() -> String {
    "10m".into()
}

fn default_min_requests() -> u64 {
    100
}

fn default_failure_limit() -> u32 {
    2
}

fn default_checks() -> Vec<String> {
    vec![
        "service.error_rate <= 0.01".into(),
        "service.p99_ms <= 1.5 * production".into(),
    ]
}

/// What a check's number is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// A number.
    Fixed(f64),
    /// Production's value times `factor`, plus `offset`.
    Production {
        /// Multiplies production's value.
        factor: f64,
        /// Added after.
        offset: f64,
    },
}

/// A parsed rollout check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// As written.
    pub text: String,
    /// The monitor check it reads.
    pub check: String,
    /// The number of that check.
    pub metric: String,
    /// `>=` (else `<=`).
    pub at_least: bool,
    /// The other side.
    pub bound: Bound,
}

impl Check {
    /// `check.metric`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.check, self.metric)
    }

    /// The bound's value given production's number; `None` when it needs
    /// one and has none.
    pub fn limit(&self, production: Option<f64>) -> Option<f64> {
        match self.bound {
            Bound::Fixed(v) => Some(v),
            Bound::Production { factor, offset } => production.map(|p| p * factor + offset),
        }
    }

    /// Whether `value` is within `limit`.
    pub fn holds(&self, value: f64, limit: f64) -> bool {
        if self.at_least {
            value >= limit
        } else {
            value <= limit
        }
    }
}

/// Parse one check; the error says what is expected.
pub fn parse_check(text: &str) -> Result<Check, String> {
    let expected = || {
        format!(
            "rollout check `{text}`: expected `CHECK.METRIC >= BOUND` or `CHECK.METRIC <= BOUND`, \
             where BOUND is a number, `production`, `production - N`, `production + N` or \
             `N * production`"
        )
    };
    let (lhs, at_least, rhs) = if let Some((l, r)) = text.split_once(">=") {
        (l, true, r)
    } else if let Some((l, r)) = text.split_once("<=") {
        (l, false, r)
    } else {
        return Err(expected());
    };
    let lhs = lhs.trim();
    let lhs = lhs.strip_prefix("candidate.").unwrap_or(lhs);
    let (check, metric) = lhs
        .split_once('.')
        .filter(|(c, m)| !c.is_empty() && !m.is_empty() && !lhs.contains(char::is_whitespace))
        .ok_or_else(|| {
            format!(
                "rollout check `{text}`: `{lhs}` is not CHECK.METRIC (a monitor check's name and one of its numbers, e.g. service.p99_ms)"
            )
        })?;
    let rhs = rhs
        .trim()
        .replace(&format!("production.{lhs}"), "production");
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let bound = if let Some(v) = number(&rhs) {
        Bound::Fixed(v)
    } else if rhs == "production" {
        Bound::Production {
            factor: 1.0,
            offset: 0.0,
        }
    } else if let Some(rest) = rhs.strip_prefix("production") {
        let rest = rest.trim();
        let (sign, n) = match rest.split_at_checked(1) {
            Some(("-", n)) => (-1.0, n),
            Some(("+", n)) => (1.0, n),
            Some(("*", n)) => {
                let f = number(n).ok_or_else(expected)?;
                return Ok(Check {
                    text: text.to_owned(),
                    check: check.to_owned(),
                    metric: metric.to_owned(),
                    at_least,
                    bound: Bound::Production {
                        factor: f,
                        offset: 0.0,
                    },
                });
            }
            _ => return Err(expected()),
        };
        Bound::Production {
            factor: 1.0,
            offset: sign * number(n).ok_or_else(expected)?,
        }
    } else if let Some((f, p)) = rhs.split_once('*')
        && p.trim() == "production"
    {
        Bound::Production {
            factor: number(f).ok_or_else(expected)?,
            offset: 0.0,
        }
    } else {
        return Err(expected());
    };
    Ok(Check {
        text: text.to_owned(),
        check: check.to_owned(),
        metric: metric.to_owned(),
        at_least,
        bound,
    })
}

impl RolloutSpec {
    /// The interval in milliseconds.
    pub fn interval_ms(&self) -> Result<i64, String> {
        crate::monitor::spec::span_ms(&self.interval).map_err(|e| format!("interval: {e}"))
    }

    /// The parsed checks; the error names the field.
    pub fn parsed_checks(&self) -> Result<Vec<Check>, String> {
        self.checks.iter().map(|c| parse_check(c)).collect()
    }

    /// Check the plan's numbers and checks; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        self.interval_ms()?;
        if self.steps.is_empty() {
            return Err("steps: give at least one share, e.g. [10, 50, 100]".into());
        }
        let mut last = 0.0;
        for s in &self.steps {
            if !(*s > last && *s <= 100.0) {
                return Err(format!(
                    "steps: {:?} must increase, each above 0 and at most 100",
                    self.steps
                ));
            }
            last = *s;
        }
        if self.failure_limit == 0 {
            return Err("failure_limit: must be at least 1".into());
        }
        if self.checks.is_empty() {
            return Err("checks: a rollout needs at least one check".into());
        }
        self.parsed_checks().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_read_fixed_relative_and_factor_bounds() {
        let c = parse_check("performance.accuracy >= production - 0.01").unwrap();
        assert_eq!(
            (c.check.as_str(), c.metric.as_str(), c.at_least),
            ("performance", "accuracy", true)
        );
        assert_eq!(c.limit(Some(0.8)), Some(0.8 - 0.01));
        assert_eq!(c.limit(None), None);
        let c = parse_check("candidate.service.p99_ms <= 1.2 * production.service.p99_ms").unwrap();
        assert_eq!(
            c.bound,
            Bound::Production {
                factor: 1.2,
                offset: 0.0
            }
        );
        assert!(c.holds(11.0, c.limit(Some(10.0)).unwrap()));
        assert!(!c.holds(13.0, c.limit(Some(10.0)).unwrap()));
        let c = parse_check("service.p99_ms <= production * 2").unwrap();
        assert_eq!(
            c.bound,
            Bound::Production {
                factor: 2.0,
                offset: 0.0
            }
        );
        assert_eq!(
            parse_check("service.error_rate <= 0.01").unwrap().bound,
            Bound::Fixed(0.01)
        );
        for bad in [
            "accuracy >= 0.9",
            "service.p99 < 3",
            "service.p99 <= staging",
            "a.b <= production / 2",
        ] {
            assert!(parse_check(bad).is_err(), "{bad}");
        }
        let mut spec = RolloutSpec::default();
        assert_eq!(spec.validate(), Ok(()));
        spec.steps = vec![50.0, 10.0];
        assert!(spec.validate().unwrap_err().contains("must increase"));
    }
}
