//! The analytics the admin dashboard reads: agent performance and satisfaction from the event log
//! (through the metric engine of `docs/METRICS.md`) and message volumes from the day counters.
//! Nothing here writes.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};
use utoipa::ToSchema;

use crate::analytics::durations::DurationReport;
use crate::analytics::episodes::SessionFacts;
use crate::analytics::summaries::{AgentReport, CsatReport, MetricsReport, Summary};
use crate::domain::{now, timestamp, AuditEvent, Principal, Role, SessionId, SessionStatus, UserId};
use crate::error::ApiError;
use crate::ops::role_forbidden;
use crate::repo::events::{self, Span};
use crate::repo::sessions::{self, SessionListing};
use crate::repo::{comments, stats};
use crate::store::{Cursor, ItemStore, KeyRange, Query};

use super::rollup;

/// The range read when `from` and `to` are both left out: the last 7 days.
pub const DEFAULT_RANGE: Duration = Duration::days(7);
/// The longest range of a report.
pub const MAX_RANGE: Duration = Duration::days(366);
/// The most days of a range read from the event log (today, partial days at its ends, days the
/// rollup has not built); beyond, 409 `rollup_not_built`.
pub const MAX_LIVE_DAYS: usize = 31;
/// Sessions whose events (or messages) are read at once.
const CONCURRENT_READS: usize = 8;
/// Most rating comments a satisfaction report lists.
pub const MAX_COMMENTS: usize = 50;
/// Session histories asked for at once.
const HISTORY_BATCH: usize = 256;
/// Page size of the reads that want a whole partition.
const PAGE: usize = 1000;

// ---------------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------------

/// A time range `[from, to)` in UTC, as `?from=&to=` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start, inclusive.
    pub from: OffsetDateTime,
    /// End, exclusive.
    pub to: OffsetDateTime,
}

/// Which end of a range a parameter gives: a date means the start of that day for `from` and
/// its end for `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    From,
    To,
}

impl TimeRange {
    /// Reads `?from=` and `?to=`: RFC 3339 times or `yyyy-mm-dd` dates (UTC; a date `to` means the
    /// end of that day). `to` defaults to now and `from` to 7 days before `to`. 400
    /// `invalid_parameter` for an unreadable value, `invalid_range` unless `from < to` and both
    /// lie in the years 1970 to 9998 ([`timestamp::FIRST_YEAR`], [`timestamp::LAST_YEAR`]),
    /// `range_too_long` beyond 366 days.
    pub fn parse(from: Option<&str>, to: Option<&str>, now: OffsetDateTime) -> Result<Self, ApiError> {
        let to = match to {
            Some(text) => parse_end("to", text, End::To)?,
            None => now,
        };
        let from = match from {
            Some(text) => parse_end("from", text, End::From)?,
            None => to - DEFAULT_RANGE,
        };
        if from >= to {
            return Err(ApiError::bad_request("invalid_range", "from must be earlier than to"));
        }
        if to - from > MAX_RANGE {
            return Err(ApiError::bad_request(
                "range_too_long",
                format!("a range spans at most {} days", MAX_RANGE.whole_days()),
            ));
        }
        Ok(Self { from, to })
    }

    /// The UTC days the range touches, oldest first.
    pub fn days(&self) -> Vec<Date> {
        let last = (self.to - Duration::nanoseconds(1)).date();
        let mut days = Vec::new();
        let mut day = self.from.date();
        while day <= last {
            days.push(day);
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        days
    }

    /// The range as the event log reads it.
    pub fn span(&self) -> Span {
        Span { from: self.from, to: self.to }
    }
}

fn parse_end(name: &'static str, text: &str, end: End) -> Result<OffsetDateTime, ApiError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        // A time at the calendar's edge may have no UTC form (`9999-12-31T23:59:59-01:00`).
        return match at.checked_to_offset(UtcOffset::UTC) {
            Some(utc) if timestamp::is_accepted_day(utc.date()) => Ok(utc),
            _ => Err(outside_accepted_years(name)),
        };
    }
    let invalid = || {
        ApiError::bad_request(
            "invalid_parameter",
            format!("{name}: must be an RFC 3339 time (2026-11-25T10:00:00Z) or a date (2026-11-25)"),
        )
    };
    let day = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| invalid())?;
    if !timestamp::is_accepted_day(day) {
        return Err(outside_accepted_years(name));
    }
    let day = match end {
        End::From => day,
        End::To => day.next_day().ok_or_else(invalid)?,
    };
    Ok(day.with_time(Time::MIDNIGHT).assume_utc())
}

