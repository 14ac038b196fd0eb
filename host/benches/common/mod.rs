//! What the benchmarks share: the built plugins, and milliseconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A plugin built by scripts/build-plugins.sh (the process ends, saying
/// so, when it is missing).
pub fn plugin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/release")
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
