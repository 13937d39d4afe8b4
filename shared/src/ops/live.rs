//! Live delivery: the fan-out of every change of a session to the connections subscribed to it,
//! typing, and the WebSocket `send_message`.
//!
//! Fan-out reads the session's subscriptions with one Query on an index (and, when an agent is
//! subscribed, the session, to leave out agents who lost it), posts to them
//! concurrently (at most [`FANOUT_CONCURRENCY`] at a time), deletes the records of exactly the
//! connections that answered 410 Gone and reports them in its [`Delivery`], and logs and counts
//! other failures. It never fails the request that caused it: the change is stored, and a client
//! that missed a frame resyncs with `GET /chat/messages/{session_id}?after=`.
//!
//! What a gone connection means for its user (offline in their sessions, an agent away) is not
//! decided here: the deleted record reaches presence through the change feed
//! (`super::presence::gone`), so live calls nothing above it.

use std::collections::BTreeSet;

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::app::App;
use crate::domain::{now, ConnectionId, Message, Principal, Role, Session, SessionId, SessionStatus, UserId};
use crate::error::ApiError;
use crate::realtime::frames::{ReceiptStatus, ServerFrame, Typing, TypingState};
use crate::realtime::PostError;
use crate::repo::connections::{self, Subscription};
use crate::repo::sessions;

use super::{can_read, is_participant};

/// Posts in flight at once during one fan-out.
pub const FANOUT_CONCURRENCY: usize = 64;

/// Who a fan-out leaves out.
#[derive(Debug, Clone, Copy)]
pub enum Skip<'a> {
    /// Nobody.
    Nobody,
    /// The connection the change came from (it gets the reply instead).
    Connection(&'a ConnectionId),
    /// Every connection of a user (typing never echoes to the typist).
    User(&'a UserId),
}

impl Skip<'_> {
    fn skips(&self, subscription: &Subscription) -> bool {
        match self {
            Skip::Nobody => false,
            Skip::Connection(id) => subscription.connection_id == **id,
            Skip::User(user) => subscription.user_id == **user,
        }
    }
}

/// What one fan-out achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Posts that succeeded.
    pub posted: usize,
    /// Connections that were gone (their records are deleted; presence hears of it from the
    /// change feed).
    pub gone: Vec<ConnectionId>,
    /// Posts that failed otherwise.
    pub failed: usize,
    /// Users reached on at least one connection.
    pub reached: BTreeSet<UserId>,
}

/// Something posts can go to: a connection and its user.
pub(crate) trait Target {
    /// The connection and its user.
    fn target(&self) -> (ConnectionId, UserId);
}

impl Target for Subscription {
    fn target(&self) -> (ConnectionId, UserId) {
        (self.connection_id.clone(), self.user_id.clone())
    }
}

impl Target for connections::Connection {
    fn target(&self) -> (ConnectionId, UserId) {
        (self.connection_id.clone(), self.user_id.clone())
    }
}

impl Target for connections::DashboardSubscription {
    fn target(&self) -> (ConnectionId, UserId) {
        (self.connection_id.clone(), self.user_id.clone())
    }
}

struct Post {
    connection_id: ConnectionId,
    user_id: UserId,
}

/// Posts one frame to every target; deletes the records of the connections that were gone and
/// returns them in the tally.
pub(crate) async fn deliver<'s, T: Target + 's>(
    app: &App,
    targets: impl Iterator<Item = &'s T>,
    frame: &ServerFrame,
) -> Delivery {
    let posts = targets
        .map(|t| {
            let (connection_id, user_id) = t.target();
            Post { connection_id, user_id }
        })
        .collect();
    post_all(app, posts, frame).await
}

/// [`deliver`] to a list (one copy of the posting machinery, whatever the targets were).
async fn post_all(app: &App, posts: Vec<Post>, frame: &ServerFrame) -> Delivery {
    let bytes: Arc<[u8]> = frame.to_json().to_string().into_bytes().into();
    let mut targets = posts.into_iter();
    let mut posts = JoinSet::new();
    let mut delivery = Delivery::default();
    loop {
        while posts.len() < FANOUT_CONCURRENCY {
            let Some(target) = targets.next() else { break };
            let (realtime, bytes) = (Arc::clone(&app.realtime), Arc::clone(&bytes));
            posts.spawn(async move {
                let result = realtime.post(&target.connection_id, &bytes).await;
                (target, result)
            });
        }
        let (target, result) = match posts.join_next().await {
            None => break,
            Some(Ok(done)) => done,
            Some(Err(error)) => {
                delivery.failed += 1;
                tracing::warn!(%error, "a post task failed");
                continue;
            }
        };
        match result {
            Ok(()) => {
                delivery.posted += 1;
                delivery.reached.insert(target.user_id.clone());
            }
            Err(PostError::Gone) => delivery.gone.push(target.connection_id.clone()),
            Err(PostError::Failed(reason)) => {
                delivery.failed += 1;
                tracing::warn!(connection = %target.connection_id, %reason, "post to a connection failed");
            }
        }
    }
    forget(app, &delivery.gone).await;
    delivery
}

