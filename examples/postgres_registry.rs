//! The data-source registry with PostgreSQL: register a database whose password is a secret
//! setting, list it (sanitized), get its shared connector (connected on first use, over a
//! pool of connections), fetch a query into a workspace as Parquet, unregister. The registry
//! itself is kept in the same PostgreSQL database, as several machines and the service
//! would share it.
//!
//! Run: `cargo run --example postgres_registry --features registry,postgres -- postgres://user:password@host:port/db`
//! (or with `DATABASE_URL` set). The master key comes from `COLLECTORS_MASTER_KEY`; without
//! it, a key is generated for this run only.

use collectors::backends::credentials::MasterKey;
use collectors::backends::registry::{ConnectorFactories, DataSourceRegistry};
use collectors::{DataSourceConfig, DataSourceType, ListOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .ok_or("give a postgres:// URL (with its password) as the argument or DATABASE_URL")?;
    // The password goes into its own, encrypted, setting; the URI keeps the rest.
    let mut parsed = url::Url::parse(&url)?;
    let password = parsed.password().unwrap_or_default().to_owned();
    parsed
        .set_password(None)
        .map_err(|()| "not a postgres:// URL")?;

    let key = match std::env::var("COLLECTORS_MASTER_KEY") {
        Ok(text) => MasterKey::from_secret(text.into())?,
        Err(_) => MasterKey::generate(),
    };
    let registry =
        DataSourceRegistry::open_postgres(&url, key, ConnectorFactories::standard()).await?;
    let config = DataSourceConfig::new("warehouse", DataSourceType::Postgresql, "Warehouse")?
        .with_setting("uri", parsed.as_str())
        .with_setting("password", password.as_str());
    // The connection is tested before anything is stored.
    registry.register_data_source(config, true).await?;

    for source in registry.list_data_sources() {
        let shown = serde_json::to_string(&source.config)?;
        println!("{} ({}): {shown}", source.id, source.name);
        assert!(password.is_empty() || !shown.contains(&password));
    }

    let connector = registry.get_connector("warehouse").await?;
    let tables = connector
        .list_items(&ListOptions::new().under("public"))
        .await?;
    println!("{} tables and views in public", tables.len());
    let workspace = tempfile::tempdir()?;
    let file = connector
        .fetch_data(
            "SELECT g AS id, g * 0.5 AS value FROM generate_series(1, 1000) AS g",
            workspace.path(),
        )
        .await?;
    println!(
        "fetched a query into {} ({} bytes)",
        file.display(),
        std::fs::metadata(&file)?.len()
    );

    registry.unregister("warehouse").await?;
    assert!(registry.list_data_sources().is_empty());
    registry.close().await;
    println!("unregistered; the registry is empty");
    Ok(())
}
