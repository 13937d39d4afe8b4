//! The analytics rollup: turns the session event log into the stored per-day and per-hour
//! summaries of `repo::rollups` (overall, per agent, per room), so reports over long ranges read
//! a few items per day instead of every session. Figures are the metric engine's
//! (`docs/METRICS.md`), from each touched session's whole history: its facts, kept by the change
//! feed under each day the history has an event on (`analytics::facts`, `repo::facts`), or where
//! those are missing or behind, the history itself.
//!
//! A day is always rebuilt whole: its sessions are the facts items of its partition, read page by
//! page (never a Scan), checked against the day index (gsi1 `EVENTS#<day>`): their events on the
//! day must add up to the index's count of session events, or the day is read again session by
//! session against the index's keys. Every item of the day is overwritten, so a rerun over the
//! same events writes the same items, and a run cut off half-way is repaired by the next (the
//! day's marker is written last).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::durations::DurationReport;
use super::episodes::SessionFacts;
use super::events::LifecycleEvent;
use super::facts;
use super::messages::RoleCounts;
use super::range::{day_bounds, days_between};
use super::read::built_summary;
use super::summaries::{MetricsReport, Summary};
use crate::domain::{Role, SessionId};
use crate::error::ApiError;
use crate::repo::events;
use crate::repo::facts as stored_facts;
use crate::repo::rollups::{self, Built, Period};
use crate::repo::stats::{self, day_text};
use crate::store::{ItemStore, Query, RawItem, PK};

/// Days the scheduled run always rebuilds: today and the two before (late events still land).
pub const OPEN_DAYS: i64 = 3;
/// How far back a reopen or rating can change a day's figures: a close's follow-up window is 7
/// days, so a day is final 8 days after it ends; the run rebuilds such days when touched, and
/// once more when they become final.
pub const SETTLE_DAYS: i64 = 9;
/// How far back the scheduled run fills days never built (a new deployment's history).
pub const CATCH_UP_HORIZON: i64 = 366;
/// Most never-built days one scheduled run fills, newest first.
pub const CATCH_UP_PER_RUN: usize = 31;
/// Sessions whose facts are summarised per batch (bounds memory on busy days).
const BATCH: usize = 256;
/// Page size of the day index reads.
const PAGE: usize = 1000;

/// Where a rollup of several days stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RollupProgress {
    /// The day just built, `yyyy-mm-dd`.
    pub day: String,
    /// Days built so far.
    pub days_done: u64,
    /// Days to build.
    pub days_total: u64,
    /// Events of the built days read from the day index so far.
    pub events_read: u64,
}

/// What a rollup of several days did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RollupTotals {
    /// Days built.
    pub days: u64,
    /// Events of those days read from the day index (each event once).
    pub events_read: u64,
    /// Sessions read, as facts or histories (a session with events on two days is read for each).
    pub sessions: u64,
    /// Items written.
    pub items_written: u64,
}

impl RollupTotals {
    fn add(&mut self, day: &DayBuild) {
        self.days += 1;
        self.events_read += day.events;
        self.sessions += day.sessions;
        self.items_written += day.items;
    }
}

/// One day built.
#[derive(Debug, Clone, Default)]
struct DayBuild {
    events: u64,
    sessions: u64,
    items: u64,
    /// The days of the closes of the sessions read (a reopen or a rating of theirs may have
    /// changed those days' figures).
    close_days: BTreeSet<Date>,
}

/// The summaries one day's build accumulates: the day's and each hour's, overall and per room.
/// A batch of sessions goes into summaries of its own, merged into the day's and the rooms' at
/// its end: their samples stay sorted by a merge per batch, not an insertion per session.
pub struct DaySummaries {
    day: Summary,
    hours: BTreeMap<u8, Summary>,
    rooms: BTreeMap<String, Summary>,
    room_hours: BTreeMap<String, BTreeMap<u8, Summary>>,
    batch: Summary,
    batch_rooms: BTreeMap<String, Summary>,
    as_of: OffsetDateTime,
    start: OffsetDateTime,
}

