//! Attachments: a participant asks to upload (an attachment record and a presigned POST), the
//! check ends its `pending` state once the file is in the bucket (`ready`, or `rejected` with a
//! reason, announced live as `attachment.updated`), readers of the session download it through
//! a presigned GET.

use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::attachments::content::{matches_type, strip_metadata};
use crate::attachments::signing::UploadForm;
use crate::attachments::store::{AttachmentObjects, SCAN_CLEAN, SCAN_THREATS};
use crate::attachments::thumbnail::{self, CONTENT_TYPE as THUMBNAIL_TYPE};
use crate::attachments::MessageAttachment;
use crate::attachments::{
    content_disposition, object_key, parse_object_key, thumbnail_key, Attachment, AttachmentStatus,
    CheckedUpload, FileName, RejectReason, UploadRequest,
};
use crate::domain::{now, AttachmentId, MessageId, Principal, SessionId};
use crate::error::ApiError;
use crate::ops::SendMessage;
use crate::realtime::frames::ServerFrame;
use crate::repo::attachments;
use crate::store::NamedTxOp;

use super::live::{publish, Skip};
use super::{failed_conditions, get_session, is_participant};

/// The condition of a send that an attachment is still the sender's to send.
pub(crate) const ATTACHMENT_FREE: &str = "attachment_free";
/// The condition that the uploader may write to the session.
const SESSION_WRITABLE: &str = "session_writable";
/// The condition that the session has room for one more attachment.
const SESSION_HAS_ROOM: &str = "session_has_room";

/// An attachment and the form that uploads its file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Upload {
    /// The attachment, `pending` until its file is uploaded and checked.
    pub attachment: Attachment,
    /// POST these fields and then the file (field `file`) as `multipart/form-data` to its URL
    /// within 5 minutes.
    pub upload: UploadForm,
}

/// A link that downloads an attachment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentLink {
    /// The attachment.
    pub attachment: Attachment,
    /// GET this URL (no `Authorization` header) for the file: images are served inline,
    /// other files as a download.
    pub url: String,
    /// A link to its thumbnail (a JPEG at most 320 pixels wide and high), when it has one;
    /// it stops working with `url`.
    pub thumbnail_url: Option<String>,
    /// When the URL stops working (5 minutes).
    #[serde(with = "crate::domain::timestamp")]
    pub expires_at: time::OffsetDateTime,
}

/// A participant of an open session asks to upload a file: the request is checked against the
/// limits (422), the attachment stored `pending` with the session's count in one transaction,
/// and the upload form signed for exactly that type and size.
pub async fn request_upload(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    input: UploadRequest,
) -> Result<Upload, ApiError> {
    let links = app.attachment_links()?;
    let checked = input.check(&app.attachment_limits)?;
    let at = now();
    let attachment = new_pending(app, principal, session_id, checked, at).await?;
    let key = object_key(session_id, &attachment.id);
    let upload = links.upload_form(&key, attachment.content_type.mime(), attachment.size, at);
    Ok(Upload { attachment, upload })
}

