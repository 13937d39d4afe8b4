//! The WebSocket protocol's frames (`docs/websocket.md`): what clients send (`action`) and what
//! the server sends (`type`). Every frame is one JSON text message.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{
    AgentState, ClientMessageId, Message, MessageBody, MessageId, Overview, Session, SessionId, UserId,
};

/// Longest `ref` a client may attach to a frame; the server echoes it in the reply.
pub const MAX_REF_CHARS: usize = 64;

/// Largest frame API Gateway accepts from a client, in bytes.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Largest message (all frames of one message) API Gateway accepts, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// A frame from a client, selected by its `action` (API Gateway's route key).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Receive the live events of a session.
    Subscribe(Subscribe),
    /// Send a message (the same operation as `POST /chat/messages`).
    SendMessage(SendMessageFrame),
    /// Start or stop typing.
    Typing(Typing),
    /// Move the read marker.
    MarkRead(MarkReadFrame),
    /// Keep the connection alive (API Gateway closes idle connections after 10 minutes).
    Ping(Ping),
    /// Receive the live dashboard (agents and admins).
    SubscribeDashboard(SubscribeDashboard),
}

/// `{"action":"subscribe_dashboard"}`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeDashboard {}

/// `{"action":"subscribe","session_id"}`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The session.
    pub session_id: SessionId,
}

/// `{"action":"send_message","session_id","body","client_message_id"}`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessageFrame {
    /// The session.
    pub session_id: SessionId,
    /// The text, 1 to 4,000 characters; optional when the message carries attachments.
    #[serde(default)]
    pub body: Option<MessageBody>,
    /// The client's id for the message; a retry with the same id is not stored twice.
    #[serde(default)]
    pub client_message_id: Option<ClientMessageId>,
    /// Attachments to send with it (as `POST /chat/messages`).
    #[serde(default)]
    pub attachments: Vec<crate::domain::AttachmentId>,
}

/// Whether someone is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    /// Started (clients show the indicator for up to 6 seconds unless refreshed).
    Start,
    /// Stopped.
    Stop,
}

/// `{"action":"typing","session_id","state":"start|stop"}`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Typing {
    /// The session.
    pub session_id: SessionId,
    /// Start or stop.
    pub state: TypingState,
    /// The newest message the typist has read, when their read marker should move with this
    /// frame (as `mark_read` moves it): the others learn it from the `typing` frame they get,
    /// with no receipt of its own.
    #[serde(default)]
    pub read_message_id: Option<MessageId>,
}

/// `{"action":"mark_read","session_id","message_id"}`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadFrame {
    /// The session.
    pub session_id: SessionId,
    /// The newest message read.
    pub message_id: MessageId,
}

/// `{"action":"ping"}`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ping {}

/// How far a message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Posted to at least one connection of each listed user.
    Delivered,
    /// The listed user moved their read marker to it.
    Read,
}

/// Whether a user has a live connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// At least one connection (for agents on the dashboard: taking sessions).
    Online,
    /// Agents on the dashboard only: keeping their sessions but taking no new routed ones
    /// (also for a grace period after their last connection closed).
    Away,
    /// None (for agents on the dashboard: not working).
    Offline,
}

