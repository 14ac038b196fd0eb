//! Running a monitor's checks on one version's traffic: each kind's tables
//! handed to its validator in the sandbox (or, for `service`, the
//! server's own figures compared with the bounds).

use super::reference::ReferenceKind;
use super::spec::{CheckKind, CheckSpec, MonitorSpec};
use super::window::VersionTraffic;
use crate::artifacts::ArtifactDigest;
use crate::registry::{ModelVersion, PreparedModel, Registry};
use crate::runtime::{Runtime, StepContext, StepLimits};
use crate::wit;
use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every condition held.
    Pass,
    /// A condition failed: an alert.
    Fail,
    /// Too little data to judge: neither passed nor failed.
    Inconclusive,
    /// The check could not run (its plugin failed, a table was missing).
    Error,
}

impl Status {
    /// Its name in records and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Inconclusive => "inconclusive",
            Status::Error => "error",
        }
    }

    /// The name read back.
    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            "inconclusive" => Status::Inconclusive,
            "error" => Status::Error,
            _ => return None,
        })
    }
}

/// One check's result for one version in one window.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's name.
    pub check: String,
    /// Its kind.
    pub kind: CheckKind,
    /// How it came out.
    pub status: Status,
    /// The rows it looked at.
    pub rows: u64,
    /// Its numbers: the validator's metrics, or the service figures.
    pub metrics: BTreeMap<String, f64>,
    /// Why it failed or was inconclusive, else what it found.
    pub detail: String,
    /// How long the check took, in milliseconds (its tables read, its
    /// plugin's call).
    pub elapsed_ms: f64,
    /// The validator's conditions (or the service bounds), each with
    /// whether it held.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One condition of a check.
#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    /// Its name (`drift:age`, `accuracy`, `p99_ms`).
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Its numbers, in words.
    pub detail: String,
}

impl CheckResult {
    fn failed(&self) -> impl Iterator<Item = &Condition> {
        self.conditions.iter().filter(|c| !c.passed)
    }

    fn failures(&self) -> String {
        self.failed()
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What the checks of one version need besides its traffic: the version,
/// its reference tables (read once per evaluation) and where plugins run.
pub struct CheckContext<'a> {
    /// The tenant's registry.
    pub registry: &'a Registry,
    /// The runtime the validators run in.
    pub runtime: &'a Runtime,
    /// The bounds of each plugin call.
    pub limits: StepLimits,
    /// The version.
    pub version: &'a ModelVersion,
}

impl<'a> CheckContext<'a> {
    /// The version's stored tables.
    pub fn tables(&self) -> VersionTables<'a> {
        VersionTables {
            registry: self.registry,
            version: self.version,
        }
    }
}

/// A registered version's tables in its tenant's store: its training
/// rows, holdout predictions and monitor references.
#[derive(Clone, Copy)]
pub struct VersionTables<'a> {
    /// The tenant's registry.
    pub registry: &'a Registry,
    /// The version.
    pub version: &'a ModelVersion,
}

impl<'a> VersionTables<'a> {
    async fn table(
        &self,
        digest: Option<&ArtifactDigest>,
        what: &str,
    ) -> Result<RecordBatch, String> {
        let digest = digest.ok_or_else(|| {
            format!(
                "{}:{} has no {what} recorded",
                self.version.name, self.version.version
            )
        })?;
        let bytes = self.registry.artifacts.get(digest).await.map_err(|e| {
            format!(
                "reading the {what} of {}:{}: {e}",
                self.version.name, self.version.version
            )
        })?;
        crate::data::read_parquet(&bytes).map_err(|e| format!("reading the {what}: {e}"))
    }

    /// The training rows (the drift reference).
    pub(super) async fn train(&self) -> Result<RecordBatch, String> {
        self.table(self.version.data.train.as_ref(), "training data")
            .await
    }

