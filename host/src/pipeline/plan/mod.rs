//! Resolve a parsed pipeline into a plan: every name resolved, every plugin
//! loaded and described, every param checked against the plugin's own
//! schema, the steps in an order that respects their inputs. All problems
//! are collected and reported together, each naming the file and the step.

use super::definition::{Part, PipelineFile, SplitDef};
use super::seed::step_seed;

mod checks;
mod dataset;
mod gates;
mod overrides;
mod recorded;

use crate::runtime::{CompileLimits, Plugin, Runtime, StepLimits, World};
use crate::wit;
pub use checks::check_step_id;
use checks::{check_limits, check_step_shape, convert_params, step_grants, topological_order};
use dataset::plan_dataset;
pub use overrides::{Override, parse_override};
pub use recorded::{RecordedPlanError, plan_file, recorded_plan};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a pipeline could not be planned: its file could not be read, is not
/// valid TOML of the pipeline format, or breaks a rule (every problem found is
/// listed, and nothing ran).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    // Not `source`: the message already says it, and `{:#}` would say it twice.
    /// The pipeline file could not be read.
    #[error("cannot read pipeline {path}: {error}")]
    Read {
        /// The pipeline file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The text is not TOML of the pipeline format.
    #[error("{path}: {message}")]
    Parse {
        /// The pipeline file.
        path: PathBuf,
        /// What the parser said, with the line.
        message: String,
    },
    /// The pipeline breaks rules of the format or of its plugins.
    #[error("{path}: {} problem(s), nothing was run:\n{}", issues.len(), issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The pipeline file.
        path: PathBuf,
        /// Every problem found, each naming the step and field.
        issues: Vec<String>,
    },
}

/// Where a step reads its table from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A dataset of the pipeline, by name.
    Dataset(String),
    /// Another step's output table, by the step's id.
    Step(String),
}

impl Source {
    /// The dataset's name or the step's id.
    pub fn name(&self) -> &str {
        match self {
            Source::Dataset(n) | Source::Step(n) => n,
        }
    }
}

/// A dataset of a plan: its file checked and its path resolved.
#[derive(Clone)]
pub struct PlannedDataset {
    /// The dataset's name in the pipeline.
    pub name: String,
    /// The data file or directory: its path in the pipeline file, joined
    /// to that file's directory; or the `s3://` URL of its prefix.
    pub path: PathBuf,
    /// When the dataset is an S3 prefix: the prefix (`path` is its URL).
    pub s3: Option<crate::data::S3Prefix>,
    /// The label column, if it has one.
    pub target: Option<String>,
    /// How its rows are divided into train and holdout, if they are.
    pub split: Option<SplitDef>,
    /// When `path` is a directory or an S3 prefix: which of its files are
    /// the dataset's (`None`: `path` is a file).
    pub files: Option<crate::data::FilePattern>,
    /// The time window its rows (or files) are kept in, if it has one.
    pub window: Option<crate::data::DatasetWindow>,
    /// How its files are read and its columns cast for plugins.
    pub read: crate::data::ReadOptions,
}

/// A step of a plan: its plugin loaded and its params checked against the
/// plugin's schema.
#[derive(Clone)]
pub struct PlannedStep {
    /// The step's id in the pipeline.
    pub id: String,
    /// The plugin, loaded and compiled.
    pub plugin: Arc<Plugin>,
    /// The table it reads.
    pub input: Source,
    /// A validator's reference table, if any.
    pub reference: Option<Source>,
    /// The trainer step whose model a validator or explainer uses, if any.
    pub model: Option<String>,
    /// Which rows of its input it reads: train or holdout.
    pub on: Part,
    /// Params as the plugin will see them, in the file's order.
    pub params: Vec<wit::Param>,
    /// The same params as JSON, for records and cache keys.
    pub params_json: serde_json::Value,
    /// Its sandbox limits: the pipeline's, else the defaults.
    pub limits: StepLimits,
    /// The limits the pipeline set itself (the others are defaults, which a
    /// tenant's caps may lower).
    pub explicit_limits: BTreeSet<String>,
    /// Directories the step reads, read-only, at `/grants/NAME`.
    pub grants: Vec<crate::runtime::Grant>,
    /// The step's seed, derived from the run's seed and the step's id.
    pub seed: u64,
    /// The label column of the step's input, if its dataset has one.
    pub target: Option<String>,
    /// The model name a trainer registers its model under.
    pub register: Option<String>,
    /// A trainer's hyperparameter search.
    pub search: Option<super::search::Search>,
}