impl DaySummaries {
    /// The empty summaries of `day`, as of `as_of`.
    pub fn new(day: Date, as_of: OffsetDateTime) -> Self {
        let (start, end) = day_bounds(day);
        Self {
            day: Summary::new(start, end, as_of),
            hours: BTreeMap::new(),
            rooms: BTreeMap::new(),
            room_hours: BTreeMap::new(),
            batch: Summary::new(start, end, as_of),
            batch_rooms: BTreeMap::new(),
            as_of,
            start,
        }
    }

    fn whole_day(&self) -> Summary {
        Summary::new(self.start, self.start + Duration::DAY, self.as_of)
    }

    fn hour(&self, hour: u8) -> Summary {
        let from = self.start + Duration::hours(i64::from(hour));
        Summary::new(from, from + Duration::HOUR, self.as_of)
    }

    /// Adds one session (the facts of its whole history, and its room): to the day, its room,
    /// and the hours of the day its facts name a time in (every figure is counted at one of
    /// those times; an hour that holds none of them would only get an empty summary, which is
    /// never written).
    pub fn add(&mut self, facts: &SessionFacts, room: &str) {
        let (start, end) = (self.start, self.start + Duration::DAY);
        // Those hours, as bits 0 to 23.
        let hours = facts
            .times()
            .filter(|at| start <= *at && *at < end)
            .fold(0u32, |hours, at| hours | 1 << at.hour());
        self.batch.add(facts);
        if !self.batch_rooms.contains_key(room) {
            self.batch_rooms.insert(room.to_owned(), self.whole_day());
        }
        if let Some(summary) = self.batch_rooms.get_mut(room) {
            summary.add(facts);
        }
        if !self.room_hours.contains_key(room) {
            self.room_hours.insert(room.to_owned(), BTreeMap::new());
        }
        for hour in (0..24u8).filter(|hour| hours & 1 << hour != 0) {
            let empty = self.hour(hour);
            self.hours.entry(hour).or_insert_with(|| empty.clone()).add(facts);
            if let Some(room_hours) = self.room_hours.get_mut(room) {
                room_hours.entry(hour).or_insert(empty).add(facts);
            }
        }
    }

    /// Merges the batch's summaries into the day's and the rooms' (after each batch of
    /// sessions, and before the summaries are read).
    pub fn end_batch(&mut self) {
        let fresh = self.whole_day();
        let batch = std::mem::replace(&mut self.batch, fresh);
        self.day.merge(&batch);
        for (room, summary) in std::mem::take(&mut self.batch_rooms) {
            match self.rooms.get_mut(&room) {
                Some(total) => total.merge(&summary),
                None => {
                    self.rooms.insert(room, summary);
                }
            }
        }
    }
}

/// How many events each session has on `day`: the day index, keys only, page by page (a
/// session's events are stored in its partition, so the key names the session; events of other
/// partitions are not counted).
async fn session_events_of_day(
    store: &dyn ItemStore,
    day: Date,
) -> Result<BTreeMap<SessionId, u64>, ApiError> {
    let prefix = format!("{}#", crate::repo::sessions::PARTITION_PREFIX);
    let mut sessions = BTreeMap::new();
    let mut cursor = None;
    loop {
        let query = Query::index("gsi1", events::day_partition(day)).keys_only().limit(PAGE).cursor(cursor);
        let page = store.query_many_raw(vec![query]).await?.pop().unwrap_or_default();
        for key in &page.items {
            if let Some(id) =
                partition_of(key)?.strip_prefix(&prefix).and_then(|id| SessionId::parse(id).ok())
            {
                *sessions.entry(id).or_default() += 1;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(sessions),
        }
    }
}

/// The table partition key of an item of a keys-only page, read without a copy.
pub fn partition_of(key: &RawItem) -> Result<Cow<'_, str>, ApiError> {
    /// The table key of an item (the rest of its keys are not read).
    #[cfg(feature = "sqlite")]
    #[derive(serde::Deserialize)]
    struct TableKey<'a> {
        #[serde(borrow)]
        pk: Cow<'a, str>,
    }
    let partition = match key {
        #[cfg(feature = "sqlite")]
        RawItem::Json(text) => serde_json::from_str::<TableKey<'_>>(text).ok().map(|key| key.pk),
        RawItem::Decoded(item) => item.get(PK).and_then(serde_json::Value::as_str).map(Cow::Borrowed),
    };
    partition.ok_or_else(|| ApiError::Internal("a key of the day index is unreadable".into()))
}

