//! One inference request, whichever protocol it came by: which version
//! answers it (the model's route for a bare name, sticky by its key), its
//! columns read for that version, the answer, and its shadow when the
//! route mirrors it.

use super::error::ApiError;
use super::log::Entry;
use super::models::{Routing, Target};
use super::tenancy::Caller;
use super::tensors::{RawColumn, Scalar, conform, passthrough};
use super::{Answer, AppState, Received};
use crate::registry::PreparedModel;
use axum::http::HeaderMap;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The request header whose value is the sticky key of a routed request.
pub const KEY_HEADER: &str = "x-sluice-key";

/// The variant label of mirrored answers.
pub const SHADOW: &str = "shadow";

/// A request's columns and its parameters, as a protocol reads them for a
/// version's input schema.
pub type Decoded = (Vec<RawColumn>, Map<String, Value>);

/// An answered request, with the parameters it came with.
pub struct Inferred {
    /// The answer.
    pub answer: Answer,
    /// The request's parameters.
    pub params: Map<String, Value>,
}

/// A request's entry in the inference log.
fn entry(
    received: &Received,
    model: &PreparedModel,
    variant: &str,
    key: Option<String>,
    (inputs, extra): (Option<crate::wit::Table>, Vec<RawColumn>),
    outcome: Result<&Answer, &ApiError>,
) -> Entry {
    let (status, error, outputs) = match outcome {
        Ok(answer) => (200, None, Some(answer.predictions.clone())),
        Err(e) => (e.status.as_u16(), Some(e.message.clone()), None),
    };
    Entry {
        request_id: received.id.clone(),
        time_ms: received.time_ms,
        model: model.version.name.clone(),
        version: model.version.version,
        variant: variant.to_owned(),
        key,
        status,
        error,
        latency_seconds: received.at.elapsed().as_secs_f64(),
        inputs,
        outputs,
        extra,
    }
}

