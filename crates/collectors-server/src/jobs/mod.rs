//! The durable job queue of the service, and the persistent task tracker over it.
//!
//! One table, `_collectors_jobs`, is the queue, the status and progress of every job and
//! its result, in SQLite on one machine or PostgreSQL shared by workers on many (feature
//! `postgres`), through sqlx's `Any` driver
//! ([`open_any_pool`](collectors_backends::any_db::open_any_pool)). Ids are UUID text,
//! documents JSON text, times milliseconds since the epoch by the database's clock.
//!
//! - [`JobQueue`]: enqueue, claim with a fenced per-job [`Lease`], heartbeat, complete,
//!   fail with backoff, cancel, reap expired leases, purge old jobs, wait for work, subscribe
//!   to changes.
//! - [`JobTracker`]: the [`TaskTracker`](collectors_core::TaskTracker) of the host app over
//!   the same table.
//!
//! `docs/design.md` ("Job queue") explains the lease, the fencing, the backoff, the reaper
//! and what differs between the two databases.

mod config;
mod event;
mod filter;
mod job;
mod lease;
mod notify;
mod queue;
mod reap;
mod row;
mod sql;
mod status;
mod tracker;

pub use config::QueueConfig;
pub use event::JobEvent;
pub use filter::{JobFilter, JobPage, MAX_PAGE};
pub use job::{Job, NewJob};
pub use lease::{Heartbeat, Lease};
pub use queue::JobQueue;
pub use reap::ReapReport;
pub use status::JobStatus;
pub use tracker::JobTracker;
