//! Bulk sends as jobs: the request stores the job and enqueues its recipients in chunks, and
//! answers at once; the worker pushes each chunk (in Lambda, the function the queue invokes),
//! counting each recipient once on the job, which an admin reads for progress.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use utoipa::ToSchema;

use super::pushes::{deliver_to, platform_message, validate, Known, Notification, RECIPIENT_CONCURRENCY};
use super::role_forbidden;
use crate::app::App;
use crate::domain::{now, JobId, Principal, Role, UserId};
use crate::error::ApiError;
use crate::jobs::{BulkChunk, CHUNK_RECIPIENTS};
use crate::repo::deliveries::DeliveryStatus;
use crate::repo::jobs::{self, JobRecord, Outcome};
use crate::repo::{blocks, devices, preferences};

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
    app.jobs()?.enqueue(app, chunks).await.map_err(|e| ApiError::Internal(e.to_string()))?;
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

/// The worker: pushes one chunk's recipients, whose preferences, blocks and devices it reads
/// in batches, each claimed first so that a chunk delivered
/// twice pushes nobody twice, and each counted once on the job. A recipient that could not be
/// handled (the store failed) is counted `failed` and fails the chunk, so the queue delivers it
/// again for the others.
pub async fn run_chunk(app: &App, chunk: &BulkChunk) -> Result<(), ApiError> {
    let job_id =
        JobId::parse(&chunk.job_id).map_err(|e| ApiError::bad_request("invalid_message", e.to_string()))?;
    let Some(job) = jobs::get(app.store.as_ref(), &job_id).await? else {
        tracing::warn!(%job_id, "a chunk of an unknown job was dropped");
        return Ok(());
    };
    let message: Arc<str> = platform_message(&chunk.job_id, &job.notification)?.into();
    let notification = Arc::new(job.notification);
    let at = now();
    // The chunk's preferences and blocks in BatchGetItem calls, its devices in one batch of
    // queries: not three reads per recipient.
    let store = app.store.as_ref();
    let users = &chunk.user_ids;
    let (prefs, blocked, user_devices) = tokio::try_join!(
        preferences::get_many(store, users),
        blocks::get_many(store, users),
        devices::of_users(store, users)
    )?;
    let known = prefs
        .into_iter()
        .zip(blocked)
        .zip(user_devices)
        .map(|((preferences, block), devices)| Known::All { preferences, block, devices });
    let mut pending = users.iter().cloned().zip(known);
    let mut running = JoinSet::new();
    let mut failure = None;
    loop {
        while running.len() < RECIPIENT_CONCURRENCY && failure.is_none() {
            let Some((user, known)) = pending.next() else { break };
            let (app, n, message) = (app.clone(), notification.clone(), message.clone());
            running
                .spawn(async move { handle_recipient(&app, job_id, &user, known, &n, &message, at).await });
        }
        match running.join_next().await {
            None => break,
            Some(Ok(Ok(()))) => {}
            Some(Ok(Err(error))) => {
                failure.get_or_insert(error);
            }
            Some(Err(error)) => {
                failure.get_or_insert(ApiError::Internal(format!("a recipient's task failed: {error}")));
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

async fn handle_recipient(
    app: &App,
    job_id: JobId,
    user: &UserId,
    known: Known,
    n: &Notification,
    message: &str,
    at: OffsetDateTime,
) -> Result<(), ApiError> {
    let store = app.store.as_ref();
    if !jobs::claim(store, &job_id, user, at).await? {
        return Ok(());
    }
    match deliver_to(app, &job_id.to_string(), user, n, message, at, known).await {
        Ok(statuses) => jobs::count(store, &job_id, outcome(&statuses)).await,
        Err(error) => {
            // The push may have gone out before a log failed: it is not tried again.
            if let Err(count_error) = jobs::count(store, &job_id, Outcome::Failed).await {
                tracing::warn!(%count_error, %job_id, "counting a failed recipient failed");
            }
            Err(error)
        }
    }
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
