//! The kinds of the event log's entries: one closed enum that every writer records and every
//! reader matches on, and what a reader gets back for a kind this build does not know (old data).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Declares [`EventKind`] with the exact string each kind is stored as, once.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $kind:ident = $name:literal,)*) => {
        /// What happened, as an operation records it. Only these kinds are ever written.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum EventKind {
            $($(#[$doc])* #[serde(rename = $name)] $kind,)*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$kind,)*];

            /// The name it is stored as (`session.created`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$kind => $name,)*
                }
            }

            /// The kind stored as `name`, if it is one of today's.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EventKind::$kind),)*
                    _ => None,
                }
            }
        }
    };
}

event_kinds! {
    /// A customer opened a session.
    SessionCreated = "session.created",
    /// A session entered the waiting queue (`reason`: created, reopened, transferred back).
    SessionQueued = "session.queued",
    /// A session was given to an agent (by routing or by hand).
    SessionAssigned = "session.assigned",
    /// A session moved from one agent to another.
    SessionTransferred = "session.transferred",
    /// The first agent answer of a wait.
    SessionFirstResponse = "session.first_response",
    /// A session was closed.
    SessionClosed = "session.closed",
    /// A closed session was reopened.
    SessionReopened = "session.reopened",
    /// The customer rated a closed session (or changed the rating).
    SessionRated = "session.rated",
    /// A session's priority changed.
    SessionPriorityChanged = "session.priority_changed",
    /// A message was edited.
    MessageEdited = "message.edited",
    /// A message was deleted.
    MessageDeleted = "message.deleted",
    /// A private note was written.
    NoteCreated = "note.created",
    /// A room was created.
    RoomCreated = "room.created",
    /// A user was blocked.
    UserBlocked = "user.blocked",
    /// A user was unblocked.
    UserUnblocked = "user.unblocked",
    /// A canned response was created.
    CannedCreated = "canned.created",
    /// A canned response was changed.
    CannedUpdated = "canned.updated",
    /// A canned response was deleted.
    CannedDeleted = "canned.deleted",
    /// An agent's status (or capacity, or rooms) changed.
    AgentStatusChanged = "agent.status_changed",
    /// An admin changed an agent's capacity or rooms (not their status).
    AgentSettingsChanged = "agent.settings_changed",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event's kind as read back from the log: one of today's kinds, or, for an entry written by
/// another version, the kind as stored. Reading keeps it (the audit log shows it, the metrics
/// skip it); the event log refuses to write it (`repo::events::put`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoggedKind {
    /// A kind of [`EventKind`].
    Known(EventKind),
    /// A kind this build does not know.
    Unknown(String),
}

impl LoggedKind {
    /// The name it is stored as.
    pub fn as_str(&self) -> &str {
        match self {
            LoggedKind::Known(kind) => kind.as_str(),
            LoggedKind::Unknown(name) => name,
        }
    }

    /// The kind, if it is one of today's.
    pub fn known(&self) -> Option<EventKind> {
        match self {
            LoggedKind::Known(kind) => Some(*kind),
            LoggedKind::Unknown(_) => None,
        }
    }

    /// The kind stored as `name`.
    pub fn of_name(name: &str) -> Self {
        EventKind::from_name(name).map_or_else(|| LoggedKind::Unknown(name.to_owned()), LoggedKind::Known)
    }
}

impl From<EventKind> for LoggedKind {
    fn from(kind: EventKind) -> Self {
        LoggedKind::Known(kind)
    }
}

impl PartialEq<EventKind> for LoggedKind {
    fn eq(&self, other: &EventKind) -> bool {
        *self == LoggedKind::Known(*other)
    }
}

impl fmt::Display for LoggedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LoggedKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LoggedKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Reads the name without copying it unless the kind is unknown (the rollup reads every
        /// event of a day).
        struct Name;

        impl Visitor<'_> for Name {
            type Value = LoggedKind;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event kind")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<LoggedKind, E> {
                Ok(LoggedKind::of_name(name))
            }
        }

        deserializer.deserialize_str(Name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_is_written_as_the_name_the_log_has_always_stored() {
        let names: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();

        assert_eq!(
            names,
            [
                "session.created",
                "session.queued",
                "session.assigned",
                "session.transferred",
                "session.first_response",
                "session.closed",
                "session.reopened",
                "session.rated",
                "session.priority_changed",
                "message.edited",
                "message.deleted",
                "note.created",
                "room.created",
                "user.blocked",
                "user.unblocked",
                "canned.created",
                "canned.updated",
                "canned.deleted",
                "agent.status_changed",
                "agent.settings_changed",
            ]
        );
        for &kind in EventKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
            assert_eq!(serde_json::to_value(LoggedKind::from(kind)).unwrap(), json!(kind.as_str()));
            assert_eq!(serde_json::from_value::<LoggedKind>(json!(kind.as_str())).unwrap(), kind);
        }
    }

    #[test]
    fn a_kind_this_build_does_not_know_is_read_as_unknown_and_kept() {
        let read: LoggedKind = serde_json::from_value(json!("session.escalated")).unwrap();

        assert_eq!(read, LoggedKind::Unknown("session.escalated".into()));
        assert_eq!(read.known(), None);
        assert_eq!(serde_json::to_value(&read).unwrap(), json!("session.escalated"));
        assert!(serde_json::from_value::<EventKind>(json!("session.escalated")).is_err());
    }
}
