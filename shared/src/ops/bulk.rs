//! Bulk sends as jobs: the request stores the job and enqueues its recipients in chunks, and
//! answers at once; the worker pushes each chunk (in Lambda, the function the queue invokes),
//! counting each recipient once on the job, which an admin reads for progress.

use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::pushes::{
    delivery_log, devices_to_push, platform_message, publish_attempt, validate, Notification,
    RECIPIENT_CONCURRENCY,
};
use super::role_forbidden;
use crate::app::App;
use crate::domain::{now, JobId, Principal, Role, UserId};
use crate::error::ApiError;
use crate::jobs::{BulkChunk, CHUNK_RECIPIENTS};
use crate::repo::deliveries::{self, DeliveryLog, DeliveryStatus};
use crate::repo::devices::{self, Device};
use crate::repo::jobs::{self, JobRecord, Outcome, Tally};
use crate::repo::{blocks, preferences};

/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// No recipient handled yet.
    Queued,
    /// Some recipients handled.
    Running,
    /// Every recipient handled.
    Done,
}

/// A bulk send's progress, counted in recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BulkJob {
    /// Its id; its delivery logs carry it (`GET /notifications/delivery-logs?job_id=`).
    pub job_id: JobId,
    /// `queued`, `running` or `done`.
    pub status: JobStatus,
    /// Distinct recipients.
    pub total: usize,
    /// Recipients with at least one push published.
    pub sent: usize,
    /// Recipients whose pushes all failed.
    pub failed: usize,
    /// Recipients not pushed (preference, quiet hours, muted, blocked, no device).
    pub skipped: usize,
    /// Whether every recipient was handled.
    pub done: bool,
    /// When it was started.
    #[serde(with = "crate::domain::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<&JobRecord> for BulkJob {
    fn from(job: &JobRecord) -> Self {
        let handled = job.sent + job.failed + job.skipped;
        let done = handled >= job.total;
        let status = match (done, handled) {
            (true, _) => JobStatus::Done,
            (false, 0) => JobStatus::Queued,
            (false, _) => JobStatus::Running,
        };
        Self {
            job_id: job.job_id,
            status,
            total: job.total,
            sent: job.sent,
            failed: job.failed,
            skipped: job.skipped,
            done,
            created_at: job.created_at,
        }
    }
}

/// An `Idempotency-Key`: 1 to 64 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key; a bad one is 400 `invalid_idempotency_key`.
    pub fn parse(key: &str) -> Result<Self, ApiError> {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !key.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                format!("Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
            ));
        }
        Ok(Self(key.to_owned()))
    }
}

fn request_hash(recipients: &[UserId], n: &Notification) -> Result<String, ApiError> {
    let request = serde_json::to_vec(&(recipients, n))
        .map_err(|e| ApiError::Internal(format!("serialising a bulk send: {e}")))?;
    Ok(Sha256::digest(&request).iter().map(|byte| format!("{byte:02x}")).collect())
}

/// An admin starts a bulk send: nothing is stored unless the whole request is valid; then the
/// job is stored and its recipients enqueued in chunks, and the job is answered (`true` when
/// this request created it). The same idempotency key with the same request answers the same
/// job (enqueuing it again if it never was); with another request it is 409
/// `idempotency_key_reused`.
pub async fn start_bulk_send(
    app: &App,
    principal: &Principal,
    key: Option<IdempotencyKey>,
    recipients: Vec<UserId>,
    notification: Notification,
) -> Result<(BulkJob, bool), ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("send notifications; only admins do"));
    }
    let store = app.store.as_ref();
    let recipients = validate(&recipients, &notification)?;
    let job_id = JobId::generate();
    platform_message(&job_id.to_string(), &notification)?;
    let request_hash = request_hash(&recipients, &notification)?;
    let job = JobRecord {
        job_id,
        created_by: principal.user_id.clone(),
        created_at: now(),
        notification,
        total: recipients.len(),
        sent: 0,
        failed: 0,
        skipped: 0,
        enqueued: false,
        request_hash,
    };
    let key = key.map(|k| k.0);
    if !jobs::create(store, &job, key.as_deref()).await? {
        let key = key.as_deref().unwrap_or_default();
        let earlier = jobs::by_key(store, &principal.user_id, key).await?;
        let earlier = match earlier {
            Some(earlier) if earlier.request_hash == job.request_hash => earlier,
            _ => {
                return Err(ApiError::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key started another bulk send; use a new key for a new send",
                ))
            }
        };
        let stored = jobs::get(store, &earlier.job_id).await?.ok_or_else(|| {
            ApiError::Internal(format!("job {} of an idempotency key is missing", earlier.job_id))
        })?;
        if !stored.enqueued {
            enqueue(app, &stored.job_id, &recipients).await?;
        }
        return Ok((BulkJob::from(&stored), false));
    }
    enqueue(app, &job.job_id, &recipients).await?;
    tracing::info!(job_id = %job.job_id, total = job.total, "bulk send enqueued");
    Ok((BulkJob::from(&job), true))
}

