//! Where a rollup's CPU time goes: the reads and the computing a rollup of each day does
//! (`ops::rollup`), done again in phases and timed apart (process CPU, [`usage::cpu_time`]):
//!
//! 1. the day index, page by page (the store's work: SQLite, and its JSON text to an item);
//! 2. those items to events;
//! 3. the whole history of each session with an event that day, one Query each;
//! 4. those items to events;
//! 5. each session's facts (`SessionFacts::from_events`);
//! 6. the summaries: the day's, its hours', its rooms' and their hours' (`Summary::add`).
//!
//! The writes are not redone: a rollup's CPU time less these phases is its writes, and what the
//! rollup does besides (concurrency, the hand-off to the store's threads). The reads here are one
//! at a time where the rollup makes eight at once, and the day index is read whole (the day's
//! partition) where the rollup reads the id range of the day with a filter on `at`: the same
//! items.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_shared::domain::metrics::{SessionFacts, Summary};
use switchboard_shared::domain::{AuditEvent, SessionId};
use switchboard_shared::error::ApiError;
use switchboard_shared::ops::rollup::{day_bounds, days_between};
use switchboard_shared::repo::{events, sessions};
use switchboard_shared::store::{Item, ItemStore, KeyRange, Query, MAX_QUERY_LIMIT};
use time::{Date, OffsetDateTime};

use super::usage::cpu_time;

/// CPU seconds of each phase, summed over the days, and what they handled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Reading the day index (store calls).
    pub day_index_read_s: f64,
    /// Its items to events.
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
            ("day index: store reads (SQLite, JSON text → item)", self.day_index_read_s),
            ("day index: items → events", self.day_index_decode_s),
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
            let query =
                Query::index("gsi1", events::day_partition(day)).limit(MAX_QUERY_LIMIT).cursor(cursor);
            let page = store.query(query).await?;
            phases.store_calls += 1;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        phases.day_index_read_s += clock.lap();

        let day_events = decode(items)?;
        phases.day_index_events += day_events.len() as u64;
        let ids: BTreeSet<SessionId> = day_events
            .iter()
            .filter(|event| event.kind.starts_with("session."))
            .filter_map(|event| event.session_id)
            .collect();
        drop(day_events);
        phases.day_index_decode_s += clock.lap();

        let mut raw = Vec::with_capacity(ids.len());
        for id in &ids {
            let mut history = Vec::new();
            let mut cursor = None;
            loop {
                let query = Query::table(sessions::partition(id))
                    .range(KeyRange::BeginsWith("EVENT#".into()))
                    .limit(MAX_QUERY_LIMIT)
                    .cursor(cursor);
                let page = store.query(query).await?;
                phases.store_calls += 1;
                history.extend(page.items);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            raw.push((*id, history));
        }
        phases.history_read_s += clock.lap();

        let histories = raw
            .into_iter()
            .map(|(id, items)| decode(items).map(|history| (id, history)))
            .collect::<Result<Vec<_>, _>>()?;
        phases.histories += histories.len() as u64;
        phases.history_events += histories.iter().map(|(_, history)| history.len() as u64).sum::<u64>();
        phases.history_decode_s += clock.lap();

        let facts: Vec<SessionFacts> =
            histories.iter().map(|(id, history)| SessionFacts::from_events(*id, history)).collect();
        phases.facts_s += clock.lap();

        std::hint::black_box(summarise(day, as_of, &histories, &facts));
        phases.summaries_s += clock.lap();
    }
    Ok(phases)
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
/// hours', every session added to the day, its room and the hours in which it has events.
/// Returns how many there are.
fn summarise(
    day: Date,
    as_of: OffsetDateTime,
    histories: &[(SessionId, Vec<AuditEvent>)],
    facts: &[SessionFacts],
) -> usize {
    let (start, end) = day_bounds(day);
    let hour = |hour: u8| {
        let from = start + time::Duration::hours(i64::from(hour));
        Summary::new(from, from + time::Duration::HOUR, as_of)
    };
    let mut whole = Summary::new(start, end, as_of);
    let mut hours: BTreeMap<u8, Summary> = BTreeMap::new();
    let mut rooms: BTreeMap<String, Summary> = BTreeMap::new();
    let mut room_hours: BTreeMap<(String, u8), Summary> = BTreeMap::new();
    for ((_, history), facts) in histories.iter().zip(facts) {
        let room = history
            .iter()
            .find(|event| event.kind == "session.created")
            .and_then(|event| event.details.get("room_id"))
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned();
        whole.add(facts);
        rooms.entry(room.clone()).or_insert_with(|| Summary::new(start, end, as_of)).add(facts);
        let touched: BTreeSet<u8> =
            history.iter().filter(|event| event.at.date() == day).map(|event| event.at.hour()).collect();
        for h in touched {
            hours.entry(h).or_insert_with(|| hour(h)).add(facts);
            room_hours.entry((room.clone(), h)).or_insert_with(|| hour(h)).add(facts);
        }
    }
    1 + hours.len() + rooms.len() + room_hours.len()
}
