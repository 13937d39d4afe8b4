//! The feed's consumer where no event-source mapping runs one (the local gateway): reads a
//! [`ChangeFeed`] in order, in batches, processes each with [`runner::process`], checkpoints, and
//! answers drains — "return once everything written before now is processed" — which tests and
//! tools use instead of waiting for a while.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::app::App;

use super::{runner, ChangeFeed};

/// How long the consumer waits for a sign of new records before it looks anyway.
const IDLE: Duration = Duration::from_secs(1);
/// The pause after a read of the feed failed or a batch stopped.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A running consumer: ask it to drain.
#[derive(Debug, Clone)]
pub struct ConsumerHandle {
    drains: mpsc::UnboundedSender<oneshot::Sender<()>>,
}

/// The consumer stopped (its task ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the change feed's consumer is not running")]
pub struct ConsumerStopped;

impl ConsumerHandle {
    /// Resolves once the consumer has read the feed empty after this call: every change written
    /// before it, and every change their reactions wrote, is processed (or kept as failed).
    pub async fn drain(&self) -> Result<(), ConsumerStopped> {
        let (done, drained) = oneshot::channel();
        self.drains.send(done).map_err(|_| ConsumerStopped)?;
        drained.await.map_err(|_| ConsumerStopped)
    }
}

/// Starts the consumer of `feed` on the runtime; it runs until the runtime stops.
pub fn spawn(app: App, feed: Arc<dyn ChangeFeed>) -> ConsumerHandle {
    let (drains, requests) = mpsc::unbounded_channel();
    tokio::spawn(run(app, feed, requests));
    ConsumerHandle { drains }
}

async fn run(
    app: App,
    feed: Arc<dyn ChangeFeed>,
    mut requests: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        // A drain asked before this read is answered by the first read that comes back empty.
        while let Ok(request) = requests.try_recv() {
            waiting.push(request);
        }
        let batch = match feed.next_batch(runner::BATCH_SIZE).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "reading the change feed failed; trying again");
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        if batch.is_empty() {
            for request in waiting.drain(..) {
                let _ = request.send(());
            }
            tokio::select! {
                () = feed.changed(IDLE) => {}
                request = requests.recv() => match request {
                    Some(request) => waiting.push(request),
                    None => return,
                },
            }
            continue;
        }
        let outcome = runner::process(&app, &batch).await;
        if let Some(last) = outcome.handled.checked_sub(1).and_then(|index| batch.get(index)) {
            if let Err(error) = feed.checkpoint(last).await {
                tracing::warn!(%error, "saving the change feed's checkpoint failed");
            }
        }
        if outcome.stopped(&batch) {
            feed.rewind().await;
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}
