//! A transform that attacks its sandbox, one attack per value of the
//! `attack` param. sluice's sandbox tests run each and check the host
//! stays up and says what happened.

use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform};
use std::hash::{BuildHasher, Hasher};

pub struct Hostile;

fn attack(name: &str) -> Result<Vec<u8>, StepError> {
    match name {
        "none" => Ok(Vec::new()),
        // Spin forever: the epoch deadline must stop it.
        "loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        // Grow memory without end: the memory limit must stop it.
        "grow" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                let mut chunk = vec![0u8; 16 << 20];
                chunk[0] = 1;
                hoard.push(std::hint::black_box(chunk));
            }
        }
        "panic" => panic!("hostile plugin panicked on purpose"),
        "exit" => std::process::exit(3),
        // Try to read a host file: nothing is preopened, so this fails.
        "read-file" => match std::fs::read("/etc/passwd") {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(StepError::invalid_input(format!("read failed: {e}"))),
        },
        // Environment variables and arguments: there are none.
        "env" => {
            let vars = std::env::vars().count() as u64;
            let args = std::env::args().count() as u64;
            Ok([vars.to_le_bytes(), args.to_le_bytes()].concat())
        }
        // Try to be nondeterministic: wall clock, monotonic clock, random
        // hash keys. The deterministic host makes these repeat.
        "clock-random" => {
            let wall = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let mono = std::time::Instant::now().elapsed().as_nanos();
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(42);
            let random = h.finish();
            Ok(format!("{wall} {mono} {random}").into_bytes())
        }
        // Flood stdout: the log is bounded and truncated with a marker.
        "log-spam" => {
            let line = "spam ".repeat(200);
            for _ in 0..20_000 {
                println!("{line}");
            }
            Ok(Vec::new())
        }
        // Make the host reserve a huge list through the canonical ABI's
        // realloc: return 1 GiB of state.
        "huge-state" => Ok(vec![7u8; 1 << 30]),
        other => Err(StepError::invalid_params(format!(
            "unknown attack '{other}'"
        ))),
    }
}

impl Transform for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo::new("hostile", "0.1.0", "Attacks its sandbox (tests only).").param(
            ParamSpec::text("attack", "none", "which attack to run in fit"),
        )
    }

    fn fit(_data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        attack(params.text("attack")?)
    }

    /// Returns a table whose columns have different lengths.
    fn apply(_state: Vec<u8>, _data: Table) -> Result<Table, StepError> {
        Ok(Table::new()
            .with(Column::f64("a", vec![1.0, 2.0, 3.0]))
            .with(Column::f64("b", vec![1.0])))
    }
}

sluice_sdk::export_transform!(Hostile);
