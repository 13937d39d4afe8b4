//! Notification preferences and the decision whether a push goes out: pure, no I/O.
//!
//! A user chooses per category (`chat_message`, `session_update`, `announcement`), may set quiet
//! hours in their own time zone (IANA names; the database is compiled in, so DST follows the
//! zone's rules wherever the function runs), and may mute single sessions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{InvalidValue, SessionId};

/// Sessions one user may mute.
pub const MAX_MUTED_SESSIONS: usize = 200;

/// What a push is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A new message in one of the user's sessions.
    ChatMessage,
    /// One of the user's sessions was assigned or closed.
    SessionUpdate,
    /// A message from an admin.
    Announcement,
}

impl Category {
    /// The name in requests, records and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ChatMessage => "chat_message",
            Category::SessionUpdate => "session_update",
            Category::Announcement => "announcement",
        }
    }
}

/// A time of day, `HH:MM` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    /// Parses `HH:MM`, 00:00 to 23:59.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let invalid = || InvalidValue::new("quiet_hours", format!("{text:?} is not a time of day HH:MM"));
        let (hours, minutes) = text.split_once(':').ok_or_else(invalid)?;
        if hours.len() != 2 || minutes.len() != 2 {
            return Err(invalid());
        }
        let hours: u16 = hours.parse().map_err(|_| invalid())?;
        let minutes: u16 = minutes.parse().map_err(|_| invalid())?;
        if hours > 23 || minutes > 59 {
            return Err(invalid());
        }
        Ok(Self { minutes: hours * 60 + minutes })
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.minutes
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for ClockTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))
            .examples(["22:00"])
            .into()
    }
}

impl ToSchema for ClockTime {}

/// An IANA time zone name (`Europe/Berlin`), known to the compiled-in database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl TimeZoneName {
    /// Parses a zone name; unknown names are refused.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        let invalid = || InvalidValue::new("quiet_hours", format!("{name:?} is not an IANA time zone name"));
        if name.is_empty() || name.len() > 64 {
            return Err(invalid());
        }
        let zone = jiff::tz::TimeZone::get(name).map_err(|_| invalid())?;
        Ok(Self { name: name.to_owned(), zone })
    }

    /// The time of day at `at` in this zone.
    pub fn clock_at(&self, at: OffsetDateTime) -> Option<ClockTime> {
        let instant = jiff::Timestamp::from_second(at.unix_timestamp()).ok()?;
        let civil = self.zone.to_datetime(instant).time();
        let minutes = u16::try_from(civil.hour()).ok()? * 60 + u16::try_from(civil.minute()).ok()?;
        Some(ClockTime { minutes })
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for TimeZoneName {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TimeZoneName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .examples(["Europe/Berlin"])
            .into()
    }
}

impl ToSchema for TimeZoneName {}

/// Hours in which no push goes out, in the user's own time zone. `start` is included, `end` is
/// not; a `start` after `end` spans midnight (22:00–07:00); equal times mean never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// First quiet minute, `HH:MM`.
    pub start: ClockTime,
    /// First minute that is no longer quiet, `HH:MM`.
    pub end: ClockTime,
    /// IANA time zone name.
    pub time_zone: TimeZoneName,
}

impl QuietHours {
    /// Whether `at` falls in the quiet hours.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        let Some(now) = self.time_zone.clock_at(at) else {
            return false;
        };
        if self.start <= self.end {
            self.start <= now && now < self.end
        } else {
            now >= self.start || now < self.end
        }
    }
}

/// What a user wants to be told, and when. A user who never chose gets the default: every
/// category, no quiet hours, nothing muted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// New messages in the user's sessions.
    #[serde(default = "on")]
    pub chat_message: bool,
    /// The user's sessions assigned or closed.
    #[serde(default = "on")]
    pub session_update: bool,
    /// Announcements from admins.
    #[serde(default = "on")]
    pub announcement: bool,
    /// E-mail about replies not read while away (widget visitors who gave an address); quiet
    /// hours do not hold e-mail back, muted sessions do.
    #[serde(default = "on")]
    pub email: bool,
    /// Quiet hours, or none.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Sessions the user does not want pushes about (at most 200).
    #[serde(default)]
    pub muted_sessions: Vec<SessionId>,
}

