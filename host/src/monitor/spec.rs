//! What a model's monitor checks, as the pipeline file declares it
//! (`[models.NAME.monitoring]`) and as a registered version keeps it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A model's monitor: see the [module docs](super).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// How much traffic one evaluation looks at, and how often `sluice
    /// serve` evaluates: a span such as `"10m"` or `"1h"` (`s`, `m`, `h`,
    /// `d`), or a number of requests such as `"5000 requests"` (each
    /// window the next that many requests to the model).
    #[serde(default = "default_window")]
    pub window: String,
    /// Fewer logged rows of a version than this in a window make every
    /// check of it inconclusive (never passed, never failed).
    #[serde(default = "default_min_rows")]
    pub min_rows: u64,
    /// How many windows in a row a check must fail before `on_alert`'s
    /// action runs (the alert itself is recorded at every failure).
    #[serde(default = "default_failure_limit")]
    pub failure_limit: u32,
    /// What a failing check does beyond recording an alert: `log` (only
    /// that), or `rollback` (the `production` alias goes back to the
    /// version it held before, when the failing version holds it).
    #[serde(default)]
    pub on_alert: OnAlert,
    /// A command run at each alert (program and arguments, no shell),
    /// with the alert in `SLUICE_ALERT_*` environment variables: for
    /// webhooks and pagers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The checks, in order.
    pub checks: Vec<CheckSpec>,
}

fn default_window() -> String {
    "1h".into()
}

fn default_min_rows() -> u64 {
    100
}

fn default_failure_limit() -> u32 {
    1
}

/// What an alert does beyond being recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnAlert {
    /// Record and log it.
    #[default]
    Log,
    /// Roll `production` back after `failure_limit` failing windows.
    Rollback,
}

/// What a check looks at: each kind hands its validator other tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The logged inputs against the version's training rows (plugin
    /// `drift` by default).
    Drift,
    /// The logged outputs against the version's holdout predictions
    /// (plugin `drift` by default).
    PredictionDrift,
    /// The labelled rows, through the version's chain, scored with the
    /// model bound (plugin `classification-eval` by default,
    /// `regression-eval` for a regressor).
    Performance,
    /// Performance estimated without labels from the outputs, against the
    /// holdout predictions and labels (plugin `cbpe` by default).
    Cbpe,
    /// Error rate and latency from the server's log; no plugin.
    Service,
    /// Any validator: the logged inputs, outputs (`output.NAME`) and
    /// labels, against the training rows.
    Custom,
}

impl CheckKind {
    /// The plugin a check of this kind runs when it names none.
    pub fn default_plugin(self) -> Option<&'static str> {
        match self {
            CheckKind::Drift | CheckKind::PredictionDrift => Some("drift"),
            CheckKind::Performance => Some("classification-eval"),
            CheckKind::Cbpe => Some("cbpe"),
            CheckKind::Service | CheckKind::Custom => None,
        }
    }

    /// Its name in the pipeline file.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Drift => "drift",
            CheckKind::PredictionDrift => "prediction_drift",
            CheckKind::Performance => "performance",
            CheckKind::Cbpe => "cbpe",
            CheckKind::Service => "service",
            CheckKind::Custom => "custom",
        }
    }
}

/// One check of a monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Its name in results, alerts and metrics (letters, digits, `-`,
    /// `_`); the kind's name by default.
    #[serde(default)]
    pub name: String,
    /// What it looks at.
    pub kind: CheckKind,
    /// The validator plugin it runs, named as a step's plugin is; the
    /// kind's default when empty. `service` runs none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The plugin's params. For `service`: `max_error_rate` (default
    /// 0.01), `max_p50_ms` and `max_p99_ms` (no bound by default).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Fewer rows than this (labelled rows, for `performance`) make the
    /// check inconclusive; the monitor's `min_rows` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<u64>,
    /// The plugin component's sha256, filled in when the pipeline is
    /// planned: what the monitor loads from the artifact store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// For a `performance` check naming no plugin: `regression-eval`'s
    /// sha256, filled in when planned and run instead of
    /// `classification-eval` for a regressor (a version whose holdout
    /// predictions have no class probabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression_sha256: Option<String>,
}

/// What one window of a monitor covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// A span of time, in milliseconds: windows aligned to its multiples.
    Time(i64),
    /// A number of requests: each window the next that many.
    Requests(u64),
}

impl Span {
    /// A window as a pipeline file or `--window` writes it: a span of
    /// time (`90s`, `10m`, `2h`, `7d`) or of requests (`5000 requests`).
    pub fn parse(text: &str) -> Result<Span, String> {
        let trimmed = text.trim();
        if let Some(count) = trimmed
            .strip_suffix("requests")
            .or_else(|| trimmed.strip_suffix("request"))
        {
            return match count.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Span::Requests(n)),
                _ => Err(format!(
                    "`{trimmed}` is not a count of requests: write a whole number, as in \
                     `5000 requests`"
                )),
            };
        }
        span_ms(trimmed).map(Span::Time).map_err(|_| {
            format!(
                "`{trimmed}` is not a window: write a span (90s, 10m, 2h, 7d) or a count \
                 of requests (5000 requests)"
            )
        })
    }
}

