//! Validated values: roles, priorities, statuses and the texts clients send.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::{InvalidValue, UserId};

/// What a user may do: set by the identity provider in the token's `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Opens sessions and talks to agents.
    Customer,
    /// Serves sessions.
    Agent,
    /// Sees and steers everything.
    Admin,
}

impl Role {
    /// The role's name as in tokens and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "customer" => Ok(Role::Customer),
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            _ => Err(InvalidValue::new("role", "must be customer, agent or admin")),
        }
    }

    /// Agents and admins: the support side.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

/// The authenticated caller, as the authorizer established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who is calling.
    pub user_id: UserId,
    /// In which role.
    pub role: Role,
    /// Display name from the token, if any.
    pub name: Option<String>,
}

/// How urgent a session is; the queue serves urgent first, then high, normal, low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Served last.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Served before normal.
    High,
    /// Served first.
    Urgent,
}

impl Priority {
    /// The priority as the API writes it (`low`, `normal`, `high`, `urgent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Sort rank in the queue: lower is served first.
    pub fn queue_rank(self) -> u8 {
        match self {
            Priority::Urgent => 0,
            Priority::High => 1,
            Priority::Normal => 2,
            Priority::Low => 3,
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// In the queue, no agent yet.
    Waiting,
    /// An agent is serving it.
    Active,
    /// Over; nobody writes to it any more.
    Closed,
}

impl SessionStatus {
    /// The status's name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Waiting => "waiting",
            SessionStatus::Active => "active",
            SessionStatus::Closed => "closed",
        }
    }

    /// Parses a status name (as in `?status=`).
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "waiting" => Ok(SessionStatus::Waiting),
            "active" => Ok(SessionStatus::Active),
            "closed" => Ok(SessionStatus::Closed),
            _ => Err(InvalidValue::new("status", "must be waiting, active or closed")),
        }
    }
}

/// Checks a text's length in characters (not bytes) and that it is not only white space.
fn bounded_text(field: &'static str, s: &str, max: usize) -> Result<String, InvalidValue> {
    let count = s.chars().count();
    if s.trim().is_empty() {
        return Err(InvalidValue::new(field, "must not be empty"));
    }
    if count > max {
        return Err(InvalidValue::new(field, format!("must be at most {max} characters, got {count}")));
    }
    Ok(s.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted text, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Validates the text.
            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                bounded_text($field, s, $max).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_value!(
    /// A message's text: 1 to 4,000 characters, not only white space.
    MessageBody,
    "body",
    4000
);
text_value!(
    /// A session's subject: 1 to 200 characters.
    Subject,
    "subject",
    200
);
text_value!(
    /// A room's name: 1 to 80 characters.
    RoomName,
    "name",
    80
);

text_value!(
    /// Why a session was transferred: 1 to 500 characters.
    TransferReason,
    "reason",
    500
);
text_value!(
    /// A customer's words with their rating: 1 to 1,000 characters.
    RatingComment,
    "comment",
    1000
);

/// A satisfaction score: 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = u8)]
pub struct Score(u8);

impl Score {
    /// Validates a score.
    pub fn new(value: i64) -> Result<Self, InvalidValue> {
        match u8::try_from(value) {
            Ok(score @ 1..=5) => Ok(Self(score)),
            _ => Err(InvalidValue::new("score", format!("must be 1 to 5, got {value}"))),
        }
    }

    /// The score.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bodies_are_counted_in_characters() {
        assert!(MessageBody::parse(&"é".repeat(4000)).is_ok());
        assert!(MessageBody::parse(&"é".repeat(4001)).is_err());
        assert!(MessageBody::parse("   \n").is_err());
        assert!(MessageBody::parse("").is_err());
    }

    #[test]
    fn urgent_sessions_rank_before_low_ones() {
        let mut all = [Priority::Low, Priority::Urgent, Priority::Normal, Priority::High];
        all.sort_by_key(|p| p.queue_rank());
        assert_eq!(all, [Priority::Urgent, Priority::High, Priority::Normal, Priority::Low]);
    }

    #[test]
    fn unknown_roles_and_statuses_are_refused() {
        assert!(Role::parse("superuser").is_err());
        assert!(SessionStatus::parse("open").is_err());
        assert_eq!(SessionStatus::parse("waiting"), Ok(SessionStatus::Waiting));
    }
}
