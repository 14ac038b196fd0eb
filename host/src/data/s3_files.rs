//! A dataset that is an S3 prefix (`path = "s3://BUCKET/PREFIX/"`): the
//! objects directly under it that a pattern matches, in the order of their
//! keys, read as the files of a dataset directory are
//! ([`open_data_dir`](super::open_data_dir)).
//!
//! The prefix is a directory: only the objects right under it are listed
//! (a delimiter listing; objects under a deeper `/` are not read), and a
//! name is the rest of the key after the prefix, matched by the same
//! [`FilePattern`] (hidden names never match). The client is the artifact
//! store's ([`crate::artifacts::StoreLocation`]): settings from the AWS_*
//! variables, each operation retried as the store's are.
//!
//! An object is never held in memory whole: [`S3Objects::fetch`] streams it
//! into an unnamed temporary file, which is then a [`DataFile`] like any
//! other (hashed, copied into the store, decoded from that descriptor), and
//! [`S3Objects::digest`] streams it through sha256 alone. What is read is
//! checked against the listing (its size and ETag), so an object rewritten
//! between the listing and the read fails rather than mixing two versions.

use std::fmt;
use std::io::Write;

use futures::StreamExt;
use object_store::aws::AmazonS3ConfigKey;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore};
use sha2::{Digest, Sha256};

use super::files::{FilePattern, MAX_DATASET_FILES};
use super::{DataFile, open_data_file};
use crate::artifacts::{RetryPolicy, Waiting};

/// A prefix of an S3 bucket that a dataset reads: `s3://BUCKET/PREFIX/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Prefix {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (empty: the
    /// bucket's top level).
    pub prefix: String,
}

impl S3Prefix {
    /// The prefix `text` names, if it is an `s3://` URL: `None` for a
    /// local path, an error for an `s3://` URL without a bucket or with an
    /// unusable prefix.
    pub fn parse(text: &str) -> Option<Result<S3Prefix, String>> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!(
                "`{text}` names no bucket: write s3://BUCKET/PREFIX/"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if let Err(e) = ObjectPath::parse(prefix) {
            return Some(Err(format!(
                "`{text}`: the prefix is not a key prefix: {e}"
            )));
        }
        Some(Ok(S3Prefix {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }))
    }

    /// The URL of the object called `name` under the prefix.
    pub fn url_of(&self, name: &str) -> String {
        format!("{self}{name}")
    }

    fn key_of(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }
}

impl fmt::Display for S3Prefix {
    /// `s3://BUCKET/PREFIX/`, always with the trailing `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}/", self.bucket)
        } else {
            write!(f, "s3://{}/{}/", self.bucket, self.prefix)
        }
    }
}

/// An object of a dataset's prefix, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Its name: its key after the prefix and its `/`.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, in milliseconds since 1970 (the
    /// server's clock).
    pub modified_ms: i64,
    /// Its ETag, if the server gave one: a hint of its content, never
    /// taken for a digest.
    pub e_tag: Option<String>,
}

/// What went wrong reading a dataset from S3; the message names the
/// prefix or the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum S3DataError {
    /// The S3 settings (the AWS_* variables) make no client, or hold no
    /// credentials.
    #[error("{url}: {message}")]
    Settings {
        /// The prefix.
        url: String,
        /// What is missing or wrong.
        message: String,
    },
    /// The bucket does not exist on the server.
    #[error("{url}: bucket `{bucket}` does not exist{endpoint}")]
    NoBucket {
        /// The prefix.
        url: String,
        /// The bucket.
        bucket: String,
        /// ` at ENDPOINT`, or empty for AWS itself.
        endpoint: String,
    },
    /// The listing failed (permissions, an outage after the retries, ...).
    #[error("cannot list {url}: {message}")]
    List {
        /// The prefix.
        url: String,
        /// What the server or the client said.
        message: String,
    },
    /// No object under the prefix matches the dataset's pattern.
    #[error(
        "{url} has no object matching {pattern:?} (hidden names and objects under a deeper \
         `/` are not read)"
    )]
    NoObjects {
        /// The prefix.
        url: String,
        /// The pattern.
        pattern: String,
    },
    /// More objects match than one dataset may read.
    #[error(
        "{url} has {count} objects matching {pattern:?}, more than the {MAX_DATASET_FILES} one \
         dataset may read; move older objects to another prefix, or narrow `files`"
    )]
    TooMany {
        /// The prefix.
        url: String,
        /// The pattern.
        pattern: String,
        /// How many objects matched.
        count: usize,
    },
    /// An object could not be read, or changed while it was.
    #[error("cannot read object {url}: {message}")]
    Read {
        /// The object.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// The objects of one dataset prefix, through an S3 client.
pub struct S3Objects {
    prefix: S3Prefix,
    client: Box<dyn ObjectStore>,
    retry: RetryPolicy,
    waiting: Waiting,
}

impl fmt::Debug for S3Objects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Objects({})", self.prefix)
    }
}

