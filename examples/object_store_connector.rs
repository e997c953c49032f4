//! `get_connector` and a `Connector` on any store by URI: write two CSV objects under
//! `raw/`, list them with a pattern, fetch one into a workspace, read both as Arrow tables.
//!
//! Run: `cargo run --example object_store_connector --features cloud -- URI [--config FILE]`
//! e.g. `-- s3://my-bucket/demo/ --config s3.toml`, `-- az://container/demo/ --config
//! azure.toml`, or `-- memory://` (the default).

use collectors::backends::object_store::{ObjectStoreConfig, WriteOptions, get_connector};
use collectors::{Connector, ListOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let mut args = std::env::args().skip(1);
    let uri = args.next().unwrap_or_else(|| "memory://".to_owned());
    let config = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(path)) => ObjectStoreConfig::from_path(path)?,
        (None, _) => ObjectStoreConfig::new(),
        _ => return Err("usage: object_store_connector URI [--config FILE]".into()),
    };

    let store = get_connector(&uri, &config)?;
    store.test_connection().await?;
    for (name, rows) in [
        ("raw/2024/01/readings.csv", "sensor,value\ns1,1.5\ns2,2.5\n"),
        ("raw/2024/02/readings.csv", "sensor,value\ns1,3.0\n"),
    ] {
        store
            .write_file(name, rows.to_owned().into(), &WriteOptions::overwrite())
            .await?;
    }
    store
        .write_file(
            "raw/README.txt",
            "not a table".into(),
            &WriteOptions::overwrite(),
        )
        .await?;

    let items = store
        .list_items(&ListOptions::new().under("raw").matching("*.csv"))
        .await?;
    for item in &items {
        println!("{:>6}  {}  {}", item.size, item.modified_at, item.path);
    }
    assert_eq!(items.len(), 2, "the pattern selects the CSV objects only");

    let workspace = tempfile::tempdir()?;
    let local = store.fetch_data(&items[0].path, workspace.path()).await?;
    println!("fetched {} to {}", items[0].path, local.display());

    let mut rows = 0;
    for item in &items {
        let tables = store.read_dataframe(&item.path, None).await?;
        rows += tables.iter().map(|t| t.num_rows()).sum::<usize>();
    }
    println!("{rows} rows in {} CSV objects", items.len());
    assert_eq!(rows, 3);
    Ok(())
}
