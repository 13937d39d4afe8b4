//! The live dashboard: the floor's reads (the overview figures, the active and waiting lists, the
//! health probe), and `dashboard.metrics` / agent `presence` frames to the connections that
//! subscribed to it.
//!
//! After every queue, session or agent change (from the change feed: `changes::reactions::dashboard`)
//! the figures go to every dashboard connection, at most once a second for all of them: the first change of a quiet second is sent at once, and
//! the changes inside a second that was just sent are carried by one send at its end (whoever
//! claims it waits for it; everyone else returns at once).

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::{
    now, AgentState, AgentStatus, ConnectionId, CsatToday, Message, MessageId, Overview, Principal, Priority,
    Role, Session, SessionId, SessionStatus, UserId,
};
use crate::error::ApiError;
use crate::http::ListPage;
use crate::realtime::frames::{PresenceStatus, ServerFrame};
use crate::repo::connections::{self, Window};
use crate::repo::sessions::{self, SessionListing};
use crate::repo::{agents, messages, stats};
use crate::store::{Cursor, ItemStore, KeyRange, Query};

use super::{failed_conditions, role_forbidden};

/// Shortest time between two `dashboard.metrics` sends, in milliseconds.
pub const METRICS_INTERVAL_MS: i64 = 1_000;
/// The condition of a dashboard subscription that its connection is registered.
const CONNECTION_REGISTERED: &str = "connection_registered";

/// The floor now: counters kept by every change (waiting, active, closed and rated today),
/// the agents by status (one Query each) and the longest wait (the oldest session at the head
/// of each priority's queue: four Queries of one item).
pub async fn overview(store: &dyn ItemStore) -> Result<Overview, ApiError> {
    overview_at(store, now()).await
}

/// [`overview`] stamped `at` (a send's slot: the figures are read at or just after it).
async fn overview_at(store: &dyn ItemStore, at: OffsetDateTime) -> Result<Overview, ApiError> {
    let live = stats::live(store).await?;
    let today = stats::day(store, at.date()).await?;
    let mut agents_online = 0;
    let mut agents_away = 0;
    let mut on_floor = Vec::new();
    for status in [AgentStatus::Online, AgentStatus::Away] {
        for mut agent in agents::in_status(store, status).await? {
            match agent.status_at(at) {
                AgentStatus::Online => agents_online += 1,
                AgentStatus::Away => agents_away += 1,
                AgentStatus::Offline => continue,
            }
            agent.status = agent.status_at(at);
            on_floor.push(agent);
        }
    }
    let mut longest: Option<OffsetDateTime> = None;
    for priority in [Priority::Urgent, Priority::High, Priority::Normal, Priority::Low] {
        let query = Query::index("gsi3", sessions::status_partition(crate::domain::SessionStatus::Waiting))
            .range(KeyRange::BeginsWith(sessions::waiting_prefix(priority)))
            .limit(1);
        let (page, _): (Vec<crate::domain::Session>, _) = crate::repo::records(store.query(query).await?)?;
        for session in page {
            let since = session.queued_at.unwrap_or(session.created_at);
            longest = Some(longest.map_or(since, |l| l.min(since)));
        }
    }
    let ratings = today.get("ratings");
    Ok(Overview {
        waiting: live.waiting.max(0),
        active: live.active.max(0),
        closed_today: today.get("closed"),
        agents_online,
        agents_away,
        longest_wait_seconds: longest.map(|since| ((at - since).as_seconds_f64() * 1000.0).round() / 1000.0),
        csat_today: CsatToday {
            ratings,
            average: (ratings > 0).then(|| today.get("rating_sum") as f64 / ratings as f64),
        },
        agents: on_floor,
        agents_complete: true,
        generated_at: at,
    })
}

/// `subscribe_dashboard`: agents and admins receive the live dashboard on this connection;
/// the reply is the figures now.
pub async fn subscribe(
    app: &App,
    principal: &Principal,
    connection: &ConnectionId,
) -> Result<ServerFrame, ApiError> {
    if principal.role == Role::Customer {
        return Err(role_forbidden("watch the dashboard"));
    }
    let store = app.store.as_ref();
    let [registered, subscription] = connections::subscribe_dashboard(connection, principal, now())?;
    let ops = vec![registered.named(CONNECTION_REGISTERED), subscription.named("subscription")];
    if failed_conditions(store.transact_write(ops).await)?.contains(&CONNECTION_REGISTERED) {
        return Err(connections::unknown_connection());
    }
    Ok(ServerFrame::DashboardMetrics { metrics: overview(store).await?.fit_for_frame() })
}

