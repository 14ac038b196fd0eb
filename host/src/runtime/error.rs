//! Errors of the runtime: loading a plugin, and a step call that failed.

use std::path::PathBuf;

/// Why loading, compiling or calling a plugin failed. A step's own failure (its
/// limits, a trap, its error) is [`RuntimeError::Step`]; the other variants are
/// about the plugin file or the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The plugin file could not be read.
    #[error("cannot read plugin {path}: {source}")]
    ReadPlugin {
        /// The plugin file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a WebAssembly component (a core module, or not Wasm at
    /// all).
    #[error("{path} is not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The plugin file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The component imports an interface sluice does not grant.
    #[error(
        "plugin {path} is refused: it imports what sluice does not grant: {}. A plugin may import only the sluice:plugin host/model interfaces of its world and the WASI subset (io, cli stdio/environment/exit, clocks, random, filesystem types without preopens)",
        imports.join(", ")
    )]
    ForbiddenImports {
        /// The plugin file.
        path: PathBuf,
        /// The imports that are not granted, by WIT name.
        imports: Vec<String>,
    },
    /// The component exports none of the four sluice worlds.
    #[error(
        "plugin {path} implements no sluice world: it exports {}; expected one of validator (describe, validate), transform (describe, fit, apply), trainer (describe, train, predict), explainer (describe, explain)",
        if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
    )]
    UnknownWorld {
        /// The plugin file.
        path: PathBuf,
        /// What it exports instead.
        exports: Vec<String>,
    },
    /// The component exports a world but does not link against it (an export or
    /// import of the wrong type).
    #[error("plugin {path} cannot be linked as a {world}: {message}")]
    Link {
        /// The plugin file.
        path: PathBuf,
        /// The world it was linked as (`validator`, `transform`, ...).
        world: &'static str,
        /// What wasmtime said.
        message: String,
    },
    /// The plugin is over a bound of [`super::CompileLimits`]: `cap` names
    /// the bound (and the tenant cap of the same name).
    #[error("plugin {path} is refused: {detail} ({cap})")]
    CompileLimit {
        /// The plugin file.
        path: PathBuf,
        /// What is over the bound, with the figure and the limit.
        detail: String,
        /// The bound's name, as in the tenant caps.
        cap: &'static str,
    },
    /// The compiling process failed for a reason that is not the plugin's.
    #[error("cannot compile plugin {path}: {message}")]
    Compile {
        /// The plugin file.
        path: PathBuf,
        /// What the compiling process said.
        message: String,
    },
    /// The wasmtime engine could not be created with sluice's settings (the
    /// message says which).
    #[error("cannot create the wasmtime engine: {0}")]
    Engine(String),
    /// A call of the plugin failed: the step's own failure.
    #[error(transparent)]
    Step(#[from] StepFailure),
}

