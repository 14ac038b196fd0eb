//! What a plugin says about itself, and what its steps return.

use crate::ParamSpec;

/// A plugin's self-description, returned by `describe()`. The host shows it
/// in `sluice plugin inspect` and checks a pipeline's params against
/// `params` before anything runs. The step kind is filled in by the export
/// macro from the world the plugin implements.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    /// The plugin's name, as pipelines name it in `plugin = "..."`.
    pub name: String,
    /// The plugin's version (semver text); it is part of every cache key.
    pub version: String,
    /// One or two sentences on what the plugin does, shown by `sluice plugin
    /// inspect`.
    pub doc: String,
    /// The params the plugin accepts, with their kinds and defaults.
    pub params: Vec<ParamSpec>,
    /// The names of the metrics it may report; a `*` in a name stands for
    /// any text (`class_*`, `*.p_value`). Empty:
    /// not declared (the host then cannot check promotion gates that name
    /// its metrics).
    pub metrics: Vec<String>,
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
            metrics: Vec::new(),
        }
    }

    /// Declares the metrics it may report (builder style), so that the
    /// host refuses a promotion gate naming any other when it loads the
    /// pipeline.
    pub fn metrics(mut self, names: &[&str]) -> Self {
        self.metrics.extend(names.iter().map(|n| n.to_string()));
        self
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
    /// The metric's name, unique within a step.
    pub name: String,
    /// Its value, in the unit its name says.
    pub value: f64,
}

impl Metric {
    /// A metric named `name`.
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
    /// The rule's name, unique within a report.
    pub name: String,
    /// Whether the data passed the rule.
    pub passed: bool,
    /// What was found, for the user (the offending column, count or value).
    pub detail: String,
}

impl Check {
    /// A check of the rule `name`.
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
    /// The rules checked, in order.
    pub checks: Vec<Check>,
    /// Figures measured along the way.
    pub metrics: Vec<Metric>,
}

impl ValidationReport {
    /// A report with no check (it passes).
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
    /// The model, in the plugin's own format; the host stores it as an artifact
    /// and gives it back to `predict`.
    pub model: Vec<u8>,
    /// Training metrics (loss, iterations, ...).
    pub metrics: Vec<Metric>,
}

impl Trained {
    /// A model with no metric yet.
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

    /// The value of the metric `name`, if reported.
    pub fn metric_value(&self, name: &str) -> Option<f64> {
        metric_value(&self.metrics, name)
    }
}

/// How much one feature matters to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// The feature's column name.
    pub feature: String,
    /// How much it matters; its scale depends on the explainer (e.g. a drop in
    /// score, a mean absolute SHAP value).
    pub score: f64,
}

impl Attribution {
    /// The attribution `score` of `feature`.
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
    /// One attribution per feature, in the order the explainer chose.
    pub global: Vec<Attribution>,
    /// Figures measured along the way (the baseline score, evaluations, ...).
    pub metrics: Vec<Metric>,
}

impl Explanation {
    /// An explanation with nothing in it yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the attribution `score` of `feature`.
    pub fn attribution(&mut self, feature: impl Into<String>, score: f64) {
        self.global.push(Attribution::new(feature, score));
    }

    /// Adds a metric.
    pub fn metric(&mut self, name: impl Into<String>, value: f64) {
        self.metrics.push(Metric::new(name, value));
    }

    /// The value of the metric `name`, if reported.
    pub fn metric_value(&self, name: &str) -> Option<f64> {
        metric_value(&self.metrics, name)
    }
}

fn metric_value(metrics: &[Metric], name: &str) -> Option<f64> {
    metrics.iter().find(|m| m.name == name).map(|m| m.value)
}