/// The AWS_* settings that give a client credentials: keys, a web
/// identity, a container's role, unsigned requests; or, asked for
/// explicitly, the instance metadata service.
const CREDENTIAL_KEYS: [AmazonS3ConfigKey; 6] = [
    AmazonS3ConfigKey::AccessKeyId,
    AmazonS3ConfigKey::WebIdentityTokenFile,
    AmazonS3ConfigKey::ContainerCredentialsRelativeUri,
    AmazonS3ConfigKey::ContainerCredentialsFullUri,
    AmazonS3ConfigKey::SkipSignature,
    AmazonS3ConfigKey::MetadataEndpoint,
];

impl S3Objects {
    /// A client of `prefix`'s bucket from the AWS_* variables, as the
    /// artifact store makes one, and retrying as SLUICE_STORE_* say. No
    /// credentials at all is an error at once, not a wait on an instance
    /// metadata service that is not there: set AWS_METADATA_ENDPOINT to
    /// use one.
    pub fn from_env(prefix: &S3Prefix) -> Result<S3Objects, S3DataError> {
        let settings = |message: String| S3DataError::Settings {
            url: prefix.to_string(),
            message,
        };
        let retry = RetryPolicy::from_env().map_err(|e| settings(e.to_string()))?;
        let builder = crate::artifacts::s3_builder(&prefix.bucket, &retry);
        let given = |key: &AmazonS3ConfigKey| match builder.get_config_value(key) {
            // Always there, `false` unless set.
            Some(skip) if *key == AmazonS3ConfigKey::SkipSignature => skip == "true",
            value => value.is_some_and(|v| !v.is_empty()),
        };
        if !CREDENTIAL_KEYS.iter().any(given) {
            return Err(settings(
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or \
                 AWS_WEB_IDENTITY_TOKEN_FILE, a container role, AWS_METADATA_ENDPOINT for an \
                 instance role, or AWS_SKIP_SIGNATURE=true for a public bucket)"
                    .into(),
            ));
        }
        let client = builder
            .build()
            .map_err(|e| settings(format!("{e}; {}", crate::artifacts::S3_SETTINGS)))?;
        Ok(S3Objects {
            prefix: prefix.clone(),
            client: Box::new(client),
            retry,
            waiting: Waiting::default(),
        })
    }

    /// The prefix read.
    pub fn prefix(&self) -> &S3Prefix {
        &self.prefix
    }

    /// The objects right under the prefix whose names `pattern` matches,
    /// sorted by name; an error when the bucket is missing, none match, or
    /// more than [`MAX_DATASET_FILES`] do.
    pub async fn list(&self, pattern: &FilePattern) -> Result<Vec<ListedObject>, S3DataError> {
        let url = self.prefix.to_string();
        let under =
            (!self.prefix.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.prefix.as_str()));
        let listed = self
            .retry
            .run(&self.waiting, &url, "list objects", || {
                self.client.list_with_delimiter(under.as_ref())
            })
            .await
            .map_err(|failed| self.list_error(&failed.error, &failed.gave_up))?;
        let mut objects: Vec<ListedObject> = listed
            .objects
            .into_iter()
            .filter_map(|meta| self.listed(meta))
            .filter(|o| pattern.matches(&o.name))
            .collect();
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        if objects.is_empty() {
            return Err(S3DataError::NoObjects {
                url,
                pattern: pattern.to_string(),
            });
        }
        if objects.len() > MAX_DATASET_FILES {
            return Err(S3DataError::TooMany {
                url,
                pattern: pattern.to_string(),
                count: objects.len(),
            });
        }
        Ok(objects)
    }

    /// `meta` as an object of the prefix: its name after the prefix.
    fn listed(&self, meta: ObjectMeta) -> Option<ListedObject> {
        let key = meta.location.as_ref();
        let name = if self.prefix.prefix.is_empty() {
            key
        } else {
            key.strip_prefix(self.prefix.prefix.as_str())?
                .strip_prefix('/')?
        };
        Some(ListedObject {
            name: name.to_owned(),
            size: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
            e_tag: meta.e_tag,
        })
    }

    fn list_error(&self, error: &object_store::Error, gave_up: &str) -> S3DataError {
        let text = error.to_string();
        if text.contains("NoSuchBucket") {
            let endpoint = std::env::var("AWS_ENDPOINT")
                .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
                .map(|e| format!(" at {e}"))
                .unwrap_or_default();
            return S3DataError::NoBucket {
                url: self.prefix.to_string(),
                bucket: self.prefix.bucket.clone(),
                endpoint,
            };
        }
        S3DataError::List {
            url: self.prefix.to_string(),
            message: format!("{}{gave_up}", crate::artifacts::cause(error)),
        }
    }

    fn read_error(&self, name: &str, message: String) -> S3DataError {
        S3DataError::Read {
            url: self.prefix.url_of(name),
            message,
        }
    }

    /// `object` streamed into a writer `make` makes (chunk by chunk,
    /// never whole), checking that what was read is the object listed:
    /// its size, and its ETag where both have one. Retried whole, into a
    /// new writer, as the store's reads are.
    async fn stream<W, F>(&self, object: &ListedObject, make: F) -> Result<W, S3DataError>
    where
        W: Write + Send,
        F: Fn() -> std::io::Result<W> + Sync,
    {
        let key = self.prefix.key_of(&object.name);
        let url = self.prefix.url_of(&object.name);
        let io = |e: std::io::Error| object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        };
        let (key, make) = (&key, &make);
        let read = self
            .retry
            .run(&self.waiting, &url, "read object", || async move {
                let mut sink = make().map_err(io)?;
                let got = self.client.get(key).await?;
                let e_tag = got.meta.e_tag.clone();
                let mut bytes = 0u64;
                let mut stream = got.into_stream();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    bytes += chunk.len() as u64;
                    sink.write_all(&chunk).map_err(io)?;
                }
                sink.flush().map_err(io)?;
                Ok((sink, e_tag, bytes))
            })
            .await;
        let (sink, e_tag, bytes) = read.map_err(|f| {
            self.read_error(
                &object.name,
                format!("{}{}", crate::artifacts::cause(&f.error), f.gave_up),
            )
        })?;
        let changed = match (&object.e_tag, &e_tag) {
            (Some(listed), Some(read)) => listed != read,
            _ => false,
        };
        if changed || bytes != object.size {
            return Err(self.read_error(
                &object.name,
                format!(
                    "it changed after it was listed (listed: {} bytes, ETag {}; read: {bytes} \
                     bytes, ETag {}); run again once it is written",
                    object.size,
                    object.e_tag.as_deref().unwrap_or("-"),
                    e_tag.as_deref().unwrap_or("-"),
                ),
            ));
        }
        Ok(sink)
    }

    /// `object` downloaded into a temporary file (under the system's
    /// temporary directory, unlinked once written: its descriptor keeps
    /// its bytes until it closes), open as a dataset file.
    pub async fn fetch(&self, object: &ListedObject) -> Result<DataFile, S3DataError> {
        use std::os::fd::AsRawFd;
        let spool = self.stream(object, tempfile::NamedTempFile::new).await?;
        let (file, path) = spool.into_parts();
        // Unlinked before it is opened as a dataset file, whose stamp (the
        // unlink moves the file's ctime) is then the one it keeps.
        drop(path);
        let opened = open_data_file(std::path::Path::new(&format!(
            "/proc/self/fd/{}",
            file.as_raw_fd()
        )))
        .map_err(|e| self.read_error(&object.name, e.to_string()))?;
        drop(file);
        Ok(opened)
    }

    /// The sha256 of `object`'s bytes, in hex, streamed.
    pub async fn digest(&self, object: &ListedObject) -> Result<String, S3DataError> {
        let hasher = self.stream(object, || Ok(Sha256::new())).await?;
        Ok(hex::encode(hasher.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_as_directories() {
        let p = S3Prefix::parse("s3://data/events/daily/").unwrap().unwrap();
        assert_eq!(
            (p.bucket.as_str(), p.prefix.as_str()),
            ("data", "events/daily")
        );
        assert_eq!(p.to_string(), "s3://data/events/daily/");
        assert_eq!(p.url_of("a.csv"), "s3://data/events/daily/a.csv");
        assert_eq!(p.key_of("a.csv").as_ref(), "events/daily/a.csv");
        let top = S3Prefix::parse("s3://data").unwrap().unwrap();
        assert_eq!(top.to_string(), "s3://data/");
        assert_eq!(top.key_of("a.csv").as_ref(), "a.csv");
        assert!(S3Prefix::parse("data/events").is_none());
        let e = S3Prefix::parse("s3:///events").unwrap().unwrap_err();
        assert!(e.contains("no bucket"), "{e}");
    }
}
