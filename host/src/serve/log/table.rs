//! A group of log entries (one model version's) as one Arrow table: one
//! row per request row. The request's fields (`request_id`, `time`,
//! `model`, `version`, `variant`, `key`, `row`, `status`, `error`,
//! `latency_ms`) repeat on each of its rows; its features follow as
//! `input.<name>`, the model's outputs as `output.<name>`, and the request's
//! columns the model does not use (ids to join labels by) as one JSON
//! object per row in `extra`. A request
//! refused before its rows were read has one row, its inputs and outputs
//! null.

use super::Entry;
use crate::serve::tensors::raw_json;
use crate::wit;
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{DateTime, SecondsFormat};
use std::sync::Arc;

/// The prefix of the feature columns.
pub const INPUT_PREFIX: &str = "input.";
/// The prefix of the output columns.
pub const OUTPUT_PREFIX: &str = "output.";

/// A Unix time in milliseconds as RFC 3339 (UTC, milliseconds): sorts as
/// text in time order.
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The columns of the request's fields, in which each request's value
/// repeats on its rows: text, whole numbers, numbers.
fn text(
    entries: &[&Entry],
    rows: &[usize],
    name: &str,
    value: impl Fn(&Entry) -> Option<String>,
) -> (Field, ArrayRef) {
    let total = rows.iter().sum();
    let mut builder = StringBuilder::with_capacity(total, total * 8);
    for (e, &n) in entries.iter().zip(rows) {
        let v = value(e);
        (0..n).for_each(|_| builder.append_option(v.as_deref()));
    }
    (
        Field::new(name, DataType::Utf8, true),
        Arc::new(builder.finish()),
    )
}

fn int(
    entries: &[&Entry],
    rows: &[usize],
    name: &str,
    value: impl Fn(&Entry, usize) -> i64,
) -> (Field, ArrayRef) {
    let mut builder = Int64Builder::with_capacity(rows.iter().sum());
    for (e, &n) in entries.iter().zip(rows) {
        (0..n).for_each(|i| builder.append_value(value(e, i)));
    }
    (
        Field::new(name, DataType::Int64, true),
        Arc::new(builder.finish()),
    )
}

fn number(
    entries: &[&Entry],
    rows: &[usize],
    name: &str,
    value: impl Fn(&Entry) -> f64,
) -> (Field, ArrayRef) {
    let mut builder = Float64Builder::with_capacity(rows.iter().sum());
    for (e, &n) in entries.iter().zip(rows) {
        let v = value(e);
        (0..n).for_each(|_| builder.append_value(v));
    }
    (
        Field::new(name, DataType::Float64, true),
        Arc::new(builder.finish()),
    )
}