/// Why a step call failed. Every variant carries enough to name the step
/// and the plugin in a message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepFailureKind {
    /// The call ran past its wall-clock limit.
    #[error(
        "exceeded its time limit of {timeout_ms} ms; to allow more, raise the step's \
         `limits.timeout_ms` in the pipeline file, e.g. `limits = {{ timeout_ms = 1200000 }}` \
         (a tenant's `timeout_ms` cap bounds it)"
    )]
    Timeout {
        /// The limit, in milliseconds.
        timeout_ms: u64,
    },
    /// The plugin asked to grow its memory past the limit.
    #[error(
        "exceeded its memory limit: asked for {desired} bytes, limit {limit} bytes (limits.memory_mib)"
    )]
    MemoryLimit {
        /// The memory size it asked for, in bytes.
        desired: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The call used up its instruction budget.
    #[error("exhausted its fuel budget of {fuel} (limits.fuel)")]
    FuelExhausted {
        /// The budget, in wasmtime fuel units.
        fuel: u64,
    },
    /// The plugin returned more bytes than its output limit.
    #[error(
        "returned {bytes} bytes of {what}, over its output limit of {limit_mib} MiB (limits.output_mib)"
    )]
    OutputTooLarge {
        /// The limit, in MiB.
        limit_mib: u64,
        /// How many bytes it returned (or had returned when it was stopped).
        bytes: u64,
        /// What was too large (`table`, `state`, `model`).
        what: &'static str,
    },
    /// The plugin returned more entries (columns, metrics, log lines, ...) than
    /// a limit allows.
    #[error("returned {count} {what}, over its limit of {limit} ({field})")]
    TooManyEntries {
        /// What there were too many of.
        what: &'static str,
        /// How many it returned.
        count: u64,
        /// The limit.
        limit: u64,
        /// The limit's name (`limits.NAME`).
        field: &'static str,
    },
    /// An explainer or validator called the model more often than allowed.
    #[error("called the model more than its limit of {limit} times (limits.model_calls)")]
    ModelCallLimit {
        /// The most calls allowed per step.
        limit: u64,
    },
    /// The step's limits are inconsistent or out of range, so it was not
    /// started.
    #[error("was not run: {message}")]
    InvalidLimits {
        /// Which limit, and why.
        message: String,
    },
    /// The plugin trapped (a panic, an unreachable, a bad memory access, ...).
    #[error("trapped: {message}")]
    Trap {
        /// The trap and the guest's backtrace.
        message: String,
    },
    /// The plugin returned an error of its own.
    #[error("returned an error ({kind}): {message}")]
    Guest {
        /// The WIT error kind (`invalid-params`, `invalid-input`, `internal`).
        kind: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin returned something the contract does not allow (unequal
    /// column lengths, a bad name, ...).
    #[error("returned invalid output: {message}")]
    InvalidOutput {
        /// What is wrong with it.
        message: String,
    },
}

/// A failed step call with what names it in a message: the step, the plugin and
/// its digest, why, and its log.
#[derive(Debug, Clone, thiserror::Error)]
#[error("step '{step}': plugin {plugin} (sha256 {sha256_short}) {kind}", sha256_short = &sha256[..12.min(sha256.len())])]
pub struct StepFailureDetail {
    /// The step's id in the pipeline.
    pub step: String,
    /// The plugin's name.
    pub plugin: String,
    /// The plugin component's sha256, in hex.
    pub sha256: String,
    /// Why the call failed.
    pub kind: StepFailureKind,
    /// The step's log up to the failure.
    pub log: String,
}

/// A failed step call (boxed: it travels through many `Result`s).
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct StepFailure(pub Box<StepFailureDetail>);

impl std::ops::Deref for StepFailure {
    type Target = StepFailureDetail;
    fn deref(&self) -> &StepFailureDetail {
        &self.0
    }
}

/// An error and its causes as `{e:?}` shows them (`Caused by:` and the
/// causes, numbered when there are several), without the host's stack
/// backtrace `{e:?}` appends when RUST_BACKTRACE is set: host frames say
/// nothing to a plugin's author and do not belong in a run record. The
/// guest's Wasm backtrace is one of the causes' text, so it stays.
pub(crate) fn error_chain(e: &wasmtime::Error) -> String {
    use std::fmt::Write as _;
    let mut text = e.to_string();
    let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
    if !causes.is_empty() {
        text.push_str("\n\nCaused by:");
    }
    for (n, cause) in causes.iter().enumerate() {
        if causes.len() > 1 {
            let _ = write!(text, "\n{n:>5}: {cause}");
        } else {
            let _ = write!(text, "\n    {cause}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[test]
    fn an_error_chain_reads_as_debug_does_without_the_host_backtrace() {
        let e = wasmtime::Error::msg("wasm trap: unreachable")
            .context("error while executing at wasm backtrace:\n    0: 0x1 - guest!f")
            .context("calling fit");
        let chain = error_chain(&e);
        assert_eq!(
            chain,
            "calling fit\n\nCaused by:\n    0: error while executing at wasm backtrace:\n    \
             0: 0x1 - guest!f\n    1: wasm trap: unreachable"
        );
        // Debug shows the same, then (with RUST_BACKTRACE) the host's frames.
        let debug = format!("{e:?}");
        assert!(debug.starts_with(&chain), "{debug:?}\n{chain:?}");
        let one = wasmtime::Error::msg("root").context("outer");
        assert_eq!(error_chain(&one), "outer\n\nCaused by:\n    root");
        assert_eq!(error_chain(&wasmtime::Error::msg("alone")), "alone");
    }
}
