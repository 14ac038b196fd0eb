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
    /// The plugin's name, version, doc and params; called once per load, before
    /// any other call.
    fn describe() -> PluginInfo;
    /// Checks `data` (and `reference`, a second table such as the training data
    /// to compare with, when the pipeline gives one). A failed check goes in
    /// the report; an error means the plugin could not check at all.
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
    /// The plugin's name, version, doc and params; called once per load, before
    /// any other call.
    fn describe() -> PluginInfo;
    /// Learns the state from the training data: opaque bytes the host stores
    /// and gives back to `apply`.
    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError>;
    /// Applies a fitted state to a table (the training data, a holdout or
    /// serving data), one row out per row in.
    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError>;
}

/// A step that trains a model and predicts with it. Export it with
/// [`export_trainer!`](crate::export_trainer).
pub trait Trainer {
    /// The plugin's name, version, doc and params; called once per load, before
    /// any other call.
    fn describe() -> PluginInfo;
    /// Trains on `features` to predict `target` (same number of rows); the
    /// model's bytes are opaque to the host.
    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError>;
    /// One row per input row. Classifiers return one f64 column `p_<class>`
    /// per class and a `prediction` column.
    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError>;

    /// Keeps `model` and `features` for the explainer's calls of
    /// `predict-replacing` that follow (the WIT `holding` interface), each
    /// of which must answer exactly as [`Trainer::predict`] on the held
    /// features with some columns replaced.
    ///
    /// The default keeps both as they are and calls [`Trainer::predict`]
    /// on the table with the new columns swapped in (no copy). Override it
    /// when the model can reuse work from one call to the next.
    fn hold(model: Vec<u8>, features: Table) -> Result<Box<dyn Held>, StepError>
    where
        Self: Sized + 'static,
    {
        Ok(Box::new(HeldTable::<Self>::new(model, features)))
    }

    /// One input of a [`parallel::spread`](crate::parallel::spread) call
    /// of `task`, run in one of the step's workers (another instance of
    /// this plugin, whose memory lasts for the step call). The default
    /// knows no task.
    fn work(task: &str, input: Vec<u8>) -> Result<Vec<u8>, StepError> {
        let _ = input;
        Err(StepError::invalid_input(format!(
            "this trainer has no parallel task '{task}'"
        )))
    }
}

/// A model held with a table by [`Trainer::hold`].
pub trait Held {
    /// Predictions on the held features with `columns` in place of the
    /// held columns of the same name; the held features are left as they
    /// were. The names and lengths have been checked
    /// ([`check_replacing`]).
    fn predict_replacing(&mut self, columns: Vec<Column>) -> Result<Table, StepError>;

    /// [`Held::predict_replacing`] answering with the columns named in
    /// `outputs` only, in that order (every column when it is empty). The
    /// default predicts every column and keeps those ([`select_outputs`]);
    /// override it when the model can skip the work for the others (a
    /// classifier asked for `prediction` only need not compute
    /// probabilities), answering exactly what the default would.
    fn predict_outputs(
        &mut self,
        columns: Vec<Column>,
        outputs: &[String],
    ) -> Result<Table, StepError> {
        select_outputs(self.predict_replacing(columns)?, outputs)
    }
}

/// The columns of `predictions` named in `outputs`, in that order; all of
/// them when `outputs` is empty. An invalid-input error names an output
/// the predictions lack (listing the ones they have) or one asked twice.
pub fn select_outputs(mut predictions: Table, outputs: &[String]) -> Result<Table, StepError> {
    if outputs.is_empty() {
        return Ok(predictions);
    }
    let mut picked = Table::new();
    for (i, name) in outputs.iter().enumerate() {
        if outputs[..i].contains(name) {
            return Err(StepError::invalid_input(format!(
                "output '{name}' is asked for twice"
            )));
        }
        let Some(j) = predictions.columns.iter().position(|c| c.name == *name) else {
            let mut have: Vec<&str> = predictions.names();
            have.extend(picked.names());
            return Err(StepError::invalid_input(format!(
                "the model's predictions have no column '{name}'; they have: {}",
                have.join(", ")
            )));
        };
        picked.push(predictions.columns.swap_remove(j));
    }
    Ok(picked)
}