/// The entries' table.
pub fn log_batch(entries: &[&Entry]) -> Result<RecordBatch, String> {
    let rows: Vec<usize> = entries.iter().map(|e| e.rows()).collect();
    let total: usize = rows.iter().sum();
    let mut columns = vec![
        text(entries, &rows, "request_id", |e| Some(e.request_id.clone())),
        text(entries, &rows, "time", |e| Some(rfc3339(e.time_ms))),
        text(entries, &rows, "model", |e| Some(e.model.clone())),
        int(entries, &rows, "version", |e, _| e.version),
        text(entries, &rows, "variant", |e| Some(e.variant.clone())),
        text(entries, &rows, "key", |e| e.key.clone()),
        int(entries, &rows, "row", |_, i| i as i64),
        int(entries, &rows, "status", |e, _| i64::from(e.status)),
        text(entries, &rows, "error", |e| e.error.clone()),
        number(entries, &rows, "latency_ms", |e| e.latency_seconds * 1e3),
    ];
    for (prefix, side) in [(INPUT_PREFIX, Side::Inputs), (OUTPUT_PREFIX, Side::Outputs)] {
        for (at, (name, kind)) in columns_of(entries, side).into_iter().enumerate() {
            let (data_type, array) = column(entries, &rows, side, (&name, at), kind);
            columns.push((
                Field::new(format!("{prefix}{name}"), data_type, true),
                array,
            ));
        }
    }
    let mut extra = StringBuilder::with_capacity(total, 0);
    for (e, &n) in entries.iter().zip(&rows) {
        if e.extra.is_empty() {
            (0..n).for_each(|_| extra.append_null());
            continue;
        }
        let values: Vec<(&str, Vec<serde_json::Value>)> = e
            .extra
            .iter()
            .map(|c| (c.name.as_str(), raw_json(c)))
            .collect();
        for i in 0..n {
            let object: serde_json::Map<String, serde_json::Value> = values
                .iter()
                .map(|(name, v)| {
                    (
                        (*name).to_owned(),
                        v.get(i).cloned().unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect();
            extra.append_value(serde_json::Value::Object(object).to_string());
        }
    }
    columns.push((
        Field::new("extra", DataType::Utf8, true),
        Arc::new(extra.finish()),
    ));
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())
}

#[derive(Clone, Copy)]
enum Side {
    Inputs,
    Outputs,
}

fn side(e: &Entry, side: Side) -> Option<&wit::Table> {
    match side {
        Side::Inputs => e.inputs.as_ref(),
        Side::Outputs => e.outputs.as_ref(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    F64,
    I64,
    Bool,
    Str,
}

fn kind(values: &wit::Values) -> Kind {
    match values {
        wit::Values::F64s(_) => Kind::F64,
        wit::Values::I64s(_) => Kind::I64,
        wit::Values::Bools(_) => Kind::Bool,
        wit::Values::Strings(_) => Kind::Str,
    }
}

/// The columns of one side, by name in the order first seen, with the
/// type they first had.
fn columns_of(entries: &[&Entry], which: Side) -> Vec<(String, Kind)> {
    let mut seen: Vec<(String, Kind)> = Vec::new();
    for e in entries {
        let columns = side(e, which).map_or(&[][..], |t| &t.columns);
        // Entries of one version mostly have the same columns in the same
        // order: a search only when they do not.
        let same = columns.len() == seen.len()
            && columns.iter().zip(&seen).all(|(c, (n, _))| &c.name == n);
        if same {
            continue;
        }
        for c in columns {
            if !seen.iter().any(|(n, _)| n == &c.name) {
                seen.push((c.name.clone(), kind(&c.values)));
            }
        }
    }
    seen
}

/// The column `name` of a table, looked for first at `at` (where the
/// group's columns mostly are).
fn find<'t>(table: &'t wit::Table, name: &str, at: usize) -> Option<&'t wit::Column> {
    match table.columns.get(at) {
        Some(c) if c.name == name => Some(c),
        _ => table.columns.iter().find(|c| c.name == name),
    }
}

/// One column over all entries: each entry's values (null where invalid),
/// nulls for an entry without it (or with it in another type), padded
/// with nulls to the entry's rows. `at` is where the column mostly is in
/// an entry's table.
fn column(
    entries: &[&Entry],
    rows: &[usize],
    which: Side,
    (name, at): (&str, usize),
    k: Kind,
) -> (DataType, ArrayRef) {
    let total: usize = rows.iter().sum();
    macro_rules! build {
        ($builder:expr, $variant:path, $data_type:expr, $convert:expr) => {{
            let mut b = $builder;
            for (e, &n) in entries.iter().zip(rows) {
                let found = side(e, which).and_then(|t| find(t, name, at));
                let mut written = 0;
                if let Some(c) = found
                    && let $variant(values) = &c.values
                {
                    for (i, v) in values.iter().take(n).enumerate() {
                        match &c.valid {
                            Some(valid) if !valid.get(i).copied().unwrap_or(true) => {
                                b.append_null()
                            }
                            _ => b.append_value($convert(v)),
                        }
                        written += 1;
                    }
                }
                (written..n).for_each(|_| b.append_null());
            }
            ($data_type, Arc::new(b.finish()) as ArrayRef)
        }};
    }
    match k {
        Kind::F64 => build!(
            Float64Builder::with_capacity(total),
            wit::Values::F64s,
            DataType::Float64,
            |v: &f64| *v
        ),
        Kind::I64 => build!(
            Int64Builder::with_capacity(total),
            wit::Values::I64s,
            DataType::Int64,
            |v: &i64| *v
        ),
        Kind::Bool => build!(
            BooleanBuilder::with_capacity(total),
            wit::Values::Bools,
            DataType::Boolean,
            |v: &bool| *v
        ),
        Kind::Str => build!(
            StringBuilder::with_capacity(total, total * 8),
            wit::Values::Strings,
            DataType::Utf8,
            String::as_str
        ),
    }
}
