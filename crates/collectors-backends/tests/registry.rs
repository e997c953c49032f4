//! The data-source registry and its credentials: a full register/connect/fail cycle scanned
//! for a known secret (logs, errors, every file of the data directory), a wrong master key,
//! key rotation, lazy connection and reconnection, and concurrent use from many tasks.
#![cfg(all(feature = "registry", feature = "object-store"))]

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use collectors_backends::credentials::{CredentialManager, MasterKey, SecretFields};
use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry, REGISTRY_DB_FILE};
use collectors_core::{Connector, DataSourceConfig, DataSourceType, ErrorType, ListOptions};
use collectors_mocks::{MockConnector, MockControl};
use secrecy::ExposeSecret;

const SECRET: &str = "hunter2-Zq9-very-secret";

/// Settings of the test connector type.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct VaultSettings {
    /// Where.
    uri: String,
    /// The password.
    password: String,
}

/// The standard factories plus `vault://` (type `custom`): a mock connector per source whose
/// control the test keeps; `password` is secret; `fail_test = true` makes its connection test
/// fail with an authentication error.
fn factories(controls: Arc<Mutex<HashMap<String, MockControl>>>) -> ConnectorFactories {
    let mut factories = ConnectorFactories::standard();
    factories.register::<VaultSettings, _>(
        DataSourceType::Custom,
        &["vault"],
        SecretFields::new().with("password"),
        move |settings| {
            if settings.secret("password").is_none() {
                return Err(collectors_core::Error::configuration(
                    "missing setting `password`",
                ));
            }
            let connector = MockConnector::new(settings.id()).with_file("t/a.csv", "x\n1\n");
            let control = connector.control();
            if settings.plain().get("fail_test") == Some(&serde_json::Value::Bool(true)) {
                control.fail_method("test_connection", 1, ErrorType::Authentication);
            }
            controls
                .lock()
                .unwrap()
                .insert(settings.id().to_owned(), control);
            Ok(Arc::new(connector) as Arc<dyn Connector>)
        },
    );
    factories
}

fn vault(id: &str) -> DataSourceConfig {
    DataSourceConfig::new(id, DataSourceType::Custom, id)
        .unwrap()
        .with_setting("uri", "vault://db")
        .with_setting("password", SECRET)
}

