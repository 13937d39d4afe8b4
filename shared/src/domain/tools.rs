//! Agent tools: canned responses (scopes, shortcodes, placeholders and their rendering, who may
//! use which) and private notes on sessions. No I/O.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{CannedResponseId, InvalidValue, NoteId, Principal, Role, RoomId, SessionId, UserId};

/// Who a canned response is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CannedScope {
    /// Its author's own.
    Personal,
    /// Everyone serving one room.
    Room,
    /// Every agent; written by admins.
    Global,
}

impl CannedScope {
    /// The scope's name as in JSON and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            CannedScope::Personal => "personal",
            CannedScope::Room => "room",
            CannedScope::Global => "global",
        }
    }

    /// Parses a scope name (as in `?scope=`).
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "personal" => Ok(CannedScope::Personal),
            "room" => Ok(CannedScope::Room),
            "global" => Ok(CannedScope::Global),
            _ => Err(InvalidValue::new("scope", "must be personal, room or global")),
        }
    }
}

/// What agents type to find a canned response: 1 to 32 of `a-z 0-9 _ -`, stored lower-case
/// (upper-case letters are accepted and lowered), unique within its scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[schema(value_type = String, pattern = "^[a-z0-9_-]{1,32}$")]
pub struct Shortcode(String);

impl Shortcode {
    /// Longest shortcode, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Validates and lower-cases a shortcode.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_CHARS
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(InvalidValue::new(
                "shortcode",
                format!("must be 1 to {} of the characters a-z, 0-9, _ and -", Self::MAX_CHARS),
            ));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The shortcode.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Shortcode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Checks a text's length in characters and that it is not only white space.
fn bounded(field: &'static str, s: &str, max: usize) -> Result<(), InvalidValue> {
    if s.trim().is_empty() {
        return Err(InvalidValue::new(field, "must not be empty"));
    }
    let count = s.chars().count();
    if count > max {
        return Err(InvalidValue::new(field, format!("must be at most {max} characters, got {count}")));
    }
    Ok(())
}

/// A canned response's title: 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = String)]
pub struct CannedTitle(String);

impl CannedTitle {
    /// Longest title, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Validates a title.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        bounded("title", s, Self::MAX_CHARS).map(|()| Self(s.to_owned()))
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CannedTitle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The values a canned response can take from the session it is used in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{{customer.name}}`: the customer's display name, else their id.
    CustomerName,
    /// `{{customer.id}}`
    CustomerId,
    /// `{{agent.name}}`: the display name of whoever renders it, else their id.
    AgentName,
    /// `{{agent.id}}`
    AgentId,
    /// `{{session.id}}`
    SessionId,
    /// `{{session.subject}}`
    SessionSubject,
}

impl Placeholder {
    /// Every placeholder's name, as written between `{{` and `}}`.
    pub const NAMES: [&'static str; 6] =
        ["customer.name", "customer.id", "agent.name", "agent.id", "session.id", "session.subject"];

    /// The placeholder of a name (white space around it is ignored).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "customer.name" => Some(Placeholder::CustomerName),
            "customer.id" => Some(Placeholder::CustomerId),
            "agent.name" => Some(Placeholder::AgentName),
            "agent.id" => Some(Placeholder::AgentId),
            "session.id" => Some(Placeholder::SessionId),
            "session.subject" => Some(Placeholder::SessionSubject),
            _ => None,
        }
    }
}

/// Why a canned response's body is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CannedBodyError {
    /// Empty, only white space, or too long.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// `{{name}}` where `name` is no known placeholder.
    #[error("body: unknown placeholder {{{{{name}}}}}; known: {}", Placeholder::NAMES.join(", "))]
    UnknownPlaceholder {
        /// What was between the braces.
        name: String,
    },
    /// A `{{` without its `}}`.
    #[error("body: a placeholder opened with {{{{ is not closed with }}}}")]
    Unclosed,
}

/// One piece of a body: text as written, or a placeholder to fill.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(Placeholder),
}

/// Splits a body into text and placeholders; the first unknown or unclosed one is the error.
fn pieces(body: &str) -> Result<Vec<Piece<'_>>, CannedBodyError> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(CannedBodyError::Unclosed)?;
        let name = &after[..close];
        let placeholder = Placeholder::parse(name)
            .ok_or_else(|| CannedBodyError::UnknownPlaceholder { name: name.trim().to_owned() })?;
        pieces.push(Piece::Placeholder(placeholder));
        rest = &after[close + 2..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// A canned response's text: 1 to 4,000 characters, whose `{{...}}` are all known placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = String)]
pub struct CannedBody(String);

impl CannedBody {
    /// Longest body, in characters (as a message).
    pub const MAX_CHARS: usize = 4000;

    /// Validates a body and its placeholders.
    pub fn parse(s: &str) -> Result<Self, CannedBodyError> {
        bounded("body", s, Self::MAX_CHARS)?;
        pieces(s)?;
        Ok(Self(s.to_owned()))
    }

    /// The body as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the placeholders are filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext<'a> {
    /// The session's customer.
    pub customer_id: &'a str,
    /// Their display name, if known.
    pub customer_name: Option<&'a str>,
    /// Whoever renders the response.
    pub agent_id: &'a str,
    /// Their display name, if known.
    pub agent_name: Option<&'a str>,
    /// The session.
    pub session_id: String,
    /// What it is about.
    pub session_subject: &'a str,
}

/// A stored body with its placeholders filled; values are inserted as they are, never read
/// for placeholders themselves. A stored body that no longer parses (it cannot, unless written
/// around the API) is returned as written.
pub fn render(body: &str, context: &RenderContext<'_>) -> String {
    let Ok(pieces) = pieces(body) else {
        return body.to_owned();
    };
    let mut filled = String::with_capacity(body.len());
    for piece in pieces {
        filled.push_str(match piece {
            Piece::Text(text) => text,
            Piece::Placeholder(Placeholder::CustomerName) => {
                context.customer_name.filter(|n| !n.trim().is_empty()).unwrap_or(context.customer_id)
            }
            Piece::Placeholder(Placeholder::CustomerId) => context.customer_id,
            Piece::Placeholder(Placeholder::AgentName) => {
                context.agent_name.filter(|n| !n.trim().is_empty()).unwrap_or(context.agent_id)
            }
            Piece::Placeholder(Placeholder::AgentId) => context.agent_id,
            Piece::Placeholder(Placeholder::SessionId) => &context.session_id,
            Piece::Placeholder(Placeholder::SessionSubject) => context.session_subject,
        });
    }
    filled
}

/// A reusable reply agents insert into a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CannedResponse {
    /// Canned response id.
    pub id: CannedResponseId,
    /// Who it is for; fixed at creation.
    pub scope: CannedScope,
    /// The room of a room response; fixed at creation.
    pub room_id: Option<RoomId>,
    /// Its author (for a personal response, the only one who sees it).
    pub owner_id: UserId,
    /// Unique within the scope (per user, per room, or among global ones), lower-case.
    pub shortcode: Shortcode,
    /// A short label.
    pub title: String,
    /// The text, with placeholders such as `{{customer.name}}`.
    pub body: String,
    /// When it was created.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: OffsetDateTime,
}

/// What a caller may do with a canned response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CannedAccess {
    /// Not even know it exists.
    Hidden,
    /// List and render it.
    Read,
    /// Also change and delete it.
    Write,
}

/// The access rule: customers none; admins everything; agents their own personal responses and
/// those of the rooms they serve (`serves_room`), and read the global ones.
pub fn canned_access(
    principal: &Principal,
    scope: CannedScope,
    owner: &UserId,
    serves_room: bool,
) -> CannedAccess {
    match (principal.role, scope) {
        (Role::Customer, _) => CannedAccess::Hidden,
        (Role::Admin, _) => CannedAccess::Write,
        (Role::Agent, CannedScope::Personal) if *owner == principal.user_id => CannedAccess::Write,
        (Role::Agent, CannedScope::Personal) => CannedAccess::Hidden,
        (Role::Agent, CannedScope::Room) if serves_room => CannedAccess::Write,
        (Role::Agent, CannedScope::Room) => CannedAccess::Hidden,
        (Role::Agent, CannedScope::Global) => CannedAccess::Read,
    }
}

/// A private note's text (Markdown): 1 to 10,000 characters, not only white space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(value_type = String)]
pub struct NoteBody(String);

impl NoteBody {
    /// Longest note, in characters.
    pub const MAX_CHARS: usize = 10_000;

    /// Validates a note's text.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        bounded("body", s, Self::MAX_CHARS).map(|()| Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for NoteBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// A private note on a session, by an agent or admin, for the support side only: customers
/// never see one in any channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    /// Note id; sorts by time.
    pub id: NoteId,
    /// The session it is about.
    pub session_id: SessionId,
    /// Who wrote it (the only one who may edit it).
    pub author_id: UserId,
    /// In which role.
    pub author_role: Role,
    /// Their display name, from their token.
    pub author_name: Option<String>,
    /// The text (Markdown).
    pub body: String,
    /// When it was written.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
    /// When it was last edited.
    #[serde(with = "crate::domain::timestamp::option")]
    pub edited_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RenderContext<'static> {
        RenderContext {
            customer_id: "cust-ada",
            customer_name: Some("Ada"),
            agent_id: "agent-bob",
            agent_name: None,
            session_id: "01JD0000000000000000000002".into(),
            session_subject: "Charged twice",
        }
    }

    fn principal(id: &str, role: Role) -> Principal {
        Principal { user_id: UserId::parse(id).unwrap_or_else(|e| panic!("{e}")), role, name: None }
    }

    #[test]
    fn shortcodes_are_lower_cased_and_limited_to_32_safe_characters() {
        assert_eq!(Shortcode::parse("Refund-Policy_2").map(|s| s.0), Ok("refund-policy_2".to_owned()));
        assert!(Shortcode::parse(&"a".repeat(32)).is_ok());
        for bad in ["", &"a".repeat(33), "has space", "dot.ted", "hash#tag", "émoji", "a/b"] {
            assert!(Shortcode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn every_placeholder_is_filled_and_names_fall_back_to_ids() {
        let body = "Hi {{customer.name}} ({{customer.id}}), {{ agent.name }}/{{agent.id}} here about \
                    {{session.subject}} [{{session.id}}].";
        assert!(CannedBody::parse(body).is_ok());
        assert_eq!(
            render(body, &context()),
            "Hi Ada (cust-ada), agent-bob/agent-bob here about Charged twice [01JD0000000000000000000002]."
        );
        let nameless = RenderContext { customer_name: None, agent_name: Some("Bob"), ..context() };
        assert_eq!(render("{{customer.name}} & {{agent.name}}", &nameless), "cust-ada & Bob");
    }

    #[test]
    fn filled_values_are_not_read_for_placeholders_again() {
        let sneaky = RenderContext { customer_name: Some("{{agent.id}}"), ..context() };
        assert_eq!(render("Hello {{customer.name}}", &sneaky), "Hello {{agent.id}}");
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_refused_by_name() {
        assert_eq!(
            CannedBody::parse("Dear {{customer.email}}"),
            Err(CannedBodyError::UnknownPlaceholder { name: "customer.email".into() })
        );
        assert_eq!(CannedBody::parse("Dear {{customer.name"), Err(CannedBodyError::Unclosed));
        let message = CannedBody::parse("{{ secret }}").map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(message.contains("{{secret}}"), "{message}");
        // Single braces and a lone closing pair are text.
        assert!(CannedBody::parse("a {single} b }} c").is_ok());
    }

    #[test]
    fn bodies_titles_and_notes_are_counted_in_characters() {
        assert!(CannedBody::parse(&"é".repeat(4000)).is_ok());
        assert!(matches!(CannedBody::parse(&"é".repeat(4001)), Err(CannedBodyError::Invalid(_))));
        assert!(CannedBody::parse(" \n").is_err());
        assert!(CannedTitle::parse(&"t".repeat(100)).is_ok());
        assert!(CannedTitle::parse(&"t".repeat(101)).is_err());
        assert!(NoteBody::parse(&"n".repeat(10_000)).is_ok());
        assert!(NoteBody::parse(&"n".repeat(10_001)).is_err());
        assert!(NoteBody::parse("\t").is_err());
    }

    #[test]
    fn agents_write_their_own_and_their_rooms_responses_and_read_global_ones() {
        let me = principal("agent-bob", Role::Agent);
        let mine = UserId::parse("agent-bob").unwrap_or_else(|e| panic!("{e}"));
        let theirs = UserId::parse("agent-kim").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(canned_access(&me, CannedScope::Personal, &mine, false), CannedAccess::Write);
        assert_eq!(canned_access(&me, CannedScope::Personal, &theirs, true), CannedAccess::Hidden);
        assert_eq!(canned_access(&me, CannedScope::Room, &theirs, true), CannedAccess::Write);
        assert_eq!(canned_access(&me, CannedScope::Room, &theirs, false), CannedAccess::Hidden);
        assert_eq!(canned_access(&me, CannedScope::Global, &theirs, false), CannedAccess::Read);
        let admin = principal("admin-eve", Role::Admin);
        assert_eq!(canned_access(&admin, CannedScope::Personal, &theirs, false), CannedAccess::Write);
        let customer = principal("cust-ada", Role::Customer);
        assert_eq!(canned_access(&customer, CannedScope::Global, &theirs, true), CannedAccess::Hidden);
    }
}
