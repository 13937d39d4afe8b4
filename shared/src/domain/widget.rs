//! The chat widget's sites: their settings as admins write them, the origins a site's pages are
//! served from, the user ids of a site's visitors and signed-in users, and the signatures a
//! site's backend makes to say who its user is. Pure rules, no I/O.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{SiteId, UserId};

/// Most origins one site may allow.
pub const MAX_ORIGINS: usize = 20;
/// Longest greeting, in characters.
pub const MAX_GREETING_CHARS: usize = 280;
/// Longest site name, in characters.
pub const MAX_SITE_NAME_CHARS: usize = 80;
/// Longest visitor name, in characters (as a token's `name`).
pub const MAX_VISITOR_NAME_CHARS: usize = 100;
/// Longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// How long a rotated identity secret keeps verifying signatures after the rotation: a day, for
/// a site's backend to roll out the new secret without signing anyone out.
pub const ROTATION_GRACE_SECONDS: i64 = 24 * 3600;

/// The prefix of a visitor's user id: `wv:<site id>:<visitor ULID>`.
const VISITOR_PREFIX: &str = "wv";
/// The prefix of a site's signed-in user's id: `wu:<site id>:<the site's user id>`.
const IDENTIFIED_PREFIX: &str = "wu";

/// Who a widget user is, read from their user id: the ids name their site, so one site's user
/// `u1` is never another site's (nor an identity provider's) `u1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetUser {
    /// An anonymous visitor of the site.
    Visitor {
        /// The site.
        site: SiteId,
    },
    /// A user the site's backend signed for.
    Identified {
        /// The site.
        site: SiteId,
        /// The site's own id of the user.
        external_id: String,
    },
}

impl WidgetUser {
    /// The widget user a user id names, if it is one.
    pub fn of(user: &UserId) -> Option<Self> {
        let (prefix, rest) = user.as_str().split_once(':')?;
        let (site, tail) = rest.split_once(':')?;
        let site = SiteId::parse(site).ok()?;
        match prefix {
            VISITOR_PREFIX => Some(Self::Visitor { site }),
            IDENTIFIED_PREFIX => Some(Self::Identified { site, external_id: tail.to_owned() }),
            _ => None,
        }
    }

    /// The site the user belongs to.
    pub fn site(&self) -> SiteId {
        match self {
            Self::Visitor { site } | Self::Identified { site, .. } => *site,
        }
    }

    /// Whether a user id is in the widget's namespace (`wv:` or `wu:`): other issuers' tokens
    /// may not speak for such ids.
    pub fn is_reserved(user: &UserId) -> bool {
        user.as_str().starts_with("wv:") || user.as_str().starts_with("wu:")
    }
}

/// A new visitor's user id on a site.
pub fn visitor_id(site: &SiteId) -> Result<UserId, super::InvalidValue> {
    UserId::parse(&format!("{VISITOR_PREFIX}:{site}:{}", super::next_ulid()))
}

/// The user id of a site's signed-in user whose own id is `external`; 422-worthy when the id
/// has characters a user id cannot hold or is too long.
pub fn identified_id(site: &SiteId, external: &str) -> Result<UserId, super::InvalidValue> {
    let invalid = || super::InvalidValue::new("user_id", "must be 1 to 98 letters, digits or -_.@|+");
    if external.is_empty() || external.contains(':') {
        return Err(invalid());
    }
    UserId::parse(&format!("{IDENTIFIED_PREFIX}:{site}:{external}")).map_err(|_| invalid())
}

/// An origin a site's pages are served from: `scheme://host[:port]`, lower case, without a
/// default port (as browsers send it in `Origin`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

