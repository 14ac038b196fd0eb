//! How hard sluice tries when a remote store does not answer.
//!
//! Each operation on an S3 store (write, read, look up, list, delete an
//! artifact) that fails in a way that may pass ([`super::transient`]:
//! connection refused or broken, a 5xx, 429 or 408 answer, a stalled
//! request) is made again, after a backoff that doubles up to a ceiling,
//! until it succeeds, fails in a way that will not pass (404, 403, ...), or
//! the retry budget is spent: by default retries go on for a minute, long
//! enough for a server to restart. Retries are logged as warnings, so a
//! run that waits for its store says so as it waits: at most one a second
//! for a store, however many of its operations wait ([`Waiting`]).
//!
//! The operation is made again whole (a read starts over, a write sends
//! every byte again, signed anew), so a server that restarts in the middle
//! of a download is retried too. Writes are safe to repeat: an artifact's
//! key is its content.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::ArtifactError;
use super::transient;

/// How operations on a remote store are retried and when a request has
/// stalled; [`from_env`](Self::from_env) reads it from SLUICE_STORE_*.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// No retry starts later than this after the first try began
    /// (SLUICE_STORE_RETRY_TIMEOUT_MS). A try under way goes on, within
    /// `request_timeout`.
    pub budget: Duration,
    /// At most this many retries (SLUICE_STORE_MAX_RETRIES); `None`: as
    /// many as the budget allows.
    pub max_retries: Option<usize>,
    /// The first backoff (SLUICE_STORE_RETRY_BACKOFF_MS); each one after is
    /// twice the one before, up to `max_backoff`
    /// (SLUICE_STORE_RETRY_MAX_BACKOFF_MS), and a random part of each half
    /// is left out so that clients retrying together spread out.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts
    /// (SLUICE_STORE_RETRY_MAX_BACKOFF_MS).
    pub max_backoff: Duration,
    /// A request that gets no answer, or a download that gets no bytes, for
    /// this long has stalled (SLUICE_STORE_REQUEST_TIMEOUT_MS); an upload
    /// gets one more second per MiB it sends (the module `transient`).
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Retries for up to a minute, with backoff from 100 ms up to 5 s (so a
    /// server that is back is found within 5 s); a request stalls after
    /// 30 s.
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(60),
            max_retries: None,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The least time between two retry warnings about one store.
const WARNING_EVERY: Duration = Duration::from_secs(1);

/// The retries under way on one store, shared by every handle on it: the
/// operations waiting on one outage (a run writes many artifacts at once)
/// say so together, at most once every [`WARNING_EVERY`], not each on its
/// own line.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    /// Operations between their first retry and their end.
    operations: AtomicUsize,
    last_warning: Mutex<Option<Instant>>,
}

