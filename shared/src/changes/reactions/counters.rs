//! The day's counters (`STATS#DAY`): messages by hour and role, first responses, and the
//! sessions' lifecycle — created, reopened, assigned, transferred, closed (with handle time),
//! rated. Each change is counted once, on the day it happened. Unlike the other reactions this
//! one takes a whole batch: its records' changes are added in one write per shard's run and day,
//! into the shard's item of that day with its mark of the newest sequence counted
//! (`repo::stats::count_run`), so a busy feed writes the counters once a batch instead of once a
//! record.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::app::App;
use crate::domain::{EventKind, LoggedKind, Session, SessionStatus};
use crate::error::ApiError;
use crate::repo::stats::{self, Change, Counted};

use super::{Effect, Read};

/// Counts what the records of a batch changed. A record that cannot be read as effects counts
/// nothing here (its reactions fail, and it is kept as a failed change).
pub(super) async fn count(app: &App, batch: &[Read<'_>]) -> Result<(), ApiError> {
    let mut runs: BTreeMap<&str, Vec<Counted>> = BTreeMap::new();
    for (record, effects) in batch {
        let Ok(effects) = effects else { continue };
        let changes: Vec<_> = effects.iter().flat_map(changes).collect();
        runs.entry(&record.shard).or_default().push((record.sequence.clone(), changes));
    }
    for (shard, run) in runs {
        stats::count_run(app.store.as_ref(), shard, run).await?;
    }
    Ok(())
}

/// What an effect changes that the day counts, each with when it happened.
fn changes(effect: &Effect) -> Vec<(OffsetDateTime, Change)> {
    match effect {
        Effect::MessageCreated(message) => {
            vec![(message.created_at, Change::Message { role: message.sender_role })]
        }
        Effect::SessionCreated(session) => vec![(session.created_at, Change::Created)],
        Effect::SessionUpdated { old, new } => session_changes(old, new),
        // A transfer leaves no trace on the session's status: its event says when it happened.
        Effect::SessionEventRecorded(event) => match event.kind {
            LoggedKind::Known(EventKind::SessionTransferred) => vec![(event.at, Change::Transferred)],
            _ => Vec::new(),
        },
        Effect::AgentChanged { .. } | Effect::ConnectionOpened(_) | Effect::ConnectionGone(_) => Vec::new(),
    }
}

/// What one write of a session record changed that the day counts, each with when it happened.
fn session_changes(old: &Session, new: &Session) -> Vec<(OffsetDateTime, Change)> {
    let mut changes = Vec::new();
    if let (None, Some(answered)) = (old.first_response_at, new.first_response_at) {
        let since = old.queued_at.unwrap_or(old.created_at);
        changes.push((answered, Change::FirstResponse { seconds: (answered - since).whole_seconds() }));
    }
    match (old.status, new.status) {
        (SessionStatus::Closed, SessionStatus::Waiting) => {
            changes.push((new.queued_at.unwrap_or(new.created_at), Change::Reopened));
        }
        (SessionStatus::Waiting, SessionStatus::Active) => {
            changes.push((new.assigned_at.unwrap_or(new.created_at), Change::Assigned { sessions: 1 }));
        }
        (SessionStatus::Waiting | SessionStatus::Active, SessionStatus::Closed) => {
            let closed_at = new.closed_at.unwrap_or(new.created_at);
            let handle_seconds = old.assigned_at.map(|assigned| (closed_at - assigned).whole_seconds());
            let was_active = old.status == SessionStatus::Active;
            changes.push((closed_at, Change::Closed { was_active, handle_seconds }));
        }
        _ => {}
    }
    if let Some(rating) = &new.rating {
        if old.rating.as_ref().map(|previous| previous.rated_at) != Some(rating.rated_at) {
            let previous = old.rating.as_ref().map(|previous| (previous.score, previous.rated_at));
            changes.push((rating.rated_at, Change::Rated { score: rating.score, previous }));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::domain::{Priority, Rating, SessionId, UserId};

    fn waiting(at: OffsetDateTime) -> Session {
        Session::opened(
            SessionId::generate(),
            UserId::parse("cust-ada").unwrap(),
            "help".into(),
            Priority::Normal,
            at,
        )
    }

    #[test]
    fn an_assignment_a_close_and_a_changed_rating_are_each_counted_when_they_happened() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let open = waiting(t0);
        let mut active = open.clone();
        active.status = SessionStatus::Active;
        active.agent_id = Some(UserId::parse("agent-bob").unwrap());
        active.assigned_at = Some(t0 + Duration::seconds(30));
        assert_eq!(
            session_changes(&open, &active),
            vec![(t0 + Duration::seconds(30), Change::Assigned { sessions: 1 })]
        );

        let mut closed = active.clone();
        closed.status = SessionStatus::Closed;
        closed.closed_at = Some(t0 + Duration::seconds(330));
        let handled = Change::Closed { was_active: true, handle_seconds: Some(300) };
        assert_eq!(session_changes(&active, &closed), vec![(t0 + Duration::seconds(330), handled)]);

        let first = Rating {
            score: 2,
            comment: None,
            rated_at: t0 + Duration::DAY,
            first_rated_at: t0 + Duration::DAY,
        };
        let mut rated = closed.clone();
        rated.rating = Some(first.clone());
        let mut rerated = rated.clone();
        rerated.rating = Some(Rating { score: 5, rated_at: t0 + Duration::days(2), ..first.clone() });
        assert_eq!(
            session_changes(&rated, &rerated),
            vec![(t0 + Duration::days(2), Change::Rated { score: 5, previous: Some((2, first.rated_at)) })]
        );
        // A write that changes none of these (a message's counts) counts nothing.
        let mut busier = active.clone();
        busier.message_count += 1;
        assert_eq!(session_changes(&active, &busier), Vec::new());
    }
}
