//! Where a rollup's CPU time goes: the reads and the computing a rollup of each day does
//! (`analytics::rollup`), done again in phases and timed apart (process CPU, [`cpu_time`]):
//!
//! 1. the day index, keys only, page by page (the store's work);
//! 2. those keys to session ids;
//! 3. the whole history of each session with an event that day, one Query each, as raw items
//!    (on SQLite the stored JSON text);
//! 4. those to events (`LifecycleEvent`, as the rollup decodes them);
//! 5. each session's facts (`SessionFacts::from_lifecycle`);
//! 6. the summaries: the day's, its hours', its rooms' and their hours' (`DaySummaries`, the
//!    rollup's own).
//!
//! The writes are not redone: [`super::writes`] meters them in the rollup itself. Like the
//! rollup, the histories are read 256 sessions at a time, in one `query_many_raw`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_shared::analytics::episodes::SessionFacts;
use switchboard_shared::analytics::events::LifecycleEvent;
use switchboard_shared::analytics::range::days_between;
use switchboard_shared::analytics::rollup::{partition_of, DaySummaries};
use switchboard_shared::domain::SessionId;
use switchboard_shared::error::ApiError;
use switchboard_shared::repo::{events, sessions};
use switchboard_shared::store::{Cursor, ItemStore, KeyRange, Query, RawItem, MAX_QUERY_LIMIT};
use time::{Date, OffsetDateTime};

use super::usage::cpu_time;

/// Sessions read and summarised at a time, as the rollup does (`analytics::rollup`'s `BATCH`).
const BATCH: usize = 256;

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
            ("histories: store reads (SQLite, as JSON text)", self.history_read_s),
            ("histories: JSON → events", self.history_decode_s),
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

        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::index("gsi1", events::day_partition(day))
                .keys_only()
                .limit(MAX_QUERY_LIMIT)
                .cursor(cursor);
            let page = store.query_many_raw(vec![query]).await?.pop().unwrap_or_default();
            phases.store_calls += 1;
            keys.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        phases.day_index_read_s += clock.lap();

        phases.day_index_events += keys.len() as u64;
        let prefix = format!("{}#", sessions::PARTITION_PREFIX);
        let mut ids = BTreeSet::new();
        for key in &keys {
            if let Some(id) =
                partition_of(key)?.strip_prefix(&prefix).and_then(|id| SessionId::parse(id).ok())
            {
                ids.insert(id);
            }
        }
        drop(keys);
        phases.day_index_decode_s += clock.lap();

        let mut summaries = DaySummaries::new(day, as_of);
        let ids: Vec<SessionId> = ids.into_iter().collect();
        // In batches of sessions, as the rollup reads them (its memory stays bounded).
        for batch in ids.chunks(BATCH) {
            let queries = batch.iter().map(|id| history_query(id, None)).collect();
            let mut raw = Vec::with_capacity(batch.len());
            for (id, page) in batch.iter().zip(store.query_many_raw(queries).await?) {
                phases.store_calls += 1;
                let (mut items, mut next) = (page.items, page.next);
                while let Some(cursor) = next.take() {
                    let page = store.query_many_raw(vec![history_query(id, Some(cursor))]).await?;
                    for page in page {
                        phases.store_calls += 1;
                        items.extend(page.items);
                        next = page.next;
                    }
                }
                raw.push((*id, items));
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
                histories.iter().map(|(id, history)| SessionFacts::from_lifecycle(*id, history)).collect();
            phases.facts_s += clock.lap();

            for ((_, history), facts) in histories.iter().zip(&facts) {
                summaries.add(facts, history);
            }
            summaries.end_batch();
            phases.summaries_s += clock.lap();
        }
        std::hint::black_box(&summaries);
    }
    Ok(phases)
}

/// A page of a session's whole history.
fn history_query(id: &SessionId, cursor: Option<Cursor>) -> Query {
    Query::table(sessions::partition(id))
        .range(KeyRange::BeginsWith("EVENT#".into()))
        .limit(MAX_QUERY_LIMIT)
        .cursor(cursor)
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

fn decode(items: Vec<RawItem>) -> Result<Vec<LifecycleEvent>, ApiError> {
    items
        .into_iter()
        .map(|item| {
            item.decode().map_err(|e| ApiError::Internal(format!("a stored event is unreadable: {e}")))
        })
        .collect()
}
