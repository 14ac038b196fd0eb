//! Write sluice pipeline steps in Rust.
//!
//! A sluice step is a WebAssembly component that implements one of four
//! worlds of the `sluice:plugin` WIT contract: **validator**, **transform**,
//! **trainer** or **explainer**. With this crate a plugin implements one
//! trait ([`Validator`], [`Transform`], [`Trainer`], [`Explainer`]) on plain
//! Rust types and exports it with one macro; it never sees the generated
//! bindings.
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]
//!
//! [dependencies]
//! sluice-sdk = { path = "../../sdk-rust" }
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`: the `.wasm`
//! rustc writes is already a component of the right world.
//!
//! # What the SDK does for every call
//!
//! - Tables arrive as [`Table`]s of typed [`Column`]s, moved (not copied)
//!   out of the canonical ABI's buffers, and checked for equal lengths.
//! - Raw params are resolved against the plugin's own
//!   [`describe()`](Validator::describe) into [`Params`]: unknown names,
//!   wrong kinds and missing required params are invalid-params errors
//!   before the plugin runs; absent params take their declared defaults.
//! - The step kind in [`PluginInfo`] is set from the exported world.
//!
//! Built natively (unit tests, benchmarks), the export macros only check
//! that the type implements the trait, [`log`] writes to stderr,
//! [`progress`] does nothing, and [`model::predict`] calls a predictor
//! installed with [`model::set_native_predictor`]. So the very code that
//! runs in the sandbox can be tested with `cargo test`.
//!
//! # A validator
//!
//! ```
//! use sluice_sdk::{Params, ParamSpec, PluginInfo, StepError, Table, ValidationReport, Validator};
//!
//! pub struct RowCount;
//!
//! impl Validator for RowCount {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("row-count", "0.1.0", "Checks a table has enough rows.")
//!             .metrics(&["rows"])
//!             .param(ParamSpec::integer("min_rows", 1, "fewest rows allowed").at_least(0.0))
//!     }
//!
//!     fn validate(
//!         data: Table,
//!         _reference: Option<Table>,
//!         params: Params,
//!     ) -> Result<ValidationReport, StepError> {
//!         let min = params.integer("min_rows")?;
//!         let rows = data.num_rows();
//!         let mut report = ValidationReport::new();
//!         report.check("rows", rows as i64 >= min, format!("{rows} rows, need {min}"));
//!         report.metric("rows", rows as f64);
//!         Ok(report)
//!     }
//! }
//!
//! sluice_sdk::export_validator!(RowCount);
//!
//! # use sluice_sdk::{Column, ParamValue};
//! # let params = Params::resolve(&RowCount::describe().params, Vec::new()).unwrap();
//! # let table = Table::new().with(Column::f64("x", vec![1.0, 2.0]));
//! # let report = RowCount::validate(table, None, params).unwrap();
//! # assert!(report.passed());
//! ```
//!
//! # A transform
//!
//! ```
//! use sluice_sdk::codec::{ByteReader, ByteWriter};
//! use sluice_sdk::{Column, Params, ParamSpec, PluginInfo, StepError, Table, Transform, Values};
//!
//! /// Multiplies every f64 column by a factor chosen at fit time.
//! pub struct Scale;
//!
//! const TAG: [u8; 4] = *b"SCAL";
//!
//! impl Transform for Scale {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("scale", "0.1.0", "Multiplies f64 columns by a factor.")
//!             .param(ParamSpec::number("factor", 2.0, "the multiplier"))
//!     }
//!
//!     fn fit(_data: Table, params: Params) -> Result<Vec<u8>, StepError> {
//!         let mut w = ByteWriter::new(TAG, 1);
//!         w.f64(params.number("factor")?);
//!         Ok(w.finish())
//!     }
//!
//!     fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
//!         let mut r = ByteReader::new(&state, TAG, 1)?;
//!         let factor = r.f64()?;
//!         r.finish()?;
//!         Ok(data
//!             .into_iter()
//!             .map(|mut col| {
//!                 if let Values::F64(v) = &mut col.values {
//!                     v.iter_mut().for_each(|x| *x *= factor);
//!                 }
//!                 col
//!             })
//!             .collect())
//!     }
//! }
//!
//! sluice_sdk::export_transform!(Scale);
//!
//! # let params = Params::resolve(&Scale::describe().params, Vec::new()).unwrap();
//! # let state = Scale::fit(Table::new(), params).unwrap();
//! # let out = Scale::apply(state, Table::new().with(Column::f64("x", vec![1.5]))).unwrap();
//! # assert_eq!(out.column("x").unwrap().f64_values(), Some(&[3.0][..]));
//! ```
//!
//! # A trainer
//!
//! ```
//! use sluice_sdk::codec::{ByteReader, ByteWriter};
//! use sluice_sdk::{Column, Params, PluginInfo, StepError, Table, Trained, Trainer};
//!
//! /// Predicts the mean of the training target for every row.
//! pub struct MeanModel;
//!
//! const TAG: [u8; 4] = *b"MEAN";
//!
//! impl Trainer for MeanModel {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("mean-model", "0.1.0", "Predicts the training mean.")
//!     }
//!
//!     fn train(_features: Table, target: Column, _params: Params) -> Result<Trained, StepError> {
//!         let y = target.to_f64_lossy()?;
//!         let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
//!         let mut w = ByteWriter::new(TAG, 1);
//!         w.f64(mean);
//!         Ok(Trained::new(w.finish()).with_metric("train_mean", mean))
//!     }
//!
//!     fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
//!         let mut r = ByteReader::new(model, TAG, 1)?;
//!         let mean = r.f64()?;
//!         Ok(Table::new().with(Column::f64("prediction", vec![mean; features.num_rows()])))
//!     }
//! }
//!
//! sluice_sdk::export_trainer!(MeanModel);
//!
//! # let params = Params::resolve(&[], Vec::new()).unwrap();
//! # let x = Table::new().with(Column::f64("x", vec![0.0, 0.0]));
//! # let trained = MeanModel::train(x.clone(), Column::i64("y", vec![1, 2]), params).unwrap();
//! # let out = MeanModel::predict(&trained.model, &x).unwrap();
//! # assert_eq!(out.column("prediction").unwrap().f64_values(), Some(&[1.5, 1.5][..]));
//! ```
//!
//! # An explainer
//!
//! ```
//! use sluice_sdk::{model, Column, Explainer, Explanation, Params, PluginInfo, StepError, Table};
//!
//! /// Scores each feature by how much the mean prediction moves when the
//! /// feature is zeroed.
//! pub struct ZeroOut;
//!
//! fn mean_p(table: &Table) -> Result<f64, StepError> {
//!     let out = model::predict(table)?;
//!     let p = out.column("p_1")?.as_f64()?;
//!     Ok(p.iter().sum::<f64>() / p.len().max(1) as f64)
//! }
//!
//! impl Explainer for ZeroOut {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("zero-out", "0.1.0", "Zero-out sensitivity.")
//!     }
//!
//!     fn explain(
//!         features: Table,
//!         _target: Option<Column>,
//!         _params: Params,
//!     ) -> Result<Explanation, StepError> {
//!         let base = mean_p(&features)?;
//!         let mut explanation = Explanation::new();
//!         for name in features.names() {
//!             let mut zeroed = features.clone();
//!             let n = zeroed.num_rows();
//!             zeroed.set(Column::f64(name, vec![0.0; n]));
//!             explanation.attribution(name, (mean_p(&zeroed)? - base).abs());
//!         }
//!         explanation.metric("baseline", base);
//!         Ok(explanation)
//!     }
//! }
//!
//! sluice_sdk::export_explainer!(ZeroOut);
//!
//! // Natively, a stand-in model answers `model::predict`.
//! model::set_native_predictor(Box::new(|t: &Table| {
//!     let x = t.column("x")?.to_f64_lossy()?;
//!     Ok(Table::new().with(Column::f64("p_1", x.iter().map(|v| v / 10.0).collect())))
//! }));
//! let features = Table::new().with(Column::f64("x", vec![1.0, 3.0]));
//! let params = Params::resolve(&ZeroOut::describe().params, Vec::new())?;
//! let explanation = ZeroOut::explain(features, None, params)?;
//! assert!((explanation.global[0].score - 0.2).abs() < 1e-12);
//! # Ok::<(), StepError>(())
//! ```
//!
//! # Host services
//!
//! - [`log::error`], [`log::warn`], [`log::info`], [`log::debug`],
//!   [`log::trace`]: lines in the step's log.
//! - [`progress`]`(done, total)`: progress of long work.
//! - [`model::predict`]: the model under test (validator and explainer
//!   worlds only); [`model::hold`], [`model::predict_replacing`] and
//!   [`model::predict_replacing_each`] for many predictions on one table
//!   with a few columns changed, which send only the changed columns;
//!   [`model::predict_each`] with [`model::PredictionRequest`]s that also
//!   name held columns for the host to permute by a seed (no column
//!   crosses) and the outputs wanted (a model may skip the others).
//!
//! Fitted states and models are opaque bytes to the host; [`codec`] is a
//! small binary format in which f64s round-trip exactly. [`metrics`] has
//! classifier scores (accuracy, log loss, ROC AUC) with scikit-learn's
//! conventions. [`math`] has `exp` and `ln` that give the same bits natively
//! and in Wasm, and whose loops over many values compile to Wasm SIMD.

