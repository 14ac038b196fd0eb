//! What a plugin says about itself, and what its steps return.

use crate::ParamSpec;

/// A plugin's self-description, returned by `describe()`. The host shows it
/// in `sluice plugin inspect` and checks a pipeline's params against
/// `params` before anything runs. The step kind is filled in by the export
/// macro from the world the plugin implements.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub doc: String,
    pub params: Vec<ParamSpec>,
}

impl PluginInfo {
    /// A plugin without params. Pass `env!("CARGO_PKG_VERSION")` as the
    /// version to keep it in step with the crate.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        doc: impl Into<String>,
    ) -> Self {
        PluginInfo {
            name: name.into(),
            version: version.into(),
            doc: doc.into(),
            params: Vec::new(),
        }
    }

    /// Declares one more param (builder style).
    pub fn param(mut self, spec: ParamSpec) -> Self {
        self.params.push(spec);
        self
    }
}

/// A named number a step reports (accuracy, rows, iterations, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

impl Metric {
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Metric {
            name: name.into(),
            value,
        }
    }
}

/// One rule a validator checked. The host fails the step if any check did
/// not pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl Check {
    pub fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            passed,
            detail: detail.into(),
        }
    }
}

/// What a validator found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidationReport {
    pub checks: Vec<Check>,
    pub metrics: Vec<Metric>,
}

impl ValidationReport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one check.
    pub fn check(&mut self, name: impl Into<String>, passed: bool, detail: impl Into<String>) {
        self.checks.push(Check::new(name, passed, detail));
    }

    /// Records one metric.
    pub fn metric(&mut self, name: impl Into<String>, value: f64) {
        self.metrics.push(Metric::new(name, value));
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The named check, if recorded.
    pub fn find_check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The value of the named metric, if recorded.
    pub fn metric_value(&self, name: &str) -> Option<f64> {
        metric_value(&self.metrics, name)
    }
}

/// A trained model's bytes (opaque to the host) and training metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    pub model: Vec<u8>,
    pub metrics: Vec<Metric>,
}

impl Trained {
    pub fn new(model: Vec<u8>) -> Self {
        Trained {
            model,
            metrics: Vec::new(),
        }
    }

    /// Adds a metric (builder style).
    pub fn with_metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.push(Metric::new(name, value));
        self
    }

    pub fn metric_value(&self, name: &str) -> Option<f64> {
        metric_value(&self.metrics, name)
    }
}

/// How much one feature matters to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub feature: String,
    pub score: f64,
}

impl Attribution {
    pub fn new(feature: impl Into<String>, score: f64) -> Self {
        Attribution {
            feature: feature.into(),
            score,
        }
    }
}

/// What an explainer found: global attributions and metrics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Explanation {
    pub global: Vec<Attribution>,
    pub metrics: Vec<Metric>,
}

impl Explanation {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn attribution(&mut self, feature: impl Into<String>, score: f64) {
        self.global.push(Attribution::new(feature, score));
    }

    pub fn metric(&mut self, name: impl Into<String>, value: f64) {
        self.metrics.push(Metric::new(name, value));
    }

    pub fn metric_value(&self, name: &str) -> Option<f64> {
        metric_value(&self.metrics, name)
    }
}

fn metric_value(metrics: &[Metric], name: &str) -> Option<f64> {
    metrics.iter().find(|m| m.name == name).map(|m| m.value)
}
