//! Where a rollup's CPU time goes: the reads and the computing a rollup of each day does
//! (`ops::rollup`), done again in phases and timed apart (process CPU, [`cpu_time`]):
//!
//! 1. the day index, keys only, page by page (the store's work);
//! 2. those keys to session ids;
//! 3. the whole history of each session with an event that day, one Query each;
//! 4. those items to events;
//! 5. each session's facts (`SessionFacts::from_events`);
//! 6. the summaries: the day's, its hours', its rooms' and their hours' (`Summary::add`).
//!
//! The writes are not redone: [`super::writes`] meters them in the rollup itself. Like the
//! rollup, the histories are read 256 sessions at a time, eight at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_shared::domain::metrics::{SessionFacts, Summary};
use switchboard_shared::domain::{AuditEvent, SessionId};
use switchboard_shared::error::ApiError;
use switchboard_shared::ops::rollup::{day_bounds, days_between};
use switchboard_shared::repo::{events, sessions};
use switchboard_shared::store::{Item, ItemStore, KeyRange, Query, MAX_QUERY_LIMIT, PK};
use time::{Date, OffsetDateTime};

use super::usage::cpu_time;

/// Sessions read and summarised at a time, as the rollup does (`ops::rollup`'s `BATCH`).
const BATCH: usize = 256;
/// Histories read at once, as the rollup does (`ops::rollup`'s `CONCURRENT_READS`).
const CONCURRENT_READS: usize = 8;

/// CPU seconds of each phase, summed over the days, and what they handled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Reading the day index, keys only (store calls).
    pub day_index_read_s: f64,
    /// Its keys to session ids.
    pub day_index_decode_s: f64,
    /// Reading the sessions' histories (store calls).
    pub history_read_s: f64,
    /// Their items to events.
    pub history_decode_s: f64,
    /// Session facts.
    pub facts_s: f64,
    /// Summaries.
    pub summaries_s: f64,
    /// Events in the day index.
    pub day_index_events: u64,
    /// Events in the histories read (a session with events on two days is read for each).
    pub history_events: u64,
    /// Histories read.
    pub histories: u64,
    /// Store calls (Queries).
    pub store_calls: u64,
}

impl Phases {
    /// Each phase's name and CPU seconds, in order.
    pub fn parts(&self) -> [(&'static str, f64); 6] {
        [
            ("day index: store reads, keys only", self.day_index_read_s),
            ("day index: keys → session ids", self.day_index_decode_s),
            ("histories: store reads (SQLite, JSON text → item)", self.history_read_s),
            ("histories: items → events", self.history_decode_s),
            ("session facts", self.facts_s),
            ("summaries (day, hours, rooms)", self.summaries_s),
        ]
    }

    /// The phases' CPU seconds, all together.
    pub fn total_s(&self) -> f64 {
        self.parts().iter().map(|(_, seconds)| seconds).sum()
    }
}

/// Times the phases over the days from `first` to `last` (both included), as of `as_of`.
pub async fn measure(
    store: &dyn ItemStore,
    first: Date,
    last: Date,
    as_of: OffsetDateTime,
) -> Result<Phases, ApiError> {
    let mut phases = Phases::default();
    for day in days_between(first, last) {
        let mut clock = Clock::start();

        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::index("gsi1", events::day_partition(day))
                .keys_only()
                .limit(MAX_QUERY_LIMIT)
                .cursor(cursor);
            let page = store.query(query).await?;
            phases.store_calls += 1;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        phases.day_index_read_s += clock.lap();

        phases.day_index_events += items.len() as u64;
        let prefix = format!("{}#", sessions::PARTITION_PREFIX);
        let ids: BTreeSet<SessionId> = items
            .iter()
            .filter_map(|item| item.get(PK).and_then(Value::as_str))
            .filter_map(|partition| partition.strip_prefix(&prefix))
            .filter_map(|id| SessionId::parse(id).ok())
            .collect();
        drop(items);
        phases.day_index_decode_s += clock.lap();

        let mut summaries = Summaries::new(day, as_of);
        let ids: Vec<SessionId> = ids.into_iter().collect();
        // In batches of sessions, as the rollup reads them (its memory stays bounded).
        for batch in ids.chunks(BATCH) {
            let raw: Vec<(SessionId, Vec<Item>, u64)> =
                stream::iter(batch.iter().copied())
                    .map(|id| async move {
                        history_items(store, id).await.map(|(items, calls)| (id, items, calls))
                    })
                    .buffer_unordered(CONCURRENT_READS)
                    .try_collect()
                    .await?;
            phases.store_calls += raw.iter().map(|(_, _, calls)| calls).sum::<u64>();
            phases.history_read_s += clock.lap();

            let histories = raw
                .into_iter()
                .map(|(id, items, _)| decode(items).map(|history| (id, history)))
                .collect::<Result<Vec<_>, _>>()?;
            phases.histories += histories.len() as u64;
            phases.history_events += histories.iter().map(|(_, history)| history.len() as u64).sum::<u64>();
            phases.history_decode_s += clock.lap();

            let facts: Vec<SessionFacts> =
                histories.iter().map(|(id, history)| SessionFacts::from_events(*id, history)).collect();
            phases.facts_s += clock.lap();

            for ((_, history), facts) in histories.iter().zip(&facts) {
                summaries.add(history, facts);
            }
            phases.summaries_s += clock.lap();
        }
        std::hint::black_box(summaries.count());
    }
    Ok(phases)
}

/// A session's whole history as stored items, and the Queries it took.
async fn history_items(store: &dyn ItemStore, id: SessionId) -> Result<(Vec<Item>, u64), ApiError> {
    let mut items = Vec::new();
    let mut calls = 0;
    let mut cursor = None;
    loop {
        let query = Query::table(sessions::partition(&id))
            .range(KeyRange::BeginsWith("EVENT#".into()))
            .limit(MAX_QUERY_LIMIT)
            .cursor(cursor);
        let page = store.query(query).await?;
        calls += 1;
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok((items, calls)),
        }
    }
}

