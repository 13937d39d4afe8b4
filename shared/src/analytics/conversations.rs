//! The conversations export: one CSV row per session created in a range, with the figures of the
//! metric engine (`docs/METRICS.md`, section 10) and the session's message counts by role, read
//! and written a page of sessions at a time so that a year of conversations never sits in memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use crate::analytics::episodes::{Episode, SessionFacts};
use crate::csv::csv_field;
use crate::domain::{now, timestamp, AuditEvent, EventKind, Principal, Role, Session, SessionId, UserId};
use crate::error::role_forbidden;
use crate::error::ApiError;
use crate::http::Chunks;
use crate::repo::events::{self, EventFilter, EventSource, Span, ID_SLACK};
use crate::repo::sessions;
use crate::store::{Cursor, ItemStore, MAX_QUERY_LIMIT};

use super::range::Range;

/// Events read per Query of the day index: a page of sessions is the `session.created` events
/// among them.
pub const DAY_PAGE: usize = MAX_QUERY_LIMIT;
/// Sessions whose history is read at once.
const CONCURRENT_READS: usize = 8;

/// The header row, in column order (definitions: `docs/METRICS.md`, section 10).
pub const COLUMNS: [&str; 21] = [
    "session_id",
    "customer_id",
    "customer_name",
    "subject",
    "agents",
    "room_id",
    "priority",
    "status",
    "created_at",
    "first_assigned_at",
    "first_response_seconds",
    "handle_seconds",
    "closed_at",
    "resolution",
    "csat_score",
    "reopen_count",
    "transfer_count",
    "messages_customer",
    "messages_agent",
    "messages_admin",
    "attachments",
];

/// A started export: its file name and its chunks (the header and the first page's rows are
/// read already).
pub struct Export {
    /// `conversations-<from>-<to>.csv`.
    pub file_name: String,
    /// The CSV, chunk by chunk.
    pub chunks: Chunks,
}

/// The sessions created in `[from, to)` as CSV, for admins. `from` and `to` are RFC 3339 times
/// or `yyyy-mm-dd` dates (UTC; a date `to` is the end of that day), by default the last 7 days,
/// at most 366 days (400 `invalid_parameter`, `invalid_range`, `range_too_long`).
///
/// Reads: per UTC day of the range, the day index (gsi1 `EVENTS#<day>`) for `session.created`
/// events, `day_page` events per Query; per session, one Query of its record and history. Rows are
/// in `created_at` order, then by session id. The first chunk is read before this returns, so a
/// store that fails at once is an error response rather than a download cut off.
pub async fn export(
    store: Arc<dyn ItemStore>,
    principal: &Principal,
    from: Option<&str>,
    to: Option<&str>,
    day_page: usize,
) -> Result<Export, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("export conversations; only admins do"));
    }
    let as_of = now();
    let range = Range::parse(from, to, as_of)?;
    let exporter = Exporter {
        store,
        span: range.span(),
        days: range.days().into_iter(),
        day: None,
        cursor: None,
        watermark: None,
        pending: BTreeMap::new(),
        header_written: false,
        finished: false,
        as_of,
        day_page: day_page.clamp(1, MAX_QUERY_LIMIT),
    };
    let mut chunks = stream::try_unfold(exporter, Exporter::next_chunk).boxed();
    let first = chunks.try_next().await?;
    Ok(Export { file_name: file_name(&range), chunks: stream::iter(first.map(Ok)).chain(chunks).boxed() })
}

/// `conversations-<from>-<to>.csv`: the first and last day when the range is whole days (as
/// asked with dates), else both ends to the second (`20261125T100000Z`).
pub fn file_name(range: &Range) -> String {
    let (from, to) = if range.is_whole_days() {
        (range.first_day().to_string(), range.last_day().to_string())
    } else {
        let compact = format_description!("[year][month][day]T[hour][minute][second]Z");
        let format =
            |at: OffsetDateTime| at.format(compact).unwrap_or_else(|_| at.unix_timestamp().to_string());
        (format(range.from), format(range.to))
    };
    format!("conversations-{from}-{to}.csv")
}

/// Where an export is: the day being read and where in it, and the rows not yet written.
struct Exporter {
    store: Arc<dyn ItemStore>,
    span: Span,
    days: std::vec::IntoIter<Date>,
    /// The day being read; `None` between days.
    day: Option<Date>,
    cursor: Option<Cursor>,
    /// The id time of the last `session.created` event read in the current day.
    watermark: Option<OffsetDateTime>,
    /// Rows read but not yet written, in row order.
    pending: BTreeMap<(OffsetDateTime, SessionId), String>,
    header_written: bool,
    finished: bool,
    as_of: OffsetDateTime,
    day_page: usize,
}