/// 400 `invalid_range` for a range end outside the years a range may name.
pub(crate) fn outside_accepted_years(name: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_range",
        format!("{name}: must lie in the years {} to {}", timestamp::FIRST_YEAR, timestamp::LAST_YEAR),
    )
}

// ---------------------------------------------------------------------------------------------
// Reading the event log
// ---------------------------------------------------------------------------------------------

/// The sessions with an event in the range (one Query per day, paged), by the kinds `wanted`.
async fn sessions_touched(
    store: &dyn ItemStore,
    range: &TimeRange,
    wanted: fn(&AuditEvent) -> bool,
) -> Result<BTreeSet<SessionId>, ApiError> {
    let span = range.span();
    let mut touched = BTreeSet::new();
    for day in range.days() {
        let events = events::of_day(store, day, &span).await?;
        touched.extend(events.iter().filter(|event| wanted(event)).filter_map(|event| event.session_id));
    }
    Ok(touched)
}

fn is_session_lifecycle(event: &AuditEvent) -> bool {
    event.kind.starts_with("session.")
}

/// Each touched session's whole history (one Query of its partition each, batched).
async fn histories(
    store: &dyn ItemStore,
    sessions: BTreeSet<SessionId>,
) -> Result<Vec<(SessionId, Vec<AuditEvent>)>, ApiError> {
    let ids: Vec<SessionId> = sessions.into_iter().collect();
    let mut all = Vec::with_capacity(ids.len());
    for batch in ids.chunks(HISTORY_BATCH) {
        all.extend(events::of_sessions::<AuditEvent>(store, batch).await?);
    }
    Ok(all)
}

/// The summary of a span read from the event log: the full histories of the sessions it
/// touched; and how many sessions were read.
pub(crate) async fn live_summary(
    store: &dyn ItemStore,
    range: &TimeRange,
    as_of: OffsetDateTime,
) -> Result<(Summary, usize), ApiError> {
    let touched = sessions_touched(store, range, is_session_lifecycle).await?;
    let histories = histories(store, touched).await?;
    let facts: Vec<SessionFacts> =
        histories.iter().map(|(id, history)| SessionFacts::from_events(*id, history)).collect();
    Ok((Summary::of(range.from, range.to, as_of, &facts), histories.len()))
}

/// The summary of the range: whole past days from the rollups (`analytics::rollup`), the rest (today,
/// partial days, days not built yet) from the event log; with every agent, or only `agent`.
/// Also how many sessions were read from the event log. 409 `rollup_not_built` when more than
/// 31 days would have to be read from the event log.
async fn summary(
    store: &dyn ItemStore,
    range: &TimeRange,
    as_of: OffsetDateTime,
    agent: Option<&UserId>,
) -> Result<(Summary, usize), ApiError> {
    let plan = rollup::plan(store, range.from, range.to, as_of).await?;
    if plan.live_days() > MAX_LIVE_DAYS {
        return Err(rollup_not_built(&plan));
    }
    let mut total = Summary::new(range.from, range.to, as_of);
    if let Some(built) = rollup::built_summary(store, &plan.built, as_of, agent).await? {
        total.merge(&built);
    }
    let mut sessions_read = 0;
    for (from, to) in plan.live {
        let (live, read) = live_summary(store, &TimeRange { from, to }, as_of).await?;
        total.merge(&live);
        sessions_read += read;
    }
    Ok((total, sessions_read))
}

