//! The append-only event log: every state change (who, what, when, target), stored next to its
//! target (`<target partition>` / `EVENT#<id>`), by day in gsi1 (`EVENTS#<yyyy-mm-dd>`) and by
//! actor in gsi2 (`ACTOR#<user>`), so a session's history, a day's events and one user's actions
//! are each one Query.

use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::domain::{AuditEvent, EventKind, LoggedKind, Principal, Role, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, ItemStore, Key, KeyRange, Query, TxOp, PK};

use super::{raw_records, records, s, to_item};

/// Largest page read when a whole partition of events is wanted.
const PAGE: usize = 1000;

/// A new event by `actor`, now, on `target` (whose partition stores it).
pub fn record(
    actor: &Principal,
    kind: EventKind,
    target_partition: &str,
    target: String,
    session_id: Option<SessionId>,
    details: Value,
    at: time::OffsetDateTime,
) -> Result<TxOp, ApiError> {
    let event = AuditEvent {
        id: crate::domain::next_ulid().to_string(),
        kind: LoggedKind::Known(kind),
        actor_id: actor.user_id.clone(),
        actor_role: actor.role,
        target,
        session_id,
        at,
        details,
    };
    put(&event, target_partition)
}

/// The write of an event as given, in `target_partition`: its id must be a ULID whose time is
/// its `at` (give or take [`ID_SLACK`]), as the reads by time assume. [`record`] makes such ids;
/// imported history, tests and benchmarks give their own. Only today's kinds are written: an
/// event of a kind read back as unknown is refused.
pub fn put(event: &AuditEvent, target_partition: &str) -> Result<TxOp, ApiError> {
    if let LoggedKind::Unknown(kind) = &event.kind {
        return Err(ApiError::Internal(format!("an event of the unknown kind {kind:?} is never written")));
    }
    let key = Key::new(target_partition, format!("EVENT#{}", event.id));
    let attrs = [
        ("gsi1pk", day_partition(event.at.date())),
        ("gsi1sk", event.id.clone()),
        ("gsi2pk", actor_partition(&event.actor_id)),
        ("gsi2sk", event.id.clone()),
    ];
    let item = to_item(event, &key, &attrs)?;
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// How many events the day index holds for `day` in sessions' partitions (the events a session's
/// facts are read from): one counting Query of the keys-only index, paged by DynamoDB per 1 MB
/// read, on SQLite one `COUNT` over the index.
pub async fn count_of_sessions_on(store: &dyn ItemStore, day: Date) -> Result<u64, ApiError> {
    let prefix = format!("{}#", super::sessions::PARTITION_PREFIX);
    let query =
        Query::index("gsi1", day_partition(day)).keys_only().filter(Condition::BeginsWith(PK.into(), prefix));
    Ok(store.count(query).await?)
}

/// gsi1 partition of the events of a UTC day.
pub fn day_partition(day: Date) -> String {
    format!("EVENTS#{}", super::stats::day_text(day))
}

/// gsi2 partition of the events a user caused (events recorded before this index existed lack it).
pub fn actor_partition(actor: &UserId) -> String {
    format!("ACTOR#{actor}")
}

/// The events of `[from, to)` by the time they were recorded (`at`). Event ids are ULIDs made
/// just after `at`, so the key range is the ids of that span, widened by [`ID_SLACK`] on both
/// sides, and the exact bounds are a filter on `at` (stored as fixed-width RFC 3339, which sorts
/// like the time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start, inclusive.
    pub from: OffsetDateTime,
    /// End, exclusive.
    pub to: OffsetDateTime,
}

/// How far an event's id may be from its `at`: the id is made after `at` is read, in the same
/// request.
pub const ID_SLACK: time::Duration = time::Duration::minutes(1);

impl Span {
    /// The smallest and largest ids of events in the span, with `prefix` before each.
    fn ids(&self, prefix: &str) -> KeyRange {
        let millis = |at: OffsetDateTime| u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let low = ulid::Ulid::from_parts(millis(self.from - ID_SLACK), 0);
        let high = ulid::Ulid::from_parts(millis(self.to + ID_SLACK), u128::MAX);
        KeyRange::Between(format!("{prefix}{low}"), format!("{prefix}{high}"))
    }

    /// The conditions keeping the events with `from <= at < to`.
    fn filters(&self) -> Result<Vec<Condition>, ApiError> {
        Ok(vec![
            Condition::Not(Box::new(Condition::LessThan("at".into(), super::ts(self.from)?))),
            Condition::LessThan("at".into(), super::ts(self.to)?),
        ])
    }
}