    /// The holdout predictions, with the holdout's labels as the target
    /// column when `with_target`.
    pub(super) async fn holdout_predictions(
        &self,
        with_target: bool,
    ) -> Result<RecordBatch, String> {
        let predictions = self
            .table(
                self.version.holdout_predictions.as_ref(),
                "holdout predictions (its dataset has no split)",
            )
            .await?;
        if !with_target {
            return Ok(predictions);
        }
        let target = self.target()?;
        let holdout = self
            .table(self.version.data.holdout.as_ref(), "holdout rows")
            .await?;
        let labels = holdout
            .column_by_name(target)
            .ok_or_else(|| format!("the holdout rows have no target column `{target}`"))?;
        if labels.len() != predictions.num_rows() {
            return Err(format!(
                "the holdout has {} rows and its predictions {}",
                labels.len(),
                predictions.num_rows()
            ));
        }
        with_column(&predictions, target, labels.clone())
    }

    fn target(&self) -> Result<&'a str, String> {
        self.version.target.as_deref().ok_or_else(|| {
            format!(
                "{}:{} has no target column: its dataset names none",
                self.version.name, self.version.version
            )
        })
    }
}

/// `batch` with `column` added (or replaced) as `name`.
fn with_column(batch: &RecordBatch, name: &str, column: ArrayRef) -> Result<RecordBatch, String> {
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.name() != name {
            fields.push(f.as_ref().clone());
            columns.push(c.clone());
        }
    }
    fields.push(Field::new(name, column.data_type().clone(), true));
    columns.push(column);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// `batch`'s columns named in `names` (those it has), in that order.
pub(super) fn select(
    batch: &RecordBatch,
    names: impl IntoIterator<Item = String>,
) -> Result<RecordBatch, String> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for name in names {
        if let Some(c) = batch.column_by_name(&name) {
            fields.push(Field::new(&name, c.data_type().clone(), true));
            columns.push(c.clone());
        }
    }
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| e.to_string())
}

/// The labelled rows of `traffic`: their inputs, and their labels cast to
/// `like`'s type (the training target's).
fn labelled(traffic: &VersionTraffic, like: &Field) -> Result<(RecordBatch, ArrayRef), String> {
    let labels = traffic
        .labels
        .as_ref()
        .ok_or("no label came for this window")?;
    let keep = arrow::compute::is_not_null(labels).map_err(|e| e.to_string())?;
    let inputs =
        arrow::compute::filter_record_batch(&traffic.inputs, &keep).map_err(|e| e.to_string())?;
    let labels = arrow::compute::filter(labels, &keep).map_err(|e| e.to_string())?;
    let labels = arrow::compute::cast(&labels, like.data_type()).map_err(|e| {
        format!(
            "the labels do not read as the target `{}`'s type {}: {e}",
            like.name(),
            like.data_type()
        )
    })?;
    Ok((inputs, labels))
}

/// A param of a check as the contract carries it, by the plugin's
/// declared kind; `None` when the value is not of that kind.
pub fn json_param(kind: &str, value: &serde_json::Value) -> Option<wit::ParamValue> {
    use serde_json::Value;
    match (kind, value) {
        ("number", Value::Number(n)) => n.as_f64().map(wit::ParamValue::Number),
        ("integer", Value::Number(n)) => n.as_i64().map(wit::ParamValue::Integer),
        ("flag", Value::Bool(b)) => Some(wit::ParamValue::Flag(*b)),
        ("text", Value::String(s)) => Some(wit::ParamValue::Text(s.clone())),
        ("numbers", Value::Array(items)) => items
            .iter()
            .map(Value::as_f64)
            .collect::<Option<Vec<f64>>>()
            .map(wit::ParamValue::Numbers),
        _ => None,
    }
}

