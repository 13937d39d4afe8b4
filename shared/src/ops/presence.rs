//! Presence: who is connected, and what their coming and going tells others.
//!
//! The WebSocket routes write one item each: `$connect` the connection's record, `$disconnect`
//! its deletion, `subscribe` a subscription. What follows from a connection that opened or went
//! runs from the change feed ([`opened`], [`gone`]): `presence` frames to the user's open
//! sessions — online when it is their first connection, offline when none is left — and, for an
//! agent, their status through the grace period (`super::agents::connection_changed`), whose
//! write is itself a change the feed hands to the dashboard and routing. A connection goes the
//! same way however it went: `$disconnect`, a post that found it gone (410, deleted by `live`), or
//! its TTL (DynamoDB's expiry is a deletion in the stream too).

use crate::app::App;
use crate::domain::{now, ConnectionId, Principal, Role, Session, SessionId, SessionStatus};
use crate::error::ApiError;
use crate::realtime::frames::{PresenceStatus, ServerFrame};
use crate::repo::connections::{self, Connection};
use crate::repo::sessions::{self, SessionListing};

use super::live::{self, Skip};
use super::{agents, failed_conditions};

/// Open sessions of a user told about their presence change (the newest first).
pub const PRESENCE_SESSIONS: usize = 50;
/// A user's connections read to tell whether one is their first or last (more than anyone
/// keeps open; the rest would only say "not the first" again).
const CONNECTIONS_READ: usize = 10;
/// The condition of a subscription that the connection exists and has room for one more.
const CONNECTION_HAS_ROOM: &str = "connection_has_room";
/// The condition of a subscription that the connection was not subscribed to the session yet.
const SUBSCRIPTION_NEW: &str = "subscription_new";

/// `$connect`: stores the connection with its TTL (one conditional PutItem). Its user's
/// sessions hear they are online from the change feed ([`opened`]).
pub async fn connect(app: &App, principal: &Principal, id: ConnectionId) -> Result<(), ApiError> {
    let connection = connections::new_connection(id, principal, now());
    connections::put(app.store.as_ref(), &connection).await
}

/// `$disconnect` (best-effort in API Gateway): deletes the connection and its subscriptions.
/// Disconnecting an unknown or already deleted connection changes nothing; the user's sessions
/// hear they are offline from the change feed ([`gone`]).
pub async fn disconnect(app: &App, id: &ConnectionId) -> Result<(), ApiError> {
    connections::remove(app.store.as_ref(), id).await?;
    Ok(())
}

/// `subscribe`: the connection receives the session's live events from now on. Allowed for
/// whoever may read the session; subscribing twice is harmless. The reply carries the session
/// and which of its other participants are online.
pub async fn subscribe(
    app: &App,
    principal: &Principal,
    connection: &ConnectionId,
    session_id: &SessionId,
) -> Result<ServerFrame, ApiError> {
    let store = app.store.as_ref();
    // The check is a read, not a condition of the transaction (2 write units): a subscription of
    // someone who just lost the session is dropped by the next fan-out, which checks again.
    let readable =
        sessions::get(store, session_id).await?.is_some_and(|session| super::can_read(principal, &session));
    if !readable {
        return Err(ApiError::session_not_found());
    }
    let [counted, subscription] = connections::subscribe(connection, session_id, principal, now())?;
    let ops = vec![counted.named(CONNECTION_HAS_ROOM), subscription.named(SUBSCRIPTION_NEW)];
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&CONNECTION_HAS_ROOM) && !failed.contains(&SUBSCRIPTION_NEW) {
        return Err(match connections::get(store, connection).await? {
            Some(_) => ApiError::conflict(
                "too_many_subscriptions",
                format!(
                    "a connection may subscribe to {} sessions; reconnect to start over",
                    connections::MAX_SUBSCRIPTIONS
                ),
            ),
            None => connections::unknown_connection(),
        });
    }
    // Read again once subscribed: a change after this read reaches the connection.
    let mut session = sessions::get(store, session_id).await?.ok_or_else(ApiError::session_not_found)?;
    // A waiting customer who (re)subscribes sees their place at once, before the queue moves.
    super::routing::annotate(store, &mut session).await?;
    let mut online = Vec::new();
    for user in std::iter::once(&session.customer_id).chain(session.agent_id.as_ref()) {
        if *user != principal.user_id && !connections::of_user(store, user, 1, now()).await?.is_empty() {
            online.push(user.clone());
        }
    }
    Ok(ServerFrame::Subscribed { session, online })
}

/// From the change feed, a connection was registered: if it is the user's first live one (none
/// of the others connected before it), their open sessions hear they are online, and an agent
/// away within the grace period is online again. Nothing when the connection is already gone
/// again (its deletion follows in the feed), so a short visit does not flicker.
pub async fn opened(app: &App, connection: &Connection) -> Result<(), ApiError> {
    let live = connections::of_user(app.store.as_ref(), &connection.user_id, CONNECTIONS_READ, now()).await?;
    let still_here = live.iter().any(|c| c.connection_id == connection.connection_id);
    let first = !live
        .iter()
        .any(|c| (c.connected_at, &c.connection_id) < (connection.connected_at, &connection.connection_id));
    if still_here && first {
        announce(app, connection, PresenceStatus::Online).await?;
    }
    Ok(())
}

/// From the change feed, a connection's record was deleted: if the user has no live connection
/// left, their open sessions hear they are offline, and an agent online shows away for the grace
/// period.
pub async fn gone(app: &App, connection: &Connection) -> Result<(), ApiError> {
    let live = connections::of_user(app.store.as_ref(), &connection.user_id, 1, now()).await?;
    if live.is_empty() {
        announce(app, connection, PresenceStatus::Offline).await?;
    }
    Ok(())
}

/// An agent's status follows their presence; then `presence` to the subscribers of each of the
/// user's open sessions but the user's own (their gone connections deleted by the fan-out).
async fn announce(app: &App, connection: &Connection, status: PresenceStatus) -> Result<(), ApiError> {
    let user = &connection.user_id;
    let principal = Principal { user_id: user.clone(), role: connection.role, name: connection.name.clone() };
    agents::connection_changed(app, &principal, status == PresenceStatus::Online).await?;
    for session in open_sessions(app, &principal).await? {
        let frame = ServerFrame::Presence {
            session_id: Some(session.id),
            user_id: user.clone(),
            status,
            agent: None,
        };
        live::publish_to(app, &session.id, Some(&session), &frame, Skip::User(user)).await;
    }
    Ok(())
}

/// The sessions a user takes part in and that are still open (newest first, at most
/// [`PRESENCE_SESSIONS`]).
async fn open_sessions(app: &App, principal: &Principal) -> Result<Vec<Session>, ApiError> {
    let user = principal.user_id.clone();
    let (listing, status) = match principal.role {
        Role::Customer => (SessionListing::Customer(user), None),
        Role::Agent | Role::Admin => (SessionListing::Agent(user), Some(SessionStatus::Active)),
    };
    let (sessions, _) = sessions::list(app.store.as_ref(), &listing, status, PRESENCE_SESSIONS, None).await?;
    Ok(sessions.into_iter().filter(|s| s.status != SessionStatus::Closed).collect())
}
