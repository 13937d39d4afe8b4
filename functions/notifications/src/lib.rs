//! Notification REST handlers: each user's devices (SNS platform endpoints) and preferences
//! (categories, quiet hours in their own time zone, muted sessions).

use lambda_http::Request;
use serde::Deserialize;
use serde_json::{json as json_value, Value};
use switchboard_shared::domain::push::Preferences;
use switchboard_shared::domain::{JobId, Role, UserId};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, json_body, principal, HandlerResult};
use switchboard_shared::http::{page_request, path_param, query_param, ListPage};
use switchboard_shared::jobs::BulkChunk;
use switchboard_shared::ops::bulk::{BulkJob, IdempotencyKey};
use switchboard_shared::ops::{BulkSend, RegisterDevice, SendNotification, SendSummary, UnregisterDevice};
use switchboard_shared::repo::deliveries::DeliveryLog;
use switchboard_shared::repo::devices::Device;
use switchboard_shared::ApiError;
use switchboard_shared::{http_function, ops, App};

http_function!(
    /// `GET /notifications/preferences`
    GET_PREFERENCES = "notifications-get-preferences" => get_preferences
);
http_function!(
    /// `PUT /notifications/preferences`
    PUT_PREFERENCES = "notifications-put-preferences" => put_preferences
);

http_function!(
    /// `POST /notifications/devices/register`
    REGISTER_DEVICE = "notifications-register-device" => register_device
);
http_function!(
    /// `POST /notifications/devices/unregister`
    UNREGISTER_DEVICE = "notifications-unregister-device" => unregister_device
);

http_function!(
    /// `POST /notifications/send`
    SEND = "notifications-send" => send
);
http_function!(
    /// `POST /notifications/bulk-send`
    BULK_SEND = "notifications-bulk-send" => bulk_send
);
http_function!(
    /// `GET /notifications/jobs/{id}`
    GET_JOB = "notifications-get-job" => get_job
);
http_function!(
    /// `GET /notifications/delivery-logs`
    LIST_DELIVERY_LOGS = "notifications-list-delivery-logs" => list_delivery_logs
);

/// Every function of this crate.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[
    GET_PREFERENCES,
    PUT_PREFERENCES,
    REGISTER_DEVICE,
    UNREGISTER_DEVICE,
    SEND,
    BULK_SEND,
    GET_JOB,
    LIST_DELIVERY_LOGS,
];

switchboard_shared::queue_function!(
    /// The bulk-send worker: the bulk-send queue's SQS event source.
    BULK_WORKER = "notifications-bulk-worker" => bulk_worker
);

/// The caller's notification preferences (the defaults — everything on, no quiet hours, nothing
/// muted — until they set any).
#[utoipa::path(get, path = "/notifications/preferences", tag = "notifications",
    responses((status = 200, body = Preferences)))]
pub async fn get_preferences(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    json(200, &ops::get_preferences(app.store.as_ref(), &principal).await?)
}

/// Replaces the caller's notification preferences; fields left out take their defaults.
#[utoipa::path(put, path = "/notifications/preferences", tag = "notifications", request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 400, body = ErrorBody),
        (status = 422, description = "unknown field, bad time, unknown time zone, too many muted sessions", body = ErrorBody)))]
pub async fn put_preferences(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: Preferences = json_body(&req)?;
    json(200, &ops::put_preferences(app.store.as_ref(), &principal, input).await?)
}

/// Registers the caller's device for pushes (creating, reusing or re-enabling its platform
/// endpoint); registering the same token again is idempotent, and a token that moved from
/// another user becomes the caller's.
#[utoipa::path(post, path = "/notifications/devices/register", tag = "notifications", request_body = RegisterDevice,
    responses((status = 200, body = Device), (status = 400, body = ErrorBody),
        (status = 422, description = "empty or oversized token, unknown platform, the push service refused the token", body = ErrorBody)))]
pub async fn register_device(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: RegisterDevice = json_body(&req)?;
    json(200, &ops::register_device(app, &principal, input).await?)
}

/// Unregisters one of the caller's devices: its platform endpoint is deleted; answers the
/// device as it was.
#[utoipa::path(post, path = "/notifications/devices/unregister", tag = "notifications", request_body = UnregisterDevice,
    responses((status = 200, body = Device), (status = 404, description = "no device of yours has this token", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn unregister_device(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let input: UnregisterDevice = json_body(&req)?;
    json(200, &ops::unregister_device(app, &principal, input).await?)
}

/// An admin sends a notification to one user: their preferences (category, muted session, quiet
/// hours) and block respected, one push per enabled device; answers the summary (each outcome
/// is also a delivery log with the job id).
#[utoipa::path(post, path = "/notifications/send", tag = "notifications", request_body = SendNotification,
    responses((status = 200, body = SendSummary), (status = 403, description = "not an admin", body = ErrorBody),
        (status = 422, description = "bad title, body or data; too large for a platform", body = ErrorBody)))]
