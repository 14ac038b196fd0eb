//! The validator step: checks on a table (against a reference, with a
//! model when it names one), their report stored, the input passed on.
//! Not for the other step kinds.

use super::error::{Failing, StepAbort};
use super::step::{StepCall, StepOutcome};
use super::{Parts, RunCtx, lock};
use crate::data;
use std::collections::BTreeMap;

impl RunCtx<'_> {
    /// Run a validator's checks on its part (the whole table, target
    /// included); a failed check fails the step.
    pub(super) async fn validate(
        &self,
        call: &StepCall<'_>,
        made: &mut StepOutcome,
    ) -> Result<(), StepAbort> {
        let StepCall {
            step,
            reference,
            input,
            ..
        } = call;
        let (part, ctx) = self.evaluated_part(call).await?;
        // A validator gets the whole table, the target too.
        // Lowered from the batches' own buffers (see `LoweredInput`).
        let batch = self.batch(&part).await?;
        let columns = data::batch_to_plugin_columns(&batch).failed()?;
        let reference = match reference {
            Some(r) => {
                let b = self.batch(&r.train).await?;
                Some(data::batch_to_plugin_columns(&b).failed()?)
            }
            None => None,
        };
        let report = self
            .call(
                step,
                &ctx,
                &mut made.log,
                move |rt, p, ctx, params| async move {
                    let table = data::plugin_table(&columns);
                    let reference = reference.as_deref().map(data::plugin_table);
                    rt.validate_view(&p, &ctx, &table, reference.as_ref(), &params)
                        .await
                },
            )
            .await
            .failed()?;
        for m in &report.metrics {
            made.metrics.insert(m.name.clone(), m.value);
        }
        let json = serde_json::json!({
            "checks": report.checks.iter().map(|c| serde_json::json!({"name": c.name, "passed": c.passed, "detail": c.detail})).collect::<Vec<_>>(),
            "metrics": report.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
        });
        let d = self.put_json(&step.id, &json).await?;
        made.outputs.push(("report".into(), d));
        // A validator passes its input on unchanged.
        lock(&self.state.tables).insert(step.id.clone(), Parts::clone(input));
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{} ({})", c.name, c.detail))
            .collect();
        if !failed.is_empty() {
            return Err(StepAbort::Failed(format!(
                "step '{}': {} check(s) failed: {}",
                step.id,
                failed.len(),
                failed.join("; ")
            )));
        }
        Ok(())
    }
}
