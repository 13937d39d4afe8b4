//! A session's facts by day (`FACTS#<yyyy-mm-dd>` / `<session id>`): what the metric engine reads
//! of its history (waits, first responses, holds, transfers, closes, reopens, ratings, its room),
//! kept by the change feed as its events arrive, under every day its history has an event on, so
//! the rollup reads a day's sessions as the pages of one partition instead of a Query per session.
//! Each row says how many of the history's events fall on its day: the rollup sums them and checks
//! the sum against the day index's count of session events, which says whether the rows are
//! current.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::analytics::episodes::SessionFacts;
use crate::domain::SessionId;
use crate::error::ApiError;
use crate::store::{Condition, Cursor, ItemStore, Key, Query, RawPage, StoreError, PK};

use super::stats::day_text;
use super::{raw_records, to_item};

/// The partition of a day's facts.
pub fn day_partition(day: Date) -> String {
    format!("FACTS#{}", day_text(day))
}

/// Key of a session's facts under one day.
pub fn key(day: Date, id: &SessionId) -> Key {
    Key::new(day_partition(day), id.to_string())
}

/// A session's facts, read from its history: a pure function of it (the events they were read
/// from), so whoever computes them from the same history writes the same items.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFacts {
    /// The room it was opened in (the rollup's `NO_ROOM` when none).
    pub room: String,
    /// How many events of its history they were read from: histories only grow, so more
    /// events means newer facts (the write's condition).
    pub events: u64,
    /// The newest of those events' ids.
    pub last_event_id: String,
    /// How many of those events fall on each UTC day: the days the facts are stored under.
    pub days: BTreeMap<Date, u64>,
    /// The facts.
    pub facts: SessionFacts,
}

impl StoredFacts {
    /// The item stored under `day`, if the history has an event on it.
    pub fn on(&self, day: Date) -> Option<DayFacts> {
        let day_events = *self.days.get(&day)?;
        Some(DayFacts {
            room: self.room.clone(),
            events: self.events,
            day_events,
            last_event_id: self.last_event_id.clone(),
            facts: self.facts.clone(),
        })
    }
}

/// A session's facts as stored under one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFacts {
    /// The room it was opened in.
    pub room: String,
    /// How many events of its history the facts were read from.
    pub events: u64,
    /// How many of them fall on this day (what the day index holds of the session, when the
    /// facts are current).
    pub day_events: u64,
    /// The newest of those events' ids.
    pub last_event_id: String,
    /// The facts.
    pub facts: SessionFacts,
}

/// Writes the facts under each day of their history, each unless the item stored there was read
/// from as many events or more (an older history delivered late, or the same one twice): `true`
/// if any was written. The days are written one conditional put each, oldest first, so where a
/// day's facts are current its earlier days' are too (the rollup builds days newest first).
pub async fn save(store: &dyn ItemStore, facts: &StoredFacts) -> Result<bool, ApiError> {
    let mut written = false;
    for &day in facts.days.keys() {
        let Some(stored) = facts.on(day) else { continue };
        let item = to_item(&stored, &key(day, &facts.facts.session_id), &[])?;
        let older = Condition::Or(vec![
            Condition::AttributeNotExists(PK.into()),
            Condition::LessThan("events".into(), serde_json::Value::from(facts.events)),
        ]);
        match store.put(item, Some(older)).await {
            Ok(()) => written = true,
            Err(StoreError::ConditionFailed) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(written)
}

/// A session's facts as stored under `day`, if any.
pub async fn get(store: &dyn ItemStore, day: Date, id: &SessionId) -> Result<Option<DayFacts>, ApiError> {
    store.get(&key(day, id)).await?.map(super::from_item).transpose()
}

/// A page of a day's facts, in session id order (`limit` at most [`crate::store::MAX_QUERY_LIMIT`]).
pub fn of_day_query(day: Date, limit: usize, cursor: Option<Cursor>) -> Query {
    Query::table(day_partition(day)).limit(limit).cursor(cursor)
}

/// The facts of a page of [`of_day_query`], and where the next page starts.
pub fn of_day_page(page: RawPage) -> Result<(Vec<DayFacts>, Option<Cursor>), ApiError> {
    raw_records(page)
}
