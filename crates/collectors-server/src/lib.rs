//! The collectors ETL service: data files uploaded over REST, processing requested over REST
//! and run by background workers from a durable job queue, progress pushed over WebSocket.
//!
//! One machine runs `collectors serve` on SQLite and a local directory; past one machine,
//! `collectors worker --database postgres://…` processes on any number of machines share one
//! PostgreSQL (the queue, claimed with `FOR UPDATE SKIP LOCKED`) and one object store.
//!
//! ```no_run
//! # async fn demo() -> collectors_core::Result<()> {
//! use collectors_server::{ServerConfig, Service};
//!
//! let (service, _token) = Service::open(ServerConfig::new("state")).await?;
//! let app: axum::Router = service.router(); // mount it, or call `service.serve(…)`
//! # let _ = app;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod config;
mod cors;
pub mod error;
pub mod etl;
pub mod files;
pub mod jobs;
mod lenient;
pub mod metrics;
mod openapi;
pub mod pipelines;
mod routes;
mod service;
mod state;
mod time;
mod worker;

pub use auth::{ApiToken, TokenOrigin};
pub use config::{API_TOKEN_ENV, ServerConfig};
pub use error::ApiError;
pub use routes::data_sources::{IngestRequest, TestOutcome};
pub use routes::etl::{ProcessBatch, ProcessBatchAccepted, ProcessingResult, ResultPage};
pub use routes::ops::Health;
pub use routes::ws::EtlUpdate;
pub use service::{Service, worker_prefix};
