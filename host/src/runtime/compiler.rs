//! Compiling a component in a child process, bounded in memory and time.
//!
//! A plugin that passes the static bounds ([`super::compile_limits`]) can
//! still be expensive to compile. So the `sluice` command compiles in a
//! child process, `sluice __compile`: the same binary, which rebuilds the
//! same engine configuration, reads the component on its standard input
//! and writes wasmtime's serialized artifact on its standard output. The
//! child runs under `RLIMIT_AS` (`compile_mib`), `RLIMIT_CPU` (a backstop:
//! `compile_ms` times the cores, in case the host dies) and no core dumps,
//! dies with the host (`PR_SET_PDEATHSIG`), and is killed at `compile_ms`
//! of wall time. The host then loads the artifact as it loads a compile
//! cache entry. A child whose engine differs from the host's (another
//! build of sluice) refuses to compile, saying so.
//!
//! Code that embeds the library and is not the `sluice` binary compiles in
//! its own process unless it names a `sluice` binary of the same build
//! ([`Compiler::Process`]); then only the static bounds hold.

use super::compile_limits::CompileLimits;
use super::error::RuntimeError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use wasmtime::Engine;

/// Where a runtime compiles components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiler {
    /// In the calling process: only the static bounds of
    /// [`CompileLimits`] hold (the default of the library).
    InProcess,
    /// In a child process, `PROGRAM __compile ...`: PROGRAM must be a
    /// `sluice` binary of the same build as the library.
    Process(PathBuf),
}

impl Compiler {
    /// The running executable, which must be the `sluice` command (its
    /// `/proc/self/exe`, which stays this build even if the file on disk is
    /// replaced while it runs).
    pub fn this_executable() -> Self {
        Compiler::Process(PathBuf::from("/proc/self/exe"))
    }
}

/// The settings of an engine that its compiled code depends on, as the
/// compiling child rebuilds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineFlags {
    /// Whether the engine meters fuel.
    pub fuel: bool,
    /// Whether the engine canonicalizes NaNs.
    pub nan_canonicalization: bool,
}

/// The subcommand the child runs.
pub const SUBCOMMAND: &str = "__compile";

/// Exit codes of the child besides 0 (compiled) and 2 (bad usage).
pub const EXIT_INVALID: u8 = 3;
/// The child's exit code when it could not build the engine or it is not the
/// host's.
pub const EXIT_ENGINE: u8 = 4;

/// Why the child did not compile.
#[derive(Debug, thiserror::Error)]
pub enum PrecompileError {
    /// The engine could not be built, or is not the host's.
    #[error("{0}")]
    Engine(String),
    /// The component does not compile (invalid Wasm).
    #[error("{0}")]
    Invalid(String),
}

impl PrecompileError {
    /// The child's exit code for this error ([`EXIT_ENGINE`] or
    /// [`EXIT_INVALID`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            PrecompileError::Engine(_) => EXIT_ENGINE,
            PrecompileError::Invalid(_) => EXIT_INVALID,
        }
    }
}

/// The child's work: build the engine of `flags`, check it is the host's
/// (`engine_key`), compile `wasm` and return the serialized component.
pub fn precompile(
    flags: EngineFlags,
    engine_key: &str,
    wasm: &[u8],
) -> Result<Vec<u8>, PrecompileError> {
    let engine = Engine::new(&super::engine_config(flags))
        .map_err(|e| PrecompileError::Engine(format!("cannot create the engine: {e:#}")))?;
    let key = super::cache::engine_key(&engine, flags);
    if key != engine_key {
        return Err(PrecompileError::Engine(format!(
            "the compiler's engine ({key}) is not the host's ({engine_key}): the compiler \
             must be a sluice binary of the same build as the host"
        )));
    }
    let wasm = super::nans::prepare(flags, wasm).map_err(PrecompileError::Invalid)?;
    engine
        .precompile_component(&wasm)
        .map_err(|e| PrecompileError::Invalid(format!("{e:#}")))
}

