//! `{{name}}`: a sluice trainer in Rust, the mean baseline. `train` learns
//! the mean of a numeric target; `predict` returns it (plus `offset`) for
//! every row as `prediction`. Build with `sluice build .`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Trained, Trainer};

pub struct Plugin;

const TAG: [u8; 4] = *b"MEAN";

fn check_features(features: &Table, names: &[String]) -> Result<(), StepError> {
    for name in names {
        features.column(name)?.to_f64_lossy()?;
    }
    Ok(())
}

impl Trainer for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new("{{name}}", "0.1.0", "Predicts the mean of the target.")
            .param(ParamSpec::number("offset", 0.0, "added to every prediction"))
    }

    fn train(features: Table, target: Column, params: Params) -> Result<Trained, StepError> {
        let names: Vec<String> = features.names().iter().map(|s| s.to_string()).collect();
        check_features(&features, &names)?;
        let ys: Vec<f64> = target
            .to_f64_lossy()?
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| !target.is_null(i))
            .map(|(_, y)| y)
            .collect();
        if ys.is_empty() {
            return Err(StepError::invalid_input(format!(
                "target '{}' has no values",
                target.name()
            )));
        }
        let mean = ys.iter().sum::<f64>() / ys.len() as f64 + params.number("offset")?;
        let mut w = ByteWriter::new(TAG, 1);
        w.strs(&names);
        w.f64(mean);
        Ok(Trained::new(w.finish()).with_metric("mean", mean))
    }

    fn predict(model: &[u8], features: &Table) -> Result<Table, StepError> {
        let mut r = ByteReader::new(model, TAG, 1)?;
        let names = r.strs()?;
        let mean = r.f64()?;
        r.finish()?;
        check_features(features, &names)?;
        Ok(Table::new().with(Column::f64("prediction", vec![mean; features.num_rows()])))
    }
}

sluice_sdk::export_trainer!(Plugin);
