//! The data-source registry on PostgreSQL, against the throwaway cluster `scripts/postgres`
//! starts (`COLLECTORS_TEST_POSTGRES_URL`): a PostgreSQL data source registered with its
//! password as a secret, fetched from through the registry, the registry itself kept in
//! PostgreSQL and reopened, a wrong password refused without registering anything, and the
//! password found nowhere (`Debug`, errors, sanitized configs, the registry's rows).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(all(feature = "registry", feature = "postgres"))]

use collectors_backends::credentials::MasterKey;
use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry};
use collectors_core::{DataSourceConfig, DataSourceType, ErrorType, ListOptions};
use sqlx::{PgPool, Row};

use collectors_mocks::services::postgres_url as server;

/// A fresh database of its own for one test: its URL with and without the password, and
/// the password.
async fn database(server: &str) -> (String, String, String) {
    let admin = PgPool::connect(server).await.unwrap();
    let name = format!("reg_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(server).unwrap();
    url.set_path(&name);
    let password = url
        .password()
        .expect("the test URL has a password")
        .to_owned();
    let with = url.to_string();
    url.set_password(None).unwrap();
    (with, url.to_string(), password)
}

fn postgres_source(id: &str, uri: &str, password: &str) -> DataSourceConfig {
    DataSourceConfig::new(id, DataSourceType::Postgresql, id)
        .unwrap()
        .with_setting("uri", uri)
        .with_setting("password", password)
}

#[tokio::test]
async fn a_postgres_source_and_the_registry_itself_live_in_postgres() {
    let Some(server) = server() else { return };
    let (db_url, bare_url, password) = database(&server).await;
    let db = PgPool::connect(&db_url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE readings (id BIGINT PRIMARY KEY, value DOUBLE PRECISION);
         INSERT INTO readings SELECT g, g * 0.5 FROM generate_series(1, 1000) g;",
    )
    .execute(&db)
    .await
    .unwrap();
    let key = MasterKey::generate();

    let registry =
        DataSourceRegistry::open_postgres(&db_url, key.clone(), ConnectorFactories::standard())
            .await
            .unwrap();
    registry
        .register_data_source(postgres_source("warehouse", &bare_url, &password), true)
        .await
        .unwrap();

    // A wrong password: refused by the connection test, nothing registered.
    let err = registry
        .register_data_source(
            postgres_source("wrong", &bare_url, "not-the-password"),
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
    assert!(!registry.contains("wrong"));
    assert!(!err.to_string().contains("not-the-password"), "{err}");

    // A password inside the URI is refused: it would be stored in the clear.
    let err = registry
        .register_data_source(
            DataSourceConfig::new("clear", DataSourceType::Postgresql, "clear")
                .unwrap()
                .with_setting("uri", db_url.as_str()),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
    assert!(!err.to_string().contains(&password), "{err}");

    // Reopened from PostgreSQL (another process or machine would do the same): the source
    // is there, sanitized, and its connector fetches a table into a workspace.
    registry.close().await;
    let registry =
        DataSourceRegistry::open_postgres(&db_url, key.clone(), ConnectorFactories::standard())
            .await
            .unwrap();
    let ids: Vec<String> = registry
        .list_data_sources()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec!["warehouse".to_owned()]);
    let shown = registry.get_config("warehouse", true).unwrap();
    let shown = serde_json::to_string(&shown).unwrap();
    assert!(!shown.contains(&password), "{shown}");
    assert!(!format!("{registry:?}").contains(&password));
    let connector = registry.get_connector("warehouse").await.unwrap();
    let tables = connector
        .list_items(&ListOptions::new().under("public"))
        .await
        .unwrap();
    assert!(
        tables.iter().any(|t| t.path == "public.readings"),
        "{tables:?}"
    );
    let workspace = tempfile::tempdir().unwrap();
    let file = connector
        .fetch_data("public.readings", workspace.path())
        .await
        .unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&file).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 1000);

    // At rest: the password is encrypted, and appears in no column of the registry's rows.
    let stored = sqlx::query("SELECT id, config, secrets FROM _collectors_data_sources")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    for row in &stored {
        for column in 0..3 {
            let text: String = row.get(column);
            assert!(!text.contains(&password), "column {column}: {text}");
        }
    }

    // Another key cannot open it.
    registry.close().await;
    let err = DataSourceRegistry::open_postgres(
        &db_url,
        MasterKey::generate(),
        ConnectorFactories::standard(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");

    // Unregistered: gone for the next opener too.
    let registry = DataSourceRegistry::open_postgres(&db_url, key, ConnectorFactories::standard())
        .await
        .unwrap();
    registry.unregister("warehouse").await.unwrap();
    assert!(registry.list_data_sources().is_empty());
    registry.close().await;
    db.close().await;
}

#[tokio::test]
async fn an_unreachable_registry_database_is_a_clear_error_without_the_password() {
    // Nothing listens on port 1; the password must not be echoed.
    let err = DataSourceRegistry::open_postgres(
        "postgres://user:pw-Zq9-secret@127.0.0.1:1/none",
        MasterKey::generate(),
        ConnectorFactories::standard(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(!err.to_string().contains("pw-Zq9-secret"), "{err}");
    assert!(!format!("{err:?}").contains("pw-Zq9-secret"), "{err:?}");
}
