//! The transform step: fit on the train part, apply the fitted state to
//! every part, and store the state and the applied parts. Not for the
//! other step kinds (see [`step`](super::step)).

use super::error::{Failing, StepAbort};
use super::step::{StepCall, StepOutcome};
use super::{LoweredInput, Parts, PluginInput, RunCtx, encode, lock};
use crate::data;
use crate::pipeline::plan::PlannedStep;
use crate::runtime::StepContext;
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

impl RunCtx<'_> {
    /// Fit on the train part, apply to every part, store the state and the
    /// applied parts (after every call has succeeded).
    pub(super) async fn transform(
        &self,
        call: &StepCall<'_>,
        made: &mut StepOutcome,
    ) -> Result<(), StepAbort> {
        let StepCall {
            step, ctx, input, ..
        } = call;
        let target = step.target.clone();
        // fit and apply read the same features: shared, not copied.
        let train = Arc::new(self.lowered_input(&input.train, target.as_deref()).await?);
        let fitted = {
            let train = train.clone();
            self.call(
                step,
                ctx,
                &mut made.log,
                move |rt, p, ctx, params| async move {
                    rt.fit_view(&p, &ctx, &train.features(), &params).await
                },
            )
        }
        .await
        .failed()?;
        // Every call first, then the writes: a step that fails in
        // apply leaves no output behind, not even its fitted state.
        let fitted_state = Arc::new(fitted);
        let (applied, train_as_input) = self
            .apply_part(step, ctx, &mut made.log, fitted_state.clone(), train)
            .await?;
        // Encoded on another core while the holdout is applied
        // (nothing is stored before every call has succeeded).
        let train_encoded = encode(applied);
        let applied_holdout = match &input.holdout {
            Some(h) => {
                let holdout = Arc::new(self.lowered_input(h, target.as_deref()).await?);
                Some(
                    self.apply_part(step, ctx, &mut made.log, fitted_state.clone(), holdout)
                        .await?,
                )
            }
            None => None,
        };
        // Encoded beside the train part, on the core that would
        // otherwise wait for it.
        let (holdout_encoded, holdout_as_input) = match applied_holdout {
            Some((batch, as_input)) => (Some(encode(batch)), Some(as_input)),
            None => (None, None),
        };
        let state_digest = self
            .put_blob(&step.id, fitted_state.to_vec(), "application/octet-stream")
            .await?;
        made.outputs.push(("state".into(), state_digest));
        let train_out = self.put_encoded(&step.id, train_encoded.await).await?;
        made.outputs.push(("train".into(), train_out.clone()));
        let mut as_inputs = vec![(train_out.clone(), train_as_input)];
        let mut holdout_out = None;
        if let (Some(encoded), Some(as_input)) = (holdout_encoded, holdout_as_input) {
            let d = self.put_encoded(&step.id, encoded.await).await?;
            made.outputs.push(("holdout".into(), d.clone()));
            as_inputs.push((d.clone(), as_input));
            holdout_out = Some(d);
        }
        lock(&self.state.plugin_inputs).extend(
            as_inputs
                .into_iter()
                .map(|(digest, as_input)| ((digest, target.clone()), as_input)),
        );
        lock(&self.state.tables).insert(
            step.id.clone(),
            Parts {
                train: train_out,
                holdout: holdout_out,
            },
        );
        Ok(())
    }

    /// Apply the fitted state to the features of `input`; the batch of the
    /// result with the input's label put back after it, and the result as
    /// the next step gets it (normalized, see [`data::normalize`]), whose
    /// values the batch shares.
    pub(super) async fn apply_part(
        &self,
        step: &PlannedStep,
        ctx: &StepContext,
        log: &mut String,
        fitted: Arc<Vec<u8>>,
        input: Arc<LoweredInput>,
    ) -> Result<(RecordBatch, PluginInput), StepAbort> {
        let label = input.label_column();
        let mut table = self
            .call(step, ctx, log, move |rt, p, ctx, _| async move {
                rt.apply_view(&p, &ctx, &fitted, &input.features()).await
            })
            .await
            .failed()?;
        if let Some(label) = &label
            && table.columns.iter().any(|c| c.name == label.name)
        {
            return Err(StepAbort::Failed(format!(
                "step '{}': apply returned a column named like the target '{}'",
                step.id, label.name
            )));
        }
        data::normalize(&mut table);
        let table = Arc::new(table);
        let batch = data::shared_batch(&table, label.as_ref())
            .map_err(|e| format!("step '{}': apply returned an invalid table: {e}", step.id))
            .failed()?;
        Ok((batch, (table, label)))
    }
}
