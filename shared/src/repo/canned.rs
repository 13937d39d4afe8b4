//! Canned responses (`CANNED#<id>` / `META`), listed per scope in gsi1 (`CANNED#<scope key>`,
//! by shortcode) and per scope kind in gsi2 (`CANNED_SCOPE#<scope>`, by shortcode then id), and
//! the records that keep shortcodes unique within a scope (`CANNED_CODE#<scope key>` /
//! `<shortcode>`).

use crate::domain::tools::{CannedResponse, CannedScope, Shortcode};
use crate::domain::{CannedResponseId, RoomId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, Item, ItemStore, Key, KeyRange, Query, TxOp, UpdateAction, PK, SK};

use super::{from_item, records, s, to_item, ts};

/// Key of a canned response.
pub fn key(id: &CannedResponseId) -> Key {
    Key::new(partition(id), "META")
}

/// Partition of a canned response (and of its audit events).
pub fn partition(id: &CannedResponseId) -> String {
    format!("CANNED#{id}")
}

/// The namespace a shortcode is unique in: one user's personal responses, one room's, or the
/// global ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeKey {
    /// A user's personal responses.
    Personal(UserId),
    /// A room's responses.
    Room(RoomId),
    /// The global responses.
    Global,
}

impl ScopeKey {
    /// The namespace of a stored response (`None` for a room response without a room, which
    /// the operations never write).
    pub fn of(response: &CannedResponse) -> Option<Self> {
        match (response.scope, response.room_id) {
            (CannedScope::Personal, _) => Some(ScopeKey::Personal(response.owner_id.clone())),
            (CannedScope::Room, Some(room)) => Some(ScopeKey::Room(room)),
            (CannedScope::Room, None) => None,
            (CannedScope::Global, _) => Some(ScopeKey::Global),
        }
    }

    fn text(&self) -> String {
        match self {
            ScopeKey::Personal(user) => format!("USER#{user}"),
            ScopeKey::Room(room) => format!("ROOM#{room}"),
            ScopeKey::Global => "GLOBAL".to_owned(),
        }
    }

    /// gsi1 partition of the scope's responses.
    pub fn listing_partition(&self) -> String {
        format!("CANNED#{}", self.text())
    }

    /// Key of the record that reserves a shortcode in the scope.
    pub fn shortcode_key(&self, shortcode: &Shortcode) -> Key {
        Key::new(format!("CANNED_CODE#{}", self.text()), shortcode.as_str())
    }
}

/// gsi2 partition of every response of a scope kind.
pub fn scope_partition(scope: CannedScope) -> String {
    format!("CANNED_SCOPE#{}", scope.as_str())
}

fn gsi2_sort_key(response: &CannedResponse) -> String {
    format!("{}#{}", response.shortcode.as_str(), response.id)
}

fn scope_key(response: &CannedResponse) -> Result<ScopeKey, ApiError> {
    ScopeKey::of(response)
        .ok_or_else(|| ApiError::Internal(format!("room response {} has no room", response.id)))
}

fn reservation(scope: &ScopeKey, shortcode: &Shortcode, id: &CannedResponseId) -> TxOp {
    let key = scope.shortcode_key(shortcode);
    let mut item = Item::new();
    item.insert(PK.into(), s(&key.pk));
    item.insert(SK.into(), s(&key.sk));
    item.insert("canned_id".into(), s(id));
    TxOp::Put { item, condition: Some(Condition::NotExists) }
}

/// Creates a response and reserves its shortcode in its scope; the reservation (index 1) fails
/// if the shortcode is taken.
pub fn put_new(response: &CannedResponse) -> Result<[TxOp; 2], ApiError> {
    let scope = scope_key(response)?;
    let item = to_item(
        response,
        &key(&response.id),
        &[
            ("gsi1pk", scope.listing_partition()),
            ("gsi1sk", response.shortcode.as_str().to_owned()),
            ("gsi2pk", scope_partition(response.scope)),
            ("gsi2sk", gsi2_sort_key(response)),
        ],
    )?;
    Ok([
        TxOp::Put { item, condition: Some(Condition::NotExists) },
        reservation(&scope, &response.shortcode, &response.id),
    ])
}

