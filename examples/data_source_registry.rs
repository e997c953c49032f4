//! The data-source registry: register a source whose settings carry a credential, list it
//! (sanitized), get its shared connector, fetch an item into a workspace, unregister it.
//! Everything lives in a temporary data directory (`registry.db`, `master.key`); no service
//! is needed.
//!
//! Run: `cargo run --example data_source_registry --features registry`
//!
//! The connector type here is the host app's own (`secured://DIR`, a local directory that
//! wants a password), registered beside the standard object-store factories with its secret
//! setting declared, so the registry encrypts it at rest and never shows it.

use std::sync::Arc;

use collectors::backends::credentials::SecretFields;
use collectors::backends::object_store::{ObjectStoreConfig, get_connector};
use collectors::backends::registry::{ConnectorFactories, DataSourceRegistry};
use collectors::{Connector, DataSourceConfig, DataSourceType, Error, ListOptions};
use secrecy::ExposeSecret;

/// The password the `secured://` directories want (an app would check it against a server).
const PASSWORD: &str = "correct horse battery staple";

fn factories() -> ConnectorFactories {
    let mut factories = ConnectorFactories::standard();
    factories.register::<serde_json::Value, _>(
        DataSourceType::Custom,
        &["secured"],
        SecretFields::new().with("password"),
        |settings| {
            let given = settings
                .secret("password")
                .ok_or_else(|| Error::configuration("missing setting `password`"))?;
            if given.expose_secret() != PASSWORD {
                return Err(Error::authentication("wrong password"));
            }
            let uri = settings.require_str("uri")?;
            let dir = uri.trim_start_matches("secured://");
            Ok(Arc::new(get_connector(dir, &ObjectStoreConfig::new())?) as Arc<dyn Connector>)
        },
    );
    factories
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let data_dir = tempfile::tempdir()?;
    let files = tempfile::tempdir()?;
    std::fs::create_dir_all(files.path().join("2024"))?;
    std::fs::write(
        files.path().join("2024/readings.csv"),
        "sensor,value\ns1,1.5\n",
    )?;

    // The master key comes from COLLECTORS_MASTER_KEY, else a 0600 key file in the data dir.
    let registry = DataSourceRegistry::open(data_dir.path(), factories()).await?;
    let config = DataSourceConfig::new("readings", DataSourceType::Custom, "Sensor readings")?
        .with_setting("uri", format!("secured://{}", files.path().display()))
        .with_setting("password", PASSWORD)
        .with_metadata("owner", "data-team");
    registry.register_data_source(config, true).await?;

    // A wrong password fails the connection test and registers nothing.
    let wrong = DataSourceConfig::new("intruder", DataSourceType::Custom, "Wrong password")?
        .with_setting("uri", format!("secured://{}", files.path().display()))
        .with_setting("password", "guess");
    let refused = registry
        .register_data_source(wrong, true)
        .await
        .unwrap_err();
    println!("refused: {refused}");

    for source in registry.list_data_sources() {
        println!(
            "{} ({}): {}",
            source.id,
            source.name,
            serde_json::to_string(&source.config)?
        );
        assert_eq!(source.config["password"], "***");
    }

    let connector = registry.get_connector("readings").await?;
    let items = connector
        .list_items(&ListOptions::new().matching("*.csv"))
        .await?;
    let workspace = tempfile::tempdir()?;
    let local = connector
        .fetch_data(&items[0].path, workspace.path())
        .await?;
    println!("fetched {} into {}", items[0].path, local.display());
    assert_eq!(std::fs::read_to_string(&local)?, "sensor,value\ns1,1.5\n");

    registry.unregister("readings").await?;
    assert!(registry.list_data_sources().is_empty());
    registry.close().await;
    println!("unregistered; the registry is empty");
    Ok(())
}
