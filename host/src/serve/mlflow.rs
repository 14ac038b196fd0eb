//! MLflow's scoring protocol (`mlflow models serve`): `POST /invocations`
//! with a JSON body holding exactly one of `dataframe_split`,
//! `dataframe_records`, `instances` or `inputs` (and optional `params`),
//! or a `text/csv` body with a header row; the answer is
//! `{"predictions": [...]}`. `GET /ping` and `/health` say whether the
//! server is ready, `GET /version` its version.
//!
//! The predictions are the `prediction` column's values, as MLflow's
//! scikit-learn flavour answers; with `"params": {"outputs": "all"}` (or
//! columns to pass through) each prediction is a record of every output
//! column, as a pyfunc returning a DataFrame answers.

use super::error::{ApiError, MlflowError};
use super::infer::Inferred;
use super::models::Target;
use super::tenancy::{Caller, CallerOf, MlflowCaller};
use super::tensors::{RawColumn, Scalar, column_json, raw_json, rows};
use super::{AppState, Received};
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// `GET /ping` and `GET /health`: 200 when ready, 404 before (as MLflow).
pub async fn ping(State(state): State<Arc<AppState>>) -> Response {
    let status = if state.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (status, "\n").into_response()
}

/// `GET /version`
pub async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// `POST /invocations`: the model given at start (`--model`).
pub async fn invocations(
    State(state): State<Arc<AppState>>,
    CallerOf(caller, _): MlflowCaller,
    Extension(received): Extension<Received>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(model) = state.options.default_model.clone() else {
        return MlflowError(ApiError::not_found(
            "this server has no default model: start it with --model NAME, or POST to /models/NAME/invocations",
        ))
        .into_response();
    };
    respond(invoke(&state, &caller, &model, &headers, &received, body).await)
}

/// `POST /models/{name}/invocations`
pub async fn model_invocations(
    State(state): State<Arc<AppState>>,
    CallerOf(caller, _): MlflowCaller,
    Extension(received): Extension<Received>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    respond(invoke(&state, &caller, &name, &headers, &received, body).await)
}

fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| MlflowError(e).into_response())
}

async fn invoke(
    state: &Arc<AppState>,
    caller: &Arc<Caller>,
    name: &str,
    headers: &HeaderMap,
    received: &Received,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let format = content_format(headers)?;
    let body = state.read_body(body).await?;
    let target = Target::parse(name, None)?;
    let Inferred { answer, params } = state
        .infer(caller, &target, headers, received, |schema| match format {
            Format::Json => parse_json(&body, schema),
            Format::Csv => Ok((parse_csv(&body)?, Map::new())),
        })
        .await?;
    let records =
        !answer.extra.is_empty() || params.get("outputs").and_then(Value::as_str) == Some("all");
    let predictions = if records {
        let n = rows(&answer.predictions);
        let mut columns: Vec<(String, Vec<Value>)> = answer
            .predictions
            .columns
            .iter()
            .map(|c| (c.name.clone(), column_json(c)))
            .collect();
        columns.extend(answer.extra.iter().map(|c| (c.name.clone(), raw_json(c))));
        (0..n)
            .map(|i| {
                Value::Object(
                    columns
                        .iter()
                        .map(|(name, values)| (name.clone(), values[i].clone()))
                        .collect(),
                )
            })
            .collect()
    } else {
        let column = answer
            .predictions
            .columns
            .iter()
            .find(|c| c.name == "prediction")
            .or(answer.predictions.columns.first())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the model returned no columns",
                )
            })?;
        column_json(column)
    };
    let mut response = axum::Json(json!({ "predictions": predictions })).into_response();
    super::stamp(&mut response, answer.version, &answer.variant);
    Ok(response)
}

enum Format {
    Json,
    Csv,
}

