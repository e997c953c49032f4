//! [`SecretFields`]: which settings of a connector type are secret, declared by its factory.

use std::collections::BTreeMap;

use collectors_core::{Metadata, REDACTED};
use secrecy::{ExposeSecret, SecretString};

/// One secret setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretField {
    /// The whole value is secret (`aws_secret_access_key`, `password`, a service-account
    /// JSON).
    Value(String),
    /// A URL whose password is secret (`postgres://user:pw@host/db`): the whole URL is
    /// encrypted at rest and shown with `***` for the password; a URL without a password
    /// is shown as it is.
    UrlPassword(String),
}

impl SecretField {
    /// The setting's key.
    pub fn key(&self) -> &str {
        match self {
            Self::Value(k) | Self::UrlPassword(k) => k,
        }
    }
}

/// The secret settings of one connector type, as its factory declares them. Keys compare
/// case-insensitively (object_store's keys are lower case; `AWS_SECRET_ACCESS_KEY` is the same
/// setting).
///
/// Splitting a settings map moves the secret values out into [`SecretString`]s (a value that
/// is not a string, such as a service-account JSON object, is kept as its JSON text), so the
/// plain part can be logged, listed and stored as it is.
///
/// ```
/// use collectors_backends::credentials::SecretFields;
/// use secrecy::ExposeSecret;
///
/// let fields = SecretFields::new().with("aws_secret_access_key").with_url_password("uri");
/// let mut settings = serde_json::Map::new();
/// settings.insert("aws_region".into(), "eu-west-1".into());
/// settings.insert("AWS_SECRET_ACCESS_KEY".into(), "hunter2".into());
/// settings.insert("uri".into(), "postgres://bob:pw@db/x".into());
/// let (plain, secrets) = fields.split(settings);
/// assert_eq!(plain.len(), 1);
/// assert_eq!(secrets["aws_secret_access_key"].expose_secret(), "hunter2");
///
/// let shown = fields.sanitized(&plain, &secrets);
/// assert_eq!(shown["aws_secret_access_key"], "***");
/// assert_eq!(shown["uri"], "postgres://bob:***@db/x");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretFields {
    fields: Vec<SecretField>,
}

impl SecretFields {
    /// No secret settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares `key` secret.
    #[must_use]
    pub fn with(mut self, key: &str) -> Self {
        self.fields
            .push(SecretField::Value(key.to_ascii_lowercase()));
        self
    }

    /// Declares each of `keys` secret.
    #[must_use]
    pub fn with_all(self, keys: &[&str]) -> Self {
        keys.iter().fold(self, |fields, key| fields.with(key))
    }

    /// Declares `key` a URL whose password is secret.
    #[must_use]
    pub fn with_url_password(mut self, key: &str) -> Self {
        self.fields
            .push(SecretField::UrlPassword(key.to_ascii_lowercase()));
        self
    }

    /// The declared fields.
    pub fn fields(&self) -> &[SecretField] {
        &self.fields
    }

    /// The declaration of `key`, if it is secret.
    pub fn field(&self, key: &str) -> Option<&SecretField> {
        let key = key.to_ascii_lowercase();
        self.fields.iter().find(|f| f.key() == key)
    }

    /// Whether `key` is declared secret.
    pub fn is_secret(&self, key: &str) -> bool {
        self.field(key).is_some()
    }

    /// Splits `settings` into the plain settings and the secret ones (keyed by their
    /// declared, lower-case key).
    pub fn split(&self, settings: Metadata) -> (Metadata, BTreeMap<String, SecretString>) {
        let mut plain = Metadata::new();
        let mut secrets = BTreeMap::new();
        for (key, value) in settings {
            match self.field(&key) {
                Some(field) => {
                    let text = match value {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    secrets.insert(field.key().to_owned(), SecretString::from(text));
                }
                None => {
                    plain.insert(key, value);
                }
            }
        }
        (plain, secrets)
    }

    /// The settings as they may be shown: the plain ones, and each secret as `***` (a URL
    /// with its password replaced by `***`). Plain keys that merely look secret
    /// ([`is_sensitive_key`](collectors_core::is_sensitive_key)) are also shown as `***`.
    pub fn sanitized(
        &self,
        plain: &Metadata,
        secrets: &BTreeMap<String, SecretString>,
    ) -> Metadata {
        let mut out: Metadata = plain
            .iter()
            .map(|(k, v)| {
                let v = if collectors_core::is_sensitive_key(k) {
                    serde_json::Value::String(REDACTED.to_owned())
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        for (key, secret) in secrets {
            let shown = match self.field(key) {
                Some(SecretField::UrlPassword(_)) => url_without_password(secret.expose_secret()),
                _ => REDACTED.to_owned(),
            };
            out.insert(key.clone(), serde_json::Value::String(shown));
        }
        out
    }
}

/// `url` with its password replaced by `***`; `***` alone when it does not parse as a URL.
fn url_without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some(REDACTED)).is_err() {
                return REDACTED.to_owned();
            }
            // Query parameters may carry a password too (`?password=…`).
            if parsed
                .query_pairs()
                .any(|(k, _)| collectors_core::is_sensitive_key(&k))
            {
                parsed.set_query(None);
            }
            parsed.to_string()
        }
        Err(_) => REDACTED.to_owned(),
    }
}
