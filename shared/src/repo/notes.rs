//! Private notes on sessions (`SESSION#<id>` / `NOTE#<note id>`): in the session's partition, but
//! under a prefix no customer-facing read (messages, participants, read markers) ever queries.

use crate::domain::tools::Note;
use crate::domain::{NoteId, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, ItemStore, Key, KeyRange, Query, StoreError, TxOp, UpdateAction};

use super::sessions::partition;
use super::{from_item, records, s, ts};

/// Sort-key prefix of notes.
const PREFIX: &str = "NOTE#";

/// Key of a note.
pub fn key(session: &SessionId, id: &NoteId) -> Key {
    Key::new(partition(session), format!("{PREFIX}{id}"))
}

/// Stores a new note.
pub fn put_new(note: &Note) -> Result<TxOp, ApiError> {
    let item = super::to_item(note, &key(&note.session_id, &note.id), &[])?;
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// Reads a note.
pub async fn get(store: &dyn ItemStore, session: &SessionId, id: &NoteId) -> Result<Option<Note>, ApiError> {
    store.get(&key(session, id)).await?.map(from_item).transpose()
}

/// Replaces a note's text if `author` wrote it; `None` when it does not exist or is someone
/// else's (nothing is written then).
pub async fn edit(
    store: &dyn ItemStore,
    session: &SessionId,
    id: &NoteId,
    author: &UserId,
    body: &str,
    at: time::OffsetDateTime,
) -> Result<Option<Note>, ApiError> {
    let updated = store
        .update(
            &key(session, id),
            vec![UpdateAction::Set("body".into(), s(body)), UpdateAction::Set("edited_at".into(), ts(at)?)],
            Some(Condition::And(vec![Condition::Exists, Condition::Equals("author_id".into(), s(author))])),
        )
        .await;
    match updated {
        Ok(item) => Ok(Some(from_item::<Note>(item)?)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// One page of a session's notes, oldest first.
pub async fn list(
    store: &dyn ItemStore,
    session: &SessionId,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Note>, Option<Cursor>), ApiError> {
    let query = Query::table(partition(session))
        .range(KeyRange::BeginsWith(PREFIX.into()))
        .limit(limit)
        .cursor(cursor);
    records(store.query(query).await?)
}
