//! The Open Inference Protocol v2 over REST (KServe, Triton, MLServer):
//! server and model metadata, health, and `infer`, with Triton's binary
//! tensor extension (tensors after the JSON header, whose length the
//! `Inference-Header-Content-Length` header gives), which `tritonclient`
//! uses by default.
//!
//! Inputs: one tensor per feature column, by name (shape `[n]` or
//! `[n, 1]`), or one 2-D tensor `[n, k]` whose `k` columns are the
//! model's features in its schema's order. Outputs: the trainer's columns,
//! `prediction` and, for classifiers, `p_<class>`.

use super::error::{ApiError, OipError};
use super::models::Target;
use super::tenancy::{Caller, CallerOf, OipCaller};
use super::tensors::{RawColumn, Scalar, column_json, raw_json, raw_type, rows};
use super::{Answer, AppState, Received};
use crate::wit;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The header giving the JSON part's length when binary tensors follow.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// `GET /v2`
pub async fn server_metadata() -> Json<Value> {
    Json(json!({
        "name": "sluice",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data"],
    }))
}

/// `GET /v2/health/live`
pub async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

/// `GET /v2/health/ready`: 200 once the models the server started with
/// are loaded, 503 before.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let ready = state.is_ready();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "ready": ready }))).into_response()
}

/// The model (and optional version) segments of a model path.
#[derive(Debug, Deserialize)]
pub struct ModelPath {
    name: String,
    version: Option<String>,
}

/// `GET /v2/models/{name}[/versions/{v}]`: the version's inputs (its
/// feature columns) and outputs.
pub async fn model_metadata(
    State(state): State<Arc<AppState>>,
    CallerOf(caller, _): OipCaller,
    Path(path): Path<ModelPath>,
) -> Result<Json<Value>, OipError> {
    let target = Target::parse(&path.name, path.version.as_deref())?;
    let model = state.model(&caller, &target).await?;
    let v = &model.version;
    let versions = caller
        .registry
        .versions(&v.name)
        .await
        .map_err(ApiError::from_registry)?;
    let inputs: Vec<Value> = v
        .input_schema
        .iter()
        .map(|(name, kind)| json!({ "name": name, "datatype": datatype(kind), "shape": [-1] }))
        .collect();
    let outputs: Vec<Value> = state
        .output_schema(&caller, &model)
        .await
        .iter()
        .map(|(name, kind)| json!({ "name": name, "datatype": datatype(kind), "shape": [-1] }))
        .collect();
    Ok(Json(json!({
        "name": v.name,
        "versions": versions.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        "platform": format!("sluice/{}", v.trainer.name),
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {
            "version": v.version.to_string(),
            "run_id": v.run_id,
            "trainer": format!("{}@{}", v.trainer.name, v.trainer.version),
        },
    })))
}

/// `GET /v2/models/{name}[/versions/{v}]/ready`: loads the version if it
/// is not yet.
pub async fn model_ready(
    State(state): State<Arc<AppState>>,
    CallerOf(caller, _): OipCaller,
    Path(path): Path<ModelPath>,
) -> Result<Json<Value>, OipError> {
    let target = Target::parse(&path.name, path.version.as_deref())?;
    let model = state.model(&caller, &target).await?;
    Ok(Json(json!({ "name": model.version.name, "ready": true })))
}

fn datatype(kind: &str) -> &'static str {
    match kind {
        "f64" => "FP64",
        "i64" => "INT64",
        "bool" => "BOOL",
        _ => "BYTES",
    }
}

#[derive(Debug, Deserialize)]
struct InferRequest {
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<RequestInput>,
    outputs: Option<Vec<RequestOutput>>,
}

