//! The change feed in AWS: the table's DynamoDB Stream hands batches of records to
//! `changes-process`, which runs the same runner as the local gateway's consumer.

use serde_json::{json, Value};
use switchboard_shared::changes::{runner, stream_event};
use switchboard_shared::{ApiError, App};

switchboard_shared::queue_function!(
    /// The change feed's reactions: the table stream's event source.
    PROCESS = "changes-process" => process
);

/// Runs the reactions of a batch of stream records, in order. A record whose reactions keep
/// failing is kept as a failed change and passed (`runner::process`); the batch stops only
/// where a record cannot be read or a failed change cannot be kept, and that record is answered
/// as the first `batchItemFailures` entry (with `ReportBatchItemFailures`, Lambda delivers the
/// batch again from it, bisects, and after its retries sends it to the on-failure queue).
pub async fn process(app: &App, event: Value) -> Result<Value, ApiError> {
    let records =
        stream_event::records(&event).map_err(|reason| ApiError::bad_request("invalid_event", reason))?;
    let mut readable = Vec::with_capacity(records.len());
    let mut unreadable = None;
    for record in records {
        match record {
            Ok(record) => readable.push(record),
            Err(error) => {
                tracing::error!(sequence = ?error.sequence, reason = error.reason, "an unreadable stream record");
                unreadable = Some(error.sequence.unwrap_or_default());
                break;
            }
        }
    }
    let outcome = runner::process(app, &readable).await;
    let failed_at = match readable.get(outcome.handled) {
        Some(record) => Some(record.sequence.clone()),
        None => unreadable,
    };
    let failures: Vec<Value> =
        failed_at.into_iter().map(|sequence| json!({"itemIdentifier": sequence})).collect();
    // A tumbling window's invocation must answer its state; the feed keeps none in it.
    Ok(json!({"batchItemFailures": failures, "state": {}}))
}
