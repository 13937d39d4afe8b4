//! Attachments: files a session's participants upload straight to the bucket (a presigned POST),
//! checked after the upload (content against the declared type, size, metadata stripped) and
//! downloaded through short presigned GETs. The types, limits and records; the content checks
//! in [`content`], the signing in [`signing`], the storage ports in [`store`].

pub mod bucket;
pub mod content;
pub mod folder;
#[cfg(feature = "s3")]
pub mod s3;
pub mod signing;
pub mod store;
pub mod thumbnail;

use serde::{Deserialize, Deserializer, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::config::{var, ConfigError};
use crate::domain::{AttachmentId, InvalidValue, MessageId, SessionId, UserId};
use crate::error::ApiError;

/// How long an upload form and a download link work.
pub const LINK_LIFETIME: Duration = Duration::minutes(5);

/// Environment variable: the largest file accepted, in bytes (default [`DEFAULT_MAX_BYTES`]).
pub const MAX_BYTES_VAR: &str = "ATTACHMENT_MAX_BYTES";
/// Environment variable: the content types accepted, comma-separated (default: all of
/// [`AttachmentType::ALL`]).
pub const TYPES_VAR: &str = "ATTACHMENT_TYPES";
/// Environment variable: most attachments on one message (default [`DEFAULT_PER_MESSAGE`]).
pub const PER_MESSAGE_VAR: &str = "ATTACHMENTS_PER_MESSAGE";
/// Environment variable: most attachments uploaded to one session (default
/// [`DEFAULT_PER_SESSION`]).
pub const PER_SESSION_VAR: &str = "ATTACHMENTS_PER_SESSION";
/// Environment variable: the malware scanner whose verdict an attachment waits for
/// (`guardduty`); unset, none.
pub const SCANNER_VAR: &str = "ATTACHMENT_SCANNER";

/// Largest file accepted unless [`MAX_BYTES_VAR`] says otherwise: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Most attachments on one message unless [`PER_MESSAGE_VAR`] says otherwise.
pub const DEFAULT_PER_MESSAGE: usize = 5;
/// Most attachments of one session unless [`PER_SESSION_VAR`] says otherwise.
pub const DEFAULT_PER_SESSION: u32 = 100;

/// A content type an attachment may have. SVG and HTML are not among them: a browser runs
/// their scripts when the file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum AttachmentType {
    /// `image/png`
    #[serde(rename = "image/png")]
    Png,
    /// `image/jpeg`
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// `image/gif`
    #[serde(rename = "image/gif")]
    Gif,
    /// `image/webp`
    #[serde(rename = "image/webp")]
    Webp,
    /// `application/pdf`
    #[serde(rename = "application/pdf")]
    Pdf,
    /// `text/plain`
    #[serde(rename = "text/plain")]
    Text,
    /// `text/csv`
    #[serde(rename = "text/csv")]
    Csv,
    /// `text/x-log`: a log file.
    #[serde(rename = "text/x-log")]
    Log,
    /// `application/zip`
    #[serde(rename = "application/zip")]
    Zip,
}

/// Content types never accepted, whatever the configuration says.
const FORBIDDEN_TYPES: [&str; 4] = ["image/svg+xml", "text/html", "application/xhtml+xml", "text/xml"];
/// File name endings never accepted (a browser would render such a file as a page).
const FORBIDDEN_ENDINGS: [&str; 6] = [".svg", ".svgz", ".html", ".htm", ".xhtml", ".xht"];

impl AttachmentType {
    /// Every type the code can check.
    pub const ALL: [AttachmentType; 9] = [
        AttachmentType::Png,
        AttachmentType::Jpeg,
        AttachmentType::Gif,
        AttachmentType::Webp,
        AttachmentType::Pdf,
        AttachmentType::Text,
        AttachmentType::Csv,
        AttachmentType::Log,
        AttachmentType::Zip,
    ];

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            AttachmentType::Png => "image/png",
            AttachmentType::Jpeg => "image/jpeg",
            AttachmentType::Gif => "image/gif",
            AttachmentType::Webp => "image/webp",
            AttachmentType::Pdf => "application/pdf",
            AttachmentType::Text => "text/plain",
            AttachmentType::Csv => "text/csv",
            AttachmentType::Log => "text/x-log",
            AttachmentType::Zip => "application/zip",
        }
    }

    /// The type of a MIME type (parameters such as `; charset=utf-8` ignored, case-insensitive).
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|t| t.mime() == essence)
    }

    /// Whether a browser shows it in place: images open inline, everything else downloads.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            AttachmentType::Png | AttachmentType::Jpeg | AttachmentType::Gif | AttachmentType::Webp
        )
    }
}

