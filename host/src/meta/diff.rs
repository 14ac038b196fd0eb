//! What differs between two recorded runs: the pipeline, the seed, which
//! steps ran, and per step its status, plugin, params, inputs, outputs and
//! metrics.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{RunRecord, StepRunRecord};

/// A value in run A and in run B (`None`: absent there).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change<T> {
    /// What differs (a field, param, input, output or metric name).
    pub name: String,
    /// Its value in run A.
    pub a: Option<T>,
    /// Its value in run B.
    pub b: Option<T>,
}

/// How one step present in both runs differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepDiff {
    /// The step's id.
    pub step_id: String,
    /// Status, plugin (name@version sha256), kind.
    pub fields: Vec<Change<String>>,
    /// Params that differ, as JSON values.
    pub params: Vec<Change<serde_json::Value>>,
    /// Inputs whose artifact differs (digests).
    pub inputs: Vec<Change<String>>,
    /// Outputs whose artifact differs (digests).
    pub outputs: Vec<Change<String>>,
    /// Metrics whose value differs.
    pub metrics: Vec<Change<f64>>,
}

impl StepDiff {
    /// Whether the step is the same in both runs.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.params.is_empty()
            && self.inputs.is_empty()
            && self.outputs.is_empty()
            && self.metrics.is_empty()
    }
}

/// The differences between run `a` and run `b`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDiff {
    /// Run A's id.
    pub a: String,
    /// Run B's id.
    pub b: String,
    /// Pipeline name, version, definition sha256, seed, status.
    pub run: Vec<Change<String>>,
    /// Steps run A has and run B has not.
    pub only_in_a: Vec<String>,
    /// Steps run B has and run A has not.
    pub only_in_b: Vec<String>,
    /// Steps in both runs that differ, in A's order.
    pub steps: Vec<StepDiff>,
    /// Steps in both runs that are the same in every way compared.
    pub same: Vec<String>,
}

impl RunDiff {
    /// Compares two runs (as [`MetaStore::get_run`] returns them, with steps).
    ///
    /// [`MetaStore::get_run`]: super::MetaStore::get_run
    pub fn between(a: &RunRecord, b: &RunRecord) -> Self {
        let run = changes(
            [
                ("pipeline", a.pipeline_name.clone(), b.pipeline_name.clone()),
                (
                    "version",
                    a.pipeline_version.clone(),
                    b.pipeline_version.clone(),
                ),
                (
                    "definition_sha256",
                    a.pipeline_sha256.clone(),
                    b.pipeline_sha256.clone(),
                ),
                (
                    "seed",
                    (a.seed as u64).to_string(),
                    (b.seed as u64).to_string(),
                ),
                ("status", a.status.to_string(), b.status.to_string()),
            ]
            .into_iter()
            .map(|(n, x, y)| (n.to_owned(), Some(x), Some(y))),
        );
        let b_steps: BTreeMap<_, _> = b.steps.iter().map(|s| (s.step_id.as_str(), s)).collect();
        let a_ids: BTreeSet<_> = a.steps.iter().map(|s| s.step_id.as_str()).collect();
        let mut diff = RunDiff {
            a: a.id.clone(),
            b: b.id.clone(),
            run,
            only_in_a: Vec::new(),
            only_in_b: b
                .steps
                .iter()
                .filter(|s| !a_ids.contains(s.step_id.as_str()))
                .map(|s| s.step_id.clone())
                .collect(),
            steps: Vec::new(),
            same: Vec::new(),
        };
        for sa in &a.steps {
            match b_steps.get(sa.step_id.as_str()) {
                None => diff.only_in_a.push(sa.step_id.clone()),
                Some(sb) => {
                    let d = step_diff(sa, sb);
                    if d.is_empty() {
                        diff.same.push(sa.step_id.clone());
                    } else {
                        diff.steps.push(d);
                    }
                }
            }
        }
        diff
    }

    /// Whether the runs differ in anything compared.
    pub fn is_empty(&self) -> bool {
        self.run.is_empty()
            && self.only_in_a.is_empty()
            && self.only_in_b.is_empty()
            && self.steps.is_empty()
    }
}

fn plugin(s: &StepRunRecord) -> String {
    format!("{}@{} {}", s.plugin_name, s.plugin_version, s.plugin_sha256)
}

fn step_diff(a: &StepRunRecord, b: &StepRunRecord) -> StepDiff {
    let fields = changes(
        [
            ("kind", a.kind.clone(), b.kind.clone()),
            ("plugin", plugin(a), plugin(b)),
            ("status", a.status.to_string(), b.status.to_string()),
        ]
        .into_iter()
        .map(|(n, x, y)| (n.to_owned(), Some(x), Some(y))),
    );
    StepDiff {
        step_id: a.step_id.clone(),
        fields,
        params: keyed(&params(&a.params_json), &params(&b.params_json)),
        inputs: keyed(&digests(&a.inputs), &digests(&b.inputs)),
        outputs: keyed(&digests(&a.outputs), &digests(&b.outputs)),
        metrics: keyed_by(&metrics(&a.metrics), &metrics(&b.metrics), |x, y| {
            x == y || (x.is_nan() && y.is_nan())
        }),
    }
}

