//! The `sluice` command line.

fn main() -> std::process::ExitCode {
    tune_malloc();
    sluice::cli::main()
}

/// glibc's malloc gives freed memory back to the kernel eagerly: blocks
/// over its (adaptive) mmap threshold are unmapped when freed, and the
/// top of a heap is trimmed once 2x that threshold is free. A step moves
/// tables of hundreds of MB through host buffers again and again (every
/// model call of an explainer lifts the whole table out of one sandbox and
/// lowers it into another), so each buffer would be faulted in and zeroed
/// by the kernel on every call. A fixed 32 MiB mmap threshold (the largest
/// glibc allows) and a 1 GiB trim threshold keep freed memory for reuse;
/// peak RSS rises by what was being handed back and forth.
///
/// One arena, unless `MALLOC_ARENA_MAX` says otherwise: with an arena per
/// thread, a buffer encoded on one thread (Parquet, on the blocking pool)
/// and freed on another leaves its memory in an arena the next encoding
/// may not use, so that one faults in fresh pages instead (1M-row e2e
/// benchmark: 0.65 M page faults and 15-17 s with arenas per thread, 0.51 M
/// and 14.0 s with one). The threads that allocate at once are few: the
/// tokio workers (one per core) and the writes behind.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tuning parameters, called
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
