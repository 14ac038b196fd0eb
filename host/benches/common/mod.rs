//! What the benchmarks share: the built plugins, milliseconds, medians,
//! seeded numbers and f64 tables. Not every benchmark uses every item.

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

#[allow(dead_code)]
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// SplitMix64, for benchmark data.
#[allow(dead_code)]
pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A table of f64 columns named `{prefix}0`, `{prefix}1`, ...
#[allow(dead_code)]
pub fn f64_table(columns: &[Vec<f64>], prefix: &str) -> sluice::wit::Table {
    sluice::wit::Table {
        columns: columns
            .iter()
            .enumerate()
            .map(|(i, c)| sluice::wit::Column {
                name: format!("{prefix}{i}"),
                values: sluice::wit::Values::F64s(c.clone()),
                valid: None,
            })
            .collect(),
    }
}