impl Waiting {
    /// Whether a retry at `now` is to be told; if so, the next one told is
    /// [`WARNING_EVERY`] later.
    fn turn_to_warn(&self, now: Instant) -> bool {
        let mut last = self
            .last_warning
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match *last {
            Some(at) if now.saturating_duration_since(at) < WARNING_EVERY => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

/// One operation counted in [`Waiting::operations`] while it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(operations: &'a AtomicUsize) -> Self {
        operations.fetch_add(1, Ordering::Relaxed);
        Self(operations)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A failed operation, after its retries.
#[derive(Debug)]
pub(crate) struct Failed {
    pub error: object_store::Error,
    /// How the retries ended, for the message: `; gave up after ..`, or
    /// empty when the error was not one to retry.
    pub gave_up: String,
}

impl Failed {
    pub(crate) fn at_once(error: object_store::Error) -> Self {
        Self {
            error,
            gave_up: String::new(),
        }
    }
}

impl RetryPolicy {
    /// The default, with overrides from SLUICE_STORE_RETRY_TIMEOUT_MS,
    /// SLUICE_STORE_MAX_RETRIES, SLUICE_STORE_RETRY_BACKOFF_MS,
    /// SLUICE_STORE_RETRY_MAX_BACKOFF_MS and SLUICE_STORE_REQUEST_TIMEOUT_MS.
    pub fn from_env() -> Result<Self, ArtifactError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ArtifactError> {
        let mut policy = Self::default();
        let read = |name: &str, least: u64| -> Result<Option<u64>, ArtifactError> {
            let Some(v) = var(name) else { return Ok(None) };
            match v.trim().parse::<u64>() {
                Ok(n) if n >= least => Ok(Some(n)),
                _ => Err(ArtifactError::InvalidLocation {
                    location: format!("{name}={v}"),
                    reason: format!("expected a whole number of at least {least}"),
                }),
            }
        };
        let ms = Duration::from_millis;
        if let Some(n) = read("SLUICE_STORE_RETRY_TIMEOUT_MS", 0)? {
            policy.budget = ms(n);
        }
        if let Some(n) = read("SLUICE_STORE_MAX_RETRIES", 0)? {
            policy.max_retries = Some(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(n) = read("SLUICE_STORE_RETRY_BACKOFF_MS", 0)? {
            policy.initial_backoff = ms(n);
        }
        if let Some(n) = read("SLUICE_STORE_RETRY_MAX_BACKOFF_MS", 0)? {
            policy.max_backoff = ms(n);
        }
        if let Some(n) = read("SLUICE_STORE_REQUEST_TIMEOUT_MS", 1)? {
            policy.request_timeout = ms(n);
        }
        Ok(policy)
    }

    /// The pause before retry number `retry` (from 0): doubling from
    /// `initial_backoff` up to `max_backoff`, less a random part of its
    /// half.
    fn backoff(&self, retry: usize) -> Duration {
        let full = self
            .initial_backoff
            .saturating_mul(1 << retry.min(20))
            .min(self.max_backoff.max(self.initial_backoff));
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        full.mul_f64(1.0 - (random as f64 / u64::MAX as f64) / 2.0)
    }

    /// Runs `attempt` until it succeeds, fails in a way that is not
    /// transient, or the policy gives up. Retries are logged as warnings
    /// naming `store` and `action` (`read artifact ..`), as `waiting`
    /// (shared by the operations on `store`) allows.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        waiting: &Waiting,
        store: &str,
        action: &str,
        mut attempt: F,
    ) -> Result<T, Failed>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, object_store::Error>>,
    {
        let start = Instant::now();
        let mut retries = 0;
        let mut counted = None;
        loop {
            let error = match attempt().await {
                Ok(done) => return Ok(done),
                Err(error) => error,
            };
            let Some(transient) = transient::find(&error) else {
                return Err(Failed::at_once(error));
            };
            let elapsed = start.elapsed();
            let spent = match self.max_retries {
                Some(max) if retries >= max => Some(format!("SLUICE_STORE_MAX_RETRIES is {max}")),
                _ if elapsed >= self.budget => Some(format!(
                    "the retry budget, SLUICE_STORE_RETRY_TIMEOUT_MS, is {}",
                    secs(self.budget)
                )),
                _ => None,
            };
            if let Some(why) = spent {
                return Err(Failed {
                    gave_up: format!(
                        "; gave up after {retries} {} in {} ({why})",
                        if retries == 1 { "retry" } else { "retries" },
                        secs(elapsed)
                    ),
                    error,
                });
            }
            let pause = self.backoff(retries).min(self.budget - elapsed);
            retries += 1;
            let counted = counted.get_or_insert_with(|| Counted::new(&waiting.operations));
            if waiting.turn_to_warn(Instant::now()) {
                let others = match counted.0.load(Ordering::Relaxed) {
                    0 | 1 => String::new(),
                    n => format!("; {n} operations on this store are waiting"),
                };
                tracing::warn!(
                    "store {store}: could not {action}: {transient}; retrying in {} \
                     (retry {retries}, {} of the {} retry budget{others})",
                    secs(pause),
                    secs(elapsed),
                    secs(self.budget)
                );
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// `1.5 s`: durations in messages.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::client::{HttpError, HttpErrorKind};
    use std::cell::Cell;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            budget: Duration::from_millis(500),
            max_retries: None,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            request_timeout: Duration::from_secs(1),
        }
    }

    fn unavailable() -> object_store::Error {
        let busy = transient::Transient::Status {
            status: "503 Service Unavailable".into(),
            text: String::new(),
        };
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(HttpError::new(HttpErrorKind::Request, busy)),
        }
    }

    fn missing() -> object_store::Error {
        object_store::Error::NotFound {
            path: "x".into(),
            source: "gone".into(),
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_one_passes() {
        let tries = Cell::new(0);
        let done = policy()
            .run(&Waiting::default(), "s3://b", "read artifact x", || async {
                tries.set(tries.get() + 1);
                if tries.get() < 4 {
                    Err(unavailable())
                } else {
                    Ok("read")
                }
            })
            .await
            .unwrap();
        assert_eq!((done, tries.get()), ("read", 4));
    }

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        let tries = Cell::new(0);
        let failed = policy()
            .run(&Waiting::default(), "s3://b", "read artifact x", || async {
                tries.set(tries.get() + 1);
                Err::<(), _>(missing())
            })
            .await
            .unwrap_err();
        assert!(matches!(failed.error, object_store::Error::NotFound { .. }));
        assert_eq!((tries.get(), failed.gave_up.as_str()), (1, ""));
    }

    #[tokio::test]
    async fn retries_end_with_the_budget_or_the_count() {
        let started = Instant::now();
        let failed = policy()
            .run(&Waiting::default(), "s3://b", "read artifact x", || async {
                Err::<(), _>(unavailable())
            })
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(5),
            "{took:?}"
        );
        assert!(
            failed.gave_up.contains("retries in")
                && failed
                    .gave_up
                    .ends_with("(the retry budget, SLUICE_STORE_RETRY_TIMEOUT_MS, is 0.5 s)"),
            "{}",
            failed.gave_up
        );

        let tries = Cell::new(0);
        let counted = RetryPolicy {
            max_retries: Some(2),
            ..policy()
        };
        let failed = counted
            .run(&Waiting::default(), "s3://b", "read artifact x", || async {
                tries.set(tries.get() + 1);
                Err::<(), _>(unavailable())
            })
            .await
            .unwrap_err();
        assert_eq!(tries.get(), 3);
        assert!(
            failed.gave_up.starts_with("; gave up after 2 retries in ")
                && failed.gave_up.ends_with("(SLUICE_STORE_MAX_RETRIES is 2)"),
            "{}",
            failed.gave_up
        );
    }

    #[test]
    fn retries_of_one_store_are_told_once_a_second() {
        let waiting = Waiting::default();
        let t0 = Instant::now();
        let told: Vec<bool> = [0, 300, 999, 1000, 1500, 2100]
            .into_iter()
            .map(|ms| waiting.turn_to_warn(t0 + Duration::from_millis(ms)))
            .collect();
        assert_eq!(told, [true, false, false, true, false, true]);
        let (a, b) = (
            Counted::new(&waiting.operations),
            Counted::new(&waiting.operations),
        );
        assert_eq!(waiting.operations.load(Ordering::Relaxed), 2);
        drop((a, b));
        assert_eq!(waiting.operations.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling_less_up_to_half() {
        let p = policy();
        for (retry, full) in [(0, 10), (1, 20), (2, 40), (3, 40), (60, 40)] {
            let pause = p.backoff(retry);
            let full = Duration::from_millis(full);
            assert!(pause <= full && pause >= full / 2, "{retry}: {pause:?}");
        }
    }

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_policy_comes_from_the_environment() {
        assert_eq!(
            RetryPolicy::from_vars(vars(&[])).unwrap(),
            RetryPolicy::default()
        );
        let set = RetryPolicy::from_vars(vars(&[
            ("SLUICE_STORE_RETRY_TIMEOUT_MS", "2000"),
            ("SLUICE_STORE_MAX_RETRIES", "3"),
            ("SLUICE_STORE_RETRY_BACKOFF_MS", "50"),
            ("SLUICE_STORE_RETRY_MAX_BACKOFF_MS", "400"),
            ("SLUICE_STORE_REQUEST_TIMEOUT_MS", "1500"),
        ]))
        .unwrap();
        assert_eq!(
            set,
            RetryPolicy {
                budget: Duration::from_secs(2),
                max_retries: Some(3),
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(400),
                request_timeout: Duration::from_millis(1500),
            }
        );
        for (name, value) in [
            ("SLUICE_STORE_RETRY_TIMEOUT_MS", "-1"),
            ("SLUICE_STORE_MAX_RETRIES", "many"),
            ("SLUICE_STORE_REQUEST_TIMEOUT_MS", "0"),
        ] {
            let err = RetryPolicy::from_vars(vars(&[(name, value)]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("{name}={value}")) && err.contains("whole number"),
                "{err}"
            );
        }
    }
}
