//! The metric engine end to end, from events through episodes to summaries and their report.

use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::episodes::{facts_by_session, EpisodeOrigin, SessionFacts, WaitEnd};
use super::events::LifecycleEvent;
use super::summaries::Summary;
use crate::domain::{AuditEvent, LoggedKind, Role, SessionId, UserId};

const DAY: OffsetDateTime = datetime!(2026-11-25 00:00 UTC);

/// `DAY` plus `days`, at `hh:mm`.
fn at(days: i64, hour: i64, minute: i64) -> OffsetDateTime {
    DAY + Duration::days(days) + Duration::hours(hour) + Duration::minutes(minute)
}

fn session(n: u8) -> SessionId {
    SessionId::parse(&format!("01JD00000000000000000000{n:02}")).unwrap()
}

fn agent(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

/// A session's event log written in order, with ids that sort in that order.
struct Log {
    session_id: SessionId,
    events: Vec<AuditEvent>,
}

impl Log {
    fn new(n: u8) -> Self {
        Self { session_id: session(n), events: Vec::new() }
    }

    fn push(mut self, kind: &str, at: OffsetDateTime, details: Value) -> Self {
        let actor = details.get("agent_id").and_then(Value::as_str).unwrap_or("cust-ada").to_owned();
        self.events.push(AuditEvent {
            id: format!("{}-{:04}", self.session_id, self.events.len()),
            kind: LoggedKind::of_name(kind),
            actor_id: agent(&actor),
            actor_role: if actor == "cust-ada" { Role::Customer } else { Role::Agent },
            target: format!("session:{}", self.session_id),
            session_id: Some(self.session_id),
            at,
            details,
        });
        self
    }

    fn created(self, at: OffsetDateTime) -> Self {
        self.push("session.created", at, json!({"priority": "normal", "room_id": null, "subject": "help"}))
            .push("session.queued", at, json!({"reason": "created"}))
    }

    fn assigned(self, at: OffsetDateTime, agent_id: &str) -> Self {
        self.push("session.assigned", at, json!({"agent_id": agent_id, "by": "routing"}))
    }

    fn transferred(self, at: OffsetDateTime, from: &str, to: &str) -> Self {
        self.push("session.transferred", at, json!({"from_agent_id": from, "to_agent_id": to, "reason": "x"}))
    }

    fn replied(self, at: OffsetDateTime, agent_id: &str) -> Self {
        self.push("session.first_response", at, json!({"agent_id": agent_id, "message_id": "m"}))
    }

    fn closed(self, at: OffsetDateTime) -> Self {
        self.push("session.closed", at, json!({"previous_status": "active", "agent_id": null}))
    }

    fn reopened(self, at: OffsetDateTime) -> Self {
        self.push("session.reopened", at, json!({"previous_agent_id": null})).push(
            "session.queued",
            at,
            json!({"reason": "reopened"}),
        )
    }

    fn rated(self, at: OffsetDateTime, score: u8) -> Self {
        self.push("session.rated", at, json!({"score": score, "comment": null, "previous_score": null}))
    }

    /// The facts from the events; every test also checks that the rollup's path (the stored
    /// JSON decoded as lifecycle events) gives the same.
    fn facts(&self) -> SessionFacts {
        let facts = SessionFacts::from_events(self.session_id, &self.events);
        assert_eq!(SessionFacts::from_lifecycle(self.session_id, &as_stored(&self.events)), facts);
        facts
    }
}

/// Events as the rollup reads them back from the store.
fn as_stored(events: &[AuditEvent]) -> Vec<LifecycleEvent> {
    let json = serde_json::to_string(events).unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn lifecycle_events_read_like_audit_events_with_odd_details_unknown_kinds_and_repeats() {
    let mut log = plain(1).push("message.edited", at(0, 10, 5), json!({"agent_id": "bob"}));
    // A transfer whose target is not a string, a score out of range, a repeated close.
    log = log.push("session.transferred", at(0, 10, 6), json!({"to_agent_id": 42}));
    log = log.rated(at(0, 10, 30), 9).rated(at(0, 10, 31), 4);
    let repeat = log.events[3].clone();
    log.events.push(repeat);
    let mut other = plain(2).events;
    log.events.append(&mut other);

    let facts = log.facts();

    assert_eq!(facts.episodes.len(), 1);
    assert_eq!(facts.episodes[0].transfers.len(), 0);
    assert_eq!(facts.episodes[0].rating.as_ref().map(|rating| rating.score), Some(4));
    assert_eq!(facts.ignored_events, 3, "the edit, the odd transfer and the score of 9");
}

fn seconds(s: i64) -> Option<Duration> {
    Some(Duration::seconds(s))
}

/// The summary of day 0, read a month later (every follow-up window over).
fn day0(sessions: &[SessionFacts]) -> Summary {
    Summary::of(at(0, 0, 0), at(1, 0, 0), at(30, 0, 0), sessions)
}

/// Created 10:00, assigned 10:02, first reply 10:03, closed 10:20.
fn plain(n: u8) -> Log {
    Log::new(n)
        .created(at(0, 10, 0))
        .assigned(at(0, 10, 2), "alice")
        .replied(at(0, 10, 3), "alice")
        .closed(at(0, 10, 20))
}

#[test]
fn plain_session_waits_120_s_is_answered_in_180_s_and_handled_in_1080_s() {
    let facts = plain(1).facts();

    let episode = &facts.episodes[0];
    assert_eq!(facts.episodes.len(), 1);
    assert_eq!(episode.waits[0].wait_time(), seconds(120));
    assert_eq!(episode.waits[0].first_response_time(), seconds(180));
    assert_eq!(episode.handle_time(), seconds(1080));
    assert_eq!(facts.ignored_events, 0);

    let report = day0(&[facts]).report();
    assert_eq!((report.sessions_created, report.sessions_closed), (1, 1));
    assert_eq!(report.wait.average_seconds, Some(120.0));
    assert_eq!(report.first_response.median_seconds, Some(180.0));
    assert_eq!(report.handle.p90_seconds, Some(1080.0));
    assert_eq!((report.unanswered, report.abandoned.count), (0, 0));
    assert_eq!(report.resolution.rate, Some(1.0));
    let alice = &report.agents[0];
    assert_eq!(
        (alice.agent_id.as_str(), alice.handled, alice.first_responses, alice.closed),
        ("alice", 1, 1, 1)
    );
    assert_eq!(alice.handle.average_seconds, Some(1080.0));
}

#[test]
fn report_serialises_in_snake_case_with_seconds() {
    let report = day0(&[plain(1).facts()]).report();

    let json = serde_json::to_value(&report).unwrap();

    assert_eq!(json["first_response"]["average_seconds"], json!(180.0));
    assert_eq!(json["csat"]["distribution"], json!([0, 0, 0, 0, 0]));
    assert_eq!(json["from"], json!("2026-11-25T00:00:00.000Z"));
    assert_eq!(json["agents"][0]["agent_id"], json!("alice"));
}

#[test]
fn reopen_starts_a_second_episode_and_restarts_the_reply_clock() {
    let log = plain(1)
        .reopened(at(0, 11, 0))
        .assigned(at(0, 11, 10), "bob")
        .replied(at(0, 11, 12), "bob")
        .closed(at(0, 11, 30));

    let facts = log.facts();

    assert_eq!((facts.episodes.len(), facts.reopen_count), (2, 1));
    let second = &facts.episodes[1];
    assert_eq!(second.origin, EpisodeOrigin::Reopened);
    assert_eq!(second.waits[0].wait_time(), seconds(600));
    assert_eq!(second.waits[0].first_response_time(), seconds(720));
    assert_eq!(second.handle_time(), seconds(1200));
    assert_eq!(facts.episodes[0].resolved(at(30, 0, 0)), Some(false));
    let report = day0(&[facts]).report();
    assert_eq!((report.sessions_created, report.sessions_reopened, report.sessions_closed), (1, 1, 2));
    assert_eq!(report.first_response.average_seconds, Some(450.0));
    assert_eq!((report.resolution.resolved, report.resolution.reopened), (1, 1));
    assert_eq!(report.resolution.rate, Some(0.5));
}

#[test]
fn a_reopen_after_seven_days_leaves_the_first_close_resolved() {
    let facts = plain(1).reopened(at(8, 10, 0)).facts();

    assert_eq!(facts.episodes[0].resolved(at(30, 0, 0)), Some(true));
}

#[test]
fn resolution_is_pending_until_seven_days_after_the_close() {
    let facts = plain(1).facts();

    let summary = Summary::of(at(0, 0, 0), at(1, 0, 0), at(3, 0, 0), [&facts]);

    let resolution = summary.report().resolution;
    assert_eq!((resolution.resolved, resolution.reopened, resolution.pending), (0, 0, 1));
    assert_eq!(resolution.rate, None);
}

#[test]
fn transfer_credits_the_reply_to_the_assignee_and_splits_handle_time_by_time_held() {
    let log = Log::new(1)
        .created(at(0, 10, 0))
        .assigned(at(0, 10, 1), "alice")
        .transferred(at(0, 10, 5), "alice", "bob")
        .replied(at(0, 10, 6), "bob")
        .closed(at(0, 10, 30));

    let facts = log.facts();

    let episode = &facts.episodes[0];
    assert_eq!(episode.waits[0].first_response.as_ref().map(|r| r.agent_id.as_str()), Some("bob"));
    assert_eq!(episode.handle_time(), seconds(1740), "transfers do not restart it");
    let shares = episode.held_by_agent();
    assert_eq!(shares[&agent("alice")], Duration::seconds(240));
    assert_eq!(shares[&agent("bob")], Duration::seconds(1500));
    let report = day0(&[facts]).report();
    assert_eq!(report.transfers, 1);
    let (alice, bob) = (&report.agents[0], &report.agents[1]);
    assert_eq!((alice.handled, alice.transfers_out, alice.first_responses, alice.closed), (1, 1, 0, 0));
    assert_eq!((bob.handled, bob.transfers_in, bob.first_responses, bob.closed), (1, 1, 1, 1));
    assert_eq!(bob.first_response.average_seconds, Some(360.0));
    assert_eq!(alice.handle.average_seconds, Some(240.0));
    assert_eq!(bob.handle.average_seconds, Some(1500.0));
}

#[test]
fn going_back_to_the_queue_starts_a_new_wait_within_the_episode() {
    let log = Log::new(1)
        .created(at(0, 10, 0))
        .assigned(at(0, 10, 1), "alice")
        .push("session.queued", at(0, 10, 4), json!({"reason": "transferred_back"}))
        .assigned(at(0, 10, 6), "bob")
        .replied(at(0, 10, 7), "bob")
        .closed(at(0, 10, 10));

    let facts = log.facts();

    let episode = &facts.episodes[0];
    assert_eq!(episode.waits.len(), 2);
    assert_eq!(episode.waits[0].unanswered_at, Some(at(0, 10, 4)));
    assert_eq!(episode.waits[1].wait_time(), seconds(120));
    assert_eq!(episode.waits[1].first_response_time(), seconds(180));
    assert_eq!(episode.handle_time(), seconds(540));
    let report = day0(&[facts]).report();
    assert_eq!((report.unanswered, report.first_response.count, report.wait.count), (1, 1, 2));
}

#[test]
fn a_wait_closed_without_a_reply_is_unanswered_and_excluded_from_the_average() {
    let log = Log::new(1).created(at(0, 10, 0)).assigned(at(0, 10, 5), "alice").closed(at(0, 10, 30));

    let report = day0(&[log.facts(), plain(2).facts()]).report();

    assert_eq!(report.unanswered, 1);
    assert_eq!(report.first_response.count, 1);
    assert_eq!(report.first_response.average_seconds, Some(180.0));
    assert_eq!(report.wait.average_seconds, Some(210.0));
}

#[test]
fn a_session_closed_while_waiting_is_an_abandoned_wait() {
    let log = Log::new(1).created(at(0, 10, 0)).closed(at(0, 10, 10));

    let facts = log.facts();

    assert_eq!(facts.episodes[0].waits[0].end, Some(WaitEnd::Abandoned { at: at(0, 10, 10) }));
    assert_eq!(facts.episodes[0].handle_time(), None);
    let report = day0(&[facts]).report();
    assert_eq!((report.wait.count, report.abandoned.count, report.unanswered), (0, 1, 1));
    assert_eq!(report.abandoned.average_seconds, Some(600.0));
    assert_eq!((report.sessions_closed, report.handle.count), (1, 0));
}

#[test]
fn the_latest_rating_within_seven_days_counts() {
    let changed = plain(1).rated(at(0, 10, 25), 3).rated(at(2, 9, 0), 5).rated(at(8, 9, 0), 1);
    let rated = plain(2).rated(at(0, 11, 0), 4);
    let unrated = plain(3);

    let facts = changed.facts();

    let rating = facts.episodes[0].rating.as_ref().unwrap();
    assert_eq!((rating.score, rating.times_given), (5, 2));
    assert_eq!(facts.ignored_events, 1, "the rating eight days after the close");
    let csat = day0(&[facts, rated.facts(), unrated.facts()]).report().csat;
    assert_eq!(csat.distribution, [0, 0, 0, 1, 1]);
    assert_eq!((csat.rated, csat.average), (2, Some(4.5)));
    assert_eq!(csat.response_rate, Some(0.6667));
}

#[test]
fn a_rating_before_the_close_is_ignored() {
    let log = Log::new(1).created(at(0, 10, 0)).rated(at(0, 10, 1), 1).closed(at(0, 10, 2));

    let facts = log.facts();

    assert_eq!((facts.episodes[0].rating.clone(), facts.ignored_events), (None, 1));
}

#[test]
fn events_out_of_order_and_repeated_give_the_same_facts() {
    let log = plain(1).reopened(at(0, 11, 0)).closed(at(0, 11, 5)).rated(at(0, 11, 6), 2);
    let mut shuffled = log.events.clone();
    shuffled.reverse();
    shuffled.swap(1, 5);
    shuffled.extend(log.events.iter().take(4).cloned());

    let facts = SessionFacts::from_events(log.session_id, &shuffled);

    assert_eq!(facts, log.facts());
    assert_eq!(facts.ignored_events, 0);
}

#[test]
fn other_kinds_and_other_sessions_are_ignored() {
    let mut log = plain(1)
        .push("message.edited", at(0, 10, 4), json!({}))
        .push("note.created", at(0, 10, 5), json!({}))
        .push("canned.used", at(0, 10, 6), json!({}));
    log.events.extend(plain(2).created(at(0, 12, 0)).events);

    let facts = log.facts();

    assert_eq!((facts.episodes.len(), facts.ignored_events), (1, 3));
    assert_eq!(facts.episodes[0].handle_time(), seconds(1080));
}

#[test]
fn a_reopen_whose_close_is_not_in_the_events_read_still_starts_an_episode() {
    let log = Log::new(1).reopened(at(0, 9, 0)).assigned(at(0, 9, 1), "alice").closed(at(0, 9, 11));

    let facts = log.facts();

    assert_eq!((facts.episodes.len(), facts.reopen_count, facts.created_at), (1, 1, None));
    assert_eq!(facts.episodes[0].origin, EpisodeOrigin::Reopened);
    assert_eq!(facts.episodes[0].handle_time(), seconds(600));
    let report = day0(&[facts]).report();
    assert_eq!((report.sessions_created, report.sessions_reopened, report.sessions_closed), (0, 1, 1));
}

#[test]
fn a_close_whose_start_is_not_in_the_events_read_counts_without_durations() {
    let log = Log::new(1).replied(at(0, 9, 0), "alice").closed(at(0, 9, 30));

    let report = day0(&[log.facts()]).report();

    assert_eq!((report.sessions_closed, report.handle.count, report.first_response.count), (1, 0, 0));
}

#[test]
fn the_summary_of_many_sessions_equals_adding_them_one_by_one() {
    let sessions: Vec<SessionFacts> = (0..600_i64)
        .map(|n| {
            let mut log = Log::new(0);
            log.session_id = SessionId::parse(&format!("01JD00000000000000000{n:05}")).unwrap();
            let agent = ["alice", "bob", "carol"][(n % 3) as usize];
            log.created(at(0, n % 20, 0))
                .assigned(at(0, n % 20, 1 + n % 7), agent)
                .replied(at(0, n % 20, 9 + n % 5), agent)
                .closed(at(0, n % 20 + 1, n % 59))
                .facts()
        })
        .collect();

    let whole = Summary::of(at(0, 0, 0), at(1, 0, 0), at(30, 0, 0), &sessions);

    let mut one_by_one = Summary::new(at(0, 0, 0), at(1, 0, 0), at(30, 0, 0));
    for facts in &sessions {
        one_by_one.add(facts);
    }
    assert_eq!(whole, one_by_one);
    assert_eq!(whole.wait.count(), 600);
    assert!(whole.handle.samples_ms.windows(2).all(|pair| pair[0] <= pair[1]), "samples stay sorted");
}

#[test]
fn merging_two_days_equals_the_summary_of_both() {
    let sessions = [
        plain(1).rated(at(0, 10, 30), 4).facts(),
        Log::new(2).created(at(0, 23, 50)).assigned(at(1, 0, 5), "bob").replied(at(1, 0, 6), "bob").facts(),
        Log::new(3)
            .created(at(1, 9, 0))
            .assigned(at(1, 9, 1), "alice")
            .transferred(at(1, 9, 2), "alice", "bob")
            .closed(at(1, 9, 4))
            .rated(at(1, 9, 5), 2)
            .facts(),
        Log::new(4).created(at(1, 10, 0)).closed(at(1, 10, 1)).facts(),
        plain(5).reopened(at(1, 8, 0)).facts(),
    ];
    let as_of = at(3, 0, 0);

    let mut merged = Summary::of(at(0, 0, 0), at(1, 0, 0), as_of, &sessions);
    merged.merge(&Summary::of(at(1, 0, 0), at(2, 0, 0), as_of, &sessions));

    let whole = Summary::of(at(0, 0, 0), at(2, 0, 0), as_of, &sessions);
    assert_eq!(merged, whole);
    assert_eq!(merged.report(), whole.report());
    assert_eq!((whole.created, whole.closed, whole.reopened, whole.transfers), (5, 4, 1, 1));
    assert_eq!(whole.wait.samples_ms, vec![60_000, 120_000, 120_000, 900_000]);
}

#[test]
fn a_day_of_events_groups_by_session() {
    let mut events = plain(1).events;
    events.extend(plain(2).events);

    let facts = facts_by_session(&events);

    assert_eq!(facts.iter().map(|f| f.session_id).collect::<Vec<_>>(), vec![session(1), session(2)]);
    assert!(facts.iter().all(|f| f.episodes[0].handle_time() == seconds(1080)));
}

#[test]
fn a_day_of_200000_conversations_fits_in_its_rollup_item() {
    // Arrange: the day's summary as the rollup builds it, 256 sessions at a time: every session
    // waits, most are answered and handled, some abandoned.
    let mut day = Summary::new(at(0, 0, 0), at(1, 0, 0), at(1, 0, 0));
    let mut batch = day.clone();
    for n in 0..200_000i64 {
        batch.wait.push(Duration::milliseconds(1_000 + n * 7_919 % 900_000));
        if n % 16 == 0 {
            batch.abandoned.push(Duration::milliseconds(30_000 + n * 104_729 % 1_200_000));
        } else {
            batch.first_response.push(Duration::milliseconds(5_000 + n * 15_485_863 % 600_000));
            batch.handle.push(Duration::milliseconds(60_000 + n * 32_452_843 % 7_200_000));
        }
        if n % 256 == 255 {
            day.merge(&std::mem::replace(&mut batch, Summary::new(day.from, day.to, day.as_of)));
        }
    }
    day.merge(&batch);

    // Act
    let item =
        crate::repo::rollups::overall_item(crate::repo::rollups::Period::Day(DAY.date()), &day).unwrap();

    // Assert: far under DynamoDB's 400 KB, with every sample counted.
    let size = serde_json::to_string(&item).unwrap().len();
    assert!(size < 200_000, "the day's item takes {size} bytes");
    assert_eq!(day.report().wait.count, 200_000);
    assert_eq!(day.report().handle.count + day.report().abandoned.count, 200_000);
}
