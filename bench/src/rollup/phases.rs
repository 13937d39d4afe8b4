//! Where a rollup's CPU time goes: the reads and the computing a rollup of each day does
//! (`analytics::rollup`), done again in phases and timed apart (process CPU, [`cpu_time`]):
//!
//! 1. the day index, keys only, page by page (the store's work);
//! 2. those keys to session ids;
//! 3. each session's facts and latest event, one Query each (`repo::facts::current_query`), as
//!    raw items (on SQLite the stored JSON text);
//! 4. those to facts (`repo::facts::current_of`);
//! 5. the summaries: the day's, its hours', its rooms' and their hours' (`DaySummaries`, the
//!    rollup's own).
//!
//! The writes are not redone: [`super::writes`] meters them in the rollup itself. Like the
//! rollup, the facts are read 256 sessions at a time, in one `query_many_raw`. The benchmark's
//! store has every session's facts current, so no history is read.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_shared::analytics::range::days_between;
use switchboard_shared::analytics::rollup::{partition_of, DaySummaries};
use switchboard_shared::domain::SessionId;
use switchboard_shared::error::ApiError;
use switchboard_shared::repo::{events, facts, sessions};
use switchboard_shared::store::{ItemStore, Query, MAX_QUERY_LIMIT};
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
    /// Reading the sessions' facts and latest events (store calls).
    pub facts_read_s: f64,
    /// Their items to facts.
    pub facts_decode_s: f64,
    /// Summaries.
    pub summaries_s: f64,
    /// Events in the day index.
    pub day_index_events: u64,
    /// Facts read (a session with events on two days is read for each).
    pub facts: u64,
    /// Store calls (Queries).
    pub store_calls: u64,
}

impl Phases {
    /// Each phase's name and CPU seconds, in order.
    pub fn parts(&self) -> [(&'static str, f64); 5] {
        [
            ("day index: store reads, keys only", self.day_index_read_s),
            ("day index: keys → session ids", self.day_index_decode_s),
            ("facts: store reads (SQLite, as JSON text), one Query per session", self.facts_read_s),
            ("facts: JSON → facts", self.facts_decode_s),
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
            let queries = batch.iter().map(facts::current_query).collect();
            let pages = store.query_many_raw(queries).await?;
            phases.store_calls += pages.len() as u64;
            phases.facts_read_s += clock.lap();

            let stored = pages
                .into_iter()
                .map(|page| facts::current_of(page)?.ok_or_else(|| ApiError::Internal("facts behind".into())))
                .collect::<Result<Vec<_>, _>>()?;
            phases.facts += stored.len() as u64;
            phases.facts_decode_s += clock.lap();

            for stored in &stored {
                summaries.add(&stored.facts, &stored.room);
            }
            summaries.end_batch();
            phases.summaries_s += clock.lap();
        }
        std::hint::black_box(&summaries);
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
