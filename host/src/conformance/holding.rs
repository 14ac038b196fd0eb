//! The `holding` check of trainers (see the module doc of the suite):
//! `hold` then `predict-replacing` answer as `predict` on the replaced
//! table. Not where the other checks are.

use super::{Suite, tables};

impl Suite<'_> {
    /// See the module doc (`holding`).
    pub(super) async fn holding(&mut self, model: &[u8]) {
        if !self.plugin.exports_holding() {
            self.record(
                "holding",
                true,
                "no holding export: the host holds an explainer's table and calls predict",
            );
            return;
        }
        let (features, _) = tables::take_label(&self.table());
        let ctx = self.ctx("holding");
        let last = features.columns.len().saturating_sub(1);
        let mut problems = Vec::new();
        for j in if last == 0 { vec![0] } else { vec![0, last] } {
            let Some(column) = features.columns.get(j).map(tables::reversed) else {
                break;
            };
            let mut replaced = features.clone();
            replaced.columns[j] = column.clone();
            let want = self
                .runtime
                .predict(self.plugin, &ctx, model, &replaced)
                .await
                .map(|o| format!("{:?}", o.value))
                .map_err(|f| f.to_string());
            let got = self
                .runtime
                .predict_replacing(self.plugin, &ctx, model, features.clone(), vec![column])
                .await
                .map(|t| format!("{t:?}"));
            match (&got, &want) {
                (Ok(a), Ok(b)) if a == b => {}
                (Err(_), Err(_)) => {}
                _ => {
                    let says = |r: &Result<String, String>| match r {
                        Ok(_) => "a table".to_string(),
                        Err(e) => format!("an error ({e})"),
                    };
                    let what = if got.is_ok() && want.is_ok() {
                        "a different table than predict".to_string()
                    } else {
                        format!("{}, predict {}", says(&got), says(&want))
                    };
                    problems.push(format!(
                        "feature '{}' reversed: predict-replacing gave {what}",
                        features.columns[j].name
                    ));
                }
            }
        }
        let passed = problems.is_empty();
        self.record(
            "holding",
            passed,
            if passed {
                "predict-replacing answers as predict on the replaced table".to_string()
            } else {
                problems.join("; ")
            },
        );
    }
}
