//! Errors of the runtime: loading a plugin, and a step call that failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error("cannot read plugin {path}: {source}")]
    ReadPlugin {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a WebAssembly component: {reason}")]
    NotAComponent { path: PathBuf, reason: String },
    #[error(
        "plugin {path} is refused: it imports what sluice does not grant: {}. A plugin may import only the sluice:plugin host/model interfaces of its world and the WASI subset (io, cli stdio/environment/exit, clocks, random, filesystem types without preopens)",
        imports.join(", ")
    )]
    ForbiddenImports { path: PathBuf, imports: Vec<String> },
    #[error(
        "plugin {path} implements no sluice world: it exports {}; expected one of validator (describe, validate), transform (describe, fit, apply), trainer (describe, train, predict), explainer (describe, explain)",
        if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
    )]
    UnknownWorld { path: PathBuf, exports: Vec<String> },
    #[error("plugin {path} cannot be linked as a {world}: {message}")]
    Link {
        path: PathBuf,
        world: &'static str,
        message: String,
    },
    /// The plugin is over a bound of [`super::CompileLimits`]: `cap` names
    /// the bound (and the tenant cap of the same name).
    #[error("plugin {path} is refused: {detail} ({cap})")]
    CompileLimit {
        path: PathBuf,
        detail: String,
        cap: &'static str,
    },
    /// The compiling process failed for a reason that is not the plugin's.
    #[error("cannot compile plugin {path}: {message}")]
    Compile { path: PathBuf, message: String },
    #[error("cannot create the wasmtime engine: {0}")]
    Engine(String),
    #[error(transparent)]
    Step(#[from] StepFailure),
}

/// Why a step call failed. Every variant carries enough to name the step
/// and the plugin in a message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepFailureKind {
    #[error("exceeded its time limit of {timeout_ms} ms (limits.timeout_ms)")]
    Timeout { timeout_ms: u64 },
    #[error(
        "exceeded its memory limit: asked for {desired} bytes, limit {limit} bytes (limits.memory_mib)"
    )]
    MemoryLimit { desired: usize, limit: usize },
    #[error("exhausted its fuel budget of {fuel} (limits.fuel)")]
    FuelExhausted { fuel: u64 },
    #[error(
        "returned {bytes} bytes of {what}, over its output limit of {limit_mib} MiB (limits.output_mib)"
    )]
    OutputTooLarge {
        limit_mib: u64,
        bytes: u64,
        what: &'static str,
    },
    #[error("returned {count} {what}, over its limit of {limit} ({field})")]
    TooManyEntries {
        what: &'static str,
        count: u64,
        limit: u64,
        field: &'static str,
    },
    #[error("called the model more than its limit of {limit} times (limits.model_calls)")]
    ModelCallLimit { limit: u64 },
    #[error("was not run: {message}")]
    InvalidLimits { message: String },
    #[error("trapped: {message}")]
    Trap { message: String },
    #[error("returned an error ({kind}): {message}")]
    Guest { kind: String, message: String },
    #[error("returned invalid output: {message}")]
    InvalidOutput { message: String },
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("step '{step}': plugin {plugin} (sha256 {sha256_short}) {kind}", sha256_short = &sha256[..12.min(sha256.len())])]
pub struct StepFailureDetail {
    pub step: String,
    pub plugin: String,
    pub sha256: String,
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
