//! The in-process job queue of the local gateway and the tests: a send's chunks run one after
//! another in a tokio task with the worker's code, as the SQS-triggered function does in AWS
//! (one chunk at a time keeps a 10,000-recipient send from crowding out the requests).

use async_trait::async_trait;

use super::{BulkChunk, JobQueue, JobQueueError};
use crate::app::App;
use crate::ops::bulk::run_chunk;

/// Runs the chunks in a task of this process.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessJobQueue;

#[async_trait]
impl JobQueue for InProcessJobQueue {
    async fn enqueue(&self, app: &App, chunks: Vec<BulkChunk>) -> Result<(), JobQueueError> {
        let app = app.clone();
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
