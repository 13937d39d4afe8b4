//! Reading the metric engine's summary of any range: the whole past days the rollup has built
//! from their stored items, the rest (today, partial days at the ends, days not built yet) from
//! the event log, merged into one summary.

use std::collections::BTreeSet;

use time::{Date, Duration, OffsetDateTime};

use super::episodes::SessionFacts;
use super::range::{day_bounds, days_between, Range};
use super::summaries::Summary;
use crate::domain::{AuditEvent, SessionId, UserId};
use crate::error::ApiError;
use crate::repo::events;
use crate::repo::rollups;
use crate::repo::stats::{self, day_text};
use crate::store::ItemStore;

/// The most days of a range read from the event log (today, partial days at its ends, days the
/// rollup has not built); beyond, 409 `rollup_not_built`.
pub const MAX_LIVE_DAYS: usize = 31;
/// Session histories asked for at once.
const HISTORY_BATCH: usize = 256;

/// How a range is read: the whole past days the rollup has built, from their items; the rest
/// (today, partial days at the ends, days not built) from the event log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadPlan {
    /// Built whole days, oldest first.
    pub built: Vec<Date>,
    /// Spans `[from, to)` to read from the event log, oldest first.
    pub live: Vec<(OffsetDateTime, OffsetDateTime)>,
}

impl ReadPlan {
    /// How many UTC days the live spans touch.
    pub fn live_days(&self) -> usize {
        self.live
            .iter()
            .map(|(from, to)| days_between(from.date(), (*to - Duration::nanoseconds(1)).date()).len())
            .sum()
    }
}

/// Plans the read of `[from, to)` at `now`: one Query of the built markers.
pub async fn plan(
    store: &dyn ItemStore,
    from: OffsetDateTime,
    to: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<ReadPlan, ApiError> {
    let today = now.date();
    let whole: Vec<Date> = days_between(from.date(), (to - Duration::nanoseconds(1)).date())
        .into_iter()
        .filter(|&day| {
            let (start, end) = day_bounds(day);
            from <= start && end <= to && day < today
        })
        .collect();
    let built: BTreeSet<String> = match (whole.first(), whole.last()) {
        (Some(first), Some(last)) => {
            rollups::built(store, *first, *last).await?.into_iter().map(|built| built.day).collect()
        }
        _ => BTreeSet::new(),
    };
    let mut plan = ReadPlan::default();
    let mut cursor = from;
    for day in whole {
        if !built.contains(&day_text(day)) {
            continue;
        }
        let (start, end) = day_bounds(day);
        if cursor < start {
            plan.live.push((cursor, start));
        }
        plan.built.push(day);
        cursor = end;
    }
    if cursor < to {
        plan.live.push((cursor, to));
    }
    Ok(plan)
}

/// The merged summary of built days (`days` sorted, as [`plan`] gives them), with every agent's
/// figures, or only `agent`'s: two Queries (overall days, agent days).
pub async fn built_summary(
    store: &dyn ItemStore,
    days: &[Date],
    as_of: OffsetDateTime,
    agent: Option<&UserId>,
) -> Result<Option<Summary>, ApiError> {
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else { return Ok(None) };
    let wanted: BTreeSet<String> = days.iter().map(|day| day_text(*day)).collect();
    let in_plan = |summary: &Summary| wanted.contains(&day_text(summary.from.date()));
    let (from, to) = (day_bounds(first).0, day_bounds(last).1);
    let mut total = Summary::new(from, to, as_of);
    for day in rollups::overall_days(store, first, last).await?.iter().filter(|day| in_plan(day)) {
        total.merge(day);
    }
    let agents = match agent {
        Some(agent) => rollups::agent_days_of(store, agent, first, last).await?,
        None => rollups::agent_days(store, first, last).await?,
    };
    for figures in agents.into_iter().filter(|figures| wanted.contains(&figures.day)) {
        total.agents.entry(figures.agent_id).or_default().merge(&figures.figures);
    }
    Ok(Some(total))
}

/// The sessions with an event in the range (one Query per day, paged), by the kinds `wanted`.
pub(crate) async fn sessions_touched(
    store: &dyn ItemStore,
    range: &Range,
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
    event.kind.as_str().starts_with("session.")
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
    range: &Range,
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
pub(crate) async fn range_summary(
    store: &dyn ItemStore,
    range: &Range,
    as_of: OffsetDateTime,
    agent: Option<&UserId>,
) -> Result<(Summary, usize), ApiError> {
    let plan = plan(store, range.from, range.to, as_of).await?;
    if plan.live_days() > MAX_LIVE_DAYS {
        return Err(rollup_not_built(&plan));
    }
    let mut total = Summary::new(range.from, range.to, as_of);
    if let Some(built) = built_summary(store, &plan.built, as_of, agent).await? {
        total.merge(&built);
    }
    let mut sessions_read = 0;
    for (from, to) in plan.live {
        let (live, read) = live_summary(store, &Range { from, to }, as_of).await?;
        total.merge(&live);
        sessions_read += read;
    }
    Ok((total, sessions_read))
}

/// 409: too much of a range is not rolled up.
pub fn rollup_not_built(plan: &ReadPlan) -> ApiError {
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
