//! Calling the plugin the way a pipeline does: the world's first entry
//! point, then (with what it fitted or trained) the second.

use super::{Bytes, Outcome, Suite, tables};
use crate::runtime::World;
use crate::runtime::bindings::types;

impl Suite<'_> {
    /// Call the world's first entry point: validate, fit, train or explain.
    pub(super) async fn entry(
        &self,
        check: &str,
        table: &types::Table,
        params: &[types::Param],
    ) -> Outcome<Bytes> {
        let ctx = self.ctx(check);
        let (features, target) = tables::take_label(table);
        let rt = self.runtime;
        let p = self.plugin;
        match p.world {
            World::Validator => Outcome::of(rt.validate(p, &ctx, table, Some(table), params).await)
                .map(|v| format!("{v:?}")),
            World::Transform => {
                Outcome::of(rt.fit(p, &ctx, table, params).await).map(|v| format!("{v:?}"))
            }
            World::Trainer => match &target {
                Some(target) => Outcome::of(rt.train(p, &ctx, &features, target, params).await)
                    .map(|v| format!("{v:?}")),
                None => Outcome::of(
                    rt.train(p, &ctx, table, &tables::empty_target(), params)
                        .await,
                )
                .map(|v| format!("{v:?}")),
            },
            World::Explainer => Outcome::of(
                rt.explain(p, &ctx, &features, target.as_ref(), params)
                    .await,
            )
            .map(|v| format!("{v:?}")),
        }
    }

    /// Fit or train on `table`, then apply or predict on it.
    pub(super) async fn second_call(
        &self,
        check: &str,
        table: &types::Table,
        params: &[types::Param],
    ) -> Option<Outcome<Bytes>> {
        let state = self.fitted(check, table, params).await?;
        Some(self.second(check, &state, table).await)
    }

    pub(super) async fn fitted(
        &self,
        check: &str,
        table: &types::Table,
        params: &[types::Param],
    ) -> Option<Vec<u8>> {
        let ctx = self.ctx(check);
        let (features, target) = tables::take_label(table);
        match self.plugin.world {
            World::Transform => self
                .runtime
                .fit(self.plugin, &ctx, table, params)
                .await
                .ok()
                .map(|o| o.value),
            World::Trainer => self
                .runtime
                .train(
                    self.plugin,
                    &ctx,
                    &features,
                    &target.unwrap_or_else(tables::empty_target),
                    params,
                )
                .await
                .ok()
                .map(|o| o.value.model),
            _ => None,
        }
    }

    pub(super) async fn second(
        &self,
        check: &str,
        state: &[u8],
        table: &types::Table,
    ) -> Outcome<Bytes> {
        let ctx = self.ctx(check);
        let (features, _) = tables::take_label(table);
        match self.plugin.world {
            World::Transform => {
                Outcome::of(self.runtime.apply(self.plugin, &ctx, state, table).await)
                    .map(|v| format!("{v:?}"))
            }
            _ => Outcome::of(
                self.runtime
                    .predict(self.plugin, &ctx, state, &features)
                    .await,
            )
            .map(|v| format!("{v:?}")),
        }
    }

    /// The rows of the table the second call returns.
    pub(super) async fn second_rows(&self, state: &[u8], table: &types::Table) -> Option<usize> {
        let ctx = self.ctx("round-trip");
        let (features, _) = tables::take_label(table);
        let out = match self.plugin.world {
            World::Transform => {
                self.runtime
                    .apply(self.plugin, &ctx, state, table)
                    .await
                    .ok()?
                    .value
            }
            _ => {
                self.runtime
                    .predict(self.plugin, &ctx, state, &features)
                    .await
                    .ok()?
                    .value
            }
        };
        Some(tables::num_rows(&out))
    }
}
