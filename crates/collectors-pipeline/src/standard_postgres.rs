//! `kind = "postgres"` (feature `postgres`): a source that reads a table or a query of a
//! PostgreSQL database in cursor chunks, incrementally; and a store that loads rows into a
//! table with `COPY`, with the checkpoints and dead letters in the same database.

use std::sync::Arc;

use collectors_backends::pool::PoolConfig;
use collectors_backends::postgres::{
    CopyFormat, ExportFormat, PostgresQualityHistory, PostgresSource, PostgresStorage,
};
use collectors_core::{Error, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::registry::{BuildContext, BuiltSource, BuiltStore, Registry};

/// `kind = "postgres"` source: the rows of a table, view or query, in chunks along a cursor
/// column; a rerun reads only the rows added since (see `PostgresSource`). The source's
/// `format` must be `parquet` (types kept) or `csv`: the chunks are encoded for it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PostgresSourceParams {
    /// The database: `postgres://user:password@host:port/db`. Prefer `url_env`, which
    /// keeps the password out of the file.
    #[serde(default)]
    url: Option<String>,
    /// The name of an environment variable holding the URL.
    #[serde(default)]
    url_env: Option<String>,
    /// A table or view: `schema.name`, or a name in the search path. Or give `query`.
    #[serde(default)]
    table: Option<String>,
    /// A `SELECT`, run read-only as a subquery. Or give `table`.
    #[serde(default)]
    query: Option<String>,
    /// The column chunks follow: one that only grows as rows are added (an identity or
    /// serial id, an insertion time). Rows of one cursor value are never split.
    cursor: String,
    /// Rows per new chunk (default 10 000).
    #[serde(default)]
    chunk_rows: Option<usize>,
    /// The source's connection pool (`max_size`, `min_size`, `acquire_timeout_ms`, …); keys
    /// left out take their defaults. Default: 4 connections, 10 s to acquire.
    #[serde(default)]
    pool: Option<PoolConfig>,
}

fn url_of(p: &PostgresSourceParams) -> Result<String> {
    match (&p.url, &p.url_env) {
        (Some(url), None) => Ok(url.clone()),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            Error::configuration(format!(
                "`url_env`: the environment variable {var} is not set"
            ))
        }),
        (Some(_), Some(_)) => Err(Error::configuration(
            "`url` and `url_env` are both set: give one",
        )),
        (None, None) => Err(Error::configuration(
            "`url` or `url_env` is required (postgres://user@host:port/db)",
        )),
    }
}

fn build(id: &str, p: PostgresSourceParams, ctx: &BuildContext<'_>) -> Result<BuiltSource> {
    let format = ctx.source_format(id).unwrap_or_default();
    let format = ExportFormat::from_decoder(format).ok_or_else(|| {
        Error::configuration(format!(
            "a postgres source encodes its chunks as `parquet` or `csv`: set format to one \
             of them, not `{format}`"
        ))
    })?;
    let url = url_of(&p)?;
    let source = match (&p.table, &p.query) {
        (Some(table), None) => PostgresSource::table(id, &url, table.clone(), p.cursor.clone())?,
        (None, Some(query)) => PostgresSource::query(id, &url, query, p.cursor.clone())?,
        (Some(_), Some(_)) => {
            return Err(Error::configuration(
                "`table` and `query` are both set: give one",
            ));
        }
        (None, None) => return Err(Error::configuration("`table` or `query` is required")),
    };
    let source = match p.chunk_rows {
        Some(0) => return Err(Error::configuration("`chunk_rows` must be at least 1")),
        Some(rows) => source.with_chunk_rows(rows),
        None => source,
    };
    let source = match p.pool {
        Some(pool) => source.with_pool_config(pool)?,
        None => source,
    };
    Ok(BuiltSource {
        source: Arc::new(source.with_format(format)),
        reads: None,
    })
}

/// `[store] kind = "postgres"`: rows into a table of a PostgreSQL database. A lone PostgreSQL
/// store keeps the checkpoints and dead letters that `[checkpoints]` and `[dead_letter]` do
/// not send elsewhere in the same database, each item's checkpoint committed with its last
/// rows.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PostgresStoreParams {
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
    /// The most connections the store opens (default 4): the shorthand of `pool.max_size`.
    #[serde(default)]
    max_connections: Option<u32>,
    /// The store's connection pool (`max_size`, `min_size`, `acquire_timeout_ms`,
    /// `idle_timeout_ms`, `max_lifetime_ms`, `health_check`); keys left out take their
    /// defaults (`max_size` 10). Not together with `max_connections`.
    #[serde(default)]
    pool: Option<PoolConfig>,
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
    registry.source("postgres", |id, p: PostgresSourceParams, ctx| {
        build(id, p, ctx)
    });
    registry.store("postgres", |id, p: PostgresStoreParams, _ctx| {
        let quality_history = Arc::new(PostgresQualityHistory::new(&p.url)?);
        let mut builder = PostgresStorage::builder(id, p.url)
            .table(p.table)
            .stage_new_records(p.stage_new_records)
            .copy_format(match p.copy_format {
                Some(CopyFormatParam::Csv) => CopyFormat::Csv,
                Some(CopyFormatParam::Binary) | None => CopyFormat::Binary,
            });
        match (p.pool, p.max_connections) {
            (Some(_), Some(_)) => {
                return Err(Error::configuration(
                    "`max_connections` and `pool` both set the pool's size: give one",
                ));
            }
            (Some(pool), None) => builder = builder.pool(pool),
            (None, Some(n)) => builder = builder.max_connections(n),
            (None, None) => {}
        }
        Ok(BuiltStore {
            store: Arc::new(builder.build()?),
            outputs: Vec::new(),
            ledger_db: None,
            quality_history: Some(quality_history),
        })
    });
}
