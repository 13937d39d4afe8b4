//! The `JobQueue` port: hands the chunks of a bulk send to the function that sends them. The
//! production adapter is SQS ([`sqs::SqsJobQueue`], feature `sqs`; the worker function is the
//! queue's event source); the local adapter ([`local::InProcessJobQueue`]) runs the worker's code
//! in a task of the same process, so the local gateway and the tests behave like AWS.

pub mod local;
#[cfg(feature = "sqs")]
pub mod sqs;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::UserId;

/// Recipients per chunk (one queue message): a worker invocation sends to one chunk, well
/// inside a Lambda timeout, and a message stays far under SQS's 256 KB.
pub const CHUNK_RECIPIENTS: usize = 100;

/// One message of a bulk send's work: some of its recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkChunk {
    /// The job the recipients belong to.
    pub job_id: String,
    /// Up to [`CHUNK_RECIPIENTS`] recipients.
    pub user_ids: Vec<UserId>,
}

/// Why chunks could not be enqueued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the job queue failed: {0}")]
pub struct JobQueueError(pub String);

/// Where the chunks of a bulk send go to be worked on.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues every chunk, or fails (some may have been enqueued: the worker skips the
    /// recipients it already handled, so enqueuing again is safe). `app` is what an in-process
    /// adapter runs the worker with.
    async fn enqueue(&self, app: &App, chunks: Vec<BulkChunk>) -> Result<(), JobQueueError>;
}
