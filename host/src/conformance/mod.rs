//! The conformance suite every plugin must pass, whatever its language
//! (`sluice plugin test FILE.wasm`).
//!
//! Each check calls the plugin through the runtime, in the sandbox, the way
//! a pipeline would, and passes or fails with a detail that says why:
//!
//! - `describe`: describe() is valid (name, version, unique params of known
//!   kinds, defaults of the declared kind), matches the world the component
//!   implements, and says the same thing twice.
//! - `params.defaults`: every param given its default is accepted.
//! - `params.unknown`: an unknown param is an invalid-params step error.
//! - `input.empty-table`, `input.zero-rows`, `input.nulls`,
//!   `input.column-types`: a table without columns, one without rows, one
//!   whose every value is null, and one with a column of every type (f64,
//!   i64, bool, string) give a result or a step error, never a trap.
//! - `input.wrong-types` (transforms, trainers): the columns a state or
//!   model was fitted on, handed back as strings, and a state or model that
//!   is not one the plugin wrote, give a step error.
//! - `deterministic`: the same input twice gives the same output bytes.
//! - `round-trip`: fit then apply, or train then predict, gives a table
//!   with one row per input row.
//! - `holding` (trainers): with the optional `holding` export, `hold` then
//!   `predict-replacing` with the first or the last feature reversed gives
//!   what `predict` gives on the table with that feature reversed (the same
//!   table, or an error from both). Without it the check passes and says
//!   so: the host holds an explainer's table for such a trainer.
//!
//! Validators and explainers that use the `model` import are run against
//! the trainer given in [`SuiteOptions::model`], trained on the suite's
//! table; without one, their model calls return a step error.

mod describe;
mod holding;
mod tables;

pub use describe::describe_problems;

use crate::runtime::bindings::types;
use crate::runtime::{
    ModelBinding, Plugin, Runtime, StepContext, StepFailure, StepFailureKind, StepLimits,
    StepOutput, World,
};
use serde::Serialize;
use std::sync::Arc;

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// The verdicts of the suite on one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    pub plugin: String,
    pub world: World,
    pub checks: Vec<CheckResult>,
}

impl SuiteReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// What the suite needs besides the plugin.
#[derive(Clone, Default)]
pub struct SuiteOptions {
    /// A trainer whose model validators and explainers call.
    pub model: Option<Arc<Plugin>>,
    /// Params for every call: values for the required ones (a param
    /// without a default), and any others to test with.
    pub params: Vec<types::Param>,
}

/// How one call ended, as the suite sees it.
enum Outcome<T> {
    Ok(T),
    StepError {
        kind: String,
        message: String,
    },
    /// A trap, a limit or invalid output: never acceptable.
    Broken(String),
}

impl<T> Outcome<T> {
    fn of(r: Result<StepOutput<T>, StepFailure>) -> Self {
        match r {
            Ok(out) => Outcome::Ok(out.value),
            Err(f) => match &f.kind {
                StepFailureKind::Guest { kind, message } => Outcome::StepError {
                    kind: kind.clone(),
                    message: message.clone(),
                },
                _ => Outcome::Broken(f.to_string()),
            },
        }
    }

    /// Pass unless the call trapped or broke a limit.
    fn no_trap(&self, what: &str) -> (bool, String) {
        match self {
            Outcome::Ok(_) => (true, format!("{what}: a result")),
            Outcome::StepError { kind, message } => {
                (true, format!("{what}: step error ({kind}): {message}"))
            }
            Outcome::Broken(e) => (false, format!("{what}: {e}")),
        }
    }

    fn describe(&self) -> String {
        match self {
            Outcome::Ok(_) => "a result".into(),
            Outcome::StepError { kind, message } => format!("step error ({kind}): {message}"),
            Outcome::Broken(e) => e.clone(),
        }
    }
}

/// The outputs of one call of the world's main entry point, as bytes to
/// compare (the Debug form of the WIT values: every f64 prints exactly).
type Bytes = String;

/// A fitted state or model, and what the second call made of it.
type FitAndUse = (Option<Vec<u8>>, Option<Outcome<Bytes>>);

struct Suite<'a> {
    runtime: &'a Runtime,
    plugin: &'a Plugin,
    options: &'a SuiteOptions,
    model: Option<ModelBinding>,
    checks: Vec<CheckResult>,
}