#![deny(missing_docs)]

pub mod categories;
pub mod classes;
pub mod codec;
pub mod columns;
mod convert;
mod error;
mod host;
mod info;
pub mod math;
pub mod metrics;
mod params;
pub mod random;
mod table;
#[doc(hidden)]
pub mod testing;
mod worlds;

#[doc(hidden)]
pub mod wit;

pub use error::{ErrorKind, StepError};
pub use host::{log, model, parallel, progress, rows};
pub use info::{Attribution, Check, Explanation, Metric, PluginInfo, Trained, ValidationReport};
pub use params::{NumberRange, ParamKind, ParamSpec, ParamValue, Params};
pub use table::{Column, Table, ValueKind, Values};
pub use worlds::{
    Explainer, Held, HeldTable, Trainer, Transform, Validator, check_replacing, select_outputs,
    swap_columns,
};

/// Used by the export macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::worlds::{ExplainerExport, TrainerExport, TransformExport, ValidatorExport};
}

/// Exports a type implementing [`Validator`] as the component's `validator`
/// world. Use it once, in the plugin's crate.
///
/// Built for a non-wasm target it only checks that the type implements the
/// trait, so the plugin's crate also builds and tests natively.
#[macro_export]
macro_rules! export_validator {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceValidatorExport = $crate::__private::ValidatorExport<$ty>;
            $crate::__export_validator_impl!(
                __SluiceValidatorExport with_types_in $crate::wit::validator
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn implements<T: $crate::Validator>() {}
            let _ = implements::<$ty>;
        };
    };
}

