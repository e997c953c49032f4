//! [`ConnectorFactories`]: the connector factories of the registry, keyed by
//! [`DataSourceType`] and URI scheme, each with the JSON Schema of its settings and its
//! declared [`SecretFields`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use collectors_core::{Connector, DataSourceType, Error, Result};
use schemars::JsonSchema;

use super::settings::SourceSettings;
use crate::credentials::SecretFields;

type BuildFn = dyn Fn(&SourceSettings) -> Result<Arc<dyn Connector>> + Send + Sync;

struct Factory {
    schemes: Vec<String>,
    secret_fields: SecretFields,
    schema: serde_json::Value,
    build: Arc<BuildFn>,
}

/// The factories a [`DataSourceRegistry`](super::DataSourceRegistry) builds connectors with:
/// one per [`DataSourceType`], each reached also by its URI schemes (`s3`, `gs`, `az` …; a
/// plain path is scheme `file`), each declaring which settings are secret (encrypted at
/// rest, never shown) and carrying the JSON Schema of its settings, as the pipeline
/// library's component registry does for its factories.
///
/// [`ConnectorFactories::standard`] holds the object stores (feature `object-store`); a host
/// app or another backend adds its own:
///
/// ```
/// use std::sync::Arc;
/// use collectors_backends::credentials::SecretFields;
/// use collectors_backends::registry::ConnectorFactories;
/// use collectors_core::{Connector, DataSourceType};
/// use collectors_mocks::MockConnector;
///
/// #[derive(schemars::JsonSchema)]
/// #[allow(dead_code)]
/// struct MySettings {
///     /// Where.
///     uri: String,
///     /// The password.
///     password: String,
/// }
///
/// let mut factories = ConnectorFactories::new();
/// factories.register::<MySettings, _>(
///     DataSourceType::Custom,
///     &["mine"],
///     SecretFields::new().with("password"),
///     |settings| Ok(Arc::new(MockConnector::new(settings.id())) as Arc<dyn Connector>),
/// );
/// assert_eq!(factories.type_for_uri("mine://x").unwrap(), DataSourceType::Custom);
/// assert!(factories.secret_fields(DataSourceType::Custom).unwrap().is_secret("PASSWORD"));
/// assert!(factories.schemas()["custom"]["properties"]["password"].is_object());
/// ```
#[derive(Default)]
pub struct ConnectorFactories {
    by_type: HashMap<DataSourceType, Factory>,
    by_scheme: BTreeMap<String, DataSourceType>,
}

impl std::fmt::Debug for ConnectorFactories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorFactories")
            .field("schemes", &self.by_scheme)
            .finish()
    }
}

/// The name of a type as configurations write it (`s3`, `azure_blob`, `local_file`).
pub(crate) fn type_name(source_type: DataSourceType) -> String {
    match serde_json::to_value(source_type) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{source_type:?}"),
    }
}

impl ConnectorFactories {
    /// No factories.
    pub fn new() -> Self {
        Self::default()
    }

    /// The factories of this crate: with the `object-store` feature, `local_file` (`file://`,
    /// plain paths), `memory`, `s3`, `gcs` and `azure_blob` (their schemes need the `aws`,
    /// `gcp` and `azure` features to connect); with `postgres`, `postgresql` (`postgres://`,
    /// its `password` setting secret).
    pub fn standard() -> Self {
        #[allow(unused_mut)]
        let mut factories = Self::new();
        #[cfg(feature = "object-store")]
        super::object_store_factories::register(&mut factories);
        #[cfg(feature = "postgres")]
        super::postgres_factory::register(&mut factories);
        factories
    }

