//! Where an artifact store lives (`--store`, SLUICE_STORE) and how hard it
//! tries when the service does not answer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, RetryConfig};

use super::{ArtifactError, ArtifactStore};

/// The location of an artifact store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// Objects directly under a local directory (`DIR/sha256/...`).
    Local(PathBuf),
    /// Objects under `prefix` in an S3 bucket (`prefix/sha256/...`).
    S3 { bucket: String, prefix: String },
}

impl StoreLocation {
    /// Parses `s3://bucket/prefix` (prefix optional), `file:///dir` or a
    /// plain directory path.
    pub fn parse(text: &str) -> Result<Self, ArtifactError> {
        let invalid = |reason: &str| ArtifactError::InvalidLocation {
            location: text.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid("no bucket; expected s3://BUCKET/PREFIX"));
            }
            let prefix = prefix.trim_matches('/');
            ObjectPath::parse(prefix).map_err(|e| invalid(&format!("bad prefix: {e}")))?;
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Self::Local(PathBuf::from(path)));
        }
        if text.contains("://") {
            return Err(invalid(
                "unsupported scheme; use s3://BUCKET/PREFIX, file:///DIR or a directory",
            ));
        }
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        Ok(Self::Local(PathBuf::from(text)))
    }

    /// Opens the store. S3 settings come from the usual AWS_* variables
    /// (AWS_ENDPOINT or AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ALLOW_HTTP, ...), read
    /// by object_store's `AmazonS3Builder::from_env`; requests are retried
    /// as `retry` says. Nothing is contacted until the first request.
    pub fn open(&self, retry: &RetryPolicy) -> Result<ArtifactStore, ArtifactError> {
        match self {
            Self::Local(dir) => ArtifactStore::local_dir(dir),
            Self::S3 { bucket, prefix } => {
                let url = self.to_string();
                let store = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry.to_config())
                    .build()
                    .map_err(|e| ArtifactError::InvalidLocation {
                        location: url,
                        reason: format!(
                            "{e}; S3 settings come from AWS_ENDPOINT, AWS_REGION, \
                             AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP"
                        ),
                    })?;
                Ok(ArtifactStore::named(
                    Arc::new(store),
                    ObjectPath::from(prefix.as_str()),
                    format!("s3://{bucket}"),
                ))
            }
        }
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(dir) => write!(f, "{}", dir.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// How requests to a remote store are retried: object_store's
/// [`RetryConfig`]. A failed request (connection refused or reset, a 5xx
/// or 429 answer, a timeout of a safe request) is retried after a backoff
/// that starts at `initial_backoff` and grows (doubling, with jitter) up to
/// `max_backoff`, until
/// `max_retries` retries or `timeout` since the first attempt, whichever
/// comes first; then the error names the store and the object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// object_store's defaults: 10 retries within 3 minutes, backoff from
    /// 100 ms up to 15 s.
    fn default() -> Self {
        Self {
            max_retries: 10,
            timeout: Duration::from_secs(180),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The default, with overrides from SLUICE_STORE_MAX_RETRIES,
    /// SLUICE_STORE_RETRY_TIMEOUT_MS, SLUICE_STORE_RETRY_BACKOFF_MS and
    /// SLUICE_STORE_RETRY_MAX_BACKOFF_MS.
    pub fn from_env() -> Result<Self, ArtifactError> {
        let mut policy = Self::default();
        let read = |name: &str| -> Result<Option<u64>, ArtifactError> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ArtifactError::InvalidLocation {
                        location: format!("{name}={v}"),
                        reason: "expected a whole number".to_owned(),
                    }),
            }
        };
        if let Some(n) = read("SLUICE_STORE_MAX_RETRIES")? {
            policy.max_retries = n as usize;
        }
        if let Some(ms) = read("SLUICE_STORE_RETRY_TIMEOUT_MS")? {
            policy.timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = read("SLUICE_STORE_RETRY_BACKOFF_MS")? {
            policy.initial_backoff = Duration::from_millis(ms);
        }
        if let Some(ms) = read("SLUICE_STORE_RETRY_MAX_BACKOFF_MS")? {
            policy.max_backoff = Duration::from_millis(ms);
        }
        Ok(policy)
    }

    pub fn to_config(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: self.initial_backoff,
                max_backoff: self.max_backoff.max(self.initial_backoff),
                base: 2.0,
            },
            max_retries: self.max_retries,
            retry_timeout: self.timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            StoreLocation::parse("s3://bucket/a/b/").unwrap(),
            StoreLocation::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            StoreLocation::parse("s3://bucket").unwrap().to_string(),
            "s3://bucket"
        );
        assert_eq!(
            StoreLocation::parse("file:///tmp/x").unwrap(),
            StoreLocation::Local("/tmp/x".into())
        );
        assert_eq!(
            StoreLocation::parse("rel/dir").unwrap(),
            StoreLocation::Local("rel/dir".into())
        );
        for bad in ["s3://", "s3:///prefix", "gs://bucket", ""] {
            let err = StoreLocation::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[tokio::test]
    async fn an_s3_store_is_named_by_its_url() {
        let location = StoreLocation::parse("s3://bucket/runs/x").unwrap();
        // Building contacts nothing; credentials are only needed per request.
        let store = location.open(&RetryPolicy::default()).unwrap();
        assert_eq!(store.describe(), "s3://bucket/runs/x");
        assert_eq!(
            store.scoped("tenants/acme").describe(),
            "s3://bucket/runs/x/tenants/acme"
        );
    }
}
