//! The local report store: a folder (`<data dir>/reports/daily/2026-01-05.pdf`), and download
//! links to the local gateway that work like S3's presigned URLs: the gateway serves a file only
//! for a link it signed (HMAC-SHA256 with a key derived from its secret) that has not expired.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use super::{
    page_newest_first, DownloadLink, ReportId, ReportStore, ReportStoreError, StoredReport,
    DOWNLOAD_LINK_LIFETIME,
};

/// Where the local gateway serves signed report links: `/reports/<object name>`.
pub const LINK_PATH: &str = "/reports/";

/// What the link key is derived for, so the gateway's secret signs nothing else this way.
const LINK_KEY_PURPOSE: &[u8] = b"switchboard report download links";

type HmacSha256 = Hmac<Sha256>;

/// Reports as files in a folder, downloaded through signed links to a local gateway.
#[derive(Clone)]
pub struct FolderReportStore {
    dir: PathBuf,
    base_url: String,
    /// HMAC-SHA256 keyed with the link key, cloned for each signature.
    signer: HmacSha256,
}

/// Why a signed link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// The path names no report.
    #[error("no such report")]
    NotFound,
    /// `expires` or `signature` is missing or malformed, or the signature is not ours.
    #[error("the link's signature is not valid")]
    InvalidSignature,
    /// The link was signed for a time that has passed.
    #[error("the link has expired")]
    Expired,
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> ReportStoreError {
    ReportStoreError::Backend(format!("{what} {}: {error}", path.display()))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ReportStoreError> + Send + 'static,
) -> Result<T, ReportStoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ReportStoreError::Backend(format!("file task failed: {e}")))?
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

fn stored(id: ReportId, metadata: &std::fs::Metadata) -> StoredReport {
    let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    StoredReport { id, size_bytes: metadata.len(), created_at: OffsetDateTime::from(modified) }
}

impl FolderReportStore {
    /// Reports under `dir`, with links to the gateway at `base_url` (`http://127.0.0.1:3000`),
    /// signed with a key derived from `secret` (the gateway's own).
    pub fn new(dir: impl Into<PathBuf>, base_url: &str, secret: &[u8]) -> Result<Self, ReportStoreError> {
        let mut mac = HmacSha256::new_from_slice(secret)
            .map_err(|e| ReportStoreError::Backend(format!("link key: {e}")))?;
        mac.update(LINK_KEY_PURPOSE);
        let signer = HmacSha256::new_from_slice(&mac.finalize().into_bytes())
            .map_err(|e| ReportStoreError::Backend(format!("link key: {e}")))?;
        Ok(Self { dir: dir.into(), base_url: base_url.trim_end_matches('/').to_owned(), signer })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &ReportId) -> PathBuf {
        self.dir.join(id.object_name())
    }

