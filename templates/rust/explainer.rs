//! `{{name}}`: a sluice explainer in Rust. Scores every numeric feature by
//! its variance (normalized to sum to 1 when `normalize`). A real explainer
//! would call the model with `sluice_sdk::model::predict`. Build with
//! `sluice build .`.

use sluice_sdk::{Column, Explainer, Explanation, ParamSpec, Params, PluginInfo, StepError, Table};

pub struct Plugin;

impl Explainer for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new("{{name}}", "0.1.0", "Feature variance as importance.")
            .param(ParamSpec::flag("normalize", true, "scale the scores to sum to 1"))
    }

    fn explain(
        features: Table,
        _target: Option<Column>,
        params: Params,
    ) -> Result<Explanation, StepError> {
        let mut scores = Vec::new();
        for col in features.columns().iter().filter(|c| c.kind().is_numeric()) {
            let xs: Vec<f64> = col
                .to_f64_lossy()?
                .into_iter()
                .enumerate()
                .filter(|&(i, _)| !col.is_null(i))
                .map(|(_, x)| x)
                .collect();
            let n = xs.len().max(1) as f64;
            let mean = xs.iter().sum::<f64>() / n;
            scores.push((col.name().to_string(), xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n));
        }
        let total: f64 = scores.iter().map(|s| s.1).sum();
        let mut out = Explanation::new();
        for (name, score) in &scores {
            let normalize = params.flag("normalize")? && total > 0.0 && total.is_finite();
            out.attribution(name.clone(), if normalize { score / total } else { *score });
        }
        out.metric("features", scores.len() as f64);
        Ok(out)
    }
}

sluice_sdk::export_explainer!(Plugin);