#[derive(Debug, Deserialize)]
struct RequestInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RequestOutput {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// `POST /v2/models/{name}[/versions/{v}]/infer`: the request is logged
/// under its `x-request-id`, or else its body's `id`, or else an id made
/// for it; the response's `x-request-id` says which.
pub async fn infer(
    State(state): State<Arc<AppState>>,
    CallerOf(caller, _): OipCaller,
    Extension(received): Extension<Received>,
    Path(path): Path<ModelPath>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let mut received = received;
    let mut response =
        match infer_inner(&state, &caller, &path, &headers, &mut received, body).await {
            Ok(response) => response,
            Err(e) => OipError(e).into_response(),
        };
    super::stamp_id(&mut response, &received.id);
    response
}

async fn infer_inner(
    state: &Arc<AppState>,
    caller: &Arc<Caller>,
    path: &ModelPath,
    headers: &HeaderMap,
    received: &mut Received,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let body = state.read_body(body).await?;
    let (header, binary) = split_binary(headers, &body)?;
    let request: InferRequest = serde_json::from_slice(header).map_err(|e| {
        ApiError::bad_request(format!("the inference request is not valid JSON: {e}"))
    })?;
    *received = received.with_body_id(request.id.as_deref());
    let target = Target::parse(&path.name, path.version.as_deref())?;
    let answer = state
        .infer(caller, &target, headers, received, |schema| {
            let columns = decode_inputs(&request.inputs, binary, schema)?;
            Ok((columns, request.parameters.clone()))
        })
        .await?
        .answer;
    encode_response(&request, answer)
}

/// The JSON header of a body and the binary tensors after it.
fn split_binary<'b>(headers: &HeaderMap, body: &'b [u8]) -> Result<(&'b [u8], &'b [u8]), ApiError> {
    match headers.get(HEADER_LENGTH) {
        None => Ok((body, &[])),
        Some(value) => {
            let n: usize = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{HEADER_LENGTH} is not a length: {value:?}"))
                })?;
            if n > body.len() {
                return Err(ApiError::bad_request(format!(
                    "{HEADER_LENGTH} is {n}, but the body has only {} bytes",
                    body.len()
                )));
            }
            Ok(body.split_at(n))
        }
    }
}

/// The request's tensors as named columns: a lone 2-D tensor with one
/// column per feature of `schema` is the whole feature table.
fn decode_inputs(
    inputs: &[RequestInput],
    binary: &[u8],
    schema: &[(String, String)],
) -> Result<Vec<RawColumn>, ApiError> {
    if inputs.is_empty() {
        return Err(ApiError::bad_request("the request has no inputs"));
    }
    let mut offset = 0usize;
    let mut columns = Vec::new();
    for input in inputs {
        let what = || format!("input `{}`", input.name);
        let shape: Vec<usize> = input
            .shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<_, _>>()
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "{}: shape {:?} has a negative dimension",
                    what(),
                    input.shape
                ))
            })?;
        let count = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| {
                ApiError::bad_request(format!("{}: shape {:?} is too large", what(), shape))
            })?;
        let values = match input.parameters.get("binary_data_size") {
            Some(size) => {
                let size = size
                    .as_u64()
                    .and_then(|s| usize::try_from(s).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("{}: binary_data_size is not a size", what()))
                    })?;
                let end = offset.checked_add(size).filter(|&e| e <= binary.len()).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{}: binary_data_size {size} runs past the body's {} bytes of binary data",
                        what(),
                        binary.len()
                    ))
                })?;
                let bytes = &binary[offset..end];
                offset = end;
                decode_binary(&input.datatype, bytes)
                    .map_err(|e| ApiError::bad_request(format!("{}: {e}", what())))?
            }
            None => {
                let data = input.data.as_ref().ok_or_else(|| {
                    ApiError::bad_request(format!("{}: no data and no binary_data_size", what()))
                })?;
                let mut flat = Vec::with_capacity(count);
                flatten(data, &mut flat);
                flat.iter()
                    .enumerate()
                    .map(|(i, v)| {
                        json_scalar(&input.datatype, v).ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "{}: element {i} ({v}) is not a {} value",
                                what(),
                                input.datatype
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        if values.len() != count {
            return Err(ApiError::bad_request(format!(
                "{}: shape {:?} needs {count} elements, the data has {}",
                what(),
                shape,
                values.len()
            )));
        }
        match shape.as_slice() {
            [_] | [_, 1] => columns.push(RawColumn {
                name: input.name.clone(),
                values,
            }),
            [n, k] if inputs.len() == 1 => {
                if *k != schema.len() {
                    return Err(ApiError::bad_request(format!(
                        "{}: a 2-D input must have one column per feature: shape {:?}, the model has {} features ({})",
                        what(),
                        shape,
                        schema.len(),
                        schema
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                for (j, (name, _)) in schema.iter().enumerate() {
                    columns.push(RawColumn {
                        name: name.clone(),
                        values: (0..*n).map(|i| values[i * k + j].clone()).collect(),
                    });
                }
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{}: shape {:?}: give one tensor of shape [n] per feature, or one [n, features] tensor",
                    what(),
                    shape
                )));
            }
        }
    }
    Ok(columns)
}

fn flatten<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        other => out.push(other),
    }
}

