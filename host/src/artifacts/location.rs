//! Where an artifact store lives (`--store`, SLUICE_STORE).

use std::path::PathBuf;
use std::sync::Arc;

use object_store::RetryConfig;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;

use super::transient::S3Http;
use super::{ArtifactError, ArtifactStore, RetryPolicy};

/// The location of an artifact store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// Objects directly under a local directory (`DIR/sha256/...`).
    Local(PathBuf),
    /// Objects under `prefix` in an S3 bucket (`prefix/sha256/...`).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing `/` (empty: the bucket's
        /// root).
        prefix: String,
    },
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
    /// by object_store's `AmazonS3Builder::from_env`; operations are retried
    /// and stalled requests timed out as `retry` says. Nothing is contacted
    /// until the first request.
    pub fn open(&self, retry: &RetryPolicy) -> Result<ArtifactStore, ArtifactError> {
        match self {
            Self::Local(dir) => ArtifactStore::local_dir(dir),
            Self::S3 { bucket, prefix } => {
                let url = self.to_string();
                let store = s3_builder(bucket, retry).build().map_err(|e| {
                    ArtifactError::InvalidLocation {
                        location: url,
                        reason: format!("{e}; {S3_SETTINGS}"),
                    }
                })?;
                Ok(ArtifactStore::named(
                    Arc::new(store),
                    ObjectPath::from(prefix.as_str()),
                    format!("s3://{bucket}"),
                )
                .with_retries(*retry))
            }
        }
    }
}

/// Where S3 settings come from, for messages.
pub(crate) const S3_SETTINGS: &str = "S3 settings come from AWS_ENDPOINT, AWS_REGION, \
     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP";

/// An S3 client of `bucket` as sluice makes every one (the artifact store
/// and datasets on S3 alike): settings from the AWS_* variables, one try
/// per request (sluice retries whole operations itself, `retry.rs`) and
/// stalled requests timed out as `retry` says.
pub(crate) fn s3_builder(bucket: &str, retry: &RetryPolicy) -> AmazonS3Builder {
    AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        })
        .with_http_connector(S3Http {
            timeout: retry.request_timeout,
        })
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