/// After a queue, session or agent change: the figures to every dashboard connection, at most
/// once a second (see the module). Never fails the change.
pub async fn changed(app: &App) {
    if let Err(error) = send_metrics(app).await {
        tracing::warn!(%error, "sending the dashboard figures failed");
    }
}

async fn send_metrics(app: &App) -> Result<(), ApiError> {
    let store = app.store.as_ref();
    let mut listeners = connections::dashboard_subscribers(store, now()).await?;
    if listeners.is_empty() {
        return Ok(());
    }
    let now_ms = epoch_ms(now());
    let slot_ms = match connections::claim_dashboard_send(store, now_ms, METRICS_INTERVAL_MS).await? {
        Window::Claimed => return Ok(()),
        Window::SendNow => now_ms,
        Window::SendAt(at_ms) => {
            if !crate::domain::wait_until_ms(at_ms).await
                || !connections::start_claimed_send(store, at_ms).await?
            {
                return Ok(());
            }
            // Connections may have come and gone while it waited.
            listeners = connections::dashboard_subscribers(store, now()).await?;
            at_ms
        }
    };
    let slot =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(slot_ms) * 1_000_000).unwrap_or_else(|_| now());
    let frame = ServerFrame::DashboardMetrics { metrics: overview_at(store, slot).await?.fit_for_frame() };
    let delivery = super::live::deliver(app, listeners.iter(), &frame).await;
    tracing::info!(posted = delivery.posted, failed = delivery.failed, "dashboard figures sent");
    Ok(())
}

/// An agent's new state as `presence` to every dashboard connection (the figures follow once
/// per batch of the change feed). Never fails the change.
pub async fn agent_presence(app: &App, agent: &AgentState) {
    let store = app.store.as_ref();
    match connections::dashboard_subscribers(store, now()).await {
        Ok(listeners) if !listeners.is_empty() => {
            let status = match agent.status_at(now()) {
                AgentStatus::Online => PresenceStatus::Online,
                AgentStatus::Away => PresenceStatus::Away,
                AgentStatus::Offline => PresenceStatus::Offline,
            };
            let frame = ServerFrame::Presence {
                session_id: None,
                user_id: agent.agent_id.clone(),
                status,
                agent: Some(Box::new(agent.clone())),
            };
            super::live::deliver(app, listeners.iter(), &frame).await;
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "reading the dashboard's listeners failed"),
    }
}

fn epoch_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Seconds between two times, to the millisecond (0 when `since` is later).
fn seconds_between(since: OffsetDateTime, until: OffsetDateTime) -> f64 {
    ((until - since).whole_milliseconds().max(0) as f64) / 1000.0
}

// ---------------------------------------------------------------------------------------------
// Active and waiting sessions
// ---------------------------------------------------------------------------------------------

/// An active session with how long it has been handled.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ActiveSession {
    /// The session.
    #[serde(flatten)]
    pub session: Session,
    /// Seconds since its first assignment in this episode (transfers do not restart it).
    pub handle_seconds_so_far: f64,
    /// The last message is the customer's: they wait for an answer.
    pub waiting_for_agent_reply: bool,
    /// The customer's messages its agent has not read (after the agent's read marker; counted
    /// up to [`ACTIVITY_WINDOW`]).
    pub unread_count: u32,
    /// Its newest message, for the session list.
    pub last_message: Option<LastMessage>,
    /// Since when the customer has waited for a reply: their oldest message after the last
    /// answer (null when the last message is not the customer's).
    #[serde(with = "crate::domain::timestamp::option")]
    pub waiting_since: Option<OffsetDateTime>,
}

/// A session's newest message as a session list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LastMessage {
    /// Message id.
    pub id: MessageId,
    /// Who sent it, in which role.
    pub sender_role: Role,
    /// Its first [`PREVIEW_CHARS`] characters; null once deleted.
    pub preview: Option<String>,
    /// When it was sent.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
}