pub async fn send(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "send notifications; only admins do")?;
    let (recipients, notification) = json_body::<SendNotification>(&req)?.split();
    json(200, &ops::send_notification(app, &principal, recipients, notification).await?)
}

/// An admin starts a bulk send to up to 10,000 users: answers 202 with the job at once; the
/// pushes go out in the background (as `send`, each recipient on its own), and
/// `GET /notifications/jobs/{id}` shows the progress. With an `Idempotency-Key` header, a retry
/// of the same request answers the same job and pushes nobody again.
#[utoipa::path(post, path = "/notifications/bulk-send", tag = "notifications", request_body = BulkSend,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 64 visible ASCII characters; the same key and request answer the same job (kept 30 days)")),
    responses((status = 202, body = BulkJob), (status = 400, description = "bad Idempotency-Key", body = ErrorBody),
        (status = 403, description = "not an admin", body = ErrorBody),
        (status = 409, description = "idempotency_key_reused: the key started another send", body = ErrorBody),
        (status = 422, description = "no or more than 10,000 recipients, bad title, body or data", body = ErrorBody),
        (status = 503, description = "queue_unavailable: the job is stored but not started; send the same request with the same Idempotency-Key again", body = ErrorBody)))]
pub async fn bulk_send(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    ops::require_role(&principal, &[Role::Admin], "send notifications; only admins do")?;
    let key = match req.headers().get("idempotency-key") {
        Some(value) => Some(IdempotencyKey::parse(value.to_str().unwrap_or_default())?),
        None => None,
    };
    let (recipients, notification) = json_body::<BulkSend>(&req)?.split();
    let (job, _) = ops::bulk::start_bulk_send(app, &principal, key, recipients, notification).await?;
    json(202, &job)
}

/// An admin reads a bulk send's progress, in recipients: sent, failed, skipped, of total, and
/// whether it is done.
#[utoipa::path(get, path = "/notifications/jobs/{id}", tag = "notifications",
    params(("id" = String, Path, description = "the job id of a bulk send")),
    responses((status = 200, body = BulkJob), (status = 400, description = "not a job id", body = ErrorBody),
        (status = 403, description = "not an admin", body = ErrorBody),
        (status = 404, description = "job_not_found", body = ErrorBody)))]
pub async fn get_job(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let job: JobId = path_param(&req, "id")?;
    json(200, &ops::bulk::get_bulk_job(app, &principal, &job).await?)
}

/// The fields of an SQS event the worker reads.
#[derive(Debug, Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
struct SqsRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    body: String,
}

/// Pushes each message's chunk of a bulk send; answers the messages that failed
/// (`batchItemFailures`, with `ReportBatchItemFailures`), so only those are delivered again and,
/// after the queue's receive limit, go to its dead-letter queue.
pub async fn bulk_worker(app: &App, event: Value) -> Result<Value, ApiError> {
    let event: SqsEvent = serde_json::from_value(event)
        .map_err(|e| ApiError::bad_request("invalid_event", format!("not an SQS event: {e}")))?;
    let mut failures = Vec::new();
    for record in event.records {
        let outcome = match serde_json::from_str::<BulkChunk>(&record.body) {
            Ok(chunk) => ops::bulk::run_chunk(app, &chunk).await,
            Err(e) => Err(ApiError::bad_request("invalid_message", e.to_string())),
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, message_id = record.message_id, "a bulk-send message failed");
            failures.push(json_value!({"itemIdentifier": record.message_id}));
        }
    }
    Ok(json_value!({"batchItemFailures": failures}))
}

/// Delivery logs, newest first for a user, in order for a send: a user's own; an admin's own,
/// or any user's (`?user_id=`), or a send's (`?job_id=`).
#[utoipa::path(get, path = "/notifications/delivery-logs", tag = "notifications",
    params(("user_id" = Option<String>, Query, description = "admins: whose logs"),
        ("job_id" = Option<String>, Query, description = "admins: a send's logs"),
        ("limit" = Option<usize>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = ListPage<DeliveryLog>), (status = 400, body = ErrorBody),
        (status = 403, description = "another user's logs, not an admin", body = ErrorBody)))]
pub async fn list_delivery_logs(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let page = page_request(&req)?;
    let user = query_param(&req, "user_id")
        .map(|u| UserId::parse(&u))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    let job = query_param(&req, "job_id");
    if job.as_ref().is_some_and(|j| j.is_empty() || j.len() > 64) {
        return Err(ApiError::bad_request("invalid_id", "job_id: 1 to 64 characters"));
    }
    let (items, next) = ops::list_delivery_logs(app, &principal, user, job, page.limit, page.cursor).await?;
    json(200, &ListPage::new(items, next))
}
