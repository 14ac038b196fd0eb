//! The explainer step: a model's global attributions on a table, stored
//! as JSON. Not for the other step kinds.

use super::RunCtx;
use super::error::{Failing, StepAbort};
use super::step::{StepCall, StepOutcome};
use std::collections::BTreeMap;

impl RunCtx<'_> {
    /// Explain a model on its part and store the explanation.
    pub(super) async fn explain(
        &self,
        call: &StepCall<'_>,
        made: &mut StepOutcome,
    ) -> Result<(), StepAbort> {
        let StepCall { step, .. } = call;
        let (part, ctx) = self.evaluated_part(call).await?;
        let target = step.target.clone();
        let input = std::sync::Arc::new(self.lowered_input(&part, target.as_deref()).await?);
        let explanation = self
            .call(
                step,
                &ctx,
                &mut made.log,
                // A plugin that imports `rows` reads the rows it needs; any
                // other gets the table whole.
                move |rt, p, ctx, params| async move {
                    rt.explain_rows(&p, &ctx, input, &params).await
                },
            )
            .await
            .failed()?;
        for m in &explanation.metrics {
            made.metrics.insert(m.name.clone(), m.value);
        }
        let json = serde_json::json!({
            "global": explanation.global.iter().map(|a| serde_json::json!({"feature": a.feature, "score": a.score})).collect::<Vec<_>>(),
            "metrics": explanation.metrics.iter().map(|m| (m.name.clone(), m.value)).collect::<BTreeMap<_, _>>(),
        });
        let d = self.put_json(&step.id, &json).await?;
        made.outputs.push(("explanation".into(), d));
        Ok(())
    }
}