/// Whether a MIME type is one that is never accepted (SVG, HTML).
pub fn is_forbidden_type(mime: &str) -> bool {
    let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    FORBIDDEN_TYPES.contains(&essence.as_str())
}

/// Where an attachment is in its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    /// Uploaded or being uploaded, not checked yet (or waiting for the malware scanner).
    Pending,
    /// Checked: it may be downloaded.
    Ready,
    /// Refused by a check (see its `reason`); its content is deleted and never served.
    Rejected,
}

/// Why an attachment was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The content is not what its declared type says (a "PNG" that is really HTML).
    ContentMismatch,
    /// The uploaded file is larger than the limit or than the size declared.
    TooLarge,
    /// The malware scanner found a threat.
    Malware,
    /// The malware scanner could not scan it.
    ScanFailed,
}

/// A file name as shown to people: 1 to 200 characters, no path separators or control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = String)]
pub struct FileName(String);

impl FileName {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Validates a name.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::new(
                "file_name",
                format!("must be 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        if name.chars().any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
            || name == "."
            || name == ".."
        {
            return Err(InvalidValue::new(
                "file_name",
                "must not contain /, \\, quotes or control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<stem>-<n>`: the name of a file that came without one (an e-mail's part). The stem is the
    /// code's own, a valid name without a path separator.
    pub(crate) fn numbered(stem: &'static str, n: usize) -> Self {
        Self(format!("{stem}-{n}"))
    }
}

impl<'de> Deserialize<'de> for FileName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The attachment limits, from the environment at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentLimits {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// The types accepted.
    pub types: Vec<AttachmentType>,
    /// Most attachments on one message.
    pub per_message: usize,
    /// Most attachments uploaded to one session.
    pub per_session: u32,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            types: AttachmentType::ALL.to_vec(),
            per_message: DEFAULT_PER_MESSAGE,
            per_session: DEFAULT_PER_SESSION,
        }
    }
}

fn positive(name: &'static str, value: Option<String>, max: u64) -> Result<Option<u64>, ConfigError> {
    let Some(text) = value else { return Ok(None) };
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("must be a whole number from 1 to {max}, got {text:?}"),
        }),
    }
}

impl AttachmentLimits {
    /// The limits from the environment ([`MAX_BYTES_VAR`], [`TYPES_VAR`], [`PER_MESSAGE_VAR`],
    /// [`PER_SESSION_VAR`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(var)
    }

    /// The limits from `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&'static str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        // 5 GiB: the most one presigned POST may upload.
        let max_bytes = positive(MAX_BYTES_VAR, lookup(MAX_BYTES_VAR), 5 * 1024 * 1024 * 1024)?;
        // A transaction holds the message's writes and one per attachment: at most 100.
        let per_message = positive(PER_MESSAGE_VAR, lookup(PER_MESSAGE_VAR), 50)?;
        let per_session = positive(PER_SESSION_VAR, lookup(PER_SESSION_VAR), 100_000)?;
        let types = match lookup(TYPES_VAR) {
            None => defaults.types,
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|mime| !mime.is_empty())
                .map(|mime| {
                    AttachmentType::from_mime(mime).ok_or_else(|| ConfigError::Invalid {
                        name: TYPES_VAR,
                        reason: format!(
                            "{mime:?} is not one of {}",
                            AttachmentType::ALL.map(AttachmentType::mime).join(", ")
                        ),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(Self {
            max_bytes: max_bytes.unwrap_or(defaults.max_bytes),
            types,
            per_message: per_message.and_then(|n| usize::try_from(n).ok()).unwrap_or(defaults.per_message),
            per_session: per_session.and_then(|n| u32::try_from(n).ok()).unwrap_or(defaults.per_session),
        })
    }
}

/// Body of `POST /chat/sessions/{id}/attachments`: what the client is about to upload.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The file's name, as people will see it.
    pub file_name: FileName,
    /// Its MIME type: one of the accepted types (never SVG or HTML).
    pub content_type: String,
    /// Its size in bytes; the upload must be exactly this size.
    pub size: u64,
}

/// What an upload request asks for, checked against the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUpload {
    /// The file's name.
    pub file_name: FileName,
    /// Its type.
    pub content_type: AttachmentType,
    /// Its size in bytes.
    pub size: u64,
}

