//! The local gateway's stand-in for the attachments bucket: it answers the presigned upload
//! form's POST (verifying the signature, expiry, size and type as S3 does, then running the
//! same check the `attachments-check` function runs on S3's ObjectCreated event) and the
//! presigned download links.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_shared::attachments::signing::SignatureRefusal;
use switchboard_shared::attachments::store::AttachmentObjects;
use switchboard_shared::domain::now;
use switchboard_shared::ops::attachments::{check_upload, Scanner};

use crate::gateway::{gateway_error, Gateway};

fn refused(refusal: &SignatureRefusal) -> Response {
    let (status, code) = match refusal {
        SignatureRefusal::InvalidSignature => (StatusCode::FORBIDDEN, "invalid_signature"),
        SignatureRefusal::Expired => (StatusCode::FORBIDDEN, "request_expired"),
        SignatureRefusal::PolicyViolated(_) => (StatusCode::FORBIDDEN, "policy_violated"),
        SignatureRefusal::SizeOutOfRange => (StatusCode::BAD_REQUEST, "size_out_of_range"),
    };
    gateway_error(status, code, &refusal.to_string())
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "the local attachments bucket failed");
    gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the gateway failed")
}

/// `POST /local-attachments`: an upload form (its fields, then `file`). 204 once the file is
/// stored and checked; 403 for a bad signature, an expired form or a broken policy, 400 for a
/// size outside the policy or a malformed form.
pub(crate) async fn upload(State(gateway): State<Gateway>, form: Multipart) -> Response {
    let mut response = store_upload(&gateway, form).await;
    // The widget posts from its site's page: the answer, a refusal included, must be readable
    // there (the bucket's CORS rule in AWS). The signed form, not the origin, authorizes it.
    response.headers_mut().insert("access-control-allow-origin", axum::http::HeaderValue::from_static("*"));
    response
}

/// `OPTIONS /local-attachments`: the preflight a browser sends before an upload that reports
/// its progress, answered as the bucket's CORS rule does in AWS.
pub(crate) async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            ("access-control-allow-origin", "*"),
            ("access-control-allow-methods", "POST"),
            ("access-control-allow-headers", "*"),
            ("access-control-max-age", "3600"),
        ],
    )
        .into_response()
}

async fn store_upload(gateway: &Gateway, mut form: Multipart) -> Response {
    let Some(files) = gateway.attachment_files() else {
        return gateway_error(StatusCode::NOT_FOUND, "not_found", "no attachments bucket here");
    };
    let mut fields = BTreeMap::new();
    let mut file = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                return gateway_error(StatusCode::BAD_REQUEST, "malformed_form", &error.to_string())
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            match field.bytes().await {
                Ok(bytes) => file = Some(bytes),
                Err(error) => {
                    return gateway_error(StatusCode::BAD_REQUEST, "malformed_form", &error.to_string())
                }
            }
            // S3 ignores the fields after the file.
            break;
        }
        match field.text().await {
            Ok(value) => fields.insert(name, value),
            Err(error) => {
                return gateway_error(StatusCode::BAD_REQUEST, "malformed_form", &error.to_string())
            }
        };
    }
    let Some(file) = file else {
        return gateway_error(StatusCode::BAD_REQUEST, "malformed_form", "the form has no file field");
    };
    let size = u64::try_from(file.len()).unwrap_or(u64::MAX);
    let verified = match files.verify_upload(&fields, size, now()) {
        Ok(verified) => verified,
        Err(refusal) => return refused(&refusal),
    };
    if let Err(error) = files.put(&verified.key, file.to_vec(), &verified.content_type).await {
        return failed(error);
    }
    // What S3's ObjectCreated event starts in AWS, run before answering so the uploader's next
    // look finds the attachment checked.
    if let Err(error) =
        check_upload(gateway.app_for("attachments-check"), files, &verified.key, Scanner::None).await
    {
        return failed(error);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /local-attachments/<key>`: the file of a presigned download link, with the
/// `Content-Type` and `Content-Disposition` the link was signed with.
pub(crate) async fn download(
    State(gateway): State<Gateway>,
    Path(key): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let not_found = || gateway_error(StatusCode::NOT_FOUND, "not_found", "no such file");
    let Some(files) = gateway.attachment_files() else { return not_found() };
    if let Err(refusal) = files.verify_download(&key, &query, now()) {
        return refused(&refusal);
    }
    let header = |name: &str| query.get(name).cloned().unwrap_or_default();
    match files.get(&key).await {
        Ok(Some(bytes)) => (
            [
                ("content-type", header("response-content-type")),
                ("content-disposition", header("response-content-disposition")),
                ("x-content-type-options", "nosniff".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(error) => failed(error),
    }
}