/// A file a participant sent from elsewhere than the chat (an attachment of their reply by
/// e-mail): checked against the limits as an upload request is (422 `attachment_type_forbidden`,
/// `attachment_type_not_allowed`, `attachment_empty`, `attachment_too_large`,
/// `too_many_attachments_in_session`), stored `pending` as their upload to the session, and its
/// content put in the bucket, whose check ends it as it ends an upload by form (in AWS
/// `attachments-check`, on the object's Object Created event).
pub async fn store_file(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    file_name: FileName,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<Attachment, ApiError> {
    let objects = app.attachment_objects.as_deref().ok_or_else(|| {
        ApiError::Internal("this function was started without an attachments bucket to store files in".into())
    })?;
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let request = UploadRequest { file_name, content_type: content_type.to_owned(), size };
    let checked = request.check(&app.attachment_limits)?;
    let attachment = new_pending(app, principal, session_id, checked, now()).await?;
    objects
        .put_unchecked(&object_key(session_id, &attachment.id), bytes, attachment.content_type.mime())
        .await?;
    Ok(attachment)
}

/// A new `pending` attachment of `principal`'s in the session, stored with the session's count in
/// one transaction: 403 `not_a_participant`, 409 `session_closed`, 422
/// `too_many_attachments_in_session`.
async fn new_pending(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    checked: CheckedUpload,
    at: time::OffsetDateTime,
) -> Result<Attachment, ApiError> {
    let store = app.store.as_ref();
    let attachment = Attachment {
        id: AttachmentId::generate(),
        session_id: *session_id,
        uploader_id: principal.user_id.clone(),
        file_name: checked.file_name.as_str().to_owned(),
        content_type: checked.content_type,
        size: checked.size,
        status: AttachmentStatus::Pending,
        reason: None,
        message_id: None,
        has_thumbnail: false,
        created_at: at,
        checked_at: None,
    };
    let ops = vec![
        attachments::writable_by(session_id, principal).named(SESSION_WRITABLE),
        attachments::count_one(session_id, app.attachment_limits.per_session).named(SESSION_HAS_ROOM),
        attachments::put_new(&attachment)?.named("attachment_new"),
    ];
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&SESSION_WRITABLE) {
        let session = get_session(store, principal, session_id).await?;
        if !is_participant(principal, &session) {
            return Err(ApiError::forbidden(
                "not_a_participant",
                "only the session's participants upload to it",
            ));
        }
        return Err(ApiError::session_closed());
    }
    if failed.contains(&SESSION_HAS_ROOM) {
        return Err(ApiError::unprocessable(
            "too_many_attachments_in_session",
            format!("a session takes at most {} attachments", app.attachment_limits.per_session),
        ));
    }
    if !failed.is_empty() {
        return Err(ApiError::conflict("conflict", "the session changed meanwhile; retry"));
    }
    Ok(attachment)
}

/// Anyone who may read the session gets a download link to a `ready` attachment (404
/// `attachment_not_found`; 409 `attachment_not_ready` while it is checked, `attachment_rejected`
/// when a check refused it: its content is never served).
pub async fn download(
    app: &App,
    principal: &Principal,
    session_id: &SessionId,
    id: &AttachmentId,
) -> Result<AttachmentLink, ApiError> {
    let links = app.attachment_links()?;
    let store = app.store.as_ref();
    get_session(store, principal, session_id).await?;
    let attachment = attachments::get(store, session_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("attachment_not_found", "no such attachment"))?;
    match attachment.status {
        AttachmentStatus::Ready => {}
        AttachmentStatus::Pending => {
            return Err(ApiError::conflict("attachment_not_ready", "the attachment is still being checked"))
        }
        AttachmentStatus::Rejected => {
            return Err(ApiError::conflict("attachment_rejected", "the attachment was refused by its checks"))
        }
    }
    let at = now();
    let disposition = content_disposition(attachment.content_type, &attachment.file_name);
    let link =
        links.download_link(&object_key(session_id, id), attachment.content_type.mime(), &disposition, at);
    let thumbnail_url = attachment.has_thumbnail.then(|| {
        let name = format!("{}.thumbnail.jpg", attachment.file_name);
        let disposition = content_disposition(crate::attachments::AttachmentType::Jpeg, &name);
        links.download_link(&thumbnail_key(session_id, id), THUMBNAIL_TYPE, &disposition, at).url
    });
    Ok(AttachmentLink { attachment, url: link.url, thumbnail_url, expires_at: link.expires_at })
}

/// Whether the check waits for a malware scanner's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanner {
    /// No scanner: a file that passes the checks is ready at once.
    None,
    /// GuardDuty Malware Protection for S3: ready only once it tagged the object clean.
    GuardDuty,
}