/// The CPU time since the last lap.
struct Clock(Duration);

impl Clock {
    fn start() -> Self {
        Self(cpu_time())
    }

    fn lap(&mut self) -> f64 {
        let now = cpu_time();
        let lap = now.saturating_sub(self.0);
        self.0 = now;
        lap.as_secs_f64()
    }
}

fn decode(items: Vec<Item>) -> Result<Vec<AuditEvent>, ApiError> {
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value(Value::Object(item))
                .map_err(|e| ApiError::Internal(format!("a stored event is unreadable: {e}")))
        })
        .collect()
}

/// The summaries a rollup keeps for a day: the day's, each hour's, each room's and each room's
/// hours'; a session is added to the day, its room and the hours in which it has events.
struct Summaries {
    day: Date,
    as_of: OffsetDateTime,
    whole: Summary,
    hours: BTreeMap<u8, Summary>,
    rooms: BTreeMap<String, Summary>,
    room_hours: BTreeMap<(String, u8), Summary>,
}

impl Summaries {
    fn new(day: Date, as_of: OffsetDateTime) -> Self {
        let (start, end) = day_bounds(day);
        Self {
            day,
            as_of,
            whole: Summary::new(start, end, as_of),
            hours: BTreeMap::new(),
            rooms: BTreeMap::new(),
            room_hours: BTreeMap::new(),
        }
    }

    fn add(&mut self, history: &[AuditEvent], facts: &SessionFacts) {
        let (start, end) = day_bounds(self.day);
        let as_of = self.as_of;
        let hour = |hour: u8| {
            let from = start + time::Duration::hours(i64::from(hour));
            Summary::new(from, from + time::Duration::HOUR, as_of)
        };
        let room = history
            .iter()
            .find(|event| event.kind == "session.created")
            .and_then(|event| event.details.get("room_id"))
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned();
        self.whole.add(facts);
        self.rooms.entry(room.clone()).or_insert_with(|| Summary::new(start, end, as_of)).add(facts);
        let touched: BTreeSet<u8> =
            history.iter().filter(|event| event.at.date() == self.day).map(|event| event.at.hour()).collect();
        for h in touched {
            self.hours.entry(h).or_insert_with(|| hour(h)).add(facts);
            self.room_hours.entry((room.clone(), h)).or_insert_with(|| hour(h)).add(facts);
        }
    }

    /// How many summaries there are (the day's always).
    fn count(&self) -> usize {
        1 + self.hours.len() + self.rooms.len() + self.room_hours.len()
    }
}