/// A tracing subscriber writing everything (TRACE) into a buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Every byte of every file under `dir`.
fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn stored_tokens(data_dir: &Path) -> Vec<String> {
    let url = format!("sqlite://{}", data_dir.join(REGISTRY_DB_FILE).display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT secrets FROM _collectors_data_sources")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .flat_map(|r| {
            let map: HashMap<String, String> = serde_json::from_str(r).unwrap();
            map.into_values()
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_known_secret_never_leaks_through_a_register_connect_fail_cycle() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let data_dir = tempfile::tempdir().unwrap();
    let controls = Arc::new(Mutex::new(HashMap::new()));
    let key = MasterKey::load_or_create_file(&data_dir.path().join("master.key")).unwrap();
    let registry = DataSourceRegistry::open_with_key(
        data_dir.path(),
        key.clone(),
        factories(controls.clone()),
    )
    .await
    .unwrap();
    let mut errors: Vec<String> = Vec::new();
    let mut record = |e: collectors_core::Error| {
        errors.push(format!("{e} {e:?} {}", e.chain().join(" / ")));
        e
    };

    // Register, connect, use.
    registry
        .register_data_source(vault("db"), true)
        .await
        .unwrap();
    let connector = registry.get_connector("db").await.unwrap();
    connector.list_items(&ListOptions::new()).await.unwrap();
    // A failed connection test registers nothing.
    let failing = vault("flaky").with_setting("fail_test", true);
    let e = registry
        .register_data_source(failing, true)
        .await
        .unwrap_err();
    assert_eq!(record(e).error_type(), ErrorType::Authentication);
    assert!(!registry.contains("flaky"));
    // A connection failure mid-use, then the reconnection.
    let control = controls.lock().unwrap()["db"].clone();
    control.fail_method("list_items", 1, ErrorType::Connection);
    let e = connector.list_items(&ListOptions::new()).await.unwrap_err();
    assert_eq!(record(e).error_type(), ErrorType::Connection);
    connector.list_items(&ListOptions::new()).await.unwrap();
    assert_eq!(
        control.call_count("connect"),
        3,
        "test, first use, reconnection"
    );
    // A duplicate, an unknown id, a missing secret.
    record(
        registry
            .register_data_source(vault("db"), false)
            .await
            .unwrap_err(),
    );
    record(registry.get_connector("nope").await.err().unwrap());
    let bare = DataSourceConfig::new("bare", DataSourceType::Custom, "bare")
        .unwrap()
        .with_setting("uri", "vault://x");
    record(
        registry
            .register_data_source(bare, false)
            .await
            .unwrap_err(),
    );
    // The wrong key.
    let wrong = DataSourceRegistry::open_with_key(
        data_dir.path(),
        MasterKey::generate(),
        factories(controls.clone()),
    )
    .await
    .unwrap_err();
    assert_eq!(record(wrong).error_type(), ErrorType::Authentication);

    // What is shown.
    let listed = serde_json::to_string(&registry.list_data_sources()).unwrap();
    assert!(listed.contains("***"), "{listed}");
    let shown = format!(
        "{listed} {:?} {:?} {:?} {:?}",
        registry.get_config("db", true).unwrap(),
        registry.settings("db").unwrap(),
        registry,
        registry.master_key(),
    );
    // The unsanitized configuration is the way to get the secret back.
    assert_eq!(
        registry.get_config("db", false).unwrap().config["password"],
        SECRET
    );

    // At rest: the token is in the database, the secret in no file.
    let tokens = stored_tokens(data_dir.path()).await;
    assert_eq!(tokens.len(), 1);
    let manager = CredentialManager::new(key.clone());
    assert_eq!(manager.decrypt(&tokens[0]).unwrap().expose_secret(), SECRET);
    let files = all_files(data_dir.path());
    assert!(
        files.iter().any(|(_, bytes)| contains(bytes, &tokens[0])),
        "the encrypted value is stored"
    );
    registry.unregister("db").await.unwrap();
    assert_eq!(
        connector
            .list_items(&ListOptions::new())
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::NotFound
    );
    registry.close().await;

    let logs = logs.text();
    assert!(
        logs.contains("registered a data source"),
        "logs captured: {logs}"
    );
    for (name, bytes) in all_files(data_dir.path()) {
        assert!(!contains(&bytes, SECRET), "the secret is in {name}");
    }
    assert!(!logs.contains(SECRET), "the secret is in the logs");
    for e in &errors {
        assert!(!e.contains(SECRET), "the secret is in an error: {e}");
    }
    assert!(!shown.contains(SECRET), "the secret is shown: {shown}");
}

#[tokio::test]
async fn a_wrong_master_key_is_an_authentication_error_and_the_right_one_reopens() {
    let data_dir = tempfile::tempdir().unwrap();
    let controls = Arc::new(Mutex::new(HashMap::new()));
    let registry = DataSourceRegistry::open(data_dir.path(), factories(controls.clone()))
        .await
        .unwrap();
    registry
        .register_data_source(vault("db"), false)
        .await
        .unwrap();
    registry.close().await;

    for _ in 0..2 {
        let e = DataSourceRegistry::open_with_key(
            data_dir.path(),
            MasterKey::generate(),
            factories(controls.clone()),
        )
        .await
        .unwrap_err();
        assert_eq!(e.error_type(), ErrorType::Authentication, "{e}");
        assert!(e.to_string().contains("master key"), "{e}");
    }
    // The key file of the data directory opens it, with the secret intact.
    let reopened = DataSourceRegistry::open(data_dir.path(), factories(controls))
        .await
        .unwrap();
    assert_eq!(
        reopened
            .settings("db")
            .unwrap()
            .secret("password")
            .unwrap()
            .expose_secret(),
        SECRET
    );
    reopened.close().await;
}

#[tokio::test]
async fn rotation_re_encrypts_everything_and_replaces_the_key_file() {
    let data_dir = tempfile::tempdir().unwrap();
    let controls = Arc::new(Mutex::new(HashMap::new()));
    let registry = DataSourceRegistry::open(data_dir.path(), factories(controls.clone()))
        .await
        .unwrap();
    for id in ["a", "b", "c"] {
        registry
            .register_data_source(vault(id), false)
            .await
            .unwrap();
    }
    let old_key = registry.master_key();
    let before = stored_tokens(data_dir.path()).await;
    let new_key = MasterKey::generate();
    registry.rotate_key(new_key.clone()).await.unwrap();
    assert!(registry.master_key().same_key(&new_key));
    registry.close().await;

    let after = stored_tokens(data_dir.path()).await;
    assert_eq!(after.len(), 3);
    let old = CredentialManager::new(old_key.clone());
    let new = CredentialManager::new(new_key.clone());
    for token in &after {
        assert!(!before.contains(token));
        assert_eq!(
            old.decrypt(token).unwrap_err().error_type(),
            ErrorType::Authentication
        );
        assert_eq!(new.decrypt(token).unwrap().expose_secret(), SECRET);
    }
    let on_disk = MasterKey::read_file(&data_dir.path().join("master.key")).unwrap();
    assert!(on_disk.same_key(&new_key));
    assert!(!data_dir.path().join("master.key.next").exists());

    let e =
        DataSourceRegistry::open_with_key(data_dir.path(), old_key, factories(controls.clone()))
            .await
            .unwrap_err();
    assert_eq!(e.error_type(), ErrorType::Authentication);
    let reopened = DataSourceRegistry::open(data_dir.path(), factories(controls))
        .await
        .unwrap();
    assert_eq!(reopened.list_data_sources().len(), 3);
    reopened.close().await;
}

#[tokio::test]
async fn a_rotation_that_fails_half_way_changes_nothing() {
    let data_dir = tempfile::tempdir().unwrap();
    let controls = Arc::new(Mutex::new(HashMap::new()));
    let key = MasterKey::generate();
    let registry = DataSourceRegistry::open_with_key(
        data_dir.path(),
        key.clone(),
        factories(controls.clone()),
    )
    .await
    .unwrap();
    for id in ["a", "b", "c"] {
        registry
            .register_data_source(vault(id), false)
            .await
            .unwrap();
    }
    // Corrupt the last row's token: the rotation reaches it after re-encrypting the others.
    let url = format!(
        "sqlite://{}",
        data_dir.path().join(REGISTRY_DB_FILE).display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE _collectors_data_sources SET secrets = '{\"password\": \"gAAAAAbroken\"}' WHERE id = 'c'")
        .execute(&pool)
        .await
        .unwrap();
    let before = stored_tokens(data_dir.path()).await;
    let e = registry
        .rotate_key(MasterKey::generate())
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), ErrorType::Authentication, "{e}");
    assert_eq!(stored_tokens(data_dir.path()).await, before, "rolled back");
    assert!(registry.master_key().same_key(&key));
    let check: String = sqlx::query_scalar("SELECT check_token FROM _collectors_registry_key")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(CredentialManager::new(key).decrypt(&check).is_ok());
    pool.close().await;
    registry.close().await;
}

