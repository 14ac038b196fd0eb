//! The `sluice` command line.

/// mimalloc, not glibc's malloc. A run moves tables of hundreds of MB
/// through host buffers (a dataset decoded and split, tables lowered into
/// sandboxes and lifted out, outputs encoded as Parquet), and on a VM that
/// gives freed memory back to its hypervisor every fresh 4 KiB page costs a
/// fault there. mimalloc takes large allocations from arenas in transparent
/// huge pages (2 MiB, one fault where 4 KiB pages took 512), and with
/// purging off (below) reuses what a step freed for the next one. On the
/// 1M-row e2e benchmark: page faults 0.49-0.52 M -> 0.16 M, system time
/// 5.3-7.7 s -> 1.6-1.9 s, wall 10.4-12.9 s -> 8.4-9.1 s against glibc
/// tuned as before (BENCHMARKS.md, "mimalloc").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    sluice::cli::main()
}

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in mimalloc.h).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Its default, 1000 ms.
const MI_DEFAULT_PURGE_DELAY: std::ffi::c_long = 1000;

/// Freed memory stays with the process instead of being handed back to the
/// kernel 1 s later: steps seconds apart reuse it warm (purging doubled the
/// page faults of the e2e benchmark and cost 1-3 s). A `sluice` process
/// lives for one command, so what it keeps is at most its peak. A
/// `MIMALLOC_PURGE_DELAY` in the environment other than the default wins.
fn keep_freed_memory() {
    // SAFETY: mimalloc's option calls only read and set its option table;
    // called before any other thread exists.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == MI_DEFAULT_PURGE_DELAY {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}
