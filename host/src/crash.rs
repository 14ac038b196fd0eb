//! Crash points: places where a test can make the process die at once, as
//! a SIGKILL would, to check that nothing recorded is lost or half-done;
//! and pause points, where a test can hold the process still to line up a
//! race between processes.
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
//! | `gc-before-delete` | `gc --yes` forgot the records of the artifacts it deletes; no file is deleted yet |

/// Abort the process here if `SLUICE_CRASH_AT` names this point.
pub fn point(name: &str) {
    if std::env::var_os("SLUICE_CRASH_AT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

/// Sleep here for `MS` milliseconds if `SLUICE_PAUSE_AT=NAME:MS` names this
/// point. The points:
///
/// | name | where |
/// |---|---|
/// | `storage-admitted` | an output was admitted under its tenant's storage cap and is about to be written |
pub async fn pause(name: &str) {
    let Some(value) = std::env::var_os("SLUICE_PAUSE_AT") else {
        return;
    };
    let value = value.to_string_lossy();
    if let Some((point, ms)) = value.split_once(':')
        && point == name
        && let Ok(ms) = ms.parse::<u64>()
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}
