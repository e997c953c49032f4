//! [`StoreUri`]: where a connector points, parsed and checked before anything is built.

use std::fmt;
use std::path::{Path, PathBuf};

use ::object_store::path::Path as ObjectPath;
use collectors_core::{Error, Result};
use url::Url;

/// The kind of store a URI names.
///
/// ```
/// use collectors_backends::object_store::{StoreScheme, StoreUri};
///
/// assert_eq!(StoreUri::parse("s3://bucket/raw").unwrap().scheme(), StoreScheme::S3);
/// assert_eq!(StoreUri::parse("data/incoming").unwrap().scheme(), StoreScheme::Local);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreScheme {
    /// A local directory: `file:///…` or a plain path.
    Local,
    /// An in-process store: `memory://`.
    Memory,
    /// Amazon S3 and compatible servers: `s3://bucket/prefix` (feature `aws`).
    S3,
    /// Google Cloud Storage: `gs://bucket/prefix` (feature `gcp`).
    Gcs,
    /// Azure Blob Storage: `az://container/prefix`, `azure://…`, `abfs://…` (feature `azure`).
    Azure,
}

impl StoreScheme {
    /// The scheme's name as written in a URI (`file`, `memory`, `s3`, `gs`, `az`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "file",
            Self::Memory => "memory",
            Self::S3 => "s3",
            Self::Gcs => "gs",
            Self::Azure => "az",
        }
    }

    /// The cargo feature of `collectors-backends` this scheme needs, if any.
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Self::Local | Self::Memory => None,
            Self::S3 => Some("aws"),
            Self::Gcs => Some("gcp"),
            Self::Azure => Some("azure"),
        }
    }
}

impl fmt::Display for StoreScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed store URI: the scheme, the bucket (or container), and the prefix inside it under
/// which a connector reads and writes.
///
/// Accepted:
/// - `file:///abs/dir` and plain paths (`data/in`, `/srv/data`): a local directory;
/// - `memory://` (an optional path is a prefix inside the store);
/// - `s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix`;
/// - `az://container/prefix`, `azure://container/prefix`, `abfs[s]://container/prefix` and
///   `abfs[s]://container@account.dfs.core.windows.net/prefix`, `adl://container/prefix`.
///
/// Refused with an [`Error::Configuration`] that names the URI: an empty URI, an unknown
/// scheme, a malformed URI, a missing bucket or container, a prefix with empty, `.` or `..`
/// segments, and credentials inside the URI (`s3://key:secret@bucket`: they belong in the
/// configuration, and the message never repeats them).
///
/// ```
/// use collectors_backends::object_store::StoreUri;
///
/// let uri = StoreUri::parse("s3://my-bucket/raw/2024/").unwrap();
/// assert_eq!(uri.bucket(), Some("my-bucket"));
/// assert_eq!(uri.prefix().as_ref(), "raw/2024");
///
/// assert!(StoreUri::parse("s3:///raw").unwrap_err().to_string().contains("bucket"));
/// assert!(StoreUri::parse("ftp://host/x").unwrap_err().to_string().contains("ftp://host/x"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUri {
    scheme: StoreScheme,
    original: String,
    url: Option<Url>,
    bucket: Option<String>,
    local_root: Option<PathBuf>,
    prefix: ObjectPath,
}

