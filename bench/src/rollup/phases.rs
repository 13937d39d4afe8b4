//! Where a rollup's CPU time goes: the reads and the computing a rollup of each day does
//! (`analytics::rollup`), done again in phases and timed apart (process CPU, [`cpu_time`]):
//!
//! 1. the day index's count of session events (`repo::events::count_of_sessions_on`: on SQLite
//!    one `COUNT` over the index);
//! 2. the day's facts, page by page (`repo::facts::of_day_query`), as raw items (on SQLite the
//!    stored JSON text);
//! 3. those to facts (`repo::facts::of_day_page`);
//! 4. the summaries: the day's, its hours', its rooms' and their hours' (`DaySummaries`, the
//!    rollup's own), a batch of 256 sessions at a time as the rollup adds them.
//!
//! The writes are not redone: [`super::writes`] meters them in the rollup itself. The benchmark's
//! store has every session's facts current, so the day index's keys and the histories are not
//! read.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_shared::analytics::range::days_between;
use switchboard_shared::analytics::rollup::DaySummaries;
use switchboard_shared::error::ApiError;
use switchboard_shared::repo::{events, facts};
use switchboard_shared::store::{ItemStore, MAX_QUERY_LIMIT};
use time::{Date, OffsetDateTime};

use super::usage::cpu_time;

/// Sessions summarised per batch, as the rollup does (`analytics::rollup`'s `BATCH`).
const BATCH: usize = 256;

/// CPU seconds of each phase, summed over the days, and what they handled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Counting the day index's session events (store calls).
    pub day_index_count_s: f64,
    /// Reading the day's facts (store calls).
    pub facts_read_s: f64,
    /// Their items to facts.
    pub facts_decode_s: f64,
    /// Summaries.
    pub summaries_s: f64,
    /// Events in the day index.
    pub day_index_events: u64,
    /// Facts read (a session with events on two days is read for each).
    pub facts: u64,
    /// Store calls (counts and Queries).
    pub store_calls: u64,
}

impl Phases {
    /// Each phase's name and CPU seconds, in order.
    pub fn parts(&self) -> [(&'static str, f64); 4] {
        [
            ("day index: count of session events", self.day_index_count_s),
            (
                "facts: store reads (SQLite, as JSON text), the day's partition by pages of 1,000",
                self.facts_read_s,
            ),
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
        phases.day_index_events += events::count_of_sessions_on(store, day).await?;
        phases.store_calls += 1;
        phases.day_index_count_s += clock.lap();

        let mut summaries = DaySummaries::new(day, as_of);
        let mut cursor = None;
        loop {
            let query = facts::of_day_query(day, MAX_QUERY_LIMIT, cursor);
            let page = store.query_many_raw(vec![query]).await?.pop().unwrap_or_default();
            phases.store_calls += 1;
            phases.facts_read_s += clock.lap();

            let (rows, next) = facts::of_day_page(page)?;
            phases.facts += rows.len() as u64;
            phases.facts_decode_s += clock.lap();

            for batch in rows.chunks(BATCH) {
                for row in batch {
                    summaries.add(&row.facts, &row.room);
                }
                summaries.end_batch();
            }
            phases.summaries_s += clock.lap();
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
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
