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

mod calls;
mod describe;
mod holding;
mod inputs;
mod params;
mod round_trip;
mod tables;

pub use describe::describe_problems;
pub use tables::TARGET;

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
    /// The check's name (`describe`, `params.defaults`, ...).
    pub name: String,
    /// Whether the plugin passed it.
    pub passed: bool,
    /// What was found, and why it fails if it does.
    pub detail: String,
}

/// The verdicts of the suite on one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// The plugin, as `name@version`.
    pub plugin: String,
    /// The world it implements.
    pub world: World,
    /// Each check's verdict, in the order they ran.
    pub checks: Vec<CheckResult>,
}

impl SuiteReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
    /// The checks that failed.
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
    /// The user's table (`sluice plugin test --input`), used in place of
    /// the suite's generated numeric table by the checks that call the
    /// plugin with a table: `params.defaults`, `params.unknown`,
    /// `input.wrong-types`, `round-trip`, `deterministic`, `holding`. Its
    /// column `label`, when it has one, is a trainer's target. The
    /// `input.*` edge-case tables and the model import's training table
    /// stay generated.
    pub table: Option<types::Table>,
}

/// The names of the checks that run on [`SuiteOptions::table`] when given.
pub const CHECKS_ON_THE_INPUT: [&str; 6] = [
    "params.defaults",
    "params.unknown",
    "input.wrong-types",
    "round-trip",
    "deterministic",
    "holding",
];

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

    /// The table the checks call the plugin with: the user's, else the
    /// generated numeric one.
    fn table(&self) -> types::Table {
        self.options.table.clone().unwrap_or_else(tables::numeric)
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
                    spare_sessions: None,
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