fn on() -> bool {
    true
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            chat_message: true,
            session_update: true,
            announcement: true,
            email: true,
            quiet_hours: None,
            muted_sessions: Vec::new(),
        }
    }
}

impl Preferences {
    /// Checks what serde cannot: the muted list's size. Duplicates are dropped, order kept.
    pub fn validated(mut self) -> Result<Self, InvalidValue> {
        let mut seen = std::collections::BTreeSet::new();
        self.muted_sessions.retain(|id| seen.insert(*id));
        if self.muted_sessions.len() > MAX_MUTED_SESSIONS {
            return Err(InvalidValue::new(
                "muted_sessions",
                format!("at most {MAX_MUTED_SESSIONS} sessions may be muted"),
            ));
        }
        Ok(self)
    }

    fn wants(&self, category: Category) -> bool {
        match category {
            Category::ChatMessage => self.chat_message,
            Category::SessionUpdate => self.session_update,
            Category::Announcement => self.announcement,
        }
    }
}

/// Whether a push goes out, and if not, why (the delivery log's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// It goes out.
    Send,
    /// The user turned the category off.
    SkippedPreference,
    /// The user muted the session.
    SkippedMuted,
    /// It is quiet hours where the user is.
    SkippedQuietHours,
}

/// Decides a push of `category` (about `session`, if any) at `at` for a user with `preferences`.
/// The category is checked first, then the mute, then the quiet hours.
pub fn decide(
    preferences: &Preferences,
    category: Category,
    session: Option<&SessionId>,
    at: OffsetDateTime,
) -> Decision {
    if !preferences.wants(category) {
        return Decision::SkippedPreference;
    }
    if session.is_some_and(|s| preferences.muted_sessions.contains(s)) {
        return Decision::SkippedMuted;
    }
    if preferences.quiet_hours.as_ref().is_some_and(|quiet| quiet.contains(at)) {
        return Decision::SkippedQuietHours;
    }
    Decision::Send
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn quiet(start: &str, end: &str, zone: &str) -> Preferences {
        Preferences {
            quiet_hours: Some(QuietHours {
                start: ClockTime::parse(start).unwrap(),
                end: ClockTime::parse(end).unwrap(),
                time_zone: TimeZoneName::parse(zone).unwrap(),
            }),
            ..Preferences::default()
        }
    }

    #[test]
    fn a_user_who_never_chose_gets_everything() {
        let prefs = Preferences::default();
        for category in [Category::ChatMessage, Category::SessionUpdate, Category::Announcement] {
            assert_eq!(decide(&prefs, category, None, datetime!(2026-11-25 03:00 UTC)), Decision::Send);
        }
    }

    #[test]
    fn category_then_mute_then_quiet_hours() {
        let session = SessionId::generate();
        let mut prefs = quiet("00:00", "23:59", "UTC");
        prefs.muted_sessions.push(session);
        prefs.chat_message = false;
        let at = datetime!(2026-11-25 12:00 UTC);
        assert_eq!(decide(&prefs, Category::ChatMessage, Some(&session), at), Decision::SkippedPreference);
        assert_eq!(decide(&prefs, Category::SessionUpdate, Some(&session), at), Decision::SkippedMuted);
        assert_eq!(decide(&prefs, Category::SessionUpdate, None, at), Decision::SkippedQuietHours);
        assert_eq!(
            decide(&prefs, Category::Announcement, Some(&SessionId::generate()), at),
            Decision::SkippedQuietHours
        );
    }

    #[test]
    fn quiet_hours_span_midnight_with_start_included_and_end_excluded() {
        let prefs = quiet("22:00", "07:00", "UTC");
        let cases = [
            (datetime!(2026-11-25 21:59 UTC), Decision::Send),
            (datetime!(2026-11-25 22:00 UTC), Decision::SkippedQuietHours),
            (datetime!(2026-11-26 03:00 UTC), Decision::SkippedQuietHours),
            (datetime!(2026-11-26 06:59 UTC), Decision::SkippedQuietHours),
            (datetime!(2026-11-26 07:00 UTC), Decision::Send),
        ];
        for (at, expected) in cases {
            assert_eq!(decide(&prefs, Category::ChatMessage, None, at), expected, "{at}");
        }
        assert_eq!(
            decide(
                &quiet("08:00", "08:00", "UTC"),
                Category::ChatMessage,
                None,
                datetime!(2026-11-25 08:00 UTC)
            ),
            Decision::Send
        );
    }

    #[test]
    fn quiet_hours_follow_the_zone_across_daylight_saving_changes() {
        // Berlin: UTC+1 in winter, UTC+2 from 29 March 2026 02:00 local to 25 October 2026 03:00.
        let prefs = quiet("22:00", "07:00", "Europe/Berlin");
        let cases = [
            // Winter: 06:30 UTC is 07:30 in Berlin (awake); 05:30 UTC is 06:30 (quiet).
            (datetime!(2026-01-15 06:30 UTC), Decision::Send),
            (datetime!(2026-01-15 05:30 UTC), Decision::SkippedQuietHours),
            // Summer: 05:30 UTC is 07:30 in Berlin (awake); 20:30 UTC is 22:30 (quiet).
            (datetime!(2026-07-15 05:30 UTC), Decision::Send),
            (datetime!(2026-07-15 20:30 UTC), Decision::SkippedQuietHours),
            // The night of the spring change: 05:00 UTC on 29 March is 07:00 CEST.
            (datetime!(2026-03-29 04:59 UTC), Decision::SkippedQuietHours),
            (datetime!(2026-03-29 05:00 UTC), Decision::Send),
            // The autumn change: 06:00 UTC on 25 October is 07:00 CET.
            (datetime!(2026-10-25 05:59 UTC), Decision::SkippedQuietHours),
            (datetime!(2026-10-25 06:00 UTC), Decision::Send),
        ];
        for (at, expected) in cases {
            assert_eq!(decide(&prefs, Category::ChatMessage, None, at), expected, "{at}");
        }
        // New York springs forward on another date (8 March 2026): 11:30 UTC is 07:30 EDT.
        let ny = quiet("22:00", "07:00", "America/New_York");
        assert_eq!(decide(&ny, Category::ChatMessage, None, datetime!(2026-03-09 11:30 UTC)), Decision::Send);
        assert_eq!(
            decide(&ny, Category::ChatMessage, None, datetime!(2026-03-06 11:30 UTC)),
            Decision::SkippedQuietHours
        );
    }

    #[test]
    fn bad_times_and_zones_are_refused() {
        for bad in ["24:00", "7:00", "07:60", "07-00", "", "07:00:00", "ab:cd"] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
        for bad in ["Mars/Olympus_Mons", "", "Europe/", "europe/berlin/x"] {
            assert!(TimeZoneName::parse(bad).is_err(), "{bad}");
        }
        assert!(TimeZoneName::parse("Asia/Kolkata").is_ok());
    }

    #[test]
    fn preferences_default_missing_fields_drop_duplicate_mutes_and_cap_them() {
        let parsed: Preferences = serde_json::from_str(r#"{"announcement": false}"#).unwrap();
        assert_eq!(parsed, Preferences { announcement: false, ..Preferences::default() });
        let session = SessionId::generate();
        let twice = Preferences { muted_sessions: vec![session, session], ..Preferences::default() };
        assert_eq!(twice.validated().unwrap().muted_sessions, vec![session]);
        let many = Preferences {
            muted_sessions: (0..=MAX_MUTED_SESSIONS).map(|_| SessionId::generate()).collect(),
            ..Preferences::default()
        };
        assert!(many.validated().is_err());
        assert!(serde_json::from_str::<Preferences>(r#"{"sms": true}"#).is_err());
    }
}