/// Deletes the records of connections that are gone (a failure is logged: their TTL ends them).
async fn forget(app: &App, gone: &[ConnectionId]) {
    for id in gone {
        if let Err(error) = connections::remove(app.store.as_ref(), id).await {
            tracing::warn!(connection = %id, %error, "deleting a gone connection failed");
        }
    }
}

/// Sends a frame to every live connection of a user.
pub async fn to_user(app: &App, user: &UserId, frame: &ServerFrame) -> Delivery {
    let connections = match connections::of_user(app.store.as_ref(), user, 100, now()).await {
        Ok(connections) => connections,
        Err(error) => {
            tracing::warn!(%user, %error, "reading a user's connections failed");
            return Delivery::default();
        }
    };
    deliver(app, connections.iter(), frame).await
}

fn log_delivery(session: &SessionId, kind: &str, delivery: &Delivery) {
    if delivery.failed > 0 {
        tracing::warn!(
            %session, kind, posted = delivery.posted, gone = delivery.gone.len(), failed = delivery.failed,
            "fan-out had failures"
        );
    } else {
        tracing::info!(%session, kind, posted = delivery.posted, gone = delivery.gone.len(), "fan-out");
    }
}

/// The live subscriptions of a session, or none when they cannot be read (logged: a fan-out
/// never fails the change that caused it).
async fn listeners(app: &App, session: &SessionId) -> Vec<Subscription> {
    match connections::subscribers(app.store.as_ref(), session, now()).await {
        Ok(subscriptions) => subscriptions,
        Err(error) => {
            tracing::warn!(%session, %error, "reading a session's subscriptions failed");
            Vec::new()
        }
    }
}

/// The subscriptions of a session whose users may still read it (`known`: the session as the
/// caller just read it). A customer's or an admin's never lapses; an agent's does once the
/// session moved on to another agent, and its deletion after the `session.updated` that said
/// so may have failed or never run (a crash): so when an agent is subscribed, the session is
/// read (one GetItem, unless known) and the subscriptions of agents who lost it are deleted and
/// left out. When it cannot be read, agents are left out (logged).
async fn readers(app: &App, session_id: &SessionId, known: Option<&Session>) -> Vec<Subscription> {
    let subscriptions = listeners(app, session_id).await;
    if !subscriptions.iter().any(|s| s.role == Role::Agent) {
        return subscriptions;
    }
    let read;
    let session = match known {
        Some(session) => session,
        None => match sessions::get(app.store.as_ref(), session_id).await {
            Ok(Some(session)) => {
                read = session;
                &read
            }
            Ok(None) => return Vec::new(),
            Err(error) => {
                tracing::warn!(session = %session_id, %error, "reading a session to check its readers failed");
                return subscriptions.into_iter().filter(|s| s.role != Role::Agent).collect();
            }
        },
    };
    let (readable, lapsed): (Vec<Subscription>, Vec<Subscription>) =
        subscriptions.into_iter().partition(|s| can_read(&connections::as_principal(s), session));
    prune(app, session_id, &lapsed).await;
    readable
}

/// Deletes subscriptions whose users may no longer read the session (logged when it fails: the
/// next fan-out leaves them out again).
async fn prune(app: &App, session: &SessionId, lapsed: &[Subscription]) {
    for subscription in lapsed {
        if let Err(error) =
            connections::unsubscribe(app.store.as_ref(), &subscription.connection_id, session).await
        {
            tracing::warn!(%error, "deleting a stale subscription failed");
        }
    }
}

/// Sends a frame to the connections subscribed to a session whose users may still read it.
pub async fn publish(app: &App, session: &SessionId, frame: &ServerFrame, skip: Skip<'_>) -> Delivery {
    publish_to(app, session, None, frame, skip).await
}

/// [`publish`], with the session when the caller holds it (saves reading it again).
pub(crate) async fn publish_to(
    app: &App,
    session: &SessionId,
    known: Option<&Session>,
    frame: &ServerFrame,
    skip: Skip<'_>,
) -> Delivery {
    let subscriptions = readers(app, session, known).await;
    let delivery = deliver(app, subscriptions.iter().filter(|s| !skip.skips(s)), frame).await;
    log_delivery(session, frame.kind(), &delivery);
    delivery
}