/// 409: too much of a range is not rolled up.
pub fn rollup_not_built(plan: &rollup::ReadPlan) -> ApiError {
    let first = plan.live.first().map(|(from, _)| stats::day_text(from.date())).unwrap_or_default();
    ApiError::conflict(
        "rollup_not_built",
        format!(
            "{} days of the range (from {first}) have no analytics rollup yet and at most {MAX_LIVE_DAYS} \
             are read from the event log; build them with POST /admin/analytics/backfill",
            plan.live_days()
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Agent performance
// ---------------------------------------------------------------------------------------------

/// `GET /admin/chat-dashboard/agent-performance`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentPerformance {
    /// The team's figures for the range; its `agents` list is empty (see `agents`).
    pub team: MetricsReport,
    /// Per agent: every agent with activity in the range for admins, only themselves for agents.
    pub agents: Vec<AgentReport>,
    /// Sessions whose history was read.
    pub sessions_read: usize,
}

/// The metric engine's figures of the range, per agent and for the team: admins see every
/// agent, agents only themselves (with zeros when they had no activity).
///
/// Reads: one Query per day of the range on gsi1 `EVENTS#<day>` (paged), then one Query per
/// session touched by a `session.*` event in the range, of its `EVENT#` items (paged).
pub async fn agent_performance(
    store: &dyn ItemStore,
    principal: &Principal,
    range: &TimeRange,
) -> Result<AgentPerformance, ApiError> {
    if principal.role == Role::Customer {
        return Err(role_forbidden("read agent performance"));
    }
    let only = (principal.role == Role::Agent).then_some(&principal.user_id);
    let (summary, sessions_read) = summary(store, range, now(), only).await?;
    let mut team = summary.report();
    let mut agents = std::mem::take(&mut team.agents);
    if principal.role == Role::Agent {
        agents.retain(|report| report.agent_id == principal.user_id);
        if agents.is_empty() {
            agents.push(idle_agent(principal.user_id.clone()));
        }
    }
    Ok(AgentPerformance { team, agents, sessions_read })
}

fn idle_agent(agent_id: UserId) -> AgentReport {
    let none = DurationReport::none;
    AgentReport {
        agent_id,
        handled: 0,
        assigned: 0,
        transfers_in: 0,
        transfers_out: 0,
        first_responses: 0,
        first_response: none(),
        handle: none(),
        closed: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Satisfaction
// ---------------------------------------------------------------------------------------------

/// `GET /admin/chat-dashboard/satisfaction`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Satisfaction {
    /// Start of the range, inclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub from: OffsetDateTime,
    /// End of the range, exclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub to: OffsetDateTime,
    /// When the figures were read.
    #[serde(with = "crate::domain::timestamp")]
    pub as_of: OffsetDateTime,
    /// Episodes closed in the range (the base of the response rate).
    pub sessions_closed: u64,
    /// CSAT of the episodes closed in the range (metric engine: the latest rating within 7 days
    /// of each close counts).
    pub csat: CsatReport,
    /// Per UTC day of the range, the ratings given that day (day counters: each session's latest
    /// rating given that day) and their average.
    pub days: Vec<SatisfactionDay>,
    /// Each session's latest rating, when it was given in the range and carries a comment, newest
    /// first, at most 50.
    pub recent_comments: Vec<CsatComment>,
}

/// Ratings given on one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SatisfactionDay {
    /// `yyyy-mm-dd`.
    pub day: String,
    /// Ratings given.
    pub ratings: i64,
    /// Their average (1 to 5, four decimals); null without ratings.
    pub average: Option<f64>,
}

/// A customer's words with their rating.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CsatComment {
    /// The session rated.
    pub session_id: SessionId,
    /// The customer.
    pub customer_id: UserId,
    /// 1 to 5.
    pub score: u64,
    /// What they wrote.
    pub comment: String,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub rated_at: OffsetDateTime,
}

/// CSAT of the range (metric engine over the event log, as for agent performance), the day
/// counters of its days (one Query), and the latest comments. Admins only.
pub async fn satisfaction(
    store: &dyn ItemStore,
    principal: &Principal,
    range: &TimeRange,
) -> Result<Satisfaction, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("read satisfaction; admins do"));
    }
    let as_of = now();
    let (summary, _) = summary(store, range, as_of, None).await?;
    let report = summary.report();
    let days = range.days();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(ApiError::Internal("a checked range has no day".into()));
    };
    let counted: BTreeMap<String, stats::Day> =
        stats::days(store, *first, *last).await?.into_iter().map(|day| (day.day.clone(), day)).collect();
    let days = days
        .iter()
        .map(|day| {
            let text = stats::day_text(*day);
            let counters = counted.get(&text).cloned().unwrap_or_default();
            let ratings = counters.get("ratings");
            let average = (ratings > 0)
                .then(|| (counters.get("rating_sum") as f64 / ratings as f64 * 10_000.0).round() / 10_000.0);
            SatisfactionDay { day: text, ratings, average }
        })
        .collect();
    Ok(Satisfaction {
        from: range.from,
        to: range.to,
        as_of,
        sessions_closed: report.sessions_closed,
        csat: report.csat,
        days,
        recent_comments: recent_comments(store, range).await?,
    })
}

