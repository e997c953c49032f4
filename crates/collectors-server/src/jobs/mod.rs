//! The durable job queue.
