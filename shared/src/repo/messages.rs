//! Messages (`SESSION#<id>` / `MSG#<message id>`) and the client-message-id records that make a
//! retried send idempotent (`CMID#<sender>#<client message id>` → message id).

use crate::domain::{ClientMessageId, Message, MessageId, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, ItemStore, Key, KeyRange, Query, TxOp, UpdateAction};

use super::sessions::partition;
use super::{from_item, records, s, ts};

/// Sort-key prefix of messages.
const PREFIX: &str = "MSG#";

/// Whether a key is a message's (a change record of the table names its item by key).
pub fn is_message_key(pk: &str, sk: &str) -> bool {
    pk.strip_prefix(super::sessions::PARTITION_PREFIX).is_some_and(|id| id.starts_with('#'))
        && sk.starts_with(PREFIX)
}

/// Key of a message.
pub fn key(session: &SessionId, id: &MessageId) -> Key {
    Key::new(partition(session), format!("{PREFIX}{id}"))
}

/// Key of the record that maps a sender's client message id to the stored message.
pub fn client_message_key(session: &SessionId, sender: &UserId, client_id: &ClientMessageId) -> Key {
    Key::new(partition(session), format!("CMID#{sender}#{client_id}"))
}

/// Stores a new message.
pub fn put_new(message: &Message) -> Result<TxOp, ApiError> {
    let item = super::to_item(message, &key(&message.session_id, &message.id), &[])?;
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// Claims a client message id for a message; fails if the sender used it before in the session.
pub fn claim_client_id(message: &Message, client_id: &ClientMessageId) -> Result<TxOp, ApiError> {
    let key = client_message_key(&message.session_id, &message.sender_id, client_id);
    let mut item = crate::store::Item::new();
    item.insert(crate::store::PK.into(), s(&key.pk));
    item.insert(crate::store::SK.into(), s(&key.sk));
    item.insert("message_id".into(), s(message.id));
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// The message a client message id was claimed for.
pub async fn by_client_id(
    store: &dyn ItemStore,
    session: &SessionId,
    sender: &UserId,
    client_id: &ClientMessageId,
) -> Result<Option<Message>, ApiError> {
    let Some(claim) = store.get(&client_message_key(session, sender, client_id)).await? else {
        return Ok(None);
    };
    let id = claim
        .get("message_id")
        .and_then(|v| v.as_str())
        .and_then(|v| MessageId::parse(v).ok())
        .ok_or_else(|| ApiError::Internal("a client message id record lacks its message id".into()))?;
    get(store, session, &id).await
}

/// Reads a message.
pub async fn get(
    store: &dyn ItemStore,
    session: &SessionId,
    id: &MessageId,
) -> Result<Option<Message>, ApiError> {
    store.get(&key(session, id)).await?.map(from_item).transpose()
}

/// Condition: the message is the sender's and not deleted.
fn editable_by(sender: &UserId) -> Condition {
    Condition::And(vec![
        Condition::Exists,
        Condition::Equals("sender_id".into(), s(sender)),
        Condition::Equals("deleted".into(), serde_json::Value::Bool(false)),
    ])
}

/// Replaces a message's body.
pub fn edit(message: &Message, body: &str, at: time::OffsetDateTime) -> Result<TxOp, ApiError> {
    Ok(TxOp::Update {
        key: key(&message.session_id, &message.id),
        actions: vec![
            UpdateAction::Set("body".into(), s(body)),
            UpdateAction::Set("edited_at".into(), ts(at)?),
        ],
        condition: Some(editable_by(&message.sender_id)),
    })
}

/// Turns a message into a tombstone: flagged deleted, body gone.
pub fn tombstone(message: &Message, at: time::OffsetDateTime) -> Result<TxOp, ApiError> {
    Ok(TxOp::Update {
        key: key(&message.session_id, &message.id),
        actions: vec![
            UpdateAction::Set("deleted".into(), serde_json::Value::Bool(true)),
            UpdateAction::Set("body".into(), serde_json::Value::Null),
            UpdateAction::Set("deleted_at".into(), ts(at)?),
        ],
        condition: Some(editable_by(&message.sender_id)),
    })
}

/// Where a message list starts and which way it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageWindow {
    /// Only messages after this one (for resync after a reconnect).
    pub after: Option<MessageId>,
    /// Oldest first when true.
    pub ascending: bool,
}

/// The query of a session's newest messages down to `from` (included), newest first, at most
/// `limit`: what a session list needs for the last message and the unread ones after a marker.
pub fn newest_since(session: &SessionId, from: Option<&MessageId>, limit: usize) -> Query {
    let range = match from {
        None => KeyRange::BeginsWith(PREFIX.into()),
        Some(from) => KeyRange::Between(format!("{PREFIX}{from}"), format!("{PREFIX}~")),
    };
    Query::table(partition(session)).range(range).ascending(false).limit(limit)
}

/// One page of a session's messages.
pub async fn list(
    store: &dyn ItemStore,
    session: &SessionId,
    window: MessageWindow,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Message>, Option<Cursor>), ApiError> {
    let range = match window.after {
        None => KeyRange::BeginsWith(PREFIX.into()),
        // `!` sorts below every ULID character and `~` above them, so this is "strictly after
        // `after`, still a message" without reaching the records that sort after `MSG#`.
        Some(after) => KeyRange::Between(format!("{PREFIX}{after}!"), format!("{PREFIX}~")),
    };
    let query =
        Query::table(partition(session)).range(range).ascending(window.ascending).limit(limit).cursor(cursor);
    records(store.query(query).await?)
}
