//! What compiling costs, and what bounding it costs (docs/benchmarks.md,
//! and the note benches/results/2026-12-03-compile-bounds.md):
//!
//!     ./scripts/build-plugins.sh && cargo bench -p sluice-cli --bench compile
//!
//! 1. reading a component before compiling it (the static bounds, the
//!    imports and exports), for the largest plugins;
//! 2. compiling `logreg` in a child process against in the calling
//!    process (no compile cache), best of 3;
//! 3. one straight-line function of growing size (the corpus's
//!    `huge-function.wat` with a `deep:KIB` body), compiled in a child
//!    process: wall time and the child's peak resident memory.

mod common;

use common::{ms, plugin};
use sluice::runtime::compile_limits::survey;
use sluice::runtime::{CompileLimits, Compiler, Runtime, RuntimeOptions};
use std::path::Path;
use std::time::Instant;

fn runtime(compiler: Compiler) -> Runtime {
    Runtime::with_options(RuntimeOptions {
        compiler,
        ..RuntimeOptions::default()
    })
    .expect("runtime")
}

/// The peak resident memory of the largest child waited for so far, MiB.
fn children_peak_mib() -> f64 {
    // SAFETY: getrusage writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

fn main() {
    let child = Compiler::Process(env!("CARGO_BIN_EXE_sluice").into());
    println!("[1] reading a component before compiling it");
    for name in ["py_clip", "js_log_transform", "logreg"] {
        let bytes = std::fs::read(plugin(name)).unwrap();
        let t = Instant::now();
        survey(&bytes, &CompileLimits::default(), Path::new(name)).expect("within bounds");
        println!(
            "    {name}: {:.1} MB in {:.2} ms",
            bytes.len() as f64 / 1e6,
            ms(t.elapsed())
        );
    }

    let best = |compiler: &Compiler| {
        (0..3)
            .map(|_| {
                let rt = runtime(compiler.clone());
                let t = Instant::now();
                rt.load(&plugin("logreg")).expect("load logreg");
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let (inside, outside) = (best(&Compiler::InProcess), best(&child));
    println!(
        "[2] compile logreg: in this process {:.0} ms, in a child process {:.0} ms",
        ms(inside),
        ms(outside)
    );

    println!("[3] one straight-line function, compiled in a child process");
    let fixture =
        std::fs::read_to_string(common::root().join("tests/hostile/wat/huge-function.wat"))
            .unwrap();
    for kib in [256, 512, 1024, 2048] {
        let constants = kib * 1024 / 3;
        let body = "i32.const 1\n".repeat(constants) + &"i32.add\n".repeat(constants - 1);
        let wasm = wat::parse_str(fixture.replacen(";; generated\n", &body, 1)).unwrap();
        let rt = runtime(child.clone());
        let t = Instant::now();
        rt.load_bytes(&wasm, Path::new("huge-function.wasm"))
            .expect("within the default bounds");
        println!(
            "    {kib:>5} KiB: {:.1} s, peak {:.0} MiB",
            t.elapsed().as_secs_f64(),
            children_peak_mib()
        );
    }
}
