//! `kind = "postgres"`: a table or a query of a PostgreSQL database, read in cursor chunks,
//! incrementally (feature `postgres`).

use std::sync::Arc;

use collectors_backends::postgres::{ExportFormat, PostgresSource};
use collectors_core::{Error, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::registry::{BuildContext, BuiltSource, Registry};

/// `kind = "postgres"` source: the rows of a table, view or query, in chunks along a cursor
/// column; a rerun reads only the rows added since (see `PostgresSource`). The source's
/// `format` must be `parquet` (types kept) or `csv`: the chunks are encoded for it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PostgresParams {
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
}

fn url_of(p: &PostgresParams) -> Result<String> {
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

fn build(id: &str, p: PostgresParams, ctx: &BuildContext<'_>) -> Result<BuiltSource> {
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
    Ok(BuiltSource {
        source: Arc::new(source.with_format(format)),
        reads: None,
    })
}

pub(crate) fn register(registry: &mut Registry) {
    registry.source("postgres", |id, p: PostgresParams, ctx| build(id, p, ctx));
}