impl UploadRequest {
    /// The request if the limits allow it: 422 `attachment_type_forbidden` (SVG, HTML),
    /// `attachment_type_not_allowed`, `attachment_empty` or `attachment_too_large`.
    pub fn check(self, limits: &AttachmentLimits) -> Result<CheckedUpload, ApiError> {
        let lower = self.file_name.as_str().to_ascii_lowercase();
        if is_forbidden_type(&self.content_type) || FORBIDDEN_ENDINGS.iter().any(|end| lower.ends_with(end)) {
            return Err(ApiError::unprocessable(
                "attachment_type_forbidden",
                "SVG and HTML files are never accepted: a browser runs their scripts",
            ));
        }
        let content_type = AttachmentType::from_mime(&self.content_type)
            .filter(|t| limits.types.contains(t))
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "attachment_type_not_allowed",
                    format!(
                        "{:?} is not accepted; accepted types: {}",
                        self.content_type,
                        limits.types.iter().map(|t| t.mime()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
        if self.size == 0 {
            return Err(ApiError::unprocessable("attachment_empty", "the file is empty"));
        }
        if self.size > limits.max_bytes {
            return Err(ApiError::unprocessable(
                "attachment_too_large",
                format!("files are accepted up to {} bytes", limits.max_bytes),
            ));
        }
        Ok(CheckedUpload { file_name: self.file_name, content_type, size: self.size })
    }
}

/// A file attached to a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    /// Its id.
    pub id: AttachmentId,
    /// The session.
    pub session_id: SessionId,
    /// Who uploaded it (only they may send it in a message).
    pub uploader_id: UserId,
    /// The file's name.
    #[schema(value_type = String)]
    pub file_name: String,
    /// Its type, checked against its content.
    pub content_type: AttachmentType,
    /// Its size in bytes (as declared; the check refuses a larger upload).
    pub size: u64,
    /// Where it is in its checks.
    pub status: AttachmentStatus,
    /// Why it was rejected.
    #[serde(default)]
    pub reason: Option<RejectReason>,
    /// The message it was sent in, once sent.
    #[serde(default)]
    pub message_id: Option<MessageId>,
    /// Whether a thumbnail was made (PNG and JPEG images that decode).
    #[serde(default)]
    pub has_thumbnail: bool,
    /// When it was requested.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
    /// When its checks ended.
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub checked_at: Option<OffsetDateTime>,
}

/// An attachment as a message carries it: enough to show it without another read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageAttachment {
    /// Its id (download it with `GET /chat/sessions/{id}/attachments/{attachment_id}`).
    pub id: AttachmentId,
    /// The file's name.
    pub file_name: String,
    /// Its type.
    pub content_type: AttachmentType,
    /// Its size in bytes.
    pub size: u64,
}

impl From<&Attachment> for MessageAttachment {
    fn from(attachment: &Attachment) -> Self {
        Self {
            id: attachment.id,
            file_name: attachment.file_name.clone(),
            content_type: attachment.content_type,
            size: attachment.size,
        }
    }
}

/// The object name of an attachment's content: `attachments/<session id>/<attachment id>`. The
/// file name stays out of it, so no name a client chooses reaches the bucket's keys.
pub fn object_key(session: &SessionId, id: &AttachmentId) -> String {
    format!("attachments/{session}/{id}")
}

/// The object name of an attachment's thumbnail: `thumbnails/<session id>/<attachment id>`
/// (outside `attachments/`, so writing it starts no check).
pub fn thumbnail_key(session: &SessionId, id: &AttachmentId) -> String {
    format!("thumbnails/{session}/{id}")
}

/// The session and attachment an object name belongs to.
pub fn parse_object_key(key: &str) -> Option<(SessionId, AttachmentId)> {
    parse_key(key, "attachments/")
}

/// The session and attachment a thumbnail's object name belongs to.
pub fn parse_thumbnail_key(key: &str) -> Option<(SessionId, AttachmentId)> {
    parse_key(key, "thumbnails/")
}