/// Messages read per session, newest first, for its unread count and wait: more unread than
/// this show as this many.
pub const ACTIVITY_WINDOW: usize = 100;
/// Characters of the last message a session list shows.
pub const PREVIEW_CHARS: usize = 140;

impl ActiveSession {
    /// The session's figures at `at`, from its newest messages down to its agent's read marker
    /// (`window`, newest first, the marker's message included when it is still there).
    fn of(session: Session, marker: Option<&MessageId>, window: &[Message], at: OffsetDateTime) -> Self {
        let handle_seconds_so_far = session.assigned_at.map_or(0.0, |assigned| seconds_between(assigned, at));
        let waiting_for_agent_reply = session.last_sender_role == Some(Role::Customer);
        let unread = window
            .iter()
            .filter(|m| {
                m.sender_role == Role::Customer && !m.deleted && marker.is_none_or(|read| &m.id > read)
            })
            .count();
        let waiting_since = window
            .iter()
            .take_while(|m| m.sender_role == Role::Customer)
            .last()
            .map(|m| m.created_at)
            .filter(|_| waiting_for_agent_reply);
        let last_message = window.first().map(|m| LastMessage {
            id: m.id,
            sender_role: m.sender_role,
            preview: m
                .body
                .as_deref()
                .filter(|_| !m.deleted)
                .map(|body| body.chars().take(PREVIEW_CHARS).collect()),
            created_at: m.created_at,
        });
        Self {
            session,
            handle_seconds_so_far,
            waiting_for_agent_reply,
            unread_count: u32::try_from(unread).unwrap_or(u32::MAX),
            last_message,
            waiting_since,
        }
    }
}

/// One page of the active sessions: all of them for admins (gsi3 `QUEUE#active`), their own for
/// agents (gsi2 `AGENT#me`, filtered on status), each with its unread count, last message and
/// wait for a reply. One Query for the page, one batch read of the agents' read markers, and
/// one Query per session of its newest messages down to the marker (run together).
pub async fn active_sessions(
    store: &dyn ItemStore,
    principal: &Principal,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<ListPage<ActiveSession>, ApiError> {
    let (listing, status) = match principal.role {
        Role::Customer => return Err(role_forbidden("read the dashboard")),
        Role::Agent => (SessionListing::Agent(principal.user_id.clone()), Some(SessionStatus::Active)),
        Role::Admin => (SessionListing::Status(SessionStatus::Active), None),
    };
    let (page, next) = sessions::list(store, &listing, status, limit, cursor).await?;
    let readers: Vec<(SessionId, UserId)> =
        page.iter().filter_map(|session| session.agent_id.clone().map(|agent| (session.id, agent))).collect();
    let mut markers: std::collections::HashMap<SessionId, MessageId> =
        sessions::read_markers(store, &readers)
            .await?
            .into_iter()
            .flatten()
            .map(|marker| (marker.session_id, marker.last_read_message_id))
            .collect();
    let queries = page
        .iter()
        .map(|session| messages::newest_since(&session.id, markers.get(&session.id), ACTIVITY_WINDOW))
        .collect();
    let windows = store.query_many(queries).await?;
    let at = now();
    let mut items = Vec::with_capacity(page.len());
    for (session, window) in page.into_iter().zip(windows) {
        let (window, _): (Vec<Message>, _) = crate::repo::records(window)?;
        let marker = markers.remove(&session.id);
        items.push(ActiveSession::of(session, marker.as_ref(), &window, at));
    }
    Ok(ListPage::new(items, next))
}

/// A waiting session with how long it has waited.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WaitingSession {
    /// The session, with `queue_position` and `estimated_wait_seconds`.
    #[serde(flatten)]
    pub session: Session,
    /// Seconds since it entered the queue.
    pub wait_seconds: f64,
}

