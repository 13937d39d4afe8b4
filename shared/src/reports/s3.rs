//! The production report store: an S3 bucket (`daily/2026-01-05.pdf`), downloads through
//! presigned GET URLs. Only the reports functions build it (the `s3` feature), so no other
//! function links the S3 client.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use time::OffsetDateTime;

use super::{page_newest_first, DownloadLink, ReportId, ReportStore, ReportStoreError, StoredReport};
use super::{DOWNLOAD_LINK_LIFETIME, PDF_CONTENT_TYPE};
use crate::config::ConfigError;
use crate::s3::S3Bucket;

/// Environment variable naming the reports bucket.
pub const REPORTS_BUCKET: &str = "REPORTS_BUCKET";

/// Reports in an S3 bucket. The SDK client is built on the first call, so a cold start does not
/// pay for it.
pub struct S3ReportStore {
    bucket: S3Bucket,
}

fn failed(what: &str, error: impl std::error::Error) -> ReportStoreError {
    ReportStoreError::Backend(format!("S3 {what}: {}", DisplayErrorContext(&error)))
}

fn time_of(at: Option<&aws_sdk_s3::primitives::DateTime>) -> OffsetDateTime {
    at.and_then(|at| OffsetDateTime::from_unix_timestamp(at.secs()).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn size_of(size: Option<i64>) -> u64 {
    size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0)
}

impl S3ReportStore {
    /// From the Lambda environment: the bucket in `REPORTS_BUCKET`, `AWS_REGION`, the
    /// credentials, and `AWS_ENDPOINT_URL` when set.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self { bucket: S3Bucket::from_env(REPORTS_BUCKET)? })
    }

    /// `bucket` on an S3-compatible server (moto): the environment's region and credentials
    /// when set, local placeholders when not.
    pub fn for_endpoint(endpoint: &str, bucket: &str) -> Self {
        Self { bucket: S3Bucket::for_endpoint(endpoint, bucket) }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        self.bucket.name()
    }

    fn client(&self) -> Result<&Client, ReportStoreError> {
        self.bucket.client().map_err(|e| ReportStoreError::Backend(format!("S3 client: {e}")))
    }

    /// Creates the bucket unless it exists (the local gateway and tests; the template creates
    /// the real one).
    pub async fn ensure_bucket(&self) -> Result<(), ReportStoreError> {
        self.bucket.ensure_exists().await.map_err(ReportStoreError::Backend)
    }
}

#[async_trait]
impl ReportStore for S3ReportStore {
    async fn put(&self, id: &ReportId, bytes: Vec<u8>, content_type: &str) -> Result<(), ReportStoreError> {
        let key = id.object_name();
        self.client()?
            .put_object()
            .bucket(self.bucket.name())
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| failed(&format!("putting {key}"), e))?;
        Ok(())
    }

    async fn get(&self, id: &ReportId) -> Result<Option<Vec<u8>>, ReportStoreError> {
        let key = id.object_name();
        let object = match self.client()?.get_object().bucket(self.bucket.name()).key(&key).send().await {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(failed(&format!("getting {key}"), error)),
        };
        let bytes = object.body.collect().await.map_err(|e| failed(&format!("reading {key}"), e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn info(&self, id: &ReportId) -> Result<Option<StoredReport>, ReportStoreError> {
        let key = id.object_name();
        match self.client()?.head_object().bucket(self.bucket.name()).key(&key).send().await {
            Ok(head) => Ok(Some(StoredReport {
                id: *id,
                size_bytes: size_of(head.content_length()),
                created_at: time_of(head.last_modified()),
            })),
            // HEAD answers without a body, so "not found" arrives as a bare 404.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found() || e.code() == Some("NoSuchKey")) =>
            {
                Ok(None)
            }
            Err(error) => Err(failed(&format!("reading {key}"), error)),
        }
    }

    async fn list(
        &self,
        limit: usize,
        after: Option<ReportId>,
    ) -> Result<(Vec<StoredReport>, Option<ReportId>), ReportStoreError> {
        // S3 lists names in ascending order only; newest first means reading every name (1,000 a
        // call; the bucket's lifecycle rule keeps about 400 daily reports).
        let client = self.client()?;
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .list_objects_v2()
                .bucket(self.bucket.name())
                .prefix("daily/")
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| failed(&format!("listing {}", self.bucket.name()), e))?;
            for object in page.contents() {
                if let Some(id) = object.key().and_then(ReportId::from_object_name) {
                    all.push(StoredReport {
                        id,
                        size_bytes: size_of(object.size()),
                        created_at: time_of(object.last_modified()),
                    });
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(page_newest_first(all, limit, after))
    }

    async fn download_link(
        &self,
        id: &ReportId,
        now: OffsetDateTime,
    ) -> Result<DownloadLink, ReportStoreError> {
        let lifetime = std::time::Duration::try_from(DOWNLOAD_LINK_LIFETIME)
            .map_err(|e| ReportStoreError::Backend(format!("link lifetime: {e}")))?;
        let start = SystemTime::from(now);
        let presigning = PresigningConfig::builder()
            .start_time(start)
            .expires_in(lifetime)
            .build()
            .map_err(|e| failed("presigning", e))?;
        let key = id.object_name();
        let request = self
            .client()?
            .get_object()
            .bucket(self.bucket.name())
            .key(&key)
            .response_content_type(PDF_CONTENT_TYPE)
            .response_content_disposition(format!("attachment; filename=\"{}\"", id.file_name()))
            .presigned(presigning)
            .await
            .map_err(|e| failed(&format!("presigning {key}"), e))?;
        Ok(DownloadLink { url: request.uri().to_owned(), expires_at: now + DOWNLOAD_LINK_LIFETIME })
    }
}