/// Each session's latest rating when it was given in the range and carries a comment, newest
/// first, at most 50: one Query of the rated comments' index (`repo::comments`).
async fn recent_comments(store: &dyn ItemStore, range: &TimeRange) -> Result<Vec<CsatComment>, ApiError> {
    let latest = comments::latest(store, range.from, range.to, MAX_COMMENTS).await?;
    Ok(latest
        .into_iter()
        .map(|entry| CsatComment {
            session_id: entry.session_id,
            customer_id: entry.customer_id,
            score: u64::from(entry.score),
            comment: entry.comment,
            rated_at: entry.rated_at,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Message analytics
// ---------------------------------------------------------------------------------------------

/// `GET /admin/chat-dashboard/message-analytics`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MessageAnalytics {
    /// Start of the range, inclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub from: OffsetDateTime,
    /// End of the range, exclusive.
    #[serde(with = "crate::domain::timestamp")]
    pub to: OffsetDateTime,
    /// Every UTC hour the range touches, oldest first (an hour partly in the range counts whole:
    /// the counters are per hour).
    pub by_hour: Vec<HourVolume>,
    /// The sums of `by_hour`.
    pub totals: RoleCounts,
    /// Messages per session in the range; null for ranges longer than 31 days (it reads every
    /// session's messages).
    pub per_session: Option<MessagesPerSession>,
}

/// Messages sent, by the sender's role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RoleCounts {
    /// By customers.
    pub customer: i64,
    /// By agents.
    pub agent: i64,
    /// By admins.
    pub admin: i64,
}

/// Messages sent in one UTC hour.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HourVolume {
    /// Start of the hour.
    #[serde(with = "crate::domain::timestamp")]
    pub hour: OffsetDateTime,
    /// Per role.
    #[serde(flatten)]
    pub messages: RoleCounts,
}

/// How many messages the sessions that had any in the range had in it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MessagesPerSession {
    /// Sessions with at least one message in the range.
    pub sessions_with_messages: u64,
    /// Messages in those sessions, in the range.
    pub messages: u64,
    /// Mean per session (two decimals); null without sessions.
    pub average: Option<f64>,
    /// Nearest-rank median (the lower middle of an even count).
    pub median: Option<u64>,
    /// Nearest-rank 90th percentile.
    pub p90: Option<u64>,
}

