//! Attachments: the upload request (an attachment and its presigned POST), the download link
//! (a presigned GET), and the check that runs on the bucket's ObjectCreated events and on the
//! malware scanner's verdicts.

use std::sync::Arc;

use lambda_http::Request;
use serde_json::{json, Value};
use switchboard_shared::attachments::bucket::SignedBucketObjects;
use switchboard_shared::attachments::store::AttachmentObjects;
use switchboard_shared::attachments::{AttachmentLimits, UploadRequest, SCANNER_VAR};
use switchboard_shared::config::{store_from_env, var, ConfigError};
use switchboard_shared::domain::{AttachmentId, SessionId};
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{json, json_body, path_param, principal, HandlerResult};
use switchboard_shared::ops::attachments::{self, AttachmentLink, Scanner, Upload};
use switchboard_shared::push::refused::RefusedPush;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::{http_function, ApiError, App};

http_function!(
    /// `POST /chat/sessions/{id}/attachments`
    REQUEST_UPLOAD = "attachments-request-upload" => request_upload
);
http_function!(
    /// `GET /chat/sessions/{id}/attachments/{attachment_id}`
    DOWNLOAD = "attachments-download" => download_attachment
);

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[REQUEST_UPLOAD, DOWNLOAD];

/// The name of the check function.
pub const CHECK: &str = "attachments-check";

/// A participant of an open session asks to upload a file: 201 with the attachment (`pending`)
/// and the form that uploads it straight to the bucket (exactly this type and size, 5 minutes).
#[utoipa::path(post, path = "/chat/sessions/{id}/attachments", tag = "attachments",
    params(("id" = SessionId, Path)), request_body = UploadRequest,
    responses((status = 201, body = Upload),
        (status = 403, description = "not_a_participant", body = ErrorBody),
        (status = 404, description = "session_not_found", body = ErrorBody),
        (status = 409, description = "session_closed", body = ErrorBody),
        (status = 422, description = "attachment_type_forbidden (SVG, HTML), attachment_type_not_allowed, \
            attachment_empty, attachment_too_large, too_many_attachments_in_session, validation_failed", body = ErrorBody)))]
pub async fn request_upload(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let input: UploadRequest = json_body(&req)?;
    json(201, &attachments::request_upload(app, &principal, &id, input).await?)
}

/// A link that downloads a checked attachment for 5 minutes, for anyone who may read the
/// session: images are served inline, other files as a download.
#[utoipa::path(get, path = "/chat/sessions/{id}/attachments/{attachment_id}", tag = "attachments",
    params(("id" = SessionId, Path), ("attachment_id" = AttachmentId, Path)),
    responses((status = 200, body = AttachmentLink),
        (status = 404, description = "session_not_found, attachment_not_found", body = ErrorBody),
        (status = 409, description = "attachment_not_ready (still being checked), attachment_rejected", body = ErrorBody)))]
pub async fn download_attachment(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    let id: SessionId = path_param(&req, "id")?;
    let attachment: AttachmentId = path_param(&req, "attachment_id")?;
    json(200, &attachments::download(app, &principal, &id, &attachment).await?)
}

/// The scanner the check waits for, from `ATTACHMENT_SCANNER` (`guardduty`; unset, none).
pub fn scanner_from_env() -> Result<Scanner, ConfigError> {
    match var(SCANNER_VAR).as_deref() {
        None => Ok(Scanner::None),
        Some("guardduty") => Ok(Scanner::GuardDuty),
        Some(other) => Err(ConfigError::Invalid {
            name: SCANNER_VAR,
            reason: format!("{other:?} is not a scanner this build knows (guardduty)"),
        }),
    }
}

/// The object keys an event names: S3's Object Created or a GuardDuty Malware Protection scan
/// result, both through EventBridge.
pub fn object_keys(event: &Value) -> Vec<String> {
    let detail = &event["detail"];
    [&detail["object"]["key"], &detail["s3ObjectDetails"]["objectKey"]]
        .into_iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Checks every object an event names; the attachments whose checks ended.
pub async fn check(
    app: &App,
    objects: &dyn AttachmentObjects,
    scanner: Scanner,
    event: Value,
) -> Result<Value, ApiError> {
    let mut ended = Vec::new();
    for key in object_keys(&event) {
        if let Some(attachment) = attachments::check_upload(app, objects, &key, scanner).await? {
            tracing::info!(attachment = %attachment.id, status = ?attachment.status, "attachment checked");
            ended
                .push(json!({"id": attachment.id, "status": attachment.status, "reason": attachment.reason}));
        }
    }
    Ok(json!({"checked": ended}))
}

/// The `main` of `attachments-check`: tracing, the table, the WebSocket client and the bucket
/// (presigned requests, no S3 client; no push client: the check announces on the WebSocket
/// only), then the Lambda runtime loop.
/// A failed check fails the invocation, so Lambda retries it.
pub async fn run_check() -> Result<(), lambda_http::Error> {
    switchboard_shared::telemetry::init();
    let built = async {
        // Its policy grants no SNS action: the push port refuses, and no SNS client is linked.
        let app = App::lambda(
            store_from_env().await?,
            Arc::new(ApiGatewayRealtime::from_env()?),
            Arc::new(RefusedPush),
        )
        .with_attachment_limits(AttachmentLimits::from_env()?);
        Ok::<_, ConfigError>((app, SignedBucketObjects::from_env()?, scanner_from_env()?))
    };
    let (app, objects, scanner) = built.await.inspect_err(|error| {
        tracing::error!(%error, "configuration is unusable");
    })?;
    let (app, objects) = (&app, &objects);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<Value>| async move {
            check(app, objects, scanner, event.payload).await.map_err(lambda_http::Error::from)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_and_guardduty_events_name_their_object_keys() {
        let created = json!({"source": "aws.s3", "detail": {"object": {"key": "attachments/a/b"}}});
        let scanned = json!({"source": "aws.guardduty", "detail": {"s3ObjectDetails": {"objectKey": "attachments/a/c"}}});

        assert_eq!(object_keys(&created), ["attachments/a/b"]);
        assert_eq!(object_keys(&scanned), ["attachments/a/c"]);
        assert!(object_keys(&json!({})).is_empty());
    }
}