impl Exporter {
    /// Reads pages until some rows may be written (or the end), and returns them as one chunk.
    ///
    /// The day index sorts by event id, not by time: an event's id is made just after its `at`
    /// (within [`ID_SLACK`]), so two sessions created within a moment of each other may come in
    /// either order. A row is therefore held until no event still to be read can sort before it:
    /// once the events up to id time `w` are read, every later one has `at >= w - ID_SLACK`; at
    /// the end of a day, every later one belongs to a later day.
    async fn next_chunk(mut self) -> Result<Option<(Bytes, Self)>, ApiError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            let day = match self.day {
                Some(day) => day,
                None => match self.days.next() {
                    Some(day) => {
                        self.day = Some(day);
                        self.cursor = None;
                        self.watermark = None;
                        day
                    }
                    None => {
                        // Each day's rows went out at its end; an export without rows still
                        // has its header.
                        self.finished = true;
                        if self.header_written {
                            return Ok(None);
                        }
                        return Ok(Some((self.chunk(Vec::new()), self)));
                    }
                },
            };
            let created = EventFilter { kind: Some(EventKind::SessionCreated), ..EventFilter::default() };
            let (page, next) = events::page(
                self.store.as_ref(),
                &EventSource::Day(day),
                &self.span,
                &created,
                false,
                self.day_page,
                self.cursor.take(),
            )
            .await?;
            if let Some(last) = page.last() {
                self.watermark = Some(id_time(last)?);
            }
            for (key, row) in rows(&self.store, &page, self.as_of).await? {
                self.pending.insert(key, row);
            }
            let ready: Vec<String> = match next {
                Some(next) => {
                    self.cursor = Some(next);
                    let mut ready = Vec::new();
                    if let Some(watermark) = self.watermark {
                        while let Some(entry) = self.pending.first_entry() {
                            if entry.key().0 >= watermark - ID_SLACK {
                                break;
                            }
                            ready.push(entry.remove());
                        }
                    }
                    ready
                }
                None => {
                    self.day = None;
                    std::mem::take(&mut self.pending).into_values().collect()
                }
            };
            if !ready.is_empty() {
                return Ok(Some((self.chunk(ready), self)));
            }
        }
    }

    /// The rows as one chunk, after the header if it was not written yet.
    fn chunk(&mut self, rows: Vec<String>) -> Bytes {
        let mut out = String::new();
        if !self.header_written {
            self.header_written = true;
            out.push_str(&COLUMNS.join(","));
            out.push_str("\r\n");
        }
        out.extend(rows);
        Bytes::from(out)
    }
}

/// When an event's id was made (its ULID's time).
fn id_time(event: &AuditEvent) -> Result<OffsetDateTime, ApiError> {
    let id = ulid::Ulid::from_string(&event.id)
        .map_err(|e| ApiError::Internal(format!("event id {:?} is not a ULID: {e}", event.id)))?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(id.timestamp_ms()) * 1_000_000)
        .map_err(|e| ApiError::Internal(format!("event id {:?} has no usable time: {e}", event.id)))
}

/// The rows of the sessions whose `session.created` events these are, keyed in row order (each
/// session's record and history read with one Query, a few sessions at a time).
async fn rows(
    store: &Arc<dyn ItemStore>,
    created: &[AuditEvent],
    as_of: OffsetDateTime,
) -> Result<Vec<((OffsetDateTime, SessionId), String)>, ApiError> {
    let ids: Vec<SessionId> = created.iter().filter_map(|event| event.session_id).collect();
    stream::iter(ids)
        .map(|id| {
            let store = Arc::clone(store);
            async move {
                let (session, history) =
                    sessions::with_history(store.as_ref(), &id).await?.ok_or_else(|| {
                        ApiError::Internal(format!("session {id} was created but has no record"))
                    })?;
                let facts = SessionFacts::from_events(id, &history);
                let files = crate::repo::attachments::sent_names(store.as_ref(), &id).await?;
                Ok(((session.created_at, id), row(&session, &facts, &files, as_of)?))
            }
        })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await
}