/// A new message: `message.created` to every subscriber but the connection it came from, then
/// one `receipt` (`delivered`, listing the other users it reached) to the sender's other
/// connections; the connection it came from learns them from its reply (`delivered_to`), one
/// billed WebSocket message fewer per message.
pub async fn message_created(app: &App, message: &Message, origin: Option<&ConnectionId>) -> Delivery {
    let session = &message.session_id;
    let subscriptions = readers(app, session, None).await;
    let skip = origin.map_or(Skip::Nobody, Skip::Connection);
    let frame = ServerFrame::MessageCreated { message: message.clone(), delivered_to: Vec::new() };
    let mut delivery = deliver(app, subscriptions.iter().filter(|s| !skip.skips(s)), &frame).await;
    let recipients: Vec<UserId> =
        delivery.reached.iter().filter(|u| **u != message.sender_id).cloned().collect();
    if !recipients.is_empty() {
        let receipt = ServerFrame::Receipt {
            session_id: *session,
            message_id: message.id,
            status: ReceiptStatus::Delivered,
            user_ids: recipients,
        };
        let senders = subscriptions
            .iter()
            .filter(|s| s.user_id == message.sender_id && !delivery.gone.contains(&s.connection_id))
            .filter(|s| !skip.skips(s));
        let receipts = deliver(app, senders, &receipt).await;
        delivery.gone.extend(receipts.gone);
    }
    log_delivery(session, "message.created", &delivery);
    delivery
}

/// A session changed: `session.updated` to every subscriber; then the subscriptions of those who
/// may no longer read it (an agent who lost it) are deleted, after they learnt why.
pub async fn session_updated(app: &App, session: &Session) -> Delivery {
    let subscriptions = listeners(app, &session.id).await;
    let frame = ServerFrame::SessionUpdated { session: session.clone() };
    let delivery = deliver(app, subscriptions.iter(), &frame).await;
    let lapsed: Vec<Subscription> = subscriptions
        .into_iter()
        .filter(|s| {
            !delivery.gone.contains(&s.connection_id) && !can_read(&connections::as_principal(s), session)
        })
        .collect();
    prune(app, &session.id, &lapsed).await;
    log_delivery(&session.id, "session.updated", &delivery);
    delivery
}

/// A read marker moved: `receipt` (`read`) to the session's other connections.
pub async fn message_read(
    app: &App,
    reader: &UserId,
    session: &SessionId,
    message: &crate::domain::MessageId,
    origin: Option<&ConnectionId>,
) -> Delivery {
    let frame = ServerFrame::Receipt {
        session_id: *session,
        message_id: *message,
        status: ReceiptStatus::Read,
        user_ids: vec![reader.clone()],
    };
    publish(app, session, &frame, origin.map_or(Skip::Nobody, Skip::Connection)).await
}

/// A `send_message` frame: counted against the connection's limit (`app.send_limit`, by
/// default bursts of [`connections::SEND_BURST`], then one per [`connections::SEND_INTERVAL_MS`];
/// beyond it 429 `rate_limited` and nothing is stored), then sent as `POST /chat/messages`
/// sends, its reply going to `connection`.
pub async fn send_message(
    app: &App,
    principal: &Principal,
    connection: &ConnectionId,
    input: super::SendMessage,
) -> Result<super::Sent, ApiError> {
    let now_ms = (now().unix_timestamp_nanos() / 1_000_000) as i64;
    let limit = app.send_limit;
    if !connections::allow_send(app.store.as_ref(), connection, limit, now_ms).await? {
        return Err(ApiError::TooManyRequests {
            code: "rate_limited",
            message: format!(
                "too many messages on this connection: bursts of {}, then one per {} ms; wait and send again",
                limit.burst, limit.interval_ms
            ),
        });
    }
    super::send_message(app, principal, input, Some(connection)).await
}