    fn mac(&self, object_name: &str, expires: i64) -> HmacSha256 {
        let mut mac = self.signer.clone();
        mac.update(object_name.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// A link to `id` that the gateway honours for [`DOWNLOAD_LINK_LIFETIME`] from `now`.
    pub fn link(&self, id: &ReportId, now: OffsetDateTime) -> Result<DownloadLink, ReportStoreError> {
        let expires = (now + DOWNLOAD_LINK_LIFETIME).unix_timestamp();
        let object_name = id.object_name();
        let signature = hex(&self.mac(&object_name, expires).finalize().into_bytes());
        let url =
            format!("{}{LINK_PATH}{object_name}?expires={expires}&signature={signature}", self.base_url);
        let expires_at = OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|e| ReportStoreError::Backend(format!("link expiry: {e}")))?;
        Ok(DownloadLink { url, expires_at })
    }

    /// The report a signed link names, if its signature is ours and it has not expired at `now`.
    /// `object_name` is the link's path after [`LINK_PATH`]; `expires` and `signature` its query.
    pub fn verify_link(
        &self,
        object_name: &str,
        expires: Option<&str>,
        signature: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<ReportId, LinkRefusal> {
        let id = ReportId::from_object_name(object_name).ok_or(LinkRefusal::NotFound)?;
        let expires: i64 = expires.and_then(|e| e.parse().ok()).ok_or(LinkRefusal::InvalidSignature)?;
        let signature = signature.and_then(unhex).ok_or(LinkRefusal::InvalidSignature)?;
        self.mac(object_name, expires).verify_slice(&signature).map_err(|_| LinkRefusal::InvalidSignature)?;
        if now.unix_timestamp() >= expires {
            return Err(LinkRefusal::Expired);
        }
        Ok(id)
    }
}

#[async_trait]
impl ReportStore for FolderReportStore {
    async fn put(&self, id: &ReportId, bytes: Vec<u8>, _content_type: &str) -> Result<(), ReportStoreError> {
        let path = self.path(id);
        blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_error("creating", parent, e))?;
            }
            // Written aside and renamed over the old one, so a reader never sees half a file.
            let partial = path.with_extension("pdf.partial");
            std::fs::write(&partial, bytes).map_err(|e| io_error("writing", &partial, e))?;
            std::fs::rename(&partial, &path).map_err(|e| io_error("replacing", &path, e))
        })
        .await
    }

    async fn get(&self, id: &ReportId) -> Result<Option<Vec<u8>>, ReportStoreError> {
        let path = self.path(id);
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &path, e)),
        })
        .await
    }

    async fn info(&self, id: &ReportId) -> Result<Option<StoredReport>, ReportStoreError> {
        let (id, path) = (*id, self.path(id));
        blocking(move || match std::fs::metadata(&path) {
            Ok(metadata) => Ok(Some(stored(id, &metadata))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("reading", &path, e)),
        })
        .await
    }

    async fn list(
        &self,
        limit: usize,
        after: Option<ReportId>,
    ) -> Result<(Vec<StoredReport>, Option<ReportId>), ReportStoreError> {
        let dir = self.dir.clone();
        let all = blocking(move || {
            let mut found = Vec::new();
            let daily = dir.join("daily");
            let entries = match std::fs::read_dir(&daily) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
                Err(e) => return Err(io_error("listing", &daily, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_error("listing", &daily, e))?;
                let name = format!("daily/{}", entry.file_name().to_string_lossy());
                if let Some(id) = ReportId::from_object_name(&name) {
                    let metadata = entry.metadata().map_err(|e| io_error("reading", &entry.path(), e))?;
                    found.push(stored(id, &metadata));
                }
            }
            Ok(found)
        })
        .await?;
        Ok(page_newest_first(all, limit, after))
    }

    async fn download_link(
        &self,
        id: &ReportId,
        now: OffsetDateTime,
    ) -> Result<DownloadLink, ReportStoreError> {
        self.link(id, now)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-01-06 09:00 UTC);

    fn store() -> FolderReportStore {
        FolderReportStore::new("/nonexistent", "http://127.0.0.1:3000/", b"a secret of the local gateway")
            .unwrap()
    }

    /// The path and query of a link, split as the gateway receives them.
    fn parts(url: &str) -> (String, Option<String>, Option<String>) {
        let rest = url.strip_prefix("http://127.0.0.1:3000/reports/").unwrap();
        let (path, query) = rest.split_once('?').unwrap();
        let value = |name: &str| {
            query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).map(str::to_owned)
        };
        (path.to_owned(), value("expires"), value("signature"))
    }

    #[test]
    fn a_link_is_honoured_until_it_expires_fifteen_minutes_later() {
        let store = store();
        let id = ReportId::daily(date!(2026 - 01 - 05));
        let link = store.link(&id, NOW).unwrap();
        let (path, expires, signature) = parts(&link.url);

        let check = |at| store.verify_link(&path, expires.as_deref(), signature.as_deref(), at);

        assert_eq!(link.expires_at, datetime!(2026-01-06 09:15 UTC));
        assert_eq!(check(NOW + time::Duration::minutes(14)), Ok(id));
        assert_eq!(check(NOW + time::Duration::minutes(15)), Err(LinkRefusal::Expired));
    }

    #[test]
    fn a_link_with_a_changed_day_expiry_or_signature_is_refused() {
        let store = store();
        let link = store.link(&ReportId::daily(date!(2026 - 01 - 05)), NOW).unwrap();
        let (path, expires, signature) = parts(&link.url);
        let (expires, signature) = (expires.unwrap(), signature.unwrap());
        let later = (expires.parse::<i64>().unwrap() + 3600).to_string();
        let flipped = format!("{}{}", if signature.starts_with('0') { '1' } else { '0' }, &signature[1..]);

        let other_day = store.verify_link("daily/2026-01-04.pdf", Some(&expires), Some(&signature), NOW);
        let longer = store.verify_link(&path, Some(&later), Some(&signature), NOW);
        let forged = store.verify_link(&path, Some(&expires), Some(&flipped), NOW);
        let unsigned = store.verify_link(&path, Some(&expires), None, NOW);
        let garbled = store.verify_link(&path, Some(&expires), Some("zz"), NOW);
        let unknown = store.verify_link("daily/../../jwt-secret", Some(&expires), Some(&signature), NOW);

        assert_eq!(other_day, Err(LinkRefusal::InvalidSignature));
        assert_eq!(longer, Err(LinkRefusal::InvalidSignature));
        assert_eq!(forged, Err(LinkRefusal::InvalidSignature));
        assert_eq!(unsigned, Err(LinkRefusal::InvalidSignature));
        assert_eq!(garbled, Err(LinkRefusal::InvalidSignature));
        assert_eq!(unknown, Err(LinkRefusal::NotFound));
    }

    #[test]
    fn another_gateways_secret_signs_other_links() {
        let id = ReportId::daily(date!(2026 - 01 - 05));
        let ours = store().link(&id, NOW).unwrap();
        let theirs =
            FolderReportStore::new("/nonexistent", "http://127.0.0.1:3000", b"another secret").unwrap();
        let (path, expires, signature) = parts(&ours.url);

        let refused = theirs.verify_link(&path, expires.as_deref(), signature.as_deref(), NOW);

        assert_eq!(refused, Err(LinkRefusal::InvalidSignature));
    }
}
