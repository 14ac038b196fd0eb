//! The trainer step: its hyperparameter search (see
//! [`trials`](super::trials)), the model trained and stored, and its
//! predictions for the holdout part. Not for the other step kinds.

use super::error::{Failing, StepAbort};
use super::step::{StepCall, StepOutcome};
use super::{RunCtx, lock};
use crate::data;
use std::sync::Arc;

impl RunCtx<'_> {
    /// Train a model on the train part (after its search, if it has one),
    /// store it, and its predictions for the holdout part.
    pub(super) async fn train(
        &self,
        call: &StepCall<'_>,
        made: &mut StepOutcome,
    ) -> Result<(), StepAbort> {
        let StepCall {
            step,
            ctx,
            input,
            observer,
            ..
        } = call;
        let target = step.target.clone();
        let mut params = step.params.clone();
        let mut _permit = None;
        if let Some(search) = &step.search {
            let train_batch = self.batch(&input.train).await?;
            let found = self
                .run_search(step, search, ctx, &train_batch, &mut made.log, *observer)
                .await?;
            params = search.trials[found.best].params.clone();
            made.metrics.extend(found.metrics(search));
            let d = self.put_json(&step.id, &found.report(search)).await?;
            made.outputs.push(("search".into(), d));
            // The final fit takes a slot like any step.
            _permit = Some(
                self.scheduler
                    .acquire(&self.tenant.name, self.tenant.caps.concurrency)
                    .await,
            );
        }
        let train = Arc::new(self.lowered_input(&input.train, target.as_deref()).await?);
        train
            .label()
            .ok_or("the input has no target column")
            .failed()?;
        let trained = self
            .call_with(
                step,
                ctx,
                params,
                &mut made.log,
                move |rt, p, ctx, params| async move {
                    // A plugin that imports `rows` reads the table a block
                    // at a time; any other gets it whole.
                    rt.train_rows(&p, &ctx, train, &params).await
                },
            )
            .await
            .failed()?;
        for m in &trained.metrics {
            made.metrics.insert(m.name.clone(), m.value);
        }
        let model_bytes = Arc::new(trained.model);
        let d = self
            .put_blob(
                &step.id,
                model_bytes.to_vec(),
                "application/vnd.sluice.model",
            )
            .await?;
        made.outputs.push(("model".into(), d.clone()));
        lock(&self.state.models).insert(step.id.clone(), d);
        if let Some(h) = &input.holdout {
            // Predictions for the holdout, kept so serving can be
            // checked against training bit for bit.
            let holdout = self.lowered_input(h, target.as_deref()).await?;
            let predicted = {
                let m = model_bytes.clone();
                self.call(step, ctx, &mut made.log, move |rt, p, ctx, _| async move {
                    rt.predict_view(&p, &ctx, &m, &holdout.features()).await
                })
            }
            .await
            .failed()?;
            let batch = data::table_to_batch(predicted)
                .map_err(|e| format!("predict returned an invalid table: {e}"))
                .failed()?;
            let d = self.put_batch(&step.id, batch).await?;
            made.outputs.push(("predictions".into(), d));
        }
        Ok(())
    }
}
