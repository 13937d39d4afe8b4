//! The attachments bucket's objects through the S3 client (the `s3` feature), for the local
//! gateway on an S3-compatible server and the tests: read the upload, write it back without its
//! metadata, delete a rejected one, read the malware scanner's tag. The check function reaches
//! the bucket by presigned requests instead ([`super::bucket`]).

use async_trait::async_trait;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::signing::PENDING_TAG;
use super::store::{AttachmentObjects, AttachmentStoreError, ATTACHMENTS_BUCKET, SCAN_TAG};
use crate::config::ConfigError;
use crate::s3::S3Bucket;

/// The objects of the attachments bucket; the client is built on the first call.
pub struct S3AttachmentObjects {
    bucket: S3Bucket,
}

fn failed(what: &str, error: impl std::error::Error) -> AttachmentStoreError {
    AttachmentStoreError::Backend(format!("S3 {what}: {}", DisplayErrorContext(&error)))
}

impl S3AttachmentObjects {
    /// From the Lambda environment: `ATTACHMENTS_BUCKET`, `AWS_REGION`, the credentials, and
    /// `AWS_ENDPOINT_URL` when set.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self { bucket: S3Bucket::from_env(ATTACHMENTS_BUCKET)? })
    }

    /// `bucket` on an S3-compatible server (moto).
    pub fn for_endpoint(endpoint: &str, bucket: &str) -> Self {
        Self { bucket: S3Bucket::for_endpoint(endpoint, bucket) }
    }

    /// Creates the bucket unless it exists (the local gateway on an S3-compatible server; the
    /// template creates the real one).
    pub async fn ensure_bucket(&self) -> Result<(), AttachmentStoreError> {
        self.bucket.ensure_exists().await.map_err(AttachmentStoreError::Backend)
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        self.bucket.name()
    }

    /// The S3 client.
    pub fn client(&self) -> Result<&Client, AttachmentStoreError> {
        self.bucket.client().map_err(|e| AttachmentStoreError::Backend(format!("S3 client: {e}")))
    }

    /// PutObject of `key`, with `tagging` (`x-amz-tagging`) when given.
    async fn put_tagged(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        tagging: Option<&str>,
    ) -> Result<(), AttachmentStoreError> {
        self.client()?
            .put_object()
            .bucket(self.bucket.name())
            .key(key)
            .content_type(content_type)
            .set_tagging(tagging.map(str::to_owned))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| failed(&format!("putting {key}"), e))?;
        Ok(())
    }
}

#[async_trait]
impl AttachmentObjects for S3AttachmentObjects {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AttachmentStoreError> {
        let object = match self.client()?.get_object().bucket(self.bucket.name()).key(key).send().await {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(failed(&format!("getting {key}"), error)),
        };
        let bytes = object.body.collect().await.map_err(|e| failed(&format!("reading {key}"), e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AttachmentStoreError> {
        self.put_tagged(key, bytes, content_type, None).await
    }

    async fn put_unchecked(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), AttachmentStoreError> {
        self.put_tagged(key, bytes, content_type, Some(PENDING_TAG)).await
    }

    async fn delete(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.client()?
            .delete_object()
            .bucket(self.bucket.name())
            .key(key)
            .send()
            .await
            .map_err(|e| failed(&format!("deleting {key}"), e))?;
        Ok(())
    }

    async fn clear_tags(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.client()?
            .delete_object_tagging()
            .bucket(self.bucket.name())
            .key(key)
            .send()
            .await
            .map_err(|e| failed(&format!("removing the tags of {key}"), e))?;
        Ok(())
    }

    async fn scan_verdict(&self, key: &str) -> Result<Option<String>, AttachmentStoreError> {
        let tagging = self
            .client()?
            .get_object_tagging()
            .bucket(self.bucket.name())
            .key(key)
            .send()
            .await
            .map_err(|e| failed(&format!("reading the tags of {key}"), e))?;
        Ok(tagging.tag_set().iter().find(|tag| tag.key() == SCAN_TAG).map(|tag| tag.value().to_owned()))
    }
}
