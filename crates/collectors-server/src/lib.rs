//! The collectors ETL service: data files uploaded over REST, processing requested over REST
//! and run by background workers from a durable job queue, progress pushed over WebSocket.
//!
//! One machine runs `collectors serve` on SQLite and a local directory; past one machine,
//! `collectors worker --database postgres://…` processes on any number of machines share one
//! PostgreSQL (the queue, claimed with `FOR UPDATE SKIP LOCKED`) and one object store.

pub mod jobs;
