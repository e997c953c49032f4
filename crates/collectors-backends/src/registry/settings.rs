//! [`SourceSettings`]: what a connector factory builds from: the plain settings of a data
//! source and its secrets, kept apart.

use std::collections::BTreeMap;
use std::fmt;

use collectors_core::{DataSourceType, Error, Metadata, Result};
use secrecy::SecretString;

/// The settings of one registered data source as its connector factory receives them: the
/// plain settings (`uri`, `aws_region` …) and the secret ones as [`SecretString`]s, keyed by
/// their declared (lower-case) key. `Debug` lists the secret keys, never their values.
///
/// ```
/// use std::collections::BTreeMap;
/// use collectors_backends::registry::SourceSettings;
/// use collectors_core::DataSourceType;
///
/// let mut plain = serde_json::Map::new();
/// plain.insert("uri".into(), "s3://bucket/raw".into());
/// let secrets = BTreeMap::from([("aws_secret_access_key".to_owned(), "hunter2".into())]);
/// let settings = SourceSettings::new("raw", DataSourceType::S3, plain, secrets);
/// assert_eq!(settings.require_str("uri").unwrap(), "s3://bucket/raw");
/// assert!(settings.secret("aws_secret_access_key").is_some());
/// assert!(!format!("{settings:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
pub struct SourceSettings {
    id: String,
    source_type: DataSourceType,
    plain: Metadata,
    secrets: BTreeMap<String, SecretString>,
}

impl fmt::Debug for SourceSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceSettings")
            .field("id", &self.id)
            .field("source_type", &self.source_type)
            .field("plain", &self.plain)
            .field("secret_keys", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SourceSettings {
    /// Settings of the source `id`.
    pub fn new(
        id: impl Into<String>,
        source_type: DataSourceType,
        plain: Metadata,
        secrets: BTreeMap<String, SecretString>,
    ) -> Self {
        Self {
            id: id.into(),
            source_type,
            plain,
            secrets,
        }
    }

    /// The data source's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its type.
    pub fn source_type(&self) -> DataSourceType {
        self.source_type
    }

    /// The plain settings.
    pub fn plain(&self) -> &Metadata {
        &self.plain
    }

    /// One secret setting.
    pub fn secret(&self, key: &str) -> Option<&SecretString> {
        self.secrets.get(&key.to_ascii_lowercase())
    }

    /// Every secret setting, by key.
    pub fn secrets(&self) -> &BTreeMap<String, SecretString> {
        &self.secrets
    }

    /// A plain string setting, or an [`Error::Configuration`] naming the key.
    pub fn require_str(&self, key: &str) -> Result<&str> {
        match self.plain.get(key) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(Error::configuration(format!(
                "setting `{key}` must be a non-empty string"
            ))
            .with_component(&self.id)),
            None => {
                Err(Error::configuration(format!("missing setting `{key}`"))
                    .with_component(&self.id))
            }
        }
    }
}