/// A day's summaries as they are read, and what went into them.
struct DayRead {
    acc: DaySummaries,
    /// Facts items read (one per session).
    sessions: u64,
    /// Their events on the day, summed.
    day_events: u64,
    close_days: BTreeSet<Date>,
    /// Facts added since the last end of a batch.
    in_batch: usize,
}

impl DayRead {
    fn new(day: Date, as_of: OffsetDateTime) -> Self {
        Self {
            acc: DaySummaries::new(day, as_of),
            sessions: 0,
            day_events: 0,
            close_days: BTreeSet::new(),
            in_batch: 0,
        }
    }

    fn add(&mut self, facts: &SessionFacts, room: &str, day_events: u64) {
        self.acc.add(facts, room);
        self.close_days.extend(
            facts.episodes.iter().filter_map(|episode| episode.closed_at).map(|closed| closed.date()),
        );
        self.sessions += 1;
        self.day_events += day_events;
        self.in_batch += 1;
        if self.in_batch == BATCH {
            self.acc.end_batch();
            self.in_batch = 0;
        }
    }
}

/// Reads a day's facts page by page into its summaries. With `expected` (each session's events
/// on the day, from the day index), a session whose facts count other than the index (the feed
/// has not caught up, the facts predate it, or the index lags the table) and one with none is
/// read from its history instead, and its facts stored for the next build.
async fn read_day(
    store: &dyn ItemStore,
    day: Date,
    as_of: OffsetDateTime,
    mut expected: Option<BTreeMap<SessionId, u64>>,
) -> Result<DayRead, ApiError> {
    let mut read = DayRead::new(day, as_of);
    let mut stale = Vec::new();
    let mut cursor = None;
    loop {
        let query = stored_facts::of_day_query(day, PAGE, cursor);
        let page = store.query_many_raw(vec![query]).await?.pop().unwrap_or_default();
        let (rows, next) = stored_facts::of_day_page(page)?;
        for row in rows {
            let id = row.facts.session_id;
            match expected.as_mut().map(|expected| expected.remove(&id)) {
                Some(Some(events)) if events == row.day_events => {}
                Some(_) => {
                    stale.push(id);
                    continue;
                }
                None => {}
            }
            read.add(&row.facts, &row.room, row.day_events);
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    stale.extend(expected.into_iter().flat_map(BTreeMap::into_keys));
    for batch in stale.chunks(BATCH) {
        for (id, history) in events::of_sessions::<LifecycleEvent>(store, batch).await? {
            if let Some(facts) = facts::of_history(id, &history) {
                stored_facts::save(store, &facts).await?;
                if let Some(row) = facts.on(day) {
                    read.add(&row.facts, &row.room, row.day_events);
                }
            }
        }
    }
    read.acc.end_batch();
    Ok(read)
}

/// Builds one day: reads it, summarises it, overwrites its items, then marks it built. The day's
/// facts are read whole, and are current if their events on the day add up to the day index's
/// count of session events; where they do not, the day is read again, session by session against
/// the index.
async fn build_day(store: &dyn ItemStore, day: Date, as_of: OffsetDateTime) -> Result<DayBuild, ApiError> {
    let events = events::count_of_sessions_on(store, day).await?;
    let mut read = read_day(store, day, as_of, None).await?;
    if read.day_events != events {
        let expected = session_events_of_day(store, day).await?;
        read = read_day(store, day, as_of, Some(expected)).await?;
    }
    let items = write_day(store, day, read.acc).await?;
    rollups::put_built(store, &Built { day: day_text(day), as_of, events, sessions: read.sessions }).await?;
    Ok(DayBuild { events, sessions: read.sessions, items: items + 1, close_days: read.close_days })
}

/// Writes a day's items (overall, per agent, per room; the day and each hour with figures).
async fn write_day(store: &dyn ItemStore, day: Date, acc: DaySummaries) -> Result<u64, ApiError> {
    let mut writes: Vec<(Period, Write)> = Vec::new();
    let mut periods: Vec<(Period, Summary)> = vec![(Period::Day(day), acc.day)];
    periods.extend(acc.hours.into_iter().map(|(hour, summary)| (Period::Hour(day, hour), summary)));
    for (period, mut summary) in periods {
        // A day's agents get an item each (an agent's history is one Query); an hour's stay in
        // its overall item (an hour's figures are read whole: the PDF, the hourly charts).
        if let Period::Day(_) = period {
            for (agent_id, figures) in std::mem::take(&mut summary.agents) {
                writes.push((period, Write::Agent(agent_id, figures)));
            }
        }
        // The day's item is always written (a built day reads as zeros); an hour only with figures.
        if matches!(period, Period::Day(_)) || !is_empty(&summary) {
            writes.push((period, Write::Overall(summary)));
        }
    }
    let rooms = acc.rooms.into_iter().map(|(room, summary)| (Period::Day(day), room, summary));
    let room_hours = acc.room_hours.into_iter().flat_map(|(room, hours)| {
        hours.into_iter().map(move |(hour, summary)| (Period::Hour(day, hour), room.clone(), summary))
    });
    for (period, room, mut summary) in rooms.chain(room_hours) {
        summary.agents.clear();
        if !is_empty(&summary) {
            writes.push((period, Write::Room(room, summary)));
        }
    }
    let items = writes
        .into_iter()
        .map(|(period, write)| match write {
            Write::Overall(summary) => rollups::overall_item(period, &summary),
            Write::Agent(agent_id, figures) => rollups::agent_item(period, &agent_id, &figures),
            Write::Room(room, summary) => rollups::room_item(period, &room, &summary),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = items.len() as u64;
    rollups::put_all(store, items).await?;
    Ok(count)
}

/// Whether a summary holds no figure (a session whose events in the period end none of them,
/// e.g. a rating counted at its close).
fn is_empty(summary: &Summary) -> bool {
    *summary == Summary::new(summary.from, summary.to, summary.as_of)
}

enum Write {
    Overall(Summary),
    Agent(crate::domain::UserId, crate::analytics::summaries::AgentSummary),
    Room(String, Summary),
}

/// Builds every day from `from` to `to` (both included), oldest first, as of `as_of`, calling
/// `progress` after each day. The backfill.
pub async fn rollup_days(
    store: &dyn ItemStore,
    from: Date,
    to: Date,
    as_of: OffsetDateTime,
    progress: &mut (dyn FnMut(&RollupProgress) + Send),
) -> Result<RollupTotals, ApiError> {
    let days = days_between(from, to);
    let mut totals = RollupTotals::default();
    for &day in &days {
        let built = build_day(store, day, as_of).await?;
        totals.add(&built);
        progress(&RollupProgress {
            day: day_text(day),
            days_done: totals.days,
            days_total: days.len() as u64,
            events_read: totals.events_read,
        });
    }
    Ok(totals)
}

/// Why the scheduled run built a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuildReason {
    /// Today or one of the two days before.
    Open,
    /// A session read in the open days closed on it (a reopen or rating may have changed it).
    Touched,
    /// Its follow-up windows have all ended since it was last built: now final.
    Settled,
    /// Never built before.
    CatchUp,
}

/// One scheduled run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RunReport {
    /// The days built, oldest first, and why.
    pub days: Vec<(String, BuildReason)>,
    /// The totals.
    pub totals: RollupTotals,
}

/// The scheduled run (`analytics-rollup`, every 15 minutes): rebuilds the open days (today and
/// the two before), the earlier days a session read in them closed on (up to 9 days back), the
/// days that became final since they were built, and up to 31 days never built in the last 366
/// (a new deployment fills its history within a few runs); each newest first.
pub async fn run(store: &dyn ItemStore, now: OffsetDateTime) -> Result<RunReport, ApiError> {
    let today = now.date();
    let back = |days: i64| today - Duration::days(days);
    let built: BTreeMap<String, Built> = rollups::built(store, back(CATCH_UP_HORIZON), today)
        .await?
        .into_iter()
        .map(|built| (built.day.clone(), built))
        .collect();
    let mut report = RunReport::default();
    let mut plan: BTreeMap<Date, BuildReason> = BTreeMap::new();
    let mut touched = BTreeSet::new();
    // Newest first: a session's facts are stored under every day of its history at once, so once
    // a later day's facts are found current (or brought up to date from the history), its
    // earlier days' facts are as current when those days are built after it.
    for day in days_between(back(OPEN_DAYS - 1), today).into_iter().rev() {
        let build = build_day(store, day, now).await?;
        report.totals.add(&build);
        touched.extend(build.close_days.iter().copied());
        plan.insert(day, BuildReason::Open);
    }
    for day in touched.into_iter().filter(|day| (back(SETTLE_DAYS)..back(OPEN_DAYS - 1)).contains(day)) {
        plan.entry(day).or_insert(BuildReason::Touched);
    }
    for day in days_between(back(SETTLE_DAYS + OPEN_DAYS), back(OPEN_DAYS)) {
        let final_at = day_bounds(day).1 + Duration::days(SETTLE_DAYS - 1);
        let unsettled = built.get(&day_text(day)).is_some_and(|built| built.as_of < final_at);
        if unsettled && now >= final_at {
            plan.entry(day).or_insert(BuildReason::Settled);
        }
    }
    let missing = days_between(back(CATCH_UP_HORIZON), back(OPEN_DAYS))
        .into_iter()
        .rev()
        .filter(|day| !built.contains_key(&day_text(*day)) && !plan.contains_key(day))
        .take(CATCH_UP_PER_RUN)
        .collect::<Vec<_>>();
    for day in missing {
        plan.insert(day, BuildReason::CatchUp);
    }
    for (&day, &reason) in plan.iter().rev() {
        if reason != BuildReason::Open {
            let build = build_day(store, day, now).await?;
            report.totals.add(&build);
        }
    }
    report.days = plan.into_iter().map(|(day, reason)| (day_text(day), reason)).collect();
    Ok(report)
}

/// One hour of a built day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HourRollup {
    /// Start of the hour.
    #[serde(with = "crate::domain::timestamp")]
    pub hour: OffsetDateTime,
    /// Sessions created.
    pub sessions_created: u64,
    /// Episodes closed.
    pub sessions_closed: u64,
    /// First responses given in the hour.
    pub first_response: DurationReport,
    /// Messages sent in the hour (day counters).
    pub messages: RoleCounts,
}

/// A built day: its figures (with every agent) and its 24 hours.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DayRollup {
    /// The UTC day.
    #[serde(with = "crate::domain::timestamp::day")]
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    /// When the rollup built it (its figures are as of then).
    #[serde(with = "crate::domain::timestamp")]
    pub built_at: OffsetDateTime,
    /// The day's figures.
    pub figures: MetricsReport,
    /// Messages sent that day (day counters).
    pub messages: RoleCounts,
    /// Hours 0 to 23.
    pub hours: Vec<HourRollup>,
}

