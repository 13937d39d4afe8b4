//! Identifiers: server-assigned ULIDs for sessions, messages and rooms; opaque user and client ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Mutex;

use ulid::{Generator, Ulid};

use super::InvalidValue;

/// The next ULID of this process: monotonic, so two ids made in the same millisecond still sort
/// in the order they were made (a plain `Ulid::new()` is random within the millisecond).
pub fn next_ulid() -> Ulid {
    static GENERATOR: Mutex<Option<Generator>> = Mutex::new(None);
    let Ok(mut generator) = GENERATOR.lock() else {
        return Ulid::new();
    };
    let generator = generator.get_or_insert_with(Generator::new);
    // Ids sort by time, also the simulated one: reads by a span of time read ranges of ids.
    #[cfg(feature = "sim-clock")]
    if let Some(simulated) = super::clock::simulated() {
        return generator.generate_from_datetime(simulated.into()).unwrap_or_else(|_| Ulid::new());
    }
    // Only 2^80 ids fit in one millisecond; past that, fall back to a random one.
    generator.generate().unwrap_or_else(|_| Ulid::new())
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Ulid);

        impl $name {
            /// A new id for the current instant; ids made later in this process sort after it.
            pub fn generate() -> Self {
                Self(next_ulid())
            }

            /// Parses a client-supplied id (26 characters of Crockford base32).
            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                // A ULID is 128 bits: 26 base32 characters carry 130, so the first may be 0-7 only;
                // the parser would silently drop the extra bits and alias another id.
                if s.len() != 26 || !s.starts_with(|c: char| ('0'..='7').contains(&c)) {
                    return Err(InvalidValue::new($field, "must be a 26-character ULID"));
                }
                Ulid::from_string(s)
                    .map(Self)
                    .map_err(|_| InvalidValue::new($field, "must be a 26-character ULID"))
            }

            /// Which of `shards` partitions this id falls in: its random bits spread ids evenly,
            /// and an id always falls in the same one.
            pub fn shard(&self, shards: usize) -> usize {
                (self.0.random() % shards.max(1) as u128) as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some("ULID: 26 characters of Crockford base32, sortable by time"))
                    .min_length(Some(26))
                    .max_length(Some(26))
                    .examples(["01JD0000000000000000000002"])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

ulid_id!(
    /// Identifies a chat session.
    SessionId,
    "session_id"
);
ulid_id!(
    /// Identifies a message within a session.
    MessageId,
    "message_id"
);
ulid_id!(
    /// Identifies a room (a queue of sessions served by a team).
    RoomId,
    "room_id"
);
ulid_id!(
    /// Identifies a canned response (an agent's reusable reply).
    CannedResponseId,
    "canned_response_id"
);
ulid_id!(
    /// Identifies a private note on a session.
    NoteId,
    "note_id"
);
ulid_id!(
    /// Identifies a bulk-send job (its delivery logs carry it as `job_id`).
    JobId,
    "job_id"
);
ulid_id!(
    /// Identifies a website the chat widget is embedded on.
    SiteId,
    "site_id"
);
ulid_id!(
    /// Identifies a file attached to a session.
    AttachmentId,
    "attachment_id"
);

/// Characters allowed in user and client message ids: they become parts of keys, so the key
/// separator `#` and anything invisible are refused.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':' | '|' | '+')
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses an id: 1 to the maximum number of letters, digits and `-_.@:|+`.
            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                if s.is_empty() || s.len() > $max || !s.chars().all(is_id_char) {
                    return Err(InvalidValue::new(
                        $field,
                        concat!("must be 1 to ", $max, " letters, digits or -_.@:|+"),
                    ));
                }
                Ok(Self(s.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some(1))
                    .max_length(Some($max))
                    .pattern(Some(r"^[A-Za-z0-9_.@:|+-]+$"))
                    .examples([$example])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

opaque_id!(
    /// Identifies a user: the `sub` claim of their token.
    UserId,
    "user_id",
    128,
    "cust-ada"
);
opaque_id!(
    /// A client's own id for a message it sends, so a retried send is not stored twice.
    ClientMessageId,
    "client_message_id",
    64,
    "c0b1e7a2-5f4c-4c4e-9a57-0d3f2f8e6b11"
);

/// Identifies a WebSocket connection: API Gateway's connection id (base64 text such as
/// `L0SM9cOFvHcCIhw=`). It becomes part of keys, so the key separator is refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(String);

impl ConnectionId {
    /// Parses a connection id: 1 to 128 letters, digits or `+/=_-`.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-');
        if s.is_empty() || s.len() > 128 || !s.chars().all(allowed) {
            return Err(InvalidValue::new("connection_id", "must be 1 to 128 letters, digits or +/=_-"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ConnectionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ConnectionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulid_ids_round_trip_and_refuse_garbage() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(&id.to_string()), Ok(id));
        for bad in [
            "",
            "123",
            "01JD000000000000000000000U",
            "01JD0000000000000000000002x",
            "81JD0000000000000000000002",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_made_one_after_another_sort_in_that_order() {
        let ids: Vec<String> = (0..1000).map(|_| MessageId::generate().to_string()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn connection_ids_take_api_gateway_ids_and_refuse_key_separators() {
        assert!(ConnectionId::parse("L0SM9cOFvHcCIhw=").is_ok());
        assert!(ConnectionId::parse("a+b/c_d-e").is_ok());
        for bad in ["", "a#b", "a b", &"x".repeat(129)] {
            assert!(ConnectionId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_ids_cannot_smuggle_key_separators() {
        assert!(UserId::parse("auth0|5f7c8ec7c33c6c004bbafe82").is_ok());
        for bad in ["", "a#b", "a b", "é", &"x".repeat(129)] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }
}
