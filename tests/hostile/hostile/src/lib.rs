//! A transform that attacks its sandbox, one attack per value of the
//! `attack` param. The hostile corpus (tests/hostile/corpus.toml) runs
//! each and checks the host stays up and says what happened.
//!
//! Attacks on `fit` run in `fit`. Attacks on `apply` (see [`APPLY`]) make
//! `fit` return the attack's name as the state, so a pipeline with
//! `params = { attack = "ragged" }` fails in `apply`; an empty state (the
//! default attack `none`) also returns a ragged table.

use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform};
use std::hash::{BuildHasher, Hasher};

pub struct Hostile;

/// What the `terminal` attack writes to its log and its error.
const TERMINAL_ESCAPES: &str = "\u{1b}]0;pwned-title\u{7} \u{1b}]52;c;cHduZWQ=\u{7} \
                                \u{9b}31m\u{7f}\r\u{202e}desrever";

/// Attacks that `apply` runs, chosen by the state `fit` returned.
const APPLY: &[&str] = &[
    "ragged",
    "bad-mask",
    "wide-table",
    "huge-name",
    "many-columns",
];

fn attack(name: &str) -> Result<Vec<u8>, StepError> {
    if APPLY.contains(&name) {
        return Ok(name.as_bytes().to_vec());
    }
    match name {
        "none" => Ok(Vec::new()),
        // Spin forever: the epoch deadline (or the fuel budget) stops it.
        "loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        // Finite work, always the same: it spends the same fuel every run.
        "burn" => {
            let mut x: u64 = 1;
            for i in 0..2_000_000u64 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
            }
            Ok(x.to_le_bytes().to_vec())
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
        // Wait in a host call, where no epoch check runs: a `wasi:clocks`
        // monotonic pollable an hour away, then `block` (std's sleep).
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            Ok(b"woke up".to_vec())
        }
        // The longest sleep there is: pollables of u64::MAX nanoseconds.
        "sleep-forever" => {
            std::thread::sleep(std::time::Duration::MAX);
            Ok(b"woke up".to_vec())
        }
        // Open and read a FIFO in a granted directory: the open waits for
        // a writer that never comes.
        "read-fifo" => match std::fs::read("/grants/reference/fifo") {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(StepError::invalid_input(format!("read failed: {e}"))),
        },
        "panic" => panic!("hostile plugin panicked on purpose"),
        "exit" => std::process::exit(3),
        "unreachable" => {
            #[cfg(target_arch = "wasm32")]
            core::arch::wasm32::unreachable();
            #[cfg(not(target_arch = "wasm32"))]
            unreachable!("native builds of the hostile plugin do not attack");
        }
        // Try to read a host file: nothing is preopened, so this fails.
        // Reads what a pipeline grant preopened (and fails without one).
        "read-grant" => match std::fs::read("/grants/reference/notes.txt") {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(StepError::invalid_input(format!("read failed: {e}"))),
        },
        // Tries to write into a read-only grant.
        "write-grant" => match std::fs::write("/grants/reference/evil.txt", b"x") {
            Ok(()) => Ok(b"wrote".to_vec()),
            Err(e) => Err(StepError::invalid_input(format!("write failed: {e}"))),
        },
        "read-file" => match std::fs::read("/etc/passwd") {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(StepError::invalid_input(format!("read failed: {e}"))),
        },
        // Environment variables and arguments: there are none.
        "env" => {
            let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
            let args = std::env::args().count();
            let home = std::env::var("HOME").unwrap_or_else(|_| "unset".into());
            Ok(format!("vars={} args={args} home={home} {vars:?}", vars.len()).into_bytes())
        }
        // Try to be nondeterministic: wall clock, monotonic clock, random
        // hash keys, random bytes. The deterministic host makes these repeat.
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
        // One 32 MiB log line through the host's `log` import.
        "huge-log-line" => {
            sluice_sdk::log::info("x".repeat(32 << 20));
            Ok(b"logged".to_vec())
        }
        // Make the host lift a huge list: return 1 GiB of state.
        "huge-state" => Ok(vec![7u8; 1 << 30]),
        "snoop" => snoop(),
        // Terminal escapes in the log (through the host's `log` and
        // through stdout) and in the error: OSC 0 sets the window title,
        // OSC 52 writes the clipboard, CSI (also as the one C1 character
        // U+009B) restyles, a carriage return overwrites the line, a bidi
        // override reorders what follows. The CLI must show them escaped.
        "terminal" => {
            sluice_sdk::log::info(format!("log {TERMINAL_ESCAPES}"));
            println!("stdout {TERMINAL_ESCAPES}");
            Err(StepError::invalid_input(format!(
                "error {TERMINAL_ESCAPES}"
            )))
        }
        other => Err(StepError::invalid_params(format!(
            "unknown attack '{other}'"
        ))),
    }
}

