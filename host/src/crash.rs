//! Crash points: places where a test can make the process die at once, as
//! a SIGKILL would, to check that nothing recorded is lost or half-done.
//!
//! `SLUICE_CRASH_AT=NAME` in the environment aborts the process (SIGABRT,
//! no unwinding, no destructors, no flushing) when it reaches the crash
//! point `NAME`. Unset, a crash point costs one environment lookup. The
//! points:
//!
//! | name | where |
//! |---|---|
//! | `run-before-register` | a run's steps all succeeded and every output is stored; its models are not registered yet |
//! | `run-before-finish` | its models are registered; the run is not recorded as ended yet |

/// Abort the process here if `SLUICE_CRASH_AT` names this point.
pub fn point(name: &str) {
    if std::env::var_os("SLUICE_CRASH_AT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}
