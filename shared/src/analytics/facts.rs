//! Per-session facts kept by the change feed (`repo::facts`, under each day of the history):
//! computed from a session's whole history, so they are a pure function of it. A record delivered twice, or records delivered out
//! of order (DynamoDB Streams orders records per item only, and each event is an item of its
//! own), all end in the facts of the whole history: each refresh reads the history as stored at
//! that moment, and a write only replaces facts read from fewer events.

use std::collections::BTreeMap;

use super::episodes::SessionFacts;
use super::events::LifecycleEvent;
use crate::domain::{EventKind, SessionId};
use crate::error::ApiError;
use crate::repo::facts::{self, StoredFacts};
use crate::repo::{events, rollups};
use crate::store::ItemStore;

/// The room of a session, from its `session.created` details.
pub fn room_of(history: &[LifecycleEvent]) -> &str {
    history
        .iter()
        .find(|event| event.kind == EventKind::SessionCreated)
        .and_then(|event| event.details.room_id.as_ref())
        .and_then(serde_json::Value::as_str)
        .unwrap_or(rollups::NO_ROOM)
}

/// The facts of a session's whole history (`None` for an empty one), with how many of its events
/// fall on each day (the day index's days: the UTC date of each event's time).
pub fn of_history(id: SessionId, history: &[LifecycleEvent]) -> Option<StoredFacts> {
    let last_event_id = history.iter().map(|event| event.id.as_str()).max()?.to_owned();
    let mut days = BTreeMap::new();
    for event in history {
        *days.entry(event.at.date()).or_default() += 1;
    }
    Some(StoredFacts {
        room: room_of(history).to_owned(),
        events: history.len() as u64,
        last_event_id,
        days,
        facts: SessionFacts::from_lifecycle(id, history),
    })
}

/// Reads a session's history and stores its facts (the feed's reaction to each of its events);
/// `true` if they changed.
pub async fn refresh(store: &dyn ItemStore, id: SessionId) -> Result<bool, ApiError> {
    let histories = events::of_sessions::<LifecycleEvent>(store, &[id]).await?;
    let Some(stored) = histories.first().and_then(|(id, history)| of_history(*id, history)) else {
        return Ok(false);
    };
    facts::save(store, &stored).await
}