/// `typing`: a participant's typing state goes to the session's other participants' connections
/// (never back to the typist's), unstored. At most one frame of each state per connection every
/// [`connections::TYPING_INTERVAL_MS`], counted in the function instance's memory
/// ([`TypingLimit`]): no write. With `read_message_id`, the typist's read marker moves first (as
/// `mark_read` moves it) and, when it moved, the others learn it from the `typing` frame itself
/// (one billed message instead of two), the typist's other connections from a `read` receipt; a
/// frame over the limit still moves the marker and tells it with the receipt alone.
pub async fn typing(
    app: &App,
    principal: &Principal,
    connection: &ConnectionId,
    input: Typing,
) -> Result<Delivery, ApiError> {
    let store = app.store.as_ref();
    let session = super::get_session(store, principal, &input.session_id).await?;
    if !is_participant(principal, &session) {
        return Err(ApiError::forbidden("not_a_participant", "only the session's participants type in it"));
    }
    if session.status == SessionStatus::Closed {
        return Err(ApiError::session_closed());
    }
    let read = match &input.read_message_id {
        Some(message) => {
            super::messages::advance_read(app, principal, &session.id, message).await?.map(|_| *message)
        }
        None => None,
    };
    let now_ms = (now().unix_timestamp_nanos() / 1_000_000) as i64;
    let start = input.state == TypingState::Start;
    if !TYPING.allow(connection, start, now_ms) {
        if let Some(message) = &read {
            message_read(app, &principal.user_id, &session.id, message, Some(connection)).await;
        }
        return Err(ApiError::TooManyRequests {
            code: "rate_limited",
            message: format!(
                "at most one typing {} per {} ms per connection",
                if start { "start" } else { "stop" },
                connections::TYPING_INTERVAL_MS
            ),
        });
    }
    let frame = ServerFrame::Typing {
        session_id: session.id,
        user_id: principal.user_id.clone(),
        state: input.state,
        read_message_id: read,
    };
    let subscriptions = readers(app, &session.id, Some(&session)).await;
    let typist = Skip::User(&principal.user_id);
    let mut delivery = deliver(app, subscriptions.iter().filter(|s| !typist.skips(s)), &frame).await;
    if let Some(message) = read {
        let receipt = ServerFrame::Receipt {
            session_id: session.id,
            message_id: message,
            status: ReceiptStatus::Read,
            user_ids: vec![principal.user_id.clone()],
        };
        let own_others = subscriptions.iter().filter(|s| {
            typist.skips(s) && s.connection_id != *connection && !delivery.gone.contains(&s.connection_id)
        });
        let told = deliver(app, own_others, &receipt).await;
        delivery.posted += told.posted;
        delivery.failed += told.failed;
        delivery.gone.extend(told.gone);
    }
    log_delivery(&session.id, "typing", &delivery);
    Ok(delivery)
}

/// The typing frames of this function instance, as [`TypingLimit`] counts them.
static TYPING: TypingLimit = TypingLimit::new();

/// The typing limit, held in the function instance's memory: the last `start` and `stop` of each
/// connection it saw, forgotten once older than the interval. A flood of one connection's frames
/// spread over several warm instances passes once per instance per interval; the clients
/// throttle already (the SDK and the widget send at most one `start` per 3 s). It was a
/// conditional write of the connection item: 2 write units (the item and its `USERCONN` index
/// entry), a stream record and a change-feed invocation per frame, which cost more than the
/// posts it prevented, and a refused frame still paid the write (docs/DATA_MODEL.md).
struct TypingLimit {
    seen: std::sync::Mutex<Option<std::collections::HashMap<(String, bool), i64>>>,
}

/// Connections' typing states remembered at most; past it, those older than the interval go.
const TYPING_REMEMBERED: usize = 10_000;

impl TypingLimit {
    const fn new() -> Self {
        Self { seen: std::sync::Mutex::new(None) }
    }

    /// Whether a frame of `start` (or stop) from `connection` at `now_ms` passes; records it if so.
    fn allow(&self, connection: &ConnectionId, start: bool, now_ms: i64) -> bool {
        // Every change is one insert or a retain, so a poisoned map is still whole.
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen = seen.get_or_insert_with(Default::default);
        let key = (connection.to_string(), start);
        if seen.get(&key).is_some_and(|at| now_ms - at <= connections::TYPING_INTERVAL_MS) {
            return false;
        }
        if seen.len() >= TYPING_REMEMBERED {
            seen.retain(|_, at| now_ms - *at <= connections::TYPING_INTERVAL_MS);
        }
        if seen.len() < TYPING_REMEMBERED {
            seen.insert(key, now_ms);
        }
        true
    }
}

#[cfg(test)]
mod typing_limit_tests {
    use super::*;

    fn connection(id: &str) -> ConnectionId {
        ConnectionId::parse(id).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn one_start_and_one_stop_pass_per_interval_per_connection() {
        let limit = TypingLimit::new();
        let a = connection("a-typing-limit=");
        let b = connection("b-typing-limit=");

        assert!(limit.allow(&a, true, 10_000));
        assert!(!limit.allow(&a, true, 11_999), "a second start within the interval");
        assert!(!limit.allow(&a, true, 12_000), "a start exactly the interval later");
        assert!(limit.allow(&a, false, 11_000), "a stop is its own state");
        assert!(limit.allow(&b, true, 11_000), "another connection is its own");
        assert!(limit.allow(&a, true, 12_001), "a start after the interval");
    }

    #[test]
    fn a_full_memory_forgets_the_old_and_still_limits_the_new() {
        let limit = TypingLimit::new();
        for n in 0..TYPING_REMEMBERED {
            assert!(limit.allow(&connection(&format!("old-{n}=")), true, 0));
        }
        let fresh = connection("fresh=");

        assert!(limit.allow(&fresh, true, 5_000));
        assert!(!limit.allow(&fresh, true, 5_001), "the new connection is remembered");
    }
}
