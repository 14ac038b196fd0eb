//! What a step may use.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The resources one step call may use. Every field has a default that
/// denies generously-but-boundedly; a pipeline may override them per step.
///
/// | field | default | enforced by |
/// |---|---|---|
/// | `memory_mib` | 512 MiB of linear memory per instance | `ResourceLimiter`: growing past it traps the step |
/// | `timeout_ms` | 60 000 ms of wall time per call | epoch interruption: the call traps at the deadline |
/// | `log_kib` | 64 KiB of log (host `log` + stdout + stderr) | the log is truncated with a marker, the step goes on |
/// | `model_calls` | 10 000 calls to the `model` import per step | further calls fail with a step error |
///
/// Nothing else is granted: no preopened directories, no environment
/// variables, no arguments, no sockets, no name lookup. Clocks and
/// randomness are deterministic (see [`super::sandbox`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepLimits {
    /// Linear memory per instance, in MiB.
    pub memory_mib: u64,
    /// Wall time of one call into the plugin, in milliseconds.
    pub timeout_ms: u64,
    /// Bytes of log kept, in KiB.
    pub log_kib: u64,
    /// Calls a validator or explainer may make to the `model` import.
    pub model_calls: u64,
}

impl Default for StepLimits {
    fn default() -> Self {
        StepLimits {
            memory_mib: 512,
            timeout_ms: 60_000,
            log_kib: 64,
            model_calls: 10_000,
        }
    }
}

impl StepLimits {
    /// Limits for `describe()`, which must be quick and small.
    pub fn for_describe() -> Self {
        StepLimits {
            memory_mib: 128,
            timeout_ms: 5_000,
            log_kib: 16,
            model_calls: 0,
        }
    }

    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn log_bytes(&self) -> usize {
        usize::try_from(self.log_kib.saturating_mul(1024)).unwrap_or(usize::MAX)
    }
}

/// Upper bound of any step's memory: the pooling allocator reserves slots
/// of this size, and a pipeline may not ask for more.
pub const MAX_MEMORY_MIB: u64 = 4096;