/// Run `check` of `spec` on `traffic`.
pub async fn run_check(
    ctx: &CheckContext<'_>,
    spec: &MonitorSpec,
    check: &CheckSpec,
    traffic: &VersionTraffic,
    prepared: Option<&PreparedModel>,
) -> CheckResult {
    let min_rows = check.min_rows.unwrap_or(spec.min_rows);
    let mut result = CheckResult {
        check: check.name.clone(),
        kind: check.kind,
        status: Status::Inconclusive,
        rows: traffic.rows() as u64,
        metrics: BTreeMap::new(),
        detail: String::new(),
        conditions: Vec::new(),
        elapsed_ms: 0.0,
    };
    let started = std::time::Instant::now();
    if check.kind == CheckKind::Service {
        service(check, traffic, min_rows, &mut result);
        result.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        return result;
    }
    let rows = if check.kind == CheckKind::Performance {
        traffic.labelled() as u64
    } else {
        traffic.rows() as u64
    };
    result.rows = rows;
    if rows < min_rows {
        result.detail = format!(
            "inconclusive: {rows} {}row(s) in the window, fewer than min_rows {min_rows}",
            if check.kind == CheckKind::Performance {
                "labelled "
            } else {
                ""
            }
        );
        return result;
    }
    match validate(ctx, check, traffic, prepared).await {
        Ok(report) => {
            for m in &report.metrics {
                result.metrics.insert(m.name.clone(), m.value);
            }
            result.conditions = report
                .checks
                .iter()
                .map(|c| Condition {
                    name: c.name.clone(),
                    passed: c.passed,
                    detail: c.detail.clone(),
                })
                .collect();
            if result
                .metrics
                .get("inconclusive")
                .is_some_and(|v| *v != 0.0)
            {
                result.status = Status::Inconclusive;
                result.detail = report
                    .checks
                    .iter()
                    .find(|c| c.detail.contains("inconclusive"))
                    .map_or_else(
                        || "inconclusive: the plugin says so".into(),
                        |c| c.detail.clone(),
                    );
            } else if result.failed().next().is_none() {
                result.status = Status::Pass;
                result.detail = format!("{} condition(s) held", report.checks.len());
            } else {
                result.status = Status::Fail;
                result.detail = result.failures();
            }
        }
        Err(e) => {
            result.status = Status::Error;
            result.detail = e;
        }
    }
    result.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    result
}

/// The server's figures against the check's bounds.
fn service(check: &CheckSpec, traffic: &VersionTraffic, min_rows: u64, result: &mut CheckResult) {
    let s = &traffic.service;
    result.rows = s.requests;
    result.metrics.insert("requests".into(), s.requests as f64);
    result.metrics.insert("error_rate".into(), s.error_rate());
    if let Some(v) = s.p50_ms {
        result.metrics.insert("p50_ms".into(), v);
    }
    if let Some(v) = s.p99_ms {
        result.metrics.insert("p99_ms".into(), v);
    }
    if s.requests < min_rows {
        result.detail = format!(
            "inconclusive: {} request(s) in the window, fewer than min_rows {min_rows}",
            s.requests
        );
        return;
    }
    let bound = |name: &str| check.params.get(name).and_then(serde_json::Value::as_f64);
    let mut conditions = vec![(
        "error_rate",
        Some(s.error_rate()),
        bound("max_error_rate").unwrap_or(0.01),
    )];
    if let Some(b) = bound("max_p50_ms") {
        conditions.push(("p50_ms", s.p50_ms, b));
    }
    if let Some(b) = bound("max_p99_ms") {
        conditions.push(("p99_ms", s.p99_ms, b));
    }
    for (name, value, max) in conditions {
        let (passed, detail) = match value {
            Some(v) if v > max => (false, format!("{v:.4} > {max}")),
            Some(v) => (true, format!("{v:.4} <= {max}")),
            None => (true, "no answered request".to_owned()),
        };
        result.conditions.push(Condition {
            name: name.to_owned(),
            passed,
            detail,
        });
    }
    if result.failed().next().is_none() {
        result.status = Status::Pass;
        result.detail = result
            .conditions
            .iter()
            .map(|c| format!("{} {}", c.name, c.detail))
            .collect::<Vec<_>>()
            .join(", ");
    } else {
        result.status = Status::Fail;
        result.detail = result.failures();
    }
}