/// One page of the waiting queue in routing order (urgent to low, then first come first
/// served), each with its queue position and wait estimate. Agents and admins.
pub async fn waiting_sessions(
    store: &dyn ItemStore,
    principal: &Principal,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<ListPage<WaitingSession>, ApiError> {
    if principal.role == Role::Customer {
        return Err(role_forbidden("read the dashboard"));
    }
    let listing = SessionListing::Status(SessionStatus::Waiting);
    let (mut page, next) = sessions::list(store, &listing, None, limit, cursor).await?;
    super::routing::annotate_queue(store, &mut page).await?;
    let at = now();
    let items = page
        .into_iter()
        .map(|session| {
            let since = session.queued_at.unwrap_or(session.created_at);
            WaitingSession { wait_seconds: seconds_between(since, at), session }
        })
        .collect();
    Ok(ListPage::new(items, next))
}

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

/// `GET /admin/chat-dashboard/health`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the store cannot be read.
    pub status: HealthStatus,
    /// The deployed version.
    pub version: String,
    /// The item store.
    pub store: StoreHealth,
}

/// Whether the service works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Everything answers.
    Ok,
    /// The store does not answer.
    Degraded,
}

/// The store's answer to one read.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StoreHealth {
    /// Whether the read succeeded.
    pub reachable: bool,
    /// How long it took, in milliseconds (to the microsecond).
    pub latency_ms: f64,
}

/// Reads one item (the live counters: one GetItem) and says how that went; the failure itself is
/// logged, never returned.
pub async fn health(store: &dyn ItemStore, version: &str) -> Health {
    let started = std::time::Instant::now();
    let read = store.get(&stats::live_key()).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let reachable = match read {
        Ok(_) => true,
        Err(error) => {
            tracing::warn!(%error, "health: the store read failed");
            false
        }
    };
    Health {
        status: if reachable { HealthStatus::Ok } else { HealthStatus::Degraded },
        version: version.to_owned(),
        store: StoreHealth { reachable, latency_ms },
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::{Priority, SessionStatus};

    fn session(last_sender: Option<Role>) -> Session {
        serde_json::from_value(serde_json::json!({
            "id": "01J00000000000000000000SES", "customer_id": "cust-a", "agent_id": "agent-x",
            "room_id": null, "subject": "s", "priority": Priority::Normal, "status": SessionStatus::Active,
            "created_at": "2026-12-01T10:00:00Z", "assigned_at": "2026-12-01T10:00:00Z", "closed_at": null,
            "last_sender_role": last_sender,
        }))
        .expect("a session")
    }

    fn message(id: &str, role: Role, minute: u8, deleted: bool) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id, "session_id": "01J00000000000000000000SES", "sender_id": "someone", "sender_role": role,
            "body": if deleted { None } else { Some(format!("text {id}")) }, "client_message_id": null,
            "created_at": format!("2026-12-01T10:{minute:02}:00Z"), "edited_at": null, "deleted": deleted,
        }))
        .expect("a message")
    }

    #[test]
    fn unread_are_the_customers_live_messages_after_the_marker_and_the_wait_starts_at_the_first_unanswered() {
        // Arrange: newest first — two customer messages (one deleted) after an agent's, the marker on the agent's.
        let window = [
            message("01J0000000000000000000000D", Role::Customer, 4, false),
            message("01J0000000000000000000000C", Role::Customer, 3, true),
            message("01J0000000000000000000000B", Role::Agent, 2, false),
        ];
        let marker: MessageId = "01J0000000000000000000000B".parse().expect("an id");

        // Act
        let active = ActiveSession::of(
            session(Some(Role::Customer)),
            Some(&marker),
            &window,
            datetime!(2026-12-01 10:05 UTC),
        );

        // Assert
        assert_eq!(active.unread_count, 1);
        assert_eq!(active.waiting_since, Some(datetime!(2026-12-01 10:03 UTC)));
        let last = active.last_message.expect("a last message");
        assert_eq!(last.preview.as_deref(), Some("text 01J0000000000000000000000D"));
    }

    #[test]
    fn a_long_last_message_is_cut_and_an_answered_session_waits_for_nobody() {
        // Arrange
        let mut long = message("01J0000000000000000000000E", Role::Agent, 1, false);
        long.body = Some("é".repeat(PREVIEW_CHARS + 10));

        // Act
        let active =
            ActiveSession::of(session(Some(Role::Agent)), None, &[long], datetime!(2026-12-01 10:05 UTC));

        // Assert
        assert_eq!(
            active.last_message.and_then(|m| m.preview).map(|p| p.chars().count()),
            Some(PREVIEW_CHARS)
        );
        assert_eq!((active.unread_count, active.waiting_since), (0, None));
    }
}
