//! The data of `sluice monitor report`: one window of one version against
//! its reference, binned for the histograms, with the checks' results,
//! the model's recorded history and its alerts.

use super::check::{CheckContext, CheckResult};
use super::reference::ReferenceKind;
use super::report::{
    AlertRow, CheckRow, FeatureDrift, HistoryPoint, LatencyPoint, ReportData, WindowInfo,
};
use super::{CheckKind, Monitor, Window, read_window};
use crate::serve::log::rfc3339;
use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use std::collections::BTreeMap;

/// Bins of a numeric feature's histogram (deciles of the reference).
const NUMERIC_BINS: usize = 10;
/// Categories shown of a categorical feature; the rest are `other`.
const TOP_CATEGORIES: usize = 12;

impl Monitor<'_> {
    /// The report of `model`'s `version` (the one with most traffic when
    /// `None`) in `window`: its checks evaluated now (not recorded), and
    /// the results and alerts recorded since `history_since_ms`.
    pub async fn report(
        &self,
        model: &str,
        version: Option<i64>,
        window: Window,
        history_since_ms: i64,
    ) -> Result<ReportData, String> {
        let dry = Monitor {
            registry: self.registry,
            runtime: self.runtime,
            limits: self.limits,
            record: false,
        };
        let evaluation = dry.evaluate(model, window).await?;
        let chosen = match version {
            Some(v) => evaluation
                .versions
                .iter()
                .find(|e| e.version == v)
                .ok_or_else(|| {
                    format!("version {v} of `{model}` has no logged request in the window")
                })?,
            None => evaluation
                .versions
                .iter()
                .max_by_key(|e| e.rows)
                .ok_or_else(|| format!("`{model}` has no logged request in the window"))?,
        };
        let v = self
            .registry
            .version(model, chosen.version)
            .await
            .map_err(|e| e.to_string())?;
        let traffic = read_window(self.registry, model, window).await?;
        let traffic = traffic
            .get(&chosen.version)
            .ok_or("the window changed while read")?;
        let ctx = CheckContext {
            registry: self.registry,
            runtime: self.runtime,
            limits: self.limits,
            version: &v,
        };
        let drift = chosen.results.iter().find(|r| r.kind == CheckKind::Drift);
        let mut features = Vec::new();
        if let Ok(train) = ctx.tables().reference(ReferenceKind::Inputs).await {
            for (name, _) in &v.input_schema {
                if let (Some(r), Some(c)) = (
                    train.column_by_name(name),
                    traffic.inputs.column_by_name(name),
                ) {
                    features.push(feature(name, r, c, drift));
                }
            }
        }
        let prediction = match ctx.tables().reference(ReferenceKind::Outputs).await {
            Ok(holdout) => match (
                holdout.column_by_name("prediction"),
                traffic.outputs.column_by_name("prediction"),
            ) {
                (Some(r), Some(c)) => Some(feature(
                    "prediction",
                    r,
                    c,
                    chosen
                        .results
                        .iter()
                        .find(|r| r.kind == CheckKind::PredictionDrift),
                )),
                _ => None,
            },
            Err(_) => None,
        };
        let records = self
            .registry
            .meta
            .monitor_results(
                self.registry.tenant(),
                model,
                Some(history_since_ms),
                10_000,
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut history = Vec::new();
        let mut latency: BTreeMap<i64, LatencyPoint> = BTreeMap::new();
        for r in records.iter().filter(|r| r.version == chosen.version) {
            let at = rfc3339(r.window_end_ms);
            match r.kind.as_str() {
                "service" => {
                    let m = |k: &str| r.metrics.get(k).copied();
                    if let (Some(p50), Some(p99)) = (m("p50_ms"), m("p99_ms")) {
                        latency.insert(
                            r.window_end_ms,
                            LatencyPoint {
                                window_end: at.clone(),
                                p50_ms: p50,
                                p99_ms: p99,
                                error_rate: m("error_rate").unwrap_or(0.0),
                                requests: m("requests").unwrap_or(0.0) as u64,
                            },
                        );
                    }
                }
                "drift" | "prediction_drift" => {
                    if let Some(share) = r.metrics.get("drift_share") {
                        history.push(HistoryPoint {
                            window_end: at.clone(),
                            series: format!("{}.drift_share", r.check),
                            value: *share,
                        });
                    }
                }
                _ => {
                    for (metric, value) in &r.metrics {
                        let shown = !(metric.ends_with(".lower")
                            || metric.ends_with(".upper")
                            || ["rows", "inconclusive", "calibrated"].contains(&metric.as_str()));
                        if shown {
                            history.push(HistoryPoint {
                                window_end: at.clone(),
                                series: format!("{}.{metric}", r.check),
                                value: *value,
                            });
                        }
                    }
                }
            }
        }
        let s = &traffic.service;
        if let (Some(p50), Some(p99)) = (s.p50_ms, s.p99_ms) {
            latency.entry(window.end_ms).or_insert(LatencyPoint {
                window_end: rfc3339(window.end_ms),
                p50_ms: p50,
                p99_ms: p99,
                error_rate: s.error_rate(),
                requests: s.requests,
            });
        }
        let alerts = self
            .registry
            .meta
            .monitor_alerts(self.registry.tenant(), model, Some(history_since_ms))
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|a| AlertRow {
                at: rfc3339(a.at_ms),
                check: format!("{} (v{})", a.check, a.version),
                detail: a.detail,
                action: a.action,
            })
            .collect();
        Ok(ReportData {
            model: model.to_owned(),
            version: chosen.version,
            generated_at: rfc3339(chrono::Utc::now().timestamp_millis()),
            window: WindowInfo {
                start: rfc3339(window.start_ms),
                end: rfc3339(window.end_ms),
                rows: chosen.rows,
                requests: chosen.requests,
                labelled_rows: chosen.labelled,
            },
            features,
            prediction,
            checks: chosen
                .results
                .iter()
                .map(|r| CheckRow {
                    check: r.check.clone(),
                    status: r.status.as_str().to_owned(),
                    detail: r.detail.clone(),
                })
                .collect(),
            history,
            latency: latency.into_values().collect(),
            alerts,
        })
    }
}