/// The stored rollup of one UTC day; `None` if the rollup has not built it yet. Four reads:
/// the marker, the day's items (overall, agents), its hours, its counters.
pub async fn day(store: &dyn ItemStore, day: Date) -> Result<Option<DayRollup>, ApiError> {
    let Some(built) = rollups::built(store, day, day).await?.into_iter().next() else { return Ok(None) };
    let Some(summary) = built_summary(store, &[day], built.as_of, None).await? else { return Ok(None) };
    let hours: BTreeMap<u8, Summary> = rollups::overall_hours(store, day).await?.into_iter().collect();
    let counters = stats::day(store, day).await?;
    let messages_in = |hour: Option<u8>| {
        let count = |role: Role| match hour {
            Some(hour) => counters.get(&format!("messages_h{hour:02}_{}", role.as_str())),
            None => counters.get(&format!("messages_{}", role.as_str())),
        };
        RoleCounts { customer: count(Role::Customer), agent: count(Role::Agent), admin: count(Role::Admin) }
    };
    let start = day_bounds(day).0;
    let hours = (0..24u8)
        .map(|hour| {
            let report = hours.get(&hour).map(Summary::report);
            HourRollup {
                hour: start + Duration::hours(i64::from(hour)),
                sessions_created: report.as_ref().map_or(0, |r| r.sessions_created),
                sessions_closed: report.as_ref().map_or(0, |r| r.sessions_closed),
                first_response: report.map_or_else(DurationReport::none, |r| r.first_response),
                messages: messages_in(Some(hour)),
            }
        })
        .collect();
    Ok(Some(DayRollup {
        day,
        built_at: built.as_of,
        figures: summary.report(),
        messages: messages_in(None),
        hours,
    }))
}