impl StoreUri {
    /// Parses `uri`; see the type's documentation for what is accepted.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the URI, as listed above.
    pub fn parse(uri: &str) -> Result<Self> {
        let trimmed = uri.trim();
        if trimmed.is_empty() {
            return Err(bad(uri, "the URI is empty"));
        }
        if trimmed.contains('\0') {
            return Err(bad(uri, "the URI contains a NUL byte"));
        }
        let Some((scheme, _)) = trimmed.split_once("://") else {
            // Not a URL: a local path.
            return Ok(Self::local(uri, PathBuf::from(trimmed)));
        };
        let scheme = scheme.to_ascii_lowercase();
        let kind = match scheme.as_str() {
            "file" => StoreScheme::Local,
            "memory" => StoreScheme::Memory,
            "s3" | "s3a" => StoreScheme::S3,
            "gs" => StoreScheme::Gcs,
            "az" | "azure" | "abfs" | "abfss" | "adl" => StoreScheme::Azure,
            other => {
                return Err(bad(
                    uri,
                    &format!(
                        "unknown scheme `{other}`; supported: file://, plain paths, memory://, \
                         s3://, gs://, az://, azure://, abfs://"
                    ),
                ));
            }
        };
        // The URL parser would resolve `.` and `..` away: refuse them while they are visible.
        let rest = &trimmed[scheme.len() + 3..];
        let path_part = rest.split(['?', '#']).next().unwrap_or_default();
        if path_part.split('/').skip(1).any(|s| {
            let s = s.to_ascii_lowercase().replace("%2e", ".");
            s == "." || s == ".."
        }) {
            return Err(bad(
                uri,
                "invalid prefix: `.` and `..` segments are not allowed",
            ));
        }
        let url = Url::parse(trimmed).map_err(|e| bad(uri, &format!("malformed URI: {e}")))?;
        if url.password().is_some() || !url.username().is_empty() && kind != StoreScheme::Azure {
            return Err(bad(
                &redact(&url),
                "credentials do not belong in the URI; put them in the configuration",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                uri,
                "a store URI has no query or fragment (`?…`, `#…`); percent-encode `?` and `#` \
                 in names",
            ));
        }
        match kind {
            StoreScheme::Local => {
                if url
                    .host_str()
                    .is_some_and(|h| !h.is_empty() && h != "localhost")
                {
                    return Err(bad(
                        uri,
                        "a file:// URI names no host: use file:///abs/path",
                    ));
                }
                let path = url
                    .to_file_path()
                    .map_err(|()| bad(uri, "malformed file:// URI"))?;
                Ok(Self::local(uri, path))
            }
            StoreScheme::Memory => {
                let mut path = String::new();
                if let Some(host) = url.host_str() {
                    path.push_str(host);
                }
                path.push_str(url.path());
                let prefix = prefix_of(uri, &path)?;
                Ok(Self {
                    scheme: kind,
                    original: uri.to_owned(),
                    url: Some(url),
                    bucket: None,
                    local_root: None,
                    prefix,
                })
            }
            StoreScheme::S3 | StoreScheme::Gcs | StoreScheme::Azure => {
                let host = url.host_str().unwrap_or_default();
                if host.is_empty() {
                    let what = if kind == StoreScheme::Azure {
                        "container"
                    } else {
                        "bucket"
                    };
                    return Err(bad(
                        uri,
                        &format!("missing {what}: write {}://{what}/prefix", kind.as_str()),
                    ));
                }
                let bucket = if kind == StoreScheme::Azure && !url.username().is_empty() {
                    // abfs://container@account.dfs.core.windows.net/…
                    url.username().to_owned()
                } else {
                    host.to_owned()
                };
                let prefix = prefix_of(uri, url.path())?;
                Ok(Self {
                    scheme: kind,
                    original: uri.to_owned(),
                    url: Some(url),
                    bucket: Some(bucket),
                    local_root: None,
                    prefix,
                })
            }
        }
    }

    fn local(original: &str, root: PathBuf) -> Self {
        Self {
            scheme: StoreScheme::Local,
            original: original.to_owned(),
            url: None,
            bucket: None,
            local_root: Some(root),
            prefix: ObjectPath::default(),
        }
    }

    /// The kind of store.
    pub fn scheme(&self) -> StoreScheme {
        self.scheme
    }

    /// The URI as given.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The bucket or container, for cloud schemes.
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// The local directory, for `file://` and plain paths.
    pub fn local_root(&self) -> Option<&Path> {
        self.local_root.as_deref()
    }

    /// The prefix inside the store under which the connector works (empty for the whole
    /// bucket, and always for local directories, whose root is the directory itself).
    pub fn prefix(&self) -> &ObjectPath {
        &self.prefix
    }

