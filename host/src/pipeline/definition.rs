//! The pipeline file as written: TOML parsed into plain structs that only
//! check syntax. Resolving names, plugins and params happens in [`super::plan`].

use serde::Deserialize;
use std::collections::BTreeMap;

/// A pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// The `[pipeline]` table: name, version and run-wide settings.
    pub pipeline: PipelineHeader,
    /// The `[datasets.NAME]` tables, by name.
    #[serde(default)]
    pub datasets: BTreeMap<String, DatasetDef>,
    /// The `[[steps]]`, in the file's order (they run in an order where every
    /// input comes first).
    #[serde(default)]
    pub steps: Vec<StepDef>,
    /// Models this pipeline registers, with their promotion gates.
    #[serde(default)]
    pub models: BTreeMap<String, ModelDef>,
    /// Read-only host directories steps may ask for by name
    /// (`[grants] reference = "data/reference"`, relative to the file). A
    /// step sees one only if it lists it and the tenant allows it.
    #[serde(default)]
    pub grants: BTreeMap<String, String>,
    /// What starts runs of the pipeline on its own (`[triggers.NAME]`):
    /// see [`crate::triggers`].
    #[serde(default)]
    pub triggers: BTreeMap<String, crate::triggers::TriggerSpec>,
    /// How many of its runs `sluice runs prune` keeps by default
    /// (`[retention]`).
    pub retention: Option<Retention>,
}

/// The `[retention]` table: which runs of the pipeline `sluice runs prune`
/// (without options) deletes. A run is deleted only when neither key keeps
/// it, and never while a registered version or a kept run needs it.
/// Without the table, prune keeps every run of the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Keep the newest this many runs of the pipeline.
    pub keep_runs: Option<u32>,
    /// Keep the runs started less than this many days ago.
    pub keep_days: Option<u32>,
}

/// A model declared by the pipeline: `[models.NAME]`.
///
/// [`ServingPolicy`]: crate::registry::ServingPolicy
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelDef {
    /// Promotion gates, e.g. `"evaluate.roc_auc >= 0.9"` or
    /// `"evaluate.roc_auc >= production - 0.005"`.
    #[serde(default)]
    pub gates: Vec<String>,
    /// How `sluice serve` shares the model's traffic between versions
    /// (`[models.NAME.serving]`): see
    /// [`ServingPolicy`](crate::registry::ServingPolicy).
    pub serving: Option<crate::registry::ServingPolicy>,
    /// What watches the model's live traffic (`[models.NAME.monitoring]`):
    /// see [`crate::monitor`].
    pub monitoring: Option<crate::monitor::MonitorSpec>,
    /// How a new version of the model is rolled out
    /// (`[models.NAME.rollout]`): see [`crate::rollout`].
    pub rollout: Option<crate::rollout::RolloutSpec>,
    /// What a version registered by a run a trigger started does once it
    /// passed its gates against `production`: `promote` (moves
    /// `production` to it) or `rollout` (starts a rollout). Without it,
    /// it is only registered.
    pub deploy: Option<Deploy>,
}

/// See [`ModelDef::deploy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Deploy {
    /// Promote it to `production`.
    Promote,
    /// Roll it out to `production` (`[models.NAME.rollout]`, else the
    /// defaults).
    Rollout,
}

/// Whether `version` is a development version (`dev`, or ending in
/// `-dev`), whose definition may change without a new version.
pub fn is_development(version: &str) -> bool {
    version == "dev" || version.ends_with("-dev")
}

fn development_version() -> String {
    "dev".to_owned()
}

/// The `[pipeline]` table of a pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineHeader {
    /// The pipeline's name; runs, caches and models are recorded under it.
    pub name: String,
    /// The version of this definition. Runs record it with the sha256 of
    /// the file. `dev` (the default) or one ending in `-dev` is a
    /// development version: its definition may change from run to run
    /// (each one recorded); any other is a release, whose definition is
    /// fixed by its first run that did not fail (see [`is_development`]).
    #[serde(default = "development_version")]
    pub version: String,
    /// Free text for people; not used by sluice.
    #[serde(default)]
    pub description: String,
    /// Seeds every step's randomness (with the step id), so reruns repeat.
    #[serde(default)]
    pub seed: u64,
    /// Directories searched for plugins named without a path, relative to
    /// the pipeline file. `SLUICE_PLUGIN_PATH` and `--plugin-dir` add more.
    #[serde(default)]
    pub plugin_dirs: Vec<String>,
}

