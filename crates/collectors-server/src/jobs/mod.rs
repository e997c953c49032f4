//! TEMPORARY compile stub of the job queue API (replaced by the real module before merge).
#![allow(missing_docs, unused_variables, clippy::unused_async)]
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use collectors_backends::any_db::{AnyLocation, Dialect};
use collectors_core::Result;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Pending,
    Processing,
    Completed,
    Failed,
    Cancelled,
}
impl JobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}
impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::str::FromStr for JobStatus {
    type Err = collectors_core::Error;
    fn from_str(s: &str) -> Result<Self> {
        unimplemented!()
    }
}
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub lease_ttl: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub max_attempts: u32,
    pub poll_interval: Duration,
    pub retention: Duration,
}
impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(20),
            max_attempts: 3,
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 86400),
        }
    }
}
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub name: String,
    pub data_file_id: Option<Uuid>,
    pub payload: serde_json::Value,
    pub max_attempts: Option<u32>,
}
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub data_file_id: Option<Uuid>,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub progress: f64,
    pub message: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub error: Option<serde_json::Value>,
    pub result_data: Option<serde_json::Value>,
    pub cancel_requested: bool,
    pub run_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub worker: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    pub data_file_id: Option<Uuid>,
    pub limit: u32,
    pub offset: u32,
}
#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    pub total: u64,
}
#[derive(Debug, Clone)]
pub struct Lease {
    job: Job,
    token: Uuid,
}
impl Lease {
    pub fn job(&self) -> &Job {
        &self.job
    }
    pub fn token(&self) -> Uuid {
        self.token
    }
    pub fn id(&self) -> Uuid {
        self.job.id
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Continue,
    CancelRequested,
    Lost,
}
#[derive(Clone, Debug, Serialize)]
pub struct JobEvent {
    pub id: Uuid,
    pub status: JobStatus,
    pub progress: f64,
    pub message: Option<String>,
}
#[derive(Debug, Clone, Default)]
pub struct ReapReport {
    pub requeued: u64,
    pub failed: u64,
}
#[derive(Clone, Debug)]
pub struct JobQueue {
    config: QueueConfig,
}
impl JobQueue {
    pub async fn open(location: &AnyLocation, config: QueueConfig) -> Result<Self> {
        unimplemented!()
    }
    pub fn dialect(&self) -> Dialect {
        unimplemented!()
    }
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }
    pub async fn ping(&self) -> Result<()> {
        unimplemented!()
    }
    pub async fn enqueue(&self, job: NewJob) -> Result<Job> {
        unimplemented!()
    }
    pub async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Job>> {
        unimplemented!()
    }
    pub async fn get(&self, id: Uuid) -> Result<Job> {
        unimplemented!()
    }
    pub async fn list(&self, filter: &JobFilter) -> Result<JobPage> {
        unimplemented!()
    }
    pub async fn claim(&self, worker: &str) -> Result<Option<Lease>> {
        unimplemented!()
    }
    pub async fn heartbeat(
        &self,
        lease: &Lease,
        progress: Option<(f64, Option<String>)>,
    ) -> Result<Heartbeat> {
        unimplemented!()
    }
    pub async fn complete(&self, lease: &Lease, result: serde_json::Value) -> Result<bool> {
        unimplemented!()
    }
    pub async fn fail(
        &self,
        lease: &Lease,
        error: serde_json::Value,
        retryable: bool,
    ) -> Result<Option<Job>> {
        unimplemented!()
    }
    pub async fn acknowledge_cancel(&self, lease: &Lease) -> Result<bool> {
        unimplemented!()
    }
    pub async fn cancel(&self, id: Uuid) -> Result<Job> {
        unimplemented!()
    }
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        unimplemented!()
    }
    pub async fn reap(&self) -> Result<ReapReport> {
        unimplemented!()
    }
    pub async fn purge_finished(&self) -> Result<u64> {
        unimplemented!()
    }
    pub async fn wait_for_work(&self, timeout: Duration) {
        unimplemented!()
    }
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<JobEvent> {
        unimplemented!()
    }
    pub async fn counts_by_status(&self) -> Result<BTreeMap<JobStatus, u64>> {
        unimplemented!()
    }
}