fn params(json: &str) -> BTreeMap<String, serde_json::Value> {
    match serde_json::from_str(json) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        Ok(other) => BTreeMap::from([("(params)".to_owned(), other)]),
        Err(_) => BTreeMap::from([("(params)".to_owned(), json.into())]),
    }
}

fn digests(io: &[(String, crate::artifacts::ArtifactDigest)]) -> BTreeMap<String, String> {
    io.iter().map(|(n, d)| (n.clone(), d.to_hex())).collect()
}

fn metrics(m: &[(String, f64)]) -> BTreeMap<String, f64> {
    m.iter().cloned().collect()
}

fn keyed<T: Clone + PartialEq>(a: &BTreeMap<String, T>, b: &BTreeMap<String, T>) -> Vec<Change<T>> {
    keyed_by(a, b, |x, y| x == y)
}

fn keyed_by<T: Clone>(
    a: &BTreeMap<String, T>,
    b: &BTreeMap<String, T>,
    same: impl Fn(&T, &T) -> bool,
) -> Vec<Change<T>> {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter_map(|n| {
            let (x, y) = (a.get(n), b.get(n));
            let equal = match (x, y) {
                (Some(x), Some(y)) => same(x, y),
                (None, None) => true,
                _ => false,
            };
            (!equal).then(|| Change {
                name: n.clone(),
                a: x.cloned(),
                b: y.cloned(),
            })
        })
        .collect()
}

fn changes(
    items: impl Iterator<Item = (String, Option<String>, Option<String>)>,
) -> Vec<Change<String>> {
    items
        .filter(|(_, a, b)| a != b)
        .map(|(name, a, b)| Change { name, a, b })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::ArtifactDigest;
    use crate::meta::{RunStatus, StepStatus};

    fn step(id: &str, params: &str, input: &[u8], metric: f64) -> StepRunRecord {
        StepRunRecord {
            step_id: id.into(),
            position: 0,
            kind: "transform".into(),
            plugin_name: "impute".into(),
            plugin_version: "0.1.0".into(),
            plugin_sha256: "ab".repeat(32),
            params_json: params.into(),
            status: StepStatus::Succeeded,
            started_at: String::new(),
            finished_at: None,
            duration_ms: Some(3),
            log: String::new(),
            error: None,
            cached: false,
            cached_from: None,
            grants: serde_json::Value::Null,
            inputs: vec![("table".into(), ArtifactDigest::of(input))],
            outputs: vec![],
            metrics: vec![("rows".into(), metric), ("nan".into(), f64::NAN)],
            trials: Vec::new(),
        }
    }

    fn run(id: &str, steps: Vec<StepRunRecord>) -> RunRecord {
        RunRecord {
            id: id.into(),
            tenant: "default".into(),
            pipeline_name: "p".into(),
            pipeline_version: "1".into(),
            pipeline_sha256: "00".repeat(32),
            status: RunStatus::Succeeded,
            seed: 1,
            started_at: String::new(),
            finished_at: None,
            error: None,
            steps,
            overrides: Vec::new(),
        }
    }

    #[test]
    fn identical_runs_have_no_diff_even_with_nan_metrics() {
        let a = run("a", vec![step("s", r#"{"x":1}"#, b"t", 1.0)]);
        let b = run("b", vec![step("s", r#"{"x":1}"#, b"t", 1.0)]);
        let d = RunDiff::between(&a, &b);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(d.same, ["s"]);
    }

    #[test]
    fn every_kind_of_difference_is_reported() {
        let mut changed = step("s", r#"{"x":2,"y":true}"#, b"other", 2.0);
        changed.plugin_version = "0.2.0".into();
        let a = run(
            "a",
            vec![
                step("s", r#"{"x":1}"#, b"t", 1.0),
                step("gone", "{}", b"t", 0.0),
            ],
        );
        let mut b = run("b", vec![changed, step("new", "{}", b"t", 0.0)]);
        b.seed = 2;
        let d = RunDiff::between(&a, &b);
        assert_eq!(d.only_in_a, ["gone"]);
        assert_eq!(d.only_in_b, ["new"]);
        assert_eq!(d.run.len(), 1);
        assert_eq!(d.run[0].name, "seed");
        let s = &d.steps[0];
        assert_eq!(s.fields[0].name, "plugin");
        let params: Vec<_> = s.params.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(params, ["x", "y"]);
        assert_eq!(s.params[1].a, None);
        assert_eq!(s.inputs[0].b, Some(ArtifactDigest::of(b"other").to_hex()));
        assert_eq!(s.metrics.len(), 1);
        assert_eq!((s.metrics[0].a, s.metrics[0].b), (Some(1.0), Some(2.0)));
    }
}