impl PlannedStep {
    /// The world its plugin implements.
    pub fn world(&self) -> World {
        self.plugin.world
    }
}

/// A pipeline ready to run.
#[derive(Clone)]
pub struct Plan {
    /// The pipeline file, as given; the paths in it are relative to its
    /// directory.
    pub path: PathBuf,
    /// The pipeline's `name`.
    pub name: String,
    /// The pipeline's `version`.
    pub version: String,
    /// The run's seed (the file's `seed`, 0 by default).
    pub seed: u64,
    /// sha256 of the file's bytes.
    pub definition_sha256: String,
    /// The file's text, recorded with the run.
    pub definition: String,
    /// The datasets, in the file's order.
    pub datasets: Vec<PlannedDataset>,
    /// Steps in an order where every input comes first.
    pub steps: Vec<PlannedStep>,
    /// Promotion gates of the models the pipeline declares.
    pub model_gates: BTreeMap<String, Vec<String>>,
    /// Traffic policies of the models the pipeline declares.
    pub model_serving: BTreeMap<String, crate::registry::ServingPolicy>,
    /// Monitors of the models the pipeline declares, their plugins
    /// resolved (sha256 filled in).
    pub model_monitoring: BTreeMap<String, crate::monitor::MonitorSpec>,
    /// The monitors' plugins, kept in the artifact store by every run so
    /// that a registered version's monitor can load them.
    pub monitor_plugins: Vec<Arc<Plugin>>,
    /// Rollout plans of the models the pipeline declares.
    pub model_rollouts: BTreeMap<String, crate::rollout::RolloutSpec>,
    /// What each model's versions registered by a triggered run do once
    /// they pass their gates.
    pub model_deploy: BTreeMap<String, crate::pipeline::definition::Deploy>,
    /// The pipeline's triggers, checked, by name (armed when it runs).
    pub triggers: BTreeMap<String, crate::triggers::TriggerSpec>,
    /// The plugin directories the plan searched beyond the defaults
    /// (recorded, so `sluice resume` and `sluice verify` find the same
    /// plugins).
    pub plugin_dirs: Vec<PathBuf>,
    /// The params set from outside the file (`STEP.PARAM=VALUE`), applied
    /// and recorded with the run.
    pub overrides: Vec<String>,
}

/// Options of planning that come from outside the file.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// More plugin directories (`--plugin-dir`, `SLUICE_PLUGIN_PATH`).
    pub plugin_dirs: Vec<PathBuf>,
    /// The bounds of compiling the plugins (the tenant's caps); `None`:
    /// the runtime's own.
    pub compile: Option<CompileLimits>,
    /// Params set from outside the file, each `STEP.PARAM=VALUE` (see
    /// [`parse_override`]), recorded with the run.
    pub overrides: Vec<String>,
}

/// Plan the pipeline file at `path` (see [`Plan::from_str`]).
pub fn load_plan(
    path: &Path,
    runtime: &Runtime,
    options: &PlanOptions,
) -> Result<Plan, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|error| PipelineError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    Plan::from_str(&text, path, runtime, options)
}

