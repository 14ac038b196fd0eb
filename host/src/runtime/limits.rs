//! What a step may use.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The resources one step call may use. Every field has a default that
/// denies generously-but-boundedly; a pipeline may override them per step
/// (`[steps.limits]`), within the maxima below.
///
/// | field | default | maximum | enforced by |
/// |---|---|---|---|
/// | `memory_mib` | 512 MiB of linear memory per instance | [`MAX_MEMORY_MIB`] | `ResourceLimiter`: growing past it traps the step |
/// | `timeout_ms` | 600 000 ms (10 minutes) of wall time per call, the default tenant's cap | none | epoch interruption while the guest runs Wasm; a deadline raced against the call while it waits in a host call (a WASI sleep or poll, a file read, a model call): the call stops at the deadline either way |
/// | `fuel` | none (unmetered) | [`MAX_FUEL`] | wasmtime fuel on a second, metered engine: the call traps when the budget is spent |
/// | `output_mib` | 256 MiB of returned value per call | [`MAX_OUTPUT_MIB`] | the lifted WIT value is measured before the host converts or stores it |
/// | `log_kib` | 64 KiB of log (host `log` + stdout + stderr) | none | the log is truncated with a marker, the step goes on |
/// | `model_calls` | 10 000 calls to the `model` import per step | none | the call past the limit traps the step |
/// | `max_columns` | 10 000 columns in a returned table | [`MAX_ENTRIES`] | counted before the host converts or stores the table |
/// | `max_metrics` | 10 000 metrics, checks and attributions in a returned report, model or explanation | [`MAX_ENTRIES`] | counted before the host stores any of them |
///
/// `fuel` makes a budget deterministic: the same plugin on the same input
/// with the same fuel always spends the same fuel and ends the same way,
/// whatever the machine's load (a wall-time limit cannot promise that).
/// Metering costs speed, so only steps with a `fuel` limit run on the
/// metered engine; its compiled code is cached separately.
///
/// `output_mib` counts a returned value as its canonical-ABI size: 8 bytes
/// per f64/s64, 1 per bool, the bytes of every string and 8 bytes of header
/// per string and list. The value is lifted out of the guest's linear memory
/// before it can be measured, so the lift itself is bounded by `memory_mib`
/// (a value cannot be larger than the memory that holds it), not by
/// `output_mib`; what `output_mib` bounds is what the host goes on to
/// convert to Arrow, hash and store.
///
/// Nothing else is granted: no preopened directories, no environment
/// variables, no arguments, no sockets, no name lookup. Clocks and
/// randomness are deterministic (see `runtime/sandbox.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepLimits {
    /// Linear memory per instance, in MiB.
    pub memory_mib: u64,
    /// Wall time of one call into the plugin, in milliseconds.
    pub timeout_ms: u64,
    /// Fuel (roughly, Wasm instructions) one call may spend; None: unmetered.
    pub fuel: Option<u64>,
    /// Size of the value one call returns, in MiB.
    pub output_mib: u64,
    /// Bytes of log kept, in KiB.
    pub log_kib: u64,
    /// Calls a validator or explainer may make to the `model` import.
    pub model_calls: u64,
    /// Columns of a table one call returns.
    pub max_columns: u64,
    /// Metrics, checks and attributions one call returns, together.
    pub max_metrics: u64,
}

impl Default for StepLimits {
    fn default() -> Self {
        StepLimits {
            memory_mib: 512,
            // Generous, so that a long step on real data is not killed
            // at the end of a long run (issue 23): a budget is for
            // stopping a runaway plugin, which 10 minutes still does.
            timeout_ms: 600_000,
            fuel: None,
            output_mib: 256,
            log_kib: 64,
            model_calls: 10_000,
            max_columns: 10_000,
            max_metrics: 10_000,
        }
    }
}

impl StepLimits {
    /// Limits for `describe()`, which must be quick and small.
    pub fn for_describe() -> Self {
        StepLimits {
            memory_mib: 128,
            timeout_ms: 5_000,
            fuel: None,
            output_mib: 4,
            log_kib: 16,
            model_calls: 0,
            max_columns: 0,
            max_metrics: 0,
        }
    }

    /// `memory_mib` in bytes (saturating at `usize::MAX`).
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    /// `timeout_ms` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// `log_kib` in bytes (saturating at `usize::MAX`).
    pub fn log_bytes(&self) -> usize {
        usize::try_from(self.log_kib.saturating_mul(1024)).unwrap_or(usize::MAX)
    }

    /// `output_mib` in bytes.
    pub fn output_bytes(&self) -> u64 {
        self.output_mib.saturating_mul(1024 * 1024)
    }