impl MonitorSpec {
    /// What one window covers.
    pub fn span(&self) -> Result<Span, String> {
        Span::parse(&self.window).map_err(|e| format!("window: {e}"))
    }

    /// Fill in default names and check names, numbers and kinds; the
    /// error names the field.
    pub fn validate(&mut self) -> Result<(), String> {
        if let Span::Time(ms) = self.span()?
            && ms < 1000
        {
            return Err(format!(
                "window: `{}` is shorter than a second",
                self.window
            ));
        }
        if self.failure_limit == 0 {
            return Err("failure_limit: must be at least 1".into());
        }
        if self.checks.is_empty() {
            return Err("checks: a monitor needs at least one check".into());
        }
        if let Some(program) = self.command.first()
            && program.is_empty()
        {
            return Err("command: the program is empty".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, check) in self.checks.iter_mut().enumerate() {
            if check.name.is_empty() {
                check.name = check.kind.as_str().to_owned();
            }
            let name = &check.name;
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "checks[{i}]: name `{name}`: use letters, digits, '-' or '_'"
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(format!(
                    "checks[{i}]: two checks are named `{name}`: give one a `name`"
                ));
            }
            match (check.kind, &check.plugin) {
                (CheckKind::Service, Some(_)) => {
                    return Err(format!(
                        "checks[{i}] `{name}`: a service check runs no plugin"
                    ));
                }
                (CheckKind::Custom, None) => {
                    return Err(format!(
                        "checks[{i}] `{name}`: a custom check names its validator in `plugin`"
                    ));
                }
                _ => {}
            }
            if check.kind == CheckKind::Service {
                for (param, value) in &check.params {
                    if !["max_error_rate", "max_p50_ms", "max_p99_ms"].contains(&param.as_str()) {
                        return Err(format!(
                            "checks[{i}] `{name}`: unknown param `{param}` (known: \
                             max_error_rate, max_p50_ms, max_p99_ms)"
                        ));
                    }
                    if !value.is_number() {
                        return Err(format!("checks[{i}] `{name}`: `{param}` must be a number"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The plugin each check runs: `(check index, plugin name)`.
    pub fn plugins(&self) -> Vec<(usize, String)> {
        self.checks
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                c.plugin
                    .clone()
                    .or_else(|| c.kind.default_plugin().map(str::to_owned))
                    .map(|p| (i, p))
            })
            .collect()
    }
}

/// A span (`90s`, `10m`, `2h`, `7d`) in milliseconds.
pub fn span_ms(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    let unit_ms: i64 = match unit.trim() {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if unit_ms > 0 && n > 0 => Ok(n.saturating_mul(unit_ms)),
        _ => Err(format!(
            "`{text}` is not a span: write a whole number and a unit (90s, 10m, 2h, 7d)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml_text: &str) -> Result<MonitorSpec, String> {
        let mut s: MonitorSpec = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    #[test]
    fn defaults_fill_names_and_bad_fields_are_named() {
        let s = spec(
            "window = \"10m\"\n[[checks]]\nkind = \"drift\"\n[[checks]]\nkind = \"service\"\n\
             params = { max_p99_ms = 50 }\n",
        )
        .unwrap();
        assert_eq!(s.span().unwrap(), Span::Time(600_000));
        assert_eq!(s.checks[0].name, "drift");
        assert_eq!(s.checks[1].name, "service");
        assert_eq!(s.plugins(), vec![(0, "drift".to_owned())]);
        assert_eq!(s.on_alert, OnAlert::Log);
        assert_eq!(s.failure_limit, 1);

        let e = spec("window = \"10 minutes\"\n[[checks]]\nkind = \"drift\"\n").unwrap_err();
        assert!(e.contains("window") && e.contains("not a window"), "{e}");
        let s = spec("window = \"5000 requests\"\n[[checks]]\nkind = \"drift\"\n").unwrap();
        assert_eq!(s.span().unwrap(), Span::Requests(5000));
        assert_eq!(Span::parse("1 request"), Ok(Span::Requests(1)));
        let e = spec("window = \"0 requests\"\n[[checks]]\nkind = \"drift\"\n").unwrap_err();
        assert!(e.contains("not a count of requests"), "{e}");
        let e = spec("window = \"many requests\"\n[[checks]]\nkind = \"drift\"\n").unwrap_err();
        assert!(e.contains("whole number"), "{e}");
        let e = spec("[[checks]]\nkind = \"drift\"\n[[checks]]\nkind = \"drift\"\n").unwrap_err();
        assert!(e.contains("two checks are named `drift`"), "{e}");
        let e = spec("[[checks]]\nkind = \"custom\"\n").unwrap_err();
        assert!(e.contains("names its validator"), "{e}");
        let e = spec("[[checks]]\nkind = \"service\"\nparams = { p99 = 3 }\n").unwrap_err();
        assert!(e.contains("unknown param `p99`"), "{e}");
        let e = spec("[[checks]]\nkind = \"drfit\"\n").unwrap_err();
        assert!(e.contains("drfit"), "{e}");
        let e = spec("checks = []\n").unwrap_err();
        assert!(e.contains("at least one check"), "{e}");
    }
}