/// Look for what an earlier sandbox left in this one's memory: grow the
/// linear memory by 16 MiB behind the allocator's back, count the non-zero
/// bytes of the new pages (Wasm says they are zero), then fill them with a
/// pattern for the next instance in this pool slot to find.
#[cfg(target_arch = "wasm32")]
fn snoop() -> Result<Vec<u8>, StepError> {
    const PAGES: usize = 256;
    let old = core::arch::wasm32::memory_grow(0, PAGES);
    if old == usize::MAX {
        return Err(StepError::internal("memory.grow failed"));
    }
    // SAFETY: the pages were just added to the memory and nothing else
    // (not the allocator, which grows the memory on its own) uses them.
    let region = unsafe { std::slice::from_raw_parts_mut((old << 16) as *mut u8, PAGES << 16) };
    let dirty = region.iter().filter(|&&b| b != 0).count();
    region.fill(0xA5);
    Ok(format!("{dirty} non-zero bytes").into_bytes())
}

#[cfg(not(target_arch = "wasm32"))]
fn snoop() -> Result<Vec<u8>, StepError> {
    Err(StepError::internal("snoop looks at Wasm linear memory"))
}

impl Transform for Hostile {
    fn describe() -> PluginInfo {
        // The version and the doc carry escapes too (harmless ones: a test
        // that fails shows them raw): the CLI must show them escaped.
        PluginInfo::new(
            "hostile",
            "0.1.0\u{1b}[0m",
            "Attacks its sandbox (tests only).\u{9b}0m",
        )
        .param(ParamSpec::text(
            "attack",
            "none",
            "which attack to run in fit",
        ))
    }

    fn fit(_data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        attack(params.text("attack")?)
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        match state.as_slice() {
            // 8 Mi rows of f64: 64 MiB, over a small output limit.
            b"wide-table" => Ok(Table::new().with(Column::f64("wide", vec![0.5; 8 << 20]))),
            // 100,000 columns of one row: little data, much host work per
            // column (a schema field, a Parquet column chunk) if let in.
            b"many-columns" => Ok((0..100_000).fold(Table::new(), |t, i| {
                t.with(Column::f64(format!("c{i}"), vec![0.5]))
            })),
            // One 16 MiB string, as a column name.
            b"huge-name" => Ok(Table::new().with(Column::bool("n".repeat(16 << 20), vec![true]))),
            // A validity mask with fewer entries than rows.
            b"bad-mask" => Ok(Table::new()
                .with(Column::f64("a", vec![1.0, 2.0, 3.0]))
                .with(Column::f64("masked", vec![1.0, 2.0, 3.0]).with_valid(vec![true]))),
            // What a granted directory held: pass the input through.
            s if s.starts_with(b"reference data") => Ok(data),
            // Columns of different lengths.
            _ => Ok(Table::new()
                .with(Column::f64("a", vec![1.0, 2.0, 3.0]))
                .with(Column::f64("b", vec![1.0]))),
        }
    }
}

sluice_sdk::export_transform!(Hostile);