/// The body's format from its Content-Type: JSON or CSV, in UTF-8 (415
/// for anything else, as MLflow).
fn content_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let unsupported = |what: &str| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("{what}: send application/json or text/csv, in UTF-8"),
        )
    };
    let value = match headers.get(header::CONTENT_TYPE) {
        None => return Ok(Format::Json),
        Some(v) => v
            .to_str()
            .map_err(|_| unsupported("the content type is not text"))?,
    };
    let mut parts = value.split(';').map(str::trim);
    let format = match parts.next().unwrap_or("").to_ascii_lowercase().as_str() {
        "application/json" => Format::Json,
        "text/csv" => Format::Csv,
        other => return Err(unsupported(&format!("content type `{other}`"))),
    };
    for param in parts.filter(|p| !p.is_empty()) {
        match param.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
                if !v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8") {
                    return Err(unsupported(&format!("charset `{}`", v.trim())));
                }
            }
            _ => return Err(unsupported(&format!("content type parameter `{param}`"))),
        }
    }
    Ok(format)
}

const KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// The columns and `params` of a JSON body.
fn parse_json(
    body: &[u8],
    schema: &[(String, String)],
) -> Result<(Vec<RawColumn>, Map<String, Value>), ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let given: Vec<&str> = KEYS
        .iter()
        .copied()
        .filter(|k| object.contains_key(*k))
        .collect();
    if given.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "the body must have exactly one of {} (it has {}); see MLflow's scoring protocol",
            KEYS.join(", "),
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        )));
    }
    let params = match object.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(ApiError::bad_request("`params` must be an object")),
    };
    let key = given[0];
    let data = object.remove(key).expect("present");
    let columns = match key {
        "dataframe_split" => split(data, schema)?,
        "dataframe_records" => records(&data, key)?,
        _ => match data {
            Value::Object(named) => named
                .into_iter()
                .map(|(name, values)| column(&name, &values, key))
                .collect::<Result<_, _>>()?,
            Value::Array(items) if items.iter().all(Value::is_object) => {
                records(&Value::Array(items), key)?
            }
            Value::Array(items) if items.iter().all(Value::is_array) => {
                positional(&items, schema, key)?
            }
            Value::Array(items) if schema.len() == 1 => {
                vec![column(&schema[0].0, &Value::Array(items), key)?]
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "`{key}` must be an object of named columns, a list of records or a list of rows"
                )));
            }
        },
    };
    Ok((columns, params))
}

fn scalar(value: &Value, at: impl Fn() -> String) -> Result<Scalar, ApiError> {
    Scalar::from_json(value)
        .ok_or_else(|| ApiError::bad_request(format!("{}: {value} is not a single value", at())))
}

/// A column given as a list of values.
fn column(name: &str, values: &Value, key: &str) -> Result<RawColumn, ApiError> {
    let Value::Array(items) = values else {
        return Err(ApiError::bad_request(format!(
            "`{key}.{name}` must be a list of values"
        )));
    };
    let values = items
        .iter()
        .enumerate()
        .map(|(i, v)| scalar(v, || format!("`{key}.{name}` row {i}")))
        .collect::<Result<_, _>>()?;
    Ok(RawColumn {
        name: name.to_owned(),
        values,
    })
}

