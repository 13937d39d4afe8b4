//! The one runner: a batch of change records in order, each record's effects handed to the
//! reactions (and the effects they cause, in turn), with the retry rules both consumers share —
//! the local gateway's and the `changes-process` Lambda function.

use std::collections::VecDeque;
use std::time::Duration;

use crate::app::App;
use crate::error::ApiError;
use crate::store::changes::ChangeRecord;

use super::reactions::{self, Read};
use super::{effects, failed, Effect};

/// Records one batch holds at most (the event-source mapping's `BatchSize` in AWS).
pub const BATCH_SIZE: usize = 100;
/// Attempts at a record's reactions before it is kept as a failed change.
pub const MAX_ATTEMPTS: u32 = 3;
/// The pause before the second attempt; each further attempt waits twice as long.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Effects one record may cause, all told: a reaction loop ends as a failed change.
const MAX_EFFECTS: usize = 64;

/// How far a batch got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Records handled from the start of the batch: processed, or kept as failed changes.
    pub handled: usize,
    /// Of those, the records kept as failed changes.
    pub failed: usize,
}

impl BatchOutcome {
    /// Whether the batch stopped before its end (a failed change could not be kept): the
    /// records from `handled` on are to be delivered again.
    pub fn stopped(&self, batch: &[ChangeRecord]) -> bool {
        self.handled < batch.len()
    }
}

/// Runs every reaction of one record (and of the effects they cause) but the counters, which
/// count a batch at a time ([`process`]): a replayed failed change was counted when its batch
/// was.
pub async fn react(app: &App, record: &ChangeRecord) -> Result<(), ApiError> {
    react_to(app, record, effects::of_record(record)?).await
}

/// [`react`] to the effects already read from `record`.
async fn react_to(app: &App, record: &ChangeRecord, effects: Vec<Effect>) -> Result<(), ApiError> {
    let mut pending: VecDeque<_> = effects.into();
    let mut handled = 0;
    while let Some(effect) = pending.pop_front() {
        handled += 1;
        if handled > MAX_EFFECTS {
            return Err(ApiError::Internal(format!(
                "change {} caused over {MAX_EFFECTS} effects",
                record.sequence
            )));
        }
        pending.extend(reactions::react(app, &effect).await?);
    }
    Ok(())
}

/// Processes a batch: each record read as effects once; first the batch's counts (one write per
/// shard's run), then each record's other reactions in order, then what follows the batch once
/// (the dashboard's figures). A record whose reactions fail is tried [`MAX_ATTEMPTS`] times
/// (with a growing pause), then kept as a failed change and passed; the batch stops when even
/// that cannot be written, or when the counts cannot be (the store is down), so the rest is
/// delivered again later.
pub async fn process(app: &App, batch: &[ChangeRecord]) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let read: Vec<Read<'_>> = batch.iter().map(|record| (record, effects::of_record(record))).collect();
    if let (_, Err(error)) = retried(|| reactions::count(app, &read)).await {
        let first = batch.first().map(|record| record.sequence.as_str());
        tracing::error!(sequence = ?first, %error, "a batch's counts could not be written; the batch stops here");
        return outcome;
    }
    for (record, effects) in &read {
        let (attempt, result) = retried(|| async { react_to(app, record, effects.clone()?).await }).await;
        if let Err(error) = result {
            match failed::keep(app.store.as_ref(), record, &error.to_string(), attempt).await {
                Ok(kept) => {
                    tracing::error!(sequence = %record.sequence, failure = %kept.id, %error, "a change's reactions keep failing; kept as a failed change");
                    outcome.failed += 1;
                }
                Err(keep_error) => {
                    tracing::error!(sequence = %record.sequence, %error, %keep_error, "a failed change could not be kept; the batch stops here");
                    break;
                }
            }
        }
        outcome.handled += 1;
    }
    reactions::after_batch(app, &read[..outcome.handled]).await;
    outcome
}

/// Runs `attempt` until it succeeds or has failed [`MAX_ATTEMPTS`] times, with a growing pause
/// between attempts; returns the attempts made and the last result.
async fn retried<F, Fut>(mut attempt: F) -> (u32, Result<(), ApiError>)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut made = 1;
    loop {
        match attempt().await {
            Ok(()) => return (made, Ok(())),
            Err(error) if made >= MAX_ATTEMPTS => return (made, Err(error)),
            Err(error) => {
                tracing::warn!(attempt = made, %error, "a change's reactions failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                made += 1;
            }
        }
    }
}