/// Condition: the response is still as it was read (same shortcode, same last change), so a
/// concurrent rename cannot leave a reservation behind.
fn unchanged(previous: &CannedResponse) -> Result<Condition, ApiError> {
    Ok(Condition::And(vec![
        Condition::Exists,
        Condition::Equals("shortcode".into(), s(previous.shortcode.as_str())),
        Condition::Equals("updated_at".into(), ts(previous.updated_at)?),
    ]))
}

/// Replaces title, body and shortcode of `previous` with those of `updated`: the update (fails
/// if the response changed meanwhile) and, when the shortcode changes, the new reservation
/// (fails if taken) and the release of the old one.
pub fn replace(
    previous: &CannedResponse,
    updated: &CannedResponse,
) -> Result<(TxOp, Option<[TxOp; 2]>), ApiError> {
    let scope = scope_key(previous)?;
    let update = TxOp::Update {
        key: key(&previous.id),
        actions: vec![
            UpdateAction::Set("title".into(), s(&updated.title)),
            UpdateAction::Set("body".into(), s(&updated.body)),
            UpdateAction::Set("shortcode".into(), s(updated.shortcode.as_str())),
            UpdateAction::Set("updated_at".into(), ts(updated.updated_at)?),
            UpdateAction::Set("gsi1sk".into(), s(updated.shortcode.as_str())),
            UpdateAction::Set("gsi2sk".into(), s(gsi2_sort_key(updated))),
        ],
        condition: Some(unchanged(previous)?),
    };
    let renamed = (updated.shortcode != previous.shortcode).then(|| {
        [
            reservation(&scope, &updated.shortcode, &previous.id),
            release(&scope, &previous.shortcode, &previous.id),
        ]
    });
    Ok((update, renamed))
}

fn release(scope: &ScopeKey, shortcode: &Shortcode, id: &CannedResponseId) -> TxOp {
    TxOp::Delete {
        key: scope.shortcode_key(shortcode),
        condition: Some(Condition::Equals("canned_id".into(), s(id))),
    }
}

/// Deletes a response (if unchanged since read) and releases its shortcode.
pub fn delete(previous: &CannedResponse) -> Result<[TxOp; 2], ApiError> {
    let scope = scope_key(previous)?;
    Ok([
        TxOp::Delete { key: key(&previous.id), condition: Some(unchanged(previous)?) },
        release(&scope, &previous.shortcode, &previous.id),
    ])
}

/// Reads a canned response.
pub async fn get(store: &dyn ItemStore, id: &CannedResponseId) -> Result<Option<CannedResponse>, ApiError> {
    store.get(&key(id)).await?.map(from_item).transpose()
}

/// One partition of responses a listing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// One scope's responses (gsi1), by shortcode.
    Scope(ScopeKey),
    /// Every response of a scope kind (gsi2), by shortcode.
    Kind(CannedScope),
}

/// One page of a segment, by shortcode, optionally only shortcodes starting with `prefix`.
pub async fn list(
    store: &dyn ItemStore,
    segment: &Segment,
    prefix: Option<&Shortcode>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<CannedResponse>, Option<Cursor>), ApiError> {
    let query = match segment {
        Segment::Scope(scope) => Query::index("gsi1", scope.listing_partition()),
        Segment::Kind(kind) => Query::index("gsi2", scope_partition(*kind)),
    };
    let query = match prefix {
        Some(prefix) => query.range(KeyRange::BeginsWith(prefix.as_str().to_owned())),
        None => query,
    };
    records(store.query(query.limit(limit).cursor(cursor)).await?)
}