/// The tables `check` hands its validator, and the call.
async fn validate(
    ctx: &CheckContext<'_>,
    check: &CheckSpec,
    traffic: &VersionTraffic,
    prepared: Option<&PreparedModel>,
) -> Result<wit::ValidationReport, String> {
    let version = ctx.version;
    // A regressor's predictions carry no class probabilities.
    let regressor = || async {
        ctx.tables()
            .reference(ReferenceKind::Outputs)
            .await
            .is_ok_and(|o| {
                !o.schema()
                    .fields()
                    .iter()
                    .any(|f| f.name().starts_with("p_"))
            })
    };
    let sha256 = match &check.regression_sha256 {
        Some(regression) if regressor().await => Some(regression.as_str()),
        _ => check.sha256.as_deref(),
    };
    let sha256 = sha256.ok_or_else(|| {
        format!(
            "the check's plugin was not resolved when {}:{} was registered",
            version.name, version.version
        )
    })?;
    let plugin = ctx
        .registry
        .plugin(ctx.runtime, sha256)
        .await
        .map_err(|e| format!("loading the check's plugin: {e}"))?;
    let features = || version.input_schema.iter().map(|(n, _)| n.clone());
    let mut step = StepContext::new(
        format!("monitor:{}", check.name),
        ctx.limits,
        crate::pipeline::seed::step_seed(version.seed, &format!("monitor:{}", check.name)),
    );
    let (data, reference) = match check.kind {
        CheckKind::Drift => {
            let reference = ctx.tables().reference(ReferenceKind::Inputs).await?;
            (
                select(&traffic.inputs, features())?,
                Some(select(&reference, features())?),
            )
        }
        CheckKind::PredictionDrift => {
            let holdout = ctx.tables().reference(ReferenceKind::Outputs).await?;
            let names: Vec<String> = traffic
                .outputs
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| holdout.column_by_name(n).is_some())
                .collect();
            (
                select(&traffic.outputs, names.clone())?,
                Some(select(&holdout, names)?),
            )
        }
        CheckKind::Cbpe => (
            traffic.outputs.clone(),
            Some(ctx.tables().holdout_predictions(true).await?),
        ),
        CheckKind::Performance => {
            let prepared = prepared.ok_or("the version could not be loaded")?;
            let target = ctx.tables().target()?;
            let reference = ctx.tables().reference(ReferenceKind::Inputs).await?;
            let like = reference
                .schema()
                .field_with_name(target)
                .map_err(|_| format!("the training rows have no target column `{target}`"))?
                .clone();
            let (inputs, labels) = labelled(traffic, &like)?;
            let table = crate::data::batch_to_table(&inputs).map_err(|e| e.to_string())?;
            let features = prepared.features(table).map_err(|e| e.to_string())?;
            let transformed = prepared
                .transform(ctx.runtime, features, ctx.limits)
                .await
                .map_err(|e| format!("the version's chain: {e}"))?;
            let mut batch = crate::data::table_to_batch(transformed).map_err(|e| e.to_string())?;
            batch = with_column(&batch, target, labels)?;
            step.model = Some(prepared.binding(ctx.limits));
            (batch, None)
        }
        CheckKind::Custom => {
            let mut data = traffic.inputs.clone();
            for (f, c) in traffic
                .outputs
                .schema()
                .fields()
                .iter()
                .zip(traffic.outputs.columns())
            {
                data = with_column(&data, &format!("output.{}", f.name()), c.clone())?;
            }
            if let (Some(labels), Some(target)) = (&traffic.labels, version.target.as_deref()) {
                data = with_column(&data, target, labels.clone())?;
            }
            (data, Some(ctx.tables().train().await?))
        }
        CheckKind::Service => unreachable!("the service check runs no plugin"),
    };
    let mut params = Vec::new();
    for (name, value) in &check.params {
        let spec = plugin
            .param_spec(name)
            .ok_or_else(|| format!("plugin {} has no param `{name}`", plugin.label()))?;
        let value = json_param(&spec.kind, value).ok_or_else(|| {
            format!(
                "param `{name}` of plugin {} must be of kind {}",
                plugin.label(),
                spec.kind
            )
        })?;
        params.push(wit::Param {
            name: name.clone(),
            value,
        });
    }
    // The evaluators and CBPE read the label column named by `target`:
    // the version's own unless the check says otherwise.
    if let Some(target) = version.target.as_deref()
        && plugin.param_spec("target").is_some()
        && !check.params.contains_key("target")
    {
        params.push(wit::Param {
            name: "target".into(),
            value: wit::ParamValue::Text(target.to_owned()),
        });
    }
    let rows = data.num_rows();
    let data = crate::data::batch_to_table(&data).map_err(|e| e.to_string())?;
    let reference = reference
        .map(|r| crate::data::batch_to_table(&r))
        .transpose()
        .map_err(|e| e.to_string())?;
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(reference) = &reference
        && plugin.info.name == "drift"
        && matches!(check.kind, CheckKind::Drift | CheckKind::PredictionDrift)
        && !check.params.contains_key("columns")
        && rows >= SPLIT_FROM_ROWS
        && parts > 1
        && data.columns.len() > 1
    {
        return drift_in_parts(ctx.runtime, plugin, step, data, reference, params, parts).await;
    }
    ctx.runtime
        .validate(&plugin, &step, &data, reference.as_ref(), &params)
        .await
        .map(|out| out.value)
        .map_err(|e| e.to_string())
}