#[tokio::test]
async fn connectors_are_shared_connected_lazily_and_disconnected_before_removal() {
    let controls = Arc::new(Mutex::new(HashMap::new()));
    let registry = DataSourceRegistry::in_memory(factories(controls.clone()));
    registry
        .register_data_source(vault("db"), false)
        .await
        .unwrap();
    let control = controls.lock().unwrap()["db"].clone();
    assert_eq!(
        control.call_count("connect"),
        0,
        "not connected at registration"
    );
    let a = registry.get_connector("db").await.unwrap();
    let b = registry.get_connector("db").await.unwrap();
    assert!(Arc::ptr_eq(&a, &b), "one shared connector");
    assert_eq!(control.call_count("connect"), 1);
    // A failed connect is not remembered: the next get tries again.
    registry.disconnect_all().await;
    control.fail_method("connect", 1, ErrorType::Connection);
    assert_eq!(
        registry
            .get_connector("db")
            .await
            .err()
            .unwrap()
            .error_type(),
        ErrorType::Connection
    );
    registry.get_connector("db").await.unwrap();
    assert_eq!(control.call_count("connect"), 3);
    registry.test_connection("db").await.unwrap();

    let before = control.call_count("disconnect");
    registry.unregister("db").await.unwrap();
    assert_eq!(control.call_count("disconnect"), before + 1);
    assert_eq!(
        registry
            .test_connection("db")
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::NotFound
    );
    assert_eq!(
        registry.unregister("db").await.unwrap_err().error_type(),
        ErrorType::NotFound
    );
}

