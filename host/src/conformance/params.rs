//! The `params.*` checks: every param given its default is accepted, an
//! unknown one is an invalid-params step error; and the params the other
//! checks pass.

use super::{Outcome, Suite};
use crate::runtime::bindings::types;

impl Suite<'_> {
    /// The params the suite passes: those given in the options, which must
    /// include every required one.
    pub(super) fn required(&self) -> Result<Vec<types::Param>, String> {
        for spec in self
            .plugin
            .info
            .params
            .iter()
            .filter(|p| p.default.is_none())
        {
            if !self.options.params.iter().any(|p| p.name == spec.name) {
                return Err(format!(
                    "param '{}' is required: give it with --param {}=VALUE",
                    spec.name, spec.name
                ));
            }
        }
        Ok(self.options.params.clone())
    }

    pub(super) async fn params(&mut self) {
        let required = match self.required() {
            Ok(r) => r,
            Err(e) => {
                self.record("params.defaults", false, e.clone());
                self.record("params.unknown", false, e);
                return;
            }
        };
        let mut with_defaults = required.clone();
        for spec in &self.plugin.info.params {
            if required.iter().any(|p| p.name == spec.name) {
                continue;
            }
            if let Some(default) = &spec.default {
                with_defaults.push(types::Param {
                    name: spec.name.clone(),
                    value: default.clone(),
                });
            }
        }
        let table = self.table();
        let outcome = self.entry("params.defaults", &table, &with_defaults).await;
        let passed = !matches!(&outcome, Outcome::Broken(_))
            && !matches!(&outcome, Outcome::StepError { kind, .. } if kind == "invalid-params");
        self.record(
            "params.defaults",
            passed,
            format!(
                "{} params at their defaults: {}",
                with_defaults.len(),
                outcome.describe()
            ),
        );
        let mut unknown = required;
        unknown.push(types::Param {
            name: "sluice_conformance_unknown".into(),
            value: types::ParamValue::Flag(true),
        });
        let outcome = self.entry("params.unknown", &table, &unknown).await;
        let passed =
            matches!(&outcome, Outcome::StepError { kind, .. } if kind == "invalid-params");
        self.record(
            "params.unknown",
            passed,
            format!(
                "param 'sluice_conformance_unknown': {} (want an invalid-params step error)",
                outcome.describe()
            ),
        );
    }

    pub(super) fn params_for_calls(&self) -> Vec<types::Param> {
        self.required().unwrap_or_default()
    }
}
