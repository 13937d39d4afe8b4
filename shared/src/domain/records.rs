//! The records of the chat as clients see them (and as they are stored, plus key attributes).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{
    ClientMessageId, LoggedKind, MessageId, Priority, Role, RoomId, SessionId, SessionStatus, UserId,
};

/// A conversation between one customer and the support team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// Session id.
    pub id: SessionId,
    /// The customer who opened it.
    pub customer_id: UserId,
    /// The customer's display name, from their token.
    #[serde(default)]
    pub customer_name: Option<String>,
    /// The agent serving it, once assigned.
    pub agent_id: Option<UserId>,
    /// The room (team queue) it was opened in.
    pub room_id: Option<RoomId>,
    /// What it is about.
    pub subject: String,
    /// Queue priority.
    pub priority: Priority,
    /// Lifecycle status.
    pub status: SessionStatus,
    /// When it was opened.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
    /// When an agent took it.
    #[serde(with = "crate::domain::timestamp::option")]
    pub assigned_at: Option<OffsetDateTime>,
    /// When it was closed.
    #[serde(with = "crate::domain::timestamp::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// Who closed it.
    #[serde(default)]
    pub closed_by: Option<UserId>,
    /// Place in the waiting queue; computed by routing, null until then.
    #[serde(default)]
    pub queue_position: Option<u32>,
    /// When the last message was sent.
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub last_message_at: Option<OffsetDateTime>,
    /// Messages sent so far (tombstones included).
    #[serde(default)]
    pub message_count: u64,
    /// When the current wait for an agent started: at creation, or at the last reopen.
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub queued_at: Option<OffsetDateTime>,
    /// Estimated seconds until an agent takes it, while it waits (see `docs/METRICS.md`); null
    /// when no agent is online to estimate from.
    #[serde(default)]
    pub estimated_wait_seconds: Option<u64>,
    /// When an agent first answered since the current wait started.
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub first_response_at: Option<OffsetDateTime>,
    /// Times it moved from one agent to another.
    #[serde(default)]
    pub transfer_count: u32,
    /// Times it was reopened after being closed.
    #[serde(default)]
    pub reopen_count: u32,
    /// The customer's rating, once given.
    #[serde(default)]
    pub rating: Option<Rating>,
    /// The role of whoever sent the last message (`customer`: the customer waits for an answer).
    #[serde(default)]
    pub last_sender_role: Option<Role>,
    /// Messages its customer sent (tombstones included; counted since the counters exist).
    #[serde(default)]
    pub messages_customer: u64,
    /// Messages agents sent in it.
    #[serde(default)]
    pub messages_agent: u64,
    /// Messages admins sent in it.
    #[serde(default)]
    pub messages_admin: u64,
}

impl Session {
    /// A session just opened by `customer_id`: waiting since `at`, no agent, room or messages
    /// yet (the rest is set with struct update syntax where it differs).
    pub fn opened(
        id: SessionId,
        customer_id: UserId,
        subject: String,
        priority: Priority,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            customer_id,
            customer_name: None,
            agent_id: None,
            room_id: None,
            subject,
            priority,
            status: SessionStatus::Waiting,
            created_at: at,
            assigned_at: None,
            closed_at: None,
            closed_by: None,
            queue_position: None,
            last_message_at: None,
            message_count: 0,
            queued_at: Some(at),
            estimated_wait_seconds: None,
            first_response_at: None,
            transfer_count: 0,
            reopen_count: 0,
            rating: None,
            last_sender_role: None,
            messages_customer: 0,
            messages_agent: 0,
            messages_admin: 0,
        }
    }
}

/// A customer's satisfaction rating of a closed session (CSAT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rating {
    /// 1 (very unhappy) to 5 (very happy).
    pub score: u8,
    /// Optional words.
    pub comment: Option<String>,
    /// When it was given or last changed.
    #[serde(with = "crate::domain::timestamp")]
    pub rated_at: OffsetDateTime,
    /// When it was first given; it may be changed for 7 days after.
    #[serde(with = "crate::domain::timestamp")]
    pub first_rated_at: OffsetDateTime,
}

/// One message of a session; deleted messages stay as tombstones without a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    /// Message id; sorts by time.
    pub id: MessageId,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// Who sent it.
    pub sender_id: UserId,
    /// In which role.
    pub sender_role: Role,
    /// The text; null once deleted.
    pub body: Option<String>,
    /// The sender's own id for it, which makes a retried send return this message.
    pub client_message_id: Option<ClientMessageId>,
    /// When it was sent.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
    /// When it was last edited.
    #[serde(with = "crate::domain::timestamp::option")]
    pub edited_at: Option<OffsetDateTime>,
    /// Whether it was deleted.
    pub deleted: bool,
    /// The files sent with it (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::attachments::MessageAttachment>,
    /// How it came when not through the chat: `email` for a customer's reply to an e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

/// How a message came when not through the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A reply to an e-mail of unread replies, posted as the customer's message.
    Email,
}

/// Someone taking part in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Participant {
    /// The session.
    pub session_id: SessionId,
    /// The user.
    pub user_id: UserId,
    /// Their role in it.
    pub role: Role,
    /// Display name, when known.
    #[serde(default)]
    pub name: Option<String>,
    /// When they joined.
    #[serde(with = "crate::domain::timestamp")]
    pub joined_at: OffsetDateTime,
}

/// How far a user has read a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReadMarker {
    /// The session.
    pub session_id: SessionId,
    /// The reader.
    pub user_id: UserId,
    /// The newest message they have read; the marker never moves back.
    pub last_read_message_id: MessageId,
    /// When they read it.
    #[serde(with = "crate::domain::timestamp")]
    pub read_at: OffsetDateTime,
}

/// A team queue that sessions are opened in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Room {
    /// Room id.
    pub id: RoomId,
    /// Unique name (case-insensitive).
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
}

/// A user barred from opening sessions and sending messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Block {
    /// The blocked user.
    pub user_id: UserId,
    /// The agent or admin who blocked them.
    pub blocked_by: UserId,
    /// Why.
    pub reason: Option<String>,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub blocked_at: OffsetDateTime,
}

/// One entry of the append-only event log: who did what to what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Event id; sorts by time.
    pub id: String,
    /// What happened (`session.created`, `session.assigned`, `message.edited`, `user.blocked`...).
    #[schema(value_type = String)]
    pub kind: LoggedKind,
    /// Who did it.
    pub actor_id: UserId,
    /// In which role.
    pub actor_role: Role,
    /// What it was done to (`session:<id>`, `message:<session>/<id>`, `user:<id>`, `room:<id>`).
    pub target: String,
    /// The session it concerns, if any.
    pub session_id: Option<SessionId>,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub at: OffsetDateTime,
    /// Facts particular to the kind (new agent, priority...).
    #[serde(default)]
    pub details: Value,
}
