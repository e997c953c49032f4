//! `[store] kind = "postgres"`: rows into a PostgreSQL table, loaded with `COPY`, with the
//! checkpoints and dead letters in the same database (feature `postgres`).

use std::sync::Arc;

use collectors_backends::postgres::{CopyFormat, PostgresStorage};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::registry::{BuiltStore, Registry};

/// `kind = "postgres"`: rows into a table of a PostgreSQL database. A lone PostgreSQL
/// store keeps the checkpoints and dead letters that `[checkpoints]` and `[dead_letter]` do
/// not send elsewhere in the same database, each item's checkpoint committed with its last
/// rows.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PostgresParams {
    /// The database: `postgres://user@host:5432/db`. Leave the password out of the file:
    /// like `psql`, the connection reads `PGPASSWORD` or `~/.pgpass`. It is never shown in
    /// logs or errors.
    url: String,
    /// The table rows go to (created from the first batch's columns): letters, digits and
    /// `_`, not starting with a digit.
    table: String,
    /// The `COPY` format rows are sent in: `binary` (default, the faster) or `csv`.
    #[serde(default)]
    copy_format: Option<CopyFormatParam>,
    /// The most connections the store opens (default 4).
    #[serde(default)]
    max_connections: Option<u32>,
    /// Send the rows of new keys through the staging table too (default `false`: only
    /// replaced keys are staged and upserted; new keys' rows are copied straight into the
    /// table, which is safe and writes them once).
    #[serde(default)]
    stage_new_records: bool,
}

#[derive(Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum CopyFormatParam {
    Binary,
    Csv,
}

pub(crate) fn register(registry: &mut Registry) {
    registry.store("postgres", |id, p: PostgresParams, _ctx| {
        let mut builder = PostgresStorage::builder(id, p.url)
            .table(p.table)
            .stage_new_records(p.stage_new_records)
            .copy_format(match p.copy_format {
                Some(CopyFormatParam::Csv) => CopyFormat::Csv,
                Some(CopyFormatParam::Binary) | None => CopyFormat::Binary,
            });
        if let Some(n) = p.max_connections {
            builder = builder.max_connections(n);
        }
        Ok(BuiltStore {
            store: Arc::new(builder.build()?),
            outputs: Vec::new(),
            ledger_db: None,
        })
    });
}