impl Origin {
    /// Parses an origin; paths, queries, user info and schemes other than http(s) are refused.
    pub fn parse(text: &str) -> Result<Self, super::InvalidValue> {
        let invalid = || {
            super::InvalidValue::new(
                "allowed_origins",
                format!("{text:?} is not an origin: scheme://host[:port], http or https, no path"),
            )
        };
        let lower = text.trim().to_ascii_lowercase();
        let (scheme, authority) = lower.split_once("://").ok_or_else(invalid)?;
        if !matches!(scheme, "http" | "https") || authority.is_empty() || authority.len() > 261 {
            return Err(invalid());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(rest) => {
                let (inside, after) = rest.split_once(']').ok_or_else(invalid)?;
                if inside.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(invalid());
                }
                let port = match after {
                    "" => None,
                    after => Some(after.strip_prefix(':').ok_or_else(invalid)?),
                };
                (&authority[..inside.len() + 2], port)
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let host_ok = host.starts_with('[')
            || (!host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                }));
        if !host_ok {
            return Err(invalid());
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = match port {
            None => None,
            Some(digits) => {
                let number = digits
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0 && digits.chars().all(|c| c.is_ascii_digit()))
                    .ok_or_else(invalid)?;
                (number != default_port).then_some(number)
            }
        };
        Ok(Self(match port {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        }))
    }

    /// The origin as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Origin {
    type Error = super::InvalidValue;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<Origin> for String {
    fn from(origin: Origin) -> Self {
        origin.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the pre-chat form asks for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrechatMode {
    /// Asked, and must be filled in.
    Required,
    /// Asked; may be left empty.
    #[default]
    Optional,
    /// Not asked.
    Off,
}

/// Which fields a site's pre-chat form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrechatFields {
    /// The visitor's name.
    pub name: PrechatMode,
    /// The visitor's e-mail address.
    pub email: PrechatMode,
    /// What the conversation is about (the session's subject).
    pub subject: PrechatMode,
}

impl Default for PrechatFields {
    /// Name and e-mail optional, the subject required.
    fn default() -> Self {
        Self { name: PrechatMode::Optional, email: PrechatMode::Optional, subject: PrechatMode::Required }
    }
}

/// Which side of the page the launcher sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Bottom right.
    #[default]
    Right,
    /// Bottom left.
    Left,
}

/// The widget's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

/// Colour of the launcher and headers unless an admin sets another.
pub const DEFAULT_COLOUR: &str = "#2563eb";
/// Greeting unless an admin sets another.
pub const DEFAULT_GREETING: &str = "Hi! How can we help?";

/// What admins configure about a site (everything but its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SiteSettings {
    /// The site's name, shown in the widget's header.
    pub name: String,
    /// The origins the widget may be used from (`scheme://host[:port]`), at most 20.
    #[schema(value_type = Vec<String>, example = json!(["https://shop.example"]))]
    pub allowed_origins: Vec<Origin>,
    /// Which fields the pre-chat form asks for.
    pub prechat_fields: PrechatFields,
    /// `#rrggbb`.
    #[schema(example = "#2563eb")]
    pub colour: String,
    /// Shown when the widget opens, up to 280 characters.
    pub greeting: String,
    /// Where the launcher sits.
    pub position: Position,
    /// The widget's language.
    pub locale: Locale,
    /// Minutes a reply stays unread by a visitor who is away before it is e-mailed to them (1 to
    /// 1,440; sites stored before it have the default, 5).
    #[serde(default = "default_email_delay")]
    #[schema(minimum = 1, maximum = 1440, example = 5)]
    pub email_delay_minutes: u16,
}

fn default_email_delay() -> u16 {
    crate::ops::email::DEFAULT_DELAY_MINUTES
}

/// The longest e-mail delay a site may set: a day.
pub const MAX_EMAIL_DELAY_MINUTES: u16 = 1440;

/// The body of `POST /admin/sites` and `PATCH /admin/sites/{id}`: every field optional in a
/// PATCH; `name` and `allowed_origins` required when creating. Values are checked one by one so
/// each bad field gets its own error code.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    /// 1 to 80 characters.
    pub name: Option<String>,
    /// `scheme://host[:port]` (http or https), at most 20.
    pub allowed_origins: Option<Vec<String>>,
    /// Each of `name`, `email`, `subject`: `required`, `optional` or `off`.
    pub prechat_fields: Option<PrechatInput>,
    /// `#rrggbb`.
    pub colour: Option<String>,
    /// Up to 280 characters.
    pub greeting: Option<String>,
    /// `right` or `left`.
    pub position: Option<String>,
    /// `en` or `es`.
    pub locale: Option<String>,
    /// 1 to 1,440.
    pub email_delay_minutes: Option<u16>,
}