#[tokio::test]
async fn metadata_is_cached_per_source_until_cleared() {
    let registry = DataSourceRegistry::in_memory(ConnectorFactories::standard());
    let mut tables = serde_json::Map::new();
    tables.insert("tables".into(), serde_json::json!(["users"]));
    registry.cache_metadata("a", tables.clone());
    registry.cache_metadata("b", tables.clone());
    assert_eq!(registry.get_cached_metadata("a"), Some(tables.clone()));
    registry.clear_cache(Some("a"));
    assert_eq!(registry.get_cached_metadata("a"), None);
    assert_eq!(registry.get_cached_metadata("b"), Some(tables.clone()));
    registry.clear_cache(None);
    assert_eq!(registry.get_cached_metadata("b"), None);
    let expiring = DataSourceRegistry::in_memory(ConnectorFactories::standard())
        .with_metadata_ttl(std::time::Duration::ZERO);
    expiring.cache_metadata("a", tables);
    assert_eq!(expiring.get_cached_metadata("a"), None, "expired");
}

#[tokio::test]
async fn unknown_settings_and_types_are_configuration_errors_naming_the_key() {
    let data = tempfile::tempdir().unwrap();
    let registry = DataSourceRegistry::in_memory(ConnectorFactories::standard());
    let local = DataSourceConfig::new("in", DataSourceType::LocalFile, "in")
        .unwrap()
        .with_setting("uri", data.path().to_str().unwrap())
        .with_setting("colour", "blue");
    let e = registry
        .register_data_source(local, false)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), ErrorType::Configuration);
    assert!(e.to_string().contains("`colour`"), "{e}");
    let s3 = DataSourceConfig::new("s3", DataSourceType::S3, "s3")
        .unwrap()
        .with_setting("uri", "s3://bucket/x")
        .with_setting("aws_colour", "blue")
        .with_setting("aws_secret_access_key", SECRET);
    let e = registry.register_data_source(s3, false).await.unwrap_err();
    assert_eq!(e.error_type(), ErrorType::Configuration);
    assert!(e.to_string().contains("aws_colour"), "{e}");
    assert!(!e.to_string().contains(SECRET), "{e}");
    let lite = DataSourceConfig::new("lite", DataSourceType::Sqlite, "lite").unwrap();
    let e = registry
        .register_data_source(lite, false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no connector factory"), "{e}");
    assert!(registry.list_data_sources().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_hammering_one_registry() {
    let data_dir = tempfile::tempdir().unwrap();
    let controls = Arc::new(Mutex::new(HashMap::new()));
    let registry = Arc::new(
        DataSourceRegistry::open_with_key(
            data_dir.path(),
            MasterKey::generate(),
            factories(controls.clone()),
        )
        .await
        .unwrap(),
    );
    registry
        .register_data_source(vault("shared"), false)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let registry = registry.clone();
            tokio::spawn(async move {
                let own = format!("own-{i}");
                registry
                    .register_data_source(vault(&own), false)
                    .await
                    .unwrap();
                let dup = registry.register_data_source(vault("dup"), false).await;
                let shared = registry.get_connector("shared").await.unwrap();
                shared.list_items(&ListOptions::new()).await.unwrap();
                let mine = registry.get_connector(&own).await.unwrap();
                mine.list_items(&ListOptions::new()).await.unwrap();
                let mut meta = serde_json::Map::new();
                meta.insert("i".into(), i.into());
                registry.cache_metadata(&own, meta.clone());
                assert_eq!(registry.get_cached_metadata(&own), Some(meta));
                assert!(
                    registry
                        .list_data_sources()
                        .iter()
                        .any(|c| c.id == "shared")
                );
                registry.unregister(&own).await.unwrap();
                dup.is_ok()
            })
        })
        .collect();
    let mut dup_ok = 0;
    for task in tasks {
        if task.await.unwrap() {
            dup_ok += 1;
        }
    }
    assert_eq!(dup_ok, 1, "exactly one registration of `dup` wins");
    let ids: Vec<String> = registry
        .list_data_sources()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["dup", "shared"]);
    let shared = controls.lock().unwrap()["shared"].clone();
    assert_eq!(
        shared.call_count("connect"),
        1,
        "connected once for all tasks"
    );
    registry.close().await;
    // What is persisted matches.
    let reopened = DataSourceRegistry::open_with_key(
        data_dir.path(),
        registry.master_key(),
        factories(controls),
    )
    .await
    .unwrap();
    let ids: Vec<String> = reopened
        .list_data_sources()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["dup", "shared"]);
    reopened.close().await;
}

