//! What the benchmarks share: the built plugins, and milliseconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The workspace's root: the benchmarks are the `sluice` package's
/// (host/) and the `sluice-cli` package's (host/cli/).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("wit").is_dir())
        .expect("the benchmarks live in the workspace")
        .to_path_buf()
}

/// A plugin built by scripts/build-plugins.sh (the process ends, saying
/// so, when it is missing).
pub fn plugin(name: &str) -> PathBuf {
    let p = root()
        .join("target/wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    if !p.is_file() {
        eprintln!(
            "{} is missing: run ./scripts/build-plugins.sh first",
            p.display()
        );
        std::process::exit(1);
    }
    p
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