/// Where each of `columns` goes in `held`: the index of the held column
/// of the same name. An error names a column that is not held, one given
/// twice, or one whose length is not the held table's number of rows.
pub fn check_replacing(held: &Table, columns: &[Column]) -> Result<Vec<usize>, StepError> {
    let rows = held.num_rows();
    let mut at = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let Some(j) = held.columns.iter().position(|c| c.name == column.name) else {
            return Err(StepError::invalid_input(format!(
                "predict-replacing: column '{}' is not in the held table",
                column.name
            )));
        };
        if columns[..i].iter().any(|c| c.name == column.name) {
            return Err(StepError::invalid_input(format!(
                "predict-replacing: column '{}' is given twice",
                column.name
            )));
        }
        if column.len() != rows {
            return Err(StepError::invalid_input(format!(
                "predict-replacing: column '{}' has {} rows, the held table has {rows}",
                column.name,
                column.len()
            )));
        }
        at.push(j);
    }
    Ok(at)
}

/// [`Table`] with `columns` swapped in at `at` (from [`check_replacing`]);
/// swapping again with what this returns puts the table back.
pub fn swap_columns(table: &mut Table, at: &[usize], columns: Vec<Column>) -> Vec<Column> {
    at.iter()
        .zip(columns)
        .map(|(&j, column)| std::mem::replace(&mut table.columns[j], column))
        .collect()
}

/// The default [`Held`]: the model's bytes and the features, predicted on
/// with the replaced columns swapped in and back out. A trainer whose own
/// [`Trainer::hold`] covers some models only falls back on it.
pub struct HeldTable<T> {
    model: Vec<u8>,
    features: Table,
    trainer: PhantomData<T>,
}

impl<T> HeldTable<T> {
    /// Holds `model` (a trainer `T`'s bytes) with `features`.
    pub fn new(model: Vec<u8>, features: Table) -> Self {
        HeldTable {
            model,
            features,
            trainer: PhantomData,
        }
    }
}

impl<T: Trainer> Held for HeldTable<T> {
    fn predict_replacing(&mut self, columns: Vec<Column>) -> Result<Table, StepError> {
        let at = check_replacing(&self.features, &columns)?;
        let originals = swap_columns(&mut self.features, &at, columns);
        let out = T::predict(&self.model, &self.features);
        swap_columns(&mut self.features, &at, originals);
        out
    }
}

/// A step that explains a model (through
/// [`model::predict`](crate::model::predict)) with global attributions.
/// Export it with [`export_explainer!`](crate::export_explainer).
pub trait Explainer {
    /// The plugin's name, version, doc and params; called once per load, before
    /// any other call.
    fn describe() -> PluginInfo;
    /// Explains the model the host holds for this step, on `features` (and
    /// `target`, when the pipeline gives one), with one attribution per
    /// feature.
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
        let run = || T::predict(&model, &table_in(features)?);
        run().map(Into::into).map_err(Into::into)
    }
}

#[cfg(target_arch = "wasm32")]
impl<T: Trainer + 'static> crate::wit::trainer::exports::sluice::plugin::worker::Guest
    for TrainerExport<T>
{
    fn run(task: String, input: Vec<u8>) -> Result<Vec<u8>, wire::StepError> {
        T::work(&task, input).map_err(Into::into)
    }
}

#[cfg(target_arch = "wasm32")]
thread_local! {
    /// What `hold` keeps for `predict-replacing`, in this instance.
    static HELD: std::cell::RefCell<Option<Box<dyn Held>>> = const { std::cell::RefCell::new(None) };
}

#[cfg(target_arch = "wasm32")]
impl<T: Trainer + 'static> crate::wit::trainer::exports::sluice::plugin::holding::Guest
    for TrainerExport<T>
{
    fn hold(model: Vec<u8>, features: wire::Table) -> Result<(), wire::StepError> {
        // The old table goes first: two 1M-row tables need not fit at once.
        HELD.with(|h| h.borrow_mut().take());
        let held = table_in(features).and_then(|features| T::hold(model, features));
        let held = held.map_err(wire::StepError::from)?;
        HELD.with(|h| *h.borrow_mut() = Some(held));
        Ok(())
    }

    fn predict_replacing(
        columns: Vec<wire::Column>,
        outputs: Vec<String>,
    ) -> Result<wire::Table, wire::StepError> {
        let run = || {
            let columns = columns
                .into_iter()
                .map(column_in)
                .collect::<Result<Vec<_>, _>>()?;
            HELD.with(|h| match h.borrow_mut().as_mut() {
                Some(held) => held.predict_outputs(columns, &outputs),
                None => Err(StepError::invalid_input(
                    "predict-replacing: no table is held (call hold first)",
                )),
            })
        };
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