/// From this many rows the standard drift check tests its columns in
/// parallel instances.
pub const SPLIT_FROM_ROWS: usize = 50_000;

/// The standard `drift` validator's report, its columns tested in `parts`
/// instances side by side (each a sandbox of its own, on its own core),
/// put together exactly as one call makes it: the columns' checks in
/// order, then the `dataset` check and the metrics from all of them.
pub async fn drift_in_parts(
    runtime: &Runtime,
    plugin: Arc<crate::runtime::Plugin>,
    step: StepContext,
    data: wit::Table,
    reference: &wit::Table,
    params: Vec<wit::Param>,
    parts: usize,
) -> Result<wit::ValidationReport, String> {
    let tested: Vec<wit::Column> = data
        .columns
        .into_iter()
        .filter(|c| reference.columns.iter().any(|r| r.name == c.name))
        .collect();
    let n = tested.len();
    if n == 0 {
        return Err("the window and the reference have no column in common".into());
    }
    let per = n.div_ceil(parts.min(n));
    let mut groups: Vec<Vec<wit::Column>> = Vec::new();
    for column in tested {
        match groups.last_mut() {
            Some(g) if g.len() < per => g.push(column),
            _ => groups.push(vec![column]),
        }
    }
    let mut calls = Vec::with_capacity(groups.len());
    for columns in groups {
        let reference = wit::Table {
            columns: reference
                .columns
                .iter()
                .filter(|r| columns.iter().any(|c| c.name == r.name))
                .cloned()
                .collect(),
        };
        let (runtime, plugin, step, params) = (
            runtime.clone(),
            plugin.clone(),
            step.clone(),
            params.clone(),
        );
        calls.push(tokio::spawn(async move {
            let data = wit::Table { columns };
            runtime
                .validate(&plugin, &step, &data, Some(&reference), &params)
                .await
                .map(|out| out.value)
                .map_err(|e| e.to_string())
        }));
    }
    let mut checks = Vec::new();
    let mut column_metrics = Vec::new();
    for call in calls {
        let report = call.await.map_err(|e| format!("a drift call: {e}"))??;
        checks.extend(report.checks.into_iter().filter(|c| c.name != "dataset"));
        column_metrics.extend(
            report.metrics.into_iter().filter(|m| {
                !["drift_share", "drifted_columns", "columns"].contains(&m.name.as_str())
            }),
        );
    }
    let threshold = params
        .iter()
        .find(|p| p.name == "drift_share")
        .and_then(|p| match p.value {
            wit::ParamValue::Number(v) => Some(v),
            _ => None,
        })
        .unwrap_or(0.5);
    let drifted = checks.iter().filter(|c| !c.passed).count();
    let share = drifted as f64 / n as f64;
    let dataset_drift = share >= threshold;
    let shown = if share != 0.0 && share.abs() < 1e-4 {
        format!("{share:.3e}")
    } else {
        format!("{share:.4}")
    };
    checks.push(wit::Check {
        name: "dataset".into(),
        passed: !dataset_drift,
        detail: format!(
            "{drifted} of {n} columns drifted (share {shown}) {} {threshold}: {}",
            if dataset_drift { ">=" } else { "<" },
            if dataset_drift {
                "dataset drift"
            } else {
                "no dataset drift"
            }
        ),
    });
    let mut metrics = vec![
        wit::Metric {
            name: "drift_share".into(),
            value: share,
        },
        wit::Metric {
            name: "drifted_columns".into(),
            value: drifted as f64,
        },
        wit::Metric {
            name: "columns".into(),
            value: n as f64,
        },
    ];
    metrics.extend(column_metrics);
    Ok(wit::ValidationReport { checks, metrics })
}
