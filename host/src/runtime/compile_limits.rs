//! What a plugin may ask the compiler to do, checked before compiling.
//!
//! Cranelift's time and memory grow with what it compiles, and faster than
//! linearly with the size of one function: a straight-line function of a
//! few MiB takes gigabytes and minutes (docs/benchmarks.md).
//! So a component is read once with `wasmparser` before anything is
//! compiled (or loaded from the compile cache, so the outcome never
//! depends on what happens to be cached): its size, its number of
//! function bodies, each body's size and locals are bounded by
//! [`CompileLimits`], and its imports and exports give its world and what
//! it asks of the host (`plugin::inspect`). The compilation
//! itself then runs in a child process bounded in memory and time
//! ([`super::compiler`]).

use super::error::RuntimeError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use wasmparser::{ComponentTypeRef, Parser, Payload};

/// The bounds of compiling one plugin. Each has a default that every
/// plugin in `plugins/` passes with a wide margin (the largest function
/// body among them, CPython's interpreter loop, is 417 KiB); a tenant's
/// caps of the same names replace them for its pipelines.
///
/// | field | default | bounds | checked |
/// |---|---|---|---|
/// | `plugin_mib` | 128 | the component's size | before it is read whole, and on its bytes |
/// | `max_functions` | 100 000 | function bodies in all its core modules | before compiling |
/// | `max_function_kib` | 2048 | the size of each function body | before compiling |
/// | `max_locals` | 10 000 | the locals of each function | before compiling |
/// | `compile_mib` | 4096 | the address space of the compiling process | while compiling, in a child process (`RLIMIT_AS`) |
/// | `compile_ms` | 300 000 | the wall time of the compilation | while compiling: the child is killed at the limit (and `RLIMIT_CPU` stops it if the host dies) |
///
/// `compile_mib` and `compile_ms` hold only when the runtime compiles in a
/// child process ([`super::Compiler::Process`], what the `sluice` command
/// does); compiling in-process, only the static bounds hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompileLimits {
    /// The component's size, in MiB.
    pub plugin_mib: u64,
    /// Function bodies in all its core modules.
    pub max_functions: u64,
    /// The size of each function body, in KiB.
    pub max_function_kib: u64,
    /// The locals of each function.
    pub max_locals: u64,
    /// The address space of the compiling process, in MiB.
    pub compile_mib: u64,
    /// The wall time of the compilation, in milliseconds.
    pub compile_ms: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits {
            plugin_mib: 128,
            max_functions: 100_000,
            max_function_kib: 2048,
            max_locals: 10_000,
            compile_mib: 4096,
            compile_ms: 300_000,
        }
    }
}

impl CompileLimits {
    /// `plugin_mib` in bytes.
    pub fn plugin_bytes(&self) -> u64 {
        self.plugin_mib.saturating_mul(1 << 20)
    }

    /// A component of `len` bytes within `plugin_mib`, or the error naming
    /// the plugin and the cap.
    pub(crate) fn check_size(&self, len: u64, path: &Path) -> Result<(), RuntimeError> {
        if len <= self.plugin_bytes() {
            return Ok(());
        }
        Err(RuntimeError::CompileLimit {
            path: path.to_path_buf(),
            detail: format!(
                "the component is {}, over the {} MiB limit",
                size_text(len),
                self.plugin_mib
            ),
            cap: "plugin_mib",
        })
    }
}

/// The names a component imports and exports at its top level.
#[derive(Debug, Default)]
pub struct Surveyed {
    /// Imported interfaces and functions, by name.
    pub imports: Vec<String>,
    /// Exported interfaces and functions, by name.
    pub exports: Vec<String>,
}