/// A JSON element of a tensor of `datatype`.
fn json_scalar(datatype: &str, value: &Value) -> Option<Scalar> {
    let scalar = Scalar::from_json(value)?;
    let fits = matches!(
        (datatype, &scalar),
        (_, Scalar::Null)
            | ("FP16" | "FP32" | "FP64", Scalar::F64(_) | Scalar::I64(_))
            | (
                "INT8" | "INT16" | "INT32" | "INT64" | "UINT8" | "UINT16" | "UINT32" | "UINT64",
                Scalar::I64(_)
            )
            | ("BOOL", Scalar::Bool(_))
            | ("BYTES", Scalar::Str(_))
    );
    fits.then_some(scalar)
}

/// The elements of a binary tensor (little-endian, row-major; BYTES as a
/// 4-byte length then the bytes, which must be UTF-8 here).
fn decode_binary(datatype: &str, bytes: &[u8]) -> Result<Vec<Scalar>, String> {
    /// Each `N`-byte element of `bytes` as a scalar.
    fn each<const N: usize>(
        bytes: &[u8],
        datatype: &str,
        scalar: impl Fn([u8; N]) -> Scalar,
    ) -> Result<Vec<Scalar>, String> {
        if !bytes.len().is_multiple_of(N) {
            return Err(format!(
                "{} bytes of {datatype} data is not a whole number of {N}-byte elements",
                bytes.len()
            ));
        }
        Ok(bytes
            .chunks_exact(N)
            .map(|c| scalar(c.try_into().expect("N bytes")))
            .collect())
    }
    let d = datatype;
    Ok(match datatype {
        "FP64" => each(bytes, d, |c| Scalar::F64(f64::from_le_bytes(c)))?,
        "FP32" => each(bytes, d, |c| Scalar::F64(f32::from_le_bytes(c).into()))?,
        "INT64" => each(bytes, d, |c| Scalar::I64(i64::from_le_bytes(c)))?,
        "INT32" => each(bytes, d, |c| Scalar::I64(i32::from_le_bytes(c).into()))?,
        "INT16" => each(bytes, d, |c| Scalar::I64(i16::from_le_bytes(c).into()))?,
        "UINT32" => each(bytes, d, |c| Scalar::I64(u32::from_le_bytes(c).into()))?,
        "UINT16" => each(bytes, d, |c| Scalar::I64(u16::from_le_bytes(c).into()))?,
        "INT8" => bytes
            .iter()
            .map(|&b| Scalar::I64((b as i8).into()))
            .collect(),
        "UINT8" => bytes.iter().map(|&b| Scalar::I64(b.into())).collect(),
        "BOOL" => bytes.iter().map(|&b| Scalar::Bool(b != 0)).collect(),
        "BYTES" => {
            let mut out = Vec::new();
            let mut rest = bytes;
            while !rest.is_empty() {
                if rest.len() < 4 {
                    return Err("BYTES data ends inside an element's length".into());
                }
                let (len, tail) = rest.split_at(4);
                let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
                if tail.len() < len {
                    return Err("BYTES data ends inside an element".into());
                }
                let (item, tail) = tail.split_at(len);
                out.push(Scalar::Str(
                    String::from_utf8(item.to_vec())
                        .map_err(|_| "a BYTES element is not UTF-8 text".to_string())?,
                ));
                rest = tail;
            }
            out
        }
        other => {
            return Err(format!(
                "datatype {other} is not supported (FP64, FP32, INT64, INT32, INT16, INT8, UINT32, UINT16, UINT8, BOOL, BYTES)"
            ));
        }
    })
}

/// The OIP datatype of a WIT column.
fn column_type(values: &wit::Values) -> &'static str {
    match values {
        wit::Values::F64s(_) => "FP64",
        wit::Values::I64s(_) => "INT64",
        wit::Values::Bools(_) => "BOOL",
        wit::Values::Strings(_) => "BYTES",
    }
}