/// One CSV line (with its `\r\n`) of a session and the facts of its whole history.
fn row(
    session: &Session,
    facts: &SessionFacts,
    files: &[String],
    as_of: OffsetDateTime,
) -> Result<String, ApiError> {
    let first = facts.episodes.first();
    let latest_close = facts.episodes.iter().rev().find(|episode| episode.closed_at.is_some());
    let mut agents: Vec<&UserId> = Vec::new();
    for hold in facts.episodes.iter().flat_map(|episode| &episode.holds) {
        if !agents.contains(&&hold.agent_id) {
            agents.push(&hold.agent_id);
        }
    }
    let handled: Vec<Duration> = facts.episodes.iter().filter_map(Episode::handle_time).collect();
    let handle_ms: i128 = handled.iter().map(|handle| handle.whole_milliseconds().max(0)).sum();
    let resolution = match latest_close.map(|episode| episode.resolved(as_of)) {
        None => "open",
        Some(Some(true)) => "resolved",
        Some(Some(false)) => "reopened",
        Some(None) => "pending",
    };
    let fields = [
        session.id.to_string(),
        session.customer_id.to_string(),
        session.customer_name.clone().unwrap_or_default(),
        session.subject.clone(),
        agents.iter().map(|agent| agent.as_str()).collect::<Vec<_>>().join(" "),
        session.room_id.map(|room| room.to_string()).unwrap_or_default(),
        session.priority.as_str().to_owned(),
        session.status.as_str().to_owned(),
        stamp(Some(session.created_at))?,
        stamp(first.and_then(|episode| episode.first_assigned_at))?,
        seconds(first.and_then(|episode| episode.waits.first()).and_then(|wait| wait.first_response_time())),
        if handled.is_empty() { String::new() } else { seconds_of_ms(handle_ms) },
        stamp(latest_close.and_then(|episode| episode.closed_at))?,
        resolution.to_owned(),
        latest_close
            .and_then(|episode| episode.rating.as_ref())
            .map(|r| r.score.to_string())
            .unwrap_or_default(),
        facts.reopen_count.to_string(),
        facts.episodes.iter().map(|episode| episode.transfers.len()).sum::<usize>().to_string(),
        session.messages_customer.to_string(),
        session.messages_agent.to_string(),
        session.messages_admin.to_string(),
        files.join("; "),
    ];
    let mut line = fields.iter().map(|field| csv_field(field)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    Ok(line)
}

/// A time as the API writes it; empty when absent.
fn stamp(at: Option<OffsetDateTime>) -> Result<String, ApiError> {
    at.map(timestamp::format)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))
}

/// A duration in seconds to the millisecond, as the metric engine reports them (negative as 0);
/// empty when absent.
fn seconds(duration: Option<Duration>) -> String {
    duration.map(|d| seconds_of_ms(d.whole_milliseconds().max(0))).unwrap_or_default()
}