async fn enqueue(app: &App, job_id: &JobId, recipients: &[UserId]) -> Result<(), ApiError> {
    let chunks = recipients
        .chunks(CHUNK_RECIPIENTS)
        .map(|users| BulkChunk { job_id: job_id.to_string(), user_ids: users.to_vec() })
        .collect();
    app.jobs()?.enqueue(app, chunks).await.map_err(|e| ApiError::QueueUnavailable(e.to_string()))?;
    jobs::mark_enqueued(app.store.as_ref(), job_id).await
}

/// An admin reads a job's progress.
pub async fn get_bulk_job(app: &App, principal: &Principal, job_id: &JobId) -> Result<BulkJob, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("read bulk sends; only admins do"));
    }
    jobs::get(app.store.as_ref(), job_id)
        .await?
        .map(|job| BulkJob::from(&job))
        .ok_or_else(|| ApiError::not_found("job_not_found", format!("no bulk send has the id {job_id}")))
}

/// The worker: pushes one chunk's recipients. They are claimed first, together, so that a
/// chunk delivered twice pushes nobody twice; the claimed ones are pushed
/// ([`push_claimed`]) and counted on the job in one update. A recipient that could not be
/// handled (the store failed) is counted `failed` and fails the chunk, so the queue delivers it
/// again (which pushes nobody already claimed).
pub async fn run_chunk(app: &App, chunk: &BulkChunk) -> Result<(), ApiError> {
    let job_id =
        JobId::parse(&chunk.job_id).map_err(|e| ApiError::bad_request("invalid_message", e.to_string()))?;
    let store = app.store.as_ref();
    let Some(job) = jobs::get(store, &job_id).await? else {
        tracing::warn!(%job_id, "a chunk of an unknown job was dropped");
        return Ok(());
    };
    let Some(first) = chunk.user_ids.first() else { return Ok(()) };
    let message = platform_message(&chunk.job_id, &job.notification)?;
    let at = now();
    let users = jobs::claim_many(store, &job_id, &chunk.user_ids, at).await?;
    // Recipients claimed by an earlier delivery of this chunk: counted with it, unless its count
    // was lost (the worker failed after claiming); then they are counted now, from their logs.
    let earlier: Vec<UserId> = chunk.user_ids.iter().filter(|user| !users.contains(user)).cloned().collect();
    let counted_before = !earlier.is_empty() && jobs::chunk_counted(store, &job_id, first).await?;
    if counted_before && users.is_empty() {
        return Ok(());
    }
    let mut tally = if earlier.is_empty() || counted_before {
        Tally::default()
    } else {
        earlier_outcomes(store, &chunk.job_id, &earlier).await?
    };
    let pushed = if users.is_empty() {
        Ok(())
    } else {
        let (handled, pushed) =
            push_claimed(app, &chunk.job_id, &users, &job.notification, &message, at).await;
        tally += handled;
        pushed
    };
    let counted = if counted_before {
        jobs::count(store, &job_id, tally).await
    } else {
        jobs::count_chunk(store, &job_id, first, tally, at).await.map(drop)
    };
    if let Err(error) = &counted {
        tracing::error!(%error, %job_id, ?tally, "counting a chunk's recipients failed; its next delivery counts them");
    }
    pushed.and(counted)
}