/// A frame from the server, told apart by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerFrame {
    /// A new message (also the reply to the sender's `send_message`).
    #[serde(rename = "message.created")]
    MessageCreated {
        /// The message.
        message: Message,
        /// In the reply to a `send_message` that stored it: the other users it reached (the
        /// `delivered` receipt the sending connection would otherwise get as a frame of its own).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        delivered_to: Vec<UserId>,
    },
    /// A message's text changed.
    #[serde(rename = "message.updated")]
    MessageUpdated {
        /// The message as it is now.
        message: Message,
    },
    /// A message was deleted; it stays as a tombstone.
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        /// The tombstone.
        message: Message,
    },
    /// Another participant started or stopped typing.
    #[serde(rename = "typing")]
    Typing {
        /// The session.
        session_id: SessionId,
        /// Who is typing.
        user_id: UserId,
        /// Start or stop.
        state: TypingState,
        /// When the typist's read marker moved with this frame: the message they have read up to
        /// (a `read` receipt from them for it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read_message_id: Option<MessageId>,
    },
    /// A message reached, or was read by, other users.
    #[serde(rename = "receipt")]
    Receipt {
        /// The session.
        session_id: SessionId,
        /// The message.
        message_id: MessageId,
        /// Delivered or read.
        status: ReceiptStatus,
        /// The users it was delivered to, or the user who read it.
        user_ids: Vec<UserId>,
    },
    /// A waiting session's place in the queue or its estimated wait changed (the queue moved,
    /// or agents came or went).
    #[serde(rename = "queue.updated")]
    QueueUpdated {
        /// The waiting session.
        session_id: SessionId,
        /// Its place: 1 is next.
        queue_position: u32,
        /// Seconds until an agent takes it, estimated; null with no agent online.
        estimated_wait_seconds: Option<u64>,
    },
    /// The session changed (assigned, closed...).
    #[serde(rename = "session.updated")]
    SessionUpdated {
        /// The session as it is now.
        session: Session,
    },
    /// A participant of the session came online or went away.
    #[serde(rename = "presence")]
    Presence {
        /// The session both share; absent on the dashboard, where it is an agent's status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<SessionId>,
        /// The user.
        user_id: UserId,
        /// Online, away (agents) or offline.
        status: PresenceStatus,
        /// On the dashboard: the agent's state (capacity, load, rooms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<Box<AgentState>>,
    },
    /// The live dashboard's figures: the reply to `subscribe_dashboard`, then after queue,
    /// session and agent changes, at most one a second.
    #[serde(rename = "dashboard.metrics")]
    DashboardMetrics {
        /// The figures, as `GET /admin/chat-dashboard/overview` returns them.
        metrics: Overview,
    },
    /// The reply to `subscribe`: the session as it is and who of its participants is online.
    #[serde(rename = "subscribed")]
    Subscribed {
        /// The session.
        session: Session,
        /// Its other participants that are online now.
        online: Vec<UserId>,
    },
    /// A frame was refused; nothing was written.
    #[serde(rename = "error")]
    Error {
        /// Stable code (`session_not_found`, `unknown_action`, ...).
        code: String,
        /// Explanation for people.
        message: String,
        /// The action of the refused frame, when it had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        action: Option<String>,
        /// For `internal` errors: the request id to quote when reporting it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// An attachment's checks ended: `ready`, or `rejected` with its `reason`.
    #[serde(rename = "attachment.updated")]
    AttachmentUpdated {
        /// The attachment as it is now.
        attachment: crate::attachments::Attachment,
    },
    /// The reply to a frame that carried a `ref` and has no other reply (`typing`, `mark_read`):
    /// it was done.
    #[serde(rename = "ack")]
    Ack {},
    /// The reply to `ping`.
    #[serde(rename = "pong")]
    Pong {
        /// Server time.
        #[serde(with = "crate::domain::timestamp")]
        at: OffsetDateTime,
    },
}

impl ServerFrame {
    /// The frame's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerFrame::MessageCreated { .. } => "message.created",
            ServerFrame::MessageUpdated { .. } => "message.updated",
            ServerFrame::MessageDeleted { .. } => "message.deleted",
            ServerFrame::Typing { .. } => "typing",
            ServerFrame::Receipt { .. } => "receipt",
            ServerFrame::SessionUpdated { .. } => "session.updated",
            ServerFrame::QueueUpdated { .. } => "queue.updated",
            ServerFrame::Presence { .. } => "presence",
            ServerFrame::DashboardMetrics { .. } => "dashboard.metrics",
            ServerFrame::Subscribed { .. } => "subscribed",
            ServerFrame::Error { .. } => "error",
            ServerFrame::Pong { .. } => "pong",
            ServerFrame::Ack {} => "ack",
            ServerFrame::AttachmentUpdated { .. } => "attachment.updated",
        }
    }

    /// The frame as the JSON text sent on the socket.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| {
            serde_json::json!({"type": "error", "code": "internal", "message": format!("unserialisable frame: {e}")})
        })
    }
}
