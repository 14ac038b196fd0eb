//! A trainer whose `hold` breaks the contract: its `predict-replacing`
//! ignores the new columns and answers for the held table as it is. The
//! conformance suite's `holding` check must fail it.
//!
//! Its model is a constant; `predict` returns the first feature as
//! `prediction`, so reversing that feature changes the answer. For the
//! serving tests, a first feature of exactly [`TRAP`] makes `predict`
//! trap (a panic) and [`SPIN`] makes it spin until its time limit stops
//! it: values no other test or conformance check sends.

use sluice_sdk::{Column, Held, PluginInfo, StepError, Table, Trained, Trainer, Values};

pub struct HostileTrainer;

const MODEL: &[u8] = b"STALE";

/// A first feature that makes `predict` trap.
pub const TRAP: f64 = -1_234_567.25;
/// A first feature that makes `predict` spin without end.
pub const SPIN: f64 = -7_654_321.75;

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
        let answer = first_feature(features)?;
        if let Some(Values::F64(v)) = answer.columns.first().map(|c| &c.values) {
            if v.contains(&TRAP) {
                panic!("hostile-trainer: asked to trap");
            }
            if v.contains(&SPIN) {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
        }
        Ok(answer)
    }

    fn hold(_model: Vec<u8>, features: Table) -> Result<Box<dyn Held>, StepError> {
        Ok(Box::new(Stale(features)))
    }
}

sluice_sdk::export_trainer!(HostileTrainer);