/// Filters that narrow a listing of events besides its partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only the events this user caused.
    pub actor: Option<UserId>,
    /// Only the events of this kind.
    pub kind: Option<EventKind>,
}

impl EventFilter {
    /// One flat conjunction (DynamoDB refuses the redundant parentheses of a nested one).
    fn condition(&self, span: &Span) -> Result<Condition, ApiError> {
        let mut all = span.filters()?;
        if let Some(actor) = &self.actor {
            all.push(Condition::Equals("actor_id".into(), s(actor)));
        }
        if let Some(kind) = self.kind {
            all.push(Condition::Equals("kind".into(), s(kind.as_str())));
        }
        Ok(Condition::And(all))
    }
}

/// Where a listing of events reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSource {
    /// One session's partition.
    Session(SessionId),
    /// One user's actions (gsi2).
    Actor(UserId),
    /// One UTC day (gsi1).
    Day(Date),
}

/// One page of events of `span` from `source`, newest first when `newest_first`.
pub async fn page(
    store: &dyn ItemStore,
    source: &EventSource,
    span: &Span,
    filter: &EventFilter,
    newest_first: bool,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<AuditEvent>, Option<Cursor>), ApiError> {
    let query = match source {
        EventSource::Session(id) => Query::table(super::sessions::partition(id)).range(span.ids("EVENT#")),
        EventSource::Actor(actor) => Query::index("gsi2", actor_partition(actor)).range(span.ids("")),
        EventSource::Day(day) => Query::index("gsi1", day_partition(*day)).range(span.ids("")),
    };
    let query = query.ascending(!newest_first).limit(limit).cursor(cursor).filter(filter.condition(span)?);
    records(store.query(query).await?)
}

/// The role a user last acted in (their newest event, one Query of one item on gsi2), or
/// `None` for a user with no logged action.
pub async fn latest_actor_role(store: &dyn ItemStore, user: &UserId) -> Result<Option<Role>, ApiError> {
    let query = Query::index("gsi2", actor_partition(user)).ascending(false).limit(1);
    let (events, _): (Vec<AuditEvent>, _) = records(store.query(query).await?)?;
    Ok(events.first().map(|event| event.actor_role))
}

/// Every event of one UTC day recorded in `span` (pages of up to 1,000).
pub async fn of_day(store: &dyn ItemStore, day: Date, span: &Span) -> Result<Vec<AuditEvent>, ApiError> {
    let source = EventSource::Day(day);
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (events, next) = page(store, &source, span, &EventFilter::default(), false, PAGE, cursor).await?;
        all.extend(events);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// The whole histories of several sessions, in their order, as `T` ([`AuditEvent`], or the
/// metric engine's leaner `LifecycleEvent`): one `query_many_raw` for the first pages (on SQLite
/// one hand-off for all, the stored JSON decoded straight into `T`), then the rare longer
/// histories page by page.
pub async fn of_sessions<T: serde::de::DeserializeOwned>(
    store: &dyn ItemStore,
    ids: &[SessionId],
) -> Result<Vec<(SessionId, Vec<T>)>, ApiError> {
    let history = |id: &SessionId| {
        Query::table(super::sessions::partition(id)).range(KeyRange::BeginsWith("EVENT#".into())).limit(PAGE)
    };
    let pages = store.query_many_raw(ids.iter().map(history).collect()).await?;
    let mut all = Vec::with_capacity(ids.len());
    for (id, page) in ids.iter().zip(pages) {
        let (mut events, mut next): (Vec<T>, _) = raw_records(page)?;
        while let Some(cursor) = next {
            let page = store.query_many_raw(vec![history(id).cursor(Some(cursor))]).await?.pop();
            let (more, after) = raw_records(page.unwrap_or_default())?;
            events.extend(more);
            next = after;
        }
        all.push((*id, events));
    }
    Ok(all)
}

/// A session's whole history, oldest first (pages of up to 1,000).
pub async fn of_session(store: &dyn ItemStore, id: &SessionId) -> Result<Vec<AuditEvent>, ApiError> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::table(super::sessions::partition(id))
            .range(KeyRange::BeginsWith("EVENT#".into()))
            .limit(PAGE)
            .cursor(cursor);
        let (events, next): (Vec<AuditEvent>, _) = records(store.query(query).await?)?;
        all.extend(events);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}