    /// Every field within its range, or a message naming the first that is
    /// not (`limits.FIELD must be ...`).
    pub fn check(&self) -> Result<(), String> {
        if self.memory_mib == 0 || self.memory_mib > MAX_MEMORY_MIB {
            return Err(format!(
                "limits.memory_mib must be between 1 and {MAX_MEMORY_MIB}, got {}",
                self.memory_mib
            ));
        }
        if self.timeout_ms == 0 {
            return Err("limits.timeout_ms must be positive".into());
        }
        if let Some(fuel) = self.fuel
            && (fuel == 0 || fuel > MAX_FUEL)
        {
            return Err(format!(
                "limits.fuel must be between 1 and {MAX_FUEL}, got {fuel}"
            ));
        }
        if self.output_mib == 0 || self.output_mib > MAX_OUTPUT_MIB {
            return Err(format!(
                "limits.output_mib must be between 1 and {MAX_OUTPUT_MIB}, got {}",
                self.output_mib
            ));
        }
        for (field, value) in [
            ("max_columns", self.max_columns),
            ("max_metrics", self.max_metrics),
        ] {
            if value > MAX_ENTRIES {
                return Err(format!(
                    "limits.{field} must be at most {MAX_ENTRIES}, got {value}"
                ));
            }
        }
        Ok(())
    }
}

/// Upper bound of `max_columns` and `max_metrics`: past it, the host's
/// own work on one output (an Arrow schema and a Parquet footer per
/// column, a database row per metric) would outgrow any step's time.
pub const MAX_ENTRIES: u64 = 1_000_000;

/// Upper bound of any step's memory: the pooling allocator reserves slots
/// of this size, and a pipeline may not ask for more.
pub const MAX_MEMORY_MIB: u64 = 4096;

/// Upper bound of a fuel budget: about an hour of compute at typical
/// metered speeds; a step that needs more should not be metered.
pub const MAX_FUEL: u64 = 10_000_000_000_000;

/// Upper bound of a step's output: a value cannot outgrow the memory that
/// holds it, so more than [`MAX_MEMORY_MIB`] would never be reached.
pub const MAX_OUTPUT_MIB: u64 = MAX_MEMORY_MIB;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_limits_deserialize_with_defaults_and_names() {
        let l: StepLimits = toml::from_str("fuel = 1000\noutput_mib = 8").unwrap();
        assert_eq!(l.fuel, Some(1000));
        assert_eq!(l.output_mib, 8);
        assert_eq!(l.memory_mib, StepLimits::default().memory_mib);
        let d: StepLimits = toml::from_str("").unwrap();
        assert_eq!(d, StepLimits::default());
        assert_eq!(d.fuel, None);
        assert_eq!(d.output_mib, 256);
        assert!(toml::from_str::<StepLimits>("fuell = 1").is_err());
    }

    #[test]
    fn limits_out_of_range_are_named() {
        assert!(StepLimits::default().check().is_ok());
        assert!(StepLimits::for_describe().check().is_ok());
        let bad = |l: StepLimits, fragment: &str| {
            let e = l.check().unwrap_err();
            assert!(e.contains(fragment), "{e}");
        };
        let d = StepLimits::default();
        bad(StepLimits { fuel: Some(0), ..d }, "limits.fuel");
        bad(
            StepLimits {
                fuel: Some(MAX_FUEL + 1),
                ..d
            },
            "limits.fuel",
        );
        bad(StepLimits { output_mib: 0, ..d }, "limits.output_mib");
        bad(
            StepLimits {
                output_mib: MAX_OUTPUT_MIB + 1,
                ..d
            },
            "limits.output_mib",
        );
        bad(
            StepLimits {
                memory_mib: MAX_MEMORY_MIB + 1,
                ..d
            },
            "limits.memory_mib",
        );
        bad(StepLimits { timeout_ms: 0, ..d }, "limits.timeout_ms");
        bad(
            StepLimits {
                max_columns: MAX_ENTRIES + 1,
                ..d
            },
            "limits.max_columns",
        );
        assert_eq!(StepLimits { output_mib: 3, ..d }.output_bytes(), 3 << 20);
    }

    /// Issue 23: a 60 s default killed a long run at its last step. The
    /// default is the default tenant's cap, and a step stopped at it is
    /// told the exact key that raises it.
    #[test]
    fn the_default_time_limit_is_generous_and_its_message_names_the_key() {
        let d = StepLimits::default();
        assert_eq!(d.timeout_ms, 600_000);
        assert_eq!(
            crate::tenants::TenantCaps::default()
                .call_limits()
                .timeout_ms,
            d.timeout_ms
        );
        let stopped = crate::runtime::error::StepFailureKind::Timeout {
            timeout_ms: d.timeout_ms,
        }
        .to_string();
        assert!(
            stopped.contains("time limit of 600000 ms")
                && stopped.contains("raise the step's `limits.timeout_ms` in the pipeline file"),
            "{stopped}"
        );
    }
}
