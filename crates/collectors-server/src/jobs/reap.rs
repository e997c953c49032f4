//! The reaper of expired leases, and the retention of finished jobs.

use collectors_core::Result;
use sqlx::any::AnyRow;

use super::queue::millis;
use super::{JobEvent, JobQueue, row};

/// What one [`JobQueue::reap`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReapReport {
    /// Jobs whose lease expired with attempts left: `PENDING` again, due now.
    pub requeued: u64,
    /// Jobs whose lease expired at their last attempt: `FAILED` (the error says how often
    /// the lease expired: such a job may kill its worker).
    pub failed: u64,
}

impl JobQueue {
    /// Takes back the jobs whose worker stopped heartbeating (`PROCESSING` with
    /// `lease_until` before now, by the database's clock): a job with a cancel request
    /// becomes `CANCELLED`; one at its last attempt becomes `FAILED`; any other is `PENDING`
    /// again, due now. Safe to run from every process at once: each job is taken back once.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`](collectors_core::Error::Storage) when the database fails.
    pub async fn reap(&self) -> Result<ReapReport> {
        let sql = self.statements();
        let cancelled = self.reap_with(&sql.reap_cancelled).await?;
        let failed = self.reap_with(&sql.reap_failed).await?;
        let requeued = self.reap_with(&sql.reap_requeued).await?;
        let report = ReapReport {
            requeued: count(&requeued),
            failed: count(&failed),
        };
        if !(cancelled.is_empty() && failed.is_empty() && requeued.is_empty()) {
            tracing::info!(
                requeued = report.requeued,
                failed = report.failed,
                cancelled = cancelled.len(),
                "job queue: expired leases taken back"
            );
        }
        let mut events = cancelled;
        events.extend(failed);
        events.extend(requeued);
        self.publish(events).await;
        Ok(report)
    }

    async fn reap_with(&self, statement: &str) -> Result<Vec<JobEvent>> {
        let rows: Vec<AnyRow> = sqlx::query(statement)
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.db_error("reap", "taking back expired leases", e))?;
        rows.iter().map(row::event).collect()
    }

    /// Deletes the finished jobs (completed, failed, cancelled) that finished more than
    /// [`retention`](super::QueueConfig::retention) ago; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`](collectors_core::Error::Storage) when the database fails.
    pub async fn purge_finished(&self) -> Result<u64> {
        let done = sqlx::query(&self.statements().purge)
            .bind(millis(self.config().retention))
            .execute(self.pool())
            .await
            .map_err(|e| self.db_error("purge_finished", "deleting finished jobs", e))?;
        if done.rows_affected() > 0 {
            tracing::info!(
                jobs = done.rows_affected(),
                "job queue: finished jobs purged"
            );
        }
        Ok(done.rows_affected())
    }
}

fn count(events: &[JobEvent]) -> u64 {
    u64::try_from(events.len()).unwrap_or(u64::MAX)
}
