//! `sluice __compile`: the child process in which the runtime compiles a
//! component, bounded in memory and time (`runtime::compiler`). It reads
//! the component on standard input and writes the compiled, serialized
//! component on standard output. Hidden: not for people.

use super::output::errln;
use clap::Args;
use sluice::runtime::compiler::{EngineFlags, precompile};
use std::io::{Read, Write};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The host engine's key, which this process's engine must have.
    #[arg(long)]
    engine_key: String,
    /// Compile for the fuel-metered engine.
    #[arg(long)]
    fuel: bool,
    /// Compile without NaN canonicalization.
    #[arg(long)]
    no_nan_canonicalization: bool,
}

pub fn compile(args: CompileArgs) -> ExitCode {
    let mut wasm = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut wasm) {
        errln!("cannot read the component: {e}");
        return ExitCode::from(2);
    }
    let flags = EngineFlags {
        fuel: args.fuel,
        nan_canonicalization: !args.no_nan_canonicalization,
    };
    match precompile(flags, &args.engine_key, &wasm) {
        Ok(artifact) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&artifact).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    errln!("cannot write the compiled component: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(e) => {
            errln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}
