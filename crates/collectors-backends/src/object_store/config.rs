//! [`ObjectStoreConfig`]: the options of a store (credentials, endpoint, region …), whose
//! values never show in `Debug` or in errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use collectors_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

use crate::settings_file::{Format, parse_settings, read_settings_file};

/// The options a connector is built with: object_store's configuration keys and their
/// values, e.g. `aws_access_key_id`, `aws_secret_access_key`, `aws_region`, `aws_endpoint`,
/// `allow_http`, `azure_storage_account_name`, `azure_storage_access_key`,
/// `azure_storage_endpoint`, `google_service_account`, `timeout`.
///
/// What is not set here comes from each cloud's standard environment (`AWS_*`, `AZURE_*`,
/// `GOOGLE_*`), as object_store's `from_env` builders read it; what is set here wins. A key
/// the store does not know is an [`Error::Configuration`] at build, naming the key (never the
/// value).
///
/// Every value is kept as a [`SecretString`]: `Debug` shows the keys only.
///
/// A configuration file is a flat TOML table, YAML mapping or JSON object of keys and values;
/// strings, booleans and numbers are accepted:
///
/// ```toml
/// # my_s3_config.toml
/// aws_access_key_id = "AKIA…"
/// aws_secret_access_key = "…"
/// aws_region = "eu-west-1"
/// aws_endpoint = "http://127.0.0.1:9000"   # MinIO, moto, a sovereign cloud
/// allow_http = true
/// ```
///
/// The same as `my_s3_config.yaml` (read with `serde-saphyr`, pure Rust, no unsafe code):
///
/// ```yaml
/// aws_access_key_id: AKIA…
/// aws_region: eu-west-1
/// allow_http: true
/// ```
///
/// ```
/// use collectors_backends::object_store::ObjectStoreConfig;
///
/// let config = ObjectStoreConfig::from_toml_str(
///     "aws_access_key_id = \"AKIAEXAMPLE\"\naws_secret_access_key = \"hunter2\"\nallow_http = true",
/// )
/// .unwrap();
/// assert_eq!(config.len(), 3);
/// let shown = format!("{config:?}");
/// assert!(shown.contains("aws_secret_access_key"));
/// assert!(!shown.contains("hunter2") && !shown.contains("AKIAEXAMPLE"));
/// ```
#[derive(Clone, Default)]
pub struct ObjectStoreConfig {
    options: BTreeMap<String, SecretString>,
}

impl ObjectStoreConfig {
    /// No options: everything comes from the environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one option (the key is lower-cased, as object_store's keys are).
    #[must_use]
    pub fn with(mut self, key: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// Sets one option in place.
    pub fn set(&mut self, key: impl AsRef<str>, value: impl Into<String>) {
        self.options.insert(
            key.as_ref().trim().to_ascii_lowercase(),
            SecretString::from(value.into()),
        );
    }

    /// The number of options.
    pub fn len(&self) -> usize {
        self.options.len()
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }

    /// The option keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.options.keys().map(String::as_str)
    }

    /// The value of `key`, exposed: only for handing it to a store builder.
    #[cfg_attr(
        not(any(feature = "aws", feature = "azure", feature = "gcp")),
        allow(dead_code)
    )]
    pub(crate) fn expose(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(ExposeSecret::expose_secret)
    }

    /// Every option, exposed: only for handing them to a store builder.
    #[cfg_attr(
        not(any(feature = "aws", feature = "azure", feature = "gcp")),
        allow(dead_code)
    )]
    pub(crate) fn exposed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
    }

    /// Parses a flat TOML table of options.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] with the line of the problem; the message never quotes the
    /// file's text, which may hold a secret.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::parse(text, Format::Toml)
    }

    /// Parses a JSON object of options.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] with the line of the problem.
    pub fn from_json_str(text: &str) -> Result<Self> {
        Self::parse(text, Format::Json)
    }

    /// Parses a YAML mapping of options.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] with the line of the problem.
    pub fn from_yaml_str(text: &str) -> Result<Self> {
        Self::parse(text, Format::Yaml)
    }

    /// Reads a configuration file: `.toml`, `.yaml`/`.yml` or `.json` (see
    /// [`read_settings_file`](crate::read_settings_file)).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the file: unreadable, another extension, or not a
    /// flat table of strings, booleans and numbers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_settings(read_settings_file(path)?).map_err(|e| {
            Error::configuration(format!("{}: {}", path.display(), e.message()))
                .with_operation("read store configuration")
        })
    }

    fn parse(text: &str, format: Format) -> Result<Self> {
        let settings = parse_settings(text, format)
            .map_err(|why| Error::configuration(format!("store configuration: {why}")))?;
        Self::from_settings(settings)
    }

    /// The options of a flat mapping; a nested value is refused by its key, never shown.
    fn from_settings(settings: collectors_core::Metadata) -> Result<Self> {
        let mut out = Self::new();
        for (key, value) in settings {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => {
                    return Err(Error::configuration(format!(
                        "store configuration: `{key}` must be a string, a boolean or a number"
                    )));
                }
            };
            out.set(key, text);
        }
        Ok(out)
    }

    /// Adds the options of `other`, which win over these.
    #[must_use]
    pub fn merged(mut self, other: &ObjectStoreConfig) -> Self {
        for (key, value) in &other.options {
            self.options.insert(key.clone(), value.clone());
        }
        self
    }
}

impl fmt::Debug for ObjectStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreConfig")
            .field("keys", &self.options.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_do_not_quote_the_file() {
        let err = ObjectStoreConfig::from_toml_str("aws_secret_access_key = \"hunter2\nx = 1")
            .unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("line 1"), "{text}");
        let err = ObjectStoreConfig::from_toml_str("[nested]\nsecret = \"hunter2\"").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn json_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("c.json");
        std::fs::write(&json, r#"{"AWS_REGION": "eu-west-1", "allow_http": true}"#).unwrap();
        let config = ObjectStoreConfig::from_path(&json).unwrap();
        assert_eq!(config.expose("aws_region"), Some("eu-west-1"));
        assert_eq!(config.expose("allow_http"), Some("true"));
        let yaml = dir.path().join("c.yaml");
        std::fs::write(&yaml, "aws_region: eu-west-2\nallow_http: true\n").unwrap();
        let config = ObjectStoreConfig::from_path(&yaml).unwrap();
        assert_eq!(config.expose("aws_region"), Some("eu-west-2"));
        assert_eq!(config.expose("allow_http"), Some("true"));
        std::fs::write(&yaml, "nested:\n  aws_secret_access_key: hunter2\n").unwrap();
        let err = ObjectStoreConfig::from_path(&yaml).unwrap_err();
        assert!(err.to_string().contains("`nested`"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let missing = ObjectStoreConfig::from_path(dir.path().join("none.toml")).unwrap_err();
        assert!(missing.to_string().contains("none.toml"), "{missing}");
    }
}
