//! Attachments (`SESSION#<id>` / `ATT#<attachment id>`) and each session's count of them
//! (`SESSION#<id>` / `ATTCOUNT`), which caps the uploads of one session.

use crate::attachments::{Attachment, AttachmentStatus, RejectReason};
use crate::domain::{AttachmentId, MessageId, Principal, Role, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{
    Condition, ItemStore, Key, KeyRange, Query, StoreError, TxOp, UpdateAction, MAX_QUERY_LIMIT,
};

use super::sessions::{self, partition};
use super::{from_item, s, ts};

/// Sort-key prefix of attachments.
const PREFIX: &str = "ATT#";

/// Key of an attachment.
pub fn key(session: &SessionId, id: &AttachmentId) -> Key {
    Key::new(partition(session), format!("{PREFIX}{id}"))
}

/// Key of a session's attachment count.
pub fn count_key(session: &SessionId) -> Key {
    Key::new(partition(session), "ATTCOUNT")
}

/// Stores a new attachment.
pub fn put_new(attachment: &Attachment) -> Result<TxOp, ApiError> {
    let item = super::to_item(attachment, &key(&attachment.session_id, &attachment.id), &[])?;
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// Counts one more attachment of the session; fails when it has `limit` already.
pub fn count_one(session: &SessionId, limit: u32) -> TxOp {
    TxOp::Update {
        key: count_key(session),
        actions: vec![UpdateAction::Add("count".into(), 1)],
        condition: Some(Condition::Or(vec![
            Condition::AttributeNotExists("count".into()),
            Condition::LessThan("count".into(), serde_json::Value::from(limit)),
        ])),
    }
}

/// Checks that the session is open and `uploader` takes part in it (its customer, or its
/// agent): who may write to it may upload to it.
pub fn writable_by(session: &SessionId, uploader: &Principal) -> TxOp {
    let takes_part = match uploader.role {
        Role::Customer => Condition::Equals("customer_id".into(), s(&uploader.user_id)),
        Role::Agent | Role::Admin => Condition::Equals("agent_id".into(), s(&uploader.user_id)),
    };
    TxOp::Check {
        key: sessions::key(session),
        condition: Condition::And(vec![Condition::NotEquals("status".into(), s("closed")), takes_part]),
    }
}

/// Reads an attachment.
pub async fn get(
    store: &dyn ItemStore,
    session: &SessionId,
    id: &AttachmentId,
) -> Result<Option<Attachment>, ApiError> {
    store.get(&key(session, id)).await?.map(from_item).transpose()
}

/// Reads several attachments of a session, in the ids' order.
pub async fn get_many(
    store: &dyn ItemStore,
    session: &SessionId,
    ids: &[AttachmentId],
) -> Result<Vec<Option<Attachment>>, ApiError> {
    let items = store.get_many(ids.iter().map(|id| key(session, id)).collect()).await?;
    items.into_iter().map(|item| item.map(from_item).transpose()).collect()
}

/// Ends a pending attachment's checks with `status` (and the reason of a rejection); `None`
/// when it is no longer pending (another run of the check ended them first).
pub async fn finish(
    store: &dyn ItemStore,
    attachment: &Attachment,
    status: AttachmentStatus,
    reason: Option<RejectReason>,
    has_thumbnail: bool,
    at: time::OffsetDateTime,
) -> Result<Option<Attachment>, ApiError> {
    let mut actions = vec![
        UpdateAction::Set("has_thumbnail".into(), serde_json::Value::Bool(has_thumbnail)),
        UpdateAction::Set(
            "status".into(),
            serde_json::to_value(status).map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        UpdateAction::Set("checked_at".into(), ts(at)?),
    ];
    if let Some(reason) = reason {
        actions.push(UpdateAction::Set(
            "reason".into(),
            serde_json::to_value(reason).map_err(|e| ApiError::Internal(e.to_string()))?,
        ));
    }
    let condition = Condition::Equals("status".into(), s("pending"));
    match store.update(&key(&attachment.session_id, &attachment.id), actions, Some(condition)).await {
        Ok(item) => Ok(Some(from_item(item)?)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Puts an attachment in a message: only one `sender` uploaded, not rejected, not in a message
/// yet.
pub fn attach(session: &SessionId, id: &AttachmentId, sender: &UserId, message: &MessageId) -> TxOp {
    TxOp::Update {
        key: key(session, id),
        actions: vec![UpdateAction::Set("message_id".into(), s(message))],
        condition: Some(Condition::And(vec![
            Condition::Exists,
            Condition::Equals("uploader_id".into(), s(sender)),
            Condition::NotEquals("status".into(), s("rejected")),
            Condition::Or(vec![
                Condition::AttributeNotExists("message_id".into()),
                Condition::Equals("message_id".into(), serde_json::Value::Null),
            ]),
        ])),
    }
}

/// The names of the files sent in a session's messages, oldest first (one Query per 1,000
/// attachments; at most the per-session limit).
pub async fn sent_names(store: &dyn ItemStore, session: &SessionId) -> Result<Vec<String>, ApiError> {
    let query =
        Query::table(partition(session)).range(KeyRange::BeginsWith(PREFIX.into())).limit(MAX_QUERY_LIMIT);
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(query.clone().cursor(cursor)).await?;
        for item in page.items {
            let attachment: Attachment = from_item(item)?;
            if attachment.message_id.is_some() {
                names.push(attachment.file_name);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(names),
        }
    }
}