fn parse_key(key: &str, prefix: &str) -> Option<(SessionId, AttachmentId)> {
    let (session, id) = key.strip_prefix(prefix)?.split_once('/')?;
    Some((SessionId::parse(session).ok()?, AttachmentId::parse(id).ok()?))
}

/// The `Content-Disposition` a download is served with: images inline (a browser shows them,
/// and no image type runs scripts), everything else as a download.
pub fn content_disposition(content_type: AttachmentType, file_name: &str) -> String {
    // The name is quoted as ASCII (others replaced) and given exactly in RFC 5987's filename*.
    let ascii: String = file_name.chars().map(|c| if c.is_ascii() && c != '"' { c } else { '_' }).collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let kind = if content_type.is_image() { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, content_type: &str, size: u64) -> UploadRequest {
        UploadRequest { file_name: FileName::parse(name).unwrap(), content_type: content_type.into(), size }
    }

    fn refusal(request: UploadRequest, limits: &AttachmentLimits) -> &'static str {
        request.check(limits).unwrap_err().code()
    }

    #[test]
    fn svg_and_html_are_refused_whatever_the_configuration() {
        let limits = AttachmentLimits::default();

        assert_eq!(refusal(request("logo.svg", "image/svg+xml", 10), &limits), "attachment_type_forbidden");
        assert_eq!(
            refusal(request("page.html", "text/html; charset=utf-8", 10), &limits),
            "attachment_type_forbidden"
        );
        assert_eq!(refusal(request("page.HTM", "text/plain", 10), &limits), "attachment_type_forbidden");
        assert!(AttachmentLimits::from_lookup(|name| (name == TYPES_VAR).then(|| "image/svg+xml".into()))
            .is_err());
    }

    #[test]
    fn types_sizes_and_limits_are_checked_against_the_configuration() {
        let limits = AttachmentLimits::from_lookup(|name| match name {
            TYPES_VAR => Some("image/png, application/pdf".into()),
            MAX_BYTES_VAR => Some("1000".into()),
            _ => None,
        })
        .unwrap();

        assert_eq!(refusal(request("a.zip", "application/zip", 10), &limits), "attachment_type_not_allowed");
        assert_eq!(refusal(request("a.png", "image/png", 1001), &limits), "attachment_too_large");
        assert_eq!(refusal(request("a.png", "image/png", 0), &limits), "attachment_empty");
        let checked = request("a.png", "IMAGE/PNG", 1000).check(&limits).unwrap();
        assert_eq!((checked.content_type, checked.size), (AttachmentType::Png, 1000));
    }

    #[test]
    fn the_defaults_are_ten_mebibytes_five_a_message_and_a_hundred_a_session() {
        let limits = AttachmentLimits::from_lookup(|_| None).unwrap();

        assert_eq!(limits, AttachmentLimits::default());
        assert_eq!((limits.max_bytes, limits.per_message, limits.per_session), (10_485_760, 5, 100));
        assert_eq!(limits.types.len(), 9);
    }

    #[test]
    fn file_names_with_paths_or_control_characters_are_refused() {
        for bad in ["", "   ", "../etc/passwd", "a\\b", "a\nb", "a\"b", &"x".repeat(201)] {
            assert!(FileName::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(FileName::parse(" crash report.png ").unwrap().as_str(), "crash report.png");
    }

    #[test]
    fn object_keys_name_the_session_and_attachment_and_nothing_else_parses() {
        let (session, id) = (SessionId::generate(), AttachmentId::generate());

        assert_eq!(parse_object_key(&object_key(&session, &id)), Some((session, id)));
        assert_eq!(parse_object_key("attachments/x/y"), None);
        assert_eq!(parse_object_key("reports/daily/2026-01-01.pdf"), None);
    }

    #[test]
    fn images_open_inline_and_other_files_download_with_their_name() {
        assert_eq!(
            content_disposition(AttachmentType::Png, "shot.png"),
            "inline; filename=\"shot.png\"; filename*=UTF-8''shot.png"
        );
        assert_eq!(
            content_disposition(AttachmentType::Pdf, "facture é.pdf"),
            "attachment; filename=\"facture _.pdf\"; filename*=UTF-8''facture%20%C3%A9.pdf"
        );
    }
}
