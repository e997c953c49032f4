//! ETL jobs: what a client asks for ([`ProcessRequest`]), how it becomes a queued job, how a
//! worker runs it (an inline pipeline over the data file), and how its output is exported.

mod export;
pub(crate) mod request;
pub(crate) mod runner;

pub use export::{ExportFormat, export_output};
pub use request::{
    CUSTOM, EtlPayload, NOOP, PIPELINE, PipelineRef, ProcessAccepted, ProcessRequest,
};
pub use runner::EtlRunner;
