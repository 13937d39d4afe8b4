//! The local attachment store: files in a folder (`<data dir>/attachments/<session>/<id>`), and
//! a bucket the local gateway plays: it answers the upload form's POST and the presigned GETs
//! at [`BUCKET_PATH`], verifying their signatures, expiry, size and type as S3 does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use super::signing::UploadForm;
use super::signing::{
    verify_get, verify_post, BucketEndpoint, SignatureRefusal, SigningIdentity, VerifiedUpload,
};
use super::store::{AttachmentLinks, AttachmentObjects, AttachmentStoreError, S3Links};
use super::{parse_object_key, parse_thumbnail_key};
use crate::reports::DownloadLink;

/// The local bucket's name; the gateway serves it at `/<name>` (uploads) and
/// `/<name>/<key>` (downloads).
pub const LOCAL_BUCKET: &str = "local-attachments";
/// Where the gateway serves the local bucket.
pub const BUCKET_PATH: &str = "/local-attachments";

/// What the signing key is derived for, so the gateway's secret signs nothing else this way.
const KEY_PURPOSE: &[u8] = b"switchboard attachment links";

/// Attachments as files in a folder, behind signed links to a local gateway.
#[derive(Clone)]
pub struct FolderAttachments {
    dir: PathBuf,
    links: GatewayLinks,
}

/// The links of the bucket the local gateway plays at [`BUCKET_PATH`]: upload forms posted to
/// it and download links served by it, signed with a key derived from the gateway's secret.
#[derive(Clone)]
pub struct GatewayLinks {
    links: S3Links,
}

impl GatewayLinks {
    /// Links to the gateway at `base_url` (`http://127.0.0.1:3000`) signed with a key derived
    /// from `secret` (the gateway's own).
    pub fn new(base_url: &str, secret: &[u8]) -> Result<Self, AttachmentStoreError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| AttachmentStoreError::Backend(format!("link key: {e}")))?;
        mac.update(KEY_PURPOSE);
        let derived: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let identity = SigningIdentity {
            access_key: "switchboard-local".into(),
            secret_key: derived,
            session_token: None,
            region: "local".into(),
        };
        let endpoint = BucketEndpoint::path_style(base_url, LOCAL_BUCKET);
        Ok(Self { links: S3Links::new(endpoint, identity) })
    }

    /// Checks a posted upload form (its fields, and the file's size) as S3 does.
    pub fn verify_upload(
        &self,
        fields: &BTreeMap<String, String>,
        file_size: u64,
        now: OffsetDateTime,
    ) -> Result<VerifiedUpload, SignatureRefusal> {
        verify_post(self.links.identity(), LOCAL_BUCKET, fields, file_size, now)
    }

    /// Checks a download link: the key after [`BUCKET_PATH`]`/` and the link's query.
    pub fn verify_download(
        &self,
        key: &str,
        query: &BTreeMap<String, String>,
        now: OffsetDateTime,
    ) -> Result<(), SignatureRefusal> {
        verify_get(self.links.identity(), self.links.endpoint(), key, query, now)
    }
}

impl AttachmentLinks for GatewayLinks {
    fn upload_form(&self, key: &str, content_type: &str, size: u64, now: OffsetDateTime) -> UploadForm {
        self.links.upload_form(key, content_type, size, now)
    }

    fn download_link(
        &self,
        key: &str,
        content_type: &str,
        disposition: &str,
        now: OffsetDateTime,
    ) -> DownloadLink {
        self.links.download_link(key, content_type, disposition, now)
    }
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> AttachmentStoreError {
    AttachmentStoreError::Backend(format!("{what} {}: {error}", path.display()))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AttachmentStoreError> + Send + 'static,
) -> Result<T, AttachmentStoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AttachmentStoreError::Backend(format!("file task failed: {e}")))?
}

impl FolderAttachments {
    /// Files under `dir`, with links to the gateway at `base_url` (`http://127.0.0.1:3000`)
    /// signed with a key derived from `secret` (the gateway's own).
    pub fn new(dir: impl Into<PathBuf>, base_url: &str, secret: &[u8]) -> Result<Self, AttachmentStoreError> {
        Ok(Self { dir: dir.into(), links: GatewayLinks::new(base_url, secret)? })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> Result<PathBuf, AttachmentStoreError> {
        // Only attachment and thumbnail keys (two ULIDs) name files: no client-chosen path
        // reaches the disk.
        if let Some((session, id)) = parse_object_key(key) {
            return Ok(self.dir.join(session.to_string()).join(id.to_string()));
        }
        let (session, id) = parse_thumbnail_key(key)
            .ok_or_else(|| AttachmentStoreError::Backend(format!("{key:?} is not an attachment key")))?;
        Ok(self.dir.join(session.to_string()).join(format!("{id}.thumbnail")))
    }

    /// Checks a posted upload form (its fields, and the file's size) as S3 does.
    pub fn verify_upload(
        &self,
        fields: &BTreeMap<String, String>,
        file_size: u64,
        now: OffsetDateTime,
    ) -> Result<VerifiedUpload, SignatureRefusal> {
        self.links.verify_upload(fields, file_size, now)
    }

    /// Checks a download link: the key after [`BUCKET_PATH`]`/` and the link's query.
    pub fn verify_download(
        &self,
        key: &str,
        query: &BTreeMap<String, String>,
        now: OffsetDateTime,
    ) -> Result<(), SignatureRefusal> {
        self.links.verify_download(key, query, now)
    }
}

impl AttachmentLinks for FolderAttachments {
    fn upload_form(&self, key: &str, content_type: &str, size: u64, now: OffsetDateTime) -> UploadForm {
        self.links.upload_form(key, content_type, size, now)
    }

    fn download_link(
        &self,
        key: &str,
        content_type: &str,
        disposition: &str,
        now: OffsetDateTime,
    ) -> DownloadLink {
        self.links.download_link(key, content_type, disposition, now)
    }
}

#[async_trait]
impl AttachmentObjects for FolderAttachments {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AttachmentStoreError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &path, e)),
        })
        .await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), AttachmentStoreError> {
        let path = self.path(key)?;
        blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_error("creating", parent, e))?;
            }
            // Written aside and renamed, so a download never reads half a file.
            let partial = path.with_extension("partial");
            std::fs::write(&partial, bytes).map_err(|e| io_error("writing", &partial, e))?;
            std::fs::rename(&partial, &path).map_err(|e| io_error("replacing", &path, e))
        })
        .await
    }

    async fn put_unchecked(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), AttachmentStoreError> {
        // Files here carry no tags (nothing expires them): the gateway checks each at once.
        self.put(key, bytes, content_type).await
    }

    async fn delete(&self, key: &str) -> Result<(), AttachmentStoreError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("deleting", &path, e)),
        })
        .await
    }

    async fn clear_tags(&self, _key: &str) -> Result<(), AttachmentStoreError> {
        // Files here carry no tags: nothing expires them.
        Ok(())
    }

    async fn scan_verdict(&self, _key: &str) -> Result<Option<String>, AttachmentStoreError> {
        // No scanner runs locally.
        Ok(None)
    }
}