impl Plan {
    /// Plan the pipeline in `text` (a pipeline file's TOML) as if it were
    /// the file at `path`, which is not read: errors name it (and the
    /// step and field), dataset, plugin and grant paths are relative to
    /// its directory, and runs record it as their file, which `resume`
    /// and `verify` read again. Plugins are loaded and compiled with
    /// `runtime`, so this blocks: in async code call it on a blocking
    /// thread.
    pub fn from_str(
        text: &str,
        path: &Path,
        runtime: &Runtime,
        options: &PlanOptions,
    ) -> Result<Plan, PipelineError> {
        let mut file = PipelineFile::parse(text).map_err(|e| PipelineError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let issues = overrides::apply(&mut file, &options.overrides);
        if !issues.is_empty() {
            return Err(PipelineError::Invalid {
                path: path.to_path_buf(),
                issues,
            });
        }
        plan(path, text, file, runtime, options)
    }
}

fn plan(
    path: &Path,
    text: &str,
    file: PipelineFile,
    runtime: &Runtime,
    options: &PlanOptions,
) -> Result<Plan, PipelineError> {
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut issues: Vec<String> = Vec::new();

    if file.pipeline.name.trim().is_empty() {
        issues.push("[pipeline] name is empty".into());
    }
    if file.pipeline.version.trim().is_empty() {
        issues.push("[pipeline] version is empty".into());
    }

    let mut datasets = Vec::new();
    for (name, def) in &file.datasets {
        datasets.push(plan_dataset(name, def, &base, &mut issues));
    }
    if file.steps.is_empty() {
        issues.push("the pipeline has no [[steps]]".into());
    }

    // Granted directories: they must exist; whether the tenant allows
    // them is checked when the run starts.
    let mut grants: BTreeMap<&str, PathBuf> = BTreeMap::new();
    for (name, dir) in &file.grants {
        if crate::tenants::check_name(name).is_err() {
            issues.push(format!(
                "[grants] '{name}': use lowercase letters, digits and '-' in grant names"
            ));
            continue;
        }
        match std::fs::canonicalize(base.join(dir)) {
            Ok(p) if p.is_dir() => {
                grants.insert(name, p);
            }
            Ok(p) => issues.push(format!(
                "[grants] '{name}': {} is not a directory",
                p.display()
            )),
            Err(e) => issues.push(format!(
                "[grants] '{name}': cannot use {}: {e}",
                base.join(dir).display()
            )),
        }
    }

    let mut dirs: Vec<PathBuf> = file
        .pipeline
        .plugin_dirs
        .iter()
        .map(|d| base.join(d))
        .collect();
    dirs.extend(options.plugin_dirs.iter().cloned());

    // Ids first, so references can be checked whatever the order.
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, step) in file.steps.iter().enumerate() {
        if step.id.trim().is_empty() {
            issues.push(format!("step #{}: id is empty", i + 1));
        } else if let Err(e) = check_step_id(&step.id) {
            issues.push(format!("step #{} ({:?}): {e}", i + 1, step.id));
        } else if file.datasets.contains_key(&step.id) {
            issues.push(format!(
                "step '{}': id is also the name of a dataset",
                step.id
            ));
        } else if ids.insert(step.id.as_str(), i).is_some() {
            issues.push(format!("step '{}': the id is used twice", step.id));
        }
    }

    // Load every plugin (reporting each failure) before checking kinds.
    let load = |p: &Path| match &options.compile {
        Some(limits) => runtime.load_within(p, limits),
        None => runtime.load(p),
    };
    let plugins: Vec<Option<Arc<Plugin>>> = file
        .steps
        .iter()
        .map(|step| match resolve_plugin(&step.plugin, &base, &dirs) {
            Ok(p) => match load(&p) {
                Ok(plugin) => Some(plugin),
                Err(e) => {
                    issues.push(format!("step '{}': plugin '{}': {e}", step.id, step.plugin));
                    None
                }
            },
            Err(msg) => {
                issues.push(format!("step '{}': {msg}", step.id));
                None
            }
        })
        .collect();

    let source_of = |name: &str| -> Option<Source> {
        if file.datasets.contains_key(name) {
            Some(Source::Dataset(name.to_string()))
        } else if ids.contains_key(name) {
            Some(Source::Step(name.to_string()))
        } else {
            None
        }
    };
    let known = || {
        let mut names: Vec<&str> = file.datasets.keys().map(String::as_str).collect();
        names.extend(file.steps.iter().map(|s| s.id.as_str()));
        names.join(", ")
    };