/// The pre-chat fields as a client sends them (each optional in a PATCH).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrechatInput {
    /// `required`, `optional` or `off`.
    pub name: Option<String>,
    /// `required`, `optional` or `off`.
    pub email: Option<String>,
    /// `required`, `optional` or `off`.
    pub subject: Option<String>,
}

/// A field of [`SiteInput`] that is not acceptable: its own error code and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSiteField {
    /// `invalid_name`, `invalid_origin`, `too_many_origins`, `invalid_prechat_fields`,
    /// `invalid_colour`, `invalid_greeting`, `invalid_position`, `invalid_locale` or
    /// `invalid_email_delay`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> InvalidSiteField {
    InvalidSiteField { code, message: message.into() }
}

impl SiteInput {
    /// The settings this input makes of `base` (a new site's defaults, or the stored settings
    /// for a PATCH); `creating` requires `name` and `allowed_origins`.
    pub fn apply(self, base: Option<&SiteSettings>) -> Result<SiteSettings, InvalidSiteField> {
        let name = match (self.name, base) {
            (Some(name), _) => {
                let name = name.trim().to_owned();
                if name.is_empty() || name.chars().count() > MAX_SITE_NAME_CHARS {
                    return Err(invalid(
                        "invalid_name",
                        format!("name: 1 to {MAX_SITE_NAME_CHARS} characters"),
                    ));
                }
                name
            }
            (None, Some(base)) => base.name.clone(),
            (None, None) => return Err(invalid("invalid_name", "name is required")),
        };
        let allowed_origins = match (self.allowed_origins, base) {
            (Some(origins), _) => parse_origins(&origins)?,
            (None, Some(base)) => base.allowed_origins.clone(),
            (None, None) => {
                return Err(invalid("invalid_origin", "allowed_origins is required (at least one origin)"))
            }
        };
        let base_prechat = base.map(|b| b.prechat_fields).unwrap_or_default();
        let prechat_fields = match self.prechat_fields {
            None => base_prechat,
            Some(input) => PrechatFields {
                name: prechat_mode("name", input.name, base_prechat.name)?,
                email: prechat_mode("email", input.email, base_prechat.email)?,
                subject: prechat_mode("subject", input.subject, base_prechat.subject)?,
            },
        };
        let colour = match self.colour {
            Some(colour) => parse_colour(&colour)?,
            None => base.map_or_else(|| DEFAULT_COLOUR.to_owned(), |b| b.colour.clone()),
        };
        let greeting = match self.greeting {
            Some(greeting) => {
                let greeting = greeting.trim().to_owned();
                if greeting.chars().count() > MAX_GREETING_CHARS {
                    return Err(invalid(
                        "invalid_greeting",
                        format!("greeting: at most {MAX_GREETING_CHARS} characters"),
                    ));
                }
                greeting
            }
            None => base.map_or_else(|| DEFAULT_GREETING.to_owned(), |b| b.greeting.clone()),
        };
        let position = match self.position.as_deref() {
            Some("right") => Position::Right,
            Some("left") => Position::Left,
            Some(other) => {
                return Err(invalid("invalid_position", format!("position: {other:?} is not right or left")))
            }
            None => base.map(|b| b.position).unwrap_or_default(),
        };
        let locale = match self.locale.as_deref() {
            Some("en") => Locale::En,
            Some("es") => Locale::Es,
            Some(other) => {
                return Err(invalid("invalid_locale", format!("locale: {other:?} is not en or es")))
            }
            None => base.map(|b| b.locale).unwrap_or_default(),
        };
        let email_delay_minutes = match self.email_delay_minutes {
            Some(minutes) if (1..=MAX_EMAIL_DELAY_MINUTES).contains(&minutes) => minutes,
            Some(minutes) => {
                return Err(invalid(
                    "invalid_email_delay",
                    format!("email_delay_minutes: {minutes} is not 1 to {MAX_EMAIL_DELAY_MINUTES}"),
                ))
            }
            None => base.map_or_else(default_email_delay, |b| b.email_delay_minutes),
        };
        Ok(SiteSettings {
            name,
            allowed_origins,
            prechat_fields,
            colour,
            greeting,
            position,
            locale,
            email_delay_minutes,
        })
    }
}

