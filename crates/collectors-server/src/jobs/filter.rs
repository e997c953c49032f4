//! [`JobFilter`] and [`JobPage`]: listing jobs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Job, JobStatus};

/// The most jobs one page holds.
pub const MAX_PAGE: u32 = 1000;

/// Which jobs to list, newest first, and which page.
///
/// ```
/// use collectors_server::jobs::{JobFilter, JobStatus};
///
/// let filter = JobFilter { status: Some(JobStatus::Failed), ..JobFilter::default() };
/// assert_eq!((filter.limit, filter.offset), (50, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs on this data file.
    pub data_file_id: Option<Uuid>,
    /// At most this many (default 50; more than [`MAX_PAGE`] is read as [`MAX_PAGE`]).
    pub limit: u32,
    /// Skip this many first.
    pub offset: u32,
}

impl Default for JobFilter {
    fn default() -> Self {
        Self {
            status: None,
            kind: None,
            data_file_id: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// One page of jobs, newest first, and how many pass the filter in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobPage {
    /// The jobs of this page.
    pub jobs: Vec<Job>,
    /// How many jobs pass the filter, on every page.
    pub total: u64,
}
