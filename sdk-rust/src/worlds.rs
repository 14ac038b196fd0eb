//! One trait per WIT world, and the adapters the export macros hand to the
//! generated bindings.
//!
//! Every call first converts the host's data (moving, not copying), checks
//! table shapes and resolves params against the plugin's own `describe()`,
//! so a plugin only ever sees well-formed input and valid params.

use std::marker::PhantomData;

use crate::convert::{column_in, info_out, params_in, table_in};
use crate::wit::types as wire;
use crate::{Column, Explanation, Params, PluginInfo, StepError, Table, Trained, ValidationReport};

/// A step that checks data (and optionally a model, through
/// [`model::predict`](crate::model::predict)) and reports checks and metrics.
/// Export it with [`export_validator!`](crate::export_validator).
pub trait Validator {
    fn describe() -> PluginInfo;
    fn validate(
        data: Table,
        reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError>;
}

/// A step that learns a state from data (`fit`) and applies it to data
/// (`apply`), at training and at serving time alike. Export it with
/// [`export_transform!`](crate::export_transform).
pub trait Transform {
    fn describe() -> PluginInfo;
    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError>;
    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError>;
}

/// A step that trains a model and predicts with it. Export it with
/// [`export_trainer!`](crate::export_trainer).
pub trait Trainer {
    fn describe() -> PluginInfo;
    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError>;
    /// One row per input row. Classifiers return one f64 column `p_<class>`
    /// per class and a `prediction` column.
    fn predict(model: Vec<u8>, features: Table) -> Result<Table, StepError>;
}

/// A step that explains a model (through
/// [`model::predict`](crate::model::predict)) with global attributions.
/// Export it with [`export_explainer!`](crate::export_explainer).
pub trait Explainer {
    fn describe() -> PluginInfo;
    fn explain(
        features: Table,
        target: Option<Column>,
        params: Params,
    ) -> Result<Explanation, StepError>;
}

/// Resolves raw params against the plugin's declared specs.
fn resolve(info: PluginInfo, params: Vec<wire::Param>) -> Result<Params, StepError> {
    Params::resolve(&info.params, params_in(params))
}

#[doc(hidden)]
pub struct ValidatorExport<T>(PhantomData<T>);

impl<T: Validator> crate::wit::validator::Guest for ValidatorExport<T> {
    fn describe() -> wire::PluginInfo {
        info_out(T::describe(), wire::StepKind::Validator)
    }

    fn validate(
        data: wire::Table,
        reference: Option<wire::Table>,
        params: Vec<wire::Param>,
    ) -> Result<wire::ValidationReport, wire::StepError> {
        let run = || {
            let params = resolve(T::describe(), params)?;
            let data = table_in(data)?;
            let reference = reference.map(table_in).transpose()?;
            T::validate(data, reference, params)
        };
        run().map(Into::into).map_err(Into::into)
    }
}

#[doc(hidden)]
pub struct TransformExport<T>(PhantomData<T>);

impl<T: Transform> crate::wit::transform::Guest for TransformExport<T> {
    fn describe() -> wire::PluginInfo {
        info_out(T::describe(), wire::StepKind::Transform)
    }

    fn fit(data: wire::Table, params: Vec<wire::Param>) -> Result<Vec<u8>, wire::StepError> {
        let run = || {
            let params = resolve(T::describe(), params)?;
            T::fit(table_in(data)?, params)
        };
        run().map_err(Into::into)
    }

    fn apply(state: Vec<u8>, data: wire::Table) -> Result<wire::Table, wire::StepError> {
        let run = || T::apply(state, table_in(data)?);
        run().map(Into::into).map_err(Into::into)
    }
}

#[doc(hidden)]
pub struct TrainerExport<T>(PhantomData<T>);

impl<T: Trainer> crate::wit::trainer::Guest for TrainerExport<T> {
    fn describe() -> wire::PluginInfo {
        info_out(T::describe(), wire::StepKind::Trainer)
    }

    fn train(
        features: wire::Table,
        target: wire::Column,
        params: Vec<wire::Param>,
    ) -> Result<wire::Trained, wire::StepError> {
        let run = || {
            let params = resolve(T::describe(), params)?;
            let features = table_in(features)?;
            let target = column_in(target)?;
            if !features.is_empty() && target.len() != features.num_rows() {
                return Err(StepError::invalid_input(format!(
                    "target '{}' has {} rows, features have {}",
                    target.name,
                    target.len(),
                    features.num_rows()
                )));
            }
            T::train(features, target, params)
        };
        run().map(Into::into).map_err(Into::into)
    }

    fn predict(model: Vec<u8>, features: wire::Table) -> Result<wire::Table, wire::StepError> {
        let run = || T::predict(model, table_in(features)?);
        run().map(Into::into).map_err(Into::into)
    }
}

#[doc(hidden)]
pub struct ExplainerExport<T>(PhantomData<T>);

impl<T: Explainer> crate::wit::explainer::Guest for ExplainerExport<T> {
    fn describe() -> wire::PluginInfo {
        info_out(T::describe(), wire::StepKind::Explainer)
    }

    fn explain(
        features: wire::Table,
        target: Option<wire::Column>,
        params: Vec<wire::Param>,
    ) -> Result<wire::Explanation, wire::StepError> {
        let run = || {
            let params = resolve(T::describe(), params)?;
            let features = table_in(features)?;
            let target = target.map(column_in).transpose()?;
            if let Some(t) = &target
                && !features.is_empty()
                && t.len() != features.num_rows()
            {
                return Err(StepError::invalid_input(format!(
                    "target '{}' has {} rows, features have {}",
                    t.name,
                    t.len(),
                    features.num_rows()
                )));
            }
            T::explain(features, target, params)
        };
        run().map(Into::into).map_err(Into::into)
    }
}
