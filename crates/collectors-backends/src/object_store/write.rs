//! [`WriteOptions`] and [`WriteOutcome`]: how a connector writes an object, and what it wrote.

/// How [`write_file`](super::ObjectStoreConnector::write_file) and
/// [`write_dataframe`](super::ObjectStoreConnector::write_dataframe) write.
///
/// ```
/// use collectors_backends::object_store::WriteOptions;
///
/// let options = WriteOptions::create_only().content_type("text/csv");
/// assert!(options.create_only);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Fail with [`Error::InvalidState`](collectors_core::Error::InvalidState) instead of
    /// replacing an object that exists (`PutMode::Create`: `If-None-Match: *` on S3 and
    /// Azure, a hard link locally). A create-only write is always one request, whatever
    /// its size, because object_store's multipart uploads cannot be made conditional (S3
    /// takes up to 5 GB in one `PUT`).
    pub create_only: bool,
    /// The content type to store (default: guessed from the name). Local directories keep
    /// none.
    pub content_type: Option<String>,
}

impl WriteOptions {
    /// Replace whatever is there (the default).
    pub fn overwrite() -> Self {
        Self::default()
    }

    /// Refuse to replace an existing object.
    pub fn create_only() -> Self {
        Self {
            create_only: true,
            ..Self::default()
        }
    }

    /// Sets the content type.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// What a write stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOutcome {
    /// The identifier written (relative to the connector's prefix).
    pub identifier: String,
    /// The full URI of the object.
    pub uri: String,
    /// Its size in bytes.
    pub size: u64,
    /// The store's e-tag of the new object, when it gives one.
    pub e_tag: Option<String>,
    /// Whether it went up as a multipart upload.
    pub multipart: bool,
}
