//! Tenants: who a run belongs to, and the caps that bound what its
//! pipelines may ask for.
//!
//! Every run belongs to one tenant (`default` when none is named). A
//! tenant's artifacts live under its own prefix of the object store
//! (`tenants/NAME/` below the store's root; `default` keeps the root), its
//! runs are visible only to it, and its caps bound every step's limits, the
//! number of its steps that run at once and the bytes it may store. Caps are
//! kept in the metadata database (`sluice tenants create|list|show|set`);
//! changing them takes an [`Admin`] (see `tenants/admin.rs`).

mod admin;

pub use admin::{Admin, NotAdmin};

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::artifacts::ArtifactStore;
use crate::runtime::{CompileLimits, StepLimits};

/// The tenant of runs that name none.
pub const DEFAULT_TENANT: &str = "default";

/// What a tenant may use. A step's limits may not go above these; a limit a
/// pipeline leaves unset is lowered to the cap when the default is higher.
///
/// | cap | default | bounds |
/// |---|---|---|
/// | `memory_mib` | 2048 | each step's linear memory |
/// | `timeout_ms` | 600 000 | each call's wall time |
/// | `log_kib` | 1024 | each step's kept log |
/// | `model_calls` | 1 000 000 | each step's calls to the `model` import |
/// | `fuel` | none | each step's fuel; when set, every step is metered |
/// | `output_mib` | 1024 | each call's returned table, state or model |
/// | `concurrency` | 4 | this tenant's steps running at once, over all its runs in a process |
/// | `storage_mib` | 10 240 | bytes of artifacts the tenant stores in all |
/// | `dataset_mib` | 1024 | the size of each dataset file a pipeline reads (no byte past it is read) |
/// | `plugin_mib` | 128 | the size of each plugin component its pipelines load |
/// | `max_functions` | 100 000 | function bodies in each plugin |
/// | `max_function_kib` | 2048 | each function body of a plugin |
/// | `max_locals` | 10 000 | the locals of each function of a plugin |
/// | `compile_mib` | 4096 | the memory of compiling one plugin |
/// | `compile_ms` | 300 000 | the wall time of compiling one plugin |
/// | `allowed_dirs` | none | host directories the tenant's pipelines may read datasets from and grant to steps, read-only |
/// | `nan_bits` | `canonical` | [`NanBits`]: `native` trades the same bits on every CPU for speed on float-heavy steps |
///
/// The plugin and compile caps are the tenant's [`CompileLimits`], checked
/// when its pipelines are planned (see [`crate::runtime::compile_limits`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantCaps {
    /// Each step's linear memory, in MiB.
    pub memory_mib: u64,
    /// Each call's wall time, in milliseconds.
    pub timeout_ms: u64,
    /// Each step's kept log, in KiB.
    pub log_kib: u64,
    /// Each step's calls to the `model` import.
    pub model_calls: u64,
    /// Each step's fuel; when set, every step is metered (`None`: unmetered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Each call's returned table, state or model, in MiB.
    pub output_mib: u64,
    /// The tenant's steps running at once, over all its runs in a process.
    pub concurrency: u32,
    /// Bytes of artifacts the tenant stores in all, in MiB.
    pub storage_mib: u64,
    /// The size of each dataset file a pipeline reads, in MiB.
    pub dataset_mib: u64,
    /// The size of each plugin component its pipelines load, in MiB.
    pub plugin_mib: u64,
    /// Function bodies in each plugin.
    pub max_functions: u64,
    /// Each function body of a plugin, in KiB.
    pub max_function_kib: u64,
    /// The locals of each function of a plugin.
    pub max_locals: u64,
    /// The memory of compiling one plugin, in MiB.
    pub compile_mib: u64,
    /// The wall time of compiling one plugin, in milliseconds.
    pub compile_ms: u64,
    /// Host directories the tenant's pipelines may read datasets from and grant
    /// to steps, read-only (none by default).
    pub allowed_dirs: Vec<PathBuf>,
    /// The NaNs the tenant's plugins compute with.
    #[serde(skip_serializing_if = "NanBits::is_canonical")]
    pub nan_bits: NanBits,
}