#[test]
fn sanitized_configs_keep_plain_settings_and_hide_declared_secrets() {
    let fields = SecretFields::new()
        .with("aws_secret_access_key")
        .with_url_password("uri");
    let mut settings = serde_json::Map::new();
    settings.insert(
        "uri".into(),
        "postgres://bob:pw-xyz@db:5432/app?sslmode=require".into(),
    );
    settings.insert("aws_secret_access_key".into(), SECRET.into());
    settings.insert("aws_region".into(), "eu-west-1".into());
    let (plain, secrets) = fields.split(settings);
    let shown = serde_json::to_string(&fields.sanitized(&plain, &secrets)).unwrap();
    assert!(
        !shown.contains(SECRET) && !shown.contains("pw-xyz"),
        "{shown}"
    );
    assert!(
        shown.contains("postgres://bob:***@db:5432/app?sslmode=require"),
        "{shown}"
    );
    assert!(shown.contains("eu-west-1"), "{shown}");
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn s3_on_moto_with_encrypted_credentials() {
    let vars: Option<Vec<String>> = [
        "COLLECTORS_TEST_S3_ENDPOINT",
        "COLLECTORS_TEST_S3_BUCKET",
        "COLLECTORS_TEST_S3_ACCESS_KEY_ID",
        "COLLECTORS_TEST_S3_SECRET_ACCESS_KEY",
    ]
    .iter()
    .map(|v| std::env::var(v).ok())
    .collect();
    let Some(vars) = vars else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "moto is not running; scripts/services starts it"
        );
        eprintln!("SKIPPED: moto is not running; `source scripts/services` first");
        return;
    };
    let s3 = |id: &str, secret: &str| {
        DataSourceConfig::new(id, DataSourceType::S3, id)
            .unwrap()
            .with_setting(
                "uri",
                format!("s3://{}/registry-{}/", vars[1], std::process::id()),
            )
            .with_setting("aws_endpoint", vars[0].as_str())
            .with_setting("allow_http", true)
            .with_setting("aws_access_key_id", vars[2].as_str())
            .with_setting("aws_secret_access_key", secret)
    };
    let data_dir = tempfile::tempdir().unwrap();
    let registry = DataSourceRegistry::open_with_key(
        data_dir.path(),
        MasterKey::generate(),
        ConnectorFactories::standard(),
    )
    .await
    .unwrap();
    registry
        .register_data_source(s3("bucket", &vars[3]), true)
        .await
        .unwrap();
    let connector = registry.get_connector("bucket").await.unwrap();
    connector.list_items(&ListOptions::new()).await.unwrap();
    let e = registry
        .register_data_source(s3("wrong", "not-the-secret-Qx7"), true)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), ErrorType::Authentication, "{e}");
    assert!(!format!("{e} {e:?}").contains("not-the-secret-Qx7"), "{e}");
    assert!(!registry.contains("wrong"));
    let listed = serde_json::to_string(&registry.list_data_sources()).unwrap();
    assert!(!listed.contains(&vars[3]), "{listed}");
    registry.close().await;
    for (name, bytes) in all_files(data_dir.path()) {
        assert!(!contains(&bytes, &vars[3]), "the secret is in {name}");
    }
}
