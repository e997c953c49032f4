//! [`ObjectStoreConfig`]: the options of a store (credentials, endpoint, region …), whose
//! values never show in `Debug` or in errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use collectors_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

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
/// A configuration file is a flat TOML table (or a JSON object) of keys and values; strings,
/// booleans and numbers are accepted:
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
/// YAML is not accepted: `serde_yaml` is archived and `serde_yml` unsound, and no maintained
/// YAML crate has been vetted for this workspace yet. A `.yaml`/`.yml` file is an
/// [`Error::Configuration`] saying so.
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

/// One value of a configuration file.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawValue {
    Text(String),
    Flag(bool),
    Integer(i64),
    Float(f64),
}

impl RawValue {
    fn into_string(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Flag(b) => b.to_string(),
            Self::Integer(i) => i.to_string(),
            Self::Float(f) => f.to_string(),
        }
    }
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
        let raw: BTreeMap<String, RawValue> = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            Error::configuration(match line {
                Some(line) => format!(
                    "store configuration, line {line}: {} (values must be strings, booleans \
                     or numbers)",
                    e.message()
                ),
                None => format!("store configuration: {}", e.message()),
            })
        })?;
        Ok(Self::from_raw(raw))
    }

    /// Parses a JSON object of options.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] with the line and column of the problem.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let raw: BTreeMap<String, RawValue> = serde_json::from_str(text).map_err(|e| {
            Error::configuration(format!(
                "store configuration, line {} column {}: expected an object of strings, \
                 booleans or numbers",
                e.line(),
                e.column()
            ))
        })?;
        Ok(Self::from_raw(raw))
    }

    /// Reads a configuration file: `.json` is JSON, anything else TOML; `.yaml`/`.yml` are
    /// refused (see the type's documentation).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the file: unreadable, YAML, or not a flat table.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let in_file = |e: Error| {
            Error::configuration(format!("{}: {}", path.display(), e.message()))
                .with_operation("read store configuration")
        };
        if matches!(extension.as_deref(), Some("yaml" | "yml")) {
            return Err(in_file(Error::configuration(
                "YAML store configurations are not supported (no maintained, sound YAML \
                 crate is vetted here); write the same keys as TOML or JSON",
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::configuration(format!("cannot read {}: {e}", path.display())).with_source(e)
        })?;
        match extension.as_deref() {
            Some("json") => Self::from_json_str(&text),
            _ => Self::from_toml_str(&text),
        }
        .map_err(in_file)
    }

    fn from_raw(raw: BTreeMap<String, RawValue>) -> Self {
        let mut out = Self::new();
        for (key, value) in raw {
            out.set(key, value.into_string());
        }
        out
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
        std::fs::write(&yaml, "a: b").unwrap();
        let err = ObjectStoreConfig::from_path(&yaml).unwrap_err();
        assert!(err.to_string().contains("YAML"), "{err}");
        let missing = ObjectStoreConfig::from_path(dir.path().join("none.toml")).unwrap_err();
        assert!(missing.to_string().contains("none.toml"), "{missing}");
    }
}
