//! The attachment storage ports: [`AttachmentLinks`] signs upload forms and download links (pure
//! signing: the functions that hand them out link no S3 client), [`AttachmentObjects`] reads
//! and rewrites the stored files (the check). An S3 bucket in AWS, a folder locally.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::signing::{post_form, presigned_get, BucketEndpoint, SigningIdentity, UploadForm};
use super::LINK_LIFETIME;
use crate::config::{aws_environment, local_environment, var, ConfigError};
use crate::reports::DownloadLink;

/// Environment variable naming the attachments bucket.
pub const ATTACHMENTS_BUCKET: &str = "ATTACHMENTS_BUCKET";

/// The tag GuardDuty Malware Protection for S3 puts on a scanned object.
pub const SCAN_TAG: &str = "GuardDutyMalwareScanStatus";
/// The tag's value for a clean object.
pub const SCAN_CLEAN: &str = "NO_THREATS_FOUND";
/// The tag's value for an infected object.
pub const SCAN_THREATS: &str = "THREATS_FOUND";

/// Why the attachment storage failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentStoreError {
    /// The backend (S3, the file system) failed.
    #[error("attachment store: {0}")]
    Backend(String),
}

impl From<AttachmentStoreError> for crate::ApiError {
    fn from(error: AttachmentStoreError) -> Self {
        crate::ApiError::Internal(error.to_string())
    }
}

/// Signs the links of a bucket: upload forms and downloads, [`LINK_LIFETIME`] each.
pub trait AttachmentLinks: Send + Sync {
    /// The form that uploads exactly `size` bytes of `content_type` as `key`.
    fn upload_form(&self, key: &str, content_type: &str, size: u64, now: OffsetDateTime) -> UploadForm;

    /// A link that downloads `key` with these `Content-Type` and `Content-Disposition`.
    fn download_link(
        &self,
        key: &str,
        content_type: &str,
        disposition: &str,
        now: OffsetDateTime,
    ) -> DownloadLink;
}

/// The stored files, for the check.
#[async_trait]
pub trait AttachmentObjects: Send + Sync {
    /// The object's bytes; `None` when it is not stored.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AttachmentStoreError>;

    /// Replaces the object (its metadata stripped).
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AttachmentStoreError>;

    /// Stores a file that has not been checked yet (one that did not come through an upload
    /// form), tagged `state=pending` as the form tags an upload, so that the bucket's lifecycle
    /// rule removes it if its check never runs.
    async fn put_unchecked(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), AttachmentStoreError>;

    /// Deletes the object (a rejected file is never served).
    async fn delete(&self, key: &str) -> Result<(), AttachmentStoreError>;

    /// Removes the object's tags (`state=pending` from its upload form): it was checked, and the
    /// bucket's lifecycle rule for unchecked uploads no longer applies to it.
    async fn clear_tags(&self, key: &str) -> Result<(), AttachmentStoreError>;

    /// The malware scanner's verdict tag ([`SCAN_TAG`]) on the object, if it has one.
    async fn scan_verdict(&self, key: &str) -> Result<Option<String>, AttachmentStoreError>;
}

/// Links to an S3 bucket, signed with the function's credentials.
#[derive(Debug, Clone)]
pub struct S3Links {
    endpoint: BucketEndpoint,
    identity: SigningIdentity,
}

impl S3Links {
    /// Links to the bucket at `endpoint`, signed as `identity`.
    pub fn new(endpoint: BucketEndpoint, identity: SigningIdentity) -> Self {
        Self { endpoint, identity }
    }

    /// From the Lambda environment: `ATTACHMENTS_BUCKET`, `AWS_REGION`, the role's credentials
    /// (with their session token) and `AWS_ENDPOINT_URL` when set (path-style there). `None`
    /// when no bucket is configured.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_env_bucket(ATTACHMENTS_BUCKET)
    }

    /// [`S3Links::from_env`] for the bucket the environment variable `bucket_var` names (another
    /// bucket than the attachments', such as the one inbound e-mail is stored in).
    pub fn from_env_bucket(bucket_var: &'static str) -> Result<Option<Self>, ConfigError> {
        let Some(bucket) = var(bucket_var) else { return Ok(None) };
        let (region, credentials) = aws_environment()?;
        let endpoint = match var("AWS_ENDPOINT_URL") {
            Some(url) => BucketEndpoint::path_style(&url, &bucket),
            None => BucketEndpoint::aws(&bucket, &region),
        };
        let identity = SigningIdentity {
            access_key: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            session_token: credentials.session_token().map(str::to_owned),
            region,
        };
        Ok(Some(Self::new(endpoint, identity)))
    }

    /// Links to `bucket` on an S3-compatible server (moto) at `endpoint`, path-style, signed
    /// with the environment's credentials when set and local placeholders when not (the
    /// server's own presigned URLs, as its SDK clients sign them).
    pub fn for_endpoint(endpoint: &str, bucket: &str) -> Self {
        let (region, credentials) = local_environment();
        let identity = SigningIdentity {
            access_key: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            session_token: credentials.session_token().map(str::to_owned),
            region,
        };
        Self::new(BucketEndpoint::path_style(endpoint, bucket), identity)
    }

    /// Where the bucket answers.
    pub fn endpoint(&self) -> &BucketEndpoint {
        &self.endpoint
    }

    /// The identity links are signed as.
    pub fn identity(&self) -> &SigningIdentity {
        &self.identity
    }
}

impl AttachmentLinks for S3Links {
    fn upload_form(&self, key: &str, content_type: &str, size: u64, now: OffsetDateTime) -> UploadForm {
        post_form(&self.identity, &self.endpoint, key, content_type, size, now, LINK_LIFETIME)
    }

    fn download_link(
        &self,
        key: &str,
        content_type: &str,
        disposition: &str,
        now: OffsetDateTime,
    ) -> DownloadLink {
        let headers =
            [("response-content-type", content_type), ("response-content-disposition", disposition)];
        let url = presigned_get(&self.identity, &self.endpoint, key, &headers, now, LINK_LIFETIME);
        DownloadLink { url, expires_at: now + LINK_LIFETIME }
    }
}
