//! The in-process job queue of the local gateway and the tests: a send's chunks run one after
//! another in a tokio task with the worker's code, as the SQS-triggered function does in AWS
//! (one chunk at a time keeps a 10,000-recipient send from crowding out the requests).

use async_trait::async_trait;

use super::{BulkChunk, JobQueue, JobQueueError};
use crate::app::App;
use crate::ops::bulk::run_chunk;

/// Runs the chunks in a task of this process, with the worker function's own app when it was
/// given one (a gateway whose functions each have their own, as in AWS), else with the app of
/// the function that enqueued them.
#[derive(Default, Clone)]
pub struct InProcessJobQueue {
    worker: Option<App>,
}

impl InProcessJobQueue {
    /// A queue whose chunks run with `worker`, the bulk worker function's app.
    pub fn with_worker(worker: App) -> Self {
        Self { worker: Some(worker) }
    }
}

#[async_trait]
impl JobQueue for InProcessJobQueue {
    async fn enqueue(&self, app: &App, chunks: Vec<BulkChunk>) -> Result<(), JobQueueError> {
        let app = self.worker.clone().unwrap_or_else(|| app.clone());
        tokio::spawn(async move {
            for chunk in chunks {
                if let Err(error) = run_chunk(&app, &chunk).await {
                    tracing::warn!(%error, job = chunk.job_id, "a bulk-send chunk failed");
                }
            }
        });
        Ok(())
    }
}