fn parse_origins(origins: &[String]) -> Result<Vec<Origin>, InvalidSiteField> {
    if origins.is_empty() {
        return Err(invalid("invalid_origin", "allowed_origins: at least one origin"));
    }
    if origins.len() > MAX_ORIGINS {
        return Err(invalid("too_many_origins", format!("allowed_origins: at most {MAX_ORIGINS} origins")));
    }
    let mut parsed = Vec::with_capacity(origins.len());
    for text in origins {
        let origin = Origin::parse(text).map_err(|e| invalid("invalid_origin", e.to_string()))?;
        if !parsed.contains(&origin) {
            parsed.push(origin);
        }
    }
    Ok(parsed)
}

fn prechat_mode(
    field: &str,
    value: Option<String>,
    base: PrechatMode,
) -> Result<PrechatMode, InvalidSiteField> {
    match value.as_deref() {
        None => Ok(base),
        Some("required") => Ok(PrechatMode::Required),
        Some("optional") => Ok(PrechatMode::Optional),
        Some("off") => Ok(PrechatMode::Off),
        Some(other) => Err(invalid(
            "invalid_prechat_fields",
            format!("prechat_fields.{field}: {other:?} is not required, optional or off"),
        )),
    }
}

fn parse_colour(text: &str) -> Result<String, InvalidSiteField> {
    let colour = text.trim().to_ascii_lowercase();
    let valid =
        colour.len() == 7 && colour.starts_with('#') && colour[1..].chars().all(|c| c.is_ascii_hexdigit());
    if valid {
        Ok(colour)
    } else {
        Err(invalid("invalid_colour", format!("colour: {text:?} is not #rrggbb")))
    }
}

/// A site as admins see it (its identity secret is shown only when made: on create and rotate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Site {
    /// The site's id, the `data-site` of its script tag.
    pub site_id: SiteId,
    /// Its settings.
    #[serde(flatten)]
    pub settings: SiteSettings,
    /// When it was created.
    #[serde(with = "super::timestamp")]
    pub created_at: OffsetDateTime,
    /// When its settings or secret last changed.
    #[serde(with = "super::timestamp")]
    pub updated_at: OffsetDateTime,
}

impl Site {
    /// Whether a page served from `origin` may use the widget of this site.
    pub fn allows(&self, origin: &str) -> bool {
        Origin::parse(origin).is_ok_and(|origin| self.settings.allowed_origins.contains(&origin))
    }
}

/// A site's identity secrets: the current one, and the one it replaced while its grace lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySecrets {
    /// Signs identities from now on.
    pub identity_secret: String,
    /// The secret before the last rotation.
    #[serde(default)]
    pub previous_secret: Option<String>,
    /// Until when the previous secret still verifies.
    #[serde(default, with = "super::timestamp::option")]
    pub previous_secret_until: Option<OffsetDateTime>,
}