fn seconds_of_ms(ms: i128) -> String {
    (ms as f64 / 1000.0).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use time::macros::datetime;

    use super::*;
    use crate::domain::{LoggedKind, Priority};

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn code(result: Result<Range, ApiError>) -> &'static str {
        match result {
            Err(ApiError::BadRequest { code, .. }) => code,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_range_spans_up_to_366_days_and_dates_cover_whole_days() {
        let leap_year = Range::parse(Some("2024-01-01"), Some("2024-12-31"), NOW).unwrap();
        assert_eq!(
            (leap_year.from, leap_year.to),
            (datetime!(2024-01-01 0:00 UTC), datetime!(2025-01-01 0:00 UTC))
        );
        assert_eq!(code(Range::parse(Some("2024-01-01"), Some("2025-01-01"), NOW)), "range_too_long");
        assert_eq!(code(Range::parse(Some("2026-11-25"), Some("2026-11-24"), NOW)), "invalid_range");
        assert_eq!(code(Range::parse(Some("2026-02-30"), None, NOW)), "invalid_parameter");
        let default = Range::parse(None, None, NOW).unwrap();
        assert_eq!((default.from, default.to), (NOW - Duration::days(7), NOW));
        let times =
            Range::parse(Some("2026-11-25T10:00:00+01:00"), Some("2026-11-25T11:30:00Z"), NOW).unwrap();
        assert_eq!(times.from, datetime!(2026-11-25 9:00 UTC));
    }

    #[test]
    fn the_file_is_named_after_the_days_or_the_times_of_the_range() {
        let days = Range::parse(Some("2026-11-01"), Some("2026-11-30"), NOW).unwrap();
        assert_eq!(file_name(&days), "conversations-2026-11-01-2026-11-30.csv");
        let times = Range::parse(Some("2026-11-25T10:00:00Z"), Some("2026-11-25T11:30:05Z"), NOW).unwrap();
        assert_eq!(file_name(&times), "conversations-20261125T100000Z-20261125T113005Z.csv");
    }

    fn id(n: u8) -> SessionId {
        SessionId::parse(&format!("01JD00000000000000000000{n:02}")).unwrap()
    }

    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }

    fn session(created_at: OffsetDateTime) -> Session {
        Session {
            customer_name: Some("-Ada, \"the\" customer".into()),
            queued_at: None,
            message_count: 5,
            transfer_count: 1,
            reopen_count: 1,
            messages_customer: 3,
            messages_agent: 2,
            ..Session::opened(
                id(2),
                user("cust-ada"),
                "=HYPERLINK(\"x\")\nsecond line".into(),
                Priority::High,
                created_at,
            )
        }
    }

    /// Events of session …02, in order, at minutes after `NOW` minus a day.
    fn history(steps: &[(&str, i64, Value)]) -> Vec<AuditEvent> {
        let start = NOW - Duration::days(1);
        steps
            .iter()
            .enumerate()
            .map(|(n, (kind, minute, details))| AuditEvent {
                id: format!("01JD0000000000000000000E{n:02}"),
                kind: LoggedKind::of_name(kind),
                actor_id: user("agent-x"),
                actor_role: Role::Agent,
                target: "session:01JD0000000000000000000002".into(),
                session_id: Some(id(2)),
                at: start + Duration::minutes(*minute),
                details: details.clone(),
            })
            .collect()
    }

    fn fields(line: &str) -> Vec<String> {
        // The fields are quoted, so splitting on `","` is exact for these texts.
        let inner = line.strip_suffix("\r\n").unwrap().strip_prefix('"').unwrap().strip_suffix('"').unwrap();
        inner.split("\",\"").map(|field| field.replace("\"\"", "\"")).collect()
    }

    #[test]
    fn a_reopened_session_shows_its_first_answer_its_whole_handle_time_and_its_latest_close() {
        // Created at 0, X takes it at 2, answers at 5, hands it to Y at 10, Y closes at 30,
        // rated 4 at 31; reopened at 40, X takes it at 50 and closes at 60; rated 5 at 61.
        let events = history(&[
            ("session.created", 0, json!({})),
            ("session.queued", 0, json!({"reason": "created"})),
            ("session.assigned", 2, json!({"agent_id": "agent-x"})),
            ("session.first_response", 5, json!({"agent_id": "agent-x"})),
            ("session.transferred", 10, json!({"from_agent_id": "agent-x", "to_agent_id": "agent-y"})),
            ("session.closed", 30, json!({})),
            ("session.rated", 31, json!({"score": 4})),
            ("session.reopened", 40, json!({})),
            ("session.queued", 40, json!({"reason": "reopened"})),
            ("session.assigned", 50, json!({"agent_id": "agent-x"})),
            ("session.closed", 60, json!({})),
            ("session.rated", 61, json!({"score": 5})),
        ]);
        let created = events[0].at;
        let facts = SessionFacts::from_events(id(2), &events);

        let line = row(&session(created), &facts, &[], NOW).unwrap();

        let expected = [
            "01JD0000000000000000000002",
            "cust-ada",
            "'-Ada, \"the\" customer",
            "'=HYPERLINK(\"x\")\nsecond line",
            "agent-x agent-y",
            "",
            "high",
            "waiting",
            "2026-11-24T12:00:00.000Z",
            "2026-11-24T12:02:00.000Z",
            "300",
            // (30 - 2) + (60 - 50) minutes
            "2280",
            "2026-11-24T13:00:00.000Z",
            "pending",
            "5",
            "1",
            "1",
            "3",
            "2",
            "0",
            // No attachments.
            "",
        ];
        assert_eq!(fields(&line), expected);
    }

    #[test]
    fn an_unanswered_open_session_has_empty_figures_and_is_open() {
        let events = history(&[
            ("session.created", 0, json!({})),
            ("session.queued", 0, json!({"reason": "created"})),
        ]);
        let facts = SessionFacts::from_events(id(2), &events);

        let line = row(&session(events[0].at), &facts, &[], NOW).unwrap();

        let fields = fields(&line);
        assert_eq!(fields.len(), COLUMNS.len());
        assert_eq!(&fields[4], "", "no agent held it");
        assert_eq!(fields[9..13], ["", "", "", ""], "no assignment, answer, handle time or close");
        assert_eq!(&fields[13], "open");
        assert_eq!(&fields[14], "", "no rating");
    }

    #[test]
    fn a_close_reopened_within_a_week_reads_reopened_and_one_left_alone_resolved() {
        let reopened = history(&[
            ("session.created", 0, json!({})),
            ("session.closed", 10, json!({})),
            ("session.reopened", 20, json!({})),
        ]);
        let facts = SessionFacts::from_events(id(2), &reopened);
        assert_eq!(fields(&row(&session(reopened[0].at), &facts, &[], NOW).unwrap())[13], "reopened");

        let closed = history(&[("session.created", 0, json!({})), ("session.closed", 10, json!({}))]);
        let facts = SessionFacts::from_events(id(2), &closed);
        let week_later = NOW + Duration::days(7);
        assert_eq!(fields(&row(&session(closed[0].at), &facts, &[], week_later).unwrap())[13], "resolved");
    }
}