/// A dataset of a pipeline file: `[datasets.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetDef {
    /// CSV, Parquet or Arrow IPC file, relative to the pipeline file; or
    /// a directory of them, whose files are read in name order and joined.
    pub path: String,
    /// For a directory `path`: the names of its files to read, a glob
    /// (`*`, `?`) such as `"*.parquet"`; every file with a data format's
    /// extension by default.
    #[serde(default)]
    pub files: Option<String>,
    /// Keep only the rows whose `time_column` is less than this span
    /// (`"30d"`, `"12h"`) before the newest time in the data.
    #[serde(default)]
    pub window: Option<String>,
    /// The column `window` reads each row's time from.
    #[serde(default)]
    pub time_column: Option<String>,
    /// The unit of an integer `time_column` (`s`, `ms`, `us`, `ns` since
    /// 1970-01-01 UTC), and the unit the dataset's dates and timestamps
    /// reach plugins in (`s` by default).
    #[serde(default)]
    pub time_unit: Option<String>,
    /// CSV: more tokens read as missing (pandas' `na_values`).
    #[serde(default)]
    pub na_values: Option<Vec<String>>,
    /// CSV: `false` drops pandas' default missing-value tokens, leaving
    /// `na_values` and the empty field (pandas' `keep_default_na`).
    #[serde(default)]
    pub keep_default_na: Option<bool>,
    /// CSV: the character between fields (`","` by default).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// CSV: the character that quotes a field (`"\""` by default; `""`:
    /// none).
    #[serde(default)]
    pub quote: Option<String>,
    /// CSV: the text encoding, UTF-8 by default; a single-byte one
    /// (`latin-1`, `windows-1252`, ...) is decoded field by field.
    #[serde(default)]
    pub encoding: Option<String>,
    /// A type for some columns: `{ id = "utf8", amount = "f64" }`.
    #[serde(default)]
    pub dtypes: Option<BTreeMap<String, String>>,
    /// Columns of ISO 8601 text read as times.
    #[serde(default)]
    pub parse_dates: Option<Vec<String>>,
    /// The label column, kept out of transforms and given to trainers.
    #[serde(default)]
    pub target: Option<String>,
    /// How to divide its rows into train and holdout; `None`: every row is
    /// train.
    #[serde(default)]
    pub split: Option<SplitDef>,
}

/// A seeded train/holdout split of a dataset. "Split" means only this in
/// sluice's code: taking the label column out of a table is
/// "taking the label", and a search's folds are folds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitDef {
    /// Fraction of rows held out, in (0, 1).
    pub holdout: f64,
    /// Seeds which rows are held out (0 by default), so reruns hold out the
    /// same rows.
    #[serde(default)]
    pub seed: u64,
    /// Split each class of the target in proportion.
    #[serde(default)]
    pub stratify: bool,
}

/// Which part of a split table a step reads: a part is one of the two row
/// sets of the dataset's train/holdout split ([`SplitDef`]). The word
/// means only that in sluice's code; pieces of bytes are "pieces".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The rows kept for training (all rows without a split).
    Train,
    /// The rows held out.
    Holdout,
}

impl Part {
    /// Its name in pipeline files and in output names: `train`, `holdout`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Holdout => "holdout",
        }
    }
}

/// A step of a pipeline file: `[[steps]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// The step's id, unique in the pipeline; other steps name it as their
    /// input.
    pub id: String,
    /// A plugin name (looked up as NAME.wasm, '-' read as '_', in the
    /// plugin directories) or a path to a `.wasm` file.
    pub plugin: String,
    /// A dataset name or the id of an earlier step.
    pub input: String,
    /// For validators: a second table to compare with (drift checks).
    #[serde(default)]
    pub reference: Option<String>,
    /// For validators and explainers: the id of the trainer step whose
    /// model the `model` import calls.
    #[serde(default)]
    pub model: Option<String>,
    /// For validators and explainers: which part of the input to read
    /// (default: holdout when a model is bound and a split exists, else train).
    #[serde(default)]
    pub on: Option<Part>,
    /// The plugin's params, checked against the schema its `describe` returns.
    #[serde(default)]
    pub params: toml::Table,
    /// The step's limits (see [`crate::runtime::StepLimits`]); kept as a table so the
    /// planner knows which ones the pipeline set itself.
    #[serde(default)]
    pub limits: Option<toml::Table>,
    /// For trainers: register each successful run's model as a new version
    /// of this model name.
    #[serde(default)]
    pub register: Option<String>,
    /// Names of `[grants]` this step may read, at `/grants/NAME`.
    #[serde(default)]
    pub grants: Vec<String>,
    /// For trainers: a hyperparameter search (`[steps.search]`); the model
    /// is trained with the best trial's params.
    #[serde(default)]
    pub search: Option<SearchDef>,
}

impl PipelineFile {
    /// The file as written; an error names the line, column and field.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

impl std::str::FromStr for PipelineFile {
    type Err = toml::de::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// `[steps.search]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchDef {
    /// `grid` (every combination, the default) or `random`.
    #[serde(default)]
    pub method: Option<String>,
    /// Random search: how many trials to draw.
    #[serde(default)]
    pub trials: Option<i64>,
    /// k-fold cross-validation on the train part (5 when neither `folds`
    /// nor `holdout` is set).
    #[serde(default)]
    pub folds: Option<i64>,
    /// Score on this share of the train part instead of k folds.
    #[serde(default)]
    pub holdout: Option<f64>,
    /// Keep class proportions in every fold (default: on for
    /// classification metrics).
    #[serde(default)]
    pub stratify: Option<bool>,
    /// The metric to optimise.
    pub metric: String,
    /// The positive class, as text, for `roc_auc` and `f1` (default `"1"`).
    #[serde(default)]
    pub positive: Option<String>,
    /// The values to search, by param name: a list (grid values, or the
    /// choices of a random search) or, for random search,
    /// `{ uniform = [lo, hi] }`, `{ log_uniform = [lo, hi] }`,
    /// `{ int_uniform = [lo, hi] }` (both ends included).
    pub params: toml::Table,
}