/// A value as a sticky key: the same value always gives the same text.
fn key_text(value: &Scalar) -> Option<String> {
    match value {
        Scalar::Null => None,
        Scalar::F64(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Some(format!("{}", *v as i64)),
        Scalar::F64(v) => Some(v.to_string()),
        Scalar::I64(v) => Some(v.to_string()),
        Scalar::Bool(v) => Some(v.to_string()),
        Scalar::Str(s) => Some(s.clone()),
    }
}

impl AppState {
    /// Answer a request for `target`: `decode` reads its columns for a
    /// version's input schema (called again only if the version the key
    /// picks reads them differently). Once its version is chosen, the
    /// request is logged, answered or not ([`super::log`]).
    pub(super) async fn infer(
        self: &Arc<Self>,
        caller: &Arc<Caller>,
        target: &Target,
        headers: &HeaderMap,
        received: &Received,
        decode: impl Fn(&[(String, String)]) -> Result<Decoded, ApiError>,
    ) -> Result<Inferred, ApiError> {
        let header_key = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
        let mut early: Option<(Arc<PreparedModel>, Decoded)> = None;
        let mut key = header_key.map(str::to_owned);
        let (model, variant, mirror, routing) = match target {
            Target::Model { name } => {
                let routing = self.routing(caller, name).await?;
                let policy = routing.policy.clone();
                key = match (header_key, policy.as_ref().and_then(|p| p.key.as_ref())) {
                    (Some(k), _) => Some(k.to_owned()),
                    (None, Some(column)) => {
                        // The key is a column: read the request first.
                        let first = self.version(caller, name, routing.primary(name)?).await?;
                        let decoded = decode(&first.version.input_schema)?;
                        let key = decoded
                            .0
                            .iter()
                            .find(|c| &c.name == column)
                            .and_then(|c| c.values.first())
                            .and_then(key_text)
                            .ok_or_else(|| {
                                ApiError::bad_request(format!(
                                    "model `{name}` routes by the column `{column}`: the request \
                                     needs it (with a value in its first row) or an {KEY_HEADER} header"
                                ))
                            })?;
                        early = Some((first, decoded));
                        Some(key)
                    }
                    (None, None) => None,
                };
                let pick = routing.pick(name, key.as_deref())?;
                let model = self.version(caller, name, pick.version).await?;
                let mirror = match pick.mirror {
                    Some(v) => Some(self.version(caller, name, v).await?),
                    None => None,
                };
                (model, pick.variant, mirror, Some(routing))
            }
            _ => (
                self.model(caller, target).await?,
                target.variant(),
                None,
                None,
            ),
        };
        let mut params = Map::new();
        let logging = self.log.enabled();
        let mut logged_inputs = None;
        let mut logged_extra = Vec::new();
        let answered = async {
            let schema = &model.version.input_schema;
            let (columns, request_params) = match early {
                Some((first, decoded)) if first.version.input_schema == *schema => decoded,
                _ => decode(schema)?,
            };
            params = request_params;
            let (features, extra) = conform(schema, columns)?;
            let mut echoed = passthrough(&params, &extra)?;
            let declared = routing
                .as_ref()
                .and_then(|r| r.policy.as_ref())
                .map(|p| p.passthrough.as_slice())
                .unwrap_or_default();
            for name in declared {
                if !echoed.iter().any(|c| &c.name == name)
                    && let Some(c) = extra.iter().find(|c| &c.name == name)
                {
                    echoed.push(c.clone());
                }
            }
            if let Some(shadow) = mirror {
                self.shadow(caller, shadow, features.clone(), received, key.clone());
            }
            if logging {
                logged_inputs = Some(features.clone());
                logged_extra = extra.clone();
            }
            self.answer(caller, &model, &variant, features, echoed)
                .await
        };
        let mut outcome = answered.await;
        if logging {
            let entry = entry(
                received,
                &model,
                &variant,
                key,
                (logged_inputs, logged_extra),
                outcome.as_ref(),
            );
            let deadline = received.at + self.options.request_timeout;
            if let Err(full) = self.log.append(&caller.log, entry, deadline).await {
                outcome = Err(ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    full.to_string(),
                ));
            }
        }
        let answer = self.observed(&model, &variant, outcome)?;
        Ok(Inferred { answer, params })
    }

    /// Answer `features` with `model` as a shadow, in the background: the
    /// answer is counted (variant `shadow`), never returned. A shadow
    /// takes a free concurrency slot of the caller or is dropped, so it
    /// never delays the caller's own requests.
    /// The shadow's answer is logged too, under the request's id.
    fn shadow(
        self: &Arc<Self>,
        caller: &Arc<Caller>,
        model: Arc<PreparedModel>,
        features: crate::wit::Table,
        received: &Received,
        key: Option<String>,
    ) {
        let (state, caller) = (self.clone(), caller.clone());
        let received = Received {
            at: std::time::Instant::now(),
            time_ms: chrono::Utc::now().timestamp_millis(),
            ..received.clone()
        };
        tokio::spawn(async move {
            let Ok(_slot) = caller.slots.try_acquire() else {
                state.metrics.shadow_dropped(&model.version);
                return;
            };
            let logged = state.log.enabled().then(|| features.clone());
            let outcome = state.alone(&caller, &model, features).await;
            if state.log.enabled() {
                let entry = entry(
                    &received,
                    &model,
                    SHADOW,
                    key,
                    (logged, Vec::new()),
                    outcome.as_ref(),
                );
                let deadline = received.at + state.options.request_timeout;
                // A shadow's entry that finds no room is dropped (counted
                // as refused): it answers nobody.
                let _ = state.log.append(&caller.log, entry, deadline).await;
            }
            let _ = state.observed(&model, SHADOW, outcome);
        });
    }

    /// `features` answered by `model` alone, outside any batch, by a
    /// caller that holds a slot: a shadow's call.
    async fn alone(
        &self,
        caller: &Caller,
        model: &PreparedModel,
        features: crate::wit::Table,
    ) -> Result<Answer, ApiError> {
        let started = std::time::Instant::now();
        let mut limits = caller.limits;
        let budget = u64::try_from(self.options.request_timeout.as_millis()).unwrap_or(u64::MAX);
        limits.timeout_ms = limits.timeout_ms.min(budget.max(1));
        let call = model.predict(&caller.runtime, features, limits);
        let predictions = tokio::time::timeout(self.options.request_timeout, call)
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|e| ApiError::from_step(&e))?;
        Ok(Answer {
            model: model.version.name.clone(),
            version: model.version.version,
            variant: SHADOW.to_owned(),
            predictions,
            extra: Vec::new(),
            predict_seconds: started.elapsed().as_secs_f64(),
            sandboxes: model.sandboxes(),
            batch: None,
        })
    }

    /// How requests for the bare name `name` are routed now.
    async fn routing(&self, caller: &Caller, name: &str) -> Result<Arc<Routing>, ApiError> {
        let read = caller.models.routing(&caller.registry, name);
        tokio::time::timeout(self.options.request_timeout, read)
            .await
            .map_err(|_| self.timed_out())?
    }

    /// Version `version` of `name`, loaded.
    async fn version(
        &self,
        caller: &Caller,
        name: &str,
        version: i64,
    ) -> Result<Arc<PreparedModel>, ApiError> {
        self.model(
            caller,
            &Target::Version {
                name: name.to_owned(),
                version,
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_the_same_whatever_type_carried_it() {
        assert_eq!(key_text(&Scalar::F64(42.0)), Some("42".into()));
        assert_eq!(key_text(&Scalar::I64(42)), Some("42".into()));
        assert_eq!(key_text(&Scalar::Str("42".into())), Some("42".into()));
        assert_eq!(key_text(&Scalar::F64(0.5)), Some("0.5".into()));
        assert_eq!(key_text(&Scalar::Null), None);
    }
}