/// The check of an uploaded object (`key`), run on the bucket's ObjectCreated event and on the
/// scanner's verdict (and locally right after the upload): its size against the declared one
/// and the limit, its content against its type, its metadata stripped (the file rewritten), the
/// scanner's verdict when one is configured. Ends `pending` as `ready` or `rejected` (a
/// rejected file is deleted) and announces it as `attachment.updated`. `None` when there is
/// nothing to do: no such attachment, already ended, not uploaded yet, or waiting for the
/// scanner. Running it again is harmless.
pub async fn check_upload(
    app: &App,
    objects: &dyn AttachmentObjects,
    key: &str,
    scanner: Scanner,
) -> Result<Option<Attachment>, ApiError> {
    let Some((session_id, id)) = parse_object_key(key) else { return Ok(None) };
    let store = app.store.as_ref();
    let Some(attachment) = attachments::get(store, &session_id, &id).await? else { return Ok(None) };
    if attachment.status != AttachmentStatus::Pending {
        return Ok(None);
    }
    let Some(bytes) = objects.get(key).await? else { return Ok(None) };
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let verdict = if size > attachment.size || size > app.attachment_limits.max_bytes {
        Err(RejectReason::TooLarge)
    } else if size < attachment.size || !matches_type(attachment.content_type, &bytes) {
        Err(RejectReason::ContentMismatch)
    } else {
        strip_metadata(attachment.content_type, &bytes).ok_or(RejectReason::ContentMismatch)
    };
    let outcome = match verdict {
        Err(reason) => Err(reason),
        Ok(stripped) => {
            let thumbnail = thumbnail::make(attachment.content_type, &stripped);
            if stripped != bytes {
                objects.put(key, stripped, attachment.content_type.mime()).await?;
            }
            match scanner {
                Scanner::None => Ok(thumbnail),
                Scanner::GuardDuty => match objects.scan_verdict(key).await?.as_deref() {
                    None => return Ok(None),
                    Some(SCAN_CLEAN) => Ok(thumbnail),
                    Some(SCAN_THREATS) => Err(RejectReason::Malware),
                    Some(_) => Err(RejectReason::ScanFailed),
                },
            }
        }
    };
    let (status, reason, has_thumbnail) = match outcome {
        Ok(thumbnail) => {
            let has_thumbnail = thumbnail.is_some();
            if let Some(thumbnail) = thumbnail {
                objects.put(&thumbnail_key(&session_id, &id), thumbnail, THUMBNAIL_TYPE).await?;
            }
            objects.clear_tags(key).await?;
            (AttachmentStatus::Ready, None, has_thumbnail)
        }
        Err(reason) => {
            objects.delete(key).await?;
            (AttachmentStatus::Rejected, Some(reason), false)
        }
    };
    let ended = attachments::finish(store, &attachment, status, reason, has_thumbnail, now()).await?;
    let Some(ended) = ended else {
        return Ok(None);
    };
    let frame = ServerFrame::AttachmentUpdated { attachment: ended.clone() };
    publish(app, &session_id, &frame, Skip::Nobody).await;
    Ok(Some(ended))
}

/// The attachments a send carries, checked (at most the per-message limit, no id twice, each
/// of this session, uploaded by the sender, not rejected, not sent before: 422
/// `too_many_attachments`, `invalid_attachment`), and the writes that give them to the message
/// `message` (conditional, so two sends cannot take one). A send needs a body or attachments
/// (422 `validation_failed`).
pub(crate) async fn for_message(
    app: &App,
    principal: &Principal,
    input: &SendMessage,
    message: &MessageId,
) -> Result<(Vec<MessageAttachment>, Vec<NamedTxOp>), ApiError> {
    if input.attachments.is_empty() {
        return match input.body {
            Some(_) => Ok((Vec::new(), Vec::new())),
            None => Err(ApiError::unprocessable(
                "validation_failed",
                "body: a message needs a body or attachments",
            )),
        };
    }
    let limit = app.attachment_limits.per_message;
    if input.attachments.len() > limit {
        return Err(ApiError::unprocessable(
            "too_many_attachments",
            format!("a message carries at most {limit} attachments"),
        ));
    }
    let mut distinct = input.attachments.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != input.attachments.len() {
        return Err(ApiError::unprocessable("invalid_attachment", "an attachment is named twice"));
    }
    let stored = attachments::get_many(app.store.as_ref(), &input.session_id, &input.attachments).await?;
    let mut carried = Vec::with_capacity(stored.len());
    let mut ops = Vec::with_capacity(stored.len());
    for (id, attachment) in input.attachments.iter().zip(stored) {
        // One already sent may be a retry's (same client message id): the send's transaction
        // tells, and answers with the original message.
        let retry = input.client_message_id.is_some();
        let usable = attachment.filter(|a| {
            a.uploader_id == principal.user_id
                && a.status != AttachmentStatus::Rejected
                && (a.message_id.is_none() || retry)
        });
        let Some(attachment) = usable else {
            return Err(ApiError::unprocessable(
                "invalid_attachment",
                format!("attachment {id} is not one you uploaded to this session and may still send"),
            ));
        };
        carried.push(MessageAttachment::from(&attachment));
        ops.push(
            attachments::attach(&input.session_id, id, &principal.user_id, message).named(ATTACHMENT_FREE),
        );
    }
    Ok((carried, ops))
}

/// 409 for an attachment another send took meanwhile.
pub(crate) fn attachment_taken() -> ApiError {
    ApiError::conflict("attachment_taken", "an attachment was sent in another message meanwhile")
}
