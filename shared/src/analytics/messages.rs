//! Message volumes: messages by the sender's role per UTC hour and day from the day counters
//! (`repo::stats`), and messages per session (`GET /admin/chat-dashboard/message-analytics`, the
//! daily figures, the rollup's days). Nothing here writes.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use time::{Duration, OffsetDateTime, Time};
use utoipa::ToSchema;

use super::range::Range;
use super::read::{sessions_touched, MAX_LIVE_DAYS};
use crate::domain::{Principal, Role, SessionId, SessionStatus};
use crate::error::role_forbidden;
use crate::error::ApiError;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::stats;
use crate::store::{Cursor, ItemStore, KeyRange, Query};

/// Sessions whose messages are read at once.
const CONCURRENT_READS: usize = 8;
/// Page size of the reads that want a whole partition.
const PAGE: usize = 1000;

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
    range: &Range,
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
async fn messages_per_session(store: &dyn ItemStore, range: &Range) -> Result<MessagesPerSession, ApiError> {
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
async fn messages_in(store: &dyn ItemStore, id: &SessionId, range: &Range) -> Result<u64, ApiError> {
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
    use super::*;

    #[test]
    fn messages_per_session_use_nearest_ranks() {
        let figures = per_session(&[1, 2, 3, 4, 10]);
        assert_eq!(figures.sessions_with_messages, 5);
        assert_eq!(figures.average, Some(4.0));
        assert_eq!((figures.median, figures.p90), (Some(3), Some(10)));
        assert_eq!(per_session(&[]).median, None);
    }
}
