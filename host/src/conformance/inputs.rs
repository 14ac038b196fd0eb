//! The `input.*` checks: tables without columns, without rows, of nulls
//! and of every type give a result or a step error, never a trap; and
//! (transforms, trainers) wrong column types or a state the plugin did not
//! write give a step error.

use super::{Bytes, Outcome, Suite, tables};
use crate::runtime::World;
use crate::runtime::bindings::types;

impl Suite<'_> {
    pub(super) async fn inputs(&mut self) {
        let params = self.params_for_calls();
        for (name, table) in [
            ("input.empty-table", types::Table { columns: vec![] }),
            ("input.zero-rows", tables::zero_rows()),
            ("input.nulls", tables::all_null()),
            ("input.column-types", tables::every_type()),
        ] {
            let mut details = Vec::new();
            let mut passed = true;
            let first = self.entry(name, &table, &params).await;
            let (ok, d) = first.no_trap(self.plugin.world.first_call());
            passed &= ok;
            details.push(d);
            // The second call of a transform or trainer on what the first made.
            if let Outcome::Ok(_) = first
                && let Some(second) = self.second_call(name, &table, &params).await
            {
                let (ok, d) = second.no_trap(self.plugin.world.second_call());
                passed &= ok;
                details.push(d);
            }
            self.record(name, passed, details.join("; "));
        }
        if matches!(self.plugin.world, World::Transform | World::Trainer) {
            self.wrong_types(&params).await;
        }
    }

    pub(super) async fn wrong_types(&mut self, params: &[types::Param]) {
        let table = self.table();
        let Some(state) = self.fitted("input.wrong-types", &table, params).await else {
            self.record(
                "input.wrong-types",
                false,
                format!(
                    "{} on the suite's table did not succeed, so nothing to check",
                    self.plugin.world.first_call()
                ),
            );
            return;
        };
        let as_strings = tables::numbers_as_strings(&table);
        let strings = self.second("input.wrong-types", &state, &as_strings).await;
        let garbage = self
            .second(
                "input.wrong-types",
                b"\xffnot a state sluice-conformance",
                &table,
            )
            .await;
        let is_error = |o: &Outcome<Bytes>| matches!(o, Outcome::StepError { .. });
        self.record(
            "input.wrong-types",
            is_error(&strings) && is_error(&garbage),
            format!(
                "numeric columns given as strings, string ones as numbers: {}; a state not written by the plugin: {} (want step errors)",
                strings.describe(),
                garbage.describe()
            ),
        );
    }
}