    /// Registers (or replaces) the factory of `source_type`, reached also by `schemes`;
    /// `secret_fields` are the settings encrypted at rest and never shown; `P` describes the
    /// settings (its JSON Schema is [`schemas`](Self::schemas)' entry).
    pub fn register<P, F>(
        &mut self,
        source_type: DataSourceType,
        schemes: &[&str],
        secret_fields: SecretFields,
        build: F,
    ) -> &mut Self
    where
        P: JsonSchema,
        F: Fn(&SourceSettings) -> Result<Arc<dyn Connector>> + Send + Sync + 'static,
    {
        let schema = serde_json::to_value(schemars::schema_for!(P)).unwrap_or_default();
        self.register_with_schema(source_type, schemes, secret_fields, schema, build)
    }

    /// As [`register`](Self::register), with the settings' JSON Schema given as a value
    /// (for settings whose keys are known only at run time).
    pub fn register_with_schema<F>(
        &mut self,
        source_type: DataSourceType,
        schemes: &[&str],
        secret_fields: SecretFields,
        schema: serde_json::Value,
        build: F,
    ) -> &mut Self
    where
        F: Fn(&SourceSettings) -> Result<Arc<dyn Connector>> + Send + Sync + 'static,
    {
        if let Some(old) = self.by_type.get(&source_type) {
            for scheme in &old.schemes {
                self.by_scheme.remove(scheme);
            }
        }
        let schemes: Vec<String> = schemes.iter().map(|s| s.to_ascii_lowercase()).collect();
        for scheme in &schemes {
            self.by_scheme.insert(scheme.clone(), source_type);
        }
        self.by_type.insert(
            source_type,
            Factory {
                schemes,
                secret_fields,
                schema,
                build: Arc::new(build),
            },
        );
        self
    }

    /// The type a URI names by its scheme (`s3://…` → `s3`; a plain path → `file`).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the scheme and the known ones.
    pub fn type_for_uri(&self, uri: &str) -> Result<DataSourceType> {
        let scheme = match uri.trim().split_once("://") {
            Some((scheme, _)) => scheme.to_ascii_lowercase(),
            None => "file".to_owned(),
        };
        self.by_scheme.get(&scheme).copied().ok_or_else(|| {
            Error::configuration(format!(
                "no connector for the scheme `{scheme}` of {uri:?}; known: {}",
                self.by_scheme
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// The secret settings `source_type` declares, if it has a factory.
    pub fn secret_fields(&self, source_type: DataSourceType) -> Option<&SecretFields> {
        self.by_type.get(&source_type).map(|f| &f.secret_fields)
    }

    /// `{type: JSON Schema of its settings}` for every factory.
    pub fn schemas(&self) -> serde_json::Value {
        let mut out: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for (t, f) in &self.by_type {
            out.insert(type_name(*t), f.schema.clone());
        }
        serde_json::to_value(out).unwrap_or_default()
    }

    /// A function that builds a new connector of `settings` at each call (what a
    /// connection pool makes its connectors with).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when no factory serves the type.
    #[cfg(feature = "pool")]
    pub(crate) fn builder(
        &self,
        settings: SourceSettings,
    ) -> Result<impl Fn() -> Result<Arc<dyn Connector>> + Send + Sync + 'static> {
        let build = self
            .by_type
            .get(&settings.source_type())
            .map(|f| f.build.clone())
            .ok_or_else(|| {
                Error::configuration(format!(
                    "no connector factory for type `{}`",
                    type_name(settings.source_type())
                ))
                .with_component(settings.id())
            })?;
        Ok(move || build(&settings))
    }

    /// Builds the connector of `settings` (not connected).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when no factory serves the type, or the factory's own error.
    pub fn build(&self, settings: &SourceSettings) -> Result<Arc<dyn Connector>> {
        let factory = self.by_type.get(&settings.source_type()).ok_or_else(|| {
            Error::configuration(format!(
                "no connector factory for type `{}`",
                type_name(settings.source_type())
            ))
            .with_component(settings.id())
        })?;
        (factory.build)(settings).map_err(|e| {
            if e.context().component.is_some() {
                e
            } else {
                e.with_component(settings.id())
            }
        })
    }
}
