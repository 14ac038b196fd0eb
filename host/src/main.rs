//! The `sluice` command line.

fn main() -> std::process::ExitCode {
    sluice::cli::main()
}