/// The bits of the NaNs a tenant's plugins compute.
///
/// Wasm leaves a NaN's sign and payload bits to the CPU. `Canonical`
/// (the default) rewrites every NaN a float operation makes to the one
/// canonical pattern, so a step's outputs are the same bits on every CPU:
/// a run on x86-64 verifies on aarch64. That check after every float
/// operation costs float-heavy loops up to 60% (docs/benchmarks.md).
/// `Native` leaves NaNs as the CPU makes them: a rerun on the same
/// architecture still gives the same bits (the same code on the same
/// inputs), a run on another architecture may differ in the bits of its
/// NaNs. The step cache keeps the two apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NanBits {
    /// One NaN pattern on every CPU.
    #[default]
    Canonical,
    /// The CPU's own NaNs: faster, reproducible on one architecture.
    Native,
}

impl NanBits {
    /// Whether this is the default, [`NanBits::Canonical`].
    pub fn is_canonical(&self) -> bool {
        *self == NanBits::Canonical
    }

    /// Its name, as `sluice tenants set` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            NanBits::Canonical => "canonical",
            NanBits::Native => "native",
        }
    }
}

impl Default for TenantCaps {
    fn default() -> Self {
        let compile = CompileLimits::default();
        TenantCaps {
            memory_mib: 2048,
            timeout_ms: 600_000,
            log_kib: 1024,
            model_calls: 1_000_000,
            fuel: None,
            output_mib: 1024,
            concurrency: 4,
            storage_mib: 10 * 1024,
            dataset_mib: 1024,
            plugin_mib: compile.plugin_mib,
            max_functions: compile.max_functions,
            max_function_kib: compile.max_function_kib,
            max_locals: compile.max_locals,
            compile_mib: compile.compile_mib,
            compile_ms: compile.compile_ms,
            allowed_dirs: Vec::new(),
            nan_bits: NanBits::Canonical,
        }
    }
}

/// The names of the caps, as `sluice tenants set` takes them.
pub const CAP_NAMES: &[&str] = &[
    "memory_mib",
    "timeout_ms",
    "log_kib",
    "model_calls",
    "fuel",
    "output_mib",
    "concurrency",
    "storage_mib",
    "dataset_mib",
    "plugin_mib",
    "max_functions",
    "max_function_kib",
    "max_locals",
    "compile_mib",
    "compile_ms",
    "allowed_dirs",
    "nan_bits",
];

impl TenantCaps {
    /// The default limits of one plugin call, each lowered to the cap:
    /// what a request or a monitor check of the tenant runs under.
    pub fn call_limits(&self) -> crate::runtime::StepLimits {
        let defaults = crate::runtime::StepLimits::default();
        crate::runtime::StepLimits {
            memory_mib: defaults.memory_mib.min(self.memory_mib),
            timeout_ms: defaults.timeout_ms.min(self.timeout_ms),
            fuel: self.fuel,
            log_kib: defaults.log_kib.min(self.log_kib),
            output_mib: defaults.output_mib.min(self.output_mib),
            ..defaults
        }
    }