/// A column's elements as binary tensor data.
fn column_binary(column: &wit::Column) -> Vec<u8> {
    let mut out = Vec::new();
    match &column.values {
        wit::Values::F64s(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        wit::Values::I64s(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        wit::Values::Bools(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        wit::Values::Strings(v) => v.iter().for_each(|s| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }),
    }
    out
}

fn flag(parameters: &Map<String, Value>, key: &str) -> Option<bool> {
    parameters.get(key).and_then(Value::as_bool)
}

/// The response: the requested outputs (all by default), as JSON or as
/// binary tensors where asked.
fn encode_response(request: &InferRequest, answer: Answer) -> Result<Response, ApiError> {
    let Answer {
        model,
        version,
        variant,
        predictions,
        extra,
        ..
    } = answer;
    let n = rows(&predictions);
    let all_binary = flag(&request.parameters, "binary_data_output").unwrap_or(false);
    let wanted: Vec<(&wit::Column, bool)> = match &request.outputs {
        None => predictions
            .columns
            .iter()
            .map(|c| (c, all_binary))
            .collect(),
        Some(outputs) => outputs
            .iter()
            .map(|o| {
                let column = predictions
                    .columns
                    .iter()
                    .find(|c| c.name == o.name)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "output `{}` is not one of the model's: {}",
                            o.name,
                            predictions
                                .columns
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                Ok((
                    column,
                    flag(&o.parameters, "binary_data").unwrap_or(all_binary),
                ))
            })
            .collect::<Result<_, ApiError>>()?,
    };
    let mut binary = Vec::new();
    let mut outputs = Vec::with_capacity(wanted.len() + extra.len());
    for (column, as_binary) in wanted {
        let mut output =
            json!({ "name": column.name, "datatype": column_type(&column.values), "shape": [n] });
        if as_binary {
            let bytes = column_binary(column);
            output["parameters"] = json!({ "binary_data_size": bytes.len() });
            binary.extend(bytes);
        } else {
            output["data"] = Value::Array(column_json(column));
        }
        outputs.push(output);
    }
    for column in &extra {
        outputs.push(json!({ "name": column.name, "datatype": raw_type(column), "shape": [n], "data": raw_json(column) }));
    }
    let mut body = json!({
        "model_name": model,
        "model_version": version.to_string(),
        "outputs": outputs,
    });
    if let Some(id) = &request.id {
        body["id"] = Value::from(id.as_str());
    }
    let header = serde_json::to_vec(&body)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if binary.is_empty() {
        let mut response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            header,
        )
            .into_response();
        super::stamp(&mut response, version, &variant);
        return Ok(response);
    }
    let length = header.len();
    let mut all = header;
    all.extend(binary);
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Bytes::from(all),
    )
        .into_response();
    response
        .headers_mut()
        .insert(HEADER_LENGTH, HeaderValue::from(length));
    super::stamp(&mut response, version, &variant);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_tensors_decode_little_endian_by_datatype() {
        let f64s: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            decode_binary("FP64", &f64s).unwrap(),
            [Scalar::F64(1.5), Scalar::F64(-2.0)]
        );
        assert_eq!(
            decode_binary("FP32", &0.25f32.to_le_bytes()).unwrap(),
            [Scalar::F64(0.25)]
        );
        assert_eq!(
            decode_binary("INT64", &(-7i64).to_le_bytes()).unwrap(),
            [Scalar::I64(-7)]
        );
        assert_eq!(
            decode_binary("INT32", &(-7i32).to_le_bytes()).unwrap(),
            [Scalar::I64(-7)]
        );
        assert_eq!(
            decode_binary("INT16", &(-7i16).to_le_bytes()).unwrap(),
            [Scalar::I64(-7)]
        );
        assert_eq!(decode_binary("INT8", &[0xf9]).unwrap(), [Scalar::I64(-7)]);
        assert_eq!(
            decode_binary("UINT32", &u32::MAX.to_le_bytes()).unwrap(),
            [Scalar::I64(u32::MAX.into())]
        );
        assert_eq!(
            decode_binary("UINT16", &7u16.to_le_bytes()).unwrap(),
            [Scalar::I64(7)]
        );
        assert_eq!(decode_binary("UINT8", &[200]).unwrap(), [Scalar::I64(200)]);
        assert_eq!(
            decode_binary("BOOL", &[1, 0]).unwrap(),
            [Scalar::Bool(true), Scalar::Bool(false)]
        );
        let mut text = 2u32.to_le_bytes().to_vec();
        text.extend(b"hi");
        assert_eq!(
            decode_binary("BYTES", &text).unwrap(),
            [Scalar::Str("hi".into())]
        );
        let err = decode_binary("FP64", &[0; 7]).unwrap_err();
        assert!(err.contains("7 bytes of FP64 data"), "{err}");
        assert!(
            decode_binary("FP8", &[0])
                .unwrap_err()
                .contains("not supported")
        );
    }
}
