//! Times as the API writes them: RFC 3339 in UTC with exactly three fractional digits
//! (`2026-11-25T10:00:00.120Z`), so clients with a fixed-width parser read every one. Reading
//! accepts any RFC 3339 time. Use with `#[serde(with = "crate::domain::timestamp")]` (or
//! `timestamp::option`).

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The time as the API writes it.
pub fn format(at: OffsetDateTime) -> Result<String, time::error::Format> {
    at.to_offset(UtcOffset::UTC).format(FORMAT)
}

/// Serialises a time.
pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*at).map_err(serde::ser::Error::custom)?)
}

/// Deserialises any RFC 3339 time.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
}

/// The same for optional times (`null` when absent).
pub mod option {
    use super::*;

    /// Serialises an optional time.
    pub fn serialize<S: Serializer>(at: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Deserialises an optional RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => OffsetDateTime::parse(&text, &Rfc3339).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn times_always_carry_three_fractional_digits_in_utc() {
        assert_eq!(super::format(datetime!(2026-11-25 10:00:00 UTC)).unwrap(), "2026-11-25T10:00:00.000Z");
        assert_eq!(super::format(datetime!(2026-11-25 10:00:00.12 UTC)).unwrap(), "2026-11-25T10:00:00.120Z");
        assert_eq!(
            super::format(datetime!(2026-11-25 11:00:00.5 +01:00)).unwrap(),
            "2026-11-25T10:00:00.500Z"
        );
    }
}

/// `serde(with)` for a UTC day as `yyyy-mm-dd`.
pub mod day {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::macros::format_description;
    use time::Date;

    /// Serialises a day.
    pub fn serialize<S: Serializer>(day: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text =
            day.format(format_description!("[year]-[month]-[day]")).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    /// Deserialises a day.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, format_description!("[year]-[month]-[day]")).map_err(serde::de::Error::custom)
    }
}
