//! A trainer whose `hold` breaks the contract: its `predict-replacing`
//! ignores the new columns and answers for the held table as it is. The
//! conformance suite's `holding` check must fail it.
//!
//! Its model is a constant; `predict` returns the first feature as
//! `prediction`, so reversing that feature changes the answer.

use sluice_sdk::{Column, Held, PluginInfo, StepError, Table, Trained, Trainer, Values};

pub struct HostileTrainer;

const MODEL: &[u8] = b"STALE";

fn first_feature(features: &Table) -> Result<Table, StepError> {
    let Some(first) = features.columns.first() else {
        return Ok(Table::new());
    };
    let values = match &first.values {
        Values::F64(v) => v.clone(),
        _ => first.to_f64_lossy()?,
    };
    Ok(Table::new().with(Column::f64("prediction", values)))
}

/// Keeps the table and never looks at what replaces its columns.
struct Stale(Table);

impl Held for Stale {
    fn predict_replacing(&mut self, _columns: Vec<Column>) -> Result<Table, StepError> {
        first_feature(&self.0)
    }
}

impl Trainer for HostileTrainer {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "hostile-trainer",
            "0.1.0",
            "Predicts its first feature; ignores predict-replacing's columns (tests only).",
        )
    }

    fn train(
        _features: Table,
        _target: Column,
        _params: sluice_sdk::Params,
    ) -> Result<Trained, StepError> {
        Ok(Trained::new(MODEL.to_vec()))
    }

    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
        if model != MODEL {
            return Err(StepError::invalid_input("not a hostile-trainer model"));
        }
        first_feature(features)
    }

    fn hold(_model: Vec<u8>, features: Table) -> Result<Box<dyn Held>, StepError> {
        Ok(Box::new(Stale(features)))
    }
}

sluice_sdk::export_trainer!(HostileTrainer);
