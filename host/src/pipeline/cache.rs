//! The step cache key: what determines a step's outputs.
//!
//! A step's key is the sha256 of a canonical JSON object holding:
//! - the cache format (`sluice-step-cache/2`), the WIT contract version and
//!   the host's version (the host converts tables, splits datasets and
//!   writes Parquet, so a new host never reuses an old host's outputs);
//! - the step's kind and its plugin's sha256 (the component's bytes, so a
//!   rebuilt plugin is a different plugin);
//! - the params as given (keys sorted), the seed the step gets, the
//!   target column it is told about and the part (`on`) it reads;
//! - the digest of every input by name (train, holdout, reference, model)
//!   and, for a step that calls a model, the trainer plugin's sha256;
//! - for a trainer with a hyperparameter search: the trials, the
//!   validation (folds or holdout), the metric and the positive class.
//!
//! - `"nans": "native"` when the step's NaNs are the CPU's, not canonical
//!   (a tenant's `nan_bits`): their outputs may differ in NaN bits from the
//!   canonical ones, so neither is reused for the other (canonical keys
//!   have no such field and stay as they were).
//!
//! Not in the key: limits (only a step that succeeded is cached, and a
//! success's outputs do not depend on its limits: the clocks, randomness
//! and NaNs the plugin sees are fixed by the host) and the step's id or
//! position. A step with grants is never cached: a granted directory's
//! content is outside what the host records.
//!
//! A dataset's key holds the source file's digest, the target and the
//! split (holdout share, seed, stratify), its read options (`{}` when it
//! gives none: the field is there in every key since datasets' dates,
//! decimals and dictionaries are cast for plugins, so no part stored before
//! is reused) and its time window if it has one. A directory's source is the manifest of its files (their names
//! and digests, in order), so a file added, removed, renamed or changed
//! is a new key.

use super::plan::{PlannedDataset, PlannedStep};
use crate::artifacts::ArtifactDigest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Changes when what goes into a key changes, or how outputs are encoded
/// (2: float columns are written to Parquet without snappy, so a step
/// cached before would hand on other bytes than it makes now).
pub const CACHE_FORMAT: &str = "sluice-step-cache/2";

/// The cache key of a step with these inputs, or `None` when the step is
/// not cacheable (it has grants).
pub fn step_key(
    step: &PlannedStep,
    inputs: &[(String, ArtifactDigest)],
    trainer_sha256: Option<&str>,
    canonical_nans: bool,
) -> Option<String> {
    if !step.grants.is_empty() {
        return None;
    }
    let mut key = json!({
        "format": CACHE_FORMAT,
        "contract": crate::CONTRACT_VERSION,
        "host": env!("CARGO_PKG_VERSION"),
        "kind": step.world().name(),
        "plugin": step.plugin.sha256,
        "params": step.params_json,
        "seed": step.seed.to_string(),
        "target": step.target,
        "on": format!("{:?}", step.on),
        "inputs": named(inputs),
        "model_plugin": trainer_sha256,
    });
    // Only a step with a search has the field, so other keys stay as they were.
    if let Some(search) = &step.search {
        key["search"] = search.describe();
    }
    if !canonical_nans {
        key["nans"] = json!("native");
    }
    Some(key_of(&key))
}

/// The cache key of loading and splitting a dataset whose file hashes to
/// `source`.
pub fn dataset_key(ds: &PlannedDataset, source: &ArtifactDigest) -> String {
    let mut key = json!({
        "format": CACHE_FORMAT,
        "host": env!("CARGO_PKG_VERSION"),
        "kind": "dataset",
        "source": source.to_string(),
        "read": ds.read.to_json(),
        "target": ds.target,
        "split": ds.split.as_ref().map(|s| json!({
            "holdout": s.holdout,
            "seed": s.seed.to_string(),
            "stratify": s.stratify,
        })),
    });
    // Only a dataset with a window has the field.
    if let Some(w) = &ds.window {
        key["window"] = window_json(w);
    }
    key_of(&key)
}

/// A dataset's time window as its records and its cache key hold it.
pub fn window_json(w: &crate::data::DatasetWindow) -> Value {
    match w {
        crate::data::DatasetWindow::Rows(w) => json!({
            "span_ms": w.span_ms,
            "time_column": w.column,
            "time_unit": w.unit.map(crate::data::EpochUnit::name),
        }),
        crate::data::DatasetWindow::FileDates(w) => json!({
            "span_ms": w.span_ms,
            "by": "file_date",
        }),
    }
}

fn named(inputs: &[(String, ArtifactDigest)]) -> Value {
    let mut sorted: Vec<_> = inputs
        .iter()
        .map(|(n, d)| (n.clone(), d.to_string()))
        .collect();
    sorted.sort();
    json!(sorted)
}

fn key_of(value: &Value) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// JSON with object keys sorted at every level, whatever order the value
/// was built in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": null, "y": [1, 2]}, "b": 1}"#).unwrap();
        assert_eq!(key_of(&a), key_of(&b));
        let c: Value = serde_json::from_str(r#"{"a": {"x": null, "y": [2, 1]}, "b": 1}"#).unwrap();
        assert_ne!(key_of(&a), key_of(&c));
    }

    #[test]
    fn inputs_are_keyed_by_name_not_order() {
        let (x, y) = (ArtifactDigest::of(b"x"), ArtifactDigest::of(b"y"));
        let one = named(&[("train".into(), x.clone()), ("holdout".into(), y.clone())]);
        let two = named(&[("holdout".into(), y.clone()), ("train".into(), x.clone())]);
        assert_eq!(one, two);
        let swapped = named(&[("train".into(), y), ("holdout".into(), x)]);
        assert_ne!(one, swapped);
    }
}
