//! [`DataSourceConfig`] and [`DataSourceType`]: how a data source is configured.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::Metadata;

/// The kind of store a connector reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DataSourceType {
    /// Files on a local file system (`file://`, plain paths).
    LocalFile,
    /// In-process memory (`memory://`), for tests.
    Memory,
    /// Amazon S3 and compatibles (`s3://`).
    S3,
    /// Google Cloud Storage (`gs://`).
    Gcs,
    /// Azure Blob Storage (`az://`, `azure://`).
    AzureBlob,
    /// PostgreSQL (`postgres://`).
    Postgresql,
    /// SQLite (`sqlite://`).
    Sqlite,
    /// A connector supplied by the host application.
    Custom,
}

/// Words that mark a configuration key as secret wherever they appear in it.
const SECRET_WORDS: [&str; 7] = [
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "credentials",
    "private",
];

/// Words that mark a key as secret when they end it (`access_key`, `sas`, `auth`), so that
/// `key_prefix` or `author` stay visible.
const SECRET_SUFFIXES: [&str; 5] = ["key", "sas", "auth", "authorization", "signature"];

/// What sensitive values are replaced with in `Debug` and [`DataSourceConfig::sanitized`].
pub const REDACTED: &str = "***";

/// Whether a configuration key names a secret (`password`, `access_key`,
/// `connection_string`, `api_token` …). Keys are split into words at `_`, `-`, `.` and case
/// changes are ignored.
///
/// ```
/// use collectors_core::is_sensitive_key;
///
/// assert!(is_sensitive_key("AWS_SECRET_ACCESS_KEY"));
/// assert!(is_sensitive_key("connection_string"));
/// assert!(!is_sensitive_key("key_prefix"));
/// assert!(!is_sensitive_key("bucket"));
/// ```
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    if key.contains("connection_string") || key.contains("connectionstring") || key.contains("dsn")
    {
        return true;
    }
    let words: Vec<&str> = key
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| SECRET_WORDS.contains(w))
        || words.last().is_some_and(|w| SECRET_SUFFIXES.contains(w))
}

/// The configuration of one data source.
///
/// `config` holds type-specific settings (bucket, container, connection string …). Values
/// whose key names a secret (see [`is_sensitive_key`]) never show: `Debug` prints them as
/// `***`, and [`sanitized`](Self::sanitized) returns a copy safe to log or return from an API.
///
/// ```
/// use collectors_core::{DataSourceConfig, DataSourceType};
///
/// let config = DataSourceConfig::new("ds-azure-prod", DataSourceType::AzureBlob, "Production")
///     .unwrap()
///     .with_setting("container_name", "data")
///     .with_setting("connection_string", "AccountKey=hunter2");
/// let shown = format!("{config:?}");
/// assert!(shown.contains("data"));
/// assert!(!shown.contains("hunter2"));
///
/// assert!(DataSourceConfig::new("", DataSourceType::S3, "no id").is_err());
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawDataSourceConfig")]
pub struct DataSourceConfig {
    /// Unique, non-empty identifier.
    pub id: String,
    /// The kind of store.
    #[serde(rename = "type")]
    pub source_type: DataSourceType,
    /// Human-readable name.
    pub name: String,
    /// Type-specific settings.
    pub config: Metadata,
    /// When the configuration was created.
    pub created_at: DateTime<Utc>,
    /// Free-form metadata (environment, owner …).
    pub metadata: Metadata,
}

/// The unchecked form serde reads, validated into [`DataSourceConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataSourceConfig {
    id: String,
    #[serde(rename = "type")]
    source_type: DataSourceType,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    config: Metadata,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    metadata: Metadata,
}

impl TryFrom<RawDataSourceConfig> for DataSourceConfig {
    type Error = Error;

    fn try_from(raw: RawDataSourceConfig) -> Result<Self> {
        let name = raw.name.unwrap_or_else(|| raw.id.clone());
        let mut config = DataSourceConfig::new(raw.id, raw.source_type, name)?;
        config.config = raw.config;
        config.metadata = raw.metadata;
        if let Some(created_at) = raw.created_at {
            config.created_at = created_at;
        }
        Ok(config)
    }
}

impl DataSourceConfig {
    /// A configuration with no settings; an empty id is a configuration error.
    pub fn new(
        id: impl Into<String>,
        source_type: DataSourceType,
        name: impl Into<String>,
    ) -> Result<Self> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(Error::configuration("a data source id must not be empty")
                .with_operation("DataSourceConfig::new"));
        }
        if id.chars().any(char::is_control) {
            return Err(Error::configuration(format!(
                "data source id {id:?} contains control characters"
            ))
            .with_operation("DataSourceConfig::new"));
        }
        Ok(Self {
            id,
            source_type,
            name: name.into(),
            config: Metadata::new(),
            created_at: Utc::now(),
            metadata: Metadata::new(),
        })
    }

    /// Adds one type-specific setting.
    #[must_use]
    pub fn with_setting(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Adds one metadata entry.
    #[must_use]
    pub fn with_metadata(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// A string setting, or a configuration error naming the missing key.
    pub fn require_str(&self, key: &str) -> Result<&str> {
        match self.config.get(key) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
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

    /// A copy whose secret settings are replaced by `***`.
    pub fn sanitized(&self) -> Self {
        Self {
            config: redact(&self.config),
            ..self.clone()
        }
    }
}

fn redact(map: &Metadata) -> Metadata {
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                _ if is_sensitive_key(k) => serde_json::Value::String(REDACTED.to_owned()),
                serde_json::Value::Object(inner) => serde_json::Value::Object(redact(inner)),
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

impl fmt::Debug for DataSourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataSourceConfig")
            .field("id", &self.id)
            .field("source_type", &self.source_type)
            .field("name", &self.name)
            .field("config", &redact(&self.config))
            .field("created_at", &self.created_at)
            .field("metadata", &self.metadata)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_secrets_are_redacted() {
        let config = DataSourceConfig::new("pg", DataSourceType::Postgresql, "db")
            .unwrap()
            .with_setting(
                "auth",
                serde_json::json!({"user": "bob", "password": "pw1"}),
            )
            .with_setting(
                "options",
                serde_json::json!({"sslmode": "require", "api_token": "zq-77"}),
            );
        let debug = format!("{config:?}");
        assert!(!debug.contains("pw1"));
        assert!(!debug.contains("zq-77"));
        assert!(debug.contains("require"));
        let json = serde_json::to_string(&config.sanitized()).unwrap();
        assert!(!json.contains("zq-77"));
    }

    #[test]
    fn deserialization_validates() {
        let bad = r#"{"id": "  ", "type": "s3"}"#;
        let err = serde_json::from_str::<DataSourceConfig>(bad).unwrap_err();
        assert!(err.to_string().contains("must not be empty"), "{err}");

        let unknown = r#"{"id": "a", "type": "s3", "bucket": "x"}"#;
        assert!(serde_json::from_str::<DataSourceConfig>(unknown).is_err());

        let good = r#"{"id": "a", "type": "s3", "config": {"bucket": "x"}}"#;
        let config: DataSourceConfig = serde_json::from_str(good).unwrap();
        assert_eq!(config.require_str("bucket").unwrap(), "x");
        assert_eq!(
            config.require_str("region").unwrap_err().error_type(),
            crate::ErrorType::Configuration
        );
        let back: DataSourceConfig =
            serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config);
    }
}
