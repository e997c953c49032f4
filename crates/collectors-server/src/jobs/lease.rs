//! [`Lease`]: a worker's hold on a claimed job, and what a [`Heartbeat`] learns.

use uuid::Uuid;

use super::Job;

/// A worker's hold on one job, from [`claim`](super::JobQueue::claim). Every later call of
/// the worker on the job ([`heartbeat`](super::JobQueue::heartbeat),
/// [`complete`](super::JobQueue::complete), [`fail`](super::JobQueue::fail),
/// [`acknowledge_cancel`](super::JobQueue::acknowledge_cancel)) is fenced by its token: once
/// the lease has expired and another worker claimed the job, they write nothing.
#[derive(Debug, Clone)]
pub struct Lease {
    pub(super) job: Job,
    pub(super) token: Uuid,
}

impl Lease {
    /// The job as it was claimed (status `PROCESSING`, attempts counted).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The fencing token of this claim; a new claim of the same job gets a new one.
    pub fn token(&self) -> Uuid {
        self.token
    }

    /// The job's id.
    pub fn id(&self) -> Uuid {
        self.job.id
    }
}

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease was extended; keep working.
    Continue,
    /// The lease was extended, and a cancel was asked: stop, then
    /// [`acknowledge_cancel`](super::JobQueue::acknowledge_cancel).
    CancelRequested,
    /// The lease is gone (it expired and the job was claimed again, it finished another way,
    /// or the job was deleted): stop, and write nothing.
    Lost,
}