    let mut steps: Vec<Option<PlannedStep>> = Vec::new();
    for (i, step) in file.steps.iter().enumerate() {
        let plugin = plugins[i].clone();
        let input = source_of(&step.input);
        if input.is_none() {
            issues.push(format!(
                "step '{}': input '{}' is neither a dataset nor a step (known: {})",
                step.id,
                step.input,
                known()
            ));
        }
        let reference = step.reference.as_ref().and_then(|r| {
            let s = source_of(r);
            if s.is_none() {
                issues.push(format!(
                    "step '{}': reference '{r}' is neither a dataset nor a step",
                    step.id
                ));
            }
            s
        });
        if let Some(plugin) = &plugin {
            check_step_shape(step, plugin, &plugins, &ids, &mut issues);
        }
        let (params, params_json) = match &plugin {
            Some(p) => convert_params(step, p, &mut issues),
            None => (Vec::new(), serde_json::Value::Null),
        };
        let seed = step_seed(file.pipeline.seed, &step.id);
        let search = match (&step.search, &plugin) {
            (Some(def), Some(p)) => {
                super::search::plan_search(step, def, p, &params, seed, &mut issues)
            }
            _ => None,
        };
        let (limits, explicit_limits) = match &step.limits {
            None => (StepLimits::default(), BTreeSet::new()),
            Some(table) => match toml::Value::Table(table.clone()).try_into::<StepLimits>() {
                Ok(l) => (l, table.keys().cloned().collect()),
                Err(e) => {
                    issues.push(format!(
                        "step '{}': limits: {}",
                        step.id,
                        e.message().trim()
                    ));
                    (StepLimits::default(), BTreeSet::new())
                }
            },
        };
        check_limits(step, &limits, &mut issues);
        let on = step.on.unwrap_or(if step.model.is_some() {
            Part::Holdout
        } else {
            Part::Train
        });
        match (plugin, input) {
            (Some(plugin), Some(input)) => steps.push(Some(PlannedStep {
                id: step.id.clone(),
                plugin,
                input,
                reference,
                model: step.model.clone(),
                on,
                params,
                params_json,
                limits,
                explicit_limits,
                grants: step_grants(step, &file.grants, &grants, &mut issues),
                seed,
                target: None,
                register: step.register.clone(),
                search,
            })),
            _ => steps.push(None),
        }
    }

    for (name, model) in &file.models {
        if let Err(rule) = crate::registry::name_rule::check_model_name(name) {
            issues.push(format!(
                "[models.{name}]: `{name}` is not a model name: {rule}"
            ));
        }
        for gate in &model.gates {
            if let Err(e) = crate::registry::gates::parse(gate) {
                issues.push(format!("[models.{name}]: {e}"));
            }
        }
        if let Some(serving) = &model.serving
            && let Err(e) = serving.validate()
        {
            issues.push(format!("[models.{name}.serving]: {e}"));
        }
        if let Some(rollout) = &model.rollout
            && let Err(e) = rollout.validate()
        {
            issues.push(format!("[models.{name}.rollout]: {e}"));
        }
    }
    gates::check_gates(&file, &plugins, &mut issues);
    let (model_monitoring, monitor_plugins) =
        plan_monitors(&file, &base, &dirs, &load, &mut issues);
    for (name, model) in &file.models {
        if let Some(rollout) = &model.rollout {
            rollout_reads_monitor(name, rollout, model_monitoring.get(name), &mut issues);
        }
    }
    let dataset_names: Vec<&str> = file.datasets.keys().map(String::as_str).collect();
    let model_names: Vec<&str> = file.models.keys().map(String::as_str).collect();
    for (name, trigger) in &file.triggers {
        if let Err(e) = trigger.validate(&dataset_names, &model_names) {
            issues.push(format!("[triggers.{name}]: {e}"));
        }
    }

    let order = topological_order(&file.steps, &ids, &mut issues);

    if !issues.is_empty() {
        return Err(PipelineError::Invalid {
            path: path.to_path_buf(),
            issues,
        });
    }

