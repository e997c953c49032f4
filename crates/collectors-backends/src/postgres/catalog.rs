//! What the catalog says of tables and views (pg_catalog): which exist, their columns,
//! primary keys, estimated rows and sizes. Every value is a bound parameter.

use collectors_core::{Error, Result};
use sqlx::Row;
use sqlx::postgres::PgPool;
use sqlx::postgres::PgRow;

use super::error::from_sqlx;

/// Relation kinds listed: tables, views, materialized views, partitioned and foreign tables.
const KINDS: &str = "('r', 'v', 'm', 'p', 'f')";

/// One table or view.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Relation {
    pub(crate) schema: String,
    pub(crate) name: String,
    pub(crate) oid: i64,
    /// `table`, `view`, `materialized view`, `partitioned table`, `foreign table`.
    pub(crate) kind: &'static str,
    /// `pg_class.reltuples`: `None` until the table was first analyzed (or a view).
    pub(crate) estimated_rows: Option<i64>,
    /// `pg_total_relation_size`: data, indexes and TOAST, in bytes.
    pub(crate) size_bytes: u64,
}

impl Relation {
    /// `schema.name`, as listed and as `fetch_data` takes it.
    pub(crate) fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

struct RelationRow {
    schema: String,
    name: String,
    oid: i64,
    relkind: String,
    reltuples: f64,
    size: i64,
}

impl RelationRow {
    fn read(row: &PgRow) -> std::result::Result<Self, sqlx::Error> {
        Ok(Self {
            schema: row.try_get("schema")?,
            name: row.try_get("name")?,
            oid: row.try_get("oid")?,
            relkind: row.try_get("relkind")?,
            reltuples: row.try_get("reltuples")?,
            size: row.try_get("size")?,
        })
    }
}

impl From<RelationRow> for Relation {
    fn from(row: RelationRow) -> Self {
        let kind = match row.relkind.as_str() {
            "v" => "view",
            "m" => "materialized view",
            "p" => "partitioned table",
            "f" => "foreign table",
            _ => "table",
        };
        // -1 (PostgreSQL 14+) or 0 before: never analyzed. A view has no estimate.
        let estimated_rows = (row.reltuples >= 0.0 && kind != "view" && row.relkind != "p")
            .then_some(row.reltuples as i64);
        Self {
            schema: row.schema,
            name: row.name,
            oid: row.oid,
            kind,
            estimated_rows,
            size_bytes: u64::try_from(row.size).unwrap_or(0),
        }
    }
}

fn select_relations(condition: &str) -> String {
    format!(
        "SELECT n.nspname::TEXT AS schema, c.relname::TEXT AS name, c.oid::INT8 AS oid, \
         c.relkind::TEXT AS relkind, c.reltuples::FLOAT8 AS reltuples, \
         pg_total_relation_size(c.oid)::INT8 AS size \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN {KINDS} AND {condition}"
    )
}

/// Every table and view outside the system schemas (or in `schema` only), sorted by
/// `schema.name`.
pub(crate) async fn relations(pool: &PgPool, schema: Option<&str>) -> Result<Vec<Relation>> {
    let sql = select_relations(
        "n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_%' AND ($1::TEXT IS NULL OR n.nspname = $1) \
         ORDER BY n.nspname || '.' || c.relname COLLATE \"C\"",
    );
    let rows = sqlx::query(&sql)
        .bind(schema)
        .fetch_all(pool)
        .await
        .map_err(|e| from_sqlx(e, "listing tables"))?;
    rows.iter()
        .map(|row| RelationRow::read(row).map(Relation::from))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| from_sqlx(e, "listing tables"))
}

/// The relation `identifier` names: `schema.name` exactly, or a bare `name` in the
/// connection's search path (first match). `None` when there is none.
pub(crate) async fn find(pool: &PgPool, identifier: &str) -> Result<Option<Relation>> {
    let sql = select_relations(
        "((n.nspname || '.' || c.relname) = $1 \
           OR (c.relname = $1 AND n.nspname = ANY (current_schemas(false)))) \
         ORDER BY (n.nspname || '.' || c.relname) = $1 DESC, \
                  array_position(current_schemas(false), n.nspname::TEXT) \
         LIMIT 1",
    );
    let row = sqlx::query(&sql)
        .bind(identifier)
        .fetch_optional(pool)
        .await
        .map_err(|e| from_sqlx(e, "looking up a table"))?;
    row.as_ref()
        .map(|row| RelationRow::read(row).map(Relation::from))
        .transpose()
        .map_err(|e| from_sqlx(e, "looking up a table"))
}

/// The relation `identifier` names, or an [`Error::NotFound`] saying so.
pub(crate) async fn require(pool: &PgPool, identifier: &str) -> Result<Relation> {
    find(pool, identifier).await?.ok_or_else(|| {
        Error::not_found(format!(
            "no table or view {identifier:?} (give `schema.name`, or a name in the search path)"
        ))
    })
}

/// One column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogColumn {
    pub(crate) name: String,
    /// `format_type`: `bigint`, `timestamp with time zone`, `character varying(20)` …
    pub(crate) data_type: String,
    pub(crate) nullable: bool,
}

/// The columns of relation `oid`, in table order.
pub(crate) async fn columns(pool: &PgPool, oid: i64) -> Result<Vec<CatalogColumn>> {
    let rows = sqlx::query(
        "SELECT a.attname::TEXT AS name, format_type(a.atttypid, a.atttypmod) AS data_type, \
         NOT a.attnotnull AS nullable \
         FROM pg_attribute a \
         WHERE a.attrelid = $1::OID AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
    )
    .bind(oid)
    .fetch_all(pool)
    .await
    .map_err(|e| from_sqlx(e, "reading columns"))?;
    rows.into_iter()
        .map(|row| {
            Ok(CatalogColumn {
                name: row.try_get("name")?,
                data_type: row.try_get("data_type")?,
                nullable: row.try_get("nullable")?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(|e| from_sqlx(e, "reading columns"))
}

/// The primary key columns of relation `oid`, in key order (empty without a key).
pub(crate) async fn primary_key(pool: &PgPool, oid: i64) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT a.attname::TEXT FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
         WHERE i.indrelid = $1::OID AND i.indisprimary \
         ORDER BY array_position(i.indkey::INT2[], a.attnum)",
    )
    .bind(oid)
    .fetch_all(pool)
    .await
    .map_err(|e| from_sqlx(e, "reading the primary key"))
}