/// Compile `wasm` in a child process of `program` under `limits`; the
/// serialized component, or why not (naming `path` and the limit).
pub(crate) fn compile_in_child(
    program: &Path,
    flags: EngineFlags,
    engine_key: &str,
    wasm: &[u8],
    limits: &CompileLimits,
    path: &Path,
) -> Result<Vec<u8>, RuntimeError> {
    let failed = |message: String| RuntimeError::Compile {
        path: path.to_path_buf(),
        message,
    };
    let mut command = Command::new(program);
    command
        .args([SUBCOMMAND, "--engine-key", engine_key])
        .args(flags.fuel.then_some("--fuel"))
        .args((!flags.nan_canonicalization).then_some("--no-nan-canonicalization"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let memory = limits.compile_mib.saturating_mul(1 << 20);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let cpu_seconds = limits
        .compile_ms
        .div_ceil(1000)
        .saturating_mul(cores)
        .saturating_add(1);
    // SAFETY: the closure runs in the forked child before exec and makes
    // only async-signal-safe system calls (setrlimit, prctl); it allocates
    // nothing.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || {
            set_limit(libc::RLIMIT_AS, memory, memory)?;
            // SIGXCPU at the soft limit, SIGKILL a second later.
            set_limit(libc::RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)?;
            set_limit(libc::RLIMIT_CORE, 0, 0)?;
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| failed(format!("cannot start {}: {e}", program.display())))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let deadline = started + Duration::from_millis(limits.compile_ms);
    let (waited, artifact, log) = std::thread::scope(|s| {
        // A child that dies before reading everything closes the pipe;
        // what it did is in its status.
        s.spawn(move || {
            let _ = stdin.write_all(wasm);
        });
        let artifact = s.spawn(move || {
            let mut b = Vec::new();
            stdout.read_to_end(&mut b).map(|_| b)
        });
        let log = s.spawn(move || {
            let mut b = Vec::new();
            let _ = stderr.read_to_end(&mut b);
            b
        });
        let waited = wait_until(&mut child, deadline);
        (
            waited,
            artifact.join().expect("stdout reader"),
            log.join().expect("stderr reader"),
        )
    });
    let (status, timed_out) =
        waited.map_err(|e| failed(format!("cannot wait for the compiler: {e}")))?;
    let log = String::from_utf8_lossy(&log);
    let log = log.trim();
    let over = |detail: String, cap: &'static str| RuntimeError::CompileLimit {
        path: path.to_path_buf(),
        detail,
        cap,
    };
    if timed_out {
        return Err(over(
            format!("compiling it took longer than {} ms", limits.compile_ms),
            "compile_ms",
        ));
    }
    if status.success() {
        return artifact.map_err(|e| failed(format!("cannot read the compiled component: {e}")));
    }
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) if code == i32::from(EXIT_INVALID) => Err(RuntimeError::NotAComponent {
            path: path.to_path_buf(),
            reason: log.to_string(),
        }),
        (_, Some(libc::SIGXCPU)) => Err(over(
            format!(
                "compiling it used more than {cpu_seconds} s of CPU time ({} ms on each of {cores} cores)",
                limits.compile_ms
            ),
            "compile_ms",
        )),
        _ if out_of_memory(log) => Err(over(
            format!(
                "compiling it needed more than {} MiB of memory",
                limits.compile_mib
            ),
            "compile_mib",
        )),
        _ => Err(failed(format!(
            "the compiler ({}) ended with {status}: {}",
            program.display(),
            tail(log)
        ))),
    }
}

/// Wait for `child` until `deadline`, then kill it; its status, and
/// whether it was killed for the deadline.
fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> std::io::Result<(ExitStatus, bool)> {
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status, false));
        }
        let now = Instant::now();
        if now >= deadline {
            // Killed or already ended: either way, reap it.
            let _ = child.kill();
            return Ok((child.wait()?, true));
        }
        std::thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// How a process that ran out of its address space says so: Rust's
/// allocation failure, or an `mmap` wasmtime or Cranelift could not get.
fn out_of_memory(log: &str) -> bool {
    [
        "memory allocation of",
        "Cannot allocate memory",
        "out of memory",
        "failed to allocate",
    ]
    .iter()
    .any(|m| log.contains(m))
}

/// The end of a long log, for a message.
fn tail(log: &str) -> &str {
    let mut start = log.len().saturating_sub(2000);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    &log[start..]
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct it is given and nothing else.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Runtime, RuntimeOptions, cache::engine_key, engine_config};

    /// The child builds its engine without the pooling allocator; what it
    /// compiles must still load in the runtime's (pooled) engine.
    #[test]
    fn the_child_s_engine_is_the_runtime_s() {
        for fuel in [false, true] {
            let flags = EngineFlags {
                fuel,
                nan_canonicalization: true,
            };
            let child = Engine::new(&engine_config(flags)).unwrap();
            let wasm = wat::parse_str("(component (core module (func)))").unwrap();
            assert!(precompile(flags, &engine_key(&child, flags), &wasm).is_ok());
            if !fuel {
                let rt = Runtime::with_options(RuntimeOptions::default()).unwrap();
                assert_eq!(engine_key(rt.engine(), flags), engine_key(&child, flags));
            }
        }
    }

    #[test]
    fn a_compiler_of_another_engine_refuses_to_compile() {
        let flags = EngineFlags {
            fuel: false,
            nan_canonicalization: true,
        };
        let wasm = wat::parse_str("(component)").unwrap();
        let e = precompile(flags, "0123456789abcdef", &wasm).unwrap_err();
        assert_eq!(e.exit_code(), EXIT_ENGINE);
        assert!(e.to_string().contains("same build as the host"), "{e}");
    }
}
