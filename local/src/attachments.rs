//! The local gateway's stand-in for the attachments bucket: it answers the presigned upload
//! form's POST (verifying the signature, expiry, size and type as S3 does, then running the
//! same check the `attachments-check` function runs on S3's ObjectCreated event) and, for files
//! it keeps in its data directory, the presigned download links.
//!
//! With `--s3-endpoint` the files live in a bucket on that S3-compatible server, and upload
//! forms are still posted to the gateway: such a server (moto) neither enforces a POST policy's
//! size range nor tells anyone that an object arrived, so the gateway verifies the form, writes
//! the file into the bucket and runs the check, as S3 and its event do in AWS. Downloads are
//! the server's own presigned GETs.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_shared::attachments::folder::{FolderAttachments, GatewayLinks};
use switchboard_shared::attachments::s3::S3AttachmentObjects;
use switchboard_shared::attachments::signing::{SignatureRefusal, UploadForm, VerifiedUpload};
use switchboard_shared::attachments::store::{
    AttachmentLinks, AttachmentObjects, AttachmentStoreError, S3Links,
};
use switchboard_shared::domain::now;
use switchboard_shared::ops::attachments::{check_upload, Scanner};
use switchboard_shared::reports::DownloadLink;
use time::OffsetDateTime;

use crate::gateway::{gateway_error, Gateway};

/// Attachments in a bucket on an S3-compatible server: upload forms signed for this gateway,
/// download links signed for the server.
pub struct ServerBucket {
    uploads: GatewayLinks,
    downloads: S3Links,
    objects: S3AttachmentObjects,
}

impl ServerBucket {
    /// `bucket` on the server at `endpoint` (created when missing), its uploads taken by the
    /// gateway at `gateway_url` with a key derived from `secret` (the gateway's own).
    pub async fn open(
        endpoint: &str,
        bucket: &str,
        gateway_url: &str,
        secret: &[u8],
    ) -> Result<Self, String> {
        let objects = S3AttachmentObjects::for_endpoint(endpoint, bucket);
        objects.ensure_bucket().await.map_err(|e| format!("S3 at {endpoint}: {e}"))?;
        Ok(Self {
            uploads: GatewayLinks::new(gateway_url, secret).map_err(|e| e.to_string())?,
            downloads: S3Links::for_endpoint(endpoint, bucket),
            objects,
        })
    }

    /// The bucket's objects.
    pub fn objects(&self) -> &S3AttachmentObjects {
        &self.objects
    }
}

impl AttachmentLinks for ServerBucket {
    fn upload_form(&self, key: &str, content_type: &str, size: u64, now: OffsetDateTime) -> UploadForm {
        self.uploads.upload_form(key, content_type, size, now)
    }

    fn download_link(
        &self,
        key: &str,
        content_type: &str,
        disposition: &str,
        now: OffsetDateTime,
    ) -> DownloadLink {
        self.downloads.download_link(key, content_type, disposition, now)
    }
}

/// The attachments bucket the gateway takes uploads for.
#[derive(Clone)]
pub enum LocalBucket {
    /// Files in the data directory: the gateway also serves their download links.
    Folder(Arc<FolderAttachments>),
    /// A bucket on an S3-compatible server, which serves the downloads.
    Server(Arc<ServerBucket>),
}

impl LocalBucket {
    fn verify_upload(
        &self,
        fields: &BTreeMap<String, String>,
        file_size: u64,
        now: OffsetDateTime,
    ) -> Result<VerifiedUpload, SignatureRefusal> {
        match self {
            Self::Folder(files) => files.verify_upload(fields, file_size, now),
            Self::Server(bucket) => bucket.uploads.verify_upload(fields, file_size, now),
        }
    }

    fn objects(&self) -> &dyn AttachmentObjects {
        match self {
            Self::Folder(files) => files.as_ref(),
            Self::Server(bucket) => &bucket.objects,
        }
    }
}

/// The bucket's objects, for what stores files outside an upload form: a reply by e-mail's files,
/// taken in from the mail inbox.
#[async_trait::async_trait]
impl AttachmentObjects for LocalBucket {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AttachmentStoreError> {
        self.objects().get(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AttachmentStoreError> {
        self.objects().put(key, bytes, content_type).await
    }

    async fn put_unchecked(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), AttachmentStoreError> {
        self.objects().put_unchecked(key, bytes, content_type).await
    }

    async fn delete(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.objects().delete(key).await
    }

    async fn clear_tags(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.objects().clear_tags(key).await
    }

    async fn scan_verdict(&self, key: &str) -> Result<Option<String>, AttachmentStoreError> {
        self.objects().scan_verdict(key).await
    }
}

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
    let Some(bucket) = gateway.attachment_bucket() else {
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
    let verified = match bucket.verify_upload(&fields, size, now()) {
        Ok(verified) => verified,
        Err(refusal) => return refused(&refusal),
    };
    let objects = bucket.objects();
    if let Err(error) = objects.put(&verified.key, file.to_vec(), &verified.content_type).await {
        return failed(error);
    }
    // What S3's ObjectCreated event starts in AWS, run before answering so the uploader's next
    // look finds the attachment checked.
    if let Err(error) =
        check_upload(gateway.app_for("attachments-check"), objects, &verified.key, Scanner::None).await
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
    let Some(LocalBucket::Folder(files)) = gateway.attachment_bucket() else { return not_found() };
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