/// Exports a type implementing [`Transform`] as the component's `transform`
/// world. Use it once, in the plugin's crate.
#[macro_export]
macro_rules! export_transform {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceTransformExport = $crate::__private::TransformExport<$ty>;
            $crate::__export_transform_impl!(
                __SluiceTransformExport with_types_in $crate::wit::transform
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn implements<T: $crate::Transform>() {}
            let _ = implements::<$ty>;
        };
    };
}

/// Exports a type implementing [`Trainer`] as the component's `trainer`
/// world, with the optional `holding` interface ([`Trainer::hold`]). Use it
/// once, in the plugin's crate.
#[macro_export]
macro_rules! export_trainer {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceTrainerExport = $crate::__private::TrainerExport<$ty>;
            $crate::__export_parallel_trainer_impl!(
                __SluiceTrainerExport with_types_in $crate::wit::trainer
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn implements<T: $crate::Trainer>() {}
            let _ = implements::<$ty>;
        };
    };
}

/// Exports a type implementing [`Explainer`] as the component's `explainer`
/// world. Use it once, in the plugin's crate.
#[macro_export]
macro_rules! export_explainer {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SluiceExplainerExport = $crate::__private::ExplainerExport<$ty>;
            $crate::__export_reading_explainer_impl!(
                __SluiceExplainerExport with_types_in $crate::wit::explainer
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn implements<T: $crate::Explainer>() {}
            let _ = implements::<$ty>;
        };
    };
}