/// Volumes by hour and role from the day counters (one Query for the range), and, for ranges of
/// up to 31 days, messages per session: the sessions with an event in the range (one Query per
/// day) or open now (gsi3 `QUEUE#active` and `QUEUE#waiting`), each counted with one Query of
/// its messages in the range. Admins only.
pub async fn message_analytics(
    store: &dyn ItemStore,
    principal: &Principal,
    range: &TimeRange,
) -> Result<MessageAnalytics, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("read message analytics; admins do"));
    }
    let days = range.days();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(ApiError::Internal("a checked range has no day".into()));
    };
    let counted: BTreeMap<String, stats::Day> =
        stats::days(store, *first, *last).await?.into_iter().map(|day| (day.day.clone(), day)).collect();
    let mut by_hour = Vec::new();
    let mut totals = RoleCounts::default();
    let mut hour = range.from.replace_time(Time::from_hms(range.from.hour(), 0, 0).unwrap_or(Time::MIDNIGHT));
    while hour < range.to {
        let counters = counted.get(&stats::day_text(hour.date()));
        let count = |role: Role| {
            counters.map_or(0, |day| day.get(&format!("messages_h{:02}_{}", hour.hour(), role.as_str())))
        };
        let messages = RoleCounts {
            customer: count(Role::Customer),
            agent: count(Role::Agent),
            admin: count(Role::Admin),
        };
        totals.customer += messages.customer;
        totals.agent += messages.agent;
        totals.admin += messages.admin;
        by_hour.push(HourVolume { hour, messages });
        hour += Duration::HOUR;
    }

    let per_session = if range.to - range.from <= Duration::days(MAX_LIVE_DAYS as i64) {
        Some(messages_per_session(store, range).await?)
    } else {
        None
    };
    Ok(MessageAnalytics { from: range.from, to: range.to, by_hour, totals, per_session })
}

/// Messages per session: the sessions with an event in the range (one Query per day) or open
/// now, each counted with one Query of its messages in the range.
async fn messages_per_session(
    store: &dyn ItemStore,
    range: &TimeRange,
) -> Result<MessagesPerSession, ApiError> {
    let mut sessions = sessions_touched(store, range, |event| event.session_id.is_some()).await?;
    for status in [SessionStatus::Active, SessionStatus::Waiting] {
        sessions.extend(open_sessions(store, status).await?);
    }
    let counts: Vec<u64> = stream::iter(sessions)
        .map(|id| async move { messages_in(store, &id, range).await })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await?;
    let mut counts: Vec<u64> = counts.into_iter().filter(|&count| count > 0).collect();
    counts.sort_unstable();
    Ok(per_session(&counts))
}

/// Per-session figures of sorted, non-zero counts.
fn per_session(counts: &[u64]) -> MessagesPerSession {
    let n = counts.len();
    let messages: u64 = counts.iter().sum();
    let rank = |p: usize| counts.get((p * n).div_ceil(100).max(1) - 1).copied();
    MessagesPerSession {
        sessions_with_messages: n as u64,
        messages,
        average: (n > 0).then(|| (messages as f64 / n as f64 * 100.0).round() / 100.0),
        median: if n > 0 { rank(50) } else { None },
        p90: if n > 0 { rank(90) } else { None },
    }
}

/// The ids of the sessions in a status now (gsi3, paged).
async fn open_sessions(store: &dyn ItemStore, status: SessionStatus) -> Result<Vec<SessionId>, ApiError> {
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = sessions::list(store, &SessionListing::Status(status), None, PAGE, cursor).await?;
        ids.extend(page.into_iter().map(|session| session.id));
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
}