impl IdentitySecrets {
    /// The secrets that verify a signature at `at`: the current one, then the previous one
    /// within its grace period.
    pub fn valid_at(&self, at: OffsetDateTime) -> Vec<&str> {
        let mut secrets = vec![self.identity_secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if at < until {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// Whether `signature` (lowercase hex) is the HMAC-SHA256 of `user_id` with `secret`, compared
/// in constant time.
pub fn signature_matches(secret: &str, user_id: &str, signature: &str) -> bool {
    let Some(bytes) = decode_hex(signature) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// The lowercase hex HMAC-SHA256 of `user_id` with `secret`: what a site's backend sends.
pub fn sign_user_id(secret: &str, user_id: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(user_id.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A visitor's e-mail address as the pre-chat form gives it: trimmed, at most 254 characters,
/// one `@` with something on both sides and no spaces.
pub fn parse_email(text: &str) -> Result<String, super::InvalidValue> {
    let email = text.trim();
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && domain.contains('.')
        });
    if valid {
        Ok(email.to_owned())
    } else {
        Err(super::InvalidValue::new("email", "must be an e-mail address such as ada@example.com"))
    }
}

/// A visitor's name: trimmed, 1 to 100 characters, nothing invisible.
pub fn parse_visitor_name(text: &str) -> Result<String, super::InvalidValue> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > MAX_VISITOR_NAME_CHARS || name.chars().any(char::is_control)
    {
        return Err(super::InvalidValue::new("name", "must be 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        for (given, expected) in [
            ("https://Shop.Example", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
            ("http://localhost:80", "http://localhost"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(Origin::parse(given).unwrap().as_str(), expected, "{given}");
        }
        for bad in [
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "https://user@shop.example",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://-shop.example",
            "https://",
            "https://[nope]",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn widget_user_ids_name_their_site_and_kind() {
        let site = SiteId::generate();
        let visitor = visitor_id(&site).unwrap();
        assert_eq!(WidgetUser::of(&visitor), Some(WidgetUser::Visitor { site }));
        let user = identified_id(&site, "u1").unwrap();
        assert_eq!(WidgetUser::of(&user), Some(WidgetUser::Identified { site, external_id: "u1".into() }));
        assert_ne!(identified_id(&SiteId::generate(), "u1").unwrap(), user);
        assert!(identified_id(&site, "a:b").is_err());
        assert!(identified_id(&site, "").is_err());
        assert!(identified_id(&site, &"x".repeat(99)).is_err());
        assert_eq!(WidgetUser::of(&UserId::parse("cust-ada").unwrap()), None);
    }

    #[test]
    fn a_signature_verifies_only_with_its_secret_and_user() {
        let signature = sign_user_id("secret-one", "u1");
        assert!(signature_matches("secret-one", "u1", &signature));
        assert!(!signature_matches("secret-two", "u1", &signature));
        assert!(!signature_matches("secret-one", "u2", &signature));
        assert!(!signature_matches("secret-one", "u1", &signature.to_uppercase()));
        assert!(!signature_matches("secret-one", "u1", "abc"));
    }

    #[test]
    fn each_bad_field_has_its_own_code() {
        let base = SiteInput {
            name: Some("Shop".into()),
            allowed_origins: Some(vec!["https://shop.example".into()]),
            ..SiteInput::default()
        };
        let cases: Vec<(SiteInput, &str)> = vec![
            (SiteInput { name: Some(" ".into()), ..base.clone() }, "invalid_name"),
            (SiteInput { allowed_origins: Some(vec!["nope".into()]), ..base.clone() }, "invalid_origin"),
            (
                SiteInput {
                    allowed_origins: Some((0..21).map(|i| format!("https://s{i}.example")).collect()),
                    ..base.clone()
                },
                "too_many_origins",
            ),
            (
                SiteInput {
                    prechat_fields: Some(PrechatInput {
                        name: Some("maybe".into()),
                        ..PrechatInput::default()
                    }),
                    ..base.clone()
                },
                "invalid_prechat_fields",
            ),
            (SiteInput { colour: Some("blue".into()), ..base.clone() }, "invalid_colour"),
            (SiteInput { greeting: Some("x".repeat(281)), ..base.clone() }, "invalid_greeting"),
            (SiteInput { position: Some("top".into()), ..base.clone() }, "invalid_position"),
            (SiteInput { locale: Some("fr".into()), ..base.clone() }, "invalid_locale"),
        ];
        for (input, code) in cases {
            assert_eq!(input.apply(None).unwrap_err().code, code);
        }
        let settings = base.apply(None).unwrap();
        assert_eq!(settings.colour, DEFAULT_COLOUR);
        assert_eq!(settings.prechat_fields, PrechatFields::default());
    }
}