    /// Set one cap from its text form (`fuel=none` clears the fuel cap;
    /// `allowed_dirs` takes a comma-separated list of directories).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let int = |v: &str| -> Result<u64, String> {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("cap `{name}` must be a whole number, got `{v}`"))
        };
        let positive = |v: &str| -> Result<u64, String> {
            match int(v)? {
                0 => Err(format!("cap `{name}` must be positive")),
                n => Ok(n),
            }
        };
        match name {
            "memory_mib" => {
                let n = positive(value)?;
                if n > crate::runtime::limits::MAX_MEMORY_MIB {
                    return Err(format!(
                        "cap `memory_mib` may be at most {} (the pooling allocator's slot size)",
                        crate::runtime::limits::MAX_MEMORY_MIB
                    ));
                }
                self.memory_mib = n;
            }
            "timeout_ms" => self.timeout_ms = positive(value)?,
            "log_kib" => self.log_kib = positive(value)?,
            "model_calls" => self.model_calls = int(value)?,
            "fuel" => {
                self.fuel = match value {
                    "none" | "" => None,
                    v => Some(positive(v)?),
                }
            }
            "output_mib" => self.output_mib = positive(value)?,
            "concurrency" => {
                self.concurrency = u32::try_from(positive(value)?)
                    .map_err(|_| format!("cap `concurrency` is too large: {value}"))?
            }
            "storage_mib" => self.storage_mib = positive(value)?,
            "dataset_mib" => self.dataset_mib = positive(value)?,
            "plugin_mib" => self.plugin_mib = positive(value)?,
            "max_functions" => self.max_functions = positive(value)?,
            "max_function_kib" => self.max_function_kib = positive(value)?,
            "max_locals" => self.max_locals = positive(value)?,
            "compile_mib" => self.compile_mib = positive(value)?,
            "compile_ms" => self.compile_ms = positive(value)?,
            "allowed_dirs" => {
                let mut dirs = Vec::new();
                for d in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                    let canonical = std::fs::canonicalize(d).map_err(|e| {
                        format!("cap `allowed_dirs`: cannot use the directory `{d}`: {e}")
                    })?;
                    if !canonical.is_dir() {
                        return Err(format!("cap `allowed_dirs`: `{d}` is not a directory"));
                    }
                    dirs.push(canonical);
                }
                self.allowed_dirs = dirs;
            }
            "nan_bits" => {
                self.nan_bits = match value {
                    "canonical" => NanBits::Canonical,
                    "native" => NanBits::Native,
                    other => {
                        return Err(format!(
                            "cap `nan_bits` is `canonical` or `native`, got `{other}`"
                        ));
                    }
                }
            }
            other => {
                return Err(format!(
                    "unknown cap `{other}`; the caps are {}",
                    CAP_NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The bounds of compiling the tenant's plugins.
    pub fn compile_limits(&self) -> CompileLimits {
        CompileLimits {
            plugin_mib: self.plugin_mib,
            max_functions: self.max_functions,
            max_function_kib: self.max_function_kib,
            max_locals: self.max_locals,
            compile_mib: self.compile_mib,
            compile_ms: self.compile_ms,
        }
    }

    /// The `storage_mib` cap in bytes.
    pub fn storage_bytes(&self) -> u64 {
        self.storage_mib.saturating_mul(1024 * 1024)
    }

    /// Fit a step's limits under these caps. A limit the pipeline set
    /// (named in `explicit`) above its cap is a problem, reported in
    /// `problems`; a default above the cap is lowered to it.
    pub fn bound(
        &self,
        tenant: &str,
        step: &str,
        limits: &StepLimits,
        explicit: &BTreeSet<String>,
        problems: &mut Vec<String>,
    ) -> StepLimits {
        let mut out = *limits;
        let mut fit = |field: &str, asked: u64, cap: u64, slot: &mut u64| {
            if asked <= cap {
                return;
            }
            if explicit.contains(field) {
                problems.push(format!(
                    "step '{step}': limits.{field} = {asked} is above tenant '{tenant}''s cap \
                     {field} = {cap} (`sluice tenants show {tenant}`)"
                ));
            } else {
                *slot = cap;
            }
        };
        fit(
            "memory_mib",
            limits.memory_mib,
            self.memory_mib,
            &mut out.memory_mib,
        );
        fit(
            "timeout_ms",
            limits.timeout_ms,
            self.timeout_ms,
            &mut out.timeout_ms,
        );
        fit("log_kib", limits.log_kib, self.log_kib, &mut out.log_kib);
        fit(
            "model_calls",
            limits.model_calls,
            self.model_calls,
            &mut out.model_calls,
        );
        fit(
            "output_mib",
            limits.output_mib,
            self.output_mib,
            &mut out.output_mib,
        );
        if let Some(cap) = self.fuel {
            match limits.fuel {
                // A tenant with a fuel cap has every step metered.
                None => out.fuel = Some(cap),
                Some(asked) if asked > cap => problems.push(format!(
                    "step '{step}': limits.fuel = {asked} is above tenant '{tenant}''s cap \
                     fuel = {cap} (`sluice tenants show {tenant}`)"
                )),
                Some(_) => {}
            }
        }
        out
    }
}

/// A tenant and its caps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// The tenant's name.
    pub name: String,
    /// What it may use.
    pub caps: TenantCaps,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When its caps last changed (RFC 3339, UTC).
    pub updated_at: String,
}

/// A tenant's artifact store below the store's root: `tenants/NAME/` for
/// every tenant but the default one, which keeps the root.
pub fn tenant_store(root: &ArtifactStore, tenant: &str) -> ArtifactStore {
    if tenant == DEFAULT_TENANT {
        root.clone()
    } else {
        root.scoped(&format!("tenants/{tenant}"))
    }
}

/// Tenant names: 1 to 63 characters of lowercase letters, digits and `-`,
/// starting with a letter or digit, so they are safe in object-store paths.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tenant name `{name}`: use 1 to 63 lowercase letters, digits and `-`, \
             not starting with `-`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_path_safe() {
        assert!(check_name("acme-2").is_ok());
        for bad in ["", "-x", "Acme", "a/b", "a..b", "a b", &"x".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn explicit_limits_above_a_cap_are_refused_and_defaults_lowered() {
        let caps = TenantCaps {
            memory_mib: 256,
            timeout_ms: 1000,
            ..TenantCaps::default()
        };
        let limits = StepLimits {
            memory_mib: 1024,
            ..StepLimits::default()
        };
        let mut problems = Vec::new();
        let explicit: BTreeSet<String> = ["memory_mib".to_string()].into();
        caps.bound("acme", "train", &limits, &explicit, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("limits.memory_mib = 1024"),
            "{problems:?}"
        );
        assert!(problems[0].contains("cap memory_mib = 256"), "{problems:?}");
        assert!(problems[0].contains("tenant 'acme'"), "{problems:?}");

        let mut problems = Vec::new();
        let bound = caps.bound("acme", "train", &limits, &BTreeSet::new(), &mut problems);
        assert!(problems.is_empty());
        assert_eq!(bound.memory_mib, 256);
        assert_eq!(bound.timeout_ms, 1000);
        assert_eq!(bound.log_kib, StepLimits::default().log_kib);
        assert_eq!(bound.fuel, None, "no fuel cap, no metering");
    }

    #[test]
    fn a_fuel_cap_meters_every_step() {
        let caps = TenantCaps {
            fuel: Some(1_000),
            ..TenantCaps::default()
        };
        let mut problems = Vec::new();
        let bound = caps.bound(
            "t",
            "s",
            &StepLimits::default(),
            &BTreeSet::new(),
            &mut problems,
        );
        assert_eq!(bound.fuel, Some(1_000));
        let asked = StepLimits {
            fuel: Some(5_000),
            ..StepLimits::default()
        };
        let explicit: BTreeSet<String> = ["fuel".to_string()].into();
        caps.bound("t", "s", &asked, &explicit, &mut problems);
        assert!(problems[0].contains("limits.fuel = 5000 is above tenant 't''s cap fuel = 1000"));
    }

    #[test]
    fn caps_parse_from_text_with_clear_errors() {
        let mut caps = TenantCaps::default();
        caps.set("concurrency", "2").unwrap();
        caps.set("storage_mib", "1_000").unwrap();
        caps.set("fuel", "5000000").unwrap();
        assert_eq!(
            (caps.concurrency, caps.storage_mib, caps.fuel),
            (2, 1000, Some(5_000_000))
        );
        caps.set("fuel", "none").unwrap();
        assert_eq!(caps.fuel, None);
        assert!(
            caps.set("concurrency", "0")
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            caps.set("memory_mib", "lots")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            caps.set("memory_mib", "99999")
                .unwrap_err()
                .contains("at most")
        );
        let e = caps.set("cpu", "1").unwrap_err();
        assert!(
            e.contains("unknown cap `cpu`") && e.contains("storage_mib"),
            "{e}"
        );
        assert!(caps.set("allowed_dirs", "/no/such/dir").is_err());
        caps.set("compile_mib", "256").unwrap();
        caps.set("max_function_kib", "512").unwrap();
        let limits = caps.compile_limits();
        assert_eq!((limits.compile_mib, limits.max_function_kib), (256, 512));
        assert!(
            caps.set("compile_ms", "0")
                .unwrap_err()
                .contains("positive")
        );
    }
}