/// What became of recipients an earlier delivery of a chunk claimed, from their delivery logs of
/// the job: a `pending` log is a publish made whose outcome was not written (counted as sent, as
/// [`push_claimed`] counts it); no log at all, a recipient claimed and never pushed (failed).
async fn earlier_outcomes(
    store: &dyn crate::store::ItemStore,
    job_id: &str,
    users: &[UserId],
) -> Result<Tally, ApiError> {
    let logs: Vec<Result<Vec<DeliveryLog>, ApiError>> = futures::stream::iter(users.iter().cloned())
        .map(|user| async move {
            let listing = deliveries::LogListing::User(user);
            let (logs, _) = deliveries::list(store, &listing, EARLIER_LOGS_READ, None).await?;
            Ok(logs.into_iter().filter(|log| log.job_id == job_id).collect::<Vec<_>>())
        })
        .buffer_unordered(RECIPIENT_CONCURRENCY)
        .collect()
        .await;
    let mut tally = Tally::default();
    for user_logs in logs {
        let statuses: Vec<DeliveryStatus> = user_logs?
            .into_iter()
            .map(|log| if log.status == DeliveryStatus::Pending { DeliveryStatus::Sent } else { log.status })
            .collect();
        tally.add(if statuses.is_empty() { Outcome::Failed } else { outcome(&statuses) });
    }
    Ok(tally)
}

/// A recipient's newest logs read to find a job's: a bulk send's are among their newest.
const EARLIER_LOGS_READ: usize = 25;

/// Pushes claimed recipients with a few store calls for all of them: their preferences, blocks
/// and devices read in batches; every decision not to push and every attempt (`pending`) logged
/// in one batch before anything is published; the publishes made concurrently; their logs settled
/// in one batch. Returns the recipients' outcomes (those that could not be handled are `failed`)
/// and the first store error.
async fn push_claimed(
    app: &App,
    job_id: &str,
    users: &[UserId],
    n: &Notification,
    message: &str,
    at: OffsetDateTime,
) -> (Tally, Result<(), ApiError>) {
    let all_failed = || Tally { failed: users.len().try_into().unwrap_or(u32::MAX), ..Tally::default() };
    let store = app.store.as_ref();
    let read = tokio::try_join!(
        preferences::get_many(store, users),
        blocks::get_many(store, users),
        devices::of_users(store, users)
    );
    let (prefs, blocked, user_devices) = match read {
        Ok(read) => read,
        Err(error) => return (all_failed(), Err(error)),
    };
    let mut statuses: Vec<Vec<DeliveryStatus>> = vec![Vec::new(); users.len()];
    let mut logs = Vec::new();
    let mut attempts = Vec::new();
    let known = prefs.into_iter().zip(blocked).zip(user_devices);
    for (i, (user, ((preferences, block), devices))) in users.iter().zip(known).enumerate() {
        let log = |status, device: Option<&Device>| delivery_log(job_id, user, n, at, status, device);
        match devices_to_push(preferences, block, devices, n, at) {
            Err(status) => {
                logs.push(log(status, None));
                statuses[i].push(status);
            }
            Ok(devices) => {
                for device in devices {
                    if device.enabled {
                        attempts.push((i, log(DeliveryStatus::Pending, Some(&device)), device));
                    } else {
                        logs.push(log(DeliveryStatus::EndpointDisabled, Some(&device)));
                        statuses[i].push(DeliveryStatus::EndpointDisabled);
                    }
                }
            }
        }
    }
    logs.extend(attempts.iter().map(|(_, entry, _)| entry.clone()));
    if let Err(error) = deliveries::put_many(store, &logs).await {
        // Nothing was published.
        return (all_failed(), Err(error));
    }
    let settled: Vec<(usize, DeliveryLog)> = futures::stream::iter(attempts)
        .map(|(i, mut entry, device)| async move {
            publish_attempt(app, &device, message, &mut entry).await;
            (i, entry)
        })
        .buffer_unordered(RECIPIENT_CONCURRENCY)
        .collect()
        .await;
    let mut entries = Vec::with_capacity(settled.len());
    for (i, entry) in settled {
        statuses[i].push(entry.status);
        entries.push(entry);
    }
    let mut tally = Tally::default();
    statuses.iter().for_each(|s| tally.add(outcome(s)));
    // A settle that fails leaves the logs `pending`: the pushes went out and are counted.
    (tally, deliveries::put_many(store, &entries).await)
}

fn outcome(statuses: &[DeliveryStatus]) -> Outcome {
    if statuses.contains(&DeliveryStatus::Sent) {
        Outcome::Sent
    } else if statuses.iter().any(|s| matches!(s, DeliveryStatus::Failed | DeliveryStatus::EndpointDisabled))
    {
        Outcome::Failed
    } else {
        Outcome::Skipped
    }
}
