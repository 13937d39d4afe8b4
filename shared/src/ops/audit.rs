//! The audit log for admins: the event log, newest first, by session, by actor or by day, with
//! the filters combined.

use serde_json::{Map, Value};
use time::Date;

use crate::domain::{AuditEvent, Principal, Role, SessionId, UserId};
use crate::error::ApiError;
use crate::http::ListPage;
use crate::repo::events::{self, EventFilter, EventSource};
use crate::store::Cursor;
use crate::store::ItemStore;

use super::role_forbidden;
use crate::analytics::range::Range;

/// What `GET /admin/audit-log` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only the events this user caused.
    pub actor: Option<UserId>,
    /// Only this session's events.
    pub session_id: Option<SessionId>,
    /// Only the events recorded in this range.
    pub range: Range,
}

/// One page of the audit log, newest first. With `session_id`: one Query of the session's
/// partition (filtered on the actor if one is given). With only `actor`: one Query of gsi2
/// `ACTOR#<user>`. Otherwise the day partitions of gsi1 from the last day of the range backwards,
/// one Query per day visited, the cursor remembering the day. Admins only.
pub async fn audit_log(
    store: &dyn ItemStore,
    principal: &Principal,
    query: &AuditQuery,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<ListPage<AuditEvent>, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("read the audit log; admins do"));
    }
    let span = query.range.span();
    let (source, filter) = match (&query.session_id, &query.actor) {
        (Some(session), actor) => {
            (EventSource::Session(*session), EventFilter { actor: actor.clone(), ..EventFilter::default() })
        }
        (None, Some(actor)) => (EventSource::Actor(actor.clone()), EventFilter::default()),
        (None, None) => return by_day(store, &query.range, limit, cursor).await,
    };
    let (items, next) = events::page(store, &source, &span, &filter, true, limit, cursor).await?;
    Ok(ListPage::new(items, next))
}

/// Where a listing by day stopped: the day, and the store's cursor inside it (none: start the
/// day from its newest event). Carried as a cursor of two string attributes.
struct DayCursor {
    day: Date,
    after: Option<Cursor>,
}

const DAY: &str = "day";
const AFTER: &str = "after";

impl DayCursor {
    fn encode(&self) -> Cursor {
        let mut attributes = Map::new();
        attributes.insert(DAY.into(), Value::String(crate::repo::stats::day_text(self.day)));
        if let Some(after) = &self.after {
            attributes.insert(AFTER.into(), Value::String(after.encode()));
        }
        Cursor::from_attributes(attributes)
    }

    /// The day cursor a client sent back; one that names another shape or a day outside `days`
    /// is refused (400 `invalid_cursor`), and the store checks the inner cursor fits its day.
    fn decode(cursor: &Cursor, days: &[Date]) -> Result<Self, ApiError> {
        let invalid = || ApiError::from(crate::store::StoreError::InvalidCursor);
        let attributes = cursor.attributes();
        if attributes.keys().any(|name| name != DAY && name != AFTER) {
            return Err(invalid());
        }
        let day = attributes.get(DAY).and_then(Value::as_str).ok_or_else(invalid)?;
        let day =
            days.iter().copied().find(|d| crate::repo::stats::day_text(*d) == day).ok_or_else(invalid)?;
        let after = match attributes.get(AFTER).and_then(Value::as_str) {
            Some(text) => Some(Cursor::decode(text)?),
            None => None,
        };
        Ok(Self { day, after })
    }
}

async fn by_day(
    store: &dyn ItemStore,
    range: &Range,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<ListPage<AuditEvent>, ApiError> {
    let days = range.days();
    let span = range.span();
    let (mut index, mut after) = match &cursor {
        Some(cursor) => {
            let at = DayCursor::decode(cursor, &days)?;
            (days.iter().position(|d| *d == at.day).unwrap_or(0), at.after)
        }
        None => (days.len().saturating_sub(1), None),
    };
    let mut items = Vec::new();
    loop {
        let Some(day) = days.get(index).copied() else { return Ok(ListPage::new(items, None)) };
        let wanted = limit.saturating_sub(items.len()).max(1);
        let source = EventSource::Day(day);
        let (page, next) =
            events::page(store, &source, &span, &EventFilter::default(), true, wanted, after).await?;
        items.extend(page);
        match next {
            Some(next) if items.len() >= limit => {
                return Ok(ListPage::new(items, Some(DayCursor { day, after: Some(next) }.encode())))
            }
            Some(next) => after = Some(next),
            None if index == 0 => return Ok(ListPage::new(items, None)),
            None => {
                index -= 1;
                after = None;
                if items.len() >= limit {
                    let earlier = DayCursor { day: days[index], after: None };
                    return Ok(ListPage::new(items, Some(earlier.encode())));
                }
            }
        }
    }
}