/// Messages of a session whose ids (ULIDs: their time) fall in the range (one Query, paged).
async fn messages_in(store: &dyn ItemStore, id: &SessionId, range: &TimeRange) -> Result<u64, ApiError> {
    let millis = |at: OffsetDateTime| u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let low = ulid::Ulid::from_parts(millis(range.from), 0);
    let high = ulid::Ulid::from_parts(millis(range.to).saturating_sub(1), u128::MAX);
    let mut count = 0;
    let mut cursor: Option<Cursor> = None;
    loop {
        let query = Query::table(sessions::partition(id))
            .range(KeyRange::Between(format!("MSG#{low}"), format!("MSG#{high}")))
            .limit(PAGE)
            .cursor(cursor);
        let page = store.query(query).await?;
        count += page.items.len() as u64;
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(count),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:30 UTC);

    fn code(result: Result<TimeRange, ApiError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(error) => error.code(),
        }
    }

    #[test]
    fn without_bounds_the_range_is_the_last_seven_days() {
        let range = TimeRange::parse(None, None, NOW).unwrap();
        assert_eq!((range.from, range.to), (datetime!(2026-11-18 10:30 UTC), NOW));
    }

    #[test]
    fn a_date_to_means_the_end_of_that_day() {
        let range = TimeRange::parse(Some("2026-11-01"), Some("2026-11-03"), NOW).unwrap();
        assert_eq!((range.from, range.to), (datetime!(2026-11-01 0:00 UTC), datetime!(2026-11-04 0:00 UTC)));
        assert_eq!(range.days().len(), 3);
    }

    #[test]
    fn times_with_an_offset_are_read_in_utc() {
        let range = TimeRange::parse(Some("2026-11-25T01:00:00+02:00"), Some("2026-11-25T10:00:00Z"), NOW);
        let range = range.unwrap();
        assert_eq!(range.from, datetime!(2026-11-24 23:00 UTC));
        assert_eq!(range.days().len(), 2);
    }

    #[test]
    fn bad_ranges_are_refused_with_their_reason() {
        assert_eq!(code(TimeRange::parse(Some("yesterday"), None, NOW)), "invalid_parameter");
        assert_eq!(code(TimeRange::parse(None, Some("2026-13-01"), NOW)), "invalid_parameter");
        assert_eq!(code(TimeRange::parse(Some("2026-11-05"), Some("2026-11-04"), NOW)), "invalid_range");
        let same = "2026-11-05T00:00:00Z";
        assert_eq!(code(TimeRange::parse(Some(same), Some(same), NOW)), "invalid_range");
        assert_eq!(code(TimeRange::parse(Some("2024-01-01"), Some("2024-12-31"), NOW)), "ok");
        assert_eq!(code(TimeRange::parse(Some("2024-01-01"), Some("2025-01-01"), NOW)), "range_too_long");
    }

    #[test]
    fn ends_outside_the_accepted_years_are_an_invalid_range_not_a_panic() {
        let edges = [
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59Z",
            "-9999-01-01",
            "0000-01-01",
            "1969-12-31T23:59:59Z",
            "9999-01-01",
        ];
        for text in edges {
            assert_eq!(code(TimeRange::parse(None, Some(text), NOW)), "invalid_range", "to={text}");
            assert_eq!(code(TimeRange::parse(Some(text), None, NOW)), "invalid_range", "from={text}");
        }
        let last = TimeRange::parse(Some("9998-12-30"), Some("9998-12-31"), NOW).unwrap();
        assert_eq!(last.to, datetime!(9999-01-01 0:00 UTC));
        let first = TimeRange::parse(None, Some("1970-01-01T00:00:01Z"), NOW).unwrap();
        assert_eq!(first.days().len(), 8);
    }

    #[test]
    fn messages_per_session_use_nearest_ranks() {
        let figures = per_session(&[1, 2, 3, 4, 10]);
        assert_eq!(figures.sessions_with_messages, 5);
        assert_eq!(figures.average, Some(4.0));
        assert_eq!((figures.median, figures.p90), (Some(3), Some(10)));
        assert_eq!(per_session(&[]).median, None);
    }
}
