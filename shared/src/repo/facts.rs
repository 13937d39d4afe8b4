//! A session's facts (`SESSION#<id>` / `FACTS`): what the metric engine reads of its history
//! (waits, first responses, holds, transfers, closes, reopens, ratings, its room), kept by the
//! change feed as its events arrive, so the rollup reads one item per session instead of its
//! whole history. The item sorts right after the session's events (`EVENT#` < `FACTS` < `META`):
//! one Query, newest first, two items, reads the facts and the session's latest event, which
//! says whether the facts are current.

use serde::{Deserialize, Serialize};

use crate::analytics::episodes::SessionFacts;
use crate::domain::SessionId;
use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, KeyRange, Query, RawPage, StoreError, PK};

use super::{raw_records, to_item};

/// The sort key of a session's facts.
pub const SORT_KEY: &str = "FACTS";
/// The sort keys of a session's events begin with it.
const EVENT_PREFIX: &str = "EVENT#";

/// Key of a session's facts.
pub fn key(id: &SessionId) -> Key {
    Key::new(super::sessions::partition(id), SORT_KEY)
}

/// A session's facts as stored: a pure function of its history (the events it was read from),
/// so whoever computes them from the same history writes the same item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFacts {
    /// The room it was opened in (the rollup's `NO_ROOM` when none).
    pub room: String,
    /// How many events of its history they were read from: histories only grow, so more
    /// events means newer facts (the write's condition).
    pub events: u64,
    /// The newest of those events' ids.
    pub last_event_id: String,
    /// The facts.
    pub facts: SessionFacts,
}

/// Writes the facts unless the stored ones were read from as many events or more (an older
/// history delivered late, or the same one twice): `true` if written.
pub async fn save(store: &dyn ItemStore, facts: &StoredFacts) -> Result<bool, ApiError> {
    let item = to_item(facts, &key(&facts.facts.session_id), &[])?;
    let older = Condition::Or(vec![
        Condition::AttributeNotExists(PK.into()),
        Condition::LessThan("events".into(), serde_json::Value::from(facts.events)),
    ]);
    match store.put(item, Some(older)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A session's stored facts, if any.
pub async fn get(store: &dyn ItemStore, id: &SessionId) -> Result<Option<StoredFacts>, ApiError> {
    store.get(&key(id)).await?.map(super::from_item).transpose()
}

/// An item of the facts-and-latest-event read: the facts (their fields) or an event (its key).
#[derive(Deserialize)]
struct Row {
    sk: String,
    room: Option<String>,
    events: Option<u64>,
    last_event_id: Option<String>,
    facts: Option<SessionFacts>,
}

/// The Query of a session's facts and its latest event: `EVENT#` to `FACTS`, newest first, two
/// items.
pub fn current_query(id: &SessionId) -> Query {
    Query::table(super::sessions::partition(id))
        .range(KeyRange::Between(EVENT_PREFIX.into(), SORT_KEY.into()))
        .ascending(false)
        .limit(2)
}

/// A session's current facts from the page of its [`current_query`]: `None` where there are
/// none, or where they lag its history (an event newer than the newest they were read from: the
/// feed has not caught up, or the facts predate it).
pub fn current_of(page: RawPage) -> Result<Option<StoredFacts>, ApiError> {
    let (rows, _): (Vec<Row>, _) = raw_records(page)?;
    let mut rows = rows.into_iter();
    let Some(stored) = rows.next().filter(|row| row.sk == SORT_KEY) else { return Ok(None) };
    let latest = rows.next().and_then(|row| row.sk.strip_prefix(EVENT_PREFIX).map(str::to_owned));
    let (Some(room), Some(events), Some(last_event_id), Some(facts)) =
        (stored.room, stored.events, stored.last_event_id, stored.facts)
    else {
        return Err(ApiError::Internal("a session's stored facts are incomplete".into()));
    };
    let current = latest.is_some_and(|latest| latest <= last_event_id);
    Ok(current.then_some(StoredFacts { room, events, last_event_id, facts }))
}

/// The current facts of each session ([`current_of`]), in their order: one Query each, run
/// together (`query_many_raw`). Where there are none the caller reads the history instead.
pub async fn current(store: &dyn ItemStore, ids: &[SessionId]) -> Result<Vec<Option<StoredFacts>>, ApiError> {
    let pages = store.query_many_raw(ids.iter().map(current_query).collect()).await?;
    pages.into_iter().map(current_of).collect()
}
