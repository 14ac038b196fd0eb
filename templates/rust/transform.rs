//! `{{name}}`: a sluice transform in Rust. `fit` learns the mean of every
//! numeric column; `apply` returns (x - mean) * scale for those columns and
//! passes the others through. Build with `sluice build .`.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub struct Plugin;

const TAG: [u8; 4] = *b"CNTR";

fn mean(col: &Column) -> Result<f64, StepError> {
    let xs: Vec<f64> = col
        .to_f64_lossy()?
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| !col.is_null(i))
        .map(|(_, x)| x)
        .collect();
    Ok(if xs.is_empty() { 0.0 } else { xs.iter().sum::<f64>() / xs.len() as f64 })
}

impl Transform for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new("{{name}}", "0.1.0", "Centers numeric columns on their mean.")
            .param(ParamSpec::number("scale", 1.0, "factor applied after centering"))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let numeric: Vec<&Column> = data.columns().iter().filter(|c| c.kind().is_numeric()).collect();
        let mut w = ByteWriter::new(TAG, 1);
        w.f64(params.number("scale")?);
        w.len(numeric.len());
        for col in numeric {
            w.str(col.name());
            w.f64(mean(col)?);
        }
        Ok(w.finish())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        let mut r = ByteReader::new(&state, TAG, 1)?;
        let scale = r.f64()?;
        let n = r.u64()?;
        let mut means = Vec::new();
        for _ in 0..n {
            means.push((r.str()?, r.f64()?));
        }
        r.finish()?;
        let mut out = Table::new();
        for col in data.into_columns() {
            match means.iter().find(|(name, _)| name == col.name()) {
                Some((_, m)) => {
                    let xs = col.to_f64_lossy()?.into_iter().map(|x| (x - m) * scale).collect();
                    let mut centered = Column::f64(col.name(), xs);
                    if let Some(valid) = col.valid() {
                        centered = centered.with_valid(valid.to_vec());
                    }
                    out.push(centered);
                }
                None => out.push(col),
            }
        }
        Ok(out)
    }
}

sluice_sdk::export_transform!(Plugin);