/// Read a component without compiling it: check it against `limits` and
/// collect its top-level imports and exports. A malformed binary is
/// refused as not a component, naming where the reader stopped.
pub fn survey(bytes: &[u8], limits: &CompileLimits, path: &Path) -> Result<Surveyed, RuntimeError> {
    limits.check_size(bytes.len() as u64, path)?;
    let over = |detail: String, cap: &'static str| RuntimeError::CompileLimit {
        path: path.to_path_buf(),
        detail,
        cap,
    };
    let malformed = |e: wasmparser::BinaryReaderError| RuntimeError::NotAComponent {
        path: path.to_path_buf(),
        reason: format!("{e}"),
    };
    let mut surveyed = Surveyed::default();
    // Depth 0 is the component itself; nested modules and components are
    // deeper, and their imports and exports are not the plugin's.
    let mut depth = 0usize;
    let mut modules = 0u64;
    let mut functions = 0u64;
    // The function body's index within its core module.
    let mut body = 0u64;
    let max_body = limits.max_function_kib.saturating_mul(1024);
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(malformed)? {
            Payload::ModuleSection { .. } => {
                depth += 1;
                modules += 1;
                body = 0;
            }
            Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(malformed)?;
                    // A type import (a WIT `use` of a type) asks nothing of
                    // the host, as wasmtime sees it too; a resource type no
                    // host function comes with fails to link.
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        surveyed.imports.push(import.name.name.to_string());
                    }
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    surveyed
                        .exports
                        .push(export.map_err(malformed)?.name.name.to_string());
                }
            }
            Payload::CodeSectionEntry(function) => {
                functions += 1;
                if functions > limits.max_functions {
                    return Err(over(
                        format!("it has more than {} function bodies", limits.max_functions),
                        "max_functions",
                    ));
                }
                let which = format!("function body {body} of core module {}", modules - 1);
                body += 1;
                let range = function.range();
                let size = (range.end - range.start) as u64;
                if size > max_body {
                    return Err(over(
                        format!(
                            "{which} is {}, over the {} KiB limit",
                            size_text(size),
                            limits.max_function_kib
                        ),
                        "max_function_kib",
                    ));
                }
                let mut locals = 0u64;
                for declared in function.get_locals_reader().map_err(malformed)? {
                    locals += u64::from(declared.map_err(malformed)?.0);
                    if locals > limits.max_locals {
                        return Err(over(
                            format!("{which} declares more than {} locals", limits.max_locals),
                            "max_locals",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(surveyed)
}

/// Bytes as KiB or MiB, one decimal.
fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component with one core module whose one function is `body`
    /// (WAT instructions) with `locals` i32 locals.
    fn component(locals: usize, body: &str) -> Vec<u8> {
        wat::parse_str(format!(
            "(component (import \"wasi:io/streams@0.2.3\" (instance)) \
             (type $t (record (field \"a\" u8))) (import \"t\" (type (eq $t))) \
             (core module (func (export \"f\") {} {body})) \
             (core module (func)) \
             (component (import \"inner\" (instance))))",
            if locals == 0 {
                String::new()
            } else {
                format!("(local {})", "i32 ".repeat(locals))
            }
        ))
        .unwrap()
    }

    fn refused(bytes: &[u8], limits: CompileLimits) -> String {
        survey(bytes, &limits, Path::new("p.wasm"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_component_within_its_limits_gives_its_top_level_imports() {
        let bytes = component(3, "nop");
        let s = survey(&bytes, &CompileLimits::default(), Path::new("p.wasm")).unwrap();
        assert_eq!(s.imports, vec!["wasi:io/streams@0.2.3"]);
        assert!(s.exports.is_empty());
    }

    #[test]
    fn each_static_bound_is_named_with_the_plugin() {
        let d = CompileLimits::default();
        let big = component(0, &"i32.const 1 drop ".repeat(700));
        let e = refused(
            &big,
            CompileLimits {
                max_function_kib: 1,
                ..d
            },
        );
        assert!(
            e.contains("p.wasm")
                && e.contains("function body 0 of core module 0 is 2.1 KiB, over the 1 KiB limit")
                && e.contains("(max_function_kib)"),
            "{e}"
        );
        let e = refused(&component(5, "nop"), CompileLimits { max_locals: 4, ..d });
        assert!(
            e.contains("function body 0 of core module 0 declares more than 4 locals (max_locals)"),
            "{e}"
        );
        let e = refused(
            &component(0, "nop"),
            CompileLimits {
                max_functions: 1,
                ..d
            },
        );
        assert!(
            e.contains("more than 1 function bodies (max_functions)"),
            "{e}"
        );
        let e = refused(&vec![0; 2 << 20], CompileLimits { plugin_mib: 1, ..d });
        assert!(
            e.contains("the component is 2.0 MiB, over the 1 MiB limit (plugin_mib)"),
            "{e}"
        );
    }
}