/// A feature's histogram and its drift test, from the drift check's
/// condition `drift:NAME` and metrics `NAME.statistic`, `NAME.p_value`.
fn feature(
    name: &str,
    reference: &ArrayRef,
    current: &ArrayRef,
    drift: Option<&CheckResult>,
) -> FeatureDrift {
    let numeric = reference.data_type().is_numeric() && current.data_type().is_numeric();
    let (bins, r, c) = if numeric {
        numeric_bins(reference, current)
    } else {
        category_bins(reference, current)
    };
    let condition = drift.and_then(|d| {
        d.conditions
            .iter()
            .find(|c| c.name == format!("drift:{name}"))
    });
    let metric = |key: &str| drift.and_then(|d| d.metrics.get(&format!("{name}.{key}")).copied());
    let test = condition
        .and_then(|c| c.detail.split(':').next())
        .unwrap_or("")
        .to_owned();
    let p_value = metric("p_value");
    FeatureDrift {
        name: name.to_owned(),
        kind: if numeric { "numeric" } else { "categorical" }.into(),
        bins,
        reference: r,
        current: c,
        threshold: threshold(condition.map(|c| c.detail.as_str()), p_value.is_some()),
        test,
        statistic: metric("statistic").unwrap_or(f64::NAN),
        p_value,
        drifted: condition.is_some_and(|c| !c.passed),
    }
}

/// The threshold a drift condition's detail names (`... <= 0.05: ...`),
/// else the plugin's default.
fn threshold(detail: Option<&str>, p_value: bool) -> f64 {
    detail
        .and_then(|d| {
            let at = d.find(['<', '>'])?;
            let rest = d[at..].trim_start_matches(['<', '>', '=', ' ']);
            rest.split([':', ' ']).next()?.parse().ok()
        })
        .unwrap_or(if p_value { 0.05 } else { 0.1 })
}

fn values(column: &ArrayRef) -> Vec<f64> {
    let Ok(c) = arrow::compute::cast(column, &DataType::Float64) else {
        return Vec::new();
    };
    let c = c
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .expect("cast to f64");
    c.iter().flatten().filter(|v| v.is_finite()).collect()
}

fn shares(counts: Vec<usize>) -> Vec<f64> {
    let total: usize = counts.iter().sum();
    counts
        .into_iter()
        .map(|n| {
            if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            }
        })
        .collect()
}

/// Decile bins of the reference, outer bins open.
fn numeric_bins(reference: &ArrayRef, current: &ArrayRef) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let mut r = values(reference);
    let c = values(current);
    r.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..NUMERIC_BINS)
        .filter_map(|i| super::window::quantile(&r, i as f64 / NUMERIC_BINS as f64))
        .collect();
    edges.dedup();
    let bin = |v: f64| edges.partition_point(|e| *e <= v);
    let count = |vs: &[f64]| {
        let mut n = vec![0usize; edges.len() + 1];
        vs.iter().for_each(|v| n[bin(*v)] += 1);
        n
    };
    let labels = (0..=edges.len())
        .map(
            |i| match (i.checked_sub(1).map(|j| edges[j]), edges.get(i)) {
                (None, Some(hi)) => format!("< {}", round(*hi)),
                (Some(lo), Some(hi)) => format!("[{}, {})", round(lo), round(*hi)),
                (Some(lo), None) => format!(">= {}", round(lo)),
                (None, None) => "all".into(),
            },
        )
        .collect();
    (labels, shares(count(&r)), shares(count(&c)))
}

fn round(v: f64) -> String {
    format!("{:.4}", v)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_owned()
}

fn texts(column: &ArrayRef) -> Vec<String> {
    let Ok(c) = arrow::compute::cast(column, &DataType::Utf8) else {
        return Vec::new();
    };
    let c = c
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("cast to text");
    c.iter().flatten().map(str::to_owned).collect()
}

/// The reference's most frequent categories, the rest as `other`.
fn category_bins(reference: &ArrayRef, current: &ArrayRef) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let (r, c) = (texts(reference), texts(current));
    let mut by_count: BTreeMap<&str, usize> = BTreeMap::new();
    r.iter()
        .chain(&c)
        .for_each(|v| *by_count.entry(v).or_default() += 1);
    let mut top: Vec<(&str, usize)> = by_count.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = top
        .iter()
        .take(TOP_CATEGORIES)
        .map(|(v, _)| (*v).to_owned())
        .collect();
    let other = top.len() > TOP_CATEGORIES;
    let count = |vs: &[String]| {
        let mut n = vec![0usize; shown.len() + usize::from(other)];
        for v in vs {
            match shown.iter().position(|s| s == v) {
                Some(i) => n[i] += 1,
                None => *n.last_mut().expect("an `other` bin") += 1,
            }
        }
        n
    };
    let mut labels = shown.clone();
    if other {
        labels.push("other".into());
    }
    (labels, shares(count(&r)), shares(count(&c)))
}