/// `[{"col": v, ...}, ...]`: a key missing from a record is a null.
fn records(data: &Value, key: &str) -> Result<Vec<RawColumn>, ApiError> {
    let Value::Array(items) = data else {
        return Err(ApiError::bad_request(format!(
            "`{key}` must be a list of records"
        )));
    };
    let mut names: Vec<String> = Vec::new();
    for item in items {
        let Value::Object(record) = item else {
            return Err(ApiError::bad_request(format!(
                "`{key}` must be a list of records"
            )));
        };
        for name in record.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
        .iter()
        .map(|name| {
            let values = items
                .iter()
                .enumerate()
                .map(|(i, record)| match record.get(name) {
                    None => Ok(Scalar::Null),
                    Some(v) => scalar(v, || format!("`{key}` record {i}, `{name}`")),
                })
                .collect::<Result<_, _>>()?;
            Ok(RawColumn {
                name: name.clone(),
                values,
            })
        })
        .collect()
}

/// Rows without names: the schema's columns, in order.
fn positional(
    rows: &[Value],
    schema: &[(String, String)],
    key: &str,
) -> Result<Vec<RawColumn>, ApiError> {
    let mut columns: Vec<RawColumn> = schema
        .iter()
        .map(|(name, _)| RawColumn {
            name: name.clone(),
            values: Vec::with_capacity(rows.len()),
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let items = row.as_array().expect("rows are arrays");
        if items.len() != schema.len() {
            return Err(ApiError::bad_request(format!(
                "`{key}` row {i} has {} values; the model has {} features ({})",
                items.len(),
                schema.len(),
                schema
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for (column, v) in columns.iter_mut().zip(items) {
            column
                .values
                .push(scalar(v, || format!("`{key}` row {i}, `{}`", column.name))?);
        }
    }
    Ok(columns)
}

/// `{"columns": [...], "data": [[...], ...]}` (pandas' `orient="split"`;
/// without `columns`, the schema's order).
fn split(data: Value, schema: &[(String, String)]) -> Result<Vec<RawColumn>, ApiError> {
    let key = "dataframe_split";
    let Value::Object(mut object) = data else {
        return Err(ApiError::bad_request(format!(
            "`{key}` must be an object with `columns` and `data`"
        )));
    };
    let rows = match object.remove("data") {
        Some(Value::Array(rows)) if rows.iter().all(Value::is_array) => rows,
        _ => {
            return Err(ApiError::bad_request(format!(
                "`{key}.data` must be a list of rows"
            )));
        }
    };
    let Some(names) = object.remove("columns") else {
        return positional(&rows, schema, key);
    };
    let names: Vec<String> = names
        .as_array()
        .and_then(|n| n.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| ApiError::bad_request(format!("`{key}.columns` must be a list of names")))?;
    let mut columns: Vec<RawColumn> = names
        .iter()
        .map(|name| RawColumn {
            name: name.clone(),
            values: Vec::with_capacity(rows.len()),
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let items = row.as_array().expect("rows are arrays");
        if items.len() != names.len() {
            return Err(ApiError::bad_request(format!(
                "`{key}.data` row {i} has {} values for {} columns",
                items.len(),
                names.len()
            )));
        }
        for (column, v) in columns.iter_mut().zip(items) {
            column.values.push(scalar(v, || {
                format!("`{key}.data` row {i}, `{}`", column.name)
            })?);
        }
    }
    Ok(columns)
}

/// A CSV body with a header row: empty fields are nulls, numbers and
/// `true`/`false` are read as such, anything else is text.
fn parse_csv(body: &[u8]) -> Result<Vec<RawColumn>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::bad_request(format!("the CSV body's header: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut columns: Vec<RawColumn> = names
        .into_iter()
        .map(|name| RawColumn {
            name,
            values: Vec::new(),
        })
        .collect();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| ApiError::bad_request(format!("the CSV body, row {i}: {e}")))?;
        if record.len() != columns.len() {
            return Err(ApiError::bad_request(format!(
                "the CSV body, row {i}: {} fields for {} columns",
                record.len(),
                columns.len()
            )));
        }
        for (column, field) in columns.iter_mut().zip(record.iter()) {
            let field = field.trim();
            column.values.push(if field.is_empty() {
                Scalar::Null
            } else if let Ok(i) = field.parse::<i64>() {
                Scalar::I64(i)
            } else if let Ok(x) = field.parse::<f64>() {
                Scalar::F64(x)
            } else if field.eq_ignore_ascii_case("true") {
                Scalar::Bool(true)
            } else if field.eq_ignore_ascii_case("false") {
                Scalar::Bool(false)
            } else {
                Scalar::Str(field.to_owned())
            });
        }
    }
    Ok(columns)
}