    let mut ordered: Vec<PlannedStep> = order
        .into_iter()
        .map(|i| {
            steps[i]
                .take()
                .expect("every step planned when no issue was found")
        })
        .collect();
    // The label column travels with the data from its dataset.
    let mut targets: HashMap<String, Option<String>> = datasets
        .iter()
        .map(|d: &PlannedDataset| (d.name.clone(), d.target.clone()))
        .collect();
    for step in &mut ordered {
        step.target = targets.get(step.input.name()).cloned().flatten();
        targets.insert(step.id.clone(), step.target.clone());
    }
    // A split that some step needs must exist.
    let split_of: HashMap<String, bool> = datasets
        .iter()
        .map(|d| (d.name.clone(), d.split.is_some()))
        .collect();
    let mut has_holdout: HashMap<String, bool> = split_of.clone();
    let mut late_issues = Vec::new();
    for step in &ordered {
        let h = *has_holdout.get(step.input.name()).unwrap_or(&false);
        if step.on == Part::Holdout
            && matches!(step.world(), World::Validator | World::Explainer)
            && !h
        {
            late_issues.push(format!(
                "step '{}': reads the holdout of '{}', but that data has no split (add [datasets.NAME.split])",
                step.id,
                step.input.name()
            ));
        }
        if matches!(step.world(), World::Trainer | World::Explainer) && step.target.is_none() {
            late_issues.push(format!(
                "step '{}': a {} needs a target column: set `target` on the dataset it reads",
                step.id,
                step.world()
            ));
        }
        has_holdout.insert(step.id.clone(), h);
    }
    if !late_issues.is_empty() {
        return Err(PipelineError::Invalid {
            path: path.to_path_buf(),
            issues: late_issues,
        });
    }

    Ok(Plan {
        path: path.to_path_buf(),
        name: file.pipeline.name.clone(),
        version: file.pipeline.version.clone(),
        seed: file.pipeline.seed,
        definition_sha256: hex::encode(Sha256::digest(text.as_bytes())),
        definition: text.to_string(),
        datasets,
        steps: ordered,
        model_gates: file
            .models
            .iter()
            .map(|(n, m)| (n.clone(), m.gates.clone()))
            .collect(),
        model_serving: file
            .models
            .iter()
            .filter_map(|(n, m)| Some((n.clone(), m.serving.clone()?)))
            .collect(),
        model_monitoring,
        monitor_plugins,
        model_rollouts: file
            .models
            .iter()
            .filter_map(|(n, m)| Some((n.clone(), m.rollout.clone()?)))
            .collect(),
        model_deploy: file
            .models
            .iter()
            .filter_map(|(n, m)| Some((n.clone(), m.deploy?)))
            .collect(),
        triggers: file.triggers.clone(),
        plugin_dirs: options.plugin_dirs.clone(),
        overrides: options.overrides.clone(),
    })
}

/// A declared rollout's checks read checks the model's monitor has (a
/// model without a monitor has `service`): said at load, not when a
/// triggered run's version has passed its gates.
fn rollout_reads_monitor(
    model: &str,
    rollout: &crate::rollout::RolloutSpec,
    monitor: Option<&crate::monitor::MonitorSpec>,
    issues: &mut Vec<String>,
) {
    let Ok(checks) = rollout.parsed_checks() else {
        return; // said by its validate()
    };
    let names: Vec<&str> = match monitor {
        Some(m) => m.checks.iter().map(|c| c.name.as_str()).collect(),
        None => vec!["service"],
    };
    for check in checks {
        if !names.contains(&check.check.as_str()) {
            issues.push(format!(
                "[models.{model}.rollout]: check `{}` reads monitor check `{}`, which the \
                 model's monitor does not have (its checks: {})",
                check.text,
                check.check,
                names.join(", ")
            ));
        }
    }
}