/// Run the whole suite on a loaded plugin.
pub async fn run_suite(runtime: &Runtime, plugin: &Plugin, options: &SuiteOptions) -> SuiteReport {
    let mut suite = Suite {
        runtime,
        plugin,
        options,
        model: None,
        checks: Vec::new(),
    };
    suite.bind_model().await;
    suite.describe().await;
    suite.params().await;
    suite.inputs().await;
    match plugin.world {
        World::Transform => suite.transform_round_trip().await,
        World::Trainer => suite.trainer_round_trip().await,
        World::Validator | World::Explainer => suite.deterministic_entry().await,
    }
    SuiteReport {
        plugin: plugin.label(),
        world: plugin.world,
        checks: suite.checks,
    }
}

impl Suite<'_> {
    fn record(&mut self, name: &str, passed: bool, detail: impl Into<String>) {
        self.checks.push(CheckResult {
            name: name.to_string(),
            passed,
            detail: detail.into(),
        });
    }

    fn ctx(&self, check: &str) -> StepContext {
        let mut ctx = StepContext::new(format!("conformance:{check}"), StepLimits::default(), 1);
        ctx.model = self.model.clone();
        ctx
    }

    /// Train the given trainer on the suite's table for the model import.
    async fn bind_model(&mut self) {
        let Some(trainer) = &self.options.model else {
            return;
        };
        let (features, target) = tables::features_and_target();
        let ctx = StepContext::new("conformance:model", StepLimits::default(), 1);
        match self
            .runtime
            .train(trainer, &ctx, &features, &target, &[])
            .await
        {
            Ok(out) => {
                self.model = Some(ModelBinding {
                    trainer: trainer.clone(),
                    model: Arc::new(out.value.model),
                    limits: StepLimits::default(),
                    helpers: None,
                })
            }
            Err(e) => self.record(
                "model",
                false,
                format!(
                    "the trainer given for the model import cannot train on the suite's table: {e}"
                ),
            ),
        }
    }

    async fn describe(&mut self) {
        let mut problems = describe_problems(&self.plugin.info, self.plugin.world);
        let again = self
            .runtime
            .describe(self.plugin, &self.ctx("describe"))
            .await;
        match again.map(|o| o.value) {
            Ok(info) if format!("{info:?}") != format!("{:?}", self.plugin.info) => {
                problems.push("a second describe() says something else".into())
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("describe() failed: {e}")),
        }
        let detail = if problems.is_empty() {
            format!(
                "{} {}, {} params",
                self.plugin.world,
                self.plugin.label(),
                self.plugin.info.params.len()
            )
        } else {
            problems.join("; ")
        };
        self.record("describe", problems.is_empty(), detail);
    }

    /// The params the suite passes: those given in the options, which must
    /// include every required one.
    fn required(&self) -> Result<Vec<types::Param>, String> {
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

    async fn params(&mut self) {
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
        let table = tables::numeric();
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

    fn params_for_calls(&self) -> Vec<types::Param> {
        self.required().unwrap_or_default()
    }

    /// Call the world's first entry point: validate, fit, train or explain.
    async fn entry(
        &self,
        check: &str,
        table: &types::Table,
        params: &[types::Param],
    ) -> Outcome<Bytes> {
        let ctx = self.ctx(check);
        let (features, target) = tables::split_target(table);
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

    async fn inputs(&mut self) {
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

    /// Fit or train on `table`, then apply or predict on it.
    async fn second_call(
        &self,
        check: &str,
        table: &types::Table,
        params: &[types::Param],
    ) -> Option<Outcome<Bytes>> {
        let state = self.fitted(check, table, params).await?;
        Some(self.second(check, &state, table).await)
    }

    async fn fitted(
        &self,
        check: &str,
        table: &types::Table,
        params: &[types::Param],
    ) -> Option<Vec<u8>> {
        let ctx = self.ctx(check);
        let (features, target) = tables::split_target(table);
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

    async fn second(&self, check: &str, state: &[u8], table: &types::Table) -> Outcome<Bytes> {
        let ctx = self.ctx(check);
        let (features, _) = tables::split_target(table);
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

    async fn wrong_types(&mut self, params: &[types::Param]) {
        let table = tables::numeric();
        let Some(state) = self.fitted("input.wrong-types", &table, params).await else {
            self.record(
                "input.wrong-types",
                false,
                format!(
                    "{} on the suite's numeric table did not succeed, so nothing to check",
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
                "numeric columns given as strings: {}; a state not written by the plugin: {} (want step errors)",
                strings.describe(),
                garbage.describe()
            ),
        );
    }

    async fn transform_round_trip(&mut self) {
        self.fit_then_second("fit", "apply").await;
    }

    async fn trainer_round_trip(&mut self) {
        self.fit_then_second("train", "predict").await;
    }

    async fn fit_then_second(&mut self, first: &str, second: &str) {
        let params = self.params_for_calls();
        let table = tables::numeric();
        let mut runs: Vec<FitAndUse> = Vec::with_capacity(2);
        for _ in 0..2 {
            let state = self.fitted("deterministic", &table, &params).await;
            let out = match &state {
                Some(s) => Some(self.second("deterministic", s, &table).await),
                None => None,
            };
            runs.push((state, out));
        }
        let (state, out) = &runs[0];
        let (Some(state), Some(out)) = (state, out) else {
            self.record(
                "round-trip",
                false,
                format!("{first} on the suite's numeric table failed"),
            );
            self.record("deterministic", false, format!("{first} failed"));
            return;
        };
        match out {
            Outcome::Ok(_) => {
                let want = tables::num_rows(&table);
                let rows = self.second_rows(state, &table).await;
                self.record(
                    "round-trip",
                    rows == Some(want),
                    format!(
                        "{first} then {second}: {} rows out for {want} rows in",
                        rows.map_or("no".to_string(), |r| r.to_string())
                    ),
                );
            }
            other => self.record(
                "round-trip",
                false,
                format!("{second}: {}", other.describe()),
            ),
        }
        if self.plugin.world == World::Trainer {
            self.holding(state).await;
        }
        let same_state = runs[1].0.as_ref() == Some(state);
        let same_out = matches!((&runs[0].1, &runs[1].1), (Some(Outcome::Ok(a)), Some(Outcome::Ok(b))) if a == b);
        self.record(
            "deterministic",
            same_state && same_out,
            format!(
                "{first} twice: {} bytes, {}; {second} twice: {}",
                state.len(),
                if same_state { "identical" } else { "different" },
                if same_out { "identical" } else { "different" }
            ),
        );
    }

    /// The rows of the table the second call returns.
    async fn second_rows(&self, state: &[u8], table: &types::Table) -> Option<usize> {
        let ctx = self.ctx("round-trip");
        let (features, _) = tables::split_target(table);
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

    async fn deterministic_entry(&mut self) {
        let params = self.params_for_calls();
        let table = tables::numeric();
        let a = self.entry("deterministic", &table, &params).await;
        let b = self.entry("deterministic", &table, &params).await;
        let what = self.plugin.world.first_call();
        match (&a, &b) {
            (Outcome::Broken(e), _) | (_, Outcome::Broken(e)) => {
                self.record("deterministic", false, format!("{what}: {e}"))
            }
            _ => {
                let same = match (&a, &b) {
                    (Outcome::Ok(x), Outcome::Ok(y)) => x == y,
                    (
                        Outcome::StepError { message: x, .. },
                        Outcome::StepError { message: y, .. },
                    ) => x == y,
                    _ => false,
                };
                self.record(
                    "deterministic",
                    same,
                    format!(
                        "{what} twice: {} ({})",
                        if same { "identical" } else { "different" },
                        a.describe()
                    ),
                )
            }
        }
    }
}

impl<T> Outcome<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Ok(v) => Outcome::Ok(f(v)),
            Outcome::StepError { kind, message } => Outcome::StepError { kind, message },
            Outcome::Broken(e) => Outcome::Broken(e),
        }
    }
}

impl World {
    fn first_call(self) -> &'static str {
        match self {
            World::Validator => "validate",
            World::Transform => "fit",
            World::Trainer => "train",
            World::Explainer => "explain",
        }
    }
    fn second_call(self) -> &'static str {
        match self {
            World::Transform => "apply",
            _ => "predict",
        }
    }
}
