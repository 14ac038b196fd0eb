//! A loaded plugin: its compiled component, the world it implements, what
//! its `describe()` says, and an `InstancePre` ready for fresh instances.

use super::bindings::{explainer, holding_trainer, trainer, transform, types, validator};
use super::cache::CompileSource;
use super::compile_limits::{CompileLimits, Surveyed};
use super::error::RuntimeError;
use super::sandbox::StepState;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use wasmtime::component::{Component, Linker};

/// The four worlds of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum World {
    /// Checks data; reports checks and metrics.
    Validator,
    /// Fits a state, then applies it to tables.
    Transform,
    /// Trains a model and predicts with it.
    Trainer,
    /// Explains a model through the `model` import.
    Explainer,
}

impl World {
    /// The world's name in the WIT contract and in records.
    pub fn name(self) -> &'static str {
        match self {
            World::Validator => "validator",
            World::Transform => "transform",
            World::Trainer => "trainer",
            World::Explainer => "explainer",
        }
    }

    /// The world of a step kind that a plugin's `describe` returned.
    pub fn of_kind(kind: types::StepKind) -> World {
        match kind {
            types::StepKind::Validator => World::Validator,
            types::StepKind::Transform => World::Transform,
            types::StepKind::Trainer => World::Trainer,
            types::StepKind::Explainer => World::Explainer,
        }
    }

    /// Which world a component implements, from the names it exports.
    fn detect(exports: &[String]) -> Option<World> {
        let has = |n: &str| exports.iter().any(|e| e == n);
        if !has("describe") {
            return None;
        }
        if has("validate") {
            Some(World::Validator)
        } else if has("fit") && has("apply") {
            Some(World::Transform)
        } else if has("train") && has("predict") {
            Some(World::Trainer)
        } else if has("explain") {
            Some(World::Explainer)
        } else {
            None
        }
    }

    fn imports_model(self) -> bool {
        matches!(self, World::Validator | World::Explainer)
    }

    fn imports_rows(self) -> bool {
        matches!(self, World::Trainer | World::Explainer)
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An instance-ready form of the component, per world.
pub(crate) enum WorldPre {
    Validator(validator::ValidatorPre<StepState>),
    Transform(transform::TransformPre<StepState>),
    Trainer(TrainerPres),
    Explainer(explainer::ExplainerPre<StepState>),
}

impl WorldPre {
    /// The component ready to instantiate, whatever its world (for the
    /// `parallel` import's workers, which call its `worker` export).
    pub(crate) fn instance_pre(&self) -> &wasmtime::component::InstancePre<StepState> {
        match self {
            WorldPre::Validator(p) => p.instance_pre(),
            WorldPre::Transform(p) => p.instance_pre(),
            WorldPre::Trainer(p) => p.plain.instance_pre(),
            WorldPre::Explainer(p) => p.instance_pre(),
        }
    }
}

/// A trainer ready to instantiate: as its world, and as the
/// `holding-trainer` world too when it exports `holding`.
pub(crate) struct TrainerPres {
    pub(crate) plain: trainer::TrainerPre<StepState>,
    pub(crate) holding: Option<holding_trainer::HoldingTrainerPre<StepState>>,
}

impl TrainerPres {
    pub(crate) async fn instantiate_async(
        &self,
        store: &mut wasmtime::Store<StepState>,
    ) -> wasmtime::Result<trainer::Trainer> {
        self.plain.instantiate_async(store).await
    }
}

/// A plugin ready to run.
pub struct Plugin {
    /// The component file it was loaded from.
    pub path: PathBuf,
    /// The component's sha256, in hex: its identity in cache keys and records.
    pub sha256: String,
    /// The world it implements.
    pub world: World,
    /// What its `describe` returned: name, version, doc and params.
    pub info: types::PluginInfo,
    /// What it imports, by WIT name (each one granted).
    pub imports: Vec<String>,
    /// Where its compiled code came from (the cache or a fresh compile).
    pub compile_source: CompileSource,
    pub(crate) pre: WorldPre,
    /// The component's bytes, for the metered engine.
    pub(crate) bytes: Arc<[u8]>,
    /// The bounds it was loaded under, which its compilation for the
    /// metered engine keeps.
    pub(crate) compile_limits: CompileLimits,
    /// The same component on the fuel-metered engine, compiled the first
    /// time a call with a `fuel` limit needs it (the error is kept too).
    pub(crate) metered: OnceLock<Result<WorldPre, String>>,
}

impl Plugin {
    /// `name@version`, for messages.
    pub fn label(&self) -> String {
        format!("{}@{}", self.info.name, self.info.version)
    }

    /// Whether it imports the contract's `rows` interface, and so is passed
    /// `train`'s or `explain`'s table without its rows (see
    /// [`super::view::RowSource`]).
    pub fn reads_rows(&self) -> bool {
        self.imports
            .iter()
            .any(|name| unversioned(name) == "sluice:plugin/rows")
    }

    /// Whether the plugin is a trainer that exports `holding` (so an
    /// explainer's `predict-replacing` sends it only the new columns).
    pub fn exports_holding(&self) -> bool {
        matches!(&self.pre, WorldPre::Trainer(p) if p.holding.is_some())
    }

    /// The plugin's spec of param `name`, if it declares one.
    pub fn param_spec(&self, name: &str) -> Option<&types::ParamSpec> {
        self.info.params.iter().find(|p| p.name == name)
    }
}

/// Link a compiled component as the world it implements.
pub(crate) fn world_pre(
    linker: &Linker<StepState>,
    component: &Component,
    world: World,
    path: &Path,
) -> Result<WorldPre, RuntimeError> {
    let link = |e: wasmtime::Error| RuntimeError::Link {
        path: path.to_path_buf(),
        world: world.name(),
        message: format!("{e:#}"),
    };
    let instance_pre = linker.instantiate_pre(component).map_err(link)?;
    Ok(match world {
        World::Validator => {
            WorldPre::Validator(validator::ValidatorPre::new(instance_pre).map_err(link)?)
        }
        World::Transform => {
            WorldPre::Transform(transform::TransformPre::new(instance_pre).map_err(link)?)
        }
        World::Trainer => WorldPre::Trainer(TrainerPres {
            // Without the optional `holding` export this is an error: the
            // host then holds the table itself.
            holding: holding_trainer::HoldingTrainerPre::new(instance_pre.clone()).ok(),
            plain: trainer::TrainerPre::new(instance_pre).map_err(link)?,
        }),
        World::Explainer => {
            WorldPre::Explainer(explainer::ExplainerPre::new(instance_pre).map_err(link)?)
        }
    })
}

/// The WASI interfaces a plugin may import. Sockets, HTTP and anything not
/// listed are refused at load. Filesystem types are linked because language
/// runtimes import them, but no directory is ever preopened.
const ALLOWED_WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/streams",
    "wasi:io/poll",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
];

fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Imports of a component that its world does not allow.
pub(crate) fn forbidden_imports(imports: &[String], world: Option<World>) -> Vec<String> {
    imports
        .iter()
        .filter(|name| {
            let base = unversioned(name);
            let allowed = ALLOWED_WASI.contains(&base)
                || base == "sluice:plugin/types"
                || base == "sluice:plugin/host"
                || base == "sluice:plugin/parallel"
                || (base == "sluice:plugin/rows" && world.is_none_or(World::imports_rows))
                || (base == "sluice:plugin/model" && world.is_none_or(World::imports_model));
            !allowed
        })
        .cloned()
        .collect()
}

pub(crate) struct Inspected {
    pub imports: Vec<String>,
    pub world: World,
}

/// Check the world and the imports of a component from the names it
/// imports and exports ([`super::compile_limits::survey`]), before it is
/// compiled.
pub(crate) fn inspect(surveyed: Surveyed, path: &Path) -> Result<Inspected, RuntimeError> {
    let Surveyed { imports, exports } = surveyed;
    let world = World::detect(&exports);
    let forbidden = forbidden_imports(&imports, world);
    if !forbidden.is_empty() {
        return Err(RuntimeError::ForbiddenImports {
            path: path.to_path_buf(),
            imports: forbidden,
        });
    }
    let world = world.ok_or_else(|| RuntimeError::UnknownWorld {
        path: path.to_path_buf(),
        exports,
    })?;
    Ok(Inspected { imports, world })
}

/// Tell a core module, a component and garbage apart before compiling.
pub(crate) fn check_header(bytes: &[u8], path: &Path) -> Result<(), RuntimeError> {
    let not = |reason: &str| RuntimeError::NotAComponent {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(not(
            "the file does not start with the WebAssembly magic bytes (truncated or not Wasm)",
        ));
    }
    match bytes[4..8] {
        [0x0d, 0x00, 0x01, 0x00] => Ok(()),
        [0x01, 0x00, 0x00, 0x00] => Err(not(
            "it is a core Wasm module; build it as a component (wasm32-wasip2, or `wasm-tools component new`)",
        )),
        _ => Err(not("unknown WebAssembly version or layer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_forbidden_and_model_only_for_its_worlds() {
        let imports = vec![
            "wasi:io/streams@0.2.3".to_string(),
            "wasi:sockets/tcp@0.2.3".to_string(),
            "sluice:plugin/model@0.1.0".to_string(),
            "sluice:plugin/parallel@0.1.0".to_string(),
        ];
        assert_eq!(
            forbidden_imports(&imports, Some(World::Validator)),
            vec!["wasi:sockets/tcp@0.2.3"]
        );
        assert_eq!(
            forbidden_imports(&imports, Some(World::Transform)),
            vec!["wasi:sockets/tcp@0.2.3", "sluice:plugin/model@0.1.0"]
        );
        // `rows` is the trainers' and the explainers' only.
        let rows = vec!["sluice:plugin/rows@0.1.0".to_string()];
        assert!(forbidden_imports(&rows, Some(World::Trainer)).is_empty());
        assert!(forbidden_imports(&rows, Some(World::Explainer)).is_empty());
        assert_eq!(forbidden_imports(&rows, Some(World::Transform)), rows);
    }

    #[test]
    fn headers_tell_modules_from_components() {
        let p = Path::new("x.wasm");
        assert!(check_header(b"\0asm\x0d\x00\x01\x00", p).is_ok());
        let e = check_header(b"\0asm\x01\x00\x00\x00", p).unwrap_err();
        assert!(e.to_string().contains("core Wasm module"), "{e}");
        let e = check_header(b"\0as", p).unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
    }

    #[test]
    fn worlds_detected_from_exports() {
        let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            World::detect(&e(&["describe", "fit", "apply"])),
            Some(World::Transform)
        );
        assert_eq!(World::detect(&e(&["fit", "apply"])), None);
        assert_eq!(
            World::detect(&e(&["describe", "train", "predict"])),
            Some(World::Trainer)
        );
    }
}