/// Each model's monitor checked, its plugins found, loaded and their
/// params checked against what they declare; the problems go to
/// `issues`, naming the model and the check.
fn plan_monitors(
    file: &PipelineFile,
    base: &Path,
    dirs: &[PathBuf],
    load: &dyn Fn(&Path) -> Result<Arc<Plugin>, crate::runtime::RuntimeError>,
    issues: &mut Vec<String>,
) -> (
    BTreeMap<String, crate::monitor::MonitorSpec>,
    Vec<Arc<Plugin>>,
) {
    let mut specs = BTreeMap::new();
    let mut plugins: Vec<Arc<Plugin>> = Vec::new();
    for (name, model) in &file.models {
        let Some(spec) = &model.monitoring else {
            continue;
        };
        let mut spec = spec.clone();
        let at = format!("[models.{name}.monitoring]");
        if let Err(e) = spec.validate() {
            issues.push(format!("{at}: {e}"));
            continue;
        }
        for (i, plugin_name) in spec.plugins() {
            let check = spec.checks[i].name.clone();
            // A performance check naming no plugin runs the regression
            // evaluator for a regressor: both are resolved.
            let mut names = vec![plugin_name];
            if spec.checks[i].kind == crate::monitor::CheckKind::Performance
                && spec.checks[i].plugin.is_none()
            {
                names.push("regression-eval".to_owned());
            }
            let mut loaded: Vec<Arc<Plugin>> = Vec::new();
            for plugin_name in &names {
                let plugin = match resolve_plugin(plugin_name, base, dirs) {
                    Ok(p) => match load(&p) {
                        Ok(plugin) => plugin,
                        Err(e) => {
                            issues
                                .push(format!("{at} check `{check}`: plugin '{plugin_name}': {e}"));
                            continue;
                        }
                    },
                    Err(msg) => {
                        issues.push(format!("{at} check `{check}`: {msg}"));
                        continue;
                    }
                };
                if plugin.world != World::Validator {
                    issues.push(format!(
                        "{at} check `{check}`: plugin {} is a {}, not a validator",
                        plugin.label(),
                        plugin.world
                    ));
                    continue;
                }
                loaded.push(plugin);
            }
            if loaded.len() != names.len() {
                continue;
            }
            for (param, value) in &spec.checks[i].params {
                let specs: Vec<_> = loaded.iter().filter_map(|p| p.param_spec(param)).collect();
                if specs.is_empty() {
                    issues.push(format!(
                        "{at} check `{check}`: unknown param '{param}' for plugin {} (known: {})",
                        loaded
                            .iter()
                            .map(|p| p.label())
                            .collect::<Vec<_>>()
                            .join(" or "),
                        loaded
                            .iter()
                            .flat_map(|p| p.info.params.iter().map(|p| p.name.as_str()))
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                } else if specs
                    .iter()
                    .all(|p| crate::monitor::check::json_param(&p.kind, value).is_none())
                {
                    issues.push(format!(
                        "{at} check `{check}`: param '{param}' must be of kind {}",
                        specs[0].kind
                    ));
                } else if let Some(why) = specs.iter().find_map(|p| {
                    crate::monitor::check::json_param(&p.kind, value)
                        .and_then(|v| super::params::refusal(p, &v))
                }) {
                    issues.push(format!("{at} check `{check}`: param '{param}' {why}"));
                }
            }
            spec.checks[i].sha256 = Some(loaded[0].sha256.clone());
            spec.checks[i].regression_sha256 = loaded.get(1).map(|p| p.sha256.clone());
            for plugin in loaded {
                if !plugins.iter().any(|p| p.sha256 == plugin.sha256) {
                    plugins.push(plugin);
                }
            }
        }
        specs.insert(name.clone(), spec);
    }
    (specs, plugins)
}

/// Find a plugin: a path (has a '/' or ends in .wasm) relative to the
/// pipeline file, else `NAME.wasm` (with '-' read as '_') in the plugin
/// directories (see [`crate::installed`] for the ones a command adds).
pub fn resolve_plugin(spec: &str, base: &Path, dirs: &[PathBuf]) -> Result<PathBuf, String> {
    if spec.contains('/') || spec.ends_with(".wasm") {
        let p = base.join(spec);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("plugin file {} does not exist", p.display()))
        };
    }
    let file = crate::installed::file_name(spec);
    for dir in dirs {
        let p = dir.join(&file);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(format!(
        "plugin '{spec}' not found: looked for {file} in {}. Install it (`sluice plugin add FILE`, or scripts/install.sh for the standard plugins) or add a plugin directory with --plugin-dir or SLUICE_PLUGIN_PATH",
        if dirs.is_empty() {
            "no directory".to_string()
        } else {
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    ))
}