    /// The URL of the bucket (scheme and host, no path), as object_store's builders take it.
    #[cfg_attr(
        not(any(feature = "aws", feature = "azure", feature = "gcp")),
        allow(dead_code)
    )]
    pub(crate) fn bucket_url(&self) -> Option<String> {
        let url = self.url.as_ref()?;
        let mut out = format!("{}://", url.scheme());
        if !url.username().is_empty() {
            out.push_str(url.username());
            out.push('@');
        }
        out.push_str(url.host_str().unwrap_or_default());
        Some(out)
    }
}

impl fmt::Display for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

fn prefix_of(uri: &str, path: &str) -> Result<ObjectPath> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(ObjectPath::default());
    }
    ObjectPath::from_url_path(trimmed).map_err(|e| bad(uri, &format!("invalid prefix: {e}")))
}

/// The URI without its user info, for messages.
fn redact(url: &Url) -> String {
    let mut url = url.clone();
    // Both calls only fail for URLs that cannot have user info, which then have none.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.to_string()
}

fn bad(uri: &str, why: &str) -> Error {
    Error::configuration(format!("store URI {uri:?}: {why}")).with_operation("get_connector")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_buckets_and_prefixes() {
        let cases = [
            ("s3://b/raw/x", StoreScheme::S3, Some("b"), "raw/x"),
            ("s3a://b", StoreScheme::S3, Some("b"), ""),
            ("gs://b/p/", StoreScheme::Gcs, Some("b"), "p"),
            ("az://c/p", StoreScheme::Azure, Some("c"), "p"),
            ("azure://c/p", StoreScheme::Azure, Some("c"), "p"),
            ("abfs://c/p", StoreScheme::Azure, Some("c"), "p"),
            (
                "abfss://c@acct.dfs.core.windows.net/p",
                StoreScheme::Azure,
                Some("c"),
                "p",
            ),
            ("memory://", StoreScheme::Memory, None, ""),
            ("memory:///a/b", StoreScheme::Memory, None, "a/b"),
            (
                "s3://b/with%20space/x",
                StoreScheme::S3,
                Some("b"),
                "with space/x",
            ),
        ];
        for (uri, scheme, bucket, prefix) in cases {
            let parsed = StoreUri::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(parsed.scheme(), scheme, "{uri}");
            assert_eq!(parsed.bucket(), bucket, "{uri}");
            assert_eq!(parsed.prefix().as_ref(), prefix, "{uri}");
        }
    }

    #[test]
    fn local_paths() {
        let plain = StoreUri::parse("data/in").unwrap();
        assert_eq!(plain.scheme(), StoreScheme::Local);
        assert_eq!(plain.local_root(), Some(Path::new("data/in")));
        let file = StoreUri::parse("file:///srv/my%20data").unwrap();
        assert_eq!(file.local_root(), Some(Path::new("/srv/my data")));
    }

    #[test]
    fn bad_uris_are_configuration_errors_naming_the_uri() {
        for (uri, needle) in [
            ("", "empty"),
            ("ftp://host/x", "unknown scheme"),
            ("s3://", "missing bucket"),
            ("gs:///p", "missing bucket"),
            ("az:///p", "missing container"),
            ("s3://b/a/../x", "invalid prefix"),
            ("s3://b/a//x", "invalid prefix"),
            ("s3://b/x?versionId=1", "query"),
            ("file://remote/x", "host"),
            ("s3://[::1/x", "malformed"),
        ] {
            let err = StoreUri::parse(uri).unwrap_err();
            assert_eq!(err.error_type(), collectors_core::ErrorType::Configuration);
            let text = err.to_string();
            assert!(text.contains(needle), "{uri}: {text}");
            assert!(text.contains(&format!("{uri:?}")), "{uri}: {text}");
        }
    }

    #[test]
    fn credentials_in_the_uri_are_refused_without_repeating_them() {
        let err = StoreUri::parse("s3://AKIA:hunter2@bucket/x").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("credentials"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("AKIA"),
            "{text}"
        );
    }
}
