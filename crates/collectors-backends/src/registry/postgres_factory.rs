//! The registry's factory for PostgreSQL (`postgres://`, `postgresql://`): the URL without
//! its password as a plain setting, the password as a secret one (encrypted at rest).

use std::sync::Arc;

use collectors_core::{Connector, DataSourceType, Error, Result};
use schemars::JsonSchema;
use secrecy::ExposeSecret;

use super::factory::ConnectorFactories;
use super::settings::SourceSettings;
use crate::credentials::SecretFields;
use crate::postgres::{ExportFormat, PostgresConnector};

/// The settings of a PostgreSQL data source.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)] // only its schema is used
struct PostgresSettings {
    /// `postgres://user@host:port/database`, without a password (a URL with one is
    /// refused: it would be stored in the clear).
    #[schemars(regex(
        pattern = r"^postgres(ql)?://([A-Za-z0-9._~%-]+@)?[A-Za-z0-9.-]+(:[0-9]{1,4})?(/[A-Za-z0-9._~%-]*)?$"
    ))]
    uri: String,
    /// The password, encrypted at rest and never shown. Without it, libpq's `PGPASSWORD`
    /// and `~/.pgpass` apply, as for `psql`.
    #[serde(default)]
    #[schemars(with = "String")]
    password: Option<String>,
    /// What `fetch_data` writes: `parquet` (default) or `csv`.
    #[serde(default)]
    #[schemars(with = "ExportFormatSetting")]
    format: Option<ExportFormatSetting>,
}

/// The export formats, as settings spell them.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // only its schema is used
enum ExportFormatSetting {
    Parquet,
    Csv,
}

/// The settings a PostgreSQL source may have.
const KNOWN: &[&str] = &["uri", "password", "format"];

pub(super) fn register(factories: &mut ConnectorFactories) {
    factories.register::<PostgresSettings, _>(
        DataSourceType::Postgresql,
        &["postgres", "postgresql"],
        SecretFields::new().with("password"),
        |settings| Ok(Arc::new(build(settings)?) as Arc<dyn Connector>),
    );
}

fn build(settings: &SourceSettings) -> Result<PostgresConnector> {
    let refuse = |message: String| Err(Error::configuration(message).with_component(settings.id()));
    let unknown: Vec<&str> = settings
        .plain()
        .keys()
        .map(String::as_str)
        .chain(settings.secrets().keys().map(String::as_str))
        .filter(|key| !KNOWN.contains(key))
        .collect();
    if !unknown.is_empty() {
        return refuse(format!(
            "unknown PostgreSQL setting(s) {}; known: {}",
            unknown.join(", "),
            KNOWN.join(", ")
        ));
    }
    let uri = settings.require_str("uri")?;
    let mut url = url::Url::parse(uri).map_err(|_| {
        Error::configuration("setting `uri` is not a postgres:// URL").with_component(settings.id())
    })?;
    if url.password().is_some() {
        return refuse(
            "setting `uri` holds a password, which would be stored in the clear: give it as \
             the `password` setting (encrypted at rest) instead"
                .to_owned(),
        );
    }
    let format = match settings.plain().get("format") {
        None => ExportFormat::default(),
        Some(value) => match value.as_str() {
            Some("parquet") => ExportFormat::Parquet,
            Some("csv") => ExportFormat::Csv,
            _ => return refuse("setting `format` must be \"parquet\" or \"csv\"".to_owned()),
        },
    };
    if let Some(password) = settings.secret("password") {
        url.set_password(Some(password.expose_secret()))
            .map_err(|()| {
                Error::configuration("setting `uri` cannot carry a password (no user or host?)")
                    .with_component(settings.id())
            })?;
    }
    Ok(PostgresConnector::new(url.as_str())
        .map_err(|e| e.with_component(settings.id()))?
        .with_format(format))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use collectors_core::DataSourceType;
    use secrecy::SecretString;

    use super::*;

    fn settings(plain: serde_json::Value, password: Option<&str>) -> SourceSettings {
        let plain = match plain {
            serde_json::Value::Object(map) => map.into_iter().collect(),
            _ => unreachable!("an object"),
        };
        let secrets: BTreeMap<String, SecretString> = password
            .map(|p| ("password".to_owned(), SecretString::from(p)))
            .into_iter()
            .collect();
        SourceSettings::new("db", DataSourceType::Postgresql, plain, secrets)
    }

    #[test]
    fn the_password_joins_the_url_and_never_shows() {
        let connector = build(&settings(
            serde_json::json!({"uri": "postgres://reader@db.internal:5433/sensors"}),
            Some("s3cr3t-pw"),
        ))
        .unwrap();
        assert_eq!(
            connector.url(),
            "postgres://reader:***@db.internal:5433/sensors"
        );
        assert!(!format!("{connector:?}").contains("s3cr3t-pw"));
    }

    #[test]
    fn a_password_in_the_uri_unknown_keys_and_bad_formats_are_refused() {
        let err = build(&settings(
            serde_json::json!({"uri": "postgres://reader:pw@db/x"}),
            None,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
        let err = build(&settings(
            serde_json::json!({"uri": "postgres://reader@db/x", "hots": "typo"}),
            None,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("hots"), "{err}");
        let err = build(&settings(
            serde_json::json!({"uri": "postgres://reader@db/x", "format": "xlsx"}),
            None,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("format"), "{err}");
    }
}
